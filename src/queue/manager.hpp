// The queue manager: owns every queued message between the 250 and the last
// recipient's final outcome. It groups pending recipients by destination,
// runs delivery workers within the per-destination and global connection
// limits, records each outcome in the spool file, schedules retries with the
// RetryPolicy, sends DSNs for bounces and expiry, and emits lifecycle events.
//
// Backup queue (G6): when a destination is unreachable, its other queued
// jobs are deferred at once without each trying, and every deferred message
// for it waits. The first retry that gets through marks it up again and
// wakes the whole backlog, which then goes out at the destination's
// concurrency limit, many messages per connection.
//
// Threads: all delivery runs on one executor (the delivery io_context);
// enqueue() and the Admin methods may be called from any thread and only
// take the manager's mutex briefly.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "deliver/deliverer.hpp"
#include "events/event.hpp"
#include "queue/admin.hpp"
#include "queue/delivery_agent.hpp"
#include "queue/retry.hpp"
#include "queue/spool.hpp"

namespace gatehouse::queue {

class Manager final : public Admin {
  public:
    Manager(boost::asio::any_io_executor executor, const config::Config& config, Spool& spool,
            DeliveryAgent& agent, events::Sink& events);
    ~Manager() override;

    // Loads active/ and hold/ (files that fail to parse go to corrupt/) and
    // starts the scheduler. Call once, before enqueue().
    void start();
    // Stops taking new work; running transactions finish.
    void stop();

    // A committed message now in active/ joins the queue. Thread-safe.
    void enqueue(SpooledMessage message);
    // Same for a message put in hold/ by the policy.
    void enqueue_held(SpooledMessage message, const std::string& reason);

    // Queues a message that Gatehouse itself writes (DSNs). Returns its qid.
    Result<std::string> inject(Envelope envelope, const std::string& content);

    // Admin
    std::vector<MessageSummary> list() override;
    std::optional<MessageSummary> show(const std::string& queue_id) override;
    Result<void> flush() override;
    Result<void> remove(const std::string& queue_id) override;
    Result<void> hold(const std::string& queue_id) override;
    Result<void> release(const std::string& queue_id) override;

    std::size_t size();

  private:
    enum class State { Active, Deferred, Hold };

    struct Entry {
        SpooledMessage message;
        State state = State::Active;
        SpoolDir dir = SpoolDir::Active;
        std::vector<std::string> last_reply;
        std::vector<std::string> last_remote;
        std::vector<std::size_t> bounced_now;  // recipients to report in this round
        int jobs_outstanding = 0;
        bool attempted = false;  // a transaction ran in this round
        bool hold_requested = false;
        bool remove_requested = false;
        std::string last_error;
    };

    struct Job {
        std::string queue_id;
        std::vector<std::size_t> recipients;
    };

    struct DestinationState {
        deliver::Destination destination;
        std::deque<Job> jobs;
        unsigned workers = 0;
        bool down = false;
        std::int64_t down_until_ms = 0;  // no new attempts before this while down
        std::string down_reason;
        std::set<std::string> waiting;  // deferred messages with recipients here
    };

    // All private helpers below expect mu_ held unless their name says so.
    static Entry make_entry(SpooledMessage message, SpoolDir dir);
    void unschedule(const std::string& queue_id, const Entry& entry);
    void make_ready(const std::string& queue_id, Entry& entry);
    void dispatch();
    boost::asio::awaitable<void> worker(std::string destination_key);
    void apply_result(const std::string& dest_key, const Job& job,
                      const deliver::AttemptResult& result);
    void defer_jobs_of_down_destination(DestinationState& dest, const std::string& reason);
    void job_finished(const std::string& queue_id);
    void finish_round(const std::string& queue_id, Entry& entry);
    void send_dsn(Entry& entry, const std::vector<std::size_t>& recipients,
                  const std::string& action);
    void destroy(const std::string& queue_id, Entry& entry);
    void wake_destination(DestinationState& dest);
    boost::asio::awaitable<void> scheduler();
    MessageSummary summarize(const Entry& entry) const;
    void emit(events::Kind kind, const Entry& entry, std::vector<std::string> recipients,
              std::string reply = {}, std::string remote = {}, std::string reason = {});

    boost::asio::any_io_executor executor_;
    const config::Config& config_;
    Spool& spool_;
    DeliveryAgent& agent_;
    events::Sink& events_;
    RetryPolicy retry_;

    std::mutex mu_;
    std::map<std::string, Entry> entries_;
    std::multimap<std::int64_t, std::string> schedule_;
    std::map<std::string, DestinationState> destinations_;
    unsigned workers_ = 0;
    bool stopping_ = false;
    bool dispatch_posted_ = false;
};

}  // namespace gatehouse::queue
