/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Daemon support with real processes: the double fork and its start-up
 * report, the pid file (atomic, locked, stale-aware, safe release, racing
 * instances), dropping privileges, process names.
 *
 * Every test gets a fresh directory and must leave no descriptor open and no
 * child behind (checked in teardown). Every wait polls a real condition
 * against a deadline. The test process is a child subreaper, so a daemon
 * (the grandchild of a launcher we fork) is reparented to us and reaped here.
 * The privilege tests expect root (the sandbox runs them as root); as another
 * user they check that the drop fails with -EPERM instead, and pass. No test
 * is left out in any environment: tests/run.sh counts a test cmocka did not
 * run as a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "support/itest.h"

#define DEADLINE_MS  5000
#define POLL_MS      2
#define FDS_TEXT_MAX 4096
#define PIDS_MAX     16
#define RACERS       6
#define RACE_ROUNDS  12

static int g_argc;
static char **g_argv;

/* ---- time, processes, files -------------------------------------------- */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pause between two looks at a condition (never a wait in itself). */
static void
pause_poll(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps pid within timeout_ms: 0, or -ETIMEDOUT (still running), -errno. */
static int
wait_pid(pid_t pid, int *status, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) return -errno;
        if (now_ms() >= deadline) return -ETIMEDOUT;
        pause_poll();
    }
}

static bool
wait_path(const char *path, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    struct stat st;
    while (lstat(path, &st) < 0) {
        if (now_ms() >= deadline) return false;
        pause_poll();
    }
    return true;
}

/* Reads fd until EOF within timeout_ms; returns the length or -errno. */
static ssize_t
read_until_eof(int fd, char *buf, size_t size, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t got = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 ? -errno : -ETIMEDOUT;
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        got += (size_t)n;
        if (got == size - 1) break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

static ssize_t
read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    buf[n] = '\0';
    return n;
}

/* Plain write in place (how an old tool writes a pid file). */
static void
write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* Temp file and rename, so that a reader never sees half of it. */
static int
publish_text(const char *dir, const char *name, const char *text)
{
    char tmp[256];
    char path[256];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    if (n != (ssize_t)strlen(text)) return -EIO;
    return rename(tmp, path) < 0 ? -errno : 0;
}

static void
path_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Names in dir other than those listed (NULL-terminated), joined by spaces. */
static void
dir_extra(const char *dir, const char *const *expected, char *out, size_t size)
{
    DIR *d = opendir(dir);
    out[0] = '\0';
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        bool known = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        for (size_t i = 0; expected[i] != NULL && !known; i++)
            known = strcmp(e->d_name, expected[i]) == 0;
        if (!known) snprintf(out + strlen(out), size - strlen(out), "%s ", e->d_name);
    }
    closedir(d);
}

/* ---- fixture: directory, descriptors, children ---------------------------- */

struct fx {
    char dir[64];
    char fds_before[FDS_TEXT_MAX];
    pid_t pids[PIDS_MAX];
    size_t npids;
};

/* "fd -> target" lines of /proc/self/fd in fd order, without the listing's own. */
static void
fds_snapshot(char *out, size_t size)
{
    char line[PATH_MAX + 32];
    char target[PATH_MAX];
    bool open_fd[1024] = {false};
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < 1024) open_fd[fd] = true;
    }
    closedir(d);
    out[0] = '\0';
    for (int fd = 0; fd < 1024; fd++) {
        if (!open_fd[fd]) continue;
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        snprintf(line, sizeof line, "%d -> %s\n", fd, target);
        snprintf(out + strlen(out), size - strlen(out), "%s", line);
    }
}

static void
fx_track(struct fx *f, pid_t pid)
{
    assert_true(f->npids < PIDS_MAX);
    f->pids[f->npids++] = pid;
}

static void
fx_untrack(struct fx *f, pid_t pid)
{
    for (size_t i = 0; i < f->npids; i++) {
        if (f->pids[i] == pid) f->pids[i] = f->pids[--f->npids];
    }
}

/* fork() with stdio flushed first: the child must not write our buffered
 * output (cmocka's TAP lines) a second time. */
static pid_t
fx_fork(struct fx *f)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) fx_track(f, pid);
    return pid;
}

/* Reaps a child within the deadline; kills it and fails the test if it is
 * still running then. Returns its wait status. */
static int
fx_reap(struct fx *f, pid_t pid)
{
    int status = 0;
    int rc = wait_pid(pid, &status, DEADLINE_MS);
    if (rc == -ETIMEDOUT) {
        kill(pid, SIGKILL);
        (void)wait_pid(pid, &status, DEADLINE_MS);
    }
    fx_untrack(f, pid);
    if (rc < 0)
        fail_msg("child %ld not reaped within %d ms: %s", (long)pid, DEADLINE_MS, strerror(-rc));
    return status;
}

static void
expect_exit(int status, int code)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
        fail_msg("wait status 0x%x, want exit %d", status, code);
}

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/se-test-daemon-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fds_snapshot(f->fds_before, sizeof f->fds_before);
    *state = f;
    return 0;
}

static void
rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return;
    char path[512];
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        path_in(path, sizeof path, dir, e->d_name);
        (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

/* Children still tracked were left running by a failed test: killed and
 * reaped here. Any other child of ours (a zombie the launcher failed to
 * reap, reparented to us) is a failure too. */
static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    char fds_after[FDS_TEXT_MAX];
    size_t left = f->npids;
    while (f->npids > 0) {
        pid_t pid = f->pids[0];
        kill(pid, SIGKILL);
        (void)fx_reap(f, pid);
    }
    int status = 0;
    pid_t stray = waitpid(-1, &status, WNOHANG);
    rm_dir(f->dir);
    fds_snapshot(fds_after, sizeof fds_after);
    bool fds_same = strcmp(f->fds_before, fds_after) == 0;
    if (!fds_same) print_error("descriptors before:\n%safter:\n%s", f->fds_before, fds_after);
    free(f);
    assert_int_equal(left, 0);
    if (stray > 0) fail_msg("child %ld was left for us to reap", (long)stray);
    assert_true(fds_same);
    return 0;
}

/* ---- running a check in a child ------------------------------------------- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(msg, size, "line %d: %s (errno %s)", __LINE__, #cond, strerror(errno));       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

typedef int (*child_fn)(void *arg, char *msg, size_t size);

/* Runs fn in a child (for what must not touch the test process: privileges,
 * process names, a second instance); the test fails with fn's message unless
 * fn returns 0. */
static void
run_in_child(struct fx *f, child_fn fn, void *arg)
{
    int p[2];
    char msg[512];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fx_fork(f);
    if (pid == 0) {
        close(p[0]);
        msg[0] = '\0';
        int rc = fn(arg, msg, sizeof msg);
        (void)!write(p[1], msg, strlen(msg));
        _exit(rc);
    }
    close(p[1]);
    ssize_t n = read_until_eof(p[0], msg, sizeof msg, DEADLINE_MS);
    close(p[0]);
    int status = fx_reap(f, pid);
    if (n < 0) snprintf(msg, sizeof msg, "no answer: %s", strerror((int)-n));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed (status 0x%x): %s", status, msg);
}

/* ---- daemonize ------------------------------------------------------------ */

enum plan_kind { PLAN_READY, PLAN_FAIL, PLAN_SILENT };

struct plan {
    const char *dir;
    enum plan_kind kind;
    bool keep_stderr;
    bool buffered_note; /* the launcher leaves unflushed stdio output on stderr */
};

/* The daemon: publishes what it sees of itself, then follows the plan. */
static SE_NORETURN void
daemon_main(const struct plan *plan, struct se_daemon *d)
{
    char text[128];
    char go[128];
    snprintf(text, sizeof text, "%ld %ld %ld %ld\n", (long)getpid(), (long)getsid(0),
             (long)getpgrp(), (long)getppid());
    if (publish_text(plan->dir, "info", text) < 0) _exit(91);
    switch (plan->kind) {
    case PLAN_READY:
        if (plan->keep_stderr) (void)!write(STDERR_FILENO, "hello from the daemon\n", 22);
        se__daemon_report(d, true, NULL);
        se__daemon_report(d, false, "too late: ignored"); /* reported already: a no-op */
        path_in(go, sizeof go, plan->dir, "go");
        _exit(wait_path(go, DEADLINE_MS) ? 0 : 92);
    case PLAN_FAIL: se__daemon_report(d, false, "cannot bind: Address in use"); _exit(7);
    case PLAN_SILENT: _exit(0);
    }
    _exit(93);
}

/* The launcher: a child of the test; se__daemonize never returns in it. */
static SE_NORETURN void
launcher_main(const struct plan *plan, int err_fd)
{
    struct se_daemon d;
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0) _exit(94);
    if (err_fd >= 0) close(err_fd);
    if (plan->buffered_note) {
        /* Fully buffered and never flushed here: daemonize must flush it. */
        FILE *note = fdopen(dup(STDERR_FILENO), "w");
        if (note == NULL || setvbuf(note, NULL, _IOFBF, 4096) != 0) _exit(95);
        fputs("buffered by the launcher\n", note);
    }
    se__daemon_init(&d);
    if (se__daemonize(&d, 7, plan->keep_stderr) < 0) _exit(90);
    daemon_main(plan, &d);
}

struct daemon_info {
    long pid, sid, pgrp, ppid;
};

static struct daemon_info
read_info(struct fx *f)
{
    char path[128];
    char text[128];
    struct daemon_info di = {0};
    path_in(path, sizeof path, f->dir, "info");
    assert_true(wait_path(path, DEADLINE_MS));
    assert_true(read_text(path, text, sizeof text) > 0);
    assert_int_equal(sscanf(text, "%ld %ld %ld %ld", &di.pid, &di.sid, &di.pgrp, &di.ppid), 4);
    fx_track(f, (pid_t)di.pid); /* our child now: we are the subreaper */
    return di;
}

static void
expect_link(long pid, const char *what, const char *want)
{
    char link[64];
    char target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%ld/%s", pid, what);
    ssize_t n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, want);
}

/* After the daemon exits: reaped (by us, its subreaper) and gone. */
static void
expect_daemon_gone(struct fx *f, const struct daemon_info *di, int code)
{
    expect_exit(fx_reap(f, (pid_t)di->pid), code);
    assert_int_equal(kill((pid_t)di->pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    int status;
    assert_int_equal(waitpid(-1, &status, WNOHANG), -1); /* the first child was reaped */
    assert_int_equal(errno, ECHILD);
}

static void
test_daemonize_detaches_from_session_and_stdio_then_reports_ready(void **state)
{
    struct fx *f = *state;
    struct plan plan = {.dir = f->dir, .kind = PLAN_READY};
    char go[128];
    pid_t launcher = fx_fork(f);
    if (launcher == 0) launcher_main(&plan, -1);
    expect_exit(fx_reap(f, launcher), 0);
    struct daemon_info di = read_info(f);
    assert_true(di.pid != launcher && di.pid != getpid());
    assert_true(di.sid != getsid(0)); /* a session of its own */
    assert_true(di.sid != di.pid);    /* not its leader: it can never get a tty */
    assert_true(di.pgrp != di.pid);   /* not a group leader either */
    assert_true(di.sid == di.pgrp);   /* the group the first child founded */
    assert_true(di.ppid == di.sid || di.ppid == getpid()); /* the first child, or us */
    expect_link(di.pid, "fd/0", "/dev/null");
    expect_link(di.pid, "fd/1", "/dev/null");
    expect_link(di.pid, "fd/2", "/dev/null");
    expect_link(di.pid, "cwd", "/");
    path_in(go, sizeof go, f->dir, "go");
    write_text(go, "");
    expect_daemon_gone(f, &di, 0);
}

static void
test_daemonize_keeps_stderr_when_asked(void **state)
{
    struct fx *f = *state;
    struct plan plan = {.dir = f->dir, .kind = PLAN_READY, .keep_stderr = true};
    char log[128];
    char go[128];
    char text[128];
    path_in(log, sizeof log, f->dir, "stderr.log");
    int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    assert_true(log_fd >= 0);
    pid_t launcher = fx_fork(f);
    if (launcher == 0) launcher_main(&plan, log_fd);
    close(log_fd);
    expect_exit(fx_reap(f, launcher), 0);
    struct daemon_info di = read_info(f);
    expect_link(di.pid, "fd/0", "/dev/null");
    expect_link(di.pid, "fd/1", "/dev/null");
    expect_link(di.pid, "fd/2", log);
    assert_true(read_text(log, text, sizeof text) > 0);
    assert_string_equal(text, "hello from the daemon\n");
    path_in(go, sizeof go, f->dir, "go");
    write_text(go, "");
    expect_daemon_gone(f, &di, 0);
}

/* Runs a launcher whose daemon fails; returns what it wrote on stderr. */
static void
run_failing_launcher(struct fx *f, enum plan_kind kind, char *out, size_t size)
{
    struct plan plan = {.dir = f->dir, .kind = kind, .buffered_note = true};
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t launcher = fx_fork(f);
    if (launcher == 0) {
        close(p[0]);
        launcher_main(&plan, p[1]);
    }
    close(p[1]);
    /* EOF: the launcher has exited and the daemon's stderr is /dev/null. */
    ssize_t n = read_until_eof(p[0], out, size, DEADLINE_MS);
    close(p[0]);
    assert_true(n >= 0);
    expect_exit(fx_reap(f, launcher), 7);
}

static void
test_daemonize_failure_is_printed_by_the_launcher_with_the_exit_code(void **state)
{
    struct fx *f = *state;
    char out[1024];
    run_failing_launcher(f, PLAN_FAIL, out, sizeof out);
    assert_string_equal(out, "buffered by the launcher\n"
                             "serverengine: cannot bind: Address in use\n");
    struct daemon_info di = read_info(f);
    expect_daemon_gone(f, &di, 7);
}

static void
test_daemonize_daemon_dying_before_its_report_fails_the_launcher(void **state)
{
    struct fx *f = *state;
    char out[1024];
    run_failing_launcher(f, PLAN_SILENT, out, sizeof out);
    assert_string_equal(out, "buffered by the launcher\n"
                             "serverengine: the daemon exited before it was ready\n");
    struct daemon_info di = read_info(f);
    expect_daemon_gone(f, &di, 0);
}

static void
test_daemon_report_without_daemonize_is_a_no_op(void **state)
{
    (void)state;
    struct se_daemon d;
    se__daemon_init(&d);
    assert_int_equal(d.ready_fd, -1);
    assert_int_equal(d.pidfile_fd, -1);
    assert_string_equal(d.pidfile_path, "");
    se__daemon_report(&d, true, NULL);
    se__daemon_report(&d, false, "nobody listens");
    assert_int_equal(d.ready_fd, -1);
}

/* ---- pid file ------------------------------------------------------------- */

static void
expect_pidfile(const char *path, long pid)
{
    char text[64];
    char want[32];
    assert_true(read_text(path, text, sizeof text) > 0);
    snprintf(want, sizeof want, "%ld\n", pid);
    assert_string_equal(text, want);
}

/* Whether another open file description can lock path (flock locks belong
 * to the description, so this works from the test process itself). */
static bool
lock_is_free(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    bool free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (!free_) assert_int_equal(errno, EWOULDBLOCK);
    close(fd);
    return free_;
}

static void
expect_only(const char *dir, const char *const *names)
{
    char extra[512];
    dir_extra(dir, names, extra, sizeof extra);
    assert_string_equal(extra, "");
}

static void
test_pidfile_is_written_whole_with_our_pid_and_held_locked(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char err[SE_DAEMON_MSG_MAX];
    struct stat st;
    const char *const only[] = {"x.pid", NULL};
    path_in(path, sizeof path, f->dir, "x.pid");
    se__daemon_init(&d);
    mode_t old_umask = umask(022);
    int rc = se__pidfile_acquire(&d, path, err, sizeof err);
    umask(old_umask);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
    assert_true(d.pidfile_fd >= 0);
    assert_int_equal(d.pidfile_pid, getpid());
    assert_string_equal(d.pidfile_path, path);
    expect_pidfile(path, (long)getpid());
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    expect_only(f->dir, only); /* no temp file left */
    assert_false(lock_is_free(path));
    se__pidfile_release(&d);
    assert_int_equal(d.pidfile_fd, -1);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    se__pidfile_release(&d); /* twice: a no-op */
}

struct second {
    const char *path;
    long holder;
};

static int
child_second_instance(void *arg, char *msg, size_t size)
{
    const struct second *s = arg;
    struct se_daemon d;
    char err[SE_DAEMON_MSG_MAX];
    char pid_text[32];
    se__daemon_init(&d);
    int rc = se__pidfile_acquire(&d, s->path, err, sizeof err);
    snprintf(pid_text, sizeof pid_text, "pid %ld", s->holder);
    snprintf(msg, size, "rc %d: %s", rc, err);
    CHECK(rc == -EEXIST);
    CHECK(d.pidfile_fd == -1);
    CHECK(strstr(err, s->path) != NULL);
    CHECK(strstr(err, pid_text) != NULL);
    se__pidfile_release(&d); /* holds nothing: must not touch the file */
    msg[0] = '\0';
    return 0;
}

static void
test_pidfile_second_instance_is_refused_with_path_and_pid(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char err[SE_DAEMON_MSG_MAX];
    const char *const only[] = {"x.pid", NULL};
    path_in(path, sizeof path, f->dir, "x.pid");
    se__daemon_init(&d);
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    struct second s = {.path = path, .holder = (long)getpid()};
    run_in_child(f, child_second_instance, &s);
    expect_pidfile(path, (long)getpid());
    expect_only(f->dir, only);
    se__pidfile_release(&d);
}

/* A pid that is not running: a child that has exited and been reaped. */
static long
dead_pid(struct fx *f)
{
    pid_t pid = fx_fork(f);
    if (pid == 0) _exit(0);
    expect_exit(fx_reap(f, pid), 0);
    return (long)pid;
}

static void
test_pidfile_stale_file_is_replaced_and_said_so(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char tmp[160];
    char text[32];
    char err[SE_DAEMON_MSG_MAX];
    const char *const only[] = {"x.pid", NULL};
    path_in(path, sizeof path, f->dir, "x.pid");
    long dead = dead_pid(f);
    snprintf(text, sizeof text, "%ld\n", dead);
    write_text(path, text);
    se__daemon_init(&d);
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    assert_non_null(strstr(err, "stale"));
    assert_non_null(strstr(err, path));
    snprintf(text, sizeof text, "pid %ld", dead);
    assert_non_null(strstr(err, text));
    expect_pidfile(path, (long)getpid());
    se__pidfile_release(&d);

    /* Garbage, and a temp file left by a crash of a process with our pid. */
    write_text(path, "not a pid\n");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    write_text(tmp, "");
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    assert_non_null(strstr(err, "stale"));
    assert_non_null(strstr(err, "holds no pid"));
    expect_pidfile(path, (long)getpid());
    expect_only(f->dir, only);
    se__pidfile_release(&d);
}

static void
test_pidfile_refuses_a_fifo_or_a_symlink_at_path(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char err[SE_DAEMON_MSG_MAX];
    path_in(path, sizeof path, f->dir, "x.pid");
    se__daemon_init(&d);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), -ELOOP);
    assert_non_null(strstr(err, path));
    assert_int_equal(d.pidfile_fd, -1);
}

static void
test_pidfile_release_leaves_a_file_that_is_no_longer_ours(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char err[SE_DAEMON_MSG_MAX];
    path_in(path, sizeof path, f->dir, "x.pid");
    se__daemon_init(&d);

    /* Replaced by another file (another instance, an operator). */
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    assert_int_equal(publish_text(f->dir, "x.pid", "12345\n"), 0);
    se__pidfile_release(&d);
    expect_pidfile(path, 12345);
    assert_int_equal(unlink(path), 0);

    /* Our inode, rewritten in place with another pid. */
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    write_text(path, "12346\n");
    se__pidfile_release(&d);
    expect_pidfile(path, 12346);
    assert_true(lock_is_free(path)); /* closed: the lock went with it */
}

struct handoff {
    struct se_daemon *d;
    int to_parent;
    int from_parent;
};

/* The forked owner: rewrites the pid, tells the parent, waits, releases. */
static int
child_update_then_release(void *arg, char *msg, size_t size)
{
    const struct handoff *h = arg;
    char err[SE_DAEMON_MSG_MAX];
    char buf[8];
    /* A longer text than the new one: the update must leave no tail. */
    int fd = open(h->d->pidfile_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "999999999999\n", 13) == 13 && close(fd) == 0);
    CHECK(se__pidfile_update(h->d, err, sizeof err) == 0);
    CHECK(h->d->pidfile_pid == getpid());
    CHECK(write(h->to_parent, "u", 1) == 1);
    CHECK(read_until_eof(h->from_parent, buf, sizeof buf, DEADLINE_MS) >= 0);
    se__pidfile_release(h->d);
    return 0;
}

static void
test_pidfile_update_after_fork_writes_the_new_owner_pid(void **state)
{
    struct fx *f = *state;
    struct se_daemon d;
    char path[128];
    char err[SE_DAEMON_MSG_MAX];
    char buf[8];
    struct stat st;
    int up[2];
    int down[2];
    path_in(path, sizeof path, f->dir, "x.pid");
    se__daemon_init(&d);
    assert_int_equal(se__pidfile_acquire(&d, path, err, sizeof err), 0);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    struct handoff h = {.d = &d, .to_parent = up[1], .from_parent = down[0]};
    pid_t child = fx_fork(f);
    if (child == 0) {
        char msg[256] = "";
        close(up[0]);
        close(down[1]);
        int rc = child_update_then_release(&h, msg, sizeof msg);
        if (rc != 0) (void)!write(STDERR_FILENO, msg, strlen(msg));
        _exit(rc);
    }
    close(up[1]);
    close(down[0]);
    assert_int_equal(read_until_eof(up[0], buf, 2, DEADLINE_MS), 1);
    expect_pidfile(path, (long)child);
    /* The parent goes first: the file holds the child's pid, so it stays,
     * and the lock stays with the child's copy of the descriptor. */
    se__pidfile_release(&d);
    expect_pidfile(path, (long)child);
    assert_false(lock_is_free(path));
    close(down[1]);
    close(up[0]);
    expect_exit(fx_reap(f, child), 0);
    assert_int_equal(lstat(path, &st), -1); /* the owner removed it */
}

/* ---- racing instances ----------------------------------------------------- */

struct race {
    const char *path;
    int start[2];
    int results[2];
    int finish[2];
};

/* One instance: waits for the start (EOF), tries, says W(on), E(xists) or
 * X(other error), holds what it got until the finish (EOF), releases. */
static SE_NORETURN void
racer_main(const struct race *r)
{
    struct se_daemon d;
    char err[SE_DAEMON_MSG_MAX];
    char buf[8];
    close(r->start[1]);
    close(r->finish[1]);
    close(r->results[0]);
    if (read_until_eof(r->start[0], buf, sizeof buf, DEADLINE_MS) < 0) _exit(2);
    se__daemon_init(&d);
    int rc = se__pidfile_acquire(&d, r->path, err, sizeof err);
    char verdict = rc == 0 ? 'W' : rc == -EEXIST ? 'E' : 'X';
    if (write(r->results[1], &verdict, 1) != 1) _exit(3);
    if (read_until_eof(r->finish[0], buf, sizeof buf, DEADLINE_MS) < 0) _exit(4);
    se__pidfile_release(&d);
    _exit(0);
}

static void
race_round(struct fx *f, const char *path, bool stale)
{
    struct race r = {.path = path};
    pid_t pids[RACERS];
    char verdicts[RACERS + 1];
    const char *const none[] = {NULL};
    if (stale) write_text(path, "999999999\n");
    assert_int_equal(pipe2(r.start, O_CLOEXEC), 0);
    assert_int_equal(pipe2(r.results, O_CLOEXEC), 0);
    assert_int_equal(pipe2(r.finish, O_CLOEXEC), 0);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fx_fork(f);
        if (pids[i] == 0) racer_main(&r);
    }
    close(r.start[0]);
    close(r.start[1]); /* go */
    close(r.results[1]);
    close(r.finish[0]);
    ssize_t n = read_until_eof(r.results[0], verdicts, sizeof verdicts, DEADLINE_MS);
    /* EOF came only if every racer is gone: a racer keeps results open until
     * it exits, and it exits after the finish. So read exactly RACERS. */
    close(r.finish[1]);
    close(r.results[0]);
    for (int i = 0; i < RACERS; i++)
        expect_exit(fx_reap(f, pids[i]), 0);
    assert_int_equal(n, RACERS);
    int won = 0;
    int refused = 0;
    for (int i = 0; i < RACERS; i++) {
        won += verdicts[i] == 'W';
        refused += verdicts[i] == 'E';
    }
    if (won != 1 || refused != RACERS - 1) fail_msg("verdicts %s (stale %d)", verdicts, stale);
    expect_only(f->dir, none); /* the winner removed it; no temp file anywhere */
}

static void
test_pidfile_racing_instances_leave_exactly_one_winner(void **state)
{
    struct fx *f = *state;
    char path[128];
    path_in(path, sizeof path, f->dir, "x.pid");
    for (int round = 0; round < RACE_ROUNDS; round++)
        race_round(f, path, round % 2 == 1);
}

/* ---- privileges ----------------------------------------------------------- */

static void
test_privileges_unknown_user_or_group_is_a_config_error(void **state)
{
    (void)state;
    char err[SE_DAEMON_MSG_MAX];
    uid_t uid = getuid();
    assert_int_equal(se__privileges_drop("nobodyx", "", -1, err, sizeof err), SE_ECONFIG);
    assert_string_equal(err, "chuser: no such user \"nobodyx\"");
    assert_int_equal(se__privileges_drop(NULL, "nogroupx", -1, err, sizeof err), SE_ECONFIG);
    assert_string_equal(err, "chgroup: no such group \"nogroupx\"");
    /* Both resolved before any change: a bad group leaves the user alone. */
    assert_int_equal(se__privileges_drop("nobody", "nogroupx", -1, err, sizeof err), SE_ECONFIG);
    assert_string_equal(err, "chgroup: no such group \"nogroupx\"");
    assert_int_equal(getuid(), uid);
}

static void
test_privileges_umask_alone_changes_nothing_else(void **state)
{
    (void)state;
    char err[SE_DAEMON_MSG_MAX];
    uid_t uid = getuid();
    gid_t gid = getgid();
    mode_t old = umask(022);
    assert_int_equal(se__privileges_drop("", "", 027, err, sizeof err), 0);
    assert_int_equal(umask(old), 027);
    assert_int_equal(se__privileges_drop(NULL, NULL, -1, err, sizeof err), 0);
    assert_int_equal(umask(old), old); /* -1: unchanged */
    assert_int_equal(getuid(), uid);
    assert_int_equal(getgid(), gid);
}

static bool
groups_are_only(gid_t gid)
{
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] != gid) return false;
    }
    return n >= 0;
}

static int
child_drop_to_nobody(void *arg, char *msg, size_t size)
{
    (void)arg;
    char err[SE_DAEMON_MSG_MAX];
    struct passwd *pw = getpwnam("nobody");
    CHECK(pw != NULL);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (geteuid() != 0) {
        /* Not root: nothing may change, and the refusal says why. */
        CHECK(se__privileges_drop("nobody", "", 027, err, sizeof err) == -EPERM);
        return 0;
    }
    gid_t root_groups[] = {0, 4, 6}; /* root, adm, disk: none may survive (H5) */
    CHECK(setgroups(3, root_groups) == 0);
    int rc = se__privileges_drop("nobody", "", 027, err, sizeof err);
    snprintf(msg, size, "rc %d: %s", rc, err);
    CHECK(rc == 0);
    CHECK(getuid() == uid && geteuid() == uid);
    CHECK(getgid() == gid && getegid() == gid);
    CHECK(groups_are_only(gid)); /* nobody belongs to no other group */
    CHECK(setuid(0) == -1 && errno == EPERM);
    CHECK(seteuid(0) == -1);
    CHECK(setgid(0) == -1);
    CHECK(umask(0) == 027);
    return 0;
}

static void
test_privileges_drop_to_nobody_is_irreversible_and_sheds_root_groups(void **state)
{
    run_in_child(*state, child_drop_to_nobody, NULL);
}

static int
child_drop_group_only(void *arg, char *msg, size_t size)
{
    (void)arg;
    char err[SE_DAEMON_MSG_MAX];
    struct group *gr = getgrnam("nogroup");
    CHECK(gr != NULL);
    gid_t gid = gr->gr_gid;
    if (geteuid() != 0) {
        CHECK(se__privileges_drop("", "nogroup", -1, err, sizeof err) == -EPERM);
        return 0;
    }
    gid_t root_groups[] = {0, 4};
    CHECK(setgroups(2, root_groups) == 0);
    int rc = se__privileges_drop("", "nogroup", -1, err, sizeof err);
    snprintf(msg, size, "rc %d: %s", rc, err);
    CHECK(rc == 0);
    CHECK(getgid() == gid && getegid() == gid);
    CHECK(groups_are_only(gid));
    CHECK(getuid() == 0); /* the user was not asked to change */
    return 0;
}

static void
test_privileges_group_alone_as_root_keeps_no_root_groups(void **state)
{
    run_in_child(*state, child_drop_group_only, NULL);
}

/* chgroup with chuser, both by number (Ruby's Privilege accepts ids): the
 * group is chgroup's, the supplementary groups the user's own. */
static int
child_drop_user_and_group_by_id(void *arg, char *msg, size_t size)
{
    (void)arg;
    char err[SE_DAEMON_MSG_MAX];
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("daemon");
    CHECK(pw != NULL && gr != NULL);
    uid_t uid = pw->pw_uid;
    gid_t user_gid = pw->pw_gid;
    gid_t gid = gr->gr_gid;
    char user_id[16];
    char group_id[16];
    snprintf(user_id, sizeof user_id, "%u", (unsigned)uid);
    snprintf(group_id, sizeof group_id, "%u", (unsigned)gid);
    if (geteuid() != 0) {
        CHECK(se__privileges_drop(user_id, group_id, -1, err, sizeof err) == -EPERM);
        return 0;
    }
    int rc = se__privileges_drop(user_id, group_id, -1, err, sizeof err);
    snprintf(msg, size, "rc %d: %s", rc, err);
    CHECK(rc == 0);
    CHECK(getuid() == uid && geteuid() == uid);
    CHECK(getgid() == gid && getegid() == gid);
    CHECK(groups_are_only(user_gid));
    CHECK(setgid(0) == -1 && setuid(0) == -1);
    return 0;
}

static void
test_privileges_user_and_group_by_id_set_group_first(void **state)
{
    run_in_child(*state, child_drop_user_and_group_by_id, NULL);
}

/* ---- process names -------------------------------------------------------- */

static int
expect_comm(const char *want, char *msg, size_t size)
{
    char comm[64];
    CHECK(read_text("/proc/self/comm", comm, sizeof comm) > 0);
    snprintf(msg, size, "comm \"%s\", want \"%s\"", comm, want);
    CHECK(strncmp(comm, want, strlen(want)) == 0 && comm[strlen(want)] == '\n');
    msg[0] = '\0';
    return 0;
}

/* A fake argv in one buffer, as the kernel lays it out (environ elsewhere,
 * so it stays where it is). */
static int
child_proctitle_fake_argv(void *arg, char *msg, size_t size)
{
    (void)arg;
    static const char layout[] = "build/tests/test_daemon\0--long-option\0value";
    char buf[sizeof layout];
    memcpy(buf, layout, sizeof layout);
    char *argv[] = {buf, buf + 24, buf + 38, NULL};
    char **env_before = environ;
    char *env0_before = environ != NULL ? environ[0] : NULL;
    struct se_proctitle t;
    se__proctitle_init(&t, 3, argv);
    CHECK(t.area == buf && t.size == sizeof layout);
    CHECK(environ == env_before && (environ == NULL || environ[0] == env0_before));
    se__proctitle_set(&t, "serverengine: worker %d", 3);
    CHECK(strcmp(buf, "serverengine: worker 3") == 0);
    for (size_t i = strlen(buf); i < sizeof layout; i++)
        CHECK(buf[i] == '\0');
    if (expect_comm("serverengine: w" /* 15 bytes */, msg, size) != 0) return 1;
    /* Longer than the area: cut, still NUL-terminated. */
    se__proctitle_set(&t, "%s", "serverengine: a title far longer than the command line was");
    CHECK(strlen(buf) == sizeof layout - 1 && memcmp(buf, "serverengine: a title", 21) == 0);
    /* Not recorded: only the thread name changes. */
    se__proctitle_init(&t, 0, NULL);
    CHECK(t.area == NULL && t.size == 0);
    se__proctitle_set(&t, "se-daemon-%s", "test");
    return expect_comm("se-daemon-test", msg, size);
}

static void
test_proctitle_overwrites_a_contiguous_argv_and_names_the_thread(void **state)
{
    run_in_child(*state, child_proctitle_fake_argv, NULL);
}

/* Field 48 of /proc/self/stat: where the kernel thinks our argv starts. */
static unsigned long
kernel_arg_start(void)
{
    char text[2048];
    if (read_text("/proc/self/stat", text, sizeof text) <= 0) return 0;
    char *p = strrchr(text, ')');
    if (p == NULL) return 0;
    p += 2; /* field 3 */
    for (int field = 3; field < 48 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL) p++;
    }
    return p != NULL ? strtoul(p, NULL, 10) : 0;
}

static int
expect_cmdline(const char *want, char *msg, size_t size)
{
    char text[1024];
    ssize_t n = read_text("/proc/self/cmdline", text, sizeof text);
    CHECK(n > 0);
    snprintf(msg, size, "cmdline \"%s\", want \"%s\"", text, want);
    CHECK(strcmp(text, want) == 0); /* up to the first NUL */
    msg[0] = '\0';
    return 0;
}

/* The real argv: what ps shows. Under valgrind the kernel's record of our
 * arguments is valgrind's own command line, not this argv: the title is then
 * checked in the area itself only. */
static int
child_proctitle_real_argv(void *arg, char *msg, size_t size)
{
    (void)arg;
    char long_title[160];
    bool kernel_sees_argv = kernel_arg_start() == (unsigned long)g_argv[0];
    char *env0 = environ != NULL ? environ[0] : NULL;
    char env0_text[256] = "";
    if (env0 != NULL) snprintf(env0_text, sizeof env0_text, "%s", env0);
    char *argv_end = g_argv[g_argc - 1] + strlen(g_argv[g_argc - 1]) + 1;
    struct se_proctitle t;
    se__proctitle_init(&t, g_argc, g_argv);
    CHECK(t.area == g_argv[0]);
    if (env0 == argv_end) {
        /* environ right after argv, as the kernel lays them: taken into the
         * area, the strings moved out of the way and still readable */
        CHECK(t.size > (size_t)(argv_end - g_argv[0]));
        CHECK(environ[0] != env0 && strncmp(environ[0], env0_text, sizeof env0_text - 1) == 0);
    }
    se__proctitle_set(&t, "serverengine: worker %d", 3);
    CHECK(strcmp(t.area, "serverengine: worker 3") == 0);
    if (kernel_sees_argv && expect_cmdline("serverengine: worker 3", msg, size) != 0) return 1;
    if (expect_comm("serverengine: w", msg, size) != 0) return 1;
    if (t.size <= sizeof long_title) return 0; /* no environ to grow into */
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    se__proctitle_set(&t, "%s", long_title);
    CHECK(strcmp(t.area, long_title) == 0);
    return kernel_sees_argv ? expect_cmdline(long_title, msg, size) : 0;
}

static void
test_proctitle_shows_in_proc_cmdline(void **state)
{
    run_in_child(*state, child_proctitle_real_argv, NULL);
}

int
main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    /* Daemons, grandchildren of ours, are reparented to us: we reap them,
     * and a failure or a deadline leaves none of them running. */
    itest_own_tree();
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_daemonize_detaches_from_session_and_stdio_then_reports_ready),
        T(test_daemonize_keeps_stderr_when_asked),
        T(test_daemonize_failure_is_printed_by_the_launcher_with_the_exit_code),
        T(test_daemonize_daemon_dying_before_its_report_fails_the_launcher),
        T(test_daemon_report_without_daemonize_is_a_no_op),
        T(test_pidfile_is_written_whole_with_our_pid_and_held_locked),
        T(test_pidfile_second_instance_is_refused_with_path_and_pid),
        T(test_pidfile_stale_file_is_replaced_and_said_so),
        T(test_pidfile_refuses_a_fifo_or_a_symlink_at_path),
        T(test_pidfile_release_leaves_a_file_that_is_no_longer_ours),
        T(test_pidfile_update_after_fork_writes_the_new_owner_pid),
        T(test_pidfile_racing_instances_leave_exactly_one_winner),
        T(test_privileges_unknown_user_or_group_is_a_config_error),
        T(test_privileges_umask_alone_changes_nothing_else),
        T(test_privileges_drop_to_nobody_is_irreversible_and_sheds_root_groups),
        T(test_privileges_group_alone_as_root_keeps_no_root_groups),
        T(test_privileges_user_and_group_by_id_set_group_first),
        T(test_proctitle_overwrites_a_contiguous_argv_and_names_the_thread),
        T(test_proctitle_shows_in_proc_cmdline),
    };
#undef T
    return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
