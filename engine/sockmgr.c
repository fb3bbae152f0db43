/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sockmgr.c: the SocketManager (sockmgr.h): the server side, served from
 * the server's loop one client at a time (no thread of its own), and the
 * client workers call. Ruby ServerEngine's SocketManager::Server/Client,
 * share_sockets_with_another_server included. Never a system call here:
 * the adapter's (os_posix_net.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "sockmgr.h"

#define ENV_PATH      "SERVERENGINE_SOCKETMANAGER_PATH"
#define ENV_DIR       "SERVERENGINE_SOCKETMANAGER_SOCK_DIR"
#define ENV_REUSEPORT "SERVERENGINE_USE_SOCKET_REUSEPORT"

/* ---- the server side ---------------------------------------------------- */

int
se__sockmgr_start(struct se_sockmgr *sm)
{
    memset(sm, 0, sizeof *sm);
    sm->lfd = -1;
    const char *dir = getenv(ENV_DIR);
    if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    const char *rp = getenv(ENV_REUSEPORT);
    sm->reuseport = rp != NULL && strcmp(rp, "1") == 0;
    struct se_listen_addr a = {.kind = SE_LISTEN_UNIX, .mode = 0600};
    /* the pid and the object: two managers of one process never share a path */
    int n = snprintf(a.path, sizeof a.path, "%s/serverengine-sockmgr-%d-%lx.sock", dir,
                     (int)getpid(), (unsigned long)((uintptr_t)sm >> 4 & 0xffffffu));
    if (n < 0 || (size_t)n >= sizeof a.path) return -ENAMETOOLONG;
    int rc = se__net_unix_listen(&a, &sm->lfd);
    if (rc < 0) return rc;
    memcpy(sm->path, a.path, sizeof sm->path);
    setenv(ENV_PATH, sm->path, 1); /* forked and spawned workers inherit it */
    return 0;
}

void
se__sockmgr_stop(struct se_sockmgr *sm)
{
    for (uint32_t i = 0; i < sm->count; i++)
        close(sm->sockets[i].fd);
    sm->count = 0;
    if (sm->lfd >= 0) {
        close(sm->lfd);
        unlink(sm->path);
    }
    sm->lfd = -1;
}

static bool
same_address(const struct se_sockmgr_req *a, const struct se_sockmgr_req *b)
{
    return a->kind == b->kind && a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* The socket for req: the one already held for the address, or a new one
 * (kept for the next request). With reuseport, a new one every time. */
static int
socket_for(struct se_sockmgr *sm, const struct se_sockmgr_req *req, int32_t *fd, bool *owned)
{
    bool reuse = sm->reuseport && req->reuseport;
    for (uint32_t i = 0; !reuse && i < sm->count; i++) {
        if (same_address(&sm->sockets[i].addr, req)) {
            *fd = sm->sockets[i].fd, *owned = false;
            return 0;
        }
    }
    struct se_listen_addr a = {.kind = req->kind, .port = req->port, .mode = -1};
    memcpy(a.host, req->host, sizeof a.host);
    int rc = se__net_inet_open(&a, sm->reuseport, fd);
    if (rc < 0) return rc;
    *owned = reuse;
    if (reuse) return 0;
    if (sm->count == SE_SOCKMGR_SOCKETS_MAX) {
        close(*fd);
        return -ENOSPC;
    }
    /* kept under the port it has: port 0 asked for any, the next request
     * names the one it got */
    struct se_sockmgr_entry *e = &sm->sockets[sm->count++];
    *e = (struct se_sockmgr_entry){.addr = *req, .fd = *fd};
    (void)se__net_local_port(*fd, &e->addr.port);
    return 0;
}

static void
takeover(struct se_sockmgr *sm, int32_t c)
{
    char line[SE_SOCKMGR_LINE_MAX];
    for (uint32_t i = 0; i < sm->count; i++) {
        struct se_sockmgr_req r = sm->sockets[i].addr;
        r.op = SE_SOCKMGR_SOCKET;
        if (se__sockmgr_format(&r, line, sizeof line) < 0) continue;
        if (se__net_send_line(c, line, sm->sockets[i].fd) < 0) return;
    }
    (void)se__net_send_line(c, "END\n", -1);
}

static void
answer(struct se_sockmgr *sm, int32_t c, const struct se_sockmgr_req *req, struct se_logger *lg)
{
    int32_t fd = -1;
    bool owned = false;
    int rc = socket_for(sm, req, &fd, &owned);
    if (rc < 0) {
        char line[32];
        snprintf(line, sizeof line, "ERR %d\n", -rc);
        (void)se__net_send_line(c, line, -1);
        se_log_warn(lg, "SocketManager: %s %s:%u: %s", req->kind == SE_LISTEN_UDP ? "udp" : "tcp",
                    req->host, (unsigned)req->port, se_strerror(rc));
        return;
    }
    (void)se__net_send_line(c, "OK\n", fd);
    if (owned) close(fd); /* the worker's own reuseport socket: it holds it now */
}

void
se__sockmgr_serve(struct se_sockmgr *sm, struct se_logger *lg)
{
    int32_t c = -1;
    if (se__net_accept(sm->lfd, &c) < 0) return; /* EAGAIN or a fault: the peer retries */
    uint32_t uid = 0;
    int ok = se__net_peer_allowed(c, &uid);
    if (ok <= 0) {
        sm->refused++;
        se_log_warn(lg, "SocketManager: refused a peer of uid %u (not ours, not root)",
                    ok < 0 ? (unsigned)-1 : (unsigned)uid);
        close(c);
        return;
    }
    char buf[SE_SOCKMGR_LINE_MAX + 1];
    int32_t junk = -1;
    int n = se__net_recv_line(c, buf, sizeof buf, &junk);
    if (junk >= 0) close(junk); /* a client passes no descriptor */
    struct se_sockmgr_req req;
    int rc = n > 0 ? se__sockmgr_parse(buf, (size_t)n, &req) : n;
    if (rc > 0 && req.op == SE_SOCKMGR_LISTEN)
        answer(sm, c, &req, lg);
    else if (rc > 0 && req.op == SE_SOCKMGR_TAKEOVER)
        takeover(sm, c);
    else
        se_log_warn(lg, "SocketManager: a malformed request (%s)",
                    se_strerror(rc <= 0 ? (rc < 0 ? rc : -EINVAL) : -EINVAL));
    close(c);
}

/* ---- the client --------------------------------------------------------- */

static int
request(const char *path, const struct se_sockmgr_req *req, int *fd)
{
    if (path == NULL) path = getenv(ENV_PATH);
    if (path == NULL || path[0] == '\0') return -ENOENT;
    char line[SE_SOCKMGR_LINE_MAX];
    int rc = se__sockmgr_format(req, line, sizeof line);
    if (rc < 0) return rc;
    int32_t c = -1, got = -1;
    rc = se__net_unix_connect(path, &c);
    if (rc == 0) rc = se__net_send_line(c, line, -1);
    if (rc == 0) rc = se__net_recv_line(c, line, sizeof line, &got);
    if (c >= 0) close(c);
    if (rc < 0) return rc;
    if (strcmp(line, "OK\n") == 0 && got >= 0) {
        *fd = got;
        return 0;
    }
    if (got >= 0) close(got);
    int err = strncmp(line, "ERR ", 4) == 0 ? atoi(line + 4) : EPROTO;
    return err > 0 ? -err : -EPROTO;
}

static int
client_listen(enum se_listen_kind kind, const char *host, uint16_t port, int *fd)
{
    struct se_sockmgr_req req = {.op = SE_SOCKMGR_LISTEN, .kind = kind, .port = port};
    if (host == NULL || strlen(host) >= sizeof req.host) return -EINVAL;
    memcpy(req.host, host, strlen(host) + 1);
    const char *rp = getenv(ENV_REUSEPORT);
    req.reuseport = rp != NULL && strcmp(rp, "1") == 0;
    return request(NULL, &req, fd);
}

int
se_socket_manager_listen_tcp(const char *host, uint16_t port, int *fd)
{
    return client_listen(SE_LISTEN_TCP, host, port, fd);
}

int
se_socket_manager_listen_udp(const char *host, uint16_t port, int *fd)
{
    return client_listen(SE_LISTEN_UDP, host, port, fd);
}

/* Reads the old server's SOCKET lines into our table until END. */
static int
take_all(struct se_sockmgr *sm, int32_t c)
{
    for (;;) {
        char line[SE_SOCKMGR_LINE_MAX + 1];
        int32_t fd = -1;
        int n = se__net_recv_line(c, line, sizeof line, &fd);
        struct se_sockmgr_req r;
        int rc = n > 0 ? se__sockmgr_parse(line, (size_t)n, &r) : n;
        if (rc > 0 && r.op == SE_SOCKMGR_END) return 0;
        if (rc <= 0 || r.op != SE_SOCKMGR_SOCKET || fd < 0 || sm->count == SE_SOCKMGR_SOCKETS_MAX) {
            if (fd >= 0) close(fd);
            return rc < 0 ? rc : -EPROTO;
        }
        r.op = SE_SOCKMGR_LISTEN;
        r.reuseport = false;
        sm->sockets[sm->count++] = (struct se_sockmgr_entry){.addr = r, .fd = fd};
    }
}

int
se__sockmgr_takeover(struct se_sockmgr *sm, const char *path)
{
    int32_t c = -1;
    int rc = se__net_unix_connect(path, &c);
    if (rc == 0) rc = se__net_send_line(c, "TAKEOVER\n", -1);
    if (rc == 0) rc = take_all(sm, c);
    if (c >= 0) close(c);
    return rc;
}

int
se_server_share_sockets_with_another_server(struct se_server *s, const char *path)
{
    if (s->sockmgr == NULL || path == NULL) return SE_ESTATE;
    return se__sockmgr_takeover(s->sockmgr, path);
}

const char *
se_server_socket_manager_path(const struct se_server *s)
{
    return s->sockmgr != NULL ? s->sockmgr->path : NULL;
}
