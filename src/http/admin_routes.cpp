// The admin API's endpoints (see admin_server.hpp for the list): each one is
// a thin call into queue::Admin, whose Result decides the status code.
//
// Trust: the request is authenticated, but the queue id in the path is still
// checked with is_queue_id() before the queue sees it. Exceptions from the
// queue are caught here and become a 500 with a logged reason.
#include "http/admin_routes.hpp"

#include <boost/json.hpp>
#include <exception>
#include <vector>

#include "base/ids.hpp"
#include "base/text.hpp"
#include "http/admin_json.hpp"
#include "log/log.hpp"

namespace gatehouse::http {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "/api/v1/";

ApiResponse json_ok(const json::value& body, unsigned status = 200) {
    return {status, json::serialize(body), {}};
}

ApiResponse not_allowed(std::string allow) {
    ApiResponse r = json_error(405, "method not allowed");
    r.allow = std::move(allow);
    return r;
}

std::string unknown_message(std::string_view qid) {
    return "no message with queue id " + std::string(qid);
}

std::vector<std::string_view> split_path(std::string_view rest) {
    std::vector<std::string_view> parts;
    while (true) {
        auto slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return parts;
}

// A failed action on an existing message is a conflict (the queue refused it
// in the message's present state); on a missing one it is a 404. The queue reports both as
// permanent errors, so show() tells them apart.
ApiResponse action_failed(queue::Admin& admin, std::string_view qid, const Error& error) {
    switch (error.kind) {
        case ErrorKind::Permanent:
            if (!qid.empty() && !admin.show(std::string(qid))) {
                return json_error(404, unknown_message(qid));
            }
            return json_error(409, error.message);
        case ErrorKind::Temporary:
            return json_error(503, error.message);
        case ErrorKind::Internal:
            break;
    }
    if (qid.empty()) {
        log::error("http.admin.failed reason={}", log_escape(error.message));
    } else {
        log::error("http.admin.failed qid={} reason={}", qid, log_escape(error.message));
    }
    return json_error(500, error.message);
}

ApiResponse action_result(queue::Admin& admin, std::string_view qid, const Result<void>& result) {
    if (!result) return action_failed(admin, qid, result.error());
    json::object body{{"status", "ok"}};
    if (!qid.empty()) body["queue_id"] = qid;
    return json_ok(body);
}

ApiResponse list_queue(queue::Admin& admin) {
    json::array messages;
    for (const auto& m : admin.list()) messages.push_back(message_to_json(m));
    return json_ok(json::object{{"messages", std::move(messages)}});
}

ApiResponse show_message(queue::Admin& admin, std::string_view qid) {
    auto message = admin.show(std::string(qid));
    if (!message) return json_error(404, unknown_message(qid));
    return json_ok(message_to_json(*message));
}

// /api/v1/queue/{qid} and /api/v1/queue/{qid}/{action}.
ApiResponse route_message(queue::Admin& admin, std::string_view method,
                          const std::vector<std::string_view>& parts) {
    std::string_view qid = parts[1];
    if (qid.empty()) return json_error(404, "no such endpoint");
    if (parts.size() == 2) {
        if (method != "GET" && method != "DELETE") return not_allowed("GET, DELETE");
    } else if (parts.size() != 3 || (parts[2] != "hold" && parts[2] != "release")) {
        return json_error(404, "no such endpoint");
    } else if (method != "POST") {
        return not_allowed("POST");
    }
    if (!is_queue_id(qid)) return json_error(404, unknown_message(qid));

    if (parts.size() == 2 && method == "GET") return show_message(admin, qid);
    std::string id(qid);
    if (parts.size() == 2) return action_result(admin, qid, admin.remove(id));
    if (parts[2] == "hold") return action_result(admin, qid, admin.hold(id));
    return action_result(admin, qid, admin.release(id));
}

ApiResponse route(queue::Admin& admin, std::string_view method, std::string_view path) {
    if (path.substr(0, kPrefix.size()) != kPrefix) return json_error(404, "no such endpoint");
    std::vector<std::string_view> parts = split_path(path.substr(kPrefix.size()));

    if (parts.size() == 1 && parts[0] == "health") {
        if (method != "GET") return not_allowed("GET");
        return json_ok(json::object{{"status", "ok"}});
    }
    if (parts[0] != "queue") return json_error(404, "no such endpoint");
    if (parts.size() == 1) {
        if (method != "GET") return not_allowed("GET");
        return list_queue(admin);
    }
    if (parts.size() == 2 && parts[1] == "flush") {
        if (method != "POST") return not_allowed("POST");
        return action_result(admin, {}, admin.flush());
    }
    return route_message(admin, method, parts);
}

}  // namespace

ApiResponse json_error(unsigned status, std::string_view message) {
    return {status, json::serialize(json::object{{"error", message}}), {}};
}

ApiResponse route_admin_request(queue::Admin& admin, std::string_view method,
                                std::string_view path) {
    try {
        return route(admin, method, path);
    } catch (const std::exception& e) {
        log::error("http.admin.failed path={} reason={}", log_escape(path), log_escape(e.what()));
        return json_error(500, "internal error");
    }
}

}  // namespace gatehouse::http
