#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The golden vectors through vmbkit-ring: every ring-write vector the tool can express is
written with `vmbkit-ring write` and must give the vector's bytes and indices (or exit 3 for
"reject: full"), then `read` must decode it back to the packet; transfer-page vectors (which
`write` cannot express) are staged byte for byte and must decode; every malformed vector must
make `read` and `dump` exit 2 with nothing printed for the bad packet. Usage:
vmbkit_ring_vectors_test.py VMBKIT_RING VECTORS_DIR"""

import os
import sys
import tempfile
import unittest

import ring_tool as rt

WRITE_VECTOR_FILES = ["ring-inband.vec", "ring-gpa-direct.vec", "ring-completion.vec",
                      "ring-wrap.vec", "ring-capacity.vec", "ring-transfer-page.vec"]


def write_arguments(vector):
    """The `vmbkit-ring write` options for a vector's packet line."""
    arguments = []
    payload = rt.payload_bytes(vector.token("packet", "payload"))
    for key, value in vector.tokens("packet"):
        if key == "type":
            arguments += ["--type", value]
        elif key == "flags":
            arguments += ["--flags", value]
        elif key == "trans_id":
            arguments += ["--trans-id", value]
        elif key == "range":
            arguments += ["--gpa", value]
    return arguments + ["--payload", payload.hex()]


class RingWriteVectors(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "ring.bin")

    def tearDown(self):
        self.directory.cleanup()

    def vectors(self):
        found = []
        for file_name in WRITE_VECTOR_FILES:
            found += [v for v in rt.load_vectors(file_name) if v.headers["kind"] == "ring-write"]
        self.assertGreaterEqual(len(found), 20, "the ring-write vectors went missing")
        for vector in found:
            self.assertEqual(rt.number(vector.headers["ring_data_size"]), rt.PAGE, vector.name)
        return found

    def stage(self, vector, ring):
        rt.run("init", self.path, expect=0)
        rt.set_indices(self.path, ring, rt.number(vector.token("before", "write_index")),
                       rt.number(vector.token("before", "read_index")))

    def test_write_gives_the_vector_bytes_and_read_decodes_them(self):
        checked = 0
        for vector in self.vectors():
            if vector.token("packet", "type") == "7":
                continue
            with self.subTest(vector=vector.name):
                self.stage(vector, rt.GUEST_TO_HOST)
                before = rt.indices(self.path, rt.GUEST_TO_HOST)
                full = vector.headers["expect"] == "reject: full"
                result = rt.run("write", self.path, "--side", "guest", *write_arguments(vector))
                self.assertEqual(result.status, 3 if full else 0, result.stderr)
                self.assertEqual(result.stdout, "")
                data = rt.data_area(self.path, rt.GUEST_TO_HOST)
                if full:
                    self.assertIn("full", result.stderr)
                    self.assertEqual(data, bytes(rt.PAGE), "a full write changed the ring")
                    self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), before)
                    continue
                self.assertEqual(data.hex(), vector.image(rt.PAGE).hex())
                self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST)[0],
                                 rt.number(vector.token("after", "write_index")))
                # The bytes before the old write index stand for earlier packets the vector
                # leaves out (zeros here): read from the new packet on.
                rt.write_u32(self.path, rt.READ_INDEX, before[0])
                read = rt.run("read", self.path, "--side", "host", expect=0)
                self.assertEqual(read.stdout, rt.expected_line(vector) + "\n")
                write_index, read_index = rt.indices(self.path, rt.GUEST_TO_HOST)
                self.assertEqual(read_index, write_index, "read did not consume the packet")
                checked += 1
        self.assertGreaterEqual(checked, 15)

    def test_transfer_page_vectors_decode(self):
        checked = 0
        for vector in self.vectors():
            if vector.token("packet", "type") != "7":
                continue
            with self.subTest(vector=vector.name):
                # Transfer-page packets travel host->guest (netvsc receive data).
                self.stage(vector, rt.HOST_TO_GUEST)
                base = rt.control_offset(rt.HOST_TO_GUEST)
                rt.write_bytes(self.path, base + rt.PAGE, vector.image(rt.PAGE))
                rt.write_u32(self.path, base + rt.WRITE_INDEX,
                             rt.number(vector.token("after", "write_index")))
                dump = rt.run("dump", self.path, expect=0)
                self.assertIn(rt.expected_line(vector), dump.stdout)
                self.assertIn("sender_owns_set=", dump.stdout)
                self.assertNotIn("note: trailer", dump.stdout)
                read = rt.run("read", self.path, "--side", "guest", expect=0)
                self.assertEqual(read.stdout, rt.expected_line(vector) + "\n")
                checked += 1
        self.assertEqual(checked, 2)


class MalformedVectors(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "ring.bin")

    def tearDown(self):
        self.directory.cleanup()

    def test_read_and_dump_reject_every_malformed_vector(self):
        vectors = rt.load_vectors("malformed.vec")
        self.assertGreaterEqual(len(vectors), 15)
        for vector in vectors:
            with self.subTest(vector=vector.name):
                self.assertEqual(vector.headers["expect"], "reject: corrupt")
                rt.run("init", self.path, expect=0)
                read_index = rt.number(vector.token("before", "read_index"))
                write_index = rt.number(vector.token("before", "write_index"))
                size = rt.number(vector.headers["ring_data_size"])
                self.assertEqual(size, rt.PAGE)
                # The offset lines are the published bytes from read_index on, in ring order.
                rt.write_bytes(self.path, rt.PAGE, vector.image(rt.PAGE))
                rt.set_indices(self.path, rt.GUEST_TO_HOST, write_index, read_index)
                before = rt.file_bytes(self.path)

                dump = rt.run("dump", self.path)
                self.assertEqual(dump.status, 2, dump.stdout + dump.stderr)
                self.assertIn("corrupt", dump.stderr)
                self.assertNotIn("packet at", dump.stdout)
                self.assertIn("host->guest ring", dump.stdout, "dump stopped at the bad ring")
                self.assertEqual(rt.file_bytes(self.path), before, "dump changed the file")

                read = rt.run("read", self.path, "--side", "host")
                self.assertEqual(read.status, 2, read.stdout + read.stderr)
                self.assertEqual(read.stdout, "", "something was printed for a bad packet")
                self.assertIn("guest->host ring is corrupt", read.stderr)
                self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST),
                                 (write_index, read_index), "a corrupt packet was consumed")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: vmbkit_ring_vectors_test.py VMBKIT_RING VECTORS_DIR")
    rt.BINARY = sys.argv.pop(1)
    os.environ.setdefault("VMBKIT_VECTORS_DIR", sys.argv.pop(1))
    unittest.main(verbosity=2)
