#!/usr/bin/python3
"""A listener that only counts: accepts TCP connections on 127.0.0.1:PORT (and [::1]:PORT
when IPv6 is there), closes each at once, and rewrites --count-file with the number accepted
so far. The security tests point the bridge at it and check the count stays 0 (nothing
connected). Creates --ready-file once listening; exits after --lifetime seconds.
stdlib only.
"""
import argparse
import os
import selectors
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count-file", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--lifetime", type=float, default=600.0)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    listeners = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, args.port))
        except OSError:
            if family == socket.AF_INET:
                raise
            s.close()
            continue
        s.listen(16)
        sel.register(s, selectors.EVENT_READ)
        listeners.append(s)

    count = 0

    def write_count():
        tmp = args.count_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % count)
        os.replace(tmp, args.count_file)

    write_count()
    open(args.ready_file, "w").close()
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            conn, _ = key.fileobj.accept()
            conn.close()
            count += 1
            write_count()


if __name__ == "__main__":
    main()
