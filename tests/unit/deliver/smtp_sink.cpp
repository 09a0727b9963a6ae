// Test helper: smtp-sink (see smtp_sink.hpp).
#include "smtp_sink.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace gatehouse::testing {

namespace {

constexpr const char* kSmtpSink = "/usr/sbin/smtp-sink";
constexpr int kStartTimeoutMs = 5000;

}  // namespace

SmtpSink::SmtpSink() {
    port_ = free_port();
    std::vector<std::string> argv{kSmtpSink};
    // smtp-sink refuses to run as root unless told which user to be.
    if (geteuid() == 0) argv.insert(argv.end(), {"-u", "root"});
    argv.insert(argv.end(),
                {"-d", dir_.path() + "/msg.", "127.0.0.1:" + std::to_string(port_), "10"});
    process_ = std::make_unique<ChildProcess>(argv, dir_.path() + "/sink.log");
    if (!wait_for_tcp(port_, kStartTimeoutMs)) {
        std::string why = process_->log();
        process_.reset();
        throw std::runtime_error("smtp-sink did not start: " + why);
    }
}

SmtpSink::~SmtpSink() {
    process_.reset();
}

std::vector<std::string> SmtpSink::dumps() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
        if (entry.path().filename().string().starts_with("msg.")) names.push_back(entry.path());
    std::sort(names.begin(), names.end());
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(read_text_file(n));
    return out;
}

bool SmtpSink::wait_for_dumps(std::size_t count, int timeout_ms) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (dumps().size() >= count) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

std::string dump_body(const std::string& dump) {
    std::size_t pos = dump.find("\nReceived: ");
    if (pos == std::string::npos) return {};
    for (int i = 0; i < 3 && pos != std::string::npos; ++i) pos = dump.find('\n', pos + 1);
    if (pos == std::string::npos) return {};
    std::string body = dump.substr(pos + 1);
    if (body.ends_with("\n\n")) body.pop_back();
    return body;
}

}  // namespace gatehouse::testing
