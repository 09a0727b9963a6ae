// Small text helpers shared by every layer: case-insensitive compare, trim,
// escaping of peer-supplied strings before they reach a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse {

bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);

// Makes a string from the network safe for one log line: control bytes and
// non-ASCII become \xNN, quotes and backslashes are escaped, and the result
// is cut at max_len with a trailing "..." so a hostile peer cannot flood logs.
std::string log_escape(std::string_view s, std::size_t max_len = 200);

// Domain part of an address (after the last '@'), lowercased; empty for the
// null sender or an address without '@'.
std::string domain_of(std::string_view address);

}  // namespace gatehouse
