/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status an operator reads (engine/status_fmt.c): a pool slot's state
 * in the operator's words, a snapshot as the table and as JSON (exact
 * texts), escaping, dates, a buffer too small, the socket's path, and
 * 1,024 workers with every field at its widest within SE_STATUS_TEXT_MAX.
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

#include "status.h"

/* ---- states ------------------------------------------------------------- */

struct state_row {
    enum se_slot_state slot;
    int64_t start_at_ms;
    bool pool_stopping;
    enum se_status_state want;
    int64_t backoff_ms; /* BACKOFF only */
};

static void
test_status_state_names_each_slot_as_an_operator_reads_it(void **state)
{
    (void)state;
    static const struct state_row rows[] = {
        {SE_SLOT_STARTING, 0, false, SE_STATUS_STARTING, 0},
        {SE_SLOT_UP, 0, false, SE_STATUS_RUNNING, 0},
        {SE_SLOT_UP, 0, true, SE_STATUS_RUNNING, 0}, /* not yet asked to stop */
        {SE_SLOT_STOPPING, 0, false, SE_STATUS_STOPPING, 0},
        {SE_SLOT_STOPPING, 0, true, SE_STATUS_STOPPING, 0},
        {SE_SLOT_DEAD, 0, false, SE_STATUS_DEAD, 0},
        {SE_SLOT_DEAD, 0, true, SE_STATUS_DEAD, 0},
        {SE_SLOT_DOWN, 11600, false, SE_STATUS_BACKOFF, 1600}, /* now is 10000 */
        {SE_SLOT_DOWN, 10001, false, SE_STATUS_BACKOFF, 1},
        {SE_SLOT_DOWN, 10000, false, SE_STATUS_WAITING, 0}, /* due: at its turn */
        {SE_SLOT_DOWN, 0, false, SE_STATUS_WAITING, 0},
        {SE_SLOT_DOWN, 11600, true, SE_STATUS_STOPPED, 0}, /* never restarted now */
        {SE_SLOT_DOWN, 0, true, SE_STATUS_STOPPED, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct state_row *r = &rows[i];
        struct se_slot ps = {.state = r->slot, .start_at_ms = r->start_at_ms};
        int64_t backoff = -1;
        enum se_status_state got = se__status_state(&ps, r->pool_stopping, 10000, &backoff);
        if (got != r->want)
            fail_msg("row %zu: %s, expected %s", i, se__status_state_name(got),
                     se__status_state_name(r->want));
        if (r->want == SE_STATUS_BACKOFF) assert_int_equal(backoff, r->backoff_ms);
        if (r->want != SE_STATUS_BACKOFF) assert_int_equal(backoff, -1); /* left alone */
    }
    assert_string_equal(se__status_state_name(SE_STATUS_WAITING), "waiting");
    assert_string_equal(se__status_state_name(SE_STATUS_STOPPED), "stopped");
}

/* ---- a snapshot ----------------------------------------------------------- */

static struct se_status *
sample(void)
{
    struct se_status *st = calloc(1, sizeof *st);
    assert_non_null(st);
    st->server_pid = 100;
    st->supervisor_pid = 99;
    snprintf(st->config, sizeof st->config, "/etc/app.yml");
    st->overrides = 2;
    st->now_s = 1796216400; /* 2026-12-02 13:00:00 UTC */
    st->up_ms = 3723000;    /* 1 h 2 min 3 s */
    st->reloads = 2;
    st->reload_age_ms = 65000;
    st->workers_wanted = 5;
    st->count = 5;
    st->w[0] = (struct se_status_worker){
        .id = 0, .pid = 201, .state = SE_STATUS_RUNNING, .uptime_ms = 5400, .beat_age_ms = 300};
    st->w[1] = (struct se_status_worker){.id = 1,
                                         .state = SE_STATUS_BACKOFF,
                                         .uptime_ms = -1,
                                         .backoff_ms = 1600,
                                         .restarts = 4,
                                         .ended = true,
                                         .last_code = -1,
                                         .last_sig = SE_SIG_KILL,
                                         .beat_age_ms = -1};
    st->w[2] = (struct se_status_worker){.id = 2,
                                         .pid = 203,
                                         .state = SE_STATUS_STOPPING,
                                         .stop_immediate = true,
                                         .uptime_ms = 90061000,
                                         .restarts = 1,
                                         .ended = true,
                                         .last_code = 3,
                                         .beat_age_ms = 12000};
    st->w[3] = (struct se_status_worker){.id = 3,
                                         .state = SE_STATUS_DEAD,
                                         .uptime_ms = -1,
                                         .restarts = 2,
                                         .ended = true,
                                         .last_code = 7,
                                         .beat_age_ms = -1};
    st->w[4] = (struct se_status_worker){.id = 4,
                                         .pid = 205,
                                         .state = SE_STATUS_STARTING,
                                         .uptime_ms = 0,
                                         .restarts = 9,
                                         .ended = true,
                                         .last_code = -1,
                                         .last_sig = SE_SIG_OTHER,
                                         .last_sig_raw = 34,
                                         .last_sig_ours = true,
                                         .beat_age_ms = 0};
    return st;
}

static void
test_status_table_names_every_field(void **state)
{
    (void)state;
    struct se_status *st = sample();
    static char buf[SE_STATUS_TEXT_MAX];
    int n = se__status_format(st, false, buf, sizeof buf);
    static const char want[] =
        "server pid 100, supervisor pid 99, up 1h02m\n"
        "configuration: /etc/app.yml, 2 -s settings; reloaded 2 times, last at 2026-12-02 "
        "12:58:55 UTC (1m05s ago)\n"
        "workers: 1 running of 5 wanted\n"
        "\n"
        "ID    PID      STATE                  UPTIME   RESTARTS LAST EXIT                    "
        "            HEARTBEAT\n"
        "0     201      running                5.4s     0        -                            "
        "            300ms ago\n"
        "1     -        backoff for 1.6s       -        4        SIGKILL (not sent by "
        "serverengine)       -\n"
        "2     203      stopping (immediate)   1d01h    1        status 3                     "
        "            12s ago\n"
        "3     -        dead                   -        2        status 7                     "
        "            -\n"
        "4     205      starting               0ms      9        SIG34 (sent by serverengine) "
        "            0ms ago\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    free(st);
}

static void
test_status_json_names_every_field(void **state)
{
    (void)state;
    struct se_status *st = sample();
    st->count = 3;
    static char buf[SE_STATUS_TEXT_MAX];
    int n = se__status_format(st, true, buf, sizeof buf);
    static const char want[] =
        "{\"server_pid\":100,\"supervisor_pid\":99,\"config\":\"/etc/app.yml\",\"overrides\":2,"
        "\"uptime_ms\":3723000,\"now\":\"2026-12-02T13:00:00Z\",\"reloads\":2,"
        "\"last_reload\":\"2026-12-02T12:58:55Z\",\"stopping\":false,\"workers_wanted\":5,"
        "\"workers\":["
        "{\"id\":0,\"pid\":201,\"state\":\"running\",\"immediate\":false,\"backoff_ms\":null,"
        "\"uptime_ms\":5400,\"restarts\":0,\"last_exit\":null,\"heartbeat_age_ms\":300},"
        "{\"id\":1,\"pid\":null,\"state\":\"backoff\",\"immediate\":false,\"backoff_ms\":1600,"
        "\"uptime_ms\":null,\"restarts\":4,\"last_exit\":{\"status\":null,\"signal\":\"SIGKILL\","
        "\"sent_by_engine\":false},\"heartbeat_age_ms\":null},"
        "{\"id\":2,\"pid\":203,\"state\":\"stopping\",\"immediate\":true,\"backoff_ms\":null,"
        "\"uptime_ms\":90061000,\"restarts\":1,\"last_exit\":{\"status\":3,\"signal\":null,"
        "\"sent_by_engine\":false},\"heartbeat_age_ms\":12000}"
        "]}\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    free(st);
}

static void
test_status_without_supervisor_file_or_reload_says_so(void **state)
{
    (void)state;
    struct se_status *st = sample();
    st->supervisor_pid = 0;
    st->config[0] = '\0';
    st->overrides = 1;
    st->reloads = 0;
    st->reload_age_ms = -1;
    st->stopping = true;
    st->count = 0;
    static char buf[SE_STATUS_TEXT_MAX];
    se__status_format(st, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "server pid 100, up 1h02m, stopping\n"
                                "configuration: no file, 1 -s setting; never reloaded\n"
                                "workers: 0 running of 5 wanted\n"));
    se__status_format(st, true, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"supervisor_pid\":null,\"config\":null,"));
    assert_non_null(strstr(buf, "\"last_reload\":null,\"stopping\":true,"));
    assert_non_null(strstr(buf, "\"workers\":[]}\n"));
    free(st);
}

static void
test_status_json_escapes_the_configuration_path(void **state)
{
    (void)state;
    struct se_status *st = sample();
    snprintf(st->config, sizeof st->config, "/a \"b\"\\c\n\x01.yml");
    st->count = 0;
    static char buf[SE_STATUS_TEXT_MAX];
    assert_true(se__status_format(st, true, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"config\":\"/a \\\"b\\\"\\\\c\\u000a\\u0001.yml\","));
    free(st);
}

struct date_row {
    int64_t now_s;
    const char *want;
};

static void
test_status_dates_are_utc_on_the_civil_calendar(void **state)
{
    (void)state;
    static const struct date_row rows[] = {
        {0, "\"now\":\"1970-01-01T00:00:00Z\""},
        {951825600, "\"now\":\"2000-02-29T12:00:00Z\""},  /* a leap day of a 400-year */
        {4107542399, "\"now\":\"2100-02-28T23:59:59Z\""}, /* 2100 is no leap year */
        {1796216400, "\"now\":\"2026-12-02T13:00:00Z\""},
    };
    struct se_status *st = sample();
    st->count = 0;
    static char buf[SE_STATUS_TEXT_MAX];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        st->now_s = rows[i].now_s;
        se__status_format(st, true, buf, sizeof buf);
        if (strstr(buf, rows[i].want) == NULL) fail_msg("%s not in %s", rows[i].want, buf);
    }
    free(st);
}

static void
test_status_too_small_a_buffer_is_enospc(void **state)
{
    (void)state;
    struct se_status *st = sample();
    char small[64];
    assert_int_equal(se__status_format(st, false, small, sizeof small), -ENOSPC);
    assert_true(strlen(small) < sizeof small); /* cut, still a string */
    assert_int_equal(se__status_format(st, true, small, sizeof small), -ENOSPC);
    free(st);
}

/* 1,024 workers, each field at its widest, a configuration path of the
 * longest kind and all control bytes (6 bytes each in JSON): both texts fit. */
static void
test_status_at_the_pool_maximum_fits_the_answer(void **state)
{
    (void)state;
    struct se_status *st = sample();
    memset(st->config, 0x01, SE_PATH_MAX - 1);
    st->config[SE_PATH_MAX - 1] = '\0';
    st->server_pid = st->supervisor_pid = INT32_MAX;
    st->overrides = st->reloads = UINT32_MAX;
    st->up_ms = st->reload_age_ms = INT64_MAX / 2;
    st->now_s = INT64_MAX / 4000;
    st->workers_wanted = st->count = SE_WORKERS_MAX;
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++)
        st->w[i] = (struct se_status_worker){.id = i,
                                             .pid = INT32_MAX,
                                             .state = SE_STATUS_BACKOFF,
                                             .backoff_ms = INT64_MAX / 2,
                                             .uptime_ms = INT64_MAX / 2,
                                             .restarts = UINT32_MAX,
                                             .ended = true,
                                             .last_code = -1,
                                             .last_sig = SE_SIG_OTHER,
                                             .last_sig_raw = INT32_MIN,
                                             .beat_age_ms = INT64_MAX / 2};
    static char buf[SE_STATUS_TEXT_MAX];
    int table = se__status_format(st, false, buf, sizeof buf);
    int json = se__status_format(st, true, buf, sizeof buf);
    if (table < 0 || json < 0) fail_msg("table %d, json %d bytes", table, json);
    assert_non_null(strstr(buf, "{\"id\":1023,"));
    free(st);
}

struct path_row {
    const char *pid_path;
    int32_t pid;
    const char *dir;
    const char *want; /* NULL: too long */
};

static void
test_status_socket_path_is_beside_the_pid_file_or_named_by_pid(void **state)
{
    (void)state;
    static char long_dir[200], long_pid[102], pid_107[101];
    memset(long_dir, 'd', sizeof long_dir - 1);
    /* a unix socket's path is at most 107 bytes: PID_PATH.status of 108 is refused */
    memset(long_pid, 'p', sizeof long_pid - 1);
    memset(pid_107, 'p', sizeof pid_107 - 1);
    static const struct path_row rows[] = {
        {"/run/app.pid", 42, "/tmp", "/run/app.pid.status"},
        {"", 42, "/tmp", "/tmp/serverengine-status-42.sock"},
        {NULL, 7, "/var/run/se", "/var/run/se/serverengine-status-7.sock"},
        {long_pid, 1, "/tmp", NULL},
        {NULL, 1, long_dir, NULL},
    };
    char buf107[256];
    assert_int_equal(se__status_path(pid_107, 1, "/tmp", buf107, sizeof buf107), 107);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct path_row *r = &rows[i];
        char buf[256];
        int n = se__status_path(r->pid_path, r->pid, r->dir, buf, sizeof buf);
        if (r->want == NULL) {
            assert_int_equal(n, -ENAMETOOLONG);
            continue;
        }
        assert_string_equal(buf, r->want);
        assert_int_equal(n, (int)strlen(r->want));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_state_names_each_slot_as_an_operator_reads_it),
        cmocka_unit_test(test_status_table_names_every_field),
        cmocka_unit_test(test_status_json_names_every_field),
        cmocka_unit_test(test_status_without_supervisor_file_or_reload_says_so),
        cmocka_unit_test(test_status_json_escapes_the_configuration_path),
        cmocka_unit_test(test_status_dates_are_utc_on_the_civil_calendar),
        cmocka_unit_test(test_status_too_small_a_buffer_is_enospc),
        cmocka_unit_test(test_status_at_the_pool_maximum_fits_the_answer),
        cmocka_unit_test(test_status_socket_path_is_beside_the_pid_file_or_named_by_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
