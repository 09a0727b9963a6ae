// Deliverer against real peers on loopback: a scripted asio SMTP server for
// per-recipient replies, 421 and drops, TLS policy and connection reuse;
// Postfix's smtp-sink for the bytes that arrive; nsd for MX selection,
// implicit MX, null MX and NXDOMAIN.
#include "deliver/deliverer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "child_process.hpp"
#include "dns/resolver.hpp"
#include "nsd_server.hpp"
#include "scripted_server.hpp"
#include "smtp_sink.hpp"

namespace gatehouse::deliver {
namespace {

namespace asio = boost::asio;
using config::OutboundTls;
using testing::kBreakTls;
using testing::kDrop;
using testing::kSilent;
using testing::ScriptedServer;
using testing::ServerScript;
using testing::TempDir;

constexpr auto kRunLimit = std::chrono::seconds(30);

Envelope make_envelope(const std::vector<std::string>& recipients) {
    Envelope env;
    env.queue_id = "QTEST1";
    env.sender = "sender@example.org";
    for (const auto& r : recipients) env.recipients.push_back(Recipient{r, "", 0});
    return env;
}

std::vector<std::size_t> all_of(const Envelope& env) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < env.recipients.size(); ++i) out.push_back(i);
    return out;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class DelivererTest : public ::testing::Test {
  protected:
    DelivererTest() {
        config_.hostname = "gatehouse.test";
        config_.queue.connect_timeout = std::chrono::seconds(3);
        config_.queue.command_timeout = std::chrono::seconds(5);
    }

    // Nothing listens there: relay tests never ask DNS.
    void make_deliverer(const std::string& dns_upstream = "") {
        resolver_ = std::make_unique<dns::Resolver>(
            ioc_.get_executor(), dns_upstream.empty()
                                     ? "127.0.0.1:" + std::to_string(testing::free_port())
                                     : dns_upstream);
        deliverer_ = std::make_unique<Deliverer>(ioc_.get_executor(), config_, *resolver_);
    }

    Destination relay_to(std::uint16_t port, OutboundTls tls = OutboundTls::Opportunistic) {
        config::Route route;
        route.domain = "example.net";
        route.use_mx = false;
        route.next_hop = config::HostPort{"127.0.0.1", port};
        route.tls = tls;
        config_.routes = {route};
        return destination_for(config_, "example.net");
    }

    // Writes the content between a prefix and a suffix that must not be sent.
    ContentRef spool(const std::string& content) {
        std::string path = spool_dir_.path() + "/msg" + std::to_string(++files_);
        testing::write_text_file(path, "SPOOL-HEADER\r\n" + content + "TRAILER");
        return ContentRef{path, 14, content.size()};
    }

    template <class T>
    T run(asio::awaitable<T> task) {
        std::optional<T> out;
        asio::co_spawn(ioc_, std::move(task), [&](std::exception_ptr e, T value) {
            if (!e) out = std::move(value);
            ioc_.stop();
        });
        ioc_.restart();
        ioc_.run_for(kRunLimit);
        EXPECT_TRUE(out.has_value()) << "coroutine did not finish or threw";
        return out.value_or(T{});
    }

    void run_void(asio::awaitable<void> task) {
        bool done = false;
        asio::co_spawn(ioc_, std::move(task), [&](std::exception_ptr) {
            done = true;
            ioc_.stop();
        });
        ioc_.restart();
        ioc_.run_for(kRunLimit);
        EXPECT_TRUE(done);
    }

    AttemptResult deliver(const Destination& d, const Envelope& env, const ContentRef& content) {
        return run(deliverer_->deliver(d, env, all_of(env), content));
    }

    // Lets the scripted server finish reading what the client sent last.
    void settle() {
        ioc_.restart();
        ioc_.run_for(std::chrono::milliseconds(100));
    }

    asio::io_context ioc_;
    config::Config config_ = config::defaults();
    TempDir spool_dir_{"gh-spool"};
    int files_ = 0;
    std::unique_ptr<dns::Resolver> resolver_;
    std::unique_ptr<Deliverer> deliverer_;
};

TEST(DestinationFor, RelayAndMxKeys) {
    config::Config c = config::defaults();
    config::Route relay;
    relay.domain = "partner.example";
    relay.use_mx = false;
    relay.next_hop = config::HostPort{"Relay.Example", 2525};
    c.routes = {relay};
    Destination r = destination_for(c, "Partner.Example");
    EXPECT_EQ(r.key, "relay:relay.example:2525");
    EXPECT_EQ(r.domain, "partner.example");
    EXPECT_FALSE(r.route.use_mx);
    Destination m = destination_for(c, "Other.Example.");
    EXPECT_EQ(m.key, "mx:other.example");
    EXPECT_TRUE(m.route.use_mx);
}

TEST_F(DelivererTest, PerRecipientReplies) {
    ServerScript script;
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (contains(line, "<busy@")) return "450 4.2.1 mailbox busy";
        if (contains(line, "<nobody@")) return "550-5.1.1 no such user\r\n550 5.1.1 try another";
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"ok@example.net", "busy@example.net", "nobody@example.net"});
    env.body = BodyType::EightBitMime;

    AttemptResult r = deliver(d, env, spool("Subject: hi\r\n\r\nbody\r\n"));
    ASSERT_EQ(r.recipients.size(), 3u);
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered);
    EXPECT_EQ(r.recipients[0].reply, "250 2.0.0 queued");
    EXPECT_EQ(r.recipients[1].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[1].reply, "450 4.2.1 mailbox busy");
    EXPECT_EQ(r.recipients[2].outcome, RcptOutcome::Bounced);
    EXPECT_EQ(r.recipients[2].reply, "550 5.1.1 no such user 5.1.1 try another");
    EXPECT_EQ(r.remote, "127.0.0.1[127.0.0.1]:" + std::to_string(server.port()));
    EXPECT_EQ(r.tls, "none");
    EXPECT_FALSE(r.destination_unreachable);

    ASSERT_EQ(server.commands_named("MAIL").size(), 1u);
    std::string size = std::to_string(std::string("Subject: hi\r\n\r\nbody\r\n").size());
    EXPECT_EQ(server.commands_named("MAIL")[0],
              "MAIL FROM:<sender@example.org> SIZE=" + size + " BODY=8BITMIME");
    EXPECT_EQ(server.commands_named("EHLO").at(0), "EHLO gatehouse.test");
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0], "Subject: hi\r\n\r\nbody\r\n");
}

TEST_F(DelivererTest, DataReplyDecidesAcceptedRecipients) {
    ServerScript script;
    script.final_reply = "554 5.7.1 content rejected";
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (contains(line, "<later@")) return "451 4.3.0 try later";
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net", "later@example.net", "b@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_EQ(r.recipients[0].reply, "554 5.7.1 content rejected");
    EXPECT_EQ(r.recipients[1].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[1].reply, "451 4.3.0 try later");
    EXPECT_EQ(r.recipients[2].outcome, RcptOutcome::Bounced);
}

TEST_F(DelivererTest, Reply421MidTransactionDefersTheRest) {
    ServerScript script;
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (contains(line, "<gone@")) return "550 5.1.1 gone";
        if (contains(line, "<third@")) return "421 4.3.2 shutting down";
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope(
        {"first@example.net", "gone@example.net", "third@example.net", "fourth@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[0].reply, "421 4.3.2 shutting down");
    EXPECT_EQ(r.recipients[1].outcome, RcptOutcome::Bounced);  // decided before the 421
    EXPECT_EQ(r.recipients[2].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[3].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(server.commands_named("DATA").empty());

    // The 421 connection is not cached: the next message opens a new one.
    Envelope again = make_envelope({"first@example.net"});
    AttemptResult r2 = deliver(d, again, spool("y\r\n"));
    EXPECT_EQ(r2.recipients[0].outcome, RcptOutcome::Delivered) << r2.recipients[0].reply;
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(DelivererTest, ConnectionDropAfterDotDefers) {
    ServerScript script;
    script.on_message = [](const std::string&) -> std::optional<std::string> { return kDrop; };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net", "b@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    for (const auto& rcpt : r.recipients) {
        EXPECT_EQ(rcpt.outcome, RcptOutcome::Deferred);
        EXPECT_TRUE(contains(rcpt.reply, "451 4.4.2")) << rcpt.reply;
        EXPECT_TRUE(contains(rcpt.reply, "end of DATA")) << rcpt.reply;
    }
    EXPECT_FALSE(r.destination_unreachable);
}

TEST_F(DelivererTest, ConnectionDropOnRcptDefers) {
    ServerScript script;
    script.keywords = {"8BITMIME"};  // no PIPELINING: one command at a time
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (contains(line, "<b@")) return kDrop;
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net", "b@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[1].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(contains(r.recipients[1].reply, "during RCPT")) << r.recipients[1].reply;
}

TEST_F(DelivererTest, SilentServerTimesOut) {
    config_.queue.command_timeout = std::chrono::seconds(1);
    ServerScript script;
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (line.starts_with("MAIL")) return kSilent;
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    auto started = std::chrono::steady_clock::now();
    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(contains(r.recipients[0].reply, "timed out")) << r.recipients[0].reply;
}

TEST_F(DelivererTest, TlsRequiredButNotOffered) {
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port(), OutboundTls::Required);
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("secret\r\n"));
    ASSERT_EQ(r.recipients.size(), 1u);
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(contains(r.recipients[0].reply, "4.7.0 TLS required but not offered by"))
        << r.recipients[0].reply;
    EXPECT_FALSE(r.destination_unreachable);
    settle();
    EXPECT_TRUE(server.commands_named("MAIL").empty());
    EXPECT_TRUE(server.messages().empty());
}

TEST_F(DelivererTest, StartTlsOpportunisticEncrypts) {
    ServerScript script;
    script.starttls = true;
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port(), OutboundTls::Required);
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("over tls\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_TRUE(r.tls.starts_with("TLSv1.")) << r.tls;
    EXPECT_EQ(server.commands_named("STARTTLS").size(), 1u);
    EXPECT_EQ(server.commands_named("EHLO").size(), 2u);  // again after the handshake
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0], "over tls\r\n");
}

TEST_F(DelivererTest, BrokenStartTlsFallsBackToClearWhenOpportunistic) {
    ServerScript script;
    script.starttls = true;
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (line == "STARTTLS") return kBreakTls;
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port(), OutboundTls::Opportunistic);
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("clear\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(r.tls, "none");
    EXPECT_EQ(server.connections(), 2);
    EXPECT_EQ(server.commands_named("STARTTLS").size(), 1u);
}

TEST_F(DelivererTest, BrokenStartTlsNeverFallsBackWhenRequired) {
    ServerScript script;
    script.starttls = true;
    script.on_command = [](const std::string& line) -> std::optional<std::string> {
        if (line == "STARTTLS") return kBreakTls;
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port(), OutboundTls::Required);
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("secret\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(contains(r.recipients[0].reply, "4.7.0")) << r.recipients[0].reply;
    settle();
    EXPECT_EQ(server.connections(), 1);
    EXPECT_TRUE(server.commands_named("MAIL").empty());
}

TEST_F(DelivererTest, ConnectionRefusedIsUnreachable) {
    std::uint16_t closed = testing::free_port();
    Destination d = relay_to(closed);
    make_deliverer();
    Envelope env = make_envelope({"a@example.net", "b@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    for (const auto& rcpt : r.recipients) {
        EXPECT_EQ(rcpt.outcome, RcptOutcome::Deferred);
        EXPECT_TRUE(contains(rcpt.reply, "451 4.4.1 cannot connect to 127.0.0.1[127.0.0.1]:"))
            << rcpt.reply;
    }
    EXPECT_TRUE(r.destination_unreachable);
    EXPECT_EQ(r.remote, "");
}

TEST_F(DelivererTest, Greeting4xxIsUnreachable) {
    ServerScript script;
    script.greeting = "421 4.3.2 too busy";
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[0].reply, "421 4.3.2 too busy");
    EXPECT_TRUE(r.destination_unreachable);
}

// RFC 5321 3.1: a 554 greeting refuses service; with no other target left
// the recipients bounce with the server's own words.
TEST_F(DelivererTest, Greeting5xxBounces) {
    ServerScript script;
    script.greeting = "554 5.7.1 no service for you";
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_EQ(r.recipients[0].reply, "554 5.7.1 no service for you");
    EXPECT_FALSE(r.destination_unreachable);
    EXPECT_TRUE(server.commands_named("MAIL").empty());
}

TEST_F(DelivererTest, HeloWhenEhloRefused) {
    ServerScript script;
    script.refuse_ehlo = true;
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});
    env.body = BodyType::EightBitMime;

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(server.commands_named("HELO").size(), 1u);
    EXPECT_EQ(server.commands_named("MAIL").at(0), "MAIL FROM:<sender@example.org>");
}

TEST_F(DelivererTest, ConnectionIsReusedWithRset) {
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r1 = deliver(d, env, spool("one\r\n"));
    AttemptResult r2 = deliver(d, env, spool("two\r\n"));
    EXPECT_EQ(r1.recipients[0].outcome, RcptOutcome::Delivered);
    EXPECT_EQ(r2.recipients[0].outcome, RcptOutcome::Delivered);
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(server.commands_named("RSET").size(), 1u);
    EXPECT_EQ(server.messages(), (std::vector<std::string>{"one\r\n", "two\r\n"}));

    run_void(deliverer_->close_idle());
    settle();
    EXPECT_EQ(server.commands_named("QUIT").size(), 1u);
}

TEST_F(DelivererTest, MessagesPerConnectionLimit) {
    config_.queue.max_messages_per_connection = 1;
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    deliver(d, env, spool("one\r\n"));
    deliver(d, env, spool("two\r\n"));
    settle();
    EXPECT_EQ(server.connections(), 2);
    EXPECT_EQ(server.commands_named("QUIT").size(), 2u);  // each closed after its message
}

TEST_F(DelivererTest, StaleCachedConnectionIsReplaced) {
    ServerScript script;
    int rsets = 0;
    script.on_command = [&rsets](const std::string& line) -> std::optional<std::string> {
        if (line == "RSET" && ++rsets == 1) return "421 4.4.2 idle too long";
        return std::nullopt;
    };
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    deliver(d, env, spool("one\r\n"));
    AttemptResult r = deliver(d, env, spool("two\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(DelivererTest, Smtputf8NotOfferedBounces) {
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"jörg@example.net"});
    env.smtputf8 = true;

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_TRUE(r.recipients[0].reply.starts_with("553 5.6.7")) << r.recipients[0].reply;
    settle();
    EXPECT_TRUE(server.commands_named("MAIL").empty());
}

TEST_F(DelivererTest, Smtputf8PassedOnWhenOffered) {
    ServerScript script;
    script.keywords = {"SMTPUTF8", "8BITMIME"};
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"jörg@example.net"});
    env.smtputf8 = true;

    AttemptResult r = deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(server.commands_named("MAIL").at(0), "MAIL FROM:<sender@example.org> SMTPUTF8");
    EXPECT_EQ(server.commands_named("RCPT").at(0), "RCPT TO:<jörg@example.net>");
}

TEST_F(DelivererTest, SizeLimitBounces) {
    ServerScript script;
    script.keywords = {"SIZE 10"};
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, spool("more than ten bytes\r\n"));
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_TRUE(r.recipients[0].reply.starts_with("552 5.3.4")) << r.recipients[0].reply;
}

TEST_F(DelivererTest, DsnParametersWhenOffered) {
    ServerScript script;
    script.keywords = {"DSN", "PIPELINING"};
    ScriptedServer server(ioc_, script);
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});
    env.ret = "HDRS";
    env.envid = "ENV+2B1";
    env.recipients[0].notify = kNotifyFailure | kNotifyDelay;
    env.recipients[0].orcpt = "rfc822;a@example.net";

    deliver(d, env, spool("x\r\n"));
    EXPECT_EQ(server.commands_named("MAIL").at(0),
              "MAIL FROM:<sender@example.org> RET=HDRS ENVID=ENV+2B1");
    EXPECT_EQ(server.commands_named("RCPT").at(0),
              "RCPT TO:<a@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@example.net");
}

TEST_F(DelivererTest, MissingSpoolFileDefersWithoutMail) {
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    AttemptResult r = deliver(d, env, ContentRef{spool_dir_.path() + "/missing", 0, 10});
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(r.recipients[0].reply.starts_with("451 4.3.0")) << r.recipients[0].reply;
    EXPECT_TRUE(server.commands_named("MAIL").empty());
}

TEST_F(DelivererTest, RecipientSubsetAndBadIndex) {
    ScriptedServer server(ioc_, ServerScript{});
    Destination d = relay_to(server.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net", "b@example.net", "c@example.net"});

    AttemptResult r = run(deliverer_->deliver(d, env, {2, 7, 0}, spool("x\r\n")));
    ASSERT_EQ(r.recipients.size(), 3u);
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered);
    EXPECT_EQ(r.recipients[1].outcome, RcptOutcome::Deferred);
    EXPECT_EQ(r.recipients[2].outcome, RcptOutcome::Delivered);
    auto rcpts = server.commands_named("RCPT");
    EXPECT_EQ(rcpts,
              (std::vector<std::string>{"RCPT TO:<c@example.net>", "RCPT TO:<a@example.net>"}));
}

// The content arrives byte for byte at a real MTA's sink, across several
// 64 KB chunks, with leading dots, a lone dot line and a bare LF.
TEST_F(DelivererTest, SmtpSinkReceivesContentIntact) {
    testing::SmtpSink sink;
    Destination d = relay_to(sink.port());
    make_deliverer();
    Envelope env = make_envelope({"a@example.net"});

    std::string content =
        "Subject: dots\r\nX-Test: 1\r\n\r\n.leading dot\r\n.\r\n..\r\nbare\nlf\r\n";
    for (int i = 0; content.size() < 200 * 1024; ++i)
        content += (i % 7 == 0 ? "." : "") + std::string("line ") + std::to_string(i) +
                   std::string(50, 'x') + "\r\n";
    content += ".last";

    AttemptResult r = deliver(d, env, spool(content));
    ASSERT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    ASSERT_TRUE(sink.wait_for_dumps(1, 5000));
    std::string expected;
    for (std::size_t i = 0; i < content.size(); ++i)
        if (!(content[i] == '\r' && i + 1 < content.size() && content[i + 1] == '\n'))
            expected += content[i];
    expected += "\n";  // the client ends the last line
    std::string got = testing::dump_body(sink.dumps().at(0));
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected) << "content differs";
}

// MX selection against nsd: preference order with a dead first MX, implicit
// MX, null MX, NXDOMAIN, MX hosts without address, DNS failure.
class DelivererMxTest : public DelivererTest {
  protected:
    static void SetUpTestSuite() {
        nsd_ = new testing::NsdServer({testing::Zone{"example.", R"(
live        IN A     127.0.0.1
dead        IN A     127.0.0.2
fallback    IN MX    10 dead.example.
fallback    IN MX    20 live.example.
implicit    IN A     127.0.0.1
nullmx      IN MX    0 .
noaddr      IN MX    10 ghost.example.
)"}});
    }
    static void TearDownTestSuite() {
        delete nsd_;
        nsd_ = nullptr;
    }

    AttemptResult deliver_to(const std::string& domain) {
        Destination d = destination_for(config_, domain);
        Envelope env = make_envelope({"user@" + domain});
        return deliver(d, env, spool("x\r\n"));
    }

    static testing::NsdServer* nsd_;
};

testing::NsdServer* DelivererMxTest::nsd_ = nullptr;

TEST_F(DelivererMxTest, FallsBackToNextMx) {
    ScriptedServer server(ioc_, ServerScript{});
    config_.queue.mx_port = server.port();
    make_deliverer(nsd_->upstream());

    AttemptResult r = deliver_to("fallback.example");
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(r.remote, "live.example[127.0.0.1]:" + std::to_string(server.port()));
}

TEST_F(DelivererMxTest, ImplicitMx) {
    ScriptedServer server(ioc_, ServerScript{});
    config_.queue.mx_port = server.port();
    make_deliverer(nsd_->upstream());

    AttemptResult r = deliver_to("implicit.example");
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Delivered) << r.recipients[0].reply;
    EXPECT_EQ(r.remote, "implicit.example[127.0.0.1]:" + std::to_string(server.port()));
}

TEST_F(DelivererMxTest, PermanentDnsOutcomesBounce) {
    make_deliverer(nsd_->upstream());

    AttemptResult null_mx = deliver_to("nullmx.example");
    EXPECT_EQ(null_mx.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_TRUE(null_mx.recipients[0].reply.starts_with("556 5.1.10"))
        << null_mx.recipients[0].reply;

    AttemptResult nx = deliver_to("nowhere.example");
    EXPECT_EQ(nx.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_TRUE(nx.recipients[0].reply.starts_with("550 5.1.2")) << nx.recipients[0].reply;

    AttemptResult noaddr = deliver_to("noaddr.example");
    EXPECT_EQ(noaddr.recipients[0].outcome, RcptOutcome::Bounced);
    EXPECT_TRUE(noaddr.recipients[0].reply.starts_with("550 5.4.4")) << noaddr.recipients[0].reply;
}

TEST_F(DelivererMxTest, DnsFailureDefersAsUnreachable) {
    make_deliverer(nsd_->upstream());
    AttemptResult r = deliver_to("elsewhere.org");  // nsd refuses: SERVFAIL
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(r.recipients[0].reply.starts_with("451 4.4.3")) << r.recipients[0].reply;
    EXPECT_TRUE(r.destination_unreachable);
}

TEST_F(DelivererMxTest, AllMxDeadIsUnreachable) {
    config_.queue.mx_port = testing::free_port();  // nothing listens on any MX
    make_deliverer(nsd_->upstream());
    AttemptResult r = deliver_to("fallback.example");
    EXPECT_EQ(r.recipients[0].outcome, RcptOutcome::Deferred);
    EXPECT_TRUE(r.destination_unreachable);
    EXPECT_TRUE(contains(r.recipients[0].reply, "live.example[127.0.0.1]"))
        << r.recipients[0].reply;
}

}  // namespace
}  // namespace gatehouse::deliver
