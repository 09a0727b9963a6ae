// Client and network addresses for SPF: parsing, IPv4-mapped folding, CIDR
// matching and the dot-format used by the %{i} macro and PTR owner names.
//
// Callers: spf.cpp (ip4/ip6/a/mx/ptr matching), spf_record.cpp (ip4/ip6
// mechanism arguments), spf_macro.cpp (%{i}, %{c}, %{v}).
// Standards: RFC 7208 sections 5.6 and 7.3, RFC 4291 section 2.5.5.2.
// Trust: input is text from the session or from DNS; anything that is not a
// strict address is rejected.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::auth {

enum class IpFamily { V4, V6 };

struct IpAddress {
    IpFamily family = IpFamily::V4;
    // IPv4 uses the first 4 bytes.
    std::array<std::uint8_t, 16> bytes{};

    // Parses dotted-quad IPv4 or IPv6 text. With MappedV4::Fold an
    // IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4, as RFC 7208
    // section 5 requires for the client address.
    enum class MappedV4 { Keep, Fold };
    static std::optional<IpAddress> parse(std::string_view text, MappedV4 mapped);

    // True when the first `prefix` bits equal those of `network` (same family).
    bool in_network(const IpAddress& network, int prefix) const;

    // Canonical text: dotted quad, or RFC 5952 lowercase IPv6.
    std::string to_text() const;

    // %{i}: dotted quad, or 32 dot-separated hex nibbles for IPv6.
    std::string to_dotted() const;
};

}  // namespace gatehouse::auth
