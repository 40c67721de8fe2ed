#!/usr/bin/python3
"""Compares Junction's Maildir++ mailbox with the messages generated into the source
account (the manifest written by genmail.py). Prints PASS/FAIL lines; exit 1 on any FAIL.

  checkmaildir.py --mailbox DIR/mailbox --manifest MANIFEST
                  --expect DEST=USER:SOURCEFOLDER [--expect ...]
                  [--flags] [--mtime] [--exact] [--dovecot WORKDIR] [--label TEXT]

--expect   the messages of USER's SOURCEFOLDER (all of them in the manifest) must be in the
           mailbox folder DEST ('/'-separated, UTF-8), each exactly once, byte for byte.
--flags    the Maildir flags in the file names (":2,FLAGS") must equal the source's flags.
--mtime    each file's mtime must equal the source message's INTERNALDATE.
--exact    no other message may be anywhere in the mailbox.
--dovecot  also open a copy of the mailbox with Dovecot (doveadm, read-only, no server) and
           check that it shows every DEST folder with the same Message-IDs (and flags /
           received dates when --flags / --mtime): proves Dovecot reads Junction's layout.

Folder names on disk follow Dovecot 2.3's Maildir++ layout with the listescape plugin
(README.md): INBOX is the mailbox itself; "A/B" is ".A.B" with each name modified UTF-7
encoded and '.' / '\\' inside a name written as "\\2e" / "\\5c".
"""
import argparse
import base64
import collections
import hashlib
import os
import re
import shutil
import subprocess
import sys

FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S"}
failures = 0


def report(ok, text):
    global failures
    if not ok:
        failures += 1
    print(("PASS: " if ok else "FAIL: ") + text, flush=True)


def mutf7_encode(name):
    out = []
    run = []

    def flush():
        if run:
            b = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def folder_dir(mailbox, dest):
    if dest == "INBOX":
        return mailbox
    parts = []
    for name in dest.split("/"):
        enc = mutf7_encode(name).replace("\\", "\\5c").replace(".", "\\2e")
        parts.append(enc)
    return os.path.join(mailbox, "." + ".".join(parts))


def read_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            user, folder, msgid, sha, flags, idate, size = line.rstrip("\n").split("\t")
            rows.append(dict(user=user, folder=folder, msgid=msgid, sha=sha,
                             flags="".join(sorted(FLAG_LETTERS[x] for x in flags.split() if x)),
                             idate=int(idate), size=int(size)))
    return rows


def message_id_of(data):
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = re.search(rb"^Message-ID:\s*(\S+)", head, re.I | re.M)
    return m.group(1).decode("latin-1") if m else "(no Message-ID)"


def scan_folder(path):
    """Every message file of one Maildir folder (new/ and cur/)."""
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            full = os.path.join(d, name)
            if not os.path.isfile(full):
                continue
            with open(full, "rb") as f:
                data = f.read()
            flags = ""
            if ":2," in name:
                flags = "".join(sorted(c for c in name.split(":2,", 1)[1] if c.isupper()))
            found.append(dict(file=os.path.join(sub, name), sha=hashlib.sha256(data).hexdigest(),
                              msgid=message_id_of(data), flags=flags, sub=sub,
                              mtime=int(os.stat(full).st_mtime)))
    return found


def all_folders(mailbox):
    dirs = [mailbox]
    for name in sorted(os.listdir(mailbox)):
        if name.startswith(".") and name not in (".", "..") and os.path.isdir(
                os.path.join(mailbox, name, "cur")):
            dirs.append(os.path.join(mailbox, name))
    return dirs


def short(items, n=5):
    items = list(items)
    return ", ".join(items[:n]) + (" ... (%d in all)" % len(items) if len(items) > n else "")


def dovecot_check(args, expectations):
    work = os.path.abspath(args.dovecot)
    snap = os.path.join(work, "dovecot-view")
    shutil.rmtree(snap, ignore_errors=True)
    os.makedirs(os.path.join(snap, "control"))
    shutil.copytree(args.mailbox, os.path.join(snap, "mailbox"), symlinks=True)
    # Root owns the copy and nobody cannot write it: Dovecot opens every folder read-only.
    for root, dirs, files in os.walk(snap):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for fname in files:
            os.chmod(os.path.join(root, fname), 0o644)
    os.chmod(snap, 0o755)
    shutil.chown(os.path.join(snap, "control"), "nobody", "nogroup")
    conf = os.path.join(snap, "read.conf")
    with open(conf, "w") as f:
        f.write(f"""mail_location = maildir:{snap}/mailbox:INDEX={snap}/control:CONTROL={snap}/control
namespace inbox {{
  inbox = yes
  separator = /
}}
mail_plugins = $mail_plugins listescape
plugin {{
  listescape_char = "\\\\"
}}
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
log_path = /dev/stderr
""")
    env = dict(os.environ, USER="nobody", HOME=snap, TZ="UTC")
    r = subprocess.run(["doveadm", "-c", conf, "mailbox", "list"], env=env, cwd="/",
                       capture_output=True, text=True)
    folders = set(r.stdout.split("\n")) - {""}
    for dest, rows in expectations:
        if dest not in folders:
            report(False, "%sDovecot does not list folder %r (it lists: %s; stderr: %s)" % (
                args.label, dest, short(sorted(folders), 20), r.stderr.strip()[:300]))
            continue
        r2 = subprocess.run(["doveadm", "-c", conf, "-f", "tab", "fetch",
                             "hdr.message-id flags date.received", "mailbox", dest, "ALL"],
                            env=env, cwd="/", capture_output=True, text=True)
        lines = r2.stdout.split("\n")[1:]
        got = {}
        for line in lines:
            if not line:
                continue
            msgid, flags, received = line.split("\t")
            got.setdefault(msgid, []).append((flags, received))
        want = {row["msgid"]: row for row in rows}
        problems = []
        if r2.returncode != 0:
            problems.append("doveadm fetch failed: " + r2.stderr.strip()[:300])
        if sorted(got) != sorted(want):
            problems.append("Message-IDs differ: missing %s; unexpected %s" % (
                short(sorted(set(want) - set(got))), short(sorted(set(got) - set(want)))))
        if any(len(v) > 1 for v in got.values()):
            problems.append("duplicates: " + short(k for k, v in got.items() if len(v) > 1))
        for msgid, row in want.items():
            if msgid not in got:
                continue
            flags, received = got[msgid][0]
            if args.flags:
                letters = "".join(sorted(FLAG_LETTERS[x] for x in flags.split() if x in FLAG_LETTERS))
                if letters != row["flags"]:
                    problems.append("%s flags %r, source had %r" % (msgid, flags, row["flags"]))
            if args.mtime:
                import time
                expected = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["idate"]))
                if received != expected:
                    problems.append("%s received date %s, source INTERNALDATE %s" % (
                        msgid, received, expected))
        report(not problems, "%sDovecot reads folder %r: %d messages%s" % (
            args.label, dest, len(lines) - (1 if lines and lines[-1] == "" else 0),
            "" if not problems else ": " + "; ".join(problems[:5])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailbox", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--flags", action="store_true")
    ap.add_argument("--mtime", action="store_true")
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--dovecot")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    if args.label:
        args.label += ": "

    manifest = read_manifest(args.manifest)
    if not os.path.isdir(args.mailbox):
        report(False, "%smailbox %s does not exist" % (args.label, args.mailbox))
        return 1
    expectations = []
    expected_dirs = {}
    for spec in args.expect:
        dest, src = spec.split("=", 1)
        user, folder = src.split(":", 1)
        rows = [r for r in manifest if r["user"] == user and r["folder"] == folder]
        expectations.append((dest, rows))
        expected_dirs.setdefault(os.path.normpath(folder_dir(args.mailbox, dest)), []).extend(rows)

    for dest, rows in expectations:
        path = folder_dir(args.mailbox, dest)
        label = "%sfolder %r (%s)" % (args.label, dest, os.path.relpath(path, args.mailbox))
        if not os.path.isdir(os.path.join(path, "cur")):
            present = [os.path.basename(p) for p in all_folders(args.mailbox)[1:]]
            report(False, "%s missing; folders on disk: %s" % (label, short(present, 20)))
            continue
        found = scan_folder(path)
        want = collections.Counter(r["sha"] for r in rows)
        got = collections.Counter(f["sha"] for f in found)
        by_sha = {r["sha"]: r for r in rows}
        missing = [by_sha[s]["msgid"] for s in want if got[s] < want[s]]
        dups = [f["msgid"] + " (%s)" % f["file"] for f in found if got[f["sha"]] > want.get(f["sha"], 0) and f["sha"] in want]
        extra = [f["msgid"] + " (%s)" % f["file"] for f in found if f["sha"] not in want]
        ok = not missing and not dups and not extra
        detail = "%d messages, each once, bytes identical to the source" % len(found)
        if not ok:
            detail = "%d files for %d source messages" % (len(found), len(rows))
            if missing:
                detail += "; missing: " + short(missing)
            if dups:
                detail += "; twice: " + short(dups)
            if extra:
                detail += "; not in the source (or bytes differ): " + short(extra)
        report(ok, "%s: %s" % (label, detail))
        if args.flags:
            bad = []
            for f in found:
                r = by_sha.get(f["sha"])
                if r and f["flags"] != r["flags"]:
                    bad.append("%s has %r in %s/, source %r" % (f["msgid"], f["flags"], f["sub"], r["flags"]))
            report(not bad, "%s: flags preserved%s" % (label, "" if not bad else ": " + short(bad)))
        if args.mtime:
            bad = ["%s mtime %d, INTERNALDATE %d" % (f["msgid"], f["mtime"], by_sha[f["sha"]]["idate"])
                   for f in found if f["sha"] in by_sha and f["mtime"] != by_sha[f["sha"]]["idate"]]
            report(not bad, "%s: file mtime = INTERNALDATE%s" % (label, "" if not bad else ": " + short(bad)))

    if args.exact:
        stray = []
        for d in all_folders(args.mailbox):
            if os.path.normpath(d) in expected_dirs:
                continue
            for f in scan_folder(d):
                stray.append("%s in %s" % (f["msgid"], os.path.relpath(d, args.mailbox)))
        report(not stray, "%sno messages outside the expected folders%s" % (
            args.label, "" if not stray else ": " + short(stray)))

    if args.dovecot:
        dovecot_check(args, expectations)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
