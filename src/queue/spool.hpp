// The spool: every accepted message as one file, envelope and content
// together. Only this module writes spool files (DESIGN.md).
//
// Layout under DATA/spool:
//   incoming/  being received, or received and synced but not yet queued
//   active/    queued: delivered, retried and expired from here
//   hold/      held by an admin or the policy; not delivered until released
//   corrupt/   files that failed to parse at start-up, kept for a human
//
// File format (text records, then the content, then a fixed trailer):
//   GHQ1
//   qid 0123456789ABCDEF
//   arrival 1764780000000
//   sender user@example.com          ("sender " alone for the null sender)
//   body 8bitmime | 7bit
//   smtputf8 0 | 1
//   envid XTEXT / ret FULL|HDRS      (only when the client gave them)
//   client 192.0.2.1 4711 / helo NAME / sid HEX / listener NAME inbound|outbound
//   sched AAAAAA NNNNNNNNNNNNNNN     attempts and next attempt (ms), fixed width
//   rcpt S NN ADDRESS ORCPT          S: - pending, D delivered, B bounced,
//                                     E expired, X dropped; NN notify flags (hex)
//   data
//   <content: RFC 5322 message, CRLF line ends, not dot-stuffed>
//   \0GHEND NNNNNNNNNNNNNNNNNNNN\n   content length, 20 digits (28 bytes)
//
// The sched record and each recipient's state byte are updated in place
// with pwrite, so state changes never rewrite the content. A file is
// complete when its trailer matches its size; files in incoming/ without a
// valid trailer are partial receptions and are removed at start-up.
//
// Durability: the session's 250 waits for commit(), which fsyncs the file
// and its directory. Concurrent commits are grouped: one committer thread
// takes every file waiting, makes them durable together (fdatasync of each
// from a pool of threads so the filesystem journal merges them, or one
// syncfs() of the spool filesystem), fsyncs the directory once, and wakes
// all their sessions (group commit).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/envelope.hpp"
#include "base/result.hpp"
#include "config/config.hpp"

namespace gatehouse::queue {

enum class SpoolDir { Incoming, Active, Hold, Corrupt };

std::string_view to_string(SpoolDir d);

enum class RecipientState : char {
    Pending = '-',
    Delivered = 'D',
    Bounced = 'B',
    Expired = 'E',
    Dropped = 'X',
};

// A parsed spool file.
struct SpooledMessage {
    Envelope envelope;
    std::vector<RecipientState> states;        // one per recipient
    std::vector<std::uint64_t> state_offsets;  // file offset of each state byte
    std::uint64_t sched_offset = 0;
    unsigned attempts = 0;
    std::int64_t next_attempt_ms = 0;
    std::uint64_t content_offset = 0;
    std::uint64_t content_length = 0;
};

// Content being written by a receiving session. Not thread-safe.
class SpoolWriter {
  public:
    SpoolWriter(int fd, std::string queue_id, std::string path);
    ~SpoolWriter();
    SpoolWriter(const SpoolWriter&) = delete;
    SpoolWriter& operator=(const SpoolWriter&) = delete;

    Result<void> append(std::string_view bytes);
    std::uint64_t content_size() const { return content_size_; }
    const std::string& queue_id() const { return queue_id_; }
    const std::string& path() const { return path_; }
    int fd() const { return fd_; }

    // Writes the trailer. The file is then complete but not yet durable.
    Result<void> finish();
    void close();

  private:
    Result<void> flush();
    int fd_;
    std::string queue_id_;
    std::string path_;
    std::string buffer_;
    std::uint64_t content_size_ = 0;
};

class Spool {
  public:
    // Creates the directories under root/spool when missing. Throws
    // std::runtime_error naming the path when that fails.
    explicit Spool(const std::string& data_dir,
                   config::SpoolSync sync = config::SpoolSync::Parallel);
    ~Spool();

    const std::string& root() const { return root_; }
    std::string path(SpoolDir dir, const std::string& queue_id) const;

    // Starts a file in incoming/ with the envelope records written.
    Result<std::unique_ptr<SpoolWriter>> create(const Envelope& envelope);

    // Makes a finished writer's file and its directory durable. Grouped with
    // other commits; resumes the caller on its own executor.
    boost::asio::awaitable<Result<void>> commit(SpoolWriter& writer);
    // Blocking variant for code that is not a coroutine (DSN creation, tests).
    Result<void> commit_sync(SpoolWriter& writer);

    // Moves a committed message between directories (atomic rename).
    Result<void> move(const std::string& queue_id, SpoolDir from, SpoolDir to);
    Result<void> remove(const std::string& queue_id, SpoolDir dir);

    Result<SpooledMessage> load(const std::string& queue_id, SpoolDir dir) const;
    // Queue ids of the complete-looking files in dir, oldest first.
    std::vector<std::string> scan(SpoolDir dir) const;

    Result<void> set_recipient_state(const std::string& queue_id, SpoolDir dir,
                                     std::uint64_t offset, RecipientState state);
    Result<void> set_schedule(const std::string& queue_id, SpoolDir dir, std::uint64_t offset,
                              unsigned attempts, std::int64_t next_attempt_ms);

    // Fsyncs a directory (after renames that must survive a power loss).
    Result<void> sync_dir(SpoolDir dir);

    // Statistics of the group committer: commits and fsync batches so far.
    std::uint64_t commits() const;
    std::uint64_t batches() const;

  private:
    struct Job {
        int fd;
        std::function<void(Result<void>)> done;
    };
    void committer_loop();
    void enqueue(Job job);
    void sync_files(const std::deque<Job>& batch, std::vector<int>& errors);
    void sync_worker();

    std::string root_;
    int dir_fds_[4] = {-1, -1, -1, -1};
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::uint64_t commits_ = 0;
    std::uint64_t batches_ = 0;
    std::thread committer_;

    // The pool that runs fdatasync in parallel for one batch.
    config::SpoolSync sync_;
    std::mutex sync_mu_;
    std::condition_variable sync_cv_;
    std::condition_variable sync_done_cv_;
    std::vector<int> sync_fds_;
    std::vector<int> sync_errors_;
    std::size_t sync_next_ = 0;
    std::size_t sync_count_ = 0;
    std::size_t sync_done_ = 0;
    bool sync_stopping_ = false;
    std::vector<std::thread> sync_threads_;
};

// Parses a spool file's bytes (the header part is enough). Exposed for the
// fuzz target and tests; load() uses it.
Result<SpooledMessage> parse_spool_header(std::string_view bytes);

}  // namespace gatehouse::queue
