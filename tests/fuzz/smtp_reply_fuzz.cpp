// Fuzz target for the reader of next-hop replies (src/deliver/reply_reader.cpp).
// The input is what a hostile or broken server sends back, split into two
// reads at a point taken from the first byte. Besides crashes and sanitizer
// reports it checks what delivery relies on: a reply has a 2xx-5xx code, at
// most kMaxLines lines of at most kMaxLineBytes, and printable text only.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "deliver/reply_reader.hpp"
#include "fuzz_check.hpp"

namespace {

using gatehouse::deliver::ReplyReader;
using gatehouse::fuzz::check;

void drain(ReplyReader& reader) {
    for (int guard = 0; guard < 100000; ++guard) {
        auto next = reader.next();
        if (!next) return;
        if (!next->ok()) return;  // the caller drops the connection
        const auto& reply = next->value();
        check(reply.code >= 200 && reply.code <= 599, "reply code in 200..599");
        check(!reply.lines.empty() && reply.lines.size() <= ReplyReader::kMaxLines,
              "reply has 1..kMaxLines lines");
        for (const auto& line : reply.lines) {
            check(line.size() <= ReplyReader::kMaxLineBytes, "line within kMaxLineBytes");
            for (char c : line) {
                auto u = static_cast<unsigned char>(c);
                check(u >= 0x20 && u < 0x7f, "reply text is printable ASCII");
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t split = in.empty() ? 0 : static_cast<unsigned char>(in[0]) % (in.size() + 1);
    ReplyReader reader;
    reader.append(in.substr(0, split));
    drain(reader);
    reader.append(in.substr(split));
    drain(reader);
    return 0;
}
