// Test helper: a scripted SMTP server on 127.0.0.1 and a free port, written
// with Boost.Asio, running on the test's io_context. By default it accepts
// everything; a test overrides the reply to chosen commands (per-recipient
// 250/450/550, 421 mid-transaction, silent drops, STARTTLS that breaks) and
// then checks what the client sent: every command line, every message
// exactly as it came over the wire, and how many connections it took.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace gatehouse::testing {

// What a handler may answer instead of the default reply.
inline const std::string kDrop = "<drop>";           // close without a reply
inline const std::string kBreakTls = "<break-tls>";  // 220 to STARTTLS, then garbage
inline const std::string kSilent = "<silent>";       // no reply; keep reading

struct ServerScript {
    std::string greeting = "220 scripted.test ESMTP";
    std::vector<std::string> keywords = {"PIPELINING", "8BITMIME", "SIZE 10000000",
                                         "ENHANCEDSTATUSCODES"};
    bool refuse_ehlo = false;  // 502 to EHLO, so the client falls back to HELO
    bool starttls = false;     // offer STARTTLS with a self-signed certificate
    std::string final_reply = "250 2.0.0 queued";
    // Called for every command line (without CRLF) before the default; a
    // reply ("421 ..." also closes), kDrop, or nullopt for the default.
    std::function<std::optional<std::string>(const std::string& line)> on_command;
    // Called with each message as it arrived (still dot-stuffed, without the
    // final "." line); its return overrides final_reply when set.
    std::function<std::optional<std::string>(const std::string& data)> on_message;
};

class ScriptedServer {
  public:
    ScriptedServer(boost::asio::io_context& ioc, ServerScript script);
    ~ScriptedServer();

    std::uint16_t port() const;
    int connections() const;
    const std::vector<std::string>& commands() const;  // all sessions, in order
    const std::vector<std::string>& messages() const;  // raw DATA, dot-stuffed
    // Commands whose verb (first word, upper case) is verb.
    std::vector<std::string> commands_named(const std::string& verb) const;
    void stop();

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace gatehouse::testing
