/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kill escalation schedules, as tables of timed inputs and expected actions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sm_kill.h"
#include "support/act_fmt.h"

#define S(x)  ((int64_t)(x)*1000)
#define NEVER SE_INT64_NEVER

struct row {
    int64_t at_ms;
    enum se_kill_in_kind in;
    const char *expect; /* actions without logs */
    int64_t deadline_ms;
};

static const struct se_kill_cfg cfg_default = {
    .graceful_sig = SE_SIG_TERM,
    .immediate_sig = SE_SIG_QUIT,
    .graceful_interval_ms = S(15),
    .graceful_increment_ms = S(10),
    .graceful_timeout_ms = S(600),
    .immediate_interval_ms = S(10),
    .immediate_increment_ms = S(10),
    .immediate_timeout_ms = S(600),
};

static void
run_table(const struct se_kill_cfg *cfg, const struct row *rows, size_t n)
{
    struct se_act items[64];
    struct se_acts acts = {.count = 0, .cap = 64, .items = items};
    struct se_kill k;
    char got[512];
    se__kill_init(&k, cfg, 0, 7, 0);
    for (size_t i = 0; i < n; i++) {
        struct se_kill_in in = {.kind = rows[i].in, .reason = SE_REASON_STOP};
        acts.count = 0;
        se__kill_step(&k, &in, rows[i].at_ms, &acts);
        se_test_acts_str_nolog(&acts, 0, got, sizeof got);
        if (strcmp(got, rows[i].expect) != 0 || se__kill_deadline_ms(&k) != rows[i].deadline_ms) {
            print_error("row %zu at %lld ms: got \"%s\" deadline %lld, want \"%s\" deadline %lld\n",
                        i, (long long)rows[i].at_ms, got, (long long)se__kill_deadline_ms(&k),
                        rows[i].expect, (long long)rows[i].deadline_ms);
            fail();
        }
    }
}

/* TERM at 0, 15, 40, 75 ... (15 + 10 n); QUIT from 600; KILL at 1200. */
static void
test_kill_graceful_schedule_escalates_to_quit_then_kill(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_TICK, "", NEVER},
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(14), SE_KILL_IN_TICK, "", S(15)},
        {S(15), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(40)},
        {S(40), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(75)},
        {S(75), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(120)},
        {S(120), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(175)},
        {S(175), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(240)},
        {S(240), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(315)},
        {S(315), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(400)},
        {S(400), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(495)},
        {S(495), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(600)},
        /* at 600 the 11th TERM is due too: escalation wins, QUIT instead */
        {S(600), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(610)},
        {S(610), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(630)},
        {S(630), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(660)},
        {S(660), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(700)},
        {S(700), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(750)},
        {S(750), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(810)},
        {S(810), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(880)},
        {S(880), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(960)},
        {S(960), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(1050)},
        {S(1050), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(1150)},
        {S(1150), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(1200)},
        {S(1199), SE_KILL_IN_TICK, "", S(1200)},
        {S(1200), SE_KILL_IN_TICK, "signal 0 SIGKILL", NEVER},
        {S(5000), SE_KILL_IN_TICK, "", NEVER},
        {S(5001), SE_KILL_IN_REAPED, "", NEVER},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_graceful_timeout_minus_one_never_escalates(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_timeout_ms = -1;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(15), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(40)},
        {S(40), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(75)},
        {S(75), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(120)},
        /* long after 600 s: still TERM, never QUIT or KILL; the next slot of
         * the anchored schedule is 15 m + 5 m (m - 1) for m = 141 */
        {S(100000), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(100815)},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_immediate_timeout_minus_one_never_kills(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.immediate_timeout_ms = -1;
    static const struct row rows[] = {
        {0, SE_KILL_IN_IMMEDIATE, "signal 0 SIGQUIT", S(10)},
        {S(10), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(30)},
        {S(30), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(60)},
        {S(60), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(100)},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_immediate_request_during_graceful_switches_at_once(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(5), SE_KILL_IN_IMMEDIATE, "signal 0 SIGQUIT", S(15)},
        {S(15), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(35)},
        /* a second graceful request never downgrades */
        {S(16), SE_KILL_IN_GRACEFUL, "", S(35)},
        /* KILL at immediate start (5) + 600 */
        {S(605), SE_KILL_IN_TICK, "signal 0 SIGKILL", NEVER},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_repeated_graceful_request_keeps_schedule(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(3), SE_KILL_IN_GRACEFUL, "", S(15)},
        {S(15), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(40)},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_never_signals_after_reaped(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(1), SE_KILL_IN_REAPED, "", NEVER},
        {S(15), SE_KILL_IN_TICK, "", NEVER},
        {S(16), SE_KILL_IN_IMMEDIATE, "", NEVER},
        {S(2000), SE_KILL_IN_GRACEFUL, "", NEVER},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_zero_timeouts_send_quit_and_kill_at_once(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_timeout_ms = 0;
    cfg.immediate_timeout_ms = 0;
    static const struct row rows[] = {
        /* graceful timeout 0: no TERM at all, immediate at once; immediate
         * timeout 0: KILL at once */
        {S(1), SE_KILL_IN_GRACEFUL, "signal 0 SIGKILL", NEVER},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_zero_interval_sends_once_per_phase(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_interval_ms = 0;
    cfg.graceful_increment_ms = 0;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(600)},
        {S(300), SE_KILL_IN_TICK, "", S(600)},
        {S(600), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(610)},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_late_wakeup_sends_one_signal_and_keeps_the_schedule(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        /* woken at 50 instead of 15: one TERM now, the next on the schedule
         * anchored at t0 (75), not a burst of the missed ones */
        {S(50), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(75)},
        {S(75), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(120)},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

static void
test_kill_escalation_anchors_immediate_phase_at_timeout(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_timeout_ms = S(20);
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(15), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(20)},
        /* woken late at 25: QUIT now, schedule from 20: next at 30 */
        {S(25), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(30)},
        {S(30), SE_KILL_IN_TICK, "signal 0 SIGQUIT", S(50)},
        {S(620), SE_KILL_IN_TICK, "signal 0 SIGKILL", NEVER},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

static void
feed(struct se_kill *k, struct se_acts *acts, enum se_kill_in_kind kind, int64_t at, int32_t err,
     enum se_sig sig)
{
    struct se_kill_in in = {.kind = kind, .reason = SE_REASON_STOP, .err = err, .sig = sig};
    se__kill_step(k, &in, at, acts);
}

static void
test_kill_esrch_is_quiet_and_the_schedule_goes_on(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    char got[256];
    se__kill_init(&k, &cfg_default, 2, 9, 0);
    feed(&k, &acts, SE_KILL_IN_GRACEFUL, 0, 0, SE_SIG_NONE);
    acts.count = 0;
    feed(&k, &acts, SE_KILL_IN_SIGNAL_FAILED, 0, -ESRCH, SE_SIG_TERM);
    assert_int_equal(acts.count, 0); /* the exit is being reaped: nothing to say */
    assert_int_equal(se__kill_deadline_ms(&k), S(15));
    feed(&k, &acts, SE_KILL_IN_TICK, S(15), 0, SE_SIG_NONE);
    se_test_acts_str_nolog(&acts, 0, got, sizeof got);
    assert_string_equal(got, "signal 2 SIGTERM");
}

static void
test_kill_failed_kill_is_retried(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    char got[256];
    struct se_kill_cfg cfg = cfg_default;
    cfg.immediate_timeout_ms = 0;
    se__kill_init(&k, &cfg, 1, 9, 0);
    feed(&k, &acts, SE_KILL_IN_IMMEDIATE, 0, 0, SE_SIG_NONE);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_string_equal(got, "signal 1 SIGKILL; log kill-final 1");
    acts.count = 0;
    feed(&k, &acts, SE_KILL_IN_SIGNAL_FAILED, 0, -EPERM, SE_SIG_KILL);
    se_test_acts_str(&acts, 0, got, sizeof got);
    assert_string_equal(got, "log kill-signal-failed 1");
    /* retried after the immediate interval */
    assert_int_equal(se__kill_deadline_ms(&k), S(10));
    acts.count = 0;
    feed(&k, &acts, SE_KILL_IN_TICK, S(10), 0, SE_SIG_NONE);
    se_test_acts_str_nolog(&acts, 0, got, sizeof got);
    assert_string_equal(got, "signal 1 SIGKILL");
    assert_true(se__kill_sent(&k, SE_SIG_KILL));
    assert_false(se__kill_sent(&k, SE_SIG_TERM));
}

/* A failed SIGKILL is retried after the immediate interval, even of 1 ms
 * (only 0 falls back to one second). */
static void
test_kill_failed_kill_retry_follows_a_one_ms_interval(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    struct se_kill_cfg cfg = cfg_default;
    cfg.immediate_timeout_ms = 0;
    cfg.immediate_interval_ms = 1;
    se__kill_init(&k, &cfg, 1, 9, 0);
    feed(&k, &acts, SE_KILL_IN_IMMEDIATE, 0, 0, SE_SIG_NONE);
    feed(&k, &acts, SE_KILL_IN_SIGNAL_FAILED, 0, -EPERM, SE_SIG_KILL);
    assert_int_equal(se__kill_deadline_ms(&k), 1);
}

/* With an immediate interval of 0 a failed SIGKILL is retried one second
 * later (never at once, never again and again in one instant). */
static void
test_kill_failed_kill_retry_without_interval_waits_one_second(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    struct se_kill_cfg cfg = cfg_default;
    cfg.immediate_timeout_ms = 0;
    cfg.immediate_interval_ms = 0;
    se__kill_init(&k, &cfg, 1, 9, 0);
    feed(&k, &acts, SE_KILL_IN_IMMEDIATE, 5, 0, SE_SIG_NONE);
    feed(&k, &acts, SE_KILL_IN_SIGNAL_FAILED, 5, -EPERM, SE_SIG_KILL);
    assert_int_equal(se__kill_deadline_ms(&k), 1005);
}

/* A retried SIGKILL that goes through is sent once: no more signals after. */
static void
test_kill_retried_kill_is_sent_once(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    struct se_kill_cfg cfg = cfg_default;
    cfg.immediate_timeout_ms = 0;
    se__kill_init(&k, &cfg, 1, 9, 0);
    feed(&k, &acts, SE_KILL_IN_IMMEDIATE, 0, 0, SE_SIG_NONE);
    feed(&k, &acts, SE_KILL_IN_SIGNAL_FAILED, 0, -EPERM, SE_SIG_KILL);
    feed(&k, &acts, SE_KILL_IN_TICK, S(10), 0, SE_SIG_NONE);
    assert_int_equal(se__kill_deadline_ms(&k), NEVER);
    acts.count = 0;
    feed(&k, &acts, SE_KILL_IN_TICK, S(20), 0, SE_SIG_NONE);
    assert_int_equal(acts.count, 0);
}

static void
test_kill_logs_each_signal_with_attempt_and_reason(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    se__kill_init(&k, &cfg_default, 3, 9, 0);
    struct se_kill_in in = {.kind = SE_KILL_IN_GRACEFUL, .reason = SE_REASON_SCALE_DOWN};
    se__kill_step(&k, &in, 0, &acts);
    in.kind = SE_KILL_IN_TICK;
    se__kill_step(&k, &in, S(15), &acts);
    assert_int_equal(acts.count, 4);
    assert_int_equal(acts.items[1].kind, SE_ACT_LOG);
    assert_int_equal(acts.items[1].event, SE_EVT_KILL_SIGNAL);
    assert_int_equal(acts.items[1].count, 1);
    assert_int_equal(acts.items[1].reason, SE_REASON_SCALE_DOWN);
    assert_int_equal(acts.items[3].count, 2);
    assert_int_equal(acts.items[2].child, 9);
}

/* An immediate stop that follows a graceful one logs its own reason from
 * then on; one that names none (a plain escalation) keeps the graceful
 * stop's; from idle it takes whatever it names. */
static void
test_kill_immediate_after_graceful_logs_the_reason_it_names(void **state)
{
    (void)state;
    static const struct {
        enum se_reason graceful, immediate, logged;
    } rows[] = {
        {SE_REASON_SCALE_DOWN, SE_REASON_STOP, SE_REASON_STOP},
        {SE_REASON_SCALE_DOWN, SE_REASON_NONE, SE_REASON_SCALE_DOWN},
        {SE_REASON_NONE, SE_REASON_STOP, SE_REASON_STOP},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct se_act items[16];
        struct se_acts acts = {.count = 0, .cap = 16, .items = items};
        struct se_kill k;
        se__kill_init(&k, &cfg_default, 3, 9, 0);
        bool graceful = rows[r].graceful != SE_REASON_NONE;
        if (graceful) {
            struct se_kill_in in = {.kind = SE_KILL_IN_GRACEFUL, .reason = rows[r].graceful};
            se__kill_step(&k, &in, 0, &acts);
        }
        acts.count = 0;
        struct se_kill_in in = {.kind = SE_KILL_IN_IMMEDIATE, .reason = rows[r].immediate};
        se__kill_step(&k, &in, 5, &acts);
        bool seen = false;
        for (uint32_t i = 0; i < acts.count; i++) {
            if (acts.items[i].kind != SE_ACT_LOG || acts.items[i].event != SE_EVT_KILL_SIGNAL)
                continue;
            assert_int_equal(acts.items[i].reason, rows[r].logged);
            seen = true;
        }
        assert_true(seen);
    }
}

static void
test_kill_interval_change_applies_to_running_escalation(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    struct se_kill_cfg cfg = cfg_default;
    se__kill_init(&k, &cfg, 0, 9, 0);
    feed(&k, &acts, SE_KILL_IN_GRACEFUL, 0, 0, SE_SIG_NONE);
    /* a reload lowers the graceful timeout: the next step escalates */
    cfg.graceful_timeout_ms = S(5);
    assert_int_equal(se__kill_deadline_ms(&k), S(5));
    acts.count = 0;
    feed(&k, &acts, SE_KILL_IN_TICK, S(5), 0, SE_SIG_NONE);
    char got[256];
    se_test_acts_str_nolog(&acts, 0, got, sizeof got);
    assert_string_equal(got, "signal 0 SIGQUIT");
}

static void
test_kill_resume_stopped_follows_each_quit_with_cont(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.resume_stopped = true;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(1), SE_KILL_IN_IMMEDIATE, "signal 0 SIGQUIT; signal 0 SIGCONT", S(11)},
        {S(11), SE_KILL_IN_TICK, "signal 0 SIGQUIT; signal 0 SIGCONT", S(31)},
        {S(601), SE_KILL_IN_TICK, "signal 0 SIGKILL", NEVER},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

/* An interval of 1 ms is a schedule, not "send once": TERM every 1 ms. */
static void
test_kill_one_ms_interval_resends_every_ms(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_interval_ms = 1;
    cfg.graceful_increment_ms = 0;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", 1},
        {1, SE_KILL_IN_TICK, "signal 0 SIGTERM", 2},
        {2, SE_KILL_IN_TICK, "signal 0 SIGTERM", 3},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

/* Interval 0 with an increment of 1 ms: the first gap (0 + 1 * 0) is
 * raised to 1 ms, then 1, 2, 3 ms: TERM at 0, 1, 2, 4, 7. */
static void
test_kill_zero_interval_with_increment_grows_from_one_ms(void **state)
{
    (void)state;
    struct se_kill_cfg cfg = cfg_default;
    cfg.graceful_interval_ms = 0;
    cfg.graceful_increment_ms = 1;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", 1},
        {1, SE_KILL_IN_TICK, "signal 0 SIGTERM", 2},
        {2, SE_KILL_IN_TICK, "signal 0 SIGTERM", 4},
        {4, SE_KILL_IN_TICK, "signal 0 SIGTERM", 7},
    };
    run_table(&cfg, rows, SE_ARRAY_LEN(rows));
}

/* Woken late exactly on a later slot (40 = 15 + 25): one TERM, and the next
 * deadline is the slot after it (75), never one already due. */
static void
test_kill_late_wakeup_on_a_slot_moves_past_it(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_KILL_IN_GRACEFUL, "signal 0 SIGTERM", S(15)},
        {S(40), SE_KILL_IN_TICK, "signal 0 SIGTERM", S(75)},
    };
    run_table(&cfg_default, rows, SE_ARRAY_LEN(rows));
}

/* se__kill_sent names only what was sent: nothing after init. */
static void
test_kill_sent_is_empty_until_a_signal_goes(void **state)
{
    (void)state;
    struct se_act items[16];
    struct se_acts acts = {.count = 0, .cap = 16, .items = items};
    struct se_kill k;
    se__kill_init(&k, &cfg_default, 0, 7, 0);
    for (int sig = 0; sig < 32; sig++)
        assert_false(se__kill_sent(&k, (enum se_sig)sig));
    assert_int_equal(se__kill_deadline_ms(&k), NEVER);
    struct se_kill_in in = {.kind = SE_KILL_IN_GRACEFUL, .reason = SE_REASON_STOP};
    se__kill_step(&k, &in, 0, &acts);
    assert_true(se__kill_sent(&k, SE_SIG_TERM));
    assert_false(se__kill_sent(&k, SE_SIG_QUIT));
    assert_false(se__kill_sent(&k, SE_SIG_KILL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_graceful_schedule_escalates_to_quit_then_kill),
        cmocka_unit_test(test_kill_graceful_timeout_minus_one_never_escalates),
        cmocka_unit_test(test_kill_immediate_timeout_minus_one_never_kills),
        cmocka_unit_test(test_kill_immediate_request_during_graceful_switches_at_once),
        cmocka_unit_test(test_kill_repeated_graceful_request_keeps_schedule),
        cmocka_unit_test(test_kill_never_signals_after_reaped),
        cmocka_unit_test(test_kill_zero_timeouts_send_quit_and_kill_at_once),
        cmocka_unit_test(test_kill_zero_interval_sends_once_per_phase),
        cmocka_unit_test(test_kill_late_wakeup_sends_one_signal_and_keeps_the_schedule),
        cmocka_unit_test(test_kill_escalation_anchors_immediate_phase_at_timeout),
        cmocka_unit_test(test_kill_esrch_is_quiet_and_the_schedule_goes_on),
        cmocka_unit_test(test_kill_failed_kill_is_retried),
        cmocka_unit_test(test_kill_logs_each_signal_with_attempt_and_reason),
        cmocka_unit_test(test_kill_immediate_after_graceful_logs_the_reason_it_names),
        cmocka_unit_test(test_kill_interval_change_applies_to_running_escalation),
        cmocka_unit_test(test_kill_resume_stopped_follows_each_quit_with_cont),
        cmocka_unit_test(test_kill_one_ms_interval_resends_every_ms),
        cmocka_unit_test(test_kill_zero_interval_with_increment_grows_from_one_ms),
        cmocka_unit_test(test_kill_late_wakeup_on_a_slot_moves_past_it),
        cmocka_unit_test(test_kill_sent_is_empty_until_a_signal_goes),
        cmocka_unit_test(test_kill_retried_kill_is_sent_once),
        cmocka_unit_test(test_kill_failed_kill_retry_follows_a_one_ms_interval),
        cmocka_unit_test(test_kill_failed_kill_retry_without_interval_waits_one_second),
    };
    return cmocka_run_group_tests_name("sm_kill", tests, NULL, NULL);
}
