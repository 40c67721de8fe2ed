# shellcheck shell=bash
# Shared helpers of the integration test scripts: work folder and cleanup, PASS/FAIL
# bookkeeping, task files, running the junction-proxy CLI. Source after `set -euo pipefail`.
#
#   jt_init SCRIPTNAME BINARY   work dir in $JT_WORK (kept when JUNCTION_TEST_KEEP=1 or a
#                               check failed and JUNCTION_TEST_KEEP_FAILED=1), trap cleanup
#   jt_pass TEXT / jt_fail TEXT / jt_check COND-COMMAND... -- TEXT
#   jt_task FILE key=value...   task JSON (values true/false/digits become JSON literals;
#                               folder_transfer.mode=... and folder_transfer.parent=... nest)
#   jt_run NAME SUBCOMMAND ARGS...   run the CLI; sets JT_RC, JT_OUT, JT_ERR (file paths
#                               $JT_WORK/cli/NAME.{out,err})
#   jt_total FIELD              from the last run's "total:" line: new | had | deleted
#   jt_checkmaildir ARGS...     checkmaildir.py, its PASS/FAIL lines counted here
#   jt_bg COMMAND...            start a helper in the background, killed at cleanup
#   jt_wait_file FILE           wait for a helper's --ready-file
#   jt_count_messages DIR       message files in DIR/new and DIR/cur
#   jt_finish                   summary line, exit status 1 if any check failed

JT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=dovecot.sh
source "$JT_LIB_DIR/dovecot.sh"

JT_PASSED=0
JT_FAILED=0
JT_BG_PIDS=()
JT_CLI_TIMEOUT=${JT_CLI_TIMEOUT:-180}

jt_pass() {
  JT_PASSED=$((JT_PASSED + 1))
  echo "PASS: $*"
}

jt_fail() {
  JT_FAILED=$((JT_FAILED + 1))
  echo "FAIL: $*"
}

# jt_check CMD ARGS... -- TEXT : PASS when CMD succeeds.
jt_check() {
  local cmd=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    cmd+=("$1")
    shift
  done
  shift
  if "${cmd[@]}"; then jt_pass "$*"; else jt_fail "$*"; fi
}

jt_cleanup() {
  local rc=$?
  set +e
  local pid
  for pid in "${JT_BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${JT_BG_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  dc_stop
  if [[ ${JUNCTION_TEST_KEEP:-0} == 1 ]] ||
    { [[ ${JUNCTION_TEST_KEEP_FAILED:-0} == 1 ]] && ((JT_FAILED > 0 || rc != 0)); }; then
    echo "work folder kept: $JT_WORK"
  else
    rm -rf "$JT_WORK"
  fi
}

jt_init() {
  JT_NAME=$1
  JT_BIN=${2:-}
  if [[ -z $JT_BIN || ! -x $JT_BIN ]]; then
    echo "usage: $JT_NAME /path/to/junction-proxy (not executable: '${JT_BIN}')" >&2
    exit 2
  fi
  JT_BIN=$(cd "$(dirname "$JT_BIN")" && pwd)/$(basename "$JT_BIN")
  JT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/junction-$JT_NAME.XXXXXX")
  chmod 755 "$JT_WORK" # Dovecot's unprivileged processes must reach dovecot/ inside
  trap jt_cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$JT_WORK/cli" "$JT_WORK/tasks"
  dc_setup "$JT_WORK/dovecot"
  echo "== $JT_NAME: work folder $JT_WORK, ports from $DC_PORT_BASE"
}

jt_bg() {
  "$@" >>"$JT_WORK/background.log" &
  JT_BG_PIDS+=($!)
  export JT_LAST_BG=$!
}

# jt_wait_file FILE: wait (up to 10 s) until a helper created FILE (its --ready-file).
jt_wait_file() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -e $1 ]] && return 0
    sleep 0.1
  done
  jt_fail "helper never became ready ($1)"
  return 1
}

# jt_count_messages FOLDERDIR: message files in new/ and cur/ (0 when absent).
jt_count_messages() {
  local n=0 sub
  for sub in new cur; do
    [[ -d $1/$sub ]] && n=$((n + $(find "$1/$sub" -type f | wc -l)))
  done
  echo "$n"
}

jt_task() {
  local file=$1
  shift
  "$DC_PY" - "$file" "$@" <<'EOF'
import json, sys
task = {}
for arg in sys.argv[2:]:
    key, value = arg.split("=", 1)
    if value in ("true", "false"):
        value = value == "true"
    elif value.isdigit():
        value = int(value)
    target = task
    *parents, leaf = key.split(".")
    for p in parents:
        target = target.setdefault(p, {})
    target[leaf] = value
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(task, f, ensure_ascii=False, indent=1)
EOF
}

# jt_run NAME SUBCOMMAND ARGS...
jt_run() {
  local name=$1
  shift
  JT_OUT=$JT_WORK/cli/$name.out
  JT_ERR=$JT_WORK/cli/$name.err
  set +e
  SSL_CERT_FILE=$DC_CA timeout --kill-after=5 "$JT_CLI_TIMEOUT" "$JT_BIN" "$@" >"$JT_OUT" 2>"$JT_ERR"
  JT_RC=$?
  set -e
  if ((JT_RC == 124 || JT_RC == 137)); then
    echo "  (junction-proxy $1 did not finish within ${JT_CLI_TIMEOUT}s)"
  fi
}

# Prints the last run's output, indented, for context after a FAIL.
jt_show() {
  echo "  exit status: $JT_RC"
  sed 's/^/  stdout: /' "$JT_OUT" | head -40
  sed 's/^/  stderr: /' "$JT_ERR" | head -40
}

# jt_expect_rc N TEXT
jt_expect_rc() {
  local want=$1
  shift
  if [[ $JT_RC == "$want" ]]; then
    jt_pass "$* (exit $want)"
  else
    jt_fail "$* (exit $JT_RC, expected $want)"
    jt_show
  fi
}

# jt_expect_grep FILE REGEX TEXT (extended regex)
jt_expect_grep() {
  local file=$1 re=$2
  shift 2
  if grep -Eq -- "$re" "$file"; then
    jt_pass "$*"
  else
    jt_fail "$* (no line matches /$re/)"
    jt_show
  fi
}

jt_total() {
  local line
  line=$(grep -E '^total: ' "$JT_OUT" | tail -1) || true
  case $1 in
    new) sed -nE 's/^total: ([0-9]+) new.*/\1/p' <<<"$line" ;;
    had) sed -nE 's/^total: .* ([0-9]+) already had.*/\1/p' <<<"$line" ;;
    deleted) sed -nE 's/^total: .* ([0-9]+) deleted from server.*/\1/p' <<<"$line" ;;
  esac
}

# jt_expect_total "N new, M already had, K deleted from server" TEXT  (any part may be "*")
jt_expect_total() {
  local want=$1
  shift
  local re=${want//\*/[0-9]+}
  if grep -Eq "^total: $re\$" "$JT_OUT"; then
    jt_pass "$* (total: $want)"
  else
    jt_fail "$* (expected 'total: $want', got '$(grep -E '^total:' "$JT_OUT" | tail -1)')"
    jt_show
  fi
}

# jt_expect_folder_line FOLDER "N new, ..." TEXT
jt_expect_folder_line() {
  local folder=$1 want=$2
  shift 2
  local re=${want//\*/[0-9]+}
  if grep -Fq -- "$folder: " "$JT_OUT" &&
    grep -F -- "$folder: " "$JT_OUT" | grep -Eq -- ": $re\$"; then
    jt_pass "$* ($folder: $want)"
  else
    jt_fail "$* (expected '$folder: $want')"
    jt_show
  fi
}

jt_checkmaildir() {
  local out rc=0
  out=$("$DC_PY" "$JT_LIB_DIR/checkmaildir.py" --manifest "$DC_MANIFEST" "$@" 2>&1) || rc=$?
  echo "$out" | sed -n '/^\(PASS\|FAIL\): /p'
  JT_PASSED=$((JT_PASSED + $(grep -c '^PASS: ' <<<"$out" || true)))
  JT_FAILED=$((JT_FAILED + $(grep -c '^FAIL: ' <<<"$out" || true)))
  if ((rc != 0)) && ! grep -q '^FAIL: ' <<<"$out"; then
    jt_fail "checkmaildir.py crashed: $(tail -3 <<<"$out")"
  elif ! grep -Eq '^(PASS|FAIL): ' <<<"$out"; then
    # Exit 0 without a verdict checked nothing: that must not pass silently.
    jt_fail "checkmaildir.py printed no PASS/FAIL line (exit $rc): $(tail -3 <<<"$out")"
  fi
}

jt_finish() {
  echo "== $JT_NAME: $JT_PASSED passed, $JT_FAILED failed"
  ((JT_FAILED == 0))
}
