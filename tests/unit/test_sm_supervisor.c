/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor machine, as tables of timed inputs and expected actions,
 * and a walk over every cell of its state x input table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sm_supervisor.h"
#include "support/act_fmt.h"

#define NEVER SE_INT64_NEVER

struct row {
    int64_t at_ms;
    enum se_sup_in_kind in;
    uint32_t slot;
    int32_t code; /* EXITED: status; SPAWN_FAILED: -errno */
    const char *expect;
    int64_t deadline_ms;
};

#define T   SE_SUP_IN_TICK
#define GO  SE_SUP_IN_START
#define UP  SE_SUP_IN_SPAWNED
#define BAD SE_SUP_IN_SPAWN_FAILED
#define EX  SE_SUP_IN_EXITED
#define HB  SE_SUP_IN_LOST
#define GS  SE_SUP_IN_GRACEFUL_STOP
#define IS  SE_SUP_IN_IMMEDIATE_STOP
#define GR  SE_SUP_IN_GRACEFUL_RESTART
#define IR  SE_SUP_IN_IMMEDIATE_RESTART
#define RL  SE_SUP_IN_RELOAD
#define DT  SE_SUP_IN_DETACH
#define DU  SE_SUP_IN_DUMP

static struct se_sup_cfg
cfg_default(void)
{
    return (struct se_sup_cfg){
        .server_restart_wait_ms = 1000, .server_detach_wait_ms = 10000, .enable_detach = true};
}

/* The supervisor wants a server when it has none and is not stopping:
 * then it always has a deadline (a wait with none is a wait for ever). */
static void
assert_never_waits_for_ever(const struct se_sup *s)
{
    bool wants = s->state != SE_SUP_INIT && s->state != SE_SUP_STOPPING &&
                 s->state != SE_SUP_DONE && s->current == SE_SUP_NONE;
    if (wants && se__sup_deadline_ms(s) == NEVER) {
        print_error("state %d wants a server and has no deadline\n", (int)s->state);
        fail();
    }
}

/* State that belongs to one state is cleared on the way out of it, and the
 * current server is alive: no field goes stale for a later state to trip on. */
static void
assert_nothing_stale(const struct se_sup *s)
{
    bool ok = true;
    if (s->current != SE_SUP_NONE &&
        (s->current >= SE_SERVERS_MAX || !s->servers[s->current].alive))
        ok = false, print_error("current %u is not an alive server\n", s->current);
    if (s->state != SE_SUP_WAIT_RESTART && s->restart_at_ms != NEVER)
        ok = false,
        print_error("state %d keeps restart_at %lld\n", (int)s->state, (long long)s->restart_at_ms);
    if (s->state != SE_SUP_DETACHING &&
        (s->detach_deadline_ms != NEVER || s->detaching != SE_SUP_NONE))
        ok = false, print_error("state %d keeps a detach (%u, %lld)\n", (int)s->state, s->detaching,
                                (long long)s->detach_deadline_ms);
    if (!ok) fail();
}

static void
run_rows_how(const struct se_sup_cfg *cfg, const struct row *rows, size_t n, bool logs)
{
    struct se_act items[64];
    struct se_acts acts = {.count = 0, .cap = 64, .items = items};
    struct se_sup s;
    char got[512];
    se__sup_init(&s, cfg, 0);
    for (size_t i = 0; i < n; i++) {
        struct se_sup_in in = {.kind = rows[i].in, .slot = rows[i].slot};
        if (in.kind == EX) in.code = rows[i].code;
        if (in.kind == BAD) in.err = rows[i].code;
        if (in.kind == EX && rows[i].code < 0) in.sig = SE_SIG_QUIT;
        acts.count = 0;
        se__sup_step(&s, &in, rows[i].at_ms, &acts);
        if (logs)
            se_test_acts_str(&acts, 0, got, sizeof got);
        else
            se_test_acts_str_nolog(&acts, 0, got, sizeof got);
        int64_t dl = se__sup_deadline_ms(&s);
        if (strcmp(got, rows[i].expect) != 0 || dl != rows[i].deadline_ms) {
            print_error("row %zu at %lld: got \"%s\" deadline %lld, want \"%s\" deadline %lld\n", i,
                        (long long)rows[i].at_ms, got, (long long)dl, rows[i].expect,
                        (long long)rows[i].deadline_ms);
            fail();
        }
        assert_never_waits_for_ever(&s);
        assert_nothing_stale(&s);
    }
}

static void
run_rows(const struct se_sup_cfg *cfg, const struct row *rows, size_t n)
{
    run_rows_how(cfg, rows, n, false);
}

#define RUN(tweak, ...)                                                                            \
    do {                                                                                           \
        struct se_sup_cfg cfg = cfg_default();                                                     \
        tweak;                                                                                     \
        static const struct row rows[] = {__VA_ARGS__};                                            \
        run_rows(&cfg, rows, SE_ARRAY_LEN(rows));                                                  \
    } while (0)

/* As RUN, with the log events in the expected actions. */
#define RUN_LOGS(tweak, ...)                                                                       \
    do {                                                                                           \
        struct se_sup_cfg cfg = cfg_default();                                                     \
        tweak;                                                                                     \
        static const struct row rows[] = {__VA_ARGS__};                                            \
        run_rows_how(&cfg, rows, SE_ARRAY_LEN(rows), true);                                        \
    } while (0)

static void
test_sup_restarts_a_dead_server_after_restart_wait_since_last_start(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {300, EX, 0, 1, "", 1000}, {999, T, 0, 0, "", 1000}, {1000, T, 0, 0, "spawn 0", NEVER},
        {1000, UP, 0, 0, "", NEVER},
        /* long after the last start: restarted at once */
        {5000, EX, 0, -1, "spawn 0", NEVER});
}

static void
test_sup_graceful_stop_waits_for_the_server(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, GS, 0, 0, "stop 0 graceful", NEVER}, {11, GS, 0, 0, "", NEVER},
        {12, IS, 0, 0, "stop 0 immediate", NEVER}, {20, EX, 0, 0, "exit 0", NEVER},
        {21, GO, 0, 0, "", NEVER});
}

static void
test_sup_unrecoverable_server_status_ends_the_supervisor(void **state)
{
    (void)state;
    RUN((cfg.unrecoverable[0] = 1u << 3), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, EX, 0, 3, "exit 3", NEVER});
}

static void
test_sup_restart_is_forwarded_after_reloading_config(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, GR, 0, 0, "reload; forward 0 GRACEFUL_RESTART", NEVER},
        {11, IR, 0, 0, "reload; forward 0 IMMEDIATE_RESTART", NEVER},
        {12, RL, 0, 0, "reload; forward 0 RELOAD", NEVER}, {13, DU, 0, 0, "forward 0 DUMP", NEVER});
}

static void
test_sup_restart_server_process_restarts_the_process_itself(void **state)
{
    (void)state;
    RUN((cfg.restart_server_process = true), {0, GO, 0, 0, "spawn 0", NEVER},
        {0, UP, 0, 0, "", NEVER}, {5000, GR, 0, 0, "reload; stop 0 graceful", NEVER},
        {5100, EX, 0, 0, "spawn 0", NEVER}, {5100, UP, 0, 0, "", NEVER},
        /* immediate flavour, and the restart wait since the last start (5100) */
        {5200, IR, 0, 0, "reload; stop 0 immediate", NEVER}, {5300, EX, 0, -1, "", 6100},
        {6100, T, 0, 0, "spawn 0", NEVER});
}

/* Once the restarted server runs, the restart is over: a detach then tells
 * it to go (a server still being restarted is going anyway, and is not
 * told twice). */
static void
test_sup_a_finished_restart_does_not_hold_back_a_later_detach(void **state)
{
    (void)state;
    RUN((cfg.restart_server_process = true), {0, GO, 0, 0, "spawn 0", NEVER},
        {0, UP, 0, 0, "", NEVER}, {5000, GR, 0, 0, "reload; stop 0 graceful", NEVER},
        {5100, EX, 0, 0, "spawn 0", NEVER}, {5100, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000});
}

/* A stop before the start ends the supervisor with 0. */
static void
test_sup_stop_before_the_start_exits_0(void **state)
{
    (void)state;
    RUN((void)0, {0, GS, 0, 0, "exit 0", NEVER});
}

static void
test_sup_disable_reload_ignores_reload(void **state)
{
    (void)state;
    RUN((cfg.disable_reload = true), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, RL, 0, 0, "", NEVER});
}

static void
test_sup_detach_starts_new_server_when_old_exits_first(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {12000, EX, 0, 0, "spawn 0", NEVER},
        {12000, UP, 0, 0, "", NEVER});
}

static void
test_sup_detach_starts_new_server_at_detach_wait_and_reaps_old_later(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {19999, T, 0, 0, "", 20000},
        {20000, T, 0, 0, "spawn 1", NEVER}, {20000, UP, 1, 0, "", NEVER},
        /* the old server finishes on its own: reaped, nothing restarted */
        {25000, EX, 0, 0, "", NEVER},
        /* the new one is the current server */
        {26000, GS, 0, 0, "stop 1 graceful", NEVER}, {27000, EX, 1, 0, "exit 0", NEVER});
}

static void
test_sup_exit_on_detach_exits_when_old_server_exits(void **state)
{
    (void)state;
    RUN((cfg.exit_on_detach = true), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {11000, EX, 0, 0, "exit 0", NEVER});
}

static void
test_sup_exit_on_detach_exits_at_detach_wait(void **state)
{
    (void)state;
    RUN((cfg.exit_on_detach = true), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "exit 0", NEVER});
}

static void
test_sup_detach_disabled_means_graceful_stop(void **state)
{
    (void)state;
    RUN((cfg.enable_detach = false), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, DT, 0, 0, "stop 0 graceful", NEVER}, {20, EX, 0, 0, "exit 0", NEVER});
}

static void
test_sup_heartbeat_loss_kills_and_restarts_the_server(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {180000, HB, 0, 0, "stop 0 immediate", NEVER}, {180001, HB, 0, 0, "", NEVER},
        {180010, EX, 0, -1, "spawn 0", NEVER});
}

static void
test_sup_stop_reaches_detached_servers_too(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, UP, 1, 0, "", NEVER}, {21000, GS, 0, 0, "stop 1 graceful; stop 0 graceful", NEVER},
        {21500, IS, 0, 0, "stop 1 immediate; stop 0 immediate", NEVER},
        {22000, EX, 1, -1, "", NEVER}, {23000, EX, 0, -1, "exit 0", NEVER});
}

static void
test_sup_failed_start_is_retried_after_restart_wait(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, BAD, 0, -EAGAIN, "", 1000},
        {1000, T, 0, 0, "spawn 0", NEVER}, {1000, UP, 0, 0, "", NEVER});
}

static void
test_sup_failed_start_with_zero_wait_does_not_spin(void **state)
{
    (void)state;
    RUN((cfg.server_restart_wait_ms = 0), {0, GO, 0, 0, "spawn 0", NEVER},
        {0, BAD, 0, -EAGAIN, "", 100}, {100, T, 0, 0, "spawn 0", NEVER});
}

static void
test_sup_stop_while_starting_is_not_lost(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, GS, 0, 0, "", NEVER},
        {0, UP, 0, 0, "stop 0 graceful", NEVER}, {5, EX, 0, 0, "exit 0", NEVER});
}

static void
test_sup_stop_while_waiting_to_restart_exits_at_once(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, EX, 0, 1, "", 1000}, {20, GS, 0, 0, "exit 0", NEVER});
}

static void
test_sup_restart_request_while_waiting_starts_at_once(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, EX, 0, 1, "", 1000}, {20, GR, 0, 0, "reload; spawn 0", NEVER});
}

/* Found by the simulator's supervisor role (seeds 316, 1199, 174). */
static void
test_sup_detach_of_a_server_being_restarted_does_not_tell_it_twice(void **state)
{
    (void)state;
    RUN((cfg.restart_server_process = true), {0, GO, 0, 0, "spawn 0", NEVER},
        {0, UP, 0, 0, "", NEVER}, {100, GR, 0, 0, "reload; stop 0 graceful", NEVER},
        /* detached while its restart stop runs: no second graceful signal */
        {200, DT, 0, 0, "", 10200}, {300, EX, 0, 0, "spawn 0", NEVER});
}

static void
test_sup_int_without_enable_detach_stops_even_while_waiting_to_restart(void **state)
{
    (void)state;
    RUN((cfg.enable_detach = false), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, EX, 0, 1, "", 1000}, {20, DT, 0, 0, "exit 0", NEVER});
}

/* A failed start logs when it is retried (from the last start, at least
 * 100 ms on); while stopping it is not retried, and says so (-1). */
static void
test_sup_failed_start_logs_its_retry_delay(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_sup_cfg cfg = cfg_default();
    struct se_sup s;
    se__sup_init(&s, &cfg, 0);
    se__sup_step(&s, &(struct se_sup_in){.kind = GO}, 400, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = BAD, .err = -EAGAIN}, 700, &acts);
    assert_int_equal(acts.count, 1);
    assert_int_equal(acts.items[0].event, SE_EVT_SERVER_SPAWN_FAILED);
    assert_int_equal(acts.items[0].err, -EAGAIN);
    assert_int_equal(acts.items[0].ms, 1400 - 700);
    /* the 100 ms floor when the restart wait has passed */
    se__sup_step(&s, &(struct se_sup_in){.kind = T}, 1400, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = BAD, .err = -EAGAIN}, 2450, &acts);
    assert_int_equal(acts.items[0].ms, 100);
    assert_int_equal(se__sup_deadline_ms(&s), 2550);
    /* stopping: no retry */
    se__sup_step(&s, &(struct se_sup_in){.kind = T}, 2550, &acts);
    se__sup_step(&s, &(struct se_sup_in){.kind = GS}, 2551, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = BAD, .err = -EAGAIN}, 2552, &acts);
    assert_int_equal(acts.items[0].event, SE_EVT_SERVER_SPAWN_FAILED);
    assert_int_equal(acts.items[0].ms, -1);
    assert_int_equal(s.state, SE_SUP_DONE);
}

/* INT without enable_detach is a graceful stop in every state with no
 * current server: while starting it waits for the start result. */
static void
test_sup_int_without_enable_detach_while_starting_stops_the_new_server(void **state)
{
    (void)state;
    RUN((cfg.enable_detach = false), {0, GO, 0, 0, "spawn 0", NEVER}, {5, DT, 0, 0, "", NEVER},
        {6, UP, 0, 0, "stop 0 graceful", NEVER}, {9, EX, 0, 0, "exit 0", NEVER});
}

/* A stop while detaching ends the detach: the old server is stopped like
 * any other, and the supervisor ends when it exits. */
static void
test_sup_stop_while_detaching_stops_the_old_server(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {100, DT, 0, 0, "stop 0 graceful", 10100}, {200, IS, 0, 0, "stop 0 immediate", NEVER},
        {300, EX, 0, 0, "exit 0", NEVER});
}

/* Unrecoverable codes past the first byte of the bitmap: 9 is listed, 10
 * is not (bit 1 of byte 1). */
static void
test_sup_unrecoverable_codes_past_the_first_byte(void **state)
{
    (void)state;
    RUN((cfg.unrecoverable[1] = 1u << 1), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {300, EX, 0, 10, "", 1000}, {1000, T, 0, 0, "spawn 0", NEVER}, {1000, UP, 0, 0, "", NEVER},
        {1300, EX, 0, 9, "exit 9", NEVER});
}

/* The last code there is, 255, counts too; 254 beside it does not. */
static void
test_sup_unrecoverable_code_255_is_the_last_one(void **state)
{
    (void)state;
    RUN((cfg.unrecoverable[31] = 1u << 7), {0, GO, 0, 0, "spawn 0", NEVER},
        {0, UP, 0, 0, "", NEVER}, {300, EX, 0, 254, "", 1000}, {1000, T, 0, 0, "spawn 0", NEVER},
        {1000, UP, 0, 0, "", NEVER}, {1300, EX, 0, 255, "exit 255", NEVER});
}

/* A reload with no server to forward it to still reloads the configuration
 * (the next server starts with it). */
static void
test_sup_reload_while_waiting_to_restart_reloads(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {300, EX, 0, 1, "", 1000}, {400, RL, 0, 0, "reload", 1000},
        {1000, T, 0, 0, "spawn 0", NEVER});
}

static void
test_sup_stalled_detached_server_is_stopped_immediately(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {15000, HB, 0, 0, "stop 0 immediate", 20000});
}

/* Found by the simulator's supervisor role (seed 15 and 404 others of 5,000
 * at 3,600 s): the old server of a detach was told to go by one forwarded
 * signal; when that signal failed (EPERM) nothing retried or escalated it,
 * and it ran for ever. It is stopped like any other server now, on the
 * kill schedule, which retries and escalates. */
static void
test_sup_detached_server_is_stopped_with_escalation_like_any_other(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, UP, 1, 0, "", NEVER});
}

/* The same seeds, later: once detached servers filled every slot, the
 * supervisor waited to start a server with no deadline, for ever. Now the
 * oldest detached server is hurried (an immediate stop: one at a time) and
 * the start is retried at a deadline; a slot that frees starts it at once. */
static void
test_sup_detached_servers_in_every_slot_never_leave_it_waiting_with_no_deadline(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, UP, 1, 0, "", NEVER}, {30000, DT, 0, 0, "stop 1 graceful", 40000},
        {40000, T, 0, 0, "spawn 2", NEVER}, {40000, UP, 2, 0, "", NEVER},
        {50000, DT, 0, 0, "stop 2 graceful", 60000}, {60000, T, 0, 0, "spawn 3", NEVER},
        {60000, UP, 3, 0, "", NEVER}, {70000, DT, 0, 0, "stop 3 graceful", 80000},
        /* every slot holds a detached server: the oldest is hurried */
        {80000, T, 0, 0, "stop 0 immediate", 81000},
        /* still full at the retry: no second one is hurried */
        {81000, T, 0, 0, "", 82000},
        /* a restart request is not ignored: it tries again now */
        {81500, GR, 0, 0, "reload", 82500},
        /* a slot frees: the new server starts at once */
        {81600, EX, 0, -1, "spawn 0", NEVER}, {81600, UP, 0, 0, "", NEVER});
}

/* Drives a fresh machine into `target` with ordinary inputs. */
static void
drive_to(struct se_sup *s, enum se_sup_state target, struct se_acts *acts)
{
    struct se_sup_in in = {.kind = SE_SUP_IN_START};
    int64_t t = 0;
    if (target == SE_SUP_INIT) return;
    se__sup_step(s, &in, t, acts);
    if (target == SE_SUP_STARTING) return;
    in = (struct se_sup_in){.kind = SE_SUP_IN_SPAWNED, .slot = 0};
    se__sup_step(s, &in, t, acts);
    if (target == SE_SUP_RUNNING) return;
    if (target == SE_SUP_WAIT_RESTART) {
        in = (struct se_sup_in){.kind = SE_SUP_IN_EXITED, .slot = 0, .code = 1};
        se__sup_step(s, &in, t + 1, acts);
        return;
    }
    if (target == SE_SUP_DETACHING) {
        in = (struct se_sup_in){.kind = SE_SUP_IN_DETACH};
        se__sup_step(s, &in, t + 1, acts);
        return;
    }
    in = (struct se_sup_in){.kind = SE_SUP_IN_GRACEFUL_STOP};
    se__sup_step(s, &in, t + 1, acts);
    if (target == SE_SUP_STOPPING) return;
    in = (struct se_sup_in){.kind = SE_SUP_IN_EXITED, .slot = 0, .code = 0};
    se__sup_step(s, &in, t + 2, acts);
}

/* Every cell of the table: no assertion fires, nothing is started while
 * stopping or done, and only live servers are stopped or forwarded to. */
static void
test_sup_every_cell_of_the_table_is_handled(void **state)
{
    (void)state;
    struct se_act items[64];
    struct se_sup_cfg cfg = cfg_default();
    for (int st = 0; st < SE_SUP_STATE_COUNT; st++) {
        for (int k = 0; k < SE_SUP_IN_COUNT; k++) {
            struct se_acts acts = {.count = 0, .cap = 64, .items = items};
            struct se_sup s;
            se__sup_init(&s, &cfg, 0);
            drive_to(&s, (enum se_sup_state)st, &acts);
            assert_int_equal(s.state, st);
            bool was_alive[SE_SERVERS_MAX];
            for (uint32_t i = 0; i < SE_SERVERS_MAX; i++)
                was_alive[i] = s.servers[i].alive;
            /* an input that makes sense in this state when it names a slot */
            struct se_sup_in in = {.kind = (enum se_sup_in_kind)k, .slot = 0, .err = -EAGAIN};
            if (in.kind == SE_SUP_IN_SPAWNED || in.kind == SE_SUP_IN_SPAWN_FAILED) {
                if (st != SE_SUP_STARTING) continue; /* only a pending spawn has a result */
            }
            if (in.kind == SE_SUP_IN_EXITED && (!s.servers[0].alive || st == SE_SUP_STARTING))
                continue; /* a starting server's exit always follows its spawn result */
            acts.count = 0;
            se__sup_step(&s, &in, 100000, &acts);
            for (uint32_t i = 0; i < acts.count; i++) {
                const struct se_act *a = &acts.items[i];
                if (a->kind == SE_ACT_SPAWN) {
                    assert_true(st != SE_SUP_STOPPING && st != SE_SUP_DONE);
                }
                if (a->kind == SE_ACT_STOP || a->kind == SE_ACT_FORWARD) {
                    assert_true(a->slot < SE_SERVERS_MAX);
                    assert_true(was_alive[a->slot]);
                }
            }
            assert_never_waits_for_ever(&s);
        }
    }
}

/* The supervisor's end is logged with its status, before it exits. */
static void
test_sup_end_is_logged_with_its_status(void **state)
{
    (void)state;
    struct se_act items[64];
    struct se_acts acts = {.count = 0, .cap = 64, .items = items};
    struct se_sup_cfg cfg = cfg_default();
    struct se_sup s;
    char got[512];
    se__sup_init(&s, &cfg, 0);
    se__sup_step(&s, &(struct se_sup_in){.kind = GO}, 0, &acts);
    se__sup_step(&s, &(struct se_sup_in){.kind = UP}, 0, &acts);
    se__sup_step(&s, &(struct se_sup_in){.kind = GS}, 10, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = EX, .code = 0}, 20, &acts);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_non_null(strstr(got, "log supervisor-done 0; exit 0"));
    assert_int_equal(acts.items[acts.count - 2].status, 0);
}

/* Each start and end of the server is logged, and a restart that waits says
 * for how long; one that does not wait says nothing of a delay. */
static void
test_sup_logs_starts_ends_and_restart_delays(void **state)
{
    (void)state;
    struct se_act items[64];
    struct se_acts acts = {.count = 0, .cap = 64, .items = items};
    struct se_sup_cfg cfg = cfg_default();
    struct se_sup s;
    char got[512];
    se__sup_init(&s, &cfg, 0);
    se__sup_step(&s, &(struct se_sup_in){.kind = GO}, 0, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = UP}, 0, &acts);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_string_equal(got, "log server-started 0");
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = EX, .code = 1}, 300, &acts);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_string_equal(got, "log server-finished-unexpectedly 0; log server-restart-delayed 0");
    assert_int_equal(acts.items[1].ms, 700); /* restart wait since the last start */
    se__sup_step(&s, &(struct se_sup_in){.kind = T}, 1000, &acts);
    se__sup_step(&s, &(struct se_sup_in){.kind = UP}, 1000, &acts);
    acts.count = 0;
    se__sup_step(&s, &(struct se_sup_in){.kind = EX, .code = -1, .sig = SE_SIG_QUIT}, 5000, &acts);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_string_equal(got, "log server-finished-unexpectedly 0; spawn 0");
}

/* An unrecoverable code of 0, and one far in the bitmap (70: bit 6 of byte
 * 8), end the supervisor with that status. */
static void
test_sup_unrecoverable_zero_and_far_codes(void **state)
{
    (void)state;
    RUN((cfg.unrecoverable[0] = 1u), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, EX, 0, 0, "exit 0", NEVER});
    RUN((cfg.unrecoverable[8] = 1u << 6), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {300, EX, 0, 62, "", 1000}, {1000, T, 0, 0, "spawn 0", NEVER}, {1000, UP, 0, 0, "", NEVER},
        {1300, EX, 0, 70, "exit 70", NEVER});
}

/* A heartbeat loss while stopping gracefully makes the stop an immediate
 * one: a later immediate stop has nothing more to do. */
static void
test_sup_heartbeat_loss_while_stopping_makes_the_stop_immediate(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10, GS, 0, 0, "stop 0 graceful", NEVER}, {20, HB, 0, 0, "stop 0 immediate", NEVER},
        {30, IS, 0, 0, "", NEVER}, {40, EX, 0, 0, "exit 0", NEVER});
}

/* Every slot holding a detached server, the start waits: the log says for
 * how long (server_restart_wait, at least the slot retry). */
static void
test_sup_full_slots_log_how_long_the_start_waits(void **state)
{
    (void)state;
    struct se_act items[64];
    struct se_acts acts = {.count = 0, .cap = 64, .items = items};
    struct se_sup_cfg cfg = cfg_default();
    struct se_sup s;
    se__sup_init(&s, &cfg, 0);
    se__sup_step(&s, &(struct se_sup_in){.kind = GO}, 0, &acts);
    for (uint32_t i = 0; i < SE_SERVERS_MAX; i++) {
        int64_t t = 20000 * (int64_t)i;
        if (i > 0) se__sup_step(&s, &(struct se_sup_in){.kind = T}, t, &acts);
        se__sup_step(&s, &(struct se_sup_in){.kind = UP, .slot = i}, t, &acts);
        se__sup_step(&s, &(struct se_sup_in){.kind = DT}, t + 10000, &acts);
    }
    acts.count = 0;
    int64_t t = 20000 * (int64_t)SE_SERVERS_MAX;
    se__sup_step(&s, &(struct se_sup_in){.kind = T}, t, &acts);
    bool logged = false;
    for (uint32_t i = 0; i < acts.count; i++) {
        if (acts.items[i].event != SE_EVT_SERVER_RESTART_DELAYED) continue;
        assert_int_equal(acts.items[i].ms, se__sup_deadline_ms(&s) - t);
        assert_int_equal(acts.items[i].ms, 1000);
        logged = true;
    }
    assert_true(logged);
}

/* An end we caused (a restart asked for, our heartbeat kill) is no crash:
 * an unrecoverable status then does not end the supervisor. */
static void
test_sup_an_end_we_caused_is_no_crash_even_with_an_unrecoverable_status(void **state)
{
    (void)state;
    RUN((cfg.restart_server_process = true, cfg.unrecoverable[0] = 1u << 3),
        {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {5000, GR, 0, 0, "reload; stop 0 graceful", NEVER}, {5100, EX, 0, 3, "spawn 0", NEVER});
    RUN((cfg.unrecoverable[0] = 1u << 3), {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {5000, HB, 0, 0, "stop 0 immediate", NEVER}, {5100, EX, 0, 3, "spawn 0", NEVER});
}

/* A server detached earlier that ends during a later detach is only reaped:
 * the detach goes on. And with every slot full, the server hurried is the
 * one detached longest ago, not the one in the lowest slot. */
static void
test_sup_an_earlier_detached_server_ending_does_not_end_a_detach(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, UP, 1, 0, "", NEVER}, {30000, DT, 0, 0, "stop 1 graceful", 40000},
        /* slot 0, detached before, ends: the detach of slot 1 is not over */
        {35000, EX, 0, 0, "", 40000}, {40000, T, 0, 0, "spawn 0", NEVER},
        {40000, UP, 0, 0, "", NEVER}, {50000, DT, 0, 0, "stop 0 graceful", 60000},
        {60000, T, 0, 0, "spawn 2", NEVER}, {60000, UP, 2, 0, "", NEVER},
        {70000, DT, 0, 0, "stop 2 graceful", 80000}, {80000, T, 0, 0, "spawn 3", NEVER},
        {80000, UP, 3, 0, "", NEVER}, {90000, DT, 0, 0, "stop 3 graceful", 100000},
        /* detached at 30 s (slot 1), 50 s (slot 0), 70 s, 90 s: slot 1 is hurried */
        {100000, T, 0, 0, "stop 1 immediate", 101000});
}

/* Logs included: a server that ends while the supervisor stops is logged
 * as finished; a detached server that stalls is logged as lost before it
 * is stopped immediately. */
static void
test_sup_logs_an_end_while_stopping_and_a_detached_server_lost(void **state)
{
    (void)state;
    RUN_LOGS((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "log server-started 0", NEVER},
             {10, GS, 0, 0, "log server-stop 0; stop 0 graceful", NEVER},
             {20, EX, 0, 0, "log server-finished 0; log supervisor-done 0; exit 0", NEVER});
    RUN_LOGS((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "log server-started 0", NEVER},
             {10000, DT, 0, 0, "log server-detach 0; log server-stop 0; stop 0 graceful", 20000},
             {15000, HB, 0, 0, "log heartbeat-lost 0; log server-stop 0; stop 0 immediate", 20000});
}

/* A detached server that stalls after the new one is up (it is not the
 * current server any more) is logged as lost before it is stopped; so is
 * the current server. */
static void
test_sup_logs_a_stalled_detached_server_beside_a_new_one(void **state)
{
    (void)state;
    RUN_LOGS((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "log server-started 0", NEVER},
             {10000, DT, 0, 0, "log server-detach 0; log server-stop 0; stop 0 graceful", 20000},
             {20000, T, 0, 0, "spawn 1", NEVER}, {20000, UP, 1, 0, "log server-started 1", NEVER},
             {25000, HB, 0, 0, "log heartbeat-lost 0; log server-stop 0; stop 0 immediate", NEVER});
    /* and the current server's loss is logged too */
    RUN_LOGS((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "log server-started 0", NEVER},
             {5000, HB, 0, 0, "log heartbeat-lost 0; log server-stop 0; stop 0 immediate", NEVER});
}

/* A detached server that ends while the next one is starting, or while the
 * supervisor waits to restart one with a slot free, starts nothing: one
 * server is started at a time, and the wait keeps its deadline. */
static void
test_sup_a_detached_server_ending_starts_nothing_while_one_starts_or_waits(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20005, EX, 0, 0, "", NEVER}, {20010, UP, 1, 0, "", NEVER});
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, BAD, 1, -EAGAIN, "", 21000}, {20500, EX, 0, 0, "", 21000},
        {21000, T, 0, 0, "spawn 0", NEVER});
}

/* With enable_detach, INT while the first server starts is ignored: no stop. */
static void
test_sup_detach_while_starting_with_enable_detach_is_ignored(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {5, DT, 0, 0, "", NEVER},
        {10, UP, 0, 0, "", NEVER}, {20, RL, 0, 0, "reload; forward 0 RELOAD", NEVER});
}

/* disable_reload: a reload with no server running (starting, or waiting to
 * restart) is ignored too, not taken. */
static void
test_sup_disable_reload_ignores_reload_with_no_server_too(void **state)
{
    (void)state;
    RUN((cfg.disable_reload = true), {0, GO, 0, 0, "spawn 0", NEVER}, {1, RL, 0, 0, "", NEVER},
        {1, UP, 0, 0, "", NEVER}, {300, EX, 0, 1, "", 1000}, {400, RL, 0, 0, "", 1000},
        {1000, T, 0, 0, "spawn 0", NEVER});
}

/* A graceful stop while waiting to restart stops a detached server still
 * finishing gracefully; an immediate one, immediately. */
static void
test_sup_stop_while_waiting_reaches_a_detached_server_as_asked(void **state)
{
    (void)state;
    RUN((void)0, {0, GO, 0, 0, "spawn 0", NEVER}, {0, UP, 0, 0, "", NEVER},
        {10000, DT, 0, 0, "stop 0 graceful", 20000}, {20000, T, 0, 0, "spawn 1", NEVER},
        {20000, BAD, 1, -EAGAIN, "", 21000}, {20500, GS, 0, 0, "stop 0 graceful", NEVER},
        {20600, IS, 0, 0, "stop 0 immediate", NEVER}, {20700, EX, 0, -1, "exit 0", NEVER});
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sup_restarts_a_dead_server_after_restart_wait_since_last_start),
        cmocka_unit_test(test_sup_graceful_stop_waits_for_the_server),
        cmocka_unit_test(test_sup_an_end_we_caused_is_no_crash_even_with_an_unrecoverable_status),
        cmocka_unit_test(test_sup_an_earlier_detached_server_ending_does_not_end_a_detach),
        cmocka_unit_test(test_sup_logs_an_end_while_stopping_and_a_detached_server_lost),
        cmocka_unit_test(test_sup_logs_a_stalled_detached_server_beside_a_new_one),
        cmocka_unit_test(
            test_sup_a_detached_server_ending_starts_nothing_while_one_starts_or_waits),
        cmocka_unit_test(test_sup_detach_while_starting_with_enable_detach_is_ignored),
        cmocka_unit_test(test_sup_disable_reload_ignores_reload_with_no_server_too),
        cmocka_unit_test(test_sup_stop_while_waiting_reaches_a_detached_server_as_asked),
        cmocka_unit_test(test_sup_unrecoverable_server_status_ends_the_supervisor),
        cmocka_unit_test(test_sup_restart_is_forwarded_after_reloading_config),
        cmocka_unit_test(test_sup_restart_server_process_restarts_the_process_itself),
        cmocka_unit_test(test_sup_a_finished_restart_does_not_hold_back_a_later_detach),
        cmocka_unit_test(test_sup_stop_before_the_start_exits_0),
        cmocka_unit_test(test_sup_disable_reload_ignores_reload),
        cmocka_unit_test(test_sup_detach_starts_new_server_when_old_exits_first),
        cmocka_unit_test(test_sup_detach_starts_new_server_at_detach_wait_and_reaps_old_later),
        cmocka_unit_test(test_sup_exit_on_detach_exits_when_old_server_exits),
        cmocka_unit_test(test_sup_exit_on_detach_exits_at_detach_wait),
        cmocka_unit_test(test_sup_detach_disabled_means_graceful_stop),
        cmocka_unit_test(test_sup_heartbeat_loss_kills_and_restarts_the_server),
        cmocka_unit_test(test_sup_stop_reaches_detached_servers_too),
        cmocka_unit_test(test_sup_failed_start_is_retried_after_restart_wait),
        cmocka_unit_test(test_sup_failed_start_with_zero_wait_does_not_spin),
        cmocka_unit_test(test_sup_stop_while_starting_is_not_lost),
        cmocka_unit_test(test_sup_stop_while_waiting_to_restart_exits_at_once),
        cmocka_unit_test(test_sup_restart_request_while_waiting_starts_at_once),
        cmocka_unit_test(test_sup_detach_of_a_server_being_restarted_does_not_tell_it_twice),
        cmocka_unit_test(test_sup_int_without_enable_detach_stops_even_while_waiting_to_restart),
        cmocka_unit_test(test_sup_failed_start_logs_its_retry_delay),
        cmocka_unit_test(test_sup_int_without_enable_detach_while_starting_stops_the_new_server),
        cmocka_unit_test(test_sup_stop_while_detaching_stops_the_old_server),
        cmocka_unit_test(test_sup_unrecoverable_codes_past_the_first_byte),
        cmocka_unit_test(test_sup_unrecoverable_code_255_is_the_last_one),
        cmocka_unit_test(test_sup_reload_while_waiting_to_restart_reloads),
        cmocka_unit_test(test_sup_stalled_detached_server_is_stopped_immediately),
        cmocka_unit_test(test_sup_detached_server_is_stopped_with_escalation_like_any_other),
        cmocka_unit_test(
            test_sup_detached_servers_in_every_slot_never_leave_it_waiting_with_no_deadline),
        cmocka_unit_test(test_sup_every_cell_of_the_table_is_handled),
        cmocka_unit_test(test_sup_end_is_logged_with_its_status),
        cmocka_unit_test(test_sup_logs_starts_ends_and_restart_delays),
        cmocka_unit_test(test_sup_unrecoverable_zero_and_far_codes),
        cmocka_unit_test(test_sup_heartbeat_loss_while_stopping_makes_the_stop_immediate),
        cmocka_unit_test(test_sup_full_slots_log_how_long_the_start_waits),
    };
    return cmocka_run_group_tests_name("sm_supervisor", tests, NULL, NULL);
}
