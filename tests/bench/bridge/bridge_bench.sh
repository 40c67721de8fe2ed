#!/usr/bin/env bash
# Bridge benchmark: junction-proxy's WebSocket bridge beside websockify, both relaying to the
# same local upstream server in the same run (see README.md beside this file). Not part of
# the test suite. Everything runs on 127.0.0.1; every step has a time limit; whatever the
# script started is stopped on exit.
#
#   bash tests/bench/bridge/bridge_bench.sh [PATH/TO/junction-proxy]
#
# Progress goes to stderr, the report to stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${BENCH_BUILD:-$root/build-bbench}
mb=${BENCH_MB:-256}            # MiB per throughput run
runs=${BENCH_RUNS:-3}          # throughput runs per relay and direction (median reported)
pings=${BENCH_PINGS:-2000}     # measured round trips per relay
ping_size=${BENCH_PING_SIZE:-64}
hold=${BENCH_HOLD:-1000}       # idle bridges held open at once
step_timeout=${BENCH_STEP_TIMEOUT:-120}
py=/usr/bin/python3
password='bench-password-123'

log() { printf 'bridge-bench: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---- what we need -------------------------------------------------------------------------

if ! command -v websockify >/dev/null 2>&1; then
  log "installing websockify (Debian package)"
  [ "$(id -u)" = 0 ] || die "websockify is missing and installing it needs root"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y websockify >&2 || { apt-get update >&2 && apt-get install -y websockify >&2; }
fi
[ -x "$py" ] || die "$py is missing"

if [ $# -ge 1 ]; then
  proxy=$(realpath "$1")
  [ -x "$proxy" ] || die "$1 is not an executable"
else
  log "building junction-proxy (Release) in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$build" -j1 --target junction-proxy >&2
  proxy=$build/proxy/src/junction-proxy
fi
log "building the load tool in $build/bridge-load"
cmake -S "$here" -B "$build/bridge-load" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build/bridge-load" -j1 >&2
tool=$build/bridge-load/bridge_load

# 1,000 bridges are 2,000 sockets in the relay and 1,000 in the tool and in the upstream.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n is $(ulimit -n); 1,000 bridges need at least 4096"

# ---- processes and cleanup ----------------------------------------------------------------

work=$(mktemp -d /tmp/bridge-bench.XXXXXX)
upstream_pid='' junction_pid='' websockify_pid='' hold_pid=''

stop_pid() {  # PID: TERM, up to 5 s, then KILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

websockify_children() {
  [ -n "$websockify_pid" ] && ps -o pid= --ppid "$websockify_pid" 2>/dev/null || true
}

stop_websockify() {
  local children
  children=$(websockify_children)
  stop_pid "$websockify_pid"
  for c in $children; do kill -KILL "$c" 2>/dev/null || true; done
  websockify_pid=''
}

cleanup() {
  set +e
  stop_pid "$hold_pid"
  stop_pid "$junction_pid"
  stop_websockify
  stop_pid "$upstream_pid"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r upstream_port junction_port websockify_port < <("$py" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

wait_port() {  # PORT NAME
  local i
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$2 does not listen on 127.0.0.1:$1 (logs in $work)"
}

start_upstream() {
  "$py" "$here/upstream.py" "$upstream_port" >"$work/upstream.log" 2>&1 &
  upstream_pid=$!
  wait_port "$upstream_port" "the upstream server"
}

start_junction() {
  # One user holds every bridge, from one address: lift the per-user and per-address caps.
  printf '{"max_bridges_per_user": %d, "max_connections_per_address": 0}\n' "$hold" \
    >"$work/junction.json"
  "$proxy" serve --data "$work/data" --listen "127.0.0.1:$junction_port" \
    --config "$work/junction.json" --allow "127.0.0.1:$upstream_port" --web "$root/web" \
    >>"$work/junction.log" 2>&1 &
  junction_pid=$!
  wait_port "$junction_port" "junction-proxy"
}

start_websockify() {
  websockify "127.0.0.1:$websockify_port" "127.0.0.1:$upstream_port" >>"$work/websockify.log" 2>&1 &
  websockify_pid=$!
  wait_port "$websockify_port" "websockify"
}

port_of() {
  case $1 in
    junction) echo "$junction_port" ;;
    websockify) echo "$websockify_port" ;;
    tcp) echo "$upstream_port" ;;
  esac
}

# CPU ticks (1/100 s) the relay has used, its reaped children included: websockify handles each
# connection in a child process, whose time reaches the parent's cutime/cstime once reaped.
relay_ticks() {
  local pid
  case $1 in
    junction) pid=$junction_pid ;;
    websockify) pid=$websockify_pid ;;
    *) echo 0; return ;;
  esac
  awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat"
}

settle() {  # RELAY: wait until the last connection's handler is gone (websockify: reaped)
  local i
  for i in $(seq 40); do
    [ "$1" != websockify ] || [ -z "$(websockify_children)" ] && break
    sleep 0.05
  done
  sleep 0.2
}

run_tool() {  # MODE RELAY [ARGS...]: appends the result line, with the relay's CPU ticks
  local mode=$1 relay=$2 out t0 t1
  shift 2
  t0=$(relay_ticks "$relay")
  if ! out=$(timeout "$step_timeout" "$tool" "$mode" --relay "$relay" --relay-port "$(port_of "$relay")" \
    --upstream-port "$upstream_port" --cookie "$cookie" "$@" 2>>"$work/tool.err"); then
    log "$mode through $relay failed or timed out: $(tail -1 "$work/tool.err")"
    echo "result mode=$mode relay=$relay failed=1" >>"$work/results"
    return 0
  fi
  settle "$relay"
  t1=$(relay_ticks "$relay")
  out="$out cpu_ticks=$((t1 - t0))"
  echo "$out" >>"$work/results"
  log "  $out"
}

# KiB of VmRSS / Pss (smaps_rollup) of one process
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
tree_sum() {  # rss|pss PARENT: the parent plus its direct children (websockify forks once)
  local what=$1 parent=$2 total=0 p v
  for p in "$parent" $(ps -o pid= --ppid "$parent" 2>/dev/null); do
    v=$("${what}_kib" "$p" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
tree_count() { echo $((1 + $(ps -o pid= --ppid "$1" 2>/dev/null | wc -l))); }

# ---- throughput and latency ---------------------------------------------------------------

log "setting up in $work (upstream :$upstream_port, junction :$junction_port, websockify :$websockify_port)"
echo "$password" | "$proxy" user add --data "$work/data" bench >"$work/user.log" 2>&1 ||
  die "user add failed: $(cat "$work/user.log")"
start_upstream
start_junction
start_websockify
cookie=$("$tool" signin --relay junction --relay-port "$junction_port" --upstream-port "$upstream_port" \
  --password "$password" 2>>"$work/tool.err") || die "sign-in failed: $(tail -1 "$work/tool.err")"
: >"$work/results"
: >"$work/notes"
bytes=$((mb << 20))
started=$SECONDS

for run in $(seq "$runs"); do
  log "run $run of $runs: $mb MiB each way, $pings round trips of $ping_size bytes"
  for relay in tcp junction websockify; do
    run_tool down "$relay" --bytes "$bytes"
    run_tool up "$relay" --bytes "$bytes" --frame 65536
    run_tool ping "$relay" --count "$pings" --size "$ping_size" --warmup 100
  done
done
log "throughput and latency took $((SECONDS - started)) s"

# ---- idle bridges -------------------------------------------------------------------------

# Fresh relays, so the baseline holds no buffers freed by the throughput runs.
stop_pid "$junction_pid"
stop_websockify
start_junction
start_websockify
sleep 1

hold_test() {  # RELAY COUNT: appends a "hold" line; returns 1 when the bridges did not all open
  local relay=$1 count=$2 pid line b_rss b_pss a_rss a_pss procs open_seconds
  coproc HOLD { exec timeout 300 "$tool" hold --relay "$relay" --relay-port "$(port_of "$relay")" \
    --upstream-port "$upstream_port" --password "$password" --count "$count" --per-session 8 \
    2>>"$work/tool.err"; }
  hold_pid=$HOLD_PID
  local in=${HOLD[1]} out=${HOLD[0]}
  if ! read -r -t 120 line <&"$out"; then
    log "hold $relay: no sign-in ($(tail -1 "$work/tool.err"))"
    echo "hold relay=$relay count=$count failed=1" >>"$work/results"
    stop_pid "$hold_pid"
    return 1
  fi
  log "  $relay: $line"
  pid=$([ "$relay" = junction ] && echo "$junction_pid" || echo "$websockify_pid")
  sleep 1
  b_rss=$(tree_sum rss "$pid")
  b_pss=$(tree_sum pss "$pid")
  echo go >&"$in"
  if ! read -r -t 240 line <&"$out"; then
    local why
    why=$(tail -1 "$work/tool.err")
    log "hold $relay: $count bridges did not open: $why"
    [ "$relay" != websockify ] || log "  websockify's log ends: $(grep -v 'Plain non-SSL\|connecting to' "$work/websockify.log" | tail -2 | tr '\n' ' ')"
    echo "hold relay=$relay count=$count failed=1" >>"$work/results"
    echo "note $relay, $count bridges: $why" >>"$work/notes"
    [ "$relay" != websockify ] ||
      echo "note websockify's log ends: $(grep -v 'Plain non-SSL\|connecting to' "$work/websockify.log" | tail -2 | tr '\n' ' ')" >>"$work/notes"
    eval "exec $in>&-"
    stop_pid "$hold_pid"
    hold_pid=''
    return 1
  fi
  log "  $relay: $line"
  open_seconds=${line##*seconds=}
  sleep 2
  a_rss=$(tree_sum rss "$pid")
  a_pss=$(tree_sum pss "$pid")
  procs=$(tree_count "$pid")
  eval "exec $in>&-"
  wait "$hold_pid" 2>/dev/null || true
  hold_pid=''
  line="hold relay=$relay count=$count before_rss=$b_rss before_pss=$b_pss after_rss=$a_rss after_pss=$a_pss processes=$procs open_seconds=$open_seconds"
  echo "$line" >>"$work/results"
  log "  $line"
}

log "idle bridges: $hold held open at once through each relay"
hold_test junction "$hold" || true
# websockify 0.10 keeps a pipe per child process in its parent and waits with select(), which
# fails once a descriptor number passes 1023 (about 500 children): then it exits. The smaller
# count measures its memory per connection below that ceiling.
if ! hold_test websockify "$hold"; then
  stop_websockify
  start_websockify
  sleep 1
  log "retrying websockify with ${BENCH_WS_FALLBACK:-400} bridges"
  hold_test websockify "${BENCH_WS_FALLBACK:-400}" || true
fi
log "all measuring took $((SECONDS - started)) s"

# ---- report -------------------------------------------------------------------------------

"$py" - "$work/results" "$work/notes" "$hold" "$mb" "$runs" "$pings" "$ping_size" "$(dpkg-query -W -f='${Version}' websockify 2>/dev/null || echo '?')" <<'EOF'
import statistics, sys
path, notes, hold, mb, runs, pings, size, wsver = sys.argv[1:9]
hold = int(hold)
rows = []
for line in open(path):
    kind, *pairs = line.split()
    d = dict(p.split("=", 1) for p in pairs)
    d["kind"] = kind
    rows.append(d)

def values(mode, relay, key):
    return [float(r[key]) for r in rows
            if r["kind"] == "result" and r.get("mode") == mode and r.get("relay") == relay and key in r]

def med(v):
    return statistics.median(v) if v else float("nan")

names = {"tcp": "direct TCP (no relay)", "junction": "junction-proxy /bridge", "websockify": f"websockify {wsver}"}
print(f"Bridge relay benchmark, 127.0.0.1, {mb} MiB per throughput run; {pings} round trips of"
      f" {size} bytes per latency run; every cell is the median of {runs} runs")
print()
def cpu_per_gib(mode, relay):
    v = [float(r["cpu_ticks"]) / 100 / (float(r["bytes"]) / (1 << 30)) for r in rows
         if r["kind"] == "result" and r.get("mode") == mode and r.get("relay") == relay
         and "cpu_ticks" in r and "bytes" in r]
    return med(v)

def cell(v, fmt):
    return "-" if v != v else format(v, fmt)

print(f"| {'relay':<28} | {'down MiB/s':>10} | {'up MiB/s':>10} | {'CPU s/GiB down':>14} | {'CPU s/GiB up':>12} | {'RTT median us':>13} | {'RTT p99 us':>10} |")
print(f"|{'-'*30}|{'-'*12}|{'-'*12}|{'-'*16}|{'-'*14}|{'-'*15}|{'-'*12}|")
summary = {}
for relay in ("tcp", "junction", "websockify"):
    down = med(values("down", relay, "mib_per_s"))
    up = med(values("up", relay, "mib_per_s"))
    rtt = med(values("ping", relay, "median_us"))
    p99 = med(values("ping", relay, "p99_us"))
    cd = cpu_per_gib("down", relay) if relay != "tcp" else float("nan")
    cu = cpu_per_gib("up", relay) if relay != "tcp" else float("nan")
    summary[relay] = (down, up, rtt, p99, cd, cu)
    print(f"| {names[relay]:<28} | {down:>10.1f} | {up:>10.1f} | {cell(cd, '.3f'):>14} | {cell(cu, '.3f'):>12} | {rtt:>13.1f} | {p99:>10.1f} |")
j, w = summary["junction"], summary["websockify"]
print()
print(f"Junction / websockify: throughput downstream {j[0]/w[0]:.2f}x, upstream {j[1]/w[1]:.2f}x"
      f" (target >= 5x); relay CPU per byte downstream {j[4]/w[4]:.2f}x, upstream {j[5]/w[5]:.2f}x"
      f"; RTT median {j[2]/w[2]:.2f}x, p99 {j[3]/w[3]:.2f}x (lower is better)")
print("CPU s/GiB: CPU time of the relay process (websockify: with its reaped per-connection"
      " children) per GiB relayed, median over the runs; 100 Hz ticks.")
print()
print("All throughput runs (MiB/s):")
for relay in ("tcp", "junction", "websockify"):
    print(f"  {relay:<10} down {' '.join(f'{v:.0f}' for v in values('down', relay, 'mib_per_s'))}"
          f" | up {' '.join(f'{v:.0f}' for v in values('up', relay, 'mib_per_s'))}")
failed = [r for r in rows if r["kind"] == "result" and r.get("failed")]
for r in failed:
    print(f"  FAILED: {r['mode']} through {r['relay']}")
print()
print(f"Idle bridges: {hold} held open at once (each checked by one echo round trip)")
print(f"| {'relay':<28} | {'bridges':>7} | {'procs':>5} | {'RSS before KiB':>14} | {'RSS after KiB':>13} | {'KiB/bridge RSS':>14} | {'KiB/bridge PSS':>14} |")
print(f"|{'-'*30}|{'-'*9}|{'-'*7}|{'-'*16}|{'-'*15}|{'-'*16}|{'-'*16}|")
for r in rows:
    if r["kind"] != "hold":
        continue
    n = int(r["count"])
    if r.get("failed"):
        print(f"| {names[r['relay']]:<28} | {n:>7} | FAILED: not all {n} bridges opened (see below) |")
        continue
    b, a = int(r["before_rss"]), int(r["after_rss"])
    bp, ap = int(r["before_pss"]), int(r["after_pss"])
    print(f"| {names[r['relay']]:<28} | {n:>7} | {r['processes']:>5} | {b:>14} | {a:>13} | {(a-b)/n:>14.1f} | {(ap-bp)/n:>14.1f} |")
print()
for line in open(notes):
    print("  " + line.rstrip()[5:])
print("Target: <= 64 KiB per idle bridge (junction-proxy RSS). websockify forks one process per"
      " connection: its RSS column sums every process (shared pages counted in each), PSS shares"
      " them out, so PSS is its real cost.")
EOF
