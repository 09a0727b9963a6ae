// Creation and reading of the admin API key file (see api_key.hpp).
//
// The file is written to a mode-0600 temporary name, fsynced and then
// hard-linked to its final name: link() never replaces an existing file, so
// two processes starting at once agree on one key, and a crash never leaves
// a half-written key behind.
//
// Trust: local file, owned by the server's user; no network input.
#include "http/api_key.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "base/text.hpp"
#include "log/log.hpp"

namespace gatehouse::http {
namespace {

constexpr std::size_t kKeyBytes = 32;

std::string errno_text(int err) {
    return to_lower(std::strerror(err));
}

std::string random_hex_key() {
    unsigned char bytes[kKeyBytes];
    std::size_t filled = 0;
    while (filled < sizeof bytes) {
        ssize_t n = getrandom(bytes + filled, sizeof bytes - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("http: cannot get random bytes: " + errno_text(errno));
        filled += static_cast<std::size_t>(n);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string key;
    for (unsigned char b : bytes) {
        key += kHex[b >> 4];
        key += kHex[b & 15];
    }
    return key;
}

// Writes the key beside path and links it into place; false when another
// process created path first.
bool create_key_file(const std::string& path, const std::string& key) {
    std::string tmp = path + ".tmp.XXXXXX";
    int fd = mkstemp(tmp.data());  // mode 0600
    if (fd < 0) throw std::runtime_error("http: cannot create " + tmp + ": " + errno_text(errno));
    std::string line = key + "\n";
    bool written =
        write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
    int err = errno;
    close(fd);
    if (!written) {
        unlink(tmp.c_str());
        throw std::runtime_error("http: cannot write " + tmp + ": " + errno_text(err));
    }
    int rc = link(tmp.c_str(), path.c_str());
    err = errno;
    unlink(tmp.c_str());
    if (rc == 0) return true;
    if (err == EEXIST) return false;
    throw std::runtime_error("http: cannot create " + path + ": " + errno_text(err));
}

}  // namespace

std::string api_key_path(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "admin.key").string();
}

Result<std::string> read_api_key(const std::string& data_dir) {
    std::string path = api_key_path(data_dir);
    std::ifstream in(path);
    if (!in)
        return Error::permanent("cannot read the admin key " + path + " (" + errno_text(errno) +
                                ")");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string key(trim(ss.str()));
    if (key.empty()) return Error::permanent("the admin key file " + path + " is empty");
    if (key.find_first_of(" \t\r\n") != std::string::npos) {
        return Error::permanent("the admin key file " + path + " holds more than one word");
    }
    return key;
}

std::string load_or_create_api_key(const std::string& data_dir) {
    std::string path = api_key_path(data_dir);
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) throw std::runtime_error("http: cannot create " + data_dir + ": " + ec.message());

    if (!std::filesystem::exists(path) && create_key_file(path, random_hex_key())) {
        log::info("http.api_key.created path={}", path);
    }

    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        log::warn("http.api_key.exposed path={} mode={:o} reason=readable by other users", path,
                  st.st_mode & 0777);
    }
    auto key = read_api_key(data_dir);
    if (!key) throw std::runtime_error("http: " + key.error().message);
    return std::move(key).value();
}

}  // namespace gatehouse::http
