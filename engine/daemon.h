/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h: becoming a daemon (serverengine(5), DAEMON KEYS), internal interface.
 *
 * Double fork and setsid with a start-up handshake, the pid file (atomic,
 * locked, stale-aware, removed on exit), dropping privileges (group before
 * user, supplementary groups replaced, verified irreversible), the umask,
 * and process names (what ps shows). OS code: every call passes its fault
 * point (faults/points.def).
 */
#ifndef SE_DAEMON_H
#define SE_DAEMON_H

#include "se_int.h"

#define SE_DAEMON_MSG_MAX 512u

struct se_daemon {
    int32_t ready_fd;    /* daemon: write end of the launcher's pipe, or -1 */
    int32_t pidfile_fd;  /* the locked pid file, or -1 */
    int32_t pidfile_pid; /* the pid written in it */
    char pidfile_path[SE_PATH_MAX];
    char release_msg[SE_DAEMON_MSG_MAX]; /* why the last release could not remove the file */
};

/* Sets every descriptor to -1 and the path to "". */
/* Helpers daemon.c shares with pidfile.c and privileges.c. snprintf into
 * err, which may be NULL or empty. */
void se__daemon_set_err(char *err, size_t err_size, const char *fmt, ...) SE_PRINTF(3, 4);
/* Closes *fd if it is open and sets it to -1. */
void se__daemon_fd_close(int32_t *fd);

void se__daemon_init(struct se_daemon *d);

/*
 * Daemonizes: fork, setsid, fork again, chdir("/"), stdio to /dev/null
 * (stderr too unless keep_stderr). The launching process does not return:
 * it waits for the daemon's report on a pipe and exits 0 when the daemon
 * says it is ready, or writes the daemon's message to stderr and exits
 * with error_exit_code (also when the daemon dies before reporting).
 * Returns 0 in the daemon (d->ready_fd set); -errno if the first fork or
 * the pipe failed (in the caller, nothing forked).
 */
int se__daemonize(struct se_daemon *d, int32_t error_exit_code, bool keep_stderr);

/*
 * The daemon's start-up report. ok: the launcher exits 0. Otherwise msg is
 * printed by the launcher, which exits with the error code. Closes
 * ready_fd; a no-op when not daemonized or already reported. Returns 0, or
 * -errno when the report could not be sent: the launcher then sees EOF and
 * exits with the error code, so a daemon that could not say "ready" must not
 * run on.
 */
int se__daemon_report(struct se_daemon *d, bool ok, const char *msg);

/*
 * A supervised daemon's first server tells the supervisor, not the
 * launcher, that it is ready: the supervisor passes the word on (or the
 * server's failure). relay_open makes the channel: fds[0] for the
 * supervisor (non-blocking), fds[1] for the server's se__daemon_report
 * (its ready_fd). Both close-on-exec. Returns 0 or -errno.
 */
int se__daemon_relay_open(int32_t fds[2]);

/* Reads the server's report from fds[0]: 1 ready; 0 failed, its message in
 * msg; -EAGAIN nothing yet; -EPIPE the server closed it without a report;
 * other -errno. */
int se__daemon_relay_read(int32_t fd, char *msg, size_t msg_size);

/*
 * Creates the pid file at path holding this process's pid: written to a
 * temporary file in the same directory, renamed over path, and kept open
 * with an exclusive lock (flock) for the life of the process. A file whose
 * lock nobody holds is stale and replaced. Returns 0; -EEXIST when a live
 * instance holds it (its pid in the message); -errno otherwise. err gets a
 * message naming the path.
 */
int se__pidfile_acquire(struct se_daemon *d, const char *path, char *err, size_t err_size);

/* Called after a fork in the process that now owns the pid file (the
 * daemon): rewrites it with the current pid, still locked. */
int se__pidfile_update(struct se_daemon *d, char *err, size_t err_size);

/* Removes the pid file if it still holds our pid, unlocks, closes. When it
 * cannot be removed (a user who may not write its directory), it is emptied
 * and release_msg says so (else ""). */
void se__pidfile_release(struct se_daemon *d);

/*
 * Drops privileges: group (chgroup, else the user's primary group when a
 * user is given), supplementary groups set to the user's own (never kept
 * from root), then the user; verifies that regaining root fails. Empty
 * strings mean unchanged. umask_value < 0: unchanged. Returns 0, or
 * -errno / SE_ECONFIG (unknown user or group) with a message in err.
 */
int se__privileges_drop(const char *user, const char *group, int32_t umask_value, char *err,
                        size_t err_size);

/*
 * Before a drop to user/group: gives path, a regular file this process
 * created and must reopen after the drop (the log), to that user and group.
 * Refuses (-EPERM) a link, anything but a regular file of ours with one
 * name. Returns 0 or -errno with a message in err.
 */
int se__privileges_hand_over(const char *user, const char *group, const char *path, char *err,
                             size_t err_size);

/* Process names. The argv area is borrowed for the life of the program. */
struct se_proctitle {
    char *area;  /* the contiguous argv (and environ, once moved) memory, or NULL */
    size_t size; /* its usable length */
};

/* Remembers argv's memory so that se__proctitle_set can overwrite it. May
 * copy environ elsewhere to enlarge the area (like setproctitle). */
void se__proctitle_init(struct se_proctitle *t, int argc, char **argv);

/* Sets what ps shows (argv area) and the thread name (PR_SET_NAME, 15 bytes). */
void se__proctitle_set(const struct se_proctitle *t, const char *fmt, ...) SE_PRINTF(2, 3);

#endif /* SE_DAEMON_H */
