// An invariant check for the fuzz targets: unlike assert() it stays on in
// release builds, and it aborts, which both libFuzzer and the replay runner
// report as a crash, with the broken invariant named on stderr.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace gatehouse::fuzz {

inline void check(bool ok, const char* invariant) {
    if (ok) return;
    std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
    std::abort();
}

}  // namespace gatehouse::fuzz
