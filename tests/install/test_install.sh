#!/usr/bin/env bash
# Installs like a packager into two DESTDIRs with different prefixes, builds
# the README's sample program against each with pkg-config alone, runs it,
# and uninstalls. TAP output (one "ok N" or "not ok N" per check), read by
# tests/run.sh. The Makefile writes this file into the build directory with
# the source tree's and the build directory's paths filled in.
set -u
SRC='@SRCDIR@'
B='@B@'
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { # description, command...
    local d=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then ok "$d"; else nok "$d"; sed 's/^/# /' "$tmp/out" | tail -20; fi
}
tmp=$(mktemp -d /tmp/se-install-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# the README's sample, exactly as the README shows it
sed -n '/^## Writing a server/,/^Compile with/p' "$SRC/README.md" | sed -n '/^```c$/,/^```$/p' |
    sed '1d;$d' >"$tmp/sample.c"
check "the README has a sample program" test -s "$tmp/sample.c"

# waits up to $2 seconds for file $1 to have $3 lines matching $4
wait_lines() {
    local until=$((SECONDS + $2))
    while [ "$SECONDS" -le "$until" ]; do
        local c
        c=$(grep -c -- "$4" "$1" 2>/dev/null)
        [ "${c:-0}" -ge "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# the system's own .pc files (libyaml's), after the installed one
system_pc=$(pkg-config --variable pc_path pkg-config)

install_and_build() { # name, prefix
    local root="$tmp/$1" prefix=$2
    check "make install PREFIX=$prefix DESTDIR=$root" \
        make -s -C "$SRC" B="$B" install PREFIX="$prefix" DESTDIR="$root"
    local pc="$root$prefix/lib/pkgconfig/serverengine.pc"
    check "the .pc file names the prefix $prefix" grep -qx "prefix=$prefix" "$pc"
    check "the man pages are installed under $prefix" \
        test -f "$root$prefix/share/man/man3/serverengine.3" -a \
        -f "$root$prefix/share/man/man5/serverengine.5"
    check "man -l renders serverengine(5)" sh -c "man -l '$root$prefix/share/man/man5/serverengine.5' | grep -q worker_heartbeat_timeout"
    local flags
    flags=$(PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$root$prefix/lib/pkgconfig:$system_pc" \
        pkg-config --cflags --libs serverengine)
    check "the sample builds with pkg-config alone ($prefix)" \
        cc -Wall -Wextra -Werror "$tmp/sample.c" -o "$tmp/$1.sample" $flags
    export LD_LIBRARY_PATH="$root$prefix/lib"
    check "the sample prints its help and exits 0" "$tmp/$1.sample" --help
    "$tmp/$1.sample" --bogus >"$tmp/out" 2>&1
    local rc=$?
    if [ "$rc" -eq 64 ] && grep -q -- "--bogus" "$tmp/out"; then ok "the sample refuses --bogus with 64"; else
        nok "the sample refuses --bogus with 64 (got $rc)"; fi
    unset LD_LIBRARY_PATH
}

install_and_build usr /usr
install_and_build opt /opt/serverengine

# the sample runs to TERM, with memcheck when it is there: the embedding guide
# leaks nothing, across two restarts of its workers
vg=()
command -v valgrind >/dev/null && vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99 --child-silent-after-fork=yes)
log="$tmp/sample.log"
LD_LIBRARY_PATH="$tmp/usr/usr/lib" setsid "${vg[@]}" "$tmp/usr.sample" -s "log=$log" -s workers=2 \
    >"$tmp/run.out" 2>&1 &
srv=$!
pids+=("$srv")
if wait_lines "$log" 60 2 "Awesome work!"; then ok "the sample's workers work"; else nok "the sample's workers work"; fi
kill -USR1 "$srv"
wait_lines "$log" 60 4 "Worker .* started" >/dev/null
kill -USR1 "$srv"
if wait_lines "$log" 60 6 "Worker .* started"; then ok "two restarts (USR1)"; else nok "two restarts (USR1)"; fi
kill -TERM "$srv"
until=$((SECONDS + 60))
while kill -0 "$srv" 2>/dev/null && [ "$SECONDS" -le "$until" ]; do sleep 0.05; done
wait "$srv"
rc=$?
if [ "$rc" -eq 0 ]; then ok "TERM ends it with 0, no leak (${vg[0]:-no valgrind})"; else
    nok "TERM ends it with 0, no leak: exit $rc"
    sed 's/^/# /' "$tmp/run.out" | tail -30
fi

for d in usr:/usr opt:/opt/serverengine; do
    name=${d%%:*} prefix=${d#*:}
    check "make uninstall PREFIX=$prefix" \
        make -s -C "$SRC" B="$B" uninstall PREFIX="$prefix" DESTDIR="$tmp/$name"
    left=$(find "$tmp/$name" -type f | wc -l)
    if [ "$left" -eq 0 ]; then ok "uninstall leaves no file ($prefix)"; else
        nok "uninstall leaves no file ($prefix): $left left"; find "$tmp/$name" -type f | sed 's/^/# /'; fi
done
exit $failed
