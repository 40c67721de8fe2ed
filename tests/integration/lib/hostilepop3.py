#!/usr/bin/python3
"""A scripted hostile POP3 server for test_hostile_pop3.sh (stdlib only, 127.0.0.1).

It keeps one maildrop across connections and misbehaves the way real servers do:

  * UIDL reuse: when a session's deletions take effect (QUIT), every deleted message's UIDL
    is handed to a new message (for the first --reuse-rounds sessions with deletions), and
    one message with a fresh UIDL is added beside them;
  * an empty listing: session number --empty-session sees an empty maildrop (STAT 0, an
    empty UIDL listing) although the messages are still there;
  * a cut between RETR and DELE: in session --cut-session the connection is closed when the
    first DELE arrives, unanswered, so no deletion takes effect (RFC 1939: only QUIT does);
  * --slow: seconds to wait before each RETR answer, so that a test can kill the client in
    the middle of a run.

Every message it ever offered (listed or sent) is written to --offered (one line per
message: its serial), and the serials the maildrop holds now to --current after every
change. Each message carries "X-Serial: N" and is unique. Bounded: exits after
--lifetime seconds. Writes --ready-file once listening.
"""
import argparse
import os
import socket
import threading
import time


class Maildrop:
    def __init__(self, initial, offered_path, current_path):
        self.current_path = current_path
        self.lock = threading.Lock()
        self.serial = 0
        self.next_uid = 1
        self.messages = []  # [uidl, serial, content]
        self.offered_path = offered_path
        self.offered = set()
        self.sessions = 0
        self.sessions_with_deletions = 0
        for _ in range(initial):
            self.add(None)
        self.write_current()

    def write_current(self):
        with open(self.current_path + ".new", "w") as f:
            f.write("".join("%d\n" % m[1] for m in self.messages))
        os.replace(self.current_path + ".new", self.current_path)

    def add(self, uidl):
        self.serial += 1
        if uidl is None:
            uidl = "uid-%d" % self.next_uid
            self.next_uid += 1
        body = "".join("line %d of message %d\r\n" % (k, self.serial) for k in range(self.serial % 5))
        content = (
            "From: hostile@example.org\r\nTo: alice@example.org\r\n"
            "Subject: hostile %d\r\nX-Serial: %d\r\n\r\nMessage %d behind %s.\r\n.\r\n%s"
            % (self.serial, self.serial, self.serial, uidl, body)
        )
        self.messages.append([uidl, self.serial, content])

    def offer(self, serials):
        new = [s for s in serials if s not in self.offered]
        if new:
            self.offered.update(new)
            with open(self.offered_path, "a") as f:
                for s in new:
                    f.write("%d\n" % s)


def dot_stuff(content):
    out = []
    for line in content.split("\r\n")[:-1]:
        out.append(("." + line) if line.startswith(".") else line)
    return "\r\n".join(out) + "\r\n"


def serve(conn, drop, args):
    conn.settimeout(30)
    f = conn.makefile("rwb", buffering=0)

    def send(text):
        f.write(text.encode())

    with drop.lock:
        drop.sessions += 1
        session = drop.sessions
        # The session's view: numbered messages (none in the empty session).
        view = [] if session == args.empty_session else list(drop.messages)
        drop.offer([m[1] for m in view])
    deleted = set()
    send("+OK hostile POP3 ready\r\n")
    authed = False
    try:
        while True:
            line = f.readline(8192)
            if not line:
                return
            words = line.decode("latin-1").strip().split(" ")
            cmd = words[0].upper()
            arg = words[1] if len(words) > 1 else ""

            def msg():
                if not arg.isdigit() or not 1 <= int(arg) <= len(view) or int(arg) - 1 in deleted:
                    return None
                return int(arg) - 1

            if cmd == "CAPA":
                send("+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")
            elif cmd == "USER":
                send("+OK\r\n")
            elif cmd == "PASS":
                authed = True
                send("+OK logged in\r\n")
            elif not authed and cmd != "QUIT":
                send("-ERR log in first\r\n")
            elif cmd == "STAT":
                live = [m for i, m in enumerate(view) if i not in deleted]
                send("+OK %d %d\r\n" % (len(live), sum(len(m[2]) for m in live)))
            elif cmd in ("UIDL", "LIST") and not arg:
                out = "+OK\r\n"
                for i, m in enumerate(view):
                    if i not in deleted:
                        out += "%d %s\r\n" % (i + 1, m[0] if cmd == "UIDL" else len(m[2]))
                send(out + ".\r\n")
            elif cmd == "RETR":
                i = msg()
                if i is None:
                    send("-ERR no such message\r\n")
                    continue
                if args.slow:
                    time.sleep(args.slow)
                send("+OK %d octets\r\n" % len(view[i][2]) + dot_stuff(view[i][2]) + ".\r\n")
            elif cmd == "DELE":
                if session == args.cut_session:
                    return  # cut between RETR and DELE: nothing is deleted
                i = msg()
                if i is None:
                    send("-ERR no such message\r\n")
                    continue
                deleted.add(i)
                send("+OK marked\r\n")
            elif cmd == "NOOP":
                send("+OK\r\n")
            elif cmd == "RSET":
                deleted.clear()
                send("+OK\r\n")
            elif cmd == "QUIT":
                with drop.lock:
                    gone = [view[i] for i in deleted]
                    drop.messages = [m for m in drop.messages if all(m is not g for g in gone)]
                    if gone:
                        drop.sessions_with_deletions += 1
                        if drop.sessions_with_deletions <= args.reuse_rounds:
                            for g in gone:
                                drop.add(g[0])  # the same UIDL, new content
                            drop.add(None)
                    drop.write_current()
                send("+OK bye\r\n")
                return
            else:
                send("-ERR unknown command\r\n")
    except OSError:
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--initial", type=int, default=6)
    ap.add_argument("--reuse-rounds", type=int, default=3)
    ap.add_argument("--empty-session", type=int, default=0)
    ap.add_argument("--cut-session", type=int, default=0)
    ap.add_argument("--slow", type=float, default=0.0)
    ap.add_argument("--offered", required=True)
    ap.add_argument("--current", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    open(args.offered, "w").close()
    drop = Maildrop(args.initial, args.offered, args.current)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(8)
    srv.settimeout(1)
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    end = time.time() + args.lifetime
    while time.time() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, drop, args), daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    main()
