#!/usr/bin/env bash
# Fuzzes the snapshot decoder for a bounded time, starting from the seed
# corpus. FUZZ_SECONDS (default 60) bounds the run; new inputs go to WORK.
# Usage: run_fuzz.sh FUZZER SEEDS WORK
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
mkdir -p "$work"
exec "$fuzzer" -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1 "$work" "$seeds"
