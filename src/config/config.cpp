#include "config/config.hpp"

#include <arpa/inet.h>
#include <pwd.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>

#include "base/text.hpp"

namespace gatehouse::config {
namespace {

std::string type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
    }
}

// Walks one table, handing each key to a visitor and refusing unknown keys.
class TableReader {
  public:
    TableReader(const toml::table& t, std::string prefix) : t_(t), prefix_(std::move(prefix)) {}

    std::string key(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }

    void check_known(std::initializer_list<const char*> known) const {
        for (const auto& entry : t_) {
            std::string_view k = entry.first.str();
            bool found = std::any_of(known.begin(), known.end(),
                                     [&](const char* name) { return k == name; });
            if (!found) throw ConfigError(key(std::string(k)), "unknown key");
        }
    }

    const toml::node* get(const std::string& k) const { return t_.get(k); }

    std::optional<std::string> str(const std::string& k) const {
        const auto* n = t_.get(k);
        if (!n) return std::nullopt;
        if (!n->is_string()) throw ConfigError(key(k), "expected a string, got " + type_name(*n));
        return n->value<std::string>();
    }

    std::optional<std::int64_t> integer(const std::string& k, std::int64_t lo,
                                        std::int64_t hi) const {
        const auto* n = t_.get(k);
        if (!n) return std::nullopt;
        if (!n->is_integer())
            throw ConfigError(key(k), "expected an integer, got " + type_name(*n));
        auto v = *n->value<std::int64_t>();
        if (v < lo || v > hi)
            throw ConfigError(key(k), "value " + std::to_string(v) + " is outside " +
                                          std::to_string(lo) + ".." + std::to_string(hi));
        return v;
    }

    std::optional<std::chrono::seconds> duration(const std::string& k) const {
        auto s = str(k);
        if (!s) return std::nullopt;
        return parse_duration(key(k), *s);
    }

    std::optional<std::uint64_t> size(const std::string& k) const {
        const auto* n = t_.get(k);
        if (!n) return std::nullopt;
        if (n->is_integer()) {
            auto v = *n->value<std::int64_t>();
            if (v <= 0) throw ConfigError(key(k), "size must be positive");
            return static_cast<std::uint64_t>(v);
        }
        if (n->is_string()) return parse_size(key(k), *n->value<std::string>());
        throw ConfigError(key(k), "expected a size like \"50M\" or a byte count");
    }

    std::vector<std::string> strings(const std::string& k) const {
        const auto* n = t_.get(k);
        if (!n) return {};
        const auto* arr = n->as_array();
        if (!arr) throw ConfigError(key(k), "expected an array of strings, got " + type_name(*n));
        std::vector<std::string> out;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto& e = (*arr)[i];
            if (!e.is_string())
                throw ConfigError(key(k) + "[" + std::to_string(i) + "]", "expected a string");
            out.push_back(*e.value<std::string>());
        }
        return out;
    }

    const toml::table* table(const std::string& k) const {
        const auto* n = t_.get(k);
        if (!n) return nullptr;
        if (!n->is_table()) throw ConfigError(key(k), "expected a table, got " + type_name(*n));
        return n->as_table();
    }

    std::vector<const toml::table*> tables(const std::string& k) const {
        const auto* n = t_.get(k);
        if (!n) return {};
        const auto* arr = n->as_array();
        if (!arr || !arr->is_array_of_tables())
            throw ConfigError(key(k), "expected an array of tables ([[" + k + "]])");
        std::vector<const toml::table*> out;
        for (const auto& e : *arr) out.push_back(e.as_table());
        return out;
    }

  private:
    const toml::table& t_;
    std::string prefix_;
};

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool valid_domain(const std::string& d) {
    if (d.empty() || d.size() > 253) return false;
    for (char c : d)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
              static_cast<unsigned char>(c) >= 0x80))
            return false;
    return d.front() != '.' && d.back() != '.' && d.find("..") == std::string::npos;
}

std::string domain_value(const std::string& key, const std::string& v) {
    std::string d = to_lower(trim(v));
    if (!valid_domain(d))
        throw ConfigError(key, "\"" + log_escape(v) + "\" is not a valid domain name");
    return d;
}

void read_server(const TableReader& r, Config& c) {
    r.check_known({"hostname", "data_dir", "admin_listen", "log_level", "user"});
    if (auto v = r.str("user")) {
        if (!v->empty() && ::getpwnam(v->c_str()) == nullptr)
            throw ConfigError(r.key("user"), "no such user \"" + log_escape(*v) + "\"");
        c.user = *v;
    }
    if (auto v = r.str("hostname")) c.hostname = domain_value(r.key("hostname"), *v);
    if (auto v = r.str("data_dir")) {
        if (v->empty()) throw ConfigError(r.key("data_dir"), "must not be empty");
        c.data_dir = *v;
    }
    if (auto v = r.str("admin_listen")) {
        if (v->empty() || *v == "off")
            c.admin_listen.reset();
        else
            c.admin_listen = parse_host_port(r.key("admin_listen"), *v);
    }
    if (auto v = r.str("log_level")) {
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
        if (!levels.count(*v))
            throw ConfigError(r.key("log_level"), "must be trace, debug, info, warn or error");
        c.log_level = *v;
    }
}

Listener read_listener(const TableReader& r) {
    r.check_known({"name", "address", "role", "tls"});
    Listener l;
    if (auto v = r.str("name")) l.name = *v;
    auto addr = r.str("address");
    if (!addr) throw ConfigError(r.key("address"), "missing (e.g. \"0.0.0.0:25\")");
    l.address = parse_host_port(r.key("address"), *addr);
    if (!is_ip_literal(l.address.host))
        throw ConfigError(r.key("address"), "\"" + log_escape(l.address.host) +
                                                "\" is not an IP address (listeners bind to "
                                                "addresses, e.g. 0.0.0.0:25 or [::]:25)");
    if (auto v = r.str("role")) {
        if (*v == "inbound")
            l.role = ListenerRole::Inbound;
        else if (*v == "outbound")
            l.role = ListenerRole::Outbound;
        else
            throw ConfigError(r.key("role"), "must be \"inbound\" or \"outbound\"");
    }
    if (auto v = r.str("tls")) {
        if (*v == "none")
            l.tls = TlsMode::None;
        else if (*v == "optional")
            l.tls = TlsMode::Optional;
        else if (*v == "required")
            l.tls = TlsMode::Required;
        else
            throw ConfigError(r.key("tls"), "must be \"none\", \"optional\" or \"required\"");
    }
    return l;
}

Route read_route(const TableReader& r) {
    r.check_known({"domain", "next_hop", "tls"});
    Route route;
    auto d = r.str("domain");
    if (!d) throw ConfigError(r.key("domain"), "missing (a domain, or \"*\" for all others)");
    route.domain = *d == "*" ? "*" : domain_value(r.key("domain"), *d);
    auto hop = r.str("next_hop");
    if (!hop) throw ConfigError(r.key("next_hop"), "missing (\"host:port\" or \"mx\")");
    if (*hop == "mx") {
        route.use_mx = true;
    } else {
        route.use_mx = false;
        route.next_hop = parse_host_port(r.key("next_hop"), *hop, 25);
    }
    if (auto v = r.str("tls")) {
        if (*v == "none")
            route.tls = OutboundTls::None;
        else if (*v == "opportunistic")
            route.tls = OutboundTls::Opportunistic;
        else if (*v == "required")
            route.tls = OutboundTls::Required;
        else
            throw ConfigError(r.key("tls"), "must be \"none\", \"opportunistic\" or \"required\"");
    }
    return route;
}

void read_limits(const TableReader& r, Limits& l) {
    r.check_known({"max_message_size", "max_recipients", "max_connections",
                   "max_connections_per_client", "max_errors", "idle_timeout", "data_timeout"});
    if (auto v = r.size("max_message_size")) l.max_message_size = *v;
    if (auto v = r.integer("max_recipients", 1, 100000)) l.max_recipients = unsigned(*v);
    if (auto v = r.integer("max_connections", 1, 1000000)) l.max_connections = unsigned(*v);
    if (auto v = r.integer("max_connections_per_client", 1, 1000000))
        l.max_connections_per_client = unsigned(*v);
    if (auto v = r.integer("max_errors", 1, 1000)) l.max_errors = unsigned(*v);
    if (auto v = r.duration("idle_timeout")) l.idle_timeout = *v;
    if (auto v = r.duration("data_timeout")) l.data_timeout = *v;
}

void read_queue(const TableReader& r, Queue& q) {
    r.check_known({"lifetime", "retry", "max_connections", "max_connections_per_destination",
                   "max_recipients_per_transaction", "max_messages_per_connection",
                   "connect_timeout", "command_timeout", "mx_port", "sync"});
    if (auto v = r.duration("lifetime")) q.lifetime = *v;
    if (r.get("retry")) {
        auto items = r.strings("retry");
        if (items.empty()) throw ConfigError(r.key("retry"), "needs at least one delay");
        q.retry.clear();
        for (std::size_t i = 0; i < items.size(); ++i)
            q.retry.push_back(
                parse_duration(r.key("retry") + "[" + std::to_string(i) + "]", items[i]));
    }
    if (auto v = r.integer("max_connections", 1, 100000)) q.max_connections = unsigned(*v);
    if (auto v = r.integer("max_connections_per_destination", 1, 10000))
        q.max_connections_per_destination = unsigned(*v);
    if (auto v = r.integer("max_recipients_per_transaction", 1, 10000))
        q.max_recipients_per_transaction = unsigned(*v);
    if (auto v = r.integer("max_messages_per_connection", 1, 100000))
        q.max_messages_per_connection = unsigned(*v);
    if (auto v = r.duration("connect_timeout")) q.connect_timeout = *v;
    if (auto v = r.duration("command_timeout")) q.command_timeout = *v;
    if (auto v = r.integer("mx_port", 1, 65535)) q.mx_port = static_cast<std::uint16_t>(*v);
    if (auto v = r.str("sync")) {
        if (*v == "parallel")
            q.sync = SpoolSync::Parallel;
        else if (*v == "filesystem")
            q.sync = SpoolSync::Filesystem;
        else
            throw ConfigError(r.key("sync"), "must be \"parallel\" or \"filesystem\"");
    }
}

Config read_root(const toml::table& root) {
    Config c = defaults();
    TableReader r(root, "");
    r.check_known(
        {"server", "listener", "accept", "route", "tls", "dns", "smtp", "limits", "queue"});
    if (const auto* t = r.table("server")) read_server(TableReader(*t, "server"), c);
    if (r.get("listener")) {
        c.listeners.clear();
        auto ts = r.tables("listener");
        for (std::size_t i = 0; i < ts.size(); ++i)
            c.listeners.push_back(
                read_listener(TableReader(*ts[i], "listener[" + std::to_string(i) + "]")));
    }
    if (const auto* t = r.table("accept")) {
        TableReader a(*t, "accept");
        a.check_known({"domains", "trusted_networks"});
        auto domains = a.strings("domains");
        for (std::size_t i = 0; i < domains.size(); ++i)
            c.accept_domains.push_back(
                domain_value(a.key("domains") + "[" + std::to_string(i) + "]", domains[i]));
        if (a.get("trusted_networks")) {
            c.trusted_networks.clear();
            auto nets = a.strings("trusted_networks");
            for (std::size_t i = 0; i < nets.size(); ++i)
                c.trusted_networks.push_back(parse_network(
                    a.key("trusted_networks") + "[" + std::to_string(i) + "]", nets[i]));
        }
    }
    auto routes = r.tables("route");
    for (std::size_t i = 0; i < routes.size(); ++i)
        c.routes.push_back(read_route(TableReader(*routes[i], "route[" + std::to_string(i) + "]")));
    if (const auto* t = r.table("tls")) {
        TableReader tr(*t, "tls");
        tr.check_known({"cert", "key"});
        if (auto v = tr.str("cert")) c.tls_cert = *v;
        if (auto v = tr.str("key")) c.tls_key = *v;
        if (c.tls_cert.empty() != c.tls_key.empty())
            throw ConfigError(c.tls_cert.empty() ? "tls.cert" : "tls.key",
                              "tls.cert and tls.key must be set together");
        for (const auto& [k, path] : {std::pair{"tls.cert", c.tls_cert}, {"tls.key", c.tls_key}})
            if (!path.empty() && ::access(path.c_str(), R_OK) != 0)
                throw ConfigError(
                    k, "cannot read \"" + log_escape(path) + "\": " + std::strerror(errno));
    }
    if (const auto* t = r.table("dns")) {
        TableReader d(*t, "dns");
        d.check_known({"resolver"});
        if (auto v = d.str("resolver")) {
            if (!v->empty() && !is_ip_literal(parse_host_port(d.key("resolver"), *v, 53).host))
                throw ConfigError(d.key("resolver"),
                                  "\"" + log_escape(*v) + "\" is not an IP address with a port");
            c.dns_resolver = *v;
        }
    }
    if (const auto* t = r.table("smtp")) {
        TableReader s(*t, "smtp");
        s.check_known({"bare_newline"});
        if (auto v = s.str("bare_newline")) {
            if (*v == "normalize")
                c.bare_newline = BareNewline::Normalize;
            else if (*v == "reject")
                c.bare_newline = BareNewline::Reject;
            else
                throw ConfigError(s.key("bare_newline"), "must be \"normalize\" or \"reject\"");
        }
    }
    if (const auto* t = r.table("limits")) read_limits(TableReader(*t, "limits"), c.limits);
    if (const auto* t = r.table("queue")) read_queue(TableReader(*t, "queue"), c.queue);
    validate(c);
    return c;
}

}  // namespace

std::string HostPort::str() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

HostPort parse_host_port(const std::string& key, const std::string& text,
                         std::optional<std::uint16_t> default_port) {
    HostPort hp;
    std::string port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos)
            throw ConfigError(key, "\"" + text + "\" has '[' without ']'");
        hp.host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') throw ConfigError(key, "expected ':' after ']'");
            port_text = text.substr(close + 2);
        }
    } else {
        auto colon = text.rfind(':');
        if (colon != std::string::npos && text.find(':') == colon) {
            hp.host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
        } else if (colon == std::string::npos) {
            hp.host = text;
        } else {
            throw ConfigError(key, "\"" + text + "\": write IPv6 addresses as [addr]:port");
        }
    }
    if (hp.host.empty()) throw ConfigError(key, "\"" + text + "\" has no host");
    if (port_text.empty()) {
        if (!default_port) throw ConfigError(key, "\"" + text + "\" has no port (host:port)");
        hp.port = *default_port;
        return hp;
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
        throw ConfigError(key, "\"" + port_text + "\" is not a port number (1-65535)");
    hp.port = static_cast<std::uint16_t>(port);
    return hp;
}

Network parse_network(const std::string& key, const std::string& text) {
    Network n;
    std::string addr = text;
    auto slash = text.find('/');
    if (slash != std::string::npos) addr = text.substr(0, slash);
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
        n.address.assign(buf, buf + 4);
    } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
        n.address.assign(buf, buf + 16);
    } else {
        throw ConfigError(key, "\"" + text + "\" is not an IP network (e.g. 10.0.0.0/8)");
    }
    unsigned max = static_cast<unsigned>(n.address.size() * 8);
    n.prefix = max;
    if (slash != std::string::npos) {
        std::string p = text.substr(slash + 1);
        unsigned v = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc() || end != p.data() + p.size() || v > max)
            throw ConfigError(key, "\"" + text + "\" has a bad prefix length");
        n.prefix = v;
    }
    return n;
}

bool Network::contains(const std::string& ip) const {
    unsigned char buf[16];
    std::size_t len = 0;
    std::string text = ip;
    // IPv4-mapped IPv6 (::ffff:1.2.3.4) compares as IPv4.
    if (address.size() == 4 && text.rfind("::ffff:", 0) == 0) text = text.substr(7);
    if (inet_pton(AF_INET, text.c_str(), buf) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, text.c_str(), buf) == 1)
        len = 16;
    if (len != address.size()) return false;
    unsigned bits = prefix;
    for (std::size_t i = 0; i < len && bits > 0; ++i) {
        unsigned take = bits >= 8 ? 8 : bits;
        unsigned char mask = static_cast<unsigned char>(0xff00 >> take);
        if ((buf[i] & mask) != (address[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

std::chrono::seconds parse_duration(const std::string& key, const std::string& text) {
    // "90s", "15m", "96h", "2d", or a combination such as "1h30m". Nothing in
    // a mail system waits longer than ten years; above that a value is a
    // typo, and it would overflow the clocks.
    constexpr std::int64_t kMaxSeconds = 10LL * 366 * 86400;
    const std::string shown = log_escape(text);
    if (text.empty()) throw ConfigError(key, "empty duration");
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
        if (ec == std::errc::result_out_of_range)
            throw ConfigError(key, "\"" + shown + "\" is longer than ten years");
        if (ec != std::errc() || v < 0)
            throw ConfigError(key, "\"" + shown + "\" is not a duration (e.g. 30s, 15m, 96h)");
        i = static_cast<std::size_t>(p - text.data());
        if (i >= text.size())
            throw ConfigError(key, "\"" + shown + "\" needs a unit (s, m, h or d)");
        std::int64_t unit = 0;
        switch (text[i]) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86400;
                break;
            default:
                throw ConfigError(key, "\"" + shown + "\" has unknown unit '" +
                                           log_escape(std::string(1, text[i])) +
                                           "' (s, m, h or d)");
        }
        if (v > kMaxSeconds / unit || total + v * unit > kMaxSeconds)
            throw ConfigError(key, "\"" + shown + "\" is longer than ten years");
        total += v * unit;
        ++i;
    }
    return std::chrono::seconds(total);
}

std::uint64_t parse_size(const std::string& key, const std::string& text) {
    constexpr std::uint64_t kMaxBytes = 1ull << 40;  // 1 TB: beyond any mail limit
    const std::string shown = log_escape(text);
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range)
        throw ConfigError(key, "\"" + shown + "\" is larger than 1 TB");
    if (ec != std::errc() || v == 0)
        throw ConfigError(key, "\"" + shown + "\" is not a size (e.g. 50M, 512K, 1G)");
    std::string unit(p, text.data() + text.size());
    std::uint64_t mult = 0;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (unit == "K" || unit == "KB")
        mult = 1024;
    else if (unit == "M" || unit == "MB")
        mult = 1024 * 1024;
    else if (unit == "G" || unit == "GB")
        mult = 1024ull * 1024 * 1024;
    else
        throw ConfigError(
            key, "\"" + shown + "\" has unknown unit \"" + log_escape(unit) + "\" (K, M or G)");
    if (v > kMaxBytes / mult) throw ConfigError(key, "\"" + shown + "\" is larger than 1 TB");
    return v * mult;
}

Config defaults() {
    Config c;
    c.trusted_networks = {parse_network("", "127.0.0.0/8"), parse_network("", "::1/128")};
    return c;
}

Config load_string(const std::string& toml_text, const std::string& source) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << "line " << e.source().begin.line;
        throw ConfigError(where.str(), std::string(e.description()));
    }
    return read_root(root);
}

Config load_file(const std::string& path) {
    if (::access(path.c_str(), R_OK) != 0)
        throw ConfigError(path, std::string("cannot read the file: ") + std::strerror(errno));
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << path << " line " << e.source().begin.line;
        throw ConfigError(where.str(), std::string(e.description()));
    }
    return read_root(root);
}

void validate(const Config& c) {
    if (c.listeners.empty()) throw ConfigError("listener", "at least one listener is needed");
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.listeners.size(); ++i)
        if (!names.insert(c.listeners[i].name).second)
            throw ConfigError("listener[" + std::to_string(i) + "].name",
                              "duplicate listener name \"" + c.listeners[i].name + "\"");
    std::set<std::string> addresses;
    for (std::size_t i = 0; i < c.listeners.size(); ++i)
        if (!addresses.insert(c.listeners[i].address.str()).second)
            throw ConfigError("listener[" + std::to_string(i) + "].address",
                              "another listener already uses " + c.listeners[i].address.str());
    std::set<std::string> route_domains;
    for (std::size_t i = 0; i < c.routes.size(); ++i)
        if (!route_domains.insert(c.routes[i].domain).second)
            throw ConfigError("route[" + std::to_string(i) + "].domain",
                              "duplicate route for \"" + c.routes[i].domain + "\"");
    if (c.queue.lifetime.count() < 1) throw ConfigError("queue.lifetime", "must be at least 1s");
    for (std::size_t i = 0; i < c.queue.retry.size(); ++i)
        if (c.queue.retry[i].count() < 1)
            throw ConfigError("queue.retry[" + std::to_string(i) + "]", "must be at least 1s");
    if (c.limits.idle_timeout.count() < 1)
        throw ConfigError("limits.idle_timeout", "must be at least 1s");
}

Route Config::route_for(const std::string& domain) const {
    std::string d = to_lower(domain);
    for (const auto& r : routes)
        if (r.domain == d) return r;
    for (const auto& r : routes)
        if (r.domain == "*") return r;
    Route mx;
    mx.domain = "*";
    mx.use_mx = true;
    return mx;
}

bool Config::accepts_domain(const std::string& domain) const {
    std::string d = to_lower(domain);
    return std::find(accept_domains.begin(), accept_domains.end(), d) != accept_domains.end();
}

bool Config::is_trusted(const std::string& ip) const {
    return std::any_of(trusted_networks.begin(), trusted_networks.end(),
                       [&](const Network& n) { return n.contains(ip); });
}

}  // namespace gatehouse::config
