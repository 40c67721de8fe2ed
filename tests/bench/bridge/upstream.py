#!/usr/bin/python3
"""The upstream TCP server both relays connect to in bridge_bench.sh (127.0.0.1 only).

One port, one tiny protocol chosen by the first byte the client sends through the relay:
  'D' + 8-byte big-endian N  the server sends N bytes as fast as it can, then waits
  'U' + 8-byte big-endian N  the server reads N bytes, then answers one byte 'K'
  'E'                        echo everything back until the client goes away

A thread per connection with blocking sockets: recv_into/sendall release the GIL, so one
connection runs at memory-copy speed, and 2,000 idle connections cost little (small stacks).
"""
import socket
import socketserver
import struct
import sys
import threading

CHUNK = 1 << 20
PAYLOAD = memoryview(bytes(range(256)) * (CHUNK // 256))


def read_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("EOF")
        data += part
    return bytes(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            mode = read_exactly(sock, 1)
            if mode == b"D":
                (n,) = struct.unpack(">Q", read_exactly(sock, 8))
                while n > 0:
                    step = min(n, CHUNK)
                    sock.sendall(PAYLOAD[:step])
                    n -= step
                # No shutdown: the client ends the connection once it has every byte.
                # (websockify 0.10 drops the frames it still has queued when its upstream
                # closes, which made a run fail now and then.)
                while sock.recv(65536):
                    pass
            elif mode == b"U":
                (n,) = struct.unpack(">Q", read_exactly(sock, 8))
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n > 0:
                    got = sock.recv_into(view, min(n, CHUNK))
                    if got == 0:
                        raise ConnectionError("EOF after upload started")
                    n -= got
                sock.sendall(b"K")
                while sock.recv(65536):
                    pass
            elif mode == b"E":
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    sock.sendall(data)
        except (ConnectionError, OSError):
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096


def main():
    port = int(sys.argv[1])
    threading.stack_size(256 * 1024)
    with Server(("127.0.0.1", port), Handler) as server:
        print("listening", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
