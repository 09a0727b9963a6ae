// Tests of the SMTP reply catalogue and wire form (src/smtp/reply.cpp): codes
// and enhanced codes of every entry, multi-line continuation, and that peer
// text can never split or overlong a reply line.
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace gatehouse::smtp {
namespace {

TEST(Reply, SingleLineWireForm) {
    EXPECT_EQ(replies::ok().str(), "250 2.0.0 ok\r\n");
    EXPECT_EQ(make_reply(550, "5.7.1", "no").str(), "550 5.7.1 no\r\n");
}

TEST(Reply, GreetingHasNoEnhancedCode) {
    const Reply r = replies::greeting("mx.example");
    EXPECT_EQ(r.code, 220);
    EXPECT_TRUE(r.enhanced.empty());
    EXPECT_EQ(r.str(), "220 mx.example ESMTP ready\r\n");
}

TEST(Reply, MultiLineUsesDashContinuation) {
    Reply ehlo = make_reply(250, "", "mx.example");
    ehlo.lines.push_back("PIPELINING");
    ehlo.lines.push_back("SIZE 1000");
    EXPECT_EQ(ehlo.str(), "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
    EXPECT_EQ(ehlo.summary(), "250 mx.example / PIPELINING / SIZE 1000");
}

TEST(Reply, MultiLineRepeatsEnhancedCodeOnEveryLine) {
    const std::string help = replies::help().str();
    EXPECT_EQ(help.rfind("214-2.0.0 ", 0), 0u);
    EXPECT_NE(help.find("\r\n214 2.0.0 "), std::string::npos);
    EXPECT_EQ(help.substr(help.size() - 2), "\r\n");
}

TEST(Reply, SummaryIsOneLine) {
    EXPECT_EQ(replies::ok().summary(), "250 2.0.0 ok");
    EXPECT_EQ(replies::help().summary().find('\n'), std::string::npos);
}

TEST(Reply, PeerTextCannotInjectLines) {
    const Reply r = replies::syntax_error("x\r\n250 ok\0y");
    const std::string wire = r.str();
    EXPECT_EQ(wire.find('\r'), wire.size() - 2);
    EXPECT_EQ(wire.find('\n'), wire.size() - 1);
    EXPECT_EQ(make_reply(500, "5.5.2", std::string("a\0b\x7f\xff", 5)).str(),
              "500 5.5.2 a?b??\r\n");
    EXPECT_EQ(replies::syntax_error("\r\n").summary().find('\r'), std::string::npos);
}

TEST(Reply, LinesAreCappedAtTheRfcLimit) {
    const std::string wire = replies::bad_parameters(std::string(5000, 'x')).str();
    EXPECT_LE(wire.size(), 512u);
    EXPECT_EQ(wire.substr(wire.size() - 2), "\r\n");
}

TEST(Reply, EmptyLinesStillGiveOneWellFormedLine) {
    Reply r;
    r.code = 250;
    r.enhanced = "2.0.0";
    EXPECT_EQ(r.str(), "250 2.0.0 \r\n");
}

TEST(Reply, Classification) {
    EXPECT_TRUE(replies::ok().positive());
    EXPECT_TRUE(replies::start_data().positive());
    EXPECT_TRUE(replies::local_error().transient());
    EXPECT_FALSE(replies::local_error().permanent());
    EXPECT_TRUE(replies::relay_denied().permanent());
    EXPECT_FALSE(replies::relay_denied().positive());
}

TEST(Reply, QueuedNamesTheQueueId) {
    const Reply r = replies::queued("4XyZ01");
    EXPECT_EQ(r.code, 250);
    EXPECT_NE(r.str().find("4XyZ01"), std::string::npos);
    EXPECT_NE(replies::closing("mx.example").str().find("mx.example"), std::string::npos);
    EXPECT_NE(replies::idle_timeout("mx.example").str().find("mx.example"), std::string::npos);
    EXPECT_NE(replies::not_implemented("EXPN").str().find("EXPN"), std::string::npos);
    EXPECT_NE(replies::unknown_parameter("FOO").str().find("FOO"), std::string::npos);
}

struct CatalogueEntry {
    const char* name;
    std::function<Reply()> make;
    int code;
    const char* enhanced;
};

TEST(Reply, CatalogueCodes) {
    const std::vector<CatalogueEntry> entries = {
        {"greeting", [] { return replies::greeting("h"); }, 220, ""},
        {"closing", [] { return replies::closing("h"); }, 221, "2.0.0"},
        {"ok", replies::ok, 250, "2.0.0"},
        {"sender_ok", replies::sender_ok, 250, "2.1.0"},
        {"recipient_ok", replies::recipient_ok, 250, "2.1.5"},
        {"start_data", replies::start_data, 354, ""},
        {"queued", [] { return replies::queued("q"); }, 250, "2.0.0"},
        {"vrfy_disabled", replies::vrfy_disabled, 252, "2.5.0"},
        {"ready_for_tls", replies::ready_for_tls, 220, "2.0.0"},
        {"help", replies::help, 214, "2.0.0"},
        {"syntax_error", [] { return replies::syntax_error("d"); }, 500, "5.5.2"},
        {"unknown_command", replies::unknown_command, 500, "5.5.1"},
        {"line_too_long", replies::line_too_long, 500, "5.5.2"},
        {"bad_parameters", [] { return replies::bad_parameters("d"); }, 501, "5.5.4"},
        {"bad_address", [] { return replies::bad_address("d"); }, 501, "5.1.3"},
        {"not_implemented", [] { return replies::not_implemented("X"); }, 502, "5.5.1"},
        {"bad_sequence", [] { return replies::bad_sequence("d"); }, 503, "5.5.1"},
        {"unknown_parameter", [] { return replies::unknown_parameter("P"); }, 555, "5.5.4"},
        {"tls_required", replies::tls_required, 530, "5.7.0"},
        {"tls_unavailable", replies::tls_unavailable, 454, "4.7.0"},
        {"relay_denied", replies::relay_denied, 554, "5.7.1"},
        {"too_many_recipients", replies::too_many_recipients, 452, "4.5.3"},
        {"message_too_big", replies::message_too_big, 552, "5.3.4"},
        {"size_exceeds_limit", replies::size_exceeds_limit, 552, "5.3.4"},
        {"no_valid_recipients", replies::no_valid_recipients, 554, "5.5.1"},
        {"bare_newline", replies::bare_newline, 554, "5.6.0"},
        {"smtputf8_required", replies::smtputf8_required, 553, "5.6.7"},
        {"too_many_errors", replies::too_many_errors, 421, "4.7.0"},
        {"idle_timeout", [] { return replies::idle_timeout("h"); }, 421, "4.4.2"},
        {"too_many_connections", replies::too_many_connections, 421, "4.7.0"},
        {"local_error", replies::local_error, 451, "4.3.0"},
        {"storage_error", replies::storage_error, 452, "4.3.1"},
        {"improper_pipelining", replies::improper_pipelining, 554, "5.5.0"},
    };
    for (const auto& e : entries) {
        SCOPED_TRACE(e.name);
        const Reply r = e.make();
        EXPECT_EQ(r.code, e.code);
        EXPECT_EQ(r.enhanced, e.enhanced);
        ASSERT_FALSE(r.lines.empty());
        for (const auto& line : r.lines) EXPECT_FALSE(line.empty());
        // The enhanced class digit agrees with the reply class (RFC 3463).
        if (!r.enhanced.empty()) {
            EXPECT_EQ(r.enhanced[0] - '0', r.code / 100);
        }
        const std::string wire = r.str();
        EXPECT_EQ(wire.substr(0, 3), std::to_string(e.code));
        EXPECT_EQ(wire.substr(wire.size() - 2), "\r\n");
    }
}

}  // namespace
}  // namespace gatehouse::smtp
