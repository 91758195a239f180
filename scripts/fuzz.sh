#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Long fuzzing runs (not part of CI, which only replays the corpora). Builds the fuzz preset
# (clang, libFuzzer, ASan+UBSan) and fuzzes each target for SECONDS, starting from its checked-in
# corpus. New inputs go to build/fuzz/corpus-new/<name>/ and crashes to build/fuzz/artifacts/,
# so the tree is never modified; merge worthwhile inputs back with
#   build/fuzz/tests/fuzz/fuzz_<name> -merge=1 tests/fuzz/corpus/<name> build/fuzz/corpus-new/<name>
# Usage: scripts/fuzz.sh [SECONDS] [NAME...]   (default: 300 s, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
scripts/install-deps.sh
cmake --preset fuzz >/dev/null

names=("$@")
if ((${#names[@]} == 0)); then
  for source in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$source" _fuzz.cc)
    names+=("$name")
  done
fi
targets=()
for name in "${names[@]}"; do targets+=("fuzz_$name"); done
cmake --build --preset fuzz --target "${targets[@]}"

mkdir -p build/fuzz/artifacts
for name in "${names[@]}"; do
  mkdir -p "build/fuzz/corpus-new/$name"
  echo "=== fuzz_$name for $seconds s ==="
  "build/fuzz/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="build/fuzz/artifacts/${name}-" \
    "build/fuzz/corpus-new/$name" "tests/fuzz/corpus/$name"
done
