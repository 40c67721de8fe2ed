#!/usr/bin/env bash
# IMAP retrieval against a real Dovecot: nested folders, names with spaces, dots, '&' and
# non-ASCII, root and subfolder mapping, flags and INTERNALDATE kept, the source left
# untouched, nothing new on a second run, a cut in the middle of a FETCH and a re-run, a
# UIDVALIDITY change that duplicates nothing, new messages arriving on the next run.
# Usage: test_imap.sh /path/to/junction-proxy
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
jt_init test_imap "${1:-}"

dc_start main
dc_add_user erin erin-pw-5
dc_add_user frank frank-pw-6

# Source folders of erin: name -> message count (seed = position + 10).
FOLDERS=("INBOX" "Work" "Work/Sub" "Work/Sub/Deep" "with space" "a.b" "A & B" "Été" "東京/日本")
COUNTS=(12 5 6 3 4 4 3 3 2)
seed=10
for i in "${!FOLDERS[@]}"; do
  f=${FOLDERS[$i]}
  [[ $f == INBOX ]] || dc_create_folder erin "$f"
  dc_fill erin "$f" "${COUNTS[$i]}" "$seed"
  seed=$((seed + 1))
done
TOTAL=0
for c in "${COUNTS[@]}"; do TOTAL=$((TOTAL + c)); done

# expect_args PREFIX: --expect DEST=erin:SRC for every folder ("" = root mapping).
expect_args() {
  local prefix=$1 f
  EXPECT=()
  for f in "${FOLDERS[@]}"; do
    EXPECT+=(--expect "${prefix}${f}=erin:$f")
  done
}

snapshot_source() { # USER FOLDER... -> flags of every message, \Recent left out
  local user=$1 f
  shift
  for f in "$@"; do
    dc_flags_snapshot "$user" "$f" | sed -e 's/ *\\Recent//' -e "s|^|$f\t|"
  done
}

snapshot_source erin "${FOLDERS[@]}" >"$JT_WORK/source-before.txt"
uidv_before=$(dc_uidvalidity erin "Work/Sub")

echo "-- root mapping over STARTTLS"
data=$JT_WORK/data-root
jt_task "$JT_WORK/tasks/root.json" type=imap server=localhost port="$DC_IMAP_PORT" \
  encryption=starttls username=erin password=erin-pw-5 folder_transfer.mode=root
jt_run root-1 retrieve --data "$data" --task "$JT_WORK/tasks/root.json"
jt_expect_rc 0 "imap root: first retrieve succeeds"
jt_expect_total "$TOTAL new, 0 already had, 0 deleted from server" "imap root: first run"
for i in "${!FOLDERS[@]}"; do
  jt_expect_folder_line "${FOLDERS[$i]}" "${COUNTS[$i]} new, 0 already had, 0 deleted from server" \
    "imap root: folder line"
done
expect_args ""
jt_checkmaildir --mailbox "$data/mailbox" "${EXPECT[@]}" --flags --mtime --exact \
  --dovecot "$JT_WORK/view-root" --label "imap root"

echo "-- second run"
jt_run root-2 retrieve --data "$data" --task "$JT_WORK/tasks/root.json"
jt_expect_rc 0 "imap root: second retrieve succeeds"
jt_expect_total "0 new, * already had, 0 deleted from server" "imap root: second run retrieves nothing new"
jt_checkmaildir --mailbox "$data/mailbox" "${EXPECT[@]}" --exact --label "imap root after second run"

echo "-- subfolder mapping (parent External/Work) over implicit TLS"
data_sub=$JT_WORK/data-sub
jt_task "$JT_WORK/tasks/sub.json" type=imap server=localhost port="$DC_IMAPS_PORT" \
  encryption=ssl username=erin password=erin-pw-5 folder_transfer.mode=subfolder \
  folder_transfer.parent="External/Work"
jt_run sub-1 retrieve --data "$data_sub" --task "$JT_WORK/tasks/sub.json"
jt_expect_rc 0 "imap subfolder: retrieve succeeds"
jt_expect_total "$TOTAL new, 0 already had, 0 deleted from server" "imap subfolder: first run"
jt_expect_folder_line "External/Work/Work/Sub" "6 new, 0 already had, 0 deleted from server" \
  "imap subfolder: folder line"
expect_args "External/Work/"
jt_checkmaildir --mailbox "$data_sub/mailbox" "${EXPECT[@]}" --flags --mtime --exact \
  --dovecot "$JT_WORK/view-sub" --label "imap subfolder"

echo "-- the source is unchanged"
snapshot_source erin "${FOLDERS[@]}" >"$JT_WORK/source-after.txt"
if diff -u "$JT_WORK/source-before.txt" "$JT_WORK/source-after.txt" >"$JT_WORK/source.diff"; then
  jt_pass "imap: source flags unchanged after 3 retrievals (no \\Seen added, nothing expunged)"
else
  jt_fail "imap: source changed by retrieval:"
  head -20 "$JT_WORK/source.diff" | sed 's/^/  /'
fi
jt_check test "$(dc_uidvalidity erin "Work/Sub")" = "$uidv_before" -- "imap: source UIDVALIDITY unchanged"

echo "-- new messages arrive on the next run"
dc_fill erin "Work/Sub" 3 40
dc_fill erin INBOX 2 41
jt_run root-3 retrieve --data "$data" --task "$JT_WORK/tasks/root.json"
jt_expect_rc 0 "imap new messages: retrieve succeeds"
jt_expect_total "5 new, * already had, 0 deleted from server" "imap new messages: exactly the 5 new ones"
expect_args ""
jt_checkmaildir --mailbox "$data/mailbox" "${EXPECT[@]}" --flags --mtime --exact \
  --label "imap new messages"

echo "-- UIDVALIDITY change duplicates nothing"
old=$(dc_uidvalidity erin Work)
dc_set_uidvalidity erin Work $((old + 1000))
dc_set_uidvalidity erin "with space" $((old + 2000))
dc_fill erin "with space" 1 42
new=$(dc_uidvalidity erin Work)
jt_check test "$new" = $((old + 1000)) -- "imap: UIDVALIDITY of Work changed on the server ($old -> $new)"
jt_run root-4 retrieve --data "$data" --task "$JT_WORK/tasks/root.json"
jt_expect_rc 0 "imap UIDVALIDITY change: retrieve succeeds"
jt_expect_total "1 new, * already had, 0 deleted from server" \
  "imap UIDVALIDITY change: only the one message added with the change is new"
expect_args ""
jt_checkmaildir --mailbox "$data/mailbox" "${EXPECT[@]}" --flags --mtime --exact \
  --dovecot "$JT_WORK/view-root-2" --label "imap after UIDVALIDITY change"

echo "-- connection cut in the middle of a FETCH, then a re-run"
dc_create_folder frank "Second"
dc_fill frank INBOX 16 50 --big-every 4
dc_fill frank "Second" 6 51
total_bytes=$(awk -F'\t' '$1 == "frank" { s += $7 } END { print s }' "$DC_MANIFEST")
cut_at=$((total_bytes * 40 / 100))
jt_bg "$DC_PY" "$JT_LIB_DIR/cutproxy.py" --listen-port "$DC_SPARE_PORT1" \
  --target-port "$DC_IMAP_PORT" --cut-after "$cut_at" --cut-connections 1 \
  --log "$JT_WORK/cut.log" --lifetime 600 --ready-file "$JT_WORK/ready1"
jt_wait_file "$JT_WORK/ready1"
data_cut=$JT_WORK/data-cut
jt_task "$JT_WORK/tasks/cut.json" type=imap server=127.0.0.1 port="$DC_SPARE_PORT1" \
  encryption=none username=frank password=frank-pw-6 folder_transfer.mode=root
jt_run cut-1 retrieve --data "$data_cut" --task "$JT_WORK/tasks/cut.json"
if grep -q '^cut connection 1' "$JT_WORK/cut.log" 2>/dev/null; then
  jt_pass "imap cut: the relay cut the connection after $cut_at of $total_bytes message bytes"
else
  jt_fail "imap cut: the relay never cut"
fi
jt_expect_rc 1 "imap cut: the interrupted run reports failure"
jt_expect_grep "$JT_ERR" '^error \(connection\): ' "imap cut: stderr names the error"
partial=$(find "$data_cut/mailbox" -path '*/tmp' -prune -o -type f -print 2>/dev/null | grep -cE '/(new|cur)/' || true)
echo "  (the interrupted run stored $partial of 22 messages)"
jt_check test "$partial" -lt 22 -- "imap cut: the run was interrupted before the end ($partial of 22 stored)"
jt_run cut-2 retrieve --data "$data_cut" --task "$JT_WORK/tasks/cut.json"
jt_expect_rc 0 "imap cut: the re-run succeeds"
jt_checkmaildir --mailbox "$data_cut/mailbox" --expect "INBOX=frank:INBOX" \
  --expect "Second=frank:Second" --flags --mtime --exact --dovecot "$JT_WORK/view-cut" \
  --label "imap cut + re-run"

jt_finish
