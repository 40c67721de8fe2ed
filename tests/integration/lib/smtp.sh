# shellcheck shell=bash
# Real SMTP peers for the integration tests, all private to a work folder, on 127.0.0.1:
#
#   sink        Postfix's smtp-sink (package postfix): the capture. Accepts everything,
#               writes one file per mail transaction into $SM_DIR/sink/, logs the SMTP
#               conversation (-v) to $SM_DIR/log/sink.log. Offers AUTH PLAIN LOGIN (accepts
#               any credentials), no STARTTLS.
#   bare        a second smtp-sink, same options, own capture dir and log: the "server
#               without STARTTLS" whose log proves what a client sent (AUTH, MAIL, DATA).
#   submission  Dovecot's submission service (package dovecot-submissiond): STARTTLS on
#               SM_SUB_PORT (587-like), implicit TLS on SM_SUBS_PORT (465-like), AUTH PLAIN,
#               LOGIN and CRAM-MD5 against the passwd-file users of lib/dovecot.sh, SIZE
#               $SM_MAX_MAIL_SIZE, relaying every accepted message to the sink.
#   mechs       three more submission instances, each offering ONE mechanism (forces it):
#               sub-plain (SM_PLAIN_PORT), sub-login (SM_LOGIN_PORT), sub-cram
#               (SM_CRAM_PORT); STARTTLS offered, no size limit, relaying to the sink.
#   mta         a private Postfix instance (postfix -c DIR) on SM_MTA_PORT, no AUTH, no TLS:
#               accepts mail for $SM_RELAY_DOMAIN (relay_domains) and relays it to the sink;
#               any other domain gets Postfix's own "554 5.7.1 <x>: Relay access denied"
#               (the client 127.0.0.1 is not in mynetworks). Offers SMTPUTF8; mail for
#               $SM_DISCARD_DOMAIN is accepted and discarded. Log: $SM_DIR/log/postfix.log.
#
# Source after lib/dovecot.sh (common.sh sources both when asked), then:
#
#   sm_setup                after dc_setup: ports, capture dirs, configs (nothing started)
#   sm_start PEER...        start peers (names above); waits until each port answers
#   sm_stop                 stop what sm_start started (also runs from dc_stop, so
#                           common.sh's cleanup stops the peers)
#   sm_account FILE k=v...  SMTP account JSON (true/false/digits become JSON literals)
#   sm_captures NAME        capture files of sink NAME (sink|bare), oldest first
#   sm_capture_count NAME
#   sm_wait_captures NAME N wait (up to 15 s) until sink NAME holds at least N captures
#   sm_capture_envelope F   "MAIL <from> ..." and "RCPT <to>" lines of capture F
#   sm_capture_message F    the message of capture F (CRLF line ends restored; the headers
#                           smtp-sink and the relays put on top removed)
#   sm_compare_capture F SENT   PASS-style one line; status 0 when the capture's message
#                           equals the file SENT byte for byte
#   sm_log_has NAME REGEX   grep -Ei in peer NAME's conversation log (sink|bare)
#
# smtp-sink's capture format (man smtp-sink, checked with 3.7.11): X-Client-Addr,
# X-Client-Proto, X-Helo-Args, X-Mail-Args (the MAIL FROM arguments), one X-Rcpt-Args per
# RCPT (the envelope, so Bcc recipients show here), a 3-line Received: header, then the
# message as received, dot-unstuffed, every line end written as LF, then one empty line.
# Relays prepend their own Received: (Dovecot: "by submission.junction.test with ESMTPSA";
# Postfix: "by relay.junction.test (Postfix)").
#
# Ports: a second block of 16 after lib/dovecot.sh's (DC_PORT_BASE + 16, moved up while
# taken): SM_SINK_PORT SM_BARE_PORT SM_SUB_PORT SM_SUBS_PORT SM_PLAIN_PORT SM_LOGIN_PORT
# SM_CRAM_PORT SM_MTA_PORT SM_SPARE_PORT1..4, SM_CLOSED_PORT (nothing listens).

SM_SINK=${SM_SINK:-/usr/sbin/smtp-sink}
SM_RELAY_DOMAIN=example.net
SM_DISCARD_DOMAIN=utf8.example.net
SM_MAX_MAIL_SIZE=1048576
SM_PIDS=()
SM_POSTFIX_STARTED=0
SM_STARTED=()

sm_log() { echo "[smtp] $*" >&2; }

sm_setup() {
  if [[ -z ${DC_DIR:-} ]]; then
    sm_log "call dc_setup first"
    return 1
  fi
  SM_DIR=$DC_DIR/smtp
  mkdir -p "$SM_DIR/log" "$SM_DIR/sink" "$SM_DIR/bare"
  chmod 755 "$SM_DIR"
  # smtp-sink writes its captures as nobody (-u nobody).
  chown nobody:nogroup "$SM_DIR/sink" "$SM_DIR/bare"
  local base
  # shellcheck disable=SC2153 # DC_PORT_BASE comes from dc_setup
  base=$(JUNCTION_TEST_PORT_BASE=$((DC_PORT_BASE + 16)) dc_find_port_base) || return 1
  SM_PORT_BASE=$base
  SM_SINK_PORT=$((base + 0))
  SM_BARE_PORT=$((base + 1))
  SM_SUB_PORT=$((base + 2))
  SM_SUBS_PORT=$((base + 3))
  SM_PLAIN_PORT=$((base + 4))
  SM_LOGIN_PORT=$((base + 5))
  SM_CRAM_PORT=$((base + 6))
  SM_MTA_PORT=$((base + 7))
  SM_SPARE_PORT1=$((base + 8))
  SM_SPARE_PORT2=$((base + 9))
  SM_SPARE_PORT3=$((base + 10))
  SM_SPARE_PORT4=$((base + 11))
  SM_CLOSED_PORT=$((base + 15))
  dc_write_submission_config submission "plain login cram-md5" "$SM_SINK_PORT" \
    "$SM_SUB_PORT" "$SM_SUBS_PORT" "$SM_MAX_MAIL_SIZE" || return 1
  dc_write_submission_config sub-plain "plain" "$SM_SINK_PORT" "$SM_PLAIN_PORT" || return 1
  dc_write_submission_config sub-login "login" "$SM_SINK_PORT" "$SM_LOGIN_PORT" || return 1
  dc_write_submission_config sub-cram "cram-md5" "$SM_SINK_PORT" "$SM_CRAM_PORT" || return 1
  sm_write_postfix_config || return 1
  export SM_DIR
  declare -p SM_DIR SM_PORT_BASE SM_SINK_PORT SM_BARE_PORT SM_SUB_PORT SM_SUBS_PORT \
    SM_PLAIN_PORT SM_LOGIN_PORT SM_CRAM_PORT SM_MTA_PORT SM_SPARE_PORT1 SM_SPARE_PORT2 \
    SM_SPARE_PORT3 SM_SPARE_PORT4 SM_CLOSED_PORT |
    sed 's/^declare /declare -g /' >"$SM_DIR/env.sh"
}

sm_attach() { # DIR (the dovecot work dir): variables of a set-up harness, nothing started
  # shellcheck disable=SC1091
  source "$1/smtp/env.sh"
  export SM_DIR
}

# A private Postfix: config in $SM_DIR/postfix/conf, queue and data under $SM_DIR/postfix,
# log file instead of syslog (maillog_file, Postfix >= 3.4), no chroot, only the services
# an MTA that relays needs. The system's Postfix (/etc/postfix) is neither used nor started.
sm_write_postfix_config() {
  local d=$SM_DIR/postfix
  mkdir -p "$d/conf" "$d/queue" "$d/data"
  chown postfix "$d/data"
  cat >"$d/conf/main.cf" <<EOF
# Generated by tests/integration/lib/smtp.sh: private Postfix "mta".
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.junction.test
mydomain = junction.test
myorigin = junction.test
mydestination =
# 127.0.0.1 is NOT a trusted network: only mail for relay_domains is accepted.
mynetworks = 192.0.2.1/32
relay_domains = $SM_RELAY_DOMAIN
# Mail for the subdomain utf8.$SM_RELAY_DOMAIN is accepted and thrown away: smtp-sink offers no
# SMTPUTF8, so relaying a UTF-8 address to it would bounce (and the bounce be captured).
transport_maps = inline:{$SM_DISCARD_DOMAIN=discard:}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:$SM_SINK_PORT
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = no
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = $SM_DIR/log/postfix.log
maillog_file_prefixes = $SM_DIR/log
EOF
  sm_postfix_master_cf "$SM_MTA_PORT" tests/integration/lib/smtp.sh >"$d/conf/master.cf"
}

# sm_postfix_master_cf PORT WRITER: a private Postfix's master.cf with smtpd on
# 127.0.0.1:PORT and no chroot (the queue is in a work folder). WRITER names the script.
sm_postfix_master_cf() {
  local port=$1 writer=$2
  cat <<EOF
# Generated by $writer. No chroot (the queue is in a work folder).
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
tlsmgr    unix  - - n 1000? 1 tlsmgr
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# sm_start_sink NAME PORT [smtp-sink options...]
sm_start_sink() {
  local name=$1 port=$2
  shift 2
  # No `cd` before the command, so $! is smtp-sink itself. -u nobody: required as root.
  "$SM_SINK" -u nobody -v -h "$name.junction.test" -d "$SM_DIR/$name/%Y%m%d%H%M%S." "$@" \
    "127.0.0.1:$port" 64 >>"$SM_DIR/log/$name.log" 2>&1 &
  SM_PIDS+=($!)
  dc_wait_port "$port"
}

sm_start() {
  local peer
  for peer in "$@"; do
    case $peer in
      sink) sm_start_sink sink "$SM_SINK_PORT" ;;
      bare) sm_start_sink bare "$SM_BARE_PORT" ;;
      submission) dc_start submission && dc_wait_port "$SM_SUB_PORT" && dc_wait_port "$SM_SUBS_PORT" ;;
      mechs)
        dc_start sub-plain sub-login sub-cram && dc_wait_port "$SM_PLAIN_PORT" &&
          dc_wait_port "$SM_LOGIN_PORT" && dc_wait_port "$SM_CRAM_PORT"
        ;;
      mta)
        postfix -c "$SM_DIR/postfix/conf" start 2>>"$SM_DIR/log/postfix-start.log" || {
          sm_log "postfix failed to start:"
          tail -20 "$SM_DIR/log/postfix.log" "$SM_DIR/log/postfix-start.log" >&2 || true
          return 1
        }
        SM_POSTFIX_STARTED=1
        dc_wait_port "$SM_MTA_PORT"
        ;;
      *)
        sm_log "unknown peer $peer"
        return 1
        ;;
    esac || return 1
    SM_STARTED+=("$peer")
  done
}

# Waits (up to 10 s) for PID to exit; SIGKILL as a last resort.
sm_wait_pid() {
  local pid=$1 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  sm_log "pid $pid did not stop; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

sm_stop() {
  local pid
  for pid in "${SM_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null && sm_wait_pid "$pid"
    wait "$pid" 2>/dev/null || true
  done
  SM_PIDS=()
  if ((SM_POSTFIX_STARTED)); then
    local pidfile=$SM_DIR/postfix/queue/pid/master.pid
    pid=$(tr -d ' ' <"$pidfile" 2>/dev/null || true)
    postfix -c "$SM_DIR/postfix/conf" stop 2>/dev/null || true
    [[ -n $pid ]] && sm_wait_pid "$pid"
    SM_POSTFIX_STARTED=0
  fi
  SM_STARTED=()
  # The Dovecot submission instances are stopped by dc_stop itself.
}
DC_STOP_HOOKS+=(sm_stop)

sm_account() {
  local file=$1
  shift
  "$DC_PY" - "$file" "$@" <<'EOF'
import json, sys
acc = {}
for arg in sys.argv[2:]:
    key, value = arg.split("=", 1)
    if value in ("true", "false"):
        value = value == "true"
    elif value.isdigit():
        value = int(value)
    acc[key] = value
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(acc, f, ensure_ascii=False, indent=1)
EOF
}

sm_captures() {
  find "$SM_DIR/$1" -maxdepth 1 -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2-
}

sm_capture_count() { find "$SM_DIR/$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

sm_wait_captures() {
  local name=$1 want=$2 i
  for ((i = 0; i < 150; i++)); do
    (($(sm_capture_count "$name") >= want)) && return 0
    sleep 0.1
  done
  return 1
}

sm_log_has() { grep -Eiq -- "$2" "$SM_DIR/log/$1.log"; } # SMTP commands: any case

# sm_capture_py MODE FILE [SENT]: the capture parser shared by the functions below.
sm_capture_py() {
  "$DC_PY" - "$@" <<'EOF'
import sys

mode, path = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    data = f.read()
lines = data.split(b"\n")
envelope, i = [], 0
# smtp-sink's own records, then its 3-line Received: header.
while i < len(lines) and lines[i].split(b":", 1)[0] in (
        b"X-Client-Addr", b"X-Client-Proto", b"X-Helo-Args", b"X-Mail-Args", b"X-Rcpt-Args"):
    key, _, value = lines[i].partition(b": ")
    if key == b"X-Mail-Args":
        envelope.append(b"MAIL " + value)
    elif key == b"X-Rcpt-Args":
        envelope.append(b"RCPT " + value)
    i += 1
relay_headers = []
# Received: headers at the top: smtp-sink's, then each relay's (Dovecot, Postfix).
while i < len(lines) and lines[i].lower().startswith(b"received:"):
    start = i
    i += 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    relay_headers.append(b"\n".join(lines[start:i]))
if not relay_headers:
    sys.exit(f"{path}: no smtp-sink Received: header (not a capture file?)")
rest = b"\n".join(lines[i:])
# smtp-sink ends each capture with one empty line after the message.
if not rest.endswith(b"\n\n"):
    sys.exit(f"{path}: capture does not end with the empty line smtp-sink writes")
message = rest[:-1]
if mode == "envelope":
    sys.stdout.buffer.write(b"\n".join(envelope) + b"\n")
elif mode == "relays":
    sys.stdout.buffer.write(b"\n".join(relay_headers[1:]) + b"\n")
elif mode == "message":
    sys.stdout.buffer.write(message.replace(b"\n", b"\r\n"))
elif mode == "compare":
    with open(sys.argv[3], "rb") as f:
        sent = f.read()
    # smtp-sink writes LF for every line end; the comparison is exact only if the sent
    # message has CRLF everywhere (no bare CR or LF), which is checked here too.
    bare = sent.replace(b"\r\n", b"").count(b"\n") + sent.replace(b"\r\n", b"").count(b"\r")
    if bare:
        print(f"the sent message has {bare} bare CR/LF (not CRLF-only)")
        sys.exit(1)
    want = sent.replace(b"\r\n", b"\n")
    if want == message:
        print(f"identical ({len(sent)} bytes, {len(relay_headers) - 1} relay header(s) above)")
        sys.exit(0)
    n = next((k for k in range(min(len(want), len(message))) if want[k] != message[k]),
             min(len(want), len(message)))
    print(f"differ at byte {n} (LF form): sent {len(want)} bytes {want[max(0, n - 40):n + 40]!r}"
          f" / captured {len(message)} bytes {message[max(0, n - 40):n + 40]!r}")
    sys.exit(1)
EOF
}

sm_capture_envelope() { sm_capture_py envelope "$1"; }
sm_capture_message() { sm_capture_py message "$1"; }
sm_capture_relays() { sm_capture_py relays "$1"; }
sm_compare_capture() { sm_capture_py compare "$1" "$2"; }
