#!/usr/bin/env bash
# Relay throughput, side by side, on this machine in one run:
#
#   smtp-source --SMTP--> gatehouse --SMTP--> smtp-sink
#   smtp-source --SMTP--> Postfix   --SMTP--> smtp-sink
#
# for 5 KB and 100 KB messages. Both systems write every message durably
# before answering 250 (Postfix fsyncs its queue files by default; gatehouse
# always does). A run is done when the sink has received all N messages; the
# time is from smtp-source's first connection to the sink's Nth message.
#
# Environment (all optional):
#   GATEHOUSE_BIN        default: <repo>/build/gatehouse
#   BENCH_N_5K           messages of 5 KB    (default 2000)
#   BENCH_N_100K         messages of 100 KB  (default 500)
#   BENCH_CONCURRENCY    parallel smtp-source sessions (default 20)
#   BENCH_SYSTEMS        "gatehouse postfix" (default both; a missing one is skipped)
#   BENCH_TIMEOUT        seconds allowed per run (default 600)
#   BENCH_KEEP=1         keep the work directory (configs, logs) for inspection
#
# Safe to run twice or concurrently: every run uses a fresh temp directory and
# free loopback ports, and stops everything it started on exit (also on ^C).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$ROOT/build/gatehouse}
N_5K=${BENCH_N_5K:-2000}
N_100K=${BENCH_N_100K:-500}
CONC=${BENCH_CONCURRENCY:-20}
SYSTEMS=${BENCH_SYSTEMS:-"gatehouse postfix"}
RUN_TIMEOUT=${BENCH_TIMEOUT:-600}
WARMUP=20
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
POSTFIX=${POSTFIX:-/usr/sbin/postfix}

for tool in "$SMTP_SINK" "$SMTP_SOURCE" python3; do
  command -v "$tool" >/dev/null || { echo "relay.sh: $tool not found (apt-get install postfix python3)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/gh-bench.XXXXXX)
chmod 755 "$WORK"   # postfix (unprivileged) must reach its dirs below
SINK_PID=""
GH_PID=""
PF_CONF=""
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

log() { echo "[relay.sh] $*" >&2; }

stop_sink() {
  if [[ -n "$SINK_PID" ]]; then
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""
  fi
}

stop_gatehouse() {
  if [[ -n "$GH_PID" ]]; then
    kill -TERM "$GH_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$GH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GH_PID" 2>/dev/null || true
    wait "$GH_PID" 2>/dev/null || true
    GH_PID=""
  fi
}

stop_postfix() {
  if [[ -n "$PF_CONF" ]]; then
    local dir=$PF_CONF pid=""
    PF_CONF=""
    pid=$(awk '{print $1; exit}' "$dir/../queue/pid/master.pid" 2>/dev/null || true)
    "$POSTFIX" -c "$dir" stop >/dev/null 2>&1 || true
    if [[ -n "$pid" ]]; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        "$POSTFIX" -c "$dir" abort >/dev/null 2>&1 || true
        kill -KILL -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
}

cleanup() {
  stop_sink
  stop_gatehouse
  stop_postfix
  if [[ "${BENCH_KEEP:-0}" != "0" ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # host port seconds
  python3 - "$1" "$2" "$3" <<'EOF'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + limit
while time.monotonic() < end:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.settimeout(2)
            if s.recv(512).startswith(b"220"):
                s.sendall(b"QUIT\r\n")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

SINK_PORT=$(free_port)

start_sink() {  # fresh sink with zeroed counters; -c prints sess/quit/mesg counters
  stop_sink
  local user=()
  [[ $(id -u) == 0 ]] && user=(-u root)
  "$SMTP_SINK" -c "${user[@]}" -h sink.bench "127.0.0.1:$SINK_PORT" 1024 > "$WORK/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port 127.0.0.1 "$SINK_PORT" 10 || { log "smtp-sink did not start"; cat "$WORK/sink.out" >&2; exit 1; }
  : > "$WORK/sink.out"  # forget the probe connection's counters line
}

start_gatehouse() {  # dir
  local dir=$1
  GH_PORT=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/gatehouse.toml" <<EOF
[server]
hostname = "gatehouse.bench"
data_dir = "$dir/data"
admin_listen = "off"
log_level = "info"

[[listener]]
name = "inbound"
address = "127.0.0.1:$GH_PORT"
tls = "none"

[accept]
trusted_networks = ["127.0.0.0/8"]

[[route]]
domain = "*"
next_hop = "127.0.0.1:$SINK_PORT"
tls = "none"

[limits]
max_connections_per_client = 1000

[queue]
retry = ["5s"]
EOF
  "$GATEHOUSE_BIN" serve --config "$dir/gatehouse.toml" > "$dir/stderr.log" 2>&1 &
  GH_PID=$!
  if ! wait_port 127.0.0.1 "$GH_PORT" 30; then
    log "gatehouse did not start:"; tail -20 "$dir/stderr.log" >&2; exit 1
  fi
  SUT_PORT=$GH_PORT
}

start_postfix() {  # dir
  local dir=$1
  PF_PORT=$(free_port)
  mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
  chmod 755 "$dir" "$dir/conf" "$dir/queue"
  chown postfix "$dir/data"
  cat > "$dir/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench
mydomain = bench
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
smtpd_relay_restrictions = permit_mynetworks, reject
default_process_limit = 200
default_destination_concurrency_limit = 20
smtp_destination_concurrency_limit = 20
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
biff = no
EOF
  cat > "$dir/conf/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
  PF_CONF="$dir/conf"
  "$POSTFIX" -c "$dir/conf" start > "$dir/start.log" 2>&1 || true
  if ! wait_port 127.0.0.1 "$PF_PORT" 30; then
    log "postfix did not start:"; tail -20 "$dir/maillog" "$dir/start.log" >&2 2>/dev/null; exit 1
  fi
  SUT_PORT=$PF_PORT
}

# Sends WARMUP then N messages of SIZE bytes through SUT_PORT and waits for
# the sink to count them all. Appends "system size n submit_s total_s rate".
measure() {  # system size n outdir
  local system=$1 size=$2 n=$3 out=$4
  python3 - "$SMTP_SOURCE" "$SUT_PORT" "$WORK/sink.out" "$system" "$size" "$n" "$WARMUP" \
            "$CONC" "$RUN_TIMEOUT" "$out" >> "$RESULTS" <<'EOF'
import re, subprocess, sys, time
source, port, sink_out, system, size, n, warm, conc, limit, out = sys.argv[1:]
size, n, warm, conc, limit = int(size), int(n), int(warm), int(conc), float(limit)

def delivered():
    with open(sink_out, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 256))
        found = re.findall(rb"mesg=(\d+)", f.read())
    return int(found[-1]) if found else 0

def source_run(count, log):
    argv = [source, "-c", "-s", str(min(conc, count)), "-m", str(count), "-l", str(size),
            "-M", "source.bench", "-f", "bench@source.bench", "-t", "sink@dest.bench",
            f"127.0.0.1:{port}"]
    with open(log, "wb") as f:
        return subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=limit).returncode

def wait_for(target, deadline):
    while time.monotonic() < deadline:
        if delivered() >= target:
            return True
        time.sleep(0.01)
    return False

# Warm-up: first connections, spool directories, process start-up.
if source_run(warm, f"{out}/warmup.log") != 0 or not wait_for(warm, time.monotonic() + 60):
    print(f"{system}\t{size}\t{n}\tNA\tNA\tNA\twarm-up failed", flush=True)
    sys.exit(0)
t0 = time.monotonic()
deadline = t0 + limit
rc = source_run(n, f"{out}/source.log")
t_submit = time.monotonic() - t0
ok = wait_for(warm + n, deadline)
t_total = time.monotonic() - t0
got = delivered() - warm
note = "" if rc == 0 and ok else f"smtp-source rc={rc}, sink got {got}/{n}"
rate = f"{n / t_total:.1f}" if ok else "NA"
print(f"{system}\t{size}\t{n}\t{t_submit:.2f}\t{t_total:.2f}\t{rate}\t{note}", flush=True)
EOF
}

run_one() {  # system size n
  local system=$1 size=$2 n=$3 dir="$WORK/$1-$2"
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_sink
  case $system in
    gatehouse) start_gatehouse "$dir" ;;
    postfix) start_postfix "$dir" ;;
  esac
  log "$system, $n x $size bytes, $CONC sessions ..."
  measure "$system" "$size" "$n" "$dir"
  tail -1 "$RESULTS" | awk -F'\t' '{printf "[relay.sh]   %s msgs/s (submit %ss, total %ss) %s\n", $6, $4, $5, $7}' >&2
  case $system in
    gatehouse) stop_gatehouse ;;
    postfix) stop_postfix ;;
  esac
  stop_sink
}

declare -a RUN_SYSTEMS=()
for s in $SYSTEMS; do
  case $s in
    gatehouse)
      if [[ -x "$GATEHOUSE_BIN" ]]; then RUN_SYSTEMS+=(gatehouse)
      else log "skipping gatehouse: $GATEHOUSE_BIN not built (cmake --build build --target gatehouse)"; fi ;;
    postfix)
      if [[ $(id -u) == 0 && -x "$POSTFIX" ]] && id postfix >/dev/null 2>&1; then RUN_SYSTEMS+=(postfix)
      else log "skipping postfix: needs root, $POSTFIX and the postfix user"; fi ;;
    *) log "unknown system $s"; exit 2 ;;
  esac
done
[[ ${#RUN_SYSTEMS[@]} -gt 0 ]] || { log "nothing to run"; exit 1; }

for spec in "5120:$N_5K" "102400:$N_100K"; do
  size=${spec%%:*}
  n=${spec##*:}
  for system in "${RUN_SYSTEMS[@]}"; do
    run_one "$system" "$size" "$n"
  done
done

echo
echo "relay throughput, $(nproc) cores, $CONC concurrent client sessions, fsync on both"
printf '%-10s %-8s %7s %10s %10s %10s  %s\n' system size msgs submit_s total_s msgs/s note
while IFS=$'\t' read -r system size n submit total rate note; do
  printf '%-10s %-8s %7s %10s %10s %10s  %s\n' "$system" "$((size / 1024))KB" "$n" "$submit" "$total" "$rate" "$note"
done < "$RESULTS"
echo
for size in 5120 102400; do
  g=$(awk -F'\t' -v s=$size '$1=="gatehouse" && $2==s {print $6}' "$RESULTS")
  p=$(awk -F'\t' -v s=$size '$1=="postfix" && $2==s {print $6}' "$RESULTS")
  if [[ -n "$g" && -n "$p" && "$g" != NA && "$p" != NA ]]; then
    printf 'ratio gatehouse/postfix %-6s %s\n' "$((size / 1024))KB" "$(awk -v g="$g" -v p="$p" 'BEGIN {printf "%.2f", g / p}')"
  else
    printf 'ratio gatehouse/postfix %-6s n/a\n' "$((size / 1024))KB"
  fi
done
