// A small synchronous HTTP client for the admin API, used by the
// `gatehouse queue ...` subcommands (and tests) to talk to a running server.
//
// Standards: HTTP/1.1 (RFC 9112), one request per connection; Bearer
// credentials (RFC 6750). Trust: the server is the operator's own, but its
// reply is still read under a size limit and a timeout.
#pragma once

#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace gatehouse::http {

// Sends one request and returns the body of a 2xx reply. On failure the
// Error's message is "HTTP <status>: <text>" when the server answered (text
// from its {"error": ...} body), kind Permanent for 4xx and Internal for 5xx
// (Temporary for 503); when the server could not be reached the message is
// "cannot reach the admin API at HOST:PORT (<cause>)" with kind Temporary.
Result<std::string> admin_request(const config::HostPort& server, const std::string& api_key,
                                  const std::string& method, const std::string& target);

// The HTTP status carried by an admin_request error; 0 when the server was
// not reached or did not answer with HTTP.
int admin_error_status(const Error& error);

// The error text without the "HTTP <status>: " prefix.
std::string admin_error_text(const Error& error);

}  // namespace gatehouse::http
