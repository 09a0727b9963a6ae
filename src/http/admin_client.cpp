// The admin API client (see admin_client.hpp): one connection per request,
// run to completion on a private io_context so callers stay synchronous.
//
// Trust: the reply comes from the operator's own server, but it is parsed
// under a body limit and a deadline, and error text taken from it is capped
// before it is shown on a terminal.
#include "http/admin_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <optional>

#include "base/text.hpp"

namespace gatehouse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kRequestTimeout = std::chrono::seconds(60);
constexpr std::uint64_t kMaxReplyBytes = 64ull * 1024 * 1024;
constexpr std::size_t kMaxErrorText = 300;
constexpr std::string_view kHttpPrefix = "HTTP ";

Error unreachable(const config::HostPort& server, const beast::error_code& ec) {
    std::string cause = ec == beast::error::timeout ? "timed out" : to_lower(ec.message());
    return Error::temporary("cannot reach the admin API at " + server.str() + " (" + cause + ")");
}

// The text of a non-2xx reply: its {"error": ...} field, else its reason phrase.
std::string error_text(const bhttp::response<bhttp::string_body>& res) {
    boost::system::error_code ec;
    json::value body = json::parse(res.body(), ec);
    std::string text;
    if (!ec && body.is_object()) {
        if (const auto* e = body.get_object().if_contains("error"); e && e->is_string()) {
            text = std::string(e->get_string());
        }
    }
    if (text.empty()) text = to_lower(std::string(res.reason()));
    if (text.size() > kMaxErrorText) text = text.substr(0, kMaxErrorText) + "...";
    return text;
}

Error http_error(const bhttp::response<bhttp::string_body>& res) {
    unsigned status = res.result_int();
    std::string message =
        std::string(kHttpPrefix) + std::to_string(status) + ": " + error_text(res);
    if (status == 503) return Error::temporary(std::move(message));
    if (status >= 400 && status < 500) return Error::permanent(std::move(message));
    return Error::internal(std::move(message));
}

asio::awaitable<void> exchange(const config::HostPort& server, const std::string& api_key,
                               const std::string& method, const std::string& target,
                               std::optional<Result<std::string>>& out) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(
        server.host, std::to_string(server.port), tcp::resolver::numeric_service, kUseTuple);
    if (rec) {
        out = unreachable(server, rec);
        co_return;
    }

    beast::tcp_stream stream(executor);
    stream.expires_after(kConnectTimeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kUseTuple);
    if (cec) {
        out = unreachable(server, cec);
        co_return;
    }

    bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(method), target, 11};
    if (req.method() == bhttp::verb::unknown) req.method_string(method);
    req.set(bhttp::field::host, server.str());
    req.set(bhttp::field::authorization, "Bearer " + api_key);
    req.set(bhttp::field::user_agent, "gatehouse-cli");
    req.set(bhttp::field::accept, "application/json");
    req.keep_alive(false);
    req.prepare_payload();

    stream.expires_after(kRequestTimeout);
    auto [wec, written] = co_await bhttp::async_write(stream, req, kUseTuple);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    auto [ec, read] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    // A server that refuses the request early may close before reading it
    // all; its reply still counts, so the write error only matters alone.
    if (ec) {
        out = unreachable(server, wec ? wec : ec);
        co_return;
    }

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    const auto& res = parser.get();
    if (res.result_int() / 100 == 2) {
        out = res.body();
    } else {
        out = http_error(res);
    }
}

}  // namespace

Result<std::string> admin_request(const config::HostPort& server, const std::string& api_key,
                                  const std::string& method, const std::string& target) {
    asio::io_context io;
    std::optional<Result<std::string>> out;
    asio::co_spawn(io, exchange(server, api_key, method, target, out), [&](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            out = Error::internal(std::string("admin API request failed: ") + ex.what());
        }
    });
    io.run();
    if (!out) return Error::internal("admin API request ended without a result");
    return std::move(*out);
}

int admin_error_status(const Error& error) {
    std::string_view m = error.message;
    if (m.substr(0, kHttpPrefix.size()) != kHttpPrefix) return 0;
    m.remove_prefix(kHttpPrefix.size());
    int status = 0;
    auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), status);
    std::string_view rest(end, static_cast<std::size_t>(m.data() + m.size() - end));
    if (ec != std::errc() || rest.substr(0, 2) != ": ") return 0;
    return status;
}

std::string admin_error_text(const Error& error) {
    if (admin_error_status(error) == 0) return error.message;
    return error.message.substr(error.message.find(": ") + 2);
}

}  // namespace gatehouse::http
