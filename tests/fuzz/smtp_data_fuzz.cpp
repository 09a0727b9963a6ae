// Fuzz target for the DATA/BDAT decoder (src/smtp/data_decoder.cpp), the SMTP
// smuggling defence.
//
// Input layout: byte 0 picks the mode (bit 0: Length framing instead of Dot,
// bit 1: Reject instead of Normalize), bytes 1-2 are a little-endian split
// offset, and the rest is the byte stream from the peer. The stream is decoded
// in one piece and again cut in two at the offset; both must agree exactly.
// For Dot framing the end of data is checked against a plain search for the
// first <CRLF>.<CRLF> (or ".\r\n" at the very start); for Length framing in
// Reject mode the output must equal the input byte for byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/data_decoder.hpp"

namespace {

using gatehouse::config::BareNewline;
using gatehouse::fuzz::check;
using gatehouse::smtp::DataDecoder;

struct Outcome {
    std::string out;
    std::size_t consumed = 0;
    bool done = false;
    std::uint64_t bare = 0;
    std::uint64_t decoded = 0;

    bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view in, std::size_t cut, DataDecoder::Framing framing, BareNewline mode) {
    DataDecoder decoder(framing, mode);
    Outcome o;
    o.consumed = decoder.feed(in.substr(0, cut), o.out);
    if (!decoder.done()) {
        check(o.consumed == cut, "everything is consumed before the end of data");
        o.consumed += decoder.feed(in.substr(cut), o.out);
    }
    if (framing == DataDecoder::Framing::Length) decoder.finish(o.out);
    o.done = decoder.done();
    o.bare = decoder.bare_newlines();
    o.decoded = decoder.decoded_bytes();
    return o;
}

// Where DATA must end: after the first real <CRLF>.<CRLF>, or after ".\r\n"
// if the data starts with it; npos if it must not end.
std::size_t expected_end(std::string_view in) {
    if (in.substr(0, 3) == ".\r\n") return 3;
    const auto pos = in.find("\r\n.\r\n");
    return pos == std::string_view::npos ? pos : pos + 5;
}

void check_line_ends(const std::string& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] == '\r') check(i + 1 < out.size() && out[i + 1] == '\n', "no bare CR stored");
        if (out[i] == '\n') check(i > 0 && out[i - 1] == '\r', "no bare LF stored");
    }
}

void check_outcome(const Outcome& o, std::string_view in, DataDecoder::Framing framing,
                   BareNewline mode) {
    check(o.decoded == o.out.size(), "decoded_bytes counts the output");
    if (mode == BareNewline::Normalize) check_line_ends(o.out);
    if (framing == DataDecoder::Framing::Length) {
        check(!o.done && o.consumed == in.size(), "length framing takes everything");
        if (mode == BareNewline::Reject) check(o.out == in, "length framing keeps bytes");
        if (mode == BareNewline::Normalize)
            check(o.out.size() == in.size() + o.bare, "each bare line end grows by one");
        return;
    }
    const std::size_t end = expected_end(in);
    check(o.done == (end != std::string_view::npos), "DATA ends exactly at <CRLF>.<CRLF>");
    check(o.consumed == (o.done ? end : in.size()), "the rest is left for the next command");
    const std::size_t growth = mode == BareNewline::Normalize ? o.bare : 0;
    check(o.out.size() <= o.consumed + growth, "unstuffing never grows the content");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const auto framing = (data[0] & 1) ? DataDecoder::Framing::Length : DataDecoder::Framing::Dot;
    const auto mode = (data[0] & 2) ? BareNewline::Reject : BareNewline::Normalize;
    const std::size_t offset = data[1] | (static_cast<std::size_t>(data[2]) << 8);
    const std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);

    const Outcome whole = run(in, in.size(), framing, mode);
    check_outcome(whole, in, framing, mode);
    const Outcome split = run(in, offset % (in.size() + 1), framing, mode);
    check(split == whole, "two chunks decode like one");
    return 0;
}
