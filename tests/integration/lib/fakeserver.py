#!/usr/bin/python3
"""A scripted POP3 or IMAP server that offers no STLS/STARTTLS, for the
"encryption required" tests: it records every line a client sends (to --log, one line
per received line, prefixed with the connection number) so a test can prove that no
credentials went out in clear text. It never accepts a login.

Bounded: exits after --lifetime seconds (default 120). Prints "ready" once listening.
stdlib only.
"""
import argparse
import socket
import sys
import threading
import time


def serve(conn, no, proto, log_path, lock):
    conn.settimeout(10)
    f = conn.makefile("rwb", buffering=0)

    def send(text):
        f.write(text.encode())

    def log(line):
        with lock, open(log_path, "ab") as out:
            out.write(b"%d " % no + line.rstrip(b"\r\n") + b"\n")

    try:
        if proto == "pop3":
            send("+OK fake POP3 server without TLS\r\n")
        else:
            send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake IMAP server without TLS\r\n")
        while True:
            line = f.readline(8192)
            if not line:
                break
            log(line)
            words = line.decode("latin-1").strip().split(" ")
            if proto == "pop3":
                cmd = words[0].upper()
                if cmd == "CAPA":
                    send("+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")
                elif cmd == "QUIT":
                    send("+OK bye\r\n")
                    break
                else:
                    send("-ERR not available here\r\n")
            else:
                tag = words[0]
                cmd = words[1].upper() if len(words) > 1 else ""
                if cmd == "CAPABILITY":
                    send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n" % tag)
                elif cmd == "LOGOUT":
                    send("* BYE bye\r\n%s OK done\r\n" % tag)
                    break
                elif cmd == "NOOP":
                    send("%s OK done\r\n" % tag)
                else:
                    send("%s NO not available here\r\n" % tag)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--proto", choices=["pop3", "imap"], required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--ready-file", help="created once listening")
    args = ap.parse_args()
    open(args.log, "wb").close()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(8)
    listener.settimeout(0.5)
    print("ready", flush=True)
    if args.ready_file:
        open(args.ready_file, "w").close()
    lock = threading.Lock()
    end = time.monotonic() + args.lifetime
    no = 0
    while time.monotonic() < end:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        no += 1
        threading.Thread(target=serve, args=(conn, no, args.proto, args.log, lock),
                         daemon=True).start()
    listener.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
