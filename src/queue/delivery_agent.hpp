// What the queue manager needs from delivery: one transaction for a set of
// recipients that share a destination. deliver::Deliverer is the real one
// (wired in app/serve.cpp); unit tests give the manager scripted agents.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <vector>

#include "deliver/deliverer.hpp"

namespace gatehouse::queue {

class DeliveryAgent {
  public:
    virtual ~DeliveryAgent() = default;
    virtual boost::asio::awaitable<deliver::AttemptResult> deliver(
        const deliver::Destination& destination, const Envelope& envelope,
        std::vector<std::size_t> recipients, deliver::ContentRef content) = 0;
};

// Adapts deliver::Deliverer to the interface.
class SmtpDeliveryAgent final : public DeliveryAgent {
  public:
    explicit SmtpDeliveryAgent(deliver::Deliverer& d) : d_(d) {}
    boost::asio::awaitable<deliver::AttemptResult> deliver(const deliver::Destination& destination,
                                                           const Envelope& envelope,
                                                           std::vector<std::size_t> recipients,
                                                           deliver::ContentRef content) override {
        return d_.deliver(destination, envelope, std::move(recipients), std::move(content));
    }

  private:
    deliver::Deliverer& d_;
};

}  // namespace gatehouse::queue
