#include "log/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace gatehouse::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
    static std::shared_ptr<spdlog::logger> l = [] {
        auto lg = std::make_shared<spdlog::logger>(
            "gatehouse", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        lg->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
        lg->set_level(spdlog::level::info);
        return lg;
    }();
    return l;
}

std::atomic<int> g_level{static_cast<int>(Level::Info)};

spdlog::level::level_enum to_spd(Level l) {
    switch (l) {
        case Level::Trace:
            return spdlog::level::trace;
        case Level::Debug:
            return spdlog::level::debug;
        case Level::Info:
            return spdlog::level::info;
        case Level::Warn:
            return spdlog::level::warn;
        case Level::Error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

Level parse(const std::string& s) {
    if (s == "trace") return Level::Trace;
    if (s == "debug") return Level::Debug;
    if (s == "warn") return Level::Warn;
    if (s == "error") return Level::Error;
    return Level::Info;
}

}  // namespace

void init(const std::string& level, const std::string& file) {
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
    if (!file.empty()) sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
    auto lg = std::make_shared<spdlog::logger>("gatehouse", sinks.begin(), sinks.end());
    lg->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    lg->flush_on(spdlog::level::info);
    logger() = lg;
    set_level(level);
}

void set_level(const std::string& level) {
    Level l = parse(level);
    g_level = static_cast<int>(l);
    logger()->set_level(to_spd(l));
}

bool enabled(Level level) {
    return static_cast<int>(level) >= g_level.load();
}

void write(Level level, std::string_view line) {
    logger()->log(to_spd(level), "{}", line);
}

}  // namespace gatehouse::log
