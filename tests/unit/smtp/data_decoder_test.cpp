// Tests of the DATA/BDAT content decoder (src/smtp/data_decoder.cpp), the
// SMTP smuggling defence: only <CRLF>.<CRLF> ends DATA, bare CR and LF are
// counted and normalised, and the result never depends on how the input was
// cut into chunks. Besides fixed cases, every short string over the alphabet
// {CR, LF, '.', 'a'} is decoded in one piece, split at every position and
// byte by byte, and compared with an independent whole-input reference.
#include "smtp/data_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::smtp {
namespace {

using Framing = DataDecoder::Framing;
using config::BareNewline;

struct Decoded {
    std::string out;
    std::size_t consumed = 0;
    bool done = false;
    std::uint64_t bare = 0;
    std::uint64_t decoded = 0;

    bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
    return os << "{out=" << testing::PrintToString(d.out) << " consumed=" << d.consumed
              << " done=" << d.done << " bare=" << d.bare << " decoded=" << d.decoded << "}";
}

// Feeds `in` cut at the given positions (ascending) and collects the result.
// Like the session, it stops feeding once the terminator was found.
Decoded decode_chunks(std::string_view in, const std::vector<std::size_t>& cuts, Framing framing,
                      BareNewline mode = BareNewline::Normalize) {
    DataDecoder decoder(framing, mode);
    Decoded d;
    std::size_t start = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(in.size());
    for (std::size_t end : ends) {
        if (decoder.done()) break;
        const std::size_t n = decoder.feed(in.substr(start, end - start), d.out);
        // Only the chunk holding the terminator is consumed in part.
        if (framing == Framing::Length || !decoder.done()) {
            EXPECT_EQ(n, end - start);
        }
        d.consumed += n;
        start = end;
    }
    if (framing == Framing::Length) decoder.finish(d.out);
    d.done = decoder.done();
    d.bare = decoder.bare_newlines();
    d.decoded = decoder.decoded_bytes();
    return d;
}

Decoded decode(std::string_view in, Framing framing = Framing::Dot,
               BareNewline mode = BareNewline::Normalize) {
    return decode_chunks(in, {}, framing, mode);
}

// An independent statement of the rules, over the whole input with
// look-ahead instead of a streaming state machine.
Decoded reference(std::string_view in, Framing framing, BareNewline mode) {
    Decoded d;
    bool line_start = framing == Framing::Dot;
    std::size_t i = 0;
    while (i < in.size()) {
        if (line_start) {
            line_start = false;
            if (in.substr(i, 3) == ".\r\n") {
                d.done = true;
                i += 3;
                break;
            }
            // A pending ".\r" or "." at the very end is not decided yet.
            if (in.substr(i) == "." || in.substr(i) == ".\r") {
                i = in.size();
                break;
            }
            if (in[i] == '.') {
                ++i;
                continue;
            }
        }
        if (in.substr(i, 2) == "\r\n") {
            d.out += "\r\n";
            i += 2;
            line_start = framing == Framing::Dot;
        } else if (in[i] == '\r' && i + 1 == in.size() && framing == Framing::Dot) {
            ++i;  // pending: the next chunk may start with LF
        } else if (in[i] == '\r' || in[i] == '\n') {
            ++d.bare;
            d.out += mode == BareNewline::Normalize ? std::string("\r\n") : std::string(1, in[i]);
            ++i;
        } else {
            d.out += in[i++];
        }
    }
    d.consumed = i;
    d.decoded = d.out.size();
    return d;
}

// ---- DATA: the terminator ----

TEST(DataDecoderDot, SimpleMessage) {
    const std::string in = "Subject: hi\r\n\r\nbody\r\n.\r\n";
    const Decoded d = decode(in);
    EXPECT_EQ(d.out, "Subject: hi\r\n\r\nbody\r\n");
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.consumed, in.size());
    EXPECT_EQ(d.bare, 0u);
    EXPECT_EQ(d.decoded, d.out.size());
}

TEST(DataDecoderDot, TerminatorAsFirstLineEndsAnEmptyMessage) {
    const Decoded d = decode(".\r\n");
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.out, "");
    EXPECT_EQ(d.consumed, 3u);
    EXPECT_EQ(d.decoded, 0u);
}

TEST(DataDecoderDot, EmptyLineThenTerminator) {
    const Decoded d = decode("\r\n.\r\n");
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.out, "\r\n");
}

TEST(DataDecoderDot, RemainderIsLeftUnconsumed) {
    const std::string in = "a\r\n.\r\nMAIL FROM:<x@y.example>\r\n";
    DataDecoder decoder(Framing::Dot, BareNewline::Normalize);
    std::string out;
    const std::size_t n = decoder.feed(in, out);
    EXPECT_EQ(n, 6u);
    EXPECT_EQ(in.substr(n), "MAIL FROM:<x@y.example>\r\n");
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(out, "a\r\n");
    // Nothing more is taken once done.
    EXPECT_EQ(decoder.feed("more\r\n.\r\n", out), 0u);
    EXPECT_EQ(out, "a\r\n");
}

TEST(DataDecoderDot, PipelinedSecondMessageIsNotDecoded) {
    const std::string in = "one\r\n.\r\nRSET\r\nDATA\r\ntwo\r\n.\r\n";
    const Decoded d = decode(in);
    EXPECT_EQ(d.out, "one\r\n");
    EXPECT_EQ(d.consumed, 8u);
}

TEST(DataDecoderDot, NoTerminatorNoDone) {
    const Decoded d = decode("line one\r\nline two\r\n");
    EXPECT_FALSE(d.done);
    EXPECT_EQ(d.out, "line one\r\nline two\r\n");
    EXPECT_EQ(d.consumed, 20u);
}

TEST(DataDecoderDot, EmptyFeed) {
    DataDecoder decoder(Framing::Dot, BareNewline::Normalize);
    std::string out;
    EXPECT_EQ(decoder.feed("", out), 0u);
    EXPECT_EQ(out, "");
    EXPECT_FALSE(decoder.done());
}

// ---- DATA: dot-stuffing ----

TEST(DataDecoderDot, DoubledDotUnstuffsToOne) {
    EXPECT_EQ(decode("a\r\n..\r\n.\r\n").out, "a\r\n.\r\n");
    EXPECT_EQ(decode("..\r\n.\r\n").out, ".\r\n");
    EXPECT_EQ(decode("\r\n..\r\n").out, "\r\n.\r\n");
    EXPECT_EQ(decode("...\r\n.\r\n").out, "..\r\n");
}

TEST(DataDecoderDot, LeadingDotIsRemoved) {
    EXPECT_EQ(decode(".foo\r\n.\r\n").out, "foo\r\n");
    EXPECT_EQ(decode("x\r\n.bar\r\n.\r\n").out, "x\r\nbar\r\n");
}

TEST(DataDecoderDot, DotsElsewhereAreContent) {
    EXPECT_EQ(decode("a.b\r\n.\r\n").out, "a.b\r\n");
    EXPECT_EQ(decode("abc.\r\n.\r\n").out, "abc.\r\n");
    EXPECT_EQ(decode("a ..\r\n.\r\n").out, "a ..\r\n");
}

TEST(DataDecoderDot, DotCrLfMidLineDoesNotEnd) {
    const Decoded d = decode("abc.\r\nmore\r\n");
    EXPECT_FALSE(d.done);
    EXPECT_EQ(d.out, "abc.\r\nmore\r\n");
}

// ---- DATA: SMTP smuggling variants ----

struct SmugglingCase {
    const char* name;
    std::string middle;      // sits between "a" and "b\r\n.\r\n"
    std::string normalized;  // decoded middle, Normalize mode
    std::string rejected;    // decoded middle, Reject mode
    std::uint64_t bare;
};

TEST(DataDecoderSmuggling, FakeTerminatorsNeverEndData) {
    const std::vector<SmugglingCase> cases = {
        {"LF.LF", "\n.\n", "\r\n.\r\n", "\n.\n", 2},
        {"CR.CR", "\r.\r", "\r\n.\r\n", "\r.\r", 2},
        {"LF.CRLF", "\n.\r\n", "\r\n.\r\n", "\n.\r\n", 1},
        // After a real CRLF the dot starts a line; what follows is content,
        // so the dot is stuffing and goes (RFC 5321 section 4.5.2).
        {"CRLF.LF", "\r\n.\n", "\r\n\r\n", "\r\n\n", 1},
        {"CRLF.CR", "\r\n.\r", "\r\n\r\n", "\r\n\r", 1},
        {"CR.LF", "\r.\n", "\r\n.\r\n", "\r.\n", 2},
        {"CRCRLF.CRLF", "\r\r\n.x\r\n", "\r\n\r\nx\r\n", "\r\r\nx\r\n", 1},
        {"LF.CRLF-MAIL", "\n.\r\nMAIL FROM:<evil@x.example>\r\n",
         "\r\n.\r\nMAIL FROM:<evil@x.example>\r\n", "\n.\r\nMAIL FROM:<evil@x.example>\r\n", 1},
        {"CRLF.CRCRLF", "\r\n.\r\r\n", "\r\n\r\n\r\n", "\r\n\r\r\n", 1},
        {"LFLF", "\n\n", "\r\n\r\n", "\n\n", 2},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const std::string in = "a" + c.middle + "b\r\n.\r\n";
        const Decoded n = decode(in, Framing::Dot, BareNewline::Normalize);
        EXPECT_TRUE(n.done);
        EXPECT_EQ(n.consumed, in.size()) << "ended early";
        EXPECT_EQ(n.out, "a" + c.normalized + "b\r\n");
        EXPECT_EQ(n.bare, c.bare);
        const Decoded r = decode(in, Framing::Dot, BareNewline::Reject);
        EXPECT_TRUE(r.done);
        EXPECT_EQ(r.consumed, in.size());
        EXPECT_EQ(r.out, "a" + c.rejected + "b\r\n");
        EXPECT_EQ(r.bare, c.bare);
    }
}

TEST(DataDecoderSmuggling, NormalizedOutputHasOnlyCrLf) {
    const Decoded d = decode("x\ny\rz\r\r\n\n\r.\n.\r\r\n.\r\n");
    ASSERT_TRUE(d.done);
    for (std::size_t i = 0; i < d.out.size(); ++i) {
        if (d.out[i] == '\r') {
            EXPECT_EQ(d.out[i + 1], '\n') << "at " << i;
        }
        if (d.out[i] == '\n') {
            EXPECT_EQ(d.out[i - 1], '\r') << "at " << i;
        }
    }
}

TEST(DataDecoderSmuggling, BareLineEndsAtTheStart) {
    EXPECT_FALSE(decode("\n.\n").done);
    EXPECT_FALSE(decode("\r.\r").done);
    EXPECT_FALSE(decode("\n.\r\n").done);
    EXPECT_EQ(decode("\n.\r\n").out, "\r\n.\r\n");
    EXPECT_TRUE(decode("\n.\r\n.\r\n").done);
}

TEST(DataDecoderSmuggling, TerminatorSplitAcrossFeeds) {
    // "\r" at the end of one chunk, "\n.\r\n" in the next.
    DataDecoder decoder(Framing::Dot, BareNewline::Normalize);
    std::string out;
    EXPECT_EQ(decoder.feed("body\r", out), 5u);
    EXPECT_EQ(decoder.bare_newlines(), 0u);
    EXPECT_EQ(decoder.feed("\n.\r\nQUIT\r\n", out), 4u);
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(out, "body\r\n");
    EXPECT_EQ(decoder.bare_newlines(), 0u);
}

// ---- DATA: counts, modes and sizes ----

TEST(DataDecoderDot, BareCountsAndRejectModeKeepsBytes) {
    const Decoded n = decode("a\nb\rc\r\n.\r\n", Framing::Dot, BareNewline::Normalize);
    EXPECT_EQ(n.out, "a\r\nb\r\nc\r\n");
    EXPECT_EQ(n.bare, 2u);
    const Decoded r = decode("a\nb\rc\r\n.\r\n", Framing::Dot, BareNewline::Reject);
    EXPECT_EQ(r.out, "a\nb\rc\r\n");
    EXPECT_EQ(r.bare, 2u);
    EXPECT_TRUE(r.done);
}

TEST(DataDecoderDot, DecodedBytesCountOnlyWhatWasAppended) {
    DataDecoder decoder(Framing::Dot, BareNewline::Normalize);
    std::string out = "existing";
    decoder.feed("..x\n", out);
    EXPECT_EQ(out, "existing.x\r\n");
    EXPECT_EQ(decoder.decoded_bytes(), 4u);
    decoder.feed("y\r\n.\r\n", out);
    EXPECT_EQ(decoder.decoded_bytes(), 7u);
    EXPECT_TRUE(decoder.done());
}

TEST(DataDecoderDot, LongLinesPassIntact) {
    const std::string line(100 * 1024, 'x');
    const Decoded d = decode(line + "\r\n.\r\n");
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.out, line + "\r\n");
    EXPECT_EQ(d.decoded, line.size() + 2);

    const Decoded no_end = decode(line);
    EXPECT_FALSE(no_end.done);
    EXPECT_EQ(no_end.out, line);
}

TEST(DataDecoderDot, ManyBareNewlines) {
    const std::string lfs(100 * 1024, '\n');
    const Decoded d = decode(lfs);
    EXPECT_EQ(d.bare, lfs.size());
    EXPECT_EQ(d.out.size(), 2 * lfs.size());
    EXPECT_FALSE(d.done);
}

TEST(DataDecoderDot, FinishDoesNothingForDot) {
    DataDecoder decoder(Framing::Dot, BareNewline::Normalize);
    std::string out;
    decoder.feed("a\r", out);
    decoder.finish(out);
    EXPECT_EQ(out, "a");
    EXPECT_EQ(decoder.bare_newlines(), 0u);
}

TEST(DataDecoderDot, BinaryBytesPassThrough) {
    std::string body;
    for (int c = 0; c < 256; ++c)
        if (c != '\r' && c != '\n') body += static_cast<char>(c);
    const Decoded d = decode(body + "\r\n.\r\n");
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.out, body + "\r\n");
}

// ---- BDAT: length framing ----

TEST(DataDecoderLength, NoDotHandlingNoTerminator) {
    const std::string in = "a\r\n.\r\n..\r\nb";
    const Decoded d = decode(in, Framing::Length);
    EXPECT_FALSE(d.done);
    EXPECT_EQ(d.out, in);
    EXPECT_EQ(d.consumed, in.size());
    EXPECT_EQ(decode(".\r\n", Framing::Length).out, ".\r\n");
}

TEST(DataDecoderLength, NormalizesBareLineEnds) {
    const Decoded n = decode("a\nb\rc", Framing::Length);
    EXPECT_EQ(n.out, "a\r\nb\r\nc");
    EXPECT_EQ(n.bare, 2u);
    const Decoded r = decode("a\nb\rc", Framing::Length, BareNewline::Reject);
    EXPECT_EQ(r.out, "a\nb\rc");
    EXPECT_EQ(r.bare, 2u);
}

TEST(DataDecoderLength, CrLfAcrossChunks) {
    DataDecoder decoder(Framing::Length, BareNewline::Normalize);
    std::string out;
    EXPECT_EQ(decoder.feed("line\r", out), 5u);
    EXPECT_EQ(out, "line");
    EXPECT_EQ(decoder.feed("\nnext", out), 5u);
    decoder.finish(out);
    EXPECT_EQ(out, "line\r\nnext");
    EXPECT_EQ(decoder.bare_newlines(), 0u);
    EXPECT_EQ(decoder.decoded_bytes(), out.size());
}

TEST(DataDecoderLength, FinishFlushesPendingCr) {
    DataDecoder normalize(Framing::Length, BareNewline::Normalize);
    std::string out;
    normalize.feed("end\r", out);
    normalize.finish(out);
    EXPECT_EQ(out, "end\r\n");
    EXPECT_EQ(normalize.bare_newlines(), 1u);
    EXPECT_EQ(normalize.decoded_bytes(), 5u);
    normalize.finish(out);  // a second call changes nothing
    EXPECT_EQ(out, "end\r\n");

    DataDecoder reject(Framing::Length, BareNewline::Reject);
    std::string raw;
    reject.feed("end\r", raw);
    reject.finish(raw);
    EXPECT_EQ(raw, "end\r");
    EXPECT_EQ(reject.bare_newlines(), 1u);
}

TEST(DataDecoderLength, EmptyChunks) {
    DataDecoder decoder(Framing::Length, BareNewline::Normalize);
    std::string out;
    EXPECT_EQ(decoder.feed("", out), 0u);
    decoder.finish(out);
    EXPECT_EQ(out, "");
    EXPECT_FALSE(decoder.done());
}

// ---- Chunk-split equivalence ----

const std::vector<std::string>& fixed_inputs() {
    static const std::vector<std::string> inputs = {
        "Subject: hi\r\n\r\nbody\r\n.\r\n",
        ".\r\n",
        "\r\n.\r\n",
        "a\r\n..\r\n.\r\nMAIL FROM:<x@y>\r\n",
        "a\n.\nb\r\n.\r\n",
        "a\r.\rb\r\n.\r\n",
        "a\n.\r\nb\r\n.\r\n",
        "a\r\n.\nb\r\n.\r\n",
        "a\r\n.\rb\r\n.\r\n",
        "abc.\r\n.\r\n",
        "..\r\n...\r\n.x\r\n.\r\r\n.\r\n",
        "\r\r\r\n\n\n.\r\n",
        "x\r\n.",
        "x\r\n.\r",
        "x\r",
        std::string(3000, 'y') + "\r\n." + std::string(3000, 'z') + "\r\n.\r\n",
    };
    return inputs;
}

void expect_split_equivalence(std::string_view in, Framing framing, BareNewline mode) {
    const Decoded whole = decode_chunks(in, {}, framing, mode);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        const Decoded split = decode_chunks(in, {cut}, framing, mode);
        ASSERT_EQ(split, whole) << "input " << testing::PrintToString(std::string(in)) << " cut at "
                                << cut;
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < in.size(); ++i) every.push_back(i);
    ASSERT_EQ(decode_chunks(in, every, framing, mode), whole)
        << "byte by byte: " << testing::PrintToString(std::string(in));
}

TEST(DataDecoderSplit, FixedInputsAtEveryPosition) {
    for (const auto& in : fixed_inputs())
        for (auto framing : {Framing::Dot, Framing::Length})
            for (auto mode : {BareNewline::Normalize, BareNewline::Reject})
                expect_split_equivalence(in, framing, mode);
}

TEST(DataDecoderSplit, FixedInputsMatchTheReference) {
    for (const auto& in : fixed_inputs()) {
        for (auto mode : {BareNewline::Normalize, BareNewline::Reject}) {
            EXPECT_EQ(decode(in, Framing::Dot, mode), reference(in, Framing::Dot, mode))
                << testing::PrintToString(in);
            EXPECT_EQ(decode(in, Framing::Length, mode), reference(in, Framing::Length, mode))
                << testing::PrintToString(in);
        }
    }
}

// Every string of length 0..7 over {CR, LF, '.', 'a'}: 21845 inputs, each
// checked against the reference, at every single split, and byte by byte.
TEST(DataDecoderSplit, ExhaustiveSmallAlphabet) {
    constexpr char kAlphabet[] = {'\r', '\n', '.', 'a'};
    constexpr std::size_t kMaxLen = 7;
    std::string in;
    std::size_t count = 0;
    for (std::size_t len = 0; len <= kMaxLen; ++len) {
        std::size_t total = 1;
        for (std::size_t i = 0; i < len; ++i) total *= 4;
        for (std::size_t n = 0; n < total; ++n) {
            in.clear();
            for (std::size_t i = 0, v = n; i < len; ++i, v /= 4) in += kAlphabet[v % 4];
            for (auto framing : {Framing::Dot, Framing::Length}) {
                for (auto mode : {BareNewline::Normalize, BareNewline::Reject}) {
                    ASSERT_EQ(decode(in, framing, mode), reference(in, framing, mode))
                        << testing::PrintToString(in);
                    expect_split_equivalence(in, framing, mode);
                    if (testing::Test::HasFatalFailure()) return;
                }
            }
            ++count;
        }
    }
    EXPECT_EQ(count, 21845u);
}

}  // namespace
}  // namespace gatehouse::smtp
