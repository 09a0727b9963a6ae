// SPF macro expansion; see spf_macro.hpp.
#include "auth/spf_macro.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace gatehouse::auth {

namespace {

constexpr std::string_view kDelimiters = ".-+,/_=";
constexpr std::size_t kMaxDomainLength = 253;

bool letter_allowed(char lower, MacroUse use) {
    if (std::string_view("slodiphv").find(lower) != std::string_view::npos) return true;
    return use == MacroUse::Explanation &&
           std::string_view("crt").find(lower) != std::string_view::npos;
}

// One parsed "%{...}" expression.
struct MacroExpr {
    char letter = 0;  // as written, case kept
    int keep = 0;     // right-hand parts to keep, 0 = all
    bool reverse = false;
    std::string delimiters;
};

// Parses the body after "%{" at text[pos]; on success pos is past the "}".
std::optional<MacroExpr> parse_expr(std::string_view text, std::size_t& pos, MacroUse use) {
    MacroExpr expr;
    if (pos >= text.size()) return std::nullopt;
    expr.letter = text[pos++];
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(expr.letter)));
    if (!std::isalpha(static_cast<unsigned char>(expr.letter)) || !letter_allowed(lower, use)) {
        return std::nullopt;
    }

    // transformers = *DIGIT [ "r" ]; a digit count must be nonzero.
    std::size_t digits_start = pos;
    long keep = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        keep = std::min(keep * 10 + (text[pos] - '0'), 1000L);
        ++pos;
    }
    if (pos > digits_start && keep == 0) return std::nullopt;
    expr.keep = static_cast<int>(keep);
    if (pos < text.size() && (text[pos] == 'r' || text[pos] == 'R')) {
        expr.reverse = true;
        ++pos;
    }

    while (pos < text.size() && kDelimiters.find(text[pos]) != std::string_view::npos) {
        expr.delimiters += text[pos++];
    }
    if (pos >= text.size() || text[pos] != '}') return std::nullopt;
    ++pos;
    return expr;
}

std::string letter_value(char lower, const MacroContext& ctx) {
    switch (lower) {
        case 's':
            return ctx.sender;
        case 'l':
            return ctx.local_part;
        case 'o':
            return ctx.sender_domain;
        case 'd':
            return ctx.domain;
        case 'i':
            return ctx.ip_dotted;
        case 'p':
            return ctx.validated_name ? ctx.validated_name() : "unknown";
        case 'v':
            return ctx.ip_version;
        case 'h':
            return ctx.helo;
        case 'c':
            return ctx.ip_text;
        case 'r':
            return ctx.receiver;
        case 't':
            return ctx.timestamp;
        default:
            return {};
    }
}

// Split on the delimiters, optionally reverse, keep the rightmost parts,
// and join with dots (section 7.3).
std::string transform(const std::string& value, const MacroExpr& expr) {
    if (expr.keep == 0 && !expr.reverse && expr.delimiters.empty()) return value;
    std::string_view delims = expr.delimiters;
    if (delims.empty()) delims = ".";
    std::vector<std::string> parts;
    std::string current;
    for (char c : value) {
        if (delims.find(c) != std::string_view::npos) {
            parts.push_back(std::move(current));
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(std::move(current));
    if (expr.reverse) std::reverse(parts.begin(), parts.end());
    std::size_t first = 0;
    if (expr.keep > 0 && static_cast<std::size_t>(expr.keep) < parts.size()) {
        first = parts.size() - static_cast<std::size_t>(expr.keep);
    }
    std::string out;
    for (std::size_t i = first; i < parts.size(); ++i) {
        if (i > first) out += '.';
        out += parts[i];
    }
    return out;
}

// Upper-case macro letters: escape everything outside RFC 3986 unreserved.
std::string url_escape(const std::string& value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0x0f];
        }
    }
    return out;
}

// Walks `text`, calling on_literal for plain characters (and the %%, %_, %-
// escapes, already translated) and on_expr for each %{...}. Returns false on a
// syntax error. `ends_in_macro` tells whether the last token was a
// macro-expand, which domain_spec_valid() needs.
template <class Literal, class Expr>
bool walk(std::string_view text, MacroUse use, Literal on_literal, Expr on_expr,
          bool* ends_in_macro = nullptr) {
    bool last_macro = false;
    for (std::size_t pos = 0; pos < text.size();) {
        char c = text[pos];
        auto u = static_cast<unsigned char>(c);
        if (c != '%') {
            // macro-literal is visible ASCII except '%'; explanation text
            // may also hold spaces.
            bool visible = u >= 0x21 && u <= 0x7e;
            if (!visible && !(use == MacroUse::Explanation && c == ' ')) return false;
            on_literal(std::string_view(&text[pos], 1));
            last_macro = false;
            ++pos;
            continue;
        }
        if (pos + 1 >= text.size()) return false;
        char next = text[pos + 1];
        pos += 2;
        last_macro = true;
        if (next == '%') {
            on_literal("%");
        } else if (next == '_') {
            on_literal(" ");
        } else if (next == '-') {
            on_literal("%20");
        } else if (next == '{') {
            auto expr = parse_expr(text, pos, use);
            if (!expr) return false;
            on_expr(*expr);
        } else {
            return false;
        }
    }
    if (ends_in_macro) *ends_in_macro = last_macro;
    return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) /
//            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool toplabel_valid(std::string_view label) {
    if (label.empty()) return false;
    bool has_alpha = false;
    bool has_dash = false;
    for (char c : label) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalpha(u)) {
            has_alpha = true;
        } else if (c == '-') {
            has_dash = true;
        } else if (!std::isdigit(u)) {
            return false;
        }
    }
    if (has_dash) return label.front() != '-' && label.back() != '-';
    return has_alpha;
}

}  // namespace

bool macro_string_valid(std::string_view text, MacroUse use) {
    return walk(
        text, use, [](std::string_view) {}, [](const MacroExpr&) {});
}

bool domain_spec_valid(std::string_view text) {
    bool ends_in_macro = false;
    if (text.empty()) return false;
    if (!walk(
            text, MacroUse::DomainSpec, [](std::string_view) {}, [](const MacroExpr&) {},
            &ends_in_macro)) {
        return false;
    }
    if (ends_in_macro) return true;

    // domain-end = "." toplabel [ "." ]
    if (text.back() == '.') text.remove_suffix(1);
    std::size_t dot = text.rfind('.');
    if (dot == std::string_view::npos) return false;
    return toplabel_valid(text.substr(dot + 1));
}

std::optional<std::string> expand_macros(std::string_view text, const MacroContext& ctx,
                                         MacroUse use) {
    std::string out;
    bool ok = walk(
        text, use, [&](std::string_view literal) { out += literal; },
        [&](const MacroExpr& expr) {
            bool upper = std::isupper(static_cast<unsigned char>(expr.letter)) != 0;
            char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(expr.letter)));
            std::string value = transform(letter_value(lower, ctx), expr);
            out += upper ? url_escape(value) : value;
        });
    if (!ok) return std::nullopt;
    return out;
}

std::string truncate_domain(std::string name) {
    if (!name.empty() && name.back() == '.') name.pop_back();
    while (name.size() > kMaxDomainLength) {
        std::size_t dot = name.find('.');
        if (dot == std::string::npos) return {};
        name.erase(0, dot + 1);
    }
    return name;
}

}  // namespace gatehouse::auth
