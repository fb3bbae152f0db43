#!/usr/bin/env bash
# make lint: the rules a compiler does not check.
#   1. purity: the pure machines and the simulator touch no OS, clock, randomness
#      or allocation (they are driven by inputs only);
#   2. no global mutable state in the library (nm finds no .data/.bss symbol);
#   3. functions of at most 70 lines in engine/ and sim/;
#   4. clang-format leaves every file unchanged;
#   5. cppcheck and clang-tidy are quiet;
#   6. the reference describes every configuration key (doc/serverengine.5.scd)
#      and cites nothing outside the repository;
#   7. the runtime's layers point one way, and no engine object is in a cycle
#      (from nm of build/obj/engine/*.o);
#   8. only the adapter (os_posix*.c) calls the system, or a file of the short
#      allow-list below, each with its reason.
# Prints each finding and exits 1 if there is any.
set -u
shopt -s lastpipe # a finding printed inside a pipeline (… | while read) counts too
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
fail=0
say() { printf '%s\n' "$*"; }
bad() { say "lint: $*"; fail=1; }

# 1. purity -----------------------------------------------------------------
machine_bans='\b(fork|vfork|kill|waitpid|waitid|clock_gettime|gettimeofday|time|rand|srand|random|getpid|open|close|read|write|rename|unlink|sleep|usleep|nanosleep|malloc|calloc|realloc|free|printf|fprintf|getenv|pthread_[a-z_]+)\s*\('
for f in engine/sm_*.c engine/sm_*.h; do
    grep -nE "$machine_bans" "$f" | grep -vE '^\s*[0-9]+:\s*(/\*|\*)' | while read -r l; do
        bad "$f:$l: a pure machine calls the OS, a clock, randomness or the allocator"
    done
    grep -nE '#include <' "$f" | grep -vE '<(stdint|stdbool|stddef|string|errno)\.h>' |
        while read -r l; do bad "$f:$l: a pure machine includes more than the allowed headers"; done
done
sim_bans='\b(fork|vfork|kill|waitpid|waitid|clock_gettime|gettimeofday|time|rand|srand|random|getpid|sleep|usleep|nanosleep)\s*\('
for f in sim/*.c sim/*.h; do
    [ "$f" = sim/sim_main.c ] && continue # reports real seconds per simulated second
    grep -nE "$sim_bans" "$f" | grep -vE '^\s*[0-9]+:\s*(/\*|\*)' | while read -r l; do
        bad "$f:$l: the simulator calls the OS, a clock or randomness (use the world's)"
    done
    grep -nE '#include <(unistd|signal|time|pthread)\.h>' "$f" |
        while read -r l; do bad "$f:$l: the simulator includes an OS header"; done
done

# 2. no global mutable state in the library -----------------------------------
if ls "$B"/obj/engine/*.o >/dev/null 2>&1; then
    # writable sections only: .data.rel.ro is read-only after relocation
    for o in "$B"/obj/engine/*.o; do
        objdump -t "$o" | grep -E '[[:space:]](\.data|\.bss|\*COM\*)[[:space:]]' |
            grep -vE '[[:space:]]\.(data|bss)[[:space:]]+0+[[:space:]]+\.(data|bss)$' |
            while read -r l; do bad "global mutable state in $o: $l"; done
    done
else
    say "lint: (build first for the global-state check: make)"
fi

# 3. function length ------------------------------------------------------------
for f in engine/*.c sim/*.c tools/*.c; do
    [ -f "$f" ] || continue
    awk -v f="$f" '
        /^[a-z_][a-zA-Z0-9_]*\(/ && prev !~ /;$/ { name = $0; sub(/\(.*/, "", name); start = NR }
        /^\{/ && start { open = NR }
        /^\}/ && open { if (NR - open - 1 > 70) printf "%s:%d: %s is %d lines (at most 70)\n", f, start, name, NR - open - 1; open = 0; start = 0 }
        { prev = $0 }' "$f" | while read -r l; do bad "$l"; done
done

# 4. clang-format ---------------------------------------------------------------
files=$(git ls-files '*.c' '*.h' 2>/dev/null | grep -vE '^tests/fuzz/corpus')
if command -v clang-format >/dev/null; then
    for f in $files; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad "$f: not clang-formatted (clang-format -i $f)"
    done
fi

# 6. the project's own reference ------------------------------------------------
# every row of the key table in engine/config.c is described in the man page
for k in $(sed -n '/^static const struct key keys\[\] = {/,/^};/p' engine/config.c |
    grep -oE '^ *\{"[a-z_0-9]+"' | tr -d ' {"'); do
    grep -q "^\*$k\* (default" doc/serverengine.5.scd ||
        bad "doc/serverengine.5.scd: the key $k is not described (see engine/config.c)"
done

# CI installs what the README's set-up installs: the two package lists agree
pk() { tr ' \\"=' '\n\n\n\n' <"$1" | grep -E '^(build-essential|clang|pkg-config|procps|iproute2|netcat-openbsd|lib[a-z0-9-]+-dev|fiu-utils|valgrind|scdoc|man-db)$' | sort -u; }
[ "$(pk .ci/run)" = "$(pk scripts/setup-debian.sh)" ] ||
    bad ".ci/run and scripts/setup-debian.sh install different packages"

# 7. layers ---------------------------------------------------------------------
# Who may call whom, on the objects: an object refers only to objects of its
# own layer or below (nm: its undefined symbols against the others' defined
# ones). The README's layer map is this table. Objects not named are the
# library under the runtime (layer 0: the driver, the machines, config,
# logger, daemon, the adapter...), which calls nothing above it.
runtime_layers='
process 1
notify 1
sigdump 1
worker 2
spawn 2
server 3
cmdpipe_in 3
listen_api 3
supervisor 4
engine 5
args 5'
# Files that are one module (one node of the graph): they may call each other.
#   os_posix*   the adapter, one seam in several files
#   config*     config.c and the parts split from it: the key table and the
#               parsers call each other (config.o <-> config_user.o)
#   log*        logger.c and the parts split from it: the logger and its
#               capture and rotation call each other (logger.o <-> log_capture.o)
#   daemon pidfile privileges proctitle   daemon.c and the parts split from it
#   driver*     driver.c and the parts split from it: the loop and the
#               execution of the machines' actions call each other
#               (driver.o <-> driver_exec.o)
#   common faults   the assertion and the fault table every file may use
one_module() {
    case $1 in
    os_posix*) echo os_posix ;;
    config*) echo config ;;
    log*) echo logger ;;
    daemon | pidfile | privileges | proctitle) echo daemon ;;
    driver*) echo driver ;;
    common | faults) echo common ;;
    *) echo "$1" ;;
    esac
}
# the object graph: "from to" per reference to a symbol another object defines
engine_graph() {
    {
        nm -A -g --defined-only "$B"/obj/engine/*.o | awk '{print "D", $1, $3}'
        nm -A -u "$B"/obj/engine/*.o | awk '{print "U", $1, $3}'
    } | sed -E 's#^([DU]) [^ ]*/([a-z_0-9]+)\.o:[^ ]* #\1 \2 #' |
        awk '$1 == "D" { def[$3] = $2 }
             $1 == "U" { use[NR] = $2 " " $3 }
             END { for (i in use) { split(use[i], u, " ")
                     if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' |
        sort -u
}
if ls "$B"/obj/engine/*.o >/dev/null 2>&1; then
    graph=$(engine_graph)
    printf '%s\n' "$graph" | awk -v table="$runtime_layers" '
        BEGIN { n = split(table, l, "\n"); for (i = 1; i <= n; i++) if (split(l[i], f, " ") == 2) rank[f[1]] = f[2] }
        NF == 2 && ($2 in rank) && rank[$2] > rank[$1] + 0 {
            printf "%s.o calls up into %s.o (layer %d above %d)\n", $1, $2, rank[$2], rank[$1] + 0 }' |
        while read -r l; do bad "layers: $l"; done
    # a cycle: two modules that reach each other (transitive closure)
    printf '%s\n' "$graph" | while read -r a b; do
        [ -n "$a" ] && echo "$(one_module "$a") $(one_module "$b")"
    done | awk '$1 != $2 { e[$1, $2] = 1; v[$1] = 1; v[$2] = 1 }
        END { for (k in v) for (i in v) if (e[i, k]) for (j in v) if (e[k, j]) e[i, j] = 1
              for (i in v) if (!(i in done)) { line = i ".o"; n = 0
                  for (j in v) if (j != i && e[i, j] && e[j, i]) { line = line " " j ".o"; done[j] = 1; n++ }
                  if (n > 0) print line } }' |
        while read -r l; do bad "layers: a cycle among $(printf '%s\n' $l | sort | tr '\n' ' ')(each reaches the others)"; done
else
    say "lint: (build first for the layer check: make)"
fi

# 8. the OS boundary --------------------------------------------------------------
# The system-call wrappers an engine object may refer to only in the adapter
# (os_posix*.c) or in a file of the allow-list below.
syscalls='open open64 openat openat64 creat read pread pread64 readv write pwrite pwrite64 writev
close close_range dup dup2 dup3 fcntl fcntl64 ioctl pipe pipe2 poll ppoll select pselect
epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait eventfd signalfd timerfd_create
fork vfork clone execve execv execvp execvpe execl execlp fexecve posix_spawn posix_spawnp
kill killpg tgkill raise sigaction signal sigprocmask pthread_sigmask sigwait sigwaitinfo
sigtimedwait socket socketpair bind listen accept accept4 connect send sendto sendmsg recv
recvfrom recvmsg shutdown setsockopt getsockopt nanosleep clock_nanosleep sleep usleep
clock_gettime gettimeofday time wait waitpid waitid wait4 stat lstat fstat fstatat stat64
fstat64 lstat64 statx access faccessat mkdir rmdir unlink unlinkat rename renameat link
symlink readlink chdir fchdir chmod fchmod chown fchown lchown umask truncate ftruncate fsync
fdatasync flock lockf mmap munmap mprotect setsid setpgid setuid setgid seteuid setegid
setresuid setresgid setgroups initgroups prctl setrlimit getrlimit prlimit syscall
pidfd_open pidfd_send_signal memfd_create getcwd opendir fopen fdopen freopen dprintf
pthread_create pthread_join pthread_kill'
# The allow-list: a file here may call the system itself, for its reason.
os_allowed() {
    case $1 in
    os_posix*.c) return 0 ;; # the adapter: the seam itself
    # daemon.c and its parts: the double fork, setsid, the pid file's lock and
    # writes, the privilege drop, the process title: once, before any loop
    daemon.c | pidfile.c | privileges.c | proctitle.c) return 0 ;;
    config_file.c) return 0 ;;    # reads the configuration file it opened (se__posix_open_regular)
    sigdump.c) return 0 ;;        # a diagnostic on request: reads /proc/self, writes its dump file
    sockmgr.c) return 0 ;;        # the socket manager's own socket path and the fds it passes on
    status.c) return 0 ;;         # the status socket's own path: made at start, removed at exit
    status_client.c) return 0 ;;  # the tool's side of status, outside any loop: checks the path
    blocking_flag.c) return 0 ;;  # a public helper for the user's threads: its timed wait's clock
    esac
    return 1
}
if ls "$B"/obj/engine/*.o >/dev/null 2>&1; then
    for o in "$B"/obj/engine/*.o; do
        f=$(basename "$o" .o).c
        os_allowed "$f" && continue
        hits=$(nm -u "$o" | awk '{print $2}' | grep -xF "$(printf '%s\n' $syscalls)" | tr '\n' ' ')
        [ -n "$hits" ] &&
            bad "engine/$f calls the system ($hits): through the adapter (os_posix*.c), or name it in lint.sh's allow-list with the reason"
    done
fi

if [ "$fail" -ne 0 ]; then
    say "lint: FAILED"
    exit 1
fi
say "lint: clean"
