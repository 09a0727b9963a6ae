#!/usr/bin/env bash
# Installs what Gatehouse needs to build and test on Debian 12, as root.
# Idempotent and quiet: when every package is present it prints nothing and
# returns at once.
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build ccache pkg-config make clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libunbound-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-yaml
)
test_pkgs=(
  postfix swaks libnet-ssleay-perl nsd openssl clang libclang-rt-14-dev procps
)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--all" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a test peer (smtp-sink, smtp-source) and the benchmark
# reference: install it unconfigured so it never takes port 25.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "setup: apt-get failed" >&2
  exit 1
fi
rm -f "$log"
# Debian may start services on install; tests start their own instances.
for svc in postfix nsd; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done
