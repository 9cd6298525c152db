#!/usr/bin/env bash
# Installs every Debian package burnrate needs. Idempotent and quick when all are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git python3
  libabsl-dev libboost-dev libzstd-dev libxxhash-dev
  libflatbuffers-dev flatbuffers-compiler
  libbenchmark-dev libgtest-dev libgmock-dev
  libhwy-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libedit-dev
  clang clang-format
  python3-influxdb influxdb-client
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
