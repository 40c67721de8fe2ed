# shellcheck shell=bash
# Private Dovecot 2.3.19 instances as real POP3/IMAP peers for the integration tests.
# Source this file, then:
#
#   dc_setup WORKDIR          certificates, users file, configs, ports (nothing started yet)
#   dc_start [INSTANCE...]    start instances (default: main); INSTANCE is one of
#                               main   POP3 (STLS), POP3S, IMAP (STARTTLS), IMAPS, cert for localhost
#                               other  POP3S + IMAPS with a certificate for "other.example"
#                               notls  POP3 + IMAP with ssl = no (no STLS / STARTTLS offered)
#   dc_stop                   stop every started instance (kill by pid file, wait)
#   dc_add_user NAME PASS     add a login (call before or after start)
#   dc_create_folder USER F   create a source folder ("/" separates levels)
#   dc_fill USER F N SEED     add N generated messages (see genmail.py); appends to the manifest
#   dc_set_uidvalidity USER F N
#   dc_doveadm ARGS...        doveadm with the main instance's config
#
# After dc_setup these are set: DC_DIR, DC_CA (CA certificate for SSL_CERT_FILE),
# DC_POP3_PORT DC_POP3S_PORT DC_IMAP_PORT DC_IMAPS_PORT (main),
# DC_OTHER_POP3S_PORT DC_OTHER_IMAPS_PORT (other), DC_NOTLS_POP3_PORT DC_NOTLS_IMAP_PORT,
# DC_SPARE_PORT1..4 (free for relays / fake servers), DC_CLOSED_PORT (nothing listens),
# DC_MANIFEST (TSV: user folder message-id sha256 flags internaldate size).
#
# Ports: JUNCTION_TEST_PORT_BASE (default 21100) is the first of 16 ports; when any of
# them is taken the base moves up by 16 until a free block is found.

DC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DC_PY=/usr/bin/python3
DC_INSTANCES_STARTED=()

dc_log() { echo "[dovecot] $*" >&2; }

# Prints a base port such that BASE..BASE+15 are all free on 127.0.0.1 (and ::1).
dc_find_port_base() {
  "$DC_PY" - "${JUNCTION_TEST_PORT_BASE:-21100}" <<'EOF'
import socket, sys
base = int(sys.argv[1])
def free(port):
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError as e:
            if fam == socket.AF_INET6 and e.errno in (97, 99):  # no IPv6 here
                continue
            return False
        finally:
            s.close()
    return True
for attempt in range(200):
    b = base + 16 * attempt
    if b + 16 > 65535:
        break
    if all(free(p) for p in range(b, b + 16)):
        print(b)
        sys.exit(0)
sys.exit("no free block of 16 ports found")
EOF
}

dc_have_ipv6() {
  "$DC_PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}

dc_make_certs() {
  local d=$DC_DIR/certs
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
      -subj "/CN=Junction Test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    local name san
    for name in server other; do
      if [[ $name == server ]]; then
        san="DNS:localhost,IP:127.0.0.1,IP:::1"
        cn=localhost
      else
        san="DNS:other.example"
        cn=other.example
      fi
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
        -subj "/CN=$cn" 2>/dev/null
      printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
        "$san" >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out "$name.pem" -days 30 -extfile "$name.ext" 2>/dev/null
    done
  )
  chmod 644 "$d"/*.pem
  chmod 600 "$d"/*.key
}

# dc_write_config INSTANCE
dc_write_config() {
  local inst=$1 conf=$DC_DIR/$1.conf listen="127.0.0.1"
  dc_have_ipv6 && listen="127.0.0.1, ::1"
  local ssl_block
  case $inst in
    main | other)
      local cert=server
      [[ $inst == other ]] && cert=other
      ssl_block="ssl = yes
ssl_cert = <$DC_DIR/certs/$cert.pem
ssl_key = <$DC_DIR/certs/$cert.key
ssl_dh = </usr/share/dovecot/dh.pem"
      ;;
    notls) ssl_block="ssl = no" ;;
  esac
  local services
  case $inst in
    main)
      services="service pop3-login {
  inet_listener pop3 {
    port = $DC_POP3_PORT
  }
  inet_listener pop3s {
    port = $DC_POP3S_PORT
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    port = $DC_IMAP_PORT
  }
  inet_listener imaps {
    port = $DC_IMAPS_PORT
    ssl = yes
  }
}"
      ;;
    other)
      services="service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = $DC_OTHER_POP3S_PORT
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $DC_OTHER_IMAPS_PORT
    ssl = yes
  }
}"
      ;;
    notls)
      services="service pop3-login {
  inet_listener pop3 {
    port = $DC_NOTLS_POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  inet_listener imap {
    port = $DC_NOTLS_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}"
      ;;
  esac
  mkdir -p "$DC_DIR/run-$inst" "$DC_DIR/state-$inst"
  cat >"$conf" <<EOF
# Generated by tests/integration/lib/dovecot.sh: private instance "$inst".
base_dir = $DC_DIR/run-$inst
state_dir = $DC_DIR/state-$inst
log_path = $DC_DIR/log/$inst.log
instance_name = $DC_INSTANCE_PREFIX-$inst
protocols = pop3 imap
listen = $listen
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
auth_mechanisms = plain login apop cram-md5
disable_plaintext_auth = no
auth_failure_delay = 0
auth_verbose = yes
login_trusted_networks =
mail_max_userip_connections = 100
$ssl_block
# Source mailboxes: LAYOUT=fs so folder names may contain dots.
mail_location = maildir:~/Maildir:LAYOUT=fs
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DC_DIR/users.passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DC_DIR/home/%u
}
$services
EOF
}

dc_setup() {
  DC_DIR=$1
  mkdir -p "$DC_DIR"
  # Dovecot's unprivileged processes (dovenull, dovecot, nobody) must traverse the path.
  chmod 755 "$DC_DIR"
  DC_DIR=$(cd "$DC_DIR" && pwd)
  DC_INSTANCE_PREFIX="jt$$"
  local base
  base=$(dc_find_port_base) || return 1
  DC_PORT_BASE=$base
  DC_POP3_PORT=$((base + 0))
  DC_POP3S_PORT=$((base + 1))
  DC_IMAP_PORT=$((base + 2))
  DC_IMAPS_PORT=$((base + 3))
  DC_OTHER_POP3S_PORT=$((base + 4))
  DC_OTHER_IMAPS_PORT=$((base + 5))
  DC_NOTLS_POP3_PORT=$((base + 6))
  DC_NOTLS_IMAP_PORT=$((base + 7))
  DC_SPARE_PORT1=$((base + 8))
  DC_SPARE_PORT2=$((base + 9))
  DC_SPARE_PORT3=$((base + 10))
  DC_SPARE_PORT4=$((base + 11))
  DC_CLOSED_PORT=$((base + 15))
  mkdir -p "$DC_DIR/log" "$DC_DIR/home" "$DC_DIR/gen"
  : >"$DC_DIR/users.passwd"
  chmod 644 "$DC_DIR/users.passwd"
  DC_MANIFEST=$DC_DIR/manifest.tsv
  : >"$DC_MANIFEST"
  dc_make_certs
  DC_CA=$DC_DIR/certs/ca.pem
  local inst
  for inst in main other notls; do
    dc_write_config "$inst"
    doveconf -c "$DC_DIR/$inst.conf" -n >/dev/null || {
      dc_log "config $inst rejected"
      return 1
    }
  done
  export DC_DIR DC_CA DC_MANIFEST
  # For debugging by hand: `source dovecot.sh; dc_attach DIR` in another shell.
  declare -p DC_DIR DC_CA DC_MANIFEST DC_INSTANCE_PREFIX DC_PORT_BASE DC_POP3_PORT \
    DC_POP3S_PORT DC_IMAP_PORT DC_IMAPS_PORT DC_OTHER_POP3S_PORT DC_OTHER_IMAPS_PORT \
    DC_NOTLS_POP3_PORT DC_NOTLS_IMAP_PORT DC_SPARE_PORT1 DC_SPARE_PORT2 DC_SPARE_PORT3 \
    DC_SPARE_PORT4 DC_CLOSED_PORT |
    sed 's/^declare /declare -g /' >"$DC_DIR/env.sh"
}

dc_attach() { # DIR: reuse a set-up directory (variables only; nothing is started)
  # shellcheck disable=SC1091
  source "$1/env.sh"
  export DC_DIR DC_CA DC_MANIFEST
}

dc_pidfile() { echo "$DC_DIR/run-$1/master.pid"; }

dc_wait_port() { # PORT: wait until something accepts on 127.0.0.1:PORT
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    if "$DC_PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2).close()" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  dc_log "port $port never opened"
  return 1
}

dc_start() {
  local insts=("$@") inst
  ((${#insts[@]})) || insts=(main)
  for inst in "${insts[@]}"; do
    dovecot -c "$DC_DIR/$inst.conf" || {
      dc_log "dovecot $inst failed to start; log:"
      tail -20 "$DC_DIR/log/$inst.log" >&2 || true
      return 1
    }
    DC_INSTANCES_STARTED+=("$inst")
    case $inst in
      main) dc_wait_port "$DC_POP3_PORT" && dc_wait_port "$DC_IMAPS_PORT" ;;
      other) dc_wait_port "$DC_OTHER_POP3S_PORT" && dc_wait_port "$DC_OTHER_IMAPS_PORT" ;;
      notls) dc_wait_port "$DC_NOTLS_POP3_PORT" && dc_wait_port "$DC_NOTLS_IMAP_PORT" ;;
    esac || return 1
  done
}

# Stops the instances this shell started: SIGTERM to the master from its pid file, then
# wait (up to 10 s) for it to exit; SIGKILL as a last resort. First runs DC_STOP_HOOKS
# (function names added by other harness parts, e.g. lib/smtp.sh stops its peers there, so
# common.sh's cleanup stops them too).
DC_STOP_HOOKS=()
dc_stop() {
  local inst pidfile pid i hook
  for hook in "${DC_STOP_HOOKS[@]}"; do
    "$hook" || true
  done
  for inst in "${DC_INSTANCES_STARTED[@]}"; do
    pidfile=$(dc_pidfile "$inst")
    [[ -s $pidfile ]] || continue
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      dc_log "dovecot $inst (pid $pid) did not stop; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  DC_INSTANCES_STARTED=()
}

dc_doveadm() { doveadm -c "$DC_DIR/main.conf" "$@"; }

dc_add_user() {
  local user=$1 pass=$2
  printf '%s:{PLAIN}%s::::::\n' "$user" "$pass" >>"$DC_DIR/users.passwd"
  mkdir -p "$DC_DIR/home/$user/Maildir"/{cur,new,tmp}
  chown -R nobody:nogroup "$DC_DIR/home/$user"
}

dc_create_folder() {
  local user=$1 folder=$2
  dc_doveadm mailbox create -u "$user" "$folder"
}

# On-disk directory of a source folder (LAYOUT=fs, names in modified UTF-7).
dc_folder_dir() {
  local user=$1 folder=$2
  if [[ $folder == INBOX ]]; then
    echo "$DC_DIR/home/$user/Maildir"
  else
    dc_doveadm mailbox path -u "$user" "$folder" 2>/dev/null ||
      dc_doveadm -f flow mailbox path -u "$user" "$folder"
  fi
}

# dc_fill USER FOLDER COUNT SEED [genmail options...]
# Writes COUNT Maildir files straight into the folder (file mtime = INTERNALDATE, flags
# in the file name), then lets Dovecot index them. The folder must exist.
dc_fill() {
  local user=$1 folder=$2 count=$3 seed=$4
  shift 4
  local dir
  if [[ $folder == INBOX ]]; then
    dir=$DC_DIR/home/$user/Maildir
  else
    dir=$(dc_doveadm mailbox path -u "$user" "$folder") || return 1
    dir=${dir##*=}
  fi
  "$DC_PY" "$DC_LIB_DIR/genmail.py" --maildir "$dir" --count "$count" --seed "$seed" \
    --user "$user" --folder "$folder" --manifest "$DC_MANIFEST" "$@" || return 1
  chown -R nobody:nogroup "$dir"
  dc_doveadm force-resync -u "$user" "$folder"
}

dc_set_uidvalidity() {
  local user=$1 folder=$2 value=$3
  dc_doveadm mailbox update -u "$user" --uid-validity "$value" "$folder"
}

dc_uidvalidity() {
  dc_doveadm -f flow mailbox status -u "$1" uidvalidity "$2" | sed 's/.*uidvalidity=//'
}

dc_count() { # USER FOLDER -> number of messages
  dc_doveadm -f flow mailbox status -u "$1" messages "$2" | sed 's/.*messages=//'
}

# One line per message: "message-id<TAB>flags" sorted, for before/after comparisons.
dc_flags_snapshot() {
  dc_doveadm -f tab fetch -u "$1" 'hdr.message-id flags' mailbox "$2" ALL | tail -n +2 | sort
}

# dc_write_submission_config INSTANCE MECHANISMS RELAY_PORT STARTTLS_PORT [SUBMISSIONS_PORT
#                            [MAX_MAIL_SIZE]]
# A private Dovecot submission service (package dovecot-submissiond) as a real SMTP peer:
# STARTTLS offered on STARTTLS_PORT (certificate for localhost), implicit TLS on
# SUBMISSIONS_PORT (0 = none), AUTH with MECHANISMS (e.g. "plain login cram-md5", or one of
# them to force it) against the shared passwd-file users, relaying every accepted message
# to 127.0.0.1:RELAY_PORT (e.g. smtp-sink, lib/smtp.sh). MAX_MAIL_SIZE (e.g. 1M; 0 = none)
# is announced as SIZE and enforced. Start it with `dc_start INSTANCE` (dc_stop stops it);
# its log (auth_verbose: "Login: user=<U>, method=M, ..., TLS") is $DC_DIR/log/INSTANCE.log.
dc_write_submission_config() {
  local inst=$1 mechs=$2 relay_port=$3 port=$4 ports=${5:-0} max_size=${6:-0}
  local conf=$DC_DIR/$inst.conf listen="127.0.0.1"
  dc_have_ipv6 && listen="127.0.0.1, ::1"
  mkdir -p "$DC_DIR/run-$inst" "$DC_DIR/state-$inst"
  cat >"$conf" <<EOF
# Generated by tests/integration/lib/dovecot.sh: private submission instance "$inst".
base_dir = $DC_DIR/run-$inst
state_dir = $DC_DIR/state-$inst
log_path = $DC_DIR/log/$inst.log
instance_name = $DC_INSTANCE_PREFIX-$inst
protocols = submission
listen = $listen
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
auth_mechanisms = $mechs
disable_plaintext_auth = no
auth_failure_delay = 0
auth_verbose = yes
login_trusted_networks =
mail_max_userip_connections = 100
ssl = yes
ssl_cert = <$DC_DIR/certs/server.pem
ssl_key = <$DC_DIR/certs/server.key
ssl_dh = </usr/share/dovecot/dh.pem
hostname = $inst.junction.test
submission_relay_host = 127.0.0.1
submission_relay_port = $relay_port
submission_max_mail_size = $max_size
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DC_DIR/users.passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DC_DIR/home/%u
}
service submission-login {
  inet_listener submission {
    port = $port
  }
  inet_listener submissions {
    port = $ports
    ssl = yes
  }
}
EOF
  doveconf -c "$conf" -n >/dev/null || {
    dc_log "config $inst rejected"
    return 1
  }
}
