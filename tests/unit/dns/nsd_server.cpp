// Test helper: nsd on loopback (see nsd_server.hpp).
//
// nsd 4.6 wants to drop privileges, chroot, keep a zone database and write
// a pid file under /var by default; the generated config turns each of those
// off or points it into the temp directory so the test needs no setup.
#include "nsd_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace gatehouse::testing {

namespace {

constexpr const char* kNsd = "/usr/sbin/nsd";
constexpr int kStartPolls = 100;  // 100 x 50 ms of SOA queries before giving up

std::string config_text(const std::string& dir, std::uint16_t port,
                        const std::vector<Zone>& zones) {
    std::string text = fmt::format(
        "server:\n"
        "    ip-address: 127.0.0.1\n"
        "    port: {1}\n"
        "    do-ip6: no\n"
        "    username: \"\"\n"
        "    chroot: \"\"\n"
        "    server-count: 1\n"
        "    verbosity: 1\n"
        "    zonesdir: \"{0}\"\n"
        "    pidfile: \"{0}/nsd.pid\"\n"
        "    xfrdfile: \"{0}/xfrd.state\"\n"
        "    xfrdir: \"{0}\"\n"
        "    zonelistfile: \"{0}/zone.list\"\n"
        "    database: \"\"\n"
        "    logfile: \"{0}/nsd.log\"\n"
        "remote-control:\n"
        "    control-enable: no\n",
        dir, port);
    for (std::size_t i = 0; i < zones.size(); ++i)
        text += fmt::format("zone:\n    name: \"{}\"\n    zonefile: \"zone{}.txt\"\n",
                            zones[i].origin, i);
    return text;
}

std::string zone_text(const Zone& zone) {
    return fmt::format(
        "$ORIGIN {0}\n$TTL 300\n"
        "@ IN SOA ns.{0} hostmaster.{0} 1 3600 600 86400 300\n"
        "@ IN NS ns.{0}\n"
        "{1}\n",
        zone.origin, zone.records);
}

// Sends "ORIGIN SOA?" over UDP and waits briefly for any answer.
bool answers_soa(std::uint16_t port, const std::string& origin) {
    std::string packet("\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    std::size_t start = 0;
    while (start < origin.size()) {
        std::size_t dot = origin.find('.', start);
        if (dot == std::string::npos) dot = origin.size();
        packet += static_cast<char>(dot - start);
        packet += origin.substr(start, dot - start);
        start = dot + 1;
    }
    packet += std::string("\x00\x00\x06\x00\x01", 5);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) >
        0) {
        pollfd p{fd, POLLIN, 0};
        char reply[512];
        ok = poll(&p, 1, 50) == 1 && recv(fd, reply, sizeof reply, 0) >= 12 && reply[0] == 0x12;
    }
    close(fd);
    return ok;
}

}  // namespace

NsdServer::NsdServer(const std::vector<Zone>& zones) {
    port_ = free_port();
    std::string conf = dir_.path() + "/nsd.conf";
    write_text_file(conf, config_text(dir_.path(), port_, zones));
    for (std::size_t i = 0; i < zones.size(); ++i)
        write_text_file(dir_.path() + "/zone" + std::to_string(i) + ".txt", zone_text(zones[i]));

    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{kNsd, "-d", "-c", conf},
                                              dir_.path() + "/stdout.log");
    std::string probe = zones.empty() ? std::string(".") : zones.front().origin;
    for (int i = 0; i < kStartPolls; ++i) {
        if (answers_soa(port_, probe)) return;
        if (!process_->running()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::string why = process_->log() + read_text_file(dir_.path() + "/nsd.log");
    process_.reset();
    throw std::runtime_error("nsd did not start: " + why);
}

NsdServer::~NsdServer() {
    process_.reset();
}

}  // namespace gatehouse::testing
