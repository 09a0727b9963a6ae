// The envelope of one message: who sent it, to whom, and how it arrived.
// Filled by the SMTP session, written to the spool with the content, read by
// the pipeline, the queue manager and delivery. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse {

enum class BodyType { SevenBit, EightBitMime };

enum class ListenerRole { Inbound, Outbound };

// RFC 3461 NOTIFY= keywords as a bit set; 0 means the client gave none.
enum NotifyFlags : unsigned {
    kNotifyNever = 1,
    kNotifySuccess = 2,
    kNotifyFailure = 4,
    kNotifyDelay = 8
};

struct Recipient {
    std::string address;  // as given in RCPT TO, without angle brackets
    std::string orcpt;    // RFC 3461 ORCPT, "addr-type;xtext", empty if none
    unsigned notify = 0;  // NotifyFlags
};

struct ClientInfo {
    std::string session_id;
    std::string address;  // peer IP, textual
    std::uint16_t port = 0;
    std::string helo;
    std::string listener;  // listener name from config
    ListenerRole role = ListenerRole::Inbound;
    bool tls = false;
    std::string tls_version;
    std::string tls_cipher;
};

struct Envelope {
    std::string queue_id;
    std::string sender;  // empty string is the null sender <>
    std::vector<Recipient> recipients;
    BodyType body = BodyType::SevenBit;
    bool smtputf8 = false;
    std::string envid;            // RFC 3461 ENVID
    std::string ret;              // RFC 3461 RET=FULL|HDRS, empty if none
    std::int64_t arrival_ms = 0;  // ms since the epoch
    ClientInfo client;
};

}  // namespace gatehouse
