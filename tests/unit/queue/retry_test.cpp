#include "queue/retry.hpp"

#include <gtest/gtest.h>

namespace gatehouse::queue {

using std::chrono::seconds;

TEST(RetryPolicy, FollowsScheduleThenRepeatsLast) {
    RetryPolicy p({seconds(60), seconds(300), seconds(900)}, seconds(96 * 3600));
    const std::int64_t t0 = 1'000'000'000;
    EXPECT_EQ(p.next_attempt_ms(1, t0, t0), t0 + 60'000);
    EXPECT_EQ(p.next_attempt_ms(2, t0, t0), t0 + 300'000);
    EXPECT_EQ(p.next_attempt_ms(3, t0, t0), t0 + 900'000);
    EXPECT_EQ(p.next_attempt_ms(50, t0, t0), t0 + 900'000);
}

TEST(RetryPolicy, LastAttemptAtLifetimeThenExpired) {
    RetryPolicy p({seconds(3600)}, seconds(96 * 3600));
    const std::int64_t arrival = 0;
    const std::int64_t now = 96 * 3600'000LL - 60'000;  // one minute before the end
    EXPECT_EQ(p.next_attempt_ms(10, arrival, now), 96 * 3600'000LL);
    EXPECT_FALSE(p.expired(arrival, now));
    EXPECT_TRUE(p.expired(arrival, 96 * 3600'000LL));
}

}  // namespace gatehouse::queue
