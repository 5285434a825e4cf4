#!/usr/bin/env python3
"""Writes the queue_store_recover seeds (fuzz/corpus/queue_store_recover/gen-*): damage
operations in the unit format fuzz/queue_store_recover.c describes (row updates of every
table, deleted rows, values of the wrong type, flipped file bytes)."""
import os
import struct

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "queue_store_recover")


def i64(v): return bytes([0]) + struct.pack(">q", v)
def txt(b): return bytes([1, len(b)]) + b
def blob(b): return bytes([2, len(b)]) + b


NULL = bytes([3])
SEEDS = {
    "intact": b"",
    "rcpt-state-out-of-range": bytes([2, 0, 5, 0]) + i64(9),
    "priority-out-of-range": bytes([1, 1, 2]) + i64(77),
    "hold-and-ret-garbage": bytes([1, 0, 8]) + i64(-3) + bytes([1, 0, 5]) + i64(1 << 40)
    + bytes([1, 2, 11]) + i64(12),
    "no-recipients": bytes([4, 2, 0]),
    "no-content": bytes([4, 1, 1]),
    "message-row-gone": bytes([4, 0, 2]),
    "addr-empty-and-blob": bytes([2, 0, 2, 1]) + txt(b"") + bytes([2, 2, 3, 0]) + blob(b"\x00\xff"),
    "id-renamed": bytes([1, 1, 0]) + txt(b"not-a-queue-id"),
    "text-with-nul": bytes([1, 0, 3]) + txt(b"a\x00b@example.org") + bytes([2, 0, 10, 1])
    + txt(b"451\x00x"),
    "content-version-dangling": bytes([1, 1, 14]) + i64(7) + bytes([3, 1, 2]) + i64(99),
    "history-nulls": bytes([5, 0, 0]) + NULL + bytes([5, 0, 7]) + blob(b"\x01"),
    "file-flip-header": bytes([0, 0, 0x10, 0xff]),
    "file-flip-middle": bytes([0, 0x80, 0x00, 0x55, 0, 0xc0, 0x10, 0x01]),
    "real-for-int": bytes([2, 0, 5, 0]) + bytes([4]) + struct.pack(">d", 1.5),
}

os.makedirs(D, exist_ok=True)
for name, unit in SEEDS.items():
    with open(os.path.join(D, "gen-" + name), "wb") as f:
        f.write(unit)
print(f"{len(SEEDS)} seeds written under {D}")
