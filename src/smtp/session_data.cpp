// SMTP session, content phase: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030).
// Content is decoded by DataDecoder (the smuggling defence lives there) and
// streamed into the Intake's writer; the reply comes from Intake::finish().
#include <boost/asio/use_awaitable.hpp>

#include "base/text.hpp"
#include "base/time.hpp"
#include "events/event.hpp"
#include "log/log.hpp"
#include "smtp/session.hpp"

namespace gatehouse::smtp {

namespace asio = boost::asio;

namespace {

// Header-safe copy of a peer string: printable ASCII only, capped.
std::string header_safe(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= 255) break;
        unsigned char u = static_cast<unsigned char>(c);
        out += (u >= 0x21 && u < 0x7f && c != '(' && c != ')') ? c : '_';
    }
    return out;
}

}  // namespace

std::string Session::received_header() const {
    // RFC 5321 4.4 trace field; protocol names from RFC 3848 / RFC 6531.
    std::string proto = env_.smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
    if (client_.tls) proto += "S";
    std::string h = "Received: from " +
                    header_safe(client_.helo.empty() ? "unknown" : client_.helo) + " ([" +
                    client_.address + "])\r\n\tby " + ctx_.config.hostname + " (Gatehouse)";
    if (client_.tls)
        h += " (using " + client_.tls_version + " with cipher " + client_.tls_cipher + ")";
    h += " with " + proto + " id " + env_.queue_id;
    if (env_.recipients.size() == 1)
        h += "\r\n\tfor <" + header_safe(env_.recipients[0].address) + ">";
    h += "; " + rfc5322_date(env_.arrival_ms) + "\r\n";
    return h;
}

bool Session::open_message() {
    env_.client = client_;
    env_.arrival_ms = now_ms();
    auto w = ctx_.intake.open(env_);
    if (!w) {
        log::error("smtp.data.spool_failed sid={} qid={} reason=\"{}\"", sid_, env_.queue_id,
                   log_escape(w.error().message));
        return false;
    }
    writer_ = std::move(w.value());
    write_error_ = writer_->write(received_header());
    return true;
}

void Session::abandon_message() {
    if (writer_) ctx_.intake.abandon(std::move(writer_));
    writer_.reset();
}

asio::awaitable<bool> Session::on_data(const Command&) {
    if (!in_mail_) {
        queue_reply(replies::bad_sequence("need MAIL before DATA"));
        co_return count_error();
    }
    if (env_.recipients.empty()) {
        queue_reply(rejected_rcpts_ ? replies::no_valid_recipients()
                                    : replies::bad_sequence("need RCPT before DATA"));
        co_return count_error();
    }
    if (bdat_decoder_) {
        queue_reply(replies::bad_sequence("DATA after BDAT"));
        co_return count_error();
    }
    if (inpos_ < inbuf_.size())
        log::info("smtp.pipelining.improper sid={} qid={} bytes={} reason=\"data before 354\"",
                  sid_, env_.queue_id, inbuf_.size() - inpos_);
    if (!open_message()) {
        queue_reply(replies::storage_error());
        co_return true;
    }
    co_await send_now(replies::start_data());

    DataDecoder decoder(DataDecoder::Framing::Dot, ctx_.config.bare_newline);
    std::string out;
    const std::uint64_t limit = ctx_.config.limits.max_message_size;
    touch(ctx_.config.limits.data_timeout);
    for (;;) {
        if (inpos_ < inbuf_.size()) {
            std::string_view in(inbuf_.data() + inpos_, inbuf_.size() - inpos_);
            inpos_ += decoder.feed(in, out);
            if (!too_big_ && decoder.decoded_bytes() > limit) {
                too_big_ = true;
                abandon_message();
            }
            if (writer_ && write_error_.ok() && !out.empty()) write_error_ = writer_->write(out);
            out.clear();
            if (decoder.done()) break;
        }
        if (co_await read_more() == 0) {
            log::info("smtp.data.aborted sid={} qid={} reason=\"connection lost in DATA\"", sid_,
                      env_.queue_id);
            co_return false;
        }
        touch(ctx_.config.limits.data_timeout);
    }
    co_await finish_message(decoder);
    co_return true;
}

asio::awaitable<bool> Session::on_bdat(const Command& cmd) {
    // RFC 3030: the chunk is read whatever the answer will be, or the
    // session would lose sync and execute message bytes as commands.
    bool usable = in_mail_ && !env_.recipients.empty() && !bdat_failed_;
    if (usable && !bdat_decoder_) {
        if (open_message())
            bdat_decoder_ = std::make_unique<DataDecoder>(DataDecoder::Framing::Length,
                                                          ctx_.config.bare_newline);
        else
            bdat_failed_ = true;
    }
    std::uint64_t remaining = cmd.bdat_size;
    std::string out;
    const std::uint64_t limit = ctx_.config.limits.max_message_size;
    touch(ctx_.config.limits.data_timeout);
    while (remaining > 0) {
        if (inpos_ == inbuf_.size()) {
            if (co_await read_more() == 0) co_return false;
            touch(ctx_.config.limits.data_timeout);
        }
        std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, inbuf_.size() - inpos_));
        if (usable && bdat_decoder_ && !too_big_) {
            bdat_decoder_->feed(std::string_view(inbuf_.data() + inpos_, take), out);
            if (bdat_decoder_->decoded_bytes() > limit) {
                too_big_ = true;
                abandon_message();
            }
            if (writer_ && write_error_.ok() && !out.empty()) write_error_ = writer_->write(out);
            out.clear();
        }
        inpos_ += take;
        remaining -= take;
    }
    if (!in_mail_) {
        queue_reply(replies::bad_sequence("need MAIL before BDAT"));
        co_return count_error();
    }
    if (env_.recipients.empty()) {
        queue_reply(rejected_rcpts_ ? replies::no_valid_recipients()
                                    : replies::bad_sequence("need RCPT before BDAT"));
        co_return count_error();
    }
    if (bdat_failed_ && !too_big_) {
        if (cmd.bdat_last) reset_transaction();
        queue_reply(replies::storage_error());
        co_return true;
    }
    bdat_total_ += cmd.bdat_size;
    if (!cmd.bdat_last) {
        queue_reply(make_reply(250, "2.0.0", std::to_string(cmd.bdat_size) + " octets received"));
        co_return true;
    }
    if (bdat_decoder_) {
        bdat_decoder_->finish(out);
        if (writer_ && write_error_.ok() && !out.empty()) write_error_ = writer_->write(out);
    }
    DataDecoder done_decoder =
        bdat_decoder_ ? *bdat_decoder_
                      : DataDecoder(DataDecoder::Framing::Length, ctx_.config.bare_newline);
    co_await finish_message(done_decoder);
    co_return true;
}

asio::awaitable<void> Session::finish_message(const DataDecoder& decoder) {
    auto reject = [&](const Reply& reply, std::string reason) {
        abandon_message();
        log::info("smtp.data.rejected sid={} qid={} size={} reason=\"{}\" reply=\"{}\"", sid_,
                  env_.queue_id, decoder.decoded_bytes(), reason, reply.summary());
        events::Event ev;
        ev.kind = events::Kind::Rejected;
        ev.session_id = sid_;
        ev.queue_id = env_.queue_id;
        ev.sender = env_.sender;
        for (const auto& r : env_.recipients) ev.recipients.push_back(r.address);
        ev.client = client_.address;
        ev.helo = client_.helo;
        ev.size = decoder.decoded_bytes();
        ev.reply = reply.summary();
        ev.reason = std::move(reason);
        ctx_.events.emit(ev);
        queue_reply(reply);
    };

    if (too_big_) {
        reject(replies::message_too_big(), "message over size limit");
    } else if (ctx_.config.bare_newline == config::BareNewline::Reject &&
               decoder.bare_newlines() > 0) {
        reject(replies::bare_newline(), "bare CR or LF in content");
    } else if (!writer_ || !write_error_.ok()) {
        reject(replies::local_error(),
               write_error_.ok() ? "no spool file" : write_error_.error().message);
    } else {
        if (decoder.bare_newlines() > 0)
            log::info("smtp.data.normalized sid={} qid={} bare_newlines={}", sid_, env_.queue_id,
                      decoder.bare_newlines());
        auto result = co_await ctx_.intake.finish(std::move(writer_), env_);
        writer_.reset();
        if (result.reply.positive()) ++messages_;
        log::info("smtp.data.done sid={} qid={} size={} nrcpt={} reply=\"{}\"", sid_, env_.queue_id,
                  decoder.decoded_bytes(), env_.recipients.size(), result.reply.summary());
        queue_reply(result.reply);
    }
    reset_transaction();
}

}  // namespace gatehouse::smtp
