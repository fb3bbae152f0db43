/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hostile host, processes: what the engine's processes do when their
 * relatives misbehave. Programs started by a worker's run (signal state,
 * their process group stopped with the worker), a supervisor killed under
 * its server, a server that cannot start under a supervised daemon, systemd
 * notification spoken by one process only, and a daemon that drops to
 * another user and must still reopen its log and remove its pid file.
 * The harness is tests/support/itest.h: real processes, every wait polls a
 * real condition against a deadline.
 *
 * The privilege test creates a throwaway user when it runs as root (removed
 * in the teardown, whatever happened); as another user it checks that the
 * drop is refused with the daemon's error code. Nothing is skipped.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/itest.h"

#define DL            ITEST_DEADLINE_MS
#define TEXT_MAX      8192
#define DAEMON_ERR_RC 7
#define NOTES_MAX     64
#define NOTE_MAX      512
#define GONE_MS_MAX   3000 /* "at once": well under the 45 s of a beat interval */

/* ---- /proc ------------------------------------------------------------------ */

/* The hex mask of field (e.g. "SigBlk:") in /proc/pid/status. */
static unsigned long long
proc_status_mask(pid_t pid, const char *field)
{
    char path[64], text[TEXT_MAX];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    ssize_t n = itest_read_file(path, text, sizeof text);
    if (n <= 0) fail_msg("%s: %s", path, n < 0 ? strerror((int)-n) : "empty");
    const char *at = strstr(text, field);
    if (at == NULL) fail_msg("%s has no %s", path, field);
    return strtoull(at + strlen(field), NULL, 16);
}

/* Whether /proc/pid/environ holds a variable named name. */
static bool
proc_has_env(pid_t pid, const char *name)
{
    char path[64], text[TEXT_MAX];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_msg("%s: %s", path, strerror(errno));
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0) fail_msg("%s: %s", path, strerror(errno));
    size_t len = strlen(name);
    for (ssize_t i = 0; i < n; i += (ssize_t)strnlen(text + i, (size_t)(n - i)) + 1) {
        if (strncmp(text + i, name, len) == 0 && text[i + (ssize_t)len] == '=') return true;
    }
    return false;
}

static pid_t
pid_in_log(const struct itest *t, const char *prefix)
{
    char line[1024];
    if (!itest_log_line(t, prefix, 1, line, sizeof line)) fail_msg("no \"%s\" in the log", prefix);
    return (pid_t)atol(strstr(line, prefix) + strlen(prefix));
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- 3. programs started by a worker ---------------------------------------- */

/* A program run starts (as system() would) gets the default signal state,
 * and the worker's process group goes with the worker: TERM to the server
 * ends it too. */
static void
test_a_program_started_by_run_has_default_signals_and_stops_with_its_worker(void **state)
{
    struct itest *t = *state;
    pid_t server =
        itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t worker = itest_worker_pid(t, 0);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));

    assert_int_equal(itest_pgid_of(worker), worker); /* each worker leads its own group */
    assert_int_equal(itest_pgid_of(grandchild), worker);
    unsigned long long blocked = proc_status_mask(grandchild, "SigBlk:");
    unsigned long long ignored = proc_status_mask(grandchild, "SigIgn:");
    for (int sig = 32; sig < SIGRTMIN; sig++) /* the C library's own: posix_spawn ignores them */
        ignored &= ~(1ull << (sig - 1));
    if (blocked != 0 || ignored != 0)
        fail_msg("the program starts with SigBlk %llx SigIgn %llx (want 0 and 0)", blocked,
                 ignored);

    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    /* the grandchild was orphaned to us (a subreaper): its end is ours to see */
    int status = 0;
    pid_t adopted = itest_wait_adopted(t, DL, &status);
    assert_int_equal(adopted, grandchild);
    assert_int_equal(status, 128 + SIGTERM);
}

/* A program started by run on a thread of the server (thread and embedded
 * workers) starts with nothing blocked and nothing ignored, whatever the
 * server's loop blocks for its signalfd: TERM ends it with the default
 * action. It is the server's child, and the test's once the server is gone. */
static void
program_of_a_thread_worker_has_default_signals(struct itest *t, const char *type)
{
    pid_t server = itest_start(t, NULL, type, "workers=1", "mode=spawn_sleep", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    unsigned long long blocked = proc_status_mask(grandchild, "SigBlk:");
    unsigned long long ignored = proc_status_mask(grandchild, "SigIgn:");
    for (int sig = 32; sig < SIGRTMIN; sig++) /* the C library's own: posix_spawn ignores them */
        ignored &= ~(1ull << (sig - 1));
    if (blocked != 0 || ignored != 0)
        fail_msg("%s: the program starts with SigBlk %llx SigIgn %llx (want 0 and 0)", type,
                 blocked, ignored);
    itest_kill(grandchild, SIGTERM);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    int status = 0;
    pid_t adopted = itest_wait_adopted(t, DL, &status);
    assert_int_equal(adopted, grandchild);
    assert_int_equal(status, 128 + SIGTERM);
}

static void
test_a_program_started_by_a_thread_worker_has_default_signals(void **state)
{
    program_of_a_thread_worker_has_default_signals(*state, "worker_type=thread");
}

static void
test_a_program_started_by_an_embedded_worker_has_default_signals(void **state)
{
    program_of_a_thread_worker_has_default_signals(*state, "worker_type=embedded");
}

/* A program that ignores TERM outlives its worker: what is left of the
 * group gets the worker's escalation (QUIT after worker_graceful_kill_timeout,
 * 3 s here), and the server waits for it. */
static void
test_what_is_left_of_a_worker_group_gets_the_escalation(void **state)
{
    struct itest *t = *state;
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep",
                               "grandchild_ignores_term=true", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));
    /* the shell ignores TERM once it has run its trap: wait for that, bounded */
    int64_t until = itest_now_ms() + DL;
    while (!(proc_status_mask(grandchild, "SigIgn:") & (1ull << (SIGTERM - 1))) &&
           itest_now_ms() < until)
        usleep(2000);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    itest_wait_log(t, "what is left of its process group", 1, DL);
    assert_true(itest_count_log(t, "Sending SIGQUIT to worker 0") >= 1);
    int status = 0;
    assert_int_equal(itest_wait_adopted(t, DL, &status), grandchild);
    assert_int_equal(status, 128 + SIGQUIT);
}

/* A member of the group that has ended is not left: an orphan that died as
 * the zombie of a subreaper above the server which does not reap it at once
 * (this test process is one; a harness, an init) was probed as alive, and the
 * group got the escalation until its schedule ran out (QUIT, then KILL). */
static void
test_a_group_of_only_unreaped_zombies_is_not_escalated(void **state)
{
    struct itest *t = *state;
    pid_t server =
        itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));
    itest_kill(server, SIGTERM);
    /* the server stops; the sleep, orphaned, becomes this process's child and
     * ends on the group's TERM; it stays a zombie: reaped only below */
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_int_equal(itest_count_log(t, "Sending SIGQUIT"), 0);
    assert_int_equal(itest_count_log(t, "Sending SIGKILL"), 0);
    int status = 0;
    assert_int_equal(itest_wait_adopted(t, DL, &status), grandchild);
    assert_int_equal(status, 128 + SIGTERM);
}

/* An immediate stop stays one for what is left of the group: a program that
 * ignores TERM gets QUIT at once, never the graceful schedule first (the
 * driver read the stop's kind after the reap had ended it). */
static void
test_what_is_left_after_an_immediate_stop_is_stopped_immediately(void **state)
{
    struct itest *t = *state;
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep",
                               "grandchild_ignores_term=true", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));
    int64_t until = itest_now_ms() + DL;
    while (!(proc_status_mask(grandchild, "SigIgn:") & (1ull << (SIGTERM - 1))) &&
           itest_now_ms() < until)
        usleep(2000);
    itest_kill(server, SIGQUIT);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    int status = 0;
    assert_int_equal(itest_wait_adopted(t, DL, &status), grandchild);
    assert_int_equal(status, 128 + SIGQUIT);
    assert_int_equal(itest_count_log(t, "Sending SIGTERM to worker 0"), 0);
}

/* worker_kill_process_group: false leaves the group alone (and the program
 * running: it is the program's to stop). */
static void
test_worker_kill_process_group_false_leaves_the_group_alone(void **state)
{
    struct itest *t = *state;
    pid_t server = itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep",
                               "worker_kill_process_group=false", NULL);
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_true(itest_alive(grandchild));
    itest_kill(grandchild, SIGKILL);
    int status = 0;
    assert_int_equal(itest_wait_adopted(t, DL, &status), grandchild);
    assert_int_equal(itest_count_log(t, "what is left of its process group"), 0);
}

/* ---- 4. a killed supervisor ---------------------------------------------------- */

static void
test_server_and_workers_stop_at_once_when_the_supervisor_is_killed(void **state)
{
    struct itest *t = *state;
    /* a long heartbeat: the server's own beat to the supervisor is 45 s apart */
    pid_t sup = itest_start(t, NULL, "supervisor=true", "worker_type=process", "workers=2",
                            "worker_heartbeat_timeout=180", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL); /* the two start in either order */
    itest_wait_log(t, "TEST run worker=1 pid=", 1, DL);
    pid_t server = itest_server_pid(t, 1);
    pid_t w0 = itest_worker_pid(t, 0), w1 = itest_worker_pid(t, 1);

    itest_kill(sup, SIGKILL);
    int64_t killed_at = itest_now_ms();
    assert_int_equal(itest_wait_exit(t, sup, DL), 128 + SIGKILL);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    int64_t took_ms = itest_now_ms() - killed_at;
    if (took_ms > GONE_MS_MAX)
        fail_msg("the server outlived its supervisor by %lld ms", (long long)took_ms);
    assert_false(itest_alive(w0));
    assert_false(itest_alive(w1));
    itest_wait_log(t, "Supervisor is gone", 1, DL);
    assert_int_equal(itest_count_log(t, "TEST stop worker="), 2);
    assert_int_equal(itest_count_log(t, "TEST after_run"), 1);
}

/* The pid file's lock is not left to an orphan: once the supervisor is
 * killed, the server is gone at once and a second instance may start. */
static void
test_pid_file_lock_is_free_once_a_killed_supervisor_server_is_gone(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    itest_path(t, "sup.pid", pid_path, sizeof pid_path);
    itest_set(t, "pid_path=%s", pid_path);
    pid_t sup = itest_start(t, NULL, "supervisor=true", "worker_type=process", "workers=1",
                            "worker_heartbeat_timeout=180", NULL);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    pid_t server = itest_server_pid(t, 1);
    itest_kill(sup, SIGKILL);
    assert_int_equal(itest_wait_exit(t, sup, DL), 128 + SIGKILL);
    int64_t killed_at = itest_now_ms();
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    assert_true(itest_now_ms() - killed_at <= GONE_MS_MAX);
    int fd = open(pid_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
}

/* ---- 10. systemd notification -------------------------------------------------- */

struct note {
    pid_t pid;
    char text[NOTE_MAX];
};

struct notes {
    int fd;
    char path[ITEST_PATH_MAX + 32];
    struct note items[NOTES_MAX];
    size_t count;
};

/* Binds a datagram socket in the test's directory and names it in
 * NOTIFY_SOCKET for the next itest_start (the child inherits it). */
static void
notes_open(struct itest *t, struct notes *n)
{
    memset(n, 0, sizeof *n);
    itest_path(t, "notify.sock", n->path, sizeof n->path);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(n->fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(n->path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, n->path, strlen(n->path));
    assert_int_equal(bind(n->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int on = 1;
    assert_int_equal(setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    setenv("NOTIFY_SOCKET", n->path, 1);
    setenv("WATCHDOG_USEC", "60000000", 1);
}

/* Takes every datagram waiting, with its sender's pid. */
static void
notes_drain(struct notes *n)
{
    for (;;) {
        char buf[NOTE_MAX];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl};
        ssize_t got = recvmsg(n->fd, &msg, 0);
        if (got < 0) return;
        assert_true(n->count < NOTES_MAX);
        struct note *note = &n->items[n->count++];
        memcpy(note->text, buf, (size_t)got);
        note->text[got] = '\0';
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c != NULL && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            note->pid = cred.pid;
        }
    }
}

static void
notes_close(struct notes *n)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(n->fd);
    unlink(n->path);
}

/* Datagrams that hold line (a whole "K=V" line). */
static unsigned
notes_count(const struct notes *n, const char *line)
{
    unsigned c = 0;
    size_t len = strlen(line);
    for (size_t i = 0; i < n->count; i++) {
        for (const char *p = n->items[i].text; p != NULL; p = strchr(p, '\n')) {
            if (*p == '\n') p++;
            if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0')) {
                c++;
                break;
            }
        }
    }
    return c;
}

static long
notes_index(const struct notes *n, const char *text, size_t from)
{
    for (size_t i = from; i < n->count; i++) {
        if (strstr(n->items[i].text, text) != NULL) return (long)i;
    }
    return -1;
}

static void
notes_print(const struct notes *n)
{
    for (size_t i = 0; i < n->count; i++)
        fprintf(stderr, "  notify from %d: %s\n", (int)n->items[i].pid, n->items[i].text);
}

static void
test_notify_workers_do_not_inherit_the_socket_and_stopping_is_sent_once(void **state)
{
    struct itest *t = *state;
    struct notes n;
    notes_open(t, &n);
    pid_t server =
        itest_start(t, NULL, "worker_type=process", "workers=1", "mode=spawn_sleep", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    itest_wait_log(t, "TEST grandchild worker=0 pid=", 1, DL);
    pid_t grandchild = pid_in_log(t, "TEST grandchild worker=0 pid=");
    itest_track_pgid(t, itest_pgid_of(grandchild));
    bool leaked = proc_has_env(grandchild, "NOTIFY_SOCKET");
    bool leaked_wd = proc_has_env(grandchild, "WATCHDOG_USEC");
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    kill(grandchild, SIGKILL); /* whether its group was stopped is another test's */
    int status = 0;
    assert_int_equal(itest_wait_adopted(t, DL, &status), grandchild);
    notes_drain(&n);
    notes_close(&n);
    if (leaked || leaked_wd) fail_msg("a worker's program inherits NOTIFY_SOCKET/WATCHDOG_USEC");
    if (notes_count(&n, "READY=1") != 1 || notes_count(&n, "STOPPING=1") != 1) {
        notes_print(&n);
        fail_msg("want READY=1 once and STOPPING=1 once");
    }
}

static void
test_notify_a_refused_reload_ends_with_ready_and_a_status(void **state)
{
    struct itest *t = *state;
    char cfg_path[ITEST_PATH_MAX + 32];
    itest_path(t, "app.yml", cfg_path, sizeof cfg_path);
    itest_write_file(t, "app.yml", "workers: 1\n");
    struct notes n;
    notes_open(t, &n);
    pid_t server = itest_start(t, cfg_path, "worker_type=process", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_write_file(t, "app.yml", "workers: [not a number\n");
    itest_kill(server, SIGUSR2);
    itest_wait_log(t, "Reload failed", 1, DL);
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    notes_drain(&n);
    notes_close(&n);
    long reloading = notes_index(&n, "RELOADING=1", 0);
    long ready = reloading < 0 ? -1 : notes_index(&n, "READY=1", (size_t)reloading + 1);
    if (reloading < 0 || ready < 0 || strstr(n.items[ready].text, "STATUS=") == NULL) {
        notes_print(&n);
        fail_msg("want RELOADING=1, then READY=1 with a STATUS= line");
    }
    if (strstr(n.items[ready].text, "eload") == NULL) {
        notes_print(&n);
        fail_msg("the STATUS= line does not say the reload failed");
    }
}

static void
test_notify_with_a_supervisor_only_the_supervisor_speaks(void **state)
{
    struct itest *t = *state;
    struct notes n;
    notes_open(t, &n);
    pid_t sup = itest_start(t, NULL, "supervisor=true", "worker_type=process", "workers=1", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    itest_wait_log(t, "TEST after_start", 1, DL);
    itest_kill(sup, SIGTERM);
    assert_int_equal(itest_wait_exit(t, sup, DL), 0);
    notes_drain(&n);
    notes_close(&n);
    bool others = false;
    for (size_t i = 0; i < n.count; i++)
        others |= n.items[i].pid != sup;
    if (others || notes_count(&n, "READY=1") != 1 || notes_count(&n, "STOPPING=1") != 1) {
        notes_print(&n);
        fail_msg("want READY=1 and STOPPING=1 once each, from the supervisor (%d) only", (int)sup);
    }
}

/* ---- 11. a supervised daemon whose server cannot start ------------------------ */

static void
test_supervised_daemon_launcher_fails_when_the_server_cannot_start(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    itest_path(t, "d.pid", pid_path, sizeof pid_path);
    itest_set(t, "pid_path=%s", pid_path);
    itest_set(t, "daemonize_error_exit_code=%d", DAEMON_ERR_RC);
    pid_t launcher = itest_start(t, NULL, "daemonize=true", "supervisor=true",
                                 "worker_type=process", "before_run_status=3", NULL);
    assert_int_equal(itest_wait_exit(t, launcher, DL), DAEMON_ERR_RC);
    char err[TEXT_MAX];
    itest_stderr(t, launcher, err, sizeof err);
    if (strstr(err, "server") == NULL || strstr(err, "3") == NULL)
        fail_msg("the launcher does not say why: \"%s\"", err);
    int status = 0;
    itest_wait_adopted(t, DL, &status); /* the supervisor: it does not run on */
    assert_int_equal(status, DAEMON_ERR_RC);
    assert_false(exists(pid_path));
    assert_int_equal(itest_count_log(t, "TEST before_run pid="), 1);
}

/* ---- 8. chuser with daemonize ------------------------------------------------- */

struct tmp_user {
    char name[32];
    uid_t uid;
    gid_t gid;
    bool made;
};

static int
run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
tmp_user_make(struct tmp_user *u)
{
    snprintf(u->name, sizeof u->name, "se_h%ld", (long)getpid());
    char cmd[256];
    snprintf(cmd, sizeof cmd, "useradd -M -N -s /usr/sbin/nologin %s >/dev/null 2>&1", u->name);
    if (run_cmd(cmd) != 0) fail_msg("useradd %s failed", u->name);
    u->made = true;
    struct passwd *pw = getpwnam(u->name);
    if (pw == NULL) fail_msg("no user %s after useradd", u->name);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
}

static void
tmp_user_remove(struct tmp_user *u)
{
    if (!u->made) return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "userdel -f %s >/dev/null 2>&1", u->name);
    (void)run_cmd(cmd); /* its status also counts a missing mail spool */
    if (getpwnam(u->name) != NULL) {
        fprintf(stderr, "userdel %s failed\n", u->name);
        return;
    }
    u->made = false;
}

static struct tmp_user the_user;

static int
user_teardown(void **state)
{
    /* on every path: cmocka runs teardowns after failures; -f even while a
     * process of the user is still running (the harness ends it next) */
    tmp_user_remove(&the_user);
    return itest_teardown(state);
}

static void
test_chuser_daemon_can_reopen_its_log_and_gives_up_its_pid_file(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    const char *log_path = t->log_path;
    itest_path(t, "d.pid", pid_path, sizeof pid_path);
    itest_set(t, "pid_path=%s", pid_path);
    itest_set(t, "daemonize_error_exit_code=%d", DAEMON_ERR_RC);
    if (geteuid() != 0) {
        /* unprivileged: a change of user is refused, with the daemon's error code */
        pid_t launcher =
            itest_start(t, NULL, "daemonize=true", "chuser=root", "worker_type=process", NULL);
        assert_int_equal(itest_wait_exit(t, launcher, DL), DAEMON_ERR_RC);
        int status = 0;
        itest_wait_adopted(t, DL, &status);
        assert_int_equal(status, DAEMON_ERR_RC);
        return;
    }
    tmp_user_make(&the_user);
    chmod(t->dir, 0755); /* the user may read the directory, not write it */
    itest_set(t, "chuser=%s", the_user.name);
    pid_t launcher =
        itest_start(t, NULL, "daemonize=true", "worker_type=process", "workers=1", NULL);
    assert_int_equal(itest_wait_exit(t, launcher, DL), 0);
    itest_wait_log(t, "TEST run worker=0 pid=", 1, DL);
    char text[64];
    assert_true(itest_read_file(pid_path, text, sizeof text) > 0);
    pid_t daemon = (pid_t)atol(text);
    itest_track_pgid(t, itest_pgid_of(daemon));
    struct stat st;
    assert_int_equal(stat(log_path, &st), 0);
    if (st.st_uid != the_user.uid) fail_msg("the log is owned by uid %d", (int)st.st_uid);

    itest_kill(daemon, SIGUSR2); /* the log is reopened by the user */
    itest_wait_log(t, "Received reload", 1, DL);
    itest_kill(daemon, SIGTERM);
    int status = -1;
    assert_int_equal(itest_wait_adopted(t, DL, &status), daemon);
    assert_int_equal(status, 0);
    /* the pid file cannot be removed by the user: it is emptied, and that is
     * said; it is the only thing the user was refused (the log reopened) */
    char pid_text[64] = "";
    assert_true(exists(pid_path));
    assert_int_equal(itest_read_file(pid_path, pid_text, sizeof pid_text), 0);
    assert_int_equal(itest_count_log(t, "cannot remove it (Permission denied); emptied it"), 1);
    assert_int_equal(itest_count_log(t, "Permission denied"), 1);
}

#define CASE(fn) cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        CASE(test_a_program_started_by_run_has_default_signals_and_stops_with_its_worker),
        CASE(test_a_program_started_by_a_thread_worker_has_default_signals),
        CASE(test_a_program_started_by_an_embedded_worker_has_default_signals),
        CASE(test_what_is_left_of_a_worker_group_gets_the_escalation),
        CASE(test_what_is_left_after_an_immediate_stop_is_stopped_immediately),
        CASE(test_a_group_of_only_unreaped_zombies_is_not_escalated),
        CASE(test_worker_kill_process_group_false_leaves_the_group_alone),
        CASE(test_server_and_workers_stop_at_once_when_the_supervisor_is_killed),
        CASE(test_pid_file_lock_is_free_once_a_killed_supervisor_server_is_gone),
        CASE(test_notify_workers_do_not_inherit_the_socket_and_stopping_is_sent_once),
        CASE(test_notify_a_refused_reload_ends_with_ready_and_a_status),
        CASE(test_notify_with_a_supervisor_only_the_supervisor_speaks),
        CASE(test_supervised_daemon_launcher_fails_when_the_server_cannot_start),
        cmocka_unit_test_setup_teardown(
            test_chuser_daemon_can_reopen_its_log_and_gives_up_its_pid_file, itest_setup,
            user_teardown),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    int failed = cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
    tmp_user_remove(&the_user); /* a teardown that could not */
    return failed;
}
