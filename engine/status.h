/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h: what an operator asks a running server (README, "The
 * serverengine tool"; serverengine(1), status; serverengine(3), STATUS):
 * per worker its id, pid, state, uptime, restarts, last exit and the age of
 * its last heartbeat, and the server's pids, configuration source and last
 * reload.
 *
 * Three parts, one reason to change each:
 *   status_fmt.c  pure: a worker slot's state from the pool's, and a
 *                 snapshot (struct se_status) as a table or as JSON;
 *   status.c      the socket, the snapshot taken from the driver's
 *                 machines (no worker is woken: a heartbeat stamp is a load
 *                 from shared memory) and the answer served from the
 *                 server's loop, one request per connection, as the
 *                 SocketManager does;
 *   status_client.c  se_status_read.
 *
 * The socket: PIDFILE.status beside the pid file when there is one, else
 * serverengine-status-PID.sock in SERVERENGINE_STATUS_DIR (or /tmp), PID
 * the process an operator signals (the supervisor's with `supervisor:
 * true`). That process binds it before it gives up its privileges (mode
 * 0600, owned by `chuser`), so a pid file in a directory only root may
 * write still gets one, and every server it starts inherits it: a server
 * restarted after a crash serves on the same socket. During a detach the
 * old and the new server both hold it until the old one ends: either may
 * answer, and server_pid says which. The path is removed at exit while it
 * is still this socket (the same inode), never a later instance's.
 *
 * The wire format: the client sends one SOCK_SEQPACKET message, "STATUS\n"
 * (the table) or "STATUS json\n"; the server answers with the text in
 * messages of at most SE_STATUS_CHUNK bytes and closes. A peer that is not
 * the server's user or root gets no answer.
 */
#ifndef SE_STATUS_H
#define SE_STATUS_H

#include "se_int.h"
#include "sm_workers.h"

/* One worker's row, table or JSON, at most (a row is about 150 bytes). */
#define SE_STATUS_ROW_MAX 320u
/* The head: the configuration path escaped (6 bytes a byte at worst). */
#define SE_STATUS_HEAD_MAX (6u * SE_PATH_MAX + 1024u)
/* A whole answer, at most. */
#define SE_STATUS_TEXT_MAX (SE_STATUS_HEAD_MAX + SE_WORKERS_MAX * SE_STATUS_ROW_MAX)
/* One message of the answer. */
#define SE_STATUS_CHUNK 16384u
/* A request line, at most. */
#define SE_STATUS_REQ_MAX 64u

enum se_status_state {
    SE_STATUS_WAITING = 0, /* no process; starts at its turn (start_worker_delay) */
    SE_STATUS_STARTING,    /* being started */
    SE_STATUS_RUNNING,     /* running */
    SE_STATUS_STOPPING,    /* asked to stop, not yet ended */
    SE_STATUS_BACKOFF,     /* no process; restarted in backoff_ms */
    SE_STATUS_DEAD,        /* ended with an unrecoverable exit code: never restarted */
    SE_STATUS_STOPPED,     /* no process; the server is stopping */
};

struct se_status_worker {
    uint32_t id;
    int32_t pid; /* 0: no process */
    enum se_status_state state;
    bool stop_immediate; /* STOPPING: an immediate stop was asked */
    int64_t uptime_ms;   /* -1: no process */
    int64_t backoff_ms;  /* BACKOFF: the restart is this far away */
    uint32_t restarts;   /* starts after the first */
    bool ended;          /* a previous process ended: last_* say how */
    int32_t last_code;   /* its exit status, or -1 when a signal ended it */
    enum se_sig last_sig;
    int32_t last_sig_raw; /* the number, for SE_SIG_OTHER */
    bool last_sig_ours;   /* the engine sent that signal */
    int64_t beat_age_ms;  /* -1: not judged by heartbeat */
};

struct se_status {
    int32_t server_pid;
    int32_t supervisor_pid;   /* 0: no supervisor */
    char config[SE_PATH_MAX]; /* the configuration file; "" none */
    uint32_t overrides;       /* -s KEY=VALUE given */
    int64_t now_s;            /* the wall clock, UNIX seconds */
    int64_t up_ms;            /* the server's age */
    uint32_t reloads;         /* configurations reloaded */
    int64_t reload_age_ms;    /* the last reload's age; -1: never */
    bool stopping;            /* the server is stopping */
    uint32_t workers_wanted;
    uint32_t count; /* rows in w */
    struct se_status_worker w[SE_WORKERS_MAX];
};

/* status_fmt.c (pure) */

/* The state an operator sees for pool slot ps at now_ms; *backoff_ms is
 * set for SE_STATUS_BACKOFF. */
enum se_status_state se__status_state(const struct se_slot *ps, bool pool_stopping, int64_t now_ms,
                                      int64_t *backoff_ms);

/* The state's name: "running", "backoff"... */
const char *se__status_state_name(enum se_status_state s);

/* Writes st as the table, or as one JSON object (json), NUL-ended, into buf.
 * Returns the length, or -ENOSPC when size is too small (buf then holds a
 * cut text). SE_STATUS_TEXT_MAX is always enough. */
int se__status_format(const struct se_status *st, bool json, char *buf, size_t size);

/* The socket's path: PID_PATH.status, or DIR/serverengine-status-PID.sock
 * without a pid file. Returns the length or -ENAMETOOLONG (a unix socket's
 * path is at most 107 bytes). */
int se__status_path(const char *pid_path, int32_t pid, const char *dir, char *buf, size_t size);

/* status.c: the socket, made by the process an operator signals (the
 * supervisor, or the only process) before it gives up its privileges, as
 * the `listen` sockets are, and inherited by every server it starts */

struct se_driver;
struct se_logger;

struct se_status_sock {
    bool open; /* fd is listening (all zero: none) */
    int32_t fd;
    char path[SE_PATH_MAX];
    uint64_t dev, ino; /* the path's identity once bound */
};

/* Listens at the path for pid_path ("" none) and top_pid (this process:
 * the pid an operator names), mode 0600, owned by owner and group when
 * given (chuser, chgroup: the server's user after the drop). A stale
 * socket at the path is replaced. Returns 0 or -errno (sock->path says
 * where, when known). */
int se__status_listen(struct se_status_sock *sock, const char *pid_path, int32_t top_pid,
                      const char *owner, const char *group);
/* Closes the socket and removes the path while it is still this one (a
 * later instance may have bound its own there). Idempotent. */
void se__status_unlisten(struct se_status_sock *sock);

/* The server side, in the server's loop: answers on the inherited socket
 * (borrowed: se__status_unlisten closes it). */
struct se_status_srv {
    int32_t lfd; /* the listening socket (borrowed) */
    int64_t started_ms;
    uint32_t refused; /* peers of another user */
    struct se_status snap;
    char text[SE_STATUS_TEXT_MAX];
};

/* The server side for the socket lfd: the head of every answer is
 * server_pid, supervisor_pid (0 none), config (the file, "" none),
 * overrides (-s given); now_ms: the server's start on the driver's clock.
 * NULL when out of memory. */
/* The human table of now (what `serverengine status` prints), in ss's
 * buffer: valid until the next call. For the server's sigdump. */
const char *se__status_text(struct se_status_srv *ss, const struct se_driver *d);
struct se_status_srv *se__status_new(int32_t lfd, int32_t server_pid, int32_t supervisor_pid,
                                     const char *config, uint32_t overrides, int64_t now_ms);
/* Answers one client (call when lfd is readable) from d's machines; log
 * lines (a refused peer) go to lg. */
void se__status_serve(struct se_status_srv *ss, const struct se_driver *d, struct se_logger *lg);
void se__status_free(struct se_status_srv *ss);

/* The snapshot of d's machines at now_ms into st's worker fields. */
void se__status_snapshot(const struct se_driver *d, int64_t now_ms, struct se_status *st);

/* os_posix_net.c: the peer's pid and uid; bytes sent whole (-EIO when not). */
int se__net_peer_cred(int32_t fd, int32_t *pid, uint32_t *uid);
int se__net_send_bytes(int32_t fd, const void *buf, size_t len);

#endif /* SE_STATUS_H */
