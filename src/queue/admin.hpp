// What an administrator can see and do with the queue. Implemented by the
// queue manager; called by the admin HTTP API (http/) and, through it, by
// `gatehouse queue ...`. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace gatehouse::queue {

struct RecipientStatus {
    std::string address;
    std::string state;       // "pending", "delivered", "bounced"
    std::string last_reply;  // last reply or reason, empty before any attempt
};

struct MessageSummary {
    std::string queue_id;
    std::string state;  // "active" (being delivered), "deferred", "hold"
    std::string sender;
    std::uint64_t size = 0;
    std::int64_t arrival_ms = 0;
    std::int64_t next_attempt_ms = 0;  // 0 when not scheduled (active or hold)
    unsigned attempts = 0;
    std::string last_error;
    std::vector<RecipientStatus> recipients;
};

class Admin {
  public:
    virtual ~Admin() = default;
    virtual std::vector<MessageSummary> list() = 0;
    virtual std::optional<MessageSummary> show(const std::string& queue_id) = 0;
    // Schedules every deferred message for an attempt now.
    virtual Result<void> flush() = 0;
    // Removes a message from the queue without a DSN (logged as deleted).
    virtual Result<void> remove(const std::string& queue_id) = 0;
    virtual Result<void> hold(const std::string& queue_id) = 0;
    virtual Result<void> release(const std::string& queue_id) = 0;
};

}  // namespace gatehouse::queue
