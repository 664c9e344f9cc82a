#!/usr/bin/env bash
# Sets everything up and runs the whole test suite:
#   1. unit tests in an AddressSanitizer + UndefinedBehaviorSanitizer build (build/asan);
#   2. end-to-end tests on the embedded engine, the quickstart included, in the release build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"

jobs=$(nproc)
echo "== unit tests (ASan + UBSan) =="
cmake -S "$root" -B "$root/build/asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON \
  -DSLUICE_BUILD_E2E_TESTS=OFF >/dev/null
cmake --build "$root/build/asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build/asan" -L unit --output-on-failure -j"$jobs"

echo "== end-to-end tests (release build, embedded ClickHouse) =="
ctest --test-dir "$root/build/release" -LE unit --output-on-failure
