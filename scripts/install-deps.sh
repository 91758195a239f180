#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, from Debian 12's packages, everything vmbkit's build, tests, tools and fuzzers need.
# Quick when everything is present: one dpkg-query call, and apt-get only for what is missing.
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config git python3
          libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev
          clang libclang-rt-dev lld llvm clang-format valgrind)
# dpkg-query prints one line per known package; unknown ones go to stderr and count as missing.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null |
              awk '$NF == "installed" { sub(/:.*/, "", $1); print $1 }') || true
missing=()
for package in "${packages[@]}"; do
  grep -qx -- "$package" <<<"$installed" || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) != 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
