#!/usr/bin/env bash
# Installs the contenders of the end-to-end comparison (bench/compare): InfluxDB 1.x and
# VictoriaMetrics from Debian, DuckDB's Node API from npm (into NODE_DIR, default
# build/bench-compare/node). No system service is started: the driver starts each server
# itself on loopback with its own data directory. Idempotent and quick when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_DIR=${NODE_DIR:-build/bench-compare/node}
DUCKDB_NODE_VERSION=${DUCKDB_NODE_VERSION:-1.5.6-r.1}

packages=(influxdb victoria-metrics nodejs npm)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from elsewhere (a node already on PATH is enough).
    if { [ "$p" = nodejs ] && command -v node >/dev/null; } ||
       { [ "$p" = npm ] && command -v npm >/dev/null; }; then
      continue
    fi
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start influxd or victoria-metrics as services: 101 from
  # policy-rc.d tells invoke-rc.d not to. An existing policy file is left as it is.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$policy_added" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -d "$NODE_DIR/node_modules/@duckdb/node-api" ]; then
  echo "install-bench-deps: npm install @duckdb/node-api@$DUCKDB_NODE_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent "@duckdb/node-api@$DUCKDB_NODE_VERSION"
fi
