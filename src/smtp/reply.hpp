// SMTP replies (RFC 5321 section 4.2) with enhanced status codes (RFC 3463),
// chosen in this one place so that every 4xx/5xx the server sends is
// consistent and greppable. Multi-line replies use "code-" continuation.
#pragma once

#include <string>
#include <vector>

namespace gatehouse::smtp {

struct Reply {
    int code = 0;
    std::string enhanced;            // "2.0.0"; empty for 220/221 greetings and EHLO lines
    std::vector<std::string> lines;  // text of each line, at least one

    // The wire form, each line ending in CRLF.
    std::string str() const;
    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    // "250 2.0.0 ok" on one line, for logs and events.
    std::string summary() const;
};

Reply make_reply(int code, std::string enhanced, std::string text);

// The catalogue. Names say the situation, not the code.
namespace replies {
Reply greeting(const std::string& hostname);        // 220
Reply closing(const std::string& hostname);         // 221 2.0.0
Reply ok();                                         // 250 2.0.0 ok
Reply sender_ok();                                  // 250 2.1.0
Reply recipient_ok();                               // 250 2.1.5
Reply start_data();                                 // 354
Reply queued(const std::string& queue_id);          // 250 2.0.0 queued as QID
Reply vrfy_disabled();                              // 252 2.5.0
Reply ready_for_tls();                              // 220 2.0.0
Reply help();                                       // 214 2.0.0
Reply syntax_error(const std::string& detail);      // 500 5.5.2
Reply unknown_command();                            // 500 5.5.1
Reply line_too_long();                              // 500 5.5.2
Reply bad_parameters(const std::string& detail);    // 501 5.5.4
Reply bad_address(const std::string& detail);       // 501 5.1.3 / 5.1.7
Reply not_implemented(const std::string& command);  // 502 5.5.1
Reply bad_sequence(const std::string& detail);      // 503 5.5.1
Reply unknown_parameter(const std::string& param);  // 555 5.5.4
Reply tls_required();                               // 530 5.7.0
Reply tls_unavailable();                            // 454 4.7.0
Reply relay_denied();                               // 554 5.7.1
Reply too_many_recipients();                        // 452 4.5.3
Reply message_too_big();                            // 552 5.3.4
Reply size_exceeds_limit();                         // 552 5.3.4 (SIZE= in MAIL)
Reply no_valid_recipients();                        // 554 5.5.1
Reply bare_newline();                               // 554 5.6.0
Reply smtputf8_required();                          // 553 5.6.7
Reply too_many_errors();                            // 421 4.7.0
Reply idle_timeout(const std::string& hostname);    // 421 4.4.2
Reply too_many_connections();                       // 421 4.7.0
Reply local_error();                                // 451 4.3.0
Reply storage_error();                              // 452 4.3.1
Reply improper_pipelining();                        // 554 5.5.0
}  // namespace replies

}  // namespace gatehouse::smtp
