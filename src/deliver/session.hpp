// Opening an SMTP session with one target: connect, greeting, EHLO (HELO
// when EHLO is refused), and STARTTLS as the route's TLS policy asks.
// Called by the deliverer for each target in turn until one works.
//
// Standards: RFC 5321 sections 3.1-3.2 and 4.1.1.1, RFC 3207 (STARTTLS,
// EHLO again after the handshake), RFC 7435 (opportunistic TLS: a failed
// handshake falls back to a new plaintext connection, never to the same
// one).
//
// SECURITY: with OutboundTls::Required no message byte is ever sent unless
// TLS is up; a missing STARTTLS or a failed handshake is a failure of the
// target. With Opportunistic, an active attacker can strip STARTTLS; that
// is the documented limit of opportunistic TLS (MTA-STS and DANE lift it).
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "deliver/connection.hpp"
#include "deliver/deliverer.hpp"
#include "deliver/outcome.hpp"

namespace gatehouse::deliver {

struct SessionOptions {
    std::string helo_name;  // config.hostname
    config::OutboundTls tls = config::OutboundTls::Opportunistic;
    bool starttls_allowed = true;  // false on the plaintext retry after a failed handshake
    std::shared_ptr<boost::asio::ssl::context> tls_context;  // null: no TLS available
    Timeouts timeouts;
    std::string queue_id;  // for log lines
};

// Why a target gave no usable session.
struct SessionFailure {
    std::string reason;                           // reply or our reason, for recipients
    RcptOutcome outcome = RcptOutcome::Deferred;  // Bounced only on a 5xx from the server
    bool unreachable = false;     // connect failed, greeting 4xx, or lost before a greeting
    bool reached = false;         // the TCP connection was made
    bool retry_in_clear = false;  // opportunistic STARTTLS failed; plaintext may work
};

struct SessionResult {
    std::unique_ptr<Connection> connection;  // set on success
    SessionFailure failure;                  // meaningful when connection is null
};

boost::asio::awaitable<SessionResult> open_session(boost::asio::any_io_executor executor,
                                                   const Target& target,
                                                   const SessionOptions& options);

// Sends RSET on an idle connection before reuse; false when it is unusable.
boost::asio::awaitable<bool> reset_session(Connection& connection);

}  // namespace gatehouse::deliver
