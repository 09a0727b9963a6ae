// Lifecycle events: the one stream that live search, quarantine, SIEM,
// webhooks and reports read (DESIGN.md "events"). Every stage emits through
// a Sink; the embedded default writes JSON lines to var/log/events.jsonl.
// The schema is fixed and documented in docs/events.md: a field is either
// present with the documented meaning or absent, never renamed.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::events {

enum class Kind {
    Received,   // accepted with 250 and queued
    Rejected,   // refused during the SMTP session (envelope or content)
    Queued,     // a message created by Gatehouse itself (DSN) entered the queue
    Attempt,    // one delivery transaction finished (any outcome)
    Delivered,  // a recipient was accepted by the next hop
    Deferred,   // a recipient got a temporary failure; a retry is scheduled
    Bounced,    // a recipient failed permanently; a DSN is sent if allowed
    Expired,    // a recipient reached the queue lifetime; a DSN is sent if allowed
    Held,       // put on hold by an admin or the policy
    Released,   // taken off hold
    Deleted,    // removed by an admin
};

std::string_view to_string(Kind k);

struct Event {
    Kind kind = Kind::Received;
    std::int64_t time_ms = 0;  // set by emit() when 0
    std::string queue_id;
    std::string session_id;
    std::string sender;
    std::vector<std::string> recipients;
    std::string client;  // peer IP of the receiving session
    std::string helo;
    std::uint64_t size = 0;
    std::string message_id;
    std::string destination;  // route of a delivery (domain or relay)
    std::string remote;       // host[ip]:port of the next hop
    std::string reply;        // SMTP reply that decided the outcome
    std::string reason;       // our own explanation
    std::string disposition;  // pipeline decision, when relevant
    std::string tls;          // TLS version/cipher, or "none"
    unsigned attempt = 0;
    std::int64_t next_attempt_ms = 0;
    std::int64_t delay_ms = 0;  // time since arrival
};

std::string to_json(const Event& e);

class Sink {
  public:
    virtual ~Sink() = default;
    virtual void emit(const Event& e) = 0;
};

// Fans one event out to every subscriber; thread-safe.
class Bus final : public Sink {
  public:
    void subscribe(std::shared_ptr<Sink> sink);
    void emit(const Event& e) override;

  private:
    std::mutex mu_;
    std::vector<std::shared_ptr<Sink>> sinks_;
};

// Appends one JSON object per line to a file.
class JsonLinesSink final : public Sink {
  public:
    explicit JsonLinesSink(const std::string& path);
    ~JsonLinesSink() override;
    void emit(const Event& e) override;

  private:
    std::mutex mu_;
    int fd_ = -1;
};

// Keeps events in memory; for tests and the admin API's recent-events view.
class MemorySink final : public Sink {
  public:
    void emit(const Event& e) override;
    std::vector<Event> snapshot();

  private:
    std::mutex mu_;
    std::vector<Event> events_;
};

std::int64_t now_ms();

}  // namespace gatehouse::events
