#!/usr/bin/env python3
"""Hostile and impatient clients for test_serve.sh's "work for strangers" checks.

  strangers.py bigpost PORT        an unauthenticated 50 MB POST: headers and 4 KB, then the
                                   answer; prints "STATUS SECONDS PUSHED" (PUSHED: bytes the
                                   client could still send before the server closed)
  strangers.py slowloris PORT N    N connections trickling a header; prints "HELD REFUSED
                                   SECONDS": how many the server still held when the
                                   N+1th came, whether that one was refused at once, and
                                   when the last slow one was closed
  strangers.py burst PORT USER BADUSER PASSWORD N
                                   N wrong sign-ins for BADUSER at once from 127.0.0.(10..),
                                   then USER's sign-in from 127.0.0.250; prints "STATUS
                                   SECONDS ALONE": USER's during the burst, and the
                                   seconds of one sign-in of USER's alone before it
Only ever connects to 127.0.0.0/8.
"""
import json
import socket
import sys
import threading
import time


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_status(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def bigpost(port):
    s = connect(port)
    origin = "http://127.0.0.1:%d" % port
    s.sendall(("POST /api/mailbox/batch HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
               "Content-Length: 52428800\r\n\r\n" % (port, origin)).encode() + b"x" * 4096)
    t0 = time.monotonic()
    status = read_status(s, 30)
    seconds = time.monotonic() - t0
    pushed = 0
    s.settimeout(10)
    try:
        chunk = b"x" * 65536
        while pushed < 52428800:
            pushed += s.send(chunk)
    except OSError:
        pass
    print(status, "%.2f" % seconds, pushed)


def slowloris(port, n):
    slow = []
    for _ in range(n):
        s = connect(port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(s)
    extra = connect(port)
    extra.settimeout(2)
    try:
        refused = extra.recv(1) == b""
    except ConnectionResetError:
        refused = True
    except socket.timeout:
        refused = False
    t0 = time.monotonic()
    open_ = set(range(n))
    while open_ and time.monotonic() - t0 < 90:
        time.sleep(0.5)
        for i in list(open_):
            try:
                slow[i].send(b"a")
                slow[i].settimeout(0.01)
                if slow[i].recv(1) == b"":
                    open_.discard(i)
            except socket.timeout:
                pass
            except OSError:
                open_.discard(i)
    print(n, "refused" if refused else "admitted", "%.1f" % (time.monotonic() - t0))


def sign_in(port, user, password, source):
    body = json.dumps({"username": user, "password": password}).encode()
    s = connect(port, source)
    s.sendall(("POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1:%d\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (port, port, len(body))).encode() + body)
    status = read_status(s, 300)
    s.close()
    return status


def burst(port, user, baduser, password, n):
    t0 = time.monotonic()
    sign_in(port, user, password, "127.0.0.251")
    alone = time.monotonic() - t0
    threads = [threading.Thread(target=sign_in, args=(port, baduser, "wrong-guess",
                                                      "127.0.0.%d" % (10 + i)))
               for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    status = sign_in(port, user, password, "127.0.0.250")
    print(status, "%.2f" % (time.monotonic() - t0), "%.2f" % alone)
    for t in threads:
        t.join()


if __name__ == "__main__":
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "bigpost":
        bigpost(port)
    elif what == "slowloris":
        slowloris(port, int(sys.argv[3]))
    elif what == "burst":
        burst(port, sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
