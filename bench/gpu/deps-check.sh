#!/usr/bin/env bash
# Checks a tree made by bench/gpu/prepare-deps.sh: builds bench/gpu/deps-check against it with
# the system prefixes ignored (so nothing is taken from the machine's own packages) and runs it
# under the carried mpirun with 2 ranks; ompi_info must report the relocated prefix.
#   bash bench/gpu/deps-check.sh [ROOT]     (default .device-deps/root)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
ROOT=${1:-$REPO/.device-deps/root}
# shellcheck source=/dev/null
source "$REPO/bench/gpu/deps-env.sh" "$ROOT"
B=$(mktemp -d /tmp/culturegan-deps-check.XXXXXX)
trap 'rm -rf "$B"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
prefix=$(withdeps timeout 60 "$DEPS_ROOT/usr/bin/ompi_info" --parsable --path prefix | sed -n 's/^path:prefix://p')
[ "$prefix" = "$DEPS_ROOT/usr" ] || { echo "deps-check: FAILED: ompi_info reports prefix '$prefix', expected $DEPS_ROOT/usr" >&2; exit 1; }
if ! withdeps timeout 300 cmake -S "$REPO/bench/gpu/deps-check" -B "$B" -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$DEPS_ROOT/usr" -DCMAKE_IGNORE_PREFIX_PATH="/usr;/usr/local;/" \
     -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF "${DEPS_CMAKE_ARGS[@]}" > "$B/configure.log" 2>&1; then
  cat "$B/configure.log" >&2; echo "deps-check: FAILED: configure" >&2; exit 1
fi
grep "deps-check:" "$B/configure.log"
if grep -E "deps-check: .* = .*(^| |;)/usr/(include|lib)" "$B/configure.log"; then
  echo "deps-check: FAILED: a dependency was found in the system's /usr, not in $DEPS_ROOT" >&2; exit 1
fi
withdeps timeout 300 cmake --build "$B" -j "${JOBS:-2}" > "$B/build.log" 2>&1 || { cat "$B/build.log" >&2; echo "deps-check: FAILED: build" >&2; exit 1; }
withdeps timeout 120 mpirun -np 2 --oversubscribe --bind-to none "$B/deps_check" > "$B/run.log" 2>&1 || { cat "$B/run.log" >&2; echo "deps-check: FAILED: run" >&2; exit 1; }
grep -E "deps-check:|PASSED" "$B/run.log"
echo "deps-check: OK ($DEPS_ROOT)"
