/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor, live restart (detach) and the daemon, end to end with real
 * processes: commands forwarded to the server, a killed server restarted,
 * detach with and without exit_on_detach, restart_server_process, the pid
 * file's life (written, stale, refused, removed), privilege-drop failures
 * and configuration errors at start. Ported from Ruby ServerEngine's
 * spec/supervisor_spec.rb; the harness is tests/support/itest.h.
 *
 * The test process is a child subreaper: a daemon, and the workers of a
 * server that died, become its children and are waited for here; the
 * teardown fails a test that leaves any of them behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/itest.h"

#define DL            ITEST_DEADLINE_MS
#define TEXT_MAX      4096
#define MISSING_USER  "se_itest_no_such_user"
#define DAEMON_ERR_RC 7
#define EX_CONFIG_RC  78
#define LAUNCH_MS_MAX 5000 /* "the launcher returns quickly", generously */

static void
wait_runs(struct itest *t, unsigned workers, unsigned count)
{
    char text[64];
    for (unsigned id = 0; id < workers; id++) {
        snprintf(text, sizeof text, "TEST run worker=%u pid=", id);
        itest_wait_log(t, text, count, DL);
    }
}

static pid_t
start_supervisor(struct itest *t, unsigned workers)
{
    itest_set(t, "supervisor=true");
    itest_set(t, "worker_type=process");
    itest_set(t, "workers=%u", workers);
    pid_t sup = itest_start(t, NULL, NULL);
    wait_runs(t, workers, 1);
    itest_wait_log(t, "TEST after_start", 1, DL);
    return sup;
}

/* ---- commands through the supervisor ---------------------------------------- */

struct sup_cmd {
    int sig;
    const char *received; /* logged by the supervisor and again by the server */
    const char *callback; /* the server callback it causes, once */
    unsigned runs;        /* worker runs per worker before the final TERM */
    bool ends;            /* the command itself ends the supervisor */
};

static const struct sup_cmd sup_term = {SIGTERM, "Received graceful stop", "TEST stop graceful=1",
                                        1, true};
static const struct sup_cmd sup_quit = {SIGQUIT, "Received immediate stop", "TEST stop graceful=0",
                                        1, true};
static const struct sup_cmd sup_usr1 = {SIGUSR1, "Received graceful restart",
                                        "TEST restart graceful=1", 2, false};
static const struct sup_cmd sup_hup = {SIGHUP, "Received immediate restart",
                                       "TEST restart graceful=0", 2, false};
static const struct sup_cmd sup_usr2 = {SIGUSR2, "Received reload", "TEST reload_config", 1, false};

static void
test_supervisor_passes_a_command_to_the_server_once(void **state)
{
    struct itest *t = *state;
    const struct sup_cmd *c = itest_param(t);
    /* The supervisor repeats its TERM to a server still stopping every
     * worker_graceful_kill_interval (QUIT every ..._immediate_kill_interval:
     * the same escalation as for workers), and each one reaches the server's
     * stop callback again: keep repeats out of the counts, even on a slow
     * machine. */
    itest_set(t, "worker_graceful_kill_interval=5");
    itest_set(t, "worker_immediate_kill_interval=5");
    itest_set(t, "worker_immediate_kill_timeout=10");
    pid_t sup = start_supervisor(t, 1);
    pid_t server = itest_server_pid(t, 1);

    itest_kill(sup, c->sig);
    itest_wait_log(t, c->callback, 1, DL);
    wait_runs(t, 1, c->runs);
    if (!c->ends) itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);

    /* the supervisor and the server each log what they received */
    assert_int_equal(itest_count_log(t, c->received), 2);
    assert_int_equal(itest_count_log(t, c->callback), 1);
    assert_int_equal(itest_count_log(t, "TEST before_run"), 1); /* the same server throughout */
    assert_int_equal(itest_server_pid(t, 1), server);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
    assert_int_equal(itest_count_log(t, "TEST after_start"), 1);
    assert_int_equal(itest_count_log(t, "TEST stop graceful="), 1);
    assert_int_equal(itest_count_log(t, "TEST run worker=0 pid="), c->runs);
    assert_false(itest_alive(server));
}

/* ---- a server that dies ---------------------------------------------------- */

/* The server object the supervisor's callbacks get stops the supervisor
 * (it was a silent no-op: nothing read its command pipe). */
static void
test_a_stop_asked_from_after_start_stops_the_supervisor(void **state)
{
    struct itest *t = *state;
    itest_set(t, "after_start_stop=true");
    pid_t sup = itest_start(t, NULL, "supervisor=true", "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST after_start", 1, DL);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    assert_int_equal(itest_count_log(t, "Supervisor exits with status 0"), 1);
}

/* ... and its configuration is the one in force, after a reload too (it
 * was the configuration of the start). */
static void
test_after_start_sees_the_reloaded_configuration(void **state)
{
    struct itest *t = *state;
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "sup.yml", path, sizeof path);
    itest_write_file(t, "sup.yml", "message: one\n");
    pid_t sup = itest_start(t, path, "supervisor=true", "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST after_start message=one", 1, DL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL); /* its pid is read below */
    itest_write_file(t, "sup.yml", "message: two\n");
    itest_kill(sup, SIGUSR2);
    itest_wait_log(t, "TEST reload worker=0 message=two", 1, DL);
    pid_t w0 = itest_worker_pid(t, 0);
    itest_kill(itest_server_pid(t, 1), SIGKILL); /* a new server: after_start again */
    itest_wait_log(t, "TEST after_start message=", 2, DL);
    /* the old server's worker notices and ends by itself (adopted by us) */
    assert_int_not_equal(itest_wait_exit(t, w0, DL), 128 + SIGKILL);
    assert_int_equal(itest_count_log(t, "TEST after_start message=two"), 1);
    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
}

static void
test_supervisor_restarts_a_killed_server_and_its_workers(void **state)
{
    struct itest *t = *state;
    pid_t sup = start_supervisor(t, 2);
    pid_t server = itest_server_pid(t, 1);
    pid_t w0 = itest_worker_pid(t, 0);
    pid_t w1 = itest_worker_pid(t, 1);

    itest_kill(server, SIGKILL);
    itest_wait_log(t, "Server finished unexpectedly with signal SIGKILL", 1, DL);
    itest_wait_log(t, "TEST before_run pid=", 2, DL);
    assert_int_not_equal(itest_server_pid(t, 2), server);
    wait_runs(t, 2, 2);
    assert_int_not_equal(itest_worker_pid(t, 0), w0);
    itest_wait_log(t, "TEST after_start", 2, DL);
    /* the old server's workers notice and end by themselves (adopted by us) */
    assert_int_not_equal(itest_wait_exit(t, w0, DL), 128 + SIGKILL);
    assert_int_not_equal(itest_wait_exit(t, w1, DL), 128 + SIGKILL);
    itest_wait_log(t, "the server process is gone", 2, DL);

    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1); /* the killed one never ran it */
}

static void
test_supervisor_replaces_a_server_that_stops_beating(void **state)
{
    struct itest *t = *state;
    pid_t sup = start_supervisor(t, 1);
    pid_t server = itest_server_pid(t, 1);
    pid_t worker = itest_worker_pid(t, 0);

    itest_kill(server, SIGSTOP);
    itest_wait_log(t, "TEST before_run pid=", 2, DL);
    assert_true(itest_log_line_no(t, "heartbeat timeout", 1) >= 0);
    assert_true(itest_log_line_no(t, "heartbeat timeout", 1) <
                itest_log_line_no(t, "TEST before_run pid=", 2));
    assert_false(itest_alive(server));
    wait_runs(t, 1, 2);
    /* the stalled server's worker does not outlive it */
    assert_int_not_equal(itest_wait_exit(t, worker, DL), 128 + SIGKILL);

    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
}

static void
test_server_and_workers_stop_when_the_supervisor_is_killed(void **state)
{
    struct itest *t = *state;
    pid_t sup = start_supervisor(t, 2);
    pid_t server = itest_server_pid(t, 1);

    itest_kill(sup, SIGKILL);
    assert_int_equal(itest_wait_exit(t, sup, DL), 128 + SIGKILL);
    /* the server is adopted by the test process; it stops its workers */
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    itest_wait_log(t, "Supervisor is gone", 1, DL);
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 2);
    assert_int_equal(itest_count_log(t, "Worker 0 finished with status 0"), 1);
    assert_int_equal(itest_count_log(t, "Worker 1 finished with status 0"), 1);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
}

/* ---- detach (live restart) ---------------------------------------------------- */

static void
test_detach_starts_a_new_server_when_the_old_one_has_finished(void **state)
{
    struct itest *t = *state;
    itest_set(t, "stop_delay_ms=1000"); /* workers take a second to finish */
    itest_set(t, "server_detach_wait=5");
    pid_t sup = start_supervisor(t, 1);
    pid_t old = itest_server_pid(t, 1);

    itest_kill(sup, SIGINT);
    itest_wait_log(t, "TEST before_run pid=", 2, DL);
    pid_t fresh = itest_server_pid(t, 2);
    assert_int_not_equal(fresh, old);
    assert_int_equal(itest_count_log(t, "Received detach"), 1);
    /* the old server finished (its worker lingered 1 s) before the new one began */
    long old_done = itest_log_line_no(t, "Detached server finished with status 0", 1);
    assert_true(old_done >= 0);
    assert_true(itest_log_line_no(t, "TEST lingering worker=0", 1) < old_done);
    assert_true(old_done < itest_log_line_no(t, "TEST before_run pid=", 2));
    assert_false(itest_alive(old));
    wait_runs(t, 1, 2);

    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 2);
}

static void
test_detach_starts_a_new_server_at_server_detach_wait_when_the_old_one_lingers(void **state)
{
    struct itest *t = *state;
    itest_set(t, "stop_delay_ms=2000");
    itest_set(t, "server_detach_wait=0.5");
    pid_t sup = start_supervisor(t, 1);
    pid_t old = itest_server_pid(t, 1);

    itest_kill(sup, SIGINT);
    itest_wait_log(t, "TEST before_run pid=", 2, DL);
    assert_int_not_equal(itest_server_pid(t, 2), old);
    /* the new server runs while the old one is still finishing */
    itest_wait_log(t, "Detached server finished with status 0", 1, DL);
    assert_true(itest_log_line_no(t, "TEST before_run pid=", 2) <
                itest_log_line_no(t, "Detached server finished", 1));
    assert_false(itest_alive(old)); /* and it was reaped */
    wait_runs(t, 1, 2);

    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
}

static void
test_detach_with_exit_on_detach_ends_the_supervisor_instead(void **state)
{
    struct itest *t = *state;
    itest_set(t, "exit_on_detach=true");
    itest_set(t, "stop_delay_ms=500");
    pid_t sup = start_supervisor(t, 1);
    pid_t old = itest_server_pid(t, 1);

    itest_kill(sup, SIGINT);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    /* the old server is not left behind: it finishes (or was reaped) */
    if (itest_alive(old)) assert_int_equal(itest_wait_exit(t, old, DL), 0);
    itest_wait_log(t, "TEST after_run", 1, DL);
    assert_int_equal(itest_count_log(t, "TEST before_run"), 1);
    assert_int_equal(itest_count_log(t, "TEST after_start"), 1);
}

static void
test_restart_server_process_makes_usr1_start_a_new_server(void **state)
{
    struct itest *t = *state;
    itest_set(t, "restart_server_process=true");
    pid_t sup = start_supervisor(t, 1);
    pid_t old = itest_server_pid(t, 1);

    itest_kill(sup, SIGUSR1);
    itest_wait_log(t, "TEST before_run pid=", 2, DL);
    assert_int_not_equal(itest_server_pid(t, 2), old);
    wait_runs(t, 1, 2);
    itest_wait_log(t, "TEST after_start", 2, DL);
    /* the old server was stopped, not restarted in place */
    assert_int_equal(itest_count_log(t, "TEST restart graceful="), 0);
    assert_true(itest_log_line_no(t, "TEST after_run", 1) <
                itest_log_line_no(t, "TEST before_run pid=", 2));
    assert_false(itest_alive(old));

    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 2);
}

/* ---- the daemon and its pid file --------------------------------------------- */

static pid_t
read_pid_file(const char *path)
{
    char text[64];
    ssize_t n = itest_read_file(path, text, sizeof text);
    if (n <= 0) fail_msg("pid file %s: %s", path, n < 0 ? strerror((int)-n) : "empty");
    char *end = NULL;
    long pid = strtol(text, &end, 10);
    assert_true(pid > 0 && (*end == '\n' || *end == '\0'));
    return (pid_t)pid;
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Starts a daemon; returns its pid (from the pid file), adopted by us. */
static pid_t
start_daemon(struct itest *t, const char *pid_path)
{
    itest_set(t, "daemonize=true");
    itest_set(t, "pid_path=%s", pid_path);
    itest_set(t, "worker_type=process");
    itest_set(t, "daemonize_error_exit_code=%d", DAEMON_ERR_RC);
    int64_t started_at = itest_now_ms();
    pid_t launcher = itest_start(t, NULL, NULL);
    assert_int_equal(itest_wait_exit(t, launcher, DL), 0);
    int64_t took_ms = itest_now_ms() - started_at;
    if (took_ms > LAUNCH_MS_MAX) fail_msg("the launcher took %lld ms", (long long)took_ms);
    /* ready means ready: the pid file is there when the launcher returns */
    assert_true(exists(pid_path));
    pid_t daemon = read_pid_file(pid_path);
    assert_int_not_equal(daemon, launcher);
    assert_true(itest_alive(daemon));
    itest_track_pgid(t, itest_pgid_of(daemon));
    wait_runs(t, 1, 1);
    return daemon;
}

static void
stop_daemon(struct itest *t, pid_t daemon, const char *pid_path)
{
    itest_kill(daemon, SIGTERM);
    assert_int_equal(itest_wait_exit(t, daemon, DL), 0);
    assert_false(exists(pid_path));
}

static const bool plain = false, supervised = true;
static const bool foreground = false, daemonized = true;

static void
test_daemon_writes_its_pid_file_and_removes_it_on_term(void **state)
{
    struct itest *t = *state;
    const bool *with_supervisor = itest_param(t);
    char pid_path[ITEST_PATH_MAX + 32];
    itest_path(t, "daemon.pid", pid_path, sizeof pid_path);
    itest_set(t, "supervisor=%s", *with_supervisor ? "true" : "false");
    pid_t daemon = start_daemon(t, pid_path);
    if (*with_supervisor) assert_int_not_equal(itest_server_pid(t, 1), daemon);

    stop_daemon(t, daemon, pid_path);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
}

static void
test_daemon_replaces_a_stale_pid_file(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    itest_path(t, "daemon.pid", pid_path, sizeof pid_path);
    /* a pid that was alive a moment ago and is not any more */
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0) _exit(0);
    int st;
    assert_int_equal(waitpid(dead, &st, 0), dead);
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)dead);
    itest_write_file(t, "daemon.pid", text);

    pid_t daemon = start_daemon(t, pid_path);
    assert_int_not_equal(daemon, dead);
    stop_daemon(t, daemon, pid_path);
}

static void
test_second_daemon_with_the_same_pid_file_is_refused(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    itest_path(t, "daemon.pid", pid_path, sizeof pid_path);
    pid_t first = start_daemon(t, pid_path);

    pid_t launcher = itest_start(t, NULL, NULL); /* the same settings again */
    assert_int_equal(itest_wait_exit(t, launcher, DL), DAEMON_ERR_RC);
    int status = 0;
    pid_t second = itest_wait_adopted(t, DL, &status); /* its daemon gave up */
    assert_int_not_equal(second, first);
    assert_int_equal(status, DAEMON_ERR_RC);
    char err[TEXT_MAX];
    itest_stderr(t, launcher, err, sizeof err);
    if (strstr(err, pid_path) == NULL) fail_msg("stderr does not name the pid file: %s", err);
    char first_text[32];
    snprintf(first_text, sizeof first_text, "%d", (int)first);
    if (strstr(err, first_text) == NULL) fail_msg("stderr does not name pid %d: %s", first, err);
    char said[TEXT_MAX];
    snprintf(said, sizeof said,
             "serverengine: pid file %s is held by a running instance (pid %d)\n", pid_path,
             (int)first);
    if (strstr(err, said) == NULL) fail_msg("stderr does not say \"%s\" but: %s", said, err);
    /* the first is untouched */
    assert_true(itest_alive(first));
    assert_int_equal(read_pid_file(pid_path), first);
    assert_int_equal(itest_count_log(t, "TEST before_run"), 1);

    stop_daemon(t, first, pid_path);
}

/* ---- failures at start ---------------------------------------------------------- */

static void
test_chuser_to_a_missing_user_fails_with_the_daemon_error_code(void **state)
{
    struct itest *t = *state;
    const bool *daemonize = itest_param(t);
    pid_t p = itest_start(t, NULL, "chuser=" MISSING_USER,
                          *daemonize ? "daemonize=true" : "daemonize=false",
                          "daemonize_error_exit_code=7", NULL);
    assert_int_equal(itest_wait_exit(t, p, DL), DAEMON_ERR_RC);
    if (*daemonize) {
        int status = 0;
        itest_wait_adopted(t, DL, &status);
        assert_int_equal(status, DAEMON_ERR_RC);
    }
    char err[TEXT_MAX];
    itest_stderr(t, p, err, sizeof err);
    if (strstr(err, MISSING_USER) == NULL) fail_msg("stderr does not name the user: \"%s\"", err);
    assert_int_equal(itest_count_log(t, "TEST before_run"), 0);
    assert_int_equal(itest_count_log(t, "TEST run worker="), 0);
}

static void
test_config_error_at_start_exits_78_naming_the_key(void **state)
{
    struct itest *t = *state;
    pid_t p = itest_start(t, NULL, "worker_type=process", "workers=-1", NULL);
    assert_int_equal(itest_wait_exit(t, p, DL), EX_CONFIG_RC);
    char err[TEXT_MAX];
    itest_stderr(t, p, err, sizeof err);
    if (strstr(err, "workers") == NULL || strstr(err, "-1") == NULL)
        fail_msg("stderr does not name the key and the value: \"%s\"", err);
    assert_int_equal(itest_count_log(t, "TEST"), 0);
}

/* What this version does not build yet is refused by name, never run as
 * something else. */
static void
test_run_after_a_failed_configure_starts_nothing(void **state)
{
    struct itest *t = *state;
    /* A program that does not check the result of se_engine_configure
     * must not get a server it did not ask for (built-in defaults): the
     * documentation of se_engine_run promises "a bad value: a message on
     * stderr and 78, EX_CONFIG, nothing started". */
    pid_t p = itest_start(t, NULL, "workers=-1", ITEST_RUN_AFTER_CONFIG_ERROR, NULL);
    assert_int_equal(itest_wait_exit(t, p, DL), EX_CONFIG_RC);
    char err[TEXT_MAX];
    itest_stderr(t, p, err, sizeof err);
    if (strstr(err, "TEST run") != NULL || strstr(err, "TEST before_run") != NULL)
        fail_msg("a server was started: %s", err);
    if (strstr(err, "serverengine: workers") == NULL)
        fail_msg("se_engine_run did not name the key: \"%s\"", err);
}

/* ---- registration ---------------------------------------------------------------- */

#define CASE(fn, param, label)                                                                     \
    {                                                                                              \
#fn "(" label ")", fn, itest_setup, itest_teardown, (void *)(param)                        \
    }
#define ONE(fn) cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        CASE(test_supervisor_passes_a_command_to_the_server_once, &sup_term, "TERM"),
        CASE(test_supervisor_passes_a_command_to_the_server_once, &sup_quit, "QUIT"),
        CASE(test_supervisor_passes_a_command_to_the_server_once, &sup_usr1, "USR1"),
        CASE(test_supervisor_passes_a_command_to_the_server_once, &sup_hup, "HUP"),
        CASE(test_supervisor_passes_a_command_to_the_server_once, &sup_usr2, "USR2"),
        ONE(test_a_stop_asked_from_after_start_stops_the_supervisor),
        ONE(test_after_start_sees_the_reloaded_configuration),
        ONE(test_supervisor_restarts_a_killed_server_and_its_workers),
        ONE(test_supervisor_replaces_a_server_that_stops_beating),
        ONE(test_server_and_workers_stop_when_the_supervisor_is_killed),
        ONE(test_detach_starts_a_new_server_when_the_old_one_has_finished),
        ONE(test_detach_starts_a_new_server_at_server_detach_wait_when_the_old_one_lingers),
        ONE(test_detach_with_exit_on_detach_ends_the_supervisor_instead),
        ONE(test_restart_server_process_makes_usr1_start_a_new_server),
        CASE(test_daemon_writes_its_pid_file_and_removes_it_on_term, &plain, "plain"),
        CASE(test_daemon_writes_its_pid_file_and_removes_it_on_term, &supervised, "supervisor"),
        ONE(test_daemon_replaces_a_stale_pid_file),
        ONE(test_second_daemon_with_the_same_pid_file_is_refused),
        CASE(test_chuser_to_a_missing_user_fails_with_the_daemon_error_code, &foreground,
             "foreground"),
        CASE(test_chuser_to_a_missing_user_fails_with_the_daemon_error_code, &daemonized,
             "daemonized"),
        ONE(test_config_error_at_start_exits_78_naming_the_key),
        ONE(test_run_after_a_failed_configure_starts_nothing),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
