// Outbound SMTP connection on Boost.Asio and OpenSSL (see connection.hpp).
//
// Every I/O operation races a steady_timer (awaitable_operators ||); the
// loser is cancelled, and a timed-out connection is closed, since an SMTP
// stream cut mid-command cannot be resynchronised.
#include "deliver/connection.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <variant>

#include "tls/tls.hpp"

namespace gatehouse::deliver {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 4096;
// QUIT is a courtesy: the reply is not worth waiting long for.
constexpr std::chrono::seconds kQuitTimeout{5};

// Runs op unless the timer fires first; nullopt means it timed out.
template <class T>
asio::awaitable<std::optional<T>> timed(asio::awaitable<T> op,
                                        std::chrono::steady_clock::duration limit) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto wait = timer.async_wait(kNoThrow);
    std::variant<T, std::tuple<error_code>> winner = co_await (std::move(op) || std::move(wait));
    if (winner.index() == 1) co_return std::nullopt;
    co_return std::get<0>(std::move(winner));
}

std::string describe_error(const error_code& ec) {
    if (ec == asio::error::eof) return "connection closed by peer";
    if (ec == asio::error::connection_reset) return "connection reset by peer";
    return ec.message();
}

}  // namespace

std::string Target::remote() const {
    return host + "[" + address + "]:" + std::to_string(port);
}

struct Connection::Impl {
    Impl(asio::any_io_executor executor, Target t, Timeouts tm)
        : target(std::move(t)), timeouts(tm), socket(std::move(executor)) {}

    asio::awaitable<std::tuple<error_code, std::size_t>> read_some(asio::mutable_buffer buffer) {
        if (tls) return tls->async_read_some(buffer, kNoThrow);
        return socket.async_read_some(buffer, kNoThrow);
    }
    asio::awaitable<std::tuple<error_code, std::size_t>> write_all(asio::const_buffer buffer) {
        if (tls) return asio::async_write(*tls, buffer, kNoThrow);
        return asio::async_write(socket, buffer, kNoThrow);
    }

    Target target;
    Timeouts timeouts;
    tcp::socket socket;
    std::shared_ptr<asio::ssl::context> tls_context;  // outlives the stream
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    ReplyReader reader;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
    close();
}

asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::open(
    asio::any_io_executor executor, Target target, Timeouts timeouts) {
    error_code ec;
    auto ip = asio::ip::make_address(target.address, ec);
    if (ec) co_return Error::internal("bad address " + target.address);
    tcp::endpoint endpoint(ip, target.port);

    auto impl = std::make_unique<Impl>(executor, std::move(target), timeouts);
    auto connect = impl->socket.async_connect(endpoint, kNoThrow);
    auto done = co_await timed(std::move(connect), timeouts.connect);
    if (!done) co_return Error::temporary("connect timed out");
    if (auto [err] = *done; err) co_return Error::temporary(describe_error(err));
    impl->socket.set_option(tcp::no_delay(true), ec);
    co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

asio::awaitable<Result<ServerReply>> Connection::read_reply() {
    auto deadline = std::chrono::steady_clock::now() + impl_->timeouts.command;
    std::array<char, kReadChunk> buffer;
    while (true) {
        if (auto reply = impl_->reader.next()) {
            if (!reply->ok()) close();  // the stream cannot be trusted past this point
            co_return std::move(*reply);
        }
        if (!is_open()) co_return Error::temporary("connection closed");
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            close();
            co_return Error::temporary("timed out waiting for reply");
        }
        auto read = impl_->read_some(asio::buffer(buffer));
        auto done = co_await timed(std::move(read), left);
        if (!done) {
            close();
            co_return Error::temporary("timed out waiting for reply");
        }
        auto [ec, n] = *done;
        if (ec) {
            close();
            co_return Error::temporary(describe_error(ec));
        }
        impl_->reader.append(std::string_view(buffer.data(), n));
    }
}

asio::awaitable<Result<void>> Connection::send(std::string_view bytes) {
    if (!is_open()) co_return Error::temporary("connection closed");
    auto write = impl_->write_all(asio::buffer(bytes.data(), bytes.size()));
    auto done = co_await timed(std::move(write), impl_->timeouts.command);
    if (!done) {
        close();
        co_return Error::temporary("timed out sending");
    }
    if (auto [ec, n] = *done; ec) {
        close();
        co_return Error::temporary(describe_error(ec));
    }
    co_return ok();
}

asio::awaitable<Result<ServerReply>> Connection::command(std::string_view line) {
    std::string wire(line);
    wire += "\r\n";
    auto sent = co_await send(wire);
    if (!sent) co_return sent.error();
    co_return co_await read_reply();
}

asio::awaitable<Result<void>> Connection::start_tls(std::shared_ptr<asio::ssl::context> context,
                                                    const std::string& sni) {
    // RFC 3207 section 6: anything the server sent after its 220 arrived in
    // the clear and must not be taken as part of the TLS session.
    if (impl_->reader.has_pending_bytes()) {
        close();
        co_return Error::temporary("plaintext received after the STARTTLS reply");
    }
    impl_->tls_context = std::move(context);
    impl_->tls.emplace(impl_->socket, *impl_->tls_context);
    if (!sni.empty()) SSL_set_tlsext_host_name(impl_->tls->native_handle(), sni.c_str());

    auto handshake = impl_->tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    auto done = co_await timed(std::move(handshake), impl_->timeouts.command);
    if (!done) {
        close();
        co_return Error::temporary("TLS handshake timed out");
    }
    if (auto [ec] = *done; ec) {
        close();
        co_return Error::temporary("TLS handshake failed: " + ec.message());
    }
    impl_->reader.clear();
    co_return ok();
}

asio::awaitable<void> Connection::quit() {
    if (is_open()) {
        auto saved = impl_->timeouts.command;
        impl_->timeouts.command = std::min<std::chrono::seconds>(saved, kQuitTimeout);
        auto reply = co_await command("QUIT");
        (void)reply;  // whatever the answer, we are done
        impl_->timeouts.command = saved;
    }
    close();
}

void Connection::close() {
    if (!impl_) return;
    error_code ignored;
    impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket.close(ignored);
}

bool Connection::is_open() const {
    return impl_ && impl_->socket.is_open();
}

bool Connection::tls_active() const {
    return impl_->tls.has_value();
}

std::string Connection::tls_description() const {
    if (!impl_->tls) return "none";
    return tls::describe(impl_->tls->native_handle());
}

const Target& Connection::target() const {
    return impl_->target;
}

}  // namespace gatehouse::deliver
