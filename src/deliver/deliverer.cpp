// Outbound delivery of one message to one destination (see deliverer.hpp):
// take an idle cached connection or plan targets from DNS and open a
// session with the first one that works, run the transaction, then cache
// the connection for the next message to the same destination.
//
// Called by the queue manager, one coroutine per attempt; attempts may run
// concurrently, also for one destination. The connection cache is the only
// shared state and is guarded by a mutex (its operations never suspend).
//
// SECURITY: see session.hpp (TLS policy), transaction.hpp (content) and
// reply_reader.hpp (replies). Peer text reaches log lines only through
// log_escape.
#include "deliver/deliverer.hpp"

#include <boost/asio/ssl/context.hpp>
#include <map>
#include <mutex>

#include "base/text.hpp"
#include "deliver/connection.hpp"
#include "deliver/outcome.hpp"
#include "deliver/session.hpp"
#include "deliver/targets.hpp"
#include "deliver/transaction.hpp"
#include "dns/resolver.hpp"
#include "log/log.hpp"
#include "tls/tls.hpp"

namespace gatehouse::deliver {

namespace asio = boost::asio;

namespace {

// An idle connection is dropped after this long: servers commonly time out
// idle clients after 30 s or more, and a fresh RSET round trip is cheap.
constexpr std::chrono::seconds kMaxIdle{10};

const char* outcome_name(RcptOutcome outcome) {
    switch (outcome) {
        case RcptOutcome::Delivered:
            return "delivered";
        case RcptOutcome::Deferred:
            return "deferred";
        case RcptOutcome::Bounced:
            return "bounced";
    }
    return "unknown";
}

}  // namespace

Destination destination_for(const config::Config& config, const std::string& recipient_domain) {
    Destination d;
    d.domain = to_lower(recipient_domain);
    if (!d.domain.empty() && d.domain.back() == '.') d.domain.pop_back();
    d.route = config.route_for(d.domain);
    if (d.route.use_mx) {
        d.key = "mx:" + d.domain;
    } else {
        config::HostPort hop = d.route.next_hop;
        hop.host = to_lower(hop.host);
        d.key = "relay:" + hop.str();
    }
    return d;
}

struct Deliverer::Impl {
    Impl(asio::any_io_executor ex, const config::Config& cfg, dns::Resolver& res)
        : executor(std::move(ex)), config(cfg), resolver(res) {
        try {
            tls_context = tls::make_client_context();
        } catch (const std::exception& e) {
            // Opportunistic routes still deliver in the clear; Required
            // routes defer with the reason.
            log::error("deliver.tls.unavailable reason=\"{}\"", log_escape(e.what()));
        }
    }

    asio::awaitable<std::unique_ptr<Connection>> take_idle(const std::string& key);
    void put_idle(const std::string& key, std::unique_ptr<Connection> conn);
    void close_expired();
    asio::awaitable<std::unique_ptr<Connection>> connect(const Destination& destination,
                                                         const std::string& qid,
                                                         AttemptResult& result, Outcomes& outcomes);
    SessionOptions session_options(const Destination& destination, const std::string& qid) const;
    void log_results(const Destination& destination, const Envelope& envelope,
                     const std::vector<std::size_t>& recipients, const AttemptResult& result,
                     bool reused) const;

    asio::any_io_executor executor;
    config::Config config;  // a copy: the snapshot may be replaced while we run
    dns::Resolver& resolver;
    std::shared_ptr<asio::ssl::context> tls_context;

    std::mutex idle_mutex;
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
};

// The most recently used idle connection for the key that still answers
// RSET. Connections idle too long, for any key, are closed on the way.
asio::awaitable<std::unique_ptr<Connection>> Deliverer::Impl::take_idle(const std::string& key) {
    close_expired();
    while (true) {
        std::unique_ptr<Connection> conn;
        {
            std::lock_guard lock(idle_mutex);
            auto it = idle.find(key);
            if (it == idle.end() || it->second.empty()) co_return nullptr;
            conn = std::move(it->second.back());
            it->second.pop_back();
            if (it->second.empty()) idle.erase(it);
        }
        if (co_await reset_session(*conn)) co_return conn;
        log::debug("deliver.connection.dropped remote={} reason=\"RSET failed\"",
                   log_escape(conn->target().remote()));
        conn->close();
    }
}

// Without a timer of its own the cache ages out when it is used: every
// attempt closes what has idled past kMaxIdle. They are closed without QUIT,
// so no attempt waits on another destination's server; the peer sees a
// normal close of an idle connection.
void Deliverer::Impl::close_expired() {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(idle_mutex);
    for (auto it = idle.begin(); it != idle.end();) {
        auto& conns = it->second;
        std::erase_if(conns, [&](const std::unique_ptr<Connection>& c) {
            return now - c->idle_since > kMaxIdle;
        });
        it = conns.empty() ? idle.erase(it) : std::next(it);
    }
}

void Deliverer::Impl::put_idle(const std::string& key, std::unique_ptr<Connection> conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(idle_mutex);
    idle[key].push_back(std::move(conn));
}

SessionOptions Deliverer::Impl::session_options(const Destination& destination,
                                                const std::string& qid) const {
    SessionOptions options;
    options.helo_name = config.hostname;
    options.tls = destination.route.tls;
    options.tls_context = tls_context;
    options.timeouts = Timeouts{config.queue.connect_timeout, config.queue.command_timeout};
    options.queue_id = qid;
    return options;
}

// Plans targets and opens a session with the first that works. On failure
// every recipient is decided and nullptr returned.
asio::awaitable<std::unique_ptr<Connection>> Deliverer::Impl::connect(
    const Destination& destination, const std::string& qid, AttemptResult& result,
    Outcomes& outcomes) {
    TargetPlan plan = co_await plan_targets(resolver, destination, config.queue.mx_port, qid);
    if (plan.decided) {
        outcomes.decide_undecided(plan.outcome, plan.reason);
        result.destination_unreachable = plan.unreachable;
        co_return nullptr;
    }

    SessionOptions options = session_options(destination, qid);
    bool all_unreachable = true;
    bool all_permanent = true;
    std::string last_reason = "no target to try";
    for (const Target& target : plan.targets) {
        SessionResult session = co_await open_session(executor, target, options);
        if (!session.connection && session.failure.retry_in_clear) {
            // RFC 7435: a failed opportunistic handshake must not block
            // delivery; try the same host again without STARTTLS.
            SessionOptions clear = options;
            clear.starttls_allowed = false;
            session = co_await open_session(executor, target, clear);
        }
        if (session.connection) co_return std::move(session.connection);

        const SessionFailure& f = session.failure;
        if (f.reached) result.remote = target.remote();
        all_unreachable = all_unreachable && f.unreachable;
        all_permanent = all_permanent && f.outcome == RcptOutcome::Bounced;
        last_reason = f.reason;
    }
    outcomes.decide_undecided(
        all_permanent && !plan.targets.empty() ? RcptOutcome::Bounced : RcptOutcome::Deferred,
        last_reason);
    result.destination_unreachable = all_unreachable;
    co_return nullptr;
}

void Deliverer::Impl::log_results(const Destination& destination, const Envelope& envelope,
                                  const std::vector<std::size_t>& recipients,
                                  const AttemptResult& result, bool reused) const {
    std::size_t counts[3] = {0, 0, 0};
    for (std::size_t i = 0; i < result.recipients.size(); ++i) {
        const RcptResult& r = result.recipients[i];
        ++counts[static_cast<int>(r.outcome)];
        std::string address = i < recipients.size() && recipients[i] < envelope.recipients.size()
                                  ? envelope.recipients[recipients[i]].address
                                  : std::string("?");
        log::info("deliver.recipient.{} qid={} rcpt={} remote={} reply=\"{}\"",
                  outcome_name(r.outcome), envelope.queue_id, log_escape(address),
                  log_escape(result.remote), log_escape(r.reply, 300));
    }
    log::info(
        "deliver.attempt.done qid={} destination={} remote={} tls=\"{}\" reused={} delivered={} "
        "deferred={} bounced={} unreachable={}",
        envelope.queue_id, log_escape(destination.key), log_escape(result.remote), result.tls,
        reused ? "yes" : "no", counts[0], counts[1], counts[2],
        result.destination_unreachable ? "yes" : "no");
}

Deliverer::Deliverer(asio::any_io_executor executor, const config::Config& config,
                     dns::Resolver& resolver)
    : impl_(std::make_unique<Impl>(std::move(executor), config, resolver)) {}

Deliverer::~Deliverer() = default;

asio::awaitable<AttemptResult> Deliverer::deliver(const Destination& destination,
                                                  const Envelope& envelope,
                                                  std::vector<std::size_t> recipients,
                                                  ContentRef content) {
    AttemptResult result;
    result.tls = "none";
    Outcomes outcomes(recipients.size());
    bool reused = false;
    try {
        for (std::size_t i = 0; i < recipients.size(); ++i)
            if (recipients[i] >= envelope.recipients.size())
                outcomes.decide(i, RcptOutcome::Deferred, reasons::internal("no such recipient"));

        std::unique_ptr<Connection> conn;
        if (!outcomes.all_decided()) {
            conn = co_await impl_->take_idle(destination.key);
            reused = conn != nullptr;
            if (!conn)
                conn = co_await impl_->connect(destination, envelope.queue_id, result, outcomes);
        }
        if (conn) {
            result.remote = conn->target().remote();
            result.tls = conn->tls_description();
            bool reusable =
                co_await run_transaction(*conn, envelope, recipients, content, outcomes);
            if (reusable && conn->is_open() &&
                conn->messages_sent < impl_->config.queue.max_messages_per_connection)
                impl_->put_idle(destination.key, std::move(conn));
            else
                co_await conn->quit();
        }
    } catch (const std::exception& e) {
        // Nothing below should throw; if something does, the message stays
        // queued instead of being lost or bounced.
        log::error("deliver.attempt.failed qid={} reason=\"{}\"", envelope.queue_id,
                   log_escape(e.what()));
        outcomes.decide_undecided(RcptOutcome::Deferred, reasons::internal(e.what()));
    }
    // Every path above decides every recipient; this only guards the rule.
    outcomes.decide_undecided(RcptOutcome::Deferred, reasons::internal("recipient left undecided"));
    result.recipients = outcomes.take();
    impl_->log_results(destination, envelope, recipients, result, reused);
    co_return result;
}

asio::awaitable<void> Deliverer::close_idle() {
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> all;
    {
        std::lock_guard lock(impl_->idle_mutex);
        all.swap(impl_->idle);
    }
    for (auto& [key, conns] : all)
        for (auto& conn : conns) co_await conn->quit();
}

}  // namespace gatehouse::deliver
