// The named retry policy of the queue ("backoff then regular"): the delays
// of config queue.retry in order, the last repeated, until the queue
// lifetime (96 h by default, G6) ends. The final attempt is placed at the
// lifetime boundary so a destination that recovers in the last hour still
// gets its mail, and expiry then happens at a deferral, never silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace gatehouse::queue {

class RetryPolicy {
  public:
    RetryPolicy(std::vector<std::chrono::seconds> delays, std::chrono::seconds lifetime);

    // attempts_made >= 1: attempts done so far. Returns when to try next.
    std::int64_t next_attempt_ms(unsigned attempts_made, std::int64_t arrival_ms,
                                 std::int64_t now_ms) const;
    bool expired(std::int64_t arrival_ms, std::int64_t now_ms) const;
    std::int64_t lifetime_ms() const { return lifetime_ms_; }

  private:
    std::vector<std::int64_t> delays_ms_;
    std::int64_t lifetime_ms_;
};

}  // namespace gatehouse::queue
