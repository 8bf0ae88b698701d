#!/usr/bin/env bash
# Runs one benchmark scenario in release mode: scripts/bench.sh <scenario> [options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
    echo "usage: scripts/bench.sh <scenario> [options]; scenarios: $(cd bench && ls -d */src/main.rs | cut -d/ -f1 | tr '\n' ' ')" >&2
    exit 2
fi
scenario=$1
shift
exec cargo run --quiet --release --locked -p "govdata-bench-$scenario" -- "$@"
