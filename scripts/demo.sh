#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: installs what is missing from Debian's packages, builds the
# release preset's vmbkit-disk and runs `vmbkit-disk demo`: a disk server (VSP) and a guest
# (VSC) on VMBus channels, a verified mixed read/write workload with a progress bar, then a
# report (IOPS, MB/s, latency percentiles). Extra arguments go to the demo (--seconds N, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target vmbkit-disk
exec build/release/tools/vmbkit-disk/vmbkit-disk demo "$@"
