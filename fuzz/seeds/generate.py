#!/usr/bin/env python3
"""Seed inputs for the runtime's fuzz targets (run from fuzz/seeds/).

envelope/: unsigned envelopes (the installs come from `alkyl upload
--unsigned --out`; this adds a delete and a set-triggers command).
coap_request/: datagram sequences `[len][clock step][datagram]` for
coap_request.rs: reads, runs, a Block1 upload of envelope/counter in 64-byte
blocks, an out-of-order block, a delete.
"""
import struct


def envelope(op, name, version, triggers=b"", count=0):
    head = b"ALKE" + bytes([1, op, 0, 0]) + struct.pack("<III", version, 0, 0)
    head += bytes([len(name), count, 0, 0]) + bytes(8)
    return head + name + triggers + bytes(64)


def option_header(delta, length):
    def nib(v):
        return (v, b"") if v < 13 else (13, bytes([v - 13])) if v < 269 else (14, struct.pack(">H", v - 269))
    d, dx = nib(delta)
    l, lx = nib(length)
    return bytes([(d << 4) | l]) + dx + lx


def coap(mid, code, path, options=(), payload=b""):
    opts = [(11, seg.encode()) for seg in path.strip("/").split("/") if seg] + list(options)
    opts.sort(key=lambda o: o[0])
    out = bytes([0x41, code]) + struct.pack(">H", mid) + bytes([0x5a])
    last = 0
    for num, value in opts:
        out += option_header(num - last, len(value)) + value
        last = num
    if payload:
        out += b"\xff" + payload
    return out


def block(num, more, szx):
    v = (num << 4) | (more << 3) | szx
    return v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""


def sequence(datagrams):
    out = b""
    for step, d in datagrams:
        assert len(d) < 256, len(d)
        out += bytes([len(d), step]) + d
    return out


GET, POST, PUT, DELETE = 1, 2, 3, 4
with open("envelope/delete", "wb") as f:
    f.write(envelope(2, b"a", 5))
timer = bytes([1, 0, 0, 0]) + struct.pack("<Ii", 100, 0)
with open("envelope/set-triggers", "wb") as f:
    f.write(envelope(3, b"a", 6, timer, 1))

reads = [
    (0, coap(1, GET, "/apps")),
    (0, coap(2, GET, "/.well-known/core")),
    (1, coap(3, GET, "/sensors")),
    (0, coap(4, POST, "/apps/a/run", payload=b"hello")),
    (0, coap(5, GET, "/apps/a")),
    (0, coap(6, GET, "/apps/a/result", [(23, block(1, 0, 0))])),
]
with open("coap_request/reads", "wb") as f:
    f.write(sequence(reads))

env = open("envelope/counter", "rb").read()
blocks = [env[i:i + 64] for i in range(0, len(env), 64)]
upload = []
for i, b in enumerate(blocks):
    more = int(i + 1 < len(blocks))
    opts = [(27, block(i, more, 2))] + ([(60, struct.pack(">H", len(env)))] if i == 0 else [])
    upload.append((0, coap(10 + i, PUT, "/apps/counter", opts, b)))
upload.append((0, coap(30, POST, "/apps/counter/run/increment")))
with open("coap_request/upload", "wb") as f:
    f.write(sequence(upload))
with open("coap_request/out-of-order", "wb") as f:
    f.write(sequence([upload[0], upload[2], (61, upload[1][1])]))
with open("coap_request/delete", "wb") as f:
    f.write(sequence([(0, coap(40, DELETE, "/apps/a", payload=envelope(2, b"a", 9)))]))
