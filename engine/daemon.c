/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.c: becoming a daemon (serverengine(5), DAEMON KEYS): the double fork with its
 * start-up handshake and the relay of the daemon's first word to the
 * launcher. The pid file is pidfile.c's, dropping privileges privileges.c's,
 * process names proctitle.c's; they share the helpers at the top of this
 * file (daemon.h).
 *
 * Ruby ServerEngine's Daemon#daemonize_with_double_fork, #write_pid_file and
 * Privilege.change, with the hazards that other daemons get wrong fixed:
 *  - H4: the pid file is not written in place, unlocked, and left behind: it
 *    is written to a temp file, locked, put in place atomically, held locked
 *    for the life of the process (so "stale" is exact: nobody holds the
 *    lock, no kill(pid, 0) guessing) and removed only while it is still ours;
 *  - H5: supplementary groups are replaced by the user's own (initgroups),
 *    never merged with root's, group before user, and the drop is checked to
 *    be irreversible;
 *  - the launcher hears the daemon's own message when the start fails, not
 *    just an exit code.
 *
 * It keeps no state of its own (callers own struct se_daemon and struct
 * se_proctitle), installs no signal handler, leaves the signal mask alone,
 * and never calls exit(): a process that must end here leaves with _exit().
 * Every system call passes its fault point first (faults/points.def); the
 * calls that cannot fail (getpid, getuid, umask, ...) have none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "se_fault.h"

/* The report's first byte; the failure message follows it. */
enum { REPORT_READY = 'R', REPORT_FAILED = 'F' };

#define REPORT_MAX (SE_DAEMON_MSG_MAX + 1u) /* status byte, text, NUL */

void
se__daemon_init(struct se_daemon *d)
{
    d->ready_fd = -1;
    d->pidfile_fd = -1;
    d->pidfile_pid = 0;
    d->pidfile_path[0] = '\0';
}

/* snprintf into err, which may be NULL or empty. */
void
se__daemon_set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* ---- descriptors ---------------------------------------------------------- */

static int
close_point(void)
{
    SE_FAULT_CHECK(SE_FAULT_IO_CLOSE);
    return 0;
}

/* Linux releases the descriptor whatever close() answers, and retrying after
 * EINTR could close a number another thread just got: one call, result
 * ignored (an injected failure, like a real one, still closes). */
void
se__daemon_fd_close(int32_t *fd)
{
    if (*fd < 0) return;
    (void)close_point();
    (void)close(*fd);
    *fd = -1;
}

/* Writes all of buf (a socket: MSG_NOSIGNAL; a reader that is gone answers
 * EPIPE instead of killing us with SIGPIPE, hazard H3). */
static int
send_all(int32_t fd, const char *buf, size_t len)
{
    SE_FAULT_CHECK(SE_FAULT_IO_WRITE);
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The launcher's last words on its stderr; a failure leaves nobody to tell. */
static int
write_stderr(const char *buf, size_t len)
{
    SE_FAULT_CHECK(SE_FAULT_IO_WRITE);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? -errno : -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads a report (status byte, text, NUL) until its NUL, EOF or a full
 * buffer; *got is what arrived. */
static int
read_report(int32_t fd, char *buf, size_t size, size_t *got)
{
    SE_FAULT_CHECK(SE_FAULT_IO_READ);
    *got = 0;
    while (*got < size && (*got < 2 || memchr(buf + 1, '\0', *got - 1) == NULL)) {
        ssize_t n = read(fd, buf + *got, size - *got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        *got += (size_t)n;
    }
    return 0;
}

/* ---- processes ------------------------------------------------------------ */

static int
proc_fork(pid_t *pid)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_FORK);
    pid_t p = fork();
    if (p < 0) return -errno;
    *pid = p;
    return 0;
}

static int
proc_waitpid(pid_t pid, int *status)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_WAIT);
    pid_t r;
    do {
        r = waitpid(pid, status, 0);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int
proc_setsid(void)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_SETSID);
    return setsid() < 0 ? -errno : 0;
}

/* AF_UNIX rather than pipe(): the daemon's report can then be sent with
 * MSG_NOSIGNAL, so a launcher killed meanwhile cannot kill the daemon. */
static int
io_socketpair(int fds[2])
{
    SE_FAULT_CHECK(SE_FAULT_IO_PIPE);
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

static int
io_dup2(int from, int to)
{
    SE_FAULT_CHECK(SE_FAULT_IO_DUP2);
    int r;
    do {
        r = dup2(from, to);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int
fs_chdir_root(void)
{
    SE_FAULT_CHECK(SE_FAULT_FS_CHDIR);
    return chdir("/") < 0 ? -errno : 0;
}

/* No O_CLOEXEC on purpose: the descriptor may itself become 0, 1 or 2 (when
 * the caller had closed them), and those must survive an exec. The daemon
 * runs one thread here, so no other thread can fork-and-exec meanwhile. */
static int
fs_open_devnull(int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_OPEN_DEVNULL);
    int f;
    do {
        f = open("/dev/null", O_RDWR | O_NOCTTY);
    } while (f < 0 && errno == EINTR);
    if (f < 0) return -errno;
    *fd = f;
    return 0;
}

/* ---- daemonize ------------------------------------------------------------ */

/* The report: a status byte, the message, a NUL. The NUL ends it, so the
 * launcher does not depend on EOF once a report came (a child forked before
 * the report would hold the socket open). One small send: it fits in the
 * socket buffer whole. */
static int
report_send(int32_t fd, char status, const char *msg)
{
    char buf[REPORT_MAX];
    buf[0] = status;
    size_t len = msg != NULL ? strnlen(msg, SE_DAEMON_MSG_MAX - 1) : 0;
    memcpy(buf + 1, msg != NULL ? msg : "", len);
    buf[1 + len] = '\0';
    return send_all(fd, buf, len + 2);
}

/* A failure before the daemon could run the program: the launcher prints it. */
static SE_NORETURN void
daemon_abort(int32_t fd, int32_t code, const char *what, int err)
{
    char msg[SE_DAEMON_MSG_MAX];
    snprintf(msg, sizeof msg, "cannot daemonize: %s: %s", what, se_strerror(err));
    (void)report_send(fd, REPORT_FAILED, msg); /* EOF tells the launcher anyway */
    _exit(code);
}

/* The launcher: waits for the report and leaves with its verdict. It uses
 * _exit: atexit handlers and stdio buffers belong to the daemon, which
 * carries on the program (buffers were flushed before the fork). */
static SE_NORETURN void
launcher_finish(int32_t fd, pid_t first, int32_t code)
{
    char buf[REPORT_MAX];
    char line[REPORT_MAX + 32];
    size_t got = 0;
    int status = 0;
    /* The first child exits right after its fork: a short wait, and no
     * zombie. ECHILD (SIGCHLD ignored: the kernel reaped it) is as good. */
    (void)proc_waitpid(first, &status);
    int rc = read_report(fd, buf, sizeof buf, &got);
    se__daemon_fd_close(&fd);
    if (rc == 0 && got > 0 && buf[0] == REPORT_READY) _exit(0);
    if (rc == 0 && got > 2 && buf[0] == REPORT_FAILED)
        snprintf(line, sizeof line, "serverengine: %.*s\n", (int)strnlen(buf + 1, got - 1),
                 buf + 1);
    else if (rc == 0 && got > 0)
        snprintf(line, sizeof line, "serverengine: the daemon failed to start\n");
    else
        snprintf(line, sizeof line, "serverengine: the daemon exited before it was ready\n");
    (void)write_stderr(line, strlen(line));
    _exit(code);
}

/* The first child: a new session (no controlling terminal), then a second
 * fork so that the daemon is not a session leader and can never acquire a
 * terminal by opening one. Returns in the daemon only. */
static void
session_fork(int32_t fd, int32_t code)
{
    pid_t pid = -1;
    int rc = proc_setsid();
    if (rc < 0) daemon_abort(fd, code, "setsid", rc);
    rc = proc_fork(&pid);
    if (rc < 0) daemon_abort(fd, code, "fork", rc);
    if (pid > 0) _exit(0);
}

/* The daemon: out of the launcher's directory (which may be unmounted
 * later) and away from its terminal's stdio. */
static int
daemon_detach(bool keep_stderr, const char **what)
{
    int32_t null_fd = -1;
    *what = "chdir /";
    int rc = fs_chdir_root();
    if (rc < 0) return rc;
    *what = "open /dev/null";
    rc = fs_open_devnull(&null_fd);
    if (rc < 0) return rc;
    *what = "redirect stdio to /dev/null";
    for (int target = 0; target <= 2 && rc == 0; target++) {
        if (target == STDERR_FILENO && keep_stderr) break;
        if (null_fd != target) rc = io_dup2(null_fd, target);
    }
    if (null_fd > STDERR_FILENO) se__daemon_fd_close(&null_fd);
    return rc;
}

/*
 * Signals: the caller blocks, before this call, every signal it will later
 * take from a signalfd (TERM INT QUIT HUP USR1 USR2 CONT, and CHLD). The
 * mask survives both forks, so a signal sent to the daemon between its birth
 * and its signalfd (say by a script that read the pid file) stays pending
 * instead of killing it with the default action or being lost. Handlers the
 * caller installed run in all three processes; none are needed here: the
 * launcher's read and wait retry EINTR, and SIGCHLD ignored is handled. With
 * those signals blocked, ^C does not end the launcher while it waits (the
 * wait ends when the daemon reports or dies); the daemon, in a session of
 * its own without a terminal, never receives the terminal's signals.
 *
 * Report before forking children: they inherit ready_fd (CLOEXEC covers exec
 * only), and the launcher's EOF would wait for them too.
 */
int
se__daemonize(struct se_daemon *d, int32_t error_exit_code, bool keep_stderr)
{
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    const char *what = "";
    SE_ASSERT(d->ready_fd < 0);
    /* Unwritten stdio output would be lost by the launcher's _exit. */
    fflush(NULL);
    int rc = io_socketpair(fds);
    if (rc < 0) return rc;
    rc = proc_fork(&pid);
    if (rc < 0) goto fail;
    if (pid > 0) {
        se__daemon_fd_close(&fds[1]);
        launcher_finish(fds[0], pid, error_exit_code);
    }
    se__daemon_fd_close(&fds[0]);
    session_fork(fds[1], error_exit_code);
    rc = daemon_detach(keep_stderr, &what);
    if (rc < 0) daemon_abort(fds[1], error_exit_code, what, rc);
    d->ready_fd = fds[1];
    return 0;
fail:
    se__daemon_fd_close(&fds[0]);
    se__daemon_fd_close(&fds[1]);
    return rc;
}

int
se__daemon_report(struct se_daemon *d, bool ok, const char *msg)
{
    if (d->ready_fd < 0) return 0;
    int rc;
    if (ok)
        rc = report_send(d->ready_fd, REPORT_READY, NULL);
    else
        rc = report_send(d->ready_fd, REPORT_FAILED,
                         msg != NULL && msg[0] != '\0' ? msg : "the daemon failed to start");
    se__daemon_fd_close(&d->ready_fd);
    return rc;
}

int
se__daemon_relay_open(int32_t fds[2])
{
    int pair[2] = {-1, -1};
    int rc = io_socketpair(pair);
    if (rc < 0) return rc;
    if (fcntl(pair[0], F_SETFL, O_NONBLOCK) < 0) {
        rc = -errno;
        se__daemon_fd_close(&pair[0]);
        se__daemon_fd_close(&pair[1]);
        return rc;
    }
    fds[0] = pair[0];
    fds[1] = pair[1];
    return 0;
}

int
se__daemon_relay_read(int32_t fd, char *msg, size_t msg_size)
{
    char buf[REPORT_MAX];
    size_t got = 0;
    int rc = read_report(fd, buf, sizeof buf, &got);
    if (rc == -EAGAIN && got == 0) return -EAGAIN;
    if (rc < 0 && rc != -EAGAIN) return rc;
    if (got == 0) return -EPIPE; /* EOF: it ended without a word */
    if (buf[0] == REPORT_READY) return 1;
    snprintf(msg, msg_size, "%.*s", got > 1 ? (int)strnlen(buf + 1, got - 1) : 0, buf + 1);
    return 0;
}
