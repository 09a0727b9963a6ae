// Where to connect for a destination: the relay host of a route, or the
// MX hosts of the recipient domain in preference order with each of their
// addresses, or the domain itself when it has no MX (implicit MX). When DNS
// already decides the attempt (no such domain, null MX, lookup failure),
// the plan says so instead of listing targets.
//
// Standards: RFC 5321 section 5.1 (MX ordering, implicit MX, address
// literals), RFC 7505 (null MX).
//
// SECURITY: host names come from DNS answers, which the resolver has
// already limited to LDH names; they are used for connecting, SNI and logs.
#pragma once

#include <string>
#include <vector>

#include "deliver/connection.hpp"
#include "deliver/deliverer.hpp"

namespace gatehouse::deliver {

struct TargetPlan {
    std::vector<Target> targets;  // in the order to try
    // Set when DNS decides the attempt: every recipient gets outcome/reason.
    bool decided = false;
    RcptOutcome outcome = RcptOutcome::Deferred;
    std::string reason;
    bool unreachable = false;  // the lookup failed temporarily
};

// At most this many addresses are tried in one attempt, over all MX hosts
// (a domain with 20 MX hosts must not hold a delivery slot for 20 connect
// timeouts).
inline constexpr std::size_t kMaxTargets = 10;

// mx_port: config queue.mx_port, the port for MX hosts, implicit MX hosts
// and address literals (a relay route names its own port).
boost::asio::awaitable<TargetPlan> plan_targets(dns::Resolver& resolver,
                                                const Destination& destination,
                                                std::uint16_t mx_port, const std::string& queue_id);

}  // namespace gatehouse::deliver
