// Dot-stuffing and line-end repair for DATA (see dot_stuffer.hpp).
#include "deliver/dot_stuffer.hpp"

namespace gatehouse::deliver {

void DotStuffer::feed(std::string_view chunk, std::string& out) {
    out.reserve(out.size() + chunk.size() + chunk.size() / 64 + 4);
    for (char c : chunk) {
        if (pending_cr_) {
            pending_cr_ = false;
            out += "\r\n";
            line_start_ = true;
            if (c == '\n') continue;
            ++bare_line_ends_;  // a CR without its LF
        }
        if (c == '\r') {
            pending_cr_ = true;
            continue;
        }
        if (c == '\n') {
            ++bare_line_ends_;  // an LF without its CR
            out += "\r\n";
            line_start_ = true;
            continue;
        }
        if (line_start_ && c == '.') out += '.';
        out += c;
        line_start_ = false;
    }
}

void DotStuffer::finish(std::string& out) {
    if (pending_cr_) {
        pending_cr_ = false;
        ++bare_line_ends_;
        out += "\r\n";
        line_start_ = true;
    }
    if (!line_start_) out += "\r\n";
    out += ".\r\n";
    line_start_ = true;
}

}  // namespace gatehouse::deliver
