// In-memory queue::Admin and a threaded AdminServer for the http tests.
#include "fake_admin.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "base/ids.hpp"

namespace gatehouse::http::testing {

std::string FakeAdmin::add(const std::string& sender, std::uint64_t size) {
    std::lock_guard lock(mu_);
    queue::MessageSummary m;
    m.queue_id = make_queue_id();
    m.state = "deferred";
    m.sender = sender;
    m.size = size;
    m.arrival_ms = 1714564800000;  // 2024-05-01 12:00:00 UTC
    m.next_attempt_ms = 1714565100000;
    m.attempts = 2;
    m.last_error = "451 4.7.1 try again later";
    m.recipients = {{"bob@example.org", "pending", "451 4.7.1 try again later"},
                    {"carol@example.org", "delivered", "250 2.0.0 ok"}};
    messages_[m.queue_id] = m;
    return m.queue_id;
}

std::vector<queue::MessageSummary> FakeAdmin::list() {
    std::lock_guard lock(mu_);
    calls_.push_back("list");
    std::vector<queue::MessageSummary> out;
    for (auto& [id, m] : messages_) out.push_back(m);
    return out;
}

std::optional<queue::MessageSummary> FakeAdmin::show(const std::string& queue_id) {
    std::lock_guard lock(mu_);
    calls_.push_back("show " + queue_id);
    if (throw_next_) {
        throw_next_ = false;
        throw std::runtime_error("spool unreadable");
    }
    auto it = messages_.find(queue_id);
    if (it == messages_.end()) return std::nullopt;
    return it->second;
}

Result<void> FakeAdmin::flush() {
    return act("flush", "");
}
Result<void> FakeAdmin::remove(const std::string& queue_id) {
    return act("remove", queue_id);
}
Result<void> FakeAdmin::hold(const std::string& queue_id) {
    return act("hold", queue_id);
}
Result<void> FakeAdmin::release(const std::string& queue_id) {
    return act("release", queue_id);
}

Result<void> FakeAdmin::act(const std::string& call, const std::string& queue_id) {
    std::lock_guard lock(mu_);
    calls_.push_back(queue_id.empty() ? call : call + " " + queue_id);
    if (fail_next_) {
        Error e = *fail_next_;
        fail_next_.reset();
        return e;
    }
    if (call == "flush") return ok();
    auto it = messages_.find(queue_id);
    if (it == messages_.end()) return Error::permanent("unknown queue id");
    if (call == "remove") {
        messages_.erase(it);
    } else if (call == "hold") {
        if (it->second.state == "hold") return Error::permanent("message is already on hold");
        it->second.state = "hold";
    } else if (call == "release") {
        if (it->second.state != "hold") return Error::permanent("message is not on hold");
        it->second.state = "deferred";
    }
    return ok();
}

std::vector<std::string> FakeAdmin::calls() {
    std::lock_guard lock(mu_);
    return calls_;
}

void FakeAdmin::fail_next(Error error) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(error);
}

void FakeAdmin::throw_next() {
    std::lock_guard lock(mu_);
    throw_next_ = true;
}

ServerThread::ServerThread(queue::Admin& admin, AdminServerLimits limits)
    : server_(io_, {"127.0.0.1", 0}, kKey, admin, limits) {
    auto started = server_.start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
    thread_ = std::thread([this] { io_.run(); });
}

ServerThread::~ServerThread() {
    server_.stop();
    thread_.join();
}

}  // namespace gatehouse::http::testing
