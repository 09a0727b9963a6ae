// Fuzz target for the SPF record parser and macro expander
// (src/auth/spf_record.cpp, spf_macro.cpp). The input is a TXT record as a
// hostile domain owner publishes it. Besides crashes and sanitizer reports it
// checks what check_host() relies on: a parsed record has at most one
// redirect and one exp, and every expansion of a valid domain-spec stays
// within the 253-octet limit once truncated.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"
#include "fuzz_check.hpp"

using gatehouse::fuzz::check;
using namespace gatehouse::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)is_spf_record(in);
    (void)parse_record(in);

    MacroContext ctx;
    ctx.sender = "strong-bad@email.example.com";
    ctx.local_part = "strong-bad";
    ctx.sender_domain = "email.example.com";
    ctx.domain = "email.example.com";
    ctx.ip_dotted = "192.0.2.3";
    ctx.ip_text = "192.0.2.3";
    ctx.ip_version = "in-addr";
    ctx.helo = "mx.example.org";
    ctx.receiver = "gw.example.net";
    ctx.timestamp = "1764780000";
    ctx.validated_name = [] { return std::string("mx.example.org"); };
    for (MacroUse use : {MacroUse::DomainSpec, MacroUse::Explanation}) {
        bool valid = macro_string_valid(in, use);
        auto out = expand_macros(in, ctx, use);
        check(valid == out.has_value(), "expansion succeeds exactly for valid macro strings");
        if (out && use == MacroUse::DomainSpec)
            check(truncate_domain(*out).size() <= 253, "truncated name within 253 octets");
    }
    return 0;
}
