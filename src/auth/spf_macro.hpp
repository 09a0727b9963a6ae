// SPF macro strings (RFC 7208 section 7): syntax checks done when a record
// is parsed, and expansion done when a term is evaluated.
//
// Callers: spf_record.cpp (syntax of domain-specs and modifier values) and
// spf.cpp (expansion of target names and explanation text).
// Standards: RFC 7208 sections 7.1 to 7.4, RFC 3986 (unreserved set for the
// URL escaping of upper-case macro letters).
// Trust: macro strings come from DNS and the values they expand come from the
// SMTP peer (sender, HELO); expansion never fails open, and the output of a
// domain expansion is cut to DNS length by truncate_domain().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::auth {

// Where a macro string appears: explanation text also allows c, r and t.
enum class MacroUse { DomainSpec, Explanation };

// Values the macro letters expand to, for one check_host() call.
struct MacroContext {
    std::string sender;         // %{s}
    std::string local_part;     // %{l}, "postmaster" when the sender has none
    std::string sender_domain;  // %{o}
    std::string domain;         // %{d}, the current <domain>
    std::string ip_dotted;      // %{i}
    std::string ip_text;        // %{c}
    std::string ip_version;     // %{v}: "in-addr" or "ip6"
    std::string helo;           // %{h}
    std::string receiver;       // %{r}
    std::string timestamp;      // %{t}
    // %{p}: the validated domain name of the client, computed on first use
    // because it costs DNS queries.
    std::function<std::string()> validated_name;
};

// True when `text` is a well-formed macro-string for `use`.
bool macro_string_valid(std::string_view text, MacroUse use);

// True when `text` is a domain-spec (section 7.1): a valid macro-string
// that ends in a macro-expand or in "." toplabel with an optional final dot.
bool domain_spec_valid(std::string_view text);

// Expands `text`; nullopt on a syntax error.
std::optional<std::string> expand_macros(std::string_view text, const MacroContext& ctx,
                                         MacroUse use);

// Section 7.3: drops a trailing dot, then whole labels from the left until
// the name fits in 253 characters.
std::string truncate_domain(std::string name);

}  // namespace gatehouse::auth
