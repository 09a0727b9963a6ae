// Routing of admin API requests to queue::Admin, free of any HTTP library:
// the server (admin_server.cpp) has already read and authenticated the
// request and only needs a status and a JSON body back.
//
// Trust: method and path come from an authenticated peer but are still
// checked: a queue id must have the shape of one before it reaches the
// queue, and peer text is only ever echoed inside a JSON string.
#pragma once

#include <string>
#include <string_view>

#include "queue/admin.hpp"

namespace gatehouse::http {

struct ApiResponse {
    unsigned status = 200;
    std::string body;   // JSON text
    std::string allow;  // for 405: the methods the path accepts
};

// {"error": message} with the given status.
ApiResponse json_error(unsigned status, std::string_view message);

// Answers one request; path is the request target without its query string.
ApiResponse route_admin_request(queue::Admin& admin, std::string_view method,
                                std::string_view path);

}  // namespace gatehouse::http
