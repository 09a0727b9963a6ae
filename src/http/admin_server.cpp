// The admin API's HTTP/1.1 server on Boost.Beast: accepts connections, reads
// one request at a time under the header, body and idle limits, checks the
// Bearer key and hands the request to admin_routes.cpp. Called by the main
// program through AdminServer (admin_server.hpp).
//
// Standards: RFC 9112 message framing and keep-alive (Beast's parser),
// RFC 9110 status codes, Expect: 100-continue (RFC 9110 section 10.1.1),
// RFC 6750 Bearer credentials compared in constant time.
//
// Trust: every byte from the peer is hostile until the key matches. Beast's
// parser enforces the header and body limits before anything is stored; a
// malformed request gets a 400 and the connection is closed. Method and
// path are escaped and capped before they reach the log. Peers that are not
// loopback are dropped at accept unless the limits allow remote peers.
//
// XXX queue::Admin is synchronous and is called on the I/O thread; that is
// fine while its calls are short in-memory operations. If they ever wait on
// disk, post them to the worker pool and await the result here.
#include "http/admin_server.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "base/ids.hpp"
#include "base/text.hpp"
#include "http/admin_routes.hpp"
#include "log/log.hpp"

namespace gatehouse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Stream = beast::tcp_stream;
using Request = bhttp::request<bhttp::string_body>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// After an error reply the peer may still be sending; reading (and
// discarding) a little before closing keeps the kernel from answering with
// a reset that would destroy the reply in the peer's receive buffer.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 256 * 1024;

// Pause after accept fails for lack of descriptors, so the loop does not spin.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

// Compares in time that depends only on the expected key's length, so the
// answer's timing does not tell how many leading characters were right.
bool same_secret(std::string_view given, std::string_view expected) {
    volatile unsigned char diff = given.size() != expected.size() ? 1 : 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff = diff | (g ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0 && !expected.empty();
}

// The token of "Authorization: Bearer TOKEN"; the scheme is case-insensitive.
std::optional<std::string_view> bearer_token(std::string_view header) {
    constexpr std::string_view kScheme = "bearer ";
    if (!istarts_with(header, kScheme)) return std::nullopt;
    return trim(header.substr(kScheme.size()));
}

bool is_loopback(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
    }
    return address.is_loopback();
}

// The status to answer a failed read with; 0 when the connection just ends
// (peer closed, idle timeout, server stopping).
unsigned status_for_read_error(const beast::error_code& ec) {
    if (ec == bhttp::error::body_limit) return 413;
    if (ec == bhttp::error::header_limit) return 431;
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return 0;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) return 400;
    return 0;
}

const char* read_error_text(unsigned status) {
    switch (status) {
        case 413:
            return "request body too large";
        case 431:
            return "request header too large";
        default:
            return "malformed request";
    }
}

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

// Completion of a detached coroutine: nothing may throw across the event
// loop, so an escaped exception ends that coroutine with a log line.
void log_escaped(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log::error("http.admin.failed reason={}", log_escape(ex.what()));
    }
}

// What the log line names for a request: "-" for what never arrived, and
// the queue id when the path names one, so a grep for qid= finds admin
// actions on a message too (STYLE.md, Logs).
struct RequestLine {
    std::string method = "-";
    std::string path = "-";
    std::string qid;
};

RequestLine describe_request(const Request& request) {
    RequestLine line;
    if (request.method_string().empty()) return line;  // start line incomplete
    line.method = log_escape(request.method_string(), 20);
    std::string_view path = path_of(request.target());
    line.path = log_escape(path);

    constexpr std::string_view kMessagePrefix = "/api/v1/queue/";
    if (path.substr(0, kMessagePrefix.size()) == kMessagePrefix) {
        std::string_view rest = path.substr(kMessagePrefix.size());
        rest = rest.substr(0, rest.find('/'));
        if (is_queue_id(rest)) line.qid = rest;
    }
    return line;
}

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, const config::HostPort& listen, std::string api_key,
         queue::Admin& admin, AdminServerLimits limits)
        : io_(io),
          listen_(listen),
          api_key_(std::move(api_key)),
          admin_(admin),
          limits_(limits),
          strand_(asio::make_strand(io)),
          acceptor_(strand_) {}

    Result<void> start();
    void stop();

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<Stream> stream, std::uint64_t id);
    asio::awaitable<bool> serve_one(Stream& stream, beast::flat_buffer& buffer);
    ApiResponse answer(const Request& request);
    asio::awaitable<bool> respond(Stream& stream, const ApiResponse& reply, bool keep_alive,
                                  const RequestLine& line, Clock::time_point started);
    asio::awaitable<void> linger_close(Stream& stream);

    std::optional<std::uint64_t> add_connection(const std::shared_ptr<Stream>& stream);
    void remove_connection(std::uint64_t id);

    asio::io_context& io_;
    config::HostPort listen_;
    std::string api_key_;
    queue::Admin& admin_;
    AdminServerLimits limits_;
    asio::strand<asio::io_context::executor_type> strand_;
    tcp::acceptor acceptor_;
    std::atomic<std::uint16_t> port_{0};

    std::mutex mu_;  // guards what follows
    bool started_ = false;
    bool stopped_ = false;
    std::uint64_t next_id_ = 0;
    std::map<std::uint64_t, std::weak_ptr<Stream>> connections_;
};

Result<void> AdminServer::Impl::start() {
    {
        std::lock_guard lock(mu_);
        if (started_ || stopped_) return Error::internal("admin API server already started");
        started_ = true;
    }
    auto failed = [&](const std::string& step, const beast::error_code& ec) {
        return Error::internal("cannot " + step + " the admin API on " + listen_.str() + ": " +
                               to_lower(ec.message()));
    };

    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(listen_.host, std::to_string(listen_.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty()) return failed("resolve the address of", ec);
    tcp::endpoint endpoint = endpoints.begin()->endpoint();

    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return failed("open a socket for", ec);
    acceptor_.bind(endpoint, ec);
    if (ec) return failed("bind", ec);
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return failed("listen for", ec);
    port_ = acceptor_.local_endpoint(ec).port();

    log::info("http.admin.listening address={} port={}", endpoint.address().to_string(),
              port_.load());
    if (!limits_.allow_remote && !is_loopback(endpoint.address())) {
        log::warn("http.admin.restricted address={} reason=only loopback peers are served",
                  endpoint.address().to_string());
    }
    asio::co_spawn(
        strand_, [self = shared_from_this()] { return self->accept_loop(); }, log_escaped);
    return ok();
}

void AdminServer::Impl::stop() {
    std::vector<std::shared_ptr<Stream>> open;
    {
        std::lock_guard lock(mu_);
        if (stopped_) return;
        stopped_ = true;
        for (auto& [id, weak] : connections_) {
            if (auto stream = weak.lock()) open.push_back(std::move(stream));
        }
    }
    asio::post(strand_, [self = shared_from_this()] {
        beast::error_code ec;
        self->acceptor_.close(ec);
    });
    for (auto& stream : open) {
        asio::post(stream->get_executor(), [stream] { stream->close(); });
    }
}

std::optional<std::uint64_t> AdminServer::Impl::add_connection(
    const std::shared_ptr<Stream>& stream) {
    std::lock_guard lock(mu_);
    if (stopped_) return std::nullopt;
    connections_[++next_id_] = stream;
    return next_id_;
}

void AdminServer::Impl::remove_connection(std::uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
}

asio::awaitable<void> AdminServer::Impl::accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(strand_);
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), kUseTuple);
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (ec) {
            log::warn("http.admin.accept_failed reason={}", to_lower(ec.message()));
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
                backoff.expires_after(kAcceptBackoff);
                co_await backoff.async_wait(kUseTuple);
            }
            continue;
        }

        beast::error_code peer_ec;
        auto peer = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;
        if (!limits_.allow_remote && !is_loopback(peer.address())) {
            log::warn("http.admin.refused peer={} reason=not loopback", peer.address().to_string());
            continue;  // the socket closes as it goes out of scope
        }

        auto stream = std::make_shared<Stream>(std::move(socket));
        auto id = add_connection(stream);
        if (!id) break;
        asio::co_spawn(
            stream->get_executor(), [self, stream, id = *id] { return self->serve(stream, id); },
            log_escaped);
    }
}

asio::awaitable<void> AdminServer::Impl::serve(std::shared_ptr<Stream> stream, std::uint64_t id) {
    beast::flat_buffer buffer;
    while (co_await serve_one(*stream, buffer)) {
    }
    co_await linger_close(*stream);
    remove_connection(id);
}

// Reads and answers one request; true when the connection stays open.
asio::awaitable<bool> AdminServer::Impl::serve_one(Stream& stream, beast::flat_buffer& buffer) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser.body_limit(limits_.max_body_bytes);

    stream.expires_after(limits_.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);

    // A client that waits for "100 Continue" gets it only once the header
    // has passed the parser's limits.
    if (!ec && !parser.is_done() && iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        std::tie(ec, n) = co_await bhttp::async_write(stream, go_on, kUseTuple);
    }
    if (!ec && !parser.is_done()) {
        std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    }
    Clock::time_point started = Clock::now();

    RequestLine line = describe_request(parser.get());
    if (ec) {
        unsigned status = status_for_read_error(ec);
        if (ec == beast::error::timeout) log::debug("http.connection.timeout");
        if (status == 0) co_return false;
        co_await respond(stream, json_error(status, read_error_text(status)), false, line, started);
        co_return false;
    }

    const Request& request = parser.get();
    bool keep_alive = request.keep_alive();
    bool written = co_await respond(stream, answer(request), keep_alive, line, started);
    co_return written&& keep_alive;
}

ApiResponse AdminServer::Impl::answer(const Request& request) {
    auto auth = request.find(bhttp::field::authorization);
    std::optional<std::string_view> token;
    if (auth != request.end()) token = bearer_token(auth->value());
    if (!token || !same_secret(*token, api_key_)) {
        return json_error(401, "missing or wrong API key");
    }
    return route_admin_request(admin_, request.method_string(), path_of(request.target()));
}

// Writes the reply and logs the request; true when the write succeeded.
asio::awaitable<bool> AdminServer::Impl::respond(Stream& stream, const ApiResponse& reply,
                                                 bool keep_alive, const RequestLine& line,
                                                 Clock::time_point started) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
    res.set(bhttp::field::server, "gatehouse");
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    if (!reply.allow.empty()) res.set(bhttp::field::allow, reply.allow);
    if (reply.status == 401) res.set(bhttp::field::www_authenticate, "Bearer realm=\"gatehouse\"");
    res.keep_alive(keep_alive);
    res.body() = reply.body;
    res.prepare_payload();

    stream.expires_after(limits_.idle_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, res, kUseTuple);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    log::info("http.request.done method={} path={} status={} ms={}{}", line.method, line.path,
              reply.status, ms.count(), line.qid.empty() ? "" : " qid=" + line.qid);
    co_return !ec;
}

asio::awaitable<void> AdminServer::Impl::linger_close(Stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(kLingerTime);
    char discard[4096];
    std::size_t total = 0;
    while (!ec && total < kLingerBytes) {
        std::size_t n = 0;
        std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(discard), kUseTuple);
        total += n;
    }
    stream.close();
}

AdminServer::AdminServer(asio::io_context& io, const config::HostPort& listen, std::string api_key,
                         queue::Admin& admin, AdminServerLimits limits)
    : impl_(std::make_shared<Impl>(io, listen, std::move(api_key), admin, limits)) {}

AdminServer::~AdminServer() {
    stop();
}

Result<void> AdminServer::start() {
    return impl_->start();
}

void AdminServer::stop() {
    impl_->stop();
}

std::uint16_t AdminServer::port() const {
    return impl_->port_.load();
}

}  // namespace gatehouse::http
