// Decoding of message content as it arrives: DATA (dot-terminated, RFC 5321
// section 4.1.1.4 and 4.5.2) and BDAT chunks (length-framed, RFC 3030).
// Pure code, no I/O; fuzzed by tests/fuzz/smtp_data_fuzz.cpp.
//
// SECURITY (SMTP smuggling): only the exact sequence <CRLF>.<CRLF> ends DATA.
// A bare LF or bare CR never ends a line for framing or dot-unstuffing, so
// "\n.\n", "\r.\r", "\n.\r\n" and "\r\n.\n" can never end the data or start a
// second message. Bare line ends are counted; in Normalize mode each is
// stored as CRLF (so the stored content has CRLF line ends only and the next
// hop cannot be tricked either), in Reject mode the caller refuses the whole
// message after the end of data (the content is still read to stay in sync).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace gatehouse::smtp {

class DataDecoder {
  public:
    enum class Framing { Dot, Length };

    DataDecoder(Framing framing, config::BareNewline mode);

    // Consumes bytes of the DATA phase and appends decoded content to out.
    // For Dot framing, returns how many bytes of `in` were consumed: less than
    // in.size() only when the terminating <CRLF>.<CRLF> was found; the rest
    // belongs to the next command. For Length framing it consumes everything
    // given (the caller cuts chunks by their BDAT size).
    std::size_t feed(std::string_view in, std::string& out);

    // Call after the last BDAT chunk (Length framing) to flush a pending CR.
    void finish(std::string& out);

    bool done() const { return done_; }  // Dot framing: terminator seen
    std::uint64_t bare_newlines() const { return bare_newlines_; }
    std::uint64_t decoded_bytes() const { return decoded_bytes_; }

  private:
    // LineStart: after a real CRLF (or at the start) with Dot framing.
    // SawCr: a CR is held back until the next byte says whether it is bare.
    // DotAtLineStart, DotSawCr: "." and ".\r" seen at a line start.
    enum class State { LineStart, Middle, SawCr, DotAtLineStart, DotSawCr };

    std::size_t step(std::string_view in, std::size_t i, std::string& out);
    std::size_t after_leading_dot(char c, std::size_t i);
    std::size_t after_dot_cr(char c, std::size_t i, std::string& out);
    void emit_bare_line_end(char c, std::string& out);

    Framing framing_;
    config::BareNewline mode_;
    State state_ = State::LineStart;
    bool done_ = false;
    std::uint64_t bare_newlines_ = 0;
    std::uint64_t decoded_bytes_ = 0;
};

}  // namespace gatehouse::smtp
