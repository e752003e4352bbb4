#!/usr/bin/env bash
# bench/run.sh [SCALE] [extra relstore_bench flags...]
#
# Configures a Release build in build/bench, builds relstore_bench, runs every
# workload at SCALE (default 1.0) against raw, sqlite and relstore, and renders
# bench/results/latest.{json,md} and bench/results/ratios.png.
# Exits non-zero when the build fails or when the peers disagree (the binary's
# own checksum verdict), after still rendering whatever was measured.
#
# Environment: BUILD_DIR (default build/bench), RESULTS_DIR (default
# bench/results), REPS (default 5), MIN_TIME (default 0.2 s per repetition).
set -euo pipefail
cd "$(dirname "$0")/.."

scale="${1:-1.0}"
shift || true
build="${BUILD_DIR:-build/bench}"
results="${RESULTS_DIR:-bench/results}"
reps="${REPS:-5}"
min_time="${MIN_TIME:-0.2}"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRELSTORE_BUILD_BENCH=ON \
    -DRELSTORE_BUILD_TESTS=OFF -DRELSTORE_BUILD_EXAMPLES=OFF -DRELSTORE_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --target relstore_bench

mkdir -p "$results"
json="$results/latest.json"
log="$results/latest.log"
status=0
"$build/bench/relstore_bench" --scale="$scale" --reps="$reps" --min-time="$min_time" \
    --benchmark_out="$json" --benchmark_out_format=json "$@" 2>&1 | tee "$log" || status=$?

# The chart needs matplotlib; Debian's python3 has it (python3-matplotlib),
# a python3 first on PATH (pyenv, venv) may not.
py=python3
if ! python3 -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    py=/usr/bin/python3
fi
"$py" bench/report.py "$json" --log "$log" --md "$results/latest.md" --png "$results/ratios.png" \
    --title "relstore vs SQLite :memory: vs hand-written Boost.MultiIndex (scale $scale)" >/dev/null
echo "bench/run.sh: wrote $results/latest.md, $results/latest.json, $results/ratios.png"
if [ "$status" -ne 0 ]; then
    echo "bench/run.sh: relstore_bench exited with $status (see the checksum verdict in $log)" >&2
fi
exit "$status"
