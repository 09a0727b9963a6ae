// SPF check_host() (RFC 7208): is this client IP allowed to send mail for a
// domain? A pure function over an abstract DNS source, so it can be tested
// against a fake zone and run by the server on a worker pool.
//
// Callers: the SMTP session's analysers (MAIL FROM and HELO identities). The
// result is a fact for the policy engine; this module decides nothing.
//
// Standards: RFC 7208 (sections 4 to 7: record selection, terms, limits,
// macros), RFC 7505 (null MX is skipped), RFC 4291 (IPv4-mapped addresses are
// evaluated as IPv4).
//
// Trust: every DNS answer is hostile input. Records are parsed fully before
// they are used, only printable ASCII is accepted, and the RFC's limits (10
// DNS terms, 2 void lookups, 10 MX and PTR names) bound the work a remote
// publisher can make us do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::auth {

struct DnsAnswer {
    enum Status { Ok, NxDomain, NoData, TempFail } status = NoData;
    // TXT: one string per record, its character-strings already joined;
    // A/AAAA: addresses in text form; MX: host names in preference order;
    // PTR: host names.
    std::vector<std::string> records;
};

// Synchronous DNS as check_host() needs it. Implementations answer for the
// name as given (no search list) and follow CNAMEs themselves.
class SpfDns {
  public:
    virtual ~SpfDns() = default;
    virtual DnsAnswer txt(const std::string& name) const = 0;
    virtual DnsAnswer a(const std::string& name) const = 0;
    virtual DnsAnswer aaaa(const std::string& name) const = 0;
    virtual DnsAnswer mx(const std::string& name) const = 0;
    // PTR records of an address given in text form (IPv4 dotted quad or
    // IPv6); reverse_dns_name() gives the in-addr.arpa / ip6.arpa owner.
    virtual DnsAnswer ptr(const std::string& ip) const = 0;
};

enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };

struct SpfOutcome {
    SpfResult result = SpfResult::None;
    // Text from the publisher's exp= record, for a Fail only; empty when
    // there is none, so the receiver uses its own default wording.
    std::string explanation;
    // Why this result, for logs and Received-SPF comments (never from DNS
    // verbatim beyond a domain name).
    std::string detail;
};

// RFC 7208 section 4. `ip` is the client address (IPv4, IPv6 or
// IPv4-mapped IPv6), `domain` the identity's domain (MAIL FROM domain, or the
// HELO name when checking HELO), `sender` the MAIL FROM address (or
// "postmaster@<helo>" for the null sender), `helo` the HELO/EHLO argument and
// `receiver` this host's name for the %{r} macro.
SpfOutcome check_host(const SpfDns& dns, const std::string& ip, const std::string& domain,
                      const std::string& sender, const std::string& helo,
                      const std::string& receiver = "unknown");

// "pass", "fail", ... as in Received-SPF and Authentication-Results.
std::string_view to_string(SpfResult result);

// Owner name of an address's PTR records ("4.3.2.1.in-addr.arpa", nibbles
// for IPv6); empty when `ip` is not an address. IPv4-mapped IPv6 addresses
// map to in-addr.arpa.
std::string reverse_dns_name(std::string_view ip);

}  // namespace gatehouse::auth
