/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every limit at its maximum: a server of SE_WORKERS_MAX (1,024) process
 * workers and one of 1,024 thread workers, with real processes and threads.
 * Each starts them all, replaces a killed one (and a stalled one, by the
 * heartbeat rule, while the 1,023 others keep beating), restarts all on USR1,
 * reloads to 1 worker and back to 1,024, and stops on TERM with nothing left.
 * 62 and more process workers used to crash-loop: the adapter watched 64
 * descriptors, and the heartbeat pipes past that were closed.
 *
 * The deadlines are bounds for a loaded 2-core machine, not claims.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "se_int.h"
#include "support/itest.h"

#define N  SE_WORKERS_MAX
#define DL 60000 /* a bound for 1,024 forks or threads on a loaded machine */

_Static_assert(N == 1024u, "the test runs at the configuration's maximum of workers");

/* Waits until the log has `runs` "TEST run" lines in all. */
static void
wait_runs(struct itest *t, unsigned runs)
{
    itest_wait_log(t, "TEST run worker=", runs, DL);
}

static pid_t
start_at_max(struct itest *t, const char *type, const char *path)
{
    itest_write_file(t, "server.yml", "workers: 1024\n");
    itest_set(t, "worker_type=%s", type);
    /* beats every 0.2 s, judged after 3 s: long next to a loaded machine's
     * scheduling, short next to the test */
    itest_set(t, "worker_heartbeat_interval=0.2");
    itest_set(t, "worker_heartbeat_timeout=3");
    itest_set(t, "log_level=info");
    pid_t server = itest_start(t, path, NULL);
    wait_runs(t, N);
    return server;
}

/* Reload to one worker, then back to the maximum: the surplus 1,023 stop
 * gracefully and 1,023 new ones start. `runs` is the count of "TEST run"
 * lines so far. */
static unsigned
reload_down_and_up(struct itest *t, pid_t server, unsigned runs)
{
    unsigned ends = itest_count_log(t, " finished with ");
    itest_write_file(t, "server.yml", "workers: 1\n");
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "Scaling workers from 1024 to 1", 1, DL);
    itest_wait_log(t, " finished with ", ends + N - 1, DL); /* every surplus worker */
    assert_int_equal(itest_count_log(t, "Worker 0 finished with "), ends > 0 ? 1 : 0);

    itest_write_file(t, "server.yml", "workers: 1024\n");
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "Scaling workers from 1 to 1024", 1, DL);
    runs += N - 1;
    wait_runs(t, runs);
    return runs;
}

static void
stop_and_expect_clean(struct itest *t, pid_t server)
{
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "heartbeat pipe closed"), 0);
}

static void
test_1024_process_workers_start_beat_recover_restart_reload_and_stop(void **state)
{
    struct itest *t = *state;
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "server.yml", path, sizeof path);
    pid_t server = start_at_max(t, "process", path);
    unsigned runs = N;

    /* a SIGKILL of one is replaced at once */
    pid_t victim = itest_worker_pid(t, 1000);
    itest_kill(victim, SIGKILL);
    itest_wait_log(t, "TEST run worker=1000 pid=", 2, DL);
    runs++;
    assert_int_equal(itest_count_log(t, "Worker 1000 exited unexpectedly with signal SIGKILL"), 1);

    /* a stalled one is killed by the heartbeat rule; in that time the
     * 1,023 others kept beating, or they would have been killed too */
    pid_t stalled = itest_worker_pid(t, 17);
    itest_kill(stalled, SIGSTOP);
    itest_wait_log(t, "TEST run worker=17 pid=", 2, DL);
    runs++;
    assert_int_equal(itest_count_log(t, "Worker 17 heartbeat timeout"), 1);
    assert_int_equal(itest_count_log(t, "heartbeat timeout: no heartbeat"), 1);

    /* USR1: every worker restarts */
    itest_kill(server, SIGUSR1);
    runs += N;
    wait_runs(t, runs);

    runs = reload_down_and_up(t, server, runs);
    stop_and_expect_clean(t, server);
    assert_int_equal(itest_count_log(t, "TEST run worker="), runs);
    assert_int_equal(itest_count_log(t, "exited unexpectedly"), 1); /* the SIGKILL only */
}

static void
test_1024_thread_workers_start_restart_reload_and_stop(void **state)
{
    struct itest *t = *state;
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "server.yml", path, sizeof path);
    pid_t server = start_at_max(t, "thread", path);
    unsigned runs = N;

    itest_kill(server, SIGUSR1);
    runs += N;
    wait_runs(t, runs);

    runs = reload_down_and_up(t, server, runs);
    stop_and_expect_clean(t, server);
    assert_int_equal(itest_count_log(t, "TEST run worker="), runs);
    assert_int_equal(itest_count_log(t, "exited unexpectedly"), 0);
}

/* One more than the maximum is refused at start, naming the key. */
static void
test_more_workers_than_the_maximum_are_refused_by_name(void **state)
{
    struct itest *t = *state;
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1025", NULL);
    assert_int_equal(itest_wait_exit(t, server, ITEST_DEADLINE_MS), 78);
    char err[4096];
    itest_stderr(t, server, err, sizeof err);
    assert_non_null(strstr(err, "workers"));
    assert_non_null(strstr(err, "1025"));
    assert_non_null(strstr(err, "1024"));
}

#define ONE(fn) cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        ONE(test_1024_process_workers_start_beat_recover_restart_reload_and_stop),
        ONE(test_1024_thread_workers_start_restart_reload_and_stop),
        ONE(test_more_workers_than_the_maximum_are_refused_by_name),
    };
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
