// DotStuffer: transparency (RFC 5321 4.5.2), the terminator, and bare CR /
// LF repair so no content can end DATA early at the next hop (SMTP
// smuggling), also when a line end falls on a chunk boundary.
#include "deliver/dot_stuffer.hpp"

#include <gtest/gtest.h>

namespace gatehouse::deliver {
namespace {

std::string stuff(std::string_view content, std::size_t chunk = 0) {
    DotStuffer s;
    std::string out;
    if (chunk == 0) chunk = content.size() ? content.size() : 1;
    for (std::size_t i = 0; i < content.size(); i += chunk) s.feed(content.substr(i, chunk), out);
    s.finish(out);
    return out;
}

TEST(DotStuffer, StuffsLeadingDots) {
    EXPECT_EQ(stuff(".hidden\r\nplain\r\n..two\r\n.\r\nend.\r\n"),
              "..hidden\r\nplain\r\n...two\r\n..\r\nend.\r\n.\r\n");
}

TEST(DotStuffer, TerminatorAfterCrlfOnlyOnce) {
    EXPECT_EQ(stuff("a\r\n"), "a\r\n.\r\n");
    EXPECT_EQ(stuff("a"), "a\r\n.\r\n");
    EXPECT_EQ(stuff(""), ".\r\n");
    EXPECT_EQ(stuff("\r\n"), "\r\n.\r\n");
}

TEST(DotStuffer, BareLineEndsBecomeCrlf) {
    DotStuffer s;
    std::string out;
    s.feed("a\n.\nb\r.\rc", out);
    s.finish(out);
    EXPECT_EQ(out, "a\r\n..\r\nb\r\n..\r\nc\r\n.\r\n");
    EXPECT_EQ(s.bare_line_ends(), 4u);
}

// The 2023 smuggling payloads: each must reach the wire with the dot
// doubled and every line end as CRLF.
TEST(DotStuffer, SmugglingSequencesCannotTerminate) {
    for (std::string_view payload : {"x\n.\nMAIL FROM:<evil>\r\n", "x\n.\r\nMAIL FROM:<evil>\r\n",
                                     "x\r\n.\nMAIL FROM:<evil>\r\n", "x\r.\rMAIL FROM:<evil>\r\n",
                                     "x\r\n.\rMAIL FROM:<evil>\r\n"}) {
        std::string wire = stuff(payload);
        EXPECT_EQ(wire.find("\r\n.\r\n"), wire.size() - 5) << "payload " << payload.size();
        for (std::size_t i = 0; i < wire.size(); ++i) {
            if (wire[i] == '\n') {
                ASSERT_GT(i, 0u);
                EXPECT_EQ(wire[i - 1], '\r');
            }
            if (wire[i] == '\r') {
                EXPECT_EQ(wire[i + 1], '\n');
            }
        }
    }
}

TEST(DotStuffer, ChunkBoundariesDoNotMatter) {
    std::string content = "line\r\n.dot\r\nbare\nlf\r.cr\r\n\r\n..\r\nlast";
    std::string whole = stuff(content);
    for (std::size_t chunk = 1; chunk <= content.size(); ++chunk)
        EXPECT_EQ(stuff(content, chunk), whole) << "chunk " << chunk;
}

}  // namespace
}  // namespace gatehouse::deliver
