#include "queue/manager.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/ids.hpp"
#include "base/text.hpp"
#include "log/log.hpp"
#include "queue/dsn.hpp"

namespace gatehouse::queue {
namespace {

constexpr auto kSchedulerTick = std::chrono::milliseconds(250);
constexpr std::size_t kMaxDsnHeaderBytes = 64 * 1024;
constexpr std::uint64_t kMaxDsnFullBytes = 1024 * 1024;

std::string read_range(const std::string& path, std::uint64_t offset, std::uint64_t length) {
    std::string out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    out.resize(length);
    ssize_t n = ::pread(fd, out.data(), length, static_cast<off_t>(offset));
    ::close(fd);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

std::string host_of_remote(const std::string& remote) {
    auto b = remote.find('[');
    return b == std::string::npos ? remote : remote.substr(0, b);
}

}  // namespace

Manager::Manager(boost::asio::any_io_executor executor, const config::Config& config, Spool& spool,
                 DeliveryAgent& agent, events::Sink& events)
    : executor_(std::move(executor)),
      config_(config),
      spool_(spool),
      agent_(agent),
      events_(events),
      retry_(config.queue.retry, config.queue.lifetime) {}

Manager::~Manager() = default;

void Manager::start() {
    std::lock_guard lock(mu_);
    std::int64_t now = events::now_ms();
    std::size_t loaded = 0;
    for (SpoolDir dir : {SpoolDir::Active, SpoolDir::Hold}) {
        for (const auto& qid : spool_.scan(dir)) {
            auto m = spool_.load(qid, dir);
            if (!m) {
                log::error("queue.message.corrupt qid={} dir={} reason=\"{}\"", qid, to_string(dir),
                           log_escape(m.error().message));
                (void)spool_.move(qid, dir, SpoolDir::Corrupt);
                continue;
            }
            auto [it, _] = entries_.emplace(qid, make_entry(std::move(m.value()), dir));
            ++loaded;
            Entry& entry = it->second;
            if (dir == SpoolDir::Hold) {
                entry.state = State::Hold;
            } else if (entry.message.next_attempt_ms > now) {
                entry.state = State::Deferred;
                schedule_.emplace(entry.message.next_attempt_ms, qid);
            } else {
                make_ready(qid, entry);
            }
        }
    }
    log::info("queue.manager.started messages={} retry_policy=backoff lifetime={}s", loaded,
              config_.queue.lifetime.count());
    boost::asio::co_spawn(executor_, scheduler(), boost::asio::detached);
}

void Manager::stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
}

std::size_t Manager::size() {
    std::lock_guard lock(mu_);
    return entries_.size();
}

void Manager::enqueue(SpooledMessage message) {
    std::lock_guard lock(mu_);
    std::string qid = message.envelope.queue_id;
    auto [it, inserted] = entries_.emplace(qid, make_entry(std::move(message), SpoolDir::Active));
    if (!inserted) return;  // already known (recovery raced with intake)
    make_ready(qid, it->second);
}

void Manager::enqueue_held(SpooledMessage message, const std::string& reason) {
    std::lock_guard lock(mu_);
    std::string qid = message.envelope.queue_id;
    Entry e = make_entry(std::move(message), SpoolDir::Hold);
    e.state = State::Hold;
    e.last_error = reason;
    auto [it, inserted] = entries_.emplace(qid, std::move(e));
    if (inserted) emit(events::Kind::Held, it->second, {}, {}, {}, reason);
}

// ---- scheduling ----------------------------------------------------------------

Manager::Entry Manager::make_entry(SpooledMessage message, SpoolDir dir) {
    Entry e;
    e.last_reply.resize(message.envelope.recipients.size());
    e.last_remote.resize(message.envelope.recipients.size());
    e.message = std::move(message);
    e.dir = dir;
    return e;
}

void Manager::unschedule(const std::string& queue_id, const Entry& entry) {
    auto range = schedule_.equal_range(entry.message.next_attempt_ms);
    for (auto it = range.first; it != range.second; ++it)
        if (it->second == queue_id) {
            schedule_.erase(it);
            return;
        }
}

void Manager::make_ready(const std::string& queue_id, Entry& entry) {
    if (entry.state == State::Deferred) {
        unschedule(queue_id, entry);
    }
    entry.state = State::Active;

    const auto& rcpts = entry.message.envelope.recipients;
    std::map<std::string, std::vector<std::size_t>> by_destination;
    std::map<std::string, deliver::Destination> destinations;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
        if (entry.message.states[i] != RecipientState::Pending) continue;
        auto dest = deliver::destination_for(config_, domain_of(rcpts[i].address));
        by_destination[dest.key].push_back(i);
        destinations.emplace(dest.key, std::move(dest));
    }

    std::size_t per_txn = config_.queue.max_recipients_per_transaction;
    std::int64_t now = events::now_ms();
    int jobs = 0;
    for (auto& [key, indexes] : by_destination) {
        auto [dit, _] = destinations_.try_emplace(key);
        DestinationState& d = dit->second;
        if (d.destination.key.empty()) d.destination = destinations[key];
        d.waiting.erase(queue_id);
        if (d.down && now < d.down_until_ms) {
            // Known to be down: wait with the backlog instead of opening a
            // connection that will fail. finish_round() defers these.
            std::string why =
                "not tried: destination down since an earlier attempt (" + d.down_reason + ")";
            for (auto idx : indexes) entry.last_reply[idx] = why;
            entry.last_error = why;
            continue;
        }
        for (std::size_t i = 0; i < indexes.size(); i += per_txn) {
            Job job{queue_id, {}};
            job.recipients.assign(indexes.begin() + static_cast<std::ptrdiff_t>(i),
                                  indexes.begin() + static_cast<std::ptrdiff_t>(
                                                        std::min(indexes.size(), i + per_txn)));
            d.jobs.push_back(std::move(job));
            ++jobs;
        }
    }
    entry.jobs_outstanding = jobs;
    if (jobs == 0) {
        finish_round(queue_id, entry);
        return;
    }
    dispatch();
}

void Manager::dispatch() {
    if (stopping_) return;
    for (auto& [key, d] : destinations_) {
        while (!d.jobs.empty() && d.workers < d.jobs.size() &&
               d.workers < config_.queue.max_connections_per_destination &&
               workers_ < config_.queue.max_connections) {
            ++d.workers;
            ++workers_;
            // Posted, never run inline: the caller holds mu_, and co_spawn on
            // the current executor may start the coroutine at once.
            boost::asio::post(executor_, [this, key] {
                boost::asio::co_spawn(executor_, worker(key), boost::asio::detached);
            });
        }
    }
}

boost::asio::awaitable<void> Manager::worker(std::string key) {
    for (;;) {
        Job job;
        deliver::Destination destination;
        Envelope envelope;
        deliver::ContentRef content;
        {
            std::lock_guard lock(mu_);
            auto& d = destinations_[key];
            if (d.jobs.empty() || stopping_) {
                --d.workers;
                --workers_;
                co_return;
            }
            job = std::move(d.jobs.front());
            d.jobs.pop_front();
            auto it = entries_.find(job.queue_id);
            if (it == entries_.end()) continue;
            Entry& e = it->second;
            if (e.remove_requested) {
                job_finished(job.queue_id);
                continue;
            }
            destination = d.destination;
            envelope = e.message.envelope;
            content = {spool_.path(e.dir, job.queue_id), e.message.content_offset,
                       e.message.content_length};
        }
        auto result = co_await agent_.deliver(destination, envelope, job.recipients, content);
        std::lock_guard lock(mu_);
        apply_result(key, job, result);
    }
}

void Manager::apply_result(const std::string& dest_key, const Job& job,
                           const deliver::AttemptResult& result) {
    auto it = entries_.find(job.queue_id);
    auto& d = destinations_[dest_key];
    if (it != entries_.end()) {
        Entry& e = it->second;
        e.attempted = true;
        const auto& rcpts = e.message.envelope.recipients;
        std::size_t delivered = 0, deferred = 0, bounced = 0;
        for (std::size_t i = 0; i < job.recipients.size(); ++i) {
            std::size_t idx = job.recipients[i];
            deliver::RcptResult r = i < result.recipients.size()
                                        ? result.recipients[i]
                                        : deliver::RcptResult{deliver::RcptOutcome::Deferred,
                                                              "4.3.0 internal: no result"};
            e.last_reply[idx] = r.reply;
            e.last_remote[idx] = result.remote;
            e.last_error = r.reply;
            RecipientState next = RecipientState::Pending;
            if (r.outcome == deliver::RcptOutcome::Delivered) {
                next = RecipientState::Delivered;
                ++delivered;
            } else if (r.outcome == deliver::RcptOutcome::Bounced) {
                next = RecipientState::Bounced;
                e.bounced_now.push_back(idx);
                ++bounced;
            } else {
                ++deferred;
            }
            if (next != RecipientState::Pending) {
                e.message.states[idx] = next;
                auto w = spool_.set_recipient_state(job.queue_id, e.dir,
                                                    e.message.state_offsets[idx], next);
                if (!w)
                    log::error("queue.spool.update_failed qid={} reason=\"{}\"", job.queue_id,
                               w.error().message);
                emit(next == RecipientState::Delivered ? events::Kind::Delivered
                                                       : events::Kind::Bounced,
                     e, {rcpts[idx].address}, r.reply, result.remote);
            }
        }
        events::Event a;
        a.kind = events::Kind::Attempt;
        a.queue_id = job.queue_id;
        a.session_id = e.message.envelope.client.session_id;
        a.destination = dest_key;
        a.remote = result.remote;
        a.tls = result.tls;
        a.attempt = e.message.attempts + 1;
        a.reason = "delivered=" + std::to_string(delivered) +
                   " deferred=" + std::to_string(deferred) + " bounced=" + std::to_string(bounced);
        events_.emit(a);
    }

    if (result.destination_unreachable) {
        if (!d.down)
            log::warn("deliver.destination.down destination={} reason=\"{}\"", dest_key,
                      log_escape(result.recipients.empty() ? "" : result.recipients[0].reply));
        d.down = true;
        std::string reason =
            result.recipients.empty() ? "destination unreachable" : result.recipients[0].reply;
        d.down_reason = reason;
        d.down_until_ms = events::now_ms() + retry_.next_attempt_ms(1, 0, 0);
        job_finished(job.queue_id);
        defer_jobs_of_down_destination(d, reason);
        return;
    }
    if (d.down) {
        d.down = false;
        log::info("deliver.destination.up destination={} backlog={}", dest_key, d.waiting.size());
        wake_destination(d);
    }
    job_finished(job.queue_id);
}

void Manager::defer_jobs_of_down_destination(DestinationState& d, const std::string& reason) {
    // The destination just failed: every job queued behind it would fail the
    // same way, so defer them now instead of opening one doomed connection
    // each. They come back with their retry time or when it recovers.
    std::deque<Job> jobs;
    jobs.swap(d.jobs);
    for (auto& job : jobs) {
        auto it = entries_.find(job.queue_id);
        if (it == entries_.end()) continue;
        for (auto idx : job.recipients) it->second.last_reply[idx] = reason;
        it->second.last_error = reason;
        job_finished(job.queue_id);
    }
}

void Manager::wake_destination(DestinationState& d) {
    std::vector<std::string> waiting(d.waiting.begin(), d.waiting.end());
    d.waiting.clear();
    for (const auto& qid : waiting) {
        auto it = entries_.find(qid);
        if (it != entries_.end() && it->second.state == State::Deferred)
            make_ready(qid, it->second);
    }
}

void Manager::job_finished(const std::string& queue_id) {
    auto it = entries_.find(queue_id);
    if (it == entries_.end()) return;
    if (--it->second.jobs_outstanding <= 0) {
        it->second.jobs_outstanding = 0;
        finish_round(queue_id, it->second);
    }
}

void Manager::finish_round(const std::string& queue_id, Entry& entry) {
    if (entry.remove_requested) {
        emit(events::Kind::Deleted, entry, {}, {}, {}, "removed by admin");
        destroy(queue_id, entry);
        return;
    }
    if (!entry.bounced_now.empty()) {
        auto bounced = std::move(entry.bounced_now);
        entry.bounced_now.clear();
        send_dsn(entry, bounced, "failed");
    }
    const auto& rcpts = entry.message.envelope.recipients;
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < rcpts.size(); ++i)
        if (entry.message.states[i] == RecipientState::Pending) pending.push_back(i);
    if (pending.empty()) {
        destroy(queue_id, entry);
        return;
    }

    std::int64_t now = events::now_ms();
    // Only a transaction counts: a round that waited on a destination known
    // to be down, or a release from hold, is not an attempt.
    if (entry.attempted) entry.message.attempts += 1;
    entry.attempted = false;
    if (retry_.expired(entry.message.envelope.arrival_ms, now)) {
        for (auto idx : pending) {
            entry.message.states[idx] = RecipientState::Expired;
            (void)spool_.set_recipient_state(queue_id, entry.dir, entry.message.state_offsets[idx],
                                             RecipientState::Expired);
            emit(events::Kind::Expired, entry, {rcpts[idx].address}, entry.last_reply[idx], {},
                 "queue lifetime reached");
            log::info("queue.rcpt.expired qid={} to=<{}> attempts={} last_reply=\"{}\"", queue_id,
                      log_escape(rcpts[idx].address), entry.message.attempts,
                      log_escape(entry.last_reply[idx]));
        }
        send_dsn(entry, pending, "expired");
        destroy(queue_id, entry);
        return;
    }

    std::int64_t next =
        retry_.next_attempt_ms(entry.message.attempts, entry.message.envelope.arrival_ms, now);
    entry.message.next_attempt_ms = next;
    auto w = spool_.set_schedule(queue_id, entry.dir, entry.message.sched_offset,
                                 entry.message.attempts, next);
    if (!w)
        log::error("queue.spool.update_failed qid={} reason=\"{}\"", queue_id, w.error().message);
    for (auto idx : pending) {
        auto dest = deliver::destination_for(config_, domain_of(rcpts[idx].address));
        destinations_[dest.key].waiting.insert(queue_id);
        if (destinations_[dest.key].destination.key.empty())
            destinations_[dest.key].destination = dest;
        events::Event ev;
        ev.kind = events::Kind::Deferred;
        ev.queue_id = queue_id;
        ev.session_id = entry.message.envelope.client.session_id;
        ev.sender = entry.message.envelope.sender;
        ev.recipients = {rcpts[idx].address};
        ev.reply = entry.last_reply[idx];
        ev.remote = entry.last_remote[idx];
        ev.destination = dest.key;
        ev.attempt = entry.message.attempts;
        ev.next_attempt_ms = next;
        ev.delay_ms = now - entry.message.envelope.arrival_ms;
        events_.emit(ev);
    }
    log::info("queue.message.deferred qid={} pending={} attempts={} next_in={}s reason=\"{}\"",
              queue_id, pending.size(), entry.message.attempts, (next - now + 999) / 1000,
              log_escape(entry.last_error));

    if (entry.hold_requested) {
        entry.hold_requested = false;
        if (spool_.move(queue_id, entry.dir, SpoolDir::Hold)) {
            entry.dir = SpoolDir::Hold;
            entry.state = State::Hold;
            emit(events::Kind::Held, entry, {}, {}, {}, "held by admin");
            return;
        }
    }
    entry.state = State::Deferred;
    schedule_.emplace(next, queue_id);
}

void Manager::destroy(const std::string& queue_id, Entry& entry) {
    auto r = spool_.remove(queue_id, entry.dir);
    if (!r)
        log::error("queue.spool.remove_failed qid={} reason=\"{}\"", queue_id, r.error().message);
    for (auto& [key, d] : destinations_) d.waiting.erase(queue_id);
    log::info("queue.message.removed qid={}", queue_id);
    entries_.erase(queue_id);
}

// ---- DSN ---------------------------------------------------------------------

void Manager::send_dsn(Entry& entry, const std::vector<std::size_t>& recipients,
                       const std::string& action) {
    const Envelope& env = entry.message.envelope;
    if (env.sender.empty()) {
        log::info("queue.dsn.skipped qid={} reason=\"null sender\"", env.queue_id);
        return;
    }
    DsnInput in;
    in.reporting_mta = config_.hostname;
    in.now_ms = events::now_ms();
    in.original = &env;
    for (auto idx : recipients) {
        const auto& r = env.recipients[idx];
        // RFC 3461 4.1: NOTIFY=NEVER, or a NOTIFY list without FAILURE, asks
        // for no failure report.
        if (r.notify != 0 && !(r.notify & kNotifyFailure)) continue;
        FailedRecipient f;
        f.address = r.address;
        f.orcpt = r.orcpt;
        f.action = "failed";
        const std::string& reply = entry.last_reply[idx];
        f.status = status_from_reply(reply, action == "expired" ? "4.4.7" : "5.0.0");
        if (action == "expired" && f.status[0] != '5') f.status = "4.4.7";
        f.diagnostic = reply.empty() ? "delivery time expired" : reply;
        if (action == "expired" && !reply.empty())
            f.diagnostic = reply + " (gave up after " +
                           std::to_string(config_.queue.lifetime.count() / 3600) + "h)";
        f.remote_mta = host_of_remote(entry.last_remote[idx]);
        in.recipients.push_back(std::move(f));
    }
    if (in.recipients.empty()) return;

    std::string path = spool_.path(entry.dir, env.queue_id);
    std::string head =
        read_range(path, entry.message.content_offset,
                   std::min<std::uint64_t>(entry.message.content_length, kMaxDsnHeaderBytes));
    auto end = head.find("\r\n\r\n");
    if (end != std::string::npos) head.resize(end + 2);
    std::string full;
    if (env.ret == "FULL" && entry.message.content_length <= kMaxDsnFullBytes)
        full = read_range(path, entry.message.content_offset, entry.message.content_length);
    in.original_headers = head;
    in.original_full = full;

    Envelope dsn_env;
    dsn_env.queue_id = make_queue_id();
    in.dsn_message_id = dsn_env.queue_id + ".dsn@" + config_.hostname;
    dsn_env.sender = "";
    dsn_env.recipients = {Recipient{env.sender, "", 0}};
    dsn_env.arrival_ms = in.now_ms;
    dsn_env.client.address = "127.0.0.1";
    dsn_env.client.helo = config_.hostname;
    dsn_env.client.listener = "dsn";
    std::string content = build_dsn(in);

    // XXX: the bounced recipients are already marked in the spool file, so a
    // crash between that mark and this commit loses the DSN (never the
    // message itself). Writing the DSN before marking would trade that for
    // a possible duplicate DSN; this needs an intent record to close fully.
    auto spool_file = spool_.create(dsn_env);
    if (!spool_file) {
        log::error("queue.dsn.failed qid={} reason=\"{}\"", env.queue_id,
                   spool_file.error().message);
        return;
    }
    auto& w = *spool_file.value();
    if (!w.append(content) || !w.finish() || !spool_.commit_sync(w) ||
        !spool_.move(dsn_env.queue_id, SpoolDir::Incoming, SpoolDir::Active)) {
        log::error("queue.dsn.failed qid={} reason=\"spool write failed\"", env.queue_id);
        (void)spool_.remove(dsn_env.queue_id, SpoolDir::Incoming);
        return;
    }
    w.close();
    auto loaded = spool_.load(dsn_env.queue_id, SpoolDir::Active);
    if (!loaded) {
        log::error("queue.dsn.failed qid={} reason=\"{}\"", env.queue_id, loaded.error().message);
        return;
    }
    log::info("queue.dsn.queued qid={} dsn_qid={} to=<{}> recipients={} action={}", env.queue_id,
              dsn_env.queue_id, log_escape(env.sender), in.recipients.size(), action);
    auto [it, _] =
        entries_.emplace(dsn_env.queue_id, make_entry(std::move(loaded.value()), SpoolDir::Active));
    events::Event ev;
    ev.kind = events::Kind::Queued;
    ev.queue_id = dsn_env.queue_id;
    ev.recipients = {env.sender};
    ev.size = it->second.message.content_length;
    ev.reason = "dsn for " + env.queue_id;
    events_.emit(ev);
    make_ready(dsn_env.queue_id, it->second);
}

Result<std::string> Manager::inject(Envelope envelope, const std::string& content) {
    envelope.queue_id = make_queue_id();
    if (envelope.arrival_ms == 0) envelope.arrival_ms = events::now_ms();
    auto file = spool_.create(envelope);
    if (!file) return file.error();
    auto& w = *file.value();
    if (auto r = w.append(content); !r) return r.error();
    if (auto r = w.finish(); !r) return r.error();
    if (auto r = spool_.commit_sync(w); !r) return r.error();
    w.close();
    if (auto r = spool_.move(envelope.queue_id, SpoolDir::Incoming, SpoolDir::Active); !r)
        return r.error();
    auto loaded = spool_.load(envelope.queue_id, SpoolDir::Active);
    if (!loaded) return loaded.error();
    enqueue(std::move(loaded.value()));
    return envelope.queue_id;
}

// ---- scheduler ---------------------------------------------------------------

boost::asio::awaitable<void> Manager::scheduler() {
    boost::asio::steady_timer timer(executor_);
    for (;;) {
        timer.expires_after(kSchedulerTick);
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        std::lock_guard lock(mu_);
        if (stopping_) co_return;
        std::int64_t now = events::now_ms();
        while (!schedule_.empty() && schedule_.begin()->first <= now) {
            std::string qid = schedule_.begin()->second;
            schedule_.erase(schedule_.begin());
            auto it = entries_.find(qid);
            if (it == entries_.end() || it->second.state != State::Deferred) continue;
            it->second.state = State::Active;  // already off the schedule
            make_ready(qid, it->second);
        }
    }
}

// ---- admin -------------------------------------------------------------------

MessageSummary Manager::summarize(const Entry& e) const {
    MessageSummary s;
    const auto& env = e.message.envelope;
    s.queue_id = env.queue_id;
    s.state = e.state == State::Hold ? "hold" : e.state == State::Deferred ? "deferred" : "active";
    s.sender = env.sender;
    s.size = e.message.content_length;
    s.arrival_ms = env.arrival_ms;
    s.next_attempt_ms = e.state == State::Deferred ? e.message.next_attempt_ms : 0;
    s.attempts = e.message.attempts;
    s.last_error = e.last_error;
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        RecipientStatus r;
        r.address = env.recipients[i].address;
        switch (e.message.states[i]) {
            case RecipientState::Pending:
                r.state = "pending";
                break;
            case RecipientState::Delivered:
                r.state = "delivered";
                break;
            case RecipientState::Bounced:
                r.state = "bounced";
                break;
            case RecipientState::Expired:
                r.state = "expired";
                break;
            case RecipientState::Dropped:
                r.state = "dropped";
                break;
        }
        r.last_reply = i < e.last_reply.size() ? e.last_reply[i] : "";
        s.recipients.push_back(std::move(r));
    }
    return s;
}

std::vector<MessageSummary> Manager::list() {
    std::lock_guard lock(mu_);
    std::vector<MessageSummary> out;
    out.reserve(entries_.size());
    for (const auto& [qid, e] : entries_) out.push_back(summarize(e));
    return out;
}

std::optional<MessageSummary> Manager::show(const std::string& queue_id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(queue_id);
    if (it == entries_.end()) return std::nullopt;
    return summarize(it->second);
}

Result<void> Manager::flush() {
    std::lock_guard lock(mu_);
    std::vector<std::string> deferred;
    for (auto& [qid, e] : entries_)
        if (e.state == State::Deferred) deferred.push_back(qid);
    for (auto& [key, d] : destinations_) d.down = false;
    for (const auto& qid : deferred) make_ready(qid, entries_.at(qid));
    log::info("queue.admin.flush messages={}", deferred.size());
    return ok();
}

Result<void> Manager::remove(const std::string& queue_id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(queue_id);
    if (it == entries_.end()) return Error::permanent("no message with queue id " + queue_id);
    Entry& e = it->second;
    log::info("queue.admin.delete qid={}", queue_id);
    if (e.state == State::Active && e.jobs_outstanding > 0) {
        e.remove_requested = true;  // finished when its transactions end
        return ok();
    }
    if (e.state == State::Deferred) {
        unschedule(queue_id, e);
    }
    emit(events::Kind::Deleted, e, {}, {}, {}, "removed by admin");
    destroy(queue_id, e);
    return ok();
}

Result<void> Manager::hold(const std::string& queue_id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(queue_id);
    if (it == entries_.end()) return Error::permanent("no message with queue id " + queue_id);
    Entry& e = it->second;
    if (e.state == State::Hold) return ok();
    if (e.state == State::Active) {
        e.hold_requested = true;  // takes effect when its transactions end
        return ok();
    }
    unschedule(queue_id, e);
    if (auto r = spool_.move(queue_id, e.dir, SpoolDir::Hold); !r) return r;
    e.dir = SpoolDir::Hold;
    e.state = State::Hold;
    log::info("queue.admin.hold qid={}", queue_id);
    emit(events::Kind::Held, e, {}, {}, {}, "held by admin");
    return ok();
}

Result<void> Manager::release(const std::string& queue_id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(queue_id);
    if (it == entries_.end()) return Error::permanent("no message with queue id " + queue_id);
    Entry& e = it->second;
    if (e.state != State::Hold) {
        e.hold_requested = false;
        return ok();
    }
    if (auto r = spool_.move(queue_id, SpoolDir::Hold, SpoolDir::Active); !r) return r;
    e.dir = SpoolDir::Active;
    e.state = State::Active;
    log::info("queue.admin.release qid={}", queue_id);
    emit(events::Kind::Released, e, {}, {}, {}, "released by admin");
    make_ready(queue_id, e);
    return ok();
}

void Manager::emit(events::Kind kind, const Entry& entry, std::vector<std::string> recipients,
                   std::string reply, std::string remote, std::string reason) {
    events::Event ev;
    ev.kind = kind;
    ev.queue_id = entry.message.envelope.queue_id;
    ev.session_id = entry.message.envelope.client.session_id;
    ev.sender = entry.message.envelope.sender;
    ev.recipients = std::move(recipients);
    ev.reply = std::move(reply);
    ev.remote = std::move(remote);
    ev.reason = std::move(reason);
    ev.attempt = entry.message.attempts;
    ev.delay_ms = events::now_ms() - entry.message.envelope.arrival_ms;
    events_.emit(ev);
}

}  // namespace gatehouse::queue
