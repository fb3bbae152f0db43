/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's log lines: every machine event, in both roles, has its exact
 * wording and level (the README's log lines; tests and operators grep them).
 * A table over se__driver_event_text: each row is one event with the fields
 * that choose between its wordings, at the edges of each choice.
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

#include "driver.h"

#define SUP SE_ROLE_SUPERVISOR
#define SRV SE_ROLE_SERVER
#define I   SE_LOG_INFO
#define W   SE_LOG_WARN
#define E   SE_LOG_ERROR
#define D   SE_LOG_DEBUG

struct row {
    enum se_role role;
    struct se_act act; /* .kind is set by the table runner */
    enum se_log_level level;
    const char *text; /* "%s" stands for se_strerror(act.err) */
};

static struct se_driver *
new_driver(enum se_role role)
{
    struct se_driver *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->role = role;
    d->hb_cfg.timeout_ms = 2500;
    /* a pid in each slot, and one past the supervisor's slots: a line
     * naming slot SE_SERVERS_MAX must not read it */
    for (uint32_t i = 0; i <= SE_SERVERS_MAX; i++)
        d->slots[i].pid = 40 + (int32_t)i;
    d->slots[6].pid = 0; /* a thread worker */
    d->slots[7].pid = 1;
    return d;
}

static void
run_table(const struct row *rows, size_t n)
{
    struct se_driver *drv[2] = {new_driver(SRV), new_driver(SUP)};
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct se_driver *d = drv[rows[i].role == SUP ? 1 : 0];
        struct se_act a = rows[i].act;
        a.kind = SE_ACT_LOG;
        char want[SE_LOG_LINE_MAX];
        char got[SE_LOG_LINE_MAX];
        snprintf(want, sizeof want, rows[i].text, se_strerror(a.err));
        memset(got, 'x', sizeof got);
        enum se_log_level level = se__driver_event_text(d, &a, got, sizeof got);
        if (strcmp(got, want) != 0 || level != rows[i].level) {
            print_error("row %zu: got level %d \"%.200s\"\n        want level %d \"%s\"\n", i,
                        (int)level, got, (int)rows[i].level, want);
            bad++;
        }
    }
    free(drv[0]);
    free(drv[1]);
    assert_int_equal(bad, 0);
}

static void
test_log_worker_events(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {SRV, {.event = SE_EVT_WORKER_STARTED, .slot = 3}, I, "Worker 3 started (pid 43)"},
        {SRV, {.event = SE_EVT_WORKER_STARTED, .slot = 6}, I, "Worker 6 started (thread)"},
        {SRV, {.event = SE_EVT_WORKER_STARTED, .slot = 7}, I, "Worker 7 started (pid 1)"},
        {SRV, {.event = SE_EVT_WORKER_FINISHED, .slot = 0}, I, "Worker 0 finished with status 0"},
        {SRV,
         {.event = SE_EVT_WORKER_FINISHED, .slot = 2, .status = -1, .sig = SE_SIG_TERM},
         I,
         "Worker 2 finished with signal SIGTERM"},
        {SRV,
         {.event = SE_EVT_WORKER_EXITED, .slot = 1, .status = 1},
         I,
         "Worker 1 exited with status 1"},
        {SRV,
         {.event = SE_EVT_WORKER_EXITED_UNEXPECTEDLY, .slot = 1, .status = 5},
         E,
         "Worker 1 exited unexpectedly with status 5"},
        {SRV,
         {.event = SE_EVT_WORKER_EXITED_UNEXPECTEDLY,
          .slot = 1,
          .status = -1,
          .sig = SE_SIG_KILL,
          .outside = true},
         E,
         "Worker 1 exited unexpectedly with signal SIGKILL (not sent by serverengine: the "
         "out-of-memory killer or an operator?)"},
        {SRV,
         {.event = SE_EVT_WORKER_EXITED_UNEXPECTEDLY,
          .slot = 1,
          .status = -1,
          .sig = SE_SIG_KILL,
          .count = 1},
         E,
         "Worker 1 exited unexpectedly with signal SIGKILL"},
        {SRV,
         {.event = SE_EVT_WORKER_UNRECOVERABLE, .slot = 4, .status = 3},
         W,
         "Worker 4 exited with unrecoverable status 3: not restarting it"},
        {SRV,
         {.event = SE_EVT_WORKER_RESTART_DELAYED, .slot = 2, .count = 1, .ms = 1500},
         I,
         "Restarting worker 2 in 1.500 s (restart_worker_interval)"},
        {SRV,
         {.event = SE_EVT_WORKER_RESTART_DELAYED, .slot = 2, .count = 0, .ms = 0},
         I,
         "Restarting worker 2 in 0.000 s (restart_worker_interval)"},
        {SRV,
         {.event = SE_EVT_WORKER_RESTART_DELAYED, .slot = 2, .count = 2, .ms = 4000},
         W,
         "Worker 2 ended 2 times in a row, each within a second of its start: restarting it in "
         "4.000 s (crash-loop backoff, worker_restart_backoff_max)"},
        {SRV,
         {.event = SE_EVT_WORKER_SPAWN_FAILED, .slot = 0, .err = -EAGAIN, .ms = -1},
         E,
         "Worker 0 could not be started: %s"},
        {SRV,
         {.event = SE_EVT_WORKER_SPAWN_FAILED, .slot = 0, .err = -EAGAIN, .ms = 0},
         E,
         "Worker 0 could not be started: %s; retrying in 0.000 s"},
        {SRV,
         {.event = SE_EVT_WORKER_STOP, .slot = 5, .graceful = true, .reason = SE_REASON_STOP},
         I,
         "Stopping worker 5 gracefully: stop request"},
        {SRV,
         {.event = SE_EVT_WORKER_STOP, .slot = 5, .reason = SE_REASON_SCALE_DOWN},
         I,
         "Stopping worker 5 immediately: scale down (workers lowered)"},
        {SRV,
         {.event = SE_EVT_WORKERS_SCALED, .count = 4, .status = 2},
         I,
         "Scaling workers from 4 to 2"},
        {SRV,
         {.event = SE_EVT_WORKERS_DONE, .status = 0},
         I,
         "All workers have stopped: the server exits with status 0"},
    };
    run_table(rows, SE_ARRAY_LEN(rows));
}

static void
test_log_heartbeat_and_kill_events(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {SRV,
         {.event = SE_EVT_HEARTBEAT_LOST, .slot = 1, .ms = 3001},
         E,
         "Worker 1 heartbeat timeout: no heartbeat for 3.001 s (worker_heartbeat_timeout 2.500 "
         "s); stopping it immediately"},
        {SUP,
         {.event = SE_EVT_HEARTBEAT_EOF, .slot = 1},
         W,
         "Server (pid 41) closed its heartbeat pipe but is still running; stopping it "
         "immediately"},
        {SRV,
         {.event = SE_EVT_KILL_SIGNAL,
          .slot = 3,
          .sig = SE_SIG_TERM,
          .count = 1,
          .reason = SE_REASON_HEARTBEAT},
         I,
         "Sending SIGTERM to worker 3 (attempt 1, heartbeat timeout)"},
        {SRV,
         {.event = SE_EVT_KILL_SIGNAL,
          .slot = 3,
          .sig = SE_SIG_KILL,
          .count = 2,
          .reason = SE_REASON_GROUP_LEFT},
         W,
         "Sending SIGKILL to worker 3 (attempt 2, what is left of its process group)"},
        {SRV,
         {.event = SE_EVT_KILL_ESCALATE, .slot = 3, .ms = 60000},
         W,
         "Worker 3 still running 60.000 s after a graceful stop (worker_graceful_kill_timeout): "
         "escalating to an immediate stop"},
        {SUP,
         {.event = SE_EVT_KILL_FINAL, .slot = 0, .ms = 250},
         W,
         "Server (pid 40) still running 0.250 s after an immediate stop "
         "(worker_immediate_kill_timeout): sending SIGKILL"},
        {SRV,
         {.event = SE_EVT_KILL_SIGNAL_FAILED, .slot = 2, .sig = SE_SIG_QUIT, .err = -EPERM},
         W,
         "Could not send SIGQUIT to worker 2: %s"},
    };
    run_table(rows, SE_ARRAY_LEN(rows));
}

static void
test_log_server_events(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {SUP, {.event = SE_EVT_SERVER_STARTED, .slot = 2}, I, "Server (pid 42) started"},
        /* a slot past the supervisor's names no pid */
        {SUP,
         {.event = SE_EVT_SERVER_STARTED, .slot = SE_SERVERS_MAX},
         I,
         "Server (pid 0) started"},
        {SUP, {.event = SE_EVT_SERVER_FINISHED, .status = 0}, I, "Server finished with status 0"},
        {SUP,
         {.event = SE_EVT_SERVER_FINISHED, .status = -1, .sig = SE_SIG_KILL},
         I,
         "Server finished with signal SIGKILL"},
        {SUP,
         {.event = SE_EVT_SERVER_FINISHED_UNEXPECTEDLY, .status = 1},
         E,
         "Server finished unexpectedly with status 1"},
        {SUP,
         {.event = SE_EVT_SERVER_RESTART_DELAYED, .ms = 2000},
         I,
         "Restarting the server in 2.000 s (server_restart_wait)"},
        {SUP,
         {.event = SE_EVT_SERVER_RESTART_DELAYED, .no_slot = true, .ms = 1000},
         W,
         "Every server slot holds a detached server still stopping: the server starts when one "
         "ends (retrying in 1.000 s)"},
        {SUP,
         {.event = SE_EVT_SERVER_SPAWN_FAILED, .err = -ENOENT, .ms = 100},
         E,
         "The server could not be started: %s; retrying in 0.100 s"},
        /* while stopping it is not retried */
        {SUP,
         {.event = SE_EVT_SERVER_SPAWN_FAILED, .err = -ENOENT, .ms = -1},
         E,
         "The server could not be started: %s"},
        {SUP,
         {.event = SE_EVT_SERVER_DETACH, .slot = 1, .ms = 10000},
         I,
         "Detaching server (pid 41) for a live restart: it stops gracefully; the next server "
         "starts when it exits or in 10.000 s (server_detach_wait)"},
        {SUP,
         {.event = SE_EVT_DETACHED_FINISHED, .slot = 3, .status = 0},
         I,
         "Detached server finished with status 0"},
        {SUP,
         {.event = SE_EVT_SERVER_STOP, .slot = 0, .reason = SE_REASON_DETACH, .graceful = true},
         I,
         "Stopping server (pid 40) gracefully: detach (live restart)"},
        {SUP, {.event = SE_EVT_SUPERVISOR_DONE, .status = 3}, I, "Supervisor exits with status 3"},
    };
    run_table(rows, SE_ARRAY_LEN(rows));
}

static void
test_log_ignored_commands_name_input_and_state(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {SUP,
         {.event = SE_EVT_CMD_IGNORED, .input = SE_SUP_IN_TICK, .state = SE_SUP_INIT},
         I,
         "Ignoring a tick while the supervisor is starting up"},
        {SUP,
         {.event = SE_EVT_CMD_IGNORED, .input = SE_SUP_IN_DUMP, .state = SE_SUP_DONE},
         I,
         "Ignoring dump while the supervisor is done"},
        {SUP,
         {.event = SE_EVT_CMD_IGNORED, .input = SE_SUP_IN_RELOAD, .state = SE_SUP_RUNNING},
         I,
         "Ignoring reload while the supervisor is running (disable_reload?)"},
        /* out of range on either side names nothing */
        {SUP,
         {.event = SE_EVT_CMD_IGNORED, .input = SE_SUP_IN_COUNT, .state = UINT32_MAX},
         I,
         "Ignoring ? while the supervisor is ?"},
        {SUP,
         {.event = SE_EVT_CMD_IGNORED, .input = SE_SUP_IN_DETACH, .state = SE_SUP_STATE_COUNT},
         I,
         "Ignoring detach while the supervisor is ?"},
        {SUP, {.event = SE_EVT_NONE}, D, "event 0"},
    };
    run_table(rows, SE_ARRAY_LEN(rows));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_worker_events),
        cmocka_unit_test(test_log_heartbeat_and_kill_events),
        cmocka_unit_test(test_log_server_events),
        cmocka_unit_test(test_log_ignored_commands_name_input_and_state),
    };
    return cmocka_run_group_tests_name("driver_log", tests, NULL, NULL);
}
