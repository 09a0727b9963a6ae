#include "app/intake.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/text.hpp"
#include "log/log.hpp"

namespace gatehouse::app {
namespace {

class Writer final : public smtp::MessageWriter {
  public:
    explicit Writer(std::unique_ptr<queue::SpoolWriter> w) : w_(std::move(w)) {}
    Result<void> write(std::string_view bytes) override { return w_->append(bytes); }
    std::uint64_t size() const override { return w_->content_size(); }
    queue::SpoolWriter& spool_writer() { return *w_; }

  private:
    std::unique_ptr<queue::SpoolWriter> w_;
};

// Read-only view of a spool file's content for the analysers.
class MappedContent {
  public:
    MappedContent(const std::string& path, std::uint64_t offset, std::uint64_t length) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        size_ = offset + length;
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) base_ = static_cast<const char*>(p);
        }
        ::close(fd);
        if (base_) view_ = std::string_view(base_ + offset, length);
    }
    ~MappedContent() {
        if (base_) ::munmap(const_cast<char*>(base_), size_);
    }
    std::string_view view() const { return view_; }

  private:
    const char* base_ = nullptr;
    std::size_t size_ = 0;
    std::string_view view_;
};

// The Message-ID header value from the first part of the content, for events.
std::string find_message_id(std::string_view content) {
    auto end = content.find("\r\n\r\n");
    std::string_view head = content.substr(0, std::min<std::size_t>(end, 64 * 1024));
    std::size_t pos = 0;
    while (pos < head.size()) {
        auto nl = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
        if (istarts_with(line, "message-id:")) return std::string(trim(line.substr(11)), 0, 250);
        if (nl == std::string_view::npos) break;
        pos = nl + 2;
    }
    return {};
}

}  // namespace

SpoolIntake::SpoolIntake(const config::Config& config, queue::Spool& spool,
                         const pipeline::Pipeline& pipeline, queue::Manager& manager,
                         events::Sink& events)
    : config_(config), spool_(spool), pipeline_(pipeline), manager_(manager), events_(events) {}

Result<std::unique_ptr<smtp::MessageWriter>> SpoolIntake::open(const Envelope& env) {
    auto w = spool_.create(env);
    if (!w) return w.error();
    return std::unique_ptr<smtp::MessageWriter>(std::make_unique<Writer>(std::move(w.value())));
}

void SpoolIntake::abandon(std::unique_ptr<smtp::MessageWriter> writer) {
    if (!writer) return;
    auto& w = static_cast<Writer&>(*writer).spool_writer();
    std::string qid = w.queue_id();
    w.close();
    (void)spool_.remove(qid, queue::SpoolDir::Incoming);
}

boost::asio::awaitable<smtp::IntakeResult> SpoolIntake::finish(
    std::unique_ptr<smtp::MessageWriter> writer, Envelope env) {
    auto& w = static_cast<Writer&>(*writer).spool_writer();
    const std::string qid = w.queue_id();

    // 1. Durable: the file and its directory entry are on disk before any 250.
    Result<void> stored = w.finish();
    if (stored) stored = co_await spool_.commit(w);
    w.close();
    if (!stored) {
        log::error("queue.spool.commit_failed qid={} reason=\"{}\"", qid,
                   log_escape(stored.error().message));
        (void)spool_.remove(qid, queue::SpoolDir::Incoming);
        co_return smtp::IntakeResult{smtp::replies::local_error(), qid};
    }

    // 2-4. Analyse, decide, queue.
    co_return decide_and_queue(qid, false);
}

smtp::IntakeResult SpoolIntake::decide_and_queue(const std::string& qid, bool recovering) {
    using pipeline::Disposition;
    auto loaded = spool_.load(qid, queue::SpoolDir::Incoming);
    if (!loaded) {
        log::error("queue.spool.load_failed qid={} reason=\"{}\"", qid,
                   log_escape(loaded.error().message));
        (void)spool_.remove(qid, queue::SpoolDir::Incoming);
        return {smtp::replies::local_error(), qid};
    }
    queue::SpooledMessage& msg = loaded.value();
    const Envelope& env = msg.envelope;

    // XXX: analysers run on this I/O thread for now; the gateway core has
    // none. The content-security issue moves them to the worker pool with a
    // time budget (DESIGN.md "Process and threads").
    MappedContent content(spool_.path(queue::SpoolDir::Incoming, qid), msg.content_offset,
                          msg.content_length);
    pipeline::Outcome outcome = pipeline_.run({env, content.view()});

    std::size_t deliver = 0, held = 0, rejected = 0, tempfailed = 0;
    for (std::size_t i = 0; i < outcome.decisions.size(); ++i) {
        switch (outcome.decisions[i].disposition) {
            case Disposition::Deliver:
                ++deliver;
                break;
            case Disposition::Quarantine:
            case Disposition::Hold:
                ++held;
                break;
            case Disposition::Reject:
                ++rejected;
                break;
            case Disposition::Tempfail:
                ++tempfailed;
                break;
            case Disposition::Discard:
                break;
        }
    }

    events::Event ev;
    ev.queue_id = qid;
    ev.session_id = env.client.session_id;
    ev.sender = env.sender;
    for (const auto& r : env.recipients) ev.recipients.push_back(r.address);
    ev.client = env.client.address;
    ev.helo = env.client.helo;
    ev.size = msg.content_length;
    ev.message_id = find_message_id(content.view());
    ev.tls = env.client.tls ? env.client.tls_version + " " + env.client.tls_cipher : "none";

    // Nothing to deliver or hold: refuse the whole message in the session.
    if (deliver == 0 && held == 0) {
        smtp::Reply reply = tempfailed > 0 ? smtp::make_reply(451, "4.7.1", "try again later")
                                           : smtp::make_reply(550, "5.7.1", "message refused");
        // Any tempfail makes the whole answer temporary (the client retries,
        // nothing is lost); the reply text comes from a decision of that kind.
        Disposition wanted = tempfailed > 0 ? Disposition::Tempfail : Disposition::Reject;
        for (const auto& d : outcome.decisions)
            if (!d.reply.empty() && d.disposition == wanted) {
                auto sp = d.reply.find(' ');
                reply = smtp::make_reply(std::atoi(d.reply.c_str()), "", d.reply.substr(sp + 1));
                break;
            }
        (void)spool_.remove(qid, queue::SpoolDir::Incoming);
        ev.kind = events::Kind::Rejected;
        ev.reply = reply.summary();
        ev.disposition = tempfailed > 0 ? "tempfail" : "reject";
        ev.reason = outcome.decisions.empty() ? "" : outcome.decisions[0].reason;
        events_.emit(ev);
        return {reply, qid};
    }

    // Recipients that are not delivered with the rest of the message.
    for (std::size_t i = 0; i < outcome.decisions.size(); ++i) {
        auto d = outcome.decisions[i].disposition;
        if (d == Disposition::Deliver || d == Disposition::Hold || d == Disposition::Quarantine)
            continue;
        // XXX: a mixed reject/tempfail after DATA can only be a drop here,
        // since the 250 covers the whole message. Per-recipient copies and
        // notices come with the customers/rules issue.
        (void)spool_.set_recipient_state(qid, queue::SpoolDir::Incoming, msg.state_offsets[i],
                                         queue::RecipientState::Dropped);
        msg.states[i] = queue::RecipientState::Dropped;
        log::info("policy.rcpt.dropped qid={} to=<{}> disposition={} reason=\"{}\"", qid,
                  log_escape(env.recipients[i].address), pipeline::to_string(d),
                  log_escape(outcome.decisions[i].reason));
    }

    bool hold_all = deliver == 0;
    queue::SpoolDir target = hold_all ? queue::SpoolDir::Hold : queue::SpoolDir::Active;
    if (auto r = spool_.move(qid, queue::SpoolDir::Incoming, target); !r) {
        log::error("queue.spool.move_failed qid={} reason=\"{}\"", qid, r.error().message);
        // The file is synced in incoming/: recovery at the next start queues it.
        return {smtp::replies::local_error(), qid};
    }
    ev.kind = events::Kind::Received;
    ev.disposition = hold_all ? "hold" : "deliver";
    ev.reason = recovering ? "recovered after restart" : "";
    smtp::Reply reply = smtp::replies::queued(qid);
    ev.reply = reply.summary();
    events_.emit(ev);
    log::info("queue.message.received qid={} sid={} from=<{}> nrcpt={} size={} disposition={}{}",
              qid, env.client.session_id, log_escape(env.sender), env.recipients.size(),
              msg.content_length, ev.disposition, recovering ? " recovered=yes" : "");
    if (hold_all)
        manager_.enqueue_held(std::move(msg), outcome.decisions[0].reason);
    else
        manager_.enqueue(std::move(msg));
    return {reply, qid};
}

void SpoolIntake::recover_incoming() {
    for (const auto& qid : spool_.scan(queue::SpoolDir::Incoming)) {
        auto m = spool_.load(qid, queue::SpoolDir::Incoming);
        if (!m) {
            log::info("queue.recover.partial_removed qid={} reason=\"{}\"", qid,
                      log_escape(m.error().message));
            (void)spool_.remove(qid, queue::SpoolDir::Incoming);
            continue;
        }
        decide_and_queue(qid, true);
    }
}

}  // namespace gatehouse::app
