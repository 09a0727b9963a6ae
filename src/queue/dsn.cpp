#include "queue/dsn.hpp"

#include <cctype>
#include <ctime>

#include "base/ids.hpp"
#include "base/time.hpp"

namespace gatehouse::queue {
namespace {

bool is_status(std::string_view s) {
    // class "." subject "." detail, RFC 3463: 1 digit, 1-3 digits, 1-3 digits.
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    std::size_t dots = 0;
    for (char c : s.substr(2)) {
        if (c == '.')
            ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(c)))
            return false;
    }
    return dots == 1 && s.back() != '.';
}

std::string boundary_for(const std::string& id) {
    return "=_gatehouse_" + id;
}

// Keeps a diagnostic on one header line: no CR/LF, no control bytes.
std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    if (out.size() > 900) out.resize(900);
    return out;
}

}  // namespace

std::string status_from_reply(std::string_view reply, std::string_view default_status) {
    if (reply.size() >= 4) {
        std::string_view rest = reply.substr(4);
        auto sp = rest.find(' ');
        std::string_view word = rest.substr(0, sp);
        if (is_status(word) && word[0] == reply[0]) return std::string(word);
        if (reply[0] == '4' || reply[0] == '5') return std::string(1, reply[0]) + ".0.0";
    }
    return std::string(default_status);
}

std::string build_dsn(const DsnInput& in) {
    const Envelope& env = *in.original;
    const std::string boundary = boundary_for(in.dsn_message_id);
    bool all_delayed = true;
    for (const auto& r : in.recipients) all_delayed = all_delayed && r.action == "delayed";

    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\r\n";
    m += "To: <" + env.sender + ">\r\n";
    m += std::string("Subject: ") +
         (all_delayed ? "Delayed Mail (still being retried)"
                      : "Undelivered Mail Returned to Sender") +
         "\r\n";
    m += "Date: " + rfc5322_date(in.now_ms) + "\r\n";
    m += "Message-ID: <" + in.dsn_message_id + ">\r\n";
    m += "Auto-Submitted: auto-replied\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n"
         "\tboundary=\"" +
         boundary + "\"\r\n";
    m += "\r\n";
    m += "This is a MIME-encapsulated message.\r\n\r\n";

    // 1. Human-readable part.
    m += "--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=us-ascii\r\n";
    m += "Content-Description: Notification\r\n\r\n";
    m += "This is the mail system at host " + in.reporting_mta + ".\r\n\r\n";
    if (all_delayed)
        m += "Your message could not be delivered yet. It will be retried.\r\n\r\n";
    else
        m += "Your message could not be delivered to one or more recipients.\r\n"
             "It is attached below.\r\n\r\n";
    for (const auto& r : in.recipients) {
        m += "<" + r.address + ">: " + one_line(r.diagnostic) + "\r\n";
    }
    m += "\r\n";

    // 2. Machine-readable part (RFC 3464 section 2).
    m += "--" + boundary + "\r\n";
    m += "Content-Type: message/delivery-status\r\n";
    m += "Content-Description: Delivery report\r\n\r\n";
    m += "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
    m += "X-Gatehouse-Queue-ID: " + env.queue_id + "\r\n";
    if (!env.envid.empty()) m += "Original-Envelope-Id: " + env.envid + "\r\n";
    if (!env.client.helo.empty())
        m += "Received-From-MTA: dns; " + one_line(env.client.helo) + "\r\n";
    m += "Arrival-Date: " + rfc5322_date(env.arrival_ms) + "\r\n";
    for (const auto& r : in.recipients) {
        m += "\r\n";
        if (!r.orcpt.empty()) m += "Original-Recipient: " + r.orcpt + "\r\n";
        m += "Final-Recipient: rfc822; " + r.address + "\r\n";
        m += "Action: " + r.action + "\r\n";
        m += "Status: " + r.status + "\r\n";
        if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + r.remote_mta + "\r\n";
        if (!r.diagnostic.empty() && std::isdigit(static_cast<unsigned char>(r.diagnostic[0])))
            m += "Diagnostic-Code: smtp; " + one_line(r.diagnostic) + "\r\n";
        m += "Last-Attempt-Date: " + rfc5322_date(in.now_ms) + "\r\n";
    }
    m += "\r\n";

    // 3. The original message, or its header (RET=HDRS is our default).
    m += "--" + boundary + "\r\n";
    if (!in.original_full.empty()) {
        m += "Content-Type: message/rfc822\r\n";
        m += "Content-Description: Undelivered Message\r\n\r\n";
        m += in.original_full;
        if (!in.original_full.ends_with("\r\n")) m += "\r\n";
    } else {
        m += "Content-Type: text/rfc822-headers\r\n";
        m += "Content-Description: Undelivered Message Headers\r\n\r\n";
        m += in.original_headers;
        if (!in.original_headers.ends_with("\r\n")) m += "\r\n";
    }
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

}  // namespace gatehouse::queue
