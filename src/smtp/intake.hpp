// The one door from the SMTP session to the rest of the path (DESIGN.md:
// "smtp/ hands the spooled message to the pipeline through one interface and
// answers with what comes back"). The session streams content into a
// MessageWriter, then finish() makes it durable, runs analysis and policy,
// queues it, and returns the reply to send. Implemented by app/intake.cpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/envelope.hpp"
#include "base/result.hpp"
#include "smtp/reply.hpp"

namespace gatehouse::smtp {

class MessageWriter {
  public:
    virtual ~MessageWriter() = default;
    virtual Result<void> write(std::string_view bytes) = 0;
    virtual std::uint64_t size() const = 0;
};

struct IntakeResult {
    Reply reply;
    std::string queue_id;
};

class Intake {
  public:
    virtual ~Intake() = default;
    // Opens spool storage for a message with this envelope; env.queue_id
    // must already be set by the caller (the session logs it from MAIL on).
    virtual Result<std::unique_ptr<MessageWriter>> open(const Envelope& env) = 0;
    // The content is complete: commit, analyse, decide, queue. The reply is
    // 250 only once the message is on disk and fsynced.
    virtual boost::asio::awaitable<IntakeResult> finish(std::unique_ptr<MessageWriter> writer,
                                                        Envelope env) = 0;
    // The transaction was aborted (RSET, disconnect, size limit): the
    // partial message is removed.
    virtual void abandon(std::unique_ptr<MessageWriter> writer) = 0;
};

}  // namespace gatehouse::smtp
