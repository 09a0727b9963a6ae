// Asynchronous DNS for delivery (MX, A, AAAA), on libunbound.
//
// The upstream is configurable (config `dns.resolver`, "host:port"): unbound
// then forwards every query there, which is how tests point Gatehouse at a
// real DNS server on loopback. With no upstream it reads /etc/resolv.conf.
// Queries run through ub_resolve_async; the context's file descriptor is
// watched by the io_context, so no thread blocks on DNS.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gatehouse::dns {

enum class Status {
    Ok,        // records found
    NxDomain,  // the name does not exist (permanent)
    NoData,    // the name exists but has no record of this type
    TempFail,  // SERVFAIL, timeout, network error: try again later
};

struct MxRecord {
    std::uint16_t preference = 0;
    std::string host;  // lowercased, without trailing dot
};

struct MxAnswer {
    Status status = Status::TempFail;
    std::vector<MxRecord> records;  // sorted by preference, random order within one
    std::string error;              // why, when status != Ok
};

struct AddressAnswer {
    Status status = Status::TempFail;
    std::vector<std::string> addresses;  // textual IPv4 first, then IPv6
    std::string error;
};

class Resolver {
  public:
    // upstream: "127.0.0.1:5353" or "" for the system resolver. Throws
    // std::runtime_error when unbound cannot be set up with it.
    Resolver(boost::asio::any_io_executor executor, const std::string& upstream);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    boost::asio::awaitable<MxAnswer> mx(std::string domain);
    boost::asio::awaitable<AddressAnswer> addresses(std::string host);

    // Stops watching the descriptor; pending queries complete with TempFail.
    void shutdown();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace gatehouse::dns
