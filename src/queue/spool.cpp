#include "queue/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <future>
#include <stdexcept>

#include "base/ids.hpp"
#include "base/text.hpp"
#include "log/log.hpp"

namespace gatehouse::queue {
namespace {

constexpr std::string_view kMagic = "GHQ1\n";
constexpr std::string_view kTrailerMagic = std::string_view("\0GHEND ", 7);
constexpr std::size_t kTrailerSize = 28;  // magic 7 + 20 digits + newline
constexpr std::size_t kWriteBuffer = 256 * 1024;
constexpr std::size_t kMaxHeaderBytes = 16 * 1024 * 1024;  // 100k recipients fit
constexpr unsigned kSyncThreads = 16;

const char* kDirNames[] = {"incoming", "active", "hold", "corrupt"};

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

Result<void> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::temporary(errno_text("write spool file"));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok();
}

std::string pad(std::uint64_t v, int width) {
    std::string s = std::to_string(v);
    if (static_cast<int>(s.size()) < width) s.insert(0, width - s.size(), '0');
    return s;
}

const char* body_name(BodyType b) {
    return b == BodyType::EightBitMime ? "8bitmime" : "7bit";
}

std::string hex2(unsigned v) {
    static constexpr char kHex[] = "0123456789abcdef";
    return {kHex[(v >> 4) & 15], kHex[v & 15]};
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

bool parse_i64(std::string_view s, std::int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// Splits off the first space-separated word of s.
std::string_view next_word(std::string_view& s) {
    auto sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return w;
}

// Addresses go into space-separated records: every byte outside '!'..'~',
// and '+' itself, is written as +XX (the xtext scheme of RFC 3461), so a
// quoted local part with spaces or 8-bit bytes (SMTPUTF8) round-trips.
std::string field_encode(std::string_view v) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(v.size());
    for (unsigned char c : v) {
        if (c < 0x21 || c > 0x7e || c == '+') {
            out += '+';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

bool field_decode(std::string_view v, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '+') {
            out += v[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= v.size()) return false;
        auto [p, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, value, 16);
        if (ec != std::errc() || p != v.data() + i + 3) return false;
        out += static_cast<char>(value);
        i += 2;
    }
    return true;
}

}  // namespace

std::string_view to_string(SpoolDir d) {
    return kDirNames[static_cast<int>(d)];
}

// ---- SpoolWriter -------------------------------------------------------------

SpoolWriter::SpoolWriter(int fd, std::string queue_id, std::string path)
    : fd_(fd), queue_id_(std::move(queue_id)), path_(std::move(path)) {
    buffer_.reserve(kWriteBuffer);
}

SpoolWriter::~SpoolWriter() {
    close();
}

void SpoolWriter::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Result<void> SpoolWriter::flush() {
    auto r = write_all(fd_, buffer_);
    buffer_.clear();
    return r;
}

Result<void> SpoolWriter::append(std::string_view bytes) {
    content_size_ += bytes.size();
    if (buffer_.size() + bytes.size() < kWriteBuffer) {
        buffer_.append(bytes);
        return ok();
    }
    if (auto r = flush(); !r) return r;
    if (bytes.size() >= kWriteBuffer) return write_all(fd_, bytes);
    buffer_.append(bytes);
    return ok();
}

Result<void> SpoolWriter::finish() {
    buffer_.append(kTrailerMagic);
    buffer_.append(pad(content_size_, 20));
    buffer_.push_back('\n');
    return flush();
}

// ---- Spool -------------------------------------------------------------------

Spool::Spool(const std::string& data_dir, config::SpoolSync sync)
    : root_(data_dir + "/spool"), sync_(sync) {
    ::mkdir(data_dir.c_str(), 0750);
    ::mkdir(root_.c_str(), 0750);
    for (int i = 0; i < 4; ++i) {
        std::string d = root_ + "/" + kDirNames[i];
        if (::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST)
            throw std::runtime_error(errno_text("create spool directory " + d));
        dir_fds_[i] = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fds_[i] < 0) throw std::runtime_error(errno_text("open spool directory " + d));
    }
    committer_ = std::thread([this] { committer_loop(); });
    if (sync_ == config::SpoolSync::Parallel)
        for (unsigned i = 0; i < kSyncThreads; ++i)
            sync_threads_.emplace_back([this] { sync_worker(); });
}

Spool::~Spool() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (committer_.joinable()) committer_.join();
    {
        std::lock_guard lock(sync_mu_);
        sync_stopping_ = true;
    }
    sync_cv_.notify_all();
    for (auto& t : sync_threads_) t.join();
    for (int fd : dir_fds_)
        if (fd >= 0) ::close(fd);
}

std::string Spool::path(SpoolDir dir, const std::string& queue_id) const {
    return root_ + "/" + kDirNames[static_cast<int>(dir)] + "/" + queue_id;
}

Result<std::unique_ptr<SpoolWriter>> Spool::create(const Envelope& env) {
    if (!is_queue_id(env.queue_id)) return Error::internal("bad queue id " + env.queue_id);
    std::string p = path(SpoolDir::Incoming, env.queue_id);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Error::temporary(errno_text("create " + p));
    auto writer = std::make_unique<SpoolWriter>(fd, env.queue_id, p);

    std::string h;
    h.reserve(512 + env.recipients.size() * 64);
    h += kMagic;
    h += "qid " + env.queue_id + "\n";
    h += "arrival " + std::to_string(env.arrival_ms) + "\n";
    h += "sender " + field_encode(env.sender) + "\n";
    h += std::string("body ") + body_name(env.body) + "\n";
    h += std::string("smtputf8 ") + (env.smtputf8 ? "1" : "0") + "\n";
    if (!env.envid.empty()) h += "envid " + env.envid + "\n";
    if (!env.ret.empty()) h += "ret " + env.ret + "\n";
    h += "client " + env.client.address + " " + std::to_string(env.client.port) + "\n";
    h += "helo " + env.client.helo + "\n";
    h += "sid " + env.client.session_id + "\n";
    h += "listener " + env.client.listener + " " +
         (env.client.role == ListenerRole::Outbound ? "outbound" : "inbound") + "\n";
    if (env.client.tls) h += "tls " + env.client.tls_version + " " + env.client.tls_cipher + "\n";
    h += "sched " + pad(0, 6) + " " + pad(0, 15) + "\n";
    for (const auto& r : env.recipients) {
        h += "rcpt - " + hex2(r.notify) + " " + field_encode(r.address);
        if (!r.orcpt.empty()) h += " " + field_encode(r.orcpt);
        h += "\n";
    }
    h += "data\n";
    if (auto r = write_all(fd, h); !r) {
        ::unlink(p.c_str());
        return r.error();
    }
    return writer;
}

void Spool::enqueue(Job job) {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void Spool::committer_loop() {
    for (;;) {
        std::deque<Job> batch;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty() && stopping_) return;
            batch.swap(jobs_);
        }
        // Every file of the batch first, then the directory once: the
        // directory entry of each new file is covered by that one fsync.
        std::vector<int> errors(batch.size(), 0);
        sync_files(batch, errors);
        std::vector<Result<void>> results;
        results.reserve(batch.size());
        for (int err : errors) {
            if (err != 0)
                results.emplace_back(
                    Error::temporary(std::string("fdatasync spool file: ") + std::strerror(err)));
            else
                results.emplace_back();
        }
        Result<void> dir_result;
        if (::fsync(dir_fds_[static_cast<int>(SpoolDir::Incoming)]) != 0)
            dir_result = Error::temporary(errno_text("fsync spool directory"));
        {
            std::lock_guard lock(mu_);
            commits_ += batch.size();
            batches_ += 1;
        }
        for (std::size_t i = 0; i < batch.size(); ++i)
            batch[i].done(results[i].ok() ? dir_result : results[i]);
    }
}

void Spool::sync_files(const std::deque<Job>& batch, std::vector<int>& errors) {
    if (sync_ == config::SpoolSync::Filesystem && batch.size() > 1) {
        // One syncfs() writes back every dirty file of the spool filesystem
        // and commits the journal once (Linux >= 5.8 also reports errors).
        int err = ::syncfs(dir_fds_[static_cast<int>(SpoolDir::Incoming)]) == 0 ? 0 : errno;
        std::fill(errors.begin(), errors.end(), err);
        return;
    }
    if (batch.size() == 1 || sync_threads_.empty()) {
        for (std::size_t i = 0; i < batch.size(); ++i)
            errors[i] = ::fdatasync(batch[i].fd) == 0 ? 0 : errno;
        return;
    }
    // Concurrent fdatasync calls share journal commits; serial ones each
    // wait for their own.
    std::unique_lock lock(sync_mu_);
    sync_fds_.clear();
    for (const auto& job : batch) sync_fds_.push_back(job.fd);
    sync_errors_.assign(batch.size(), 0);
    sync_next_ = 0;
    sync_done_ = 0;
    sync_count_ = batch.size();
    sync_cv_.notify_all();
    sync_done_cv_.wait(lock, [&] { return sync_done_ == sync_count_; });
    errors = sync_errors_;
    sync_count_ = 0;
    sync_next_ = 0;
}

void Spool::sync_worker() {
    std::unique_lock lock(sync_mu_);
    for (;;) {
        sync_cv_.wait(lock, [&] { return sync_stopping_ || sync_next_ < sync_count_; });
        if (sync_stopping_) return;
        std::size_t i = sync_next_++;
        int fd = sync_fds_[i];
        lock.unlock();
        int err = ::fdatasync(fd) == 0 ? 0 : errno;
        lock.lock();
        sync_errors_[i] = err;
        if (++sync_done_ == sync_count_) sync_done_cv_.notify_all();
    }
}

boost::asio::awaitable<Result<void>> Spool::commit(SpoolWriter& writer) {
    int fd = writer.fd();
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                   void(Result<void>)>(
        [this, fd](auto handler) {
            auto ex = boost::asio::get_associated_executor(handler);
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            enqueue(Job{fd, [ex, shared](Result<void> r) {
                            boost::asio::post(ex, [shared, r = std::move(r)]() mutable {
                                (*shared)(std::move(r));
                            });
                        }});
        },
        boost::asio::use_awaitable);
}

Result<void> Spool::commit_sync(SpoolWriter& writer) {
    auto promise = std::make_shared<std::promise<Result<void>>>();
    auto future = promise->get_future();
    enqueue(Job{writer.fd(), [promise](Result<void> r) { promise->set_value(std::move(r)); }});
    return future.get();
}

Result<void> Spool::move(const std::string& queue_id, SpoolDir from, SpoolDir to) {
    if (::renameat(dir_fds_[static_cast<int>(from)], queue_id.c_str(),
                   dir_fds_[static_cast<int>(to)], queue_id.c_str()) != 0)
        return Error::temporary(errno_text("rename " + queue_id + " from " +
                                           std::string(to_string(from)) + " to " +
                                           std::string(to_string(to))));
    return ok();
}

Result<void> Spool::remove(const std::string& queue_id, SpoolDir dir) {
    if (::unlinkat(dir_fds_[static_cast<int>(dir)], queue_id.c_str(), 0) != 0 && errno != ENOENT)
        return Error::temporary(errno_text("unlink " + path(dir, queue_id)));
    return ok();
}

Result<void> Spool::sync_dir(SpoolDir dir) {
    if (::fsync(dir_fds_[static_cast<int>(dir)]) != 0)
        return Error::temporary(errno_text("fsync spool directory"));
    return ok();
}

std::vector<std::string> Spool::scan(SpoolDir dir) const {
    std::vector<std::string> out;
    std::string d = root_ + "/" + kDirNames[static_cast<int>(dir)];
    DIR* dp = ::opendir(d.c_str());
    if (!dp) return out;
    while (auto* e = ::readdir(dp)) {
        if (is_queue_id(e->d_name)) out.emplace_back(e->d_name);
    }
    ::closedir(dp);
    std::sort(out.begin(), out.end());
    return out;
}

Result<SpooledMessage> Spool::load(const std::string& queue_id, SpoolDir dir) const {
    std::string p = path(dir, queue_id);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return Error::permanent("no such queue file " + p);
        return Error::temporary(errno_text("open " + p));
    }
    struct stat st {};
    ::fstat(fd, &st);
    auto size = static_cast<std::uint64_t>(st.st_size);
    // Read the header (up to "data\n") and the trailer.
    std::string head;
    std::size_t want = std::min<std::uint64_t>(size, 64 * 1024);
    for (;;) {
        head.resize(want);
        ssize_t n = ::pread(fd, head.data(), want, 0);
        if (n < 0) {
            ::close(fd);
            return Error::temporary(errno_text("read " + p));
        }
        head.resize(static_cast<std::size_t>(n));
        if (head.find("\ndata\n") != std::string::npos || want >= size || want >= kMaxHeaderBytes)
            break;
        want = std::min<std::uint64_t>({size, want * 4, kMaxHeaderBytes});
    }
    char trailer[kTrailerSize];
    bool trailer_ok = size >= kTrailerSize &&
                      ::pread(fd, trailer, kTrailerSize, static_cast<off_t>(size - kTrailerSize)) ==
                          static_cast<ssize_t>(kTrailerSize);
    ::close(fd);

    auto parsed = parse_spool_header(head);
    if (!parsed) return Error::permanent(p + ": " + parsed.error().message);
    SpooledMessage m = std::move(parsed.value());
    std::uint64_t length = 0;
    if (!trailer_ok || std::string_view(trailer, 7) != kTrailerMagic ||
        !parse_u64(std::string_view(trailer + 7, 20), length) ||
        trailer[kTrailerSize - 1] != '\n' || m.content_offset + length + kTrailerSize != size)
        return Error::permanent(p + ": incomplete (no valid trailer)");
    m.content_length = length;
    return m;
}

Result<void> Spool::set_recipient_state(const std::string& queue_id, SpoolDir dir,
                                        std::uint64_t offset, RecipientState state) {
    std::string p = path(dir, queue_id);
    int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::temporary(errno_text("open " + p));
    char c = static_cast<char>(state);
    bool ok_write = ::pwrite(fd, &c, 1, static_cast<off_t>(offset)) == 1;
    ::close(fd);
    if (!ok_write) return Error::temporary(errno_text("update " + p));
    return ok();
}

Result<void> Spool::set_schedule(const std::string& queue_id, SpoolDir dir, std::uint64_t offset,
                                 unsigned attempts, std::int64_t next_attempt_ms) {
    std::string p = path(dir, queue_id);
    int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::temporary(errno_text("open " + p));
    // Offset points at "sched "; the fields follow at fixed width.
    std::string rec =
        pad(std::min(attempts, 999999u), 6) + " " +
        pad(static_cast<std::uint64_t>(std::max<std::int64_t>(0, next_attempt_ms)), 15);
    bool ok_write = ::pwrite(fd, rec.data(), rec.size(), static_cast<off_t>(offset + 6)) ==
                    static_cast<ssize_t>(rec.size());
    ::close(fd);
    if (!ok_write) return Error::temporary(errno_text("update " + p));
    return ok();
}

std::uint64_t Spool::commits() const {
    std::lock_guard lock(const_cast<std::mutex&>(mu_));
    return commits_;
}

std::uint64_t Spool::batches() const {
    std::lock_guard lock(const_cast<std::mutex&>(mu_));
    return batches_;
}

// ---- parsing -----------------------------------------------------------------

Result<SpooledMessage> parse_spool_header(std::string_view bytes) {
    if (bytes.substr(0, kMagic.size()) != kMagic) return Error::permanent("not a spool file");
    SpooledMessage m;
    std::size_t pos = kMagic.size();
    bool have_sched = false;
    for (;;) {
        auto nl = bytes.find('\n', pos);
        if (nl == std::string_view::npos) return Error::permanent("header has no data record");
        std::string_view line = bytes.substr(pos, nl - pos);
        std::uint64_t line_offset = pos;
        pos = nl + 1;
        if (line == "data") break;
        std::string_view rest = line;
        std::string_view key = next_word(rest);
        if (key == "qid") {
            if (!is_queue_id(rest)) return Error::permanent("bad qid record");
            m.envelope.queue_id = std::string(rest);
        } else if (key == "arrival") {
            if (!parse_i64(rest, m.envelope.arrival_ms)) return Error::permanent("bad arrival");
        } else if (key == "sender") {
            if (!field_decode(rest, m.envelope.sender)) return Error::permanent("bad sender");
        } else if (key == "body") {
            m.envelope.body = rest == "8bitmime" ? BodyType::EightBitMime : BodyType::SevenBit;
        } else if (key == "smtputf8") {
            m.envelope.smtputf8 = rest == "1";
        } else if (key == "envid") {
            m.envelope.envid = std::string(rest);
        } else if (key == "ret") {
            m.envelope.ret = std::string(rest);
        } else if (key == "client") {
            m.envelope.client.address = std::string(next_word(rest));
            std::uint64_t port = 0;
            if (parse_u64(rest, port) && port < 65536)
                m.envelope.client.port = static_cast<std::uint16_t>(port);
        } else if (key == "helo") {
            m.envelope.client.helo = std::string(rest);
        } else if (key == "sid") {
            m.envelope.client.session_id = std::string(rest);
        } else if (key == "listener") {
            m.envelope.client.listener = std::string(next_word(rest));
            m.envelope.client.role =
                rest == "outbound" ? ListenerRole::Outbound : ListenerRole::Inbound;
        } else if (key == "tls") {
            m.envelope.client.tls = true;
            m.envelope.client.tls_version = std::string(next_word(rest));
            m.envelope.client.tls_cipher = std::string(rest);
        } else if (key == "sched") {
            std::uint64_t attempts = 0;
            std::string_view a = next_word(rest);
            if (a.size() != 6 || rest.size() != 15 || !parse_u64(a, attempts) ||
                !parse_i64(rest, m.next_attempt_ms))
                return Error::permanent("bad sched record");
            m.attempts = static_cast<unsigned>(attempts);
            m.sched_offset = line_offset;
            have_sched = true;
        } else if (key == "rcpt") {
            // "rcpt S NN address [orcpt]"
            if (rest.size() < 6 || rest[1] != ' ' || rest[4] != ' ')
                return Error::permanent("bad rcpt record");
            char s = rest[0];
            if (s != '-' && s != 'D' && s != 'B' && s != 'E' && s != 'X')
                return Error::permanent("bad rcpt state");
            std::uint64_t notify = 0;
            auto [p, ec] = std::from_chars(rest.data() + 2, rest.data() + 4, notify, 16);
            if (ec != std::errc() || p != rest.data() + 4)
                return Error::permanent("bad rcpt notify");
            std::string_view tail = rest.substr(5);
            Recipient r;
            if (!field_decode(next_word(tail), r.address) || !field_decode(tail, r.orcpt))
                return Error::permanent("bad rcpt encoding");
            r.notify = static_cast<unsigned>(notify);
            if (r.address.empty()) return Error::permanent("empty rcpt address");
            m.envelope.recipients.push_back(std::move(r));
            m.states.push_back(static_cast<RecipientState>(s));
            m.state_offsets.push_back(line_offset + 5);
        }
        // Unknown records are skipped: newer versions may add some.
    }
    if (m.envelope.queue_id.empty()) return Error::permanent("no qid record");
    if (!have_sched) return Error::permanent("no sched record");
    if (m.envelope.recipients.empty()) return Error::permanent("no recipients");
    m.content_offset = pos;
    return m;
}

}  // namespace gatehouse::queue
