#!/usr/bin/env bash
# The rows of the README's "Differences from Ruby ServerEngine" that no other
# test pins down, checked through the serverengine tool as a user runs it:
# the Ruby keys refused by name (log_rotate_age by date, server_*,
# worker_chuser/chgroup/chumask) and what each message offers instead; a
# decimal chumask refused; workers: 0 idling until a reload scales it up; the
# log on stderr (or stdout) leaving the other stream uncaptured; the
# supervisor obeying signal_graceful_stop and sending it on to its workers;
# the process-name keys. TAP output, read by tests/run.sh; the Makefile
# writes this file into the build directory with the paths filled in.
set -u
SRC='@SRCDIR@'
B='@B@'
case "$B" in /*) ;; *) B="$SRC/$B" ;; esac
tool="$B/serverengine"
DL=60 # seconds: every wait below polls a condition up to this deadline
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
tmp=$(mktemp -d /tmp/se-parity-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do { kill -KILL -- "-$p" && wait "$p"; } 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# Waits up to DL seconds for file $1 to have $2 lines matching $3.
wait_lines() {
    local until=$((SECONDS + DL)) c
    while [ "$SECONDS" -le "$until" ]; do
        c=$(grep -c -- "$3" "$1" 2>/dev/null)
        [ "${c:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
# Waits up to DL seconds for pid $1 to end; its status in $rc.
wait_exit() {
    local until=$((SECONDS + DL))
    while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL -- "-$1"
        wait "$1"
        rc=124 # past the deadline: killed
        return
    fi
    wait "$1"
    rc=$?
}
# Waits up to DL seconds for pid $1 to block or catch USR2 (the engine then
# handles it: it logs nothing when it has no worker to start).
wait_usr2() {
    local until=$((SECONDS + DL)) blk cgt
    while [ "$SECONDS" -le "$until" ]; do
        blk=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$1/status" 2>/dev/null)
        cgt=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$1/status" 2>/dev/null)
        (((0x${blk:-0} | 0x${cgt:-0}) & 0x800)) && return 0
        sleep 0.05
    done
    return 1
}
# Starts `serverengine run ARGS...` in a process group of its own, output in
# $tmp/NAME.out and NAME.err; its pid in $main.
start() { # name, args...
    local name=$1
    shift
    setsid "$tool" run "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    main=$!
    pids+=("$main")
}

# ---- keys refused by name: exit 78 and a message that says what to use ----------
printf 'workers: 1\n' >"$tmp/app.yml"
refused() { # description, KEY=VALUE, words the message must hold...
    local d=$1 kv=$2 out rc
    shift 2
    out=$("$tool" check-config -c "$tmp/app.yml" -s "$kv" 2>&1)
    rc=$?
    local w missing=""
    for w in "$@"; do [[ "$out" == *"$w"* ]] || missing+=" '$w'"; done
    if [ "$rc" -eq 78 ] && [ -z "$missing" ]; then ok "$d"; else
        nok "$d: exit $rc, missing$missing in: $out"; fi
}
for age in daily weekly monthly; do
    refused "log_rotate_age: $age is refused, naming the alternatives" "log_rotate_age=$age" \
        "log_rotate_age" "$age" "log_rotate_size" "USR2"
done
for k in heartbeat_interval heartbeat_timeout graceful_kill_interval \
    graceful_kill_interval_increment graceful_kill_timeout immediate_kill_interval \
    immediate_kill_interval_increment immediate_kill_timeout; do
    refused "server_$k is refused, naming worker_$k" "server_$k=1" "server_$k" "worker_$k"
done
for k in chuser chgroup chumask; do
    refused "worker_$k is refused, naming $k" "worker_$k=x" "worker_$k" " $k"
done
refused "a decimal chumask (Ruby's 18 = 0o22) is refused" "chumask=18" "chumask" "octal"
out=$("$tool" check-config -c "$tmp/app.yml" -s chumask=022 2>&1)
if [[ "$out" == *"chumask: 0022"* ]]; then ok "chumask 022 is read as octal"; else
    nok "chumask 022 is read as octal: $out"; fi

# ---- workers: 0 idles, and a reload scales it up ------------------------------------
# the pid file is written once the file has been read: only then is it edited
zero="log: $tmp/zero.log
pid_path: $tmp/zero.pid"
printf 'workers: 0\n%s\n' "$zero" >"$tmp/zero.yml"
start zero -c "$tmp/zero.yml" -- sh -c 'echo "zero worker $SERVERENGINE_WORKER_ID"; exec sleep 1000'
if wait_lines "$tmp/zero.pid" 1 "$main" && wait_usr2 "$main"; then
    printf 'workers: 1\n%s\n' "$zero" >"$tmp/zero.yml"
    kill -USR2 "$main"
fi
if wait_lines "$tmp/zero.log" 1 "zero worker 0" && kill -0 "$main" 2>/dev/null; then
    ok "workers: 0 keeps the server running; a reload to 1 starts a worker"
else nok "workers: 0 keeps the server running; a reload to 1 starts a worker"; fi
kill -TERM "$main"
wait_exit "$main"
if [ "$rc" -eq 0 ]; then ok "and TERM ends it with 0"; else nok "and TERM ends it with 0: $rc"; fi

# ---- the log on a standard stream leaves the other one uncaptured -------------------
prog='echo "line to stdout"; echo "line to stderr" >&2; exec sleep 1000'
for log in "" "-"; do
    if [ -z "$log" ]; then name=stderr other=stdout; else name=stdout other=stderr; fi
    start "log$name" -s "log=$log" -- sh -c "$prog"
    [ "$name" = stderr ] && own=$tmp/log$name.err || own=$tmp/log$name.out
    [ "$other" = stdout ] && theirs=$tmp/log$name.out || theirs=$tmp/log$name.err
    if wait_lines "$theirs" 1 "line to $other" && wait_lines "$own" 1 "Worker 0 started"; then
        kill -TERM "$main"
        wait_exit "$main"
        if grep -q "line to $other" "$own"; then
            nok "log on $name: the program's $other is not captured into it"
        else ok "log on $name: the program's $other is not captured into it (exit $rc)"; fi
    else
        nok "log on $name: the program's $other stays on $other"
        kill -TERM "$main"
        wait_exit "$main"
    fi
done

# ---- the supervisor obeys signal_graceful_stop --------------------------------------
start supsig -s supervisor=true -s "log=$tmp/supsig.log" -s signal_graceful_stop=WINCH \
    -s daemon_process_name=se-parity-main -s server_process_name=se-parity-server \
    -- sh -c 'trap "kill \$!; exit 0" WINCH; echo "supervised worker"; sleep 1000 & wait'
if wait_lines "$tmp/supsig.log" 1 "supervised worker"; then
    # serverengine run has no argv to rewrite (se_engine_configure takes none):
    # the names show as the kernel's 15-byte comm, what ps -o comm and top show
    server=$(pgrep -P "$main" | head -1)
    main_comm=$(cat "/proc/$main/comm")
    server_comm=$(cat "/proc/${server:-0}/comm" 2>/dev/null)
    if [ "$main_comm" = se-parity-main ]; then ok "daemon_process_name names the supervisor"; else
        nok "daemon_process_name names the supervisor: '$main_comm'"; fi
    if [ "$server_comm" = se-parity-serve ]; then ok "server_process_name names the server"; else
        nok "server_process_name names the server: '$server_comm'"; fi
    kill -WINCH "$main"
    wait_exit "$main"
    if [ "$rc" -eq 0 ] && grep -q "Received graceful stop" "$tmp/supsig.log"; then
        ok "a supervisor stops on its signal_graceful_stop (WINCH), and sends it on to the program"
    else nok "a supervisor stops on its signal_graceful_stop (WINCH): exit $rc"; fi
else
    nok "the supervised program runs"
fi

if [ "$failed" -ne 0 ]; then
    for f in "$tmp"/*.log "$tmp"/*.err; do sed "s|^|# ${f##*/}: |" "$f" | tail -8; done
fi
exit $failed
