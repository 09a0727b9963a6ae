// SPF record parser; see spf_record.hpp.
#include "auth/spf_record.hpp"

#include <cctype>

#include "auth/spf_macro.hpp"
#include "base/text.hpp"

namespace gatehouse::auth {

namespace {

constexpr std::string_view kVersion = "v=spf1";

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

// "/" 1*DIGIT with no leading zero and at most `max`; nullopt if malformed.
std::optional<int> parse_cidr(std::string_view digits, int max) {
    if (!all_digits(digits) || digits.size() > 3) return std::nullopt;
    if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
    int value = std::stoi(std::string(digits));
    if (value > max) return std::nullopt;
    return value;
}

// Removes a trailing "/" 1*DIGIT from `s` into `digits`.
bool take_cidr_suffix(std::string_view& s, std::string_view& digits) {
    std::size_t slash = s.rfind('/');
    if (slash == std::string_view::npos || !all_digits(s.substr(slash + 1))) return false;
    digits = s.substr(slash + 1);
    s = s.substr(0, slash);
    return true;
}

Error term_error(std::string_view why, std::string_view term) {
    return Error::permanent(std::string(why) + ": " + log_escape(term, 80));
}

// a / mx: [ ":" domain-spec ] [ ip4-cidr-length ] [ "//" ip6-cidr-length ].
// The domain-spec may itself hold '/' and ':', so lengths are taken from the
// end only when they look like lengths.
Result<void> parse_dual_cidr(std::string_view args, Mechanism& m, std::string_view term) {
    std::string_view digits;
    std::string_view rest = args;
    if (rest.size() >= 2 && take_cidr_suffix(rest, digits)) {
        if (!rest.empty() && rest.back() == '/') {
            rest.remove_suffix(1);
            auto v6 = parse_cidr(digits, 128);
            if (!v6) return term_error("bad ip6-cidr-length", term);
            m.cidr6 = *v6;
            std::string_view before = rest;
            if (take_cidr_suffix(before, digits)) {
                auto v4 = parse_cidr(digits, 32);
                if (!v4) return term_error("bad ip4-cidr-length", term);
                m.cidr4 = *v4;
                rest = before;
            }
        } else {
            auto v4 = parse_cidr(digits, 32);
            if (!v4) return term_error("bad ip4-cidr-length", term);
            m.cidr4 = *v4;
        }
    }
    if (rest.empty()) return ok();
    if (rest.front() != ':') return term_error("malformed mechanism", term);
    m.domain_spec = std::string(rest.substr(1));
    if (!domain_spec_valid(m.domain_spec)) return term_error("bad domain-spec", term);
    return ok();
}

// include / exists: ":" domain-spec (required); ptr: optional.
Result<void> parse_domain_arg(std::string_view args, bool required, Mechanism& m,
                              std::string_view term) {
    if (args.empty() && !required) return ok();
    if (args.empty() || args.front() != ':') return term_error("malformed mechanism", term);
    m.domain_spec = std::string(args.substr(1));
    if (!domain_spec_valid(m.domain_spec)) return term_error("bad domain-spec", term);
    return ok();
}

// ip4: ":" ip4-network [ "/" length ]; ip6 likewise with its own length.
Result<void> parse_ip_arg(std::string_view args, IpFamily family, Mechanism& m,
                          std::string_view term) {
    if (args.empty() || args.front() != ':') return term_error("malformed mechanism", term);
    std::string_view net = args.substr(1);
    std::string_view digits;
    int max = family == IpFamily::V4 ? 32 : 128;
    int length = max;
    if (take_cidr_suffix(net, digits)) {
        auto v = parse_cidr(digits, max);
        if (!v) return term_error("bad cidr-length", term);
        length = *v;
    }
    auto addr = IpAddress::parse(net, IpAddress::MappedV4::Keep);
    if (!addr || addr->family != family) return term_error("bad ip network", term);
    m.network = *addr;
    if (family == IpFamily::V4) {
        m.cidr4 = length;
    } else {
        m.cidr6 = length;
    }
    return ok();
}

Result<void> parse_mechanism(std::string_view term, SpfRecord& record) {
    Mechanism m;
    std::string_view body = term;
    switch (body.front()) {
        case '+':
            m.qualifier = Qualifier::Pass;
            body.remove_prefix(1);
            break;
        case '-':
            m.qualifier = Qualifier::Fail;
            body.remove_prefix(1);
            break;
        case '~':
            m.qualifier = Qualifier::SoftFail;
            body.remove_prefix(1);
            break;
        case '?':
            m.qualifier = Qualifier::Neutral;
            body.remove_prefix(1);
            break;
        default:
            break;
    }
    std::size_t name_end = body.find_first_of(":/");
    std::string name = to_lower(body.substr(0, name_end));
    std::string_view args = name_end == std::string_view::npos ? "" : body.substr(name_end);

    Result<void> parsed = ok();
    if (name == "all") {
        m.kind = MechanismKind::All;
        if (!args.empty()) parsed = term_error("all takes no argument", term);
    } else if (name == "include") {
        m.kind = MechanismKind::Include;
        parsed = parse_domain_arg(args, true, m, term);
    } else if (name == "a") {
        m.kind = MechanismKind::A;
        parsed = parse_dual_cidr(args, m, term);
    } else if (name == "mx") {
        m.kind = MechanismKind::Mx;
        parsed = parse_dual_cidr(args, m, term);
    } else if (name == "ptr") {
        m.kind = MechanismKind::Ptr;
        parsed = parse_domain_arg(args, false, m, term);
    } else if (name == "ip4") {
        m.kind = MechanismKind::Ip4;
        parsed = parse_ip_arg(args, IpFamily::V4, m, term);
    } else if (name == "ip6") {
        m.kind = MechanismKind::Ip6;
        parsed = parse_ip_arg(args, IpFamily::V6, m, term);
    } else if (name == "exists") {
        m.kind = MechanismKind::Exists;
        parsed = parse_domain_arg(args, true, m, term);
    } else {
        parsed = term_error("unknown mechanism", term);
    }
    if (!parsed) return parsed.error();
    record.mechanisms.push_back(std::move(m));
    return ok();
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); returns the length of
// the name when `term` is name "=" ..., else 0.
std::size_t modifier_name_length(std::string_view term) {
    if (term.empty() || !std::isalpha(static_cast<unsigned char>(term.front()))) return 0;
    for (std::size_t i = 1; i < term.size(); ++i) {
        char c = term[i];
        if (c == '=') return i;
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
            return 0;
        }
    }
    return 0;
}

// Section 6: redirect and exp at most once each, with a valid domain-spec;
// other modifiers are ignored but must be valid macro strings.
Result<void> parse_modifier(std::string_view term, std::size_t name_len, SpfRecord& record) {
    std::string name = to_lower(term.substr(0, name_len));
    std::string value(term.substr(name_len + 1));
    if (name == "redirect" || name == "exp") {
        auto& slot = name == "redirect" ? record.redirect : record.exp;
        if (slot) return term_error("modifier given twice", term);
        if (!domain_spec_valid(value)) return term_error("bad domain-spec", term);
        slot = std::move(value);
        return ok();
    }
    if (!macro_string_valid(value, MacroUse::Explanation)) {
        return term_error("bad macro string", term);
    }
    return ok();
}

}  // namespace

bool is_spf_record(std::string_view text) {
    if (!istarts_with(text, kVersion)) return false;
    return text.size() == kVersion.size() || text[kVersion.size()] == ' ';
}

Result<SpfRecord> parse_record(std::string_view text) {
    if (!is_spf_record(text)) return Error::permanent("not an spf record");

    // Section 3.1 and 4.6.1: printable ASCII only, terms split by spaces.
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return Error::permanent("record holds a non-printable byte");
    }

    SpfRecord record;
    std::string_view rest = text.substr(kVersion.size());
    while (!rest.empty()) {
        std::size_t start = rest.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        std::size_t end = rest.find(' ');
        std::string_view term = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);

        std::size_t name_len = modifier_name_length(term);
        Result<void> parsed =
            name_len > 0 ? parse_modifier(term, name_len, record) : parse_mechanism(term, record);
        if (!parsed) return parsed.error();
    }
    return record;
}

}  // namespace gatehouse::auth
