// The JSON form of queue::MessageSummary used by the admin API, in both
// directions: the server writes it, `gatehouse queue ...` reads it back.
//
// Fields: queue_id, state, sender, size, arrival_ms, next_attempt_ms,
// attempts, last_error, recipients [{address, state, last_reply}].
// Trust: message_from_json reads a server's reply; it checks every field's
// type and refuses the document rather than guessing.
#pragma once

#include <boost/json/value.hpp>

#include "base/result.hpp"
#include "queue/admin.hpp"

namespace gatehouse::http {

boost::json::object message_to_json(const queue::MessageSummary& message);

Result<queue::MessageSummary> message_from_json(const boost::json::value& value);

}  // namespace gatehouse::http
