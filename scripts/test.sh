#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command, and what CI runs (.ci/run). Installs what is missing from Debian's
# packages, then runs these steps and prints how long each took:
#   format  clang-format check of every tracked C/C++ source (the repo's .clang-format)
#   dev     Debug build (warnings are errors); unit, golden-vector, integration, packaging and
#           tool tests, and every fuzz corpus replayed through the replay main
#   asan    the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan    the same tests under ThreadSanitizer
#   fuzz    clang build with the libFuzzer targets; every corpus replayed by libFuzzer (-runs=0)
# Usage: scripts/test.sh [format|dev|asan|tsan|fuzz]...   (default: all, in that order)
# VMBKIT_VECTORS_DIR, if set, points the tests at the golden vectors (default ../shared/vectors).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

steps=("$@")
((${#steps[@]} > 0)) || steps=(format dev asan tsan fuzz)
configure_args=()
[[ -n ${VMBKIT_VECTORS_DIR:-} ]] && configure_args+=("-DVMBKIT_VECTORS_DIR=$VMBKIT_VECTORS_DIR")

timings=()
format_failed=0
started=$SECONDS
summary() {
  local status=$?
  echo "=== timings ==="
  local line
  for line in "${timings[@]}"; do echo "  $line"; done
  echo "  total: $((SECONDS - started)) s"
  if ((status == 0)); then
    echo "=== all steps passed ==="
  else
    echo "=== FAILED in step '${step:-setup}' ==="
  fi
}
trap summary EXIT

check_format() {
  local files
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.h' '*.cc' '*.c')
  else
    mapfile -t files < <(find include src tests tools examples \
                           \( -name '*.h' -o -name '*.cc' -o -name '*.c' \) 2>/dev/null)
  fi
  echo "format: checking ${#files[@]} files with $(clang-format --version)"
  clang-format --dry-run --Werror "${files[@]}" >/dev/null 2>&1 && return 0
  local file unformatted=()
  for file in "${files[@]}"; do
    clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
  done
  if ((${#unformatted[@]} > 0)); then
    printf 'format: not clang-formatted: %s\n' "${unformatted[@]}" >&2
    echo "format: fix with: clang-format -i ${unformatted[*]}" >&2
    return 1
  fi
}

for step in "${steps[@]}"; do
  echo "=== $step ==="
  start=$SECONDS
  case $step in
    # A formatting slip should not hide test results: remember it, fail at the end.
    format) check_format || format_failed=1 ;;
    dev | asan | tsan | fuzz)
      cmake --preset "$step" "${configure_args[@]}" >/dev/null
      cmake --build --preset "$step"
      ctest --preset "$step"
      ;;
    *) echo "test.sh: unknown step '$step' (format, dev, asan, tsan, fuzz)" >&2; exit 1 ;;
  esac
  timings+=("$step: $((SECONDS - start)) s")
done
if ((format_failed)); then
  step=format
  exit 1
fi
