#include "pipeline/stage.hpp"

#include <gtest/gtest.h>

namespace gatehouse::pipeline {
namespace {

class SubjectAnalyser : public Analyser {
  public:
    std::string name() const override { return "subject"; }
    void analyse(const MessageView& m, Report& r) override {
        r.add("subject", "contains_block",
              m.content.find("BLOCKME") != std::string_view::npos ? "yes" : "no");
    }
};

// Rejects every recipient whose domain is "blocked.example" when the
// analyser found the marker: a policy that uses both a fact and the envelope.
class TestPolicy : public PolicyStep {
  public:
    std::vector<Decision> decide(const MessageView& m, const Report& r) override {
        std::vector<Decision> out;
        const Fact* f = r.find("subject", "contains_block");
        for (const auto& rcpt : m.envelope.recipients) {
            bool block = f && f->value == "yes" && rcpt.address.ends_with("@blocked.example");
            out.push_back(block ? Decision{Disposition::Reject, "marker", "550 5.7.1 no"}
                                : Decision{Disposition::Deliver, "ok", {}});
        }
        return out;
    }
};

class BrokenPolicy : public PolicyStep {
  public:
    std::vector<Decision> decide(const MessageView&, const Report&) override { return {}; }
};

Envelope two_recipients() {
    Envelope env;
    env.recipients = {{"a@ok.example", "", 0}, {"b@blocked.example", "", 0}};
    return env;
}

}  // namespace

TEST(Pipeline, DefaultDeliversEveryRecipient) {
    Pipeline p(std::make_unique<DeliverAll>());
    auto env = two_recipients();
    auto out = p.run({env, "Subject: hi\r\n\r\nbody\r\n"});
    ASSERT_EQ(out.decisions.size(), 2u);
    for (auto& d : out.decisions) EXPECT_EQ(d.disposition, Disposition::Deliver);
}

TEST(Pipeline, FactsReachPolicyPerRecipient) {
    Pipeline p(std::make_unique<TestPolicy>());
    p.add_analyser(std::make_unique<SubjectAnalyser>());
    auto env = two_recipients();
    auto out = p.run({env, "Subject: BLOCKME\r\n\r\n"});
    ASSERT_EQ(out.report.facts.size(), 1u);
    EXPECT_EQ(out.decisions[0].disposition, Disposition::Deliver);
    EXPECT_EQ(out.decisions[1].disposition, Disposition::Reject);
    auto clean = p.run({env, "Subject: fine\r\n\r\n"});
    EXPECT_EQ(clean.decisions[1].disposition, Disposition::Deliver);
}

TEST(Pipeline, WrongDecisionCountTempfailsEverything) {
    Pipeline p(std::make_unique<BrokenPolicy>());
    auto env = two_recipients();
    auto out = p.run({env, ""});
    ASSERT_EQ(out.decisions.size(), 2u);
    for (auto& d : out.decisions) EXPECT_EQ(d.disposition, Disposition::Tempfail);
}

}  // namespace gatehouse::pipeline
