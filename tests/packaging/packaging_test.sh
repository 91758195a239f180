#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs a vmbkit build into a scratch prefix and builds the consumer in consumer/ against it,
# once with find_package(vmbkit) and once with pkg-config, then runs the programs. Also checks
# that the installed tree holds what the README promises (headers, library, CMake package,
# vmbkit.pc, tools). Run by CTest (tests/packaging/CMakeLists.txt); not meant to be run by hand.
set -euo pipefail

build_dir= consumer= work= cc= cxx= flags= c_link_flags= pkg_config= generator=Ninja tools=0
while (($# > 0)); do
  case $1 in
    --build-dir) build_dir=$2 ;;
    --consumer) consumer=$2 ;;
    --work) work=$2 ;;
    --cc) cc=$2 ;;
    --cxx) cxx=$2 ;;
    --flags) flags=$2 ;;
    --c-link-flags) c_link_flags=$2 ;;
    --pkg-config) pkg_config=$2 ;;
    --generator) generator=$2 ;;
    --tools) tools=$2 ;;
    *) echo "packaging_test: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done

fail() { echo "packaging_test: FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

echo "--- cmake --install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install failed"; }

# The installed tree: find the library directory rather than assuming lib vs lib/<multiarch>.
library=$(find "$prefix" -name 'libvmbkit.*' -print -quit)
[[ -n $library ]] || fail "no libvmbkit in the installed tree"
libdir=$(dirname "$library")
for file in include/vmbkit/ntstatus.h include/vmbkit/status.h include/vmbkit/wire/ring_format.h; do
  [[ -f $prefix/$file ]] || fail "missing $file"
done
[[ -f $libdir/cmake/vmbkit/vmbkitConfig.cmake ]] || fail "missing vmbkitConfig.cmake"
[[ -f $libdir/cmake/vmbkit/vmbkitConfigVersion.cmake ]] || fail "missing vmbkitConfigVersion.cmake"
[[ -f $libdir/pkgconfig/vmbkit.pc ]] || fail "missing vmbkit.pc"
if [[ $tools == 1 ]]; then
  [[ -x $prefix/bin/vmbkit-ring ]] || fail "missing bin/vmbkit-ring"
  "$prefix/bin/vmbkit-ring" --help >/dev/null || fail "installed vmbkit-ring --help failed"
fi
# Nothing private may leak into the installed headers.
if grep -rEn '#include "(wire|memory|ring|channel|bus|kmcl|testing)/' "$prefix/include"; then
  fail "an installed header includes a private src/ header"
fi

echo "--- consumer through find_package(vmbkit)"
cmake -S "$consumer" -B "$work/cmake-build" -G "$generator" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_BUILD_TYPE=Debug \
  >"$work/configure.log" || { cat "$work/configure.log"; fail "consumer configure failed"; }
cmake --build "$work/cmake-build" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; fail "consumer build (find_package) failed"; }
"$work/cmake-build/consumer_cxx" || fail "consumer_cxx (find_package) failed"
"$work/cmake-build/consumer_c" || fail "consumer_c (find_package) failed"

if [[ -z $pkg_config ]]; then
  echo "packaging_test: pkg-config not available; skipped that half"
  exit 0
fi
echo "--- consumer through pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
unset PKG_CONFIG_LIBDIR
"$pkg_config" --exists --print-errors vmbkit || fail "pkg-config cannot find vmbkit"
# Relocatable: the .pc file must point into the scratch prefix, not the configured one.
includedir=$("$pkg_config" --variable=includedir vmbkit)
[[ -f $includedir/vmbkit/ntstatus.h ]] || fail "vmbkit.pc includedir '$includedir' is wrong"
read -r -a cflags <<<"$("$pkg_config" --cflags vmbkit)"
read -r -a libs <<<"$("$pkg_config" --libs vmbkit)"
# libvmbkit is a static archive of C++ code: a C program links it with --static, which adds
# the C++ runtime from Libs.private.
read -r -a static_libs <<<"$("$pkg_config" --static --libs vmbkit)"
read -r -a extra <<<"$flags"
read -r -a c_extra <<<"$c_link_flags"
rpath=(-Wl,-rpath,"$libdir")  # only matters for a shared libvmbkit
"$cxx" -std=c++20 "${extra[@]}" "${cflags[@]}" "$consumer/consumer.cc" "${libs[@]}" "${rpath[@]}" \
  -o "$work/pc_consumer_cxx" || fail "consumer_cxx (pkg-config) failed to build"
"$cc" -std=c11 "${extra[@]}" "${c_extra[@]}" "${cflags[@]}" "$consumer/consumer.c" \
  "${static_libs[@]}" "${rpath[@]}" -o "$work/pc_consumer_c" ||
  fail "consumer_c (pkg-config) failed to build"
"$work/pc_consumer_cxx" || fail "consumer_cxx (pkg-config) failed"
"$work/pc_consumer_c" || fail "consumer_c (pkg-config) failed"
echo "packaging_test: ok"
