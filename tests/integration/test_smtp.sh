#!/usr/bin/env bash
# SMTP sending against real peers (lib/smtp.sh): Postfix's smtp-sink as the capture, Dovecot's
# submission service (STARTTLS, implicit TLS, AUTH PLAIN / LOGIN / CRAM-MD5, SIZE) relaying
# to it, a private Postfix that refuses relaying. Cases: plain, STARTTLS, implicit TLS, each
# AUTH mechanism, the captured message equals the Sent copy byte for byte (Bcc only in the
# envelope, dot-stuffing, attachment), wrong password, relay refused, one recipient refused
# of three, a message over SIZE, and "encryption required" against a server without
# STARTTLS, which must see no credentials and no message; a UTF-8 address with and without
# SMTPUTF8. `check --smtp` for OK, login and encryption_required.
# Usage: test_smtp.sh /path/to/junction-proxy
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/smtp.sh
source "$JT_LIB_DIR/smtp.sh"
jt_init test_smtp "${1:-}"

if ! "$JT_BIN" --help 2>&1 | grep -q -- '--smtp'; then
  jt_fail "junction-proxy has no 'check --smtp' / 'send' (its --help does not mention --smtp)"
  jt_finish
  exit 1
fi

sm_setup
dc_add_user alice alice-pw-1
dc_add_user carol@junction.test carol-pw-3 # username = the address (the account's default)
sm_start sink bare submission mechs mta
echo "   smtp peers on ports from $SM_PORT_BASE"
SUBLOG=$DC_DIR/log/submission.log
mkdir -p "$JT_WORK/accounts" "$JT_WORK/bodies" "$JT_WORK/files"

# The body of most messages: lines a careless client would corrupt without dot-stuffing,
# a "From " line, trailing blanks, 8-bit UTF-8, and a line longer than 998 octets.
{
  printf 'Hello,\n\n.\n..\n.hidden line\nFrom the start of a line\ntrailing blanks   \n'
  printf 'Grüße aus Köln — ünïcödé\n'
  head -c 1500 /dev/zero | tr '\0' 'x'
  printf '\n\n-- \nAlice\n'
} >"$JT_WORK/bodies/main.txt"
head -c 40000 /dev/urandom >"$JT_WORK/files/report.bin"
head -c 1200000 /dev/urandom >"$JT_WORK/files/big.bin" # > SIZE 1048576 once base64-encoded

# account NAME key=value...: $JT_WORK/accounts/NAME.json
account() {
  local name=$1
  shift
  sm_account "$JT_WORK/accounts/$name.json" "$@"
}

# send NAME DATA ACCOUNT ARGS... : the CLI's send with bodies/main.txt on stdin
send() {
  local name=$1 data=$2 acc=$3
  shift 3
  jt_run "$name" send --data "$data" --account "$JT_WORK/accounts/$acc.json" "$@" \
    <"$JT_WORK/bodies/main.txt"
}

# expect_out REGEX TEXT: a line of stdout or stderr matches (extended regex)
expect_out() {
  local re=$1
  shift
  if cat "$JT_OUT" "$JT_ERR" | grep -Eq -- "$re"; then
    jt_pass "$*"
  else
    jt_fail "$* (no output line matches /$re/)"
    jt_show
  fi
}

expect_no_out() {
  local re=$1
  shift
  if cat "$JT_OUT" "$JT_ERR" | grep -Eq -- "$re"; then
    jt_fail "$* (a line matches /$re/)"
    jt_show
  else
    jt_pass "$*"
  fi
}

# sent_copies DATA: the message files of DATA's Sent folder
sent_copies() { find "$1/mailbox/.Sent/cur" "$1/mailbox/.Sent/new" -type f 2>/dev/null | sort || true; }

# expect_delivered LABEL DATA SINKCOUNT_BEFORE: one new capture in the sink, one Sent copy
# (flag \Seen), and the two equal byte for byte. Sets CAPTURE and SENT.
expect_delivered() {
  local label=$1 data=$2 before=$3
  CAPTURE='' SENT=''
  if sm_wait_captures sink $((before + 1)); then
    CAPTURE=$(sm_captures sink | tail -1)
    jt_pass "$label: the capture received the message"
  else
    jt_fail "$label: nothing reached the capture"
  fi
  local copies
  copies=$(sent_copies "$data")
  if [[ $(grep -c . <<<"$copies") == 1 ]]; then
    SENT=$copies
    jt_pass "$label: exactly one copy in Sent"
    case $SENT in
      *:2,*S*) jt_pass "$label: the Sent copy is \\Seen" ;;
      *) jt_fail "$label: the Sent copy is not \\Seen ($(basename "$SENT"))" ;;
    esac
  else
    jt_fail "$label: expected one copy in Sent, found: ${copies:-none}"
  fi
  if [[ -n $CAPTURE && -n $SENT ]]; then
    local how
    if how=$(sm_compare_capture "$CAPTURE" "$SENT"); then
      jt_pass "$label: the captured message equals the Sent copy: $how"
    else
      jt_fail "$label: the captured message differs from the Sent copy: $how"
    fi
  fi
}

# last_login LOG USER: the newest Dovecot login line of USER
last_login() { grep -E "Login: user=<$2>" "$1" | tail -1 || true; }
logins() { grep -cE "Login: user=<$2>" "$1" || true; }

# expect_login LOG USER BEFORE METHOD TLS(yes|no) LABEL
expect_login() {
  local log=$1 user=$2 before=$3 method=$4 tls=$5 label=$6 line
  if (($(logins "$log" "$user") <= before)); then
    jt_fail "$label: Dovecot logged no login for $user"
    return
  fi
  line=$(last_login "$log" "$user")
  local has_tls=no
  [[ $line =~ ,\ TLS[,:] || $line =~ ,\ TLS$ ]] && has_tls=yes
  if [[ $line == *"method=$method,"* && $has_tls == "$tls" ]]; then
    jt_pass "$label: Dovecot logged method=$method, TLS $tls"
  else
    jt_fail "$label: Dovecot's login line does not match (want method=$method, TLS $tls): $line"
  fi
}

echo "-- plain: smtp-sink directly, no TLS, auth false"
account plain display_name="Alice Example" server=127.0.0.1 port="$SM_SINK_PORT" \
  encryption=none email=alice@junction.test auth=false
data=$JT_WORK/data-plain
before=$(sm_capture_count sink)
send plain "$data" plain --to bob@example.net --subject "Plain hello"
jt_expect_rc 0 "plain: send succeeds"
expect_out '^bob@example\.net: accepted$' "plain: bob@example.net accepted"
expect_delivered "plain" "$data" "$before"
if [[ -n $CAPTURE ]]; then
  env=$(sm_capture_envelope "$CAPTURE" || true)
  jt_check grep -qx 'MAIL <alice@junction.test>.*' <<<"$env" -- "plain: envelope sender is the account's address"
  jt_check grep -qx 'RCPT <bob@example.net>.*' <<<"$env" -- "plain: envelope recipient bob@example.net"
  msg=$(sm_capture_message "$CAPTURE" | tr -d '\r' || true)
  jt_check grep -Eq '^From: "?Alice Example"? <alice@junction\.test>$' <<<"$msg" -- "plain: From carries the display name"
  jt_check grep -q '^Subject: Plain hello$' <<<"$msg" -- "plain: Subject as given"
fi
if sm_log_has sink '^[^ ]*: AUTH '; then
  jt_fail "plain: auth=false but the client sent AUTH to smtp-sink (which offers it)"
else
  jt_pass "plain: auth=false sends no AUTH although smtp-sink offers it"
fi

echo "-- STARTTLS (Dovecot submission), To + Cc + Bcc, an attachment, a non-ASCII subject"
account starttls display_name="Alice Exämple" server=localhost port="$SM_SUB_PORT" \
  encryption=starttls email=alice@junction.test auth=true username=alice password=alice-pw-1
data=$JT_WORK/data-starttls
before=$(sm_capture_count sink)
n=$(logins "$SUBLOG" alice)
send starttls "$data" starttls --to bob@example.net --cc carl@example.net \
  --bcc hidden@example.net --subject "Grüße — Quartalsbericht" --attach "$JT_WORK/files/report.bin"
jt_expect_rc 0 "starttls: send succeeds"
for r in bob@example.net carl@example.net hidden@example.net; do
  expect_out "^${r//./\\.}: accepted\$" "starttls: $r accepted"
done
expect_delivered "starttls" "$data" "$before"
expect_login "$SUBLOG" alice "$n" PLAIN yes "starttls"
if [[ -n $CAPTURE ]]; then
  env=$(sm_capture_envelope "$CAPTURE" || true)
  jt_check grep -qx 'RCPT <hidden@example.net>.*' <<<"$env" -- "starttls: the Bcc recipient is in the envelope"
  jt_check test "$(grep -c '^RCPT ' <<<"$env")" = 3 -- "starttls: three envelope recipients"
  head=$(sm_capture_message "$CAPTURE" | tr -d '\r' | sed -n '1,/^$/p' || true)
  if grep -qi '^bcc:' <<<"$head" || grep -qi 'hidden@example.net' <<<"$head"; then
    jt_fail "starttls: the Bcc recipient shows in the captured headers"
  else
    jt_pass "starttls: no Bcc header and no trace of the Bcc address in the captured headers"
  fi
  jt_check grep -q '^Cc: carl@example.net$' <<<"$head" -- "starttls: Cc header"
  jt_check grep -q '^Subject: =?' <<<"$head" -- "starttls: the non-ASCII Subject is RFC 2047-encoded"
  # The attachment, decoded from the capture, equals the file.
  if sm_capture_message "$CAPTURE" | "$DC_PY" -c '
import email, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
parts = [p for p in m.iter_attachments() if p.get_filename() == "report.bin"]
want = open(sys.argv[1], "rb").read()
sys.exit(0 if len(parts) == 1 and parts[0].get_content() == want else 1)' "$JT_WORK/files/report.bin"; then
    jt_pass "starttls: the captured attachment decodes to the file (40000 bytes)"
  else
    jt_fail "starttls: the captured attachment is missing or differs"
  fi
  if sm_capture_message "$CAPTURE" | "$DC_PY" -c '
import email, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
want = open(sys.argv[1], encoding="utf-8").read()
body = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
sys.exit(0 if body.rstrip("\n") == want.rstrip("\n") else 1)' "$JT_WORK/bodies/main.txt"; then
    jt_pass "starttls: the captured text decodes to the body given on stdin (dot lines, long line, UTF-8)"
  else
    jt_fail "starttls: the captured text differs from the body given on stdin"
  fi
fi

echo "-- implicit TLS (submissions), username defaulting to the address"
account ssl server=localhost port="$SM_SUBS_PORT" encryption=ssl email=carol@junction.test \
  auth=true password=carol-pw-3
data=$JT_WORK/data-ssl
before=$(sm_capture_count sink)
n=$(logins "$SUBLOG" carol@junction.test)
send ssl "$data" ssl --to bob@example.net --subject "Implicit TLS"
jt_expect_rc 0 "ssl: send succeeds"
expect_out '^bob@example\.net: accepted$' "ssl: bob@example.net accepted"
expect_delivered "ssl" "$data" "$before"
expect_login "$SUBLOG" carol@junction.test "$n" PLAIN yes "ssl"

echo "-- each AUTH mechanism (instances offering only that one, STARTTLS)"
for mech in plain login cram; do
  case $mech in
    plain) port=$SM_PLAIN_PORT method=PLAIN ;;
    login) port=$SM_LOGIN_PORT method=LOGIN ;;
    cram) port=$SM_CRAM_PORT method=CRAM-MD5 ;;
  esac
  account "mech-$mech" server=localhost port="$port" encryption=starttls \
    email=alice@junction.test username=alice password=alice-pw-1
  data=$JT_WORK/data-mech-$mech
  before=$(sm_capture_count sink)
  log=$DC_DIR/log/sub-$mech.log
  n=$(logins "$log" alice)
  send "mech-$mech" "$data" "mech-$mech" --to bob@example.net --subject "AUTH $method"
  jt_expect_rc 0 "auth $method: send succeeds"
  expect_delivered "auth $method" "$data" "$before"
  expect_login "$log" alice "$n" "$method" yes "auth $method"
done

echo "-- the mechanism chosen when all are offered on a plain-text connection"
account cleartext server=127.0.0.1 port="$SM_SUB_PORT" encryption=none \
  email=alice@junction.test username=alice password=alice-pw-1
data=$JT_WORK/data-cleartext
before=$(sm_capture_count sink)
n=$(logins "$SUBLOG" alice)
send cleartext "$data" cleartext --to bob@example.net --subject "No TLS"
jt_expect_rc 0 "cleartext: send succeeds"
expect_delivered "cleartext" "$data" "$before"
# The engine's policy (C7): CRAM-MD5 over plain-text connections, PLAIN over TLS.
expect_login "$SUBLOG" alice "$n" CRAM-MD5 no "cleartext"

echo "-- check --smtp"
n=$(logins "$SUBLOG" alice)
before=$(sm_capture_count sink)
jt_run check-ok check --smtp "$JT_WORK/accounts/starttls.json"
jt_expect_rc 0 "check: OK against STARTTLS submission"
expect_out '^OK: ' "check: one line starting with OK:"
expect_login "$SUBLOG" alice "$n" PLAIN yes "check"
sleep 0.3
jt_check test "$(sm_capture_count sink)" = "$before" -- "check: nothing was sent"
jt_run check-ssl check --smtp "$JT_WORK/accounts/ssl.json"
jt_expect_rc 0 "check: OK against implicit TLS"

echo "-- wrong password"
account wrongpw server=localhost port="$SM_SUB_PORT" encryption=starttls \
  email=alice@junction.test username=alice password=not-the-password
data=$JT_WORK/data-wrongpw
before=$(sm_capture_count sink)
send wrongpw "$data" wrongpw --to bob@example.net --subject "Wrong password"
jt_expect_rc 1 "wrong password: send fails"
expect_out '^error \(login\): ' "wrong password: error (login)"
jt_run check-wrongpw check --smtp "$JT_WORK/accounts/wrongpw.json"
jt_expect_rc 1 "wrong password: check fails"
expect_out '^error \(login\): ' "wrong password: check says error (login)"
sleep 0.3
jt_check test "$(sm_capture_count sink)" = "$before" -- "wrong password: nothing reached the capture"
jt_check test -z "$(sent_copies "$data")" -- "wrong password: no Sent copy"
jt_check grep -q 'auth: Info: .*alice.*Password mismatch' "$SUBLOG" -- "wrong password: Dovecot saw the wrong password"

echo "-- relay refused (Postfix, no AUTH, recipient outside relay_domains)"
account mta server=127.0.0.1 port="$SM_MTA_PORT" encryption=none email=alice@junction.test \
  auth=false
data=$JT_WORK/data-relay
send relay "$data" mta --to someone@elsewhere.org --subject "Relay refused"
jt_expect_rc 1 "relay refused: send fails"
expect_out '^someone@elsewhere\.org: refused 554 5\.7\.1 .*Relay access denied' \
  "relay refused: the recipient's line carries Postfix's 554 5.7.1"
expect_out '^error \(rejected\): ' "relay refused: error (rejected)"
jt_check test -z "$(sent_copies "$data")" -- "relay refused: no Sent copy"
jt_check grep -q 'reject: RCPT from .*554 5.7.1 <someone@elsewhere.org>: Relay access denied' \
  "$SM_DIR/log/postfix.log" -- "relay refused: Postfix logged the refusal"

echo "-- one recipient refused of three (Postfix)"
data=$JT_WORK/data-one-of-three
before=$(sm_capture_count sink)
send three "$data" mta --to a@example.net --to nobody@elsewhere.org --cc b@example.net \
  --subject "One of three"
jt_expect_rc 0 "one of three: send succeeds (two recipients accepted)"
expect_out '^a@example\.net: accepted$' "one of three: a@example.net accepted"
expect_out '^b@example\.net: accepted$' "one of three: b@example.net accepted"
expect_out '^nobody@elsewhere\.org: refused 554 5\.7\.1 ' "one of three: nobody@elsewhere.org refused 554 5.7.1"
expect_no_out '^error ' "one of three: no error line"
expect_delivered "one of three (via Postfix)" "$data" "$before"
if [[ -n $CAPTURE ]]; then
  rcpts=$(sm_capture_envelope "$CAPTURE" | grep '^RCPT ' | cut -d' ' -f2 | sort | tr '\n' ' ' || true)
  jt_check test "$rcpts" = "<a@example.net> <b@example.net> " -- "one of three: Postfix relayed to exactly the two accepted ($rcpts)"
fi

echo "-- message over SIZE (Dovecot announces SIZE $SM_MAX_MAIL_SIZE)"
data=$JT_WORK/data-size
before=$(sm_capture_count sink)
send size "$data" starttls --to bob@example.net --subject "Too big" --attach "$JT_WORK/files/big.bin"
jt_expect_rc 1 "over SIZE: send fails"
expect_out '^error \(rejected\): .*([Ss][Ii][Zz][Ee]|too (big|large)|exceed|at most [0-9]+)' "over SIZE: error (rejected) naming the size limit"
sleep 0.3
jt_check test "$(sm_capture_count sink)" = "$before" -- "over SIZE: nothing reached the capture"
jt_check test -z "$(sent_copies "$data")" -- "over SIZE: no Sent copy"

echo "-- encryption required: STARTTLS demanded, smtp-sink offers none (but offers AUTH)"
account needtls server=127.0.0.1 port="$SM_BARE_PORT" encryption=starttls \
  email=alice@junction.test username=alice password=secret-never-sent
data=$JT_WORK/data-needtls
send needtls "$data" needtls --to bob@example.net --subject "Must not leave"
jt_expect_rc 1 "encryption required: send fails"
expect_out '^error \(encryption_required\): ' "encryption required: error (encryption_required)"
jt_run check-needtls check --smtp "$JT_WORK/accounts/needtls.json"
jt_expect_rc 1 "encryption required: check fails"
expect_out '^error \(encryption_required\): ' "encryption required: check says error (encryption_required)"
# smtp-sink -v logs every command it reads: the client did connect and greet, then nothing.
jt_check sm_log_has bare '^[^ ]*: (ehlo|helo) ' -- "encryption required: the client reached smtp-sink (EHLO logged)"
if sm_log_has bare '^[^ ]*: (AUTH|auth) '; then
  jt_fail "encryption required: credentials were sent: $(grep -E ': (AUTH|auth) ' "$SM_DIR/log/bare.log" | head -2)"
else
  jt_pass "encryption required: no AUTH command reached the server"
fi
if grep -q 'secret-never-sent\|c2VjcmV0LW5ldmVyLXNlbnQ' "$SM_DIR/log/bare.log"; then
  jt_fail "encryption required: the password shows in the server's log"
else
  jt_pass "encryption required: the password never reached the server (plain or base64)"
fi
if sm_log_has bare '^[^ ]*: (mail|rcpt|data|MAIL|RCPT|DATA)'; then
  jt_fail "encryption required: a mail transaction was started"
else
  jt_pass "encryption required: no MAIL / RCPT / DATA reached the server"
fi
jt_check test "$(sm_capture_count bare)" = 0 -- "encryption required: nothing captured"
jt_check test -z "$(sent_copies "$data")" -- "encryption required: no Sent copy"

echo "-- SMTPUTF8: a UTF-8 recipient address"
# Postfix offers SMTPUTF8 (and discards mail for $SM_DISCARD_DOMAIN); Dovecot's submission
# does not offer it, so the client must stop before the transaction with a clear error.
utf8rcpt="jörg@$SM_DISCARD_DOMAIN"
data=$JT_WORK/data-utf8-mta
send utf8-mta "$data" mta --to "$utf8rcpt" --subject "UTF-8 address"
jt_expect_rc 0 "smtputf8: Postfix (offers SMTPUTF8) accepts a UTF-8 recipient"
expect_out "^${utf8rcpt//./\\.}: accepted\$" "smtputf8: $utf8rcpt accepted"
# (Postfix refuses a UTF-8 address unless MAIL FROM declared SMTPUTF8: 553 5.6.7.)
sleep 0.5
jt_check grep -Fq "to=<$utf8rcpt>, relay=none," "$SM_DIR/log/postfix.log" -- \
  "smtputf8: Postfix took the message for $utf8rcpt (its discard transport logged it)"
data=$JT_WORK/data-utf8-sub
before=$(sm_capture_count sink)
send utf8-sub "$data" starttls --to "$utf8rcpt" --subject "UTF-8 address"
jt_expect_rc 1 "smtputf8: Dovecot (no SMTPUTF8) cannot take a UTF-8 recipient"
expect_out '^error \([a-z_]+\): .*SMTPUTF8' "smtputf8: the error names SMTPUTF8"
sleep 0.3
jt_check test "$(sm_capture_count sink)" = "$before" -- "smtputf8: nothing reached the capture"
jt_check test -z "$(sent_copies "$data")" -- "smtputf8: no Sent copy"

jt_finish
