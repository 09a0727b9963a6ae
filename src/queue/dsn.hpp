// Delivery status notifications (RFC 3464, in an RFC 6522 multipart/report)
// for recipients that failed permanently or expired. Pure text building: the
// queue manager decides when, and queues the result with the null sender.
// Never built for a message whose own sender is null (RFC 5321 6.1,
// RFC 3461 6.2: no DSN about a DSN).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/envelope.hpp"

namespace gatehouse::queue {

struct FailedRecipient {
    std::string address;
    std::string orcpt;       // RFC 3461 ORCPT, "rfc822;addr" form, may be empty
    std::string action;      // "failed" (or "delayed" for delay notices)
    std::string status;      // "5.1.1", "4.4.7"
    std::string diagnostic;  // the remote reply, e.g. "550 5.1.1 no such user"
    std::string remote_mta;  // host name of the next hop, may be empty
};

struct DsnInput {
    std::string reporting_mta;   // our hostname
    std::string dsn_message_id;  // without angle brackets
    std::int64_t now_ms = 0;
    const Envelope* original = nullptr;
    std::vector<FailedRecipient> recipients;
    // The original header block (always) and body (only with RET=FULL).
    std::string_view original_headers;
    std::string_view original_full;  // empty unless RET=FULL
};

// Builds the whole DSN message (header + body), CRLF line ends.
std::string build_dsn(const DsnInput& in);

// Extracts "5.1.1" from "550 5.1.1 text"; falls back to a class derived
// from the basic code ("550" -> "5.0.0") or default_status.
std::string status_from_reply(std::string_view reply, std::string_view default_status);

}  // namespace gatehouse::queue
