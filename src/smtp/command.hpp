// The SMTP command parser: one command line (without its CRLF) in, a typed
// Command or the Reply to send back out. Pure code, no I/O; fuzzed by
// tests/fuzz/smtp_command_fuzz.cpp.
//
// Standards: RFC 5321 (commands, paths, Mailbox syntax), RFC 1870 (SIZE),
// RFC 6152 (BODY=8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 (DSN parameters),
// RFC 3030 (BDAT), RFC 3207 (STARTTLS).
//
// SECURITY: every byte of the line comes from an untrusted peer. The parser
// never allocates more than the line length, rejects NUL and other control
// bytes in addresses, and caps local part (64), domain (255) and path (256)
// lengths as RFC 5321 section 4.5.3.1 says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/envelope.hpp"
#include "smtp/reply.hpp"

namespace gatehouse::smtp {

enum class Verb {
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth
};

struct MailParams {
    std::optional<std::uint64_t> size;   // SIZE=
    BodyType body = BodyType::SevenBit;  // BODY=7BIT|8BITMIME
    bool smtputf8 = false;               // SMTPUTF8
    std::string ret;                     // RET=FULL|HDRS (uppercased)
    std::string envid;                   // ENVID= (xtext, kept encoded)
};

struct RcptParams {
    std::string orcpt;    // ORCPT= (kept encoded)
    unsigned notify = 0;  // NotifyFlags
};

struct Command {
    Verb verb = Verb::Noop;
    std::string argument;  // HELO/EHLO domain, VRFY/HELP/NOOP text, AUTH mechanism line
    std::string address;   // MAIL/RCPT path without brackets or source route; "" is <>
    MailParams mail;
    RcptParams rcpt;
    std::uint64_t bdat_size = 0;
    bool bdat_last = false;
};

// Parses one command line. Verbs are case-insensitive. Unknown verbs give
// replies::unknown_command(); syntax errors give 501/555 with a reason.
// MAIL FROM requires SMTPUTF8 for non-ASCII addresses (553 5.6.7 without it);
// RCPT TO non-ASCII addresses are checked against the caller's flag.
std::variant<Command, Reply> parse_command(std::string_view line, bool smtputf8_session = false);

// Validates an RFC 5321 Mailbox (local@domain or local@[literal]); also used
// for addresses from config and the admin API. allow_utf8 permits RFC 6531.
bool valid_mailbox(std::string_view address, bool allow_utf8);

// Decodes RFC 3461 xtext ("+2B" -> "+"); returns nullopt on bad encoding.
std::optional<std::string> xtext_decode(std::string_view s);

}  // namespace gatehouse::smtp
