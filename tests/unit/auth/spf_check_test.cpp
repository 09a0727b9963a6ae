// check_host() behaviour outside the openspf suite: DNS failures inside
// mechanisms, exp text with receiver-only macros, bad client addresses.
#include <gtest/gtest.h>

#include <map>

#include "auth/spf.hpp"

namespace gatehouse::auth {
namespace {

// A tiny DNS: "TXT name" / "A name" / ... keys; a key mapped to
// {"TEMPFAIL"} times out.
class MapDns : public SpfDns {
  public:
    std::map<std::string, std::vector<std::string>> data;

    DnsAnswer txt(const std::string& n) const override { return get("TXT " + n); }
    DnsAnswer a(const std::string& n) const override { return get("A " + n); }
    DnsAnswer aaaa(const std::string& n) const override { return get("AAAA " + n); }
    DnsAnswer mx(const std::string& n) const override { return get("MX " + n); }
    DnsAnswer ptr(const std::string& ip) const override {
        return get("PTR " + reverse_dns_name(ip));
    }

  private:
    DnsAnswer get(const std::string& key) const {
        auto it = data.find(key);
        if (it == data.end()) return {DnsAnswer::NxDomain, {}};
        if (it->second == std::vector<std::string>{"TEMPFAIL"}) return {DnsAnswer::TempFail, {}};
        return {DnsAnswer::Ok, it->second};
    }
};

SpfOutcome run(const MapDns& dns, const std::string& ip, const std::string& receiver = "unknown") {
    return check_host(dns, ip, "example.org", "user@example.org", "mx.example.org", receiver);
}

TEST(SpfCheck, TimeoutInsideMechanismIsTempError) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 a:slow.example.org -all"};
    dns.data["A slow.example.org"] = {"TEMPFAIL"};
    EXPECT_EQ(run(dns, "192.0.2.1").result, SpfResult::TempError);
}

TEST(SpfCheck, MxHostTimeoutIsTempError) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 mx -all"};
    dns.data["MX example.org"] = {"mx.example.org"};
    dns.data["A mx.example.org"] = {"TEMPFAIL"};
    EXPECT_EQ(run(dns, "192.0.2.1").result, SpfResult::TempError);
}

TEST(SpfCheck, PtrTimeoutDoesNotMatch) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 ptr -all"};
    dns.data["PTR 1.2.0.192.in-addr.arpa"] = {"TEMPFAIL"};
    EXPECT_EQ(run(dns, "192.0.2.1").result, SpfResult::Fail);
}

TEST(SpfCheck, ExplanationUsesReceiverAndClient) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 -all exp=why.example.org"};
    dns.data["TXT why.example.org"] = {"%{c} refused by %{r} for %{d}"};
    SpfOutcome out = run(dns, "2001:db8::7", "gw.example.net");
    EXPECT_EQ(out.result, SpfResult::Fail);
    EXPECT_EQ(out.explanation, "2001:db8::7 refused by gw.example.net for example.org");
}

TEST(SpfCheck, MappedClientMatchesIp4) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 ip4:192.0.2.0/24 -all"};
    EXPECT_EQ(run(dns, "::ffff:192.0.2.9").result, SpfResult::Pass);
    EXPECT_EQ(run(dns, "2001:db8::9").result, SpfResult::Fail);
}

TEST(SpfCheck, BadClientAddressIsPermError) {
    MapDns dns;
    dns.data["TXT example.org"] = {"v=spf1 +all"};
    EXPECT_EQ(run(dns, "not-an-ip").result, SpfResult::PermError);
}

TEST(SpfCheck, ReverseNames) {
    EXPECT_EQ(reverse_dns_name("192.0.2.1"), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_dns_name("::ffff:192.0.2.1"), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_dns_name("2001:db8::1"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6.arpa");
    EXPECT_EQ(reverse_dns_name("nope"), "");
}

}  // namespace
}  // namespace gatehouse::auth
