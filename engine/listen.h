/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen.h: the `listen` sockets: their addresses, the set the process that
 * outlives restarts holds, and the environment a spawned program receives
 * them with (the systemd socket-activation protocol: descriptors from 3,
 * LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).
 *
 * listen.c is pure (text in, structs out: no system call); the sockets are
 * opened, adopted and placed by the POSIX adapter (os_posix_net.c).
 */
#ifndef SE_LISTEN_H
#define SE_LISTEN_H

#include "config.h"
#include "se_int.h"

#define SE_LISTEN_HOST_MAX 256u /* a host name, an IPv4/IPv6 literal or "*" */
#define SE_LISTEN_NAME_MAX 256u /* one LISTEN_FDNAMES entry */
#define SE_LISTEN_FD_FIRST 3    /* socket activation hands sockets from fd 3 */
#define SE_LISTEN_BACKLOG  1024 /* listen(2) backlog of stream sockets */
#define SE_LISTEN_UNIX_MAX 108u /* sizeof sun_path */

enum se_listen_kind { SE_LISTEN_TCP = 1, SE_LISTEN_UDP, SE_LISTEN_UNIX };

/* One parsed address. tcp://HOST:PORT, udp://HOST:PORT (HOST: IPv4, [IPv6],
 * a name, or * for every address), unix:/path[?mode=0660&owner=U&group=G]. */
struct se_listen_addr {
    enum se_listen_kind kind;
    char host[SE_LISTEN_HOST_MAX]; /* tcp/udp: without brackets; "*" = any */
    uint16_t port;
    char path[SE_LISTEN_UNIX_MAX]; /* unix */
    int32_t mode;                  /* unix: permission bits, -1 = as the umask leaves them */
    char owner[SE_NAME_MAX];       /* unix: user name or uid, "" = unchanged */
    char group[SE_NAME_MAX];       /* unix: group name or gid, "" = unchanged */
};

/* The sockets a process holds for its workers. */
struct se_listen_set {
    uint32_t count;
    int32_t fds[SE_LISTEN_MAX];
    char names[SE_LISTEN_MAX][SE_PATH_MAX];              /* the address text, or systemd's name */
    char unlink_path[SE_LISTEN_MAX][SE_LISTEN_UNIX_MAX]; /* unix sockets we bound, or "" */
    int32_t owner_pid; /* the process that opened them (unlinks the paths at exit) */
    bool adopted;      /* they came from our own socket activation */
};

/* The three variables of socket activation, each "NAME=value". */
struct se_listen_env {
    char fds[32];
    char pid[32];
    char names[SE_LISTEN_MAX * SE_LISTEN_NAME_MAX + 32];
};

/* Parses one address of the `listen` key. Returns 0, or -EINVAL with a
 * reason in err. */
int se__listen_parse(const char *text, struct se_listen_addr *out, char *err, size_t err_size);

/* The LISTEN_FDNAMES entry of an address: its text with ':' made '-' (a
 * name may not hold the separator), cut at SE_LISTEN_NAME_MAX - 1. */
void se__listen_fdname(const char *text, char *out, size_t out_size);

/*
 * Builds the environment of a spawned program that receives the set's n
 * sockets at descriptors 3 .. 3+n-1 (see se__net_place_fds): LISTEN_FDS=n,
 * LISTEN_PID=pid (the child's own pid: call it in the child after fork) and
 * LISTEN_FDNAMES. Async-signal-safe (no allocation, no locale, no stdio).
 * Returns 0, or -EINVAL when the set is empty.
 */
int se__listen_env(const struct se_listen_set *set, int32_t pid, struct se_listen_env *env);

/* os_posix_net.c --------------------------------------------------------- */

/* Opens (or adopts, when this process was socket-activated) the sockets of
 * cfg->listen into set. Returns 0, or -errno / SE_ECONFIG with a message in
 * err naming the address; on error nothing is left open. */
int se__listen_open(struct se_listen_set *set, const struct se_config *cfg, char *err,
                    size_t err_size);

/* Closes the set's sockets; the process that bound unix sockets removes
 * their paths. */
void se__listen_close(struct se_listen_set *set);

/* In a spawned child after fork, before exec: moves the n sockets to
 * descriptors 3 .. 3+n-1, without close-on-exec, whatever descriptors they
 * had (they may overlap the targets). Async-signal-safe. Returns 0 or
 * -errno. */
int se__net_place_fds(const int32_t *fds, uint32_t n);

/* Opens a listening TCP or bound UDP socket for a tcp:// or udp:// address,
 * non-blocking and close-on-exec; with reuseport, SO_REUSEPORT is set so
 * that other sockets may bind the same port. Returns 0 or -errno. */
int se__net_inet_open(const struct se_listen_addr *a, bool reuseport, int32_t *out);

/* Opens a listening unix SOCK_SEQPACKET socket at a->path (a stale socket file is
 * replaced), with a's mode and owner. Returns 0 or -errno. */
int se__net_unix_listen(const struct se_listen_addr *a, int32_t *out);

#endif /* SE_LISTEN_H */
