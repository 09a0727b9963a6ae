// Address helpers for SPF; see spf_address.hpp.
#include "auth/spf_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace gatehouse::auth {

namespace {

bool is_mapped_v4(const std::array<std::uint8_t, 16>& b) {
    for (int i = 0; i < 10; ++i) {
        if (b[i] != 0) return false;
    }
    return b[10] == 0xff && b[11] == 0xff;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text, MappedV4 mapped) {
    // inet_pton needs a terminated string; addresses are short.
    if (text.empty() || text.size() > 64) return std::nullopt;
    std::string s(text);
    IpAddress addr;
    if (s.find(':') == std::string::npos) {
        in_addr v4{};
        if (inet_pton(AF_INET, s.c_str(), &v4) != 1) return std::nullopt;
        std::memcpy(addr.bytes.data(), &v4, 4);
        return addr;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
    std::memcpy(addr.bytes.data(), &v6, 16);
    addr.family = IpFamily::V6;
    if (mapped == MappedV4::Fold && is_mapped_v4(addr.bytes)) {
        std::array<std::uint8_t, 16> v4{};
        std::memcpy(v4.data(), addr.bytes.data() + 12, 4);
        addr.bytes = v4;
        addr.family = IpFamily::V4;
    }
    return addr;
}

bool IpAddress::in_network(const IpAddress& network, int prefix) const {
    if (family != network.family) return false;
    int full = prefix / 8;
    for (int i = 0; i < full; ++i) {
        if (bytes[i] != network.bytes[i]) return false;
    }
    int rest = prefix % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string IpAddress::to_text() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == IpFamily::V4) {
        inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    } else {
        inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    }
    return buf;
}

std::string IpAddress::to_dotted() const {
    if (family == IpFamily::V4) return to_text();

    // The openspf suite expects upper-case nibbles here; RFC 7208 section
    // 7.4 shows lower case. DNS names compare case-insensitively, so only
    // explanation text can tell the difference.
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(63);
    for (std::uint8_t b : bytes) {
        if (!out.empty()) out += '.';
        out += kHex[b >> 4];
        out += '.';
        out += kHex[b & 0x0f];
    }
    return out;
}

}  // namespace gatehouse::auth
