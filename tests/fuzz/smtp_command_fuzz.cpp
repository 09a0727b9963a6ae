// Fuzz target for the SMTP command parser (src/smtp/command.cpp). The input
// is one command line as the session would pass it (CRLF already removed).
// Besides crashes and sanitizer reports, it checks what the session relies
// on: a refusal is a well-formed 4xx/5xx reply that cannot inject a line, and
// an accepted MAIL/RCPT address is a valid mailbox within the RFC limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/command.hpp"

namespace {

using gatehouse::fuzz::check;
using namespace gatehouse::smtp;

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

void check_reply(const Reply& reply) {
    check(reply.code >= 500 && reply.code <= 555, "a refusal is a 5xx reply");
    const std::string wire = reply.str();
    check(wire.size() >= 5 && wire.compare(wire.size() - 2, 2, "\r\n") == 0, "reply ends in CRLF");
    for (std::size_t i = 0; i + 2 < wire.size(); ++i) {
        const auto u = static_cast<unsigned char>(wire[i]);
        check(u >= 0x20 && u < 0x7f, "reply holds printable ASCII only");
    }
    check(wire.size() <= 512, "reply line within 512 octets");
}

void check_command(const Command& cmd, std::string_view line, bool smtputf8_session) {
    check(cmd.argument.size() <= line.size(), "argument no longer than the line");
    check(cmd.address.size() <= 254, "address within the path limit");
    if (cmd.verb == Verb::Mail) {
        check(cmd.mail.smtputf8 || is_ascii(cmd.address), "8-bit sender only with SMTPUTF8");
        check(cmd.address.empty() || valid_mailbox(cmd.address, cmd.mail.smtputf8),
              "sender is a valid mailbox");
        check(cmd.mail.envid.empty() || xtext_decode(cmd.mail.envid).has_value(), "ENVID is xtext");
        check(cmd.mail.ret.empty() || cmd.mail.ret == "FULL" || cmd.mail.ret == "HDRS",
              "RET is FULL or HDRS");
    } else if (cmd.verb == Verb::Rcpt) {
        check(!cmd.address.empty(), "recipient is never null");
        check(smtputf8_session || is_ascii(cmd.address), "8-bit recipient only with SMTPUTF8");
        const bool postmaster =
            cmd.address.size() == 10 && cmd.address.find('@') == std::string::npos;
        check(postmaster || valid_mailbox(cmd.address, smtputf8_session),
              "recipient is a valid mailbox or <postmaster>");
        const unsigned never = gatehouse::kNotifyNever;
        check(!(cmd.rcpt.notify & never) || cmd.rcpt.notify == never, "NOTIFY=NEVER alone");
    } else {
        check(cmd.address.empty(), "only MAIL and RCPT carry an address");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);

    for (bool smtputf8_session : {false, true}) {
        const auto result = parse_command(line, smtputf8_session);
        if (const auto* reply = std::get_if<Reply>(&result)) {
            check_reply(*reply);
        } else {
            check_command(std::get<Command>(result), line, smtputf8_session);
        }
    }

    // The helpers are also called on whole inputs from config and the API.
    if (valid_mailbox(line, false)) check(valid_mailbox(line, true), "ASCII-valid is UTF-8-valid");
    if (const auto decoded = xtext_decode(line))
        check(decoded->size() <= line.size(), "xtext never grows when decoded");
    return 0;
}
