// The openspf RFC 7208 test suite (corpus/spf/rfc7208-tests.yml, converted to
// JSON at configure time) run against check_host() over an in-memory DNS
// built from each scenario's zonedata. One gtest per test case.
//
// Zonedata conventions of the suite's drivers, reproduced here:
// - "SPF" records are served as TXT unless the name has TXT entries of its
//   own; "TXT: NONE" declares an empty TXT set.
// - A TXT value given as a list is one record of several strings, joined
//   with nothing between them.
// - "TIMEOUT" makes a query time out unless a record of the queried type was
//   listed before it.
// - MX is [preference, host]; CNAME is followed.
// - The default explanation is spelled "DEFAULT": here, an empty explanation.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "auth/spf.hpp"
#include "base/text.hpp"

namespace gatehouse::auth {
namespace {

namespace json = boost::json;

std::string normalize_name(std::string name) {
    if (!name.empty() && name.back() == '.') name.pop_back();
    return to_lower(name);
}

struct ZoneEntry {
    std::string type;  // "A", "TXT", ..., or "TIMEOUT"
    std::string value;
    int preference = 0;  // MX only
    bool none = false;   // "TXT: NONE"
};

std::string string_of(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    if (v.is_int64()) return std::to_string(v.as_int64());
    return json::serialize(v);
}

class ZoneDns : public SpfDns {
  public:
    explicit ZoneDns(const json::object& zonedata) {
        for (const auto& [owner, entries] : zonedata) {
            auto& list = zone_[normalize_name(std::string(owner))];
            bool has_txt = false;
            for (const json::value& e : entries.as_array()) {
                if (e.is_object() && e.as_object().contains("TXT")) has_txt = true;
            }
            for (const json::value& e : entries.as_array()) list.push_back(entry(e, has_txt));
        }
    }

    DnsAnswer txt(const std::string& name) const override { return query(name, "TXT", 0); }
    DnsAnswer a(const std::string& name) const override { return query(name, "A", 0); }
    DnsAnswer aaaa(const std::string& name) const override { return query(name, "AAAA", 0); }
    DnsAnswer mx(const std::string& name) const override {
        DnsAnswer answer = query(name, "MX", 0);
        std::stable_sort(answer.records.begin(), answer.records.end(),
                         [&](const std::string& l, const std::string& r) {
                             return preference_.at(l) < preference_.at(r);
                         });
        return answer;
    }
    DnsAnswer ptr(const std::string& ip) const override {
        return query(reverse_dns_name(ip), "PTR", 0);
    }

  private:
    static ZoneEntry entry(const json::value& e, bool has_txt) {
        ZoneEntry out;
        if (e.is_string()) {
            out.type = std::string(e.as_string());
            return out;
        }
        const auto& [type, value] = *e.as_object().begin();
        out.type = std::string(type);
        if (out.type == "SPF") out.type = has_txt ? "SPF-ignored" : "TXT";
        if (value.is_array() && out.type == "MX") {
            out.preference = static_cast<int>(value.as_array().at(0).to_number<double>());
            out.value = string_of(value.as_array().at(1));
        } else if (value.is_array()) {
            for (const json::value& part : value.as_array()) out.value += string_of(part);
        } else {
            out.value = string_of(value);
            out.none = out.type == "TXT" && out.value == "NONE";
        }
        return out;
    }

    DnsAnswer query(const std::string& raw, const std::string& type, int depth) const {
        auto it = zone_.find(normalize_name(raw));
        if (it == zone_.end()) return {DnsAnswer::NxDomain, {}};
        DnsAnswer answer{DnsAnswer::NoData, {}};
        for (const ZoneEntry& e : it->second) {
            if (e.type == "TIMEOUT") {
                if (answer.records.empty()) return {DnsAnswer::TempFail, {}};
                break;
            }
            if (e.type == "CNAME" && type != "CNAME") {
                if (depth >= 8) return {DnsAnswer::TempFail, {}};
                return query(e.value, type, depth + 1);
            }
            if (e.type != type || e.none) continue;
            answer.records.push_back(e.value);
            if (type == "MX") preference_[e.value] = e.preference;
        }
        if (!answer.records.empty()) answer.status = DnsAnswer::Ok;
        return answer;
    }

    std::map<std::string, std::vector<ZoneEntry>> zone_;
    mutable std::map<std::string, int> preference_;
};

struct SuiteCase {
    std::string scenario;
    std::string name;
    json::object test;
    std::shared_ptr<ZoneDns> dns;
};

void PrintTo(const SuiteCase& c, std::ostream* os) {
    *os << c.scenario << " / " << c.name;
}

std::vector<SuiteCase> load_suite() {
    std::ifstream in(SPF_SUITE_JSON);
    std::stringstream buf;
    buf << in.rdbuf();
    json::value suite = json::parse(buf.str());
    std::vector<SuiteCase> cases;
    for (const json::value& scenario : suite.as_array()) {
        const auto& s = scenario.as_object();
        auto dns = std::make_shared<ZoneDns>(s.at("zonedata").as_object());
        std::string description(s.at("description").as_string());
        for (const auto& [name, test] : s.at("tests").as_object()) {
            cases.push_back({description, std::string(name), test.as_object(), dns});
        }
    }
    return cases;
}

int g_passed = 0;
int g_run = 0;

class SuiteSummary : public ::testing::Environment {
  public:
    void TearDown() override {
        if (g_run > 0) std::printf("SPF rfc7208 suite: %d/%d passed\n", g_passed, g_run);
    }
};

[[maybe_unused]] auto* const g_summary = ::testing::AddGlobalTestEnvironment(new SuiteSummary);

class SpfSuite : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SpfSuite, MatchesExpectedResult) {
    const SuiteCase& c = GetParam();
    const json::object& t = c.test;
    std::string host(t.at("host").as_string());
    std::string helo(t.at("helo").as_string());
    std::string mailfrom(t.at("mailfrom").as_string());
    std::string sender = mailfrom.empty() ? "postmaster@" + helo : mailfrom;
    std::string domain = sender.substr(sender.rfind('@') + 1);

    SpfOutcome outcome = check_host(*c.dns, host, domain, sender, helo);
    std::string got(to_string(outcome.result));

    std::vector<std::string> allowed;
    const json::value& expected = t.at("result");
    if (expected.is_array()) {
        for (const json::value& r : expected.as_array()) allowed.emplace_back(r.as_string());
    } else {
        allowed.emplace_back(expected.as_string());
    }
    bool ok = std::find(allowed.begin(), allowed.end(), got) != allowed.end();
    if (ok && got != allowed.front()) {
        std::printf("note: %s / %s: %s accepted, %s preferred\n", c.scenario.c_str(),
                    c.name.c_str(), got.c_str(), allowed.front().c_str());
    }
    EXPECT_TRUE(ok) << c.scenario << " / " << c.name << ": got " << got << " (" << outcome.detail
                    << "), expected " << json::serialize(expected);

    if (t.contains("explanation")) {
        std::string want(t.at("explanation").as_string());
        std::string have = outcome.explanation.empty() ? "DEFAULT" : outcome.explanation;
        EXPECT_EQ(want, have) << c.scenario << " / " << c.name;
        ok = ok && want == have;
    }
    ++g_run;
    if (ok) ++g_passed;
}

std::string case_name(const ::testing::TestParamInfo<SuiteCase>& info) {
    std::string name = "c" + std::to_string(info.index) + "_" + info.param.name;
    for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(Rfc7208, SpfSuite, ::testing::ValuesIn(load_suite()), case_name);

TEST(SpfSuiteFile, HasAllCases) {
    EXPECT_EQ(load_suite().size(), 203u);
}

}  // namespace
}  // namespace gatehouse::auth
