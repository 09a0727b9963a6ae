// The catalogue of SMTP replies (RFC 5321 section 4.2, enhanced status codes
// of RFC 2034 and RFC 3463) and their wire form. Every reply the server sends
// is built here, so a change of wording or of code is made in one place.
//
// SECURITY: some replies carry text that came from the peer or from the
// parser's description of the peer's input (a detail string, a command
// name). str() and summary() therefore never let a control byte, a line end
// or a non-ASCII byte through, and cap each line so that a reply can neither
// be split into two nor pass the 512-octet limit of RFC 5321 section
// 4.5.3.1.5.
#include "smtp/reply.hpp"

#include <cstddef>
#include <string_view>
#include <utility>

namespace gatehouse::smtp {
namespace {

// RFC 5321 section 4.5.3.1.5: 512 octets per reply line including the code
// and the CRLF. Code, separator, enhanced code and its space take at most 16.
constexpr std::size_t kMaxReplyText = 512 - 16 - 2;

// Copies text that may hold peer bytes into a reply line: anything outside
// printable US-ASCII becomes '?', and the line is cut at the RFC limit.
void append_safe_text(std::string& out, std::string_view text) {
    if (text.size() > kMaxReplyText) text = text.substr(0, kMaxReplyText);
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : '?';
    }
}

void append_prefix(std::string& out, int code, char separator, const std::string& enhanced) {
    out += std::to_string(code);
    out += separator;
    if (!enhanced.empty()) {
        append_safe_text(out, enhanced);
        out += ' ';
    }
}

}  // namespace

std::string Reply::str() const {
    std::string out;
    if (lines.empty()) {
        // Should not happen, but a reply must still be one well-formed line.
        append_prefix(out, code, ' ', enhanced);
        out += "\r\n";
        return out;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const bool last = i + 1 == lines.size();
        append_prefix(out, code, last ? ' ' : '-', enhanced);
        append_safe_text(out, lines[i]);
        out += "\r\n";
    }
    return out;
}

std::string Reply::summary() const {
    std::string out;
    append_prefix(out, code, ' ', enhanced);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) out += " / ";
        append_safe_text(out, lines[i]);
    }
    return out;
}

Reply make_reply(int code, std::string enhanced, std::string text) {
    Reply reply;
    reply.code = code;
    reply.enhanced = std::move(enhanced);
    reply.lines.push_back(std::move(text));
    return reply;
}

namespace replies {

Reply greeting(const std::string& hostname) {
    return make_reply(220, "", hostname + " ESMTP ready");
}

Reply closing(const std::string& hostname) {
    return make_reply(221, "2.0.0", hostname + " closing connection");
}

Reply ok() {
    return make_reply(250, "2.0.0", "ok");
}

Reply sender_ok() {
    return make_reply(250, "2.1.0", "sender ok");
}

Reply recipient_ok() {
    return make_reply(250, "2.1.5", "recipient ok");
}

Reply start_data() {
    return make_reply(354, "", "send message, end with <CRLF>.<CRLF>");
}

Reply queued(const std::string& queue_id) {
    return make_reply(250, "2.0.0", "queued as " + queue_id);
}

Reply vrfy_disabled() {
    return make_reply(252, "2.5.0", "cannot verify the user, but will accept the message");
}

Reply ready_for_tls() {
    return make_reply(220, "2.0.0", "ready to start TLS");
}

Reply help() {
    Reply reply = make_reply(214, "2.0.0", "commands: HELO EHLO MAIL RCPT DATA BDAT RSET");
    reply.lines.push_back("NOOP QUIT VRFY HELP STARTTLS AUTH");
    reply.lines.push_back("see RFC 5321 for their use");
    return reply;
}

Reply syntax_error(const std::string& detail) {
    return make_reply(500, "5.5.2", "syntax error: " + detail);
}

Reply unknown_command() {
    return make_reply(500, "5.5.1", "command not recognised");
}

Reply line_too_long() {
    return make_reply(500, "5.5.2", "line too long");
}

Reply bad_parameters(const std::string& detail) {
    return make_reply(501, "5.5.4", "invalid arguments: " + detail);
}

Reply bad_address(const std::string& detail) {
    return make_reply(501, "5.1.3", "bad address syntax: " + detail);
}

Reply not_implemented(const std::string& command) {
    return make_reply(502, "5.5.1", command + " not implemented");
}

Reply bad_sequence(const std::string& detail) {
    return make_reply(503, "5.5.1", "bad sequence of commands: " + detail);
}

Reply unknown_parameter(const std::string& param) {
    return make_reply(555, "5.5.4", "parameter not recognised or not offered: " + param);
}

Reply tls_required() {
    return make_reply(530, "5.7.0", "must issue STARTTLS first");
}

Reply tls_unavailable() {
    return make_reply(454, "4.7.0", "TLS not available, try again later");
}

Reply relay_denied() {
    return make_reply(554, "5.7.1", "relay access denied");
}

Reply too_many_recipients() {
    return make_reply(452, "4.5.3", "too many recipients");
}

Reply message_too_big() {
    return make_reply(552, "5.3.4", "message exceeds the maximum size");
}

Reply size_exceeds_limit() {
    return make_reply(552, "5.3.4", "declared SIZE exceeds the maximum message size");
}

Reply no_valid_recipients() {
    return make_reply(554, "5.5.1", "no valid recipients");
}

Reply bare_newline() {
    return make_reply(554, "5.6.0", "bare CR or LF in message content, use CRLF line ends");
}

Reply smtputf8_required() {
    return make_reply(553, "5.6.7", "non-ASCII address requires SMTPUTF8");
}

Reply too_many_errors() {
    return make_reply(421, "4.7.0", "too many errors, closing connection");
}

Reply idle_timeout(const std::string& hostname) {
    return make_reply(421, "4.4.2", hostname + " idle timeout, closing connection");
}

Reply too_many_connections() {
    return make_reply(421, "4.7.0", "too many connections, try again later");
}

Reply local_error() {
    return make_reply(451, "4.3.0", "local error in processing, try again later");
}

Reply storage_error() {
    return make_reply(452, "4.3.1", "insufficient system storage, try again later");
}

Reply improper_pipelining() {
    return make_reply(554, "5.5.0", "improper use of pipelining, data sent before reply");
}

}  // namespace replies
}  // namespace gatehouse::smtp
