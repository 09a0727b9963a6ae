// Delivery outcomes and reason catalogue (see outcome.hpp).
#include "deliver/outcome.hpp"

#include <algorithm>

namespace gatehouse::deliver {

namespace reasons {

std::string domain_not_found(const std::string& domain) {
    return "550 5.1.2 domain " + domain + " does not exist";
}
std::string null_mx(const std::string& domain) {
    return "556 5.1.10 domain " + domain + " accepts no mail (null MX)";
}
std::string no_mail_host(const std::string& domain, const std::string& why) {
    return "550 5.4.4 no mail host for " + domain + ": " + why;
}
std::string dns_failed(const std::string& name, const std::string& why) {
    return "451 4.4.3 DNS lookup for " + name + " failed: " + why;
}
std::string connect_failed(const std::string& remote, const std::string& why) {
    return "451 4.4.1 cannot connect to " + remote + ": " + why;
}
std::string tls_not_offered(const std::string& remote) {
    return "451 4.7.0 TLS required but not offered by " + remote;
}
std::string tls_failed(const std::string& remote, const std::string& why) {
    return "451 4.7.0 TLS required but STARTTLS with " + remote + " failed: " + why;
}
std::string smtputf8_not_offered(const std::string& remote) {
    return "553 5.6.7 message needs SMTPUTF8, which " + remote + " does not offer";
}
std::string too_big(const std::string& remote, std::uint64_t size, std::uint64_t limit) {
    return "552 5.3.4 message of " + std::to_string(size) + " bytes exceeds the limit of " +
           std::to_string(limit) + " at " + remote;
}
std::string bad_sender(const std::string& sender) {
    return "553 5.1.7 sender address cannot be sent: " + printable(sender);
}
std::string bad_recipient(const std::string& address) {
    return "553 5.1.3 recipient address cannot be sent: " + printable(address);
}
std::string connection_lost(const std::string& remote, const std::string& stage,
                            const std::string& why) {
    return "451 4.4.2 connection with " + remote + " lost during " + stage + ": " + why;
}
std::string protocol_error(const std::string& remote, const std::string& why) {
    return "451 4.5.0 protocol error with " + remote + ": " + why;
}
std::string spool_unreadable(const std::string& why) {
    return "451 4.3.0 cannot read the message from the spool: " + why;
}
std::string internal(const std::string& why) {
    return "451 4.3.0 internal error: " + why;
}
std::string unexpected_reply(const std::string& stage, const ServerReply& reply) {
    return "451 4.5.0 unexpected reply to " + stage + ": " + reply.summary();
}

}  // namespace reasons

RcptOutcome outcome_of(const ServerReply& reply) {
    if (reply.positive()) return RcptOutcome::Delivered;
    if (reply.permanent()) return RcptOutcome::Bounced;
    return RcptOutcome::Deferred;
}

void Outcomes::decide(std::size_t i, RcptOutcome outcome, std::string reply) {
    if (i >= results_.size() || decided_[i]) return;
    decided_[i] = true;
    results_[i].outcome = outcome;
    results_[i].reply = std::move(reply);
}

void Outcomes::decide_undecided(RcptOutcome outcome, const std::string& reply) {
    for (std::size_t i = 0; i < results_.size(); ++i) decide(i, outcome, reply);
}

bool Outcomes::all_decided() const {
    return std::all_of(decided_.begin(), decided_.end(), [](bool d) { return d; });
}

std::size_t Outcomes::count(RcptOutcome outcome) const {
    return static_cast<std::size_t>(
        std::count_if(results_.begin(), results_.end(),
                      [&](const RcptResult& r) { return r.outcome == outcome; }));
}

}  // namespace gatehouse::deliver
