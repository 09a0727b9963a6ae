// Unit tests for SPF macro syntax and expansion (RFC 7208 section 7),
// including the worked examples of section 7.4.
#include <gtest/gtest.h>

#include <strings.h>

#include "auth/spf_address.hpp"
#include "auth/spf_macro.hpp"

namespace gatehouse::auth {
namespace {

MacroContext example_context(std::string_view ip_text) {
    auto ip = IpAddress::parse(ip_text, IpAddress::MappedV4::Fold);
    MacroContext ctx;
    ctx.sender = "strong-bad@email.example.com";
    ctx.local_part = "strong-bad";
    ctx.sender_domain = "email.example.com";
    ctx.domain = "email.example.com";
    ctx.ip_dotted = ip->to_dotted();
    ctx.ip_text = ip->to_text();
    ctx.ip_version = ip->family == IpFamily::V4 ? "in-addr" : "ip6";
    ctx.helo = "mx.example.org";
    ctx.receiver = "gw.example.net";
    ctx.timestamp = "1700000000";
    return ctx;
}

std::string expand(std::string_view text, MacroUse use = MacroUse::DomainSpec) {
    auto out = expand_macros(text, example_context("192.0.2.3"), use);
    return out ? *out : std::string("<error>");
}

TEST(SpfMacro, Section74Examples) {
    EXPECT_EQ(expand("%{s}"), "strong-bad@email.example.com");
    EXPECT_EQ(expand("%{o}"), "email.example.com");
    EXPECT_EQ(expand("%{d}"), "email.example.com");
    EXPECT_EQ(expand("%{d4}"), "email.example.com");
    EXPECT_EQ(expand("%{d3}"), "email.example.com");
    EXPECT_EQ(expand("%{d2}"), "example.com");
    EXPECT_EQ(expand("%{d1}"), "com");
    EXPECT_EQ(expand("%{dr}"), "com.example.email");
    EXPECT_EQ(expand("%{d2r}"), "example.email");
    EXPECT_EQ(expand("%{l}"), "strong-bad");
    EXPECT_EQ(expand("%{l-}"), "strong.bad");
    EXPECT_EQ(expand("%{lr}"), "strong-bad");
    EXPECT_EQ(expand("%{lr-}"), "bad.strong");
    EXPECT_EQ(expand("%{l1r-}"), "strong");
    EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
    EXPECT_EQ(expand("%{d2}.trusted-domains.example.net"),
              "example.com.trusted-domains.example.net");
}

TEST(SpfMacro, Ipv6DotFormat) {
    auto out = expand_macros("%{ir}.%{v}._spf.%{d2}", example_context("2001:db8::cb01"),
                             MacroUse::DomainSpec);
    ASSERT_TRUE(out);
    // Nibble case is not significant in DNS; see spf_address.cpp.
    EXPECT_EQ(strcasecmp(out->c_str(),
                         "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf."
                         "example.com"),
              0);
}

TEST(SpfMacro, EscapesAndUrlEncoding) {
    EXPECT_EQ(expand("a%%b%_c%-d"), "a%b c%20d");
    EXPECT_EQ(expand("%{L}"), "strong-bad");
    auto ctx = example_context("192.0.2.3");
    ctx.local_part = "~jack&jill=up-a_b3.c";
    EXPECT_EQ(*expand_macros("%{L}", ctx, MacroUse::Explanation), "~jack%26jill%3Dup-a_b3.c");
}

TEST(SpfMacro, MultipleDelimiters) {
    auto ctx = example_context("192.0.2.3");
    ctx.local_part = "foo-bar+zip+quux";
    EXPECT_EQ(*expand_macros("%{l2r+-}", ctx, MacroUse::DomainSpec), "bar.foo");
}

TEST(SpfMacro, SyntaxErrors) {
    EXPECT_FALSE(macro_string_valid("%", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%(ir)", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%{d0}", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%{a}", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%{d", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%{d2x}", MacroUse::DomainSpec));
    EXPECT_FALSE(macro_string_valid("%{r}", MacroUse::DomainSpec));
    EXPECT_TRUE(macro_string_valid("%{r} %{c} %{t}", MacroUse::Explanation));
    EXPECT_FALSE(macro_string_valid("caf\xc3\xa9", MacroUse::Explanation));
}

TEST(SpfMacro, DomainSpecEnd) {
    EXPECT_TRUE(domain_spec_valid("example.com"));
    EXPECT_TRUE(domain_spec_valid("example.com."));
    EXPECT_TRUE(domain_spec_valid("foo:bar/baz.example.com"));
    EXPECT_TRUE(domain_spec_valid("foo.example.xn--zckzah"));
    EXPECT_TRUE(domain_spec_valid("%{H}"));
    EXPECT_TRUE(domain_spec_valid("%{d}.%{d2}"));
    EXPECT_FALSE(domain_spec_valid(""));
    EXPECT_FALSE(domain_spec_valid("museum"));
    EXPECT_FALSE(domain_spec_valid("museum."));
    EXPECT_FALSE(domain_spec_valid("abc.123"));
    EXPECT_FALSE(domain_spec_valid("example.-com"));
    EXPECT_FALSE(domain_spec_valid("example.com:8080"));
}

TEST(SpfMacro, TruncatesLongDomains) {
    std::string label(60, 'a');
    std::string name = label + "." + label + "." + label + "." + label + "." + label + ".com.";
    std::string cut = truncate_domain(name);
    EXPECT_LE(cut.size(), 253u);
    EXPECT_EQ(cut, label + "." + label + "." + label + "." + label + ".com");
    EXPECT_EQ(truncate_domain("example.com."), "example.com");
}

}  // namespace
}  // namespace gatehouse::auth
