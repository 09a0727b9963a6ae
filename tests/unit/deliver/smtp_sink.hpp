// Test helper: Postfix's smtp-sink on 127.0.0.1 and a free port, dumping
// every message it receives to a file in a temp directory, so a test can
// compare the bytes that arrived with the bytes it sent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace gatehouse::testing {

class SmtpSink {
  public:
    // Throws std::runtime_error when smtp-sink does not come up.
    SmtpSink();
    ~SmtpSink();

    std::uint16_t port() const { return port_; }
    // The dump files' contents. smtp-sink writes its own X-* and Received
    // header lines first and stores lines with LF endings, unstuffed.
    std::vector<std::string> dumps() const;
    // Waits up to timeout_ms for at least count dump files.
    bool wait_for_dumps(std::size_t count, int timeout_ms) const;

  private:
    TempDir dir_{"gh-sink"};
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

// The message part of a dump: after smtp-sink's three-line Received header,
// without the empty line it appends.
std::string dump_body(const std::string& dump);

}  // namespace gatehouse::testing
