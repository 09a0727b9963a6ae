// MAIL FROM / RCPT TO command lines (see commands.hpp).
#include "deliver/commands.hpp"

#include <algorithm>

namespace gatehouse::deliver {

namespace {

constexpr std::size_t kMaxPathBytes = 256;   // RFC 5321 4.5.3.1.3
constexpr std::size_t kMaxXtextBytes = 500;  // ENVID 100 and ORCPT 500 (RFC 3461)

// No control byte may reach a command line; space only inside a quoted
// local part, which the SMTP server has already checked.
bool safe_address(const std::string& address) {
    if (address.size() > kMaxPathBytes) return false;
    return std::none_of(address.begin(), address.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '<' || c == '>';
    });
}

// xtext (RFC 3461 section 4): printable ASCII except '+' and '=' and space,
// which come as "+XX". The value is stored encoded, so '+' is let through.
bool safe_xtext(const std::string& text) {
    if (text.empty() || text.size() > kMaxXtextBytes) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && c != '=';
    });
}

std::string notify_param(unsigned notify) {
    if (notify & kNotifyNever) return "NEVER";
    std::string out;
    for (auto [flag, word] :
         {std::pair{kNotifySuccess, "SUCCESS"}, std::pair{kNotifyFailure, "FAILURE"},
          std::pair{kNotifyDelay, "DELAY"}}) {
        if (!(notify & flag)) continue;
        if (!out.empty()) out += ',';
        out += word;
    }
    return out;
}

}  // namespace

bool has_non_ascii(const std::string& text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::optional<std::string> mail_command(const Envelope& envelope, const Extensions& ext,
                                        std::uint64_t size) {
    if (!safe_address(envelope.sender)) return std::nullopt;
    std::string line = "MAIL FROM:<" + envelope.sender + ">";
    if (ext.size) line += " SIZE=" + std::to_string(size);
    if (envelope.body == BodyType::EightBitMime && ext.eight_bit_mime) line += " BODY=8BITMIME";
    if (envelope.smtputf8 && ext.smtputf8) line += " SMTPUTF8";
    if (ext.dsn) {
        if (envelope.ret == "FULL" || envelope.ret == "HDRS") line += " RET=" + envelope.ret;
        if (!envelope.envid.empty()) {
            if (!safe_xtext(envelope.envid)) return std::nullopt;
            line += " ENVID=" + envelope.envid;
        }
    }
    return line;
}

std::optional<std::string> rcpt_command(const Recipient& recipient, const Extensions& ext) {
    if (recipient.address.empty() || !safe_address(recipient.address)) return std::nullopt;
    std::string line = "RCPT TO:<" + recipient.address + ">";
    if (ext.dsn) {
        std::string notify = notify_param(recipient.notify);
        if (!notify.empty()) line += " NOTIFY=" + notify;
        if (!recipient.orcpt.empty()) {
            if (!safe_xtext(recipient.orcpt)) return std::nullopt;
            line += " ORCPT=" + recipient.orcpt;
        }
    }
    return line;
}

}  // namespace gatehouse::deliver
