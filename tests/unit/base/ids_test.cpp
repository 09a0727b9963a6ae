#include "base/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace gatehouse {

TEST(QueueId, IsValidFileNameAndSortsByTime) {
    std::string prev = make_queue_id();
    EXPECT_TRUE(is_queue_id(prev));
    std::set<std::string> seen{prev};
    for (int i = 0; i < 10000; ++i) {
        std::string id = make_queue_id();
        ASSERT_TRUE(is_queue_id(id)) << id;
        ASSERT_EQ(id.find('/'), std::string::npos);
        ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
        ASSERT_GE(queue_id_time_us(id), queue_id_time_us(prev));
        prev = id;
    }
}

TEST(QueueId, RejectsForeignShapes) {
    EXPECT_FALSE(is_queue_id(""));
    EXPECT_FALSE(is_queue_id("../../etc/passwd"));
    EXPECT_FALSE(is_queue_id("0123456789ABCDEU"));  // U is not in the alphabet
    EXPECT_TRUE(is_queue_id("0123456789ABCDEF"));
}

TEST(SessionId, IsSixteenHexDigits) {
    auto sid = make_session_id();
    ASSERT_EQ(sid.size(), 16u);
    for (char c : sid) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)));
}

}  // namespace gatehouse
