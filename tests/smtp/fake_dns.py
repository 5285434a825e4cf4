#!/usr/bin/python3
"""fake_dns: a tiny authoritative DNS responder over UDP for the MX resolution tests.

Usage: fake_dns.py PORTFILE RECORD...   with RECORD one of
  MX:name:preference:exchange      (exchange "." is a null MX, RFC 7505)
  A:name:ipv4    AAAA:name:ipv6
Names with some record but none of the asked type get NODATA; others get NXDOMAIN.
Listens on 127.0.0.1, writes its port to PORTFILE, runs until killed.
"""
import ipaddress
import os
import socket
import struct
import sys

TYPES = {"A": 1, "MX": 15, "AAAA": 28}


def enc_name(name):
    if name in (".", ""):
        return b"\x00"
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def parse_question(pkt):
    i, labels = 12, []
    while True:
        n = pkt[i]
        if n == 0:
            i += 1
            break
        labels.append(pkt[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, qclass = struct.unpack("!HH", pkt[i:i + 4])
    return ".".join(labels).lower(), qtype, pkt[12:i + 4]


def main():
    portfile, specs = sys.argv[1], sys.argv[2:]
    zone = {}
    for s in specs:
        kind, name, rest = s.split(":", 2)
        zone.setdefault(name.lower(), []).append((TYPES[kind], rest))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        pkt, addr = sock.recvfrom(4096)
        if len(pkt) < 12:
            continue
        qid, flags = struct.unpack("!HH", pkt[:4])
        name, qtype, question = parse_question(pkt)
        answers = []
        rcode = 0
        if name not in zone:
            rcode = 3
        else:
            for t, val in zone[name]:
                if t != qtype:
                    continue
                if t == 1:
                    rdata = ipaddress.IPv4Address(val).packed
                elif t == 28:
                    rdata = ipaddress.IPv6Address(val).packed
                else:
                    pref, exch = val.split(":", 1)
                    rdata = struct.pack("!H", int(pref)) + enc_name(exch)
                answers.append(b"\xc0\x0c" + struct.pack("!HHIH", t, 1, 60, len(rdata)) + rdata)
        rflags = 0x8000 | (flags & 0x0100) | 0x0400 | 0x0080 | rcode
        hdr = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0)
        sock.sendto(hdr + question + b"".join(answers), addr)


main()
