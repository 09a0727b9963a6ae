#include "pipeline/stage.hpp"

namespace gatehouse::pipeline {

const Fact* Report::find(std::string_view analyser, std::string_view name) const {
    for (const auto& f : facts)
        if (f.analyser == analyser && f.name == name) return &f;
    return nullptr;
}

std::string_view to_string(Disposition d) {
    switch (d) {
        case Disposition::Deliver:
            return "deliver";
        case Disposition::Reject:
            return "reject";
        case Disposition::Tempfail:
            return "tempfail";
        case Disposition::Discard:
            return "discard";
        case Disposition::Quarantine:
            return "quarantine";
        case Disposition::Hold:
            return "hold";
    }
    return "unknown";
}

std::vector<Decision> DeliverAll::decide(const MessageView& message, const Report&) {
    return std::vector<Decision>(message.envelope.recipients.size(),
                                 Decision{Disposition::Deliver, "default policy", {}});
}

Pipeline::Pipeline(std::unique_ptr<PolicyStep> policy) : policy_(std::move(policy)) {}

void Pipeline::add_analyser(std::unique_ptr<Analyser> analyser) {
    analysers_.push_back(std::move(analyser));
}

Outcome Pipeline::run(const MessageView& message) const {
    Outcome out;
    for (const auto& a : analysers_) a->analyse(message, out.report);
    out.decisions = policy_->decide(message, out.report);
    if (out.decisions.size() != message.envelope.recipients.size()) {
        out.decisions.assign(message.envelope.recipients.size(),
                             Decision{Disposition::Tempfail, "policy returned wrong decision count",
                                      "451 4.3.0 policy error, try again later"});
    }
    return out;
}

}  // namespace gatehouse::pipeline
