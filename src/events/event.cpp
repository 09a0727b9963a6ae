#include "events/event.hpp"

#include "base/time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>

namespace gatehouse::events {

std::string_view to_string(Kind k) {
    switch (k) {
        case Kind::Received:
            return "received";
        case Kind::Rejected:
            return "rejected";
        case Kind::Queued:
            return "queued";
        case Kind::Attempt:
            return "attempt";
        case Kind::Delivered:
            return "delivered";
        case Kind::Deferred:
            return "deferred";
        case Kind::Bounced:
            return "bounced";
        case Kind::Expired:
            return "expired";
        case Kind::Held:
            return "held";
        case Kind::Released:
            return "released";
        case Kind::Deleted:
            return "deleted";
    }
    return "unknown";
}

std::int64_t now_ms() {
    return gatehouse::now_ms();
}

std::string to_json(const Event& e) {
    boost::json::object o;
    o["time_ms"] = e.time_ms;
    o["event"] = std::string(to_string(e.kind));
    auto put = [&](const char* k, const std::string& v) {
        if (!v.empty()) o[k] = v;
    };
    put("qid", e.queue_id);
    put("sid", e.session_id);
    if (!e.sender.empty() || e.kind == Kind::Received) o["sender"] = e.sender;
    if (!e.recipients.empty()) {
        boost::json::array a;
        for (const auto& r : e.recipients) a.emplace_back(r);
        o["recipients"] = std::move(a);
    }
    put("client", e.client);
    put("helo", e.helo);
    if (e.size) o["size"] = e.size;
    put("message_id", e.message_id);
    put("destination", e.destination);
    put("remote", e.remote);
    put("reply", e.reply);
    put("reason", e.reason);
    put("disposition", e.disposition);
    put("tls", e.tls);
    if (e.attempt) o["attempt"] = e.attempt;
    if (e.next_attempt_ms) o["next_attempt_ms"] = e.next_attempt_ms;
    if (e.delay_ms) o["delay_ms"] = e.delay_ms;
    return boost::json::serialize(o);
}

void Bus::subscribe(std::shared_ptr<Sink> sink) {
    std::lock_guard lock(mu_);
    sinks_.push_back(std::move(sink));
}

void Bus::emit(const Event& e) {
    Event copy = e;
    if (copy.time_ms == 0) copy.time_ms = now_ms();
    std::lock_guard lock(mu_);
    for (auto& s : sinks_) s->emit(copy);
}

JsonLinesSink::JsonLinesSink(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) throw std::runtime_error("open event log " + path + " failed");
}

JsonLinesSink::~JsonLinesSink() {
    if (fd_ >= 0) ::close(fd_);
}

void JsonLinesSink::emit(const Event& e) {
    std::string line = to_json(e);
    line += '\n';
    std::lock_guard lock(mu_);
    // One write() per line with O_APPEND keeps lines whole for readers.
    [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
}

void MemorySink::emit(const Event& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
}

std::vector<Event> MemorySink::snapshot() {
    std::lock_guard lock(mu_);
    return events_;
}

}  // namespace gatehouse::events
