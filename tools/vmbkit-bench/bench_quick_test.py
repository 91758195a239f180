#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmbkit-bench on the built binary: `--quick --json` runs every section and prints one valid
JSON object per line with the fields scripts rely on; `ring --json` prints exactly the issue's
line; `round-trip` runs that section alone; bad options are usage errors. Checks shapes, never speeds: timing is not a test.
Usage: bench_quick_test.py VMBKIT_BENCH"""

import json
import math
import subprocess
import sys
import unittest

BENCH = None
TIMEOUT = 120  # seconds; --quick itself takes about one


def run(*arguments):
    return subprocess.run([BENCH, *arguments], capture_output=True, text=True, timeout=TIMEOUT)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


class Quick(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.result = run("--quick", "--json")
        cls.rows = json_lines(cls.result.stdout)

    def test_exit_status_zero(self):
        self.assertEqual(self.result.returncode, 0, self.result.stdout + self.result.stderr)

    def test_every_line_is_an_object_with_a_bench(self):
        self.assertGreater(len(self.rows), 10)
        for row in self.rows:
            self.assertIsInstance(row, dict)
            self.assertIn("bench", row)

    def test_machine_first(self):
        self.assertEqual(self.rows[0]["bench"], "machine")
        self.assertIn("cpu", self.rows[0])

    def test_round_trips_of_every_baseline_and_vmbkit(self):
        transports = {r["transport"]: r for r in self.rows if r["bench"] == "round_trip"}
        for name in ["spin", "eventfd", "pipe", "socketpair", "vmbkit-ring-poll",
                     "vmbkit-sync-event", "vmbkit-sync-poll"]:
            self.assertIn(name, transports)
            self.assertTrue(positive(transports[name]["ns"]), transports[name])
            self.assertTrue(positive(transports[name]["vs_spin"]), transports[name])
            self.assertTrue(positive(transports[name]["ns_typical"]), transports[name])
            self.assertTrue(positive(transports[name]["typical_vs_spin"]), transports[name])
            self.assertEqual(transports[name]["payload"], 64)

    def test_one_way_for_each_payload(self):
        rows = [r for r in self.rows if r["bench"] == "one_way"]
        seen = {(r["transport"], r["payload"]) for r in rows}
        for transport in ["minimal-ring", "vmbkit-ring", "pipe", "socketpair", "vmbkit-channel"]:
            for payload in [64, 65536]:
                self.assertIn((transport, payload), seen)
        for row in rows:
            self.assertTrue(positive(row["packets_per_s"]), row)
            self.assertAlmostEqual(row["bytes_per_s"] / row["packets_per_s"], row["payload"],
                                   delta=row["payload"] * 0.01)

    def test_ring_external_channels_signals(self):
        benches = {r["bench"] for r in self.rows}
        for bench in ["ring", "external", "channels", "signals"]:
            self.assertIn(bench, benches)
        for row in self.rows:
            if row["bench"] == "signals":
                self.assertGreaterEqual(row["signals_per_packet"], 0)

    def test_targets(self):
        targets = {r["name"]: r for r in self.rows if r["bench"] == "target"}
        self.assertIn("ring_64b_vs_best_known", targets)
        self.assertIn("sync_round_trip_poll_vs_spin", targets)
        self.assertTrue(targets["sync_round_trip_poll_vs_spin"]["measured"])
        for target in targets.values():
            self.assertIn("limit", target)
            self.assertEqual("met" in target, target["measured"])


class RoundTrip(unittest.TestCase):
    def test_round_trips_alone_with_the_payload_asked_for(self):
        result = run("round-trip", "--payload", "128", "--json", "--seconds", "0.05", "--rounds",
                     "1")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rows = json_lines(result.stdout)
        self.assertEqual({row["bench"] for row in rows}, {"machine", "round_trip", "target"})
        transports = {r["transport"]: r for r in rows if r["bench"] == "round_trip"}
        self.assertEqual(set(transports), {"spin", "eventfd", "pipe", "socketpair",
                                           "vmbkit-ring-poll", "vmbkit-sync-event",
                                           "vmbkit-sync-poll"})
        for row in transports.values():
            self.assertEqual(row["payload"], 128)
            self.assertTrue(positive(row["ns"]), row)
            self.assertTrue(positive(row["ns_typical"]), row)
        targets = [r for r in rows if r["bench"] == "target"]
        self.assertEqual([t["name"] for t in targets], ["sync_round_trip_poll_vs_spin"])

    def test_bad_payload_is_a_usage_error(self):
        result = run("round-trip", "--payload", "0")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertNotEqual(result.stderr, "")


class Ring(unittest.TestCase):
    def test_json_line_has_exactly_the_issue_fields(self):
        result = run("ring", "--payload", "64", "--ring-kib", "64", "--json", "--seconds",
                     "0.05", "--rounds", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = json_lines(result.stdout)
        self.assertEqual(len(rows), 1)
        self.assertEqual(list(rows[0]),
                         ["bench", "payload", "ring_kib", "packets_per_s", "bytes_per_s"])
        self.assertEqual(rows[0]["bench"], "ring")
        self.assertEqual(rows[0]["payload"], 64)
        self.assertEqual(rows[0]["ring_kib"], 64)
        self.assertTrue(positive(rows[0]["packets_per_s"]))

    def test_event_mode_counts_signals(self):
        result = run("ring", "--wait", "event", "--json", "--seconds", "0.05", "--rounds", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("signals_per_packet", json_lines(result.stdout)[0])

    def test_one_thread_cost(self):
        result = run("ring", "--threads", "1", "--json", "--seconds", "0.05", "--rounds", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        row = json_lines(result.stdout)[0]
        self.assertEqual(row["threads"], 1)
        self.assertTrue(positive(row["packets_per_s"]))

    def test_minimal_ring_and_large_payload(self):
        result = run("ring", "--minimal", "--payload", "65536", "--ring-kib", "256", "--json",
                     "--seconds", "0.05", "--rounds", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json_lines(result.stdout)[0]["ring"], "minimal")

    def test_bad_options_are_usage_errors(self):
        for arguments in [["ring", "--payload", "4"], ["ring", "--ring-kib", "6"],
                          ["ring", "--payload", "65536", "--ring-kib", "64"],
                          ["ring", "--wait", "sometimes"], ["--rounds", "0"],
                          ["ring", "--threads", "3"], ["ring", "--threads", "1", "--wait", "event"]]:
            with self.subTest(arguments=arguments):
                result = run(*arguments)
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertNotEqual(result.stderr, "")


if __name__ == "__main__":
    BENCH = sys.argv.pop(1)
    unittest.main()
