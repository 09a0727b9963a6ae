// Unit tests for SPF record selection and parsing (RFC 7208 sections 4.5,
// 4.6, 5 and 6): edge cases of the ABNF not all covered by the suite.
#include <gtest/gtest.h>

#include "auth/spf_record.hpp"

namespace gatehouse::auth {
namespace {

TEST(SpfRecord, Selection) {
    EXPECT_TRUE(is_spf_record("v=spf1"));
    EXPECT_TRUE(is_spf_record("V=SpF1 -all"));
    EXPECT_FALSE(is_spf_record("v=spf10"));
    EXPECT_FALSE(is_spf_record("v=spf1mx"));
    EXPECT_FALSE(is_spf_record(" v=spf1"));
}

TEST(SpfRecord, ParsesTermsAndSpaces) {
    auto r = parse_record(
        "v=spf1  +a:%{d}/24//64 mx ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 "
        "-ptr exists:%{i}.bl.example.org include:_spf.example.com all ");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->mechanisms.size(), 8u);
    EXPECT_EQ(r->mechanisms[0].kind, MechanismKind::A);
    EXPECT_EQ(r->mechanisms[0].domain_spec, "%{d}");
    EXPECT_EQ(r->mechanisms[0].cidr4, 24);
    EXPECT_EQ(r->mechanisms[0].cidr6, 64);
    EXPECT_EQ(r->mechanisms[2].qualifier, Qualifier::SoftFail);
    EXPECT_EQ(r->mechanisms[2].cidr4, 24);
    EXPECT_EQ(r->mechanisms[3].cidr6, 32);
    EXPECT_EQ(r->mechanisms[4].qualifier, Qualifier::Fail);
}

TEST(SpfRecord, Modifiers) {
    auto r = parse_record("v=spf1 redirect=_spf.example.com exp=why.%{d} x-foo=%{l}");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->redirect, "_spf.example.com");
    EXPECT_EQ(*r->exp, "why.%{d}");
    EXPECT_FALSE(parse_record("v=spf1 redirect=a.example redirect=b.example"));
    EXPECT_FALSE(parse_record("v=spf1 exp="));
    EXPECT_FALSE(parse_record("v=spf1 redirect=-all"));
    EXPECT_FALSE(parse_record("v=spf1 1up=foo"));
    EXPECT_FALSE(parse_record("v=spf1 =all"));
    EXPECT_FALSE(parse_record("v=spf1 foo=%abc"));
    EXPECT_TRUE(parse_record("v=spf1 moo.cow-far_out=man:dog/cat"));
}

TEST(SpfRecord, RejectsMalformedMechanisms) {
    for (const char* bad : {"v=spf1 all.",
                            "v=spf1 -all:x",
                            "v=spf1 all/8",
                            "v=spf1 a/33",
                            "v=spf1 a//129",
                            "v=spf1 a/24/64",
                            "v=spf1 a:",
                            "v=spf1 ip4",
                            "v=spf1 ip4:1.2.3",
                            "v=spf1 ip4:1.2.3.4/032",
                            "v=spf1 ip4:1.2.3.4//32",
                            "v=spf1 ip4:1.2.3.4:8080",
                            "v=spf1 ip6::CAFE::BABE",
                            "v=spf1 ip6:::1/129",
                            "v=spf1 ptr/0",
                            "v=spf1 include",
                            "v=spf1 include:a.example.com/24",
                            "v=spf1 exists",
                            "v=spf1 redirect:a.example.com",
                            "v=spf1 moo",
                            "v=spf1 a:example.com\r-all",
                            "v=spf1 a:111.222.33.44"}) {
        EXPECT_FALSE(parse_record(bad)) << bad;
    }
}

}  // namespace
}  // namespace gatehouse::auth
