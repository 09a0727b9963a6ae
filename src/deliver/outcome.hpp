// Per-recipient outcomes of one delivery attempt, and the catalogue of the
// reasons delivery gives itself when no server reply decides (DNS, connect,
// TLS policy, lost connection). Codes and enhanced codes (RFC 3463) are
// chosen here and nowhere else. Pure code, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "deliver/deliverer.hpp"
#include "deliver/reply_reader.hpp"

namespace gatehouse::deliver {

namespace reasons {
std::string domain_not_found(const std::string& domain);                        // 550 5.1.2
std::string null_mx(const std::string& domain);                                 // 556 5.1.10
std::string no_mail_host(const std::string& domain, const std::string& why);    // 550 5.4.4
std::string dns_failed(const std::string& name, const std::string& why);        // 451 4.4.3
std::string connect_failed(const std::string& remote, const std::string& why);  // 451 4.4.1
std::string tls_not_offered(const std::string& remote);                         // 451 4.7.0
std::string tls_failed(const std::string& remote, const std::string& why);      // 451 4.7.0
std::string smtputf8_not_offered(const std::string& remote);                    // 553 5.6.7
std::string too_big(const std::string& remote, std::uint64_t size,
                    std::uint64_t limit);               // 552 5.3.4
std::string bad_sender(const std::string& sender);      // 553 5.1.7
std::string bad_recipient(const std::string& address);  // 553 5.1.3
std::string connection_lost(const std::string& remote, const std::string& stage,
                            const std::string& why);                               // 451 4.4.2
std::string protocol_error(const std::string& remote, const std::string& why);     // 451 4.5.0
std::string spool_unreadable(const std::string& why);                              // 451 4.3.0
std::string internal(const std::string& why);                                      // 451 4.3.0
std::string unexpected_reply(const std::string& stage, const ServerReply& reply);  // 451 4.5.0
}  // namespace reasons

// RcptOutcome for a server reply: 2xx delivered, 5xx bounced, anything else
// (4xx, or a code that makes no sense here) deferred.
RcptOutcome outcome_of(const ServerReply& reply);

// The results of one attempt, filled as replies arrive. A recipient is
// decided once; later calls for it are ignored, so "defer whatever is left"
// can never overwrite a bounce that an earlier reply gave.
class Outcomes {
  public:
    explicit Outcomes(std::size_t count) : results_(count), decided_(count, false) {}

    void decide(std::size_t i, RcptOutcome outcome, std::string reply);
    void decide(std::size_t i, const ServerReply& reply) {
        decide(i, outcome_of(reply), reply.summary());
    }
    void decide_undecided(RcptOutcome outcome, const std::string& reply);
    void decide_undecided(const ServerReply& reply) {
        decide_undecided(outcome_of(reply), reply.summary());
    }
    bool decided(std::size_t i) const { return decided_[i]; }
    bool all_decided() const;
    std::size_t count(RcptOutcome outcome) const;
    std::vector<RcptResult> take() { return std::move(results_); }
    const std::vector<RcptResult>& results() const { return results_; }

  private:
    std::vector<RcptResult> results_;
    std::vector<bool> decided_;
};

}  // namespace gatehouse::deliver
