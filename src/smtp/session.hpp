// One SMTP server session (internal to smtp/; see server.hpp). The session
// reads commands, keeps the envelope, streams content into the Intake and
// answers with what the Intake returns. It never parses MIME and never
// decides about content (DESIGN.md).
//
// SECURITY: everything read from the socket is untrusted. Command lines are
// capped (kMaxCommandLine), errors are counted and the session is closed
// after config limits.max_errors, DATA is framed only by <CRLF>.<CRLF>
// (DataDecoder), plaintext pipelined after STARTTLS is discarded (the
// CVE-2011-0411 class of command injection), and every peer string is
// escaped before logging.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/envelope.hpp"
#include "config/config.hpp"
#include "smtp/command.hpp"
#include "smtp/data_decoder.hpp"
#include "smtp/intake.hpp"
#include "smtp/reply.hpp"

namespace gatehouse::events {
class Sink;
}

namespace gatehouse::smtp {

constexpr std::size_t kMaxCommandLine = 2048;
constexpr std::size_t kReadChunk = 64 * 1024;

struct SessionContext {
    const config::Config& config;
    const config::Listener& listener;
    Intake& intake;
    events::Sink& events;
    std::shared_ptr<boost::asio::ssl::context> tls;  // null: STARTTLS not offered
    const std::atomic<bool>& draining;               // server stopping: 421 at the next command
};

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(SessionContext ctx, boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> run();
    // Closes the connection with a 421 (server shutting down or limits).
    boost::asio::awaitable<void> refuse(const Reply& reply);

  private:
    enum class ReadStatus { Line, TooLong, Closed };

    // transport
    boost::asio::awaitable<std::size_t> read_more();
    boost::asio::awaitable<ReadStatus> read_line(std::string& line);
    boost::asio::awaitable<void> flush();
    void queue_reply(const Reply& r);
    boost::asio::awaitable<void> send_now(const Reply& r);
    boost::asio::awaitable<void> watchdog();
    void touch(std::chrono::seconds timeout);

    // phases (session.cpp)
    boost::asio::awaitable<bool> handle(const Command& cmd);
    void on_helo(const Command& cmd, bool extended);
    bool on_mail(const Command& cmd);  // false: close the session
    bool on_rcpt(const Command& cmd);
    static bool deliverable_address(const std::string& address);
    boost::asio::awaitable<bool> on_starttls(const Command& cmd);
    void reset_transaction();
    bool count_error();

    // content (session_data.cpp)
    boost::asio::awaitable<bool> on_data(const Command& cmd);
    boost::asio::awaitable<bool> on_bdat(const Command& cmd);
    bool open_message();
    std::string received_header() const;
    boost::asio::awaitable<void> finish_message(const DataDecoder& decoder);
    void abandon_message();

    SessionContext ctx_;
    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_stream_;
    boost::asio::steady_timer deadline_;
    std::chrono::steady_clock::time_point deadline_at_;
    bool closed_ = false;
    bool timed_out_ = false;
    bool failed_ = false;  // write error or watchdog close: the session ends

    std::string inbuf_;
    std::size_t inpos_ = 0;
    std::string outbuf_;

    std::string sid_;
    ClientInfo client_;
    bool greeted_ = false;  // HELO/EHLO seen
    bool esmtp_ = false;
    unsigned errors_ = 0;
    unsigned messages_ = 0;

    // transaction
    bool in_mail_ = false;
    Envelope env_;
    std::uint64_t declared_size_ = 0;
    unsigned rejected_rcpts_ = 0;
    std::unique_ptr<MessageWriter> writer_;
    std::unique_ptr<DataDecoder> bdat_decoder_;
    std::uint64_t bdat_total_ = 0;
    bool bdat_failed_ = false;
    bool too_big_ = false;
    Result<void> write_error_;
    std::string staged_;
};

}  // namespace gatehouse::smtp
