/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine as a container's main process: PID 1 of a new pid namespace
 * (unshare -fp, as root; unshare -Urfp, a user namespace, otherwise). Its
 * process worker starts programs that outlive their parent, the way shell
 * scripts and daemons do; in a container those orphans are PID 1's to reap,
 * or they stay zombies for good. TERM then stops the tree, and the exit
 * status is the one an orchestrator reads.
 *
 * The engine is this binary again (--engine DIR): no test harness in it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define DEADLINE_MS 20000
#define ORPHANS     20 /* each run of the worker leaves this many orphans */

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

/* A child that forks a grandchild and exits at once: the grandchild, an
 * orphan, exits a moment later, or (hold) waits until it is killed. */
static void
leave_orphan(bool hold)
{
    pid_t child = fork();
    if (child != 0) {
        if (child > 0) waitpid(child, NULL, 0);
        return;
    }
    if (fork() == 0) {
        if (hold) {
            for (;;)
                pause();
        }
        nap_ms(20);
        _exit(0);
    }
    _exit(0);
}

/* With DIR/hold, each worker leaves orphans that wait, and only on its first
 * run: a restart makes no child whose end would wake the engine. */
static bool
leave_orphans(unsigned id)
{
    const char *dir = getenv("SE_CONTAINER_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/hold", dir);
    bool hold = access(path, F_OK) == 0;
    snprintf(path, sizeof path, "%s/made-%u", dir, id);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    close(fd);
    for (int i = 0; i < ORPHANS; i++)
        leave_orphan(hold);
    return true;
}

static int
w_run(struct se_worker *w)
{
    if (leave_orphans(se_worker_id(w)))
        se_log_info(se_worker_logger(w), "orphans left: %d", ORPHANS);
    struct se_blocking_flag *stop = se_worker_user_data(w);
    se_blocking_flag_wait_for_set(stop, -1);
    return 0;
}

static int
w_init(struct se_worker *w)
{
    se_worker_set_user_data(w, se_blocking_flag_new());
    return 0;
}

static void
w_stop(struct se_worker *w)
{
    se_blocking_flag_set(se_worker_user_data(w));
}

static void
w_fin(struct se_worker *w)
{
    se_blocking_flag_free(se_worker_user_data(w));
}

static int
engine_main(const char *dir)
{
    static const struct se_worker_callbacks wcb = {
        .init = w_init, .run = w_run, .stop = w_stop, .finalize = w_fin};
    char log[512], msg[256];
    snprintf(log, sizeof log, "log=%s/engine.log", dir);
    setenv("SE_CONTAINER_DIR", dir, 1);
    const char *sets[] = {"worker_type=process", "workers=2", log,
                          "worker_graceful_kill_timeout=5"};
    int err = 0;
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    if (e == NULL || se_engine_configure(e, NULL, NULL, sets, 4, msg, sizeof msg) != 0) return 78;
    int rc = se_engine_run(e);
    se_engine_free(e);
    return rc;
}

/* ---- the test side ------------------------------------------------------------ */

struct box {
    char dir[64];
    pid_t unshare; /* our child: unshare, whose child is the engine (PID 1 inside) */
};

/* The first child of pid, or -1. */
static pid_t
first_child(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    int child = -1;
    if (f != NULL && fscanf(f, "%d", &child) != 1) child = -1;
    if (f != NULL) fclose(f);
    return child;
}

/* The state letter of pid ('Z' for a zombie), or 0 when it is gone. */
static char
state_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' ? p[2] : 0;
}

/* Zombies among the children of pid (its main thread's list). */
static int
zombies_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) return -1;
    int child, zombies = 0;
    while (fscanf(f, "%d", &child) == 1)
        zombies += state_of(child) == 'Z';
    fclose(f);
    return zombies;
}

static int
count_in_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

static pid_t
start_in_namespace(struct box *b, const char *self)
{
    /* root makes a pid namespace directly; anyone else through a user namespace */
    bool root = geteuid() == 0;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const char *argv_root[] = {"unshare", "-fp", "--mount-proc", self, "--engine",
                                   b->dir,    NULL};
        const char *argv_user[] = {"unshare", "-Urfp", "--mount-proc", self, "--engine",
                                   b->dir,    NULL};
        execvp("unshare", (char *const *)(root ? argv_root : argv_user));
        _exit(127);
    }
    return pid;
}

static int zombies_of(pid_t pid);
static int count_children(pid_t pid);

/* What a failure needs to be understood: the engine's log and the states
 * of what is left of its tree. */
static void
show_why(const char *log, pid_t engine)
{
    FILE *f = fopen(log, "re");
    char line[4096];
    fprintf(stderr, "--- %s\n", log);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    if (f != NULL) fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "ps -o pid,ppid,pgid,stat,wchan:20,args --ppid %d -p %d >&2; "
             "grep -E 'Sig(Blk|Ign|Cgt|Pnd)|ShdPnd' /proc/%d/status >&2",
             (int)engine, (int)engine, (int)engine);
    (void)!system(cmd);
}

static void
test_as_pid_1_the_engine_reaps_orphans_and_stops_on_term(void **state)
{
    struct box *b = *state;
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    b->unshare = start_in_namespace(b, self);
    char log[128];
    snprintf(log, sizeof log, "%s/engine.log", b->dir);

    /* both workers ran and left their orphans */
    int64_t until = now_ms() + DEADLINE_MS;
    while (count_in_file(log, "orphans left") < 2 && now_ms() < until)
        nap_ms(10);
    assert_int_equal(count_in_file(log, "orphans left"), 2);
    pid_t engine = first_child(b->unshare);
    assert_true(engine > 0);

    /* every orphan has exited (20 ms each) and been reaped: PID 1's children
     * are its two workers again, none a zombie. Waited for with a deadline.
     * (Waiting for "no zombie" alone sampled a moment between two orphans'
     * ends under load: one more could end, a zombie for an instant, before
     * the assertion looked.) */
    until = now_ms() + DEADLINE_MS;
    while ((count_children(engine) != 2 || zombies_of(engine) != 0) && now_ms() < until)
        nap_ms(10);
    if (count_children(engine) != 2 || zombies_of(engine) != 0) show_why(log, engine);
    assert_int_equal(count_children(engine), 2);
    assert_int_equal(zombies_of(engine), 0);

    /* TERM, as an orchestrator sends it: a graceful stop, status 0 */
    kill(engine, SIGTERM);
    int status = 0;
    until = now_ms() + DEADLINE_MS;
    pid_t got = 0;
    while ((got = waitpid(b->unshare, &status, WNOHANG)) == 0 && now_ms() < until)
        nap_ms(10);
    if (got != b->unshare) show_why(log, engine);
    assert_int_equal(got, b->unshare);
    b->unshare = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_in_file(log, "Received graceful stop"), 1);
    assert_int_equal(count_in_file(log, "finished with status 0"), 2);
}

/* The first child of the engine that leads its own process group: a worker. */
static pid_t
a_worker_of(pid_t engine)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)engine, (int)engine);
    FILE *f = fopen(path, "re");
    int child = -1, found = -1;
    while (f != NULL && found < 0 && fscanf(f, "%d", &child) == 1) {
        if (getpgid(child) == child) found = child;
    }
    if (f != NULL) fclose(f);
    return found;
}

static int
count_children(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    int child, n = 0;
    while (f != NULL && fscanf(f, "%d", &child) == 1)
        n++;
    if (f != NULL) fclose(f);
    return n;
}

/* A worker and its orphans end while the engine cannot run (stopped): at
 * its next SIGCHLD the worker's zombie comes first in the wait order, the
 * orphans' after it. Every one of them must be reaped, and the stop that
 * follows must not wait on orphans' zombies left in the worker's group. */
static void
test_as_pid_1_the_engine_reaps_orphans_that_end_with_their_worker(void **state)
{
    struct box *b = *state;
    char self[512], log[128], hold[128];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(hold, sizeof hold, "%s/hold", b->dir);
    FILE *h = fopen(hold, "we");
    assert_non_null(h);
    fclose(h);
    b->unshare = start_in_namespace(b, self);
    snprintf(log, sizeof log, "%s/engine.log", b->dir);
    int64_t until = now_ms() + DEADLINE_MS;
    while (count_in_file(log, "orphans left") < 2 && now_ms() < until)
        nap_ms(10);
    assert_int_equal(count_in_file(log, "orphans left"), 2);
    pid_t engine = first_child(b->unshare);
    assert_true(engine > 0);
    /* the workers' children have ended; the orphans are the engine's now */
    until = now_ms() + DEADLINE_MS;
    while (count_children(engine) < 2 + 2 * ORPHANS && now_ms() < until)
        nap_ms(10);
    assert_int_equal(count_children(engine), 2 + 2 * ORPHANS);
    pid_t worker = a_worker_of(engine);
    assert_true(worker > 0);

    kill(engine, SIGSTOP);
    until = now_ms() + DEADLINE_MS;
    while (state_of(engine) != 'T' && now_ms() < until)
        nap_ms(10);
    assert_int_equal(state_of(engine), 'T');
    kill(-worker, SIGKILL); /* the worker and its orphans, all at once */
    until = now_ms() + DEADLINE_MS;
    while (zombies_of(engine) < 1 + ORPHANS && now_ms() < until)
        nap_ms(10);
    assert_int_equal(zombies_of(engine), 1 + ORPHANS);
    kill(engine, SIGCONT);

    until = now_ms() + DEADLINE_MS;
    while (zombies_of(engine) != 0 && now_ms() < until)
        nap_ms(10);
    if (zombies_of(engine) != 0) show_why(log, engine);
    assert_int_equal(zombies_of(engine), 0);

    kill(engine, SIGTERM);
    int status = 0;
    pid_t got = 0;
    until = now_ms() + DEADLINE_MS;
    while ((got = waitpid(b->unshare, &status, WNOHANG)) == 0 && now_ms() < until)
        nap_ms(10);
    if (got != b->unshare) show_why(log, engine);
    assert_int_equal(got, b->unshare);
    b->unshare = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int
setup(void **state)
{
    struct box *b = calloc(1, sizeof *b);
    if (b == NULL) return -1;
    snprintf(b->dir, sizeof b->dir, "/tmp/se-container-XXXXXX");
    if (mkdtemp(b->dir) == NULL) return -1;
    *state = b;
    return 0;
}

static int
teardown(void **state)
{
    struct box *b = *state;
    if (b->unshare > 0) {
        pid_t engine = first_child(b->unshare);
        if (engine > 0) kill(engine, SIGKILL); /* PID 1 gone: the namespace goes with it */
        kill(b->unshare, SIGKILL);
        waitpid(b->unshare, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) return -1;
    free(b);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--engine") == 0) return engine_main(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_as_pid_1_the_engine_reaps_orphans_and_stops_on_term,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_as_pid_1_the_engine_reaps_orphans_that_end_with_their_worker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
