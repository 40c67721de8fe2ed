#!/usr/bin/python3
"""Writes the benchmark's source mailbox straight into a Maildir (fast: no doveadm save).

--small N messages of about --small-size bytes each (the size varies by +-20 %) and
--big K messages whose sizes are spread evenly from --big-min to --big-max bytes, placed
at evenly spaced positions among the small ones. Every message has CRLF line ends,
distinct Message-ID, lines of at most 78 characters (some starting with '.') and is
written to cur/ with the flag S and the Maildir size fields ",S=size,W=size" (the file
is CRLF, so the virtual size equals the file size): Dovecot then needs to read no
message to learn sizes, and POP3 RETR / IMAP FETCH never have to rename files to
set \\Seen, which keeps the server's work the same for every client run.

--also DIR: hard-link the small messages (only) into a second Maildir as well.
Prints "COUNT BYTES" of what went into --maildir.
"""
import argparse
import os
import random

WORDS = (b"alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         b"mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         b"xray yankee zulu").split()


def text_pool(rng, size):
    """About SIZE bytes of CRLF text lines, built once and sliced per message."""
    lines = []
    total = 0
    n = 0
    while total < size:
        n += 1
        if n % 17 == 0:
            line = b"."
        elif n % 23 == 0:
            line = b".. a line that needs dot-stuffing %d" % n
        else:
            line = b" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 11)))
        lines.append(line + b"\r\n")
        total += len(line) + 2
    return b"".join(lines)


def body_from(pool, offset, size):
    """SIZE bytes (rounded to whole lines) of POOL starting near OFFSET, wrapping."""
    start = pool.find(b"\r\n", offset % len(pool)) + 2
    if start <= 1 or start >= len(pool):
        start = 0
    out = []
    have = 0
    while have < size:
        end = pool.find(b"\r\n", min(start + (size - have), len(pool) - 2))
        end = len(pool) if end < 0 else end + 2
        out.append(pool[start:end])
        have += end - start
        start = 0
    return b"".join(out)


def message(index, seed, body):
    headers = (
        b"Return-Path: <bench@junction.test>\r\n"
        b"From: Bench Sender <bench@junction.test>\r\n"
        b"To: Bench Reader <reader@junction.test>\r\n"
        b"Subject: Benchmark message %d\r\n"
        b"Date: Tue, 01 Oct 2024 12:%02d:%02d +0000\r\n"
        b"Message-ID: <bench.%d.%d@junction.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n" % (index, (index // 60) % 60, index % 60, seed, index))
    return headers + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--small-size", type=int, default=5000)
    ap.add_argument("--big", type=int, default=3)
    ap.add_argument("--big-min", type=int, default=10_000_000)
    ap.add_argument("--big-max", type=int, default=20_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--also", help="second Maildir that gets hard links of the small ones")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    pool = text_pool(rng, 4_000_000)
    for d in [args.maildir] + ([args.also] if args.also else []):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)

    total = args.small + args.big
    big_at = {}
    for k in range(args.big):
        pos = (k + 1) * total // (args.big + 1)
        span = args.big_max - args.big_min
        big_at[pos] = args.big_min + (span * k // max(1, args.big - 1) if args.big > 1 else 0)

    base_time = 1_700_000_000
    count = 0
    nbytes = 0
    for i in range(total):
        if i in big_at:
            size = big_at[i]
        else:
            size = args.small_size + rng.randint(-args.small_size // 5, args.small_size // 5)
        data = message(i, args.seed, b"")
        data += body_from(pool, rng.randrange(len(pool)), max(0, size - len(data)))
        name = "%d.M%dP%d.bench,S=%d,W=%d:2,S" % (base_time + i, i, args.seed, len(data),
                                                 len(data))
        tmp = os.path.join(args.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        t = base_time + i * 60
        os.utime(tmp, (t, t))
        final = os.path.join(args.maildir, "cur", name)
        os.rename(tmp, final)
        if args.also and i not in big_at:
            os.link(final, os.path.join(args.also, "cur", name))
        count += 1
        nbytes += len(data)
    print(count, nbytes)


if __name__ == "__main__":
    main()
