/* SPDX-License-Identifier: Apache-2.0 */
/* Heartbeat tracking, as tables of timed inputs and expected actions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sm_heartbeat.h"
#include "support/act_fmt.h"

#define NEVER SE_INT64_NEVER

struct row {
    int64_t at_ms;
    enum se_hb_in_kind in;
    int64_t stamp_ms;
    const char *expect;
    int64_t deadline_ms;
};

static void
run_table(int64_t timeout_ms, int64_t start_ms, const struct row *rows, size_t n)
{
    struct se_act items[8];
    struct se_acts acts = {.count = 0, .cap = 8, .items = items};
    struct se_hb_cfg cfg = {.timeout_ms = timeout_ms};
    struct se_hb hb;
    char got[256];
    se__hb_init(&hb, &cfg, 4, start_ms);
    for (size_t i = 0; i < n; i++) {
        struct se_hb_in in = {.kind = rows[i].in, .stamp_ms = rows[i].stamp_ms};
        acts.count = 0;
        se__hb_step(&hb, &in, rows[i].at_ms, &acts);
        se_test_acts_str(&acts, 0, got, sizeof got);
        if (strcmp(got, rows[i].expect) != 0 || se__hb_deadline_ms(&hb) != rows[i].deadline_ms) {
            print_error("row %zu: got \"%s\" deadline %lld, want \"%s\" deadline %lld\n", i, got,
                        (long long)se__hb_deadline_ms(&hb), rows[i].expect,
                        (long long)rows[i].deadline_ms);
            fail();
        }
    }
}

static void
test_hb_lost_at_exactly_the_timeout_not_before(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_HB_IN_TICK, 0, "", 1000},
        {999, SE_HB_IN_TICK, 0, "", 1000},
        {1000, SE_HB_IN_TICK, 0, "lost 4 age=1000", NEVER},
        /* reported once */
        {5000, SE_HB_IN_TICK, 0, "", NEVER},
    };
    run_table(1000, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_beats_move_the_deadline(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {300, SE_HB_IN_BEAT, 250, "", 1250},
        /* at the old deadline the driver reads a newer stamp first */
        {1250, SE_HB_IN_BEAT, 1200, "", 2200},
        /* an older stamp never moves the deadline back */
        {1300, SE_HB_IN_BEAT, 900, "", 2200},
        {2199, SE_HB_IN_TICK, 0, "", 2200},
        {2200, SE_HB_IN_TICK, 0, "lost 4 age=1000", NEVER},
    };
    run_table(1000, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_future_stamp_counts_as_now(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {100, SE_HB_IN_BEAT, 150, "", 1100},
    };
    run_table(1000, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_timeout_minus_one_is_never_lost(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SE_HB_IN_TICK, 0, "", NEVER},
        {INT64_C(1) << 40, SE_HB_IN_TICK, 0, "", NEVER},
    };
    run_table(-1, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_stop_ends_watching(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {500, SE_HB_IN_STOP, 0, "", NEVER},
        {5000, SE_HB_IN_TICK, 0, "", NEVER},
    };
    run_table(1000, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_start_time_counts_as_first_beat(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {7000, SE_HB_IN_TICK, 0, "", 8000},
        {8000, SE_HB_IN_TICK, 0, "lost 4 age=1000", NEVER},
    };
    run_table(1000, 7000, rows, SE_ARRAY_LEN(rows));
}

static void
test_hb_eof_is_lost_after_the_grace_unless_reaped(void **state)
{
    (void)state;
    struct se_act items[8];
    struct se_acts acts = {.count = 0, .cap = 8, .items = items};
    struct se_hb_cfg cfg = {.timeout_ms = 180000};
    struct se_hb hb;
    se__hb_init(&hb, &cfg, 1, 0);
    struct se_hb_in in = {.kind = SE_HB_IN_EOF};
    se__hb_step(&hb, &in, 500, &acts);
    assert_int_equal(acts.count, 0);
    assert_int_equal(se__hb_deadline_ms(&hb), 500 + SE_HB_EOF_GRACE_MS);
    in.kind = SE_HB_IN_TICK;
    se__hb_step(&hb, &in, 500 + SE_HB_EOF_GRACE_MS, &acts);
    assert_int_equal(acts.count, 1);
    assert_int_equal(acts.items[0].kind, SE_ACT_LOST);
    assert_int_equal(acts.items[0].reason, SE_REASON_HEARTBEAT_EOF);
    /* the usual case: the exit is reaped within the grace */
    se__hb_init(&hb, &cfg, 1, 0);
    acts.count = 0;
    in.kind = SE_HB_IN_EOF;
    se__hb_step(&hb, &in, 500, &acts);
    in.kind = SE_HB_IN_STOP;
    se__hb_step(&hb, &in, 501, &acts);
    assert_int_equal(se__hb_deadline_ms(&hb), NEVER);
    assert_int_equal(acts.count, 0);
    /* with heartbeat timeouts off, EOF still counts */
    cfg.timeout_ms = -1;
    se__hb_init(&hb, &cfg, 1, 0);
    in.kind = SE_HB_IN_EOF;
    se__hb_step(&hb, &in, 7, &acts);
    assert_int_equal(se__hb_deadline_ms(&hb), 7 + SE_HB_EOF_GRACE_MS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hb_lost_at_exactly_the_timeout_not_before),
        cmocka_unit_test(test_hb_beats_move_the_deadline),
        cmocka_unit_test(test_hb_future_stamp_counts_as_now),
        cmocka_unit_test(test_hb_timeout_minus_one_is_never_lost),
        cmocka_unit_test(test_hb_stop_ends_watching),
        cmocka_unit_test(test_hb_start_time_counts_as_first_beat),
        cmocka_unit_test(test_hb_eof_is_lost_after_the_grace_unless_reaped),
    };
    return cmocka_run_group_tests_name("sm_heartbeat", tests, NULL, NULL);
}
