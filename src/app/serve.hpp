// `gatehouse serve`: builds the configuration snapshot from the file and the
// everyday flags, wires every stage of the path and runs until SIGTERM or
// SIGINT. Also `gatehouse check-config`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace gatehouse::app {

struct ServeOptions {
    std::string config_file;  // empty: embedded defaults
    std::string listen;       // --listen ADDR:PORT
    std::string relay;        // --relay HOST:PORT
    std::vector<std::string> accept_domains;
    std::string data_dir;  // --data DIR
    std::string admin;     // --admin ADDR:PORT | off
    std::string log_level;
};

// Throws config::ConfigError (flags are reported under their flag name).
config::Config build_config(const ServeOptions& options);

// Runs the server; returns the process exit code.
int serve(const ServeOptions& options);

// Prints "config: OK ..." or the one-line error; returns the exit code.
int check_config(const std::string& path);

}  // namespace gatehouse::app
