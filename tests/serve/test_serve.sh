#!/usr/bin/env bash
# `junction-proxy serve` against a real Dovecot: retrieval through the WebSocket bridge driven
# by a native client playing the browser (POP3 and IMAP; plain, STARTTLS through the starttls
# frame, implicit TLS), the messages stored with the append API; the account API (revisions,
# secrets); the scheduler on its own, "run now" and the event stream; the schedule across a
# restart; kill -9 and SIGTERM in the middle of a run; and the security checks (session,
# Origin, egress policy with nothing connected, sign-in rate limit).
# Usage: test_serve.sh /path/to/junction-proxy /path/to/junction_bridge_client
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/common.sh"
SERVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT=${2:-}
if [[ -z $CLIENT || ! -x $CLIENT ]]; then
  echo "usage: test_serve.sh JUNCTION-PROXY JUNCTION_BRIDGE_CLIENT" >&2
  exit 2
fi
CLIENT=$(cd "$(dirname "$CLIENT")" && pwd)/$(basename "$CLIENT")
jt_init test_serve "${1:-}"

SERVE_PID=
SERVE_N=0
stop_serve_at_exit() {
  if [[ -n $SERVE_PID ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
}
trap 'rc=$?; set +e; stop_serve_at_exit; (exit $rc); jt_cleanup' EXIT

DATA=$JT_WORK/data
PORT=$DC_SPARE_PORT1
BASE=http://127.0.0.1:$PORT
LOG=$DC_DIR/log/main.log
ACCOUNT_SECRET=Acct-Secret-7Q2w9-Zk
mkdir -p "$JT_WORK/state" "$JT_WORK/api" "$JT_WORK/serve"

# ---- helpers ----

# jv FILE EXPR: a Python expression over the JSON document d in FILE (prints "ERR" when the
# file is not JSON or the expression fails).
jv() {
  "$DC_PY" -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2])
    print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
except Exception as e:
    print("ERR")' "$1" "$2"
}

# serve_start NAME [ARGS...]: start serve (output in $JT_WORK/serve/NAME.{out,err}) and wait
# until it answers.
serve_start() {
  local name=$1 i code
  shift
  SERVE_N=$((SERVE_N + 1))
  SERVE_OUT=$JT_WORK/serve/$name.out
  SERVE_ERR=$JT_WORK/serve/$name.err
  # The API's tests need no WebAssembly build: the raw web/ folder is served (with a warning).
  SSL_CERT_FILE=$DC_CA "$JT_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" \
    --web "$SERVE_DIR/../../web" \
    --allow "127.0.0.1:$DC_POP3_PORT" --allow "127.0.0.1:$DC_IMAP_PORT" \
    --allow "localhost:$DC_POP3_PORT" --allow "localhost:$DC_IMAP_PORT" \
    --allow "localhost:$DC_POP3S_PORT" --allow "localhost:$DC_IMAPS_PORT" \
    --allow "localhost:$DC_OTHER_POP3S_PORT" --allow "127.0.0.1:$DC_SPARE_PORT3" \
    "$@" >"$SERVE_OUT" 2>"$SERVE_ERR" &
  SERVE_PID=$!
  SERVE_STARTED_AT=$(date +%s)
  for ((i = 0; i < 100; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/account" 2>/dev/null || true)
    [[ $code == 401 ]] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  jt_fail "serve ($name) did not start answering (last HTTP status '$code')"
  sed 's/^/  serve: /' "$SERVE_OUT" "$SERVE_ERR" | head -20
  return 1
}

# serve_term TEXT: SIGTERM; PASS when it exits 0 within 10 s.
serve_term() {
  local text=$1 i rc t0 t1
  t0=$(date +%s.%N)
  kill -TERM "$SERVE_PID"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVE_PID" 2>/dev/null; then
    jt_fail "$text: serve still running 10 s after SIGTERM"
    kill -KILL "$SERVE_PID" 2>/dev/null || true
  fi
  set +e
  wait "$SERVE_PID"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  SERVE_PID=
  if ((rc == 0)); then
    jt_pass "$text: serve exited 0 after SIGTERM ($(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s)"
  else
    jt_fail "$text: serve exited $rc after SIGTERM"
    tail -5 "$SERVE_ERR" | sed 's/^/  serve: /'
  fi
}

add_user() { # NAME PASSWORD
  printf '%s\n' "$2" | "$JT_BIN" user add --data "$DATA" "$1" >/dev/null
}

sign_in() { # JAR USER PASSWORD -> HTTP status
  rm -f "$1"
  curl -s -o "$JT_WORK/api/signin.body" -w '%{http_code}' -c "$1" \
    -H 'Content-Type: application/json' -H "Origin: $BASE" \
    -d "{\"username\":\"$2\",\"password\":\"$3\",\"device_name\":\"test_serve\"}" \
    "$BASE/api/session"
}

# api JAR METHOD PATH [CURL ARGS...]: body in $API_BODY, prints the HTTP status. Sends the
# page's Origin, as a browser does, unless the arguments name another.
API_BODY=$JT_WORK/api/last.body
api() {
  local jar=$1 method=$2 path=$3 origin=(-H "Origin: $BASE") a
  shift 3
  for a in "$@"; do
    [[ ${a,,} == origin:* ]] && origin=()
  done
  curl -s -o "$API_BODY" -w '%{http_code}' -b "$jar" -X "$method" "${origin[@]}" "$@" "$BASE$path"
}

# client NAME ARGS...: the bridge client; JT_RC, JT_OUT, JT_ERR like jt_run.
client() {
  local name=$1
  shift
  JT_OUT=$JT_WORK/cli/$name.out
  JT_ERR=$JT_WORK/cli/$name.err
  set +e
  timeout --kill-after=5 120 "$CLIENT" --url "$BASE" "$@" >"$JT_OUT" 2>"$JT_ERR"
  JT_RC=$?
  set -e
}

# probe NAME TARGET [ARGS...]: the bridge client's --probe as user tester.
probe() {
  local name=$1 target=$2
  shift 2
  client "probe-$name" --user tester --password "$TESTER_PW" --probe "$target" "$@"
}

# expect_denied NAME TARGET CODE: the open is answered with error CODE.
expect_error_code() {
  local name=$1 target=$2 code=$3
  probe "$name" "$target"
  if [[ $JT_RC == 3 ]] && grep -q "^bridge error $code:" "$JT_ERR"; then
    jt_pass "bridge open $target → $code ($(grep -m1 '^bridge error' "$JT_ERR" | cut -c1-110))"
  else
    jt_fail "bridge open $target: expected error $code"
    jt_show
  fi
}

wait_for() { # SECONDS COMMAND...: poll every 0.5 s until COMMAND succeeds
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 2; i++)); do
    "$@" && return 0
    sleep 0.5
  done
  return 1
}

pw_of() { grep "^$1:" "$DC_DIR/users.passwd" | cut -d: -f2 | sed 's/^{PLAIN}//'; }

last_login() { grep -E "(pop3|imap)-login: Info: Login: user=<$1>" "$LOG" | tail -1 || true; }

# account_with_task ACCOUNT.json TASK.json OUT.json: the account document plus one task.
account_with_task() {
  "$DC_PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
account = json.load(open(sys.argv[1]))
task = json.load(open(sys.argv[2]))
doc = {k: v for k, v in account.items() if k != "revision"}
doc.setdefault("retrieval_tasks", []).append(task)
json.dump(doc, open(sys.argv[3], "w"))
EOF
}

# put_task JAR USER-LABEL TASK.json: GET the account, PUT it with the task added; sets TASK_ID
# (the new task's id), PUT_STATUS.
put_task() {
  local jar=$1 label=$2 task=$3 rev
  api "$jar" GET /api/account >/dev/null
  cp "$API_BODY" "$JT_WORK/api/$label-before.json"
  rev=$(jv "$API_BODY" 'd["revision"]')
  account_with_task "$JT_WORK/api/$label-before.json" "$task" "$JT_WORK/api/$label-put.json"
  PUT_STATUS=$(api "$jar" PUT /api/account -H "If-Match: $rev" \
    -H 'Content-Type: application/json' --data-binary "@$JT_WORK/api/$label-put.json")
  cp "$API_BODY" "$JT_WORK/api/$label-after.json"
  TASK_ID=$(jv "$API_BODY" 'd["retrieval_tasks"][-1]["id"]')
}

status_of() { # JAR TASK_ID -> $JT_WORK/api/status.json
  api "$1" GET "/api/tasks/$2/status" >/dev/null
  cp "$API_BODY" "$JT_WORK/api/status.json"
}

# ---- setup ----

dc_start main other
dc_add_user pplain pplain-pw-1
dc_add_user pstls pstls-pw-2
dc_add_user pssl pssl-pw-3
dc_add_user iplain iplain-pw-4
dc_add_user istls istls-pw-5
dc_add_user issl issl-pw-6
dc_add_user sched1 "$ACCOUNT_SECRET"
dc_add_user killsrc killsrc-pw-8
dc_add_user slowsrc slowsrc-pw-9
seed=10
for u in pplain pstls pssl; do
  dc_fill "$u" INBOX 10 "$seed" --no-flags
  seed=$((seed + 1))
done
seed=100
for u in iplain istls issl; do
  dc_create_folder "$u" Work
  dc_fill "$u" INBOX 5 "$seed"
  dc_fill "$u" Work 3 "$((seed + 1))"
  seed=$((seed + 2))
done
dc_fill sched1 INBOX 12 200 --no-flags
dc_fill killsrc INBOX 300 201 --no-flags --big-every 30
dc_fill slowsrc INBOX 60 202 --no-flags --big-every 5

TESTER_PW=tester-password-1
add_user tester "$TESTER_PW"           # id 1: bridge retrievals
add_user sched scheduler-password-2    # id 2: account API and scheduler
add_user killer killer-password-3      # id 3: kill -9 and SIGTERM
add_user victim victim-password-4      # id 4: sign-in rate limit
add_user egress egress-password-5      # id 5: the egress policy on the server's own runs
echo '{"scheduler_interval_override_seconds": 3}' >"$JT_WORK/fast.json"
echo '{"scheduler_interval_override_seconds": 90}' >"$JT_WORK/slow.json"

echo "-- serve starts"
serve_start first --config "$JT_WORK/fast.json"
jt_expect_grep "$SERVE_OUT" "Junction is running: open http://127\.0\.0\.1:$PORT/" \
  "serve prints where to sign in"
if grep -q 'one-time password' "$SERVE_OUT"; then
  jt_fail "serve created an admin although users existed"
else
  jt_pass "no admin user created when users exist already"
fi

echo "-- security"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/account")
jt_check test "$code" = 401 -- "GET /api/account without a session → 401 ($code)"
client no-cookie --no-cookie --probe "127.0.0.1:$DC_POP3_PORT"
jt_check grep -qx 'http 401' "$JT_OUT" -- "/bridge without a session: upgrade refused with 401 ($(cat "$JT_OUT"))"
client evil-origin --user tester --password "$TESTER_PW" --origin http://evil.example \
  --probe "127.0.0.1:$DC_POP3_PORT"
jt_check grep -qx 'http 403' "$JT_OUT" -- "/bridge from Origin http://evil.example: 403 ($(cat "$JT_OUT"))"
client no-origin --user tester --password "$TESTER_PW" --origin "" --probe "127.0.0.1:$DC_POP3_PORT"
jt_check grep -qx 'http 403' "$JT_OUT" -- "/bridge without an Origin: 403 ($(cat "$JT_OUT"))"

TESTER_JAR=$JT_WORK/api/tester.jar
code=$(sign_in "$TESTER_JAR" tester "$TESTER_PW")
jt_check test "$code" = 200 -- "sign-in of tester → 200 ($code)"
jt_check grep -q 'junction_session' "$TESTER_JAR" -- "sign-in sets the session cookie"
jt_check grep -q '^#HttpOnly_' "$TESTER_JAR" -- "the session cookie is HttpOnly"
echo '{"retrieval_tasks": []}' >"$JT_WORK/api/empty.json"
code=$(api "$TESTER_JAR" PUT /api/account -H 'If-Match: 0' -H 'Origin: http://evil.example' \
  -H 'Content-Type: application/json' --data-binary "@$JT_WORK/api/empty.json")
jt_check test "$code" = 403 -- "PUT /api/account from Origin http://evil.example → 403 ($code)"
api "$TESTER_JAR" GET /api/account >/dev/null
rev=$(jv "$API_BODY" 'd["revision"]')
jt_check test "$rev" = 0 -- "the refused PUT changed nothing (revision $rev)"

# Egress: a listener that counts connections on a port no rule allows.
jt_bg "$DC_PY" "$SERVE_DIR/countlisten.py" --port "$DC_SPARE_PORT2" \
  --count-file "$JT_WORK/count2" --ready-file "$JT_WORK/ready-count2"
jt_wait_file "$JT_WORK/ready-count2"
have8080=0
if "$DC_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",8080))' 2>/dev/null; then
  jt_bg "$DC_PY" "$SERVE_DIR/countlisten.py" --port 8080 \
    --count-file "$JT_WORK/count8080" --ready-file "$JT_WORK/ready-count8080"
  jt_wait_file "$JT_WORK/ready-count8080" && have8080=1
fi
expect_error_code loop4 "127.0.0.1:$DC_SPARE_PORT2" egress_denied
expect_error_code loopname "localhost:$DC_SPARE_PORT2" egress_denied
expect_error_code loop6 "[::1]:$DC_SPARE_PORT2" egress_denied
expect_error_code loop6-993 "[::1]:993" egress_denied
expect_error_code private "10.0.0.1:993" egress_denied
expect_error_code metadata "169.254.169.254:443" egress_denied
expect_error_code port8080 "127.0.0.1:8080" egress_denied
expect_error_code mapped "[::ffff:127.0.0.1]:$DC_SPARE_PORT2" egress_denied
expect_error_code publicport "8.8.8.8:8080" egress_denied
expect_error_code allowedport-otherhost "127.0.0.2:$DC_POP3_PORT" egress_denied
expect_error_code dns "no-such-host.invalid:993" dns
expect_error_code certname "localhost:$DC_OTHER_POP3S_PORT:tls" tls_verify
count=$(cat "$JT_WORK/count2")
jt_check test "$count" = 0 -- "nothing connected to the listener on 127.0.0.1/::1:$DC_SPARE_PORT2 ($count connections)"
if ((have8080)); then
  count=$(cat "$JT_WORK/count8080")
  jt_check test "$count" = 0 -- "nothing connected to the listener on 127.0.0.1:8080 ($count connections)"
else
  echo "  (port 8080 is taken here: its connection count is not checked)"
fi

# The server's own runs (scheduled, Retrieve Now) pass the same policy: a task on the counted
# port fails with the policy's refusal and nothing connects. (10.0.0.1 and 169.254.169.254 are
# checked in unit_bridge, inside a network namespace that has only loopback.)
EGRESS_JAR=$JT_WORK/api/egress.jar
code=$(sign_in "$EGRESS_JAR" egress egress-password-5)
jt_check test "$code" = 200 -- "sign-in of egress → 200 ($code)"
for target in "127.0.0.1:$DC_SPARE_PORT2" "localhost:$DC_SPARE_PORT2" "127.0.0.1:995"; do
  jt_task "$JT_WORK/tasks/egress.json" type=pop3 server="${target%:*}" port="${target##*:}" \
    encryption=none username=nobody password=egress-pw leave_on_server=true \
    destination_folder=INBOX method=manual
  put_task "$EGRESS_JAR" "egress-${target//[:.]/-}" "$JT_WORK/tasks/egress.json"
  egress_task=$TASK_ID
  code=$(api "$EGRESS_JAR" POST "/api/tasks/$egress_task/run")
  jt_check test "$code" = 202 -- "Retrieve Now of a task on $target → 202 ($code)"
  egress_refused() {
    status_of "$EGRESS_JAR" "$egress_task"
    [[ $(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') == false ]]
  }
  if wait_for 20 egress_refused; then
    failure=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["failure"]')
    message=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["message"]')
    if [[ $failure == refused && $message == *"is not allowed by the egress policy"* ]]; then
      jt_pass "the run on $target is refused by the egress policy ($message)"
    else
      jt_fail "the run on $target failed otherwise: $failure: $message"
    fi
  else
    jt_fail "no finished run on $target within 20 s: $(head -c 400 "$JT_WORK/api/status.json")"
  fi
done
count=$(cat "$JT_WORK/count2")
jt_check test "$count" = 0 -- "no native run connected to the listener on $DC_SPARE_PORT2 ($count connections)"

probe allowed "127.0.0.1:$DC_POP3_PORT"
if [[ $JT_RC == 0 ]] && [[ $(jv "$JT_OUT" 'd["op"]') == opened ]]; then
  jt_pass "bridge open to an allowed 127.0.0.1:$DC_POP3_PORT → opened ($(head -c 120 "$JT_OUT"))"
else
  jt_fail "bridge open to an allowed 127.0.0.1:$DC_POP3_PORT"
  jt_show
fi
probe allowed-tls "localhost:$DC_POP3S_PORT:tls"
if [[ $JT_RC == 0 ]] && [[ $(jv "$JT_OUT" 'd["tls"]["verified"]') == true ]]; then
  jt_pass "bridge open localhost:$DC_POP3S_PORT with implicit TLS → verified ($(jv "$JT_OUT" 'd["tls"]["version"]'))"
else
  jt_fail "bridge open localhost:$DC_POP3S_PORT with implicit TLS"
  jt_show
fi

VICTIM_JAR=$JT_WORK/api/victim.jar
codes=()
for i in 1 2 3 4 5 6; do codes+=("$(sign_in "$VICTIM_JAR" victim "wrong-password-$i")"); done
jt_check test "${codes[*]}" = "401 401 401 401 401 429" -- "6 wrong sign-ins: the 6th is rate-limited (${codes[*]})"
code=$(sign_in "$VICTIM_JAR" victim victim-password-4)
jt_check test "$code" = 429 -- "while limited even the right password is refused ($code)"
code=$(sign_in "$JT_WORK/api/tester2.jar" tester "$TESTER_PW")
jt_check test "$code" = 200 -- "another user still signs in ($code)"

echo "-- retrieval through the bridge"
for mode in none starttls ssl; do
  case $mode in
    none) user=pplain srv=127.0.0.1 port=$DC_POP3_PORT dest="Bridge/POP3 plain" ;;
    starttls) user=pstls srv=localhost port=$DC_POP3_PORT dest="Bridge/POP3 STLS" ;;
    ssl) user=pssl srv=localhost port=$DC_POP3S_PORT dest="Bridge/POP3 SSL" ;;
  esac
  jt_task "$JT_WORK/tasks/$user.json" type=pop3 server="$srv" port="$port" encryption="$mode" \
    username="$user" password="$(pw_of "$user")" leave_on_server=true destination_folder="$dest"
  client "pop3-$mode-1" --user tester --password "$TESTER_PW" --task "$JT_WORK/tasks/$user.json" \
    --state "$JT_WORK/state/$user"
  jt_expect_rc 0 "bridge pop3 $mode: the run succeeds"
  jt_expect_total "10 new, 0 already had, 0 deleted from server" "bridge pop3 $mode: first run"
  jt_expect_folder_line "$dest" "10 new, 0 already had, 0 deleted from server" "bridge pop3 $mode: folder line"
  line=$(last_login "$user")
  case $mode in
    none) [[ -n $line && ! $line =~ ,\ TLS[,:] ]] ;;
    *) [[ $line =~ ,\ TLS[,:] ]] ;;
  esac && jt_pass "bridge pop3 $mode: Dovecot logged a login $([[ $mode == none ]] && echo without || echo with) TLS" ||
    jt_fail "bridge pop3 $mode: Dovecot's login line does not match: $line"
  case $mode in
    starttls) jt_expect_grep "$JT_ERR" '^tls .*"verified":true' "bridge pop3 starttls: the starttls frame answered, certificate verified" ;;
    ssl) jt_expect_grep "$JT_ERR" '^opened .*"verified":true' "bridge pop3 ssl: opened with a verified certificate" ;;
  esac
  client "pop3-$mode-2" --user tester --password "$TESTER_PW" --task "$JT_WORK/tasks/$user.json" \
    --state "$JT_WORK/state/$user"
  jt_expect_rc 0 "bridge pop3 $mode: second run succeeds"
  jt_expect_total "0 new, * already had, 0 deleted from server" "bridge pop3 $mode: second run adds nothing"
done
# Without the saved state, the mailbox itself recognises every message by its key.
client pop3-none-nostate --user tester --password "$TESTER_PW" --task "$JT_WORK/tasks/pplain.json" \
  --state "$JT_WORK/state/pplain-fresh"
jt_expect_rc 0 "bridge pop3 without saved state: the run succeeds"
jt_expect_total "0 new, 10 already had, 0 deleted from server" "bridge pop3 without saved state: the append API answers already_had"

for mode in none starttls ssl; do
  case $mode in
    none) user=iplain srv=127.0.0.1 port=$DC_IMAP_PORT parent="Bridge/IMAP plain" ;;
    starttls) user=istls srv=localhost port=$DC_IMAP_PORT parent="Bridge/IMAP STARTTLS" ;;
    ssl) user=issl srv=localhost port=$DC_IMAPS_PORT parent="Bridge/IMAP SSL" ;;
  esac
  jt_task "$JT_WORK/tasks/$user.json" type=imap server="$srv" port="$port" encryption="$mode" \
    username="$user" password="$(pw_of "$user")" folder_transfer.mode=subfolder folder_transfer.parent="$parent"
  client "imap-$mode-1" --user tester --password "$TESTER_PW" --task "$JT_WORK/tasks/$user.json" \
    --state "$JT_WORK/state/$user"
  jt_expect_rc 0 "bridge imap $mode: the run succeeds"
  jt_expect_total "8 new, 0 already had, 0 deleted from server" "bridge imap $mode: first run"
  jt_expect_folder_line "$parent/INBOX" "5 new, 0 already had, 0 deleted from server" "bridge imap $mode: INBOX line"
  jt_expect_folder_line "$parent/Work" "3 new, 0 already had, 0 deleted from server" "bridge imap $mode: Work line"
  line=$(last_login "$user")
  case $mode in
    none) [[ -n $line && ! $line =~ ,\ TLS[,:] ]] ;;
    *) [[ $line =~ ,\ TLS[,:] ]] ;;
  esac && jt_pass "bridge imap $mode: Dovecot logged a login $([[ $mode == none ]] && echo without || echo with) TLS" ||
    jt_fail "bridge imap $mode: Dovecot's login line does not match: $line"
  client "imap-$mode-2" --user tester --password "$TESTER_PW" --task "$JT_WORK/tasks/$user.json" \
    --state "$JT_WORK/state/$user"
  jt_expect_rc 0 "bridge imap $mode: second run succeeds"
  jt_expect_total "0 new, * already had, 0 deleted from server" "bridge imap $mode: second run adds nothing"
done

MB1=$DATA/users/1/mailbox
jt_check test -d "$MB1" -- "tester's mailbox is at DATA/users/1/mailbox"
jt_checkmaildir --mailbox "$MB1" --flags --mtime --label "bridge imap (flags, dates)" \
  --expect "Bridge/IMAP plain/INBOX=iplain:INBOX" --expect "Bridge/IMAP plain/Work=iplain:Work" \
  --expect "Bridge/IMAP STARTTLS/INBOX=istls:INBOX" --expect "Bridge/IMAP STARTTLS/Work=istls:Work" \
  --expect "Bridge/IMAP SSL/INBOX=issl:INBOX" --expect "Bridge/IMAP SSL/Work=issl:Work"
jt_checkmaildir --mailbox "$MB1" --exact --dovecot "$JT_WORK/view-bridge" --label "bridge (all)" \
  --expect "Bridge/POP3 plain=pplain:INBOX" --expect "Bridge/POP3 STLS=pstls:INBOX" \
  --expect "Bridge/POP3 SSL=pssl:INBOX" \
  --expect "Bridge/IMAP plain/INBOX=iplain:INBOX" --expect "Bridge/IMAP plain/Work=iplain:Work" \
  --expect "Bridge/IMAP STARTTLS/INBOX=istls:INBOX" --expect "Bridge/IMAP STARTTLS/Work=istls:Work" \
  --expect "Bridge/IMAP SSL/INBOX=issl:INBOX" --expect "Bridge/IMAP SSL/Work=issl:Work"

code=$(api "$TESTER_JAR" GET /api/mailbox/folders)
cp "$API_BODY" "$JT_WORK/api/folders.json"
n=$(jv "$JT_WORK/api/folders.json" '[f["total"] for f in d if f["name"] == "Bridge/POP3 STLS"]')
jt_check test "$code $n" = "200 [10]" -- "GET /api/mailbox/folders lists Bridge/POP3 STLS with 10 messages ($code $n)"
n=$(jv "$JT_WORK/api/folders.json" 'sum(f["total"] for f in d)')
jt_check test "$n" = 54 -- "GET /api/mailbox/folders counts 54 messages in all ($n)"
code=$(api "$TESTER_JAR" GET "/api/mailbox/messages?folder=Bridge%2FIMAP%20SSL%2FINBOX&page=0")
cp "$API_BODY" "$JT_WORK/api/messages.json"
n=$(jv "$JT_WORK/api/messages.json" '(d["total"], len(d["messages"]))')
jt_check test "$code $n" = "200 (5, 5)" -- "GET /api/mailbox/messages lists the 5 of Bridge/IMAP SSL/INBOX ($code $n)"
id=$(jv "$JT_WORK/api/messages.json" 'd["messages"][0]["id"]')
code=$(api "$TESTER_JAR" GET "/api/mailbox/messages/$id/raw")
sha=$(sha256sum "$API_BODY" | cut -d' ' -f1)
if [[ $code == 200 ]] && awk -F'\t' -v s="$sha" '$1=="issl" && $4==s {f=1} END {exit !f}' "$DC_MANIFEST"; then
  jt_pass "GET /api/mailbox/messages/{id}/raw gives a message of issl byte for byte"
else
  jt_fail "GET /api/mailbox/messages/{id}/raw ($code, sha256 $sha not in issl's manifest)"
fi

echo "-- account API and the scheduler"
SCHED_JAR=$JT_WORK/api/sched.jar
code=$(sign_in "$SCHED_JAR" sched scheduler-password-2)
jt_check test "$code" = 200 -- "sign-in of sched → 200 ($code)"
# -v: curl writes the response head ("< HTTP/1.1 200") to stderr as it arrives, unbuffered.
timeout 60 curl -sNv -b "$SCHED_JAR" "$BASE/api/events" >"$JT_WORK/api/events.txt" \
  2>"$JT_WORK/api/events.err" &
JT_BG_PIDS+=($!)
SSE_PID=$!
# The server subscribes the stream before it writes the head: once the head is here, no event
# of the account changes below can be missed.
events_subscribed() { grep -q '^< HTTP/1.1 200' "$JT_WORK/api/events.err"; }
wait_for 10 events_subscribed ||
  jt_fail "GET /api/events gave no 200 head within 10 s: $(tail -3 "$JT_WORK/api/events.err")"
# The events of SCHED_TASK that arrived after byte offset $1 of the stream (data lines).
sched_events_since() {
  tail -c +$(($1 + 1)) "$JT_WORK/api/events.txt" | grep '^data: ' |
    grep -F "\"task_id\":\"$SCHED_TASK\"" || true
}
events_offset() { wc -c <"$JT_WORK/api/events.txt"; }
code=$(api "$SCHED_JAR" GET /api/account)
rev=$(jv "$API_BODY" 'd["revision"]')
jt_check test "$code $rev" = "200 0" -- "GET /api/account of a new user: revision 0 ($code $rev)"
jt_task "$JT_WORK/tasks/sched1.json" type=pop3 server=127.0.0.1 port="$DC_POP3_PORT" \
  encryption=none username=sched1 password="$ACCOUNT_SECRET" leave_on_server=false \
  destination_folder=INBOX method=automatic interval_minutes=10
put_task "$SCHED_JAR" sched "$JT_WORK/tasks/sched1.json"
SCHED_TASK=$TASK_ID
rev=$(jv "$API_BODY" 'd["revision"]')
jt_check test "$PUT_STATUS $rev" = "200 1" -- "PUT /api/account with If-Match 0 → 200, revision 1 ($PUT_STATUS $rev)"
jt_check test -n "$SCHED_TASK" -a "$SCHED_TASK" != ERR -- "the new task has an id ($SCHED_TASK)"
code=$(api "$SCHED_JAR" PUT /api/account -H 'If-Match: 0' -H 'Content-Type: application/json' \
  --data-binary "@$JT_WORK/api/empty.json")
rev=$(jv "$API_BODY" 'd["revision"]')
ids=$(jv "$API_BODY" '[t["id"] for t in d["retrieval_tasks"]]')
jt_check test "$code $rev $ids" = "412 1 [\"$SCHED_TASK\"]" -- "a stale PUT (If-Match 0) → 412 with the current document ($code, revision $rev, tasks $ids)"
api "$SCHED_JAR" GET /api/account >/dev/null
jt_check test "$(grep -c -- "$ACCOUNT_SECRET" "$API_BODY" || true)" = 0 -- "GET /api/account does not carry the task's password"
jt_check test "$(jv "$API_BODY" 'd["retrieval_tasks"][0].get("password_set")')" = true -- "GET /api/account shows password_set for it"
code=$(api "$SCHED_JAR" GET "/api/account/retrieval_tasks/$SCHED_TASK/secrets")
pw=$(jv "$API_BODY" 'd["secrets"]["password"]')
jt_check test "$code $pw" = "200 $ACCOUNT_SECRET" -- "GET /api/account/retrieval_tasks/{id}/secrets returns the task's password to its owner ($code)"
api "$TESTER_JAR" GET /api/account >/dev/null
jt_check test "$(grep -c "$ACCOUNT_SECRET" "$API_BODY" || true)" = 0 -- "another user's account does not show it"
code=$(api "$TESTER_JAR" GET "/api/account/retrieval_tasks/$SCHED_TASK/secrets")
jt_check test "$code $(grep -c -- "$ACCOUNT_SECRET" "$API_BODY" || true)" = "404 0" -- "nor do its secrets route ($code)"

sched_ran() {
  status_of "$SCHED_JAR" "$SCHED_TASK"
  [[ $(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') == true ]]
}
if wait_for 30 sched_ran; then
  jt_pass "the scheduler ran the automatic task on its own ($(jv "$JT_WORK/api/status.json" 'd["last_run"]["folders"]'))"
else
  jt_fail "no successful scheduled run within 30 s: $(head -c 400 "$JT_WORK/api/status.json")"
fi
first_started=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["started_at"]')
jt_checkmaildir --mailbox "$DATA/users/2/mailbox" --exact --label "scheduled run" \
  --expect "INBOX=sched1:INBOX"
count=$(dc_count sched1 INBOX)
jt_check test "$count" = 0 -- "the scheduled run deleted the messages at the source ($count left)"
sched_ran_again() {
  status_of "$SCHED_JAR" "$SCHED_TASK"
  local s
  s=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["started_at"]')
  [[ $s != ERR && $s -gt $first_started ]]
}
if wait_for 15 sched_ran_again; then
  jt_pass "the scheduler runs it again after the (test) interval (next_run_at $(jv "$JT_WORK/api/status.json" 'd["next_run_at"]'))"
else
  jt_fail "no second scheduled run within 15 s: $(head -c 400 "$JT_WORK/api/status.json")"
fi
# "Run now": 409 only while a run holds the task (the scheduler's, every 3 s here), so it is
# asked again until it answers 202, and the manual run must then happen.
ev_from=$(events_offset)
run_now_accepted() {
  run_code=$(api "$SCHED_JAR" POST "/api/tasks/$SCHED_TASK/run")
  [[ $run_code == 202 ]]
}
if wait_for 15 run_now_accepted; then
  jt_pass "POST /api/tasks/{id}/run → 202"
  manual_run_finished() {
    sched_events_since "$ev_from" | grep -F '"type":"run_finished"' | grep -qF '"trigger":"manual"'
  }
  if wait_for 15 manual_run_finished; then
    jt_pass "the manual run happened and finished ($(sched_events_since "$ev_from" |
      grep -F '"trigger":"manual"' | grep -F '"type":"run_finished"' | grep -oE '"ok":[a-z]+'))"
  else
    jt_fail "run now → 202, but no manual run finished within 15 s: $(sched_events_since "$ev_from" | tail -3)"
  fi
else
  jt_fail "POST /api/tasks/{id}/run never answered 202 in 15 s (last: $run_code $(head -c 200 "$API_BODY"))"
fi
# A browser holds the task's lease ("one run of a task at a time, including a manual run from
# a browser"): while it does, the scheduler (due every 3 s) must not start a run, and "run now"
# must answer 409.
take_browser_lease() {
  t_lease=$(date +%s)
  [[ $(api "$SCHED_JAR" POST "/api/tasks/$SCHED_TASK/lease" -H 'Content-Type: application/json' \
    -d '{"owner":"test-browser","seconds":60}') == 200 ]]
}
if wait_for 15 take_browser_lease; then
  ev_from=$(events_offset)
  status_of "$SCHED_JAR" "$SCHED_TASK"
  next_before=$(jv "$JT_WORK/api/status.json" 'd["next_run_at"]')
  # The scheduler has come by while the lease is held once it moved the task's next run: a
  # scheduler that finds the lease taken puts the run off by 30 s, which may already have
  # happened between the lease and the first look (a scheduler that ignored the lease would
  # have started a run by then).
  scheduler_came_by() {
    status_of "$SCHED_JAR" "$SCHED_TASK"
    local next
    next=$(jv "$JT_WORK/api/status.json" 'd["next_run_at"]')
    [[ $next != "$next_before" ]] || [[ $next =~ ^[0-9]+$ && $next -ge $((t_lease + 10)) ]]
  }
  if wait_for 15 scheduler_came_by; then
    jt_pass "the scheduler came due while the browser held the lease (next run $next_before → $(jv "$JT_WORK/api/status.json" 'd["next_run_at"]'))"
  else
    jt_fail "the scheduler did not come by within 15 s of the lease (next_run_at stays $next_before)"
  fi
  code=$(api "$SCHED_JAR" POST "/api/tasks/$SCHED_TASK/run")
  jt_check test "$code" = 409 -- "run now while a browser holds the lease → 409 ($code)"
  started=$(sched_events_since "$ev_from" | grep -F '"type":"run_started"' || true)
  code=$(api "$SCHED_JAR" DELETE "/api/tasks/$SCHED_TASK/lease?owner=test-browser")
  jt_check test "$code" = 204 -- "the browser gives the lease back ($code)"
  jt_check test -z "$started" -- "no native run started while the browser held the lease${started:+: $started}"
else
  jt_fail "a browser could not take the task's lease within 15 s ($(head -c 200 "$API_BODY"))"
fi
code=$(api "$SCHED_JAR" POST "/api/tasks/no-such-task/run")
jt_check test "$code" = 404 -- "POST /api/tasks/no-such-task/run → 404 ($code)"
code=$(api "$TESTER_JAR" GET "/api/tasks/$SCHED_TASK/status")
jt_check test "$code" = 404 -- "another user cannot see the task's status ($code)"
stream_carried_all() {
  local ev
  for ev in run_started progress run_finished account_changed; do
    grep -q "\"type\":\"$ev\"" "$JT_WORK/api/events.txt" || return 1
  done
}
wait_for 10 stream_carried_all || true
kill "$SSE_PID" 2>/dev/null || true
for ev in run_started progress run_finished account_changed; do
  jt_check grep -q "\"type\":\"$ev\"" "$JT_WORK/api/events.txt" -- "the event stream carried $ev"
done
jt_check grep -qE '^data: ' "$JT_WORK/api/events.txt" -- "the event stream is SSE (data: lines)"

serve_term "idle"

# After serve stopped, so that no file comes or goes under the scan. grep exits 1 when nothing
# matched, 0 on a match and 2 when it could not read something: only 1 passes.
expect_in_no_file() { # TEXT DESCRIPTION
  local hits rc=0
  hits=$(grep -rla -- "$1" "$DATA" "$JT_WORK/serve" 2>"$JT_WORK/api/grep.err") || rc=$?
  case $rc in
    1) jt_pass "$2" ;;
    0) jt_fail "$2: found in $hits" ;;
    *) jt_fail "$2: grep could not search everything (exit $rc): $(head -3 "$JT_WORK/api/grep.err")" ;;
  esac
}
expect_in_no_file "$ACCOUNT_SECRET" \
  "the task's password is in no file under DATA (junction.db, -wal, …) nor in serve's output"
expect_in_no_file "$TESTER_PW" "the users' sign-in passwords are not stored in clear"
db_files=("$DATA"/junction.db*)
echo "  (searched ${#db_files[@]} database files: ${db_files[*]##*/})"
mode=$(stat -c %a "$DATA/secret.key" 2>/dev/null || echo missing)
jt_check test "$mode" = 600 -- "the key file has mode 0600 ($mode)"

echo "-- the schedule survives a restart"
serve_start second --config "$JT_WORK/slow.json"
# Wait for a settled entry some seconds ahead (a due entry runs first and then waits 90 s).
settled_future_entry() {
  status_of "$SCHED_JAR" "$SCHED_TASK"
  local next running
  next=$(jv "$JT_WORK/api/status.json" 'd["next_run_at"]')
  running=$(jv "$JT_WORK/api/status.json" 'd["running"]')
  [[ $next != ERR && $next != None && $running == false ]] && ((next > $(date +%s) + 5))
}
if wait_for 30 settled_future_entry; then
  before=$(jv "$JT_WORK/api/status.json" 'd["next_run_at"]')
  serve_term "restart"
  serve_start third --config "$JT_WORK/slow.json"
  status_of "$SCHED_JAR" "$SCHED_TASK"
  after=$(jv "$JT_WORK/api/status.json" 'd["next_run_at"]')
  jt_check test "$before" = "$after" -- "next_run_at survives the restart ($before before, $after after, now $(date +%s))"
else
  jt_fail "no settled schedule entry for the task after the restart: $(head -c 400 "$JT_WORK/api/status.json")"
fi

echo "-- kill -9 in the middle of a scheduled run"
jt_bg "$DC_PY" "$JT_LIB_DIR/cutproxy.py" --listen-port "$DC_SPARE_PORT3" \
  --target-port "$DC_POP3_PORT" --rate 600000 --lifetime 600 --ready-file "$JT_WORK/ready-slow"
jt_wait_file "$JT_WORK/ready-slow"
KILLER_JAR=$JT_WORK/api/killer.jar
sign_in "$KILLER_JAR" killer killer-password-3 >/dev/null
jt_task "$JT_WORK/tasks/killsrc.json" type=pop3 server=127.0.0.1 port="$DC_SPARE_PORT3" \
  encryption=none username=killsrc password=killsrc-pw-8 leave_on_server=false \
  destination_folder=INBOX method=automatic interval_minutes=10
put_task "$KILLER_JAR" killer "$JT_WORK/tasks/killsrc.json"
KILL_TASK=$TASK_ID
jt_check test "$PUT_STATUS" = 200 -- "PUT the 300-message task ($PUT_STATUS)"
MB3=$DATA/users/3/mailbox
stored=0
for ((i = 0; i < 400; i++)); do
  stored=$(jt_count_messages "$MB3")
  ((stored >= 60)) && break
  sleep 0.05
done
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
SERVE_PID=
stored=$(jt_count_messages "$MB3")
if ((stored > 0 && stored < 300)); then
  jt_pass "killed serve in the middle of the scheduled run ($stored of 300 stored)"
else
  jt_fail "the kill did not land in the middle of the run ($stored of 300 stored)"
fi
serve_start fourth --config "$JT_WORK/slow.json"
t0=$SERVE_STARTED_AT
killed_task_done() {
  status_of "$KILLER_JAR" "$KILL_TASK"
  local s
  s=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["started_at"]')
  [[ $s != ERR && $s -ge $t0 && $(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') == true ]]
}
t1=$(date +%s)
if wait_for 200 killed_task_done; then
  jt_pass "after the restart the scheduler completed the run on its own ($(($(date +%s) - t1)) s after the restart; $(jv "$JT_WORK/api/status.json" 'd["last_run"]["folders"]'))"
else
  jt_fail "no successful run of the killed task within 200 s of the restart: $(head -c 400 "$JT_WORK/api/status.json")"
fi
jt_checkmaildir --mailbox "$MB3" --exact --label "kill -9 + scheduled re-run" --expect "INBOX=killsrc:INBOX"
count=$(dc_count killsrc INBOX)
jt_check test "$count" = 0 -- "kill -9: the source is empty after the re-run ($count left)"

echo "-- SIGTERM in the middle of a run"
jt_task "$JT_WORK/tasks/slowsrc.json" type=pop3 server=127.0.0.1 port="$DC_SPARE_PORT3" \
  encryption=none username=slowsrc password=slowsrc-pw-9 leave_on_server=false \
  destination_folder=Slow method=manual
put_task "$KILLER_JAR" killer2 "$JT_WORK/tasks/slowsrc.json"
SLOW_TASK=$TASK_ID
code=$(api "$KILLER_JAR" POST "/api/tasks/$SLOW_TASK/run")
jt_check test "$code" = 202 -- "POST /api/tasks/{id}/run of a manual task → 202 ($code)"
# Deliveries become visible at commit (in batches): watch the run's progress instead.
slow_progress() {
  status_of "$KILLER_JAR" "$SLOW_TASK"
  local n
  n=$(jv "$JT_WORK/api/status.json" '(d["progress"] or {}).get("done", 0)')
  [[ $n != ERR ]] && ((n >= 5))
}
wait_for 20 slow_progress || true
running=$(jv "$JT_WORK/api/status.json" 'd["running"]')
n=$(jv "$JT_WORK/api/status.json" '(d["progress"] or {}).get("done", 0)')
jt_check test "$running" = true -a "$n" != 60 -- "the run is in progress when SIGTERM comes ($n of 60 retrieved)"
serve_term "during a run"
serve_start fifth --config "$JT_WORK/slow.json"
status_of "$KILLER_JAR" "$SLOW_TASK"
jt_check test "$(jv "$JT_WORK/api/status.json" 'd["last_run"]["failure"]')" = cancelled -- "the interrupted run is recorded as cancelled ($(jv "$JT_WORK/api/status.json" 'd["last_run"]["message"]'))"
code=$(api "$KILLER_JAR" POST "/api/tasks/$SLOW_TASK/run")
slow_done() {
  status_of "$KILLER_JAR" "$SLOW_TASK"
  [[ $(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') == true ]]
}
if [[ $code == 202 ]] && wait_for 60 slow_done; then
  jt_pass "the manual run after the restart succeeds ($(jv "$JT_WORK/api/status.json" 'd["last_run"]["folders"]'))"
else
  jt_fail "the manual run after the restart ($code): $(head -c 400 "$JT_WORK/api/status.json")"
fi
jt_checkmaildir --mailbox "$MB3" --exact --label "SIGTERM + re-run" \
  --expect "INBOX=killsrc:INBOX" --expect "Slow=slowsrc:INBOX"
count=$(dc_count slowsrc INBOX)
jt_check test "$count" = 0 -- "SIGTERM: the source is empty after the re-run ($count left)"
serve_term "at the end"

echo "-- work for strangers (review F3, F9, F10)"
add_user stranger-a stranger-a-password-1
add_user stranger-b stranger-b-password-2
echo '{"max_connections_per_address": 4, "header_timeout_seconds": 2}' >"$JT_WORK/strangers.json"
serve_start strangers --config "$JT_WORK/strangers.json"
read -r status secs pushed < <("$DC_PY" "$SERVE_DIR/strangers.py" bigpost "$PORT")
jt_check test "$status" = 401 -- "an unauthenticated 50 MB POST is answered 401 ($status after $secs s)"
jt_check awk "BEGIN { exit !($secs < 2) }" -- "... at once, not after reading the body ($secs s)"
jt_check test "$pushed" -lt $((16 << 20)) -- "... and the server stops reading it ($pushed more bytes pushed before the close)"
read -r held verdict secs < <("$DC_PY" "$SERVE_DIR/strangers.py" slowloris "$PORT" 4)
jt_check test "$verdict" = refused -- "a 5th connection from one address while $held trickle headers is refused ($verdict)"
jt_check awk "BEGIN { exit !($secs < 6) }" -- "the trickling connections are closed at the 2 s header deadline (after $secs s)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/account")
jt_check test "$code" = 401 -- "the server answers again after the slowloris ($code)"
read -r status secs alone < <("$DC_PY" "$SERVE_DIR/strangers.py" burst "$PORT" stranger-b \
  stranger-a stranger-b-password-2 40)
jt_check test "$status" = 200 -- "stranger-b signs in during 40 wrong sign-ins for stranger-a from 40 addresses ($status)"
# Before: the burst's 40 hashes ran first on the I/O threads (about 20 sign-ins' time).
jt_check awk "BEGIN { exit !($secs < 4 * $alone + 1) }" -- "... in $secs s, against $alone s for a sign-in alone"
STRANGER_JAR=$JT_WORK/api/stranger.jar
code=$(sign_in "$STRANGER_JAR" stranger-b stranger-b-password-2)
jt_check test "$code" = 200 -- "stranger-b signs in with the page's Origin ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"stranger-b","password":"stranger-b-password-2"}' "$BASE/api/session")
jt_check test "$code" = 403 -- "POST /api/session without an Origin → 403 ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$STRANGER_JAR" -X DELETE "$BASE/api/session")
jt_check test "$code" = 403 -- "DELETE /api/session without an Origin → 403 ($code)"
# (curl matches cookies against a given Host: these go without the session, so 401 is the
# answer of a server that took the request.)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: rebind.evil.example:$PORT" \
  "$BASE/api/session")
jt_check test "$code" = 421 -- "a request for Host rebind.evil.example → 421 ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: localhost:$PORT" "$BASE/api/session")
jt_check test "$code" = 401 -- "... and one for Host localhost is served (401 without a session: $code)"
serve_term "after the strangers"

echo "-- credentials: the first start's password, file modes, sessions, a moved task"
# A fresh data folder under a permissive umask: what serve creates must still be private.
umask 022
DATA=$JT_WORK/fresh-data
serve_start fresh --config "$JT_WORK/slow.json"
PW_FILE=$DATA/initial-password
jt_expect_grep "$SERVE_OUT" "one-time password is in $PW_FILE" \
  "the first start says where the one-time password of admin is"
FIRST_PW=$(head -n 1 "$PW_FILE" 2>/dev/null || true)
jt_check test "${#FIRST_PW}" -ge 10 -- "$PW_FILE holds a one-time password (${#FIRST_PW} characters)"
if grep -qE 'one-time password [0-9a-f]{6,}' "$SERVE_OUT" "$SERVE_ERR" ||
  [[ -z $FIRST_PW ]] || grep -qF -- "$FIRST_PW" "$SERVE_OUT" "$SERVE_ERR"; then
  jt_fail "serve's output carries the one-time password (or there is none in the file)"
else
  jt_pass "serve's output does not carry the one-time password"
fi
for f in "$DATA:700" "$PW_FILE:600" "$DATA/junction.db:600" "$DATA/junction.db-wal:600" \
  "$DATA/junction.db-shm:600" "$DATA/secret.key:600"; do
  mode=$(stat -c %a "${f%:*}" 2>/dev/null || echo missing)
  jt_check test "$mode" = "${f##*:}" -- "${f%:*} has mode ${f##*:} under umask 022 ($mode)"
done

ADMIN_JAR=$JT_WORK/api/admin.jar
ADMIN2_JAR=$JT_WORK/api/admin2.jar
code=$(sign_in "$ADMIN_JAR" admin "$FIRST_PW")
must=$(jv "$JT_WORK/api/signin.body" 'd["must_change_password"]')
jt_check test "$code $must" = "200 true" -- "admin signs in with the one-time password and must change it ($code $must)"
code2=$(sign_in "$ADMIN2_JAR" admin "$FIRST_PW")
code=$(api "$ADMIN_JAR" GET /api/account)
jt_check test "$code $(jv "$API_BODY" 'd["code"]')" = "403 password_change_required" -- "the server refuses GET /api/account until the password is changed ($code)"
code=$(api "$ADMIN_JAR" PUT /api/account -H 'If-Match: 0' -H "Origin: $BASE" \
  -H 'Content-Type: application/json' --data-binary "@$JT_WORK/api/empty.json")
jt_check test "$code" = 403 -- "and PUT /api/account ($code)"
code=$(api "$ADMIN_JAR" GET /api/session)
jt_check test "$code" = 200 -- "GET /api/session still answers ($code)"
code=$(api "$ADMIN_JAR" POST /api/password -H "Origin: $BASE" -H 'Content-Type: application/json' \
  -d "{\"old\":\"$FIRST_PW\",\"new\":\"admin-chosen-pw-1\"}")
jt_check test "$code" = 204 -- "POST /api/password with the one-time password → 204 ($code)"
jt_check test -n "$FIRST_PW" -a ! -e "$PW_FILE" -- "the one-time password's file is gone once it is changed"
code=$(api "$ADMIN_JAR" GET /api/account)
jt_check test "$code" = 200 -- "the session that changed the password goes on ($code)"
code=$(api "$ADMIN2_JAR" GET /api/account)
jt_check test "$code2 $code" = "200 401" -- "the user's other session ended with the password change (sign-in $code2, then $code)"

# A task moved to another server, port, user or encryption loses its stored password.
jt_task "$JT_WORK/tasks/moved.json" type=pop3 server=127.0.0.1 port="$DC_POP3_PORT" \
  encryption=none username=sched1 password="$ACCOUNT_SECRET" leave_on_server=true \
  destination_folder=INBOX method=manual
put_task "$ADMIN_JAR" moved "$JT_WORK/tasks/moved.json"
MOVED_TASK=$TASK_ID
jt_check test "$PUT_STATUS" = 200 -- "admin saves a task ($PUT_STATUS)"
moved_run() { # POST run, then wait for another finished run; its status in status.json
  status_of "$ADMIN_JAR" "$MOVED_TASK"
  MOVED_BEFORE=$(jv "$JT_WORK/api/status.json" 'd.get("last_run")')
  [[ $(api "$ADMIN_JAR" POST "/api/tasks/$MOVED_TASK/run" -H "Origin: $BASE") == 202 ]] || return 1
  wait_for 30 moved_run_finished
}
moved_run_finished() {
  status_of "$ADMIN_JAR" "$MOVED_TASK"
  [[ $(jv "$JT_WORK/api/status.json" 'd.get("last_run")') != "$MOVED_BEFORE" &&
    $(jv "$JT_WORK/api/status.json" 'd["running"]') == false ]]
}
moved_run && ok=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') || ok=ERR
jt_check test "$ok" = true -- "the task runs with its stored password ($ok)"
rm -f "$JT_WORK/api/moved-put.json"
"$DC_PY" - "$JT_WORK/api/moved-after.json" "$JT_WORK/api/moved-put.json" <<'PY' || true
import json, sys
doc = json.load(open(sys.argv[1]))
del doc["revision"]
doc["retrieval_tasks"][-1]["server"] = "localhost"  # same Dovecot, another name: a new place
json.dump(doc, open(sys.argv[2], "w"))
PY
[[ -s $JT_WORK/api/moved-put.json ]] || echo '{}' >"$JT_WORK/api/moved-put.json"
rev=$(jv "$JT_WORK/api/moved-after.json" 'd["revision"]')
code=$(api "$ADMIN_JAR" PUT /api/account -H "If-Match: $rev" -H "Origin: $BASE" \
  -H 'Content-Type: application/json' --data-binary "@$JT_WORK/api/moved-put.json")
cp "$API_BODY" "$JT_WORK/api/moved-after.json"
set_flag=$(jv "$API_BODY" 'd["retrieval_tasks"][-1].get("password_set", False)')
jt_check test "$code $set_flag" = "200 false" -- "PUT with the server changed and no password: the stored one is dropped ($code, password_set $set_flag)"
code=$(api "$ADMIN_JAR" GET "/api/account/retrieval_tasks/$MOVED_TASK/secrets")
jt_check test "$code $(jv "$API_BODY" 'd["secrets"]')" = "200 {}" -- "its secrets route has no password ($code $(head -c 100 "$API_BODY"))"
logins_before=$(grep -c "Login: user=<sched1>" "$LOG" || true)
moved_run && failure=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["failure"]') || failure=ERR
jt_check test "$failure" = login -- "the moved task's run fails at the login ($failure: $(jv "$JT_WORK/api/status.json" 'd["last_run"]["message"]'))"
logins_after=$(grep -c "Login: user=<sched1>" "$LOG" || true)
jt_check test "$logins_after" = "$logins_before" -- "and nobody logged in as sched1 with the old password ($logins_before → $logins_after)"
rm -f "$JT_WORK/api/moved-put.json"
"$DC_PY" - "$JT_WORK/api/moved-after.json" "$JT_WORK/api/moved-put.json" "$ACCOUNT_SECRET" <<'PY' || true
import json, sys
doc = json.load(open(sys.argv[1]))
del doc["revision"]
doc["retrieval_tasks"][-1]["password"] = sys.argv[3]
json.dump(doc, open(sys.argv[2], "w"))
PY
[[ -s $JT_WORK/api/moved-put.json ]] || echo '{}' >"$JT_WORK/api/moved-put.json"
rev=$(jv "$JT_WORK/api/moved-after.json" 'd["revision"]')
code=$(api "$ADMIN_JAR" PUT /api/account -H "If-Match: $rev" -H "Origin: $BASE" \
  -H 'Content-Type: application/json' --data-binary "@$JT_WORK/api/moved-put.json")
jt_check test "$code" = 200 -- "the password given again is stored ($code)"
moved_run && ok=$(jv "$JT_WORK/api/status.json" 'd["last_run"]["ok"]') || ok=ERR
jt_check test "$ok" = true -- "and the moved task runs again ($ok)"

# `user passwd` on the command line ends every session of the user.
printf '%s\n' admin-chosen-pw-2 | "$JT_BIN" user passwd --data "$DATA" admin >/dev/null
code=$(api "$ADMIN_JAR" GET /api/account)
jt_check test "$code" = 401 -- "junction-proxy user passwd ends the user's sessions ($code)"
code=$(sign_in "$ADMIN_JAR" admin admin-chosen-pw-2)
jt_check test "$code" = 200 -- "the new password signs in ($code)"
serve_term "fresh data"

jt_finish
