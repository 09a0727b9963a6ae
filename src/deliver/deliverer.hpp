// Outbound SMTP: deliver one message to the recipients that share one
// destination, in one transaction, over a cached connection when one is
// idle. The queue manager decides what to send when and how many at once;
// this layer only talks SMTP.
//
// Standards: RFC 5321 (client side, MX selection section 5.1), RFC 3207
// (STARTTLS), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
// RFC 3461 (DSN parameters passed on when the server offers DSN),
// RFC 2920 (PIPELINING of RCPT commands).
//
// SECURITY: replies from the next hop are untrusted: line length and count
// are capped, and they are escaped before they reach logs and events.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/envelope.hpp"
#include "config/config.hpp"

namespace gatehouse::dns {
class Resolver;
}

namespace gatehouse::deliver {

// Where a recipient domain's mail goes. Messages with the same key share
// connections and concurrency limits.
struct Destination {
    std::string key;     // "relay:host:port" or "mx:domain"
    std::string domain;  // recipient domain (for MX lookup and logs)
    config::Route route;
};

Destination destination_for(const config::Config& config, const std::string& recipient_domain);

// The content bytes to send, as stored in the spool file: CRLF line ends,
// not dot-stuffed (the client stuffs while sending).
struct ContentRef {
    std::string path;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

enum class RcptOutcome { Delivered, Deferred, Bounced };

struct RcptResult {
    RcptOutcome outcome = RcptOutcome::Deferred;
    std::string reply;  // the deciding reply, e.g. "550 5.1.1 no such user", or our reason
};

struct AttemptResult {
    std::vector<RcptResult> recipients;  // one per requested recipient, same order
    std::string remote;                  // "mx.example[192.0.2.1]:25"; empty if none reached
    std::string tls;                     // tls::describe() or "none"
    // True when no target of the destination could be reached (DNS failure,
    // connect refused or timed out, greeting 4xx): the queue manager then
    // treats the whole destination as down instead of this one message.
    bool destination_unreachable = false;
};

class Deliverer {
  public:
    Deliverer(boost::asio::any_io_executor executor, const config::Config& config,
              dns::Resolver& resolver);
    ~Deliverer();

    // Sends the message to envelope.recipients[i] for each i in recipients.
    // Never throws; every failure is an outcome per recipient.
    boost::asio::awaitable<AttemptResult> deliver(const Destination& destination,
                                                  const Envelope& envelope,
                                                  std::vector<std::size_t> recipients,
                                                  ContentRef content);

    // Closes idle cached connections (QUIT). Called on shutdown.
    boost::asio::awaitable<void> close_idle();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::deliver
