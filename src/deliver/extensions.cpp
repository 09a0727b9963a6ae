// EHLO keyword parsing (see extensions.hpp).
#include "deliver/extensions.hpp"

#include <limits>
#include <string_view>

#include "base/text.hpp"

namespace gatehouse::deliver {

namespace {

std::uint64_t parse_size_limit(std::string_view text) {
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return 0;
        auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return 0;
        value = value * 10 + digit;
    }
    return value;
}

}  // namespace

Extensions parse_ehlo(const ServerReply& reply) {
    Extensions ext;
    // The first line is the server's name and greeting, not a keyword.
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::string_view line = trim(reply.lines[i]);
        std::string_view keyword = line.substr(0, line.find(' '));
        std::string_view param =
            keyword.size() < line.size() ? trim(line.substr(keyword.size())) : std::string_view();
        if (iequals(keyword, "STARTTLS")) {
            ext.starttls = true;
        } else if (iequals(keyword, "PIPELINING")) {
            ext.pipelining = true;
        } else if (iequals(keyword, "8BITMIME")) {
            ext.eight_bit_mime = true;
        } else if (iequals(keyword, "SMTPUTF8")) {
            ext.smtputf8 = true;
        } else if (iequals(keyword, "DSN")) {
            ext.dsn = true;
        } else if (iequals(keyword, "SIZE")) {
            ext.size = true;
            ext.size_limit = parse_size_limit(param);
        }
    }
    return ext;
}

}  // namespace gatehouse::deliver
