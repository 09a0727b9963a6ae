// Turns spooled content into the DATA stream: line ends made CRLF, a '.'
// doubled at the start of every line, and the "." CRLF terminator at the
// end. Works chunk by chunk so a large message is never held in memory.
// Pure code, no I/O.
//
// Standards: RFC 5321 section 4.5.2 (transparency), section 2.3.8 (only
// CRLF ends a line).
//
// SECURITY: the content was accepted from a client and may hold bare CR or
// LF bytes despite the spool's CRLF rule. Receivers disagree on whether a
// bare LF or CR ends a line, which is what "SMTP smuggling" abuses to hide a
// second message behind a fake terminator. So every bare CR and bare LF is
// sent as CRLF, and a '.' is stuffed after every line end: no byte sequence
// in the content can end DATA early at any next hop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::deliver {

class DotStuffer {
  public:
    // Appends the transformed bytes of one chunk to out.
    void feed(std::string_view chunk, std::string& out);
    // Appends what is still pending, a CRLF if the content did not end with
    // one, and the terminator ".\r\n".
    void finish(std::string& out);

    // Bare CR or LF bytes rewritten so far; worth a log line.
    std::uint64_t bare_line_ends() const { return bare_line_ends_; }

  private:
    bool line_start_ = true;   // next content byte begins a line
    bool pending_cr_ = false;  // last byte was a CR, its LF not yet seen
    std::uint64_t bare_line_ends_ = 0;
};

}  // namespace gatehouse::deliver
