/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker pool, as tables of timed inputs and expected actions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_workers.h"
#include "support/act_fmt.h"

#define NEVER SE_INT64_NEVER
#define HALF  0x80000000u

enum {
    TICK,
    START,
    SPAWNED,
    FAILED,
    EXITED,
    KILLED,
    LOST,
    EOFHB,
    STOP,
    STOPNOW,
    RESTART,
    RESTARTNOW,
    CONFIG
};

struct row {
    int64_t at_ms;
    int op;
    uint32_t slot;
    int32_t arg; /* exit code, signal, -errno, new worker count for CONFIG */
    uint32_t rand;
    const char *expect; /* actions, logs left out */
    int64_t deadline_ms;
};

struct fixture {
    struct se_pool_cfg cfg;
    struct se_pool pool;
    struct se_act items[256];
    struct se_acts acts;
};

static struct se_pool_in
row_input(struct fixture *f, const struct row *r)
{
    struct se_pool_in in = {.slot = r->slot, .rand = r->rand};
    switch (r->op) {
    case TICK: in.kind = SE_POOL_IN_TICK; break;
    case START: in.kind = SE_POOL_IN_START; break;
    case SPAWNED: in.kind = SE_POOL_IN_SPAWNED; break;
    case FAILED: in.kind = SE_POOL_IN_SPAWN_FAILED, in.err = r->arg; break;
    case EXITED: in.kind = SE_POOL_IN_EXITED, in.code = r->arg; break;
    case KILLED:
        in.kind = SE_POOL_IN_EXITED, in.code = -1, in.sig = (enum se_sig)r->arg;
        in.sig_ours = true;
        break;
    case LOST: in.kind = SE_POOL_IN_LOST, in.age_ms = r->arg; break;
    case EOFHB: in.kind = SE_POOL_IN_HB_EOF; break;
    case STOP: in.kind = SE_POOL_IN_STOP, in.graceful = true; break;
    case STOPNOW: in.kind = SE_POOL_IN_STOP, in.graceful = false; break;
    case RESTART: in.kind = SE_POOL_IN_RESTART, in.graceful = true; break;
    case RESTARTNOW: in.kind = SE_POOL_IN_RESTART, in.graceful = false; break;
    case CONFIG:
        in.kind = SE_POOL_IN_CONFIG;
        f->cfg.workers = (uint32_t)r->arg;
        break;
    default: fail();
    }
    return in;
}

static void
run_rows(struct fixture *f, const struct row *rows, size_t n)
{
    char got[1024];
    for (size_t i = 0; i < n; i++) {
        struct se_pool_in in = row_input(f, &rows[i]);
        f->acts.count = 0;
        se__pool_step(&f->pool, &in, rows[i].at_ms, &f->acts);
        se_test_acts_str_nolog(&f->acts, 0, got, sizeof got);
        int64_t dl = se__pool_deadline_ms(&f->pool);
        if (strcmp(got, rows[i].expect) != 0 || dl != rows[i].deadline_ms) {
            print_error("row %zu at %lld: got \"%s\" deadline %lld, want \"%s\" deadline %lld\n", i,
                        (long long)rows[i].at_ms, got, (long long)dl, rows[i].expect,
                        (long long)rows[i].deadline_ms);
            fail();
        }
    }
}

static struct fixture *
fixture_new(uint32_t workers)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->cfg.workers = workers;
    f->cfg.start_worker_delay_rand_permille = 200;
    f->acts = (struct se_acts){.count = 0, .cap = SE_ARRAY_LEN(f->items), .items = f->items};
    se__pool_init(&f->pool, &f->cfg, 0);
    return f;
}

static void
set_unrecoverable(struct fixture *f, int code)
{
    f->cfg.unrecoverable[code / 8] |= (uint8_t)(1u << (code % 8));
}

/* Runs rows against a pool of `workers` with the configuration set by `tweak`. */
#define RUN(workers, tweak, ...)                                                                   \
    do {                                                                                           \
        struct fixture *f = fixture_new(workers);                                                  \
        tweak;                                                                                     \
        static const struct row rows[] = {__VA_ARGS__};                                            \
        run_rows(f, rows, SE_ARRAY_LEN(rows));                                                     \
        free(f);                                                                                   \
    } while (0)

static void
test_pool_starts_all_workers_at_once_without_delay(void **state)
{
    (void)state;
    RUN(3, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1; spawn 2", NEVER},
        {1, SPAWNED, 0, 0, 0, "", NEVER}, {1, SPAWNED, 1, 0, 0, "", NEVER},
        {1, SPAWNED, 2, 0, 0, "", NEVER});
}

static void
test_pool_restarts_dead_worker_after_restart_interval(void **state)
{
    (void)state;
    RUN(1, (f->cfg.restart_worker_interval_ms = 5000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {10000, EXITED, 0, 1, 0, "", 15000},
        {14999, TICK, 0, 0, 0, "", 15000}, {15000, TICK, 0, 0, 0, "spawn 0", NEVER});
}

/* delay 2000, rand 0.2: 2000 - 200 + rand * 400 / 2^32 */
static void
test_pool_spaces_starts_by_delay_with_the_random_draw(void **state)
{
    (void)state;
    RUN(3, (f->cfg.start_worker_delay_ms = 2000), {0, START, 0, 0, HALF, "spawn 0", 2000},
        {0, SPAWNED, 0, 0, 0, "", 2000}, {1999, TICK, 0, 0, 0, "", 2000},
        {2000, TICK, 0, 0, 0, "spawn 1", 3800}, {2000, SPAWNED, 1, 0, 0, "", 3800},
        {3800, TICK, 0, 0, 0xffffffffu, "spawn 2", NEVER}, {3800, SPAWNED, 2, 0, 0, "", NEVER},
        /* a restart is spaced from the last start: 3800 + 2199 */
        {4000, EXITED, 1, 1, 0, "", 5999}, {5999, TICK, 0, 0, 0, "spawn 1", NEVER});
}

static void
test_pool_scale_down_stops_highest_ids_first_and_does_not_restart_them(void **state)
{
    (void)state;
    RUN(4, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1; spawn 2; spawn 3", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {0, SPAWNED, 2, 0, 0, "", NEVER}, {0, SPAWNED, 3, 0, 0, "", NEVER},
        {100, CONFIG, 0, 2, 0, "stop 3 graceful; stop 2 graceful", NEVER},
        {200, EXITED, 3, 0, 0, "", NEVER}, {300, EXITED, 2, 0, 0, "", NEVER},
        /* scale up again: both come back */
        {400, CONFIG, 0, 4, 0, "spawn 2; spawn 3", NEVER});
}

static void
test_pool_scale_up_starts_new_workers(void **state)
{
    (void)state;
    RUN(1, (void)0, {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {50, CONFIG, 0, 3, 0, "spawn 1; spawn 2", NEVER});
}

static void
test_pool_unrecoverable_codes_exit_with_the_last_one(void **state)
{
    (void)state;
    RUN(2, (set_unrecoverable(f, 3), set_unrecoverable(f, 4)),
        {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {0, SPAWNED, 1, 0, 0, "", NEVER}, {10, EXITED, 0, 3, 0, "", NEVER},
        /* worker 1 still runs: the server goes on */
        {20, TICK, 0, 0, 0, "", NEVER}, {30, EXITED, 1, 4, 0, "exit 4", NEVER},
        {40, TICK, 0, 0, 0, "", NEVER});
}

static void
test_pool_stop_immediately_at_unrecoverable_exit_keeps_the_first_code(void **state)
{
    (void)state;
    RUN(2,
        (set_unrecoverable(f, 3), set_unrecoverable(f, 4),
         f->cfg.stop_immediately_at_unrecoverable_exit = true),
        {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {0, SPAWNED, 1, 0, 0, "", NEVER}, {10, EXITED, 0, 3, 0, "stop 1 graceful", NEVER},
        {30, EXITED, 1, 4, 0, "exit 3", NEVER});
}

static void
test_pool_graceful_stop_exits_zero_when_all_are_gone(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {5, STOP, 0, 0, 0, "stop 0 graceful; stop 1 graceful", NEVER},
        {6, EXITED, 0, 0, 0, "", NEVER}, {7, STOP, 0, 0, 0, "", NEVER},
        {8, EXITED, 1, 0, 0, "exit 0", NEVER}, {9, STOP, 0, 0, 0, "", NEVER});
}

static void
test_pool_immediate_stop_upgrades_a_graceful_one(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {5, STOP, 0, 0, 0, "stop 0 graceful; stop 1 graceful", NEVER},
        {6, STOPNOW, 0, 0, 0, "stop 0 immediate; stop 1 immediate", NEVER},
        {7, STOP, 0, 0, 0, "", NEVER}, {8, KILLED, 0, SE_SIG_QUIT, 0, "", NEVER},
        {9, KILLED, 1, SE_SIG_QUIT, 0, "exit 0", NEVER});
}

static void
test_pool_never_restarts_a_worker_during_a_stop(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {5, STOP, 0, 0, 0, "stop 0 graceful; stop 1 graceful", NEVER},
        /* a crash while stopping is not restarted */
        {6, KILLED, 0, SE_SIG_SEGV, 0, "", NEVER}, {7, TICK, 0, 0, 0, "", NEVER},
        {9, EXITED, 1, 1, 0, "exit 0", NEVER});
}

static void
test_pool_graceful_restart_replaces_each_worker_as_it_exits(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {5, RESTART, 0, 0, 0, "stop 0 graceful; stop 1 graceful", NEVER},
        {6, EXITED, 1, 0, 0, "spawn 1", NEVER}, {6, SPAWNED, 1, 0, 0, "", NEVER},
        {7, EXITED, 0, 0, 0, "spawn 0", NEVER},
        /* an immediate restart of the new ones */
        {8, SPAWNED, 0, 0, 0, "", NEVER},
        {9, RESTARTNOW, 0, 0, 0, "stop 0 immediate; stop 1 immediate", NEVER});
}

static void
test_pool_crash_loop_backs_off_doubling_to_the_ceiling(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER},
        /* 1st crash: restarted at once */
        {50, EXITED, 0, 1, 0, "spawn 0", NEVER}, {50, SPAWNED, 0, 0, 0, "", NEVER},
        /* 2nd: 0.2 s, 3rd: 0.4 s ... doubling from 0.1 s */
        {100, EXITED, 0, 1, 0, "", 300}, {300, TICK, 0, 0, 0, "spawn 0", NEVER},
        {300, SPAWNED, 0, 0, 0, "", NEVER}, {310, EXITED, 0, 1, 0, "", 710},
        {710, TICK, 0, 0, 0, "spawn 0", NEVER}, {710, SPAWNED, 0, 0, 0, "", NEVER},
        {720, EXITED, 0, 1, 0, "", 1520}, {1520, TICK, 0, 0, 0, "spawn 0", NEVER},
        {1520, SPAWNED, 0, 0, 0, "", NEVER}, {1530, EXITED, 0, 1, 0, "", 3130},
        {3130, TICK, 0, 0, 0, "spawn 0", NEVER}, {3130, SPAWNED, 0, 0, 0, "", NEVER},
        {3140, EXITED, 0, 1, 0, "", 6340}, {6340, TICK, 0, 0, 0, "spawn 0", NEVER},
        {6340, SPAWNED, 0, 0, 0, "", NEVER}, {6350, EXITED, 0, 1, 0, "", 12750},
        {12750, TICK, 0, 0, 0, "spawn 0", NEVER}, {12750, SPAWNED, 0, 0, 0, "", NEVER},
        /* capped at 10 s */
        {12760, EXITED, 0, 1, 0, "", 22760}, {22760, TICK, 0, 0, 0, "spawn 0", NEVER},
        {22760, SPAWNED, 0, 0, 0, "", NEVER}, {22770, EXITED, 0, 1, 0, "", 32770},
        {32770, TICK, 0, 0, 0, "spawn 0", NEVER}, {32770, SPAWNED, 0, 0, 0, "", NEVER},
        /* ran for a second: the count starts afresh, restarted at once */
        {33770, EXITED, 0, 1, 0, "spawn 0", NEVER});
}

/* A worker that was up for SE_POOL_SETTLED_MS is replaced at once however it
 * ended and however often it ended before: killed every 1.1 s by an OOM
 * killer, it never waits. Only shorter runs are turns of a crash loop. */
static void
test_pool_a_worker_up_for_a_second_is_replaced_at_once_every_time(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER},
        /* killed by a signal we did not send after 1.1 s, again and again */
        {1100, EXITED, 0, 137, 0, "spawn 0", NEVER}, {1100, SPAWNED, 0, 0, 0, "", NEVER},
        {2200, EXITED, 0, 137, 0, "spawn 0", NEVER}, {2200, SPAWNED, 0, 0, 0, "", NEVER},
        {3300, EXITED, 0, 137, 0, "spawn 0", NEVER}, {3300, SPAWNED, 0, 0, 0, "", NEVER},
        {4400, EXITED, 0, 137, 0, "spawn 0", NEVER}, {4400, SPAWNED, 0, 0, 0, "", NEVER},
        /* exactly one second up is enough */
        {5400, EXITED, 0, 1, 0, "spawn 0", NEVER}, {5400, SPAWNED, 0, 0, 0, "", NEVER},
        /* 999 ms is not: the second quick end in a row waits 0.2 s */
        {6399, EXITED, 0, 1, 0, "spawn 0", NEVER}, {6399, SPAWNED, 0, 0, 0, "", NEVER},
        {6400, EXITED, 0, 1, 0, "", 6600}, {6600, TICK, 0, 0, 0, "spawn 0", NEVER},
        {6600, SPAWNED, 0, 0, 0, "", NEVER},
        /* and a settled run after the loop starts the count afresh */
        {7600, EXITED, 0, 1, 0, "spawn 0", NEVER});
}

/* The same after a heartbeat kill: the stalled worker had been up for long. */
static void
test_pool_heartbeat_kills_in_a_row_are_replaced_at_once(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {3000, LOST, 0, 1000, 0, "stop 0 immediate", NEVER},
        {3001, KILLED, 0, SE_SIG_QUIT, 0, "spawn 0", NEVER}, {3001, SPAWNED, 0, 0, 0, "", NEVER},
        {6000, LOST, 0, 1000, 0, "stop 0 immediate", NEVER},
        {6001, KILLED, 0, SE_SIG_KILL, 0, "spawn 0", NEVER}, {6001, SPAWNED, 0, 0, 0, "", NEVER},
        {9000, LOST, 0, 1000, 0, "stop 0 immediate", NEVER},
        {9001, KILLED, 0, SE_SIG_QUIT, 0, "spawn 0", NEVER});
}

/* With restart_worker_interval set, a settled worker waits that interval and
 * no more, every time. */
static void
test_pool_a_settled_worker_waits_only_the_restart_interval(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000, f->cfg.restart_worker_interval_ms = 500),
        {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {2000, EXITED, 0, 1, 0, "", 2500}, {2500, TICK, 0, 0, 0, "spawn 0", NEVER},
        {2500, SPAWNED, 0, 0, 0, "", NEVER}, {3500, EXITED, 0, 1, 0, "", 4000},
        {4000, TICK, 0, 0, 0, "spawn 0", NEVER}, {4000, SPAWNED, 0, 0, 0, "", NEVER},
        {5000, EXITED, 0, 1, 0, "", 5500});
}

static void
test_pool_backoff_doubles_from_restart_interval(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000, f->cfg.restart_worker_interval_ms = 1000),
        {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {10, EXITED, 0, 1, 0, "", 1010}, {1010, TICK, 0, 0, 0, "spawn 0", NEVER},
        {1010, SPAWNED, 0, 0, 0, "", NEVER}, {1020, EXITED, 0, 1, 0, "", 3020},
        {3020, TICK, 0, 0, 0, "spawn 0", NEVER}, {3020, SPAWNED, 0, 0, 0, "", NEVER},
        {3030, EXITED, 0, 1, 0, "", 7030});
}

static void
test_pool_backoff_off_restarts_at_the_interval_forever(void **state)
{
    (void)state;
    RUN(1, (f->cfg.restart_worker_interval_ms = 0), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {1, EXITED, 0, 1, 0, "spawn 0", NEVER},
        {1, SPAWNED, 0, 0, 0, "", NEVER}, {2, EXITED, 0, 1, 0, "spawn 0", NEVER},
        {2, SPAWNED, 0, 0, 0, "", NEVER}, {3, EXITED, 0, 1, 0, "spawn 0", NEVER});
}

static void
test_pool_failed_spawn_is_retried_at_a_deadline(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, FAILED, 0, -EAGAIN, 0, "", 100}, {99, TICK, 0, 0, 0, "", 100},
        {100, TICK, 0, 0, 0, "spawn 0", NEVER}, {100, FAILED, 0, -EAGAIN, 0, "", 300},
        {300, TICK, 0, 0, 0, "spawn 0", NEVER}, {300, SPAWNED, 0, 0, 0, "", NEVER});
}

static void
test_pool_heartbeat_loss_stops_immediately_and_restarts(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {5000, LOST, 0, 1000, 0, "stop 0 immediate", NEVER},
        {5001, LOST, 0, 1001, 0, "", NEVER}, {5002, KILLED, 0, SE_SIG_QUIT, 0, "spawn 0", NEVER});
}

static void
test_pool_heartbeat_loss_escalates_a_graceful_stop(void **state)
{
    (void)state;
    RUN(1, (void)0, {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {10, STOP, 0, 0, 0, "stop 0 graceful", NEVER},
        {5000, LOST, 0, 1000, 0, "stop 0 immediate", NEVER},
        {5002, KILLED, 0, SE_SIG_QUIT, 0, "exit 0", NEVER});
}

static void
test_pool_heartbeat_eof_stops_immediately(void **state)
{
    (void)state;
    RUN(1, (void)0, {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {10, EOFHB, 0, 0, 0, "stop 0 immediate", NEVER});
}

static void
test_pool_stop_while_starting_is_not_lost(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER}, {0, STOP, 0, 0, 0, "", NEVER},
        {0, SPAWNED, 0, 0, 0, "stop 0 graceful", NEVER}, {0, FAILED, 1, -EAGAIN, 0, "", NEVER},
        {10, EXITED, 0, 0, 0, "exit 0", NEVER});
}

static void
test_pool_stop_before_start_exits_at_once(void **state)
{
    (void)state;
    RUN(2, (void)0, {0, STOP, 0, 0, 0, "exit 0", NEVER}, {1, START, 0, 0, 0, "", NEVER},
        /* done: nothing more, not even a second exit */
        {2, STOP, 0, 0, 0, "", NEVER}, {3, STOPNOW, 0, 0, 0, "", NEVER},
        {4, RESTARTNOW, 0, 0, 0, "", NEVER}, {5, TICK, 0, 0, 0, "", NEVER});
}

static void
test_pool_zero_workers_idles_without_exiting(void **state)
{
    (void)state;
    RUN(0, (void)0, {0, START, 0, 0, 0, "", NEVER}, {1000, TICK, 0, 0, 0, "", NEVER},
        {2000, CONFIG, 0, 1, 0, "spawn 0", NEVER});
}

static void
test_pool_restart_request_cuts_a_backoff_wait(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000, f->cfg.restart_worker_interval_ms = 5000),
        {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {10, EXITED, 0, 1, 0, "", 5010}, {20, RESTART, 0, 0, 0, "spawn 0", NEVER});
}

/* The cut resets the crash count: the next quick end is a first one again.
 * A restart that comes as the wait ends cuts nothing: the count goes on. */
static void
test_pool_restart_cutting_a_backoff_wait_starts_the_count_afresh(void **state)
{
    (void)state;
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {50, EXITED, 0, 1, 0, "spawn 0", NEVER},
        {50, SPAWNED, 0, 0, 0, "", NEVER}, {100, EXITED, 0, 1, 0, "", 300},
        {200, RESTART, 0, 0, 0, "spawn 0", NEVER}, {200, SPAWNED, 0, 0, 0, "", NEVER},
        {210, EXITED, 0, 1, 0, "spawn 0", NEVER});
    RUN(1, (f->cfg.backoff_max_ms = 10000), {0, START, 0, 0, 0, "spawn 0", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {50, EXITED, 0, 1, 0, "spawn 0", NEVER},
        {50, SPAWNED, 0, 0, 0, "", NEVER}, {100, EXITED, 0, 1, 0, "", 300},
        {300, RESTART, 0, 0, 0, "spawn 0", NEVER}, {300, SPAWNED, 0, 0, 0, "", NEVER},
        {310, EXITED, 0, 1, 0, "", 710});
}

static void
test_pool_scale_down_forgets_a_dead_slot(void **state)
{
    (void)state;
    RUN(2, (set_unrecoverable(f, 9)), {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {10, EXITED, 1, 9, 0, "", NEVER}, {20, CONFIG, 0, 1, 0, "", NEVER},
        /* slot 1 is no longer dead: scaling up starts it */
        {30, CONFIG, 0, 2, 0, "spawn 1", NEVER});
}

/* A crash-looping slot scaled away and back starts its crash count afresh:
 * its next quick end waits the interval, not the loop's doubled delay. */
static void
test_pool_scale_down_forgets_a_crash_loop(void **state)
{
    (void)state;
    RUN(2, (f->cfg.restart_worker_interval_ms = 100, f->cfg.backoff_max_ms = 10000),
        {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {0, SPAWNED, 1, 0, 0, "", NEVER}, {10, EXITED, 1, 1, 0, "", 110},
        {110, TICK, 0, 0, 0, "spawn 1", NEVER}, {110, SPAWNED, 1, 0, 0, "", NEVER},
        {120, EXITED, 1, 1, 0, "", 320}, {130, CONFIG, 0, 1, 0, "", NEVER},
        {140, CONFIG, 0, 2, 0, "", 320}, {320, TICK, 0, 0, 0, "spawn 1", NEVER},
        {320, SPAWNED, 1, 0, 0, "", NEVER},
        /* the first end of a new count: the interval alone */
        {330, EXITED, 1, 1, 0, "", 430});
}

/* A restart the operator asked for is no crash, however short the run: the
 * replacement starts restart_worker_interval after the end, every time. */
static void
test_pool_asked_restarts_of_short_runs_are_no_crash_loop(void **state)
{
    (void)state;
    RUN(1, (f->cfg.restart_worker_interval_ms = 100, f->cfg.backoff_max_ms = 10000),
        {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {50, RESTART, 0, 0, 0, "stop 0 graceful", NEVER}, {60, EXITED, 0, 0, 0, "", 160},
        {160, TICK, 0, 0, 0, "spawn 0", NEVER}, {160, SPAWNED, 0, 0, 0, "", NEVER},
        {170, RESTART, 0, 0, 0, "stop 0 graceful", NEVER}, {180, EXITED, 0, 0, 0, "", 280});
}

static void
test_pool_restart_delay_formula(void **state)
{
    (void)state;
    struct se_pool_cfg cfg = {.backoff_max_ms = 10000};
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 1), 0);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 2), 200);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 8), 10000);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 1000), 10000);
    cfg.restart_worker_interval_ms = 3000;
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 1), 3000);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 2), 6000);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 3), 10000);
    cfg.backoff_max_ms = 0;
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 50), 3000);
}

/* The log lines of serverengine(3), LOG come from these events. */
static void
test_pool_logs_finished_exited_and_unexpected(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2);
    char got[1024];
    struct se_pool_in in = {.kind = SE_POOL_IN_START};
    se__pool_step(&f->pool, &in, 0, &f->acts);
    in = (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = 0};
    se__pool_step(&f->pool, &in, 0, &f->acts);
    in.slot = 1;
    se__pool_step(&f->pool, &in, 0, &f->acts);
    f->acts.count = 0;
    in = (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 0};
    se__pool_step(&f->pool, &in, 1, &f->acts);
    in = (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 1, .code = 5};
    se__pool_step(&f->pool, &in, 2, &f->acts);
    se_test_acts_str(&f->acts, 0, got, sizeof got);
    assert_string_equal(got, "log worker-exited 0; spawn 0; log worker-exited-unexpectedly 1; "
                             "spawn 1");
    in = (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = 1};
    se__pool_step(&f->pool, &in, 2, &f->acts);
    in.slot = 0;
    se__pool_step(&f->pool, &in, 2, &f->acts);
    f->acts.count = 0;
    /* SIGKILL the engine never sent: flagged */
    in = (struct se_pool_in){
        .kind = SE_POOL_IN_EXITED, .slot = 1, .code = -1, .sig = SE_SIG_KILL, .sig_ours = false};
    se__pool_step(&f->pool, &in, 3, &f->acts);
    assert_int_equal(f->acts.items[0].event, SE_EVT_WORKER_EXITED_UNEXPECTEDLY);
    assert_int_equal(f->acts.items[0].sig, SE_SIG_KILL);
    assert_true(f->acts.items[0].outside);
    f->acts.count = 0;
    in = (struct se_pool_in){.kind = SE_POOL_IN_STOP, .graceful = true};
    se__pool_step(&f->pool, &in, 4, &f->acts);
    in = (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 0};
    se__pool_step(&f->pool, &in, 5, &f->acts);
    se_test_acts_str(&f->acts, 0, got, sizeof got);
    assert_non_null(strstr(got, "log worker-finished 0"));
    free(f);
}

/* Steps one input and returns the actions, logs included. */
static const char *
step_logs(struct fixture *f, struct se_pool_in in, int64_t at_ms, char *got, size_t size)
{
    f->acts.count = 0;
    se__pool_step(&f->pool, &in, at_ms, &f->acts);
    se_test_acts_str(&f->acts, 0, got, size);
    return got;
}

/* Starts f's pool at 0 and tells it slots [0, spawned) are up. */
static void
start_pool(struct fixture *f, uint32_t spawned)
{
    char got[1024];
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_START}, 0, got, sizeof got);
    for (uint32_t i = 0; i < spawned; i++)
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = i}, 0, got,
                  sizeof got);
}

/* A slot is wanted only while the pool runs: a crash or a failed spawn
 * during a stop schedules no restart (no "restart in" log, no retry time). */
static void
test_pool_nothing_is_scheduled_for_a_slot_while_the_pool_stops(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2);
    f->cfg.restart_worker_interval_ms = 5000;
    char got[1024];
    start_pool(f, 1);
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_STOP, .graceful = true}, 5, got,
              sizeof got);
    /* slot 0 crashes while stopping; slot 1 was still starting and fails */
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 1}, 6, got,
                  sizeof got),
        "log worker-finished 0");
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_SPAWN_FAILED, .slot = 1, .err = -EAGAIN}, 7,
              got, sizeof got);
    assert_int_equal(f->acts.items[0].event, SE_EVT_WORKER_SPAWN_FAILED);
    assert_int_equal(f->acts.items[0].ms, -1); /* no retry: the pool stops */
    assert_int_equal(se__pool_deadline_ms(&f->pool), NEVER);
    free(f);
}

/* A slot above `workers` after a scale down is not wanted: its exit (even a
 * crash) schedules no restart. */
static void
test_pool_slot_above_workers_is_not_scheduled_after_a_scale_down(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2);
    f->cfg.restart_worker_interval_ms = 5000;
    char got[1024];
    start_pool(f, 2);
    f->cfg.workers = 1;
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_CONFIG}, 5, got, sizeof got);
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 1, .code = 3}, 6, got,
                  sizeof got),
        "log worker-finished 1");
    assert_int_equal(se__pool_deadline_ms(&f->pool), NEVER);
    free(f);
}

/* A restart delay of 1 ms is a delay, and logged as one (a crash after a
 * short run with restart_worker_interval at 1 ms). */
static void
test_pool_a_one_ms_restart_delay_is_logged(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(1);
    f->cfg.restart_worker_interval_ms = 1;
    char got[1024];
    start_pool(f, 1);
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 1}, 10, got,
              sizeof got);
    assert_non_null(strstr(got, "log worker-restart-delayed 0"));
    bool found = false;
    for (uint32_t i = 0; i < f->acts.count; i++) {
        if (f->acts.items[i].event != SE_EVT_WORKER_RESTART_DELAYED) continue;
        assert_int_equal(f->acts.items[i].ms, 1);
        found = true;
    }
    assert_true(found);
    assert_int_equal(se__pool_deadline_ms(&f->pool), 11);
    free(f);
}

/* slots_count is one past the highest slot ever started, exactly: the
 * loops over the slots and the status snapshot read no slot beyond it. */
static void
test_pool_slots_count_is_one_past_the_highest_started_slot(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(3);
    char got[1024];
    assert_int_equal(f->pool.slots_count, 0);
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_START}, 0, got, sizeof got);
    assert_int_equal(f->pool.slots_count, 3);
    f->cfg.workers = 5;
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_CONFIG}, 1, got, sizeof got);
    assert_int_equal(f->pool.slots_count, 5);
    f->cfg.workers = 2; /* a scale down keeps the count: slots 2-4 are stopping */
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_CONFIG}, 2, got, sizeof got);
    assert_int_equal(f->pool.slots_count, 5);
    free(f);
}

/* A start spacing of 1 ms is a spacing: with the largest draw it rounds to
 * 1 ms, so the second worker starts 1 ms after the first. */
static void
test_pool_one_ms_start_delay_still_spaces_starts(void **state)
{
    (void)state;
    RUN(2, (f->cfg.start_worker_delay_ms = 1), {0, START, 0, 0, 0xffffffffu, "spawn 0", 1},
        {0, SPAWNED, 0, 0, 0, "", 1}, {1, TICK, 0, 0, 0, "spawn 1", NEVER});
}

/* Spacing switched off by a reload: a restart is due at its own time, not
 * at the next-start time the old spacing had set. */
static void
test_pool_next_start_time_counts_only_while_starts_are_spaced(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(1);
    f->cfg.start_worker_delay_ms = 2000;
    f->cfg.restart_worker_interval_ms = 100;
    char got[1024];
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_START, .rand = HALF}, 0, got, sizeof got);
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = 0}, 0, got, sizeof got);
    f->cfg.start_worker_delay_ms = 0; /* the reload */
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_CONFIG}, 5, got, sizeof got);
    step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 1}, 10, got,
              sizeof got);
    assert_int_equal(se__pool_deadline_ms(&f->pool), 110);
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_TICK}, 110, got, sizeof got),
        "spawn 0");
    free(f);
}

/* init makes the whole state: over a struct full of garbage the pool starts
 * as over a zeroed one, and logs no scaling (it starts at `workers`). */
static void
test_pool_init_over_garbage_starts_clean(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2);
    memset(&f->pool, 0xa5, sizeof f->pool);
    se__pool_init(&f->pool, &f->cfg, 0);
    char got[1024];
    assert_int_equal(se__pool_alive(&f->pool), 0);
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_START}, 0, got, sizeof got),
        "spawn 0; spawn 1");
    free(f);
}

/* A backoff ceiling of 1 ms is a ceiling, not "no backoff": the second
 * crash in a row waits min(0.1 s, 1 ms). */
static void
test_pool_one_ms_backoff_ceiling_applies(void **state)
{
    (void)state;
    struct se_pool_cfg cfg = {.restart_worker_interval_ms = 0, .backoff_max_ms = 1};
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 1), 0);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 2), 1);
}

/* Each code of unrecoverable_exit_codes is itself, at the edges of the
 * bitmap and of its bytes (0, 15, 17, 255), and no neighbour is. */
static void
test_pool_unrecoverable_code_bitmap_edges(void **state)
{
    (void)state;
    static const int codes[] = {0, 15, 17, 255};
    for (size_t i = 0; i < SE_ARRAY_LEN(codes); i++) {
        for (int other = codes[i] - 1; other <= codes[i] + 1; other++) {
            if (other < 0 || other > 255) continue;
            struct fixture *f = fixture_new(1);
            set_unrecoverable(f, codes[i]);
            char got[1024];
            step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_START}, 0, got, sizeof got);
            step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_SPAWNED}, 0, got, sizeof got);
            struct se_pool_in ex = {.kind = SE_POOL_IN_EXITED, .code = other};
            step_logs(f, ex, 10, got, sizeof got);
            bool ends = strstr(got, "log workers-done") != NULL;
            if (ends != (other == codes[i]))
                fail_msg("code %d with %d set: %s", other, codes[i], got);
            free(f);
        }
    }
}

/* Backoff doubles from an interval of 1 ms (only 0 means "from 0.1 s"). */
static void
test_pool_backoff_doubles_from_a_one_ms_interval(void **state)
{
    (void)state;
    struct se_pool_cfg cfg = {.restart_worker_interval_ms = 1, .backoff_max_ms = 1000};
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 2), 2);
    assert_int_equal(se__pool_restart_delay_ms(&cfg, 3), 4);
}

/* ---- rolling restart (restart_mode: rolling) -------------------------------- */

#define UP3                                                                                        \
    {0, START, 0, 0, 0, "spawn 0; spawn 1; spawn 2", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},     \
        {0, SPAWNED, 1, 0, 0, "", NEVER},                                                          \
    {                                                                                              \
        0, SPAWNED, 2, 0, 0, "", NEVER                                                             \
    }

/* One worker at a time, the next only once the new one runs: never fewer
 * than N - 1 up. Each step is taken on the tick the driver gives after the
 * events of its wake-up (the deadline says one is due). */
static void
test_pool_rolling_restart_replaces_one_worker_at_a_time(void **state)
{
    (void)state;
    RUN(3, (f->cfg.rolling_restart = true), UP3, {100, RESTART, 0, 0, 0, "", 100},
        {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER}, {200, EXITED, 0, 0, 0, "spawn 0", NEVER},
        {250, TICK, 0, 0, 0, "", NEVER}, {300, SPAWNED, 0, 0, 0, "", 300},
        {300, TICK, 0, 0, 0, "stop 1 graceful", NEVER}, {400, EXITED, 1, 0, 0, "spawn 1", NEVER},
        {500, SPAWNED, 1, 0, 0, "", 500}, {500, TICK, 0, 0, 0, "stop 2 graceful", NEVER},
        {600, EXITED, 2, 0, 0, "spawn 2", NEVER}, {700, SPAWNED, 2, 0, 0, "", NEVER},
        {800, TICK, 0, 0, 0, "", NEVER});
}

/* Two exits reaped in one wake-up: the replaced worker's and a crash. The
 * roll's next step waits for the tick after both, so it sees the crash and
 * stops nobody until the crashed worker runs again (a step taken at the
 * first exit's spawn went below N - 1: simulator seed 175). */
static void
test_pool_rolling_restart_sees_every_exit_of_a_wake_up_before_its_next_step(void **state)
{
    (void)state;
    RUN(4, (f->cfg.rolling_restart = true),
        {0, START, 0, 0, 0, "spawn 0; spawn 1; spawn 2; spawn 3", NEVER},
        {0, SPAWNED, 0, 0, 0, "", NEVER}, {0, SPAWNED, 1, 0, 0, "", NEVER},
        {0, SPAWNED, 2, 0, 0, "", NEVER}, {0, SPAWNED, 3, 0, 0, "", NEVER},
        {100, RESTART, 0, 0, 0, "", 100}, {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER},
        /* one wake-up: 0 ends (replaced at once), then 2 crashes */
        {200, EXITED, 0, 0, 0, "spawn 0", NEVER}, {200, SPAWNED, 0, 0, 0, "", 200},
        {200, EXITED, 2, 1, 0, "spawn 2", NEVER}, {200, TICK, 0, 0, 0, "", NEVER},
        /* 2 runs again: now 1 is replaced */
        {300, SPAWNED, 2, 0, 0, "", 300}, {300, TICK, 0, 0, 0, "stop 1 graceful", NEVER});
}

/* A worker that ended with an unrecoverable code never comes back: the roll
 * goes on without it instead of waiting for it for ever. */
static void
test_pool_rolling_restart_goes_on_past_a_dead_worker(void **state)
{
    (void)state;
    RUN(3, (f->cfg.rolling_restart = true, set_unrecoverable(f, 9)), UP3,
        {100, RESTART, 0, 0, 0, "", 100}, {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER},
        {150, EXITED, 2, 9, 0, "", NEVER}, {200, EXITED, 0, 0, 0, "spawn 0", NEVER},
        {300, SPAWNED, 0, 0, 0, "", 300}, {300, TICK, 0, 0, 0, "stop 1 graceful", NEVER});
}

/* A worker that crashed during the roll is new already: it is not replaced
 * again, and the roll waits until it runs. */
static void
test_pool_rolling_restart_waits_for_a_crashed_worker_and_skips_it(void **state)
{
    (void)state;
    RUN(3, (f->cfg.rolling_restart = true), UP3, {100, RESTART, 0, 0, 0, "", 100},
        {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER}, {200, EXITED, 0, 0, 0, "spawn 0", NEVER},
        {210, EXITED, 2, 1, 0, "spawn 2", NEVER},
        {300, SPAWNED, 0, 0, 0, "", NEVER}, /* 2 is not up yet */
        {400, SPAWNED, 2, 0, 0, "", 400}, {400, TICK, 0, 0, 0, "stop 1 graceful", NEVER},
        {500, EXITED, 1, 0, 0, "spawn 1", NEVER}, {600, SPAWNED, 1, 0, 0, "", NEVER});
}

/* A stop ends the roll; an immediate restart (HUP) is never rolling. */
static void
test_pool_rolling_restart_ends_at_a_stop_and_hup_restarts_all(void **state)
{
    (void)state;
    RUN(3, (f->cfg.rolling_restart = true), UP3, {100, RESTART, 0, 0, 0, "", 100},
        {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER},
        {150, STOP, 0, 0, 0, "stop 1 graceful; stop 2 graceful", NEVER},
        {200, EXITED, 0, 0, 0, "", NEVER}, {210, EXITED, 1, 0, 0, "", NEVER},
        {220, EXITED, 2, 0, 0, "exit 0", NEVER});
    RUN(3, (f->cfg.rolling_restart = true), UP3,
        {100, RESTARTNOW, 0, 0, 0, "stop 0 immediate; stop 1 immediate; stop 2 immediate", NEVER});
}

/* A scale down during the roll: the surplus is stopped, not rolled. */
static void
test_pool_rolling_restart_forgets_workers_scaled_away(void **state)
{
    (void)state;
    RUN(3, (f->cfg.rolling_restart = true), UP3, {100, RESTART, 0, 0, 0, "", 100},
        {100, TICK, 0, 0, 0, "stop 0 graceful", NEVER},
        {150, CONFIG, 0, 2, 0, "stop 2 graceful", NEVER}, {200, EXITED, 2, 0, 0, "", NEVER},
        {210, EXITED, 0, 0, 0, "spawn 0", NEVER}, {300, SPAWNED, 0, 0, 0, "", 300},
        {300, TICK, 0, 0, 0, "stop 1 graceful", NEVER}, {400, EXITED, 1, 0, 0, "spawn 1", NEVER},
        {500, SPAWNED, 1, 0, 0, "", NEVER});
}

/* Spaced starts go one per step even when the draw rounds the spacing down
 * to 0 ms (1 ms with a low draw): the next one comes on the next tick. */
static void
test_pool_spaced_starts_go_one_per_step_when_the_draw_rounds_to_zero(void **state)
{
    (void)state;
    RUN(3, (f->cfg.start_worker_delay_ms = 1), {0, START, 0, 0, 0, "spawn 0", 0},
        {0, TICK, 0, 0, 0, "spawn 1", 0}, {0, TICK, 0, 0, 0, "spawn 2", NEVER});
}

/* A graceful stop after an immediate one changes nothing: a worker that was
 * still starting is stopped immediately when its start is known. */
static void
test_pool_graceful_stop_after_an_immediate_one_keeps_it_immediate(void **state)
{
    (void)state;
    RUN(1, (void)0, {0, START, 0, 0, 0, "spawn 0", NEVER}, {1, STOPNOW, 0, 0, 0, "", NEVER},
        {2, STOP, 0, 0, 0, "", NEVER}, {3, SPAWNED, 0, 0, 0, "stop 0 immediate", NEVER},
        {4, EXITED, 0, 0, 0, "exit 0", NEVER});
}

/* A restart asked while the pool stops is ignored: the stop is not made
 * harder, nothing is rescheduled. */
static void
test_pool_restart_during_a_stop_is_ignored(void **state)
{
    (void)state;
    RUN(1, (void)0, {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {1, STOP, 0, 0, 0, "stop 0 graceful", NEVER}, {2, RESTARTNOW, 0, 0, 0, "", NEVER},
        {3, RESTART, 0, 0, 0, "", NEVER}, {4, EXITED, 0, 0, 0, "exit 0", NEVER});
}

/* A crash after a deliberate restart is a crash: the reason of the earlier
 * stop does not make it one we asked for (the back-off counts it). */
static void
test_pool_a_crash_after_a_deliberate_restart_counts_as_a_crash(void **state)
{
    (void)state;
    RUN(1, (f->cfg.restart_worker_interval_ms = 1000, f->cfg.backoff_max_ms = 60000),
        {0, START, 0, 0, 0, "spawn 0", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {100, RESTART, 0, 0, 0, "stop 0 graceful", NEVER}, {200, EXITED, 0, 0, 0, "", 1200},
        {1200, TICK, 0, 0, 0, "spawn 0", NEVER}, {1200, SPAWNED, 0, 0, 0, "", NEVER},
        {1300, EXITED, 0, 1, 0, "", 2300}, {2300, TICK, 0, 0, 0, "spawn 0", NEVER},
        {2300, SPAWNED, 0, 0, 0, "", NEVER}, {2400, EXITED, 0, 1, 0, "", 4400});
}

/* A heartbeat loss or EOF told for a slot with no running worker (starting,
 * or down) does nothing. */
static void
test_pool_heartbeat_news_of_a_slot_without_a_worker_does_nothing(void **state)
{
    (void)state;
    RUN(2, (f->cfg.restart_worker_interval_ms = 1000),
        {0, START, 0, 0, 0, "spawn 0; spawn 1", NEVER}, {0, SPAWNED, 0, 0, 0, "", NEVER},
        {10, LOST, 1, 500, 0, "", NEVER}, {10, EOFHB, 1, 0, 0, "", NEVER},
        {20, EXITED, 0, 1, 0, "", 1020}, {30, LOST, 0, 500, 0, "", 1020},
        {30, EOFHB, 0, 0, 0, "", 1020});
}

/* Logs included: an unrecoverable end schedules no restart (no "restart in"
 * line), and a heartbeat loss of a worker already stopped immediately is
 * not reported again. */
static void
test_pool_logs_no_restart_for_an_unrecoverable_end_nor_a_loss_after_a_kill(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2);
    f->cfg.restart_worker_interval_ms = 5000;
    set_unrecoverable(f, 9);
    char got[1024];
    start_pool(f, 2);
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_EXITED, .slot = 0, .code = 9}, 10, got,
                  sizeof got),
        "log worker-exited-unexpectedly 0; log worker-unrecoverable 0");
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_STOP}, 20, got, sizeof got),
        "log worker-stop 1; stop 1 immediate");
    assert_string_equal(
        step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_LOST, .slot = 1, .age_ms = 900}, 30,
                  got, sizeof got),
        "");
    assert_string_equal(step_logs(f, (struct se_pool_in){.kind = SE_POOL_IN_HB_EOF, .slot = 1}, 30,
                                  got, sizeof got),
                        "");
    free(f);
}

/* At SE_WORKERS_MAX workers every slot is in use, and the pool's scans stay
 * within its table: a guard slot just past it, made to look like a running
 * worker, is never counted, stopped or rescheduled. */
static void
test_pool_at_the_workers_limit_scans_only_its_table(void **state)
{
    (void)state;
    struct guarded {
        struct se_pool pool;
        struct se_slot guard;
    };
    _Static_assert(offsetof(struct guarded, guard) == sizeof(struct se_pool),
                   "the guard lies right after the slot table");
    struct guarded *g = calloc(1, sizeof *g);
    struct se_act *items = calloc(4 * SE_WORKERS_MAX, sizeof *items);
    assert_non_null(g);
    assert_non_null(items);
    struct se_pool_cfg cfg = {.workers = SE_WORKERS_MAX, .restart_worker_interval_ms = 1000};
    struct se_acts acts = {.count = 0, .cap = 4 * SE_WORKERS_MAX, .items = items};
    se__pool_init(&g->pool, &cfg, 0);
    g->guard = (struct se_slot){.state = SE_SLOT_UP, .start_at_ms = INT64_C(1) << 40, .roll = true};
    const struct se_slot guard = g->guard;
    se__pool_step(&g->pool, &(struct se_pool_in){.kind = SE_POOL_IN_START}, 0, &acts);
    assert_int_equal(acts.count, SE_WORKERS_MAX);
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++)
        se__pool_step(&g->pool, &(struct se_pool_in){.kind = SE_POOL_IN_SPAWNED, .slot = i}, 0,
                      &acts);
    assert_int_equal(se__pool_alive(&g->pool), SE_WORKERS_MAX);
    /* each with the stops it makes: the immediate restart makes every stop
     * harder; the stops then find every worker already stopping immediately */
    const struct se_pool_in asks[] = {
        {.kind = SE_POOL_IN_RESTART, .graceful = true},
        {.kind = SE_POOL_IN_RESTART, .graceful = false},
        {.kind = SE_POOL_IN_STOP, .graceful = true},
        {.kind = SE_POOL_IN_STOP, .graceful = false},
    };
    const uint32_t stops_made[] = {SE_WORKERS_MAX, SE_WORKERS_MAX, 0, 0};
    for (size_t k = 0; k < SE_ARRAY_LEN(asks); k++) {
        acts.count = 0;
        se__pool_step(&g->pool, &asks[k], 10 + (int64_t)k, &acts);
        uint32_t stops = 0;
        for (uint32_t i = 0; i < acts.count; i++) {
            assert_true(acts.items[i].slot < SE_WORKERS_MAX);
            if (acts.items[i].kind == SE_ACT_STOP) stops++;
        }
        assert_int_equal(stops, stops_made[k]);
        assert_int_equal(se__pool_alive(&g->pool), SE_WORKERS_MAX);
        assert_memory_equal(&g->guard, &guard, sizeof guard);
    }
    free(items);
    free(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_starts_all_workers_at_once_without_delay),
        cmocka_unit_test(test_pool_restarts_dead_worker_after_restart_interval),
        cmocka_unit_test(test_pool_spaces_starts_by_delay_with_the_random_draw),
        cmocka_unit_test(test_pool_scale_down_stops_highest_ids_first_and_does_not_restart_them),
        cmocka_unit_test(test_pool_scale_up_starts_new_workers),
        cmocka_unit_test(test_pool_scale_down_forgets_a_crash_loop),
        cmocka_unit_test(test_pool_asked_restarts_of_short_runs_are_no_crash_loop),
        cmocka_unit_test(test_pool_unrecoverable_codes_exit_with_the_last_one),
        cmocka_unit_test(test_pool_stop_immediately_at_unrecoverable_exit_keeps_the_first_code),
        cmocka_unit_test(test_pool_graceful_stop_exits_zero_when_all_are_gone),
        cmocka_unit_test(test_pool_immediate_stop_upgrades_a_graceful_one),
        cmocka_unit_test(test_pool_never_restarts_a_worker_during_a_stop),
        cmocka_unit_test(test_pool_graceful_restart_replaces_each_worker_as_it_exits),
        cmocka_unit_test(test_pool_crash_loop_backs_off_doubling_to_the_ceiling),
        cmocka_unit_test(test_pool_a_worker_up_for_a_second_is_replaced_at_once_every_time),
        cmocka_unit_test(test_pool_heartbeat_kills_in_a_row_are_replaced_at_once),
        cmocka_unit_test(test_pool_a_settled_worker_waits_only_the_restart_interval),
        cmocka_unit_test(test_pool_backoff_doubles_from_restart_interval),
        cmocka_unit_test(test_pool_backoff_off_restarts_at_the_interval_forever),
        cmocka_unit_test(test_pool_failed_spawn_is_retried_at_a_deadline),
        cmocka_unit_test(test_pool_heartbeat_loss_stops_immediately_and_restarts),
        cmocka_unit_test(test_pool_heartbeat_loss_escalates_a_graceful_stop),
        cmocka_unit_test(test_pool_heartbeat_eof_stops_immediately),
        cmocka_unit_test(test_pool_stop_while_starting_is_not_lost),
        cmocka_unit_test(test_pool_stop_before_start_exits_at_once),
        cmocka_unit_test(test_pool_zero_workers_idles_without_exiting),
        cmocka_unit_test(test_pool_restart_request_cuts_a_backoff_wait),
        cmocka_unit_test(test_pool_rolling_restart_replaces_one_worker_at_a_time),
        cmocka_unit_test(
            test_pool_rolling_restart_sees_every_exit_of_a_wake_up_before_its_next_step),
        cmocka_unit_test(test_pool_rolling_restart_waits_for_a_crashed_worker_and_skips_it),
        cmocka_unit_test(test_pool_rolling_restart_goes_on_past_a_dead_worker),
        cmocka_unit_test(test_pool_rolling_restart_ends_at_a_stop_and_hup_restarts_all),
        cmocka_unit_test(test_pool_rolling_restart_forgets_workers_scaled_away),
        cmocka_unit_test(test_pool_restart_cutting_a_backoff_wait_starts_the_count_afresh),
        cmocka_unit_test(test_pool_scale_down_forgets_a_dead_slot),
        cmocka_unit_test(test_pool_restart_delay_formula),
        cmocka_unit_test(test_pool_logs_finished_exited_and_unexpected),
        cmocka_unit_test(test_pool_nothing_is_scheduled_for_a_slot_while_the_pool_stops),
        cmocka_unit_test(test_pool_one_ms_start_delay_still_spaces_starts),
        cmocka_unit_test(test_pool_a_one_ms_restart_delay_is_logged),
        cmocka_unit_test(test_pool_slots_count_is_one_past_the_highest_started_slot),
        cmocka_unit_test(test_pool_slot_above_workers_is_not_scheduled_after_a_scale_down),
        cmocka_unit_test(test_pool_next_start_time_counts_only_while_starts_are_spaced),
        cmocka_unit_test(test_pool_init_over_garbage_starts_clean),
        cmocka_unit_test(test_pool_one_ms_backoff_ceiling_applies),
        cmocka_unit_test(test_pool_unrecoverable_code_bitmap_edges),
        cmocka_unit_test(test_pool_backoff_doubles_from_a_one_ms_interval),
        cmocka_unit_test(test_pool_spaced_starts_go_one_per_step_when_the_draw_rounds_to_zero),
        cmocka_unit_test(test_pool_graceful_stop_after_an_immediate_one_keeps_it_immediate),
        cmocka_unit_test(test_pool_restart_during_a_stop_is_ignored),
        cmocka_unit_test(test_pool_a_crash_after_a_deliberate_restart_counts_as_a_crash),
        cmocka_unit_test(test_pool_heartbeat_news_of_a_slot_without_a_worker_does_nothing),
        cmocka_unit_test(
            test_pool_logs_no_restart_for_an_unrecoverable_end_nor_a_loss_after_a_kill),
        cmocka_unit_test(test_pool_at_the_workers_limit_scans_only_its_table),
    };
    return cmocka_run_group_tests_name("sm_workers", tests, NULL, NULL);
}
