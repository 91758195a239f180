# SPDX-License-Identifier: MIT
"""Shared helpers for the vmbkit-ring CLI tests: running the binary, poking control-page
fields and data bytes of a ring file directly (to stage states the tool itself would never
write), and a small reader for the golden vectors (format in ../shared/vectors/README.md).
Test support only; the tests themselves are vmbkit_ring_cli_test.py and
vmbkit_ring_vectors_test.py."""

import os
import struct
import subprocess
from dataclasses import dataclass, field

PAGE = 4096
# Control-page field offsets (wire-format.md section 1.1).
WRITE_INDEX, READ_INDEX, INTERRUPT_MASK, PENDING_SEND_SIZE, FEATURE_BITS = 0, 4, 8, 12, 64
GUEST_TO_HOST, HOST_TO_GUEST = 0, 1

BINARY = os.environ.get("VMBKIT_RING", "vmbkit-ring")


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str


def run(*arguments, expect=None, env=None):
    """Runs vmbkit-ring with `arguments`; checks the exit status when `expect` is given."""
    done = subprocess.run([BINARY, *map(str, arguments)], capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    result = Run(done.returncode, done.stdout, done.stderr)
    if expect is not None and result.status != expect:
        raise AssertionError(f"vmbkit-ring {' '.join(map(str, arguments))}: exit {result.status},"
                             f" expected {expect}\nstdout:\n{result.stdout}\n"
                             f"stderr:\n{result.stderr}")
    return result


def control_offset(ring, pages=1):
    """File offset of a ring's control page; `pages` = data pages of the guest->host ring."""
    return 0 if ring == GUEST_TO_HOST else (1 + pages) * PAGE


def read_u32(path, offset):
    with open(path, "rb") as file:
        file.seek(offset)
        return struct.unpack("<I", file.read(4))[0]


def write_bytes(path, offset, data):
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(data)


def write_u32(path, offset, value):
    write_bytes(path, offset, struct.pack("<I", value))


def set_indices(path, ring, write_index, read_index, pages=1):
    base = control_offset(ring, pages)
    write_u32(path, base + WRITE_INDEX, write_index)
    write_u32(path, base + READ_INDEX, read_index)


def indices(path, ring, pages=1):
    base = control_offset(ring, pages)
    return read_u32(path, base + WRITE_INDEX), read_u32(path, base + READ_INDEX)


def data_area(path, ring, pages=1, data_pages=1):
    with open(path, "rb") as file:
        file.seek(control_offset(ring, pages) + PAGE)
        return file.read(data_pages * PAGE)


def file_bytes(path):
    with open(path, "rb") as file:
        return file.read()


# ---- golden vectors ------------------------------------------------------------------------

def vectors_dir():
    return os.environ.get("VMBKIT_VECTORS_DIR", "")


def number(text):
    return int(text, 16) if text.lower().startswith("0x") else int(text)


@dataclass
class Vector:
    name: str
    headers: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)  # (offset, bytes) in file order

    def tokens(self, key):
        """The key=value tokens of header `key`, in order, as (key, value) pairs."""
        return [tuple(token.split("=", 1)) for token in self.headers.get(key, "").split()
                if "=" in token]

    def token(self, header, key):
        for name, value in self.tokens(header):
            if name == key:
                return value
        return None

    def image(self, size):
        data = bytearray(size)
        for offset, run_bytes in self.runs:
            data[offset:offset + len(run_bytes)] = run_bytes
        return bytes(data)


def load_vectors(file_name):
    path = os.path.join(vectors_dir(), file_name)
    vectors = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.rstrip("\n")
            if line.startswith("# name:"):
                vectors.append(Vector(line.split(":", 1)[1].strip()))
            elif not vectors:
                continue
            elif line.startswith("# ") and ":" in line:
                key, value = line[2:].split(":", 1)
                vectors[-1].headers[key.strip()] = value.strip()
            elif line.startswith("offset "):
                offset, hex_bytes = line[len("offset "):].split(":", 1)
                vectors[-1].runs.append((int(offset, 16), bytes.fromhex(hex_bytes)))
    return vectors


def payload_bytes(token):
    """A vector payload token: hex, '-' (empty) or 'pattern:N' (bytes i & 0xff)."""
    if token == "-":
        return b""
    if token.startswith("pattern:"):
        return bytes(i & 0xFF for i in range(int(token.split(":", 1)[1])))
    return bytes.fromhex(token)


def padded_hex(data):
    return (data + bytes(-len(data) % 8)).hex()


def expected_line(vector):
    """The line `vmbkit-ring read` must print for a vector's packet."""
    packet = dict(token for token in vector.tokens("packet") if token[0] not in
                  ("range", "xfer_range"))
    line = (f"type={number(packet['type']):#x} flags={number(packet['flags']):#x} "
            f"trans_id={number(packet['trans_id']):#x} "
            f"payload={padded_hex(payload_bytes(packet['payload']))}")
    ranges = [value for key, value in vector.tokens("packet") if key == "range"]
    if ranges:
        shown = []
        for text in ranges:
            count, offset, pfns = text.split(":")
            pfn_list = ",".join(f"{number(pfn):#x}" for pfn in pfns.split(","))
            shown.append(f"{number(count)}:{number(offset)}:{pfn_list}")
        line += " ranges=" + ";".join(shown)
    xfer = [value for key, value in vector.tokens("packet") if key == "xfer_range"]
    if packet.get("xfer_pageset_id") is not None:
        shown = [f"{number(c)}:{number(o)}" for c, o in (text.split(":") for text in xfer)]
        line += f" pageset={number(packet['xfer_pageset_id']):#x} ranges=" + ";".join(shown)
    return line
