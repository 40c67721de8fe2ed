#!/usr/bin/env bash
# Errors and Test Connection against real peers: `check` success lines for POP3 and IMAP;
# wrong password (login), nothing listening (refused), certificate for another host
# (certificate), unknown host (dns), STARTTLS required but not offered (encryption_required,
# and no credentials sent), TLS spoken to a plain port (tls), an invalid task (config).
# The password never appears in the CLI's output.
# Usage: test_errors.sh /path/to/junction-proxy
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
jt_init test_errors "${1:-}"

PW=s3cret-Pa55word
dc_start main other notls
dc_add_user alice "$PW"
dc_create_folder alice Work
dc_fill alice INBOX 3 60 --no-big
dc_fill alice Work 2 61 --no-big

# case_check NAME KIND TASKARGS... : `check` must print "FAILED (KIND): ..." and exit 1.
case_check() {
  local name=$1 kind=$2
  shift 2
  jt_task "$JT_WORK/tasks/$name.json" "$@"
  jt_run "$name-check" check --task "$JT_WORK/tasks/$name.json"
  jt_expect_rc 1 "$name: check fails"
  if [[ $(wc -l <"$JT_OUT") -eq 1 ]] && grep -Eq "^FAILED \($kind\): .+" "$JT_OUT"; then
    jt_pass "$name: check prints one line 'FAILED ($kind): ...': $(head -c 200 "$JT_OUT")"
  else
    jt_fail "$name: check should print exactly one line 'FAILED ($kind): ...'"
    jt_show
  fi
}

# case_retrieve NAME KIND : retrieve with the task of case_check must exit 1 with
# "error (KIND): ..." on stderr.
case_retrieve() {
  local name=$1 kind=$2
  jt_run "$name-retrieve" retrieve --data "$JT_WORK/data-$name" --task "$JT_WORK/tasks/$name.json"
  jt_expect_rc 1 "$name: retrieve fails"
  if grep -Eq "^error \($kind\): .+" "$JT_ERR"; then
    jt_pass "$name: retrieve prints 'error ($kind): ...': $(grep -E "^error \(" "$JT_ERR" | head -c 200)"
  else
    jt_fail "$name: retrieve should print 'error ($kind): ...' on stderr"
    jt_show
  fi
}

case_both() {
  local name=$1 kind=$2
  case_check "$@"
  case_retrieve "$name" "$kind"
}

echo "-- check succeeds"
for proto in pop3 imap; do
  for enc in none starttls ssl; do
    case $proto/$enc in
      pop3/ssl) port=$DC_POP3S_PORT ;;
      pop3/*) port=$DC_POP3_PORT ;;
      imap/ssl) port=$DC_IMAPS_PORT ;;
      imap/*) port=$DC_IMAP_PORT ;;
    esac
    name=ok-$proto-$enc
    jt_task "$JT_WORK/tasks/$name.json" type=$proto server=localhost port="$port" \
      encryption=$enc username=alice password="$PW"
    jt_run "$name" check --task "$JT_WORK/tasks/$name.json"
    jt_expect_rc 0 "$name: check succeeds"
    if [[ $(wc -l <"$JT_OUT") -eq 1 ]] && grep -Eq '^OK: .*[0-9]' "$JT_OUT"; then
      jt_pass "$name: one line 'OK: ...' with a count: $(head -c 200 "$JT_OUT")"
    else
      jt_fail "$name: expected one line 'OK: ...' that counts messages or folders"
      jt_show
    fi
    if [[ $proto == pop3 ]]; then
      jt_check grep -Eq '\b3\b' "$JT_OUT" -- "$name: the OK line counts the 3 messages"
    else
      jt_check grep -Eq '\b(2|3|5)\b' "$JT_OUT" -- "$name: the OK line counts the 2 folders or 3/5 messages"
    fi
  done
done
name=ok-pop3-apop
jt_task "$JT_WORK/tasks/$name.json" type=pop3 server=127.0.0.1 port="$DC_POP3_PORT" \
  encryption=none apop=true username=alice password="$PW"
jt_run "$name" check --task "$JT_WORK/tasks/$name.json"
jt_expect_rc 0 "$name: check with APOP succeeds"
jt_expect_grep "$JT_OUT" '^OK: ' "$name: OK line"
count=$(dc_count alice INBOX)
jt_check test "$count" = 3 -- "check leaves the source alone ($count messages)"

echo "-- wrong password"
case_both login-pop3 login type=pop3 server=127.0.0.1 port="$DC_POP3_PORT" encryption=none \
  username=alice password=wrong-password
case_both login-pop3-apop login type=pop3 server=127.0.0.1 port="$DC_POP3_PORT" encryption=none \
  apop=true username=alice password=wrong-password
case_both login-imap login type=imap server=localhost port="$DC_IMAPS_PORT" encryption=ssl \
  username=alice password=wrong-password

echo "-- nothing listening"
case_both refused-pop3 refused type=pop3 server=127.0.0.1 port="$DC_CLOSED_PORT" encryption=none \
  username=alice password="$PW"
case_both refused-imap refused type=imap server=localhost port="$DC_CLOSED_PORT" encryption=ssl \
  username=alice password="$PW"

echo "-- certificate issued for another host"
case_both cert-pop3 certificate type=pop3 server=localhost port="$DC_OTHER_POP3S_PORT" \
  encryption=ssl username=alice password="$PW"
case_both cert-imap certificate type=imap server=localhost port="$DC_OTHER_IMAPS_PORT" \
  encryption=ssl username=alice password="$PW"
if grep -q "user=<alice>" "$DC_DIR/log/other.log"; then
  jt_fail "certificate: the server with the wrong certificate saw a login for alice"
else
  jt_pass "certificate: no login reached the server with the wrong certificate"
fi

echo "-- unknown host"
case_both dns-pop3 dns type=pop3 server=no-such-host.invalid port=995 encryption=ssl \
  username=alice password="$PW"
case_both dns-imap dns type=imap server=no-such-host.invalid port=993 encryption=ssl \
  username=alice password="$PW"

echo "-- STARTTLS required, server offers none"
jt_bg "$DC_PY" "$JT_LIB_DIR/fakeserver.py" --port "$DC_SPARE_PORT1" --proto pop3 \
  --log "$JT_WORK/fake-pop3.log" --lifetime 900
jt_bg "$DC_PY" "$JT_LIB_DIR/fakeserver.py" --port "$DC_SPARE_PORT2" --proto imap \
  --log "$JT_WORK/fake-imap.log" --lifetime 900 --ready-file "$JT_WORK/ready1"
jt_wait_file "$JT_WORK/ready1"
dc_wait_port "$DC_SPARE_PORT2"
case_both starttls-fake-pop3 encryption_required type=pop3 server=127.0.0.1 \
  port="$DC_SPARE_PORT1" encryption=starttls username=alice password="$PW"
case_both starttls-fake-imap encryption_required type=imap server=127.0.0.1 \
  port="$DC_SPARE_PORT2" encryption=starttls username=alice password="$PW"
for proto in pop3 imap; do
  log=$JT_WORK/fake-$proto.log
  if grep -Fq "$PW" "$log" || grep -Eiq '^[0-9]+ ([A-Za-z0-9.]+ )?(USER|PASS|APOP|LOGIN|AUTHENTICATE|AUTH)\b' "$log"; then
    jt_fail "starttls-fake-$proto: credentials were sent in clear text:"
    sed 's/^/  /' "$log" | head -10
  else
    jt_pass "starttls-fake-$proto: no credentials sent (client sent: $(cut -d' ' -f2- "$log" | tr '\n' '|' | head -c 120))"
  fi
done
case_both starttls-dovecot-pop3 encryption_required type=pop3 server=127.0.0.1 \
  port="$DC_NOTLS_POP3_PORT" encryption=starttls username=alice password="$PW"
case_both starttls-dovecot-imap encryption_required type=imap server=127.0.0.1 \
  port="$DC_NOTLS_IMAP_PORT" encryption=starttls username=alice password="$PW"
if grep -Eq "user=<alice>|method=" "$DC_DIR/log/notls.log"; then
  jt_fail "starttls-dovecot: Dovecot without TLS saw a login attempt:"
  grep -E "user=<alice>|method=" "$DC_DIR/log/notls.log" | head -5 | sed 's/^/  /'
else
  jt_pass "starttls-dovecot: Dovecot without TLS saw no login attempt"
fi

echo "-- TLS spoken to a plain-text port"
case_both tls-pop3 tls type=pop3 server=localhost port="$DC_POP3_PORT" encryption=ssl \
  username=alice password="$PW"

echo "-- invalid task"
printf '{"type": "pop3", "username": "alice"}\n' >"$JT_WORK/tasks/config.json"
jt_run config-check check --task "$JT_WORK/tasks/config.json"
jt_expect_rc 1 "config: check of a task without server and password fails"
jt_expect_grep "$JT_OUT" '^FAILED \(config\): ' "config: check says FAILED (config)"
jt_run config-retrieve retrieve --data "$JT_WORK/data-config" --task "$JT_WORK/tasks/config.json"
jt_expect_rc 1 "config: retrieve of an invalid task fails"
jt_expect_grep "$JT_ERR" '^error \(config\): ' "config: retrieve says error (config)"

echo "-- the password never appears in the CLI's output"
if grep -rlF "$PW" "$JT_WORK/cli" >"$JT_WORK/leaks.txt"; then
  jt_fail "the password appears in: $(tr '\n' ' ' <"$JT_WORK/leaks.txt")"
else
  jt_pass "the password appears in none of the $(find "$JT_WORK/cli" -type f | wc -l) output files"
fi

jt_finish
