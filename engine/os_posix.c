/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix.c: the production OS adapter for Linux: processes, threads,
 * signals, the event wait, heartbeat stamps.
 *
 * One blocking call, epoll_wait, on: a signalfd for the signals the engine
 * handles (handlers never run: signals are blocked and read as data), a
 * pidfd per child (readable when it exits, so a crash is seen at once and
 * pidfd_send_signal can never reach a recycled pid), an eventfd for thread
 * children, the descriptors the driver watches, and the write end of this
 * process's own heartbeat pipe to its parent (EPOLLERR: the parent is gone,
 * reported at once as SE_EV_PARENT_GONE). Signals stay blocked across fork,
 * so a child never runs with the parent's view of them. A worker leads its
 * own process group; signal_group reaches the group by the worker's handle,
 * also after the worker was reaped, while members are left.
 * Heartbeats are stamps in a shared page: a child writes its monotonic time,
 * the parent reads it only at its deadline and never wakes for a beat.
 * Every call passes its fault point first (faults/points.def); libfiu fails
 * them in -DFIU_ENABLE=1 builds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "os_posix.h"
#include "se_fault.h"

extern char **environ;

enum ep_tag { EP_SIG = 1, EP_EVFD, EP_PIDFD, EP_WATCH, EP_PARENT };
#define EP_DATA(tag, v) (((uint64_t)(tag) << 32) | (uint32_t)(v))
#define EP_BATCH        32
#define ENV_EXTRA_MAX   8

/* ---- signals ------------------------------------------------------------- */

static const int8_t posix_numbers[SE_SIG_COUNT] = {
    [SE_SIG_HUP] = SIGHUP,       [SE_SIG_INT] = SIGINT,   [SE_SIG_QUIT] = SIGQUIT,
    [SE_SIG_ILL] = SIGILL,       [SE_SIG_TRAP] = SIGTRAP, [SE_SIG_ABRT] = SIGABRT,
    [SE_SIG_BUS] = SIGBUS,       [SE_SIG_FPE] = SIGFPE,   [SE_SIG_KILL] = SIGKILL,
    [SE_SIG_USR1] = SIGUSR1,     [SE_SIG_SEGV] = SIGSEGV, [SE_SIG_USR2] = SIGUSR2,
    [SE_SIG_PIPE] = SIGPIPE,     [SE_SIG_ALRM] = SIGALRM, [SE_SIG_TERM] = SIGTERM,
    [SE_SIG_CHLD] = SIGCHLD,     [SE_SIG_CONT] = SIGCONT, [SE_SIG_STOP] = SIGSTOP,
    [SE_SIG_TSTP] = SIGTSTP,     [SE_SIG_TTIN] = SIGTTIN, [SE_SIG_TTOU] = SIGTTOU,
    [SE_SIG_URG] = SIGURG,       [SE_SIG_XCPU] = SIGXCPU, [SE_SIG_XFSZ] = SIGXFSZ,
    [SE_SIG_VTALRM] = SIGVTALRM, [SE_SIG_PROF] = SIGPROF, [SE_SIG_WINCH] = SIGWINCH,
    [SE_SIG_IO] = SIGIO,         [SE_SIG_PWR] = SIGPWR,   [SE_SIG_SYS] = SIGSYS,
};

int
se__sig_to_posix(enum se_sig sig)
{
    if ((unsigned)sig >= SE_SIG_COUNT) return 0;
    return posix_numbers[sig];
}

enum se_sig
se__sig_from_posix(int signo)
{
    for (int s = SE_SIG_HUP; s < SE_SIG_OTHER; s++) {
        if (posix_numbers[s] == signo) return (enum se_sig)s;
    }
    return SE_SIG_OTHER;
}

void
se__beat_stamp_write(int64_t *stamp)
{
    __atomic_store_n(stamp, se__posix_mono_ms(), __ATOMIC_RELEASE);
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- children table: handle h lives at children[h % MAX] --------------- */

static struct se_posix_child *
child_get(struct se_os_posix *p, uint32_t handle)
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

/* ---- simple methods ----------------------------------------------------- */

static struct se_os_posix *
P(void *ctx)
{
    return ctx;
}

static uint32_t
posix_random_u32(void *ctx)
{
    struct se_os_posix *p = P(ctx);
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return (uint32_t)((p->rng * UINT64_C(2685821657736338717)) >> 32);
}

static int
posix_watch(void *ctx, int32_t fd)
{
    struct se_os_posix *p = P(ctx);
    SE_FAULT_CHECK(SE_FAULT_IO_WATCH);
    if (p->watched_count == SE_POSIX_WATCH_MAX) return -ENOSPC;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_DATA(EP_WATCH, fd)};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
    p->watched[p->watched_count++] = fd;
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        if (p->children[i].handle != 0 && p->children[i].hb_fd == fd)
            p->children[i].hb_watched = true;
    }
    return 0;
}

static void
forget_hb_watch(struct se_os_posix *p, int32_t fd)
{
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        if (p->children[i].handle != 0 && p->children[i].hb_fd == fd)
            p->children[i].hb_watched = false;
    }
}

static int
posix_unwatch(void *ctx, int32_t fd)
{
    struct se_os_posix *p = P(ctx);
    for (uint32_t i = 0; i < p->watched_count; i++) {
        if (p->watched[i] != fd) continue;
        p->watched[i] = p->watched[--p->watched_count];
        forget_hb_watch(p, fd);
        if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL) < 0) return -errno;
        return 0;
    }
    return -ENOENT;
}

/* The driver closes a child's heartbeat pipe through here: the adapter
 * forgets the number, or the next fork would close whatever reuses it (the
 * log file after a reopen, say) in the new child. */
static int
posix_close(void *ctx, int32_t fd)
{
    struct se_os_posix *p = P(ctx);
    for (uint32_t i = 0; i < SE_POSIX_CHILDREN_MAX; i++) {
        if (p->children[i].handle != 0 && p->children[i].hb_fd == fd) {
            p->children[i].hb_fd = -1;
            p->children[i].hb_watched = false;
        }
    }
    for (uint32_t i = 0; i < p->watched_count; i++) {
        if (p->watched[i] == fd) p->watched[i] = p->watched[--p->watched_count];
    }
    return p->fs_close(ctx, fd);
}

static int
posix_beat_stamp(void *ctx, uint32_t child, int64_t *stamp_ms)
{
    struct se_posix_child *c = child_get(P(ctx), child);
    if (c == NULL || c->stamp == NULL) return -ENOENT;
    *stamp_ms = __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE);
    return 0;
}

static int
posix_heartbeat(void *ctx)
{
    struct se_os_posix *p = P(ctx);
    if (p->parent_stamp != NULL) se__beat_stamp_write(p->parent_stamp);
    if (p->parent_hb_fd < 0) return 0;
    /* The parent holds the read end: when it dies, the write end reports
     * POLLERR. A pipe never carries a beat byte here, so no write blocks. */
    struct pollfd pfd = {.fd = p->parent_hb_fd, .events = 0};
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP))) return -EPIPE;
    return 0;
}

static int
posix_signal(void *ctx, uint32_t child, enum se_sig sig)
{
    struct se_posix_child *c = child_get(P(ctx), child);
    if (c == NULL) return -ESRCH; /* reaped: the pid may belong to someone else now */
    if (c->thread) return -ENOTSUP;
    int signo = se__sig_to_posix(sig);
    if (signo == 0) return -EINVAL;
    SE_FAULT_CHECK(SE_FAULT_PROC_KILL);
    int rc = c->pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, c->pidfd, signo, NULL, 0)
                           : kill(c->pid, signo); /* unreaped: the pid is still ours */
    return rc < 0 ? -errno : 0;
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
    struct se_posix_child *c = child_get(p, child);
    if (c != NULL && c->thread) return -ENOTSUP;
    struct se_posix_group *g = &p->groups[child % SE_POSIX_CHILDREN_MAX];
    if (c == NULL && (child == 0 || g->handle != child)) return -ESRCH;
    SE_FAULT_CHECK(SE_FAULT_PROC_KILL);
    int rc = kill(-(c != NULL ? c->pid : g->pgid), signo) < 0 ? -errno : 0;
    if (c != NULL) /* not a group leader yet: the child alone */
        return rc == -ESRCH && signo != 0 ? posix_signal(ctx, child, sig) : rc;
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

/* ---- the wait ----------------------------------------------------------- */

static int
timeout_ms(int64_t deadline_ms)
{
    if (deadline_ms == SE_INT64_NEVER) return -1;
    int64_t left_ns = deadline_ms * 1000000 - now_ns();
    if (left_ns <= 0) return 0;
    int64_t ms = (left_ns + 999999) / 1000000; /* never wake before the deadline */
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

struct evbuf {
    struct se_ev *evs;
    uint32_t max, n;
    bool child;
};

static void
push(struct evbuf *b, struct se_ev ev)
{
    if (b->n < b->max) b->evs[b->n++] = ev;
}

/* Reads signals while there is room; the rest stay pending (level-triggered). */
static void
drain_signals(struct se_os_posix *p, struct evbuf *b)
{
    while (b->n + 1 < b->max) {
        struct signalfd_siginfo si;
        ssize_t r = read(p->sigfd, &si, sizeof si);
        if (r != (ssize_t)sizeof si) return;
        if ((int)si.ssi_signo == SIGCHLD) {
            p->sigchld_scan = true;
            b->child = true;
            continue;
        }
        push(b, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = se__sig_from_posix((int)si.ssi_signo)});
    }
}

static void
dispatch_one(struct se_os_posix *p, const struct epoll_event *e, struct evbuf *b)
{
    uint32_t tag = (uint32_t)(e->data.u64 >> 32), v = (uint32_t)e->data.u64;
    switch (tag) {
    case EP_SIG: drain_signals(p, b); return;
    case EP_EVFD: {
        uint64_t n;
        ssize_t r = read(p->evfd, &n, sizeof n);
        (void)r;
        b->child = true;
        return;
    }
    case EP_PIDFD: {
        struct se_posix_child *c = child_get(p, v);
        if (c != NULL) c->ready = true;
        b->child = true;
        return;
    }
    case EP_WATCH: push(b, (struct se_ev){.kind = SE_EV_READABLE, .fd = (int32_t)v}); return;
    case EP_PARENT:
        /* The parent closed its read end (it died): reported once; the
         * broken pipe would otherwise wake every wait from now on. */
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->parent_hb_fd, NULL);
        push(b, (struct se_ev){.kind = SE_EV_PARENT_GONE});
        return;
    default: return;
    }
}

static int
posix_wait(void *ctx, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max, uint32_t *evs_count)
{
    struct se_os_posix *p = P(ctx);
    SE_ASSERT(evs_max >= 2);
    struct epoll_event ee[EP_BATCH];
    int n;
    do {
        n = epoll_wait(p->epfd, ee, EP_BATCH, timeout_ms(deadline_ms));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    struct evbuf b = {.evs = evs, .max = evs_max};
    for (int i = 0; i < n; i++)
        dispatch_one(p, &ee[i], &b);
    if (b.child) push(&b, (struct se_ev){.kind = SE_EV_CHILD});
    *evs_count = b.n;
    return 0;
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

static void
nofile_reserve(struct se_os_posix *p)
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

static void
nofile_restore(struct se_os_posix *p)
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
    nofile_restore(p); /* user code gets the limit it was started with */
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
    struct se_posix_child *c = child_get(p, t->handle);
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

/* ---- set-up ------------------------------------------------------------- */

static int
mmap_stamps(struct se_os_posix *p)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_MMAP);
    p->stamps_bytes = (size_t)SE_POSIX_CHILDREN_MAX * SE_POSIX_STAMP_STRIDE * sizeof(int64_t);
    void *m =
        mmap(NULL, p->stamps_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -errno;
    p->stamps = m;
    return 0;
}

static int
open_signalfd(struct se_os_posix *p, const sigset_t *set)
{
    SE_FAULT_CHECK(SE_FAULT_SIG_SIGNALFD);
    p->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    return p->sigfd < 0 ? -errno : 0;
}

static int
add_fd(struct se_os_posix *p, int fd, enum ep_tag tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_DATA(tag, 0)};
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int
alloc_lock(struct se_os_posix *p)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_ALLOC);
    pthread_mutex_t *m = malloc(sizeof *m);
    if (m == NULL) return -ENOMEM;
    pthread_mutex_init(m, NULL);
    p->lock = m;
    return 0;
}

static void
fill_methods(struct se_os *os, struct se_os_posix *p)
{
    se__os_posix_fs_fill(os);
    p->fs_close = os->close;
    os->close = posix_close;
    os->version = SE_OS_VERSION;
    os->ctx = p;
    os->random_u32 = posix_random_u32;
    os->wait = posix_wait;
    os->watch = posix_watch;
    os->unwatch = posix_unwatch;
    os->spawn = posix_spawn_;
    os->signal = posix_signal;
    os->reap = posix_reap;
    os->beat_stamp = posix_beat_stamp;
    os->heartbeat = posix_heartbeat;
    os->signal_group = posix_signal_group;
}

static int
open_fds(struct se_os_posix *p, const sigset_t *set)
{
    int rc = alloc_lock(p);
    if (rc == 0) rc = mmap_stamps(p);
    if (rc == 0) {
        p->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (p->epfd < 0) rc = -errno;
    }
    if (rc == 0) rc = open_signalfd(p, set);
    if (rc == 0) {
        p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (p->evfd < 0) rc = -errno;
    }
    if (rc == 0) rc = add_fd(p, p->sigfd, EP_SIG);
    if (rc == 0) rc = add_fd(p, p->evfd, EP_EVFD);
    if (rc == 0 && p->parent_hb_fd >= 0) {
        /* No events asked: a pipe's write end reports EPOLLERR when the
         * reader is gone, so the parent's death wakes us at once. The parent
         * may have died before this: the error is then there already. */
        struct epoll_event ev = {.events = 0, .data.u64 = EP_DATA(EP_PARENT, 0)};
        if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->parent_hb_fd, &ev) < 0) rc = -errno;
    }
    return rc;
}

void
se__posix_forward_to_main(int signo, const siginfo_t *si)
{
    pid_t pid = getpid();
    siginfo_t fwd = *si;
    fwd.si_code = SI_QUEUE;
    syscall(SYS_rt_tgsigqueueinfo, pid, pid, signo, &fwd);
}

/*
 * The loop's handler. On another thread (a thread worker's run, what it
 * started, a thread of the host program) a command signal or SIGCHLD goes
 * to the main thread, which blocks it and reads it from its signalfd;
 * SIGPIPE does nothing there or on the main thread (a closed pipe is EPIPE,
 * as when it was ignored). The main thread runs it for a command only once
 * the adapter unblocked them: the default action, as before the engine. An
 * exec resets every handler to the default.
 */
static void
// cppcheck-suppress constParameter ; the type sigaction's sa_sigaction takes
loop_forward(int signo, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    if (signo == SIGPIPE) {
        /* nothing */
    } else if ((pid_t)syscall(SYS_gettid) != getpid()) {
        se__posix_forward_to_main(signo, si);
    } else {
        signal(signo, SIG_DFL);
        raise(signo);
    }
    errno = saved;
}

/* When the loop is the main thread, the handler above takes the commands,
 * SIGCHLD and SIGPIPE, and thread children unblock everything: a signal
 * that reaches them is passed on, never lost or given its default action
 * in the server. On another thread (an engine embedded in a program's
 * thread) nothing changes: thread children keep the loop's mask. */
static void
loop_forwarding(struct se_os_posix *p)
{
    p->forwarding = (pid_t)syscall(SYS_gettid) == getpid();
    if (!p->forwarding) {
        signal(SIGPIPE, SIG_IGN); /* a write to a closed pipe is -EPIPE, not death */
        return;
    }
    struct sigaction sa = {.sa_sigaction = loop_forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&sa.sa_mask);
    for (uint32_t i = 0; i <= p->sigs_count; i++) {
        int signo = i < p->sigs_count ? se__sig_to_posix(p->sigs[i]) : SIGCHLD;
        sigaction(signo, &sa, &p->saved[i]);
    }
    sigaction(SIGPIPE, &sa, NULL);
}

int
se__os_posix_init(struct se_os *os, struct se_os_posix *p, const enum se_sig *sigs,
                  uint32_t sigs_count, int32_t parent_hb_fd, int64_t *parent_stamp)
{
    SE_ASSERT(sigs_count <= SE_POSIX_SIGNALS_MAX);
    memset(p, 0, sizeof *p);
    p->epfd = p->sigfd = p->evfd = -1;
    p->parent_hb_fd = parent_hb_fd;
    p->parent_stamp = parent_stamp;
    p->next_handle = 1;
    if (getrandom(&p->rng, sizeof p->rng, GRND_NONBLOCK) != (ssize_t)sizeof p->rng)
        p->rng = (uint64_t)now_ns() ^ (uint64_t)getpid();
    p->rng |= 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (uint32_t i = 0; i < sigs_count; i++) {
        p->sigs[p->sigs_count++] = sigs[i];
        sigaddset(&set, se__sig_to_posix(sigs[i]));
    }
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    loop_forwarding(p);
    nofile_reserve(p);
    p->init = getpid() == 1;
    int rc = open_fds(p, &set);
    if (rc < 0) {
        se__os_posix_fini(p);
        return rc;
    }
    fill_methods(os, p);
    return 0;
}

static void
mask_of(const enum se_sig *sigs, uint32_t sigs_count, sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (uint32_t i = 0; i < sigs_count; i++)
        sigaddset(set, se__sig_to_posix(sigs[i]));
}

void
se__sigmask_only(const enum se_sig *sigs, uint32_t sigs_count)
{
    sigset_t set;
    mask_of(sigs, sigs_count, &set);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}

void
se__posix_block_signals(const enum se_sig *sigs, uint32_t sigs_count)
{
    sigset_t set;
    mask_of(sigs, sigs_count, &set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int
se__os_posix_private_fd(struct se_os_posix *p, int32_t fd)
{
    if (fd < 0) return 0;
    if (p->private_count == SE_POSIX_PRIVATE_MAX) return -ENOSPC;
    p->private_fds[p->private_count++] = fd;
    return 0;
}

void
se__os_posix_private_fd_drop(struct se_os_posix *p, int32_t fd)
{
    for (uint32_t i = 0; i < p->private_count; i++) {
        if (p->private_fds[i] == fd) p->private_fds[i] = p->private_fds[--p->private_count];
    }
}

void
se__os_posix_fini(struct se_os_posix *p)
{
    if (p->epfd >= 0) close(p->epfd);
    if (p->sigfd >= 0) close(p->sigfd);
    if (p->evfd >= 0) close(p->evfd);
    p->epfd = p->sigfd = p->evfd = -1;
    if (p->stamps != NULL) munmap(p->stamps, p->stamps_bytes);
    p->stamps = NULL;
    if (p->lock != NULL) {
        pthread_mutex_destroy(p->lock);
        free(p->lock);
        p->lock = NULL;
    }
    nofile_restore(p);
    p->nofile_soft_orig = 0;
    if (p->forwarding) { /* what the commands and SIGCHLD did before; SIGPIPE stays ignored */
        for (uint32_t i = 0; i <= p->sigs_count; i++)
            sigaction(i < p->sigs_count ? se__sig_to_posix(p->sigs[i]) : SIGCHLD, &p->saved[i],
                      NULL);
        signal(SIGPIPE, SIG_IGN);
        p->forwarding = false;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (uint32_t i = 0; i < p->sigs_count; i++)
        sigaddset(&set, se__sig_to_posix(p->sigs[i]));
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
