// One outbound SMTP connection: TCP connect with a timeout, replies read
// through ReplyReader, commands written with a timeout, STARTTLS upgrade in
// place. Knows nothing of envelopes or recipients; session.cpp and
// transaction.cpp drive it. The asio and OpenSSL code stays in
// connection.cpp (this header only gets awaitable through deliverer.hpp).
//
// Standards: RFC 5321 section 4.5.3.2 (timeouts are per command here,
// config queue.command_timeout), RFC 3207 (STARTTLS).
//
// SECURITY: the peer is untrusted. Replies are bounded by ReplyReader, every
// read and write has a deadline, and plaintext that arrives behind the
// STARTTLS 220 reply is refused rather than read as if it came over TLS.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "deliver/deliverer.hpp"
#include "deliver/extensions.hpp"
#include "deliver/reply_reader.hpp"

namespace boost::asio::ssl {
class context;
}

namespace gatehouse::deliver {

// One address to try: an MX or relay host and one of its addresses.
struct Target {
    std::string host;     // name from MX / route, or the IP literal itself
    std::string address;  // textual IPv4 or IPv6
    std::uint16_t port = 25;
    // "mx.example[192.0.2.1]:25", the form used in results and logs.
    std::string remote() const;
};

struct Timeouts {
    std::chrono::seconds connect{30};
    std::chrono::seconds command{300};
};

class Connection {
  public:
    // Connects to target.address:port. The Error says why not ("connection
    // refused", "timed out").
    static boost::asio::awaitable<Result<std::unique_ptr<Connection>>> open(
        boost::asio::any_io_executor executor, Target target, Timeouts timeouts);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // The next reply, within the command timeout.
    boost::asio::awaitable<Result<ServerReply>> read_reply();
    // Writes bytes as they are (the caller adds CRLF), within the timeout.
    boost::asio::awaitable<Result<void>> send(std::string_view bytes);
    // Sends line + CRLF and reads one reply.
    boost::asio::awaitable<Result<ServerReply>> command(std::string_view line);
    // TLS handshake after the server's 220 to STARTTLS. sni is the host name
    // to send, empty for an IP literal.
    boost::asio::awaitable<Result<void>> start_tls(
        std::shared_ptr<boost::asio::ssl::context> context, const std::string& sni);
    // QUIT, a short wait for its reply, close. Never fails.
    boost::asio::awaitable<void> quit();
    void close();

    bool is_open() const;
    bool tls_active() const;
    std::string tls_description() const;  // tls::describe() or "none"
    const Target& target() const;

    // Session facts kept with the connection for reuse.
    Extensions extensions;
    unsigned messages_sent = 0;
    std::chrono::steady_clock::time_point idle_since{};

  private:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::deliver
