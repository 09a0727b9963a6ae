// MAIL FROM / RCPT TO lines and EHLO keyword parsing: parameters only when
// offered, DSN values passed on, unsafe values refused.
#include <gtest/gtest.h>

#include "deliver/commands.hpp"
#include "deliver/extensions.hpp"

namespace gatehouse::deliver {
namespace {

Extensions everything() {
    Extensions ext;
    ext.pipelining = ext.eight_bit_mime = ext.smtputf8 = ext.dsn = ext.size = true;
    return ext;
}

Envelope envelope() {
    Envelope env;
    env.sender = "alice@example.org";
    env.body = BodyType::EightBitMime;
    env.ret = "HDRS";
    env.envid = "QQ+2B314";
    return env;
}

TEST(Commands, MailWithOfferedParameters) {
    EXPECT_EQ(mail_command(envelope(), everything(), 1234).value(),
              "MAIL FROM:<alice@example.org> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=QQ+2B314");
    EXPECT_EQ(mail_command(envelope(), Extensions{}, 1234).value(),
              "MAIL FROM:<alice@example.org>");
    Envelope utf8 = envelope();
    utf8.smtputf8 = true;
    utf8.sender = "";
    EXPECT_EQ(mail_command(utf8, everything(), 5).value(),
              "MAIL FROM:<> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B314");
}

TEST(Commands, RcptWithDsn) {
    Recipient r{"bob@example.net", "rfc822;bob@example.net", kNotifySuccess | kNotifyDelay};
    EXPECT_EQ(rcpt_command(r, everything()).value(),
              "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;bob@example.net");
    EXPECT_EQ(rcpt_command(r, Extensions{}).value(), "RCPT TO:<bob@example.net>");
    r.notify = kNotifyNever;
    r.orcpt.clear();
    EXPECT_EQ(rcpt_command(r, everything()).value(), "RCPT TO:<bob@example.net> NOTIFY=NEVER");
}

TEST(Commands, RefusesInjection) {
    Envelope env = envelope();
    env.sender = "a@b>\r\nRCPT TO:<victim@x";
    EXPECT_FALSE(mail_command(env, everything(), 1).has_value());
    env = envelope();
    env.envid = "id\r\nDATA";
    EXPECT_FALSE(mail_command(env, everything(), 1).has_value());
    EXPECT_FALSE(rcpt_command(Recipient{"x@y\nQUIT", "", 0}, everything()).has_value());
    EXPECT_FALSE(rcpt_command(Recipient{"x@y", "rfc822;a b", 0}, everything()).has_value());
    EXPECT_FALSE(rcpt_command(Recipient{"", "", 0}, everything()).has_value());
    // Without DSN the bad ORCPT is never sent, so the recipient still goes.
    EXPECT_TRUE(rcpt_command(Recipient{"x@y", "rfc822;a b", 0}, Extensions{}).has_value());
}

TEST(Extensions, ParsesKeywords) {
    ServerReply r{250,
                  {"mx.example greets you", "pipelining", "SIZE 52428800", "8BITMIME", "STARTTLS",
                   "DSN", "SMTPUTF8", "ENHANCEDSTATUSCODES", "X-UNKNOWN a b"}};
    Extensions ext = parse_ehlo(r);
    EXPECT_TRUE(ext.pipelining && ext.eight_bit_mime && ext.starttls && ext.dsn && ext.smtputf8);
    EXPECT_TRUE(ext.size);
    EXPECT_EQ(ext.size_limit, 52428800u);
}

TEST(Extensions, GreetingLineIsNoKeywordAndSizeIsChecked) {
    Extensions ext = parse_ehlo(ServerReply{250, {"STARTTLS"}});
    EXPECT_FALSE(ext.starttls);
    ext = parse_ehlo(ServerReply{250, {"mx", "SIZE"}});
    EXPECT_TRUE(ext.size);
    EXPECT_EQ(ext.size_limit, 0u);
    ext = parse_ehlo(ServerReply{250, {"mx", "SIZE 99999999999999999999999"}});
    EXPECT_EQ(ext.size_limit, 0u);
}

}  // namespace
}  // namespace gatehouse::deliver
