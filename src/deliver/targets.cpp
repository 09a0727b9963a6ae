// Target planning from routes and DNS (see targets.hpp).
#include "deliver/targets.hpp"

#include <arpa/inet.h>

#include "base/text.hpp"
#include "deliver/outcome.hpp"
#include "dns/resolver.hpp"
#include "log/log.hpp"

namespace gatehouse::deliver {

namespace asio = boost::asio;

namespace {

constexpr std::uint16_t kSmtpPort = 25;

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3) -> the address.
std::string address_literal(const std::string& domain) {
    if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return {};
    std::string inner = domain.substr(1, domain.size() - 2);
    if (istarts_with(inner, "IPv6:")) inner = inner.substr(5);
    return is_ip_literal(inner) ? inner : std::string();
}

TargetPlan decided(RcptOutcome outcome, std::string reason, bool unreachable = false) {
    TargetPlan plan;
    plan.decided = true;
    plan.outcome = outcome;
    plan.reason = std::move(reason);
    plan.unreachable = unreachable;
    return plan;
}

void add_targets(TargetPlan& plan, const std::string& host, const std::vector<std::string>& ips,
                 std::uint16_t port) {
    for (const auto& ip : ips) {
        if (plan.targets.size() >= kMaxTargets) return;
        plan.targets.push_back(Target{host, ip, port});
    }
}

void log_dns(const std::string& qid, const std::string& name, const char* type,
             const std::string& why) {
    log::info("deliver.dns.failed qid={} name={} type={} reason=\"{}\"", qid, log_escape(name),
              type, log_escape(why));
}

asio::awaitable<TargetPlan> plan_relay(dns::Resolver& resolver, const config::HostPort& hop,
                                       const std::string& qid) {
    std::uint16_t port = hop.port ? hop.port : kSmtpPort;
    TargetPlan plan;
    if (is_ip_literal(hop.host)) {
        plan.targets.push_back(Target{hop.host, hop.host, port});
        co_return plan;
    }
    // A relay that does not resolve is a configuration or DNS problem on
    // our side, never a reason to bounce: defer.
    dns::AddressAnswer answer = co_await resolver.addresses(hop.host);
    if (answer.status != dns::Status::Ok) {
        log_dns(qid, hop.host, "A/AAAA", answer.error);
        co_return decided(RcptOutcome::Deferred, reasons::dns_failed(hop.host, answer.error), true);
    }
    add_targets(plan, hop.host, answer.addresses, port);
    co_return plan;
}

// RFC 5321 5.1: no MX records, so the domain itself is the mail host.
asio::awaitable<TargetPlan> plan_implicit_mx(dns::Resolver& resolver, const std::string& domain,
                                             std::uint16_t port, const std::string& qid) {
    dns::AddressAnswer answer = co_await resolver.addresses(domain);
    if (answer.status == dns::Status::TempFail) {
        log_dns(qid, domain, "A/AAAA", answer.error);
        co_return decided(RcptOutcome::Deferred, reasons::dns_failed(domain, answer.error), true);
    }
    if (answer.status != dns::Status::Ok)
        co_return decided(RcptOutcome::Bounced,
                          reasons::no_mail_host(domain, "no MX and no address records"));
    TargetPlan plan;
    add_targets(plan, domain, answer.addresses, port);
    co_return plan;
}

asio::awaitable<TargetPlan> plan_mx(dns::Resolver& resolver, const std::string& domain,
                                    std::uint16_t port, const std::string& qid) {
    dns::MxAnswer mx = co_await resolver.mx(domain);
    switch (mx.status) {
        case dns::Status::NxDomain:
            co_return decided(RcptOutcome::Bounced, reasons::domain_not_found(domain));
        case dns::Status::TempFail:
            log_dns(qid, domain, "MX", mx.error);
            co_return decided(RcptOutcome::Deferred, reasons::dns_failed(domain, mx.error), true);
        case dns::Status::NoData:
            co_return co_await plan_implicit_mx(resolver, domain, port, qid);
        case dns::Status::Ok:
            break;
    }

    // RFC 7505: a null MX says the domain takes no mail. It must stand
    // alone; if other MX records sit next to it, those are used.
    TargetPlan plan;
    bool null_mx = true;
    std::string last_temp_failure;
    std::string last_host;
    // XXX: RFC 5321 5.1 wants MX records at or above our own preference
    // dropped when we are one of the MX hosts (mail loop); that needs the
    // list of our own names and addresses, which config does not hold yet.
    for (const auto& record : mx.records) {
        if (record.host == ".") continue;
        null_mx = false;
        if (plan.targets.size() >= kMaxTargets) break;
        dns::AddressAnswer answer = co_await resolver.addresses(record.host);
        if (answer.status == dns::Status::Ok) {
            add_targets(plan, record.host, answer.addresses, port);
            continue;
        }
        log_dns(qid, record.host, "A/AAAA", answer.error);
        last_host = record.host;
        if (answer.status == dns::Status::TempFail) last_temp_failure = answer.error;
    }
    if (null_mx) co_return decided(RcptOutcome::Bounced, reasons::null_mx(domain));
    if (!plan.targets.empty()) co_return plan;
    if (!last_temp_failure.empty())
        co_return decided(RcptOutcome::Deferred, reasons::dns_failed(last_host, last_temp_failure),
                          true);
    co_return decided(RcptOutcome::Bounced,
                      reasons::no_mail_host(domain, "no MX host has an address"));
}

}  // namespace

asio::awaitable<TargetPlan> plan_targets(dns::Resolver& resolver, const Destination& destination,
                                         std::uint16_t mx_port, const std::string& queue_id) {
    if (mx_port == 0) mx_port = kSmtpPort;
    if (!destination.route.use_mx)
        co_return co_await plan_relay(resolver, destination.route.next_hop, queue_id);
    std::string literal = address_literal(destination.domain);
    if (!literal.empty()) {
        TargetPlan plan;
        plan.targets.push_back(Target{literal, literal, mx_port});
        co_return plan;
    }
    co_return co_await plan_mx(resolver, destination.domain, mx_port, queue_id);
}

}  // namespace gatehouse::deliver
