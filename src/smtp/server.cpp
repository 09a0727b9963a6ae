#include "smtp/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <stdexcept>

#include "log/log.hpp"
#include "smtp/session.hpp"

namespace gatehouse::smtp {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Server::Impl : std::enable_shared_from_this<Impl> {
    asio::io_context& ioc;
    const config::Config& config;
    Intake& intake;
    events::Sink& events;
    std::shared_ptr<asio::ssl::context> tls;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<std::uint16_t> ports;

    std::mutex mu;
    std::size_t total = 0;
    std::map<std::string, unsigned> per_client;
    bool stopping = false;
    std::atomic<bool> draining{false};

    Impl(asio::io_context& i, const config::Config& c, Intake& in, events::Sink& ev,
         std::shared_ptr<asio::ssl::context> t)
        : ioc(i), config(c), intake(in), events(ev), tls(std::move(t)) {}

    asio::awaitable<void> accept_loop(std::size_t index) {
        auto self = shared_from_this();
        auto& acceptor = *acceptors[index];
        const config::Listener& listener = config.listeners[index];
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket(asio::make_strand(ioc));
            co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted) co_return;
                log::warn("smtp.accept.failed listener={} reason=\"{}\"", listener.name,
                          ec.message());
                continue;
            }
            auto executor = socket.get_executor();
            asio::co_spawn(executor, serve(std::move(socket), listener), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket, const config::Listener& listener) {
        auto self = shared_from_this();
        boost::system::error_code ec;
        auto ep = socket.remote_endpoint(ec);
        std::string ip = ec ? "" : ep.address().to_string();
        bool over = false;
        {
            std::lock_guard lock(mu);
            unsigned& n = per_client[ip];
            over = total >= config.limits.max_connections ||
                   n >= config.limits.max_connections_per_client;
            ++total;
            ++n;
        }
        auto session = std::make_shared<Session>(
            SessionContext{config, listener, intake, events, tls, draining}, std::move(socket));
        if (over)
            co_await session->refuse(replies::too_many_connections());
        else
            co_await session->run();
        std::lock_guard lock(mu);
        --total;
        if (--per_client[ip] == 0) per_client.erase(ip);
    }
};

Server::Server(asio::io_context& ioc, const config::Config& config, Intake& intake,
               events::Sink& events, std::shared_ptr<asio::ssl::context> tls)
    : impl_(std::make_shared<Impl>(ioc, config, intake, events, std::move(tls))) {}

Server::~Server() {
    stop();
}

void Server::start() {
    for (const auto& l : impl_->config.listeners) {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(l.address.host, ec);
        if (ec)
            throw std::runtime_error("listener " + l.name + ": \"" + l.address.host +
                                     "\" is not an IP address");
        tcp::endpoint ep(addr, l.address.port);
        auto acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
        acceptor->open(ep.protocol(), ec);
        if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec && addr.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("listener " + l.name + ": cannot listen on " +
                                     l.address.str() + ": " + ec.message());
        impl_->ports.push_back(acceptor->local_endpoint().port());
        log::info("smtp.listener.started name={} address={} role={} tls={}", l.name,
                  l.address.str(), l.role == ListenerRole::Outbound ? "outbound" : "inbound",
                  l.tls == config::TlsMode::Required   ? "required"
                  : l.tls == config::TlsMode::Optional ? "optional"
                                                       : "none");
        impl_->acceptors.push_back(std::move(acceptor));
    }
    for (std::size_t i = 0; i < impl_->acceptors.size(); ++i)
        asio::co_spawn(impl_->ioc, impl_->accept_loop(i), asio::detached);
}

void Server::stop() {
    if (!impl_) return;
    impl_->stopping = true;
    impl_->draining = true;
    for (auto& a : impl_->acceptors) {
        boost::system::error_code ec;
        a->close(ec);
    }
}

std::vector<std::uint16_t> Server::ports() const {
    return impl_->ports;
}

std::size_t Server::sessions() const {
    std::lock_guard lock(impl_->mu);
    return impl_->total;
}

}  // namespace gatehouse::smtp
