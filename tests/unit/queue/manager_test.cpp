// Queue manager with a scripted delivery agent (a fake: unit test only).
// The real SMTP path is covered by tests/integration.
#include "queue/manager.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <thread>

#include "base/text.hpp"

namespace gatehouse::queue {
namespace {

using namespace std::chrono_literals;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/gh-mgr-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// down.example is unreachable while `down` is set; bounce.example refuses
// every recipient; anything else is delivered.
class ScriptedAgent final : public DeliveryAgent {
  public:
    std::atomic<bool> down{true};
    std::atomic<int> calls{0};
    std::mutex mu;
    std::vector<std::string> delivered;  // "qid rcpt"
    std::vector<std::string> contents;

    boost::asio::awaitable<deliver::AttemptResult> deliver(const deliver::Destination& d,
                                                           const Envelope& env,
                                                           std::vector<std::size_t> rcpts,
                                                           deliver::ContentRef content) override {
        ++calls;
        deliver::AttemptResult r;
        if (d.domain == "down.example" && down) {
            r.destination_unreachable = true;
            r.recipients.assign(rcpts.size(), {deliver::RcptOutcome::Deferred,
                                               "4.4.1 connect to down.example: refused"});
            co_return r;
        }
        r.remote = "mx." + d.domain + "[127.0.0.1]:25";
        for (auto i : rcpts) {
            if (d.domain == "bounce.example") {
                r.recipients.push_back({deliver::RcptOutcome::Bounced, "550 5.1.1 no such user"});
            } else {
                r.recipients.push_back({deliver::RcptOutcome::Delivered, "250 2.0.0 ok"});
                std::lock_guard lock(mu);
                delivered.push_back(env.queue_id + " " + env.recipients[i].address);
                std::string body(content.length, '\0');
                FILE* f = std::fopen(content.path.c_str(), "rb");
                std::fseek(f, static_cast<long>(content.offset), SEEK_SET);
                std::size_t n = std::fread(body.data(), 1, body.size(), f);
                std::fclose(f);
                body.resize(n);
                contents.push_back(body);
            }
        }
        co_return r;
    }
    std::size_t delivered_count() {
        std::lock_guard lock(mu);
        return delivered.size();
    }
};

struct Fixture {
    TempDir dir;
    config::Config cfg = config::defaults();
    std::unique_ptr<Spool> spool;
    ScriptedAgent agent;
    std::shared_ptr<events::MemorySink> sink = std::make_shared<events::MemorySink>();
    boost::asio::io_context ioc;
    std::unique_ptr<Manager> manager;
    std::thread runner;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;

    explicit Fixture(std::vector<std::chrono::seconds> retry = {1s},
                     std::chrono::seconds lifetime = 3600s) {
        cfg.hostname = "gw.test";
        cfg.queue.retry = retry;
        cfg.queue.lifetime = lifetime;
        cfg.data_dir = dir.path;
        spool = std::make_unique<Spool>(dir.path);
    }
    void start() {
        manager = std::make_unique<Manager>(ioc.get_executor(), cfg, *spool, agent, *sink);
        manager->start();
        guard = std::make_unique<decltype(guard)::element_type>(ioc.get_executor());
        runner = std::thread([this] { ioc.run(); });
    }
    ~Fixture() { stop(); }
    void stop() {
        if (!runner.joinable()) return;
        manager->stop();
        guard.reset();
        ioc.stop();
        runner.join();
    }
    std::string send(const std::string& sender, std::vector<std::string> rcpts) {
        Envelope env;
        env.sender = sender;
        for (auto& r : rcpts) env.recipients.push_back({r, "", 0});
        auto qid = manager->inject(env, "Subject: test\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n");
        EXPECT_TRUE(qid.ok()) << qid.error().message;
        return qid.ok() ? *qid : "";
    }
    template <class Pred>
    bool wait_for(Pred pred, std::chrono::milliseconds limit = 10s) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (pred()) return true;
            std::this_thread::sleep_for(20ms);
        }
        return pred();
    }
    std::size_t count(events::Kind k) {
        std::size_t n = 0;
        for (auto& e : sink->snapshot()) n += e.kind == k;
        return n;
    }
};

}  // namespace

TEST(Manager, DeliversAndRemovesFromSpool) {
    Fixture f;
    f.start();
    for (int i = 0; i < 10; ++i) f.send("a@src.example", {"x@up.example", "y@up.example"});
    ASSERT_TRUE(f.wait_for([&] { return f.agent.delivered_count() == 20; }));
    ASSERT_TRUE(f.wait_for([&] { return f.manager->size() == 0; }));
    EXPECT_TRUE(f.spool->scan(SpoolDir::Active).empty());
    EXPECT_EQ(f.count(events::Kind::Delivered), 20u);
    // Both recipients of a message share one transaction.
    EXPECT_EQ(f.agent.calls.load(), 10);
    EXPECT_EQ(f.agent.contents[0], "Subject: test\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n");
}

TEST(Manager, BackupQueueHoldsThenDeliversBacklogWhenDestinationRecovers) {
    Fixture f({2s});
    f.start();
    std::vector<std::string> qids;
    for (int i = 0; i < 30; ++i) qids.push_back(f.send("a@src.example", {"u@down.example"}));
    ASSERT_TRUE(f.wait_for([&] { return f.count(events::Kind::Deferred) == 30; }));
    // The destination failed once; the jobs behind it were deferred without
    // a connection attempt each.
    EXPECT_LT(f.agent.calls.load(), 30);
    for (auto& s : f.manager->list()) EXPECT_EQ(s.state, "deferred");
    f.agent.down = false;
    ASSERT_TRUE(f.wait_for([&] { return f.agent.delivered_count() == 30; }, 15s));
    ASSERT_TRUE(f.wait_for([&] { return f.manager->size() == 0; }));
    std::set<std::string> unique;
    for (auto& d : f.agent.delivered) unique.insert(d);
    EXPECT_EQ(unique.size(), 30u) << "duplicate deliveries";
    EXPECT_EQ(f.count(events::Kind::Bounced), 0u);
}

TEST(Manager, BounceSendsDsnToSenderButNeverForNullSender) {
    Fixture f;
    f.start();
    f.send("alice@up.example", {"nobody@bounce.example"});
    f.send("", {"nobody@bounce.example"});
    ASSERT_TRUE(f.wait_for([&] { return f.count(events::Kind::Bounced) == 2; }));
    ASSERT_TRUE(f.wait_for([&] { return f.agent.delivered_count() == 1; }));
    ASSERT_TRUE(f.wait_for([&] { return f.manager->size() == 0; }));
    EXPECT_EQ(f.count(events::Kind::Queued), 1u);  // exactly one DSN
    ASSERT_EQ(f.agent.delivered.size(), 1u);
    EXPECT_NE(f.agent.delivered[0].find("alice@up.example"), std::string::npos);
    const std::string& dsn = f.agent.contents[0];
    EXPECT_NE(dsn.find("Status: 5.1.1"), std::string::npos);
    EXPECT_NE(dsn.find("Final-Recipient: rfc822; nobody@bounce.example"), std::string::npos);
    EXPECT_NE(dsn.find("Diagnostic-Code: smtp; 550 5.1.1 no such user"), std::string::npos);
}

TEST(Manager, ExpiryAfterLifetimeSendsDelayedFailureDsn) {
    Fixture f({1s}, 2s);
    f.start();
    f.send("alice@up.example", {"u@down.example"});
    ASSERT_TRUE(f.wait_for([&] { return f.count(events::Kind::Expired) == 1; }, 10s));
    ASSERT_TRUE(f.wait_for([&] { return f.agent.delivered_count() == 1; }));
    const std::string& dsn = f.agent.contents[0];
    EXPECT_NE(dsn.find("Status: 4.4.7"), std::string::npos) << dsn;
    EXPECT_NE(dsn.find("Action: failed"), std::string::npos);
    ASSERT_TRUE(f.wait_for([&] { return f.manager->size() == 0; }));
}

TEST(Manager, HoldReleaseDeleteAndRestartRecovery) {
    auto f = std::make_unique<Fixture>(std::vector<std::chrono::seconds>{3600s});
    f->start();
    std::string a = f->send("s@src.example", {"u@down.example"});
    std::string b = f->send("s@src.example", {"v@down.example"});
    ASSERT_TRUE(f->wait_for([&] { return f->count(events::Kind::Deferred) == 2; }));
    ASSERT_TRUE(f->manager->hold(a).ok());
    EXPECT_EQ(f->manager->show(a)->state, "hold");
    EXPECT_EQ(f->spool->scan(SpoolDir::Hold).size(), 1u);
    EXPECT_FALSE(f->manager->hold("0000000000000000").ok());

    // Restart on the same spool: both messages come back in their state.
    std::string data = f->dir.path;
    f->stop();
    Fixture g({3600s});
    g.spool = std::make_unique<Spool>(data);
    g.start();
    EXPECT_EQ(g.manager->size(), 2u);
    EXPECT_EQ(g.manager->show(a)->state, "hold");
    EXPECT_EQ(g.manager->show(b)->state, "deferred");
    EXPECT_LE(g.manager->show(b)->attempts, 1u);

    ASSERT_TRUE(g.manager->remove(b).ok());
    EXPECT_FALSE(g.manager->show(b).has_value());
    g.agent.down = false;
    ASSERT_TRUE(g.manager->release(a).ok());
    ASSERT_TRUE(g.wait_for([&] { return g.agent.delivered_count() == 1; }));
    EXPECT_EQ(g.count(events::Kind::Deleted), 1u);
    EXPECT_EQ(g.count(events::Kind::Released), 1u);
    ASSERT_TRUE(g.wait_for([&] { return g.manager->size() == 0; }));
    f.reset();
}

// Regression: each hold/release cycle used to add one to the attempt count
// (and so push the next retry later) although no delivery was tried.
TEST(Manager, HoldAndReleaseAreNotDeliveryAttempts) {
    Fixture f({3600s});
    f.start();
    std::string qid = f.send("s@src.example", {"u@down.example"});
    ASSERT_TRUE(f.wait_for([&] { return f.count(events::Kind::Deferred) == 1; }));
    ASSERT_EQ(f.manager->show(qid)->attempts, 1u);
    int calls = f.agent.calls.load();
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(f.manager->hold(qid).ok());
        ASSERT_TRUE(f.manager->release(qid).ok());
        ASSERT_TRUE(f.wait_for([&] { return f.manager->show(qid)->state == "deferred"; }));
    }
    EXPECT_EQ(f.agent.calls.load(), calls) << "the destination is down: no new transaction";
    EXPECT_EQ(f.manager->show(qid)->attempts, 1u);
}

TEST(Manager, FlushRetriesDeferredNow) {
    Fixture f({3600s});
    f.start();
    f.send("s@src.example", {"u@down.example"});
    ASSERT_TRUE(f.wait_for([&] { return f.count(events::Kind::Deferred) == 1; }));
    f.agent.down = false;
    ASSERT_TRUE(f.manager->flush().ok());
    ASSERT_TRUE(f.wait_for([&] { return f.agent.delivered_count() == 1; }));
}

}  // namespace gatehouse::queue
