// ReplyReader: single and multi-line replies, pipelined replies in one
// read, split reads, and the limits that protect us from hostile servers.
#include "deliver/reply_reader.hpp"

#include <gtest/gtest.h>

namespace gatehouse::deliver {
namespace {

ServerReply one(ReplyReader& reader) {
    auto r = reader.next();
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_TRUE(r->ok()) << r->error().message;
    return r->ok() ? r->value() : ServerReply{};
}

std::string error_of(std::string_view bytes) {
    ReplyReader reader;
    reader.append(bytes);
    auto r = reader.next();
    if (!r || r->ok()) return "";
    return r->error().message;
}

TEST(ReplyReader, SingleLine) {
    ReplyReader reader;
    reader.append("250 2.0.0 ok\r\n");
    ServerReply r = one(reader);
    EXPECT_EQ(r.code, 250);
    EXPECT_EQ(r.lines, std::vector<std::string>{"2.0.0 ok"});
    EXPECT_EQ(r.summary(), "250 2.0.0 ok");
    EXPECT_FALSE(reader.has_pending_bytes());
}

TEST(ReplyReader, MultiLineAndBareCode) {
    ReplyReader reader;
    reader.append("250-mx.example hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354\r\n");
    ServerReply ehlo = one(reader);
    EXPECT_EQ(ehlo.code, 250);
    ASSERT_EQ(ehlo.lines.size(), 3u);
    EXPECT_EQ(ehlo.lines[2], "SIZE 1000");
    ServerReply data = one(reader);
    EXPECT_EQ(data.code, 354);
    EXPECT_TRUE(data.intermediate());
    EXPECT_EQ(data.summary(), "354");
}

TEST(ReplyReader, PipelinedRepliesAndSplitReads) {
    ReplyReader reader;
    reader.append("250 2.1.0 ok\r\n550 5.1");
    EXPECT_EQ(one(reader).code, 250);
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_TRUE(reader.has_pending_bytes());
    reader.append(".1 no such user\r");
    EXPECT_FALSE(reader.next().has_value());
    reader.append("\n");
    ServerReply r = one(reader);
    EXPECT_TRUE(r.permanent());
    EXPECT_EQ(r.summary(), "550 5.1.1 no such user");
}

TEST(ReplyReader, ToleratesBareLf) {
    ReplyReader reader;
    reader.append("451-4.3.0 try\n451 4.3.0 later\n");
    ServerReply r = one(reader);
    EXPECT_TRUE(r.transient());
    EXPECT_EQ(r.summary(), "451 4.3.0 try 4.3.0 later");
}

TEST(ReplyReader, RejectsMalformedLines) {
    EXPECT_NE(error_of("hello\r\n"), "");
    EXPECT_NE(error_of("25\r\n"), "");
    EXPECT_NE(error_of("2500 ok\r\n"), "");
    EXPECT_NE(error_of("650 out of range\r\n"), "");
    EXPECT_NE(error_of("150 too small\r\n"), "");
    EXPECT_NE(error_of("250-first\r\n550 second\r\n"), "");
}

TEST(ReplyReader, CapsLineLength) {
    std::string long_line = "250 " + std::string(ReplyReader::kMaxLineBytes + 10, 'a');
    EXPECT_NE(error_of(long_line + "\r\n"), "");
    // Also without a line end in sight: no unbounded buffering.
    EXPECT_NE(error_of(long_line), "");
    std::string fits = "250 " + std::string(ReplyReader::kMaxLineBytes - 4, 'a') + "\r\n";
    EXPECT_EQ(error_of(fits), "");
}

TEST(ReplyReader, CapsLineCount) {
    std::string many;
    for (std::size_t i = 0; i < ReplyReader::kMaxLines + 5; ++i) many += "250-x\r\n";
    many += "250 end\r\n";
    EXPECT_NE(error_of(many), "");
    std::string enough;
    for (std::size_t i = 0; i + 1 < ReplyReader::kMaxLines; ++i) enough += "250-x\r\n";
    enough += "250 end\r\n";
    EXPECT_EQ(error_of(enough), "");
}

TEST(ReplyReader, MakesTextPrintableAndCapsSummary) {
    ReplyReader reader;
    const char raw[] = "550 5.7.1 bad\x1b[31m \xff\0x\r\n";
    reader.append(std::string(raw, sizeof raw - 1));
    ServerReply r = one(reader);
    EXPECT_EQ(r.summary(), "550 5.7.1 bad?[31m ??x");
    ServerReply big;
    big.code = 550;
    big.lines.assign(50, std::string(100, 'z'));
    EXPECT_LE(big.summary().size(), 520u);
}

}  // namespace
}  // namespace gatehouse::deliver
