#!/usr/bin/env python3
"""zmq_send.py - a real ZeroMQ DEALER (libzmq through ctypes, so CURVE works
the way every client's does) that sends one single-frame message of exactly
SIZE bytes: a msgpack map {"v": <bin padding>}, which no envelope accepts.
For tests of the size limits, over NULL or CURVE. For tests only.

    zmq_send.py ENDPOINT SIZE [SERVER_PUB_FILE CLIENT_KEY_FILE]

Key files are the ones `airguard keygen` writes (docs/protocol.md section
5). Prints the reply's frames as text (NULs as spaces), or "no reply" when
none comes within 3 seconds.
"""
import ctypes
import sys

ZMQ_DEALER = 5
ZMQ_LINGER = 17
ZMQ_CURVE_PUBLICKEY = 48
ZMQ_CURVE_SECRETKEY = 49
ZMQ_CURVE_SERVERKEY = 50
ZMQ_RCVTIMEO = 27
ZMQ_RCVMORE = 13


def key_of(path):
    """The Z85 key of a key file: the first line that is not blank or '#'."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line.split()[0].encode()
    raise SystemExit("%s: no key" % path)


def main():
    endpoint, size = sys.argv[1].encode(), int(sys.argv[2])
    z = ctypes.CDLL("libzmq.so.5")
    z.zmq_ctx_new.restype = ctypes.c_void_p
    z.zmq_socket.restype = ctypes.c_void_p
    z.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
    z.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    z.zmq_getsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.c_size_t)]
    z.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    z.zmq_send.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    z.zmq_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    z.zmq_curve_public.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    ctx = z.zmq_ctx_new()
    s = z.zmq_socket(ctx, ZMQ_DEALER)

    def setopt(opt, value):
        if isinstance(value, int):
            buf = ctypes.c_int(value)
            rc = z.zmq_setsockopt(s, opt, ctypes.byref(buf), ctypes.sizeof(buf))
        else:
            rc = z.zmq_setsockopt(s, opt, ctypes.c_char_p(value), len(value))
        if rc != 0:
            raise SystemExit("zmq_setsockopt %d failed" % opt)

    setopt(ZMQ_LINGER, 0)
    setopt(ZMQ_RCVTIMEO, 3000)
    if len(sys.argv) > 4:
        secret = key_of(sys.argv[4])
        public = ctypes.create_string_buffer(41)
        if z.zmq_curve_public(public, secret) != 0:
            raise SystemExit("not a CURVE secret key: " + sys.argv[4])
        setopt(ZMQ_CURVE_SERVERKEY, key_of(sys.argv[3]))
        setopt(ZMQ_CURVE_PUBLICKEY, public.value)
        setopt(ZMQ_CURVE_SECRETKEY, secret)
    if z.zmq_connect(s, endpoint) != 0:
        raise SystemExit("cannot connect to " + sys.argv[1])
    # fixmap of 1, "v", bin32 of the rest: exactly `size` bytes
    body = b"\x81\xa1v\xc6" + (size - 8).to_bytes(4, "big") + b"\x00" * (size - 8)
    assert len(body) == size
    z.zmq_send(s, body, len(body), 0)
    frames = []
    buf = ctypes.create_string_buffer(4096)
    while True:
        n = z.zmq_recv(s, buf, len(buf), 0)
        if n < 0:
            break
        frames.append(buf.raw[:min(n, len(buf))])
        more = ctypes.c_int(0)
        ln = ctypes.c_size_t(ctypes.sizeof(more))
        z.zmq_getsockopt(s, ZMQ_RCVMORE, ctypes.byref(more), ctypes.byref(ln))
        if not more.value:
            break
    print(" | ".join(f.replace(b"\x00", b" ").decode("latin-1") for f in frames)
          if frames else "no reply")
    sys.stdout.flush()
    # the context is left to the process exit: terminating it could block
    # on a dropped connection


if __name__ == "__main__":
    main()
