#!/usr/bin/python3
"""Writes generated test messages straight into a Maildir folder of a source account.

Each message: distinct Message-ID, CRLF line endings, varied size (every 10th one is
100-300 KB), lines that start with '.' (dot-stuffing), some 8-bit UTF-8 text, a Date
header that differs from the INTERNALDATE by two hours (so a client that takes the
Date header for the INTERNALDATE is caught). The file's mtime is the INTERNALDATE
(Dovecot's maildir takes the received date from it); flags are in the file name.
One manifest line per message is appended (TSV):
  user folder message-id sha256 imap-flags internaldate(epoch) size
"""
import argparse
import email.utils
import hashlib
import os
import random
import socket

FLAG_PATTERNS = ["", "S", "FS", "RS", "D", "", "S", "FRS", "DS", ""]
IMAP_NAMES = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         "xray yankee zulu").split()


def make_message(rng, seed, index, folder, internaldate, big):
    msgid = "<jt.%d.%d.%s@junction.test>" % (
        seed, index, hashlib.sha1(folder.encode()).hexdigest()[:8])
    date = email.utils.formatdate(internaldate - 7200, localtime=False)
    eight_bit = index % 7 == 3
    headers = [
        "Return-Path: <sender%d@junction.test>" % (index % 5),
        "From: Sender %d <sender%d@junction.test>" % (index % 5, index % 5),
        "To: Tester <tester@junction.test>",
        "Subject: Test message %d of seed %d (%s)" % (index, seed, folder),
        "Date: " + date,
        "Message-ID: " + msgid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: " + ("8bit" if eight_bit else "7bit"),
    ]
    target = rng.randint(100_000, 300_000) if big else rng.randint(300, 20_000)
    lines = []
    size = 0
    n = 0
    while size < target:
        n += 1
        k = rng.randrange(12)
        if k == 0:
            line = "."
        elif k == 1:
            line = ".. two dots line %d" % n
        elif k == 2:
            line = ".hidden %s" % rng.choice(WORDS)
        elif k == 3 and eight_bit:
            line = "Grüße aus Zürich, été, 東京 %d" % n
        elif k == 4:
            line = "From the line that mbox would escape %d" % n
        else:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14)))
        lines.append(line)
        size += len(line.encode()) + 2
    text = "\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n"
    return msgid, text.encode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--folder", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--no-flags", action="store_true", help="all messages unflagged in new/")
    ap.add_argument("--no-big", action="store_true", help="no 100-300 KB messages")
    ap.add_argument("--big-every", type=int, default=10)
    args = ap.parse_args()

    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    host = socket.gethostname()
    base_time = 1_600_000_000 + args.seed * 1_000_000
    with open(args.manifest, "a", encoding="utf-8") as manifest:
        for i in range(args.count):
            rng = random.Random(args.seed * 1_000_003 + i)
            internaldate = base_time + i * 3677
            big = not args.no_big and i % args.big_every == args.big_every // 2
            msgid, data = make_message(rng, args.seed, i, args.folder, internaldate, big)
            flags = "" if args.no_flags else FLAG_PATTERNS[i % len(FLAG_PATTERNS)]
            base = "%d.M%dP%d.%s" % (internaldate, i, args.seed, host)
            tmp = os.path.join(args.maildir, "tmp", base)
            if flags or (not args.no_flags and i % 2):
                final = os.path.join(args.maildir, "cur", base + ":2," + flags)
            else:
                final = os.path.join(args.maildir, "new", base)
            with open(tmp, "wb") as f:
                f.write(data)
            os.utime(tmp, (internaldate, internaldate))
            os.rename(tmp, final)
            imap_flags = " ".join(IMAP_NAMES[c] for c in flags)
            manifest.write("\t".join([
                args.user, args.folder, msgid, hashlib.sha256(data).hexdigest(),
                imap_flags, str(internaldate), str(len(data))]) + "\n")


if __name__ == "__main__":
    main()
