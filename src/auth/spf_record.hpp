// SPF record selection and parsing (RFC 7208 sections 4.5, 4.6, 5 and 6).
// A record is parsed whole before evaluation, so a syntax error anywhere
// is a permerror even when an earlier mechanism would have matched.
//
// Callers: spf.cpp.
// Trust: record text comes from DNS. Only printable ASCII is accepted; every
// term is checked against the RFC's ABNF; macro strings are checked here
// and expanded later.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/spf_address.hpp"
#include "base/result.hpp"

namespace gatehouse::auth {

enum class Qualifier { Pass, Fail, SoftFail, Neutral };

enum class MechanismKind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

struct Mechanism {
    Qualifier qualifier = Qualifier::Pass;
    MechanismKind kind = MechanismKind::All;
    // Unexpanded domain-spec; empty means the current <domain>.
    std::string domain_spec;
    // ip4/ip6: the network; a/mx: unused.
    IpAddress network;
    int cidr4 = 32;
    int cidr6 = 128;
};

struct SpfRecord {
    std::vector<Mechanism> mechanisms;
    std::optional<std::string> redirect;  // domain-spec
    std::optional<std::string> exp;       // domain-spec
};

// Section 4.5: "v=spf1" (any case) followed by a space or the end.
bool is_spf_record(std::string_view text);

// Parses a selected record. Errors are permanent and say which term failed.
Result<SpfRecord> parse_record(std::string_view text);

}  // namespace gatehouse::auth
