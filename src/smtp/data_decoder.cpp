// Decoder of message content as it arrives after DATA or BDAT: finds the end
// of dot-terminated data, undoes dot-stuffing, and turns every line end into
// CRLF. Called by the SMTP session with whatever the socket delivered, in
// chunks cut at arbitrary byte boundaries.
//
// Standards: RFC 5321 sections 2.3.8 (CRLF is the only line end), 4.1.1.4
// (end of data) and 4.5.2 (transparency); RFC 3030 (BDAT chunks).
//
// SECURITY: every byte is untrusted and the framing decision is the SMTP
// smuggling boundary. The state machine below is the only place that decides
// where a line starts: only a CR immediately followed by LF does, whether the
// two arrive in one feed() or in two. A bare LF or bare CR is content (counted
// and, in Normalize mode, stored as CRLF), so no variant of "\n.\n" can end
// the data. Nothing is buffered between calls except the state, so memory use
// does not depend on line length, and output grows by at most twice the input.
#include "smtp/data_decoder.hpp"

namespace gatehouse::smtp {

namespace {

// Position of the first CR or LF at or after `from`, or in.size().
std::size_t find_line_end(std::string_view in, std::size_t from) {
    for (std::size_t i = from; i < in.size(); ++i)
        if (in[i] == '\r' || in[i] == '\n') return i;
    return in.size();
}

}  // namespace

DataDecoder::DataDecoder(Framing framing, config::BareNewline mode)
    : framing_(framing), mode_(mode) {
    // Length-framed content has no dot handling, so it never needs to know
    // that a line has started.
    if (framing_ == Framing::Length) state_ = State::Middle;
}

std::size_t DataDecoder::feed(std::string_view in, std::string& out) {
    if (done_) return 0;
    const std::size_t before = out.size();
    std::size_t i = 0;
    while (i < in.size() && !done_) i = step(in, i, out);
    decoded_bytes_ += out.size() - before;
    return i;
}

void DataDecoder::finish(std::string& out) {
    // Dot framing cannot end mid-line: without the terminator the content is
    // incomplete and the caller throws it away.
    if (framing_ != Framing::Length || state_ != State::SawCr) return;
    const std::size_t before = out.size();
    emit_bare_line_end('\r', out);
    state_ = State::Middle;
    decoded_bytes_ += out.size() - before;
}

// Consumes one or more bytes of `in` from position i; returns the next
// position. A state that only decides how to treat a byte may return i
// unchanged after moving to State::Middle, which then consumes it.
std::size_t DataDecoder::step(std::string_view in, std::size_t i, std::string& out) {
    const char c = in[i];
    switch (state_) {
        case State::Middle: {
            // Fast path: copy everything up to the next CR or LF in one go.
            const std::size_t end = find_line_end(in, i);
            out.append(in.data() + i, end - i);
            if (end == in.size()) return end;
            if (in[end] == '\r') {
                state_ = State::SawCr;
            } else {
                emit_bare_line_end('\n', out);
            }
            return end + 1;
        }
        case State::LineStart:
            if (c == '.') {
                state_ = State::DotAtLineStart;
                return i + 1;
            }
            state_ = State::Middle;
            return i;
        case State::SawCr:
            if (c == '\n') {
                out += "\r\n";
                state_ = framing_ == Framing::Dot ? State::LineStart : State::Middle;
                return i + 1;
            }
            emit_bare_line_end('\r', out);
            state_ = State::Middle;
            return i;
        case State::DotAtLineStart:
            return after_leading_dot(c, i);
        case State::DotSawCr:
            return after_dot_cr(c, i, out);
    }
    return i + 1;  // unreachable: every state is handled above
}

// A line began with '.': either the terminator is starting, or the dot was
// stuffing and is dropped (RFC 5321 section 4.5.2).
std::size_t DataDecoder::after_leading_dot(char c, std::size_t i) {
    if (c == '\r') {
        state_ = State::DotSawCr;
        return i + 1;
    }
    state_ = State::Middle;
    return i;
}

// A line began with ".\r": LF completes <CRLF>.<CRLF>; anything else makes
// the CR a bare one, and the dot counts as stuffing.
std::size_t DataDecoder::after_dot_cr(char c, std::size_t i, std::string& out) {
    if (c == '\n') {
        done_ = true;
        return i + 1;
    }
    emit_bare_line_end('\r', out);
    state_ = State::Middle;
    return i;
}

void DataDecoder::emit_bare_line_end(char c, std::string& out) {
    ++bare_newlines_;
    if (mode_ == config::BareNewline::Normalize) {
        out += "\r\n";
    } else {
        out += c;
    }
}

}  // namespace gatehouse::smtp
