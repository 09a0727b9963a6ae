// Test helper: scripted SMTP server (see scripted_server.hpp).
#include "scripted_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>

#include "child_process.hpp"
#include "tls/tls.hpp"

namespace gatehouse::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Session {
    explicit Session(tcp::socket s) : socket(std::move(s)) {}

    asio::awaitable<std::string> read_line() {
        std::size_t n = 0;
        if (tls)
            n = co_await asio::async_read_until(*tls, asio::dynamic_buffer(buffer), "\r\n",
                                                asio::use_awaitable);
        else
            n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n",
                                                asio::use_awaitable);
        std::string line = buffer.substr(0, n - 2);
        buffer.erase(0, n);
        co_return line;
    }
    asio::awaitable<void> write(std::string text) {
        if (tls)
            co_await asio::async_write(*tls, asio::buffer(text), asio::use_awaitable);
        else
            co_await asio::async_write(socket, asio::buffer(text), asio::use_awaitable);
    }
    void close() {
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    tcp::socket socket;
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    std::string buffer;
};

struct ScriptedServer::State {
    State(asio::io_context& ioc, ServerScript s) : script(std::move(s)), acceptor(ioc) {}

    ServerScript script;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    int connections = 0;
    std::vector<std::string> commands;
    std::vector<std::string> messages;
    std::vector<std::weak_ptr<Session>> sessions;
    std::unique_ptr<TempDir> cert_dir;
    std::shared_ptr<asio::ssl::context> tls_context;
};

namespace {

std::string verb_of(const std::string& line) {
    std::string verb = line.substr(0, line.find(' '));
    for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return verb;
}

std::string ehlo_reply(const ServerScript& script, bool offer_tls) {
    std::vector<std::string> lines{"scripted.test"};
    lines.insert(lines.end(), script.keywords.begin(), script.keywords.end());
    if (offer_tls) lines.push_back("STARTTLS");
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        out += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i] + "\r\n";
    return out;
}

// Reads DATA lines up to the lone "." and keeps them as they came.
asio::awaitable<std::string> read_data(Session& session) {
    std::string data;
    while (true) {
        std::string line = co_await session.read_line();
        if (line == ".") co_return data;
        data += line + "\r\n";
    }
}

// The default answer to a command; false when the session must end.
asio::awaitable<bool> default_reply(std::shared_ptr<ScriptedServer::State> state, Session& session,
                                    const std::string& verb) {
    const ServerScript& script = state->script;
    if (verb == "EHLO") {
        if (script.refuse_ehlo)
            co_await session.write("502 5.5.1 EHLO not here\r\n");
        else
            co_await session.write(ehlo_reply(script, script.starttls && !session.tls));
    } else if (verb == "HELO") {
        co_await session.write("250 scripted.test\r\n");
    } else if (verb == "STARTTLS" && script.starttls && !session.tls) {
        co_await session.write("220 2.0.0 ready for TLS\r\n");
        session.buffer.clear();
        session.tls.emplace(session.socket, *state->tls_context);
        co_await session.tls->async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    } else if (verb == "MAIL") {
        co_await session.write("250 2.1.0 ok\r\n");
    } else if (verb == "RCPT") {
        co_await session.write("250 2.1.5 ok\r\n");
    } else if (verb == "RSET" || verb == "NOOP") {
        co_await session.write("250 2.0.0 ok\r\n");
    } else if (verb == "QUIT") {
        co_await session.write("221 2.0.0 bye\r\n");
        co_return false;
    } else if (verb == "DATA") {
        co_await session.write("354 go ahead\r\n");
        std::string data = co_await read_data(session);
        state->messages.push_back(data);
        std::string reply = script.final_reply;
        if (script.on_message)
            if (auto custom = script.on_message(data)) reply = *custom;
        if (reply == kDrop) co_return false;
        co_await session.write(reply + "\r\n");
        if (reply.starts_with("421")) co_return false;
    } else {
        co_await session.write("500 5.5.1 unknown command\r\n");
    }
    co_return true;
}

asio::awaitable<void> serve(std::shared_ptr<ScriptedServer::State> state,
                            std::shared_ptr<Session> session) {
    try {
        co_await session->write(state->script.greeting + "\r\n");
        if (state->script.greeting.starts_with("421")) {
            session->close();
            co_return;
        }
        while (true) {
            std::string line = co_await session->read_line();
            state->commands.push_back(line);
            std::string verb = verb_of(line);
            std::optional<std::string> custom;
            if (state->script.on_command) custom = state->script.on_command(line);
            if (!custom) {
                if (!co_await default_reply(state, *session, verb)) break;
                continue;
            }
            if (*custom == kDrop) break;
            if (*custom == kSilent) continue;
            if (*custom == kBreakTls) {
                co_await session->write("220 2.0.0 ready for TLS\r\nthis is not a TLS record\r\n");
                break;
            }
            co_await session->write(*custom + "\r\n");
            if (custom->starts_with("421")) break;
            if (verb == "DATA" && custom->starts_with("354"))
                state->messages.push_back(co_await read_data(*session));
        }
    } catch (const std::exception&) {
        // The client went away; that is what several tests want.
    }
    session->close();
}

asio::awaitable<void> accept_loop(std::shared_ptr<ScriptedServer::State> state) {
    try {
        while (state->acceptor.is_open()) {
            tcp::socket socket = co_await state->acceptor.async_accept(asio::use_awaitable);
            ++state->connections;
            auto session = std::make_shared<Session>(std::move(socket));
            state->sessions.push_back(session);
            asio::co_spawn(state->acceptor.get_executor(), serve(state, session), asio::detached);
        }
    } catch (const std::exception&) {
        // acceptor closed by stop()
    }
}

}  // namespace

ScriptedServer::ScriptedServer(asio::io_context& ioc, ServerScript script)
    : state_(std::make_shared<State>(ioc, std::move(script))) {
    if (state_->script.starttls) {
        state_->cert_dir = std::make_unique<TempDir>("gh-scripted-tls");
        state_->tls_context = tls::make_server_context(
            tls::ensure_self_signed(state_->cert_dir->path(), "localhost"));
    }
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    state_->acceptor.open(endpoint.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(endpoint);
    state_->acceptor.listen();
    state_->port = state_->acceptor.local_endpoint().port();
    asio::co_spawn(ioc, accept_loop(state_), asio::detached);
}

ScriptedServer::~ScriptedServer() {
    stop();
}

std::uint16_t ScriptedServer::port() const {
    return state_->port;
}
int ScriptedServer::connections() const {
    return state_->connections;
}
const std::vector<std::string>& ScriptedServer::commands() const {
    return state_->commands;
}
const std::vector<std::string>& ScriptedServer::messages() const {
    return state_->messages;
}

std::vector<std::string> ScriptedServer::commands_named(const std::string& verb) const {
    std::vector<std::string> out;
    for (const auto& c : state_->commands)
        if (verb_of(c) == verb) out.push_back(c);
    return out;
}

void ScriptedServer::stop() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& weak : state_->sessions)
        if (auto session = weak.lock()) session->close();
}

}  // namespace gatehouse::testing
