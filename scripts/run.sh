#!/usr/bin/env bash
# The run command: installs what is missing, builds, and runs the duban stack in the
# foreground with its data in ./data. Ctrl-C stops it cleanly.
#
#   scripts/run.sh                  # duban-units on 127.0.0.1:7101, data in ./data
#   DUBAN_DATA_DIR=/srv/duban scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUBAN_BUILD_TESTS=OFF \
  -DDUBAN_BUILD_BENCH=OFF >/dev/null
ninja -C build duban-units

data=${DUBAN_DATA_DIR:-$PWD/data}
mkdir -p "$data"
echo "duban: data in $data"
echo "duban: duban-units (duban.units.v1.UnitService) starting; Ctrl-C to stop"
exec ./build/services/units/duban-units --data-dir "$data" \
  --listen "${DUBAN_LISTEN:-127.0.0.1:7101}" --log-level "${DUBAN_LOG_LEVEL:-info}"
