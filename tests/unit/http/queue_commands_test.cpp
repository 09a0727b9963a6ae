// `gatehouse queue ...` end to end: CLI11 parses the arguments, the command
// talks to a real AdminServer over loopback (backed by a fake queue), and
// the test checks what the operator would see and the exit code.
#include "app/queue_commands.hpp"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_admin.hpp"

namespace gatehouse::app {
namespace {

namespace fs = std::filesystem;
using http::testing::FakeAdmin;
using http::testing::kKey;
using http::testing::ServerThread;

struct Outcome {
    int code = 0;
    std::string out;
    std::string err;
};

// Runs "gatehouse ARGS..." the way main() does: parse, and map CLI11's
// errors to the exit code.
Outcome run(std::vector<std::string> args) {
    std::ostringstream out, err;
    CLI::App root("test", "gatehouse");
    root.require_subcommand(1);
    add_queue_commands(root, out, err);
    args.insert(args.begin(), "gatehouse");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    Outcome o;
    try {
        root.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        o.code = root.exit(e, out, err);
    }
    o.out = out.str();
    o.err = err.str();
    return o;
}

class QueueCommandsTest : public ::testing::Test {
  protected:
    QueueCommandsTest() {
        std::string pattern = (fs::temp_directory_path() / "gh-cli-XXXXXX").string();
        dir_ = mkdtemp(pattern.data());
        std::ofstream(dir_ + "/admin.key") << kKey << "\n";
    }
    ~QueueCommandsTest() override { fs::remove_all(dir_); }

    Outcome queue(std::vector<std::string> args) {
        args.insert(args.begin(), "queue");
        args.insert(args.end(), {"--admin", server_.address().str(), "--data", dir_});
        return run(args);
    }

    std::string dir_;
    FakeAdmin admin_;
    ServerThread server_{admin_};
};

TEST_F(QueueCommandsTest, ListPrintsATable) {
    std::string a = admin_.add("alice@example.org", 1200);
    std::string b = admin_.add("", 3400);
    Outcome o = queue({"list"});
    EXPECT_EQ(o.code, 0) << o.err;
    EXPECT_EQ(o.err, "");

    std::istringstream lines(o.out);
    std::string header, first, second, total;
    std::getline(lines, header);
    std::getline(lines, first);
    std::getline(lines, second);
    std::getline(lines, total);
    EXPECT_EQ(header.rfind("QUEUE ID", 0), 0u) << header;
    for (const char* column :
         {"STATE", "SIZE", "ARRIVAL (UTC)", "ATTEMPTS", "SENDER", "RCPTS", "LAST ERROR"}) {
        EXPECT_NE(header.find(column), std::string::npos) << column;
    }
    EXPECT_EQ(first.rfind(a, 0), 0u) << first;
    for (const char* cell : {"deferred", "1200", "2024-05-01 12:00:00", "alice@example.org",
                             "451 4.7.1 try again later"}) {
        EXPECT_NE(first.find(cell), std::string::npos) << cell << " in " << first;
    }
    EXPECT_EQ(second.rfind(b, 0), 0u) << second;
    EXPECT_NE(second.find("<>"), std::string::npos) << second;
    EXPECT_EQ(total, "2 messages");
}

TEST_F(QueueCommandsTest, ListEmptyAndJson) {
    EXPECT_EQ(queue({"list"}).out, "the queue is empty\n");
    admin_.add("alice@example.org", 1200);
    Outcome o = queue({"list", "--json"});
    EXPECT_EQ(o.code, 0);
    auto v = boost::json::parse(o.out);
    EXPECT_EQ(v.at("messages").as_array().size(), 1u);
}

TEST_F(QueueCommandsTest, ShowPrintsEveryFieldAndRecipient) {
    std::string qid = admin_.add("alice@example.org", 1200);
    Outcome o = queue({"show", qid});
    EXPECT_EQ(o.code, 0) << o.err;
    for (const std::string& text :
         {"queue id      " + qid, std::string("state         deferred"),
          std::string("sender        alice@example.org"), std::string("size          1200 bytes"),
          std::string("arrival       2024-05-01 12:00:00 UTC"),
          std::string("next attempt  2024-05-01 12:05:00 UTC"), std::string("attempts      2"),
          std::string("recipients    2"),
          std::string("  bob@example.org    pending    451 4.7.1 try again later"),
          std::string("  carol@example.org  delivered  250 2.0.0 ok")}) {
        EXPECT_NE(o.out.find(text), std::string::npos) << text << "\n" << o.out;
    }
}

TEST_F(QueueCommandsTest, ActionsReportWhatTheyDid) {
    std::string qid = admin_.add("alice@example.org", 1200);
    EXPECT_EQ(queue({"hold", qid}).out, "held " + qid + "\n");
    EXPECT_EQ(queue({"release", qid}).out, "released " + qid + "\n");
    EXPECT_EQ(queue({"flush"}).out, "flushed the queue: deferred messages will be tried now\n");
    // Queue ids are case-insensitive on the command line.
    std::string lower = qid;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(queue({"delete", lower}).out, "deleted " + qid + "\n");
    EXPECT_FALSE(admin_.show(qid));
}

TEST_F(QueueCommandsTest, UnknownQueueId) {
    Outcome o = queue({"show", "0000000000000000"});
    EXPECT_EQ(o.code, 1);
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err, "gatehouse: no message with queue id 0000000000000000\n");
}

TEST_F(QueueCommandsTest, ConflictShowsTheQueueReason) {
    std::string qid = admin_.add("alice@example.org", 1200);
    EXPECT_EQ(queue({"hold", qid}).code, 0);
    Outcome o = queue({"hold", qid});
    EXPECT_EQ(o.code, 1);
    EXPECT_EQ(o.err, "gatehouse: message is already on hold\n");
}

TEST_F(QueueCommandsTest, NotAQueueIdIsAUsageError) {
    Outcome o = queue({"delete", "../../etc/passwd"});
    EXPECT_EQ(o.code, 2);
    EXPECT_EQ(o.err, "gatehouse: ../../etc/passwd is not a queue id\n");
    EXPECT_TRUE(admin_.calls().empty());
}

TEST_F(QueueCommandsTest, WrongKeyNamesTheKeyFile) {
    std::ofstream(dir_ + "/admin.key") << "stale\n";
    Outcome o = queue({"list"});
    EXPECT_EQ(o.code, 1);
    EXPECT_EQ(o.err, "gatehouse: the admin API refused the key in " + dir_ +
                         "/admin.key (missing or wrong API key)\n");
}

TEST_F(QueueCommandsTest, ConfigFileGivesAddressAndDataDir) {
    std::string conf = dir_ + "/gatehouse.toml";
    std::ofstream(conf) << "[server]\nadmin_listen = \"" << server_.address().str()
                        << "\"\ndata_dir = \"" << dir_ << "\"\n";
    admin_.add("alice@example.org", 1200);
    Outcome o = run({"queue", "list", "--config", conf});
    EXPECT_EQ(o.code, 0) << o.err;
    EXPECT_NE(o.out.find("1 message"), std::string::npos) << o.out;

    Outcome bad = run({"queue", "list", "--config", dir_ + "/missing.toml"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err.rfind("gatehouse: config", 0), 0u) << bad.err;
}

TEST(QueueCommands, NothingListening) {
    boost::asio::io_context io;
    std::uint16_t port;
    {
        boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    std::string dir = (fs::temp_directory_path() / "gh-cli-nothing").string();
    fs::create_directories(dir);
    std::ofstream(dir + "/admin.key") << kKey << "\n";
    std::string address = "127.0.0.1:" + std::to_string(port);
    Outcome o = run({"queue", "list", "--admin", address, "--data", dir});
    fs::remove_all(dir);
    EXPECT_EQ(o.code, 1);
    EXPECT_EQ(o.err, "gatehouse: cannot reach the admin API at " + address +
                         " (connection refused): is `gatehouse serve` running?\n");
}

TEST(QueueCommands, MissingKeyFileNamesIt) {
    Outcome o = run({"queue", "list", "--data", "/nonexistent-gh-dir"});
    EXPECT_EQ(o.code, 1);
    EXPECT_EQ(o.err.rfind("gatehouse: cannot read the admin key /nonexistent-gh-dir/admin.key", 0),
              0u)
        << o.err;
}

TEST(QueueCommands, UsageErrors) {
    EXPECT_NE(run({"queue"}).code, 0);
    EXPECT_NE(run({"queue", "show"}).code, 0);
    Outcome bad_admin = run({"queue", "list", "--admin", "[::1", "--data", "/tmp"});
    EXPECT_EQ(bad_admin.code, 2);
    EXPECT_EQ(bad_admin.err.rfind("gatehouse: --admin: ", 0), 0u) << bad_admin.err;
}

TEST(QueueCommands, EveryOptionIsDescribed) {
    CLI::App root("test", "gatehouse");
    add_queue_commands(root);
    CLI::App* queue = root.get_subcommand("queue");
    ASSERT_NE(queue, nullptr);
    EXPECT_FALSE(queue->get_description().empty());
    for (const char* name : {"list", "show", "flush", "delete", "hold", "release"}) {
        CLI::App* sub = queue->get_subcommand(name);
        EXPECT_FALSE(sub->get_description().empty()) << name;
        for (const CLI::Option* opt : sub->get_options()) {
            EXPECT_FALSE(opt->get_description().empty()) << name << " " << opt->get_name();
        }
    }
}

}  // namespace
}  // namespace gatehouse::app
