#!/usr/bin/env bash
# POP3 retrieval against a real Dovecot: plain, STLS, implicit TLS, APOP, leave on server on
# and off, byte-exact delivery, nothing new on a second run, a connection cut in the middle of
# a RETR and a kill -9 in the middle of a run followed by a re-run (each message exactly once).
# Usage: test_pop3.sh /path/to/junction-proxy
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
jt_init test_pop3 "${1:-}"

dc_start main
dc_add_user alice alice-pw-1
dc_add_user bob bob-pw-2
dc_add_user carol carol-pw-3
dc_add_user dave dave-pw-4
dc_fill alice INBOX 20 1 --no-flags
dc_fill bob INBOX 25 2 --no-flags
dc_fill carol INBOX 20 3 --no-flags --big-every 4
dc_fill dave INBOX 300 4 --no-flags --big-every 30
LOG=$DC_DIR/log/main.log

# last_login USER: the newest POP3 login line of USER in Dovecot's log.
last_login() { grep -E "pop3-login: Info: Login: user=<$1>" "$LOG" | tail -1; }
logins() { grep -cE "pop3-login: Info: Login: user=<$1>" "$LOG" || true; }

# pop3_run NAME DATA TASKARGS... : retrieve with a fresh task file
pop3_task() {
  local name=$1
  shift
  jt_task "$JT_WORK/tasks/$name.json" type=pop3 "$@"
}

echo "-- leave_on_server on: plain, STLS, implicit TLS, APOP"
for mode in none starttls ssl apop; do
  data=$JT_WORK/data-alice-$mode
  case $mode in
    none) args=(server=127.0.0.1 port="$DC_POP3_PORT" encryption=none apop=false) dest=INBOX ;;
    starttls) args=(server=localhost port="$DC_POP3_PORT" encryption=starttls apop=false) dest=INBOX ;;
    ssl) args=(server=localhost port="$DC_POP3S_PORT" encryption=ssl apop=false) dest="Remote/Été" ;;
    apop) args=(server=127.0.0.1 port="$DC_POP3_PORT" encryption=none apop=true) dest=INBOX ;;
  esac
  pop3_task "alice-$mode" "${args[@]}" username=alice password=alice-pw-1 \
    leave_on_server=true destination_folder="$dest"
  before=$(logins alice)
  jt_run "alice-$mode-1" retrieve --data "$data" --task "$JT_WORK/tasks/alice-$mode.json"
  jt_expect_rc 0 "pop3 $mode: first retrieve succeeds"
  jt_expect_total "20 new, 0 already had, 0 deleted from server" "pop3 $mode: first run"
  jt_expect_folder_line "$dest" "20 new, 0 already had, 0 deleted from server" "pop3 $mode: folder line"
  if (($(logins alice) > before)); then
    line=$(last_login alice)
    case $mode in
      none) [[ ! $line =~ ,\ TLS[,:] && $line =~ method=(PLAIN|LOGIN) ]] ;;
      starttls | ssl) [[ $line =~ ,\ TLS[,:] ]] ;;
      apop) [[ $line == *method=APOP* ]] ;;
    esac && jt_pass "pop3 $mode: Dovecot logged the expected login ($(grep -oE 'method=[A-Z-]+' <<<"$line"), $(grep -oE '\bTLS\b' <<<"$line" || echo 'no TLS'))" ||
      jt_fail "pop3 $mode: Dovecot's login line does not match the mode: $line"
  else
    jt_fail "pop3 $mode: Dovecot logged no login for alice"
  fi
  jt_checkmaildir --mailbox "$data/mailbox" --expect "$dest=alice:INBOX" --exact \
    --dovecot "$JT_WORK/view-alice-$mode" --label "pop3 $mode"
  count=$(dc_count alice INBOX)
  jt_check test "$count" = 20 -- "pop3 $mode: leave_on_server keeps the 20 messages on the server ($count)"
  jt_run "alice-$mode-2" retrieve --data "$data" --task "$JT_WORK/tasks/alice-$mode.json"
  jt_expect_rc 0 "pop3 $mode: second retrieve succeeds"
  jt_expect_total "0 new, 20 already had, 0 deleted from server" "pop3 $mode: second run retrieves nothing new"
  jt_checkmaildir --mailbox "$data/mailbox" --expect "$dest=alice:INBOX" --exact \
    --label "pop3 $mode after second run"
done

echo "-- leave_on_server off"
data=$JT_WORK/data-bob
pop3_task bob server=127.0.0.1 port="$DC_POP3_PORT" encryption=none username=bob \
  password=bob-pw-2 leave_on_server=false destination_folder=INBOX
jt_run bob-1 retrieve --data "$data" --task "$JT_WORK/tasks/bob.json"
jt_expect_rc 0 "pop3 leave off: retrieve succeeds"
jt_expect_total "25 new, 0 already had, 25 deleted from server" "pop3 leave off: first run"
jt_checkmaildir --mailbox "$data/mailbox" --expect "INBOX=bob:INBOX" --exact \
  --dovecot "$JT_WORK/view-bob" --label "pop3 leave off"
count=$(dc_count bob INBOX)
jt_check test "$count" = 0 -- "pop3 leave off: the source is empty after the run ($count left)"
jt_run bob-2 retrieve --data "$data" --task "$JT_WORK/tasks/bob.json"
jt_expect_rc 0 "pop3 leave off: second retrieve succeeds"
jt_expect_total "0 new, 0 already had, 0 deleted from server" "pop3 leave off: second run"

echo "-- connection cut in the middle of a RETR, then a re-run"
total_bytes=$(awk -F'\t' '$1 == "carol" { s += $7 } END { print s }' "$DC_MANIFEST")
cut_at=$((total_bytes * 45 / 100))
jt_bg "$DC_PY" "$JT_LIB_DIR/cutproxy.py" --listen-port "$DC_SPARE_PORT1" \
  --target-port "$DC_POP3_PORT" --cut-after "$cut_at" --cut-connections 1 \
  --log "$JT_WORK/cut.log" --lifetime 600 --ready-file "$JT_WORK/ready1"
jt_wait_file "$JT_WORK/ready1"
data=$JT_WORK/data-carol
pop3_task carol server=127.0.0.1 port="$DC_SPARE_PORT1" encryption=none username=carol \
  password=carol-pw-3 leave_on_server=false destination_folder=INBOX
jt_run carol-1 retrieve --data "$data" --task "$JT_WORK/tasks/carol.json"
if grep -q '^cut connection 1' "$JT_WORK/cut.log" 2>/dev/null; then
  jt_pass "pop3 cut: the relay cut the connection after $cut_at of $total_bytes message bytes"
else
  jt_fail "pop3 cut: the relay never cut (the CLI read less than $cut_at bytes?)"
fi
jt_expect_rc 1 "pop3 cut: the interrupted run reports failure"
jt_expect_grep "$JT_ERR" '^error \(connection\): ' "pop3 cut: stderr names the error"
partial=$(jt_count_messages "$data/mailbox")
echo "  (the interrupted run stored $partial of 20 messages)"
jt_check test "$partial" -lt 20 -- "pop3 cut: the run was interrupted before the end ($partial of 20 stored)"
jt_run carol-2 retrieve --data "$data" --task "$JT_WORK/tasks/carol.json"
jt_expect_rc 0 "pop3 cut: the re-run succeeds"
jt_checkmaildir --mailbox "$data/mailbox" --expect "INBOX=carol:INBOX" --exact \
  --dovecot "$JT_WORK/view-carol" --label "pop3 cut + re-run"
count=$(dc_count carol INBOX)
jt_check test "$count" = 0 -- "pop3 cut: the source is empty after the re-run ($count left)"

echo "-- kill -9 in the middle of a 300-message run, then a re-run"
# A rate-limited relay makes the run last a few seconds.
jt_bg "$DC_PY" "$JT_LIB_DIR/cutproxy.py" --listen-port "$DC_SPARE_PORT2" \
  --target-port "$DC_POP3_PORT" --rate 1500000 --lifetime 600 --ready-file "$JT_WORK/ready2"
jt_wait_file "$JT_WORK/ready2"
data=$JT_WORK/data-dave
pop3_task dave-slow server=127.0.0.1 port="$DC_SPARE_PORT2" encryption=none username=dave \
  password=dave-pw-4 leave_on_server=false destination_folder=INBOX
pop3_task dave server=127.0.0.1 port="$DC_POP3_PORT" encryption=none username=dave \
  password=dave-pw-4 leave_on_server=false destination_folder=INBOX
SSL_CERT_FILE=$DC_CA "$JT_BIN" retrieve --data "$data" --task "$JT_WORK/tasks/dave-slow.json" \
  >"$JT_WORK/cli/dave-killed.out" 2>"$JT_WORK/cli/dave-killed.err" &
cli_pid=$!
stored=0
for ((i = 0; i < 600; i++)); do
  stored=$(jt_count_messages "$data/mailbox")
  ((stored >= 100)) && break
  kill -0 "$cli_pid" 2>/dev/null || break
  sleep 0.05
done
if kill -KILL "$cli_pid" 2>/dev/null; then
  wait "$cli_pid" 2>/dev/null || true
  stored=$(jt_count_messages "$data/mailbox")
  if ((stored > 0 && stored < 300)); then
    jt_pass "pop3 kill -9: killed the CLI in the middle of the run ($stored of 300 stored)"
  else
    jt_fail "pop3 kill -9: the kill did not land in the middle of the run ($stored of 300 stored)"
  fi
else
  wait "$cli_pid" 2>/dev/null || true
  jt_fail "pop3 kill -9: the CLI ended before it could be killed ($stored stored; stderr: $(head -c 300 "$JT_WORK/cli/dave-killed.err"))"
fi
jt_run dave-2 retrieve --data "$data" --task "$JT_WORK/tasks/dave.json"
jt_expect_rc 0 "pop3 kill -9: the re-run succeeds"
jt_checkmaildir --mailbox "$data/mailbox" --expect "INBOX=dave:INBOX" --exact \
  --dovecot "$JT_WORK/view-dave" --label "pop3 kill -9 + re-run"
count=$(dc_count dave INBOX)
jt_check test "$count" = 0 -- "pop3 kill -9: the source is empty after the re-run ($count left)"
leftover=$(find "$data/mailbox/tmp" -type f 2>/dev/null | wc -l || true)
echo "  (files left in mailbox/tmp after the kill and re-run: $leftover)"

jt_finish
