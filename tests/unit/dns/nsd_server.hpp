// Test helper: a real authoritative DNS server (NLnet Labs nsd) on
// 127.0.0.1 and a free port, serving zones the test writes. It runs in the
// foreground (nsd -d) as a child of the test and is stopped by the
// destructor, with its config, zone files and state in a temp directory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace gatehouse::testing {

struct Zone {
    std::string origin;   // "example." (avoid test. and invalid.: unbound answers those itself)
    std::string records;  // zone file body after $ORIGIN/$TTL/SOA/NS, relative names allowed
};

class NsdServer {
  public:
    // Throws std::runtime_error, with nsd's log, when it does not come up.
    explicit NsdServer(const std::vector<Zone>& zones);
    ~NsdServer();

    std::uint16_t port() const { return port_; }
    std::string upstream() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    TempDir dir_{"gh-nsd"};
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace gatehouse::testing
