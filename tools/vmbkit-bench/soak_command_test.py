#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`vmbkit-bench soak` on the built binary: a short clean run prints one JSON line with the
soak's fields and exits 0; a run that damages packets on purpose (--damage-every) must report
them corrupted and exit 1, so "0 corrupted" means something; bad options are usage errors.
Checks outcomes and shapes, never speeds. Usage: soak_command_test.py VMBKIT_BENCH"""

import json
import subprocess
import sys
import unittest

BENCH = None
TIMEOUT = 240  # seconds; each run is two seconds of traffic plus setup and teardown
SMALL = ["--seconds", "2", "--processes", "1", "--channels", "1", "--loopback-channels", "1"]
COUNTS = ["packets", "bytes", "lost", "duplicated", "corrupted", "errors"]
MEMORY = ["host_rss_start_kib", "host_rss_warm_kib", "host_rss_end_kib", "guest_rss_start_kib",
          "guest_rss_warm_kib", "guest_rss_end_kib", "guest_pages_start", "guest_pages_end"]


def run(*arguments):
    return subprocess.run([BENCH, *arguments], capture_output=True, text=True, timeout=TIMEOUT)


def only_line(test, result):
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    test.assertEqual(len(lines), 1, result.stdout + result.stderr)
    row = json.loads(lines[0])
    test.assertEqual(row["bench"], "soak")
    for key in COUNTS + MEMORY + ["seconds", "processes", "channels", "clean"]:
        test.assertIn(key, row)
    return row


class CleanRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.result = run("soak", *SMALL, "--json")

    def test_exit_status_zero(self):
        self.assertEqual(self.result.returncode, 0, self.result.stdout + self.result.stderr)

    def test_nothing_lost_duplicated_or_corrupted(self):
        row = only_line(self, self.result)
        self.assertTrue(row["clean"])
        for key in ["lost", "duplicated", "corrupted", "errors"]:
            self.assertEqual(row[key], 0, key)
        self.assertGreater(row["packets"], 0)
        self.assertGreater(row["bytes"], row["packets"])

    def test_every_channel_and_process_counted(self):
        row = only_line(self, self.result)
        self.assertEqual(row["processes"], 1)
        self.assertEqual(row["channels"], 2)  # one guest channel, one loopback pair
        for key in MEMORY:
            self.assertGreater(row[key], 0, key)


class DamagedRun(unittest.TestCase):
    def test_damage_is_reported_and_fails_the_run(self):
        result = run("soak", *SMALL, "--json", "--damage-every", "5")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        row = only_line(self, result)
        self.assertFalse(row["clean"])
        self.assertGreater(row["corrupted"], 0)
        self.assertEqual(row["duplicated"], 0)
        self.assertIn("problem", row)


class Usage(unittest.TestCase):
    def test_help_names_the_options(self):
        result = run("soak", "--help")
        self.assertEqual(result.returncode, 0)
        for option in ["--minutes", "--seconds", "--processes", "--channels",
                       "--loopback-channels", "--json"]:
            self.assertIn(option, result.stdout)

    def test_bad_options_are_usage_errors(self):
        for arguments in (["--minutes", "-1"], ["--processes", "99"], ["--channels", "0"],
                          ["--no-such-option"]):
            result = run("soak", *arguments)
            self.assertEqual(result.returncode, 1, arguments)
            self.assertEqual(result.stdout.strip(), "", arguments)


if __name__ == "__main__":
    BENCH = sys.argv.pop(1)
    unittest.main()
