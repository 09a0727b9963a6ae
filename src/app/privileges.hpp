// Dropping root after the listeners are bound (DESIGN.md "Process and
// threads"): the data directory is handed to the configured user, then the
// process switches group and user for good. Called once by `serve`.
#pragma once

#include <string>

namespace gatehouse::app {

// Throws std::runtime_error with the reason when any step fails; a server
// that meant to drop root must not go on as root.
void drop_privileges(const std::string& user, const std::string& data_dir);

}  // namespace gatehouse::app
