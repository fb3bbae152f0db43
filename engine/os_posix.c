/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix.c: the production OS adapter for Linux: its set-up, the event
 * wait, signals, its own heartbeat, the method table. The children (spawn,
 * the child table, reaping, signalling) are os_posix_proc.c's.
 *
 * One blocking call, epoll_wait, on: a signalfd for the signals the engine
 * handles (handlers never run: signals are blocked and read as data), a
 * pidfd per child (readable when it exits, so a crash is seen at once), an
 * eventfd for thread children, the descriptors the driver watches, and the
 * write end of this process's own heartbeat pipe to its parent (EPOLLERR:
 * the parent is gone, reported at once as SE_EV_PARENT_GONE).
 * Heartbeats are stamps in a shared page: a child writes its monotonic time,
 * the parent reads it only at its deadline and never wakes for a beat.
 * Every call passes its fault point first (faults/points.def); libfiu fails
 * them in -DFIU_ENABLE=1 builds.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os_posix_int.h"
#include "se_fault.h"

#define EP_BATCH 32

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
        struct se_posix_child *c = se__posix_child_get(p, v);
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
    os->heartbeat = posix_heartbeat;
    se__posix_proc_fill(os); /* spawn, signal, signal_group, reap, beat_stamp */
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
    se__posix_nofile_reserve(p);
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
    se__posix_nofile_restore(p);
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
