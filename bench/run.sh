#!/usr/bin/env bash
# make bench: runs every benchmark and writes bench/RESULTS.md (machine, date,
# the commands and their output). Benchmarks are never part of make check.
set -u
B=${1:-build}
out=bench/RESULTS.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (bench/run.sh). Machine: $(nproc) cores,"
    echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
    echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)."
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $(git rev-parse --short HEAD 2>/dev/null)."
    echo "Load average at the start (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
} >"$tmp"
run() { # title, command...
    local title=$1
    shift
    printf '## %s\n\n```\n$ %s\n' "$title" "$*" >>"$tmp"
    "$@" 2>&1 | tee -a "$tmp"
    printf '```\n\n' >>"$tmp"
}
run "Pure machines: events per second" "$B/bench/bench_sm"
run "Simulator: 1000 seeds x 1 simulated hour, 4 workers, all faults on" \
    "$B/se-sim" --seeds 1-1000 --duration 3600 --workers 4
for b in "$B"/bench/bench_*; do
    case "$(basename "$b")" in bench_sm | bench_worker) continue ;; esac # bench_worker: run by bench_crash
    run "$(basename "$b")" "$b"
done
mv "$tmp" "$out"
echo "bench: wrote $out"
