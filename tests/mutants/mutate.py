#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make check-mutants: an automated mutation run over the machines and the
driver (engine/sm_*.c, engine/driver*.c).

Each mutant is one change (see sites.py) made in a scratch copy of the tree
(build/mutants/tree, never the worktree). Only the mutated file recompiles;
the tests of `make check` run in two stages, each failing fast:
  1. the fast ones: the machine's own unit tests, the other unit tests, the
     simulator scenarios, the simulator seeds of every lane tests/run.sh
     runs (fewer and shorter);
  2. for a mutant that survived those, the integration tests, several at
     once (as tests/run.sh runs them); a mutant argued equivalent in
     tests/mutants/equivalent.txt skips them and counts as a survivor.
A mutant any of them fails is killed (by `make check`). One line per mutant,
each survivor with file, line and the changed text; then the mutants listed
in tests/mutants/equivalent.txt that survived; then the hand-planted patches
(*.patch, caught by the simulator's seeds or scenarios); then the figure
with the mutants argued equivalent left out; last:
    mutants: K killed / M compiled (P %)

Environment:
  MUTANTS=N SEED=S   a seeded sample of N mutants (default: all of them)
  FILES=glob         only these source files (default engine/sm_*.c engine/driver*.c)
  PATCHES=0          skip the hand-planted patches
  KEEP_GOING=1       run every test of a stage, not only up to the first failure
  STAGES=fast        the fast stage only (a quick look; the figure needs both)
  ONLY=file          only the mutants whose description lines are in file
                     (as printed, e.g. build/mutants/survivors.txt)
  INTEG_JOBS=2       mutants in the integration stage at once
  TEST_JOBS=4        integration tests of one mutant at once (they mostly wait)
  MUTANTS_DIR=dir    where the scratch copy goes (default build/mutants)
  SE_MUTANT_DEADLINE_S=120   per test binary
"""

import ctypes
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sites  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.abspath(os.environ.get("MUTANTS_DIR", os.path.join(ROOT, "build", "mutants")))
SCRATCH = os.path.join(WORK, "tree")
SURVIVORS = os.path.join(WORK, "survivors.txt")
FAST_UNIT = ["test_driver", "test_driver_log", "test_config", "test_logger"]
DEADLINE_S = int(os.environ.get("SE_MUTANT_DEADLINE_S", "120"))
TEST_JOBS = int(os.environ.get("TEST_JOBS", "4"))
SIM_RUNS = [
    ("se-sim", ["--seeds", "1-200", "--duration", "600"]),
    ("se-sim-supervisor", ["--supervisor", "--seeds", "1-100", "--duration", "600"]),
    # the other lanes of make check (tests/run.sh), shorter
    ("se-sim-thread", ["--set", "worker_type=thread", "--seeds", "1-50", "--duration", "600"]),
    ("se-sim-embedded", ["--set", "worker_type=embedded", "--seeds", "1-50", "--duration", "600"]),
    ("se-sim-max", ["--workers", "1024", "--seeds", "1-1", "--duration", "600"]),
]
# a hand-planted patch must fail one of these: the seeds, then the
# simulator's scenarios (which replay the seeds that drew a rare race)
PATCH_RUNS = [(name, ["build/se-sim"] + args + ["--tap"]) for name, args in SIM_RUNS] + [
    ("test_sim_scenarios", ["build/tests/test_sim_scenarios"])]
PR_SET_CHILD_SUBREAPER = 36


def log(msg):
    print(msg, flush=True)


def become_subreaper():
    """Orphans of a test (a worker whose test binary was killed at its
    deadline) become our children, so that end_leftovers can end them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        pass


def children():
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == me:
            out.append(int(d))
    return out


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def end_leftovers():
    """Kills and reaps whatever a test left behind; returns how many were
    still running (an orphan that had ended is only reaped)."""
    n = 0
    for _ in range(50):
        kids = children()
        if not kids:
            break
        for pid in kids:
            if is_zombie(pid):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                n += 1
            except ProcessLookupError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return n


def run(cmd, cwd, timeout, reap=True):
    """(exit status, seconds); a test past its deadline counts as failed.
    reap: end what the test left (only when no other test runs beside it:
    a leftover is recognised as any child of ours)."""
    t0 = time.monotonic()
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)  # the test's own handler ends its tree
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        rc = 124
    if reap:
        left = end_leftovers()
        if left:
            log(f"# {' '.join(cmd)} left {left} process(es) behind")
    return rc, time.monotonic() - t0


def make(targets, quiet=True):
    cmd = ["make", "-s", "-j2", "-C", SCRATCH] + targets
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def copy_tree():
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], check=True,
                           stdout=subprocess.PIPE).stdout.split(b"\0")
    if os.path.isdir(SCRATCH):
        shutil.rmtree(SCRATCH)
    for f in files:
        if not f:
            continue
        rel = f.decode()
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue
        dst = os.path.join(SCRATCH, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def test_names():
    tests = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SCRATCH, "build", "tests", "test_*")))
    unit = [t for t in tests if t.startswith("test_sm_")] + FAST_UNIT + ["test_sim_scenarios"]
    unit = [t for t in unit if t in tests]
    slow = [t for t in tests if t not in unit]
    return unit, slow


def fast_order(path, unit):
    """The machine's own table first, then the others."""
    own = "test_" + os.path.splitext(os.path.basename(path))[0]
    first = [t for t in unit if t == own]
    if path == "engine/driver_log.c":
        first = ["test_driver_log"]
    elif path.startswith("engine/driver"):
        first = ["test_sim_scenarios", "test_driver"]
    return first + [t for t in unit if t not in first]


class Runner:
    def __init__(self):
        self.keep_going = os.environ.get("KEEP_GOING") == "1"
        self.links = {}  # binary -> its defined global symbols
        self.objects = {}  # object -> its defined global symbols

    def symbols(self, path, only_global=False):
        """Defined symbols; a program's hidden ones are local after the link."""
        flags = ["--defined-only"] + (["-g"] if only_global else [])
        r = subprocess.run(["nm"] + flags + [path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return {line.split()[-1] for line in r.stdout.splitlines() if line.strip()}

    def learn_links(self):
        """Which objects each test holds: a static link pulls an archive
        member in whole or not at all, so a test whose binary (or, for
        test_examples, whose example programs) holds none of an object's
        symbols cannot tell its mutants apart."""
        examples = set()
        for e in glob.glob(os.path.join(SCRATCH, "build", "examples", "*")):
            examples |= self.symbols(e)
        for t in glob.glob(os.path.join(SCRATCH, "build", "tests", "test_*")):
            name = os.path.basename(t)
            self.links[name] = self.symbols(t) | (examples if name == "test_examples" else set())
        self.links["se-sim"] = self.symbols(os.path.join(SCRATCH, "build", "se-sim"))
        for name, _ in SIM_RUNS:
            self.links[name] = self.links["se-sim"]

    def holds(self, test, path):
        obj = os.path.join(SCRATCH, "build", "obj", os.path.splitext(path)[0] + ".o.orig")
        if not os.path.exists(obj):
            obj = obj[: -len(".orig")]
        if test not in self.links:
            return True
        if obj not in self.objects:
            self.objects[obj] = self.symbols(obj, only_global=True)
        return bool(self.objects[obj] & self.links[test])

    def stage(self, steps, cwd=SCRATCH, reap=True, build=True):
        """Each step: (name, make targets, command). Returns the first
        failing step's name, or None."""
        failed = None
        for name, targets, cmd in steps:
            if build:
                ok, out = make(targets)
                if not ok:
                    return "build:" + name
            rc, _ = run(cmd, cwd, DEADLINE_S, reap)
            if rc != 0:
                failed = failed or name
                if not self.keep_going:
                    return failed
        return failed

    def stage_pool(self, steps, cwd):
        """The integration stage: its tests at once, TEST_JOBS of them (they
        mostly wait on real timeouts, as in tests/run.sh). Returns the first
        failing step's name in the steps' order, or None."""
        with ThreadPoolExecutor(max_workers=TEST_JOBS) as tp:
            rcs = list(tp.map(lambda st: run(st[2], cwd, DEADLINE_S, reap=False)[0], steps))
        for (name, _, _), rc in zip(steps, rcs):
            if rc != 0:
                return name
        return None

    def fast_steps(self, path, unit):
        steps = [(t, ["build/tests/" + t], ["build/tests/" + t])
                 for t in fast_order(path, unit) if self.holds(t, path)]
        for name, args in SIM_RUNS:
            if self.holds(name, path):
                steps.append((name, ["build/se-sim"], ["build/se-sim"] + args + ["--tap"]))
        return steps

    def slow_steps(self, slow, path):
        return [(t, [], ["build/tests/" + t]) for t in slow if self.holds(t, path)]


def baseline_order(slow):
    """Runs the slow tests once on the unmutated tree; returns them slowest
    first (the integration stage runs them several at once), and the name of
    one that failed, or None."""
    ok, _ = make(["all", "tests"])
    if not ok:
        return slow, "build"
    took = {}
    for t in slow:
        rc, dt = run(["build/tests/" + t], SCRATCH, DEADLINE_S)
        if rc != 0:
            # once more: a flake is reported, not a reason to give up a run
            # of hours; a second failure is
            rc, dt = run(["build/tests/" + t], SCRATCH, DEADLINE_S)
            if rc != 0:
                return slow, t
            log(f"# {t} failed once on the unmutated tree, passed when run again (a flake)")
        took[t] = dt
    order = sorted(slow, key=lambda t: -took[t])
    log("# integration tests, baseline: " + ", ".join(f"{t} {took[t]:.1f}s" for t in order))
    return order, None


def load_equivalent():
    """file:line and the changed text of each mutant argued equivalent."""
    out = {}
    path = os.path.join(ROOT, "tests", "mutants", "equivalent.txt")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            m = re.match(r"(\S+:\d+:\d+): (\S+): `(.*)` -> `(.*)` +-- (.*)", line)
            if m:
                out[(m.group(1), m.group(2), m.group(3), m.group(4))] = m.group(5)
    return out


def key_of(mu):
    old = " ".join(mu.old.split())
    new = " ".join(mu.new.split())
    return (f"{mu.path}:{mu.line}:{mu.col}", mu.kind, old, new)


def all_mutants():
    pats = os.environ.get("FILES", "engine/sm_*.c engine/driver*.c").split()
    paths = sorted({p for pat in pats for p in glob.glob(pat, root_dir=ROOT)})
    out = []
    for p in paths:
        with open(os.path.join(ROOT, p)) as f:
            out.extend(sites.find(p, f.read()))
    return out


def pick(mutants):
    only = os.environ.get("ONLY")
    if only:
        with open(only) as f:
            wanted = {line.strip() for line in f}
        chosen = [mu for mu in mutants if mu.describe() in wanted]
        return chosen, f"{len(chosen)} listed in {only}"
    n = os.environ.get("MUTANTS")
    if not n:
        return mutants, "full"
    seed = int(os.environ.get("SEED", "1"))
    rng = random.Random(seed)
    chosen = rng.sample(mutants, min(int(n), len(mutants)))
    chosen.sort(key=lambda mu: (mu.path, mu.start))
    return chosen, f"sample of {len(chosen)} (SEED={seed})"


def restore(path, original, mtime):
    """Puts the file back with its old time; its object, rebuilt from the
    mutant, recompiles when the next mutant of another file links."""
    full = os.path.join(SCRATCH, path)
    with open(full, "w") as f:
        f.write(original)
    os.utime(full, (mtime, mtime))
    obj = os.path.join(SCRATCH, "build", "obj", os.path.splitext(path)[0] + ".o")
    saved = obj + ".orig"
    shutil.copy2(saved, obj)
    os.utime(obj, None)  # newer than the library: it is archived again


def snapshot(i):
    """A copy of the whole scratch tree as mutant i left it (sources with
    their times, and the build), for the integration stage to run while the
    next mutant builds: the tests find the tool, the examples and the library
    beside themselves, and the scripts the Makefile wrote (tests/*.sh) have
    the tree's path in them, rewritten here to the copy's."""
    job = os.path.join(WORK, "jobs", str(i))
    if os.path.isdir(job):
        shutil.rmtree(job)
    os.makedirs(os.path.dirname(job), exist_ok=True)
    subprocess.run(["cp", "-a", SCRATCH, job], check=True)
    for script in glob.glob(os.path.join(job, "build", "tests", "*.sh")):
        with open(script) as f:
            text = f.read()
        st = os.stat(script)
        with open(script, "w") as f:
            f.write(text.replace(SCRATCH, job))
        os.utime(script, ns=(st.st_atime_ns, st.st_mtime_ns))
    return job


def mutation_run(runner, unit, slow):
    mutants, mode = pick(all_mutants())
    jobs = int(os.environ.get("INTEG_JOBS", "2"))
    log(f"# {len(mutants)} mutants ({mode}) of {len(all_mutants())} sites; fast tests:"
        f" {' '.join(unit)}; integration tests: {' '.join(slow)} ({jobs} mutants at once)")
    verdicts = {}
    originals = {}
    t_start = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=jobs)
    lock = threading.Lock()

    def integration(i, mu, job, t0):
        by = runner.stage_pool(runner.slow_steps(slow, mu.path), cwd=job)
        shutil.rmtree(job, ignore_errors=True)
        verdict = f"killed by {by}" if by else "SURVIVED"
        with lock:
            verdicts[i] = verdict
            log(f"[{i}/{len(mutants)}] {verdict:<32} {time.monotonic() - t0:5.1f}s {mu.describe()}")

    pending = []
    argued_before = load_equivalent()
    for i, mu in enumerate(mutants, 1):
        full = os.path.join(SCRATCH, mu.path)
        obj = os.path.join(SCRATCH, "build", "obj", os.path.splitext(mu.path)[0] + ".o")
        if mu.path not in originals:
            with open(full) as f:
                originals[mu.path] = (f.read(), os.stat(full).st_mtime)
            shutil.copy2(obj, obj + ".orig")
        text, mtime = originals[mu.path]
        t0 = time.monotonic()
        with open(full, "w") as f:
            f.write(mu.apply(text))
        ok, out = make(["build/obj/" + os.path.splitext(mu.path)[0] + ".o"])
        verdict = None
        if not ok:
            verdict = "did not build"
        else:
            by = runner.stage(runner.fast_steps(mu.path, unit), reap=not pending)
            if by is None and key_of(mu) in argued_before:
                # argued equivalent: counted as a survivor without the
                # integration stage (which could only kill it by a flake)
                verdict = "SURVIVED"
            elif by is None and os.environ.get("STAGES", "all") != "fast":
                built, _ = make(["all", "tests"])
                if built:
                    pending.append(pool.submit(integration, i, mu, snapshot(i), t0))
                else:
                    verdict = "did not build (link)"
            elif by is not None and by.startswith("build:"):
                verdict = "did not build (link)"
            else:
                verdict = f"killed by {by}" if by else "SURVIVED"
        restore(mu.path, text, mtime)
        if verdict is not None:
            with lock:
                verdicts[i] = verdict
                log(f"[{i}/{len(mutants)}] {verdict:<32} {time.monotonic() - t0:5.1f}s {mu.describe()}")
        pending = [f for f in pending if not f.done()]
    pool.shutdown(wait=True)
    left = end_leftovers()
    if left:
        log(f"# the integration stage left {left} process(es) behind")
    killed = sum(1 for v in verdicts.values() if v.startswith("killed"))
    unbuilt = sum(1 for v in verdicts.values() if v.startswith("did not build"))
    survivors = [mu for i, mu in enumerate(mutants, 1) if verdicts.get(i) == "SURVIVED"]
    survived = len(survivors)
    elapsed = time.monotonic() - t_start
    compiled = killed + survived
    log("")
    equivalent = load_equivalent()  # read at the end: it may be edited meanwhile
    log(f"# survivors ({len(survivors)}):")
    argued = 0
    for mu in survivors:
        why = equivalent.get(key_of(mu))
        if why is not None:
            argued += 1
            log(f"  equivalent  {mu.describe()}  -- {why}")
        else:
            log(f"  SURVIVED    {mu.describe()}")
    os.makedirs(os.path.dirname(SURVIVORS), exist_ok=True)
    with open(SURVIVORS, "w") as f:
        for mu in survivors:
            f.write(mu.describe() + "\n")
    log(f"# {unbuilt} did not build; {argued} survivors listed as equivalent;"
        f" {elapsed:.0f} s in all, {elapsed / max(1, len(mutants)):.2f} s per mutant")
    pct = 100.0 * killed / compiled if compiled else 0.0
    return killed, compiled, pct, survivors, argued


def patches_run():
    """The hand-planted patches: each must fail a simulator seed."""
    bad = 0
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "mutants", "*.patch"))):
        name = os.path.basename(p)[:-6]
        r = subprocess.run(["patch", "-s", "-p1", "-d", SCRATCH, "-i", p], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            log(f"patch {name}: no longer applies (update it)")
            bad += 1
            continue
        ok, _ = make(["build/se-sim", "build/tests/test_sim_scenarios"])
        caught = None
        if ok:
            for run_name, cmd in PATCH_RUNS:
                rc, _ = run(cmd, SCRATCH, DEADLINE_S)
                if rc != 0:
                    caught = run_name
                    break
        subprocess.run(["patch", "-s", "-R", "-p1", "-d", SCRATCH, "-i", p], check=True)
        if not ok:
            log(f"patch {name}: does not build")
            bad += 1
        elif caught is None:
            log(f"patch {name}: SURVIVED the simulator's seeds and scenarios")
            bad += 1
        else:
            log(f"patch {name}: caught by {caught}")
    # the reversed files are newer than their objects: rebuild to the original
    make(["build/se-sim", "build/tests/test_sim_scenarios"])
    return bad


def main():
    become_subreaper()
    log(f"# scratch copy in {os.path.relpath(SCRATCH, ROOT)}")
    copy_tree()
    ok, out = make(["all", "tests"])
    if not ok:
        log(out)
        log("check-mutants: the unmutated tree does not build")
        return 2
    runner = Runner()
    runner.learn_links()
    unit, slow = test_names()
    base = runner.stage(runner.fast_steps("engine/sm_workers.c", unit))
    if base is None and os.environ.get("STAGES", "all") != "fast":
        slow, base = baseline_order(slow)
    if base is not None:
        log(f"check-mutants: the unmutated tree fails {base}")
        return 2
    killed, compiled, pct, survivors, argued = mutation_run(runner, unit, slow)
    bad_patches = 0
    if os.environ.get("PATCHES", "1") != "0":
        log("# hand-planted patches (tests/mutants/*.patch):")
        bad_patches = patches_run()
    # the figure leaves out the mutants argued equivalent (no input
    # tells them apart); the last line keeps the raw count too
    rest = compiled - argued
    log(f"mutants, the argued equivalents left out: {killed} killed / {rest}"
        f" ({100.0 * killed / rest if rest else 0.0:.1f} %)")
    log(f"mutants: {killed} killed / {compiled} compiled ({pct:.1f} %)")
    unexplained = len(survivors) - argued
    return 1 if unexplained > 0 or bad_patches > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
