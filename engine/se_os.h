/* SPDX-License-Identifier: Apache-2.0 */
/*
 * se_os.h: the OS adapter's contract, internal to the engine. The driver
 * and the runtime talk to the system only through this table; the POSIX
 * adapter (os_posix*.c) and the simulator (sim/) implement it. It is not
 * installed: no public function takes an adapter yet, so the public header
 * makes no promise about it.
 */
#ifndef SE_OS_H
#define SE_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serverengine.h"

/* ------------------------------------------------------------------------ */
/* The OS adapter: the one seam between the engine and the system.           */
/*                                                                           */
/* One struct of function pointers, version first, fields only ever          */
/* appended. Every method returns 0 or -errno and reports through out        */
/* parameters; EINTR is retried inside. wait() is the only call that blocks. */
/* Children are named by handles the adapter issues (never raw pids), and    */
/* the adapter refuses to signal a handle it has reaped (-ESRCH), so a       */
/* recycled pid is never signalled. The production adapter is POSIX/Linux    */
/* (engine/os_posix.c); the simulator (sim/) implements the same contract.   */
/* ------------------------------------------------------------------------ */

#define SE_OS_VERSION 1

enum se_ev_kind {
    SE_EV_SIGNAL = 1,  /* a signal arrived for this process (.sig) */
    SE_EV_CHILD,       /* children may have changed state: drain reap() */
    SE_EV_READABLE,    /* .fd (registered with watch()) has data or EOF */
    SE_EV_PARENT_GONE, /* this process's parent (its supervisor) is gone */
};

struct se_ev {
    enum se_ev_kind kind;
    enum se_sig sig; /* SE_EV_SIGNAL */
    int32_t fd;      /* SE_EV_READABLE */
};

struct se_exit {
    uint32_t child;   /* the handle spawn() issued; invalid from now on */
    int32_t code;     /* exit status 0..255, or -1 when killed by a signal */
    enum se_sig sig;  /* the terminating signal when code == -1 */
    int32_t sig_raw;  /* its number, for SE_SIG_OTHER */
    bool core_dumped; /* the kernel wrote a core */
};

enum se_spawn_kind {
    SE_SPAWN_FORK = 1, /* fork(); the child calls entry() and exits with its value */
    SE_SPAWN_EXEC,     /* fork()+exec of argv (spawn workers, the command-line tool) */
    SE_SPAWN_THREAD,   /* a thread calls entry(); its value is the "exit status" */
};

/* What a forked child or a worker thread is given by the adapter. */
struct se_child_ctx {
    uint32_t worker_id;    /* as in the request */
    int32_t heartbeat_fd;  /* write end of the heartbeat pipe, or -1 */
    int64_t *heartbeat_ms; /* shared stamp of the last beat (monotonic ms), or NULL */
    int32_t parent_pid;    /* the parent's pid at fork time */
};

struct se_spawn_req {
    enum se_spawn_kind kind;
    uint32_t worker_id; /* slot number, passed to the child */
    bool heartbeat;     /* create a heartbeat channel for the child */
    bool command_pipe;  /* EXEC and FORK: a pipe on the child's stdin for commands */
    /* FORK and THREAD: runs in the child (or thread); its value is the status. */
    int (*entry)(void *arg, const struct se_child_ctx *cc);
    void *arg;
    /* EXEC: NULL-terminated argv and extra "K=V" environment (may be NULL). */
    const char *const *argv;
    const char *const *envp;
    /* FORK and EXEC: descriptors the child keeps (all other engine fds close). */
    const int32_t *keep_fds;
    uint32_t keep_fds_count;
    /* FORK and EXEC, optional: called right before fork() and right after it,
     * in the parent and in the child, with fork_arg: to hold locks another
     * thread could hold at the fork (the logger's), so that the child never
     * inherits a lock that nobody will release. */
    void (*fork_prepare)(void *fork_arg);
    void (*fork_after)(void *fork_arg);
    void *fork_arg;
    /* EXEC: the working directory of the program, or NULL (unchanged). */
    const char *cwd;
    /* EXEC: keep_fds are listening sockets handed over the way systemd's
     * socket activation does: at descriptors 3.., with LISTEN_FDS and
     * LISTEN_PID set and listen_fdnames ("LISTEN_FDNAMES=...") in the
     * environment. */
    bool listen_env;
    const char *listen_fdnames;
};

struct se_spawn_res {
    uint32_t child;       /* handle, never 0 */
    int32_t pid;          /* for logs and process names; 0 for threads */
    int32_t heartbeat_fd; /* read end to watch for beats/EOF, or -1 */
    int32_t command_fd;   /* write end of the command pipe, or -1 */
};

struct se_file_id {
    uint64_t dev;
    uint64_t ino;
    uint64_t size_bytes;
    bool exists; /* false: the path names nothing (ENOENT) */
};

struct se_os {
    uint32_t version; /* SE_OS_VERSION */
    void *ctx;        /* adapter state (POSIX fds and masks, or the simulated world) */

    /* Clocks. monotonic_ms never decreases and drives every timeout;
     * realtime_us is for log stamps and file names only. */
    int64_t (*monotonic_ms)(void *ctx);
    int64_t (*realtime_us)(void *ctx);
    /* A uniformly distributed 32-bit draw (start_worker_delay_rand). */
    uint32_t (*random_u32)(void *ctx);

    /* Blocks until an event or until deadline_ms (INT64_MAX: no deadline).
     * Writes up to evs_max events. Returns 0 (also on timeout, count 0). */
    int (*wait)(void *ctx, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max,
                uint32_t *evs_count);
    /* Registers fd for SE_EV_READABLE events / removes it. A watched fd is
     * unwatched before it is closed (the adapter keeps a table of them). */
    int (*watch)(void *ctx, int32_t fd);
    int (*unwatch)(void *ctx, int32_t fd);

    /* Starts a child. The fds in res are owned by the caller. Returns 0,
     * -EAGAIN/-ENOMEM (resources), or the exec errno (-ENOENT, -EACCES...). */
    int (*spawn)(void *ctx, const struct se_spawn_req *req, struct se_spawn_res *res);
    /* Sends sig to child. -ESRCH once the child was reaped (never reaches a
     * recycled pid); -ENOTSUP for thread children. */
    int (*signal)(void *ctx, uint32_t child, enum se_sig sig);
    /* Collects one finished child. Returns 0, or -EAGAIN when none is ready. */
    int (*reap)(void *ctx, struct se_exit *exit);
    /* The child's last beat (monotonic ms) from its shared stamp.
     * -ENOENT when the child has no stamp. */
    int (*beat_stamp)(void *ctx, uint32_t child, int64_t *stamp_ms);
    /* Tells this process's own parent (a supervisor) that it is alive.
     * 0 when there is no parent channel. -EPIPE when the parent is gone. */
    int (*heartbeat)(void *ctx);

    /* Descriptors. read: 0 with *len_read == 0 is EOF; -EAGAIN when empty. */
    int (*read)(void *ctx, int32_t fd, void *buf, size_t len, size_t *len_read);
    int (*write)(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written);
    int (*close)(void *ctx, int32_t fd);

    /* Files (the logger). open_append: O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644. */
    int (*open_append)(void *ctx, const char *path, int32_t *fd);
    int (*rename)(void *ctx, const char *path_from, const char *path_to);
    int (*unlink)(void *ctx, const char *path);
    /* Identity of path (when fd < 0) or of fd. A missing path is exists=false, 0. */
    int (*file_id)(void *ctx, const char *path, int32_t fd, struct se_file_id *id);
    /* Exclusive advisory lock on fd (blocks), and its release. */
    int (*lock)(void *ctx, int32_t fd);
    int (*unlock)(void *ctx, int32_t fd);
    /* One write() of a whole buffer to an O_APPEND fd; *size_after_bytes is
     * the file's size right after it (others' appends included). A short
     * write is reported as written, never retried (it would tear a line). */
    int (*append)(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written,
                  uint64_t *size_after_bytes);

    /* Sends sig to the process group the child leads (itself while it does
     * not lead one yet), also after it was reaped, while members are left:
     * -ESRCH once none is (a member that has ended counts as gone, though
     * its parent has not reaped it yet); SE_SIG_NONE only probes. -ENOTSUP for threads.
     * May be NULL (the driver then signals the child alone). */
    int (*signal_group)(void *ctx, uint32_t child, enum se_sig sig);
};

#endif /* SE_OS_H */
