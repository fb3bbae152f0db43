/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spawn workers (worker_type spawn) with real programs: start, stop,
 * restart and reload by signal, kill escalation of a program that ignores
 * TERM, heartbeats written on SERVERENGINE_HEARTBEAT_PIPE, crash loops and
 * exit codes, a program that cannot be executed, a server killed under its
 * programs, what a program finds in its environment, and the command pipe
 * (command_sender: pipe) to the programs and between supervisor and server.
 * The program is the test binary itself (tests/support/itest_spawn.c); it
 * writes "TEST ..." lines to the engine's log.
 *
 * Every wait polls the log or an exit status against a deadline. To show
 * that something did NOT happen, a test causes a later event and waits for
 * it, then counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/itest.h"

#define DL             ITEST_DEADLINE_MS
#define LINE_MAX_BYTES 1024

static void
wait_runs(struct itest *t, unsigned workers, unsigned count)
{
    char text[64];
    for (unsigned id = 0; id < workers; id++) {
        snprintf(text, sizeof text, "TEST run worker=%u pid=", id);
        itest_wait_log(t, text, count, DL);
    }
}

static unsigned count_logf(struct itest *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static unsigned
count_logf(struct itest *t, const char *fmt, ...)
{
    char text[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return itest_count_log(t, text);
}

static void
stop_and_expect(struct itest *t, pid_t server, int status)
{
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), status);
}

static pid_t
start_spawn(struct itest *t, unsigned workers)
{
    itest_set(t, "worker_type=spawn");
    itest_set(t, "workers=%u", workers);
    return itest_start(t, NULL, NULL);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void
test_spawn_workers_start_and_term_stops_each_program_gracefully(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 3);
    wait_runs(t, 3, 1);
    stop_and_expect(t, server, 0);
    for (unsigned id = 0; id < 3; id++) {
        assert_int_equal(count_logf(t, "Sending SIGTERM to worker %u", id), 1);
        assert_int_equal(count_logf(t, "TEST stop worker=%u", id), 1);
        assert_int_equal(count_logf(t, "Worker %u finished with status 0", id), 1);
    }
    assert_int_equal(itest_count_log(t, "TEST run worker="), 3);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
}

static void
test_usr1_restarts_the_programs_gracefully(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    pid_t first = itest_worker_pid(t, 0);
    itest_kill(server, SIGUSR1);
    wait_runs(t, 2, 2);
    assert_int_not_equal(itest_worker_pid(t, 0), first);
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 2);
    stop_and_expect(t, server, 0);
    assert_int_equal(itest_count_log(t, "TEST before_run"), 1); /* the server was kept */
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 4);
}

static void
test_hup_restarts_the_programs_immediately(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    itest_kill(server, SIGHUP);
    wait_runs(t, 2, 2);
    for (unsigned id = 0; id < 2; id++)
        assert_int_equal(count_logf(t, "Worker %u finished with signal SIGQUIT", id), 1);
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 0);
    stop_and_expect(t, server, 0);
}

static void
test_quit_stops_the_programs_immediately(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    itest_kill(server, SIGQUIT);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    for (unsigned id = 0; id < 2; id++)
        assert_int_equal(count_logf(t, "Worker %u finished with signal SIGQUIT", id), 1);
}

static void
test_usr2_sends_worker_reload_signal_to_the_programs(void **state)
{
    struct itest *t = *state;
    itest_set(t, "worker_reload_signal=USR2");
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "TEST reload worker=0", 1, DL);
    itest_wait_log(t, "TEST reload worker=1", 1, DL);
    stop_and_expect(t, server, 0);
    assert_int_equal(itest_count_log(t, "TEST run worker="), 2); /* nothing restarted */
}

static void
test_usr2_without_worker_reload_signal_sends_the_programs_nothing(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 1);
    wait_runs(t, 1, 1);
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "TEST reload_config", 1, DL);
    stop_and_expect(t, server, 0); /* the stop comes after the reload */
    assert_int_equal(itest_count_log(t, "TEST reload worker="), 0);
    assert_int_equal(itest_count_log(t, "with signal SIGUSR2"), 0);
}

static void
test_program_ignoring_term_is_escalated_to_quit_then_kill(void **state)
{
    struct itest *t = *state;
    itest_set(t, "mode=ignore_term");
    itest_set(t, "worker_graceful_kill_timeout=0.5");
    itest_set(t, "worker_immediate_kill_timeout=0.5");
    pid_t server = start_spawn(t, 1);
    wait_runs(t, 1, 1);
    stop_and_expect(t, server, 0);
    static const char *const steps[] = {
        "Sending SIGTERM to worker 0",
        "after a graceful stop (worker_graceful_kill_timeout): escalating",
        "Sending SIGQUIT to worker 0",
        "after an immediate stop (worker_immediate_kill_timeout): sending SIGKILL",
        "Worker 0 finished with signal SIGKILL",
    };
    long prev = -1;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        long no = itest_log_line_no(t, steps[i], 1);
        if (no < 0 || no <= prev) fail_msg("step \"%s\" missing or out of order", steps[i]);
        prev = no;
    }
    assert_int_equal(itest_count_log(t, "TEST return worker=0"), 0);
}

/* ---- heartbeats --------------------------------------------------------------- */

/* auto mode: a program that beats and then stalls is killed by the
 * heartbeat rule; one that never wrote a beat is not judged by it. */
static void
test_program_that_stops_beating_is_killed_and_one_that_never_beat_is_not(void **state)
{
    struct itest *t = *state;
    itest_set(t, "mode=manual_beat,sleep");
    itest_set(t, "beat_stop_after_ms=600");
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    itest_wait_log(t, "TEST beats stopped worker=0", 1, DL);
    itest_wait_log(t, "Worker 0 heartbeat timeout", 1, DL);
    itest_wait_log(t, "TEST run worker=0 pid=", 2, DL);
    /* worker 1 was started with worker 0 and has been silent for longer
     * than the timeout (1 s): still its first run */
    assert_int_equal(itest_count_log(t, "TEST run worker=1 pid="), 1);
    assert_int_equal(itest_count_log(t, "Worker 1 heartbeat"), 0);
    stop_and_expect(t, server, 0);
}

/* manual mode: the program must beat from its start. */
static void
test_manual_mode_kills_a_program_that_never_beats(void **state)
{
    struct itest *t = *state;
    itest_set(t, "worker_heartbeat_mode=manual");
    pid_t server = start_spawn(t, 1);
    wait_runs(t, 1, 1);
    itest_wait_log(t, "Worker 0 heartbeat timeout", 1, DL);
    itest_wait_log(t, "TEST run worker=0 pid=", 2, DL);
    stop_and_expect(t, server, 0);
}

static void
test_manual_mode_keeps_a_program_that_beats(void **state)
{
    struct itest *t = *state;
    itest_set(t, "worker_heartbeat_mode=manual");
    itest_set(t, "mode=manual_beat,exit_after");
    itest_set(t, "beat_stop_after_ms=-1");
    itest_set(t, "exit_after_ms=0,2500");
    itest_set(t, "worker_restart_backoff_max=0");
    itest_set(t, "worker_heartbeat_timeout=60");
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 1, 1);
    /* the later event: worker 1 (no beats, a long timeout) ends by itself
     * after 2.5 s, well past what worker 0 would have been given */
    itest_wait_log(t, "TEST return worker=1", 1, DL);
    (void)server;
}

/* ---- exits --------------------------------------------------------------------- */

static void
test_crashing_program_is_restarted_with_growing_delays(void **state)
{
    struct itest *t = *state;
    itest_set(t, "mode=crash");
    itest_set(t, "worker_restart_backoff_max=10");
    pid_t server = start_spawn(t, 1);
    itest_wait_log(t, "TEST run worker=0 pid=", 3, DL);
    itest_wait_log(t, "Worker 0 exited unexpectedly with signal SIGABRT", 3, DL);
    char a[LINE_MAX_BYTES], b[LINE_MAX_BYTES];
    const char *key = "restarting it in ";
    itest_wait_log(t, key, 2, DL);
    assert_true(itest_log_line(t, key, 1, a, sizeof a));
    assert_true(itest_log_line(t, key, 2, b, sizeof b));
    double d1 = strtod(strstr(a, key) + strlen(key), NULL);
    double d2 = strtod(strstr(b, key) + strlen(key), NULL);
    if (!(d2 > d1)) fail_msg("the delay did not grow: \"%s\" then \"%s\"", a, b);
    stop_and_expect(t, server, 0);
}

static void
test_unrecoverable_exit_of_a_program_ends_the_server_with_its_status(void **state)
{
    struct itest *t = *state;
    itest_set(t, "mode=exit_after");
    itest_set(t, "exit_code=5,3");
    itest_set(t, "exit_after_ms=300,900");
    itest_set(t, "unrecoverable_exit_codes=[3, 5]");
    pid_t server = start_spawn(t, 2);
    assert_int_equal(itest_wait_exit(t, server, DL), 3);
    assert_int_equal(itest_count_log(t, "TEST run worker="), 2); /* none restarted */
    assert_int_equal(itest_count_log(t, "Worker 0 exited unexpectedly with status 5"), 1);
    assert_int_equal(itest_count_log(t, "Worker 1 exited unexpectedly with status 3"), 1);
}

static void
test_program_that_exits_is_restarted(void **state)
{
    struct itest *t = *state;
    itest_set(t, "mode=exit");
    itest_set(t, "exit_code=7");
    pid_t server = start_spawn(t, 1);
    itest_wait_log(t, "TEST run worker=0 pid=", 2, DL);
    itest_wait_log(t, "Worker 0 exited unexpectedly with status 7", 1, DL);
    stop_and_expect(t, server, 0);
}

static void
test_exec_failure_names_the_path_and_errno_and_backs_off(void **state)
{
    struct itest *t = *state;
    itest_set(t, "spawn_program=/nonexistent/serverengine-test-program");
    pid_t server = start_spawn(t, 1);
    const char *want = "Worker 0: cannot run /nonexistent/serverengine-test-program: "
                       "No such file or directory (errno 2)";
    itest_wait_log(t, want, 3, DL);
    char a[LINE_MAX_BYTES], b[LINE_MAX_BYTES];
    assert_true(itest_log_line(t, "could not be started", 1, a, sizeof a));
    assert_true(itest_log_line(t, "could not be started", 2, b, sizeof b));
    /* a quick crash: the retries back off */
    const char *da = strstr(a, "retrying in "), *db = strstr(b, "retrying in ");
    if (da == NULL || db == NULL || !(strtod(db + 12, NULL) > strtod(da + 12, NULL)))
        fail_msg("no growing retry delay: \"%s\" then \"%s\"", a, b);
    stop_and_expect(t, server, 0);
    assert_int_equal(itest_count_log(t, "TEST run worker="), 0);
}

static void
test_spawn_callback_that_fails_is_a_failed_start_retried_later(void **state)
{
    struct itest *t = *state;
    itest_set(t, "spawn_program=-");
    pid_t server = start_spawn(t, 1);
    itest_wait_log(t, "Worker 0: not started (the spawn callback failed)", 2, DL);
    assert_true(itest_count_log(t, "could not be started") >= 2);
    stop_and_expect(t, server, 0);
    assert_int_equal(itest_count_log(t, "TEST run worker="), 0);
}

/* ---- the server is gone ---------------------------------------------------------- */

static void
test_programs_do_not_outlive_a_killed_server(void **state)
{
    struct itest *t = *state;
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    pid_t w0 = itest_worker_pid(t, 0), w1 = itest_worker_pid(t, 1);
    itest_kill(server, SIGKILL);
    assert_int_equal(itest_wait_exit(t, server, DL), 128 + SIGKILL);
    /* orphans are adopted by the test process (a subreaper): wait for them */
    assert_int_equal(itest_wait_exit(t, w0, DL), 128 + SIGKILL);
    assert_int_equal(itest_wait_exit(t, w1, DL), 128 + SIGKILL);
}

/* ---- what a program finds ------------------------------------------------------ */

static void
test_program_gets_its_id_a_heartbeat_pipe_and_no_engine_descriptor(void **state)
{
    struct itest *t = *state;
    char dir[ITEST_PATH_MAX + 32];
    itest_path(t, "", dir, sizeof dir);
    dir[strlen(dir) - 1] = '\0'; /* no trailing slash */
    itest_set(t, "spawn_cwd=%s", dir);
    pid_t server = start_spawn(t, 2);
    wait_runs(t, 2, 1);
    pid_t w0 = itest_worker_pid(t, 0);
    /* each program's last line: its fds line is written before it (waiting
     * for worker 1's alone read worker 0's too early once, under load) */
    itest_wait_log(t, "TEST cwd worker=0 ", 1, DL);
    itest_wait_log(t, "TEST cwd worker=1 ", 1, DL);
    assert_int_equal(itest_pgid_of(w0), w0); /* it leads a group of its own */
    for (unsigned id = 0; id < 2; id++) {
        char line[LINE_MAX_BYTES], text[64];
        snprintf(text, sizeof text, "TEST env worker=%u hb=", id);
        assert_true(itest_log_line(t, text, 1, line, sizeof line));
        int fd = atoi(strstr(line, "hb=") + 3);
        if (fd < 3) fail_msg("no heartbeat pipe: %s", line);
        /* 0-2 and the heartbeat pipe: nothing more */
        if (count_logf(t, "TEST fds worker=%u count=4:", id) != 1) {
            snprintf(text, sizeof text, "TEST fds worker=%u", id);
            itest_log_line(t, text, 1, line, sizeof line);
            fail_msg("descriptors: %s", line);
        }
        assert_int_equal(count_logf(t, "TEST cwd worker=%u dir=%s", id, dir), 1);
    }
    stop_and_expect(t, server, 0);
}

/* ---- the command pipe ------------------------------------------------------------ */

/* A server with command_sender pipe reads its commands on stdin; the
 * harness gives it /dev/null: EOF at once, which is a graceful stop. */
static void
test_server_whose_command_pipe_is_at_eof_stops_gracefully(void **state)
{
    struct itest *t = *state;
    itest_set(t, "command_sender=pipe");
    pid_t server = start_spawn(t, 1);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "The command pipe (stdin) closed: end of file"), 1);
    assert_int_equal(itest_count_log(t, "Received graceful stop"), 1);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
}

/* The supervisor commands its server with words on the server's stdin,
 * and the server its programs with words on theirs, not with signals. */
static void
test_supervisor_server_and_programs_are_commanded_through_pipes(void **state)
{
    struct itest *t = *state;
    itest_set(t, "command_sender=pipe");
    itest_set(t, "supervisor=true");
    pid_t sup = start_spawn(t, 2);
    wait_runs(t, 2, 1);

    itest_kill(sup, SIGUSR2);
    itest_wait_log(t, "TEST word worker=0 RELOAD", 1, DL);
    itest_wait_log(t, "TEST word worker=1 RELOAD", 1, DL);
    assert_int_equal(itest_count_log(t, "Read RELOAD on the command pipe"), 1);
    assert_int_equal(itest_count_log(t, "TEST reload worker=0"), 1);

    itest_kill(sup, SIGUSR1);
    wait_runs(t, 2, 2);
    assert_int_equal(itest_count_log(t, "Read GRACEFUL_RESTART on the command pipe"), 1);
    assert_int_equal(itest_count_log(t, "TEST word worker=0 GRACEFUL_STOP"), 1);
    assert_int_equal(itest_count_log(t, "TEST word worker=1 GRACEFUL_STOP"), 1);

    stop_and_expect(t, sup, 0);
    assert_true(itest_count_log(t, "Read GRACEFUL_STOP on the command pipe") >= 1);
    assert_int_equal(itest_count_log(t, "TEST word worker=0 GRACEFUL_STOP"), 2);
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 4);
    assert_int_equal(itest_count_log(t, "Worker 0 finished with status 0"), 2);
    assert_int_equal(itest_count_log(t, "Could not write"), 0);
    assert_int_equal(itest_count_log(t, "Sending GRACEFUL_STOP to worker 0 on its command pipe"),
                     2);
    assert_int_equal(itest_count_log(t, "Sending SIGTERM to worker"), 0);
}

/* ---- registration ---------------------------------------------------------------- */

#define ONE(fn) cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

int
main(int argc, char **argv)
{
    itest_main(argc, argv);
    const struct CMUnitTest tests[] = {
        ONE(test_spawn_workers_start_and_term_stops_each_program_gracefully),
        ONE(test_usr1_restarts_the_programs_gracefully),
        ONE(test_hup_restarts_the_programs_immediately),
        ONE(test_quit_stops_the_programs_immediately),
        ONE(test_usr2_sends_worker_reload_signal_to_the_programs),
        ONE(test_usr2_without_worker_reload_signal_sends_the_programs_nothing),
        ONE(test_program_ignoring_term_is_escalated_to_quit_then_kill),
        ONE(test_program_that_stops_beating_is_killed_and_one_that_never_beat_is_not),
        ONE(test_manual_mode_kills_a_program_that_never_beats),
        ONE(test_manual_mode_keeps_a_program_that_beats),
        ONE(test_crashing_program_is_restarted_with_growing_delays),
        ONE(test_unrecoverable_exit_of_a_program_ends_the_server_with_its_status),
        ONE(test_program_that_exits_is_restarted),
        ONE(test_exec_failure_names_the_path_and_errno_and_backs_off),
        ONE(test_spawn_callback_that_fails_is_a_failed_start_retried_later),
        ONE(test_programs_do_not_outlive_a_killed_server),
        ONE(test_program_gets_its_id_a_heartbeat_pipe_and_no_engine_descriptor),
        ONE(test_server_whose_command_pipe_is_at_eof_stops_gracefully),
        ONE(test_supervisor_server_and_programs_are_commanded_through_pipes),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
