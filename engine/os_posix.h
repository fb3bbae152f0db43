/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix.h: the production (POSIX/Linux) OS adapter, internal interface.
 *
 * os_posix.c holds the set-up, signals, the event wait and heartbeats;
 * os_posix_proc.c the children (spawn, reaping, signalling; os_posix_int.h
 * is what those two share); os_posix_fs.c clocks, descriptors and files
 * (the logger's needs); os_posix_net.c sockets; os_posix_worker.c a
 * process worker's waits.
 * These files make the engine's system calls; the others do not, except
 * the few in tests/lint.sh's allow-list, each with its reason (daemon.c's
 * double fork, the configuration file's read, the sigdump file...), and
 * make lint checks it. Each method of struct se_os passes its fault point
 * from faults/points.def first; the small se__posix_* and se__net_* calls
 * below say where they do not.
 */
#ifndef SE_OS_POSIX_H
#define SE_OS_POSIX_H

#include <signal.h>

#include "se_int.h"

/*
 * A ready adapter with only the stateless methods filled: clocks
 * (monotonic_ms, realtime_us), read, write, close, open_append, rename,
 * unlink, file_id, lock, unlock, append. The other methods are NULL.
 * Static storage, read-only; valid for the life of the program.
 */
const struct se_os *se__os_posix_fs(void);

/* Fills the same stateless methods into os (the full adapter's init uses it). */
void se__os_posix_fs_fill(struct se_os *os);

/* ---- the full adapter (os_posix.c, os_posix_proc.c) --------------------- */

#define SE_POSIX_CHILDREN_MAX (SE_WORKERS_MAX + SE_SERVERS_MAX + 4u)
/* descriptors watched for readability: a heartbeat pipe per child, and the
 * process's own few (output capture, a command pipe, the logger's) */
#define SE_POSIX_WATCH_MAX    (SE_POSIX_CHILDREN_MAX + 8u)
#define SE_POSIX_SIGNALS_MAX  16u  /* signals delivered as events */
#define SE_POSIX_STAMP_STRIDE 8u   /* int64 per stamp: one cache line each */
#define SE_POSIX_FD_HIGH      1024 /* per-child descriptors live from here up */
#define SE_POSIX_PRIVATE_MAX  8u   /* descriptors no child may inherit */

_Static_assert(SE_POSIX_WATCH_MAX >= SE_WORKERS_MAX + 4u,
               "every worker's heartbeat pipe is watched");

struct se_posix_child {
    uint32_t handle; /* 0: free */
    bool thread;     /* a thread child, not a process */
    bool ready;      /* its pidfd fired or its thread finished: reap() looks */
    int32_t pid;
    int32_t pidfd;         /* -1: none (fallback: waitid on SIGCHLD) */
    int32_t hb_fd;         /* the parent's read end of its heartbeat pipe (driver-owned) */
    bool hb_watched;       /* hb_fd is in the watched list too (closed once in a fork) */
    int64_t *stamp;        /* its beat stamp in the shared page, or NULL */
    int32_t thread_status; /* thread: entry's value once finished */
    uint64_t thread_id;    /* pthread_t */
    void *thread_ctx;      /* heap block handed to the thread */
};

/* A reaped process child whose process group may outlive it (signal_group). */
struct se_posix_group {
    uint32_t handle; /* 0: free */
    int32_t pgid;
};

struct se_os_posix {
    int32_t epfd;  /* epoll: signals, pidfds, watched fds, eventfd */
    int32_t sigfd; /* signalfd of the signals below */
    int32_t evfd;  /* eventfd: a thread child finished */
    uint32_t sigs_count;
    enum se_sig sigs[SE_POSIX_SIGNALS_MAX]; /* delivered as SE_EV_SIGNAL */
    bool sigchld_scan;                      /* SIGCHLD came: children without pidfd are checked */
    uint32_t next_handle;
    int64_t *stamps; /* shared page: one stamp per child slot */
    size_t stamps_bytes;
    int32_t parent_hb_fd;  /* write end to our parent (a supervisor), or -1 */
    int64_t *parent_stamp; /* our stamp in the parent's page, or NULL */
    uint32_t watched_count;
    int32_t watched[SE_POSIX_WATCH_MAX];
    uint32_t private_count;
    int32_t private_fds[SE_POSIX_PRIVATE_MAX]; /* closed in every child (pid file lock...) */
    uint64_t rng;                              /* xorshift64* state for random_u32 */
    uint64_t nofile_soft_orig;                 /* RLIMIT_NOFILE's soft limit we raised, or 0 */
    bool init;                                 /* we are PID 1: every orphan is ours to reap */
    bool forwarding; /* the loop is the main thread: other threads forward its signals to it */
    struct sigaction saved[SE_POSIX_SIGNALS_MAX + 1]; /* forwarding: sigs' and SIGCHLD's before */
    int (*fs_close)(void *ctx, int32_t fd);           /* the stateless close this adapter wraps */
    void *lock; /* pthread_mutex_t *, heap: thread completions */
    struct se_posix_child children[SE_POSIX_CHILDREN_MAX];
    struct se_posix_group groups[SE_POSIX_CHILDREN_MAX]; /* by handle % MAX */
};

/*
 * Creates the adapter for this process: blocks the given signals (plus
 * SIGCHLD) in the calling thread (call before starting threads: they
 * inherit the mask) and receives them through a signalfd; ignores SIGPIPE.
 * When the calling thread is the main one, a handler on these signals
 * passes to it whatever reaches another thread, and thread children
 * (thread and embedded workers) run with nothing blocked, so that the
 * programs they start get a clean signal state.
 * parent_hb_fd / parent_stamp: this process's own heartbeat channel to its
 * parent (from se_child_ctx), or -1/NULL. Returns 0 or -errno; on error
 * nothing is left open.
 */
int se__os_posix_init(struct se_os *os, struct se_os_posix *p, const enum se_sig *sigs,
                      uint32_t sigs_count, int32_t parent_hb_fd, int64_t *parent_stamp);

/* Registers a descriptor of this process that no child may keep: the pid
 * file's lock (a surviving child would hold it), the daemon's start-up
 * channel (the launcher waits for its EOF). -ENOSPC when full. */
int se__os_posix_private_fd(struct se_os_posix *p, int32_t fd);

/* Forgets a private descriptor before its owner closes it: the number may
 * be reused, and a child must not lose what then holds it. */
void se__os_posix_private_fd_drop(struct se_os_posix *p, int32_t fd);

/* Closes everything the adapter opened (not the children, not the driver's
 * fds) and restores the signal mask. */
void se__os_posix_fini(struct se_os_posix *p);

/* The POSIX number of an se_sig (0 for SE_SIG_NONE/OTHER) and back. */
int se__sig_to_posix(enum se_sig sig);
enum se_sig se__sig_from_posix(int signo);

/* Passes a signal that reached a thread other than the main one on to the
 * main thread (its thread id is the pid), sender kept: si_code becomes
 * SI_QUEUE, the only code a process may queue (CONT from a server is told
 * apart by si_pid). Async-signal-safe. */
void se__posix_forward_to_main(int signo, const siginfo_t *si);

/* Sets this thread's signal mask to exactly sigs plus SIGCHLD: a forked
 * child that will be a server leaves the fork's everything-blocked mask
 * without a window where a command signal has its default action. */
void se__sigmask_only(const enum se_sig *sigs, uint32_t sigs_count);

/* Adds sigs plus SIGCHLD to this thread's blocked set (a daemon's commands
 * wait, pending, through its forks until its loop reads them). */
void se__posix_block_signals(const enum se_sig *sigs, uint32_t sigs_count);

/* ---- small calls of the runtime (os_posix_fs.c, os_posix_net.c) ----------
 * Not methods of struct se_os: the loop's owner makes them outside the
 * loop, and the simulator never runs them. No fault point. */

/* The current directory into buf: 0 or -errno. */
int se__posix_cwd(char *buf, size_t size);
/* A non-blocking, close-on-exec pipe: fds[0] reads, fds[1] writes. */
int se__posix_pipe(int32_t fds[2]);
/* One byte written to fd, from any thread or a signal handler: 0 or
 * -errno (a full pipe: -EAGAIN, the byte is lost); errno is kept. */
int se__posix_post_byte(int32_t fd, unsigned char byte);
/* Moves stdin off descriptor 0 (close-on-exec, at 3 or above) into *fd and
 * puts /dev/null in its place. 0 or -errno. */
int se__posix_stdin_take(int32_t *fd);
/* One datagram of msg to the unix socket at path ('@' first: the abstract
 * namespace), from a new socket closed at once (systemd's notification;
 * os_posix_net.c). 0 or -errno. */
int se__net_datagram_send(const char *path, const char *msg);

/* Writes a beat stamp: the monotonic time now, in ms (async-signal-safe). */
void se__beat_stamp_write(int64_t *stamp);

/* The monotonic clock in ms: the adapter's clock, the beat stamps and a
 * process worker's helper thread all read this one. */
int64_t se__posix_mono_ms(void);

/* ---- a process worker's helper (os_posix_worker.c) ----------------------
 * The worker's main thread waits here while `run` works on a thread of its
 * own; worker.c decides what each wake-up means. No fault point. */
struct se_posix_helper {
    int32_t sigfd;   /* the commands, blocked on the main thread */
    int32_t done_fd; /* eventfd: run's thread has finished */
    uint64_t thread; /* pthread_t of run's thread */
    void (*fn)(void *arg);
    void *arg;
};

enum {
    SE_HELPER_DONE = 1u,        /* run's thread has finished */
    SE_HELPER_SIGNAL = 2u,      /* a command signal is pending (se__posix_helper_signal) */
    SE_HELPER_PARENT_GONE = 4u, /* the heartbeat pipe's reader (the server) is gone */
};

/* In the forked worker: leads a process group of its own; every signal to
 * its default action, then sigs and SIGPIPE to a handler that passes them
 * from any other thread to the main one, which blocks sigs and reads them
 * from a signalfd. 0 or -errno. */
int se__posix_helper_open(struct se_posix_helper *h, const enum se_sig *sigs, uint32_t sigs_count);
/* fn(arg) on a new thread with nothing blocked; done_fd fires when it
 * returns. 0 or -errno. */
int se__posix_helper_start(struct se_posix_helper *h, void (*fn)(void *arg), void *arg);
void se__posix_helper_join(struct se_posix_helper *h);
/* Waits up to timeout_ms (-1: no limit) for run's end, a signal, or the end
 * of hb_fd's reader (-1: none); *what: SE_HELPER_* bits, 0 on a timeout or
 * an interruption. 0 or -errno. */
int se__posix_helper_wait(struct se_posix_helper *h, int32_t hb_fd, int64_t timeout_ms,
                          uint32_t *what);
/* One pending signal: 1 with the signal and its sender's pid, or 0. */
int se__posix_helper_signal(struct se_posix_helper *h, enum se_sig *sig, int32_t *sender_pid);
/* The reader of the pipe fd writes to is gone (POLLERR or POLLHUP now). */
bool se__posix_pipe_broken(int32_t fd);

#endif /* SE_OS_POSIX_H */
