/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sockmgr.h: the SocketManager (README, "The SocketManager"): a unix socket
 * in the server through which workers, forked or spawned, ask for a
 * listening TCP or bound UDP socket and get it by descriptor passing.
 *
 * The protocol, one request per connection, lines of at most
 * SE_SOCKMGR_LINE_MAX bytes:
 *   "LISTEN tcp HOST PORT\n"   a listening TCP socket (HOST: IPv4, IPv6, *)
 *   "LISTEN udp HOST PORT\n"   a bound UDP socket
 * with "reuseport" as a fifth word when the client wants a socket of its
 * own (SO_REUSEPORT); the answer is "OK\n" with the descriptor attached, or
 * "ERR ERRNO\n". "TAKEOVER\n" asks for every socket the server holds: one
 * "SOCKET tcp|udp HOST PORT\n" line with its descriptor each, then "END\n".
 *
 * sockmgr_proto.c parses the lines (pure, fuzzed); sockmgr.c serves them
 * from the server's loop; the calls are the adapter's (os_posix_net.c).
 */
#ifndef SE_SOCKMGR_H
#define SE_SOCKMGR_H

#include "listen.h"
#include "se_int.h"

#define SE_SOCKMGR_LINE_MAX    512u /* one request or answer line */
#define SE_SOCKMGR_SOCKETS_MAX 64u  /* distinct addresses one server holds */

enum se_sockmgr_op {
    SE_SOCKMGR_LISTEN = 1,
    SE_SOCKMGR_TAKEOVER,
    SE_SOCKMGR_SOCKET,
    SE_SOCKMGR_END
};

struct se_sockmgr_req {
    enum se_sockmgr_op op;
    enum se_listen_kind kind; /* SE_LISTEN_TCP or SE_LISTEN_UDP */
    char host[SE_LISTEN_HOST_MAX];
    uint16_t port;
    bool reuseport;
};

/*
 * Parses one line of buf[0..len) (the newline included). Returns the
 * length consumed (> 0) with *req filled, 0 when no whole line is there
 * yet, or -EINVAL (a malformed line) / -EMSGSIZE (no newline within
 * SE_SOCKMGR_LINE_MAX bytes). Pure: reads nothing past len.
 */
int se__sockmgr_parse(const char *buf, size_t len, struct se_sockmgr_req *req);

/* Formats req as its line ("SOCKET"/"LISTEN" with the address), NUL-ended.
 * Returns the length, or -ENOSPC. */
int se__sockmgr_format(const struct se_sockmgr_req *req, char *buf, size_t size);

struct se_sockmgr_entry {
    struct se_sockmgr_req addr;
    int32_t fd;
};

struct se_sockmgr {
    int32_t lfd; /* the unix socket the server listens on, or -1 */
    char path[SE_LISTEN_UNIX_MAX];
    bool reuseport; /* SERVERENGINE_USE_SOCKET_REUSEPORT=1 */
    uint32_t count;
    struct se_sockmgr_entry sockets[SE_SOCKMGR_SOCKETS_MAX];
    uint32_t refused; /* peers of another uid */
};

/* The server side (sockmgr.c). start: listens on a new 0600 unix socket in
 * SERVERENGINE_SOCKETMANAGER_SOCK_DIR or /tmp and sets
 * SERVERENGINE_SOCKETMANAGER_PATH for the workers. serve: answers one
 * client (call when lfd is readable); log lines go to lg. stop: closes
 * everything and removes the path. */
int se__sockmgr_start(struct se_sockmgr *sm);
void se__sockmgr_serve(struct se_sockmgr *sm, struct se_logger *lg);
void se__sockmgr_stop(struct se_sockmgr *sm);
/* Takes over every socket of the SocketManager at path into sm's table
 * (se_server_share_sockets_with_another_server). Returns 0 or -errno. */
int se__sockmgr_takeover(struct se_sockmgr *sm, const char *path);

/* os_posix_net.c: the SocketManager's calls. */
int se__net_accept(int32_t lfd, int32_t *out);
/* The port a bound socket has (the one the kernel chose for port 0). */
int se__net_local_port(int32_t fd, uint16_t *port);
/* The peer's uid into *uid; returns 1 when it is ours or root, 0 when not,
 * or -errno. */
int se__net_peer_allowed(int32_t fd, uint32_t *uid);

/* Who may use a unix socket the engine serves: root, and the user the
 * process runs as (its real uid). */
static inline bool
se__peer_uid_allowed(uint32_t peer_uid, uint32_t own_uid)
{
    return peer_uid == 0 || peer_uid == own_uid;
}
int se__net_unix_connect(const char *path, int32_t *out);
/* One line with at most one descriptor (fd -1: none). */
int se__net_send_line(int32_t fd, const char *line, int32_t pass_fd);
/* Reads one message: its bytes into buf (NUL-ended) and the descriptor
 * that came with it, or -1. Returns the length or -errno (-EPIPE at EOF). */
int se__net_recv_line(int32_t fd, char *buf, size_t size, int32_t *got_fd);

#endif /* SE_SOCKMGR_H */
