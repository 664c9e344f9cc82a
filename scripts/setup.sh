#!/usr/bin/env bash
# Installs what sluice needs on Debian 12, fetches the embedded ClickHouse engine, and builds.
# Safe to run again: each step checks first and does nothing when its work is already done.
#
#   scripts/setup.sh             packages + engine + release build (build/release)
#   SLUICE_SETUP_NO_BUILD=1 ...  packages + engine only
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31msetup: %s\033[0m\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
# Build: compiler, CMake, Ninja and the libraries of architecture.md.
# Sources and state: librdkafka, libnats, libpq, libmariadb, RocksDB.
# Tests: GoogleTest, Google Benchmark; clang 14 and its libFuzzer runtime for fuzz/; the real
# servers the tests start on loopback (PostgreSQL 15, MariaDB, NATS, clickhouse-server,
# Prometheus with promtool) and kcat for the Kafka benchmark baseline.
# Engine download: npm.
packages=(
  g++ cmake ninja-build pkg-config
  libsimdjson-dev libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev libre2-dev
  libboost-dev libxxhash-dev liblz4-dev libzstd-dev zlib1g-dev
  librocksdb-dev librdkafka-dev libnats-dev libpq-dev libmariadb-dev
  postgresql-15 mariadb-server nats-server clickhouse-server clickhouse-client prometheus kcat
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  ca-certificates curl
)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: sluice's setup needs Debian 12 (missing: ${missing[*]})"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "installing ${missing[*]} needs root (or sudo)"
    sudo="sudo"
  fi
  say "installing ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed: is a Debian package mirror reachable?"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get could not install: ${missing[*]}"
else
  say "Debian packages already installed"
fi

# --- Embedded ClickHouse (chDB) ----------------------------------------------------------------
# Pinned package and the SHA-256 of its tarball as published on the npm registry.
chdb_package="@chdb/lib-linux-x64-gnu"
chdb_version="26.5.3"
chdb_sha256="b874e449710950da3abd7e20376f7bb3387d9e03adcc7082f022be18dfdf316a"
chdb_dir="$root/.deps/chdb"

if [[ -f "$chdb_dir/libchdb.so" && "$(cat "$chdb_dir/VERSION" 2>/dev/null)" == "$chdb_version" ]]; then
  say "embedded ClickHouse $chdb_version already in .deps/chdb"
else
  say "fetching $chdb_package@$chdb_version (about 170 MB)"
  work=$(mktemp -d "$root/.deps-fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$chdb_package@$chdb_version" >/dev/null) \
    || die "npm could not fetch $chdb_package@$chdb_version: is the npm registry reachable?"
  tarball=$(ls "$work"/*.tgz)
  actual=$(sha256sum "$tarball" | cut -d' ' -f1)
  [[ "$actual" == "$chdb_sha256" ]] \
    || die "checksum mismatch for $tarball: expected $chdb_sha256, got $actual"
  tar -xzf "$tarball" -C "$work" package/libchdb.so
  mkdir -p "$chdb_dir"
  mv "$work/package/libchdb.so" "$chdb_dir/libchdb.so"
  echo "$chdb_version" > "$chdb_dir/VERSION"
  rm -rf "$work"
  trap - EXIT
  say "embedded ClickHouse $chdb_version installed in .deps/chdb"
fi

# --- Build ---------------------------------------------------------------------------------------
if [[ "${SLUICE_SETUP_NO_BUILD:-0}" != "1" ]]; then
  say "building (release) in build/release"
  # The release tree holds the binary and the end-to-end tests; unit tests run in build/sanitize.
  cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSLUICE_BUILD_UNIT_TESTS=OFF >/dev/null
  cmake --build "$root/build/release" -j"$(nproc)"
fi
