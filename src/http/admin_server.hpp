// The admin HTTP API: a small JSON API over HTTP/1.1 through which
// `gatehouse queue ...` (and any operator tool) lists and acts on the queue.
// Called by the main program (`gatehouse serve`), which owns the io_context
// and the queue manager behind queue::Admin.
//
// Endpoints (all answer JSON; errors are {"error":"..."}):
//   GET    /api/v1/health              {"status":"ok"}
//   GET    /api/v1/queue               {"messages":[message...]}
//   GET    /api/v1/queue/{qid}         message, 404 when unknown
//   POST   /api/v1/queue/flush         every deferred message is tried now
//   DELETE /api/v1/queue/{qid}         removed without a DSN
//   POST   /api/v1/queue/{qid}/hold
//   POST   /api/v1/queue/{qid}/release
//
// Standards: HTTP/1.1 (RFC 9110, RFC 9112), Bearer tokens (RFC 6750), JSON
// (RFC 8259). Trust: requests are untrusted until the Bearer key matches;
// the parser's header and body limits apply before that, and peers other
// than loopback are dropped unless allow_remote is set.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"
#include "queue/admin.hpp"

namespace boost::asio {
class io_context;
}

namespace gatehouse::http {

struct AdminServerLimits {
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    // A connection with no complete request in this time is closed.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    // Off: connections from anywhere but 127.0.0.0/8 and ::1 are closed at once.
    bool allow_remote = false;
};

class AdminServer {
  public:
    AdminServer(boost::asio::io_context& io, const config::HostPort& listen, std::string api_key,
                queue::Admin& admin, AdminServerLimits limits = {});
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds the listening socket and starts accepting on the io_context. The
    // error names the address and the cause (address in use, permission...).
    Result<void> start();

    // Closes the listener and every open connection; safe from any thread.
    void stop();

    // The bound port (useful after listening on port 0); 0 before start().
    std::uint16_t port() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace gatehouse::http
