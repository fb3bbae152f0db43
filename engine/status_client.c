/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_client.c: se_status_read, the client of a server's status socket
 * (status.h has the wire format; serverengine(3), STATUS). It trusts an
 * answer only from the process it was asked about: the socket must be a
 * socket (never a link) and its peer the named pid or that pid's child (a
 * supervisor's server), by SO_PEERCRED.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockmgr.h"
#include "status.h"

static int SE_PRINTF(4, 5) fail(int rc, char *err, size_t err_size, const char *fmt, ...)
{
    if (err != NULL && err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The pid written in a pid file (the engine's: a number and a newline). */
static int
read_pid(const char *path, int32_t *pid, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail(-errno, err, err_size, "pid file %s: %s", path, strerror(errno));
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (n <= 0 || end == buf || (*end != '\n' && *end != '\0') || v <= 0 || v > 0x3fffffff)
        return fail(-EINVAL, err, err_size, "pid file %s: no pid in it", path);
    *pid = (int32_t)v;
    return 0;
}

/* The parent of pid, from /proc/PID/stat ("PID (COMM) STATE PPID ..."; the
 * name may hold parentheses: the last one ends it). 0 when unknown. */
static int32_t
parent_of(int32_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *p = strrchr(buf, ')');
    int ppid = 0;
    if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1) return 0;
    return (int32_t)ppid;
}

/* Connects to path and checks who answers: pid itself, or its child. */
static int
connect_checked(const char *path, int32_t pid, bool by_pid, int32_t *out, char *err,
                size_t err_size)
{
    struct stat st;
    if (lstat(path, &st) < 0 && errno == ENOENT)
        return fail(-ENOENT, err, err_size,
                    "pid %d serves no status: no socket at %s (not a serverengine server, one "
                    "older than the status command, or one whose log says why it has none%s)",
                    (int)pid, path,
                    by_pid ? "; a server with a pid file serves it at PIDFILE.status: use -p" : "");
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return fail(-ENOTSOCK, err, err_size, "%s is not a socket (%s): refused", path,
                    S_ISLNK(st.st_mode) ? "a symbolic link" : "another kind of file");
    int32_t c = -1;
    int rc = se__net_unix_connect(path, &c);
    if (rc == -ECONNREFUSED)
        return fail(rc, err, err_size,
                    "nothing answers at %s: pid %d is gone or its server is restarting", path,
                    (int)pid);
    if (rc < 0) return fail(rc, err, err_size, "status socket %s: %s", path, se_strerror(rc));
    int32_t peer = 0;
    uint32_t uid = 0;
    rc = se__net_peer_cred(c, &peer, &uid);
    if (rc == 0 && peer != pid && parent_of(peer) != pid) rc = -EPERM;
    if (rc < 0) {
        close(c);
        return fail(rc, err, err_size,
                    "%s is served by pid %d, neither pid %d nor its server: refused", path,
                    (int)peer, (int)pid);
    }
    *out = c;
    return 0;
}

/* Reads the answer's messages until the server closes. */
static int
read_all(int32_t c, char **text, char *err, size_t err_size)
{
    size_t len = 0, cap = SE_STATUS_CHUNK + 1;
    char *buf = malloc(cap);
    if (buf == NULL) return fail(-ENOMEM, err, err_size, "%s", se_strerror(-ENOMEM));
    for (;;) {
        if (cap - len < SE_STATUS_CHUNK + 1) {
            char *more = cap < (size_t)2 * SE_STATUS_TEXT_MAX ? realloc(buf, cap * 2) : NULL;
            if (more == NULL) {
                free(buf);
                return fail(-EMSGSIZE, err, err_size, "the status answer is too long");
            }
            buf = more, cap *= 2;
        }
        int32_t fd = -1;
        int n = se__net_recv_line(c, buf + len, SE_STATUS_CHUNK + 1, &fd);
        if (fd >= 0) close(fd);
        if (n == -EPIPE || (n == -ECONNRESET && len == 0)) break; /* the end, or a refusal */
        if (n == -EAGAIN) { /* se__net_unix_connect waits 5 s for each message */
            free(buf);
            return fail(-ETIMEDOUT, err, err_size,
                        "no answer within 5 s (the server is restarting, or its loop is busy)");
        }
        if (n < 0) {
            free(buf);
            return fail(n, err, err_size, "reading the status: %s", se_strerror(n));
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len == 0) {
        free(buf);
        return fail(-EACCES, err, err_size,
                    "the server gave no status (it answers only its own user and root)");
    }
    *text = buf;
    return 0;
}

int
se_status_read(const char *pid_path, int pid, unsigned flags, char **text, char *err,
               size_t err_size)
{
    *text = NULL;
    int32_t target = pid;
    int rc = pid_path != NULL ? read_pid(pid_path, &target, err, err_size) : 0;
    if (rc < 0) return rc;
    if (target <= 0) return fail(-EINVAL, err, err_size, "not a pid: %d", pid);
    const char *dir = getenv("SERVERENGINE_STATUS_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    char path[SE_PATH_MAX + 64];
    rc = se__status_path(pid_path, target, dir, path, sizeof path);
    if (rc < 0) return fail(rc, err, err_size, "the status socket's path is too long");
    int32_t c = -1;
    rc = connect_checked(path, target, pid_path == NULL, &c, err, err_size);
    if (rc < 0) return rc;
    rc = se__net_send_line(c, (flags & SE_STATUS_JSON) != 0 ? "STATUS json\n" : "STATUS\n", -1);
    /* a server that refuses the peer closes at once: the request may find
     * the connection closed, which is the same refusal */
    if (rc == 0 || rc == -EPIPE || rc == -ECONNRESET)
        rc = read_all(c, text, err, err_size);
    else
        rc = fail(rc, err, err_size, "asking %s: %s", path, se_strerror(rc));
    close(c);
    return rc;
}
