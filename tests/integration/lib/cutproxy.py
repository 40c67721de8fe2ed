#!/usr/bin/python3
"""TCP relay for the integration tests: listens on 127.0.0.1:PORT, relays each connection
to TARGET_HOST:TARGET_PORT, and cuts the first --cut-connections connections once the
server has sent --cut-after bytes to the client (both sockets closed; with --rst the client
gets a TCP reset). Later connections are relayed whole. --rate limits server->client bytes
per second (to make a retrieval slow enough to be killed in the middle).

Bounded: exits by itself after --lifetime seconds (default 300) or when --max-connections
connections have ended. Writes one line per connection to stderr, and "cut" lines to
--log when given. Prints "ready" on stdout once listening.
stdlib only.
"""
import argparse
import selectors
import socket
import struct
import sys
import threading
import time


def relay(client, args, conn_no, cut_this, log):
    try:
        server = socket.create_connection((args.target_host, args.target_port), timeout=10)
    except OSError as e:
        print("cutproxy: connection %d: target unreachable: %s" % (conn_no, e), file=sys.stderr)
        client.close()
        return
    server.settimeout(None)
    client.settimeout(None)
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, "c2s")
    sel.register(server, selectors.EVENT_READ, "s2c")
    sent_to_client = 0
    started = time.monotonic()
    deadline = started + args.lifetime
    cut = False
    try:
        while time.monotonic() < deadline:
            events = sel.select(timeout=1.0)
            done = False
            for key, _ in events:
                if key.data == "c2s":
                    data = client.recv(65536)
                    if not data:
                        done = True
                        break
                    server.sendall(data)
                else:
                    limit = 65536
                    if cut_this:
                        limit = min(limit, args.cut_after - sent_to_client)
                    if args.rate:
                        limit = min(limit, max(1, args.rate // 20))
                    data = server.recv(limit) if limit > 0 else b""
                    if not data and not (cut_this and sent_to_client >= args.cut_after):
                        done = True
                        break
                    if data:
                        client.sendall(data)
                        sent_to_client += len(data)
                    if args.rate:
                        # Sleep until the average rate is back under the limit.
                        ahead = sent_to_client / args.rate - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(min(ahead, 1.0))
                    if cut_this and sent_to_client >= args.cut_after:
                        cut = True
                        done = True
                        break
            if done:
                break
    except OSError:
        pass
    finally:
        if cut and args.rst:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        server.close()
    msg = "cutproxy: connection %d: %d bytes to client%s" % (
        conn_no, sent_to_client, ", CUT" if cut else "")
    print(msg, file=sys.stderr)
    if log and cut:
        with open(log, "a") as f:
            f.write("cut connection %d after %d bytes\n" % (conn_no, sent_to_client))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--cut-after", type=int, default=0, help="0: never cut")
    ap.add_argument("--cut-connections", type=int, default=1)
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--rate", type=int, default=0, help="server->client bytes/s, 0: unlimited")
    ap.add_argument("--lifetime", type=float, default=300.0)
    ap.add_argument("--max-connections", type=int, default=0, help="0: unlimited")
    ap.add_argument("--log")
    ap.add_argument("--ready-file", help="created once listening")
    args = ap.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen_port))
    listener.listen(16)
    listener.settimeout(0.5)
    print("ready", flush=True)
    if args.ready_file:
        open(args.ready_file, "w").close()
    end = time.monotonic() + args.lifetime
    threads = []
    conn_no = 0
    while time.monotonic() < end:
        if args.max_connections and conn_no >= args.max_connections:
            break
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        conn_no += 1
        cut_this = args.cut_after > 0 and conn_no <= args.cut_connections
        t = threading.Thread(target=relay, args=(client, args, conn_no, cut_this, args.log),
                             daemon=True)
        t.start()
        threads.append(t)
    listener.close()
    for t in threads:
        t.join(timeout=max(0.0, end - time.monotonic()))


if __name__ == "__main__":
    main()
