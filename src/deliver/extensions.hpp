// What the next hop's EHLO reply offers, as far as delivery cares. Pure
// code, no I/O.
//
// Standards: RFC 5321 section 4.1.1.1 (EHLO reply: the first line names the
// server, each further line one keyword with optional parameters), RFC 3207
// (STARTTLS), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
// RFC 3461 (DSN), RFC 2920 (PIPELINING).
//
// SECURITY: keywords come from the remote server and are only compared;
// the SIZE parameter is parsed with an overflow check.
#pragma once

#include <cstdint>

#include "deliver/reply_reader.hpp"

namespace gatehouse::deliver {

struct Extensions {
    bool starttls = false;
    bool pipelining = false;
    bool eight_bit_mime = false;
    bool smtputf8 = false;
    bool dsn = false;
    bool size = false;
    std::uint64_t size_limit = 0;  // 0: SIZE without a limit (or not offered)
};

// Reads the keywords of a positive EHLO reply. A HELO reply has none.
Extensions parse_ehlo(const ServerReply& reply);

}  // namespace gatehouse::deliver
