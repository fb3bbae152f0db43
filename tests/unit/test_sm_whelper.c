/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process worker's helper machine: beats, commands, the CONT window and
 * the server gone, as tables of timed inputs and expected actions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sm_whelper.h"

#define NEVER SE_INT64_NEVER

enum { T = SE_WH_TIMER, SIG = SE_WH_SIGNAL, GONE = SE_WH_PARENT_GONE, DONE = SE_WH_RUN_DONE };
enum { OTHER = 0, SERVER = 1 }; /* who sent the signal */

struct row {
    int64_t at_ms;
    int in;
    enum se_cmd cmd;
    int from;
    uint32_t expect; /* SE_WH_* bits */
    int64_t deadline_ms;
};

static void
run_table(bool manual, int64_t interval_ms, const struct row *rows, size_t n)
{
    struct se_whelper h;
    se__wh_init(&h, manual, interval_ms, 0);
    for (size_t i = 0; i < n; i++) {
        struct se_wh_in in = {.kind = (enum se_wh_in_kind)rows[i].in,
                              .cmd = rows[i].cmd,
                              .from_server = rows[i].from == SERVER,
                              .dump_enabled = true};
        uint32_t got = se__wh_step(&h, &in, rows[i].at_ms);
        int64_t dl = se__wh_deadline_ms(&h);
        if (got != rows[i].expect || dl != rows[i].deadline_ms) {
            print_error("row %zu at %lld ms: got 0x%x deadline %lld, want 0x%x deadline %lld\n", i,
                        (long long)rows[i].at_ms, got, (long long)dl, rows[i].expect,
                        (long long)rows[i].deadline_ms);
            fail();
        }
    }
}

/* Automatic beats: one per interval, on the deadline, from the last beat. */
static void
test_beats(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {999, T, 0, 0, 0, 1000},           /* early: nothing */
        {1000, T, 0, 0, SE_WH_BEAT, 2000}, /* on time */
        {2300, T, 0, 0, SE_WH_BEAT, 3300}, /* late: the next one from now */
        {2400, SIG, SE_CMD_RELOAD, OTHER, SE_WH_RELOAD, 3300},
        {3300, DONE, 0, 0, SE_WH_RETURN, NEVER},
        {4300, T, 0, 0, 0, NEVER}, /* ended: nothing more */
    };
    run_table(false, 1000, rows, SE_ARRAY_LEN(rows));
}

/* Manual mode: the program beats; the helper never does. */
static void
test_manual(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {1000, T, 0, 0, 0, NEVER},
        {5000, T, 0, 0, 0, NEVER},
        {6000, SIG, SE_CMD_GRACEFUL_STOP, OTHER, SE_WH_STOP, NEVER},
    };
    run_table(true, 1000, rows, SE_ARRAY_LEN(rows));
}

/* Every graceful command stops run; the immediate ones are not the
 * helper's (their signals keep the default action). */
static void
test_commands(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, SIG, SE_CMD_GRACEFUL_STOP, OTHER, SE_WH_STOP, 1000},
        {20, SIG, SE_CMD_GRACEFUL_RESTART, SERVER, SE_WH_STOP, 1000},
        {30, SIG, SE_CMD_DETACH, OTHER, SE_WH_STOP, 1000},
        {40, SIG, SE_CMD_IMMEDIATE_STOP, OTHER, 0, 1000},
        {50, SIG, SE_CMD_IMMEDIATE_RESTART, OTHER, 0, 1000},
        {60, SIG, SE_CMD_NONE, OTHER, 0, 1000},
        {70, SIG, SE_CMD_RELOAD, SERVER, SE_WH_RELOAD, 1000},
    };
    run_table(false, 1000, rows, SE_ARRAY_LEN(rows));
}

/* CONT: a dump, except from the server and within the window after a stop
 * request (the window runs from the last stop request). */
static void
test_cont_window(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {100, SIG, SE_CMD_DUMP, OTHER, SE_WH_DUMP, NEVER},
        {200, SIG, SE_CMD_DUMP, SERVER, 0, NEVER},
        {300, SIG, SE_CMD_GRACEFUL_STOP, OTHER, SE_WH_STOP, NEVER},
        {301, SIG, SE_CMD_DUMP, OTHER, 0, NEVER},
        {300 + SE_DUMP_AFTER_STOP_MS - 1, SIG, SE_CMD_DUMP, OTHER, 0, NEVER},
        {300 + SE_DUMP_AFTER_STOP_MS, SIG, SE_CMD_DUMP, OTHER, SE_WH_DUMP, NEVER},
        {300 + SE_DUMP_AFTER_STOP_MS, SIG, SE_CMD_DUMP, SERVER, 0, NEVER},
        {6000, SIG, SE_CMD_GRACEFUL_RESTART, OTHER, SE_WH_STOP, NEVER},
        {6000 + SE_DUMP_AFTER_STOP_MS - 1, SIG, SE_CMD_DUMP, OTHER, 0, NEVER},
    };
    run_table(true, 1000, rows, SE_ARRAY_LEN(rows));
}

/* A stop request at the clock's zero still opens the window. */
static void
test_cont_window_at_zero(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, SIG, SE_CMD_GRACEFUL_STOP, OTHER, SE_WH_STOP, NEVER},
        {1, SIG, SE_CMD_DUMP, OTHER, 0, NEVER},
    };
    run_table(true, 1000, rows, SE_ARRAY_LEN(rows));
}

/* disable_sigdump: CONT does nothing. */
static void
test_dump_disabled(void **state)
{
    (void)state;
    struct se_whelper h;
    se__wh_init(&h, true, 1000, 0);
    struct se_wh_in in = {.kind = SE_WH_SIGNAL, .cmd = SE_CMD_DUMP, .dump_enabled = false};
    assert_int_equal(se__wh_step(&h, &in, 100), 0);
    in.dump_enabled = true;
    assert_int_equal(se__wh_step(&h, &in, 100), SE_WH_DUMP);
}

/* The server gone: stop, then exit when run returns. No beat, no command
 * meanwhile; the pipe is no longer watched. */
static void
test_orphan_run_returns(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {500, GONE, 0, 0, SE_WH_ORPHANED | SE_WH_STOP, 500 + SE_STOP_GRACE_MS},
        {1000, T, 0, 0, 0, 500 + SE_STOP_GRACE_MS},
        {1100, SIG, SE_CMD_RELOAD, OTHER, 0, 500 + SE_STOP_GRACE_MS},
        {1200, SIG, SE_CMD_DUMP, OTHER, 0, 500 + SE_STOP_GRACE_MS},
        {1300, GONE, 0, 0, 0, 500 + SE_STOP_GRACE_MS},
        {2000, DONE, 0, 0, SE_WH_EXIT, NEVER},
    };
    run_table(false, 1000, rows, SE_ARRAY_LEN(rows));
    struct se_whelper h;
    se__wh_init(&h, false, 1000, 0);
    assert_true(se__wh_watch_parent(&h));
    struct se_wh_in in = {.kind = SE_WH_PARENT_GONE};
    se__wh_step(&h, &in, 10);
    assert_false(se__wh_watch_parent(&h));
}

/* The server gone and run does not return: exit at the grace's end, not
 * a millisecond before. */
static void
test_orphan_grace_ends(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, GONE, 0, 0, SE_WH_ORPHANED | SE_WH_STOP, SE_STOP_GRACE_MS},
        {SE_STOP_GRACE_MS - 1, T, 0, 0, 0, SE_STOP_GRACE_MS},
        {SE_STOP_GRACE_MS, T, 0, 0, SE_WH_EXIT, NEVER},
        {SE_STOP_GRACE_MS + 1, DONE, 0, 0, 0, NEVER},
    };
    run_table(true, 1000, rows, SE_ARRAY_LEN(rows));
}

/* A stop before the server went: the orphan's stop comes anyway (the
 * caller calls stop once). */
static void
test_stop_then_orphan(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {100, SIG, SE_CMD_GRACEFUL_STOP, OTHER, SE_WH_STOP, 1000},
        {200, GONE, 0, 0, SE_WH_ORPHANED | SE_WH_STOP, 200 + SE_STOP_GRACE_MS},
        {300, DONE, 0, 0, SE_WH_EXIT, NEVER},
    };
    run_table(false, 1000, rows, SE_ARRAY_LEN(rows));
}

/* An interval below a millisecond (0, or negative) beats every millisecond:
 * never a busy loop on a deadline that is already due. */
static void
test_interval_floor_is_one_ms(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, T, 0, 0, 0, 1},
        {1, T, 0, 0, SE_WH_BEAT, 2},
        {2, T, 0, 0, SE_WH_BEAT, 3},
    };
    run_table(false, 0, rows, SE_ARRAY_LEN(rows));
    run_table(false, -5, rows, SE_ARRAY_LEN(rows));
    run_table(false, 1, rows, SE_ARRAY_LEN(rows));
}

/* A command number the helper does not know (a newer signal map's) does
 * nothing: no stop, no reload, no dump. */
static void
test_unknown_command_does_nothing(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, SIG, (enum se_cmd)SE_CMD_COUNT, OTHER, 0, 1000},
        {20, SIG, (enum se_cmd)(SE_CMD_COUNT + 7), SERVER, 0, 1000},
        {1000, T, 0, 0, SE_WH_BEAT, 2000},
    };
    run_table(false, 1000, rows, SE_ARRAY_LEN(rows));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beats),
        cmocka_unit_test(test_interval_floor_is_one_ms),
        cmocka_unit_test(test_unknown_command_does_nothing),
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_cont_window),
        cmocka_unit_test(test_cont_window_at_zero),
        cmocka_unit_test(test_dump_disabled),
        cmocka_unit_test(test_orphan_run_returns),
        cmocka_unit_test(test_orphan_grace_ends),
        cmocka_unit_test(test_stop_then_orphan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
