/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix_fs.c: the file side of the POSIX adapter: clocks, descriptors and
 * the files the logger needs (open for append, rename, unlink, identity,
 * flock, append), plus the few POSIX helpers of the logger that the adapter
 * struct does not carry (logger.h: capture pipe, pid, fork-wiped word).
 *
 * Every method returns 0 or -errno, retries EINTR inside and starts with its
 * fault point (faults/points.def), so that a libfiu build can fail each call
 * alone. It never keeps state: the adapter's ctx is unused here, and the
 * struct se__os_posix_fs() returns is read-only static data.
 * The clocks cannot fail (vDSO reads of clocks that always exist), so they
 * have no fault point.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "os_posix.h"
#include "se_fault.h"

int64_t
se__posix_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
se__posix_cwd(char *buf, size_t size)
{
    return getcwd(buf, size) == NULL ? -errno : 0;
}

int
se__posix_pipe(int32_t fds[2])
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
    fds[0] = p[0];
    fds[1] = p[1];
    return 0;
}

int
se__posix_post_byte(int32_t fd, unsigned char byte)
{
    int saved = errno, rc = -EBADF;
    if (fd >= 0) rc = write(fd, &byte, 1) == 1 ? 0 : -errno;
    errno = saved;
    return rc;
}

int
se__posix_stdin_take(int32_t *fd)
{
    int moved = fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return -errno;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        (void)dup2(null_fd, 0);
        close(null_fd);
    }
    *fd = moved;
    return 0;
}

static int64_t
posix_monotonic_ms(void *ctx)
{
    (void)ctx;
    return se__posix_mono_ms();
}

static int64_t
posix_realtime_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
posix_read(void *ctx, int32_t fd, void *buf, size_t len, size_t *len_read)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_IO_READ);
    ssize_t n;
    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    *len_read = (size_t)n;
    return 0;
}

/* One write(); a short count is the caller's to judge (never retried here:
 * for a log line a second write would interleave with other writers). */
static int
posix_write(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_IO_WRITE);
    ssize_t n;
    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *len_written = (size_t)n;
    return 0;
}

static int
posix_close(void *ctx, int32_t fd)
{
    (void)ctx;
    /* Linux releases the descriptor even when close() reports an error, and
     * a retry after EINTR could close a descriptor another thread just got;
     * so the call is made once, and an injected failure comes after it. */
    int rc = close(fd) < 0 && errno != EINTR ? -errno : 0;
    SE_FAULT_CHECK(SE_FAULT_IO_CLOSE);
    return rc;
}

/*
 * The engine's one way to open a file it was given (the log, a config file,
 * the sigdump file): see logger.h. One level of symbolic link at a time, so
 * that every link of a chain meets the owner rule; SE_LINKS_MAX levels at
 * most, as the kernel's own limit for a path.
 */
#define SE_LINKS_MAX 8

/* A trusted link: ours, or root's. Anyone else's is what fs.protected_symlinks
 * refuses in a sticky directory; here it is refused everywhere, which is
 * simpler to explain and never weaker. */
static bool
link_trusted(uint32_t link_uid)
{
    return link_uid == (uint32_t)geteuid() || link_uid == 0;
}

/* The target of the link at path, relative ones joined to path's directory. */
static int
link_target(const char *path, char *out, size_t size)
{
    char t[SE_PATH_MAX];
    ssize_t n = readlink(path, t, sizeof t - 1);
    if (n < 0) return -errno;
    if ((size_t)n >= sizeof t - 1) return -ENAMETOOLONG;
    t[n] = '\0';
    const char *slash = strrchr(path, '/');
    int dir_len = t[0] == '/' || slash == NULL ? 0 : (int)(slash - path + 1);
    int w = snprintf(out, size, "%.*s%s", dir_len, path, t);
    return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* /dev/null is as good as a file for a log nobody reads (it never blocks);
 * any other device, a FIFO or a socket is refused. */
static bool
is_null_device(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

static int
open_regular_at_level(const char *path, int flags, uint32_t mode, int level, int32_t *fd)
{
    int f;
    do {
        f = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, (mode_t)mode);
    } while (f < 0 && errno == EINTR);
    /* ELOOP: a symbolic link at path; EACCES too where the kernel's own
     * fs.protected_symlinks refused it first. Followed only when its owner
     * is trusted. */
    bool strict = (flags & O_NOFOLLOW) != 0; /* the caller's: no link at all */
    if (f < 0 && (errno == ELOOP || errno == EACCES) && !strict && level < SE_LINKS_MAX) {
        int open_err = -errno;
        struct stat lst;
        if (lstat(path, &lst) < 0 || !S_ISLNK(lst.st_mode)) return open_err;
        if (!link_trusted((uint32_t)lst.st_uid)) return -ELOOP;
        char target[SE_PATH_MAX];
        int rc = link_target(path, target, sizeof target);
        return rc < 0 ? rc : open_regular_at_level(target, flags, mode, level + 1, fd);
    }
    if (f < 0) return -errno;
    struct stat st;
    int rc = fstat(f, &st) < 0 ? -errno : 0;
    if (rc == 0 && !S_ISREG(st.st_mode) && !is_null_device(&st))
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -ENXIO;
    /* a regular file never blocks: the flag only guarded the open itself */
    if (rc == 0 && fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) < 0) rc = -errno;
    if (rc < 0) {
        close(f);
        return rc;
    }
    *fd = f;
    return 0;
}

int
se__posix_open_regular(const char *path, int flags, uint32_t mode, int32_t *fd)
{
    return open_regular_at_level(path, flags, mode, 0, fd);
}

static const char *
file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

/* The first link of the chain at path that is not trusted, into link
 * (with its owner in *uid): true when there is one. */
static bool
foreign_link(const char *path, char *link, size_t size, uid_t *uid)
{
    char at[SE_PATH_MAX], next[SE_PATH_MAX];
    snprintf(at, sizeof at, "%s", path);
    for (int level = 0; level < SE_LINKS_MAX; level++) {
        struct stat st;
        if (lstat(at, &st) < 0 || !S_ISLNK(st.st_mode)) return false;
        if (!link_trusted((uint32_t)st.st_uid)) {
            snprintf(link, size, "%s", at);
            *uid = st.st_uid;
            return true;
        }
        if (link_target(at, next, sizeof next) < 0) return false;
        memcpy(at, next, sizeof at);
    }
    return false;
}

const char *
se__posix_open_error(const char *path, int err, char *buf, size_t size)
{
    struct stat st;
    char link[SE_PATH_MAX];
    uid_t uid;
    if (err == -ELOOP && foreign_link(path, link, sizeof link, &uid)) {
        char name[64] = "";
        struct passwd pw, *found = NULL;
        char pwbuf[1024];
        if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found != NULL)
            snprintf(name, sizeof name, " (%s)", found->pw_name);
        char via[SE_PATH_MAX + 8] = "";
        if (strcmp(link, path) != 0) snprintf(via, sizeof via, " (%s)", link);
        snprintf(buf, size,
                 "a symbolic link%s owned by uid %u%s, neither this user nor root: not "
                 "followed (see the README, Reliability)",
                 via, (unsigned)uid, name);
        return buf;
    }
    if ((err == -ENXIO || err == -EISDIR) && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(buf, size, "%s, not a regular file: refused", file_kind(st.st_mode));
        return buf;
    }
    snprintf(buf, size, "%s", se_strerror(err));
    return buf;
}

static int
posix_open_append(void *ctx, const char *path, int32_t *fd)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_OPEN);
    return se__posix_open_regular(path, O_WRONLY | O_APPEND | O_CREAT, 0644, fd);
}

static int
posix_rename(void *ctx, const char *path_from, const char *path_to)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_RENAME);
    return rename(path_from, path_to) < 0 ? -errno : 0;
}

static int
posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_UNLINK);
    return unlink(path) < 0 ? -errno : 0;
}

static int
posix_file_id(void *ctx, const char *path, int32_t fd, struct se_file_id *id)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_STAT);
    struct stat st;
    int rc = fd >= 0 ? fstat(fd, &st) : stat(path, &st);
    if (rc < 0) {
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
            *id = (struct se_file_id){.exists = false};
            return 0;
        }
        return -errno;
    }
    *id = (struct se_file_id){.dev = (uint64_t)st.st_dev,
                              .ino = (uint64_t)st.st_ino,
                              .size_bytes = (uint64_t)st.st_size,
                              .exists = true};
    return 0;
}

static int
posix_flock(int32_t fd, int op)
{
    int rc;
    do {
        rc = flock(fd, op);
    } while (rc < 0 && errno == EINTR); /* a signal while blocked on the lock */
    return rc < 0 ? -errno : 0;
}

static int
posix_lock(void *ctx, int32_t fd)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_LOCK);
    return posix_flock(fd, LOCK_EX);
}

static int
posix_unlock(void *ctx, int32_t fd)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_FS_LOCK);
    return posix_flock(fd, LOCK_UN);
}

/*
 * One write(), then the size by lseek(fd, 0, SEEK_CUR): on an O_APPEND
 * descriptor the kernel moves the offset to the end of the file before each
 * write, so right after it the offset is the end of our line, which is the
 * file's size at that instant with every earlier append of every process
 * included. lseek is chosen over fstat because it answers exactly that and
 * copies no inode attributes (it is the cheaper of the two calls). A
 * descriptor without an offset (pipe, terminal) reports size 0.
 */
static int
posix_append(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written,
             uint64_t *size_after_bytes)
{
    (void)ctx;
    SE_FAULT_CHECK(SE_FAULT_IO_WRITE);
    ssize_t n;
    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *len_written = (size_t)n;
    off_t end = lseek(fd, 0, SEEK_CUR);
    *size_after_bytes = end < 0 ? 0 : (uint64_t)end;
    return 0;
}

void
se__os_posix_fs_fill(struct se_os *os)
{
    os->monotonic_ms = posix_monotonic_ms;
    os->realtime_us = posix_realtime_us;
    os->read = posix_read;
    os->write = posix_write;
    os->close = posix_close;
    os->open_append = posix_open_append;
    os->rename = posix_rename;
    os->unlink = posix_unlink;
    os->file_id = posix_file_id;
    os->lock = posix_lock;
    os->unlock = posix_unlock;
    os->append = posix_append;
}

static const struct se_os posix_fs = {
    .version = SE_OS_VERSION,
    .ctx = NULL,
    .monotonic_ms = posix_monotonic_ms,
    .realtime_us = posix_realtime_us,
    .read = posix_read,
    .write = posix_write,
    .close = posix_close,
    .open_append = posix_open_append,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .file_id = posix_file_id,
    .lock = posix_lock,
    .unlock = posix_unlock,
    .append = posix_append,
};

const struct se_os *
se__os_posix_fs(void)
{
    return &posix_fs;
}

/* ------------------------------------------------------------------------ */
/* The logger's POSIX helpers (declared in logger.h).                       */
/* ------------------------------------------------------------------------ */

int32_t
se__posix_pid(void)
{
    return (int32_t)getpid();
}

int
se__posix_fork_word_new(int32_t **word)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_MMAP);
#ifdef MADV_WIPEONFORK
    long page = sysconf(_SC_PAGESIZE);
    size_t len = page > 0 ? (size_t)page : 4096u;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -errno;
    /* Linux >= 4.14: a forked child sees this page zeroed, which is how a
     * cached pid notices the fork without a getpid() per line. */
    if (madvise(p, len, MADV_WIPEONFORK) < 0) {
        int err = -errno;
        munmap(p, len);
        return err;
    }
    *word = p;
    return 0;
#else
    (void)word;
    return -ENOTSUP;
#endif
}

void
se__posix_fork_word_free(int32_t *word)
{
    if (word == NULL) return;
    long page = sysconf(_SC_PAGESIZE);
    munmap(word, page > 0 ? (size_t)page : 4096u);
}

/*
 * pipe2 (close-on-exec), read end non-blocking, write end dup2'd onto
 * target_fd. dup2 clears close-on-exec on target_fd, so children still
 * inherit their stdout/stderr (now the pipe) as before. When target_fd was
 * closed, pipe2 may hand out that very number: the read end is then moved
 * away first, and a write end already in place is kept (minus CLOEXEC).
 */
int
se__posix_capture_pipe(int32_t target_fd, int32_t *read_fd)
{
    SE_FAULT_CHECK(SE_FAULT_IO_PIPE);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -errno;
    int err = 0;
    if (p[0] == target_fd) {
        int moved = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
        if (moved < 0)
            err = -errno;
        else
            p[0] = moved; /* the old number is replaced by dup2 below */
    }
    if (err == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) err = -errno;
    if (err == 0 && p[1] == target_fd) {
        if (fcntl(p[1], F_SETFD, 0) < 0) err = -errno;
        p[1] = -1;
    }
    while (err == 0 && p[1] >= 0 && dup2(p[1], target_fd) < 0) {
        if (errno != EINTR) err = -errno;
    }
    if (p[1] >= 0) close(p[1]);
    if (err < 0) {
        close(p[0]);
        return err;
    }
    *read_fd = p[0];
    return 0;
}
