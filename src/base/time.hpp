// Wall-clock helpers shared by the layers that stamp mail.
#pragma once

#include <cstdint>
#include <string>

namespace gatehouse {

std::int64_t now_ms();
// RFC 5322 date-time in UTC, e.g. "Thu, 03 Dec 2026 17:00:00 +0000".
std::string rfc5322_date(std::int64_t ms);

}  // namespace gatehouse
