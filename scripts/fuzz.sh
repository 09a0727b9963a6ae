#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz for a while, e.g.
#   scripts/fuzz.sh smtp_command        # 60 seconds
#   scripts/fuzz.sh smtp_data 600       # ten minutes
#
# Configures a separate build directory (build-fuzz, or $GATEHOUSE_FUZZ_BUILD)
# with clang++ and -DGATEHOUSE_LIBFUZZER=ON, builds only fuzz_<target>, and
# runs it on a working copy of the seed corpus, so the seeds in the tree are
# never changed. New inputs stay in <build>/corpus/<target>; crashes are
# written to <build>/artifacts/<target>/. Add each crash to
# tests/fuzz/corpus/<target>/ as a regression, then fix it.
#
# Exit status is libFuzzer's: non-zero when it found a crash or a leak.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 TARGET [SECONDS]   (targets: tests/fuzz/*_fuzz.cpp)" >&2
  exit 2
fi
target=$1
seconds=${2:-60}

root=$(cd "$(dirname "$0")/.." && pwd)
build=${GATEHOUSE_FUZZ_BUILD:-$root/build-fuzz}
seeds=$root/tests/fuzz/corpus/$target
if [ ! -f "$root/tests/fuzz/${target}_fuzz.cpp" ]; then
  echo "fuzz: no target $target (tests/fuzz/${target}_fuzz.cpp)" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DGATEHOUSE_LIBFUZZER=ON >/dev/null
cmake --build "$build" --target "fuzz_$target" -j2

work=$build/corpus/$target
artifacts=$build/artifacts/$target
mkdir -p "$work" "$artifacts"

# One process: the build machines are shared. The working corpus comes first
# so that libFuzzer writes new inputs there and only reads the seeds.
"$build/tests/fuzz/fuzz_$target" \
  -max_total_time="$seconds" \
  -max_len=16384 \
  -timeout=10 \
  -print_final_stats=1 \
  -artifact_prefix="$artifacts/" \
  "$work" "$seeds"
