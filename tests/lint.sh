#!/usr/bin/env bash
# make lint: the rules a compiler does not check.
#   1. purity: the pure machines and the simulator touch no OS, clock, randomness
#      or allocation (they are driven by inputs only);
#   2. no global mutable state in the library (nm finds no .data/.bss symbol);
#   3. functions of at most 70 lines in engine/ and sim/;
#   4. clang-format leaves every file unchanged;
#   5. cppcheck and clang-tidy are quiet;
#   6. the reference describes every configuration key (doc/serverengine.5.scd)
#      and cites nothing outside the repository.
# Prints each finding and exits 1 if there is any.
set -u
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

# 5. cppcheck and clang-tidy ----------------------------------------------------
if command -v cppcheck >/dev/null; then
    out=$(cppcheck --quiet --enable=warning,style,performance,portability --inline-suppr \
        --std=c11 -D__GNUC__ -DSE_NORETURN= -Iengine/include -Iengine -Ifaults -Isim \
        --suppress=missingIncludeSystem --suppress=unusedFunction \
        engine sim tools 2>&1)
    [ -n "$out" ] && { say "$out"; bad "cppcheck has findings"; }
fi
if command -v clang-tidy >/dev/null; then
    srcs=$(ls engine/*.c sim/*.c tools/*.c 2>/dev/null)
    out=$(clang-tidy --quiet $srcs -- -std=gnu11 -D_GNU_SOURCE -Iengine/include -Iengine -Ifaults \
        -Isim 2>/dev/null | grep -E 'warning:|error:')
    [ -n "$out" ] && { say "$out"; bad "clang-tidy has findings"; }
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

if [ "$fail" -ne 0 ]; then
    say "lint: FAILED"
    exit 1
fi
say "lint: clean"
