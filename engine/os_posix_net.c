/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix_net.c: the socket side of the POSIX adapter: the `listen`
 * sockets (opened, or adopted from our own socket activation), their
 * placement at descriptors 3.. in a spawned child, and the calls the
 * SocketManager makes (unix listener, peer credentials, descriptor passing).
 *
 * Every call passes its fault point (faults/points.def, group se/os/net)
 * first, returns 0 or -errno and retries EINTR inside. It keeps no state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "os_posix.h"
#include "se_fault.h"
#include "sockmgr.h"
#include "status.h"

/* ---- the calls, one fault point each ------------------------------------ */

static int
net_socket(int domain, int type, int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_NET_SOCKET);
    int s = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -errno;
    *fd = s;
    return 0;
}

static int
net_setsockopt(int32_t fd, int level, int name, int value)
{
    SE_FAULT_CHECK(SE_FAULT_NET_SETSOCKOPT);
    return setsockopt(fd, level, name, &value, sizeof value) < 0 ? -errno : 0;
}

static int
net_bind(int32_t fd, const struct sockaddr *sa, socklen_t len)
{
    SE_FAULT_CHECK(SE_FAULT_NET_BIND);
    return bind(fd, sa, len) < 0 ? -errno : 0;
}

static int
net_listen(int32_t fd)
{
    SE_FAULT_CHECK(SE_FAULT_NET_LISTEN);
    return listen(fd, SE_LISTEN_BACKLOG) < 0 ? -errno : 0;
}

static int
net_resolve(const char *host, int socktype, struct sockaddr_storage *ss, socklen_t *len)
{
    SE_FAULT_CHECK(SE_FAULT_NET_RESOLVE);
    struct addrinfo hints = {.ai_socktype = socktype, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0) return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Mode and owner of a unix socket's path (before anyone may connect). */
static int
net_unix_perms(const struct se_listen_addr *a)
{
    SE_FAULT_CHECK(SE_FAULT_NET_CHMOD);
    /* never through a link someone put at the path since the bind */
    if (a->mode >= 0 && fchmodat(AT_FDCWD, a->path, (mode_t)a->mode, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (a->owner[0] == '\0' && a->group[0] == '\0') return 0;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    char buf[16384];
    char *end = NULL;
    if (a->owner[0] != '\0') {
        struct passwd pw, *res = NULL;
        unsigned long v = strtoul(a->owner, &end, 10);
        if (*end == '\0')
            uid = (uid_t)v;
        else if (getpwnam_r(a->owner, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
            uid = pw.pw_uid;
        else
            return -ENOENT;
    }
    if (a->group[0] != '\0') {
        struct group gr, *res = NULL;
        unsigned long v = strtoul(a->group, &end, 10);
        if (*end == '\0')
            gid = (gid_t)v;
        else if (getgrnam_r(a->group, &gr, buf, sizeof buf, &res) == 0 && res != NULL)
            gid = gr.gr_gid;
        else
            return -ENOENT;
    }
    return fchownat(AT_FDCWD, a->path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* ---- opening one address ------------------------------------------------ */

/* The socket address of HOST:PORT: "*" is every address (IPv6 and IPv4 on
 * one socket where the host has IPv6), a literal is taken as is, a name is
 * resolved once, here. */
static int
inet_sockaddr(const struct se_listen_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (strcmp(a->host, "*") == 0) {
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_any;
        *len = sizeof *in6;
    } else if (inet_pton(AF_INET, a->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        *len = sizeof *in4;
    } else if (inet_pton(AF_INET6, a->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        *len = sizeof *in6;
    } else {
        int rc = net_resolve(a->host, a->kind == SE_LISTEN_UDP ? SOCK_DGRAM : SOCK_STREAM, ss, len);
        if (rc < 0) return rc;
    }
    if (ss->ss_family == AF_INET6)
        in6->sin6_port = htons(a->port);
    else
        in4->sin_port = htons(a->port);
    return 0;
}

int
se__net_inet_open(const struct se_listen_addr *a, bool reuseport, int32_t *out)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int rc = inet_sockaddr(a, &ss, &len);
    if (rc < 0) return rc;
    int type = a->kind == SE_LISTEN_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int32_t fd = -1;
    rc = net_socket(ss.ss_family, type, &fd);
    if (rc == -EAFNOSUPPORT && strcmp(a->host, "*") == 0) { /* no IPv6 here: IPv4 any */
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        *in4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(a->port)};
        len = sizeof *in4;
        rc = net_socket(AF_INET, type, &fd);
    }
    if (rc < 0) return rc;
    if (ss.ss_family == AF_INET6)
        rc = net_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, strcmp(a->host, "*") != 0);
    if (rc == 0 && type == SOCK_STREAM) rc = net_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && reuseport) rc = net_setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0) rc = net_bind(fd, (struct sockaddr *)&ss, len);
    if (rc == 0 && type == SOCK_STREAM) rc = net_listen(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* A stale socket file (left by a process that died) is removed; anything
 * else at the path is left alone and bind reports EADDRINUSE. */
static int
unix_open(const struct se_listen_addr *a, int type, int32_t *out)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    SE_ASSERT(strlen(a->path) < sizeof sun.sun_path);
    memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
    struct stat st;
    if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(a->path);
    int32_t fd = -1;
    int rc = net_socket(AF_UNIX, type, &fd);
    if (rc < 0) return rc;
    rc = net_bind(fd, (struct sockaddr *)&sun, sizeof sun);
    if (rc == 0) rc = net_unix_perms(a);
    if (rc == 0 && type != SOCK_DGRAM) rc = net_listen(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int
se__net_unix_listen(const struct se_listen_addr *a, int32_t *out)
{
    return unix_open(a, SOCK_SEQPACKET, out); /* one message per line, never merged */
}

/* ---- the set: opened, or adopted from our own activation ---------------- */

/* Our own LISTEN_PID and LISTEN_FDS: the sockets at 3.. are ours to keep.
 * The variables are removed so that no child takes them for its own. */
static int
adopt(struct se_listen_set *set, char *err, size_t err_size)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (pid == NULL || fds == NULL || atol(pid) != (long)getpid()) return 0;
    long n = atol(fds);
    if (n <= 0) return 0;
    if (n > (long)SE_LISTEN_MAX) {
        snprintf(err, err_size, "LISTEN_FDS=%ld: at most %u sockets", n, SE_LISTEN_MAX);
        return SE_ELIMIT;
    }
    const char *names = getenv("LISTEN_FDNAMES");
    for (long i = 0; i < n; i++) {
        int32_t fd = SE_LISTEN_FD_FIRST + (int32_t)i;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            snprintf(err, err_size, "LISTEN_FDS: descriptor %d is not a socket", fd);
            return SE_ECONFIG;
        }
        set->fds[i] = fd;
        size_t len = names != NULL ? strcspn(names, ":") : 0;
        if (len == 0 || len >= sizeof set->names[i])
            snprintf(set->names[i], sizeof set->names[i], "fd%d", fd);
        else
            memcpy(set->names[i], names, len), set->names[i][len] = '\0';
        if (names != NULL) names = names[len] == ':' ? names + len + 1 : names + len;
        set->count = (uint32_t)i + 1;
    }
    set->adopted = true;
    unsetenv("LISTEN_PID"), unsetenv("LISTEN_FDS"), unsetenv("LISTEN_FDNAMES");
    return 1;
}

static int
open_one(struct se_listen_set *set, const char *text, char *err, size_t err_size)
{
    struct se_listen_addr a;
    char why[SE_PATH_MAX + 64];
    int rc = se__listen_parse(text, &a, why, sizeof why);
    if (rc < 0) {
        snprintf(err, err_size, "listen: %s", why);
        return SE_ECONFIG;
    }
    uint32_t i = set->count;
    int32_t fd = -1;
    if (a.kind == SE_LISTEN_UNIX)
        rc = unix_open(&a, SOCK_STREAM, &fd);
    else
        rc = se__net_inet_open(&a, false, &fd);
    if (rc < 0) {
        snprintf(err, err_size, "listen %s: %s", text, se_strerror(rc));
        return rc;
    }
    set->fds[i] = fd;
    snprintf(set->names[i], sizeof set->names[i], "%s", text);
    if (a.kind == SE_LISTEN_UNIX) memcpy(set->unlink_path[i], a.path, sizeof a.path);
    set->count = i + 1;
    return 0;
}

int
se__listen_open(struct se_listen_set *set, const struct se_config *cfg, char *err, size_t err_size)
{
    memset(set, 0, sizeof *set);
    set->owner_pid = (int32_t)getpid();
    int rc = adopt(set, err, err_size);
    for (uint32_t i = 0; rc == 0 && i < cfg->listen_count; i++)
        rc = open_one(set, cfg->listen[i], err, err_size);
    if (rc < 0) se__listen_close(set);
    return rc < 0 ? rc : 0;
}

void
se__listen_close(struct se_listen_set *set)
{
    bool owner = set->owner_pid == (int32_t)getpid();
    for (uint32_t i = 0; i < set->count; i++) {
        if (set->fds[i] >= 0) close(set->fds[i]);
        if (owner && set->unlink_path[i][0] != '\0') unlink(set->unlink_path[i]);
        set->fds[i] = -1;
    }
    set->count = 0;
}

/* ---- a spawned child's layout ------------------------------------------- */

static int
net_dup_above(int32_t fd, int32_t min, int32_t *out)
{
    SE_FAULT_CHECK(SE_FAULT_NET_DUP);
    int d = fcntl(fd, F_DUPFD_CLOEXEC, min);
    if (d < 0) return -errno;
    *out = d;
    return 0;
}

int
se__net_place_fds(const int32_t *fds, uint32_t n)
{
    SE_ASSERT(n <= SE_LISTEN_MAX);
    int32_t tmp[SE_LISTEN_MAX];
    int32_t above = SE_LISTEN_FD_FIRST + (int32_t)n;
    int rc = 0;
    uint32_t made = 0;
    /* first every socket goes above the targets, so that placing one never
     * overwrites another still waiting to move */
    for (; rc == 0 && made < n; made++) {
        tmp[made] = -1;
        rc = net_dup_above(fds[made], above, &tmp[made]);
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        int r;
        do {
            r = dup2(tmp[i], SE_LISTEN_FD_FIRST + (int)i); /* the copy has no close-on-exec */
        } while (r < 0 && errno == EINTR);
        if (r < 0) rc = -errno;
    }
    for (uint32_t i = 0; i < made; i++) {
        if (tmp[i] >= 0) close(tmp[i]);
    }
    return rc;
}

/* ---- the SocketManager's calls ------------------------------------------ */

int
se__net_local_port(int32_t fd, uint16_t *port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
    if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else
        return -EAFNOSUPPORT;
    return 0;
}

int
se__net_accept(int32_t lfd, int32_t *out)
{
    SE_FAULT_CHECK(SE_FAULT_NET_ACCEPT);
    int c;
    do {
        c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    if (c < 0) return -errno;
    /* one request per connection: a peer that does not send it within a
     * second is dropped, the loop is never held longer */
    struct timeval tv = {.tv_sec = 1};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    *out = c;
    return 0;
}

int
se__net_peer_allowed(int32_t fd, uint32_t *uid)
{
    SE_FAULT_CHECK(SE_FAULT_NET_PEERCRED);
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -errno;
    *uid = (uint32_t)cred.uid;
    return se__peer_uid_allowed((uint32_t)cred.uid, (uint32_t)getuid()) ? 1 : 0;
}

int
se__net_peer_cred(int32_t fd, int32_t *pid, uint32_t *uid)
{
    SE_FAULT_CHECK(SE_FAULT_NET_PEERCRED);
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -errno;
    *pid = (int32_t)cred.pid;
    *uid = (uint32_t)cred.uid;
    return 0;
}

int
se__net_send_bytes(int32_t fd, const void *buf, size_t len)
{
    SE_FAULT_CHECK(SE_FAULT_NET_SENDMSG);
    ssize_t n;
    do {
        n = send(fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

int
se__net_unix_connect(const char *path, int32_t *out)
{
    SE_FAULT_CHECK(SE_FAULT_NET_CONNECT);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) return -ENAMETOOLONG;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    *out = fd;
    return 0;
}

int
se__net_send_line(int32_t fd, const char *line, int32_t pass_fd)
{
    SE_FAULT_CHECK(SE_FAULT_NET_SENDMSG);
    struct iovec iov = {.iov_base = (void *)line, .iov_len = strlen(line)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    return (size_t)n == iov.iov_len ? 0 : -EIO;
}

/* One message: a line and its descriptor (a SOCK_SEQPACKET socket keeps
 * each message whole and apart). */
int
se__net_recv_line(int32_t fd, char *buf, size_t size, int32_t *got_fd)
{
    *got_fd = -1;
    SE_FAULT_CHECK(SE_FAULT_NET_RECVMSG);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    do {
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(got_fd, CMSG_DATA(c), sizeof(int));
    }
    buf[n] = '\0';
    return n == 0 ? -EPIPE : (int)n;
}

int
se__net_datagram_send(const char *path, const char *msg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len);
    int rc = r < 0 ? -errno : 0;
    close(fd);
    return rc;
}
