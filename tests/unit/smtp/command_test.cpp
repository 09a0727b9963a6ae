// Tests of the SMTP command parser (src/smtp/command.cpp): every verb and
// every MAIL/RCPT parameter, the address grammar and its limits, and hostile
// lines (control bytes, 8-bit junk, huge lines). Runs under ASan and UBSan.
#include "smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace gatehouse::smtp {
namespace {

using namespace std::string_literals;

// Parses a line that must be accepted.
Command accept(std::string_view line, bool smtputf8_session = false) {
    auto result = parse_command(line, smtputf8_session);
    if (const auto* reply = std::get_if<Reply>(&result)) {
        ADD_FAILURE() << "refused: [" << line << "] -> " << reply->summary();
        return {};
    }
    return std::get<Command>(result);
}

// Parses a line that must be refused; returns "CODE ENHANCED".
std::string refuse(std::string_view line, bool smtputf8_session = false) {
    auto result = parse_command(line, smtputf8_session);
    if (std::holds_alternative<Command>(result)) {
        ADD_FAILURE() << "accepted: [" << line << "]";
        return "accepted";
    }
    const Reply& reply = std::get<Reply>(result);
    return std::to_string(reply.code) + " " + reply.enhanced;
}

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

// ---- Verbs ----

TEST(CommandVerbs, EveryVerbIsRecognised) {
    EXPECT_EQ(accept("HELO mx.example").verb, Verb::Helo);
    EXPECT_EQ(accept("EHLO mx.example").verb, Verb::Ehlo);
    EXPECT_EQ(accept("MAIL FROM:<a@b.example>").verb, Verb::Mail);
    EXPECT_EQ(accept("RCPT TO:<a@b.example>").verb, Verb::Rcpt);
    EXPECT_EQ(accept("DATA").verb, Verb::Data);
    EXPECT_EQ(accept("BDAT 10").verb, Verb::Bdat);
    EXPECT_EQ(accept("RSET").verb, Verb::Rset);
    EXPECT_EQ(accept("NOOP").verb, Verb::Noop);
    EXPECT_EQ(accept("QUIT").verb, Verb::Quit);
    EXPECT_EQ(accept("VRFY postmaster").verb, Verb::Vrfy);
    EXPECT_EQ(accept("EXPN staff").verb, Verb::Expn);
    EXPECT_EQ(accept("HELP").verb, Verb::Help);
    EXPECT_EQ(accept("STARTTLS").verb, Verb::StartTls);
    EXPECT_EQ(accept("AUTH PLAIN").verb, Verb::Auth);
}

TEST(CommandVerbs, VerbsAreCaseInsensitive) {
    EXPECT_EQ(accept("ehlo mx.example").verb, Verb::Ehlo);
    EXPECT_EQ(accept("MaIl FrOm:<a@b.example>").verb, Verb::Mail);
    EXPECT_EQ(accept("rcpt to:<a@b.example>").verb, Verb::Rcpt);
    EXPECT_EQ(accept("StartTls").verb, Verb::StartTls);
    EXPECT_EQ(accept("quit").verb, Verb::Quit);
}

TEST(CommandVerbs, UnknownVerbs) {
    EXPECT_EQ(refuse("FOO"), "500 5.5.1");
    EXPECT_EQ(refuse("MAILFROM:<a@b.example>"), "500 5.5.1");
    EXPECT_EQ(refuse("TURN"), "500 5.5.1");
    EXPECT_EQ(refuse("QUI"), "500 5.5.1");
    EXPECT_EQ(refuse("QUITT"), "500 5.5.1");
    EXPECT_EQ(refuse("GET / HTTP/1.1"), "500 5.5.1");
}

TEST(CommandVerbs, CommandsWithoutArguments) {
    for (const char* verb : {"DATA", "RSET", "QUIT", "STARTTLS"}) {
        SCOPED_TRACE(verb);
        EXPECT_EQ(refuse(std::string(verb) + " now"), "501 5.5.4");
        EXPECT_EQ(refuse(std::string(verb) + " x y"), "501 5.5.4");
        // Trailing spaces are not arguments.
        accept(std::string(verb) + "  ");
    }
}

TEST(CommandVerbs, NoopAndHelpTakeOptionalText) {
    EXPECT_EQ(accept("NOOP").argument, "");
    EXPECT_EQ(accept("NOOP hello there").argument, "hello there");
    EXPECT_EQ(accept("HELP").argument, "");
    EXPECT_EQ(accept("HELP MAIL").argument, "MAIL");
}

TEST(CommandVerbs, VrfyExpnAuthNeedAnArgument) {
    EXPECT_EQ(refuse("VRFY"), "501 5.5.4");
    EXPECT_EQ(refuse("EXPN   "), "501 5.5.4");
    EXPECT_EQ(refuse("AUTH"), "501 5.5.4");
    EXPECT_EQ(accept("VRFY John Smith").argument, "John Smith");
    EXPECT_EQ(accept("EXPN list@example.org").argument, "list@example.org");
    EXPECT_EQ(accept("AUTH PLAIN AHVzZXIAcGFzcw==").argument, "PLAIN AHVzZXIAcGFzcw==");
    EXPECT_EQ(accept("AUTH LOGIN").argument, "LOGIN");
}

TEST(CommandVerbs, ExtraSpacesAfterVerbAreTolerated) {
    EXPECT_EQ(accept("EHLO   mx.example").argument, "mx.example");
    EXPECT_EQ(accept("MAIL  FROM:<a@b.example>").address, "a@b.example");
}

// ---- HELO / EHLO ----

TEST(CommandHelo, DomainsAndLiterals) {
    EXPECT_EQ(accept("EHLO mx.example.org").argument, "mx.example.org");
    EXPECT_EQ(accept("HELO localhost").argument, "localhost");
    EXPECT_EQ(accept("EHLO [192.0.2.1]").argument, "[192.0.2.1]");
    EXPECT_EQ(accept("EHLO [IPv6:2001:db8::1]").argument, "[IPv6:2001:db8::1]");
    EXPECT_EQ(accept("EHLO [IPv6:::ffff:192.0.2.1]").argument, "[IPv6:::ffff:192.0.2.1]");
    EXPECT_EQ(accept("EHLO a-b.c-d.example").argument, "a-b.c-d.example");
    EXPECT_EQ(accept("EHLO 192.0.2.1").argument, "192.0.2.1");
}

TEST(CommandHelo, PracticalLeniency) {
    EXPECT_EQ(accept("EHLO my_pc.corp.example").argument, "my_pc.corp.example");
    EXPECT_EQ(accept("EHLO mx.example.").argument, "mx.example.");
    EXPECT_EQ(accept("EHLO mx.example   ").argument, "mx.example");
}

TEST(CommandHelo, MissingOrBadDomain) {
    EXPECT_EQ(refuse("HELO"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO     "), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO two words"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO a..b"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO -a.example"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO a-.example"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO .example"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO ."), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO a.example.."), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO a/b"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [192.0.2.256]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [192.0.2]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [192.0.2.1.5]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [1.2.3.4"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO []"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [IPv6:zz::1]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [IPv6:]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO [x-tag:abc]"), "501 5.5.4");
    EXPECT_EQ(refuse("EHLO b\xc3\xbc"
                     "cher.example"),
              "501 5.5.4");
}

TEST(CommandHelo, LengthLimits) {
    const std::string label63 = repeat('a', 63);
    const std::string name = label63 + "." + label63 + "." + label63 + "." + repeat('b', 61);
    ASSERT_EQ(name.size(), 253u);
    EXPECT_EQ(accept("EHLO " + name).argument, name);
    EXPECT_EQ(refuse("EHLO " + repeat('a', 64) + ".example"), "501 5.5.4");
    const std::string max_name = label63 + "." + label63 + "." + label63 + "." + repeat('b', 63);
    ASSERT_EQ(max_name.size(), 255u);
    accept("EHLO " + max_name);
    EXPECT_EQ(refuse("EHLO " + max_name + "c"), "501 5.5.4");
}

// ---- MAIL FROM ----

TEST(CommandMail, PlainSender) {
    const Command c = accept("MAIL FROM:<alice@example.org>");
    EXPECT_EQ(c.address, "alice@example.org");
    EXPECT_FALSE(c.mail.size);
    EXPECT_EQ(c.mail.body, BodyType::SevenBit);
    EXPECT_FALSE(c.mail.smtputf8);
}

TEST(CommandMail, NullSenderIsAccepted) {
    EXPECT_EQ(accept("MAIL FROM:<>").address, "");
    EXPECT_EQ(accept("MAIL FROM:<> SIZE=100").mail.size, 100u);
}

TEST(CommandMail, OneSpaceAfterColonIsTolerated) {
    EXPECT_EQ(accept("MAIL FROM: <a@b.example>").address, "a@b.example");
    EXPECT_EQ(accept("MAIL FROM: <>").address, "");
    EXPECT_EQ(refuse("MAIL FROM:  <a@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM :<a@b.example>"), "501 5.5.4");
}

TEST(CommandMail, BracketsAreRequired) {
    EXPECT_EQ(refuse("MAIL FROM:a@b.example"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:a@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example>junk"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example><c@d.example>"), "501 5.1.7");
}

TEST(CommandMail, MissingFromKeyword) {
    EXPECT_EQ(refuse("MAIL"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL TO:<a@b.example>"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL <a@b.example>"), "501 5.5.4");
}

TEST(CommandMail, SourceRouteIsStripped) {
    EXPECT_EQ(accept("MAIL FROM:<@relay.example:a@b.example>").address, "a@b.example");
    EXPECT_EQ(accept("MAIL FROM:<@r1.example,@r2.example:a@b.example>").address, "a@b.example");
    EXPECT_EQ(accept("RCPT TO:<@r1.example,@r2.example:c@d.example>").address, "c@d.example");
}

TEST(CommandMail, BadSourceRoutes) {
    EXPECT_EQ(refuse("MAIL FROM:<@relay.example:>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@relay.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@:a@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@r1.example,:a@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@r1.example,r2.example:a@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@bad..example:a@b.example>"), "501 5.1.7");
}

TEST(CommandMail, AddressSyntax) {
    EXPECT_EQ(accept("MAIL FROM:<first.last+tag@sub.example.org>").address,
              "first.last+tag@sub.example.org");
    EXPECT_EQ(accept("MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.org>").address,
              "!#$%&'*+-/=?^_`{|}~@example.org");
    EXPECT_EQ(accept("MAIL FROM:<user@[192.0.2.7]>").address, "user@[192.0.2.7]");
    EXPECT_EQ(accept("MAIL FROM:<user@[IPv6:2001:db8::7]>").address, "user@[IPv6:2001:db8::7]");
    EXPECT_EQ(refuse("MAIL FROM:<user>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user@>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<.user@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user.@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<us..er@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<us er@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<us(er@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user@exa_mple.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user@example.org.>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user@[300.1.1.1]>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<user@[IPv6:1.2.3.4]>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a@b@c.example>"), "501 5.1.7");
}

TEST(CommandMail, QuotedLocalParts) {
    EXPECT_EQ(accept("MAIL FROM:<\"john smith\"@example.org>").address,
              "\"john smith\"@example.org");
    EXPECT_EQ(accept("MAIL FROM:<\"a>b@c\"@example.org> SIZE=5").address, "\"a>b@c\"@example.org");
    EXPECT_EQ(accept("MAIL FROM:<\"a\\\"b\"@example.org>").address, "\"a\\\"b\"@example.org");
    EXPECT_EQ(accept("MAIL FROM:<\"\"@example.org>").address, "\"\"@example.org");
    EXPECT_EQ(refuse("MAIL FROM:<\"unterminated@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<\"a\"b\"@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<\"ab\\\"@example.org>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<x\"a\"@example.org>"), "501 5.1.7");
}

TEST(CommandMail, LengthLimits) {
    const std::string local64 = repeat('l', 64);
    EXPECT_EQ(accept("MAIL FROM:<" + local64 + "@example.org>").address, local64 + "@example.org");
    EXPECT_EQ(refuse("MAIL FROM:<" + local64 + "l@example.org>"), "501 5.1.7");

    // A 255-octet domain is allowed as such, but with a local part and '@'
    // the path passes 256; 250 octets fit.
    const std::string label = repeat('d', 49);
    std::string domain = label;
    for (int i = 0; i < 4; ++i) domain += "." + label;
    ASSERT_EQ(domain.size(), 249u);
    const std::string path = "<a@" + domain + ">";
    ASSERT_EQ(path.size(), 253u);
    EXPECT_EQ(accept("MAIL FROM:" + path).address, "a@" + domain);
    EXPECT_EQ(refuse("MAIL FROM:<abcd@" + domain + "x.y>"), "501 5.1.7");
    EXPECT_EQ(refuse("RCPT TO:<" + local64 + "@" + domain + ">"), "501 5.1.3");
}

TEST(CommandMail, NonAsciiNeedsSmtputf8) {
    const std::string addr =
        "j\xc3\xb6rg@b\xc3\xbc"
        "cher.example";
    EXPECT_EQ(refuse("MAIL FROM:<" + addr + ">"), "553 5.6.7");
    const Command c = accept("MAIL FROM:<" + addr + "> SMTPUTF8");
    EXPECT_TRUE(c.mail.smtputf8);
    EXPECT_EQ(c.address, addr);
    // The session flag is about RCPT; MAIL decides by its own parameter.
    EXPECT_EQ(refuse("MAIL FROM:<" + addr + ">", true), "553 5.6.7");
    EXPECT_TRUE(accept("MAIL FROM:<a@b.example> SMTPUTF8").mail.smtputf8);
}

TEST(CommandMail, MalformedUtf8IsRefusedEvenWithSmtputf8) {
    EXPECT_EQ(refuse("MAIL FROM:<a\xff@b.example> SMTPUTF8"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a\xc3@b.example> SMTPUTF8"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a\xc0\xae@b.example> SMTPUTF8"), "501 5.1.7");      // overlong
    EXPECT_EQ(refuse("MAIL FROM:<a\xed\xa0\x80@b.example> SMTPUTF8"), "501 5.1.7");  // surrogate
    EXPECT_EQ(refuse("MAIL FROM:<a\xf4\x90\x80\x80@b.example> SMTPUTF8"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a\xc2\x85@b.example> SMTPUTF8"), "501 5.1.7");  // C1 NEL
    EXPECT_EQ(refuse("MAIL FROM:<a@b\xff.example> SMTPUTF8"), "501 5.1.7");
    accept("MAIL FROM:<\xf0\x9f\x93\xa7@b.example> SMTPUTF8");
    accept("MAIL FROM:<\"\xe4\xb8\xad \xe6\x96\x87\"@b.example> SMTPUTF8");
}

// ---- MAIL parameters ----

TEST(CommandMailParams, Size) {
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> SIZE=0").mail.size, 0u);
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> size=12345").mail.size, 12345u);
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> SIZE=18446744073709551615").mail.size,
              18446744073709551615u);
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=18446744073709551616"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=99999999999999999999999"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=-1"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=1e6"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=0x10"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE= 10"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE="), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE"), "501 5.5.4");
}

TEST(CommandMailParams, Body) {
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> BODY=7BIT").mail.body, BodyType::SevenBit);
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> BODY=8BITMIME").mail.body, BodyType::EightBitMime);
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> body=8bitmime").mail.body, BodyType::EightBitMime);
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> BODY=BINARYMIME"), "555 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> BODY=8BIT"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> BODY"), "501 5.5.4");
}

TEST(CommandMailParams, Smtputf8TakesNoValue) {
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SMTPUTF8=yes"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SMTPUTF8="), "501 5.5.4");
}

TEST(CommandMailParams, Ret) {
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> RET=FULL").mail.ret, "FULL");
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> ret=hdrs").mail.ret, "HDRS");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> RET=NONE"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> RET"), "501 5.5.4");
}

TEST(CommandMailParams, Envid) {
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> ENVID=QQ314159").mail.envid, "QQ314159");
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> ENVID=a+2Bb+3Dc").mail.envid, "a+2Bb+3Dc");
    EXPECT_EQ(accept("MAIL FROM:<a@b.example> ENVID=" + repeat('e', 100)).mail.envid,
              repeat('e', 100));
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=" + repeat('e', 101)), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a+2"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a+zz"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a+00b"), "501 5.5.4");    // decodes to NUL
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a+0Ab"), "501 5.5.4");    // decodes to LF
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a+C3+A4"), "501 5.5.4");  // not ASCII
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=\xc3\xa4"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a=b"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID="), "501 5.5.4");
}

TEST(CommandMailParams, AuthIsCheckedAndIgnored) {
    accept("MAIL FROM:<a@b.example> AUTH=<>");
    accept("MAIL FROM:<a@b.example> AUTH=e+3Dmc2@example.com");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> AUTH=a+"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> AUTH"), "501 5.5.4");
}

TEST(CommandMailParams, AllTogether) {
    const Command c = accept(
        "MAIL FROM:<a@b.example> SIZE=2048 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x1 AUTH=<>");
    EXPECT_EQ(c.mail.size, 2048u);
    EXPECT_EQ(c.mail.body, BodyType::EightBitMime);
    EXPECT_TRUE(c.mail.smtputf8);
    EXPECT_EQ(c.mail.ret, "HDRS");
    EXPECT_EQ(c.mail.envid, "x1");
}

TEST(CommandMailParams, ExtraSpacesBetweenParameters) {
    const Command c = accept("MAIL FROM:<a@b.example>   SIZE=1    BODY=7BIT  ");
    EXPECT_EQ(c.mail.size, 1u);
}

TEST(CommandMailParams, UnknownParameters) {
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> FOO=bar"), "555 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> XYZ"), "555 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> NOTIFY=NEVER"), "555 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> MT-PRIORITY=3"), "555 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=1 HOLDFOR=10"), "555 5.5.4");
}

TEST(CommandMailParams, MalformedParameters) {
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> =1"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> -SIZE=1"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SI_ZE=1"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> \xff=1"), "501 5.5.4");
}

TEST(CommandMailParams, DuplicateParameters) {
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=1 SIZE=2"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=1 size=1"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> BODY=7BIT BODY=8BITMIME"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SMTPUTF8 SMTPUTF8"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> RET=FULL RET=FULL"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> ENVID=a ENVID=b"), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> AUTH=<> AUTH=<>"), "501 5.5.4");
}

// ---- RCPT TO ----

TEST(CommandRcpt, PlainRecipient) {
    const Command c = accept("RCPT TO:<bob@example.net>");
    EXPECT_EQ(c.address, "bob@example.net");
    EXPECT_EQ(c.rcpt.notify, 0u);
    EXPECT_EQ(c.rcpt.orcpt, "");
    EXPECT_EQ(accept("RCPT TO: <bob@example.net>").address, "bob@example.net");
}

TEST(CommandRcpt, PostmasterWithoutDomain) {
    EXPECT_EQ(accept("RCPT TO:<postmaster>").address, "postmaster");
    EXPECT_EQ(accept("RCPT TO:<Postmaster>").address, "Postmaster");
    EXPECT_EQ(refuse("RCPT TO:<webmaster>"), "501 5.1.3");
    EXPECT_EQ(refuse("MAIL FROM:<postmaster>"), "501 5.1.7");
}

TEST(CommandRcpt, NullRecipientIsRefused) {
    EXPECT_EQ(refuse("RCPT TO:<>"), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO: <>"), "501 5.1.3");
}

TEST(CommandRcpt, BadSyntax) {
    EXPECT_EQ(refuse("RCPT"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT FROM:<a@b.example>"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:bob@example.net"), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO:<bob@example.net"), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO:<bob@example..net>"), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO:"), "501 5.1.3");
}

TEST(CommandRcpt, NonAsciiFollowsTheSessionFlag) {
    const std::string addr = "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80.example";
    EXPECT_EQ(refuse("RCPT TO:<" + addr + ">"), "553 5.6.7");
    EXPECT_EQ(accept("RCPT TO:<" + addr + ">", true).address, addr);
    EXPECT_EQ(refuse("RCPT TO:<a\xff@b.example>", true), "501 5.1.3");
    // SMTPUTF8 is a MAIL parameter only.
    EXPECT_EQ(refuse("RCPT TO:<" + addr + "> SMTPUTF8", true), "555 5.5.4");
}

TEST(CommandRcptParams, Notify) {
    EXPECT_EQ(accept("RCPT TO:<a@b.example> NOTIFY=NEVER").rcpt.notify, kNotifyNever);
    EXPECT_EQ(accept("RCPT TO:<a@b.example> NOTIFY=SUCCESS").rcpt.notify, kNotifySuccess);
    EXPECT_EQ(accept("RCPT TO:<a@b.example> notify=failure,delay").rcpt.notify,
              kNotifyFailure | kNotifyDelay);
    EXPECT_EQ(accept("RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE,DELAY").rcpt.notify,
              kNotifySuccess | kNotifyFailure | kNotifyDelay);
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=DELAY,NEVER"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=SUCCESS,"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=,SUCCESS"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=ALWAYS"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY="), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY"), "501 5.5.4");
}

TEST(CommandRcptParams, Orcpt) {
    EXPECT_EQ(accept("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example").rcpt.orcpt,
              "rfc822;a@b.example");
    EXPECT_EQ(accept("RCPT TO:<a@b.example> ORCPT=rfc822;a+2Bb@c.example").rcpt.orcpt,
              "rfc822;a+2Bb@c.example");
    EXPECT_EQ(accept("RCPT TO:<a@b.example> ORCPT=utf-8;\\x{5C0F}@example").rcpt.orcpt,
              "utf-8;\\x{5C0F}@example");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=a@b.example"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=;a@b.example"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc822;"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc822;a+4"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc822;a+0Db"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc(822;a"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc822;" + repeat('x', 500)), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT"), "501 5.5.4");
}

TEST(CommandRcptParams, UnknownAndDuplicate) {
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> SIZE=10"), "555 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> FOO"), "555 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER"), "501 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example> ORCPT=rfc822;a ORCPT=rfc822;b"), "501 5.5.4");
    const Command c = accept("RCPT TO:<a@b.example> NOTIFY=FAILURE ORCPT=rfc822;a@b.example");
    EXPECT_EQ(c.rcpt.notify, kNotifyFailure);
    EXPECT_EQ(c.rcpt.orcpt, "rfc822;a@b.example");
}

// ---- BDAT ----

TEST(CommandBdat, SizeAndLast) {
    Command c = accept("BDAT 1000");
    EXPECT_EQ(c.bdat_size, 1000u);
    EXPECT_FALSE(c.bdat_last);
    c = accept("BDAT 0 LAST");
    EXPECT_EQ(c.bdat_size, 0u);
    EXPECT_TRUE(c.bdat_last);
    EXPECT_TRUE(accept("bdat 5 last").bdat_last);
    EXPECT_EQ(accept("BDAT 007").bdat_size, 7u);
    EXPECT_EQ(accept("BDAT 18446744073709551615").bdat_size, 18446744073709551615u);
}

TEST(CommandBdat, Malformed) {
    EXPECT_EQ(refuse("BDAT"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT x"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT -1"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT +1"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT 1.5"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT 18446744073709551616"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT 5 FIRST"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT 5 LAST x"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT 5  LAST"), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT LAST"), "501 5.5.4");
}

// ---- Hostile lines ----

TEST(CommandHostile, EmptyAndBlank) {
    EXPECT_EQ(refuse(""), "500 5.5.2");
    EXPECT_EQ(refuse(" "), "500 5.5.2");
    EXPECT_EQ(refuse("          "), "500 5.5.2");
}

TEST(CommandHostile, ControlBytesAnywhere) {
    EXPECT_EQ(refuse("MAIL FROM:<a\0b@c.example>"s), "500 5.5.2");
    EXPECT_EQ(refuse("\0"s), "500 5.5.2");
    EXPECT_EQ(refuse("QUIT\0"s), "500 5.5.2");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example>\r"), "500 5.5.2");
    EXPECT_EQ(refuse("RCPT TO:<a@b.example>\nDATA"), "500 5.5.2");
    EXPECT_EQ(refuse("EHLO\tmx.example"), "500 5.5.2");
    EXPECT_EQ(refuse("NOOP \x1b[31m"), "500 5.5.2");
    EXPECT_EQ(refuse("NOOP \x7f"), "500 5.5.2");
    EXPECT_EQ(refuse("MAIL FROM:<\"a\x01\"@b.example>"), "500 5.5.2");
}

TEST(CommandHostile, EightBitJunk) {
    EXPECT_EQ(refuse("\xff\xfe\xfd"), "500 5.5.1");
    EXPECT_EQ(refuse("MAIL\xa0"
                     "FROM:<a@b.example>"),
              "500 5.5.1");
    EXPECT_EQ(refuse("\xef\xbb\xbfQUIT"), "500 5.5.1");  // UTF-8 BOM
    EXPECT_EQ(refuse("MAIL FROM:<\x80\x81@b.example>"), "553 5.6.7");
    EXPECT_EQ(refuse("MAIL FROM:<\x80\x81@b.example> SMTPUTF8"), "501 5.1.7");
}

TEST(CommandHostile, HugeLines) {
    const std::string junk = repeat('A', 10 * 1024);
    EXPECT_EQ(refuse(junk), "500 5.5.1");
    EXPECT_EQ(refuse("MAIL FROM:<" + junk + "@b.example>"), "501 5.1.7");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> SIZE=" + junk), "501 5.5.4");
    EXPECT_EQ(refuse("MAIL FROM:<a@b.example> " + junk), "555 5.5.4");
    EXPECT_EQ(refuse("RCPT TO:<a@" + junk + ">"), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO:<" + repeat('<', 10 * 1024)), "501 5.1.3");
    EXPECT_EQ(refuse("RCPT TO:<" + repeat('"', 10 * 1024) + ">"), "501 5.1.3");
    EXPECT_EQ(refuse("EHLO " + junk), "501 5.5.4");
    EXPECT_EQ(refuse("BDAT " + repeat('9', 10 * 1024)), "501 5.5.4");
    EXPECT_EQ(accept("NOOP " + junk).argument.size(), junk.size());
    std::string params = "MAIL FROM:<a@b.example>";
    for (int i = 0; i < 1000; ++i) params += " SIZE=1";
    EXPECT_EQ(refuse(params), "501 5.5.4");
}

TEST(CommandHostile, RepliesNeverEchoControlBytes) {
    for (const std::string& line :
         {"MAIL FROM:<a@b.example> X\xff=1"s, "MAIL FROM:<a@b.example> A-\xc3\xa4"s,
          "RCPT TO:<a@b.example> \x80"s}) {
        const auto result = parse_command(line);
        ASSERT_TRUE(std::holds_alternative<Reply>(result));
        const std::string wire = std::get<Reply>(result).str();
        for (std::size_t i = 0; i + 2 < wire.size(); ++i) {
            const auto u = static_cast<unsigned char>(wire[i]);
            EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "byte " << int(u);
        }
    }
}

// ---- valid_mailbox and xtext_decode ----

TEST(ValidMailbox, AcceptsAndRefuses) {
    EXPECT_TRUE(valid_mailbox("user@example.org", false));
    EXPECT_TRUE(valid_mailbox("a.b-c+d@sub.example.org", false));
    EXPECT_TRUE(valid_mailbox("\"q u o\"@example.org", false));
    EXPECT_TRUE(valid_mailbox("u@[192.0.2.1]", false));
    EXPECT_TRUE(valid_mailbox("u@[IPv6:::1]", false));
    EXPECT_TRUE(valid_mailbox("u@localhost", false));
    EXPECT_FALSE(valid_mailbox("", false));
    EXPECT_FALSE(valid_mailbox("user", false));
    EXPECT_FALSE(valid_mailbox("postmaster", false));
    EXPECT_FALSE(valid_mailbox("<user@example.org>", false));
    EXPECT_FALSE(valid_mailbox("user@example.org ", false));
    EXPECT_FALSE(valid_mailbox("us\0er@example.org"s, false));
    EXPECT_FALSE(valid_mailbox("\"a\0\"@example.org"s, false));
    EXPECT_FALSE(valid_mailbox("user@-example.org", false));
    EXPECT_FALSE(valid_mailbox(repeat('a', 65) + "@example.org", false));
    EXPECT_FALSE(valid_mailbox("a@" + repeat('b', 63) + "." + repeat('c', 64), false));
}

TEST(ValidMailbox, Utf8OnlyWhenAllowed) {
    const std::string addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example";
    EXPECT_FALSE(valid_mailbox(addr, false));
    EXPECT_TRUE(valid_mailbox(addr, true));
    EXPECT_FALSE(valid_mailbox("\xc3\x28@example.org", true));
    EXPECT_FALSE(valid_mailbox("a@\xe4\xbe", true));
}

TEST(XtextDecode, DecodesAndValidates) {
    EXPECT_EQ(xtext_decode(""), "");
    EXPECT_EQ(xtext_decode("plain"), "plain");
    EXPECT_EQ(xtext_decode("+2B"), "+");
    EXPECT_EQ(xtext_decode("a+3Db"), "a=b");
    EXPECT_EQ(xtext_decode("+20+7E"), " ~");
    EXPECT_EQ(xtext_decode("+00"), std::string(1, '\0'));
    EXPECT_EQ(xtext_decode("+FF"), "\xff");
    EXPECT_EQ(xtext_decode("!~"), "!~");
    EXPECT_FALSE(xtext_decode("+2b"));
    EXPECT_FALSE(xtext_decode("+2"));
    EXPECT_FALSE(xtext_decode("+"));
    EXPECT_FALSE(xtext_decode("a+"));
    EXPECT_FALSE(xtext_decode("+G0"));
    EXPECT_FALSE(xtext_decode("a=b"));
    EXPECT_FALSE(xtext_decode("a b"));
    EXPECT_FALSE(xtext_decode("a\x01"));
    EXPECT_FALSE(xtext_decode("\xc3\xa4"));
    EXPECT_FALSE(xtext_decode("a\x7f"));
}

}  // namespace
}  // namespace gatehouse::smtp
