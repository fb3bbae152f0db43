#!/usr/bin/env bash
# Runs every test binary of build dir $1 and the simulator's fixed seed list.
# Each CMocka binary reports in TAP; every "ok"/"not ok" line is one test.
# A binary that crashes, hangs past its deadline or leaks under valgrind
# counts as one more failure. Ends with one line: "N passed, N failed".
#
#   SE_VALGRIND=1   run everything under memcheck (make check-valgrind)
#   SE_TESTS=glob   only binaries whose name matches (e.g. 'test_sm_*')
set -u
sims=()
B=${1:-build}
pass=0
fail=0
failed_names=()
export CMOCKA_MESSAGE_OUTPUT=TAP
vg=()
if [ "${SE_VALGRIND:-0}" = 1 ]; then
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --trace-children=no
        --child-silent-after-fork=yes)
fi
deadline_s=${SE_TEST_DEADLINE_S:-600}

tally() { # name, exit status, output
    local name=$1 rc=$2 out=$3
    local ok nok
    ok=$(grep -cE '^ok [0-9]+' <<<"$out")
    nok=$(grep -cE '^not ok [0-9]+' <<<"$out")
    pass=$((pass + ok))
    fail=$((fail + nok))
    if [ "$nok" -gt 0 ] || [ "$rc" -ne 0 ]; then
        if [ "$nok" -eq 0 ]; then fail=$((fail + 1)); fi
        failed_names+=("$name(rc=$rc)")
        printf '%s\n' "$out" | grep -vE '^ok [0-9]+' | tail -n 60
        printf 'FAIL %s (exit %d)\n' "$name" "$rc"
    else
        printf 'pass %-32s %4d tests\n' "$name" "$ok"
    fi
}

# The binaries run in a pool of SE_TEST_JOBS (4; 1 under valgrind) at once:
# most of their time is spent waiting on real timeouts (a heartbeat timeout,
# a detach wait, an escalation), not on the CPU. Each binary owns its process
# tree and its files (names carry its pid), so they do not meet. The slowest
# start first; the results are told in a fixed order, each binary's output
# whole.
jobs_max=${SE_TEST_JOBS:-4}
if [ "${SE_VALGRIND:-0}" = 1 ]; then jobs_max=${SE_TEST_JOBS:-1}; fi
outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT
slow_first=(test_examples test_hostile_procs test_server test_supervisor test_spawn
    test_logger_multiproc test_scale)
shopt -s nullglob
names=()
for t in "$B"/tests/test_*; do
    name=$(basename "$t")
    case "$name" in ${SE_TESTS:-*}) ;; *) continue ;; esac
    case "$name" in *.d | *.o) continue ;; esac
    names+=("$name")
done
order=()
for name in "${slow_first[@]}"; do
    for n in "${names[@]}"; do [ "$n" = "$name" ] && order+=("$name"); done
done
for n in "${names[@]}"; do
    case " ${slow_first[*]} " in *" $n "*) ;; *) order+=("$n") ;; esac
done

bg_one() { # name, command...: output and exit status into $outdir
    local name=$1; shift
    timeout -k 5 "$deadline_s" "$@" >"$outdir/$name.out" 2>&1
    echo $? >"$outdir/$name.rc"
}

running=0
for name in "${order[@]}"; do
    t=$B/tests/$name
    if [ "$running" -ge "$jobs_max" ]; then
        wait -n
        running=$((running - 1))
    fi
    case "$name" in
    *.sh) bg_one "$name" "$t" & ;; # a script: memcheck runs what it starts itself
    *) bg_one "$name" "${vg[@]}" "$t" & ;;
    esac
    running=$((running + 1))
done

# The simulator's fixed seeds: each seed is one test, one simulated hour (a
# defect may show only late: the liveness phase and long detach chains come
# after the first 40 minutes). 300 seeds per role, of which at least 225 run
# the whole hour (only one seed in four may end sooner, by a stop, a detach or
# an unrecoverable exit): a defect that fails 1 whole run in 100 passes all 225
# with a chance of 0.99^225 = 10 %; 1 in 50, 1 %. Thread and embedded workers
# are the server role with the stop callback instead of signals: 300 seeds each too.
if [ -x "$B/se-sim" ] && [ -z "${SE_TESTS:-}" ]; then
    hour=(--duration 3600 --tap)
    server=(--seeds "${SE_SIM_SEEDS:-1-300}" "${hour[@]}")
    sup=(--supervisor --seeds "${SE_SIM_SUP_SEEDS:-1-300}" "${hour[@]}")
    thread=(--set worker_type=thread --seeds "${SE_SIM_THREAD_SEEDS:-1-300}" "${hour[@]}")
    embedded=(--set worker_type=embedded --seeds "${SE_SIM_THREAD_SEEDS:-1-300}" "${hour[@]}")
    # the pool at its maximum: 1,024 workers (tables, queues, per-wake-up work)
    max=(--workers 1024 --seeds "${SE_SIM_MAX_SEEDS:-1-10}" "${hour[@]}")
    if [ "${SE_VALGRIND:-0}" = 1 ]; then
        short=(--seeds 1-5 --duration 300 --tap)
        server=(--seeds 1-10 --duration 300 --tap)
        sup=(--supervisor "${short[@]}")
        thread=(--set worker_type=thread "${short[@]}")
        embedded=(--set worker_type=embedded "${short[@]}")
        max=(--workers 1024 --seeds 1-1 --duration 120 --tap)
    fi
    # Two lanes, one per core (the runs are CPU-bound and independent), beside
    # the last binaries of the pool. The supervisor role's children are server
    # processes (detach, restarts).
    sim_run() { # name, se-sim arguments...
        local name=$1; shift
        timeout -k 5 "$deadline_s" "${vg[@]}" "$B/se-sim" "$@" >"$outdir/$name.out" 2>&1
        echo $? >"$outdir/$name.rc"
    }
    { sim_run se-sim "${server[@]}"; sim_run se-sim-embedded "${embedded[@]}"; } &
    { sim_run se-sim-supervisor "${sup[@]}"; sim_run se-sim-thread "${thread[@]}"; sim_run se-sim-max "${max[@]}"; } &
    sims=(se-sim se-sim-supervisor se-sim-thread se-sim-embedded se-sim-max)
fi

wait
for name in "${names[@]}" ${sims[@]+"${sims[@]}"}; do
    tally "$name" "$(cat "$outdir/$name.rc" 2>/dev/null || echo 127)" "$(cat "$outdir/$name.out" 2>/dev/null)"
done

if [ ${#failed_names[@]} -gt 0 ]; then
    printf 'failed: %s\n' "${failed_names[*]}"
fi
printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
