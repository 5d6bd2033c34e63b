#!/usr/bin/env bash
# Installs every Debian 12 package duban needs to build, test and run. Idempotent: packages
# already present are skipped, so running it again is cheap.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  grpc-proto golang-github-gogo-googleapis-dev
  libabsl-dev libspdlog-dev libfmt-dev libsqlite3-dev sqlite3
  libhiredis-dev redis-server redis-tools libtcmalloc-minimal4
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libcurl4-openssl-dev libssl-dev libcpp-httplib-dev prometheus-cpp-dev
  nlohmann-json3-dev libyaml-cpp-dev
  python3 python3-grpcio python3-protobuf clang-format
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian redis-server package starts a system instance on 6379; duban never uses it, and
# tests start their own servers on unix sockets.
