#include "config/config.hpp"

#include <gtest/gtest.h>

namespace gatehouse::config {

std::string error_of(const std::string& toml) {
    try {
        load_string(toml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST(Config, DefaultsRunWithoutFile) {
    Config c = defaults();
    validate(c);
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].address.host, "127.0.0.1");
    EXPECT_EQ(c.queue.lifetime, std::chrono::hours(96));
    EXPECT_TRUE(c.is_trusted("127.0.0.1"));
    EXPECT_TRUE(c.is_trusted("::1"));
    EXPECT_FALSE(c.is_trusted("192.0.2.1"));
    EXPECT_TRUE(c.route_for("example.com").use_mx);
}

TEST(Config, FullFileParses) {
    Config c = load_string(R"(
[server]
hostname = "mx.example.net"
data_dir = "/tmp/gh"
[[listener]]
name = "in"
address = "0.0.0.0:25"
role = "inbound"
tls = "optional"
[[listener]]
name = "out"
address = "[::1]:587"
role = "outbound"
tls = "required"
[accept]
domains = ["Example.COM"]
trusted_networks = ["10.0.0.0/8"]
[[route]]
domain = "example.com"
next_hop = "10.1.1.1:2525"
tls = "required"
[[route]]
domain = "*"
next_hop = "mx"
[queue]
lifetime = "2h"
retry = ["30s", "1m"]
[limits]
max_message_size = "10M"
)");
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[1].address.host, "::1");
    EXPECT_EQ(c.listeners[1].role, ListenerRole::Outbound);
    EXPECT_TRUE(c.accepts_domain("EXAMPLE.com"));
    auto r = c.route_for("example.com");
    EXPECT_FALSE(r.use_mx);
    EXPECT_EQ(r.next_hop.port, 2525);
    EXPECT_EQ(r.tls, OutboundTls::Required);
    EXPECT_TRUE(c.route_for("other.org").use_mx);
    EXPECT_EQ(c.queue.retry.size(), 2u);
    EXPECT_EQ(c.limits.max_message_size, 10u * 1024 * 1024);
    EXPECT_TRUE(c.is_trusted("10.2.3.4"));
    EXPECT_FALSE(c.is_trusted("127.0.0.1"));
}

TEST(Config, BadKeysNameTheKey) {
    EXPECT_EQ(error_of("[server]\nhostnme = \"x\"\n"), "config: server.hostnme: unknown key");
    EXPECT_EQ(error_of("[queue]\nlifetime = \"96x\"\n"),
              "config: queue.lifetime: \"96x\" has unknown unit 'x' (s, m, h or d)");
    EXPECT_EQ(error_of("[[listener]]\naddress = \"127.0.0.1:99999\"\n"),
              "config: listener[0].address: \"99999\" is not a port number (1-65535)");
    EXPECT_EQ(error_of("[limits]\nmax_recipients = 0\n"),
              "config: limits.max_recipients: value 0 is outside 1..100000");
    EXPECT_EQ(error_of("[accept]\ntrusted_networks = [\"10.0.0.0/33\"]\n"),
              "config: accept.trusted_networks[0]: \"10.0.0.0/33\" has a bad prefix length");
    EXPECT_EQ(error_of("[[route]]\ndomain = \"a.example\"\n"),
              "config: route[0].next_hop: missing (\"host:port\" or \"mx\")");
    EXPECT_NE(error_of("this is not toml"), "");
}

TEST(Config, Durations) {
    EXPECT_EQ(parse_duration("k", "1h30m"), std::chrono::seconds(5400));
    EXPECT_EQ(parse_duration("k", "2d"), std::chrono::seconds(172800));
    EXPECT_THROW(parse_duration("k", "10"), ConfigError);
}

}  // namespace gatehouse::config

namespace gatehouse::config {

// Regressions from an adversarial review: values that used to overflow
// silently, and files check-config passed but serve refused.
TEST(Config, HugeValuesAreErrorsNotWraparounds) {
    EXPECT_EQ(error_of("[limits]\nmax_message_size = \"17179869184G\"\n"),
              "config: limits.max_message_size: \"17179869184G\" is larger than 1 TB");
    EXPECT_EQ(error_of("[limits]\nidle_timeout = \"200000d\"\n"),
              "config: limits.idle_timeout: \"200000d\" is longer than ten years");
    EXPECT_EQ(error_of("[queue]\nlifetime = \"999999999999999999999d\"\n"),
              "config: queue.lifetime: \"999999999999999999999d\" is longer than ten years");
    EXPECT_EQ(parse_size("k", "1G"), 1024ull * 1024 * 1024);
}

TEST(Config, WhatServeWouldRefuseCheckConfigRefusesToo) {
    EXPECT_EQ(error_of("[dns]\nresolver = \"not-an-ip\"\n"),
              "config: dns.resolver: \"not-an-ip\" is not an IP address with a port");
    EXPECT_EQ(error_of("[[listener]]\naddress = \"localhost:2525\"\n"),
              "config: listener[0].address: \"localhost\" is not an IP address (listeners bind "
              "to addresses, e.g. 0.0.0.0:25 or [::]:25)");
    EXPECT_EQ(error_of("[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:25\"\n"
                       "[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:25\"\n"),
              "config: listener[1].address: another listener already uses 127.0.0.1:25");
    EXPECT_EQ(error_of("[tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"\n"),
              "config: tls.cert: cannot read \"/nonexistent/c.pem\": No such file or directory");
    EXPECT_EQ(error_of("[server]\nuser = \"no-such-user-here\"\n"),
              "config: server.user: no such user \"no-such-user-here\"");
    EXPECT_EQ(load_string("[server]\nuser = \"nobody\"\n").user, "nobody");
    // A control character in a value is escaped: the error stays one line.
    EXPECT_EQ(error_of("[server]\nhostname = \"a\\r\\nb\"\n"),
              "config: server.hostname: \"a\\x0d\\x0ab\" is not a valid domain name");
}

}  // namespace gatehouse::config
