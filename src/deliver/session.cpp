// Session set-up for outbound SMTP (see session.hpp).
#include "deliver/session.hpp"

#include <arpa/inet.h>

#include "base/text.hpp"
#include "log/log.hpp"

namespace gatehouse::deliver {

namespace asio = boost::asio;

namespace {

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

SessionResult failed(std::string reason, bool reached, bool unreachable = false) {
    SessionResult r;
    r.failure.reason = std::move(reason);
    r.failure.reached = reached;
    r.failure.unreachable = unreachable;
    return r;
}

// A failure decided by a server reply: 5xx bounces, the rest defers.
SessionResult refused(const ServerReply& reply, bool unreachable) {
    SessionResult r = failed(reply.summary(), true, unreachable);
    if (reply.permanent()) r.failure.outcome = RcptOutcome::Bounced;
    return r;
}

void log_failure(const SessionOptions& options, const Target& target, const char* stage,
                 const std::string& why) {
    log::info("deliver.session.failed qid={} remote={} stage={} reason=\"{}\"", options.queue_id,
              log_escape(target.remote()), stage, log_escape(why));
}

// EHLO, or HELO when the server refuses EHLO with 5xx (RFC 5321 3.2).
asio::awaitable<Result<ServerReply>> greet(Connection& conn, const SessionOptions& options,
                                           bool& esmtp) {
    auto ehlo = co_await conn.command("EHLO " + options.helo_name);
    if (!ehlo || !ehlo->permanent()) {
        esmtp = true;
        co_return ehlo;
    }
    esmtp = false;
    co_return co_await conn.command("HELO " + options.helo_name);
}

SessionResult tls_failure(const SessionOptions& options, const Target& target,
                          const std::string& why) {
    log_failure(options, target, "starttls", why);
    if (options.tls == config::OutboundTls::Required)
        return failed(reasons::tls_failed(target.remote(), why), true);
    SessionResult r = failed(reasons::connection_lost(target.remote(), "STARTTLS", why), true);
    r.failure.retry_in_clear = true;
    return r;
}

// STARTTLS and the EHLO that must follow it; nullopt when TLS is up.
asio::awaitable<std::optional<SessionResult>> upgrade(Connection& conn, const Target& target,
                                                      const SessionOptions& options) {
    auto reply = co_await conn.command("STARTTLS");
    if (!reply) co_return tls_failure(options, target, reply.error().message);
    if (reply->code != 220) {
        co_await conn.quit();
        co_return tls_failure(options, target, "STARTTLS refused: " + reply->summary());
    }
    std::string sni = is_ip_literal(target.host) ? std::string() : target.host;
    auto handshake = co_await conn.start_tls(options.tls_context, sni);
    if (!handshake) co_return tls_failure(options, target, handshake.error().message);

    // RFC 3207 section 4.2: forget what was said in the clear, ask again.
    auto ehlo = co_await conn.command("EHLO " + options.helo_name);
    if (!ehlo)
        co_return tls_failure(options, target, "EHLO after STARTTLS: " + ehlo.error().message);
    if (!ehlo->positive()) {
        co_await conn.quit();
        co_return refused(*ehlo, false);
    }
    conn.extensions = parse_ehlo(*ehlo);
    log::debug("deliver.tls.started qid={} remote={} tls=\"{}\"", options.queue_id,
               log_escape(target.remote()), conn.tls_description());
    co_return std::nullopt;
}

}  // namespace

asio::awaitable<SessionResult> open_session(asio::any_io_executor executor, const Target& target,
                                            const SessionOptions& options) {
    auto opened = co_await Connection::open(executor, target, options.timeouts);
    if (!opened) {
        log_failure(options, target, "connect", opened.error().message);
        co_return failed(reasons::connect_failed(target.remote(), opened.error().message), false,
                         true);
    }
    std::unique_ptr<Connection> conn = std::move(*opened);

    // Greeting: a 4xx or silence means the host is not taking mail now.
    auto greeting = co_await conn->read_reply();
    if (!greeting) {
        log_failure(options, target, "greeting", greeting.error().message);
        co_return failed(
            reasons::connection_lost(target.remote(), "greeting", greeting.error().message), true,
            true);
    }
    if (!greeting->positive()) {
        log_failure(options, target, "greeting", greeting->summary());
        co_await conn->quit();
        co_return refused(*greeting, greeting->transient());
    }

    bool esmtp = true;
    auto hello = co_await greet(*conn, options, esmtp);
    if (!hello) {
        log_failure(options, target, "ehlo", hello.error().message);
        co_return failed(reasons::connection_lost(target.remote(), "EHLO", hello.error().message),
                         true);
    }
    if (!hello->positive()) {
        log_failure(options, target, esmtp ? "ehlo" : "helo", hello->summary());
        co_await conn->quit();
        co_return refused(*hello, false);
    }
    conn->extensions = esmtp ? parse_ehlo(*hello) : Extensions{};

    // TLS policy of the route. Without a client context (OpenSSL set-up
    // failed at start) opportunistic routes go on in the clear at once.
    bool offer = conn->extensions.starttls;
    bool can = offer && options.tls_context && options.starttls_allowed;
    if (options.tls != config::OutboundTls::None && can) {
        if (auto failure = co_await upgrade(*conn, target, options)) co_return std::move(*failure);
    } else if (options.tls == config::OutboundTls::Required) {
        std::string why = offer ? "no TLS client context" : "STARTTLS not offered";
        log_failure(options, target, "starttls", why);
        co_await conn->quit();
        co_return failed(offer ? reasons::tls_failed(target.remote(), why)
                               : reasons::tls_not_offered(target.remote()),
                         true);
    }

    SessionResult r;
    r.connection = std::move(conn);
    co_return r;
}

asio::awaitable<bool> reset_session(Connection& connection) {
    if (!connection.is_open()) co_return false;
    auto reply = co_await connection.command("RSET");
    co_return reply && reply->positive();
}

}  // namespace gatehouse::deliver
