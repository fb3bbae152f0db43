/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Paths and files a careless or hostile local user controls (issue 10,
 * items 1, 2, 5, 6, 7, 9, 12), with the real engine in real processes
 * (tests/support/itest.h):
 *   - a symbolic link planted at the log path by another user is refused,
 *     naming the path and the owner, at start and at a reopen;
 *   - a FIFO planted at the sigdump path, in place of the log or in place of
 *     the config file never blocks the loop: a worker killed meanwhile is
 *     reaped and replaced, TERM is still handled;
 *   - relative paths of a daemon resolve the same after a reload;
 *   - a heartbeat timeout not above the interval is refused at start (78)
 *     and on reload (the old configuration is kept);
 *   - a start-up error is printed once and names the pid file.
 *
 * Tests that need another user create a throwaway one when they run as root
 * (useradd with a unique name, userdel in teardown whatever happened) and
 * assert the unprivileged behaviour otherwise: every test runs everywhere.
 * Every wait polls a real condition against a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/itest.h"

#define DL        ITEST_DEADLINE_MS
#define TEXT_MAX  65536
#define USER_MAX  32
#define PATH_MAX_ 512

extern char **environ;

/* ---- a throwaway user (root only) ------------------------------------------ */

struct other_user {
    char name[USER_MAX];
    uid_t uid;
    gid_t gid;
    bool made;
};

/* One per test at most; the teardown removes it on every path. */
static struct other_user g_user;

/* A file the relative-path test would leave in / on a regression; the
 * teardown removes it on every path. */
static char g_stray[PATH_MAX_];

static int
run_cmd(const char *const *argv)
{
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Makes a user of our own, unique to this process, when we are root. */
static bool
other_user_make(void)
{
    if (geteuid() != 0) return false;
    snprintf(g_user.name, sizeof g_user.name, "sehf%ld", (long)getpid());
    const char *const add[] = {"/usr/sbin/useradd", "-M",        "-N", "-s",
                               "/usr/sbin/nologin", g_user.name, NULL};
    assert_int_equal(run_cmd(add), 0);
    g_user.made = true;
    struct passwd *pw = getpwnam(g_user.name);
    assert_non_null(pw);
    g_user.uid = pw->pw_uid;
    g_user.gid = pw->pw_gid;
    return true;
}

static void
other_user_drop(void)
{
    if (!g_user.made) return;
    const char *const del[] = {"/usr/sbin/userdel", g_user.name, NULL};
    (void)run_cmd(del);
    g_user.made = false;
}

static int
setup(void **state)
{
    memset(&g_user, 0, sizeof g_user);
    g_stray[0] = '\0';
    return itest_setup(state);
}

static int
teardown(void **state)
{
    other_user_drop();
    if (g_stray[0] != '\0') unlink(g_stray);
    return itest_teardown(state);
}

/* ---- files --------------------------------------------------------------- */

/* A file's text (regular files only: never blocks on a FIFO), "" if none. */
static void
read_regular(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        ssize_t n = read(fd, buf, size - 1);
        buf[n > 0 ? n : 0] = '\0';
    }
    close(fd);
}

static unsigned
count_in(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits until path (a regular file) holds text at least min times. */
static void
wait_file(const char *path, const char *text, unsigned min, int64_t deadline_ms)
{
    static char buf[TEXT_MAX];
    int64_t end = itest_now_ms() + deadline_ms;
    for (;;) {
        read_regular(path, buf, sizeof buf);
        if (count_in(buf, text) >= min) return;
        if (itest_now_ms() >= end) fail_msg("%s: no \"%s\" (x%u) in:\n%s", path, text, min, buf);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The pid in the latest "TEST run worker=0 pid=P" line of the file at path. */
static pid_t
worker0_pid_in(const char *path)
{
    static char buf[TEXT_MAX];
    read_regular(path, buf, sizeof buf);
    const char *last = NULL;
    for (const char *p = buf; (p = strstr(p, "TEST run worker=0 pid=")) != NULL; p++)
        last = p;
    assert_non_null(last);
    return (pid_t)atol(last + strlen("TEST run worker=0 pid="));
}

/* The loop is alive: worker 0 (its latest run line in the file from), killed,
 * is reaped and replaced (the run lines in the file to reach runs + 1); then
 * TERM ends the server. */
static void
assert_loop_goes_on_between(struct itest *t, pid_t server, const char *from, const char *to,
                            unsigned runs)
{
    pid_t victim = worker0_pid_in(from);
    itest_kill(victim, SIGKILL);
    wait_file(to, "TEST run worker=0 pid=", runs + 1, DL);
    assert_int_not_equal(worker0_pid_in(to), victim);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
}

static void
assert_loop_goes_on(struct itest *t, pid_t server, const char *path, unsigned runs)
{
    assert_loop_goes_on_between(t, server, path, path, runs);
}

/* ---- item 1: symbolic links another user controls ------------------------- */

/* A link at path to target, owned by the throwaway user (root), or by us. */
static void
plant_link(const char *target, const char *path)
{
    assert_int_equal(symlink(target, path), 0);
    if (g_user.made) assert_int_equal(lchown(path, g_user.uid, g_user.gid), 0);
}

static void
make_victim(const struct itest *t, char *victim, size_t size)
{
    itest_path(t, "victim", victim, size);
    itest_write_file(t, "victim", "ORIG\n");
    /* a sticky world-writable directory, as /tmp: where links get planted */
    assert_int_equal(chmod(t->dir, 01777), 0);
}

static void
test_log_through_another_users_symlink_is_refused_at_start(void **state)
{
    struct itest *t = *state;
    bool other = other_user_make();
    char victim[PATH_MAX_], link[PATH_MAX_], text[TEXT_MAX];
    make_victim(t, victim, sizeof victim);
    itest_path(t, "app.log", link, sizeof link);
    plant_link(victim, link);
    char log_kv[PATH_MAX_ + 8];
    snprintf(log_kv, sizeof log_kv, "log=%s", link);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", log_kv, NULL);
    if (other) {
        assert_int_equal(itest_wait_exit(t, server, DL), 78);
        itest_stderr(t, server, text, sizeof text);
        char owner[96];
        snprintf(owner, sizeof owner, "owned by uid %u (%s), neither this user nor root",
                 (unsigned)g_user.uid, g_user.name);
        if (count_in(text, link) != 1 || count_in(text, owner) != 1)
            fail_msg("expected %s and \"%s\" once in:\n%s", link, owner, text);
        /* our own link to theirs: each link of a chain is judged */
        char chain[PATH_MAX_];
        itest_path(t, "chain.log", chain, sizeof chain);
        assert_int_equal(symlink(link, chain), 0);
        snprintf(log_kv, sizeof log_kv, "log=%s", chain);
        server = itest_start(t, NULL, "worker_type=process", "workers=1", log_kv, NULL);
        assert_int_equal(itest_wait_exit(t, server, DL), 78);
        itest_stderr(t, server, text, sizeof text);
        if (count_in(text, owner) != 1 || count_in(text, link) != 1)
            fail_msg("expected %s and \"%s\" once in:\n%s", link, owner, text);
        read_regular(victim, text, sizeof text);
        assert_string_equal(text, "ORIG\n");
    } else {
        /* unprivileged: our own link is followed, as an administrator's is */
        wait_file(victim, "TEST run worker=0 pid=", 1, DL);
        assert_loop_goes_on(t, server, victim, 1);
    }
}

static void
test_log_replaced_by_another_users_symlink_is_refused_at_reopen(void **state)
{
    struct itest *t = *state;
    bool other = other_user_make();
    char victim[PATH_MAX_], old[PATH_MAX_], text[TEXT_MAX];
    make_victim(t, victim, sizeof victim);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_path(t, "test.log.old", old, sizeof old);
    assert_int_equal(rename(t->log_path, old), 0);
    plant_link(victim, t->log_path);
    itest_kill(server, SIGUSR2); /* reopen the log */
    if (other) {
        wait_file(old, "Received reload", 1, DL);
        wait_file(old, "a symbolic link owned by uid", 1, DL);
        wait_file(old, "TEST reload worker=0", 1, DL);
        assert_loop_goes_on(t, server, old, 1);
        read_regular(victim, text, sizeof text);
        assert_string_equal(text, "ORIG\n");
    } else {
        /* unprivileged: our own link is followed at the reopen */
        wait_file(victim, "TEST reload worker=0", 1, DL);
        assert_loop_goes_on_between(t, server, old, victim, 0);
    }
}

/* ---- item 2: FIFOs, directories ------------------------------------------- */

static void
test_fifo_at_the_sigdump_path_leaves_the_loop_running(void **state)
{
    struct itest *t = *state;
    char dump[PATH_MAX_];
    itest_path(t, "sigdump.log", dump, sizeof dump); /* the harness's SIGDUMP_PATH */
    assert_int_equal(mkfifo(dump, 0666), 0);
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_kill(server, SIGCONT);
    itest_wait_log(t, "sigdump: cannot write", 1, DL);
    assert_int_equal(itest_count_log(t, "a FIFO, not a regular file"), 1);
    assert_loop_goes_on(t, server, t->log_path, 1);
}

static void
test_fifo_in_place_of_the_log_leaves_the_loop_running(void **state)
{
    struct itest *t = *state;
    char old[PATH_MAX_];
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_path(t, "test.log.old", old, sizeof old);
    assert_int_equal(rename(t->log_path, old), 0);
    assert_int_equal(mkfifo(t->log_path, 0666), 0);
    itest_kill(server, SIGUSR2);
    wait_file(old, "a FIFO, not a regular file", 1, DL);
    wait_file(old, "TEST reload worker=0", 1, DL);
    assert_loop_goes_on(t, server, old, 1);
    unlink(t->log_path);
}

static void
test_fifo_in_place_of_the_config_file_leaves_the_loop_running(void **state)
{
    struct itest *t = *state;
    char cfg[PATH_MAX_];
    itest_write_file(t, "c.yml", "message: one\n");
    itest_path(t, "c.yml", cfg, sizeof cfg);
    pid_t server = itest_start(t, cfg, "worker_type=process", "workers=1", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    assert_int_equal(unlink(cfg), 0);
    assert_int_equal(mkfifo(cfg, 0666), 0);
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "Reload failed, keeping the current configuration", 1, DL);
    assert_int_equal(itest_count_log(t, "c.yml: cannot read: a FIFO, not a regular file"), 1);
    assert_loop_goes_on(t, server, t->log_path, 1);
}

static void
test_pid_file_that_is_a_fifo_or_a_directory_is_refused_at_start(void **state)
{
    struct itest *t = *state;
    char pid_path[PATH_MAX_], kv[PATH_MAX_ + 16], text[TEXT_MAX];
    itest_path(t, "fifo.pid", pid_path, sizeof pid_path);
    assert_int_equal(mkfifo(pid_path, 0666), 0);
    snprintf(kv, sizeof kv, "pid_path=%s", pid_path);
    pid_t server = itest_start(t, NULL, "workers=1", kv, NULL);
    assert_int_equal(itest_wait_exit(t, server, DL), 1); /* daemonize_error_exit_code */
    itest_stderr(t, server, text, sizeof text);
    assert_int_equal(count_in(text, "not a regular file"), 1);

    itest_path(t, "dir.pid", pid_path, sizeof pid_path);
    assert_int_equal(mkdir(pid_path, 0755), 0);
    snprintf(kv, sizeof kv, "pid_path=%s", pid_path);
    server = itest_start(t, NULL, "workers=1", kv, NULL);
    assert_int_not_equal(itest_wait_exit(t, server, DL), 0);
    itest_stderr(t, server, text, sizeof text);
    assert_int_equal(count_in(text, pid_path), 1);
    rmdir(pid_path);
}

/* ---- item 5: relative paths of a daemon across a reload ------------------- */

static void
test_relative_paths_of_a_daemon_resolve_the_same_after_a_reload(void **state)
{
    struct itest *t = *state;
    char here[PATH_MAX_], pid_path[PATH_MAX_], text[TEXT_MAX];
    char log_kv[PATH_MAX_ + 8];
    /* a name nobody else uses: on a regression the log would land in / */
    char *stray = g_stray;
    snprintf(stray, sizeof g_stray, "/sehf-rel-%ld.log", (long)getpid());
    snprintf(log_kv, sizeof log_kv, "log=%s", stray + 1);
    assert_non_null(getcwd(here, sizeof here));
    assert_int_equal(chdir(t->dir), 0); /* the engine starts in the test's directory */
    itest_write_file(t, "rel.yml", "message: one\n");
    pid_t launcher =
        itest_start(t, "rel.yml", "daemonize=true", "workers=1", log_kv, "pid_path=rel.pid", NULL);
    assert_int_equal(chdir(here), 0);
    assert_int_equal(itest_wait_exit(t, launcher, DL), 0);
    char log[PATH_MAX_];
    itest_path(t, stray + 1, log, sizeof log);
    wait_file(log, "TEST run worker=0 pid=", 1, DL);
    itest_path(t, "rel.pid", pid_path, sizeof pid_path);
    read_regular(pid_path, text, sizeof text);
    pid_t daemon = (pid_t)atol(text);
    assert_true(daemon > 0);

    itest_write_file(t, "rel.yml", "message: two\n");
    itest_kill(daemon, SIGUSR2);
    wait_file(log, "TEST reload worker=0 message=two", 1, DL);
    read_regular(log, text, sizeof text);
    assert_int_equal(count_in(text, "pid_path"), 0); /* no "changed" warning */
    assert_int_equal(access(stray, F_OK), -1);       /* nothing written in / */

    itest_kill(daemon, SIGTERM);
    int status = -1;
    assert_int_equal(itest_wait_adopted(t, DL, &status), daemon);
    assert_int_equal(status, 0);
}

/* ---- item 9: a heartbeat timeout not above the interval --------------------- */

static void
test_heartbeat_timeout_below_the_interval_is_refused_at_start_and_on_reload(void **state)
{
    struct itest *t = *state;
    char text[TEXT_MAX], cfg[PATH_MAX_];
    pid_t server = itest_start(t, NULL, "workers=1", "worker_heartbeat_interval=2",
                               "worker_heartbeat_timeout=1", NULL);
    assert_int_equal(itest_wait_exit(t, server, DL), 78);
    itest_stderr(t, server, text, sizeof text);
    assert_int_equal(count_in(text, "worker_heartbeat_timeout (1000 ms) is not longer than "
                                    "worker_heartbeat_interval (2000 ms)"),
                     1);

    itest_write_file(t, "hb.yml", "message: one\n");
    itest_path(t, "hb.yml", cfg, sizeof cfg);
    server = itest_start(t, cfg, "workers=1", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_write_file(t, "hb.yml", "worker_heartbeat_interval: 3\nworker_heartbeat_timeout: 2\n");
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "Reload failed, keeping the current configuration", 1, DL);
    assert_int_equal(itest_count_log(t, "worker_heartbeat_interval (3000 ms)"), 1);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "TEST run worker=0 pid="), 1); /* never killed */
}

/* ---- item 12: start-up errors, once, naming the pid file -------------------- */

static void
test_start_up_error_is_printed_once_and_names_the_pid_file(void **state)
{
    struct itest *t = *state;
    char pid_path[PATH_MAX_], kv[PATH_MAX_ + 16], text[TEXT_MAX];
    itest_path(t, "missing/x.pid", pid_path, sizeof pid_path);
    snprintf(kv, sizeof kv, "pid_path=%s", pid_path);
    /* the log on stderr: the error is said there once */
    pid_t server = itest_start(t, NULL, "workers=1", "log=", kv, NULL);
    assert_int_equal(itest_wait_exit(t, server, DL), 1);
    itest_stderr(t, server, text, sizeof text);
    assert_int_equal(count_in(text, "cannot write pid file"), 1);
    assert_int_equal(count_in(text, ".tmp."), 0);
    char want[PATH_MAX_ + 64];
    snprintf(want, sizeof want, "%s: No such file or directory", pid_path);
    assert_int_equal(count_in(text, want), 1);
    /* the log in a file: once there, once on stderr */
    server = itest_start(t, NULL, "workers=1", kv, NULL);
    assert_int_equal(itest_wait_exit(t, server, DL), 1);
    itest_stderr(t, server, text, sizeof text);
    assert_int_equal(count_in(text, want), 1);
    assert_int_equal(itest_count_log(t, want), 1);
    assert_int_equal(itest_count_log(t, ".tmp."), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        T(test_log_through_another_users_symlink_is_refused_at_start),
        T(test_log_replaced_by_another_users_symlink_is_refused_at_reopen),
        T(test_fifo_at_the_sigdump_path_leaves_the_loop_running),
        T(test_fifo_in_place_of_the_log_leaves_the_loop_running),
        T(test_fifo_in_place_of_the_config_file_leaves_the_loop_running),
        T(test_pid_file_that_is_a_fifo_or_a_directory_is_refused_at_start),
        T(test_relative_paths_of_a_daemon_resolve_the_same_after_a_reload),
        T(test_heartbeat_timeout_below_the_interval_is_refused_at_start_and_on_reload),
        T(test_start_up_error_is_printed_once_and_names_the_pid_file),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
