#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmbkit-disk on the built binary: `demo` exits 0 only with every block verified and reports
the figures in its JSON line; the workload options change what runs; setup errors and usage
errors have their exit statuses (1), never a verified result. Checks shapes, never speeds.
Usage: disk_demo_test.py VMBKIT_DISK"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

DISK = None
TIMEOUT = 60  # seconds; each demo runs for one or two


def run(*arguments):
    return subprocess.run([DISK, *arguments], capture_output=True, text=True, timeout=TIMEOUT)


def demo(*arguments):
    result = run("demo", "--json", *arguments)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    report = json.loads(lines[-1]) if lines else {}
    return result, report


class Demo(unittest.TestCase):
    def assert_verified(self, result, report):
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(report["verified"], report)
        self.assertEqual(report["bad_blocks"], 0)
        self.assertEqual(report["failed_requests"], 0)
        self.assertEqual(report["problem"], "")
        self.assertGreater(report["requests"], 0)
        self.assertGreater(report["reads"], 0)
        self.assertGreater(report["writes"], 0)
        self.assertGreater(report["read_back_blocks"], 0)
        self.assertGreaterEqual(report["verified_blocks"], report["read_back_blocks"])
        self.assertGreater(report["iops"], 0)
        self.assertGreater(report["latency_p99_ns"], 0)
        self.assertGreaterEqual(report["latency_p99_ns"], report["latency_p50_ns"])
        self.assertIsInstance(report["signals_per_request"], (int, float))
        self.assertGreaterEqual(report["signals_per_request"], 0)

    def test_default_demo_is_verified(self):
        result, report = demo("--seconds", "2")
        self.assert_verified(result, report)
        self.assertEqual(report["mode"], "demo (two processes)")
        self.assertEqual(report["channels"], 2)
        self.assertEqual(report["io_bytes"], 4096)

    def test_one_channel_one_request_in_flight(self):
        result, report = demo("--seconds", "1", "--channels", "1", "--queue-depth", "1")
        self.assert_verified(result, report)
        # One request at a time: the side that waits is asleep, so each request is signalled.
        self.assertGreater(report["signals_per_request"], 0)
        self.assertEqual(report["channels"], 1)
        self.assertEqual(report["queue_depth"], 1)

    def test_large_requests_on_four_channels(self):
        result, report = demo("--seconds", "1", "--channels", "4", "--io-kib", "64",
                              "--read-percent", "50", "--image-mib", "16")
        self.assert_verified(result, report)
        self.assertEqual(report["channels"], 4)
        self.assertEqual(report["io_bytes"], 65536)

    def test_loopback_runs_both_sides_in_one_process(self):
        result, report = demo("--seconds", "1", "--loopback")
        self.assert_verified(result, report)
        self.assertEqual(report["mode"], "demo (one process, loopback bus)")

    def test_text_report_says_pass(self):
        result = run("demo", "--seconds", "1", "--no-progress")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for words in ["IOPS", "MB/s", "p50", "p99", "signals", "PASS"]:
            self.assertIn(words, result.stdout)


class Errors(unittest.TestCase):
    def test_run_without_a_server_is_a_setup_error(self):
        with tempfile.TemporaryDirectory() as directory:
            result = run("run", "--socket", os.path.join(directory, "none.sock"), "--seconds",
                         "1")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertNotEqual(result.stderr, "")

    def test_serve_without_an_image_is_a_setup_error(self):
        with tempfile.TemporaryDirectory() as directory:
            result = run("serve", "--socket", os.path.join(directory, "bus.sock"), "--image",
                         os.path.join(directory, "missing.img"))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertNotEqual(result.stderr, "")

    def test_usage_errors(self):
        for arguments in [[], ["demo", "--channels", "0"], ["demo", "--io-kib", "2"],
                          ["demo", "--read-percent", "101"], ["run"], ["unknown"]]:
            with self.subTest(arguments=arguments):
                result = run(*arguments)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertNotEqual(result.stderr, "")

    def test_too_small_image_is_refused(self):
        # 1 MiB of 64 KiB extents over 4 channels leaves fewer extents than requests in flight.
        result, _ = demo("--seconds", "1", "--image-mib", "1", "--io-kib", "64", "--channels",
                         "4")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("extents", result.stderr)


if __name__ == "__main__":
    DISK = sys.argv.pop(1)
    unittest.main()
