#!/usr/bin/env bash
# Retrieval benchmark: junction-proxy against mbsync, fetchmail and getmail6, all pulling
# the same 5,003 messages (5,000 of ~5 KB, three of 10/15/20 MB) from a private Dovecot
# into a fresh Maildir, durably, leaving the messages on the server. Not part of the test
# suite; see tests/bench/README.md.
#
#   bash tests/bench/retrieval_bench.sh [/path/to/junction-proxy]
#
# Without a binary, junction-proxy is built in Release in build-bench (-j1). Needs root
# (package installation, Dovecot). Environment: BENCH_RUNS (default 3), BENCH_TIMEOUT
# (seconds per tool run, default 300), BENCH_BUDGET (seconds: no further round of runs
# is started when the last round would not fit any more, default 1080), BENCH_KEEP=1 (keep the work folder),
# BENCH_TOOLS (default "junction mbsync fetchmail getmail"),
# BENCH_SETS (default "pop3:plain pop3:tls imap:plain imap:tls").
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
RUNS=${BENCH_RUNS:-3}
RUN_TIMEOUT=${BENCH_TIMEOUT:-300}
BUDGET=${BENCH_BUDGET:-1080}
TOOLS=${BENCH_TOOLS:-junction mbsync fetchmail getmail}
SETS=${BENCH_SETS:-pop3:plain pop3:tls imap:plain imap:tls}
SMALL=5000
BIG=3
TOTAL=$((SMALL + BIG))
USER_ALL=bench
USER_SMALL=benchsmall
PASS=bench-pw-1
# localhost: the certificate names it (all four tools check the name); the script
# checks below that it resolves to 127.0.0.1 only.
HOST=localhost
TIME=/usr/bin/time
# Every tool runs as this unprivileged user (getmail refuses to deliver as root, fetchmail
# warns): mail retrieval agents normally run as the mail's owner.
RUN_AS=nobody
RUN_GROUP=nogroup
START_SECONDS=$SECONDS

say() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# shellcheck source=../integration/lib/dovecot.sh
source "$ROOT/tests/integration/lib/dovecot.sh"

# --- 1. peers and binary --------------------------------------------------------------
if [[ $(id -u) -ne 0 ]]; then
  echo "retrieval_bench: run as root (package installation, Dovecot)" >&2
  exit 2
fi
say "installing peers if missing"
bash "$ROOT/toolchains/install-deps.sh" --bench >&2

if [[ -n ${1:-} ]]; then
  BIN=$1
else
  say "building junction-proxy (Release) in build-bench"
  cmake -S "$ROOT" -B "$ROOT/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$ROOT/build-bench" -j1 --target junction-proxy >&2
  BIN=$ROOT/build-bench/proxy/src/junction-proxy
fi
if [[ ! -x $BIN ]]; then
  echo "retrieval_bench: junction-proxy not executable: $BIN" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if getent ahosts "$HOST" | awk '{print $1}' | grep -qv '^127\.0\.0\.1$'; then
  say "note: $HOST also resolves to something other than 127.0.0.1 (Dovecot listens on ::1 too)"
fi

# --- work folder, cleanup -------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/junction-bench.XXXXXX")
chmod 755 "$WORK"
TOOL_PID=
cleanup() {
  local rc=$?
  set +e
  if [[ -n $TOOL_PID ]]; then
    kill -TERM -- "-$TOOL_PID" 2>/dev/null || kill -TERM "$TOOL_PID" 2>/dev/null
    wait "$TOOL_PID" 2>/dev/null
  fi
  dc_stop
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    say "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/logs" "$WORK/bin"
RESULTS=$WORK/results.tsv
: >"$RESULTS"

say "compiling the fetchmail MDA (maildir_mda.c)"
cc -O2 -Wall -Wextra -o "$WORK/bin/maildir_mda" "$BENCH_DIR/maildir_mda.c"

# --- 2. Dovecot and the source mailbox ------------------------------------------------
dc_setup "$WORK/dovecot" >/dev/null
dc_add_user "$USER_ALL" "$PASS"
dc_add_user "$USER_SMALL" "$PASS"
say "generating $SMALL small + $BIG big messages"
read -r gen_count gen_bytes < <("$DC_PY" "$BENCH_DIR/genbench.py" \
  --maildir "$DC_DIR/home/$USER_ALL/Maildir" --also "$DC_DIR/home/$USER_SMALL/Maildir" \
  --small "$SMALL" --big "$BIG")
chown -R nobody:nogroup "$DC_DIR/home"
# main: POP3S + IMAPS (implicit TLS); notls: POP3 + IMAP without any TLS offered, so no
# client upgrades to STARTTLS/STLS behind our back on the "plain" runs.
dc_start main notls
for u in "$USER_ALL" "$USER_SMALL"; do
  dc_doveadm force-resync -u "$u" INBOX
  # Warm the server: index, cache of sizes and headers, page cache of every file.
  dc_doveadm fetch -u "$u" 'uid flags size.physical size.virtual date.received hdr.message-id' \
    mailbox INBOX ALL >/dev/null
  cat "$DC_DIR/home/$u/Maildir/cur/"* >/dev/null
done
have=$(dc_count "$USER_ALL" INBOX)
if [[ $have != "$TOTAL" ]]; then
  echo "retrieval_bench: source has $have messages, expected $TOTAL" >&2
  exit 1
fi
say "source: $gen_count messages, $((gen_bytes / 1000000)) MB; Dovecot on ports from $DC_PORT_BASE"

port_of() { # PROTO TRANSPORT
  case $1:$2 in
    pop3:plain) echo "$DC_NOTLS_POP3_PORT" ;;
    pop3:tls) echo "$DC_POP3S_PORT" ;;
    imap:plain) echo "$DC_NOTLS_IMAP_PORT" ;;
    imap:tls) echo "$DC_IMAPS_PORT" ;;
  esac
}

# --- 3. one tool run ------------------------------------------------------------------
# prepare_TOOL PROTO TRANSPORT USER RUNDIR: writes the tool's configuration into RUNDIR,
# sets CMD (the command line) and DEST (the Maildir whose cur/ + new/ are counted).
prepare_junction() {
  local proto=$1 transport=$2 user=$3 d=$4 enc=none
  [[ $transport == tls ]] && enc=ssl
  cat >"$d/task.json" <<EOF
{"type": "$proto", "server": "$HOST", "port": $(port_of "$proto" "$transport"),
 "username": "$user", "password": "$PASS", "encryption": "$enc",
 "leave_on_server": true}
EOF
  CMD=("$BIN" retrieve --data "$d/data" --task "$d/task.json")
  DEST=$d/data/mailbox
}

prepare_mbsync() {
  local proto=$1 transport=$2 user=$3 d=$4 ssl=None
  [[ $proto == imap ]] || return 3
  [[ $transport == tls ]] && ssl=IMAPS
  mkdir -p "$d/mail"
  cat >"$d/mbsyncrc" <<EOF
# FSync yes is mbsync's default: every message file is fsynced before it is recorded.
FSync yes
IMAPAccount src
Host $HOST
Port $(port_of "$proto" "$transport")
User $user
Pass $PASS
SSLType $ssl
CertificateFile $DC_CA
AuthMechs LOGIN

IMAPStore src-store
Account src

MaildirStore dst
Path $d/mail/
Inbox $d/mail/INBOX

Channel bench
Far :src-store:
Near :dst:
Patterns INBOX
Sync Pull
Create Near
Expunge None
EOF
  CMD=(mbsync -c "$d/mbsyncrc" -q bench)
  DEST=$d/mail/INBOX
}

prepare_fetchmail() {
  local proto=$1 transport=$2 user=$3 d=$4
  # Plain: sslproto '' stops fetchmail 6.4 from insisting on STARTTLS/STLS.
  local ssl="sslproto ''"
  [[ $transport == tls ]] && ssl="ssl sslcertck sslcertfile \"$DC_CA\""
  mkdir -p "$d/mail/cur" "$d/mail/new" "$d/mail/tmp"
  cat >"$d/fetchmailrc" <<EOF
set no syslog
poll $HOST service $(port_of "$proto" "$transport") protocol ${proto^^} auth password
  user "$user" there with password "$PASS" is nobody here
  keep fetchall no rewrite $ssl
  mda "$WORK/bin/maildir_mda $d/mail"
EOF
  chmod 600 "$d/fetchmailrc"
  CMD=(fetchmail -f "$d/fetchmailrc" --idfile "$d/fetchids" --pidfile "$d/fetchmail.pid"
    --nodetach --silent)
  DEST=$d/mail
}

prepare_getmail() {
  local proto=$1 transport=$2 user=$3 d=$4 type
  case $proto:$transport in
    pop3:plain) type=SimplePOP3Retriever ;;
    pop3:tls) type=SimplePOP3SSLRetriever ;;
    imap:plain) type=SimpleIMAPRetriever ;;
    imap:tls) type=SimpleIMAPSSLRetriever ;;
  esac
  mkdir -p "$d/mail/cur" "$d/mail/new" "$d/mail/tmp" "$d/getmail"
  {
    echo "[retriever]"
    echo "type = $type"
    echo "server = $HOST"
    echo "port = $(port_of "$proto" "$transport")"
    echo "username = $user"
    echo "password = $PASS"
    [[ $transport == tls ]] && echo "ca_certs = $DC_CA"
    [[ $proto == imap ]] && echo 'mailboxes = ("INBOX",)'
    echo
    echo "[destination]"
    echo "# getmail's Maildir delivery fsyncs every message file before linking it to new/."
    echo "type = Maildir"
    echo "path = $d/mail/"
    echo
    echo "[options]"
    echo "verbose = 0"
    echo "read_all = true"
    echo "delete = false"
    echo "message_log_syslog = false"
  } >"$d/getmail/getmailrc"
  CMD=(getmail --getmaildir "$d/getmail" --rcfile getmailrc --quiet)
  DEST=$d/mail
}

count_messages() { # MAILDIR -> message files in its cur/ and new/ (and subfolders')
  [[ -d $1 ]] || {
    echo 0
    return
  }
  find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l
}

count_big() { # MAILDIR -> message files of 9 MB and more
  [[ -d $1 ]] || {
    echo 0
    return
  }
  find "$1" -type f \( -path '*/cur/*' -o -path '*/new/*' \) -size +9000k | wc -l
}

# measure SET TOOL PROTO TRANSPORT USER RUN EXPECTED_MESSAGES EXPECTED_BIG
# Appends "set proto transport tool run status seconds rss_kb note" to RESULTS.
measure() {
  local set=$1 tool=$2 proto=$3 transport=$4 user=$5 run=$6 want=$7 want_big=$8
  local d=$WORK/run tag="$set-$proto-$transport-$tool-$run"
  [[ $tool == mbsync && $proto != imap ]] && return 0 # mbsync speaks IMAP only
  # Bounded total: a run gets at most what is left of the budget, none when < 20 s left.
  local left=$((MEASURE_T0 + BUDGET - SECONDS)) limit=$RUN_TIMEOUT
  if ((left < 20)); then
    say "$tag: skipped (time budget)"
    printf '%s\t%s\t%s\t%s\t%s\tskipped\t-\t-\ttime budget used up\n' "$set" "$proto" \
      "$transport" "$tool" "$run" >>"$RESULTS"
    return 0
  fi
  ((left < limit)) && limit=$left
  rm -rf "$d"
  mkdir -p "$d/home"
  CMD=()
  DEST=
  "prepare_$tool" "$proto" "$transport" "$user" "$d" || return 0
  chown -R "$RUN_AS:$RUN_GROUP" "$d"
  local rc=0
  # setsid: its own process group (pgid = TOOL_PID), so cleanup can stop the whole tree.
  (cd "$d" && HOME=$d/home SSL_CERT_FILE=$DC_CA exec setsid timeout --kill-after=5 \
    "$limit" "$TIME" -f '%e %M' -o "$d/time.txt" \
    setpriv --reuid="$RUN_AS" --regid="$RUN_GROUP" --clear-groups "${CMD[@]}" \
    >"$d/stdout" 2>"$d/stderr") &
  TOOL_PID=$!
  wait "$TOOL_PID" || rc=$?
  TOOL_PID=
  local got big secs=- rss=- status=ok note=""
  got=$(count_messages "$DEST")
  big=$(count_big "$DEST")
  if [[ -s $d/time.txt ]]; then
    read -r secs rss < <(grep -E '^[0-9.]+ [0-9]+$' "$d/time.txt" | tail -1) || true
  fi
  if ((rc == 124 || rc == 137)); then
    status=timeout note="not done after ${limit} s ($got of $want stored)"
  elif ((rc != 0)); then
    status=failed note="exit $rc, $got stored"
  elif [[ $got != "$want" || $big != "$want_big" ]]; then
    status=failed note="$got messages ($big big) stored, expected $want ($want_big big)"
  elif [[ $secs == - || -z $secs ]]; then
    status=failed note="no timing"
  fi
  if [[ $status != ok ]]; then
    mkdir -p "$WORK/logs/$tag"
    cp "$d"/stdout "$d"/stderr "$d"/time.txt "$WORK/logs/$tag/" 2>/dev/null || true
    say "$tag: $status: $note; $(tail -c 300 "$d/stderr" | tr '\n' ' ')"
  else
    say "$tag: $secs s, $rss KB"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$proto" "$transport" "$tool" \
    "$run" "$status" "${secs:--}" "${rss:--}" "$note" >>"$RESULTS"
  rm -rf "$d"
}

# --- runs: in rounds (run 1 of every tool on every set, then run 2, ...) so that drift and
# other load on the machine hit every tool alike. Within a round the tools go one after
# the other, fastest first, so that when the time budget runs out it is the slowest
# tool's last sets that are missing, not a whole protocol. A further round starts only
# when the previous round's duration still fits into BENCH_BUDGET; the report says how
# many runs each median is of.
MEASURE_T0=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROUNDS_DONE=0
for ((run = 1; run <= RUNS; run++)); do
  round_t0=$SECONDS
  for tool in $TOOLS; do
    for pt in $SETS; do
      measure main "$tool" "${pt%%:*}" "${pt##*:}" "$USER_ALL" "$run" "$TOTAL" "$BIG"
    done
    if [[ $tool == junction ]]; then
      # Memory: Junction on the 5,000 small messages alone (TLS, like the TLS rows).
      for proto in pop3 imap; do
        measure small junction "$proto" tls "$USER_SMALL" "$run" "$SMALL" 0
      done
    fi
  done
  ROUNDS_DONE=$run
  round=$((SECONDS - round_t0))
  say "round $run took $round s"
  if ((run < RUNS && SECONDS - MEASURE_T0 + round > BUDGET)); then
    say "time budget ${BUDGET}s: stopping after $run of $RUNS rounds"
    break
  fi
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 4. report ------------------------------------------------------------------------
"$DC_PY" - "$RESULTS" "$TOTAL" "$SMALL" "$RUNS" "$ROUNDS_DONE" "$gen_bytes" <<'EOF'
import statistics, sys
path = sys.argv[1]
total, small, runs, rounds, nbytes = (int(a) for a in sys.argv[2:7])
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
groups = {}
for s, proto, tr, tool, run, status, secs, rss, note in rows:
    groups.setdefault((s, proto, tr, tool), []).append((status, secs, rss, note))

def summary(key):
    """Median over the runs; any failed or timed-out run makes the whole row a failure."""
    rs = [r for r in groups.get(key, []) if r[0] != "skipped"]
    if not rs:
        return {"failed": "not run (time budget used up)"} if key in groups else None
    bad = [r for r in rs if r[0] != "ok"]
    if bad:
        word = "TIMEOUT" if bad[0][0] == "timeout" else "FAILED"
        return {"failed": "%s in %d of %d run(s): %s" % (word, len(bad), len(rs), bad[0][3])}
    return {"secs": statistics.median(float(r[1]) for r in rs),
            "rss_mb": statistics.median(int(r[2]) for r in rs) / 1024.0, "n": len(rs)}

print()
print("Retrieval of %d messages (%d x ~5 KB + %d x 10-20 MB, %.0f MB) from Dovecot 2.3.19"
      % (total, small, total - small, nbytes / 1e6))
print("on 127.0.0.1 into a fresh Maildir, leaving them on the server, each tool with its own")
print("durable delivery; median of the runs column (%d of %d planned round(s) done)." % (rounds, runs))
print()
hdr = "%-5s %-9s %-10s %4s %9s %11s %12s" % ("proto", "transport", "tool", "runs", "median s",
                                           "messages/s", "peak RSS MB")
print(hdr)
print("-" * len(hdr))
ratios = []
for proto in ("pop3", "imap"):
    for tr in ("plain", "tls"):
        best_peer = None
        junction = None
        present = False
        for tool in ("junction", "mbsync", "fetchmail", "getmail"):
            sm = summary(("main", proto, tr, tool))
            if sm is None:
                continue
            present = True
            if "failed" in sm:
                print("%-5s %-9s %-10s %s" % (proto.upper(), tr, tool, sm["failed"]))
                continue
            rate = total / sm["secs"] if sm["secs"] > 0 else float("inf")
            print("%-5s %-9s %-10s %4d %9.2f %11.0f %12.1f"
                  % (proto.upper(), tr, tool, sm["n"], sm["secs"], rate, sm["rss_mb"]))
            if tool == "junction":
                junction = rate
            elif best_peer is None or rate > best_peer[1]:
                best_peer = (tool, rate)
        if not present:
            continue
        if junction is not None and best_peer is not None:
            ratios.append("%-5s %-9s %6.0f / %6.0f (%s) = %.1f"
                          % (proto.upper(), tr, junction, best_peer[1], best_peer[0],
                             junction / best_peer[1]))
        else:
            ratios.append("%-5s %-9s no ratio: Junction or every peer failed" % (proto.upper(), tr))
print()
print("Junction messages/s / fastest peer's messages/s:")
for r in ratios:
    print("  " + r)
print()
print("Junction peak RSS over TLS (median):")
for proto in ("pop3", "imap"):
    out = []
    for label, key in (("%d small messages only" % small, ("small", proto, "tls", "junction")),
                       ("%d incl. the 3 big ones" % total, ("main", proto, "tls", "junction"))):
        sm = summary(key)
        if sm is None:
            continue
        out.append("%s: %s" % (label, sm["failed"] if "failed" in sm else "%.1f MB" % sm["rss_mb"]))
    if out:
        print("  %-5s %s" % (proto.upper(), ";  ".join(out)))
EOF
echo "Load average (1/5/15 min) before the runs: $LOAD_BEFORE; after: $LOAD_AFTER (2 cores)."
say "done in $((SECONDS - START_SECONDS)) s"
