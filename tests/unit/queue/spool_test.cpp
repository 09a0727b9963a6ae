#include "queue/spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/ids.hpp"

namespace gatehouse::queue {
namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/gh-spool-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

Envelope sample_envelope() {
    Envelope env;
    env.queue_id = make_queue_id();
    env.sender = "alice@example.org";
    env.recipients = {{"bob@example.com", "rfc822;bob@example.com", kNotifyFailure},
                      {"carol@example.net", "", 0}};
    env.body = BodyType::EightBitMime;
    env.arrival_ms = 1764780000123;
    env.ret = "HDRS";
    env.client.address = "192.0.2.7";
    env.client.port = 4711;
    env.client.helo = "client.example.org";
    env.client.session_id = "0123456789abcdef";
    env.client.listener = "inbound";
    return env;
}

}  // namespace

TEST(Spool, WriteCommitLoadRoundTrip) {
    TempDir dir;
    Spool spool(dir.path);
    Envelope env = sample_envelope();
    auto w = spool.create(env);
    ASSERT_TRUE(w.ok()) << w.error().message;
    std::string content = "Subject: hi\r\n\r\n" + std::string(300000, 'x') + "\r\n.dot line\r\n";
    ASSERT_TRUE((*w)->append(content.substr(0, 1000)).ok());
    ASSERT_TRUE((*w)->append(content.substr(1000)).ok());
    ASSERT_TRUE((*w)->finish().ok());
    ASSERT_TRUE(spool.commit_sync(**w).ok());
    (*w)->close();

    auto m = spool.load(env.queue_id, SpoolDir::Incoming);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->envelope.sender, env.sender);
    ASSERT_EQ(m->envelope.recipients.size(), 2u);
    EXPECT_EQ(m->envelope.recipients[0].orcpt, "rfc822;bob@example.com");
    EXPECT_EQ(m->envelope.recipients[0].notify, unsigned(kNotifyFailure));
    EXPECT_EQ(m->envelope.body, BodyType::EightBitMime);
    EXPECT_EQ(m->envelope.arrival_ms, env.arrival_ms);
    EXPECT_EQ(m->envelope.client.helo, "client.example.org");
    EXPECT_EQ(m->content_length, content.size());

    std::ifstream f(spool.path(SpoolDir::Incoming, env.queue_id), std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(all.substr(m->content_offset, m->content_length), content);
}

TEST(Spool, StateAndScheduleUpdateInPlace) {
    TempDir dir;
    Spool spool(dir.path);
    Envelope env = sample_envelope();
    auto w = spool.create(env);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append("Subject: x\r\n\r\nbody\r\n").ok());
    ASSERT_TRUE((*w)->finish().ok());
    ASSERT_TRUE(spool.commit_sync(**w).ok());
    ASSERT_TRUE(spool.move(env.queue_id, SpoolDir::Incoming, SpoolDir::Active).ok());
    auto m = spool.load(env.queue_id, SpoolDir::Active);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(spool
                    .set_recipient_state(env.queue_id, SpoolDir::Active, m->state_offsets[1],
                                         RecipientState::Delivered)
                    .ok());
    ASSERT_TRUE(
        spool.set_schedule(env.queue_id, SpoolDir::Active, m->sched_offset, 3, 1764780099999).ok());
    auto again = spool.load(env.queue_id, SpoolDir::Active);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->states[0], RecipientState::Pending);
    EXPECT_EQ(again->states[1], RecipientState::Delivered);
    EXPECT_EQ(again->attempts, 3u);
    EXPECT_EQ(again->next_attempt_ms, 1764780099999);
    EXPECT_EQ(again->content_length, m->content_length);
}

TEST(Spool, PartialFileIsRefused) {
    TempDir dir;
    Spool spool(dir.path);
    Envelope env = sample_envelope();
    auto w = spool.create(env);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(std::string(600000, 'y')).ok());  // large: flushed, no trailer
    (*w)->close();
    auto m = spool.load(env.queue_id, SpoolDir::Incoming);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("incomplete"), std::string::npos);
    EXPECT_EQ(spool.scan(SpoolDir::Incoming).size(), 1u);
}

class SpoolSyncMethods : public ::testing::TestWithParam<config::SpoolSync> {};

INSTANTIATE_TEST_SUITE_P(Methods, SpoolSyncMethods,
                         ::testing::Values(config::SpoolSync::Parallel,
                                           config::SpoolSync::Filesystem),
                         [](const auto& info) {
                             return info.param == config::SpoolSync::Parallel ? "Parallel"
                                                                              : "Filesystem";
                         });

TEST_P(SpoolSyncMethods, ConcurrentCommitsAreGrouped) {
    TempDir dir;
    Spool spool(dir.path, GetParam());
    constexpr int kThreads = 8, kEach = 25;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                Envelope env = sample_envelope();
                auto w = spool.create(env);
                ASSERT_TRUE(w.ok());
                ASSERT_TRUE((*w)->append("Subject: x\r\n\r\nbody\r\n").ok());
                ASSERT_TRUE((*w)->finish().ok());
                ASSERT_TRUE(spool.commit_sync(**w).ok());
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(spool.commits(), std::uint64_t(kThreads * kEach));
    EXPECT_LE(spool.batches(), spool.commits());
    EXPECT_EQ(spool.scan(SpoolDir::Incoming).size(), std::size_t(kThreads * kEach));
}

TEST(SpoolParse, HostileHeadersAreErrorsNotCrashes) {
    EXPECT_FALSE(parse_spool_header("").ok());
    EXPECT_FALSE(parse_spool_header("GHQ1\n").ok());
    EXPECT_FALSE(parse_spool_header("GHQ1\nqid ../../x\ndata\n").ok());
    EXPECT_FALSE(parse_spool_header("GHQ1\nqid 0123456789ABCDEF\nsched 1 2\ndata\n").ok());
    EXPECT_FALSE(parse_spool_header("GHQ1\nqid 0123456789ABCDEF\nsched 000000 000000000000000\n"
                                    "rcpt Q 00 a@b\ndata\n")
                     .ok());
    auto ok = parse_spool_header(
        "GHQ1\nqid 0123456789ABCDEF\nsched 000001 000000000000042\nrcpt - 04 a@b\nfuture "
        "x\ndata\n");
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->attempts, 1u);
    EXPECT_EQ(ok->next_attempt_ms, 42);
}

}  // namespace gatehouse::queue

namespace gatehouse::queue {

// Regression: a quoted local part with a space was cut at the space when the
// spool file was read back, so `"x@other.example y"@accepted.example` was
// routed to other.example (an open relay) and `"john smith"@example.com`
// was sent as `"john`.
TEST(Spool, AddressesWithSpacesAndEightBitRoundTrip) {
    TempDir dir;
    Spool spool(dir.path);
    Envelope env = sample_envelope();
    env.sender = "\"a b\"@example.org";
    env.recipients = {{"\"victim@[127.0.0.1] x\"@example.com", "rfc822;a+2Bb@x", 0},
                      {"\"john smith\"@example.com", "", 0},
                      {"j\xc3\xb6rg+tag@example.com", "", 0}};
    auto w = spool.create(env);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append("Subject: x\r\n\r\n").ok());
    ASSERT_TRUE((*w)->finish().ok());
    ASSERT_TRUE(spool.commit_sync(**w).ok());
    auto m = spool.load(env.queue_id, SpoolDir::Incoming);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->envelope.sender, env.sender);
    ASSERT_EQ(m->envelope.recipients.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
        EXPECT_EQ(m->envelope.recipients[i].address, env.recipients[i].address);
    EXPECT_EQ(m->envelope.recipients[0].orcpt, "rfc822;a+2Bb@x");
    // In-place state updates still hit the state byte of each recipient.
    ASSERT_TRUE(spool
                    .set_recipient_state(env.queue_id, SpoolDir::Incoming, m->state_offsets[2],
                                         RecipientState::Delivered)
                    .ok());
    auto again = spool.load(env.queue_id, SpoolDir::Incoming);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->states[2], RecipientState::Delivered);
    EXPECT_EQ(again->envelope.recipients[2].address, env.recipients[2].address);
}

}  // namespace gatehouse::queue
