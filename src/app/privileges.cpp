#include "app/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "log/log.hpp"

namespace gatehouse::app {

namespace {

std::runtime_error failure(const std::string& what) {
    return std::runtime_error("drop privileges: " + what + ": " + std::strerror(errno));
}

}  // namespace

void drop_privileges(const std::string& user, const std::string& data_dir) {
    errno = 0;
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) throw std::runtime_error("drop privileges: no such user \"" + user + "\"");
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;

    // The spool, logs and keys stay readable and writable after the switch.
    std::error_code ec;
    if (::lchown(data_dir.c_str(), uid, gid) != 0) throw failure("chown " + data_dir);
    for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (::lchown(it->path().c_str(), uid, gid) != 0)
            throw failure("chown " + it->path().string());
    }
    if (ec) throw std::runtime_error("drop privileges: walk " + data_dir + ": " + ec.message());

    if (::setgroups(0, nullptr) != 0) throw failure("setgroups");
    if (::setgid(gid) != 0) throw failure("setgid");
    if (::setuid(uid) != 0) throw failure("setuid");
    // Must be irreversible.
    if (uid != 0 && ::setuid(0) == 0)
        throw std::runtime_error("drop privileges: could regain root");
    if (::access(data_dir.c_str(), R_OK | W_OK | X_OK) != 0)
        throw failure(data_dir + " is not usable by " + user +
                      " (check the permissions of its parent directories)");
    log::info("gatehouse.privileges.dropped user={} uid={} gid={}", user, uid, gid);
}

}  // namespace gatehouse::app
