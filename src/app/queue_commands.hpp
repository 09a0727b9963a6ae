// `gatehouse queue list|show|flush|delete|hold|release`: the operator's view
// of the mail queue of a running server, through its admin HTTP API.
//
// Called by the main program while it builds its CLI11 tree. Each
// subcommand runs in its CLI11 callback and ends a failed run by throwing
// CLI::RuntimeError with the exit code (1 error, 2 usage) after printing
// one line "gatehouse: ..." to the error stream; CLI11_PARSE or
// `catch (const CLI::ParseError& e) { return app.exit(e); }` turns that into
// the process's exit code without printing anything more.
#pragma once

#include <iosfwd>

namespace CLI {
class App;
}

namespace gatehouse::app {

void add_queue_commands(CLI::App& root);

// The same, printing to out and err instead of std::cout and std::cerr.
void add_queue_commands(CLI::App& root, std::ostream& out, std::ostream& err);

}  // namespace gatehouse::app
