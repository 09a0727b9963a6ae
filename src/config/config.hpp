// The configuration snapshot: every setting of the running server, with the
// embedded defaults that let `gatehouse serve` start with no file at all.
//
// Loaded from TOML (toml++); every key is checked, and the first problem is
// reported as one line "config: KEY: PROBLEM" (ConfigError). The snapshot is
// immutable once built and passed by const reference; nothing reads
// configuration from globals.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/envelope.hpp"

namespace gatehouse::config {

class ConfigError : public std::runtime_error {
  public:
    ConfigError(const std::string& key, const std::string& problem)
        : std::runtime_error("config: " + key + ": " + problem), key_(key) {}
    const std::string& key() const { return key_; }

  private:
    std::string key_;
};

struct HostPort {
    std::string host;  // IP literal or name, without brackets
    std::uint16_t port = 0;
    std::string str() const;
};

// "127.0.0.1:25", "[::1]:25", "mail.example:2525". Throws ConfigError(key).
HostPort parse_host_port(const std::string& key, const std::string& text,
                         std::optional<std::uint16_t> default_port = std::nullopt);

enum class TlsMode { None, Optional, Required };           // listener: STARTTLS offered / demanded
enum class OutboundTls { None, Opportunistic, Required };  // route
enum class BareNewline { Normalize, Reject };
// How the spool makes a batch of new files durable: fdatasync on each file
// from a pool of threads (the journal merges them), or one syncfs() of the
// whole spool filesystem. Both fsync the directory too.
enum class SpoolSync { Parallel, Filesystem };

struct Network {
    std::vector<std::uint8_t> address;  // 4 or 16 bytes
    unsigned prefix = 0;
    bool contains(const std::string& ip) const;
};
Network parse_network(const std::string& key, const std::string& text);

struct Listener {
    std::string name = "inbound";
    HostPort address{"127.0.0.1", 2525};
    ListenerRole role = ListenerRole::Inbound;
    TlsMode tls = TlsMode::Optional;
};

struct Route {
    std::string domain;  // lowercased; "*" is the default route
    bool use_mx = true;  // next hop from the domain's MX records
    HostPort next_hop;   // when !use_mx
    OutboundTls tls = OutboundTls::Opportunistic;
};

struct Limits {
    std::uint64_t max_message_size = 50ull * 1024 * 1024;
    unsigned max_recipients = 1000;
    unsigned max_connections = 1000;
    unsigned max_connections_per_client = 50;
    unsigned max_errors = 10;  // bad commands before the session is closed
    std::chrono::seconds idle_timeout{300};
    std::chrono::seconds data_timeout{600};
};

struct Queue {
    std::chrono::seconds lifetime{96 * 3600};
    // Delays between attempts; the last one repeats until the lifetime ends.
    std::vector<std::chrono::seconds> retry{std::chrono::seconds(60), std::chrono::seconds(300),
                                            std::chrono::seconds(600), std::chrono::seconds(900)};
    unsigned max_connections = 100;  // all outbound connections
    unsigned max_connections_per_destination = 20;
    unsigned max_recipients_per_transaction = 100;
    unsigned max_messages_per_connection = 100;  // connection reuse
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds command_timeout{300};
    // TCP port for hosts found by MX lookup. Always 25 on the internet; tests
    // and lab set-ups point it at a sink on another port.
    std::uint16_t mx_port = 25;
    SpoolSync sync = SpoolSync::Parallel;
};

struct Config {
    std::string hostname = "gatehouse.localdomain";
    std::string data_dir = "./var";
    std::optional<HostPort> admin_listen = HostPort{"127.0.0.1", 8025};
    std::vector<Listener> listeners{Listener{}};
    std::vector<std::string> accept_domains;  // lowercased
    std::vector<Network> trusted_networks;
    std::vector<Route> routes;  // checked in order, exact domain, then "*"
    std::string tls_cert;       // empty: self-signed under data_dir/tls
    std::string tls_key;
    std::string dns_resolver;  // "host:port" or empty for /etc/resolv.conf
    BareNewline bare_newline = BareNewline::Normalize;
    Limits limits;
    Queue queue;
    std::string log_level = "info";
    // Unprivileged user to switch to after binding the ports, when started
    // as root. Empty: keep the starting user (a warning is logged for root).
    std::string user;

    // The route for a recipient domain (exact match, then "*", then MX).
    Route route_for(const std::string& domain) const;
    bool accepts_domain(const std::string& domain) const;
    bool is_trusted(const std::string& ip) const;
};

Config defaults();

// Parses a TOML file over the defaults. Throws ConfigError.
Config load_file(const std::string& path);
Config load_string(const std::string& toml_text, const std::string& source = "config");

// Checks cross-field rules (unique listener names, sane limits). Throws ConfigError.
void validate(const Config& config);

std::chrono::seconds parse_duration(const std::string& key, const std::string& text);
std::uint64_t parse_size(const std::string& key, const std::string& text);

}  // namespace gatehouse::config
