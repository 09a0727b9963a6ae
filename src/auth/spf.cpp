// check_host() evaluation (RFC 7208 sections 4 to 6); see spf.hpp.
#include "auth/spf.hpp"

#include <chrono>
#include <utility>
#include <variant>

#include "auth/spf_address.hpp"
#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"
#include "base/text.hpp"

namespace gatehouse::auth {

namespace {

// Section 4.6.4 limits.
constexpr int kMaxDnsTerms = 10;
constexpr int kMaxVoidLookups = 2;
constexpr std::size_t kMaxMxNames = 10;
constexpr std::size_t kMaxPtrNames = 10;

// Outcome of one mechanism: it matched, it did not, or evaluation stops
// with a temperror/permerror.
struct Match {
    enum Kind { Yes, No, Error } kind = No;
    SpfResult error = SpfResult::PermError;
    std::string detail;

    static Match yes() { return {Yes, SpfResult::Pass, {}}; }
    static Match no() { return {No, SpfResult::Pass, {}}; }
    static Match temp(std::string d) { return {Error, SpfResult::TempError, std::move(d)}; }
    static Match perm(std::string d) { return {Error, SpfResult::PermError, std::move(d)}; }
};

SpfResult result_of(Qualifier q) {
    switch (q) {
        case Qualifier::Pass:
            return SpfResult::Pass;
        case Qualifier::Fail:
            return SpfResult::Fail;
        case Qualifier::SoftFail:
            return SpfResult::SoftFail;
        case Qualifier::Neutral:
            return SpfResult::Neutral;
    }
    return SpfResult::Neutral;
}

// Section 4.3: a name we may query. Empty labels, labels over 63 octets,
// single-label names and address literals are not.
bool domain_usable(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253 || name.front() == '[') return false;
    std::size_t labels = 0;
    bool last_numeric = true;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t dot = name.find('.', start);
        std::size_t end = dot == std::string_view::npos ? name.size() : dot;
        std::size_t len = end - start;
        if (len == 0 || len > 63) return false;
        ++labels;
        last_numeric =
            name.substr(start, len).find_first_not_of("0123456789") == std::string_view::npos;
        start = end + 1;
    }
    return labels >= 2 && !last_numeric;
}

bool ends_with_domain(std::string_view name, std::string_view domain) {
    std::string n = to_lower(name);
    std::string d = to_lower(domain);
    if (!n.empty() && n.back() == '.') n.pop_back();
    if (!d.empty() && d.back() == '.') d.pop_back();
    if (n == d) return true;
    return n.size() > d.size() && n.compare(n.size() - d.size(), d.size(), d) == 0 &&
           n[n.size() - d.size() - 1] == '.';
}

class Evaluator {
  public:
    Evaluator(const SpfDns& dns, IpAddress ip, MacroContext ctx)
        : dns_(dns), ip_(ip), ctx_(std::move(ctx)) {
        ctx_.validated_name = [this] { return validated_name(); };
    }
    // The %{p} callback points back at this object.
    Evaluator(const Evaluator&) = delete;
    Evaluator& operator=(const Evaluator&) = delete;

    // check_host() for `domain`; the explanation is computed only when
    // `want_explanation`, since include discards it (section 5.2).
    SpfOutcome check(const std::string& domain, bool want_explanation);

  private:
    // Sections 4.4 and 4.5: the one SPF record at `domain`, or the outcome
    // that ends the check (none, temperror, permerror).
    std::variant<SpfRecord, SpfOutcome> fetch_record(const std::string& domain);
    SpfOutcome run_record(const SpfRecord& record, bool want_explanation);
    SpfOutcome follow_redirect(const std::string& spec, bool want_explanation);
    Match evaluate(const Mechanism& m);
    Match match_include(const Mechanism& m);
    Match match_a(const Mechanism& m);
    Match match_mx(const Mechanism& m);
    Match match_ptr(const Mechanism& m);
    Match match_exists(const Mechanism& m);

    bool count_dns_term();
    bool count_void(const DnsAnswer& answer);
    std::optional<std::string> target_name(const Mechanism& m) const;
    DnsAnswer addresses(const std::string& name, IpFamily family) const;
    bool any_address_matches(const DnsAnswer& answer, IpFamily family, int prefix) const;
    std::vector<std::string> validated_names();
    std::string validated_name();
    std::string explanation(const std::string& exp_spec);

    const SpfDns& dns_;
    IpAddress ip_;
    MacroContext ctx_;
    int dns_terms_ = 0;
    int void_lookups_ = 0;
};

SpfOutcome Evaluator::check(const std::string& raw_domain, bool want_explanation) {
    std::string domain = raw_domain;
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (!domain_usable(domain)) return {SpfResult::None, {}, "no usable domain"};

    auto fetched = fetch_record(domain);
    if (auto* early = std::get_if<SpfOutcome>(&fetched)) return std::move(*early);

    std::string saved_domain = std::exchange(ctx_.domain, domain);
    SpfOutcome outcome = run_record(std::get<SpfRecord>(fetched), want_explanation);
    ctx_.domain = std::move(saved_domain);
    return outcome;
}

std::variant<SpfRecord, SpfOutcome> Evaluator::fetch_record(const std::string& domain) {
    DnsAnswer answer = dns_.txt(domain);
    if (answer.status == DnsAnswer::TempFail) {
        return SpfOutcome{SpfResult::TempError, {}, "txt lookup failed for " + domain};
    }
    const std::string* selected = nullptr;
    for (const std::string& txt : answer.records) {
        if (!is_spf_record(txt)) continue;
        if (selected) {
            return SpfOutcome{SpfResult::PermError, {}, "multiple spf records at " + domain};
        }
        selected = &txt;
    }
    if (!selected) return SpfOutcome{SpfResult::None, {}, "no spf record at " + domain};

    Result<SpfRecord> record = parse_record(*selected);
    if (!record) return SpfOutcome{SpfResult::PermError, {}, record.error().message};
    return std::move(*record);
}

SpfOutcome Evaluator::run_record(const SpfRecord& record, bool want_explanation) {
    // Section 4.6: mechanisms in order; the first match decides.
    for (const Mechanism& m : record.mechanisms) {
        Match match = evaluate(m);
        if (match.kind == Match::Error) return {match.error, {}, match.detail};
        if (match.kind == Match::No) continue;

        SpfOutcome outcome{result_of(m.qualifier), {}, "matched a mechanism of " + ctx_.domain};
        if (outcome.result == SpfResult::Fail && want_explanation && record.exp) {
            outcome.explanation = explanation(*record.exp);
        }
        return outcome;
    }

    // Section 6.1: redirect applies only when nothing matched.
    if (record.redirect) return follow_redirect(*record.redirect, want_explanation);
    return {SpfResult::Neutral, {}, "no mechanism matched at " + ctx_.domain};
}

SpfOutcome Evaluator::follow_redirect(const std::string& spec, bool want_explanation) {
    if (!count_dns_term()) return {SpfResult::PermError, {}, "more than 10 dns lookups"};
    auto target = expand_macros(spec, ctx_, MacroUse::DomainSpec);
    if (!target) return {SpfResult::PermError, {}, "bad redirect macro"};

    // The target's own exp= applies, not ours (section 6.2).
    SpfOutcome outcome = check(truncate_domain(std::move(*target)), want_explanation);
    if (outcome.result == SpfResult::None) {
        return {SpfResult::PermError, {}, "redirect target has no spf record"};
    }
    return outcome;
}

Match Evaluator::evaluate(const Mechanism& m) {
    switch (m.kind) {
        case MechanismKind::All:
            return Match::yes();
        case MechanismKind::Ip4:
        case MechanismKind::Ip6: {
            int prefix = m.kind == MechanismKind::Ip4 ? m.cidr4 : m.cidr6;
            return ip_.in_network(m.network, prefix) ? Match::yes() : Match::no();
        }
        default:
            break;
    }
    if (!count_dns_term()) return Match::perm("more than 10 dns lookups");
    switch (m.kind) {
        case MechanismKind::Include:
            return match_include(m);
        case MechanismKind::A:
            return match_a(m);
        case MechanismKind::Mx:
            return match_mx(m);
        case MechanismKind::Ptr:
            return match_ptr(m);
        case MechanismKind::Exists:
            return match_exists(m);
        default:
            return Match::no();
    }
}

Match Evaluator::match_include(const Mechanism& m) {
    auto target = target_name(m);
    if (!target) return Match::perm("bad include macro");

    // Section 5.2: pass matches; fail, softfail and neutral do not; none is
    // a permerror in the including record.
    SpfOutcome inner = check(*target, false);
    switch (inner.result) {
        case SpfResult::Pass:
            return Match::yes();
        case SpfResult::Fail:
        case SpfResult::SoftFail:
        case SpfResult::Neutral:
            return Match::no();
        case SpfResult::TempError:
            return Match::temp(inner.detail);
        case SpfResult::PermError:
            return Match::perm(inner.detail);
        case SpfResult::None:
            return Match::perm("include target has no spf record: " + *target);
    }
    return Match::no();
}

Match Evaluator::match_a(const Mechanism& m) {
    auto target = target_name(m);
    if (!target) return Match::perm("bad a macro");
    if (!domain_usable(*target)) return Match::no();
    DnsAnswer answer = addresses(*target, ip_.family);
    if (answer.status == DnsAnswer::TempFail) return Match::temp("a lookup failed: " + *target);
    if (!count_void(answer)) return Match::perm("more than 2 void lookups");
    int prefix = ip_.family == IpFamily::V4 ? m.cidr4 : m.cidr6;
    return any_address_matches(answer, ip_.family, prefix) ? Match::yes() : Match::no();
}

Match Evaluator::match_mx(const Mechanism& m) {
    auto target = target_name(m);
    if (!target) return Match::perm("bad mx macro");
    if (!domain_usable(*target)) return Match::no();
    DnsAnswer answer = dns_.mx(*target);
    if (answer.status == DnsAnswer::TempFail) return Match::temp("mx lookup failed: " + *target);
    if (!count_void(answer)) return Match::perm("more than 2 void lookups");

    // Section 4.6.4: more than 10 MX names is a permerror, not a truncation.
    if (answer.records.size() > kMaxMxNames) return Match::perm("more than 10 mx names");
    int prefix = ip_.family == IpFamily::V4 ? m.cidr4 : m.cidr6;
    for (const std::string& host : answer.records) {
        // RFC 7505 null MX ("." or empty) names no host.
        if (host.empty() || host == ".") continue;
        DnsAnswer hosts = addresses(host, ip_.family);
        if (hosts.status == DnsAnswer::TempFail) return Match::temp("mx host lookup failed");
        if (any_address_matches(hosts, ip_.family, prefix)) return Match::yes();
    }
    return Match::no();
}

Match Evaluator::match_ptr(const Mechanism& m) {
    auto target = target_name(m);
    if (!target) return Match::perm("bad ptr macro");
    DnsAnswer answer = dns_.ptr(ip_.to_text());
    // Section 5.5: a DNS error on the PTR query makes the mechanism fail to match.
    if (answer.status == DnsAnswer::TempFail) return Match::no();
    if (!count_void(answer)) return Match::perm("more than 2 void lookups");
    for (const std::string& name : validated_names()) {
        if (ends_with_domain(name, *target)) return Match::yes();
    }
    return Match::no();
}

Match Evaluator::match_exists(const Mechanism& m) {
    auto target = target_name(m);
    if (!target) return Match::perm("bad exists macro");
    if (!domain_usable(*target)) return Match::no();

    // Section 5.7: always an A query, whatever the client's family.
    DnsAnswer answer = dns_.a(*target);
    if (answer.status == DnsAnswer::TempFail) return Match::temp("exists lookup failed");
    if (!count_void(answer)) return Match::perm("more than 2 void lookups");
    return answer.records.empty() ? Match::no() : Match::yes();
}

bool Evaluator::count_dns_term() {
    return ++dns_terms_ <= kMaxDnsTerms;
}

bool Evaluator::count_void(const DnsAnswer& answer) {
    if (answer.status == DnsAnswer::Ok && !answer.records.empty()) return true;
    return ++void_lookups_ <= kMaxVoidLookups;
}

std::optional<std::string> Evaluator::target_name(const Mechanism& m) const {
    if (m.domain_spec.empty()) return ctx_.domain;
    auto expanded = expand_macros(m.domain_spec, ctx_, MacroUse::DomainSpec);
    if (!expanded) return std::nullopt;
    return truncate_domain(std::move(*expanded));
}

DnsAnswer Evaluator::addresses(const std::string& name, IpFamily family) const {
    return family == IpFamily::V4 ? dns_.a(name) : dns_.aaaa(name);
}

bool Evaluator::any_address_matches(const DnsAnswer& answer, IpFamily family, int prefix) const {
    if (answer.status != DnsAnswer::Ok) return false;
    for (const std::string& text : answer.records) {
        auto addr = IpAddress::parse(text, IpAddress::MappedV4::Keep);
        if (addr && addr->family == family && ip_.in_network(*addr, prefix)) return true;
    }
    return false;
}

// Section 5.5: PTR names (at most 10) whose forward lookup gives back the
// client address. DNS errors on the forward lookups skip that name.
std::vector<std::string> Evaluator::validated_names() {
    std::vector<std::string> out;
    DnsAnswer answer = dns_.ptr(ip_.to_text());
    if (answer.status != DnsAnswer::Ok) return out;
    std::size_t checked = 0;
    for (const std::string& name : answer.records) {
        if (checked++ == kMaxPtrNames) break;
        DnsAnswer forward = addresses(name, ip_.family);
        if (any_address_matches(forward, ip_.family, ip_.family == IpFamily::V4 ? 32 : 128)) {
            std::string clean = name;
            if (!clean.empty() && clean.back() == '.') clean.pop_back();
            out.push_back(std::move(clean));
        }
    }
    return out;
}

// Section 7.3 %{p}: a validated name in <domain> if there is one, else any
// validated name, else "unknown".
std::string Evaluator::validated_name() {
    std::vector<std::string> names = validated_names();
    for (const std::string& name : names) {
        if (ends_with_domain(name, ctx_.domain)) return name;
    }
    return names.empty() ? "unknown" : names.front();
}

// Section 6.2: any problem fetching or expanding the text means no
// explanation; it never changes the result.
std::string Evaluator::explanation(const std::string& exp_spec) {
    auto name = expand_macros(exp_spec, ctx_, MacroUse::DomainSpec);
    if (!name) return {};
    std::string target = truncate_domain(std::move(*name));
    if (!domain_usable(target)) return {};
    DnsAnswer answer = dns_.txt(target);
    if (answer.status != DnsAnswer::Ok || answer.records.size() != 1) return {};
    auto text = expand_macros(answer.records.front(), ctx_, MacroUse::Explanation);
    return text ? *text : std::string();
}

MacroContext make_context(const IpAddress& ip, const std::string& sender, const std::string& helo,
                          const std::string& receiver) {
    MacroContext ctx;
    std::size_t at = sender.rfind('@');
    std::string local = at == std::string::npos ? std::string() : sender.substr(0, at);
    ctx.local_part = local.empty() ? "postmaster" : local;
    ctx.sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
    ctx.sender = ctx.local_part + "@" + ctx.sender_domain;
    ctx.ip_dotted = ip.to_dotted();
    ctx.ip_text = ip.to_text();
    ctx.ip_version = ip.family == IpFamily::V4 ? "in-addr" : "ip6";
    ctx.helo = helo;
    ctx.receiver = receiver;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    ctx.timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
    return ctx;
}

}  // namespace

SpfOutcome check_host(const SpfDns& dns, const std::string& ip, const std::string& domain,
                      const std::string& sender, const std::string& helo,
                      const std::string& receiver) {
    auto addr = IpAddress::parse(ip, IpAddress::MappedV4::Fold);
    if (!addr) return {SpfResult::PermError, {}, "client address is not an ip address"};
    Evaluator evaluator(dns, *addr, make_context(*addr, sender, helo, receiver));
    return evaluator.check(domain, true);
}

std::string_view to_string(SpfResult result) {
    switch (result) {
        case SpfResult::None:
            return "none";
        case SpfResult::Neutral:
            return "neutral";
        case SpfResult::Pass:
            return "pass";
        case SpfResult::Fail:
            return "fail";
        case SpfResult::SoftFail:
            return "softfail";
        case SpfResult::TempError:
            return "temperror";
        case SpfResult::PermError:
            return "permerror";
    }
    return "none";
}

std::string reverse_dns_name(std::string_view ip) {
    auto addr = IpAddress::parse(ip, IpAddress::MappedV4::Fold);
    if (!addr) return {};
    if (addr->family == IpFamily::V6) {
        std::string dotted = addr->to_dotted();
        return std::string(dotted.rbegin(), dotted.rend()) + ".ip6.arpa";
    }
    const auto& b = addr->bytes;
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
           std::to_string(b[0]) + ".in-addr.arpa";
}

}  // namespace gatehouse::auth
