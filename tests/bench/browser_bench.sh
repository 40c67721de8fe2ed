#!/usr/bin/env bash
# Browser retrieval benchmark: the same 5,000 messages (~5 KB each) pulled from a private
# Dovecot by the native CLI (`junction-proxy retrieve`) and by the web app in Chromium (the
# WASM core over the proxy's WebSocket bridge, stored with POST /api/mailbox/batch), in one
# run; prints the browser's speed as a fraction of the native one (the target is >= 0.7).
# Not part of the test suite; see tests/bench/README.md.
#
#   bash tests/bench/browser_bench.sh [JUNCTION-PROXY [WWW-DIR [OTHER-WWW-DIR...]]]
#
# OTHER-WWW-DIR: variants of the web app (e.g. a copy of www/ with one change) measured in
# the same rounds as the browser mode, each its own row "browser:<folder name>", so that
# load on the machine hits all of them alike.
# Without arguments, junction-proxy is built in Release in build-bbench and the web app
# (WASM, Release) in build-wasm-bbench/www. Needs root (Dovecot, the loop mount).
# Environment:
#   BENCH_RUNS        runs per set and mode (default 3); the report gives the median
#   BENCH_SETS        default "pop3:plain pop3:tls imap:plain imap:tls"
#   BENCH_TIMEOUT     seconds one run may take (default 300)
#   BENCH_FS          loop (default): the runs store on a fresh ext4 on a loop device;
#                     work: in the work folder (see below why not by default)
#   BENCH_KEEP=1      keep the work folder (logs/ has what the options below write)
#   BENCH_CPUPROFILE=1  a CPU profile of the page in every browser run (top functions to
#                     stderr, the .cpuprofile into logs/); slows the page a little
#   BENCH_PERF=1      `perf record` of the proxy in every browser run, into logs/
#   BENCH_TRACE=1     a Playwright trace of every browser run, into logs/
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
RUNS=${BENCH_RUNS:-3}
RUN_TIMEOUT=${BENCH_TIMEOUT:-300}
SETS=${BENCH_SETS:-pop3:plain pop3:tls imap:plain imap:tls}
COUNT=5000
SRC_USER=bench
SRC_PASS=bench-pw-1
APP_USER=benchuser
APP_PASS=bench-app-pw-1
# localhost: the test certificate names it, and it is what a user would type.
HOST=localhost
START_SECONDS=$SECONDS

say() { echo "[bbench $(date +%H:%M:%S)] $*" >&2; }
die() {
  echo "browser_bench: $*" >&2
  exit 1
}

# shellcheck source=../integration/lib/dovecot.sh
source "$ROOT/tests/integration/lib/dovecot.sh"

[[ $(id -u) -eq 0 ]] || die "run as root (Dovecot's privilege separation)"
for tool in dovecot node curl /usr/bin/chromium /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is missing (bash toolchains/install-deps.sh)"
done
if [[ ! -f $ROOT/tests/browser/node_modules/playwright-core/package.json ]]; then
  say "installing playwright-core (npm ci in tests/browser)"
  npm ci --prefix "$ROOT/tests/browser" >&2
fi

# --- binaries -------------------------------------------------------------------------
if [[ -n ${1:-} ]]; then
  BIN=$1
else
  say "building junction-proxy (Release) in build-bbench"
  cmake -S "$ROOT" -B "$ROOT/build-bbench" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$ROOT/build-bbench" -j2 --target junction-proxy >&2
  BIN=$ROOT/build-bbench/proxy/src/junction-proxy
fi
EXTRA_WWW=()
if [[ -n ${2:-} ]]; then
  WWW=$2
  EXTRA_WWW=("${@:3}")
else
  say "building the web app (WASM, Release) in build-wasm-bbench"
  export NODE_PATH=/usr/share/nodejs
  emcmake cmake -S "$ROOT" -B "$ROOT/build-wasm-bbench" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$ROOT/build-wasm-bbench" -j2 --target junction_www >&2
  WWW=$ROOT/build-wasm-bbench/www
fi
[[ -x $BIN ]] || die "junction-proxy not executable: $BIN"
[[ -f $WWW/index.html && -f $WWW/junction-core.wasm ]] || die "no web app (with the core) in $WWW"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WWW=$(cd "$WWW" && pwd)
# Modes measured per set and run: native, browser, browser:<variant>.
declare -A WWW_OF=([browser]=$WWW)
MODES=(native browser)
for w in "${EXTRA_WWW[@]}"; do
  [[ -f $w/index.html && -f $w/junction-core.wasm ]] || die "no web app (with the core) in $w"
  w=$(cd "$w" && pwd)
  WWW_OF["browser:$(basename "$w")"]=$w
  MODES+=("browser:$(basename "$w")")
done

# --- work folder, cleanup -------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/junction-bbench.XXXXXX")
chmod 755 "$WORK"
PROXY_PID=
DRIVER_PID=
MOUNTED=
cleanup() {
  local rc=$?
  set +e
  # The driver runs in its own process group (setsid): Chromium goes with it.
  [[ -n $DRIVER_PID ]] && kill -TERM -- "-$DRIVER_PID" 2>/dev/null
  if [[ -n $PROXY_PID ]]; then
    kill -TERM "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
  fi
  dc_stop
  [[ -n $MOUNTED ]] && umount "$MOUNTED"
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    say "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Where the runs store: by default a fresh ext4 (with a journal, as ext4 is normally made)
# in a sparse file on a loop device. The reason: on an ext4 without a journal (this
# project's machines) the kernel skips, one by one, every inode freed in the last 1-6
# minutes when it creates a file (fs/ext4/ialloc.c, recently_deleted), so right after
# anything on that disk deleted thousands of files (another build, an earlier benchmark),
# creating 5,000 messages costs seconds of system time — noise of up to 5x in both modes.
# BENCH_FS=work stores in the work folder instead. Either way every run's data stays until
# the end, so no run pays for the deletions of the one before.
mkdir -p "$WORK/logs" "$WORK/runs" "$WORK/profiles"
if [[ ${BENCH_FS:-loop} == loop ]]; then
  # Room for every run: ~26 MB and COUNT files each (plus the proxy's few), twice over.
  n_runs=$((RUNS * $(wc -w <<<"$SETS") * ${#MODES[@]}))
  truncate -s $((n_runs * 64 + 1024))M "$WORK/fs.img"
  mkfs.ext4 -q -F -N $((n_runs * (COUNT + 500) * 2 + 10000)) "$WORK/fs.img"
  mount -o loop "$WORK/fs.img" "$WORK/runs"
  MOUNTED=$WORK/runs
fi
RESULTS=$WORK/results.tsv
: >"$RESULTS"

# --- Dovecot and the source mailbox (as in retrieval_bench.sh, without the big ones) ----
dc_setup "$WORK/dovecot" >/dev/null
dc_add_user "$SRC_USER" "$SRC_PASS"
say "generating $COUNT messages"
read -r gen_count gen_bytes < <("$DC_PY" "$BENCH_DIR/genbench.py" \
  --maildir "$DC_DIR/home/$SRC_USER/Maildir" --small "$COUNT" --big 0)
chown -R nobody:nogroup "$DC_DIR/home"
# main: POP3S + IMAPS (implicit TLS); notls: POP3 + IMAP with no STLS/STARTTLS offered.
dc_start main notls
dc_doveadm force-resync -u "$SRC_USER" INBOX
dc_doveadm fetch -u "$SRC_USER" \
  'uid flags size.physical size.virtual date.received hdr.message-id' \
  mailbox INBOX ALL >/dev/null
cat "$DC_DIR/home/$SRC_USER/Maildir/cur/"* >/dev/null
have=$(dc_count "$SRC_USER" INBOX)
[[ $have == "$COUNT" ]] || die "source has $have messages, expected $COUNT"
say "source: $gen_count messages, $((gen_bytes / 1000000)) MB; Dovecot on ports from $DC_PORT_BASE"
PROXY_PORT=$DC_SPARE_PORT1
ORIGIN=http://127.0.0.1:$PROXY_PORT

port_of() { # PROTO TRANSPORT
  case $1:$2 in
    pop3:plain) echo "$DC_NOTLS_POP3_PORT" ;;
    pop3:tls) echo "$DC_POP3S_PORT" ;;
    imap:plain) echo "$DC_NOTLS_IMAP_PORT" ;;
    imap:tls) echo "$DC_IMAPS_PORT" ;;
  esac
}

task_json() { # PROTO TRANSPORT -> the task (no id)
  local enc=none
  [[ $2 == tls ]] && enc=ssl
  printf '{"type": "%s", "server": "%s", "port": %s, "username": "%s", "password": "%s", ' \
    "$1" "$HOST" "$(port_of "$1" "$2")" "$SRC_USER" "$SRC_PASS"
  printf '"encryption": "%s", "method": "manual", "leave_on_server": true}' "$enc"
}

count_messages() { # MAILDIR -> message files in its cur/ and new/ (and subfolders')
  [[ -d $1 ]] || {
    echo 0
    return
  }
  find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l
}

# record SET RUN MODE STATUS SECONDS FIRST_PROGRESS RSS_KB CPU_S OTHER_CPU_S NOTE
record() {
  local IFS=$'\t'
  echo "$*" >>"$RESULTS"
}

keep_logs() { # TAG FILES...
  local tag=$1
  shift
  mkdir -p "$WORK/logs/$tag"
  cp "$@" "$WORK/logs/$tag/" 2>/dev/null || true
}

# --- (a) native: junction-proxy retrieve into a fresh data dir ------------------------
measure_native() { # PROTO TRANSPORT RUN
  local proto=$1 transport=$2 run=$3 set="$1:$2" d=$WORK/runs/native-$1-$2-$3 rc=0
  mkdir -p "$d"
  task_json "$proto" "$transport" >"$d/task.json"
  SSL_CERT_FILE=$DC_CA timeout --kill-after=5 "$RUN_TIMEOUT" /usr/bin/time -f '%e %M %U %S' \
    -o "$d/time.txt" "$BIN" retrieve --data "$d/data" --task "$d/task.json" \
    >"$d/stdout" 2>"$d/stderr" || rc=$?
  local secs=- rss=- user=0 sys=0 got
  read -r secs rss user sys < <(grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$d/time.txt" |
    tail -1) || true
  got=$(count_messages "$d/data/mailbox")
  local status=ok note=
  if ((rc != 0)); then
    status=failed note="exit $rc, $got stored"
  elif [[ $got != "$COUNT" ]]; then
    status=failed note="$got messages stored, expected $COUNT"
  fi
  if [[ $status != ok ]]; then
    keep_logs "native-$proto-$transport-$run" "$d"/stdout "$d"/stderr "$d"/time.txt
    say "native $set run $run: FAILED: $note; $(tail -c 300 "$d/stderr" | tr '\n' ' ')"
  else
    say "native $set run $run: $secs s, $((rss / 1024)) MB, cpu $user+$sys s"
  fi
  record "$set" "$run" native "$status" "$secs" - "$rss" \
    "$(awk "BEGIN {print $user + $sys}")" - "$note"
}

# --- (b) browser: a fresh proxy (data dir, user, task through the API), Chromium ------
measure_browser() { # PROTO TRANSPORT RUN MODE
  local proto=$1 transport=$2 run=$3 mode=$4 set="$1:$2" i code rc=0
  local www=${WWW_OF[$mode]} tag=${mode//:/-}-$1-$2-$3
  local d=$WORK/runs/$tag
  mkdir -p "$d"
  printf '%s\n' "$APP_PASS" | "$BIN" user add --data "$d/data" "$APP_USER" >/dev/null
  local allow=()
  for h in 127.0.0.1 localhost; do
    for p in "$DC_POP3S_PORT" "$DC_IMAPS_PORT" "$DC_NOTLS_POP3_PORT" "$DC_NOTLS_IMAP_PORT"; do
      allow+=(--allow "$h:$p")
    done
  done
  SSL_CERT_FILE=$DC_CA "$BIN" serve --data "$d/data" --listen "127.0.0.1:$PROXY_PORT" \
    --web "$www" "${allow[@]}" >"$d/proxy.out" 2>"$d/proxy.err" &
  PROXY_PID=$!
  for ((i = 0; i < 100; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$ORIGIN/api/account" 2>/dev/null || true)
    [[ $code == 401 ]] && break
    sleep 0.1
  done
  [[ $code == 401 ]] || die "junction-proxy serve did not start: $(tail -5 "$d/proxy.err")"
  code=$(curl -s -o "$d/session.json" -w '%{http_code}' -c "$d/jar" -H "Origin: $ORIGIN" \
    -H 'Content-Type: application/json' \
    -d "{\"username\":\"$APP_USER\",\"password\":\"$APP_PASS\",\"device_name\":\"bench\"}" \
    "$ORIGIN/api/session")
  [[ $code == 200 || $code == 201 ]] ||
    die "sign-in through the API: HTTP $code $(head -c 200 "$d/session.json")"
  printf '{"retrieval_tasks": [%s]}' "$(task_json "$proto" "$transport")" >"$d/account.json"
  code=$(curl -s -o "$d/account-after.json" -w '%{http_code}' -b "$d/jar" -X PUT \
    -H "Origin: $ORIGIN" -H 'If-Match: "0"' -H 'Content-Type: application/json' \
    --data-binary "@$d/account.json" "$ORIGIN/api/account")
  [[ $code == 200 ]] || die "PUT /api/account: HTTP $code $(head -c 300 "$d/account-after.json")"

  local extra=()
  [[ ${BENCH_TRACE:-0} == 1 ]] && extra+=(--trace "$WORK/logs/trace-$tag.zip")
  [[ ${BENCH_PERF:-0} == 1 ]] && extra+=(--perf "$WORK/logs/perf-$tag.data")
  [[ ${BENCH_CPUPROFILE:-0} == 1 ]] &&
    extra+=(--cpu-profile "$WORK/logs/page-$tag.cpuprofile")
  setsid node "$BENCH_DIR/browser_bench.mjs" --url "$ORIGIN" --user "$APP_USER" \
    --password "$APP_PASS" --server "$HOST" --profile-dir "$WORK/profiles/$tag" \
    --timeout "$RUN_TIMEOUT" --proxy-pid "$PROXY_PID" "${extra[@]}" \
    >"$d/driver.json" 2>"$d/driver.err" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || rc=$?
  DRIVER_PID=
  local got
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || true
  PROXY_PID=
  got=0
  if [[ -d $d/data/users ]]; then
    for u in "$d"/data/users/*/mailbox; do
      got=$((got + $(count_messages "$u")))
    done
  fi
  local fields
  fields=$("$DC_PY" - "$d/driver.json" <<'EOF'
import json, sys
try:
    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception as e:
    print("-\t-\t-\t-\t-\t-\tno result from the driver")
    sys.exit(0)
def s(ms):
    return "-" if ms is None else "%.3f" % (ms / 1000.0)
p = r.get("profile") or {}
prof = ("core %s ms; wasm %s ms in %s calls; batches %s (%s ms, max %s ms, %.1f MB); "
        "other API %s calls %s ms; ws in %s frames %.1f MB, out %s frames; "
        "first message %s s; effects %s"
        % (r.get("core_load_ms"), p.get("wasm_ms"), p.get("wasm_calls"), p.get("batches"),
           p.get("batch_ms"), p.get("max_batch_ms"), (p.get("batch_bytes") or 0) / 1e6,
           p.get("api_calls"), p.get("api_ms"), p.get("ws_frames_in"),
           (p.get("ws_bytes_in") or 0) / 1e6, p.get("ws_frames_out"),
           s(r.get("click_to_first_message_ms")), json.dumps(p.get("effects"), sort_keys=True)))
def v(x):
    return "-" if x is None else str(x)
print("\t".join([s(r.get("click_to_done_ms")), s(r.get("click_to_first_progress_ms")),
                 v(r.get("chromium_cpu_s")), v(r.get("proxy_cpu_s")),
                 v(r.get("proxy_peak_rss_kb")),
                 (r.get("summary") or r.get("error") or "-").replace("\t", " "), prof]))
EOF
  )
  local secs first chrome_cpu proxy_cpu_s hwm summary prof status=ok note=
  IFS=$'\t' read -r secs first chrome_cpu proxy_cpu_s hwm summary prof <<<"$fields"
  if ((rc != 0)); then
    status=failed note="driver exit $rc: $summary; $got stored"
  elif [[ $got != "$COUNT" ]]; then
    status=failed note="$got messages stored, expected $COUNT ($summary)"
  elif [[ $secs == - ]]; then
    status=failed note="no timing ($summary)"
  fi
  if [[ $status != ok ]]; then
    keep_logs "$tag" "$d"/driver.json "$d"/driver.err \
      "$d"/proxy.out "$d"/proxy.err
    say "$mode $set run $run: FAILED: $note; $(tail -c 300 "$d/driver.err" | tr '\n' ' ')"
  else
    say "$mode $set run $run: $secs s (first progress $first s)," \
      "proxy peak $((${hwm/-/0} / 1024)) MB," \
      "cpu proxy $proxy_cpu_s s + chromium $chrome_cpu s; $summary"
    say "  profile: $prof"
    [[ ${BENCH_CPUPROFILE:-0} == 1 ]] && sed 's/^/    /' "$d/driver.err" >&2
  fi
  record "$set" "$run" "$mode" "$status" "$secs" "$first" "$hwm" "$proxy_cpu_s" \
    "$chrome_cpu" "${note:-$prof}"
}

# --- runs: per round and set every mode, the order reversed every other round -----------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((run = 1; run <= RUNS; run++)); do
  order=("${MODES[@]}")
  if ((run % 2 == 0)); then
    order=()
    for ((i = ${#MODES[@]} - 1; i >= 0; i--)); do order+=("${MODES[i]}"); done
  fi
  for pt in $SETS; do
    for mode in "${order[@]}"; do
      if [[ $mode == native ]]; then
        measure_native "${pt%%:*}" "${pt##*:}" "$run"
      else
        measure_browser "${pt%%:*}" "${pt##*:}" "$run" "$mode"
      fi
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------
report_rc=0
"$DC_PY" - "$RESULTS" "$COUNT" "$gen_bytes" "$RUNS" <<'EOF' || report_rc=$?
import statistics, sys
path, count, nbytes, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
by = {}
for s, run, mode, status, secs, first, rss, cpu, other, note in rows:
    by.setdefault((s, mode), []).append((int(run), status, secs, first, rss, cpu, other, note))

def med(values):
    return statistics.median(values) if values else None

print()
print("Retrieval of %d messages (~5 KB, %.0f MB) from Dovecot on 127.0.0.1, leaving them on the"
      % (count, nbytes / 1e6))
print("server: native `junction-proxy retrieve` vs. the web app in headless Chromium (WASM core")
print("over the WebSocket bridge, POST /api/mailbox/batch). Browser time = click on \"Retrieve")
print("Messages Now\" to \"Done\" in #run-summary. Median of %d run(s)." % runs)
print()
print("All runs (seconds):")
for key in sorted(by):
    parts = []
    for run, status, secs, *_ in sorted(by[key]):
        parts.append(secs if status == "ok" else "FAILED")
    print("  %-10s %-24s %s" % (key[0], key[1], "  ".join(parts)))
print()
hdr = "%-10s %9s %8s %9s %8s %7s %11s %10s %12s %11s" % (
    "set", "native s", "msg/s", "browser s", "msg/s", "ratio", "1st prog s", "proxy MB",
    "cpu proxy s", "cpu chrome s")
print(hdr)
print("-" * len(hdr))
failed = False
for s in sorted({k[0] for k in by}, key=lambda x: ("pop3:plain", "pop3:tls", "imap:plain",
                                                      "imap:tls").index(x)):
    nat = by.get((s, "native"), [])
    bro = by.get((s, "browser"), [])
    bad = [r for r in nat + bro if r[1] != "ok"]
    if bad:
        failed = True
        print("%-10s FAILED in %d run(s): %s" % (s, len(bad), bad[0][7]))
        continue
    n = med([float(r[2]) for r in nat])
    b = med([float(r[2]) for r in bro])
    first = med([float(r[3]) for r in bro if r[3] != "-"])
    rss = med([int(r[4]) for r in bro if r[4] != "-"])
    pcpu = med([float(r[5]) for r in bro])
    ccpu = med([float(r[6]) for r in bro if r[6] != "-"])
    ncpu = med([float(r[5]) for r in nat])
    print("%-10s %9.2f %8.0f %9.2f %8.0f %7.2f %11s %10s %12.2f %11s"
          % (s, n, count / n, b, count / b, n / b,
             "-" if first is None else "%.2f" % first,
             "-" if rss is None else "%.1f" % (rss / 1024), pcpu,
             "-" if ccpu is None else "%.2f" % ccpu))
    print("%-10s native CPU (user+sys) %.2f s; native peak RSS %.1f MB"
          % ("", ncpu, med([int(r[4]) for r in nat]) / 1024))
variants = sorted({k[1] for k in by if k[1].startswith("browser:")})
if variants:
    print()
    print("Variants of the web app (median s, ratio to native, change against \"browser\"):")
    for s in sorted({k[0] for k in by}):
        nat = [r for r in by.get((s, "native"), []) if r[1] == "ok"]
        base = [r for r in by.get((s, "browser"), []) if r[1] == "ok"]
        for v in variants:
            rs = by.get((s, v), [])
            ok = [r for r in rs if r[1] == "ok"]
            if not ok or len(ok) != len(rs) or not nat:
                print("  %-10s %-24s FAILED in %d run(s)" % (s, v, len(rs) - len(ok)))
                failed = True
                continue
            m = med([float(r[2]) for r in ok])
            n = med([float(r[2]) for r in nat])
            line = "  %-10s %-24s %6.2f s  ratio %.2f" % (s, v, m, n / m)
            if base:
                b = med([float(r[2]) for r in base])
                line += "  (%+.0f %% time vs. browser %.2f s)" % (100 * (m - b) / b, b)
            print(line)
print()
print("ratio = browser messages/s / native messages/s (target >= 0.70). proxy MB = peak RSS")
print("(VmHWM) of `junction-proxy serve` over the browser run; cpu = CPU seconds during it.")
print()
print("Browser run profiles (per run):")
for key in sorted(by):
    if not key[1].startswith("browser"):
        continue
    for run, status, secs, first, rss, cpu, other, note in sorted(by[key]):
        print("  %s %s run %d: %s" % (key[0], key[1], run, note))
sys.exit(1 if failed else 0)
EOF
echo "Load average (1/5/15 min) before the runs: $LOAD_BEFORE; after: $LOAD_AFTER ($(nproc) cores)."
say "done in $((SECONDS - START_SECONDS)) s"
exit "$report_rc"
