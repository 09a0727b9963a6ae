#include "app/serve.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "app/intake.hpp"
#include "app/privileges.hpp"
#include "base/text.hpp"
#include "deliver/deliverer.hpp"
#include "dns/resolver.hpp"
#include "events/event.hpp"
#include "http/admin_server.hpp"
#include "http/api_key.hpp"
#include "log/log.hpp"
#include "pipeline/stage.hpp"
#include "queue/manager.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"
#include "tls/tls.hpp"

namespace gatehouse::app {

config::Config build_config(const ServeOptions& o) {
    config::Config c =
        o.config_file.empty() ? config::defaults() : config::load_file(o.config_file);
    if (!o.listen.empty()) {
        config::Listener l;
        l.name = "cli";
        l.address = config::parse_host_port("--listen", o.listen);
        c.listeners = {l};
    }
    if (!o.relay.empty()) {
        config::Route r;
        r.domain = "*";
        r.use_mx = false;
        r.next_hop = config::parse_host_port("--relay", o.relay, 25);
        std::erase_if(c.routes, [](const config::Route& x) { return x.domain == "*"; });
        c.routes.push_back(r);
    }
    for (const auto& d : o.accept_domains) {
        if (d.empty() || d.find_first_of(" @/") != std::string::npos)
            throw config::ConfigError("--accept-domain", "\"" + d + "\" is not a domain name");
        c.accept_domains.push_back(to_lower(d));
    }
    if (!o.data_dir.empty()) c.data_dir = o.data_dir;
    if (!o.admin.empty()) {
        if (o.admin == "off")
            c.admin_listen.reset();
        else
            c.admin_listen = config::parse_host_port("--admin", o.admin);
    }
    if (!o.log_level.empty()) c.log_level = o.log_level;
    config::validate(c);
    return c;
}

int check_config(const std::string& path) {
    try {
        auto c = config::load_file(path);
        std::cout << "config: OK (" << c.listeners.size() << " listener(s), " << c.routes.size()
                  << " route(s), " << c.accept_domains.size() << " accepted domain(s))\n";
        return 0;
    } catch (const config::ConfigError& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}

namespace {

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create directory " + path + ": " + std::strerror(errno));
}

constexpr auto kShutdownGrace = std::chrono::seconds(10);

unsigned receive_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return std::clamp(n, 1u, 4u);
}

}  // namespace

int serve(const ServeOptions& options) {
    config::Config cfg;
    try {
        cfg = build_config(options);
    } catch (const config::ConfigError& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }

    try {
        make_dir(cfg.data_dir);
        make_dir(cfg.data_dir + "/log");
        log::init(cfg.log_level, cfg.data_dir + "/log/gatehouse.log");

        // Events: one stream, JSON lines on disk (docs/events.md).
        events::Bus bus;
        bus.subscribe(std::make_shared<events::JsonLinesSink>(cfg.data_dir + "/log/events.jsonl"));

        // TLS: the configured pair, or a self-signed one for the defaults.
        tls::CertPaths cert{cfg.tls_cert, cfg.tls_key};
        if (cert.cert.empty()) cert = tls::ensure_self_signed(cfg.data_dir + "/tls", cfg.hostname);
        auto server_tls = tls::make_server_context(cert);

        // Receiving side (SMTP, admin API) and delivery side run on separate
        // io_contexts: delivery state is single-threaded by construction.
        boost::asio::io_context rx;
        boost::asio::io_context tx;
        auto tx_guard = boost::asio::make_work_guard(tx);

        queue::Spool spool(cfg.data_dir, cfg.queue.sync);
        dns::Resolver resolver(tx.get_executor(), cfg.dns_resolver);
        deliver::Deliverer deliverer(tx.get_executor(), cfg, resolver);
        queue::SmtpDeliveryAgent agent(deliverer);
        queue::Manager manager(tx.get_executor(), cfg, spool, agent, bus);
        pipeline::Pipeline pipeline(std::make_unique<pipeline::DeliverAll>());
        SpoolIntake intake(cfg, spool, pipeline, manager, bus);

        manager.start();
        intake.recover_incoming();

        smtp::Server smtp_server(rx, cfg, intake, bus, server_tls);
        smtp_server.start();

        std::unique_ptr<http::AdminServer> admin;
        if (cfg.admin_listen) {
            admin = std::make_unique<http::AdminServer>(
                rx, *cfg.admin_listen, http::load_or_create_api_key(cfg.data_dir), manager);
            if (auto r = admin->start(); !r) throw std::runtime_error(r.error().message);
        }

        // Ports are bound: root is no longer needed.
        if (::geteuid() == 0) {
            if (!cfg.user.empty())
                drop_privileges(cfg.user, cfg.data_dir);
            else
                log::warn("gatehouse.privileges.kept user=root reason=\"server.user is not set\"");
        }

        boost::asio::signal_set signals(rx, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            log::info("gatehouse.server.stopping signal={}", sig);
            smtp_server.stop();
            if (admin) admin->stop();
            // Give open sessions up to kShutdownGrace to finish a message in
            // progress; each gets 421 at its next command.
            boost::asio::co_spawn(
                rx,
                [&]() -> boost::asio::awaitable<void> {
                    boost::asio::steady_timer t(rx);
                    auto end = std::chrono::steady_clock::now() + kShutdownGrace;
                    while (smtp_server.sessions() > 0 && std::chrono::steady_clock::now() < end) {
                        t.expires_after(std::chrono::milliseconds(100));
                        co_await t.async_wait(boost::asio::use_awaitable);
                    }
                    manager.stop();
                    rx.stop();
                },
                boost::asio::detached);
        });

        log::info("gatehouse.server.started data={} listeners={} admin={} threads={}", cfg.data_dir,
                  cfg.listeners.size(), cfg.admin_listen ? cfg.admin_listen->str() : "off",
                  receive_threads());

        std::thread delivery([&] { tx.run(); });
        std::vector<std::thread> receivers;
        for (unsigned i = 1; i < receive_threads(); ++i) receivers.emplace_back([&] { rx.run(); });
        rx.run();
        for (auto& t : receivers) t.join();
        tx_guard.reset();
        tx.stop();
        delivery.join();
        log::info("gatehouse.server.stopped queued={}", manager.size());
        return 0;
    } catch (const std::exception& e) {
        log::error("gatehouse.server.failed reason=\"{}\"", e.what());
        std::cerr << "gatehouse: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace gatehouse::app
