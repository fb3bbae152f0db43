/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.c: a running server's status (status.h): the snapshot of the
 * driver's machines, the unix socket that serves it from the server's loop
 * (one request per connection, no thread of its own, as the SocketManager
 * in sockmgr.c), and the client, se_status_read. The formatting is pure and
 * lives in status_fmt.c. The socket calls are the adapter's
 * (os_posix_net.c); the path's identity check and removal are here, as the
 * SocketManager removes its own path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "listen.h"
#include "sockmgr.h"
#include "status.h"

/* A client that reads nothing holds the loop this long at most. */
#define STATUS_SEND_MS_MAX 1000

/* ---- the snapshot -------------------------------------------------------- */

/* The age of a slot's last beat: the child's stamp read now (a load from
 * shared memory: no worker is woken), or the machine's record of it. */
static int64_t
beat_age_ms(const struct se_driver *d, const struct se_drv_slot *s, int64_t now_ms)
{
    if (s->child == 0 || !s->hb_on) return -1;
    int64_t last = s->hb.last_beat_ms, stamp = 0;
    if (d->os->beat_stamp(d->os->ctx, s->child, &stamp) == 0 && stamp > last) last = stamp;
    return last < now_ms ? now_ms - last : 0;
}

static void
snapshot_one(const struct se_driver *d, uint32_t i, int64_t now_ms, struct se_status_worker *w)
{
    const struct se_slot *ps = &d->pool.slots[i];
    const struct se_drv_slot *s = &d->slots[i];
    bool stopping = d->pool.phase == SE_POOL_STOP || d->pool.phase == SE_POOL_DONE;
    *w = (struct se_status_worker){.id = i, .uptime_ms = -1, .beat_age_ms = -1};
    w->state = se__status_state(ps, stopping, now_ms, &w->backoff_ms);
    w->stop_immediate = ps->state == SE_SLOT_STOPPING && !ps->stop_graceful;
    if (s->child != 0) {
        w->pid = s->pid;
        bool up = ps->state == SE_SLOT_UP || ps->state == SE_SLOT_STOPPING;
        w->uptime_ms = up && now_ms > ps->up_since_ms ? now_ms - ps->up_since_ms : 0;
    }
    w->restarts = s->starts > 0 ? s->starts - 1 : 0;
    w->ended = s->ended;
    w->last_code = s->last_exit.code;
    w->last_sig = s->last_exit.sig;
    w->last_sig_raw = s->last_exit.sig_raw;
    w->last_sig_ours = s->last_exit_sig_ours;
    w->beat_age_ms = beat_age_ms(d, s, now_ms);
}

void
se__status_snapshot(const struct se_driver *d, int64_t now_ms, struct se_status *st)
{
    SE_ASSERT(d->role == SE_ROLE_SERVER);
    uint32_t wanted = d->pool_cfg.workers;
    /* the wanted ids, and any above them still alive (being scaled down) */
    uint32_t n = wanted;
    for (uint32_t i = wanted; i < d->pool.slots_count && i < SE_WORKERS_MAX; i++) {
        if (d->slots[i].child != 0 || d->pool.slots[i].state != SE_SLOT_DOWN) n = i + 1;
    }
    st->workers_wanted = wanted;
    st->stopping = d->pool.phase == SE_POOL_STOP || d->pool.phase == SE_POOL_DONE;
    st->reloads = d->reloads;
    st->reload_age_ms = d->reloads > 0 ? now_ms - d->reloaded_ms : -1;
    st->count = n;
    for (uint32_t i = 0; i < n; i++)
        snapshot_one(d, i, now_ms, &st->w[i]);
}

/* ---- the socket --------------------------------------------------------- */

int
se__status_listen(struct se_status_sock *sock, const char *pid_path, int32_t top_pid,
                  const char *owner, const char *group)
{
    const char *dir = getenv("SERVERENGINE_STATUS_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    struct se_listen_addr a = {.kind = SE_LISTEN_UNIX, .mode = 0600};
    *sock = (struct se_status_sock){.fd = -1};
    int rc = se__status_path(pid_path, top_pid, dir, a.path, sizeof a.path);
    if (rc < 0) return rc;
    memcpy(sock->path, a.path, strlen(a.path) + 1);
    snprintf(a.owner, sizeof a.owner, "%s", owner != NULL ? owner : "");
    snprintf(a.group, sizeof a.group, "%s", group != NULL ? group : "");
    /* a stale socket at the path (an instance that died) is replaced;
     * anything else there is left alone and the bind fails */
    rc = se__net_unix_listen(&a, &sock->fd);
    if (rc < 0) return rc;
    struct stat st;
    if (lstat(sock->path, &st) == 0) sock->dev = st.st_dev, sock->ino = st.st_ino;
    sock->open = true;
    return 0;
}

void
se__status_unlisten(struct se_status_sock *sock)
{
    if (!sock->open) return;
    close(sock->fd);
    sock->open = false;
    sock->fd = -1;
    /* only while the path is still this socket (after a privilege drop the
     * directory may refuse: the next start replaces the stale socket) */
    struct stat st;
    if (lstat(sock->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == sock->dev &&
        st.st_ino == sock->ino)
        unlink(sock->path);
}

/* ---- the server side ------------------------------------------------------ */

struct se_status_srv *
se__status_new(int32_t lfd, int32_t server_pid, int32_t supervisor_pid, const char *config,
               uint32_t overrides, int64_t now_ms)
{
    struct se_status_srv *ss = calloc(1, sizeof *ss);
    if (ss == NULL) return NULL;
    ss->lfd = lfd;
    ss->snap.server_pid = server_pid;
    ss->snap.supervisor_pid = supervisor_pid;
    snprintf(ss->snap.config, sizeof ss->snap.config, "%s", config);
    ss->snap.overrides = overrides;
    ss->started_ms = now_ms;
    return ss;
}

void
se__status_free(struct se_status_srv *ss)
{
    free(ss); /* the socket is the engine's (se__status_unlisten) */
}

/* Sends the answer in messages of SE_STATUS_CHUNK bytes; gives up on a
 * client that does not read (each send waits 1 s at most: se__net_accept). */
static void
send_text(const struct se_driver *d, int32_t c, const char *text, size_t len)
{
    int64_t until = d->os->monotonic_ms(d->os->ctx) + STATUS_SEND_MS_MAX;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < SE_STATUS_CHUNK ? len - off : SE_STATUS_CHUNK;
        if (se__net_send_bytes(c, text + off, n) < 0) return;
        off += n;
        if (d->os->monotonic_ms(d->os->ctx) > until) return;
    }
}

/* The answer of now into ss->text; its length. */
static int
status_now(struct se_status_srv *ss, const struct se_driver *d, bool json)
{
    int64_t now_ms = d->os->monotonic_ms(d->os->ctx);
    ss->snap.now_s = d->os->realtime_us(d->os->ctx) / 1000000;
    ss->snap.up_ms = now_ms - ss->started_ms;
    se__status_snapshot(d, now_ms, &ss->snap);
    int len = se__status_format(&ss->snap, json, ss->text, sizeof ss->text);
    SE_ASSERT(len >= 0); /* SE_STATUS_TEXT_MAX holds any answer */
    return len;
}

void
se__status_serve(struct se_status_srv *ss, const struct se_driver *d, struct se_logger *lg)
{
    int32_t c = -1;
    if (se__net_accept(ss->lfd, &c) < 0) return; /* EAGAIN or a fault: the client retries */
    uint32_t uid = 0;
    int ok = se__net_peer_allowed(c, &uid);
    if (ok <= 0) {
        ss->refused++;
        se_log_warn(lg, "Status: refused a peer of uid %u (not ours, not root)",
                    ok < 0 ? (unsigned)-1 : (unsigned)uid);
        close(c);
        return;
    }
    char req[SE_STATUS_REQ_MAX];
    int32_t junk = -1;
    int n = se__net_recv_line(c, req, sizeof req, &junk);
    if (junk >= 0) close(junk); /* a client passes no descriptor */
    bool json = n > 0 && strcmp(req, "STATUS json\n") == 0;
    if (n <= 0 || (!json && strcmp(req, "STATUS\n") != 0)) {
        se_log_warn(lg, "Status: a malformed request (%s)", n < 0 ? se_strerror(n) : "unknown");
        close(c);
        return;
    }
    int len = status_now(ss, d, json);
    send_text(d, c, ss->text, (size_t)len);
    close(c);
}

const char *
se__status_text(struct se_status_srv *ss, const struct se_driver *d)
{
    (void)status_now(ss, d, false);
    return ss->text;
}
