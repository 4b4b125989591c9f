#!/usr/bin/env python3
"""A man in the middle between the Aryl gateway and one device (CoAP over
UDP on loopback), for scripts/aryl-test.sh: it forwards every datagram both
ways and records the payload of each signed invocation (POST /invoke) the
gateway sends, one hex line per datagram, in CAPTURE. While the file HOLD
exists it withholds those invocations (records them, does not forward them):
an attacker keeping a command to apply it late.

    aryl-mitm.py UPSTREAM_HOST:PORT CAPTURE HOLD    (prints "listening on PORT")
"""
import select
import socket
import sys


def invoke_payload(d):
    """The payload of a CoAP POST /invoke, else None."""
    if len(d) < 4 or d[1] != 0x02:
        return None
    i, number, path = 4 + (d[0] & 0x0F), 0, []
    while i < len(d):
        if d[i] == 0xFF:
            return bytes(d[i + 1:]) if path == ["invoke"] else None
        delta, length = d[i] >> 4, d[i] & 0x0F
        i += 1
        ext = {13: (1, 13), 14: (2, 269)}
        if delta in ext:
            n, base = ext[delta]
            delta = int.from_bytes(d[i:i + n], "big") + base
            i += n
        if length in ext:
            n, base = ext[length]
            length = int.from_bytes(d[i:i + n], "big") + base
            i += n
        number += delta
        if number == 11:
            path.append(d[i:i + length].decode(errors="replace"))
        i += length
    return None


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    upstream = (host, int(port))
    capture, hold = sys.argv[2], sys.argv[3]
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    print("listening on", front.getsockname()[1], flush=True)
    peers = {}  # client address -> its own socket to the device
    back = {}  # that socket -> the client address
    while True:
        ready, _, _ = select.select([front, *back], [], [])
        for s in ready:
            if s is front:
                data, client = front.recvfrom(4096)
                payload = invoke_payload(data)
                if payload is not None:
                    with open(capture, "a") as f:
                        f.write(payload.hex() + "\n")
                    try:
                        open(hold).close()
                        continue  # withheld
                    except OSError:
                        pass
                if client not in peers:
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    u.bind(("127.0.0.1", 0))
                    peers[client], back[u] = u, client
                peers[client].sendto(data, upstream)
            else:
                data, _ = s.recvfrom(4096)
                front.sendto(data, back[s])


if __name__ == "__main__":
    main()
