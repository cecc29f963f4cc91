#!/usr/bin/env python3
"""zmtp_send.py - speaks just enough ZMTP 3.0 (NULL mechanism, as a DEALER)
to send frames that no well-behaved ZeroMQ client would: hostile msgpack,
odd multipart shapes. For tests only.

    zmtp_send.py PORT HEX [HEX...]   sends one message whose frames are the
                                      given hex strings; prints the reply's
                                      frames as hex, one per line, or
                                      "no reply" after 5 seconds.
"""
import socket
import struct
import sys


def frame(body, more):
    flags = 1 if more else 0
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def main():
    port = int(sys.argv[1])
    bodies = [bytes.fromhex(h) for h in sys.argv[2:]]
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32)
    greeting = b""
    while len(greeting) < 64:
        chunk = s.recv(64 - len(greeting))
        if not chunk:
            print("no reply")
            return
        greeting += chunk
    prop = bytes([11]) + b"Socket-Type" + struct.pack(">I", 6) + b"DEALER"
    s.sendall(bytes([4, 6 + len(prop)]) + b"\x05READY" + prop)
    s.sendall(b"".join(frame(b, i + 1 < len(bodies)) for i, b in enumerate(bodies)))
    buf = b""
    frames = []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            # Parse complete frames; commands (flag bit 2) are skipped.
            while len(buf) >= 2:
                flags = buf[0]
                if flags & 2:
                    if len(buf) < 9:
                        break
                    size, head = struct.unpack(">Q", buf[1:9])[0], 9
                else:
                    size, head = buf[1], 2
                if len(buf) < head + size:
                    break
                body, buf = buf[head:head + size], buf[head + size:]
                if flags & 4:
                    continue
                frames.append(body)
                if not flags & 1:
                    for f in frames:
                        print(f.hex())
                    return
    except socket.timeout:
        pass
    print("no reply")


if __name__ == "__main__":
    main()
