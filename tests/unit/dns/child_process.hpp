// Test helper: runs a real peer program (nsd, smtp-sink) as a child process
// and stops it again, and finds free loopback ports for it. Used by the dns
// and deliver tests; the child's stdout and stderr go to a log file so a
// failing test can show what the peer said.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse::testing {

// A port on 127.0.0.1 that was free for both TCP and UDP a moment ago.
std::uint16_t free_port();

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string read_text_file(const std::string& path);
void write_text_file(const std::string& path, const std::string& text);

class ChildProcess {
  public:
    // Starts argv[0] (an absolute path) with its output in log_path.
    // Throws std::runtime_error when the program cannot be started.
    ChildProcess(std::vector<std::string> argv, std::string log_path);
    // SIGTERM, then SIGKILL after a bounded wait.
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool running();
    void stop();
    std::string log() const;

  private:
    pid_t pid_ = -1;
    std::string log_path_;
};

// Tries to connect over TCP to 127.0.0.1:port until it works or about
// timeout_ms have passed.
bool wait_for_tcp(std::uint16_t port, int timeout_ms);

}  // namespace gatehouse::testing
