// The MAIL FROM and RCPT TO lines of an outbound transaction, with the
// parameters the next hop offers. Pure code, no I/O.
//
// Standards: RFC 5321 section 4.1.1.2-3, RFC 1870 (SIZE=), RFC 6152
// (BODY=8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 (RET=, ENVID=, NOTIFY=,
// ORCPT=, only when the server offers DSN; ENVID and ORCPT are kept as xtext).
//
// SECURITY: addresses and DSN values were checked by our SMTP server, but
// they are re-checked here because they are written into a command line: a
// CR, LF or other control byte would let a sender add commands of its own.
// Such a value is refused (nullopt), never sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/envelope.hpp"
#include "deliver/extensions.hpp"

namespace gatehouse::deliver {

// "MAIL FROM:<sender> SIZE=n BODY=8BITMIME SMTPUTF8 RET=.. ENVID=..", no CRLF.
std::optional<std::string> mail_command(const Envelope& envelope, const Extensions& ext,
                                        std::uint64_t size);

// "RCPT TO:<address> NOTIFY=.. ORCPT=..", no CRLF.
std::optional<std::string> rcpt_command(const Recipient& recipient, const Extensions& ext);

// True when an address holds a byte outside US-ASCII (needs SMTPUTF8).
bool has_non_ascii(const std::string& text);

}  // namespace gatehouse::deliver
