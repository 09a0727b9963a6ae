// Reads SMTP replies from the next hop out of the bytes the connection
// receives: multi-line replies ("250-..." continued, "250 ..." last), more
// than one reply per read when commands were pipelined. Pure code, no I/O.
//
// Standards: RFC 5321 section 4.2 (reply syntax), RFC 2920 (pipelined
// replies arrive back to back).
//
// SECURITY: every byte comes from the remote server. A line may hold at most
// kMaxLineBytes and a reply at most kMaxLines lines; past either limit, or on
// a malformed code, the reader reports an error and the caller drops the
// connection. Reply text is made printable before it is stored, so it can go
// into results and events as it is (logs still escape it).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace gatehouse::deliver {

struct ServerReply {
    int code = 0;
    std::vector<std::string> lines;  // text after "250-" / "250 ", one per line

    bool positive() const { return code >= 200 && code < 300; }
    bool intermediate() const { return code >= 300 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }
    // "250 2.0.0 ok": the code and every line's text, joined by spaces and
    // capped in length; this is what recipient results carry.
    std::string summary() const;
};

class ReplyReader {
  public:
    static constexpr std::size_t kMaxLineBytes = 2048;
    static constexpr std::size_t kMaxLines = 100;

    void append(std::string_view bytes);

    // The next complete reply, an Error when the peer broke the syntax or a
    // limit, or nullopt when more bytes are needed.
    std::optional<Result<ServerReply>> next();

    // True when bytes past the last complete reply are waiting: after a
    // STARTTLS 220 that means the peer (or someone on the path) injected
    // plaintext that must not be trusted inside TLS.
    bool has_pending_bytes() const { return pos_ < buffer_.size(); }
    void clear();

  private:
    std::string buffer_;
    std::size_t pos_ = 0;  // start of the first unread line
    ServerReply partial_;
};

// Replaces control bytes and non-ASCII bytes from a peer with '?'.
std::string printable(std::string_view text);

}  // namespace gatehouse::deliver
