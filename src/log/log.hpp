// Diagnostic log lines: one line per event, "area.object.outcome key=value ...",
// with sid= once a session exists and qid= once a message has a queue id
// (STYLE.md). Peer strings go through log_escape() before they get here.
// Lifecycle records for machines are separate: see events/event.hpp.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace gatehouse::log {

enum class Level { Trace, Debug, Info, Warn, Error };

// Sends lines to stderr and, when file is not empty, to that file too.
void init(const std::string& level, const std::string& file);
void set_level(const std::string& level);
bool enabled(Level level);
void write(Level level, std::string_view line);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace gatehouse::log
