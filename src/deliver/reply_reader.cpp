// SMTP reply reader (see reply_reader.hpp).
#include "deliver/reply_reader.hpp"

namespace gatehouse::deliver {

namespace {

constexpr std::size_t kMaxSummaryBytes = 512;

bool digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) c = '?';
    }
    return out;
}

std::string ServerReply::summary() const {
    std::string out = std::to_string(code);
    for (const auto& line : lines) {
        if (line.empty()) continue;
        out += ' ';
        out += line;
        if (out.size() > kMaxSummaryBytes) {
            out.resize(kMaxSummaryBytes);
            out += "...";
            break;
        }
    }
    return out;
}

void ReplyReader::append(std::string_view bytes) {
    // Drop what was consumed before growing, so a long session does not
    // keep every reply it ever read.
    if (pos_ > 0 && pos_ == buffer_.size()) {
        buffer_.clear();
        pos_ = 0;
    } else if (pos_ > kMaxLineBytes) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    buffer_.append(bytes);
}

void ReplyReader::clear() {
    buffer_.clear();
    pos_ = 0;
    partial_ = ServerReply{};
}

std::optional<Result<ServerReply>> ReplyReader::next() {
    while (true) {
        std::size_t lf = buffer_.find('\n', pos_);
        if (lf == std::string::npos) {
            if (buffer_.size() - pos_ > kMaxLineBytes + 2)  // room for the CRLF
                return Result<ServerReply>(Error::permanent("reply line too long"));
            return std::nullopt;
        }
        std::string_view line(buffer_.data() + pos_, lf - pos_);
        pos_ = lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > kMaxLineBytes)
            return Result<ServerReply>(Error::permanent("reply line too long"));

        // "ddd", "ddd text", "ddd-text"; the first digit 2..5 (RFC 5321 4.2).
        if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) ||
            line[0] < '2' || line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
            return Result<ServerReply>(
                Error::permanent("malformed reply line: " + printable(line.substr(0, 40))));
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (!partial_.lines.empty() && code != partial_.code)
            return Result<ServerReply>(Error::permanent("reply code changed within a reply"));
        if (partial_.lines.size() >= kMaxLines)
            return Result<ServerReply>(Error::permanent("reply has too many lines"));

        partial_.code = code;
        partial_.lines.push_back(printable(line.size() > 4 ? line.substr(4) : std::string_view()));
        bool last = line.size() == 3 || line[3] == ' ';
        if (last) {
            ServerReply done = std::move(partial_);
            partial_ = ServerReply{};
            return Result<ServerReply>(std::move(done));
        }
    }
}

}  // namespace gatehouse::deliver
