#!/usr/bin/env bash
# Checks contrib/systemd/serverengine@.service and serverengine@.socket (README,
# "Running under systemd"): the keys the README promises, against the engine's
# own values read from `serverengine check-config` of the example
# configuration; `systemd-analyze verify` of both units when systemd-analyze
# is installed (Debian package systemd), with their man pages resolved
# against the built ones; then the unit's commands run the way systemd runs
# them (ExecStart with the instance and the environment file filled in, a
# NOTIFY_SOCKET and WATCHDOG_USEC, ExecReload, and TERM to the main process
# alone as KillMode=mixed does), watching the notification datagrams with
# netcat; and the socket unit's address and name handed over the way socket
# activation does (systemd-socket-activate, where installed). PID 1 need not
# be systemd. TAP output, read by tests/run.sh; the Makefile writes this file
# into the build directory with the paths filled in.
set -u
SRC='@SRCDIR@'
B='@B@'
case "$B" in /*) ;; *) B="$SRC/$B" ;; esac
DL=60 # seconds: every wait below polls a condition up to this deadline
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
is() { # description, got, want
    if [ "$2" = "$3" ]; then ok "$1"; else nok "$1: got '$2', want '$3'"; fi
}
tmp=$(mktemp -d /tmp/se-systemd-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do { kill -KILL -- "-$p" && wait "$p"; } 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

dir="$SRC/contrib/systemd"
service="$dir/serverengine@.service"
socket="$dir/serverengine@.socket"

# The value of KEY in SECTION of a unit file (the last assignment wins, as in
# systemd); comments and blank lines ignored.
unit_value() { # file, section, key
    awk -v sec="[$2]" -v key="$3" '
        /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
        /^\[/ { in_sec = ($0 == sec); next }
        in_sec { i = index($0, "="); if (i > 0 && substr($0, 1, i - 1) == key) v = substr($0, i + 1) }
        END { print v }' "$1"
}
# The value of KEY in the effective configuration of the example file.
cfg_value() {
    "$B/serverengine" check-config -c "$dir/example.yml" 2>/dev/null |
        awk -v key="$1:" '$1 == key { print $2 }'
}
# Seconds of a systemd time span: N, Ns or Nmin (what the unit uses).
span_s() {
    case "$1" in
    *min) echo $((${1%min} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
    esac
}
# Waits up to DL seconds for file $1 to have $2 matches of pattern $3
# (grep -o: the datagrams netcat prints have no separator).
wait_count() {
    local until=$((SECONDS + DL)) c
    while [ "$SECONDS" -le "$until" ]; do
        c=$(grep -o -- "$3" "$1" 2>/dev/null | wc -l)
        [ "${c:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# ---- the keys, against the engine's values ---------------------------------------
for f in "$service" "$socket" "$dir/example.yml" "$dir/example.env"; do
    if [ -s "$f" ]; then ok "${f#"$SRC/"} exists"; else nok "${f#"$SRC/"} exists"; fi
done
is "Type=notify" "$(unit_value "$service" Service Type)" notify
is "NotifyAccess=main (only the process systemd started speaks)" \
    "$(unit_value "$service" Service NotifyAccess)" main
is "KillMode=mixed (TERM to the main process, the engine stops the rest)" \
    "$(unit_value "$service" Service KillMode)" mixed
is "the stop signal is the engine's signal_graceful_stop" \
    "SIG$(unit_value "$service" Service KillSignal | sed 's/^SIG//; s/^$/TERM/')" \
    "$(cfg_value signal_graceful_stop)"
reload_sig=$(cfg_value signal_reload)
is "ExecReload sends signal_reload ($reload_sig) to the main process" \
    "$(unit_value "$service" Service ExecReload)" "/bin/kill -${reload_sig#SIG} \$MAINPID"
start=$(unit_value "$service" Service ExecStart)
case "$start" in
*" run -c /etc/serverengine/%i.yml "*" -- \$SERVERENGINE_PROGRAM") ok "ExecStart runs /etc/serverengine/%i.yml's program" ;;
*) nok "ExecStart runs /etc/serverengine/%i.yml's program: $start" ;;
esac
case "$start" in
*" -s daemonize=false "*) ok "ExecStart keeps the engine in the foreground (daemonize=false)" ;;
*) nok "ExecStart keeps the engine in the foreground: $start" ;;
esac
graceful=$(cfg_value worker_graceful_kill_timeout)
stop_s=$(span_s "$(unit_value "$service" Service TimeoutStopSec)")
if [[ "$graceful" =~ ^[0-9]+$ && "$stop_s" =~ ^[0-9]+$ ]] && [ "$stop_s" -gt "$graceful" ]; then
    ok "TimeoutStopSec ($stop_s s) is above worker_graceful_kill_timeout ($graceful s)"
else
    nok "TimeoutStopSec ('$stop_s' s) is above worker_graceful_kill_timeout ('$graceful' s)"
fi
if [ "$(cfg_value notify)" = true ]; then ok "the example configuration notifies systemd"; else
    nok "the example configuration notifies systemd"; fi
wd_s=$(span_s "$(unit_value "$service" Service WatchdogSec)")
if [[ "$wd_s" =~ ^[0-9]+$ ]] && [ "$wd_s" -gt 0 ]; then ok "WatchdogSec is set ($wd_s s)"; else
    nok "WatchdogSec is set: '$wd_s'"; fi
prevent=" $(unit_value "$service" Service RestartPreventExitStatus) "
if [[ "$prevent" == *" 64 "* && "$prevent" == *" 78 "* ]]; then
    ok "no restart after a usage error (64) or a bad configuration (78)"
else nok "RestartPreventExitStatus names 64 and 78: '$prevent'"; fi
if [ -n "$(unit_value "$socket" Socket ListenStream)" ]; then ok "the socket unit listens"; else
    nok "the socket unit listens"; fi

# ---- systemd-analyze verify ---------------------------------------------------------
# verify fails on a command that is not there and on a Documentation= man page
# it cannot find, but only warns (exit 0) on an unknown key or a bad value: any
# output is a failure too.
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$tmp/units" "$tmp/man/man1" "$tmp/man/man5"
    sed "s|/usr/local/bin/serverengine|$B/serverengine|" "$service" >"$tmp/units/serverengine@.service"
    cp "$socket" "$tmp/units/"
    cp "$B/man/serverengine.1" "$tmp/man/man1/" && cp "$B/man/serverengine.5" "$tmp/man/man5/"
    for u in serverengine@example.service serverengine@example.socket; do
        out=$(cd "$tmp/units" && MANPATH="$tmp/man" systemd-analyze verify "./$u" 2>&1)
        rc=$?
        if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify $u"; else
            nok "systemd-analyze verify $u (exit $rc)"
            printf '%s\n' "$out" | sed 's/^/# /'
        fi
    done
else
    echo "# systemd-analyze is not installed (Debian package systemd): the units are"
    echo "# checked by the key checks above and the run below, not by systemd's parser"
fi

# ---- the unit's commands, run the way systemd runs them -----------------------------
inst=example
mkdir -p "$tmp/etc"
{
    cat "$dir/example.yml"
    echo "log: $tmp/engine.log"
} >"$tmp/etc/$inst.yml"
cat >"$tmp/prog.sh" <<'EOF'
#!/bin/sh
trap 'echo "worker $SERVERENGINE_WORKER_ID stops"; exit 0' TERM
echo "worker $SERVERENGINE_WORKER_ID runs with $1 $2"
while :; do sleep 1 & wait $!; done
EOF
chmod 755 "$tmp/prog.sh"
echo "SERVERENGINE_PROGRAM=$tmp/prog.sh first second" >"$tmp/etc/$inst.env"

# systemd's expansion: %i, then an unbraced $VAR split at whitespace
expand() { # command line
    local c=$1 var
    c=${c//%i/$inst}
    c=${c//\/etc\/serverengine\//$tmp\/etc\/}
    c=${c//\/usr\/local\/bin\/serverengine/$B\/serverengine}
    var=$(sed -n 's/^SERVERENGINE_PROGRAM=//p' "$tmp/etc/$inst.env")
    c=${c//\$SERVERENGINE_PROGRAM/$var}
    c=${c//\$MAINPID/${main:-}}
    printf '%s\n' "$c"
}
set -f
read -ra argv <<<"$(expand "$start")"
set +f

notify="$tmp/notify.sock"
setsid nc -lkUu "$notify" >"$tmp/notify.out" 2>&1 &
pids+=($!)
until=$((SECONDS + DL))
while [ ! -S "$notify" ] && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
NOTIFY_SOCKET="$notify" WATCHDOG_USEC=400000 setsid "${argv[@]}" >"$tmp/run.out" 2>&1 &
main=$!
pids+=("$main")
if wait_count "$tmp/engine.log" 4 "worker [0-3] runs with first second"; then
    ok "ExecStart starts 4 workers running the .env file's program and arguments"
else nok "ExecStart starts 4 workers running the .env file's program and arguments"; fi
if wait_count "$tmp/notify.out" 1 "READY=1"; then ok "READY=1"; else nok "READY=1"; fi
if wait_count "$tmp/notify.out" 3 "WATCHDOG=1"; then ok "WATCHDOG=1 pings"; else
    nok "WATCHDOG=1 pings"; fi

read -ra reload <<<"$(expand "$(unit_value "$service" Service ExecReload)")"
"${reload[@]}"
if wait_count "$tmp/engine.log" 1 "Received reload" && wait_count "$tmp/notify.out" 1 "RELOADING=1" &&
    wait_count "$tmp/notify.out" 2 "READY=1"; then
    ok "ExecReload: the engine reloads, RELOADING=1 then READY=1"
else nok "ExecReload: the engine reloads, RELOADING=1 then READY=1"; fi

kill -TERM "$main" # KillMode=mixed: the main process alone
until=$((SECONDS + DL))
while kill -0 "$main" 2>/dev/null && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
wait "$main"
rc=$?
is "TERM to the main process stops the service with status 0" "$rc" 0
if wait_count "$tmp/notify.out" 1 "STOPPING=1"; then ok "STOPPING=1"; else nok "STOPPING=1"; fi
stopped=$(grep -c "worker [0-3] stops" "$tmp/engine.log")
is "every worker was stopped by the engine (TERM)" "$stopped" 4
if pgrep -f "$tmp/prog.sh" >/dev/null; then nok "no program is left running"; else
    ok "no program is left running"; fi
# ---- the socket unit, the way systemd activates it ----------------------------------
# systemd-socket-activate (package systemd) binds the socket unit's address,
# execs the command at the first connection with LISTEN_FDS, LISTEN_PID and
# LISTEN_FDNAMES, as the socket unit does. The program is test_tool's
# --serve-listen-fds: it answers "OK pid=P names=N" when it was handed exactly
# one listening stream socket the way socket activation hands it over.
if command -v systemd-socket-activate >/dev/null; then
    listen=$(unit_value "$socket" Socket ListenStream)
    listen=${listen//%i/$inst}
    listen=${listen//\/run\/serverengine\//$tmp\/}
    fdname=$(unit_value "$socket" Socket FileDescriptorName)
    fdname=${fdname//%i/$inst}
    {
        cat "$dir/example.yml"
        echo "log: $tmp/activated.log"
    } >"$tmp/etc/$inst.yml"
    echo "SERVERENGINE_PROGRAM=$B/tests/test_tool --serve-listen-fds" >"$tmp/etc/$inst.env"
    set -f
    read -ra argv <<<"$(expand "$start")"
    set +f
    setsid systemd-socket-activate -l "$listen" --fdname="$fdname" "${argv[@]}" \
        >"$tmp/activated.out" 2>&1 &
    main=$!
    pids+=("$main")
    until=$((SECONDS + DL))
    while [ ! -S "$listen" ] && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
    answers=""
    for _ in 1 2 3; do answers+="$(timeout "$DL" nc -U "$listen" </dev/null)"$'\n'; done
    good=$(grep -c "^OK pid=[0-9]* names=$fdname\$" <<<"$answers")
    is "socket activation: the program gets the unit's socket, named $fdname" "$good" 3
    kill -TERM "$main"
    until=$((SECONDS + DL))
    while kill -0 "$main" 2>/dev/null && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
    wait "$main"
    is "socket activation: TERM stops the service with status 0" "$?" 0
    if [ "$good" -ne 3 ]; then printf '# answers: %s\n' "$answers"; fi
else
    echo "# systemd-socket-activate is not installed (Debian package systemd): the"
    echo "# socket unit is checked by its keys above, not activated"
fi

if [ "$failed" -ne 0 ]; then
    sed 's/^/# log: /' "$tmp/engine.log" | tail -30
    sed 's/^/# out: /' "$tmp/run.out" | tail -10
    printf '# notify: %s\n' "$(cat "$tmp/notify.out")"
fi
exit $failed
