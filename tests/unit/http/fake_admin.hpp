// Test doubles for the admin API tests: an in-memory queue::Admin that
// records every call, and an AdminServer running on its own thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "http/admin_server.hpp"
#include "queue/admin.hpp"

namespace gatehouse::http::testing {

class FakeAdmin : public queue::Admin {
  public:
    // Adds a deferred message with two recipients; returns its queue id.
    std::string add(const std::string& sender, std::uint64_t size);

    std::vector<queue::MessageSummary> list() override;
    std::optional<queue::MessageSummary> show(const std::string& queue_id) override;
    Result<void> flush() override;
    Result<void> remove(const std::string& queue_id) override;
    Result<void> hold(const std::string& queue_id) override;
    Result<void> release(const std::string& queue_id) override;

    std::vector<std::string> calls();
    void fail_next(Error error);
    void throw_next();

  private:
    Result<void> act(const std::string& call, const std::string& queue_id);

    std::mutex mu_;
    std::map<std::string, queue::MessageSummary> messages_;
    std::vector<std::string> calls_;
    std::optional<Error> fail_next_;
    bool throw_next_ = false;
};

inline constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

// An AdminServer on 127.0.0.1, an ephemeral port and its own I/O thread.
class ServerThread {
  public:
    explicit ServerThread(queue::Admin& admin, AdminServerLimits limits = {});
    ~ServerThread();
    config::HostPort address() const { return {"127.0.0.1", server_.port()}; }
    void stop() { server_.stop(); }

  private:
    boost::asio::io_context io_;
    AdminServer server_;
    std::thread thread_;
};

}  // namespace gatehouse::http::testing
