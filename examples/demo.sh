#!/usr/bin/env bash
# make demo: a short tour of a real server. The TCP example runs with 4
# process workers under a supervisor, logging to this terminal; the script
# talks to it, kills a worker, restarts all workers, reloads, and stops it.
set -u
B=${1:-build}
port=${DEMO_PORT:-9071}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# wait_for CMD... : polls a real condition, at most 5 s
wait_for() { for _ in $(seq 1 100); do "$@" && return 0; sleep 0.05; done; echo "demo: timed out: $*" >&2; return 1; }
ask() { exec 3<>"/dev/tcp/127.0.0.1/$port" && head -c 64 <&3 && exec 3<&-; }
workers() { pgrep -P "$(pgrep -P "$sup" | head -1)" 2>/dev/null | sort; }
worker_count_is() { [ "$(workers | wc -l)" -eq "$1" ]; }
none_alive() { for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 1; done; return 0; }

say "starting: build/examples/tcp_server -s port=$port -s log=- (supervisor, 4 workers)"
"$B/examples/tcp_server" -s port="$port" -s log=- -s log_level=info &
sup=$!
trap 'kill -TERM $sup 2>/dev/null; wait $sup 2>/dev/null' EXIT
wait_for ask >/dev/null 2>&1
say "a client connects:"
ask
before=$(workers | head -1)
say "kill -9 worker pid $before: the server replaces it at once"
kill -9 "$before"
wait_for none_alive "$before"
wait_for worker_count_is 4
ask
say "USR1 to the supervisor: workers restart one by one, the socket stays open"
old=$(workers)
kill -USR1 "$sup"
# shellcheck disable=SC2086 # one pid per word
wait_for none_alive $old
wait_for worker_count_is 4
ask
say "TERM to the supervisor: graceful stop of the whole tree"
kill -TERM "$sup"
wait "$sup"
echo "exit status: $?"
trap - EXIT
