#include "events/event.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace gatehouse::events {

TEST(Event, JsonHasFixedKeysAndOmitsEmpty) {
    Event e;
    e.kind = Kind::Delivered;
    e.time_ms = 1700000000000;
    e.queue_id = "0123456789ABCDEF";
    e.recipients = {"a@example.com"};
    e.reply = "250 2.0.0 ok";
    auto v = boost::json::parse(to_json(e)).as_object();
    EXPECT_EQ(v.at("event").as_string(), "delivered");
    EXPECT_EQ(v.at("qid").as_string(), "0123456789ABCDEF");
    EXPECT_EQ(v.at("recipients").as_array().size(), 1u);
    EXPECT_EQ(v.at("reply").as_string(), "250 2.0.0 ok");
    EXPECT_FALSE(v.contains("sid"));
    EXPECT_FALSE(v.contains("attempt"));
}

TEST(Bus, FansOutAndStampsTime) {
    Bus bus;
    auto a = std::make_shared<MemorySink>();
    auto b = std::make_shared<MemorySink>();
    bus.subscribe(a);
    bus.subscribe(b);
    bus.emit(Event{});
    ASSERT_EQ(a->snapshot().size(), 1u);
    ASSERT_EQ(b->snapshot().size(), 1u);
    EXPECT_GT(a->snapshot()[0].time_ms, 0);
}

}  // namespace gatehouse::events
