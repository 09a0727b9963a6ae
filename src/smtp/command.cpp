// The SMTP command parser: turns one command line from the peer into a typed
// Command, or into the Reply that refuses it. Called by the session for every
// line it reads outside the DATA phase; valid_mailbox() is also used for
// addresses from configuration and the admin API.
//
// Standards: RFC 5321 section 4.1 (command syntax, Mailbox, paths, address
// literals), 4.5.1 (<postmaster>), 4.5.3.1 (length limits); RFC 1870 (SIZE),
// RFC 6152 (BODY), RFC 6531 (SMTPUTF8), RFC 3461 (RET, ENVID, NOTIFY, ORCPT,
// xtext), RFC 3030 (BDAT), RFC 3207 (STARTTLS), RFC 4954 (AUTH and the AUTH=
// parameter of MAIL).
//
// SECURITY: the whole line is untrusted. Nothing here trusts a length or an
// offset taken from the line: all scanning is bounded by the string_view, the
// only allocations are copies of parts of the line, and numbers are checked
// for overflow. Control bytes (NUL, CR, LF, TAB, DEL) are refused anywhere in
// the line before any other parsing. Non-ASCII bytes are allowed only in
// addresses with SMTPUTF8, and then must be well-formed UTF-8 without C1
// controls. Peer text that ends up in a reply is sanitised by Reply::str().
//
// Leniency, chosen on purpose because real clients do it: one space after
// "FROM:"/"TO:", extra spaces between the verb and its argument and between
// parameters, trailing spaces, and '_' or one trailing dot in the HELO/EHLO
// name. Nothing else outside the RFC grammar is accepted.
#include "smtp/command.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <utility>

#include "base/text.hpp"

namespace gatehouse::smtp {
namespace {

// RFC 5321 section 4.5.3.1.
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxDomain = 255;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxPath = 256;  // with the angle brackets
constexpr std::size_t kMaxMailbox = kMaxPath - 2;
// RFC 3461 sections 4.2 and 4.4.
constexpr std::size_t kMaxOrcpt = 500;
constexpr std::size_t kMaxEnvid = 100;
// 2^64 - 1 has 20 digits; anything longer cannot fit.
constexpr std::size_t kMaxDecimalDigits = 20;

enum class Utf8 { Refuse, Allow };
// HELO names get the leniency described in the file header; paths do not.
enum class DomainSyntax { Strict, Helo };

using ParseResult = std::variant<Command, Reply>;

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_upper_hex(char c) {
    return is_digit(c) || (c >= 'A' && c <= 'F');
}
bool is_high(char c) {
    return static_cast<unsigned char>(c) >= 0x80;
}

bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// RFC 5322 atext, which RFC 5321 uses for Atom.
bool is_atext(char c) {
    if (is_alpha(c) || is_digit(c)) return true;
    constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
    return kSpecials.find(c) != std::string_view::npos;
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (is_high(c)) return false;
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

// Length of the UTF-8 sequence starting at s[i] (RFC 3629 section 4), or 0
// if it is malformed, overlong, a surrogate, beyond U+10FFFF or a C1 control.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
        if (i + k >= s.size()) return false;
        const auto b = static_cast<unsigned char>(s[i + k]);
        return b >= lo && b <= hi;
    };
    if (b0 == 0xc2) return cont(1, 0xa0) ? 2 : 0;  // U+0080..U+009F are C1 controls
    if (b0 >= 0xc3 && b0 <= 0xdf) return cont(1) ? 2 : 0;
    if (b0 == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
    if (b0 == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
    if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0;
    if (b0 == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b0 == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        if (!is_high(s[i])) {
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool valid_label(std::string_view label, Utf8 utf8, DomainSyntax syntax) {
    if (label.empty()) return false;
    // U-labels may be longer in octets than the A-label they stand for; the
    // overall domain limit still applies to them.
    if (label.size() > kMaxLabel && is_ascii(label)) return false;
    auto let_dig = [&](char c) {
        return is_alpha(c) || is_digit(c) || (utf8 == Utf8::Allow && is_high(c)) ||
               (syntax == DomainSyntax::Helo && c == '_');
    };
    if (!let_dig(label.front()) || !let_dig(label.back())) return false;
    for (char c : label)
        if (!let_dig(c) && c != '-') return false;
    return true;
}

// RFC 5321 Domain: sub-domain *("." sub-domain).
bool valid_domain(std::string_view domain, Utf8 utf8, DomainSyntax syntax) {
    if (syntax == DomainSyntax::Helo && domain.size() > 1 && domain.back() == '.')
        domain.remove_suffix(1);
    if (domain.empty() || domain.size() > kMaxDomain) return false;
    if (!is_ascii(domain) && (utf8 == Utf8::Refuse || !valid_utf8(domain))) return false;
    while (true) {
        const auto dot = domain.find('.');
        if (!valid_label(domain.substr(0, dot), utf8, syntax)) return false;
        if (dot == std::string_view::npos) return true;
        domain.remove_prefix(dot + 1);
    }
}

bool valid_ipv4(std::string_view s) {
    int parts = 0;
    while (true) {
        const auto dot = s.find('.');
        const auto snum = s.substr(0, dot);
        if (!all_digits(snum) || snum.size() > 3) return false;
        if (std::stoi(std::string(snum)) > 255) return false;
        ++parts;
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return parts == 4;
}

// RFC 5321 address-literal: "[" IPv4 or "IPv6:" IPv6 "]". General literals
// have no registered tag besides IPv6, so they are refused.
bool valid_address_literal(std::string_view literal) {
    if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
    const auto inner = literal.substr(1, literal.size() - 2);
    if (istarts_with(inner, "IPv6:")) {
        const auto ip = inner.substr(5);
        if (ip.empty() || ip.size() > 45) return false;  // INET6_ADDRSTRLEN - 1
        for (char c : ip)
            if (!is_digit(c) && !is_alpha(c) && c != ':' && c != '.') return false;
        std::array<unsigned char, 16> buf{};
        return inet_pton(AF_INET6, std::string(ip).c_str(), buf.data()) == 1;
    }
    return valid_ipv4(inner);
}

// RFC 5321 Quoted-string with qtextSMTP and quoted-pairSMTP (RFC 6531 adds
// UTF-8 to qtext). The whole of `s` must be the quoted string.
bool valid_quoted_string(std::string_view s, Utf8 utf8) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        const char c = s[i];
        if (c == '\\') {
            // The closing quote cannot be the escaped character.
            if (i + 2 >= s.size() || is_control(s[i + 1]) || is_high(s[i + 1])) return false;
            ++i;
        } else if (c == '"' || is_control(c) || (is_high(c) && utf8 == Utf8::Refuse)) {
            return false;
        }
    }
    return true;
}

// RFC 5321 Dot-string: Atom *("." Atom).
bool valid_dot_string(std::string_view s, Utf8 utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.' && prev == '.') return false;
        if (c != '.' && !is_atext(c) && !(is_high(c) && utf8 == Utf8::Allow)) return false;
        prev = c;
    }
    return true;
}

// Checks an RFC 5321 Mailbox; returns what is wrong with it, or nullptr.
const char* mailbox_problem(std::string_view mailbox, Utf8 utf8) {
    if (mailbox.size() > kMaxMailbox) return "address too long";
    if (!is_ascii(mailbox) && (utf8 == Utf8::Refuse || !valid_utf8(mailbox)))
        return "invalid UTF-8 in address";
    // A quoted local part may hold '@'; the domain never does.
    const auto at = mailbox.rfind('@');
    if (at == std::string_view::npos) return "address has no domain";
    const auto local = mailbox.substr(0, at);
    const auto domain = mailbox.substr(at + 1);
    if (local.size() > kMaxLocalPart) return "local part too long";
    const bool local_ok = !local.empty() && local.front() == '"' ? valid_quoted_string(local, utf8)
                                                                 : valid_dot_string(local, utf8);
    if (!local_ok) return "invalid local part";
    if (domain.size() > kMaxDomain) return "domain too long";
    if (!domain.empty() && domain.front() == '[')
        return valid_address_literal(domain) ? nullptr : "invalid address literal";
    return valid_domain(domain, utf8, DomainSyntax::Strict) ? nullptr : "invalid domain";
}

// Decimal number that fits in 64 bits; nullopt otherwise.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
    if (!all_digits(s) || s.size() > kMaxDecimalDigits) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : s) {
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

// The xtext form of RFC 3461 with, after decoding, printable ASCII only
// (sections 4.2 and 4.4 require it for ORCPT and ENVID).
bool valid_printable_xtext(std::string_view s) {
    const auto decoded = xtext_decode(s);
    if (!decoded || decoded->empty()) return false;
    for (char c : *decoded)
        if (is_control(c) || is_high(c)) return false;
    return true;
}

// ---- Parameters of MAIL and RCPT (RFC 5321 esmtp-param) ----

struct Param {
    std::string_view keyword;
    std::optional<std::string_view> value;  // nullopt: no "=" at all
};

// Splits "KEY=VALUE KEY2" into the next parameter; advances `rest`.
std::optional<Param> next_param(std::string_view& rest) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    const auto end = rest.find(' ');
    const auto token = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    const auto eq = token.find('=');
    if (eq == std::string_view::npos) return Param{token, std::nullopt};
    return Param{token.substr(0, eq), token.substr(eq + 1)};
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
    if (k.empty() || !(is_alpha(k.front()) || is_digit(k.front()))) return false;
    for (char c : k)
        if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    return true;
}

// Checks keyword syntax and duplicates; `seen` is a bit per known keyword.
std::optional<Reply> check_param(const Param& p, unsigned bit, unsigned& seen) {
    if (p.value && p.value->empty()) return replies::bad_parameters("empty parameter value");
    if (seen & bit) return replies::bad_parameters("duplicate parameter");
    seen |= bit;
    return std::nullopt;
}

std::optional<Reply> apply_body(std::string_view value, MailParams& mail) {
    if (iequals(value, "7BIT")) {
        mail.body = BodyType::SevenBit;
    } else if (iequals(value, "8BITMIME")) {
        mail.body = BodyType::EightBitMime;
    } else if (iequals(value, "BINARYMIME")) {
        // Not advertised: content is decoded and stored as CRLF lines.
        return replies::unknown_parameter("BODY=BINARYMIME");
    } else {
        return replies::bad_parameters("BODY must be 7BIT or 8BITMIME");
    }
    return std::nullopt;
}

enum MailParamBit : unsigned {
    kParamSize = 1,
    kParamBody = 2,
    kParamSmtputf8 = 4,
    kParamRet = 8,
    kParamEnvid = 16,
    kParamAuth = 32,
};

// The value of a MAIL parameter that takes one.
std::optional<Reply> apply_mail_value(unsigned bit, std::string_view v, MailParams& mail) {
    switch (bit) {
        case kParamSize:
            mail.size = parse_decimal(v);
            if (!mail.size) return replies::bad_parameters("SIZE must be a decimal number");
            return std::nullopt;
        case kParamBody:
            return apply_body(v, mail);
        case kParamRet:
            if (!iequals(v, "FULL") && !iequals(v, "HDRS"))
                return replies::bad_parameters("RET must be FULL or HDRS");
            mail.ret = iequals(v, "FULL") ? "FULL" : "HDRS";
            return std::nullopt;
        case kParamEnvid:
            if (v.size() > kMaxEnvid || !valid_printable_xtext(v))
                return replies::bad_parameters("invalid ENVID");
            mail.envid = std::string(v);
            return std::nullopt;
        default:
            // RFC 4954 section 5: the server may ignore AUTH= it does not
            // trust; we check its syntax and otherwise ignore it.
            if (v != "<>" && !valid_printable_xtext(v))
                return replies::bad_parameters("invalid AUTH parameter");
            return std::nullopt;
    }
}

// One MAIL parameter; `seen` catches duplicates.
std::optional<Reply> apply_mail_param(const Param& p, MailParams& mail, unsigned& seen) {
    const auto& k = p.keyword;
    if (iequals(k, "SMTPUTF8")) {
        if (p.value) return replies::bad_parameters("SMTPUTF8 takes no value");
        if (auto r = check_param(p, kParamSmtputf8, seen)) return r;
        mail.smtputf8 = true;
        return std::nullopt;
    }
    constexpr std::array<std::pair<std::string_view, unsigned>, 5> kKeywords{{
        {"SIZE", kParamSize},
        {"BODY", kParamBody},
        {"RET", kParamRet},
        {"ENVID", kParamEnvid},
        {"AUTH", kParamAuth},
    }};
    unsigned bit = 0;
    for (const auto& [name, b] : kKeywords)
        if (iequals(k, name)) bit = b;
    if (bit == 0) return replies::unknown_parameter(std::string(k));
    if (!p.value) return replies::bad_parameters(std::string(k) + " requires a value");
    if (auto r = check_param(p, bit, seen)) return r;
    return apply_mail_value(bit, *p.value, mail);
}

std::optional<Reply> apply_notify(std::string_view v, RcptParams& rcpt) {
    constexpr std::array<std::pair<std::string_view, unsigned>, 4> kKeywords{{
        {"NEVER", kNotifyNever},
        {"SUCCESS", kNotifySuccess},
        {"FAILURE", kNotifyFailure},
        {"DELAY", kNotifyDelay},
    }};
    unsigned flags = 0;
    while (true) {
        const auto comma = v.find(',');
        const auto item = v.substr(0, comma);
        unsigned flag = 0;
        for (const auto& [name, bit] : kKeywords)
            if (iequals(item, name)) flag = bit;
        if (flag == 0 || (flags & flag)) return replies::bad_parameters("invalid NOTIFY list");
        flags |= flag;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    if ((flags & kNotifyNever) && flags != kNotifyNever)
        return replies::bad_parameters("NOTIFY=NEVER excludes other values");
    rcpt.notify = flags;
    return std::nullopt;
}

// ORCPT=addr-type;xtext (RFC 3461 section 4.2), kept encoded.
std::optional<Reply> apply_orcpt(std::string_view v, RcptParams& rcpt) {
    const auto semi = v.find(';');
    if (v.size() > kMaxOrcpt || semi == std::string_view::npos || semi == 0)
        return replies::bad_parameters("invalid ORCPT");
    for (char c : v.substr(0, semi))
        if (!is_atext(c)) return replies::bad_parameters("invalid ORCPT address type");
    if (!valid_printable_xtext(v.substr(semi + 1)))
        return replies::bad_parameters("invalid ORCPT address");
    rcpt.orcpt = std::string(v);
    return std::nullopt;
}

std::optional<Reply> apply_rcpt_param(const Param& p, RcptParams& rcpt, unsigned& seen) {
    constexpr unsigned kNotify = 1, kOrcpt = 2;
    const unsigned bit = iequals(p.keyword, "NOTIFY")  ? kNotify
                         : iequals(p.keyword, "ORCPT") ? kOrcpt
                                                       : 0;
    if (bit == 0) return replies::unknown_parameter(std::string(p.keyword));
    if (!p.value) return replies::bad_parameters(std::string(p.keyword) + " requires a value");
    if (auto r = check_param(p, bit, seen)) return r;
    return bit == kNotify ? apply_notify(*p.value, rcpt) : apply_orcpt(*p.value, rcpt);
}

template <class Apply>
std::optional<Reply> parse_params(std::string_view rest, Apply&& apply) {
    unsigned seen = 0;
    while (auto p = next_param(rest)) {
        if (!valid_keyword(p->keyword)) return replies::bad_parameters("malformed parameter");
        if (auto r = apply(*p, seen)) return r;
    }
    return std::nullopt;
}

// ---- Paths (RFC 5321 Reverse-path / Forward-path) ----

struct PathSplit {
    std::string_view path;    // between the angle brackets
    std::string_view params;  // after the closing bracket
};

// Finds "<...>" right after "FROM:" or "TO:", honouring quoted local parts
// in which '>' is an ordinary character.
std::variant<PathSplit, std::string_view> split_path(std::string_view arg) {
    if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    if (arg.empty() || arg.front() != '<') return "address must be enclosed in <>";
    bool quoted = false;
    for (std::size_t i = 1; i < arg.size(); ++i) {
        const char c = arg[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == '>' && !quoted) {
            if (i + 1 > kMaxPath) return "path too long";
            const auto after = arg.substr(i + 1);
            if (!after.empty() && after.front() != ' ') return "junk after address";
            return PathSplit{arg.substr(1, i - 1), after};
        }
    }
    return "missing closing >";
}

// Drops a source route "@a,@b:" after checking its domains: RFC 5321
// (section 3.3, appendix C) wants it accepted and the route ignored.
std::optional<std::string_view> strip_source_route(std::string_view path) {
    if (path.empty() || path.front() != '@') return path;
    const auto colon = path.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto route = path.substr(0, colon);
    while (!route.empty()) {
        if (route.front() != '@') return std::nullopt;
        const auto comma = route.find(',');
        if (!valid_domain(route.substr(1, comma - 1), Utf8::Refuse, DomainSyntax::Strict))
            return std::nullopt;
        route = comma == std::string_view::npos ? std::string_view{} : route.substr(comma + 1);
        if (comma != std::string_view::npos && route.empty()) return std::nullopt;
    }
    const auto mailbox = path.substr(colon + 1);
    if (mailbox.empty()) return std::nullopt;
    return mailbox;
}

enum class PathKind { Reverse, Forward };

Reply bad_path(PathKind kind, std::string_view detail) {
    Reply reply = replies::bad_address(std::string(detail));
    // The catalogue gives 5.1.3 (bad recipient address, RFC 3463); a bad
    // sender address is 5.1.7.
    if (kind == PathKind::Reverse) reply.enhanced = "5.1.7";
    return reply;
}

// Parses the address of MAIL or RCPT into cmd.address once the parameters
// (and so the SMTPUTF8 decision) are known.
std::optional<Reply> take_mailbox(std::string_view path, PathKind kind, bool utf8, Command& cmd) {
    auto bad = [kind](const char* detail) { return bad_path(kind, detail); };
    const auto mailbox = strip_source_route(path);
    if (!mailbox) return bad("invalid source route");
    if (mailbox->empty()) {
        if (kind == PathKind::Forward) return bad("null recipient not allowed");
        cmd.address.clear();
        return std::nullopt;
    }
    if (!utf8 && !is_ascii(*mailbox)) return replies::smtputf8_required();
    if (kind == PathKind::Forward && iequals(*mailbox, "postmaster")) {
        cmd.address = std::string(*mailbox);
        return std::nullopt;
    }
    if (const char* problem = mailbox_problem(*mailbox, utf8 ? Utf8::Allow : Utf8::Refuse))
        return bad(problem);
    cmd.address = std::string(*mailbox);
    return std::nullopt;
}

ParseResult parse_mail(std::string_view arg, Command cmd) {
    if (!istarts_with(arg, "FROM:")) return replies::bad_parameters("expected MAIL FROM:<address>");
    const auto split = split_path(arg.substr(5));
    if (const auto* err = std::get_if<std::string_view>(&split))
        return bad_path(PathKind::Reverse, *err);
    const auto& parts = std::get<PathSplit>(split);
    auto apply = [&cmd](const Param& p, unsigned& seen) {
        return apply_mail_param(p, cmd.mail, seen);
    };
    if (auto r = parse_params(parts.params, apply)) return *r;
    if (auto r = take_mailbox(parts.path, PathKind::Reverse, cmd.mail.smtputf8, cmd)) return *r;
    return cmd;
}

ParseResult parse_rcpt(std::string_view arg, bool smtputf8_session, Command cmd) {
    if (!istarts_with(arg, "TO:")) return replies::bad_parameters("expected RCPT TO:<address>");
    const auto split = split_path(arg.substr(3));
    if (const auto* err = std::get_if<std::string_view>(&split))
        return bad_path(PathKind::Forward, *err);
    const auto& parts = std::get<PathSplit>(split);
    auto apply = [&cmd](const Param& p, unsigned& seen) {
        return apply_rcpt_param(p, cmd.rcpt, seen);
    };
    if (auto r = parse_params(parts.params, apply)) return *r;
    if (auto r = take_mailbox(parts.path, PathKind::Forward, smtputf8_session, cmd)) return *r;
    return cmd;
}

// ---- The other verbs ----

ParseResult parse_helo(std::string_view arg, std::string_view verb, Command cmd) {
    if (arg.empty()) return replies::bad_parameters(std::string(verb) + " requires a domain name");
    if (arg.find(' ') != std::string_view::npos)
        return replies::bad_parameters(std::string(verb) + " takes one domain name");
    const bool ok = arg.front() == '[' ? valid_address_literal(arg)
                                       : valid_domain(arg, Utf8::Refuse, DomainSyntax::Helo);
    if (!ok) return replies::bad_parameters("invalid domain name");
    cmd.argument = std::string(arg);
    return cmd;
}

// BDAT chunk-size [SP "LAST"] (RFC 3030 section 2).
ParseResult parse_bdat(std::string_view arg, Command cmd) {
    const auto space = arg.find(' ');
    const auto size = parse_decimal(arg.substr(0, space));
    if (!size) return replies::bad_parameters("BDAT requires a decimal chunk size");
    cmd.bdat_size = *size;
    if (space == std::string_view::npos) return cmd;
    const auto marker = arg.substr(space + 1);
    if (!iequals(marker, "LAST")) return replies::bad_parameters("BDAT end marker must be LAST");
    cmd.bdat_last = true;
    return cmd;
}

struct VerbName {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbName, 14> kVerbs{{
    {"HELO", Verb::Helo},
    {"EHLO", Verb::Ehlo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"BDAT", Verb::Bdat},
    {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls},
    {"AUTH", Verb::Auth},
}};

std::optional<Verb> find_verb(std::string_view word) {
    for (const auto& v : kVerbs)
        if (iequals(word, v.name)) return v.verb;
    return std::nullopt;
}

ParseResult parse_arguments(Verb verb, std::string_view name, std::string_view arg,
                            bool smtputf8_session) {
    Command cmd;
    cmd.verb = verb;
    switch (verb) {
        case Verb::Helo:
        case Verb::Ehlo:
            return parse_helo(arg, name, std::move(cmd));
        case Verb::Mail:
            return parse_mail(arg, std::move(cmd));
        case Verb::Rcpt:
            return parse_rcpt(arg, smtputf8_session, std::move(cmd));
        case Verb::Bdat:
            return parse_bdat(arg, std::move(cmd));
        case Verb::Data:
        case Verb::Rset:
        case Verb::Quit:
        case Verb::StartTls:
            if (!arg.empty())
                return replies::bad_parameters(to_lower(name) + " takes no arguments");
            return cmd;
        case Verb::Vrfy:
        case Verb::Expn:
        case Verb::Auth:
            if (arg.empty()) return replies::bad_parameters(to_lower(name) + " needs an argument");
            break;
        case Verb::Noop:
        case Verb::Help:
            break;
    }
    cmd.argument = std::string(arg);
    return cmd;
}

}  // namespace

ParseResult parse_command(std::string_view line, bool smtputf8_session) {
    for (char c : line)
        if (is_control(c)) return replies::syntax_error("control character in command");
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (line.empty()) return replies::syntax_error("empty command");

    const auto space = line.find(' ');
    const auto name = line.substr(0, space);
    const auto verb = find_verb(name);
    if (!verb) return replies::unknown_command();

    auto arg = space == std::string_view::npos ? std::string_view{} : line.substr(space);
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    return parse_arguments(*verb, name, arg, smtputf8_session);
}

bool valid_mailbox(std::string_view address, bool allow_utf8) {
    return mailbox_problem(address, allow_utf8 ? Utf8::Allow : Utf8::Refuse) == nullptr;
}

std::optional<std::string> xtext_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+') {
            if (s.size() - i < 3) return std::nullopt;
            if (!is_upper_hex(s[i + 1]) || !is_upper_hex(s[i + 2])) return std::nullopt;
            auto nibble = [](char h) { return is_digit(h) ? h - '0' : h - 'A' + 10; };
            out += static_cast<char>(nibble(s[i + 1]) * 16 + nibble(s[i + 2]));
            i += 2;
        } else if (c >= '!' && c <= '~' && c != '=') {
            out += c;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace gatehouse::smtp
