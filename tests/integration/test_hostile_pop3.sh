#!/usr/bin/env bash
# POP3 retrieval against a scripted hostile server (lib/hostilepop3.py) that reuses UIDLs
# after DELE, answers one session with an empty listing, drops the connection between RETR
# and DELE, and is killed under (kill -9 of junction-proxy in the middle of a run). Leave on
# server is off, so every run deletes: in the end every message the server ever offered is
# in the Maildir exactly once, and the server is empty (review F1, F5, F11).
# Usage: test_hostile_pop3.sh /path/to/junction-proxy
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
jt_init test_hostile_pop3 "${1:-}"

PORT=$DC_SPARE_PORT1
OFFERED=$JT_WORK/offered.txt
CURRENT=$JT_WORK/current.txt
DATA=$JT_WORK/data
jt_bg "$DC_PY" "$JT_LIB_DIR/hostilepop3.py" --port "$PORT" --initial 6 --reuse-rounds 3 \
  --cut-session 2 --empty-session 3 --slow 0.15 --offered "$OFFERED" --current "$CURRENT" \
  --ready-file "$JT_WORK/hostile.ready" --lifetime 600
jt_wait_file "$JT_WORK/hostile.ready"
jt_task "$JT_WORK/tasks/hostile.json" type=pop3 server=127.0.0.1 port="$PORT" encryption=none \
  username=alice password=pw leave_on_server=false destination_folder=INBOX
run() { jt_run "$1" retrieve --data "$DATA" --task "$JT_WORK/tasks/hostile.json"; }

# check_mailbox LABEL: every offered serial exactly once in the Maildir, nothing else; one
# not stored yet counts as missing unless it is still on the server (then it is only late).
check_mailbox() {
  local out
  if out=$("$DC_PY" - "$DATA/mailbox" "$OFFERED" "$CURRENT" <<'PY'
import collections, os, re, sys
root, offered_path, current_path = sys.argv[1:4]
offered = {int(l) for l in open(offered_path) if l.strip()}
on_server = {int(l) for l in open(current_path) if l.strip()}
count = collections.Counter()
for sub in ("new", "cur"):
    d = os.path.join(root, sub)
    if not os.path.isdir(d):
        continue
    for name in os.listdir(d):
        data = open(os.path.join(d, name), "rb").read()
        m = re.search(rb"^X-Serial: (\d+)\r?$", data, re.M)
        count[int(m.group(1)) if m else -1] += 1
late = sorted(s for s in offered if count[s] == 0 and s in on_server)
missing = sorted(s for s in offered if count[s] == 0 and s not in on_server)
doubled = sorted(s for s in count if count[s] > 1)
extra = sorted(s for s in count if s not in offered)
print("%d offered, %d stored, %d still on the server only; lost %s, doubled %s, unknown %s"
      % (len(offered), sum(count.values()), len(late), missing, doubled, extra))
sys.exit(1 if missing or doubled or extra else 0)
PY
  ); then
    jt_pass "$1: nothing lost or doubled ($out)"
  else
    jt_fail "$1: $out"
  fi
}

echo "-- run 1: six messages, deleted; the server reuses their UIDLs for new ones"
run r1
jt_expect_rc 0 "run 1 succeeds"
jt_expect_total "6 new, 0 already had, 6 deleted from server" "run 1"
check_mailbox "after run 1"

echo "-- run 2: the connection drops at the first DELE"
run r2
jt_check test "$JT_RC" != 0 -- "run 2 fails (the server cut the connection at DELE)"
jt_expect_grep "$JT_OUT" "^total: 7 new" "run 2 stored the 7 messages behind reused and new UIDLs first"
check_mailbox "after the cut"

echo "-- run 3: an empty listing"
run r3
jt_expect_rc 0 "run 3 succeeds"
jt_expect_total "0 new, 0 already had, 0 deleted from server" "run 3 (empty listing)"

echo "-- run 4: the seven are back; downloaded again, found already had, then deleted"
run r4
jt_expect_rc 0 "run 4 succeeds"
jt_expect_total "0 new, 7 already had, 7 deleted from server" "run 4"
check_mailbox "after run 4"

echo "-- kill -9 in the middle of runs"
# A run of ~9 messages takes about 1.5 s (--slow): the kills land before, during and after
# its commit, and between the commit and the DELEs.
for k in 6 10 13 16 19; do
  set +e
  "$JT_BIN" retrieve --data "$DATA" --task "$JT_WORK/tasks/hostile.json" \
    >"$JT_WORK/cli/kill$k.out" 2>&1 &
  pid=$!
  sleep "$((k / 10)).$((k % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  set -e
  check_mailbox "after kill $k"
done

echo "-- until the server has nothing left"
for i in 1 2 3 4 5 6 7 8; do
  run "tail$i"
  jt_expect_rc 0 "run tail$i succeeds"
  if grep -qE '^total: 0 new, 0 already had, 0 deleted from server$' "$JT_OUT"; then
    break
  fi
done
jt_expect_total "0 new, 0 already had, 0 deleted from server" "the server is empty at the end"
jt_check test ! -s "$CURRENT" -- "the server's maildrop is empty at the end"
check_mailbox "at the end"
offered=$(wc -l <"$OFFERED")
jt_check test "$offered" -ge 30 -- "the server offered reused UIDLs over several rounds ($offered messages)"

jt_finish
