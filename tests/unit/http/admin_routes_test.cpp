// Routing of admin API requests, without HTTP: status codes, the JSON form
// of a message and its round trip through message_from_json.
#include "http/admin_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_admin.hpp"
#include "http/admin_json.hpp"

namespace gatehouse::http {
namespace {

namespace json = boost::json;
using testing::FakeAdmin;

std::string error_of(const ApiResponse& r) {
    return std::string(json::parse(r.body).at("error").as_string());
}

TEST(AdminRoutes, HealthAndUnknownPaths) {
    FakeAdmin admin;
    auto health = route_admin_request(admin, "GET", "/api/v1/health");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, R"({"status":"ok"})");
    EXPECT_EQ(route_admin_request(admin, "GET", "/").status, 404u);
    EXPECT_EQ(route_admin_request(admin, "GET", "/api/v1/nothing").status, 404u);
    EXPECT_EQ(route_admin_request(admin, "GET", "/api/v1/queue/").status, 404u);
    EXPECT_EQ(route_admin_request(admin, "GET", "/api/v2/health").status, 404u);
}

TEST(AdminRoutes, WrongMethodNamesTheAllowedOnes) {
    FakeAdmin admin;
    std::string qid = admin.add("a@example.org", 10);
    auto r = route_admin_request(admin, "POST", "/api/v1/health");
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(r.allow, "GET");
    EXPECT_EQ(route_admin_request(admin, "GET", "/api/v1/queue/flush").allow, "POST");
    EXPECT_EQ(route_admin_request(admin, "PUT", "/api/v1/queue/" + qid).allow, "GET, DELETE");
    EXPECT_EQ(route_admin_request(admin, "GET", "/api/v1/queue/" + qid + "/hold").status, 405u);
    EXPECT_EQ(route_admin_request(admin, "POST", "/api/v1/queue/" + qid + "/bounce").status, 404u);
}

TEST(AdminRoutes, MalformedQueueIdNeverReachesTheQueue) {
    FakeAdmin admin;
    auto r = route_admin_request(admin, "DELETE", "/api/v1/queue/..%2F..%2Fetc");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(error_of(r), "no message with queue id ..%2F..%2Fetc");
    EXPECT_TRUE(admin.calls().empty());
}

TEST(AdminRoutes, PermanentErrorIsNotFoundOrConflict) {
    FakeAdmin admin;
    std::string qid = admin.add("a@example.org", 10);
    EXPECT_EQ(route_admin_request(admin, "POST", "/api/v1/queue/" + qid + "/hold").status, 200u);
    auto again = route_admin_request(admin, "POST", "/api/v1/queue/" + qid + "/hold");
    EXPECT_EQ(again.status, 409u);
    EXPECT_EQ(error_of(again), "message is already on hold");

    std::string gone = admin.add("b@example.org", 10);
    EXPECT_EQ(route_admin_request(admin, "DELETE", "/api/v1/queue/" + gone).status, 200u);
    auto missing = route_admin_request(admin, "DELETE", "/api/v1/queue/" + gone);
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(error_of(missing), "no message with queue id " + gone);
}

TEST(AdminRoutes, InternalAndTemporaryErrors) {
    FakeAdmin admin;
    admin.fail_next(Error::internal("spool write failed: no space left on device"));
    auto r = route_admin_request(admin, "POST", "/api/v1/queue/flush");
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(error_of(r), "spool write failed: no space left on device");

    admin.fail_next(Error::temporary("queue manager is starting"));
    EXPECT_EQ(route_admin_request(admin, "POST", "/api/v1/queue/flush").status, 503u);

    std::string qid = admin.add("a@example.org", 10);
    admin.throw_next();
    auto thrown = route_admin_request(admin, "GET", "/api/v1/queue/" + qid);
    EXPECT_EQ(thrown.status, 500u);
    EXPECT_EQ(error_of(thrown), "internal error");
}

TEST(AdminJson, MessageRoundTrip) {
    FakeAdmin admin;
    std::string qid = admin.add("", 4096);
    auto original = *admin.show(qid);
    json::value v = message_to_json(original);
    auto back = message_from_json(json::parse(json::serialize(v)));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->queue_id, qid);
    EXPECT_EQ(back->sender, "");
    EXPECT_EQ(back->size, 4096u);
    EXPECT_EQ(back->arrival_ms, original.arrival_ms);
    EXPECT_EQ(back->next_attempt_ms, original.next_attempt_ms);
    EXPECT_EQ(back->attempts, 2u);
    ASSERT_EQ(back->recipients.size(), 2u);
    EXPECT_EQ(back->recipients[1].address, "carol@example.org");
    EXPECT_EQ(back->recipients[1].state, "delivered");
    EXPECT_EQ(back->recipients[1].last_reply, "250 2.0.0 ok");
}

TEST(AdminJson, MistypedFieldIsNamed) {
    json::value v = json::parse(R"({"queue_id":"X","state":"deferred","sender":"",
        "size":"big","arrival_ms":0,"next_attempt_ms":0,"attempts":0,"last_error":"",
        "recipients":[]})");
    auto m = message_from_json(v);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("size"), std::string::npos);
    EXPECT_FALSE(message_from_json(json::parse("[]")).ok());
}

}  // namespace
}  // namespace gatehouse::http
