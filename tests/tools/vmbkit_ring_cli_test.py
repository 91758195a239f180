#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vmbkit-ring command line: every command and every error path, run on the built binary.
Checks outputs, exit statuses (0 ok, 1 usage, 2 corrupt, 3 full) and that failed commands
leave the ring file untouched. The golden vectors are in vmbkit_ring_vectors_test.py.
Usage: vmbkit_ring_cli_test.py VMBKIT_RING"""

import os
import struct
import sys
import tempfile
import unittest

import ring_tool as rt

COMMANDS = ["init", "write", "read", "dump", "demo"]


class RingToolTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "ring.bin")

    def tearDown(self):
        self.directory.cleanup()

    def assert_usage_error(self, *arguments):
        result = rt.run(*arguments)
        self.assertEqual(result.status, 1, f"{arguments}: {result.stdout}{result.stderr}")
        self.assertEqual(result.stdout, "", arguments)
        self.assertNotEqual(result.stderr, "", arguments)
        return result


class Help(RingToolTest):
    def test_help_everywhere(self):
        for command in [[], *([c] for c in COMMANDS)]:
            with self.subTest(command=command):
                result = rt.run(*command, "--help", expect=0)
                self.assertIn("Exit status", result.stdout)
                self.assertEqual(result.stderr, "")
        self.assertIn("--receive-pages", rt.run("init", "--help").stdout)
        self.assertIn("--gpa", rt.run("write", "-h").stdout)

    def test_usage_errors_exit_1(self):
        self.assert_usage_error()
        self.assert_usage_error("frobnicate")
        self.assert_usage_error("init")
        self.assert_usage_error("dump", self.path)  # no such file
        self.assert_usage_error("read", self.path, "--side", "guest")


class Init(RingToolTest):
    def test_default_is_one_data_page_per_ring_with_pending_send_size(self):
        rt.run("init", self.path, expect=0)
        data = rt.file_bytes(self.path)
        self.assertEqual(len(data), 4 * rt.PAGE)
        expected = bytearray(4 * rt.PAGE)
        for ring in (rt.GUEST_TO_HOST, rt.HOST_TO_GUEST):
            expected[rt.control_offset(ring) + rt.FEATURE_BITS] = 1
        self.assertEqual(data, bytes(expected))

    def test_geometry_options(self):
        for options, size_pages in [(["--pages", "3"], 8), (["--receive-pages", "2"], 5),
                                    (["--pages", "0x2", "--receive-pages", "3"], 7)]:
            with self.subTest(options=options):
                rt.run("init", self.path, *options, expect=0)
                self.assertEqual(os.path.getsize(self.path), size_pages * rt.PAGE)

    def test_init_overwrites_with_zeroed_rings(self):
        rt.run("init", self.path, "--pages", "2", expect=0)
        rt.run("write", self.path, "--side", "guest", "--payload", "ff" * 100, expect=0)
        rt.run("init", self.path, expect=0)
        self.assertEqual(os.path.getsize(self.path), 4 * rt.PAGE)
        self.assertEqual(rt.data_area(self.path, rt.GUEST_TO_HOST), bytes(rt.PAGE))
        self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), (0, 0))

    def test_bad_geometry_is_a_usage_error(self):
        for value in ["0", "-1", "abc", "0x", "0x40001", "1.5", "99999999999999999999999"]:
            with self.subTest(value=value):
                self.assert_usage_error("init", self.path, "--pages", value)
                self.assert_usage_error("init", self.path, "--receive-pages", value)
        self.assertFalse(os.path.exists(self.path))


class WriteAndRead(RingToolTest):
    def test_guest_writes_guest_to_host_and_host_reads_it(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "guest", "--flags", "1", "--trans-id",
               "0x1122334455667788", "--payload", "0102030405", expect=0)
        self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), (0x20, 0))
        self.assertEqual(rt.indices(self.path, rt.HOST_TO_GUEST), (0, 0))
        self.assertEqual(rt.run("read", self.path, "--side", "guest", expect=0).stdout, "")
        read = rt.run("read", self.path, "--side", "host", expect=0)
        self.assertEqual(read.stdout, "type=0x6 flags=0x1 trans_id=0x1122334455667788 "
                                      "payload=0102030405000000\n")
        self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), (0x20, 0x20))
        self.assertEqual(rt.run("read", self.path, "--side", "host", expect=0).stdout, "")

    def test_host_writes_host_to_guest(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "host", "--trans-id", "42", "--payload", "",
               expect=0)
        self.assertEqual(rt.indices(self.path, rt.HOST_TO_GUEST), (0x18, 0))
        self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), (0, 0))
        read = rt.run("read", self.path, "--side", "guest", expect=0)
        self.assertEqual(read.stdout, "type=0x6 flags=0x0 trans_id=0x2a payload=\n")

    def test_gpa_defaults_to_type_9_and_completion_type_b(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "guest", "--gpa", "5000:100:0x12345,74566",
               "--gpa", "2:0xfff:7,8", "--payload", "AB", expect=0)
        rt.run("write", self.path, "--side", "guest", "--type", "11", "--trans-id", "1",
               "--payload", "00", expect=0)
        read = rt.run("read", self.path, "--side", "host", expect=0)
        self.assertEqual(read.stdout.splitlines(), [
            "type=0x9 flags=0x0 trans_id=0x0 payload=ab00000000000000 "
            "ranges=5000:100:0x12345,0x12346;2:4095:0x7,0x8",
            "type=0xb flags=0x0 trans_id=0x1 payload=0000000000000000"])

    def test_max_reads_only_that_many(self):
        rt.run("init", self.path, expect=0)
        for trans_id in range(1, 4):
            rt.run("write", self.path, "--side", "host", "--trans-id", trans_id, "--payload",
                   "", expect=0)
        first = rt.run("read", self.path, "--side", "guest", "--max", "1", expect=0)
        self.assertEqual(first.stdout, "type=0x6 flags=0x0 trans_id=0x1 payload=\n")
        self.assertEqual(rt.run("read", self.path, "--side", "guest", "--max", "0",
                                expect=0).stdout, "")
        rest = rt.run("read", self.path, "--side", "guest", expect=0).stdout.splitlines()
        self.assertEqual([line.split()[2] for line in rest], ["trans_id=0x2", "trans_id=0x3"])

    def test_full_ring_exits_3_and_changes_nothing(self):
        rt.run("init", self.path, expect=0)
        # 2000 payload bytes = 2024 ring bytes: two fit a 4096-byte area, a third does not.
        payload = "5a" * 2000
        rt.run("write", self.path, "--side", "guest", "--payload", payload, expect=0)
        rt.run("write", self.path, "--side", "guest", "--payload", payload, expect=0)
        before = rt.file_bytes(self.path)
        full = rt.run("write", self.path, "--side", "guest", "--payload", payload, expect=3)
        self.assertIn("full", full.stderr)
        self.assertEqual(full.stdout, "")
        self.assertEqual(rt.file_bytes(self.path), before)
        rt.run("read", self.path, "--side", "host", "--max", "1", expect=0)
        rt.run("write", self.path, "--side", "guest", "--payload", payload, expect=0)
        never = rt.run("write", self.path, "--side", "host", "--payload", "00" * 4081, expect=3)
        self.assertIn("never fits", never.stderr)

    def test_write_usage_errors_leave_the_file_alone(self):
        rt.run("init", self.path, expect=0)
        before = rt.file_bytes(self.path)
        guest = ["write", self.path, "--side", "guest"]
        for extra in [[], ["--payload"], ["--payload", "abc"], ["--payload", "zz"],
                      ["--payload", "0x00"], ["--type", "7", "--payload", ""],
                      ["--type", "0", "--payload", ""], ["--type", "9", "--payload", ""],
                      ["--type", "6", "--gpa", "1:0:1", "--payload", ""],
                      ["--type", "0x10000", "--payload", ""],
                      ["--flags", "2", "--payload", ""], ["--flags", "0x10001", "--payload", ""],
                      ["--trans-id", "0x10000000000000000", "--payload", ""],
                      ["--trans-id", "18446744073709551616", "--payload", ""],
                      ["--gpa", "1:0", "--payload", ""], ["--gpa", "0:0:1", "--payload", ""],
                      ["--gpa", "1:4096:1", "--payload", ""],
                      ["--gpa", "4097:0:1", "--payload", ""],  # spans 2 pages, 1 PFN
                      ["--gpa", "1:0:1,2", "--payload", ""], ["--gpa", "1:0:", "--payload", ""],
                      ["--gpa", "1:0:x", "--payload", ""],
                      # 7 ranges of 10000 PFNs: 560 KB of extended header, past len8's limit.
                      ["--gpa", "40960000:0:" + ",".join(["1"] * 10000)] * 7 + ["--payload", ""]]:
            with self.subTest(extra=extra):
                self.assert_usage_error(*guest, *extra)
        self.assert_usage_error("write", self.path, "--payload", "")
        self.assert_usage_error("write", self.path, "--side", "both", "--payload", "")
        self.assertEqual(rt.file_bytes(self.path), before)

    def test_numbers_are_decimal_or_hex_never_octal(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "guest", "--trans-id", "010", "--payload", "",
               expect=0)
        rt.run("write", self.path, "--side", "guest", "--trans-id", "0X10", "--payload", "",
               expect=0)
        lines = rt.run("read", self.path, "--side", "host", expect=0).stdout.splitlines()
        self.assertEqual([line.split()[2] for line in lines], ["trans_id=0xa", "trans_id=0x10"])


class Geometry(RingToolTest):
    def test_unequal_rings_need_the_same_options(self):
        rt.run("init", self.path, "--pages", "2", "--receive-pages", "3", expect=0)
        options = ["--pages", "2", "--receive-pages", "3"]
        self.assert_usage_error("dump", self.path)  # 7 pages: not two equal rings
        self.assert_usage_error("dump", self.path, "--pages", "2")  # 2 + 2: 6 pages
        rt.run("write", self.path, *options, "--side", "host", "--payload", "11", expect=0)
        self.assertEqual(rt.indices(self.path, rt.HOST_TO_GUEST, pages=2), (0x20, 0))
        self.assertEqual(rt.read_u32(self.path, 3 * rt.PAGE + rt.FEATURE_BITS), 1)
        dump = rt.run("dump", self.path, *options, expect=0)
        self.assertIn("control page at file offset 0x3000, 3 data page(s) (12288 bytes)",
                      dump.stdout)

    def test_equal_rings_are_found_from_the_size(self):
        rt.run("init", self.path, "--pages", "4", expect=0)
        rt.run("write", self.path, "--side", "host", "--payload", "", expect=0)
        self.assertEqual(rt.indices(self.path, rt.HOST_TO_GUEST, pages=4), (0x18, 0))
        self.assertIn("free=16360 bytes", rt.run("dump", self.path, expect=0).stdout)

    def test_files_that_are_not_ring_files(self):
        for size in [0, rt.PAGE, 3 * rt.PAGE, 4 * rt.PAGE + 8]:
            with self.subTest(size=size):
                with open(self.path, "wb") as file:
                    file.write(bytes(size))
                self.assert_usage_error("dump", self.path)
                self.assert_usage_error("read", self.path, "--side", "host")
        self.assert_usage_error("dump", self.directory.name)


class Corruption(RingToolTest):
    def test_read_prints_and_consumes_good_packets_then_exits_2(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "guest", "--trans-id", "1", "--payload", "aa",
               expect=0)
        rt.run("write", self.path, "--side", "guest", "--trans-id", "2", "--payload", "bb",
               expect=0)
        # Break the second packet: offset8 (bytes 2-3) above len8.
        rt.write_bytes(self.path, rt.PAGE + 0x20 + 2, struct.pack("<H", 9))
        read = rt.run("read", self.path, "--side", "host")
        self.assertEqual(read.status, 2)
        self.assertEqual(read.stdout, "type=0x6 flags=0x0 trans_id=0x1 payload=aa00000000000000\n")
        self.assertIn("guest->host ring is corrupt: offset8 > len8", read.stderr)
        self.assertEqual(rt.indices(self.path, rt.GUEST_TO_HOST), (0x40, 0x20))
        again = rt.run("read", self.path, "--side", "host")
        self.assertEqual((again.status, again.stdout), (2, ""))

    def test_bad_indices_are_corrupt_for_readers_and_writers(self):
        for write_index, read_index in [(0x21, 0), (rt.PAGE, 0), (0, 0x1003), (0, 0x7FFFFFF8)]:
            with self.subTest(write_index=write_index, read_index=read_index):
                rt.run("init", self.path, expect=0)
                rt.set_indices(self.path, rt.HOST_TO_GUEST, write_index, read_index)
                before = rt.file_bytes(self.path)
                read = rt.run("read", self.path, "--side", "guest")
                self.assertEqual((read.status, read.stdout), (2, ""))
                self.assertIn("host->guest ring is corrupt", read.stderr)
                write = rt.run("write", self.path, "--side", "host", "--payload", "")
                self.assertEqual((write.status, write.stdout), (2, ""))
                self.assertIn("host->guest ring is corrupt", write.stderr)
                self.assertEqual(rt.file_bytes(self.path), before)
                # The other direction is unaffected.
                rt.run("write", self.path, "--side", "guest", "--payload", "", expect=0)


class Dump(RingToolTest):
    def test_dump_shows_control_pages_and_packets_without_consuming(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "guest", "--flags", "1", "--trans-id", "5",
               "--gpa", "8192:16:0x100,0x101,0x102", "--payload", "cafe", expect=0)
        rt.write_u32(self.path, rt.control_offset(rt.HOST_TO_GUEST) + rt.INTERRUPT_MASK, 1)
        rt.write_u32(self.path, rt.control_offset(rt.HOST_TO_GUEST) + rt.PENDING_SEND_SIZE, 0x80)
        before = rt.file_bytes(self.path)
        dump = rt.run("dump", self.path, expect=0)
        self.assertEqual(rt.file_bytes(self.path), before, "dump changed the file")
        lines = dump.stdout.splitlines()
        self.assertEqual(lines[0], "guest->host ring (guest writes, host reads): control page "
                                   "at file offset 0x0, 1 data page(s) (4096 bytes)")
        self.assertEqual(lines[1].split(), ["write_index=0x48", "read_index=0x0",
                                            "interrupt_mask=0x0", "pending_send_sz=0x0",
                                            "feature_bits=0x1"])
        self.assertEqual(lines[2].split(), ["unread=72", "bytes", "free=4024", "bytes"])
        self.assertEqual(lines[3].strip(), "packet at 0x0 offset8=7 len8=8: type=0x9 flags=0x1 "
                         "trans_id=0x5 payload=cafe000000000000 ranges=8192:16:0x100,0x101,0x102")
        self.assertTrue(lines[4].startswith("host->guest ring (host writes, guest reads)"))
        self.assertIn("interrupt_mask=0x1 pending_send_sz=0x80", lines[5])
        self.assertEqual(lines[-1].strip(), "no unread packets")
        self.assertEqual(len(rt.run("read", self.path, "--side", "host").stdout.splitlines()), 1)

    def test_trailer_mismatch_is_a_note_not_an_error(self):
        rt.run("init", self.path, expect=0)
        rt.run("write", self.path, "--side", "host", "--payload", "01", expect=0)
        rt.run("write", self.path, "--side", "host", "--payload", "02", expect=0)
        base = rt.control_offset(rt.HOST_TO_GUEST) + rt.PAGE
        # Hyper-V's trailer after the second packet (start 0x20) is 0x20 << 32; a peer that
        # leaves it zero is accepted (decisions.md section 8).
        rt.write_bytes(self.path, base + 0x20 + 0x18, bytes(8))
        dump = rt.run("dump", self.path, expect=0)
        notes = [line.strip() for line in dump.stdout.splitlines() if "note:" in line]
        self.assertEqual(notes, ["note: trailer is 0x0, Hyper-V writes 0x2000000000 "
                                 "(readers ignore it)"])
        self.assertEqual(len(rt.run("read", self.path, "--side", "guest",
                                    expect=0).stdout.splitlines()), 2)

    def test_dump_decodes_packets_that_wrap(self):
        rt.run("init", self.path, expect=0)
        rt.set_indices(self.path, rt.GUEST_TO_HOST, 0xFF0, 0xFF0)
        rt.run("write", self.path, "--side", "guest", "--trans-id", "0x99", "--payload",
               "4142434445464748494a4b4c4d", expect=0)
        dump = rt.run("dump", self.path, expect=0)
        self.assertIn("packet at 0xff0 offset8=2 len8=4: type=0x6 flags=0x0 trans_id=0x99 "
                      "payload=4142434445464748494a4b4c4d000000", dump.stdout)
        self.assertNotIn("note:", dump.stdout)


class Demo(RingToolTest):
    def test_demo_runs_every_command_and_cleans_up(self):
        demo = rt.run("demo", expect=0, env=dict(os.environ, TMPDIR=self.directory.name))
        for command in ["init", "write", "read", "dump"]:
            self.assertIn(f"$ vmbkit-ring {command} ", demo.stdout)
        self.assertIn("ranges=8192:16:0x100,0x101,0x102", demo.stdout)
        self.assertIn("(exit status 3)", demo.stdout)
        self.assertEqual(os.listdir(self.directory.name), [], "the demo left files behind")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: vmbkit_ring_cli_test.py VMBKIT_RING")
    rt.BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
