// The admin API key: a shared secret in data_dir/admin.key that `gatehouse
// serve` creates on first start and `gatehouse queue ...` (and any other
// admin client on the same machine) reads to authenticate itself.
//
// Trust: the file is local state owned by the server's user; its content is
// not parsed beyond trimming whitespace. Mode 0600 keeps it from other users.
#pragma once

#include <string>

#include "base/result.hpp"

namespace gatehouse::http {

// Path of the key file inside data_dir.
std::string api_key_path(const std::string& data_dir);

// Returns the key in data_dir/admin.key, creating the directory and the file
// (32 random bytes as 64 hex digits, mode 0600) when it does not exist yet.
// Throws std::runtime_error naming the file on failure.
std::string load_or_create_api_key(const std::string& data_dir);

// Reads an existing key without ever creating one (for clients: a key the
// server does not know would be useless). The error names the file.
Result<std::string> read_api_key(const std::string& data_dir);

}  // namespace gatehouse::http
