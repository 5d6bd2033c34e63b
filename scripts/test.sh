#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test suite (each suite starts and stops its own
# servers: SQLite files and redis-server instances in temp directories, never port 6379).
#
#   scripts/test.sh                 # sanitized build in build-asan/, all tests
#   DUBAN_SANITIZE=OFF scripts/test.sh   # plain build in build-test/
#   scripts/test.sh -L units        # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

sanitize=${DUBAN_SANITIZE:-ON}
if [ "$sanitize" = ON ]; then build=build-asan; else build=build-test; fi
jobs=${DUBAN_JOBS:-$(nproc)}

# -O1 -g1 rather than RelWithDebInfo's -O2 -g: ASan's recommended level, line tables are all a
# symbolized stack trace needs, and a clean build takes half the time on 2 cores (one service
# translation unit: 60 s at -O2 -g, 29 s at -O1 -g1), which keeps CI well inside its hour.
opt="-O1 -g1 -DNDEBUG"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt" \
  -DDUBAN_SANITIZE="$sanitize" -DDUBAN_BUILD_BENCH=ON >/dev/null
ninja -C "$build" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 "$@"
