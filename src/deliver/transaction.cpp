// The MAIL / RCPT / DATA transaction (see transaction.hpp).
#include "deliver/transaction.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/text.hpp"
#include "deliver/commands.hpp"
#include "deliver/dot_stuffer.hpp"
#include "log/log.hpp"

namespace gatehouse::deliver {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

// The content's byte range of a spool file, read in chunks with pread.
// XXX: pread runs on the I/O thread; spool files are fresh in the page
// cache, so it rarely blocks. A worker-pool read would lift that.
class SpoolReader {
  public:
    ~SpoolReader() {
        if (fd_ >= 0) ::close(fd_);
    }
    Result<void> open(const ContentRef& content) {
        content_ = content;
        fd_ = ::open(content.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return Error::internal(content.path + ": " + std::strerror(errno));
        return ok();
    }
    // The next chunk; empty when all content was read. Error on a short file.
    Result<std::string_view> next() {
        std::uint64_t left = content_.length - done_;
        if (left == 0) return std::string_view();
        std::size_t want = left < buffer_.size() ? static_cast<std::size_t>(left) : buffer_.size();
        ssize_t n = ::pread(fd_, buffer_.data(), want, static_cast<off_t>(content_.offset + done_));
        if (n < 0 && errno == EINTR) return next();
        if (n < 0) return Error::internal(content_.path + ": " + std::strerror(errno));
        if (n == 0) return Error::internal(content_.path + ": shorter than its recorded length");
        done_ += static_cast<std::uint64_t>(n);
        return std::string_view(buffer_.data(), static_cast<std::size_t>(n));
    }

  private:
    ContentRef content_;
    int fd_ = -1;
    std::uint64_t done_ = 0;
    std::string buffer_ = std::string(kChunkBytes, '\0');
};

// True when the reply (or its absence) ends the session: a lost connection,
// a broken reply, or 421. Every recipient still open is deferred.
bool session_ended(const Result<ServerReply>& reply, Outcomes& outcomes, const std::string& remote,
                   const char* stage) {
    if (!reply) {
        const Error& e = reply.error();
        outcomes.decide_undecided(RcptOutcome::Deferred,
                                  e.kind == ErrorKind::Permanent
                                      ? reasons::protocol_error(remote, e.message)
                                      : reasons::connection_lost(remote, stage, e.message));
        return true;
    }
    if (reply->code == 421) {
        outcomes.decide_undecided(RcptOutcome::Deferred, reply->summary());
        return true;
    }
    return false;
}

// MAIL and RCPT, pipelined when the server allows it. Returns the
// positions whose RCPT was accepted, or nullopt when the session ended.
asio::awaitable<std::optional<std::vector<std::size_t>>> send_envelope(
    Connection& conn, const std::string& mail, const std::vector<std::string>& rcpts,
    const std::vector<std::size_t>& positions, Outcomes& outcomes) {
    const std::string remote = conn.target().remote();
    bool pipelined = conn.extensions.pipelining;
    std::vector<std::size_t> accepted;

    if (pipelined) {
        std::string batch = mail + "\r\n";
        for (const auto& r : rcpts) batch += r + "\r\n";
        auto sent = co_await conn.send(batch);
        if (!sent) {
            session_ended(sent.error(), outcomes, remote, "MAIL");
            co_return std::nullopt;
        }
    }
    Result<ServerReply> mail_reply = Error::internal("no reply");
    if (pipelined)
        mail_reply = co_await conn.read_reply();
    else
        mail_reply = co_await conn.command(mail);
    if (session_ended(mail_reply, outcomes, remote, "MAIL")) co_return std::nullopt;
    bool mail_ok = mail_reply->positive();
    if (!mail_ok && !pipelined) {
        outcomes.decide_undecided(*mail_reply);
        co_return accepted;
    }

    for (std::size_t k = 0; k < rcpts.size(); ++k) {
        Result<ServerReply> reply = Error::internal("no reply");
        if (pipelined)
            reply = co_await conn.read_reply();
        else
            reply = co_await conn.command(rcpts[k]);
        if (session_ended(reply, outcomes, remote, "RCPT")) co_return std::nullopt;
        if (!mail_ok) continue;  // pipelined RCPTs after a refused MAIL say nothing
        if (reply->positive())
            accepted.push_back(positions[k]);
        else
            outcomes.decide(positions[k], *reply);
    }
    if (!mail_ok) outcomes.decide_undecided(*mail_reply);
    co_return accepted;
}

// Streams the content and the terminator. False when the session ended
// (the reason is already recorded).
asio::awaitable<bool> send_content(Connection& conn, SpoolReader& spool, Outcomes& outcomes,
                                   const std::string& qid) {
    const std::string remote = conn.target().remote();
    DotStuffer stuffer;
    std::string wire;
    while (true) {
        auto chunk = spool.next();
        if (!chunk) {
            // Closing without the terminator makes the server drop the
            // partial message; sending "." would deliver a truncated one.
            conn.close();
            outcomes.decide_undecided(RcptOutcome::Deferred,
                                      reasons::spool_unreadable(chunk.error().message));
            co_return false;
        }
        wire.clear();
        if (chunk->empty()) break;
        stuffer.feed(*chunk, wire);
        auto sent = co_await conn.send(wire);
        if (!sent) {
            session_ended(sent.error(), outcomes, remote, "DATA");
            co_return false;
        }
    }
    stuffer.finish(wire);
    auto sent = co_await conn.send(wire);
    if (!sent) {
        session_ended(sent.error(), outcomes, remote, "DATA");
        co_return false;
    }
    if (stuffer.bare_line_ends() > 0)
        log::info("deliver.data.repaired qid={} remote={} bare_line_ends={}", qid,
                  log_escape(remote), stuffer.bare_line_ends());
    co_return true;
}

}  // namespace

asio::awaitable<bool> run_transaction(Connection& conn, const Envelope& envelope,
                                      const std::vector<std::size_t>& recipients,
                                      const ContentRef& content, Outcomes& outcomes) {
    const std::string remote = conn.target().remote();
    const Extensions& ext = conn.extensions;

    // What the server's extensions rule out needs no command at all.
    if (envelope.smtputf8 && !ext.smtputf8) {
        outcomes.decide_undecided(RcptOutcome::Bounced, reasons::smtputf8_not_offered(remote));
        co_return true;
    }
    if (ext.size && ext.size_limit > 0 && content.length > ext.size_limit) {
        outcomes.decide_undecided(RcptOutcome::Bounced,
                                  reasons::too_big(remote, content.length, ext.size_limit));
        co_return true;
    }
    auto mail = mail_command(envelope, ext, content.length);
    if (!mail) {
        outcomes.decide_undecided(RcptOutcome::Bounced, reasons::bad_sender(envelope.sender));
        co_return true;
    }
    std::vector<std::string> rcpts;
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        if (outcomes.decided(i) || recipients[i] >= envelope.recipients.size()) continue;
        const Recipient& r = envelope.recipients[recipients[i]];
        auto line = rcpt_command(r, ext);
        if (!line) {
            outcomes.decide(i, RcptOutcome::Bounced, reasons::bad_recipient(r.address));
            continue;
        }
        rcpts.push_back(std::move(*line));
        positions.push_back(i);
    }
    if (rcpts.empty()) co_return true;

    // Open the spool file first: if it is missing, no server state is touched.
    SpoolReader spool;
    if (auto opened = spool.open(content); !opened) {
        outcomes.decide_undecided(RcptOutcome::Deferred,
                                  reasons::spool_unreadable(opened.error().message));
        co_return true;
    }

    auto accepted = co_await send_envelope(conn, *mail, rcpts, positions, outcomes);
    if (!accepted) co_return false;
    if (accepted->empty()) co_return true;

    auto data = co_await conn.command("DATA");
    if (session_ended(data, outcomes, remote, "DATA")) co_return false;
    if (data->code != 354) {
        // A 2xx to DATA itself is nonsense; nothing was sent, so defer.
        for (std::size_t i : *accepted) {
            if (data->positive())
                outcomes.decide(i, RcptOutcome::Deferred, reasons::unexpected_reply("DATA", *data));
            else
                outcomes.decide(i, *data);
        }
        co_return true;
    }
    if (!co_await send_content(conn, spool, outcomes, envelope.queue_id)) co_return false;

    // The reply to the final dot decides every recipient RCPT accepted.
    auto final_reply = co_await conn.read_reply();
    if (session_ended(final_reply, outcomes, remote, "end of DATA")) co_return false;
    for (std::size_t i : *accepted) outcomes.decide(i, *final_reply);
    if (final_reply->positive()) ++conn.messages_sent;
    co_return true;
}

}  // namespace gatehouse::deliver
