/* SPDX-License-Identifier: Apache-2.0 */
/*
 * se-sim: runs the engine on the simulated world, one run per seed.
 *
 *   se-sim --seed 42                 replay one run exactly (add --verbose for the trace)
 *   se-sim --seeds 1-1000            many runs; a failure prints its seed and replay command
 *   options: --duration SECONDS (simulated, default 3600), --workers N (default: drawn),
 *            --no-faults, --set KEY=VALUE (repeatable), --tap (one TAP line per seed),
 *            --supervisor (the supervisor role: its children are server processes);
 *            --set worker_type=thread or =embedded: workers stopped by their stop
 *            callback, never signalled, no heartbeat (the server role only)
 *
 * This file is the only one in sim/ that reads a real clock: to report
 * simulated seconds per real second at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define SIM_OVERRIDES_MAX 32

struct cli {
    uint64_t seed_lo, seed_hi;
    struct sim_opts opts;
    bool tap;
    const char *overrides[SIM_OVERRIDES_MAX + 1];
    int overrides_len;
};

static void
usage(FILE *f)
{
    fprintf(
        f, "usage: se-sim [--seed N | --seeds A-B] [--duration SECONDS] [--workers N]\n"
           "              [--no-faults] [--supervisor] [--set KEY=VALUE]... [--verbose] [--tap]\n");
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0') return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != '\0') return false;
    *out = v;
    return true;
}

static int
parse_args(int argc, char **argv, struct cli *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (a == NULL) return -1;
        if (strcmp(a, "--seed") == 0 && parse_u64(v, &n)) {
            c->seed_lo = c->seed_hi = n, i++;
        } else if (strcmp(a, "--seeds") == 0 && v != NULL && strchr(v, '-') != NULL) {
            const char *dash = strchr(v, '-');
            char lo[32] = "";
            snprintf(lo, sizeof lo, "%.*s", (int)(dash - v), v);
            if (!parse_u64(lo, &c->seed_lo) || !parse_u64(dash + 1, &c->seed_hi)) return -1;
            i++;
        } else if (strcmp(a, "--duration") == 0 && parse_u64(v, &n)) {
            c->opts.duration_ms = (int64_t)n * 1000, i++;
        } else if (strcmp(a, "--workers") == 0 && parse_u64(v, &n) && n <= SE_WORKERS_MAX) {
            c->opts.workers = (uint32_t)n, i++;
        } else if (strcmp(a, "--set") == 0 && v != NULL && c->overrides_len < SIM_OVERRIDES_MAX) {
            c->overrides[c->overrides_len++] = v, i++;
        } else if (strcmp(a, "--supervisor") == 0) {
            c->opts.supervisor = true;
        } else if (strcmp(a, "--no-faults") == 0) {
            c->opts.faults = false;
        } else if (strcmp(a, "--verbose") == 0) {
            c->opts.verbose = true;
        } else if (strcmp(a, "--tap") == 0) {
            c->tap = true;
        } else {
            return -1;
        }
    }
    return c->seed_hi >= c->seed_lo ? 0 : -1;
}

static double
real_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
print_failure(const struct cli *c, uint64_t seed, struct sim_world *w, const struct sim_result *r)
{
    fprintf(stderr, "se-sim: FAIL seed=%" PRIu64 " at %.3f s: %s\n", seed, (double)r->sim_ms / 1e3,
            r->violation);
    fprintf(stderr, "last trace lines:\n");
    sim_print_trace_tail(w, 40);
    fprintf(stderr, "replay: se-sim --seed %" PRIu64 " --duration %lld", seed,
            (long long)(c->opts.duration_ms / 1000));
    if (c->opts.workers) fprintf(stderr, " --workers %u", c->opts.workers);
    if (!c->opts.faults) fprintf(stderr, " --no-faults");
    if (c->opts.supervisor) fprintf(stderr, " --supervisor");
    for (int i = 0; i < c->overrides_len; i++)
        fprintf(stderr, " --set %s", c->overrides[i]);
    fprintf(stderr, " --verbose\n");
}

int
main(int argc, char **argv)
{
    struct cli c = {.seed_lo = 1, .seed_hi = 1};
    c.opts = (struct sim_opts){.duration_ms = INT64_C(3600000),
                               .faults = true,
                               .operator_random = true,
                               .random_models = true,
                               .random_config = true,
                               .final_stop = true};
    if (parse_args(argc, argv, &c) != 0) {
        usage(stderr);
        return 2;
    }
    c.opts.overrides = c.overrides;
    uint64_t passed = 0, failed = 0, events = 0;
    double sim_s = 0, t0 = real_seconds();
    /* TAP lines go out whole: stdout and stderr (a failure's report, the
     * summary) often share a pipe, and text inside a TAP line hides it */
    if (c.tap) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("1..%" PRIu64 "\n", c.seed_hi - c.seed_lo + 1);
    }
    for (uint64_t seed = c.seed_lo; seed <= c.seed_hi; seed++) {
        c.opts.seed = seed;
        struct sim_world *w = sim_world_new(&c.opts);
        if (w == NULL) {
            fprintf(stderr, "se-sim: out of memory\n");
            return 1;
        }
        struct sim_result r;
        sim_run(w, &r);
        sim_s += (double)r.sim_ms / 1e3;
        events += r.world_events + r.engine_events;
        if (r.ok) {
            passed++;
        } else {
            failed++;
            print_failure(&c, seed, w, &r);
        }
        if (c.tap)
            printf("%s %" PRIu64 " - seed %" PRIu64 " hash %016" PRIx64 "\n",
                   r.ok ? "ok" : "not ok", seed - c.seed_lo + 1, seed, r.trace_hash);
        else if (c.seed_lo == c.seed_hi)
            printf("seed %" PRIu64 ": %s, trace hash %016" PRIx64 ", %.1f simulated s, %" PRIu64
                   " spawns, %" PRIu64 " signals, %" PRIu64 " faults, exit status %d\n",
                   seed, r.ok ? "ok" : "FAIL", r.trace_hash, (double)r.sim_ms / 1e3, r.spawns,
                   r.signals, r.faults_injected, r.exit_status);
        sim_world_free(w);
    }
    double real = real_seconds() - t0;
    fprintf(c.tap ? stderr : stdout,
            "se-sim: %" PRIu64 " seeds passed, %" PRIu64 " failed; %.0f simulated s in %.2f real s "
            "(%.0f simulated s per real s, %.0f events per real s)\n",
            passed, failed, sim_s, real, real > 0 ? sim_s / real : 0.0,
            real > 0 ? (double)events / real : 0.0);
    return failed == 0 ? 0 : 1;
}
