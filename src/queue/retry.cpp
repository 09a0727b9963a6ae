#include "queue/retry.hpp"

#include <algorithm>

namespace gatehouse::queue {

RetryPolicy::RetryPolicy(std::vector<std::chrono::seconds> delays, std::chrono::seconds lifetime)
    : lifetime_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(lifetime).count()) {
    for (auto d : delays)
        delays_ms_.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    if (delays_ms_.empty()) delays_ms_.push_back(60'000);
}

std::int64_t RetryPolicy::next_attempt_ms(unsigned attempts_made, std::int64_t arrival_ms,
                                          std::int64_t now_ms) const {
    std::size_t i = attempts_made == 0 ? 0 : attempts_made - 1;
    std::int64_t delay = delays_ms_[std::min(i, delays_ms_.size() - 1)];
    return std::min(now_ms + delay, arrival_ms + lifetime_ms_);
}

bool RetryPolicy::expired(std::int64_t arrival_ms, std::int64_t now_ms) const {
    return now_ms >= arrival_ms + lifetime_ms_;
}

}  // namespace gatehouse::queue
