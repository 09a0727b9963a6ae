// The admin API over real loopback connections: every endpoint through
// admin_request, and the parser limits, malformed requests, keep-alive and
// the idle timeout through raw sockets.
#include "http/admin_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "fake_admin.hpp"
#include "http/admin_client.hpp"
#include "http/admin_json.hpp"

namespace gatehouse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using testing::FakeAdmin;
using testing::kKey;
using testing::ServerThread;
using tcp = asio::ip::tcp;

// A blocking client socket that gives up after five seconds instead of
// hanging the test when the server misbehaves.
class RawClient {
  public:
    explicit RawClient(const config::HostPort& server) : socket_(io_) {
        socket_.connect({asio::ip::make_address(server.host), server.port});
        timeval tv{5, 0};
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

    bhttp::response<bhttp::string_body> read_response() {
        bhttp::response<bhttp::string_body> res;
        bhttp::read(socket_, buffer_, res);
        return res;
    }

    // True when the server closed the connection (EOF or reset).
    bool closed_by_server() {
        char c;
        boost::system::error_code ec;
        socket_.read_some(asio::buffer(&c, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

  private:
    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

std::string request_line(const std::string& method, const std::string& target,
                         const std::string& extra = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + kKey +
           "\r\n" + extra + "\r\n";
}

class AdminServerTest : public ::testing::Test {
  protected:
    Result<std::string> call(const std::string& method, const std::string& target,
                             const std::string& key = kKey) {
        return admin_request(server_.address(), key, method, target);
    }

    FakeAdmin admin_;
    ServerThread server_{admin_};
};

TEST_F(AdminServerTest, Health) {
    auto r = call("GET", "/api/v1/health");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, R"({"status":"ok"})");
}

TEST_F(AdminServerTest, MissingOrWrongKeyIs401) {
    auto wrong = call("GET", "/api/v1/queue", "not-the-key");
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(admin_error_status(wrong.error()), 401);
    EXPECT_EQ(admin_error_text(wrong.error()), "missing or wrong API key");
    EXPECT_EQ(wrong.error().kind, ErrorKind::Permanent);

    // A prefix of the right key is still wrong.
    auto prefix = call("GET", "/api/v1/queue", std::string(kKey).substr(0, 10));
    EXPECT_EQ(admin_error_status(prefix.error()), 401);

    RawClient raw(server_.address());
    raw.send("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    auto res = raw.read_response();
    EXPECT_EQ(res.result_int(), 401u);
    EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"gatehouse\"");
    EXPECT_TRUE(admin_.calls().empty());
}

TEST_F(AdminServerTest, ListShape) {
    std::string a = admin_.add("alice@example.org", 1200);
    std::string b = admin_.add("", 3400);
    auto r = call("GET", "/api/v1/queue");
    ASSERT_TRUE(r.ok()) << r.error().message;

    json::value v = json::parse(*r);
    ASSERT_TRUE(v.is_object());
    const json::array& messages = v.at("messages").as_array();
    ASSERT_EQ(messages.size(), 2u);
    const json::object& first = messages[0].as_object();
    for (const char* key : {"queue_id", "state", "sender", "size", "arrival_ms", "next_attempt_ms",
                            "attempts", "last_error", "recipients"}) {
        EXPECT_TRUE(first.contains(key)) << key;
    }
    EXPECT_EQ(first.at("queue_id").as_string(), a);
    EXPECT_EQ(first.at("size").to_number<int>(), 1200);
    EXPECT_EQ(first.at("recipients").as_array().size(), 2u);
    EXPECT_EQ(first.at("recipients").as_array()[0].at("address").as_string(), "bob@example.org");
    EXPECT_EQ(messages[1].at("queue_id").as_string(), b);
}

TEST_F(AdminServerTest, ShowKnownAndUnknown) {
    std::string qid = admin_.add("alice@example.org", 1200);
    auto r = call("GET", "/api/v1/queue/" + qid);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto m = message_from_json(json::parse(*r));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->sender, "alice@example.org");

    std::string unknown = "0000000000000000";
    auto missing = call("GET", "/api/v1/queue/" + unknown);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(admin_error_status(missing.error()), 404);
    EXPECT_EQ(admin_error_text(missing.error()), "no message with queue id " + unknown);
}

TEST_F(AdminServerTest, ActionsReachTheQueue) {
    std::string qid = admin_.add("alice@example.org", 1200);
    EXPECT_TRUE(call("POST", "/api/v1/queue/flush").ok());
    EXPECT_TRUE(call("POST", "/api/v1/queue/" + qid + "/hold").ok());
    EXPECT_EQ(admin_.show(qid)->state, "hold");
    auto twice = call("POST", "/api/v1/queue/" + qid + "/hold");
    EXPECT_EQ(admin_error_status(twice.error()), 409);
    EXPECT_TRUE(call("POST", "/api/v1/queue/" + qid + "/release").ok());
    auto deleted = call("DELETE", "/api/v1/queue/" + qid);
    ASSERT_TRUE(deleted.ok());
    EXPECT_EQ(json::parse(*deleted).at("queue_id").as_string(), qid);
    auto again = call("DELETE", "/api/v1/queue/" + qid);
    EXPECT_EQ(admin_error_status(again.error()), 404);

    auto calls = admin_.calls();
    auto has = [&](const std::string& c) {
        return std::find(calls.begin(), calls.end(), c) != calls.end();
    };
    EXPECT_TRUE(has("flush"));
    EXPECT_TRUE(has("hold " + qid));
    EXPECT_TRUE(has("release " + qid));
    EXPECT_TRUE(has("remove " + qid));
}

TEST_F(AdminServerTest, InternalErrorIs500) {
    admin_.fail_next(Error::internal("spool unreadable"));
    auto r = call("POST", "/api/v1/queue/flush");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(admin_error_status(r.error()), 500);
    EXPECT_EQ(r.error().kind, ErrorKind::Internal);
    EXPECT_EQ(admin_error_text(r.error()), "spool unreadable");
}

TEST_F(AdminServerTest, WrongMethodIs405WithAllow) {
    RawClient raw(server_.address());
    raw.send(request_line("DELETE", "/api/v1/queue"));
    auto res = raw.read_response();
    EXPECT_EQ(res.result_int(), 405u);
    EXPECT_EQ(res[bhttp::field::allow], "GET");
}

TEST_F(AdminServerTest, OversizeBodyIs413) {
    RawClient raw(server_.address());
    std::string body(70 * 1024, 'x');
    raw.send(request_line("POST", "/api/v1/queue/flush",
                          "Content-Length: " + std::to_string(body.size()) + "\r\n") +
             body);
    auto res = raw.read_response();
    EXPECT_EQ(res.result_int(), 413u);
    EXPECT_EQ(json::parse(res.body()).at("error").as_string(), "request body too large");
    EXPECT_TRUE(raw.closed_by_server());
    EXPECT_TRUE(admin_.calls().empty());
}

TEST_F(AdminServerTest, OversizeChunkedBodyIs413) {
    RawClient raw(server_.address());
    std::string chunk(40 * 1024, 'x');
    char size[16];
    snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    raw.send(request_line("POST", "/api/v1/queue/flush", "Transfer-Encoding: chunked\r\n") + size +
             chunk + "\r\n" + size + chunk + "\r\n0\r\n\r\n");
    EXPECT_EQ(raw.read_response().result_int(), 413u);
}

TEST_F(AdminServerTest, OversizeHeaderIs431) {
    RawClient raw(server_.address());
    raw.send(request_line("GET", "/api/v1/health", "X-Filler: " + std::string(9000, 'a') + "\r\n"));
    EXPECT_EQ(raw.read_response().result_int(), 431u);
}

TEST_F(AdminServerTest, MalformedRequestIs400) {
    RawClient raw(server_.address());
    raw.send("this is not http\r\n\r\n");
    auto res = raw.read_response();
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_EQ(json::parse(res.body()).at("error").as_string(), "malformed request");
    EXPECT_TRUE(raw.closed_by_server());
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequests) {
    RawClient raw(server_.address());
    raw.send(request_line("GET", "/api/v1/health"));
    EXPECT_EQ(raw.read_response().result_int(), 200u);
    raw.send(request_line("GET", "/api/v1/queue?verbose=1"));
    auto res = raw.read_response();
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), R"({"messages":[]})");
    EXPECT_TRUE(res.keep_alive());
}

TEST_F(AdminServerTest, ExpectContinueGetsInterimReply) {
    RawClient raw(server_.address());
    raw.send(request_line("POST", "/api/v1/queue/flush",
                          "Content-Length: 2\r\nExpect: 100-continue\r\n"));
    EXPECT_EQ(raw.read_response().result_int(), 100u);
    raw.send("{}");
    EXPECT_EQ(raw.read_response().result_int(), 200u);
}

TEST_F(AdminServerTest, StopClosesOpenConnections) {
    RawClient raw(server_.address());
    raw.send(request_line("GET", "/api/v1/health"));
    EXPECT_EQ(raw.read_response().result_int(), 200u);
    server_.stop();
    EXPECT_TRUE(raw.closed_by_server());
}

TEST(AdminServerIdle, SilentClientIsDroppedAfterTheIdleTimeout) {
    FakeAdmin admin;
    AdminServerLimits limits;
    limits.idle_timeout = std::chrono::milliseconds(300);
    ServerThread server(admin, limits);

    RawClient raw(server.address());
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(raw.closed_by_server());
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    EXPECT_LT(waited, std::chrono::seconds(3));
}

// The first IPv4 address of this machine that is not loopback, if any.
std::optional<std::string> non_loopback_address() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return std::nullopt;
    std::optional<std::string> found;
    for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                  sizeof text);
        if (!asio::ip::make_address(text).is_loopback()) found = text;
    }
    freeifaddrs(list);
    return found;
}

TEST(AdminServerRemote, NonLoopbackPeerIsDroppedByDefault) {
    auto address = non_loopback_address();
    if (!address) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";

    asio::io_context io;
    FakeAdmin admin;
    AdminServer server(io, {*address, 0}, kKey, admin);
    ASSERT_TRUE(server.start().ok());
    std::thread thread([&] { io.run(); });

    RawClient raw({*address, server.port()});
    raw.send(request_line("GET", "/api/v1/health"));
    EXPECT_TRUE(raw.closed_by_server());
    server.stop();
    thread.join();
}

TEST(AdminServerRemote, AllowRemoteServesOtherPeers) {
    auto address = non_loopback_address();
    if (!address) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";

    asio::io_context io;
    FakeAdmin admin;
    AdminServerLimits limits;
    limits.allow_remote = true;
    AdminServer server(io, {*address, 0}, kKey, admin, limits);
    ASSERT_TRUE(server.start().ok());
    std::thread thread([&] { io.run(); });

    RawClient raw({*address, server.port()});
    raw.send(request_line("GET", "/api/v1/health"));
    EXPECT_EQ(raw.read_response().result_int(), 200u);
    server.stop();
    thread.join();
}

TEST(AdminServerStart, BusyPortNamesTheAddress) {
    asio::io_context io;
    tcp::acceptor busy(io, {asio::ip::make_address("127.0.0.1"), 0});
    config::HostPort listen{"127.0.0.1", busy.local_endpoint().port()};
    FakeAdmin admin;
    AdminServer server(io, listen, kKey, admin);
    auto started = server.start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find(listen.str()), std::string::npos)
        << started.error().message;
}

TEST(AdminClient, NothingListening) {
    asio::io_context io;
    std::uint16_t port;
    {
        tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    auto r = admin_request({"127.0.0.1", port}, kKey, "GET", "/api/v1/health");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Temporary);
    EXPECT_EQ(admin_error_status(r.error()), 0);
    EXPECT_EQ(r.error().message, "cannot reach the admin API at 127.0.0.1:" + std::to_string(port) +
                                     " (connection refused)");
}

TEST(AdminClient, ErrorStatusParsing) {
    EXPECT_EQ(admin_error_status(Error::permanent("HTTP 404: no message")), 404);
    EXPECT_EQ(admin_error_text(Error::permanent("HTTP 404: no message")), "no message");
    EXPECT_EQ(admin_error_status(Error::permanent("HTTP 404")), 0);
    EXPECT_EQ(admin_error_status(Error::temporary("cannot reach")), 0);
    EXPECT_EQ(admin_error_text(Error::temporary("cannot reach")), "cannot reach");
}

}  // namespace
}  // namespace gatehouse::http
