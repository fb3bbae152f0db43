/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.c: becoming a daemon (serverengine(5), DAEMON KEYS): the double fork with its
 * start-up handshake, the pid file, dropping privileges, process names.
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
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "se_fault.h"

/* The report's first byte; the failure message follows it. */
enum { REPORT_READY = 'R', REPORT_FAILED = 'F' };

#define REPORT_MAX           (SE_DAEMON_MSG_MAX + 1u) /* status byte, text, NUL */
#define PID_TEXT_MAX         24u                      /* "2147483647\n" and room to spare */
#define PIDFILE_ATTEMPTS_MAX 8u         /* each retry means the file changed while we looked */
#define LOOKUP_BUF_MAX       (1u << 20) /* getpw*_r / getgr*_r buffers stop growing here */
#define COMM_MAX             16u        /* the kernel's thread name, NUL included */

void
se__daemon_init(struct se_daemon *d)
{
    d->ready_fd = -1;
    d->pidfile_fd = -1;
    d->pidfile_pid = 0;
    d->pidfile_path[0] = '\0';
}

static void set_err(char *err, size_t err_size, const char *fmt, ...) SE_PRINTF(3, 4);

/* snprintf into err, which may be NULL or empty. */
static void
set_err(char *err, size_t err_size, const char *fmt, ...)
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
static void
fd_close(int32_t *fd)
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
    fd_close(&fd);
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
    if (null_fd > STDERR_FILENO) fd_close(&null_fd);
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
        fd_close(&fds[1]);
        launcher_finish(fds[0], pid, error_exit_code);
    }
    fd_close(&fds[0]);
    session_fork(fds[1], error_exit_code);
    rc = daemon_detach(keep_stderr, &what);
    if (rc < 0) daemon_abort(fds[1], error_exit_code, what, rc);
    d->ready_fd = fds[1];
    return 0;
fail:
    fd_close(&fds[0]);
    fd_close(&fds[1]);
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
    fd_close(&d->ready_fd);
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
        fd_close(&pair[0]);
        fd_close(&pair[1]);
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

/* ---- pid file ------------------------------------------------------------- */
/*
 * The protocol, followed by every instance:
 *  1. a file only ever appears at path already written, synced and locked by
 *     its owner (temp file path.tmp.PID, then link or rename);
 *  2. only the process holding the lock of the inode that path names may
 *     change path: replace it (a stale file: lock taken, then checked to be
 *     still at path) or unlink it (release);
 *  3. a newcomer that finds no file creates its own with link(), which,
 *     unlike rename(), refuses to replace a file that appeared meanwhile.
 * Two instances starting at once: either both saw no file, and link() lets
 * exactly one in (the other looks again and finds a live lock: -EEXIST), or
 * both saw the same stale file, and flock() lets exactly one take it (the
 * other gets EWOULDBLOCK: -EEXIST). The lock on the inode that ends up at
 * path wins. A lock taken on a file that is no longer at path (its owner
 * released it, or someone replaced it between our open and our lock) is
 * noticed by comparing inodes, and we look again.
 */

static int
pidfile_open_existing(const char *path, int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_OPEN);
    int f;
    /* O_NONBLOCK: a FIFO planted at path must not hang us (refused below). */
    do {
        f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    } while (f < 0 && errno == EINTR);
    if (f < 0) return -errno;
    *fd = f;
    return 0;
}

/* O_RDWR, not O_WRONLY: release reads the file back to check it still holds
 * our pid. */
static int
pidfile_open_tmp(const char *tmp, int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_OPEN);
    int f;
    do {
        f = open(tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0644);
    } while (f < 0 && errno == EINTR);
    if (f < 0) return -errno;
    *fd = f;
    return 0;
}

static int
pidfile_lock(int32_t fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_LOCK);
    int r;
    do {
        r = flock(fd, LOCK_EX | LOCK_NB);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int
pidfile_pread(int32_t fd, char *buf, size_t size, size_t *got)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_READ);
    ssize_t n;
    do {
        n = pread(fd, buf, size, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *got = (size_t)n;
    return 0;
}

static int
pidfile_pwrite(int32_t fd, const char *buf, size_t len)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_WRITE);
    ssize_t n;
    do {
        n = pwrite(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    return (size_t)n == len ? 0 : -EIO; /* a few bytes to a regular file: short means full */
}

static int
pidfile_ftruncate(int32_t fd, size_t len)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_TRUNCATE);
    int r;
    do {
        r = ftruncate(fd, (off_t)len);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int
pidfile_fsync(int32_t fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_SYNC);
    int r;
    do {
        r = fsync(fd);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int
pidfile_fstat(int32_t fd, struct stat *st)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_STAT);
    return fstat(fd, st) < 0 ? -errno : 0;
}

static int
pidfile_lstat(const char *path, struct stat *st)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_STAT);
    return lstat(path, st) < 0 ? -errno : 0;
}

static int
pidfile_link(const char *from, const char *to)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_LINK);
    return link(from, to) < 0 ? -errno : 0;
}

static int
pidfile_rename(const char *from, const char *to)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_RENAME);
    return rename(from, to) < 0 ? -errno : 0;
}

static int
pidfile_unlink(const char *path)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_UNLINK);
    return unlink(path) < 0 ? -errno : 0;
}

/* 1 when path names the inode open as fd, 0 when it names another one or
 * nothing, -errno when we cannot tell. */
static int
path_names_fd(const char *path, int32_t fd)
{
    struct stat open_st;
    struct stat path_st;
    int rc = pidfile_fstat(fd, &open_st);
    if (rc < 0) return rc;
    rc = pidfile_lstat(path, &path_st);
    if (rc == -ENOENT) return 0;
    if (rc < 0) return rc;
    return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

/* The pid a pid file holds ("PID\n"), or 0 when it holds none. */
static long
pidfile_read_pid(int32_t fd)
{
    char text[PID_TEXT_MAX];
    size_t got = 0;
    if (pidfile_pread(fd, text, sizeof text - 1, &got) < 0) return 0;
    text[got] = '\0';
    char *end = NULL;
    errno = 0;
    long pid = strtol(text, &end, 10);
    if (end == text || errno != 0 || pid <= 0 || pid > INT32_MAX) return 0;
    if (*end != '\0' && *end != '\n') return 0;
    return pid;
}

static size_t
pid_text(char *buf, size_t size, long pid)
{
    int n = snprintf(buf, size, "%ld\n", pid);
    SE_ASSERT(n > 0 && (size_t)n < size);
    return (size_t)n;
}

/* An existing file we could open: live (-EEXIST), a stale one still at path
 * (0, kept open and locked in *old), or one that moved meanwhile (1). */
static int
pidfile_judge(const char *path, int32_t fd, int32_t *old, char *err, size_t err_size)
{
    struct stat st;
    int rc = pidfile_fstat(fd, &st);
    if (rc == 0 && !S_ISREG(st.st_mode)) rc = -EINVAL;
    if (rc < 0) {
        set_err(err, err_size, "pid file %s: %s", path,
                rc == -EINVAL ? "not a regular file" : se_strerror(rc));
        return rc;
    }
    rc = pidfile_lock(fd);
    /* Locked, but maybe by an owner that has just released it (unlinked,
     * not yet closed): if path names something else now, look again. */
    if (rc == -EWOULDBLOCK && path_names_fd(path, fd) == 0) return 1;
    if (rc == -EWOULDBLOCK) {
        long pid = pidfile_read_pid(fd);
        if (pid > 0)
            set_err(err, err_size, "pid file %s is held by a running instance (pid %ld)", path,
                    pid);
        else
            set_err(err, err_size, "pid file %s is held by a running instance", path);
        return -EEXIST;
    }
    if (rc < 0) {
        set_err(err, err_size, "cannot lock pid file %s: %s", path, se_strerror(rc));
        return rc;
    }
    /* Its owner may have released (unlinked) it, or another instance replaced
     * it, between our open and our lock: only the inode at path counts. */
    rc = path_names_fd(path, fd);
    if (rc <= 0) return rc == 0 ? 1 : rc;
    long pid = pidfile_read_pid(fd);
    if (pid > 0)
        set_err(err, err_size, "replacing stale pid file %s (pid %ld is not running)", path, pid);
    else
        set_err(err, err_size, "replacing stale pid file %s (it holds no pid)", path);
    *old = fd;
    return 0;
}

/* Looks at what path names now: 0 with *old = -1 (nothing) or a locked stale
 * file; 1: it changed meanwhile, look again; -EEXIST: a live instance. */
static int
pidfile_check_existing(const char *path, int32_t *old, char *err, size_t err_size)
{
    int32_t fd = -1;
    *old = -1;
    int rc = pidfile_open_existing(path, &fd);
    if (rc == -ENOENT) return 0;
    if (rc < 0) {
        set_err(err, err_size, "cannot open pid file %s: %s", path, se_strerror(rc));
        return rc;
    }
    rc = pidfile_judge(path, fd, old, err, err_size);
    if (rc != 0) fd_close(&fd);
    return rc;
}

/* The temp file, written, synced (so that a crash never leaves an empty file
 * at path) and locked before anyone can see it. */
static int
pidfile_create_tmp(const char *tmp, long pid, int32_t *fd)
{
    char text[PID_TEXT_MAX];
    size_t len = pid_text(text, sizeof text, pid);
    int rc = pidfile_open_tmp(tmp, fd);
    if (rc == -EEXIST) {
        /* Left by a process of ours that died between create and rename with
         * the same pid (a crash, then pid reuse): the name is ours now. */
        (void)pidfile_unlink(tmp);
        rc = pidfile_open_tmp(tmp, fd);
        if (rc == -EEXIST) rc = -EBUSY; /* never to be taken for a live instance */
    }
    if (rc < 0) return rc;
    rc = pidfile_pwrite(*fd, text, len);
    if (rc == 0) rc = pidfile_fsync(*fd);
    if (rc == 0) rc = pidfile_lock(*fd); /* nobody else knows this inode yet */
    if (rc == 0) return 0;
    (void)pidfile_unlink(tmp);
    fd_close(fd);
    return rc;
}

/* Puts the locked temp file at path: over the stale file we hold (rule 2),
 * or with link() where there was none (rule 3: -EEXIST if one appeared).
 * The temp name is gone afterwards, whatever happened. */
static int
pidfile_install(const char *tmp, const char *path, int32_t old)
{
    int rc = old >= 0 ? pidfile_rename(tmp, path) : pidfile_link(tmp, path);
    /* linked: path holds the inode now; failed: nobody needs it */
    if (old < 0 || rc < 0) (void)pidfile_unlink(tmp);
    return rc;
}

/* One look-and-create round: 0, 1 (path changed: look again) or <0. */
static int
pidfile_attempt(struct se_daemon *d, const char *path, const char *tmp, char *err, size_t err_size)
{
    int32_t old = -1;
    int32_t fd = -1;
    long pid = (long)getpid();
    int rc = pidfile_check_existing(path, &old, err, err_size);
    if (rc != 0) return rc;
    rc = pidfile_create_tmp(tmp, pid, &fd);
    if (rc < 0) {
        /* the temporary name is ours, not the user's: name the pid file */
        set_err(err, err_size, "cannot write pid file %s: %s", path, se_strerror(rc));
        goto fail;
    }
    rc = pidfile_install(tmp, path, old);
    if (rc == -EEXIST) rc = 1; /* another instance got there first: look at it */
    if (rc != 0) {
        if (rc < 0) set_err(err, err_size, "cannot create pid file %s: %s", path, se_strerror(rc));
        goto fail;
    }
    /* The protocol makes this hold; a writer outside it (a tool rewriting
     * the file in place, or removing it) is caught here. */
    rc = path_names_fd(path, fd);
    if (rc <= 0) {
        set_err(err, err_size, "pid file %s was replaced while we were starting", path);
        rc = rc < 0 ? rc : -EEXIST;
        goto fail;
    }
    fd_close(&old);
    d->pidfile_fd = fd;
    d->pidfile_pid = (int32_t)pid;
    memcpy(d->pidfile_path, path, strlen(path) + 1);
    return 0;
fail:
    fd_close(&fd);
    fd_close(&old);
    return rc;
}

int
se__pidfile_acquire(struct se_daemon *d, const char *path, char *err, size_t err_size)
{
    char tmp[SE_PATH_MAX + PID_TEXT_MAX + 8];
    SE_ASSERT(d->pidfile_fd < 0);
    set_err(err, err_size, "%s", "");
    if (path == NULL || path[0] == '\0') {
        set_err(err, err_size, "pid file path is empty");
        return -EINVAL;
    }
    if (strlen(path) >= SE_PATH_MAX) {
        set_err(err, err_size, "pid file path is too long: %.64s...", path);
        return -ENAMETOOLONG;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    for (uint32_t i = 0; i < PIDFILE_ATTEMPTS_MAX; i++) {
        set_err(err, err_size, "%s", "");
        int rc = pidfile_attempt(d, path, tmp, err, err_size);
        if (rc != 1) return rc;
    }
    set_err(err, err_size, "pid file %s keeps changing (other instances starting?)", path);
    return -EAGAIN;
}

/* The owner may still run (the parent of a fork) while this runs: a reader in
 * between sees the new pid followed by the old text's tail ("99\n45\n"),
 * which still parses as the new pid. */
int
se__pidfile_update(struct se_daemon *d, char *err, size_t err_size)
{
    char text[PID_TEXT_MAX];
    if (d->pidfile_fd < 0) return 0;
    long pid = (long)getpid();
    size_t len = pid_text(text, sizeof text, pid);
    int rc = pidfile_pwrite(d->pidfile_fd, text, len);
    if (rc == 0) rc = pidfile_ftruncate(d->pidfile_fd, len);
    if (rc < 0) {
        set_err(err, err_size, "cannot update pid file %s: %s", d->pidfile_path, se_strerror(rc));
        return rc;
    }
    d->pidfile_pid = (int32_t)pid;
    return 0;
}

/* Unicorn's unlink_pid_safe: only the process whose pid the file holds, and
 * only while path still names our inode. A forked child that inherited the
 * descriptor closes its copy and leaves file and lock to the owner; a file
 * someone else put at path is theirs. We hold the lock of the inode at path,
 * so by rule 2 nobody changes path between this check and the unlink. After
 * a drop of privileges the directory may refuse the unlink (EACCES): the
 * file stays, unlocked once we close, and the next start replaces it. */
void
se__pidfile_release(struct se_daemon *d)
{
    d->release_msg[0] = '\0';
    if (d->pidfile_fd < 0) return;
    if (path_names_fd(d->pidfile_path, d->pidfile_fd) == 1 &&
        pidfile_read_pid(d->pidfile_fd) == (long)getpid()) {
        int rc = pidfile_unlink(d->pidfile_path);
        /* After a drop to a user who may not write the directory: the file
         * is emptied through the descriptor we hold, so that no pid in it
         * names a process that may be someone else's tomorrow (an empty,
         * unlocked file is stale for the next start and for the tools). */
        int rc_trunc = rc < 0 ? pidfile_ftruncate(d->pidfile_fd, 0) : 0;
        if (rc < 0)
            set_err(d->release_msg, sizeof d->release_msg, "pid file %s: cannot remove it (%s); %s",
                    d->pidfile_path, se_strerror(rc),
                    rc_trunc == 0 ? "emptied it instead" : "and cannot empty it either");
    }
    fd_close(&d->pidfile_fd); /* unlink before close: the lock covers the unlink */
    d->pidfile_pid = 0;
    d->pidfile_path[0] = '\0';
}

/* ---- privileges ----------------------------------------------------------- */

/* A user or group, resolved: what the drop needs, copied out of the
 * lookup's buffer. */
struct ident {
    uint32_t id;  /* uid or gid */
    uint32_t gid; /* user: the primary group */
    char name[SE_NAME_MAX];
};

static int
mem_alloc(size_t size, char **buf)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_ALLOC);
    *buf = malloc(size);
    return *buf != NULL ? 0 : -ENOMEM;
}

/* "1000" names an id, as in Ruby's Privilege; anything else a name. */
static bool
parse_id(const char *text, uint32_t *id)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9') return false;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v >= UINT32_MAX) return false;
    *id = (uint32_t)v;
    return true;
}

/* The *_r lookups return an errno; these several mean "no such entry". */
static int
lookup_result(int r, bool found)
{
    if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
        return found ? 0 : SE_ECONFIG;
    return -r;
}

static int
cred_getpw(const char *user, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_GETPW);
    uint32_t id = 0;
    int r;
    do {
        *res = NULL;
        r = parse_id(user, &id) ? getpwuid_r((uid_t)id, pw, buf, size, res)
                                : getpwnam_r(user, pw, buf, size, res);
    } while (r == EINTR);
    return lookup_result(r, *res != NULL);
}

static int
cred_getgr(const char *group, struct group *gr, char *buf, size_t size, struct group **res)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_GETGR);
    uint32_t id = 0;
    int r;
    do {
        *res = NULL;
        r = parse_id(group, &id) ? getgrgid_r((gid_t)id, gr, buf, size, res)
                                 : getgrnam_r(group, gr, buf, size, res);
    } while (r == EINTR);
    return lookup_result(r, *res != NULL);
}

static size_t
lookup_buf_size(int which)
{
    long n = sysconf(which);
    return n > 0 && (unsigned long)n < LOOKUP_BUF_MAX ? (size_t)n : 4096u;
}

static int
user_lookup(const char *user, struct ident *u, char *err, size_t err_size)
{
    struct passwd pw;
    struct passwd *res = NULL;
    char *buf = NULL;
    int rc;
    /* The buffer grows on ERANGE: big NSS entries exist (LDAP). */
    for (size_t size = lookup_buf_size(_SC_GETPW_R_SIZE_MAX);; size *= 2) {
        rc = mem_alloc(size, &buf);
        if (rc == 0) rc = cred_getpw(user, &pw, buf, size, &res);
        if (rc != -ERANGE || size >= LOOKUP_BUF_MAX) break;
        free(buf);
        buf = NULL;
    }
    if (rc == 0 && strlen(pw.pw_name) >= sizeof u->name) rc = -ENAMETOOLONG;
    if (rc == 0) {
        u->id = (uint32_t)pw.pw_uid;
        u->gid = (uint32_t)pw.pw_gid;
        memcpy(u->name, pw.pw_name, strlen(pw.pw_name) + 1);
    } else if (rc == SE_ECONFIG) {
        set_err(err, err_size, "chuser: no such user \"%s\"", user);
    } else {
        set_err(err, err_size, "chuser: cannot look up user \"%s\": %s", user, se_strerror(rc));
    }
    free(buf);
    return rc;
}

static int
group_lookup(const char *group, struct ident *g, char *err, size_t err_size)
{
    struct group gr;
    struct group *res = NULL;
    char *buf = NULL;
    int rc;
    for (size_t size = lookup_buf_size(_SC_GETGR_R_SIZE_MAX);; size *= 2) {
        rc = mem_alloc(size, &buf);
        if (rc == 0) rc = cred_getgr(group, &gr, buf, size, &res);
        if (rc != -ERANGE || size >= LOOKUP_BUF_MAX) break;
        free(buf);
        buf = NULL;
    }
    if (rc == 0) {
        g->id = (uint32_t)gr.gr_gid;
        g->gid = (uint32_t)gr.gr_gid;
        snprintf(g->name, sizeof g->name, "%s", gr.gr_name);
    } else if (rc == SE_ECONFIG) {
        set_err(err, err_size, "chgroup: no such group \"%s\"", group);
    } else {
        set_err(err, err_size, "chgroup: cannot look up group \"%s\": %s", group, se_strerror(rc));
    }
    free(buf);
    return rc;
}

static int
cred_initgroups(const char *user, gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_INITGROUPS);
    return initgroups(user, gid) < 0 ? -errno : 0;
}

static int
cred_setgroups(gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETGROUPS);
    return setgroups(1, &gid) < 0 ? -errno : 0;
}

/* setgid/setuid as root set the real, effective and saved ids: nothing is
 * left to regain (verified afterwards). */
static int
cred_setgid(gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETGID);
    return setgid(gid) < 0 ? -errno : 0;
}

static int
cred_setuid(uid_t uid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETUID);
    return setuid(uid) < 0 ? -errno : 0;
}

static bool
ids_are(uint32_t uid, uint32_t gid)
{
    return getuid() == (uid_t)uid && geteuid() == (uid_t)uid && getgid() == (gid_t)gid &&
           getegid() == (gid_t)gid;
}

/* The drop must be for good: real, effective and saved ids changed, so that
 * setuid(0) and setgid(0) now fail. Succeeding would mean running as root. */
static int
verify_dropped(bool was_root, const struct ident *u, uint32_t gid, char *err, size_t err_size)
{
    if (!ids_are(u->id, gid)) {
        set_err(err, err_size, "chuser: the change to user \"%s\" (uid %u, gid %u) did not hold",
                u->name, u->id, gid);
        return -EPERM;
    }
    if (!was_root || u->id == 0) return 0;
    if (cred_setuid(0) == 0 || (gid != 0 && cred_setgid(0) == 0)) {
        set_err(err, err_size, "chuser: root could be regained after the change to \"%s\"",
                u->name);
        return -EPERM;
    }
    return 0;
}

/* Supplementary groups first (they need root), set to the user's own: never
 * root's (H5). Then the group, then the user (group first: a user can no
 * longer change its group, ServerEngine 2.0.1). */
static int
drop_to_user(const struct ident *u, const struct ident *g, char *err, size_t err_size)
{
    bool was_root = geteuid() == 0;
    uint32_t gid = g != NULL ? g->id : u->gid;
    /* Already that user and group: nothing to do, and without root nothing
     * could be done (even setgroups to the same list needs CAP_SETGID). */
    if (!was_root && ids_are(u->id, gid)) return 0;
    int rc = cred_initgroups(u->name, (gid_t)u->gid);
    if (rc < 0) {
        set_err(err, err_size, "chuser: cannot set the supplementary groups of \"%s\": %s", u->name,
                se_strerror(rc));
        return rc;
    }
    rc = cred_setgid((gid_t)gid);
    if (rc < 0) {
        set_err(err, err_size, "%s: cannot change group to gid %u: %s",
                g != NULL ? "chgroup" : "chuser", gid, se_strerror(rc));
        return rc;
    }
    rc = cred_setuid((uid_t)u->id);
    if (rc < 0) {
        set_err(err, err_size, "chuser: cannot change user to \"%s\" (uid %u): %s", u->name, u->id,
                se_strerror(rc));
        return rc;
    }
    return verify_dropped(was_root, u, gid, err, err_size);
}

/* A group alone: as root, the supplementary groups shrink to just it (root's
 * own must not survive); without root they cannot change, and are ours. */
static int
drop_to_group(const struct ident *g, char *err, size_t err_size)
{
    if (getgid() == (gid_t)g->id && getegid() == (gid_t)g->id && geteuid() != 0) return 0;
    int rc = geteuid() == 0 ? cred_setgroups((gid_t)g->id) : 0;
    if (rc == 0) rc = cred_setgid((gid_t)g->id);
    if (rc == 0 && (getgid() != (gid_t)g->id || getegid() != (gid_t)g->id)) rc = -EPERM;
    if (rc < 0)
        set_err(err, err_size, "chgroup: cannot change group to \"%s\" (gid %u): %s", g->name,
                g->id, se_strerror(rc));
    return rc;
}

/* The user and group the process will run as: uid, gid (gid of the user
 * when no group is named). */
static int
target_ids(const char *user, const char *group, uint32_t *uid, uint32_t *gid, char *err,
           size_t err_size)
{
    struct ident u = {.id = (uint32_t)geteuid(), .gid = (uint32_t)getegid()};
    struct ident g = {0};
    int rc = 0;
    if (user != NULL && user[0] != '\0') rc = user_lookup(user, &u, err, err_size);
    if (rc == 0 && group != NULL && group[0] != '\0') rc = group_lookup(group, &g, err, err_size);
    if (rc < 0) return rc;
    *uid = u.id;
    *gid = group != NULL && group[0] != '\0' ? g.id : u.gid;
    return 0;
}

static int
handover_open(const char *path, int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_OPEN);
    *fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    return *fd < 0 ? -errno : 0;
}

static int
cred_fchown(int32_t fd, uint32_t uid, uint32_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_CHOWN);
    return fchown(fd, (uid_t)uid, (gid_t)gid) < 0 ? -errno : 0;
}

int
se__privileges_hand_over(const char *user, const char *group, const char *path, char *err,
                         size_t err_size)
{
    uint32_t uid = 0, gid = 0;
    set_err(err, err_size, "%s", "");
    int rc = target_ids(user, group, &uid, &gid, err, err_size);
    if (rc < 0) return rc;
    /* never through a link, never blocking on a FIFO; only a regular file
     * of ours with one name (the one we created) */
    int32_t fd = -1;
    rc = handover_open(path, &fd);
    struct stat st;
    if (rc == 0) rc = pidfile_fstat(fd, &st);
    if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()))
        rc = -EPERM;
    if (rc == 0) rc = cred_fchown(fd, uid, gid);
    fd_close(&fd);
    if (rc < 0)
        set_err(err, err_size, "%s: cannot give it to the user it will be written by: %s", path,
                se_strerror(rc));
    return rc;
}

int
se__privileges_drop(const char *user, const char *group, int32_t umask_value, char *err,
                    size_t err_size)
{
    struct ident u = {0};
    struct ident g = {0};
    bool has_user = user != NULL && user[0] != '\0';
    bool has_group = group != NULL && group[0] != '\0';
    int rc = 0;
    set_err(err, err_size, "%s", "");
    /* Both names resolved before anything changes: a typo changes nothing. */
    if (has_user) rc = user_lookup(user, &u, err, err_size);
    if (rc == 0 && has_group) rc = group_lookup(group, &g, err, err_size);
    if (rc == 0 && has_user) rc = drop_to_user(&u, has_group ? &g : NULL, err, err_size);
    if (rc == 0 && !has_user && has_group) rc = drop_to_group(&g, err, err_size);
    if (rc < 0) return rc;
    if (umask_value >= 0) umask((mode_t)umask_value & 0777);
    return 0;
}

/* ---- process names -------------------------------------------------------- */

static int
heap_copy(const char *s, size_t len, char **copy)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_ALLOC);
    *copy = malloc(len);
    if (*copy == NULL) return -ENOMEM;
    memcpy(*copy, s, len);
    return 0;
}

/*
 * The kernel lays the environment strings right after argv's. Moving them to
 * the heap (environ's entries repointed, so getenv and exec keep working)
 * lets a title longer than the command line fit. The trade-offs, as with
 * BSD setproctitle: pointers from getenv() taken before this call now point
 * into the title (so this runs first thing in main), /proc/PID/environ shows
 * the title's bytes, and the copies live as long as the process. A copy that
 * fails ends the area there. Returns the new end of the area.
 */
static char *
proctitle_take_environ(char *end)
{
    for (size_t i = 0; environ != NULL && environ[i] != NULL; i++) {
        if (environ[i] != end) break;
        size_t len = strlen(environ[i]) + 1;
        char *copy = NULL;
        if (heap_copy(environ[i], len, &copy) < 0) break;
        environ[i] = copy;
        end += len;
    }
    return end;
}

/* Called once, by the main thread, before other threads exist (environ is
 * rewritten without a lock). argv itself is left as it is; its strings are
 * overwritten by the first se__proctitle_set. */
void
se__proctitle_init(struct se_proctitle *t, int argc, char **argv)
{
    t->area = NULL;
    t->size = 0;
    if (argc < 1 || argv == NULL || argv[0] == NULL) return;
    char *end = argv[0] + strlen(argv[0]) + 1;
    int i = 1;
    while (i < argc && argv[i] == end) {
        end += strlen(argv[i]) + 1;
        i++;
    }
    /* Only an argv laid out whole as the kernel does it borders environ. */
    if (i == argc) end = proctitle_take_environ(end);
    t->area = argv[0];
    t->size = (size_t)(end - argv[0]);
}

/* PR_SET_NAME names the calling thread only: from the main thread that is
 * the process's /proc/PID/comm. */
static int
proc_setname(const char *title)
{
    char comm[COMM_MAX];
    size_t n = strnlen(title, sizeof comm - 1); /* the kernel keeps 15 bytes: cut on purpose */
    memcpy(comm, title, n);
    comm[n] = '\0';
    SE_FAULT_CHECK(SE_FAULT_PROC_SETNAME);
    return prctl(PR_SET_NAME, (unsigned long)comm, 0UL, 0UL, 0UL) < 0 ? -errno : 0;
}

/* The title, then NULs to the area's end: ps (/proc/PID/cmdline) shows the
 * title alone. A title longer than the area is cut. */
void
se__proctitle_set(const struct se_proctitle *t, const char *fmt, ...)
{
    char title[SE_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(title, sizeof title, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t != NULL && t->area != NULL && t->size > 0) {
        size_t len = strnlen(title, t->size - 1);
        memcpy(t->area, title, len);
        memset(t->area + len, 0, t->size - len);
    }
    (void)proc_setname(title);
}
