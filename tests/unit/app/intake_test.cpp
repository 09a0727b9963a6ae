// The pipeline seat as wired by SpoolIntake: a test policy decides per
// recipient and the intake turns that into a refusal, a held message, dropped
// recipients or a queued message. Driven through recover_incoming(), which
// runs the same decide-and-queue step as the end of DATA.
#include "app/intake.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "base/ids.hpp"

namespace gatehouse::app {
namespace {

using pipeline::Decision;
using pipeline::Disposition;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/gh-intake-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// Disposition by recipient local part: "reject", "hold", "tempfail", "drop";
// anything else is delivered. Records the facts it was given.
class LocalPartPolicy : public pipeline::PolicyStep {
  public:
    std::vector<Decision> decide(const pipeline::MessageView& m,
                                 const pipeline::Report& r) override {
        saw_fact = r.find("test", "size") != nullptr;
        std::vector<Decision> out;
        for (const auto& rcpt : m.envelope.recipients) {
            std::string local = rcpt.address.substr(0, rcpt.address.find('@'));
            if (local == "reject")
                out.push_back({Disposition::Reject, "rule 7", "550 5.7.1 refused by rule 7"});
            else if (local == "hold")
                out.push_back({Disposition::Hold, "rule 8", {}});
            else if (local == "tempfail")
                out.push_back({Disposition::Tempfail, "engine down", {}});
            else if (local == "drop")
                out.push_back({Disposition::Discard, "rule 9", {}});
            else
                out.push_back({Disposition::Deliver, "ok", {}});
        }
        return out;
    }
    bool saw_fact = false;
};

class SizeAnalyser : public pipeline::Analyser {
  public:
    std::string name() const override { return "test"; }
    void analyse(const pipeline::MessageView& m, pipeline::Report& r) override {
        r.add("test", "size", std::to_string(m.content.size()));
        content = std::string(m.content);
    }
    std::string content;
};

// Never called: these tests stop before delivery matters.
class IdleAgent : public queue::DeliveryAgent {
  public:
    boost::asio::awaitable<deliver::AttemptResult> deliver(const deliver::Destination&,
                                                           const Envelope&,
                                                           std::vector<std::size_t> rcpts,
                                                           deliver::ContentRef) override {
        deliver::AttemptResult r;
        r.recipients.assign(rcpts.size(), {deliver::RcptOutcome::Deferred, "4.0.0 test"});
        co_return r;
    }
};

struct Fixture {
    TempDir dir;
    config::Config cfg = config::defaults();
    queue::Spool spool{dir.path};
    IdleAgent agent;
    events::MemorySink events;
    boost::asio::io_context ioc;  // not run: no delivery happens
    queue::Manager manager{ioc.get_executor(), cfg, spool, agent, events};
    LocalPartPolicy* policy = nullptr;
    SizeAnalyser* analyser = nullptr;
    std::unique_ptr<pipeline::Pipeline> pipe;
    std::unique_ptr<SpoolIntake> intake;

    Fixture() {
        auto p = std::make_unique<LocalPartPolicy>();
        policy = p.get();
        pipe = std::make_unique<pipeline::Pipeline>(std::move(p));
        auto a = std::make_unique<SizeAnalyser>();
        analyser = a.get();
        pipe->add_analyser(std::move(a));
        intake = std::make_unique<SpoolIntake>(cfg, spool, *pipe, manager, events);
        manager.start();
    }
    ~Fixture() { manager.stop(); }

    std::string spool_message(std::vector<std::string> rcpts) {
        Envelope env;
        env.queue_id = make_queue_id();
        env.sender = "s@example.org";
        for (auto& r : rcpts) env.recipients.push_back({r, "", 0});
        auto w = spool.create(env);
        EXPECT_TRUE(w.ok());
        EXPECT_TRUE((*w)->append("Subject: x\r\nMessage-ID: <id@x>\r\n\r\nbody\r\n").ok());
        EXPECT_TRUE((*w)->finish().ok());
        EXPECT_TRUE(spool.commit_sync(**w).ok());
        return env.queue_id;
    }
    const events::Event* last(events::Kind k) {
        static std::vector<events::Event> snap;
        snap = events.snapshot();
        for (auto it = snap.rbegin(); it != snap.rend(); ++it)
            if (it->kind == k) return &*it;
        return nullptr;
    }
};

}  // namespace

TEST(Intake, AnalysersSeeTheSpooledContentAndPolicySeesTheirFacts) {
    Fixture f;
    std::string qid = f.spool_message({"a@example.com"});
    f.intake->recover_incoming();
    EXPECT_EQ(f.analyser->content, "Subject: x\r\nMessage-ID: <id@x>\r\n\r\nbody\r\n");
    EXPECT_TRUE(f.policy->saw_fact);
    EXPECT_EQ(f.spool.scan(queue::SpoolDir::Active), std::vector<std::string>{qid});
    auto* ev = f.last(events::Kind::Received);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->disposition, "deliver");
    EXPECT_EQ(ev->message_id, "<id@x>");
    EXPECT_EQ(ev->reason, "recovered after restart");
}

TEST(Intake, AllRejectedIsRefusedAndRemoved) {
    Fixture f;
    f.spool_message({"reject@example.com"});
    f.intake->recover_incoming();
    EXPECT_TRUE(f.spool.scan(queue::SpoolDir::Incoming).empty());
    EXPECT_TRUE(f.spool.scan(queue::SpoolDir::Active).empty());
    auto* ev = f.last(events::Kind::Rejected);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->reply, "550 5.7.1 refused by rule 7");
    EXPECT_EQ(ev->disposition, "reject");
    EXPECT_EQ(f.manager.size(), 0u);
}

TEST(Intake, TempfailWinsOverRejectForTheWholeMessage) {
    Fixture f;
    f.spool_message({"tempfail@example.com", "reject@example.com"});
    f.intake->recover_incoming();
    auto* ev = f.last(events::Kind::Rejected);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->disposition, "tempfail");
    // A permanent refusal would lose the tempfailed recipient's mail.
    EXPECT_EQ(ev->reply, "451 4.7.1 try again later");
}

TEST(Intake, HeldMessageGoesToHoldWithTheReason) {
    Fixture f;
    std::string qid = f.spool_message({"hold@example.com"});
    f.intake->recover_incoming();
    EXPECT_EQ(f.spool.scan(queue::SpoolDir::Hold), std::vector<std::string>{qid});
    auto s = f.manager.show(qid);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->state, "hold");
    EXPECT_EQ(s->last_error, "rule 8");
    ASSERT_NE(f.last(events::Kind::Held), nullptr);
}

TEST(Intake, MixedOutcomeDeliversSomeAndDropsTheRest) {
    Fixture f;
    std::string qid = f.spool_message({"a@example.com", "drop@example.com", "reject@example.com"});
    f.intake->recover_incoming();
    auto m = f.spool.load(qid, queue::SpoolDir::Active);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->states[0], queue::RecipientState::Pending);
    EXPECT_EQ(m->states[1], queue::RecipientState::Dropped);
    EXPECT_EQ(m->states[2], queue::RecipientState::Dropped);
    EXPECT_EQ(f.last(events::Kind::Received)->disposition, "deliver");
}

TEST(Intake, PartialFileFromACrashIsRemovedNotQueued) {
    Fixture f;
    Envelope env;
    env.queue_id = make_queue_id();
    env.recipients = {{"a@example.com", "", 0}};
    auto w = f.spool.create(env);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(std::string(300000, 'x')).ok());  // no finish(): no trailer
    (*w)->close();
    f.intake->recover_incoming();
    EXPECT_TRUE(f.spool.scan(queue::SpoolDir::Incoming).empty());
    EXPECT_TRUE(f.spool.scan(queue::SpoolDir::Active).empty());
    EXPECT_EQ(f.manager.size(), 0u);
}

}  // namespace gatehouse::app
