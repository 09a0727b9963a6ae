// Resolver on libunbound's asynchronous API, driven by the io_context.
//
// Called by delivery (MX, A, AAAA) and later by the authentication checks.
// One ub_ctx per Resolver, in threaded mode: unbound's worker thread does the
// network work and writes finished answers to a pipe, whose read end
// (ub_fd) is watched here with async_wait; ub_process() then runs the
// callbacks, which complete the awaiting coroutines through their own
// executors. Nothing blocks an I/O thread.
//
// Standards: RFC 1035 (wire format of names in RDATA), RFC 5321 section 5.1
// (MX ordering; the caller applies the rest), RFC 7505 (null MX, reported as
// host ".").
//
// Upstream: with config `dns.resolver` set, every query is forwarded there
// (ub_ctx_set_fwd). Forwarding works against a plain authoritative server
// such as nsd: unbound accepts its authoritative answers to RD queries. A
// stub zone for "." does not: the iterator first primes the root NS set,
// which an authoritative server for a test zone refuses, and every query
// ends in SERVFAIL. Unbound also answers some special-use names itself
// (test., invalid., localhost., onion., home.arpa.) with NXDOMAIN without
// asking the upstream, so test zones must live under other names.
//
// SECURITY: answers come from the configured upstream and are not DNSSEC
// validated (no trust anchors are configured, so the validator module is
// left out). Names in MX RDATA are parsed with length checks and must be
// LDH host names; anything else is dropped, because those names later go
// into SMTP commands, logs and events.
#include "dns/resolver.hpp"

#include <arpa/inet.h>
#include <unbound.h>

#include <algorithm>
#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

#include "base/text.hpp"

namespace gatehouse::dns {

namespace asio = boost::asio;

namespace {

// Unbound retries an unresponsive upstream for about 17 s before giving up;
// this bounds a query even when the upstream never answers at all.
constexpr std::chrono::seconds kQueryTimeout{20};

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;
constexpr int kRcodeServFail = 2;
constexpr int kRcodeNxDomain = 3;
constexpr std::size_t kMaxNameLength = 253;  // text form, without the trailing dot
constexpr std::size_t kMaxLabelLength = 63;

using ResultPtr = std::shared_ptr<ub_result>;

// What one unbound query produced: an answer, or why there is none.
struct Lookup {
    ResultPtr result;     // null when failure is set
    std::string failure;  // unbound error, timeout or shutdown
};

bool ldh_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// Checks a query name and brings it to the form unbound gets: lowercase,
// no trailing dot, LDH labels of 1..63 bytes.
std::optional<std::string> query_name(std::string_view name) {
    std::string out = to_lower(name);
    if (!out.empty() && out.back() == '.') out.pop_back();
    if (out.empty() || out.size() > kMaxNameLength) return std::nullopt;
    std::size_t label = 0;
    for (char c : out) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
        } else if (!ldh_byte(static_cast<unsigned char>(c)) || ++label > kMaxLabelLength) {
            return std::nullopt;
        }
    }
    if (label == 0) return std::nullopt;
    return out;
}

// Reads an uncompressed wire-format name that fills data[0..len) exactly.
// Returns "." for the root name (null MX).
std::optional<std::string> wire_name(const unsigned char* data, std::size_t len) {
    std::string out;
    std::size_t pos = 0;
    while (pos < len) {
        std::size_t label = data[pos++];
        if (label == 0) {
            if (pos != len) return std::nullopt;
            if (out.empty()) return std::string(".");
            return out;
        }
        // Compression pointers (0xC0) and extended label types have no place
        // here: unbound hands out RDATA with names already decompressed.
        if (label > kMaxLabelLength || pos + label > len) return std::nullopt;
        if (!out.empty()) out += '.';
        for (std::size_t i = 0; i < label; ++i) {
            unsigned char c = data[pos + i];
            if (!ldh_byte(c)) return std::nullopt;
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        if (out.size() > kMaxNameLength) return std::nullopt;
        pos += label;
    }
    return std::nullopt;  // ran out of bytes before the root label
}

std::optional<MxRecord> parse_mx(const unsigned char* data, int len) {
    if (!data || len < 3) return std::nullopt;
    auto host = wire_name(data + 2, static_cast<std::size_t>(len) - 2);
    if (!host) return std::nullopt;
    MxRecord mx;
    mx.preference = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
    mx.host = std::move(*host);
    return mx;
}

std::optional<std::string> parse_address(const unsigned char* data, int len, int type) {
    char text[INET6_ADDRSTRLEN] = {};
    if (type == kTypeA && len == 4 && inet_ntop(AF_INET, data, text, sizeof text))
        return std::string(text);
    if (type == kTypeAaaa && len == 16 && inet_ntop(AF_INET6, data, text, sizeof text))
        return std::string(text);
    return std::nullopt;
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Maps an unbound answer to a status; sets why when it is not Ok.
Status classify(const Lookup& lookup, std::string& why) {
    if (!lookup.result) {
        why = lookup.failure;
        return Status::TempFail;
    }
    const ub_result& r = *lookup.result;
    if (r.bogus) {
        why = "answer failed validation";
        return Status::TempFail;
    }
    if (r.rcode == kRcodeNxDomain || r.nxdomain) {
        why = "domain does not exist (NXDOMAIN)";
        return Status::NxDomain;
    }
    if (r.rcode != 0) {
        why = r.rcode == kRcodeServFail ? "server failure (SERVFAIL)"
                                        : "lookup failed (rcode " + std::to_string(r.rcode) + ")";
        return Status::TempFail;
    }
    if (!r.havedata) {
        why = "no records of this type (NODATA)";
        return Status::NoData;
    }
    return Status::Ok;
}

// "127.0.0.1:5353", "[::1]:53", "::1", "192.0.2.1" -> unbound's "ip@port".
std::string unbound_address(const std::string& upstream) {
    std::string host = upstream;
    std::string port = "53";
    if (!upstream.empty() && upstream.front() == '[') {
        auto close = upstream.find(']');
        if (close == std::string::npos) throw std::runtime_error("dns: bad upstream " + upstream);
        host = upstream.substr(1, close - 1);
        if (close + 1 < upstream.size()) {
            if (upstream[close + 1] != ':')
                throw std::runtime_error("dns: bad upstream " + upstream);
            port = upstream.substr(close + 2);
        }
    } else if (std::count(upstream.begin(), upstream.end(), ':') == 1) {
        auto colon = upstream.find(':');
        host = upstream.substr(0, colon);
        port = upstream.substr(colon + 1);
    }
    if (!is_ip_literal(host))
        throw std::runtime_error("dns: upstream must be an IP address: " + upstream);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
        throw std::runtime_error("dns: bad upstream port: " + upstream);
    return host + "@" + port;
}

void check_ub(int rc, const std::string& what) {
    if (rc != 0) throw std::runtime_error("dns: " + what + ": " + ub_strerror(rc));
}

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
    using Handler = asio::any_completion_handler<void(Lookup)>;

    // One query in flight; owned by pending_ until it completes.
    struct Pending {
        Impl* impl = nullptr;
        int async_id = 0;
        Handler handler;
        asio::any_completion_executor work;  // keeps the caller's context running
        asio::steady_timer deadline;

        // Move-constructs the handler: in Boost 1.81 the move assignment of
        // any_completion_handler wraps the source in a new handler instead.
        Pending(Impl* owner, Handler h)
            : impl(owner),
              handler(std::move(h)),
              work(asio::prefer(asio::get_associated_executor(handler, owner->strand_),
                                asio::execution::outstanding_work.tracked)),
              deadline(owner->strand_) {}
    };

    Impl(asio::any_io_executor executor, const std::string& upstream);
    ~Impl();

    void start(std::string name, int type, Handler handler);
    void finish(Pending* pending, Lookup lookup);
    void watch();
    void stop(const std::string& why);
    static void on_answer(void* data, int err, ub_result* result);
    static asio::awaitable<Lookup> query(std::shared_ptr<Impl> impl, std::string name, int type);

    asio::strand<asio::any_io_executor> strand_;
    ub_ctx* ctx_ = nullptr;
    asio::posix::stream_descriptor fd_;
    std::map<Pending*, std::unique_ptr<Pending>> pending_;
    bool watching_ = false;
    bool stopped_ = false;
};

Resolver::Impl::Impl(asio::any_io_executor executor, const std::string& upstream)
    : strand_(asio::make_strand(executor)), fd_(strand_) {
    ctx_ = ub_ctx_create();
    if (!ctx_) throw std::runtime_error("dns: cannot create unbound context");
    try {
        // A thread, not the default forked process: forking a server that
        // holds keys and many descriptors is what we least want.
        check_ub(ub_ctx_async(ctx_, 1), "async mode");
        // No trust anchors are configured, so validation could only cost
        // time. XXX: DANE needs the validator and a root anchor; enable both
        // together when it lands.
        check_ub(ub_ctx_set_option(ctx_, "module-config:", "iterator"), "module-config");
        if (upstream.empty()) {
            check_ub(ub_ctx_resolvconf(ctx_, nullptr), "reading /etc/resolv.conf");
        } else {
            std::string address = unbound_address(upstream);
            // The upstream's family decides which sockets unbound needs.
            if (address.find(':') == std::string::npos)
                check_ub(ub_ctx_set_option(ctx_, "do-ip6:", "no"), "do-ip6");
            check_ub(ub_ctx_set_fwd(ctx_, address.c_str()), "upstream " + upstream);
        }
        int fd = ub_fd(ctx_);
        if (fd < 0) throw std::runtime_error("dns: unbound has no descriptor");
        fd_.assign(fd);
    } catch (...) {
        ub_ctx_delete(ctx_);
        throw;
    }
}

Resolver::Impl::~Impl() {
    // The descriptor belongs to unbound; ub_ctx_delete closes it.
    if (fd_.is_open()) fd_.release();
    ub_ctx_delete(ctx_);
}

void Resolver::Impl::start(std::string name, int type, Handler handler) {
    auto pending = std::make_unique<Pending>(this, std::move(handler));
    Pending* p = pending.get();
    pending_.emplace(p, std::move(pending));

    if (stopped_) return finish(p, Lookup{nullptr, "resolver is shut down"});
    int rc =
        ub_resolve_async(ctx_, name.c_str(), type, kClassIn, p, &Impl::on_answer, &p->async_id);
    if (rc != 0) return finish(p, Lookup{nullptr, std::string("unbound: ") + ub_strerror(rc)});

    p->deadline.expires_after(kQueryTimeout);
    p->deadline.async_wait([self = shared_from_this(), p](boost::system::error_code ec) {
        if (ec || !self->pending_.count(p)) return;
        ub_cancel(self->ctx_, p->async_id);  // its callback will not run
        self->finish(p, Lookup{nullptr, "timed out"});
    });
    watch();
}

// Runs inside ub_process(), on the strand.
void Resolver::Impl::on_answer(void* data, int err, ub_result* result) {
    auto* p = static_cast<Pending*>(data);
    ResultPtr owned(result, [](ub_result* r) {
        if (r) ub_resolve_free(r);
    });
    if (err != 0) return p->impl->finish(p, Lookup{nullptr, ub_strerror(err)});
    if (!result) return p->impl->finish(p, Lookup{nullptr, "unbound returned no result"});
    p->impl->finish(p, Lookup{std::move(owned), {}});
}

void Resolver::Impl::finish(Pending* p, Lookup lookup) {
    auto node = pending_.extract(p);
    if (node.empty()) return;
    std::unique_ptr<Pending> pending = std::move(node.mapped());
    pending->deadline.cancel();
    // Never complete inline: this may run inside ub_process() or while
    // stop() walks pending_. Post to the strand, then hand over to the
    // caller's executor.
    asio::post(strand_, [work = std::move(pending->work), handler = std::move(pending->handler),
                         lookup = std::move(lookup)]() mutable {
        asio::dispatch(work, [handler = std::move(handler), lookup = std::move(lookup)]() mutable {
            std::move(handler)(std::move(lookup));
        });
    });
}

// Waits for the answer pipe while queries are in flight. Not waiting when
// idle lets io_context::run() return once a program's work is done.
void Resolver::Impl::watch() {
    if (watching_ || stopped_ || pending_.empty()) return;
    watching_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](boost::system::error_code ec) {
                       self->watching_ = false;
                       if (ec || self->stopped_) return;
                       int rc = ub_process(self->ctx_);
                       if (rc != 0) return self->stop(std::string("unbound: ") + ub_strerror(rc));
                       self->watch();
                   });
}

void Resolver::Impl::stop(const std::string& why) {
    stopped_ = true;
    boost::system::error_code ignored;
    fd_.cancel(ignored);
    while (!pending_.empty()) {
        Pending* p = pending_.begin()->first;
        ub_cancel(ctx_, p->async_id);
        finish(p, Lookup{nullptr, why});
    }
}

// Not a coroutine itself: g++ 12 miscompiles init-captures that move a
// coroutine parameter into a lambda (the string was freed twice).
asio::awaitable<Lookup> Resolver::Impl::query(std::shared_ptr<Impl> impl, std::string name,
                                              int type) {
    auto initiation = [impl](auto handler, std::string name, int type) {
        asio::dispatch(impl->strand_, [impl, name = std::move(name), type,
                                       handler = std::move(handler)]() mutable {
            impl->start(std::move(name), type, std::move(handler));
        });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Lookup)>(
        std::move(initiation), asio::use_awaitable, std::move(name), type);
}

namespace {

// RFC 5321 section 5.1: lowest preference first; equal preferences in random
// order so that load spreads over them.
void sort_mx(std::vector<MxRecord>& records) {
    thread_local std::mt19937 rng{std::random_device{}()};
    std::shuffle(records.begin(), records.end(), rng);
    std::stable_sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
        return a.preference < b.preference;
    });
}

}  // namespace

Resolver::Resolver(asio::any_io_executor executor, const std::string& upstream)
    : impl_(std::make_shared<Impl>(std::move(executor), upstream)) {}

Resolver::~Resolver() {
    shutdown();
}

void Resolver::shutdown() {
    asio::dispatch(impl_->strand_, [impl = impl_] { impl->stop("resolver is shut down"); });
}

asio::awaitable<MxAnswer> Resolver::mx(std::string domain) {
    MxAnswer answer;
    auto name = query_name(domain);
    if (!name) {
        // XXX: a non-ASCII (U-label) domain needs IDNA conversion first,
        // which nothing does yet; such mail bounces rather than looping.
        answer.status = Status::NxDomain;
        answer.error = "invalid domain name";
        co_return answer;
    }
    Lookup lookup = co_await Impl::query(impl_, *name, kTypeMx);
    answer.status = classify(lookup, answer.error);
    if (answer.status != Status::Ok) co_return answer;

    for (int i = 0; lookup.result->data[i]; ++i) {
        auto mx = parse_mx(reinterpret_cast<const unsigned char*>(lookup.result->data[i]),
                           lookup.result->len[i]);
        if (mx) answer.records.push_back(std::move(*mx));
    }
    if (answer.records.empty()) {
        answer.status = Status::TempFail;
        answer.error = "no usable MX record in answer";
        co_return answer;
    }
    sort_mx(answer.records);
    co_return answer;
}

asio::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
    using namespace asio::experimental::awaitable_operators;
    AddressAnswer answer;
    if (is_ip_literal(host)) {
        answer.status = Status::Ok;
        answer.addresses.push_back(host);
        co_return answer;
    }
    auto name = query_name(host);
    if (!name) {
        answer.status = Status::NxDomain;
        answer.error = "invalid host name";
        co_return answer;
    }

    auto [v4, v6] =
        co_await (Impl::query(impl_, *name, kTypeA) && Impl::query(impl_, *name, kTypeAaaa));
    std::string why4, why6;
    Status s4 = classify(v4, why4);
    Status s6 = classify(v6, why6);
    for (auto [lookup, status, type] :
         {std::tuple{&v4, s4, kTypeA}, std::tuple{&v6, s6, kTypeAaaa}}) {
        if (status != Status::Ok) continue;
        for (int i = 0; lookup->result->data[i]; ++i) {
            auto text =
                parse_address(reinterpret_cast<const unsigned char*>(lookup->result->data[i]),
                              lookup->result->len[i], type);
            if (text) answer.addresses.push_back(std::move(*text));
        }
    }

    // Any address is enough; otherwise the more hopeful failure wins, so a
    // timeout on AAAA is never reported as a permanent NXDOMAIN.
    if (!answer.addresses.empty()) {
        answer.status = Status::Ok;
    } else if (s4 == Status::TempFail || s6 == Status::TempFail) {
        answer.status = Status::TempFail;
        answer.error = s4 == Status::TempFail ? "A: " + why4 : "AAAA: " + why6;
    } else if (s4 == Status::Ok || s6 == Status::Ok) {
        answer.status = Status::TempFail;
        answer.error = "no usable address in answer";
    } else if (s4 == Status::NxDomain && s6 == Status::NxDomain) {
        answer.status = Status::NxDomain;
        answer.error = why4;
    } else {
        answer.status = Status::NoData;
        answer.error = "no A or AAAA records";
    }
    co_return answer;
}

}  // namespace gatehouse::dns
