#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command, and what CI runs: installs the dependencies, then builds and tests
# the dev preset (unit, golden-vector, integration, packaging tests and every fuzz corpus
# replayed), the asan and tsan presets, and the libFuzzer targets over their corpora.
# Usage: scripts/test.sh [dev|asan|tsan|fuzz]...   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
presets=("$@")
((${#presets[@]} > 0)) || presets=(dev asan tsan fuzz)
for preset in "${presets[@]}"; do
  echo "=== preset $preset ==="
  start=$SECONDS
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
  echo "=== preset $preset: $((SECONDS - start)) s ==="
done
