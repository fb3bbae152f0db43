#!/usr/bin/env bash
# make check-mutants: proves the simulator has teeth. Each patch here plants
# one bug by hand in a copy of the tree; the simulator must catch every one
# (at least one failing seed among SEEDS). Prints the seeds that catch each.
#   SEEDS=1-200 (default), DURATION=600
set -u
cd "$(dirname "$0")/../.." || exit 2
seeds=${SEEDS:-1-200}
duration=${DURATION:-600}
root=build/mutants
rm -rf "$root"
mkdir -p "$root"
survivors=0
for p in tests/mutants/*.patch; do
    name=$(basename "$p" .patch)
    dir=$root/$name
    mkdir -p "$dir"
    git ls-files -z | xargs -0 cp --parents -t "$dir"
    if ! (cd "$dir" && patch -s -p1 <"../../../$p"); then
        echo "mutant $name: the patch no longer applies (update it)"
        survivors=$((survivors + 1))
        continue
    fi
    if ! make -s -C "$dir" build/se-sim >"$dir.build.log" 2>&1; then
        echo "mutant $name: does not build (see $dir.build.log)"
        survivors=$((survivors + 1))
        continue
    fi
    out=$("$dir/build/se-sim" --seeds "$seeds" --duration "$duration" --tap 2>&1)
    caught=$(grep -oE 'FAIL seed=[0-9]+' <<<"$out" | cut -d= -f2 | tr '\n' ' ')
    if grep -q 'assertion failed' <<<"$out"; then
        # an engine assertion stopped the run: the seed after the last reported one
        last=$(grep -oE '^(not )?ok [0-9]+ - seed [0-9]+' <<<"$out" | tail -1 | awk '{print $NF}')
        lo=${seeds%-*}
        caught="$caught${last:+$((last + 1))}${last:-$lo}(assertion)"
    fi
    if [ -z "$caught" ]; then
        echo "mutant $name: SURVIVED seeds $seeds"
        survivors=$((survivors + 1))
        continue
    fi
    n=$(wc -w <<<"$caught")
    first=$(grep -m1 -oE '(FAIL seed=[0-9]+ at [0-9.]+ s: .*|assertion failed: .*)' <<<"$out" |
        cut -c1-150)
    echo "mutant $name: caught by $n of seeds $seeds: $(cut -d' ' -f1-8 <<<"$caught")"
    echo "    first: $first"
done
[ "$survivors" -eq 0 ] && echo "check-mutants: every planted bug was caught" && exit 0
echo "check-mutants: $survivors mutant(s) survived"
exit 1
