// Resolver against a real nsd on loopback: MX ordering, null MX, NXDOMAIN,
// NODATA, A/AAAA order, CNAME, refused zones, shutdown with queries pending.
#include "dns/resolver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <set>

#include "nsd_server.hpp"

namespace gatehouse::dns {
namespace {

namespace asio = boost::asio;
using testing::NsdServer;
using testing::Zone;

const char* kRecords = R"(
ns          IN A     127.0.0.1
multi       IN MX    20 b.mx.example.
multi       IN MX    10 a.mx.example.
multi       IN MX    30 noaddr.example.
tie         IN MX    5 one.example.
tie         IN MX    5 two.example.
mixed       IN MX    7 MiXeD.Example.
a.mx        IN A     127.0.0.1
b.mx        IN A     127.0.0.2
b.mx        IN AAAA  ::1
v6only      IN AAAA  ::1
nullmx      IN MX    0 .
implicit    IN A     127.0.0.3
alias       IN CNAME implicit
mxonly      IN MX    10 a.mx.example.
)";

// One nsd for the whole suite: starting it costs a few hundred ms.
class ResolverTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { nsd_ = new NsdServer({Zone{"example.", kRecords}}); }
    static void TearDownTestSuite() {
        delete nsd_;
        nsd_ = nullptr;
    }

    template <class T>
    T run(asio::awaitable<T> task) {
        std::optional<T> out;
        asio::co_spawn(ioc_, std::move(task), [&](std::exception_ptr e, T value) {
            if (e) std::rethrow_exception(e);
            out = std::move(value);
        });
        ioc_.run_for(std::chrono::seconds(30));
        ioc_.restart();
        EXPECT_TRUE(out.has_value()) << "query did not complete";
        return out.value_or(T{});
    }

    MxAnswer mx(const std::string& name) { return run(resolver_.mx(name)); }
    AddressAnswer addresses(const std::string& name) { return run(resolver_.addresses(name)); }

    static NsdServer* nsd_;
    asio::io_context ioc_;
    Resolver resolver_{ioc_.get_executor(), nsd_->upstream()};
};

NsdServer* ResolverTest::nsd_ = nullptr;

TEST_F(ResolverTest, MxSortedByPreference) {
    MxAnswer a = mx("multi.example");
    ASSERT_EQ(a.status, Status::Ok) << a.error;
    ASSERT_EQ(a.records.size(), 3u);
    EXPECT_EQ(a.records[0].host, "a.mx.example");
    EXPECT_EQ(a.records[0].preference, 10);
    EXPECT_EQ(a.records[1].host, "b.mx.example");
    EXPECT_EQ(a.records[2].host, "noaddr.example");
    EXPECT_EQ(a.records[2].preference, 30);
}

TEST_F(ResolverTest, MxHostLowercasedAndQueryNameNormalised) {
    MxAnswer a = mx("MIXED.example.");
    ASSERT_EQ(a.status, Status::Ok) << a.error;
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].host, "mixed.example");
}

TEST_F(ResolverTest, EqualPreferencesComeInBothOrders) {
    std::set<std::string> firsts;
    for (int i = 0; i < 40 && firsts.size() < 2; ++i) {
        MxAnswer a = mx("tie.example");
        ASSERT_EQ(a.status, Status::Ok) << a.error;
        ASSERT_EQ(a.records.size(), 2u);
        firsts.insert(a.records[0].host);
    }
    EXPECT_EQ(firsts.size(), 2u);
}

TEST_F(ResolverTest, NullMxIsRootHost) {
    MxAnswer a = mx("nullmx.example");
    ASSERT_EQ(a.status, Status::Ok) << a.error;
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].host, ".");
    EXPECT_EQ(a.records[0].preference, 0);
}

TEST_F(ResolverTest, MissingNameIsNxDomain) {
    MxAnswer a = mx("nowhere.example");
    EXPECT_EQ(a.status, Status::NxDomain);
    EXPECT_FALSE(a.error.empty());
    EXPECT_EQ(addresses("nowhere.example").status, Status::NxDomain);
}

TEST_F(ResolverTest, NameWithoutMxIsNoData) {
    MxAnswer a = mx("implicit.example");
    EXPECT_EQ(a.status, Status::NoData) << a.error;
    AddressAnswer addr = addresses("implicit.example");
    ASSERT_EQ(addr.status, Status::Ok) << addr.error;
    EXPECT_EQ(addr.addresses, std::vector<std::string>{"127.0.0.3"});
    EXPECT_EQ(addresses("mxonly.example").status, Status::NoData);
}

TEST_F(ResolverTest, AddressesIpv4First) {
    AddressAnswer a = addresses("b.mx.example");
    ASSERT_EQ(a.status, Status::Ok) << a.error;
    EXPECT_EQ(a.addresses, (std::vector<std::string>{"127.0.0.2", "::1"}));
    AddressAnswer v6 = addresses("v6only.example");
    ASSERT_EQ(v6.status, Status::Ok) << v6.error;
    EXPECT_EQ(v6.addresses, std::vector<std::string>{"::1"});
}

TEST_F(ResolverTest, CnameIsFollowed) {
    AddressAnswer a = addresses("alias.example");
    ASSERT_EQ(a.status, Status::Ok) << a.error;
    EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.3"});
}

TEST_F(ResolverTest, IpLiteralNeedsNoQuery) {
    AddressAnswer a = addresses("192.0.2.7");
    ASSERT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.addresses, std::vector<std::string>{"192.0.2.7"});
    EXPECT_EQ(addresses("2001:db8::1").addresses, std::vector<std::string>{"2001:db8::1"});
}

TEST_F(ResolverTest, InvalidNamesAreRejectedWithoutQuery) {
    EXPECT_EQ(mx("").status, Status::NxDomain);
    EXPECT_EQ(mx("bad name.example").status, Status::NxDomain);
    EXPECT_EQ(mx("a..example").status, Status::NxDomain);
    EXPECT_EQ(mx(std::string(64, 'a') + ".example").status, Status::NxDomain);
    EXPECT_EQ(addresses("x\r\nRSET.example").status, Status::NxDomain);
}

// nsd refuses names outside its zones; unbound reports SERVFAIL.
TEST_F(ResolverTest, RefusedZoneIsTempFail) {
    MxAnswer a = mx("elsewhere.org");
    EXPECT_EQ(a.status, Status::TempFail);
    EXPECT_FALSE(a.error.empty());
    EXPECT_EQ(addresses("elsewhere.org").status, Status::TempFail);
}

TEST_F(ResolverTest, ManyConcurrentQueries) {
    int done = 0;
    for (int i = 0; i < 40; ++i) {
        asio::co_spawn(
            ioc_,
            [&]() -> asio::awaitable<void> {
                MxAnswer a = co_await resolver_.mx("multi.example");
                AddressAnswer b = co_await resolver_.addresses("b.mx.example");
                if (a.status == Status::Ok && b.status == Status::Ok) ++done;
            },
            asio::detached);
    }
    ioc_.run_for(std::chrono::seconds(30));
    EXPECT_EQ(done, 40);
}

TEST(ResolverSetup, RejectsBadUpstream) {
    asio::io_context ioc;
    EXPECT_THROW(Resolver(ioc.get_executor(), "ns.example:53"), std::runtime_error);
    EXPECT_THROW(Resolver(ioc.get_executor(), "127.0.0.1:0"), std::runtime_error);
    EXPECT_THROW(Resolver(ioc.get_executor(), "127.0.0.1:70000"), std::runtime_error);
    EXPECT_THROW(Resolver(ioc.get_executor(), "[::1"), std::runtime_error);
    EXPECT_NO_THROW(Resolver(ioc.get_executor(), "[::1]:5353"));
    EXPECT_NO_THROW(Resolver(ioc.get_executor(), "127.0.0.1"));
    if (access("/etc/resolv.conf", R_OK) == 0) {
        EXPECT_NO_THROW(Resolver(ioc.get_executor(), ""));
    }
}

// An upstream that swallows queries: shutdown() must complete the waiting
// coroutine with TempFail right away instead of after the query timeout.
TEST(ResolverSetup, ShutdownCompletesPendingQueries) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);

    asio::io_context ioc;
    Resolver resolver(ioc.get_executor(), "127.0.0.1:" + std::to_string(ntohs(sa.sin_port)));
    std::optional<MxAnswer> answer;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { answer = co_await resolver.mx("silent.example"); },
        asio::detached);
    asio::steady_timer timer(ioc, std::chrono::milliseconds(300));
    timer.async_wait([&](boost::system::error_code) { resolver.shutdown(); });

    auto started = std::chrono::steady_clock::now();
    ioc.run_for(std::chrono::seconds(10));
    close(fd);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, Status::TempFail);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));

    // After shutdown new queries fail at once.
    std::optional<AddressAnswer> late;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { late = co_await resolver.addresses("x.example"); },
        asio::detached);
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    ASSERT_TRUE(late.has_value());
    EXPECT_EQ(late->status, Status::TempFail);
}

}  // namespace
}  // namespace gatehouse::dns
