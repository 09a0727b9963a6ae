// The SMTP server: binds every configured listener, accepts connections
// within the global and per-client limits, and runs one Session coroutine
// per connection. Boost.Asio stays behind the pimpl so this header is cheap.
//
// Standards: RFC 5321, RFC 3207 (STARTTLS), RFC 2920 (PIPELINING),
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3463
// (enhanced status codes), RFC 3030 (CHUNKING), RFC 3461 (DSN parameters).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace gatehouse::events {
class Sink;
}

namespace gatehouse::smtp {

class Intake;

class Server {
  public:
    Server(boost::asio::io_context& ioc, const config::Config& config, Intake& intake,
           events::Sink& events, std::shared_ptr<boost::asio::ssl::context> tls);
    ~Server();

    // Binds all listeners. Throws std::runtime_error naming the listener and
    // address when one cannot be bound.
    void start();
    // Stops accepting; open sessions answer their next command with 421 and
    // end (a message in DATA is received and answered first).
    void stop();
    // Local ports actually bound (useful with port 0 in tests), in listener order.
    std::vector<std::uint16_t> ports() const;
    std::size_t sessions() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace gatehouse::smtp
