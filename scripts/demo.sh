#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: installs what is missing from Debian's packages, builds the
# release preset's vmbkit-ring and runs `vmbkit-ring demo`, a guided tour of a ring file.
# (When the demo device lands, this script runs it instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target vmbkit-ring
exec build/release/tools/vmbkit-ring/vmbkit-ring demo
