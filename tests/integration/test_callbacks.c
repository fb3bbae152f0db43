/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every callback of serverengine(3) is called, once per start, in the
 * process and order serverengine.h promises, the way Ruby ServerEngine calls
 * its hooks: the server's init, then before_run; for each start of a worker,
 * init, before_fork and after_start in the server, run in the worker (a
 * forked child for process workers, a thread of the server for thread
 * workers); at a stop, stop, then finalize in the server once run ended;
 * after_run last. With a supervisor, the server's after_start runs in the
 * supervisor once per server process. And the BlockingFlag the callbacks use
 * (serverengine(3), UTILITIES): set and reset say whether they changed it,
 * waits time out or are woken by another thread.
 *
 * The engine is this binary again (--engine DIR TYPE [supervisor]): no test
 * harness in it; it logs "CB NAME pid=P worker=W" lines to DIR/engine.log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define DEADLINE_MS 20000
#define WORKERS     2
#define LINES_MAX   256
#define LINE_MAX    512

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the engine side ------------------------------------------------------ */

static void
cb_server(struct se_server *s, const char *name)
{
    se_log_info(se_server_logger(s), "CB %s pid=%d worker=-", name, (int)getpid());
}

static void
cb_worker(struct se_worker *w, const char *name)
{
    se_log_info(se_worker_logger(w), "CB %s pid=%d worker=%u", name, (int)getpid(),
                se_worker_id(w));
}

static int
s_init(struct se_server *s)
{
    cb_server(s, "server_init");
    return 0;
}

static int
s_before_run(struct se_server *s)
{
    cb_server(s, "before_run");
    return 0;
}

static void
s_after_run(struct se_server *s)
{
    cb_server(s, "after_run");
}

static void
s_after_start(struct se_server *s)
{
    cb_server(s, "server_after_start");
}

static int
w_init(struct se_worker *w)
{
    cb_worker(w, "init");
    se_worker_set_user_data(w, se_blocking_flag_new());
    return se_worker_user_data(w) != NULL ? 0 : 1;
}

static void
w_before_fork(struct se_worker *w)
{
    cb_worker(w, "before_fork");
}

static int
w_run(struct se_worker *w)
{
    cb_worker(w, "run");
    se_blocking_flag_wait_for_set(se_worker_user_data(w), -1);
    cb_worker(w, "run_returns");
    return 0;
}

static void
w_stop(struct se_worker *w)
{
    cb_worker(w, "stop");
    se_blocking_flag_set(se_worker_user_data(w));
}

static void
w_after_start(struct se_worker *w)
{
    cb_worker(w, "after_start");
}

static void
w_finalize(struct se_worker *w)
{
    cb_worker(w, "finalize");
    se_blocking_flag_free(se_worker_user_data(w));
}

static int
engine_main(const char *dir, const char *type, bool supervisor)
{
    static const struct se_server_callbacks scb = {.init = s_init,
                                                   .before_run = s_before_run,
                                                   .after_run = s_after_run,
                                                   .after_start = s_after_start};
    static const struct se_worker_callbacks wcb = {.init = w_init,
                                                   .before_fork = w_before_fork,
                                                   .run = w_run,
                                                   .stop = w_stop,
                                                   .after_start = w_after_start,
                                                   .finalize = w_finalize};
    char log[512], wt[64], msg[256];
    snprintf(log, sizeof log, "log=%s/engine.log", dir);
    snprintf(wt, sizeof wt, "worker_type=%s", type);
    const char *sets[] = {log, wt, "workers=2", "log_level=info",
                          supervisor ? "supervisor=true" : "supervisor=false"};
    int err = 0;
    struct se_engine *e = se_engine_new(&scb, &wcb, NULL, &err);
    if (e == NULL || se_engine_configure(e, NULL, NULL, sets, 5, msg, sizeof msg) != 0) return 78;
    int rc = se_engine_run(e);
    se_engine_free(e);
    return rc;
}

/* ---- the test side ------------------------------------------------------------ */

struct cb_line {
    char name[32];
    int pid;
    int worker; /* -1: a server callback */
};

struct run {
    char dir[64];
    pid_t engine;
    struct cb_line lines[LINES_MAX];
    size_t count;
};

/* Reads every "CB" line of the log. */
static void
read_lines(struct run *r)
{
    char path[128], buf[LINE_MAX];
    snprintf(path, sizeof path, "%s/engine.log", r->dir);
    r->count = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL) return;
    while (fgets(buf, sizeof buf, f) != NULL && r->count < LINES_MAX) {
        const char *cb = strstr(buf, "CB ");
        struct cb_line *l = &r->lines[r->count];
        char worker[16];
        if (cb == NULL || sscanf(cb, "CB %31s pid=%d worker=%15s", l->name, &l->pid, worker) != 3)
            continue;
        l->worker = worker[0] == '-' ? -1 : atoi(worker);
        r->count++;
    }
    fclose(f);
}

/* The index of the n-th (from 1) line named name for worker, or -1. */
static long
find(const struct run *r, const char *name, int worker, int n)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->lines[i].name, name) == 0 && r->lines[i].worker == worker && --n == 0)
            return (long)i;
    }
    return -1;
}

static unsigned
count(const struct run *r, const char *name)
{
    unsigned c = 0;
    for (size_t i = 0; i < r->count; i++)
        c += strcmp(r->lines[i].name, name) == 0;
    return c;
}

static void
print_lines(const struct run *r)
{
    for (size_t i = 0; i < r->count; i++)
        print_message("  %s pid=%d worker=%d\n", r->lines[i].name, r->lines[i].pid,
                      r->lines[i].worker);
}

static void
start(struct run *r, const char *type, bool supervisor)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/se-callbacks-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char self[256];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    r->engine = fork();
    assert_true(r->engine >= 0);
    if (r->engine == 0) {
        execl(self, self, "--engine", r->dir, type, supervisor ? "supervisor" : "server",
              (char *)NULL);
        _exit(127);
    }
}

/* Polls the log until want lines named name are there. */
static bool
wait_for(struct run *r, const char *name, unsigned want)
{
    for (int64_t until = now_ms() + DEADLINE_MS; now_ms() < until; nap_ms(10)) {
        read_lines(r);
        if (count(r, name) >= want) return true;
    }
    return false;
}

/* TERM, then the exit status (-1 past the deadline: the engine is killed). */
static int
stop(struct run *r)
{
    kill(r->engine, SIGTERM);
    int status = 0;
    for (int64_t until = now_ms() + DEADLINE_MS; now_ms() < until; nap_ms(10)) {
        if (waitpid(r->engine, &status, WNOHANG) == r->engine) {
            read_lines(r);
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
    }
    kill(r->engine, SIGKILL);
    waitpid(r->engine, &status, 0);
    return -1;
}

static void
cleanup(struct run *r)
{
    char path[128];
    snprintf(path, sizeof path, "%s/engine.log", r->dir);
    unlink(path);
    rmdir(r->dir);
}

/* Every worker: init < before_fork < run, after_start after before_fork, all
 * but run in the server (server_pid); stop < run_returns < finalize. */
static void
check_worker(const struct run *r, int id, int server_pid, bool forked)
{
    long init = find(r, "init", id, 1), fork_ = find(r, "before_fork", id, 1);
    long run = find(r, "run", id, 1), after = find(r, "after_start", id, 1);
    long stop_ = find(r, "stop", id, 1), ret = find(r, "run_returns", id, 1);
    long fin = find(r, "finalize", id, 1);
    if (init < 0 || fork_ < 0 || run < 0 || after < 0 || stop_ < 0 || ret < 0 || fin < 0) {
        print_lines(r);
        fail_msg("worker %d: a callback was not called", id);
    }
    assert_true(init < fork_);
    assert_true(fork_ < run && fork_ < after);
    assert_true(stop_ < ret && ret < fin);
    assert_int_equal(r->lines[init].pid, server_pid);
    assert_int_equal(r->lines[fork_].pid, server_pid);
    assert_int_equal(r->lines[after].pid, server_pid);
    assert_int_equal(r->lines[fin].pid, server_pid);
    if (forked)
        assert_int_not_equal(r->lines[run].pid, server_pid);
    else
        assert_int_equal(r->lines[run].pid, server_pid);
}

static void
check_server(const struct run *r, const char *type)
{
    long init = find(r, "server_init", -1, 1), before = find(r, "before_run", -1, 1);
    long after = find(r, "after_run", -1, 1);
    if (init < 0 || before < 0 || after < 0) {
        print_lines(r);
        fail_msg("a server callback was not called");
    }
    assert_true(init < before);
    int server_pid = r->lines[init].pid;
    assert_int_equal(r->lines[before].pid, server_pid);
    assert_int_equal(r->lines[after].pid, server_pid);
    for (int id = 0; id < WORKERS; id++) {
        check_worker(r, id, server_pid, strcmp(type, "process") == 0);
        assert_true(before < find(r, "init", id, 1));
        assert_true(find(r, "finalize", id, 1) < after);
    }
    /* once each: one start of each worker, one server */
    assert_int_equal(count(r, "server_init"), 1);
    assert_int_equal(count(r, "before_fork"), WORKERS);
    assert_int_equal(count(r, "after_start"), WORKERS);
    assert_int_equal(count(r, "finalize"), WORKERS);
}

static void
run_type(const char *type)
{
    struct run r;
    start(&r, type, false);
    bool up = wait_for(&r, "run", WORKERS) && wait_for(&r, "after_start", WORKERS);
    int status = stop(&r);
    if (!up) print_lines(&r);
    assert_true(up);
    assert_int_equal(status, 0);
    check_server(&r, type);
    assert_int_equal(r.lines[find(&r, "server_init", -1, 1)].pid, r.engine);
    assert_int_equal(count(&r, "server_after_start"), 0); /* no supervisor */
    cleanup(&r);
}

static void
test_callbacks_of_process_workers_run_in_order_and_in_their_process(void **state)
{
    (void)state;
    run_type("process");
}

static void
test_callbacks_of_thread_workers_run_in_order_and_in_the_server(void **state)
{
    (void)state;
    run_type("thread");
}

static void
test_with_a_supervisor_the_servers_after_start_runs_in_the_supervisor(void **state)
{
    (void)state;
    struct run r;
    start(&r, "process", true);
    bool up = wait_for(&r, "run", WORKERS) && wait_for(&r, "server_after_start", 1);
    int status = stop(&r);
    if (!up) print_lines(&r);
    assert_true(up);
    assert_int_equal(status, 0);
    check_server(&r, "process");
    long after = find(&r, "server_after_start", -1, 1);
    assert_int_equal(r.lines[after].pid, r.engine); /* the supervisor */
    assert_int_not_equal(r.lines[find(&r, "server_init", -1, 1)].pid, r.engine); /* its child */
    assert_int_equal(count(&r, "server_after_start"), 1);
    cleanup(&r);
}

/* ---- BlockingFlag ------------------------------------------------------------- */

static void *
set_later(void *arg)
{
    se_blocking_flag_set(arg);
    return NULL;
}

static void
test_blocking_flag_set_and_reset_say_whether_they_changed_it(void **state)
{
    (void)state;
    struct se_blocking_flag *f = se_blocking_flag_new();
    assert_non_null(f);
    assert_false(se_blocking_flag_is_set(f)); /* new: reset */
    assert_false(se_blocking_flag_reset(f));
    assert_true(se_blocking_flag_set(f));
    assert_false(se_blocking_flag_set(f));
    assert_true(se_blocking_flag_is_set(f));
    assert_true(se_blocking_flag_wait_for_set(f, 0));
    assert_false(se_blocking_flag_wait_for_reset(f, 0));
    assert_true(se_blocking_flag_reset(f));
    assert_false(se_blocking_flag_is_set(f));
    se_blocking_flag_free(f);
}

static void
test_blocking_flag_wait_times_out_and_is_woken_by_another_thread(void **state)
{
    (void)state;
    struct se_blocking_flag *f = se_blocking_flag_new();
    assert_non_null(f);
    int64_t t0 = now_ms();
    assert_false(se_blocking_flag_wait_for_set(f, 50));
    assert_true(now_ms() - t0 >= 50); /* never early */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, set_later, f), 0);
    assert_true(se_blocking_flag_wait_for_set(f, DEADLINE_MS));
    assert_int_equal(pthread_join(th, NULL), 0);
    se_blocking_flag_free(f);
}

int
main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--engine") == 0)
        return engine_main(argv[2], argv[3], strcmp(argv[4], "supervisor") == 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callbacks_of_process_workers_run_in_order_and_in_their_process),
        cmocka_unit_test(test_callbacks_of_thread_workers_run_in_order_and_in_the_server),
        cmocka_unit_test(test_with_a_supervisor_the_servers_after_start_runs_in_the_supervisor),
        cmocka_unit_test(test_blocking_flag_set_and_reset_say_whether_they_changed_it),
        cmocka_unit_test(test_blocking_flag_wait_times_out_and_is_woken_by_another_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
