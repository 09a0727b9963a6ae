// SMTP session: connection set-up, command loop, envelope commands and
// STARTTLS. Content (DATA, BDAT) is in session_data.cpp.
#include "smtp/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "base/ids.hpp"
#include "base/text.hpp"
#include "events/event.hpp"
#include "log/log.hpp"
#include "tls/tls.hpp"

namespace gatehouse::smtp {

namespace asio = boost::asio;
using asio::use_awaitable;

Session::Session(SessionContext ctx, asio::ip::tcp::socket socket)
    : ctx_(ctx), socket_(std::move(socket)), deadline_(socket_.get_executor()) {
    sid_ = make_session_id();
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
        auto addr = ep.address();
        if (addr.is_v6() && addr.to_v6().is_v4_mapped())
            addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
        client_.address = addr.to_string();
        client_.port = ep.port();
    }
    client_.session_id = sid_;
    client_.listener = ctx_.listener.name;
    client_.role = ctx_.listener.role;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

// ---- transport ---------------------------------------------------------------

void Session::touch(std::chrono::seconds timeout) {
    deadline_at_ = std::chrono::steady_clock::now() + timeout;
}

asio::awaitable<void> Session::watchdog() {
    auto self = shared_from_this();
    while (!closed_) {
        deadline_.expires_at(deadline_at_);
        boost::system::error_code ec;
        co_await deadline_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (closed_) co_return;
        if (std::chrono::steady_clock::now() >= deadline_at_) {
            timed_out_ = true;
            log::info("smtp.session.timeout sid={} client={}", sid_, client_.address);
            // The session is blocked in a read, a write to a client that
            // does not read, or a TLS handshake. Say 421 only where that
            // cannot block or touch TLS state (a one-shot non-blocking send
            // in clear), then close: every pending operation of the session
            // fails and its coroutine ends.
            if (!tls_stream_) {
                std::string r = replies::idle_timeout(ctx_.config.hostname).str();
                socket_.non_blocking(true, ec);
                if (!ec) socket_.send(asio::buffer(r), 0, ec);
            }
            failed_ = true;
            socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
            socket_.close(ec);
            co_return;
        }
    }
}

asio::awaitable<std::size_t> Session::read_more() {
    if (failed_) co_return 0;
    if (inpos_ > 0 && inpos_ == inbuf_.size()) {
        inbuf_.clear();
        inpos_ = 0;
    } else if (inpos_ > kReadChunk) {
        inbuf_.erase(0, inpos_);
        inpos_ = 0;
    }
    std::size_t old = inbuf_.size();
    inbuf_.resize(old + kReadChunk);
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_stream_)
        n = co_await tls_stream_->async_read_some(asio::buffer(inbuf_.data() + old, kReadChunk),
                                                  asio::redirect_error(use_awaitable, ec));
    else
        n = co_await socket_.async_read_some(asio::buffer(inbuf_.data() + old, kReadChunk),
                                             asio::redirect_error(use_awaitable, ec));
    inbuf_.resize(old + (ec ? 0 : n));
    co_return ec ? 0 : n;
}

asio::awaitable<Session::ReadStatus> Session::read_line(std::string& line) {
    std::size_t scanned = inpos_;
    for (;;) {
        auto nl = inbuf_.find('\n', scanned);
        if (nl != std::string::npos) {
            std::size_t len = nl - inpos_;
            if (len + 1 > kMaxCommandLine) {
                inpos_ = nl + 1;
                co_return ReadStatus::TooLong;
            }
            line.assign(inbuf_, inpos_, len);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            inpos_ = nl + 1;
            co_return ReadStatus::Line;
        }
        if (inbuf_.size() - inpos_ > kMaxCommandLine) {
            // Too long already: drop what we have and keep reading to the
            // end of this line, so the next line is parsed in sync.
            for (;;) {
                inbuf_.clear();
                inpos_ = 0;
                co_await flush();
                if (co_await read_more() == 0) co_return ReadStatus::Closed;
                auto end = inbuf_.find('\n');
                if (end != std::string::npos) {
                    inpos_ = end + 1;
                    co_return ReadStatus::TooLong;
                }
            }
        }
        // read_more() may compact the buffer: remember the scan position
        // relative to the start of the line.
        std::size_t scanned_from_line = inbuf_.size() - inpos_;
        // About to block: the client waits for our replies (PIPELINING).
        co_await flush();
        if (co_await read_more() == 0) co_return ReadStatus::Closed;
        scanned = inpos_ + scanned_from_line;
    }
}

void Session::queue_reply(const Reply& r) {
    outbuf_ += r.str();
}

asio::awaitable<void> Session::flush() {
    if (outbuf_.empty() || closed_ || failed_) co_return;
    std::string out;
    out.swap(outbuf_);
    boost::system::error_code ec;
    if (tls_stream_)
        co_await asio::async_write(*tls_stream_, asio::buffer(out),
                                   asio::redirect_error(use_awaitable, ec));
    else
        co_await asio::async_write(socket_, asio::buffer(out),
                                   asio::redirect_error(use_awaitable, ec));
    if (ec) {
        // The client is gone (or the watchdog closed it): stop the session
        // instead of writing into a dead socket.
        failed_ = true;
        log::debug("smtp.session.write_failed sid={} reason=\"{}\"", sid_, ec.message());
    }
}

asio::awaitable<void> Session::send_now(const Reply& r) {
    queue_reply(r);
    co_await flush();
}

asio::awaitable<void> Session::refuse(const Reply& reply) {
    log::info("smtp.session.refused sid={} client={} reply=\"{}\"", sid_, client_.address,
              reply.summary());
    co_await send_now(reply);
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

// Addresses that the parser accepts (RFC 5321 allows '<' and '>' inside a
// quoted local part) but that no next hop could be sent safely, or that
// would confuse header-like records downstream.
bool Session::deliverable_address(const std::string& address) {
    return address.find_first_of("<>") == std::string::npos;
}

// ---- command loop ------------------------------------------------------------

asio::awaitable<void> Session::run() {
    auto self = shared_from_this();
    auto started = std::chrono::steady_clock::now();
    log::info("smtp.session.connected sid={} client={} port={} listener={}", sid_, client_.address,
              client_.port, ctx_.listener.name);
    touch(ctx_.config.limits.idle_timeout);
    asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);

    co_await send_now(replies::greeting(ctx_.config.hostname));
    std::string line;
    for (;;) {
        touch(ctx_.config.limits.idle_timeout);
        auto status = co_await read_line(line);
        if (status == ReadStatus::Closed) break;
        if (status == ReadStatus::TooLong) {
            queue_reply(replies::line_too_long());
            if (!count_error()) break;
            continue;
        }
        if (ctx_.draining) {
            // RFC 5321 3.8: a server shutting down answers 421 and closes.
            queue_reply(
                make_reply(421, "4.3.2", ctx_.config.hostname + " shutting down, try again later"));
            break;
        }
        auto parsed = parse_command(line, env_.smtputf8);
        if (auto* reply = std::get_if<Reply>(&parsed)) {
            log::info("smtp.command.rejected sid={} line=\"{}\" reply=\"{}\"", sid_,
                      log_escape(line, 100), reply->summary());
            queue_reply(*reply);
            if (!count_error()) break;
            continue;
        }
        if (!co_await handle(std::get<Command>(parsed))) break;
    }
    co_await flush();
    closed_ = true;
    deadline_.cancel();
    abandon_message();
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    log::info("smtp.session.closed sid={} client={} messages={} errors={} ms={}{}", sid_,
              client_.address, messages_, errors_, ms, timed_out_ ? " reason=timeout" : "");
}

bool Session::count_error() {
    if (++errors_ < ctx_.config.limits.max_errors) return true;
    log::info("smtp.session.too_many_errors sid={} client={} errors={}", sid_, client_.address,
              errors_);
    queue_reply(replies::too_many_errors());
    return false;
}

asio::awaitable<bool> Session::handle(const Command& cmd) {
    bool tls_required = ctx_.listener.tls == config::TlsMode::Required && !client_.tls;
    switch (cmd.verb) {
        case Verb::Ehlo:
            on_helo(cmd, true);
            co_return true;
        case Verb::Helo:
            on_helo(cmd, false);
            co_return true;
        case Verb::Mail:
            if (tls_required) {
                queue_reply(replies::tls_required());
                co_return count_error();
            }
            co_return on_mail(cmd);
        case Verb::Rcpt:
            if (tls_required) {
                queue_reply(replies::tls_required());
                co_return count_error();
            }
            co_return on_rcpt(cmd);
        case Verb::Data:
            co_return co_await on_data(cmd);
        case Verb::Bdat:
            co_return co_await on_bdat(cmd);
        case Verb::Rset:
            reset_transaction();
            queue_reply(replies::ok());
            co_return true;
        case Verb::Noop:
            queue_reply(replies::ok());
            co_return true;
        case Verb::Quit:
            queue_reply(replies::closing(ctx_.config.hostname));
            co_return false;
        case Verb::Vrfy:
            queue_reply(replies::vrfy_disabled());
            co_return true;
        case Verb::Expn:
            queue_reply(replies::not_implemented("EXPN"));
            co_return true;
        case Verb::Help:
            queue_reply(replies::help());
            co_return true;
        case Verb::StartTls:
            co_return co_await on_starttls(cmd);
        case Verb::Auth:
            queue_reply(replies::not_implemented("AUTH"));
            co_return count_error();
    }
    co_return true;
}

void Session::on_helo(const Command& cmd, bool extended) {
    reset_transaction();
    greeted_ = true;
    esmtp_ = extended;
    client_.helo = cmd.argument;
    if (!extended) {
        queue_reply(make_reply(250, "", ctx_.config.hostname));
        return;
    }
    Reply r;
    r.code = 250;
    r.lines.push_back(ctx_.config.hostname + " greets " + log_escape(cmd.argument, 64));
    r.lines.push_back("PIPELINING");
    r.lines.push_back("SIZE " + std::to_string(ctx_.config.limits.max_message_size));
    if (ctx_.tls && !client_.tls && ctx_.listener.tls != config::TlsMode::None)
        r.lines.push_back("STARTTLS");
    r.lines.push_back("ENHANCEDSTATUSCODES");
    r.lines.push_back("8BITMIME");
    r.lines.push_back("SMTPUTF8");
    r.lines.push_back("CHUNKING");
    r.lines.push_back("DSN");
    queue_reply(r);
}

bool Session::on_mail(const Command& cmd) {
    if (!greeted_) {
        queue_reply(replies::bad_sequence("send HELO or EHLO first"));
        return count_error();
    }
    if (in_mail_) {
        queue_reply(replies::bad_sequence("nested MAIL command"));
        return count_error();
    }
    if (!deliverable_address(cmd.address)) {
        queue_reply(replies::bad_address("sender address cannot be relayed"));
        return count_error();
    }
    if (!esmtp_ && (cmd.mail.size || cmd.mail.smtputf8 || cmd.mail.body != BodyType::SevenBit ||
                    !cmd.mail.ret.empty() || !cmd.mail.envid.empty())) {
        queue_reply(replies::bad_parameters("MAIL parameters need EHLO"));
        return count_error();
    }
    if (cmd.mail.size && *cmd.mail.size > ctx_.config.limits.max_message_size) {
        log::info("smtp.mail.rejected sid={} from=<{}> size={} reason=\"size over limit\"", sid_,
                  log_escape(cmd.address), *cmd.mail.size);
        queue_reply(replies::size_exceeds_limit());
        return true;
    }
    env_ = Envelope{};
    env_.queue_id = make_queue_id();
    env_.sender = cmd.address;
    env_.body = cmd.mail.body;
    env_.smtputf8 = cmd.mail.smtputf8;
    env_.ret = cmd.mail.ret;
    env_.envid = cmd.mail.envid;
    declared_size_ = cmd.mail.size.value_or(0);
    rejected_rcpts_ = 0;
    in_mail_ = true;
    log::info("smtp.mail.accepted sid={} qid={} from=<{}> size={}", sid_, env_.queue_id,
              log_escape(env_.sender), declared_size_);
    queue_reply(replies::sender_ok());
    return true;
}

bool Session::on_rcpt(const Command& cmd) {
    if (!in_mail_) {
        queue_reply(replies::bad_sequence("need MAIL before RCPT"));
        return count_error();
    }
    if (env_.recipients.size() >= ctx_.config.limits.max_recipients) {
        queue_reply(replies::too_many_recipients());
        return true;
    }
    if (!deliverable_address(cmd.address)) {
        queue_reply(replies::bad_address("recipient address cannot be relayed"));
        return count_error();
    }
    std::string address = cmd.address;
    std::string domain = domain_of(address);
    bool trusted = ctx_.config.is_trusted(client_.address);
    if (domain.empty() && iequals(address, "postmaster")) {
        // RFC 5321 4.5.1: <postmaster> without a domain must be accepted. A
        // gateway has no mailbox of its own, so it stands for the postmaster
        // of the first accepted domain; with none, it cannot be delivered.
        if (ctx_.config.accept_domains.empty()) {
            queue_reply(make_reply(550, "5.1.1", "no local postmaster here"));
            return count_error();
        }
        address = "postmaster@" + ctx_.config.accept_domains.front();
        domain = ctx_.config.accept_domains.front();
    }
    if (!ctx_.config.accepts_domain(domain) && !trusted) {
        // Not ours and not from a network allowed to relay: no open relay.
        ++rejected_rcpts_;
        log::info("smtp.rcpt.rejected sid={} qid={} to=<{}> reason=\"relay denied\"", sid_,
                  env_.queue_id, log_escape(cmd.address));
        events::Event ev;
        ev.kind = events::Kind::Rejected;
        ev.session_id = sid_;
        ev.queue_id = env_.queue_id;
        ev.sender = env_.sender;
        ev.recipients = {cmd.address};
        ev.client = client_.address;
        ev.helo = client_.helo;
        ev.reply = replies::relay_denied().summary();
        ev.reason = "relay denied";
        ctx_.events.emit(ev);
        queue_reply(replies::relay_denied());
        return count_error();
    }
    env_.recipients.push_back(Recipient{address, cmd.rcpt.orcpt, cmd.rcpt.notify});
    log::debug("smtp.rcpt.accepted sid={} qid={} to=<{}>", sid_, env_.queue_id,
               log_escape(address));
    queue_reply(replies::recipient_ok());
    return true;
}

void Session::reset_transaction() {
    abandon_message();
    in_mail_ = false;
    env_ = Envelope{};
    declared_size_ = 0;
    rejected_rcpts_ = 0;
    bdat_decoder_.reset();
    bdat_total_ = 0;
    bdat_failed_ = false;
    too_big_ = false;
    write_error_ = Result<void>{};
}

asio::awaitable<bool> Session::on_starttls(const Command& cmd) {
    if (!ctx_.tls || ctx_.listener.tls == config::TlsMode::None) {
        queue_reply(replies::not_implemented("STARTTLS"));
        co_return true;
    }
    if (client_.tls) {
        queue_reply(replies::bad_sequence("TLS already active"));
        co_return true;
    }
    co_await send_now(replies::ready_for_tls());
    if (inpos_ < inbuf_.size()) {
        // RFC 3207 section 4.2 / CVE-2011-0411: anything the client sent
        // before the handshake was sent in clear and must not be executed.
        log::warn("smtp.starttls.pipelined_discarded sid={} client={} bytes={}", sid_,
                  client_.address, inbuf_.size() - inpos_);
        inbuf_.clear();
        inpos_ = 0;
    }
    tls_stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *ctx_.tls);
    boost::system::error_code ec;
    co_await tls_stream_->async_handshake(asio::ssl::stream_base::server,
                                          asio::redirect_error(use_awaitable, ec));
    if (ec) {
        log::info("smtp.starttls.failed sid={} client={} reason=\"{}\"", sid_, client_.address,
                  log_escape(ec.message()));
        tls_stream_.reset();
        co_return false;
    }
    std::string desc = tls::describe(tls_stream_->native_handle());
    auto sp = desc.find(' ');
    client_.tls = true;
    client_.tls_version = desc.substr(0, sp);
    client_.tls_cipher = sp == std::string::npos ? "" : desc.substr(sp + 1);
    log::info("smtp.starttls.done sid={} client={} tls=\"{}\"", sid_, client_.address, desc);
    // RFC 3207 section 4.2: forget everything learnt before TLS.
    reset_transaction();
    greeted_ = false;
    esmtp_ = false;
    client_.helo.clear();
    co_return true;
}

}  // namespace gatehouse::smtp
