// Queue ids and session ids.
//
// A queue id is 16 characters of Crockford base32: 11 for the microseconds
// since the epoch, 5 for a per-process sequence mixed with random bits. Ids
// sort by arrival time as plain strings, are valid file names everywhere and
// never repeat within a process. A session id is 16 lowercase hex digits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse {

std::string make_queue_id();
std::string make_session_id();

// True when s has the shape of a queue id (used before touching the spool
// with a name that came from the admin API or the command line).
bool is_queue_id(std::string_view s);

// Arrival time encoded in a queue id, in microseconds since the epoch.
std::uint64_t queue_id_time_us(std::string_view qid);

}  // namespace gatehouse
