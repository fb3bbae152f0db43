/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix_proc.c: the production adapter's children (Linux): spawning by
 * fork, fork and exec, or a thread; the child table; reaping, also every
 * orphan when we are PID 1; signals to a child and to the process group it
 * leads; the descriptors and limits a child starts with. The set-up, the
 * event wait and the method table are os_posix.c's.
 *
 * Each process child has a pidfd in the adapter's epoll set (readable when
 * it exits, so a crash is seen at once and pidfd_send_signal can never reach
 * a recycled pid); a thread child's end fires the adapter's eventfd.
 * Signals stay blocked across fork, so a child never runs with the parent's
 * view of them. A worker leads its own process group; signal_group reaches
 * the group by the worker's handle, also after the worker was reaped, while
 * members are left. Every method passes its fault point first
 * (faults/points.def).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "os_posix_int.h"
#include "se_fault.h"

extern char **environ;

#define ENV_EXTRA_MAX 8

/* ---- children table: handle h lives at children[h % MAX] --------------- */

struct se_posix_child *
se__posix_child_get(struct se_os_posix *p, uint32_t handle)
{
    if (handle == 0) return NULL;
    struct se_posix_child *c = &p->children[handle % SE_POSIX_CHILDREN_MAX];
    return c->handle == handle ? c : NULL;
}

static struct se_posix_child *
child_alloc(struct se_os_posix *p)
{
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        uint32_t h = p->next_handle++;
        if (h == 0) continue; /* 0 means none */
        struct se_posix_child *c = &p->children[h % SE_POSIX_CHILDREN_MAX];
        if (c->handle != 0) continue;
        *c = (struct se_posix_child){.handle = h, .pid = -1, .pidfd = -1, .hb_fd = -1};
        return c;
    }
    return NULL;
}

static int64_t *
stamp_of(struct se_os_posix *p, const struct se_posix_child *c)
{
    size_t idx = (size_t)(c - p->children);
    return p->stamps + idx * SE_POSIX_STAMP_STRIDE;
}

/* ---- heartbeat stamps and signals --------------------------------------- */

static struct se_os_posix *
P(void *ctx)
{
    return ctx;
}

static int
posix_beat_stamp(void *ctx, uint32_t child, int64_t *stamp_ms)
{
    struct se_posix_child *c = se__posix_child_get(P(ctx), child);
    if (c == NULL || c->stamp == NULL) return -ENOENT;
    *stamp_ms = __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE);
    return 0;
}

static int
posix_signal(void *ctx, uint32_t child, enum se_sig sig)
{
    struct se_posix_child *c = se__posix_child_get(P(ctx), child);
    if (c == NULL) return -ESRCH; /* reaped: the pid may belong to someone else now */
    if (c->thread) return -ENOTSUP;
    int signo = se__sig_to_posix(sig);
    if (signo == 0) return -EINVAL;
    SE_FAULT_CHECK(SE_FAULT_PROC_KILL);
    int rc = c->pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, c->pidfd, signo, NULL, 0)
                           : kill(c->pid, signo); /* unreaped: the pid is still ours */
    return rc < 0 ? -errno : 0;
}

/* Whether process group pgid has a member that has not ended, from /proc:
 * 1 one has not, 0 every member found is a zombie (ended, its parent has not
 * reaped it), -1 unknown (no /proc, or no member found: another pid
 * namespace's /proc). A member started during the scan is found through its
 * parent, which is one too until then. */
static int
group_has_live_member(pid_t pgid)
{
    DIR *dir = opendir("/proc");
    if (dir == NULL) return -1;
    int found = -1;
    const struct dirent *e;
    while (found != 1 && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) continue; /* gone meanwhile */
        char buf[512];
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = '\0';
        /* "pid (comm) S ppid pgrp ...": comm may hold anything, ')' included */
        const char *p = strrchr(buf, ')');
        char state = 0;
        long ppid = 0, pgrp = 0;
        if (p == NULL || sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
        if (pgrp != (long)pgid) continue;
        found = state == 'Z' || state == 'X' ? 0 : 1;
    }
    closedir(dir);
    return found;
}

/*
 * The group a worker leads (it calls setpgid first thing). While the child
 * is unreaped its pid, the group's id, cannot be reused; after the reap the
 * id stays taken while a member is left, and once the group is empty the
 * pid comes back only after the kernel's pid counter has gone round
 * (pid_max allocations: far longer than a kill schedule). A group found
 * empty, or sent SIGKILL, is forgotten.
 */
static int
posix_signal_group(void *ctx, uint32_t child, enum se_sig sig)
{
    struct se_os_posix *p = P(ctx);
    int signo = se__sig_to_posix(sig);
    if (signo == 0 && sig != SE_SIG_NONE) return -EINVAL;
    struct se_posix_child *c = se__posix_child_get(p, child);
    if (c != NULL && c->thread) return -ENOTSUP;
    struct se_posix_group *g = &p->groups[child % SE_POSIX_CHILDREN_MAX];
    if (c == NULL && (child == 0 || g->handle != child)) return -ESRCH;
    SE_FAULT_CHECK(SE_FAULT_PROC_KILL);
    int rc = kill(-(c != NULL ? c->pid : g->pgid), signo) < 0 ? -errno : 0;
    if (c != NULL) /* not a group leader yet: the child alone */
        return rc == -ESRCH && signo != 0 ? posix_signal(ctx, child, sig) : rc;
    /* a member that has ended is not left, though its parent (a subreaper
     * above us, or init, that is slow to reap) has not reaped it yet: the
     * group's signal reaches it and kill() says the group exists */
    if (rc == 0 && group_has_live_member(g->pgid) == 0) rc = -ESRCH;
    if (rc == -ESRCH || (rc == 0 && signo == SIGKILL)) *g = (struct se_posix_group){0};
    return rc;
}

/* ---- reaping ------------------------------------------------------------ */

static void
child_free(struct se_os_posix *p, struct se_posix_child *c, struct se_exit *ex)
{
    ex->child = c->handle;
    if (c->pidfd >= 0) close(c->pidfd); /* leaves the epoll set with it */
    if (c->stamp != NULL) __atomic_store_n(c->stamp, 0, __ATOMIC_RELAXED);
    if (!c->thread && c->pid > 0) /* the group it led may have members left */
        p->groups[c->handle % SE_POSIX_CHILDREN_MAX] =
            (struct se_posix_group){.handle = c->handle, .pgid = c->pid};
    *c = (struct se_posix_child){0};
}

static void
exit_from_siginfo(const siginfo_t *si, struct se_exit *ex)
{
    *ex = (struct se_exit){0};
    if (si->si_code == CLD_EXITED) {
        ex->code = si->si_status;
        return;
    }
    ex->code = -1;
    ex->sig_raw = si->si_status;
    ex->sig = se__sig_from_posix(si->si_status);
    ex->core_dumped = si->si_code == CLD_DUMPED;
}

/* 1: reaped into ex; 0: still running; <0: error. */
static int
try_reap_process(struct se_os_posix *p, struct se_posix_child *c, struct se_exit *ex)
{
    siginfo_t si = {0};
    SE_FAULT_CHECK(SE_FAULT_PROC_WAIT);
    int rc;
    do {
        rc = waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == ECHILD) {
        /* someone else (host code calling waitpid(-1)) took its status */
        *ex = (struct se_exit){.code = -1, .sig = SE_SIG_OTHER, .sig_raw = 0};
        child_free(p, c, ex);
        return 1;
    }
    if (rc < 0) return -errno;
    if (si.si_pid == 0) return 0;
    exit_from_siginfo(&si, ex);
    child_free(p, c, ex);
    return 1;
}

static int
reap_thread(struct se_os_posix *p, struct se_exit *ex)
{
    pthread_mutex_t *lock = p->lock;
    pthread_mutex_lock(lock);
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        struct se_posix_child *c = &p->children[i];
        if (c->handle == 0 || !c->thread || !c->ready) continue;
        int32_t status = c->thread_status;
        pthread_t t = (pthread_t)c->thread_id;
        free(c->thread_ctx);
        pthread_mutex_unlock(lock);
        pthread_join(t, NULL); /* it has returned from entry: a short wait */
        *ex = (struct se_exit){.code = status};
        pthread_mutex_lock(lock);
        child_free(p, c, ex);
        pthread_mutex_unlock(lock);
        return 0;
    }
    pthread_mutex_unlock(lock);
    return -EAGAIN;
}

/* As PID 1 (a container's main process) every orphan of the namespace is
 * ours to reap: a worker's child that outlived it ends as our zombie. The
 * first zombie is looked at without reaping it; one of ours is marked for the
 * scan below, anyone else's status is taken and dropped. Outside PID 1 other
 * children are the host program's, and their statuses are left for it. */
static void
reap_orphans(struct se_os_posix *p)
{
    for (uint32_t n = 0; p->init && n < SE_POSIX_CHILDREN_MAX; n++) {
        siginfo_t si = {0};
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) return;
        for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
            struct se_posix_child *c = &p->children[i];
            if (c->handle != 0 && !c->thread && c->pid == si.si_pid) {
                c->ready = true;
                return;
            }
        }
        siginfo_t gone = {0};
        (void)waitid(P_PID, (id_t)si.si_pid, &gone, WEXITED | WNOHANG);
    }
}

static int
posix_reap(void *ctx, struct se_exit *ex)
{
    struct se_os_posix *p = P(ctx);
    if (reap_thread(p, ex) == 0) return 0;
    if (p->sigchld_scan) reap_orphans(p); /* an orphan's end comes as SIGCHLD */
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        struct se_posix_child *c = &p->children[i];
        if (c->handle == 0 || c->thread) continue;
        if (!c->ready && !(p->sigchld_scan && c->pidfd < 0)) continue;
        int rc = try_reap_process(p, c, ex);
        if (rc != 0) return rc < 0 ? rc : 0;
        c->ready = false; /* a spurious wake-up: still running */
    }
    p->sigchld_scan = false;
    return -EAGAIN;
}

/* ---- spawning ----------------------------------------------------------- */

/* In a new child: closes every descriptor of this adapter, so no process
 * holds another's heartbeat pipe or the parent's event fds. */
static void
close_adapter_fds(struct se_os_posix *p)
{
    /* every child's pidfd and heartbeat pipe at once (see fd_high) */
    bool high_gone = close_range(SE_POSIX_FD_HIGH, ~0u, 0) == 0;
    close(p->epfd);
    close(p->sigfd);
    close(p->evfd);
    if (p->parent_hb_fd >= 0) close(p->parent_hb_fd);
    for (uint32_t i = 0; i < p->watched_count; i++)
        if (!(high_gone && p->watched[i] >= SE_POSIX_FD_HIGH)) close(p->watched[i]);
    for (uint32_t i = 0; i < p->private_count; i++)
        close(p->private_fds[i]);
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        const struct se_posix_child *c = &p->children[i];
        if (c->handle == 0) continue;
        if (c->pidfd >= 0 && !(high_gone && c->pidfd >= SE_POSIX_FD_HIGH)) close(c->pidfd);
        if (c->hb_fd >= 0 && !c->hb_watched && !(high_gone && c->hb_fd >= SE_POSIX_FD_HIGH))
            close(c->hb_fd); /* once only */
    }
}

/* The descriptors held per child (its pidfd, its heartbeat pipe's read end)
 * are moved to SE_POSIX_FD_HIGH and up, where nothing else of the process
 * lives, so that a new child drops its 1,023 siblings' with one close_range()
 * instead of 2,000 close() calls (at 1,024 workers those were most of a
 * replacement's time). Where the descriptor limit does not reach that high,
 * they stay where they are and are closed one by one. */
static int
fd_above(int fd, int min)
{
    if (fd < 0 || fd >= min) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, min);
    if (high < 0) return fd; /* the limit is that low: the descriptor stays */
    close(fd);
    return high;
}

static int
fd_high(int fd)
{
    return fd_above(fd, SE_POSIX_FD_HIGH);
}

/* A process with SE_WORKERS_MAX children holds two descriptors for each (a
 * pidfd, a heartbeat pipe): 2,000 and more, past the soft RLIMIT_NOFILE of
 * 1,024 that systemd and most shells give. The soft limit is raised as far
 * as that needs, never past the hard limit, and put back in every child. */
#define NOFILE_NEED (SE_POSIX_FD_HIGH + 2u * SE_POSIX_CHILDREN_MAX + 64u)

void
se__posix_nofile_reserve(struct se_os_posix *p)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= NOFILE_NEED) return;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= NOFILE_NEED ? NOFILE_NEED : rl.rlim_max;
    if (want <= rl.rlim_cur) return;
    rlim_t orig = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0) p->nofile_soft_orig = (uint64_t)orig;
}

void
se__posix_nofile_restore(struct se_os_posix *p)
{
    struct rlimit rl;
    if (p->nofile_soft_orig == 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
    rl.rlim_cur = (rlim_t)p->nofile_soft_orig;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* A forked child keeps every signal blocked (fork_blocked blocked them all):
 * its entry installs its own handling first, so a signal sent while it starts
 * waits instead of killing it with the default action. An exec'd program
 * starts with default handling and nothing blocked. */
static void
child_prepare(struct se_os_posix *p, bool exec)
{
    close_adapter_fds(p);
    se__posix_nofile_restore(p); /* user code gets the limit it was started with */
    if (!exec) return;
    signal(SIGPIPE, SIG_DFL);
    for (uint32_t i = 0; i < p->sigs_count; i++)
        signal(se__sig_to_posix(p->sigs[i]), SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
}

static int
pipe_pair(int fds[2], int flags)
{
    SE_FAULT_CHECK(SE_FAULT_IO_PIPE);
    return pipe2(fds, O_CLOEXEC | flags) < 0 ? -errno : 0;
}

static int
pidfd_open_(pid_t pid)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_PIDFD);
    int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by the kernel */
    return fd < 0 ? -errno : fd;
}

/* After a fork: a pidfd for the child, in the epoll set. */
static void
child_track(struct se_os_posix *p, struct se_posix_child *c, pid_t pid)
{
    c->pid = pid;
    int fd = fd_high(pidfd_open_(pid));
    if (fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_DATA(EP_PIDFD, c->handle)};
        if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            fd = -1;
        }
    }
    /* Without a pidfd the child is found by the SIGCHLD scan; its pid cannot
     * be reused before we reap it, so kill() on it stays safe. */
    c->pidfd = fd;
}

static int
fork_(void)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_FORK);
    pid_t pid = fork();
    return pid < 0 ? -errno : pid;
}

/* Forks with every signal blocked: a signal in the window between fork and
 * the child's own setup must not run parent logic in the child. */
static int
fork_blocked(const struct se_spawn_req *req, sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, saved);
    if (req->fork_prepare != NULL) req->fork_prepare(req->fork_arg);
    int pid = fork_();
    if (req->fork_after != NULL) req->fork_after(req->fork_arg);
    if (pid != 0) pthread_sigmask(SIG_SETMASK, saved, NULL);
    return pid;
}

static int
spawn_fork(struct se_os_posix *p, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    int hb[2] = {-1, -1}, cmd[2] = {-1, -1};
    struct se_posix_child *c = child_alloc(p);
    if (c == NULL) return -EAGAIN;
    int rc = req->heartbeat ? pipe_pair(hb, 0) : 0;
    if (rc == 0 && req->command_pipe) rc = pipe_pair(cmd, 0);
    if (rc < 0) goto fail;
    c->stamp = req->heartbeat ? stamp_of(p, c) : NULL;
    if (c->stamp != NULL) se__beat_stamp_write(c->stamp); /* the start counts as a beat */
    sigset_t saved;
    int pid = fork_blocked(req, &saved);
    if (pid == 0) {
        struct se_child_ctx cc = {.worker_id = req->worker_id,
                                  .heartbeat_fd = hb[1],
                                  .heartbeat_ms = c->stamp,
                                  .parent_pid = (int32_t)getppid()};
        if (hb[0] >= 0) close(hb[0]);
        if (cmd[0] >= 0) { /* the command pipe is the child's stdin */
            close(cmd[1]);
            if (dup2(cmd[0], 0) == 0) close(cmd[0]);
        }
        child_prepare(p, false);
        int status = req->entry(req->arg, &cc);
        fflush(NULL);
        _exit(status & 0xff); /* no atexit handlers of the parent's in a forked child */
    }
    rc = pid;
    if (rc < 0) goto fail;
    if (hb[1] >= 0) close(hb[1]);
    hb[0] = fd_high(hb[0]);
    if (hb[0] >= 0) fcntl(hb[0], F_SETFL, O_NONBLOCK);
    if (cmd[0] >= 0) close(cmd[0]);
    if (cmd[1] >= 0) fcntl(cmd[1], F_SETFL, O_NONBLOCK); /* the loop never blocks on it */
    child_track(p, c, pid);
    c->hb_fd = hb[0];
    *res = (struct se_spawn_res){
        .child = c->handle, .pid = pid, .heartbeat_fd = hb[0], .command_fd = cmd[1]};
    return 0;
fail:
    if (hb[0] >= 0) close(hb[0]);
    if (hb[1] >= 0) close(hb[1]);
    if (cmd[0] >= 0) close(cmd[0]);
    if (cmd[1] >= 0) close(cmd[1]);
    *c = (struct se_posix_child){0};
    return rc;
}

/* ---- exec --------------------------------------------------------------- */

struct exec_plan {
    char **envp; /* environ + extras, heap */
    char extra[ENV_EXTRA_MAX][64];
    char *listen_pid; /* extra's "LISTEN_PID=" entry, completed in the child */
    int err_pipe[2];
    int hb[2];
    int cmd[2];
    pid_t parent; /* the process that forks */
};

static void
close_once(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void
plan_free(struct exec_plan *x)
{
    free(x->envp);
    close_once(&x->err_pipe[0]);
    close_once(&x->err_pipe[1]);
    close_once(&x->hb[0]);
    close_once(&x->hb[1]);
    close_once(&x->cmd[0]);
    close_once(&x->cmd[1]);
}

/* The environment is built before the fork: no allocation in the child. */
static int
plan_env(struct exec_plan *x, const struct se_spawn_req *req)
{
    size_t n_env = 0, n_extra = 0;
    while (environ != NULL && environ[n_env] != NULL)
        n_env++;
    while (req->envp != NULL && req->envp[n_extra] != NULL)
        n_extra++;
    x->envp = calloc(n_env + n_extra + ENV_EXTRA_MAX + 1, sizeof *x->envp);
    if (x->envp == NULL) return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n_extra; i++)
        x->envp[k++] = (char *)req->envp[i];
    snprintf(x->extra[0], sizeof x->extra[0], "SERVERENGINE_WORKER_ID=%u", req->worker_id);
    x->envp[k++] = x->extra[0];
    if (x->hb[1] >= 0) {
        snprintf(x->extra[1], sizeof x->extra[1], "SERVERENGINE_HEARTBEAT_PIPE=%d", x->hb[1]);
        x->envp[k++] = x->extra[1];
    }
    if (req->listen_env) {
        snprintf(x->extra[2], sizeof x->extra[2], "LISTEN_FDS=%u", req->keep_fds_count);
        x->envp[k++] = x->extra[2];
        snprintf(x->extra[3], sizeof x->extra[3], "LISTEN_PID=");
        x->listen_pid = x->extra[3];
        x->envp[k++] = x->extra[3];
        if (req->listen_fdnames != NULL) x->envp[k++] = (char *)req->listen_fdnames;
    }
    for (size_t i = 0; i < n_env; i++)
        x->envp[k++] = environ[i]; /* extras win: first match */
    x->envp[k] = NULL;
    return 0;
}

/* Completes "LISTEN_PID=" with the child's pid (async-signal-safe). */
static void
fill_pid(char *entry, size_t size)
{
    char digits[16];
    int n = 0;
    for (long pid = (long)getpid(); pid > 0 && n < 15; pid /= 10)
        digits[n++] = (char)('0' + pid % 10);
    size_t at = strlen(entry);
    while (n > 0 && at + 1 < size)
        entry[at++] = digits[--n];
    entry[at] = '\0';
}

static int
plan_make(struct exec_plan *x, const struct se_spawn_req *req)
{
    *x = (struct exec_plan){
        .err_pipe = {-1, -1}, .hb = {-1, -1}, .cmd = {-1, -1}, .parent = getpid()};
    int rc = pipe_pair(x->err_pipe, 0);
    if (rc == 0 && req->heartbeat) rc = pipe_pair(x->hb, 0);
    if (rc == 0 && req->command_pipe) rc = pipe_pair(x->cmd, 0);
    if (rc == 0 && req->listen_env) {
        /* the child's ends stay clear of 3..3+n, where the sockets go */
        int above = SE_LISTEN_FD_FIRST + (int)SE_LISTEN_MAX; /* where placing fails, it says so */
        x->err_pipe[1] = fd_above(x->err_pipe[1], above);
        x->hb[1] = fd_above(x->hb[1], above);
    }
    if (rc == 0) rc = plan_env(x, req);
    if (rc < 0) plan_free(x);
    return rc;
}

/* Marks every descriptor from 3 up close-on-exec: the program gets none of
 * the engine's, not even those opened without O_CLOEXEC (by user code, by a
 * library, inherited from the engine's own parent). Without close_range
 * (before Linux 5.11) each possible descriptor is marked in turn. */
static void
cloexec_from_3(void)
{
    if (close_range(3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return;
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
    for (int fd = 3; fd < max; fd++)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static SE_NORETURN void
exec_child(struct se_os_posix *p, const struct se_spawn_req *req, struct exec_plan *x)
{
    child_prepare(p, true);
    int err = 0;
    /* A group of its own (a terminal's ^C goes to the server, which stops
     * it in order), and ended by the kernel if the server dies: nobody
     * would stop it then (README: "Spawn workers"). The parent may have
     * died before prctl: then it is not started at all. */
    (void)setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        err = errno;
    else if (getppid() != x->parent)
        err = ESRCH;
    if (err == 0 && req->cwd != NULL && chdir(req->cwd) < 0) err = errno;
    if (err == 0 && x->cmd[0] >= 0 && dup2(x->cmd[0], 0) < 0) err = errno;
    cloexec_from_3();
    /* descriptors the program keeps: the heartbeat pipe, the listen sockets */
    if (x->hb[1] >= 0) fcntl(x->hb[1], F_SETFD, 0);
    if (req->listen_env) {
        int placed = se__net_place_fds(req->keep_fds, req->keep_fds_count);
        if (err == 0 && placed < 0) err = -placed;
        fill_pid(x->listen_pid, sizeof x->extra[3]);
    } else {
        for (uint32_t i = 0; i < req->keep_fds_count; i++)
            fcntl(req->keep_fds[i], F_SETFD, 0);
    }
    if (err == 0) {
        execvpe(req->argv[0], (char *const *)req->argv, x->envp);
        err = errno;
    }
    ssize_t w = write(x->err_pipe[1], &err, sizeof err);
    (void)w;
    _exit(127);
}

/* Waits for the exec: EOF on the CLOEXEC pipe means it succeeded. */
static int
exec_result(struct exec_plan *x, pid_t pid)
{
    close(x->err_pipe[1]);
    x->err_pipe[1] = -1;
    int err = 0;
    ssize_t r;
    do {
        r = read(x->err_pipe[0], &err, sizeof err);
    } while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof err) return 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return -err;
}

static int
exec_fault(void)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_EXEC);
    return 0;
}

static int
spawn_exec(struct se_os_posix *p, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    SE_ASSERT(req->argv != NULL && req->argv[0] != NULL);
    struct exec_plan x;
    struct se_posix_child *c = child_alloc(p);
    if (c == NULL) return -EAGAIN;
    int rc = exec_fault();
    if (rc == 0) rc = plan_make(&x, req);
    if (rc < 0) {
        *c = (struct se_posix_child){0};
        return rc;
    }
    sigset_t saved;
    int pid = fork_blocked(req, &saved);
    if (pid == 0) exec_child(p, req, &x);
    rc = pid < 0 ? pid : exec_result(&x, pid);
    if (rc < 0) {
        plan_free(&x);
        *c = (struct se_posix_child){0};
        return rc;
    }
    child_track(p, c, pid);
    *res = (struct se_spawn_res){
        .child = c->handle, .pid = pid, .heartbeat_fd = x.hb[0], .command_fd = x.cmd[1]};
    c->hb_fd = x.hb[0];
    if (x.hb[0] >= 0) fcntl(x.hb[0], F_SETFL, O_NONBLOCK);
    if (x.cmd[1] >= 0) fcntl(x.cmd[1], F_SETFL, O_NONBLOCK); /* the loop never blocks on it */
    x.hb[0] = x.cmd[1] = -1;                                 /* handed to the caller */
    plan_free(&x);
    return 0;
}

/* ---- threads ------------------------------------------------------------ */

struct thread_ctx {
    struct se_os_posix *p;
    uint32_t handle;
    int (*entry)(void *arg, const struct se_child_ctx *cc);
    void *arg;
    struct se_child_ctx cc;
};

static void *
thread_main(void *arg)
{
    struct thread_ctx *t = arg;
    struct se_os_posix *p = t->p;
    if (p->forwarding) { /* what run starts gets an empty mask: see loop_forwarding */
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
    }
    int status = t->entry(t->arg, &t->cc);
    pthread_mutex_lock(p->lock);
    struct se_posix_child *c = se__posix_child_get(p, t->handle);
    SE_ASSERT(c != NULL);
    c->thread_status = status;
    c->ready = true;
    pthread_mutex_unlock(p->lock);
    uint64_t one = 1;
    ssize_t w = write(p->evfd, &one, sizeof one);
    (void)w;
    return NULL;
}

static int
thread_create_(pthread_t *t, void *(*fn)(void *), void *arg)
{
    SE_FAULT_CHECK(SE_FAULT_PROC_THREAD);
    int rc = pthread_create(t, NULL, fn, arg);
    return -rc;
}

static int
spawn_thread(struct se_os_posix *p, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    struct thread_ctx *t = malloc(sizeof *t);
    if (t == NULL) return -ENOMEM;
    pthread_mutex_lock(p->lock);
    struct se_posix_child *c = child_alloc(p);
    pthread_mutex_unlock(p->lock);
    if (c == NULL) {
        free(t);
        return -EAGAIN;
    }
    *t = (struct thread_ctx){
        .p = p,
        .handle = c->handle,
        .entry = req->entry,
        .arg = req->arg,
        .cc = {.worker_id = req->worker_id, .heartbeat_fd = -1, .parent_pid = (int32_t)getpid()}};
    c->thread = true;
    c->thread_ctx = t;
    pthread_t tid;
    int rc = thread_create_(&tid, thread_main, t);
    if (rc < 0) {
        free(t);
        *c = (struct se_posix_child){0};
        return rc;
    }
    c->thread_id = (uint64_t)tid;
    *res =
        (struct se_spawn_res){.child = c->handle, .pid = 0, .heartbeat_fd = -1, .command_fd = -1};
    return 0;
}

static int
posix_spawn_(void *ctx, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    struct se_os_posix *p = P(ctx);
    switch (req->kind) {
    case SE_SPAWN_FORK: return spawn_fork(p, req, res);
    case SE_SPAWN_EXEC: return spawn_exec(p, req, res);
    case SE_SPAWN_THREAD: return spawn_thread(p, req, res);
    }
    return -EINVAL;
}

void
se__posix_proc_fill(struct se_os *os)
{
    os->spawn = posix_spawn_;
    os->signal = posix_signal;
    os->reap = posix_reap;
    os->beat_stamp = posix_beat_stamp;
    os->signal_group = posix_signal_group;
}
