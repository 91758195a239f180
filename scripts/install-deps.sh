#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, from Debian's packages, everything vmbkit's build, tests, tools and fuzzers need.
# Quick when everything is already present: it only calls apt-get for missing packages.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config git python3
          libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev
          clang libclang-rt-dev lld llvm clang-format valgrind)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
