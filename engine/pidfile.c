/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pidfile.c: the pid file (serverengine(5), pid_path): written to a temp
 * file, locked, put in place atomically, held locked for the life of the
 * process (so "stale" is exact: nobody holds the lock, no kill(pid, 0)
 * guessing), rewritten after a fork that changes the pid, and removed only
 * while it is still ours (hazard H4 of daemon.c).
 *
 * Keeps no state of its own (struct se_daemon is the caller's). Every system
 * call passes its fault point first (faults/points.def).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "se_fault.h"

#define PID_TEXT_MAX         24u /* "2147483647\n" and room to spare */
#define PIDFILE_ATTEMPTS_MAX 8u  /* each retry means the file changed while we looked */

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
        se__daemon_set_err(err, err_size, "pid file %s: %s", path,
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
            se__daemon_set_err(err, err_size, "pid file %s is held by a running instance (pid %ld)",
                               path, pid);
        else
            se__daemon_set_err(err, err_size, "pid file %s is held by a running instance", path);
        return -EEXIST;
    }
    if (rc < 0) {
        se__daemon_set_err(err, err_size, "cannot lock pid file %s: %s", path, se_strerror(rc));
        return rc;
    }
    /* Its owner may have released (unlinked) it, or another instance replaced
     * it, between our open and our lock: only the inode at path counts. */
    rc = path_names_fd(path, fd);
    if (rc <= 0) return rc == 0 ? 1 : rc;
    long pid = pidfile_read_pid(fd);
    if (pid > 0)
        se__daemon_set_err(err, err_size, "replacing stale pid file %s (pid %ld is not running)",
                           path, pid);
    else
        se__daemon_set_err(err, err_size, "replacing stale pid file %s (it holds no pid)", path);
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
        se__daemon_set_err(err, err_size, "cannot open pid file %s: %s", path, se_strerror(rc));
        return rc;
    }
    rc = pidfile_judge(path, fd, old, err, err_size);
    if (rc != 0) se__daemon_fd_close(&fd);
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
    se__daemon_fd_close(fd);
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
        se__daemon_set_err(err, err_size, "cannot write pid file %s: %s", path, se_strerror(rc));
        goto fail;
    }
    rc = pidfile_install(tmp, path, old);
    if (rc == -EEXIST) rc = 1; /* another instance got there first: look at it */
    if (rc != 0) {
        if (rc < 0)
            se__daemon_set_err(err, err_size, "cannot create pid file %s: %s", path,
                               se_strerror(rc));
        goto fail;
    }
    /* The protocol makes this hold; a writer outside it (a tool rewriting
     * the file in place, or removing it) is caught here. */
    rc = path_names_fd(path, fd);
    if (rc <= 0) {
        se__daemon_set_err(err, err_size, "pid file %s was replaced while we were starting", path);
        rc = rc < 0 ? rc : -EEXIST;
        goto fail;
    }
    se__daemon_fd_close(&old);
    d->pidfile_fd = fd;
    d->pidfile_pid = (int32_t)pid;
    memcpy(d->pidfile_path, path, strlen(path) + 1);
    return 0;
fail:
    se__daemon_fd_close(&fd);
    se__daemon_fd_close(&old);
    return rc;
}

int
se__pidfile_acquire(struct se_daemon *d, const char *path, char *err, size_t err_size)
{
    char tmp[SE_PATH_MAX + PID_TEXT_MAX + 8];
    SE_ASSERT(d->pidfile_fd < 0);
    se__daemon_set_err(err, err_size, "%s", "");
    if (path == NULL || path[0] == '\0') {
        se__daemon_set_err(err, err_size, "pid file path is empty");
        return -EINVAL;
    }
    if (strlen(path) >= SE_PATH_MAX) {
        se__daemon_set_err(err, err_size, "pid file path is too long: %.64s...", path);
        return -ENAMETOOLONG;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    for (uint32_t i = 0; i < PIDFILE_ATTEMPTS_MAX; i++) {
        se__daemon_set_err(err, err_size, "%s", "");
        int rc = pidfile_attempt(d, path, tmp, err, err_size);
        if (rc != 1) return rc;
    }
    se__daemon_set_err(err, err_size, "pid file %s keeps changing (other instances starting?)",
                       path);
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
        se__daemon_set_err(err, err_size, "cannot update pid file %s: %s", d->pidfile_path,
                           se_strerror(rc));
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
            se__daemon_set_err(d->release_msg, sizeof d->release_msg,
                               "pid file %s: cannot remove it (%s); %s", d->pidfile_path,
                               se_strerror(rc),
                               rc_trunc == 0 ? "emptied it instead" : "and cannot empty it either");
    }
    se__daemon_fd_close(&d->pidfile_fd); /* unlink before close: the lock covers the unlink */
    d->pidfile_pid = 0;
    d->pidfile_path[0] = '\0';
}
