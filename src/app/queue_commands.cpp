// `gatehouse queue ...` (see queue_commands.hpp): finds the admin API and
// its key from the options or the configuration file, sends one request
// with http::admin_request and prints the reply as a table, a field list or
// the raw JSON.
//
// Trust: the reply comes from the operator's own server but is still
// checked field by field (http::message_from_json); strings from it, which
// hold peer-supplied addresses and replies, have control characters
// replaced before they reach the terminal.
#include "app/queue_commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ids.hpp"
#include "config/config.hpp"
#include "http/admin_client.hpp"
#include "http/admin_json.hpp"
#include "http/api_key.hpp"

namespace gatehouse::app {
namespace {

namespace json = boost::json;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr std::uint16_t kDefaultAdminPort = 8025;
constexpr std::size_t kMaxSenderColumn = 50;
constexpr std::size_t kMaxErrorColumn = 60;

// Ends the command: the message is printed here, the code travels to main.
class Failure {
  public:
    Failure(int code, std::string message) : code_(code), message_(std::move(message)) {}
    int code() const { return code_; }
    const std::string& message() const { return message_; }

  private:
    int code_;
    std::string message_;
};

enum class Action { List, Show, Flush, Delete, Hold, Release };

struct QueueOptions {
    std::string config_file;
    std::string admin;
    std::string data_dir;
    bool json = false;
    std::string queue_id;
};

struct State {
    QueueOptions options;
    std::ostream& out;
    std::ostream& err;
};

// Where the server is and where its key lives.
struct Target {
    config::HostPort server;
    std::string data_dir;
};

// A peer-supplied string made safe for a terminal, cut at max_len.
std::string printable(std::string_view s, std::size_t max_len = std::string::npos) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (out.size() > max_len) out = out.substr(0, max_len - 3) + "...";
    return out;
}

std::string format_time(std::int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return "-";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string sender_text(const std::string& sender) {
    return sender.empty() ? "<>" : printable(sender, kMaxSenderColumn);
}

// A server listening on every address is reached through loopback.
config::HostPort reachable(config::HostPort hp) {
    if (hp.host == "0.0.0.0" || hp.host.empty()) hp.host = "127.0.0.1";
    if (hp.host == "::") hp.host = "::1";
    return hp;
}

Target resolve_target(const QueueOptions& o) {
    Target t{{"127.0.0.1", kDefaultAdminPort}, "./var"};
    if (!o.config_file.empty()) {
        config::Config c;
        try {
            c = config::load_file(o.config_file);
        } catch (const std::exception& e) {
            throw Failure(kExitError, e.what());
        }
        t.data_dir = c.data_dir;
        if (c.admin_listen) {
            t.server = *c.admin_listen;
        } else if (o.admin.empty()) {
            throw Failure(kExitError, "the admin API is turned off in " + o.config_file +
                                          " (admin_listen): pass --admin HOST:PORT");
        }
    }
    if (!o.admin.empty()) {
        try {
            t.server = config::parse_host_port("--admin", o.admin, kDefaultAdminPort);
        } catch (const config::ConfigError& e) {
            std::string what = e.what();
            throw Failure(kExitUsage, what.substr(what.find("--admin")));
        }
    }
    if (!o.data_dir.empty()) t.data_dir = o.data_dir;
    t.server = reachable(t.server);
    return t;
}

std::string checked_queue_id(const std::string& text) {
    std::string qid = text;
    std::transform(qid.begin(), qid.end(), qid.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!is_queue_id(qid)) {
        throw Failure(kExitUsage, printable(text, 40) + " is not a queue id");
    }
    return qid;
}

// One request; failures become the one line the operator sees.
std::string request(const Target& target, const std::string& method, const std::string& path) {
    auto key = http::read_api_key(target.data_dir);
    if (!key) {
        throw Failure(kExitError, key.error().message +
                                      ": is `gatehouse serve` using this data directory? "
                                      "(--data DIR or --config FILE)");
    }
    auto body = http::admin_request(target.server, *key, method, path);
    if (body) return *body;

    int status = http::admin_error_status(body.error());
    std::string text = printable(http::admin_error_text(body.error()));
    if (status == 0) throw Failure(kExitError, text + ": is `gatehouse serve` running?");
    if (status == 401) {
        throw Failure(kExitError, "the admin API refused the key in " +
                                      http::api_key_path(target.data_dir) + " (" + text + ")");
    }
    throw Failure(kExitError, text);
}

json::value parse_reply(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) throw Failure(kExitError, "unexpected reply from the admin API: " + ec.message());
    return v;
}

queue::MessageSummary to_message(const json::value& v) {
    auto m = http::message_from_json(v);
    if (!m) throw Failure(kExitError, "unexpected reply from the admin API: " + m.error().message);
    return std::move(m).value();
}

// Left-aligned columns; the last one is not padded.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        out << line << '\n';
    }
}

void print_list(std::ostream& out, const json::value& reply) {
    const json::value* messages =
        reply.is_object() ? reply.get_object().if_contains("messages") : nullptr;
    if (!messages || !messages->is_array()) {
        throw Failure(kExitError, "unexpected reply from the admin API: no messages array");
    }
    if (messages->get_array().empty()) {
        out << "the queue is empty\n";
        return;
    }
    std::vector<std::vector<std::string>> rows{{"QUEUE ID", "STATE", "SIZE", "ARRIVAL (UTC)",
                                                "ATTEMPTS", "SENDER", "RCPTS", "LAST ERROR"}};
    for (const json::value& v : messages->get_array()) {
        queue::MessageSummary m = to_message(v);
        rows.push_back({printable(m.queue_id), printable(m.state), std::to_string(m.size),
                        format_time(m.arrival_ms), std::to_string(m.attempts),
                        sender_text(m.sender), std::to_string(m.recipients.size()),
                        printable(m.last_error, kMaxErrorColumn)});
    }
    print_table(out, rows);
    std::size_t n = rows.size() - 1;
    out << n << (n == 1 ? " message\n" : " messages\n");
}

void print_message(std::ostream& out, const queue::MessageSummary& m) {
    std::string next =
        m.next_attempt_ms ? format_time(m.next_attempt_ms) + " UTC" : "not scheduled";
    print_table(out, {
                         {"queue id", printable(m.queue_id)},
                         {"state", printable(m.state)},
                         {"sender", m.sender.empty() ? "<>" : printable(m.sender)},
                         {"size", std::to_string(m.size) + " bytes"},
                         {"arrival", format_time(m.arrival_ms) + " UTC"},
                         {"next attempt", next},
                         {"attempts", std::to_string(m.attempts)},
                         {"last error", m.last_error.empty() ? "none" : printable(m.last_error)},
                         {"recipients", std::to_string(m.recipients.size())},
                     });
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : m.recipients) {
        rows.push_back({"  " + printable(r.address), printable(r.state),
                        r.last_reply.empty() ? "-" : printable(r.last_reply)});
    }
    print_table(out, rows);
}

void run(State& state, Action action) {
    const QueueOptions& o = state.options;
    Target target = resolve_target(o);
    std::string qid = action == Action::List || action == Action::Flush
                          ? std::string()
                          : checked_queue_id(o.queue_id);
    const std::string base = "/api/v1/queue";

    std::string body;
    std::string done;
    switch (action) {
        case Action::List:
            body = request(target, "GET", base);
            break;
        case Action::Show:
            body = request(target, "GET", base + "/" + qid);
            break;
        case Action::Flush:
            body = request(target, "POST", base + "/flush");
            done = "flushed the queue: deferred messages will be tried now";
            break;
        case Action::Delete:
            body = request(target, "DELETE", base + "/" + qid);
            done = "deleted " + qid;
            break;
        case Action::Hold:
            body = request(target, "POST", base + "/" + qid + "/hold");
            done = "held " + qid;
            break;
        case Action::Release:
            body = request(target, "POST", base + "/" + qid + "/release");
            done = "released " + qid;
            break;
    }

    if (o.json) {
        state.out << body << '\n';
    } else if (action == Action::List) {
        print_list(state.out, parse_reply(body));
    } else if (action == Action::Show) {
        print_message(state.out, to_message(parse_reply(body)));
    } else {
        state.out << done << '\n';
    }
}

void add_action(CLI::App& queue, const std::shared_ptr<State>& state, Action action,
                const std::string& name, const std::string& description, bool takes_qid) {
    CLI::App* sub = queue.add_subcommand(name, description);
    QueueOptions& o = state->options;
    sub->add_option("--config", o.config_file,
                    "Configuration file to read admin_listen and data_dir from")
        ->type_name("FILE");
    sub->add_option("--admin", o.admin,
                    "Address of the admin API, overriding the configuration (default "
                    "127.0.0.1:8025)")
        ->type_name("HOST:PORT");
    sub->add_option("--data", o.data_dir,
                    "Data directory holding admin.key, overriding the configuration (default "
                    "./var)")
        ->type_name("DIR");
    sub->add_flag("--json", o.json, "Print the API's JSON reply as it is");
    if (takes_qid) {
        sub->add_option("qid", o.queue_id, "Queue id of the message")->required();
    }

    sub->callback([state, action] {
        try {
            run(*state, action);
        } catch (const Failure& f) {
            state->err << "gatehouse: " << f.message() << '\n';
            throw CLI::RuntimeError(f.code());
        }
    });
}

}  // namespace

void add_queue_commands(CLI::App& root) {
    add_queue_commands(root, std::cout, std::cerr);
}

void add_queue_commands(CLI::App& root, std::ostream& out, std::ostream& err) {
    auto state = std::make_shared<State>(State{{}, out, err});
    CLI::App* queue = root.add_subcommand("queue", "Show and act on the queue of a running server");
    queue->require_subcommand(1);
    add_action(*queue, state, Action::List, "list", "List the messages in the queue", false);
    add_action(*queue, state, Action::Show, "show", "Show one message and each recipient", true);
    add_action(*queue, state, Action::Flush, "flush", "Try every deferred message now", false);
    add_action(*queue, state, Action::Delete, "delete",
               "Remove a message from the queue without a bounce", true);
    add_action(*queue, state, Action::Hold, "hold",
               "Keep a message in the queue with no delivery attempts", true);
    add_action(*queue, state, Action::Release, "release", "Return a held message to delivery",
               true);
}

}  // namespace gatehouse::app
