/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dump signal with real processes (serverengine(3), UTILITIES and
 * ENVIRONMENT): CONT writes every thread's stack, the thread that runs
 * `run` included, for thread workers (threads of the server) and for a
 * process worker (run on a thread of its own beside the helper that dumps);
 * SIGDUMP_SIGNAL moves the dump to another signal, and a bad value is
 * refused naming the variable. run waits in itest_run_waits_in_dump_frame
 * (mode dump_wait); this binary is linked with -rdynamic, so the frames
 * name it.
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

#include "support/itest.h"

#define DL          ITEST_DEADLINE_MS
#define DUMP_MAX    (256 * 1024)
#define RUN_FRAME   "(itest_run_waits_in_dump_frame+0x"
#define THREAD_HEAD "\n  thread "

static unsigned
count(const char *text, const char *part)
{
    unsigned n = 0;
    for (const char *p = strstr(text, part); p != NULL; p = strstr(p + 1, part))
        n++;
    return n;
}

/* The dump file (the harness's SIGDUMP_PATH) into buf. */
static void
read_dump(struct itest *t, char *buf, size_t size)
{
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "sigdump.log", path, sizeof path);
    ssize_t n = itest_read_file(path, buf, size);
    if (n <= 0) fail_msg("no dump at %s", path);
    assert_true((size_t)n < size - 1);
}

/* One section per thread of the dumped process (its "Threads:" figure),
 * one of them the dumper's, and each with a stack or the reason it has none;
 * `runs` of them in run's frame. */
static void
assert_every_thread_dumped(const char *dump, unsigned runs)
{
    const char *fig = strstr(dump, "  Threads:");
    assert_non_null(fig);
    unsigned threads = (unsigned)atoi(fig + strlen("  Threads:"));
    assert_int_equal(count(dump, THREAD_HEAD), threads);
    assert_int_equal(count(dump, ", the dumping thread:\n"), 1);
    assert_int_equal(count(dump, RUN_FRAME), runs);
    /* each section: frames after its line, or the reason there are none */
    for (const char *p = strstr(dump, THREAD_HEAD); p != NULL; p = strstr(p + 1, THREAD_HEAD)) {
        const char *eol = strchr(p + 1, '\n');
        assert_non_null(eol);
        const char *head_why = strstr(p, "; no stack: ");
        if (head_why != NULL && head_why < eol) continue;
        bool why_next = strncmp(eol + 1, "    no stack: ", 14) == 0;
        bool frame_next = eol[1] != ' ' && strncmp(eol + 1, "Memory:", 7) != 0;
        if (!why_next && !frame_next) fail_msg("a thread with no stack and no reason: %.300s", p);
    }
}

static void
test_cont_dumps_the_stack_of_every_thread_worker_run(void **state)
{
    struct itest *t = *state;
    static char dump[DUMP_MAX];
    pid_t server = itest_start(t, NULL, "worker_type=thread", "workers=2", "mode=dump_wait", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_wait_log(t, "TEST run worker=1 pid=", 1, DL);
    itest_kill(server, SIGCONT);
    itest_wait_log(t, "sigdump: wrote", 1, DL);
    read_dump(t, dump, sizeof dump);
    assert_every_thread_dumped(dump, 2);
    /* the server's dump also has its workers' table, as status shows it */
    const char *table = strstr(dump, "Workers (as serverengine status shows them):\n");
    assert_non_null(table);
    assert_non_null(strstr(table, "ID    PID"));
    assert_non_null(strstr(table, "workers: 2 running of 2 wanted"));
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
}

static void
test_cont_to_a_process_worker_dumps_its_helper_and_its_run_thread(void **state)
{
    struct itest *t = *state;
    static char dump[DUMP_MAX];
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=dump_wait", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_kill(itest_worker_pid(t, 0), SIGCONT);
    itest_wait_log(t, "sigdump: wrote", 1, DL);
    read_dump(t, dump, sizeof dump);
    assert_every_thread_dumped(dump, 1);
    assert_int_equal(count(dump, THREAD_HEAD), 2); /* the helper and run's thread */
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
}

static void
test_sigdump_signal_moves_the_dump_of_a_process_worker_off_cont(void **state)
{
    struct itest *t = *state;
    static char dump[DUMP_MAX];
    setenv("SIGDUMP_SIGNAL", "SIGWINCH", 1);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=dump_wait", NULL);
    unsetenv("SIGDUMP_SIGNAL");
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    pid_t worker = itest_worker_pid(t, 0);
    itest_kill(worker, SIGCONT); /* no dump: CONT is nothing now */
    itest_kill(worker, SIGWINCH);
    itest_wait_log(t, "sigdump: wrote", 1, DL);
    read_dump(t, dump, sizeof dump);
    assert_every_thread_dumped(dump, 1);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    /* both signals were handled in order before the worker stopped */
    assert_int_equal(itest_count_log(t, "sigdump: wrote"), 1);
    assert_int_equal(count(dump, "Sigdump at "), 1);
}

static void
test_sigdump_signal_that_is_not_a_signal_is_refused_naming_it(void **state)
{
    struct itest *t = *state;
    char err[4096];
    setenv("SIGDUMP_SIGNAL", "WINCHY", 1);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", NULL);
    unsetenv("SIGDUMP_SIGNAL");
    assert_int_equal(itest_wait_exit(t, server, DL), 78);
    itest_stderr(t, server, err, sizeof err);
    if (strstr(err, "SIGDUMP_SIGNAL=\"WINCHY\"") == NULL) fail_msg("stderr: %s", err);
}

static void
test_signal_dump_key_wins_over_sigdump_signal(void **state)
{
    struct itest *t = *state;
    static char dump[DUMP_MAX];
    setenv("SIGDUMP_SIGNAL", "WINCH", 1);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=dump_wait",
                               "signal_dump=URG", NULL);
    unsetenv("SIGDUMP_SIGNAL");
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    pid_t worker = itest_worker_pid(t, 0);
    itest_kill(worker, SIGWINCH); /* the default action of WINCH: ignored */
    itest_kill(worker, SIGURG);
    itest_wait_log(t, "sigdump: wrote", 1, DL);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "sigdump: wrote"), 1);
    read_dump(t, dump, sizeof dump);
    assert_int_equal(count(dump, "Sigdump at "), 1);
}

/* run's thread blocks SIGRTMIN+5, or the program handles it: the dump says
 * so instead of a stack (and never takes the program's handler). */
static void
test_a_thread_that_blocks_the_dump_signal_or_a_program_that_handles_it_is_named(void **state)
{
    struct itest *t = *state;
    const char *const *c = itest_param(t);
    static char dump[DUMP_MAX];
    char taken[64];
    snprintf(taken, sizeof taken, "dump_signal_taken=%s", c[0]);
    pid_t server =
        itest_start(t, NULL, "worker_type=process", "workers=1", "mode=dump_wait", taken, NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    pid_t worker = itest_worker_pid(t, 0);
    itest_kill(worker, SIGCONT);
    itest_wait_log(t, "sigdump: wrote", 1, DL);
    read_dump(t, dump, sizeof dump);
    assert_every_thread_dumped(dump, 0);
    if (strstr(dump, c[1]) == NULL) fail_msg("\"%s\" not in the dump:\n%s", c[1], dump);
    if (strcmp(c[0], "handled") == 0) { /* still the program's: the worker lives on */
        itest_kill(worker, SIGRTMIN + 5);
        itest_kill(worker, SIGCONT);
        itest_wait_log(t, "sigdump: wrote", 2, DL);
    }
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "finished with status 0"), 1);
}

static const char *const blocked[] = {"blocked", "no stack: it blocks SIGRTMIN+5"};
static const char *const handled[] = {
    "handled", "no stack: the program has its own handler on SIGRTMIN+5, left to it"};

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cont_dumps_the_stack_of_every_thread_worker_run,
                                        itest_setup, itest_teardown),
        cmocka_unit_test_setup_teardown(
            test_cont_to_a_process_worker_dumps_its_helper_and_its_run_thread, itest_setup,
            itest_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigdump_signal_moves_the_dump_of_a_process_worker_off_cont, itest_setup,
            itest_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigdump_signal_that_is_not_a_signal_is_refused_naming_it, itest_setup,
            itest_teardown),
        cmocka_unit_test_setup_teardown(test_signal_dump_key_wins_over_sigdump_signal, itest_setup,
                                        itest_teardown),
        ITEST_CASE(test_a_thread_that_blocks_the_dump_signal_or_a_program_that_handles_it_is_named,
                   blocked, "blocked"),
        ITEST_CASE(test_a_thread_that_blocks_the_dump_signal_or_a_program_that_handles_it_is_named,
                   handled, "handled"),
    };
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
