// The seat for analysis and policy (DESIGN.md: analyse -> decide).
//
// Analysers look at a spooled message and add facts to a report; they never
// decide. The policy step reads the facts and returns one disposition per
// recipient. Both see plain data only (the envelope, the content bytes, the
// report), so they can later move into sandboxed worker processes.
//
// With the gateway core the only policy is DeliverAll; later issues add the
// authentication, antivirus, spam and rules stages behind these interfaces.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/envelope.hpp"

namespace gatehouse::pipeline {

// One finding of one analyser, e.g. {"spf", "result", "pass"}.
struct Fact {
    std::string analyser;
    std::string name;
    std::string value;
};

struct Report {
    std::vector<Fact> facts;

    void add(std::string analyser, std::string name, std::string value) {
        facts.push_back({std::move(analyser), std::move(name), std::move(value)});
    }
    const Fact* find(std::string_view analyser, std::string_view name) const;
};

enum class Disposition { Deliver, Reject, Tempfail, Discard, Quarantine, Hold };

std::string_view to_string(Disposition d);

struct Decision {
    Disposition disposition = Disposition::Deliver;
    std::string reason;  // human text, e.g. the rule or the fact that decided
    std::string reply;   // SMTP reply text for Reject/Tempfail, empty for the default
};

// What the pipeline sees of a message. content is the message as spooled
// (RFC 5322 header and body, CRLF line ends, dot-unstuffed).
struct MessageView {
    const Envelope& envelope;
    std::string_view content;
};

class Analyser {
  public:
    virtual ~Analyser() = default;
    virtual std::string name() const = 0;
    // Adds facts to report. Must not throw; a failure is itself a fact
    // (e.g. {"clamav", "error", "timeout"}) for the policy to weigh.
    virtual void analyse(const MessageView& message, Report& report) = 0;
};

class PolicyStep {
  public:
    virtual ~PolicyStep() = default;
    // Returns exactly one decision per envelope recipient, in order.
    virtual std::vector<Decision> decide(const MessageView& message, const Report& report) = 0;
};

// The embedded default: every recipient gets Deliver.
class DeliverAll final : public PolicyStep {
  public:
    std::vector<Decision> decide(const MessageView& message, const Report& report) override;
};

struct Outcome {
    Report report;
    std::vector<Decision> decisions;  // one per recipient
};

// Runs every analyser in order, then the policy step. A policy that returns
// the wrong number of decisions is a broken invariant: every recipient then
// gets Tempfail, so nothing is accepted unchecked.
class Pipeline {
  public:
    explicit Pipeline(std::unique_ptr<PolicyStep> policy);
    void add_analyser(std::unique_ptr<Analyser> analyser);
    Outcome run(const MessageView& message) const;

  private:
    std::vector<std::unique_ptr<Analyser>> analysers_;
    std::unique_ptr<PolicyStep> policy_;
};

}  // namespace gatehouse::pipeline
