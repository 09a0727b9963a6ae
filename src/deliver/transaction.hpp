// One mail transaction on an open session: MAIL FROM, RCPT TO for each
// recipient (pipelined when offered), DATA with the content streamed from
// the spool file, and the per-recipient outcome of every reply.
//
// Standards: RFC 5321 sections 3.3 and 4.1.1.2-4 (a recipient's fate is its
// RCPT reply if that was not 2xx, else the reply to the end of DATA),
// RFC 2920 (PIPELINING: MAIL and every RCPT in one write, replies read in
// order), RFC 1870, RFC 6152, RFC 6531, RFC 3461 (see commands.hpp).
//
// SECURITY: replies are untrusted (see reply_reader.hpp); the content goes
// through DotStuffer, so it cannot end DATA early. A 421 or a lost
// connection defers every recipient not yet decided: a message is never
// reported delivered without a 2xx to its final dot.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/envelope.hpp"
#include "deliver/connection.hpp"
#include "deliver/deliverer.hpp"
#include "deliver/outcome.hpp"

namespace gatehouse::deliver {

// Fills outcomes (indexed like recipients, which index envelope.recipients).
// Returns true when the connection is still in a state to be reused.
boost::asio::awaitable<bool> run_transaction(Connection& connection, const Envelope& envelope,
                                             const std::vector<std::size_t>& recipients,
                                             const ContentRef& content, Outcomes& outcomes);

}  // namespace gatehouse::deliver
