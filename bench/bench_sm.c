/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_sm: events per second through the pure machines, with no OS at all.
 *
 * Three synthetic streams, each input one "event":
 *   kill      a stop request, then ticks at each deadline until SIGKILL, then the reap;
 *   heartbeat beats and ticks of 64 children;
 *   pool      64 workers crashing and being restarted (exit, spawn result, tick).
 * Prints events/s and ns/event for each, and the total. Not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sm_heartbeat.h"
#include "sm_kill.h"
#include "sm_workers.h"

#define ACTS_CAP 4096u

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
bench_kill(struct se_acts *acts, uint64_t rounds)
{
    static const struct se_kill_cfg cfg = {.graceful_sig = SE_SIG_TERM,
                                           .immediate_sig = SE_SIG_QUIT,
                                           .graceful_interval_ms = 15000,
                                           .graceful_increment_ms = 10000,
                                           .graceful_timeout_ms = 600000,
                                           .immediate_interval_ms = 10000,
                                           .immediate_increment_ms = 10000,
                                           .immediate_timeout_ms = 600000,
                                           .resume_stopped = true};
    uint64_t events = 0;
    int64_t t = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        struct se_kill k;
        se__kill_init(&k, &cfg, 0, 1, t);
        struct se_kill_in in = {.kind = SE_KILL_IN_GRACEFUL, .reason = SE_REASON_STOP};
        se__kill_step(&k, &in, t, acts);
        events++;
        in.kind = SE_KILL_IN_TICK;
        while (k.phase != SE_KILL_FINAL) {
            t = se__kill_deadline_ms(&k);
            se__kill_step(&k, &in, t, acts);
            events++;
            acts->count = 0;
        }
        in.kind = SE_KILL_IN_REAPED;
        se__kill_step(&k, &in, t, acts);
        events++;
        acts->count = 0;
    }
    return events;
}

static uint64_t
bench_heartbeat(struct se_acts *acts, uint64_t rounds)
{
    enum { N = 64 };
    static struct se_hb hbs[N];
    static const struct se_hb_cfg cfg = {.timeout_ms = 180000};
    for (uint32_t i = 0; i < N; i++)
        se__hb_init(&hbs[i], &cfg, i, 0);
    uint64_t events = 0;
    int64_t t = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        t += 1000;
        for (uint32_t i = 0; i < N; i++) {
            struct se_hb_in in = {.kind = SE_HB_IN_BEAT, .stamp_ms = t - (int64_t)i};
            se__hb_step(&hbs[i], &in, t, acts);
            in.kind = SE_HB_IN_TICK;
            se__hb_step(&hbs[i], &in, t, acts);
            events += 2;
        }
        acts->count = 0;
    }
    return events;
}

static uint64_t
bench_pool(struct se_acts *acts, uint64_t rounds)
{
    enum { N = 64 };
    static struct se_pool pool;
    static struct se_pool_cfg cfg = {.workers = N};
    se__pool_init(&pool, &cfg, 0);
    struct se_pool_in in = {.kind = SE_POOL_IN_START};
    se__pool_step(&pool, &in, 0, acts);
    for (uint32_t i = 0; i < N; i++) {
        in = (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = i};
        se__pool_step(&pool, &in, 0, acts);
    }
    acts->count = 0;
    uint64_t events = 0;
    int64_t t = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        uint32_t slot = (uint32_t)(r % N);
        t += 1;
        in = (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = slot, .code = 1};
        se__pool_step(&pool, &in, t, acts);
        in = (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = slot};
        se__pool_step(&pool, &in, t, acts);
        in = (struct se_pool_in){.kind = SE_POOL_IN_TICK};
        se__pool_step(&pool, &in, t, acts);
        events += 3;
        acts->count = 0;
    }
    return events;
}

struct run {
    const char *name;
    uint64_t (*fn)(struct se_acts *, uint64_t);
    uint64_t rounds;
};

int
main(void)
{
    static struct se_act items[ACTS_CAP];
    struct se_acts acts = {.count = 0, .cap = ACTS_CAP, .items = items};
    const struct run runs[] = {
        {"kill escalation", bench_kill, 400000},
        {"heartbeat (64 children)", bench_heartbeat, 200000},
        {"worker pool (64 workers)", bench_pool, 2000000},
    };
    uint64_t total = 0;
    double total_s = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        double t0 = now_s();
        uint64_t ev = runs[i].fn(&acts, runs[i].rounds);
        double dt = now_s() - t0;
        total += ev;
        total_s += dt;
        printf("bench_sm: %-26s %10llu events in %.3f s: %6.1f M events/s, %5.1f ns/event\n",
               runs[i].name, (unsigned long long)ev, dt, (double)ev / dt / 1e6,
               dt * 1e9 / (double)ev);
    }
    printf("bench_sm: all machines %.1f M events/s (target >= 5 M)\n",
           (double)total / total_s / 1e6);
    return 0;
}
