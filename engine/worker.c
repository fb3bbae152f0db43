/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.c: the worker's side. A process worker is a forked child that
 * leads a process group of its own. Its main thread is the helper: it waits
 * on a signalfd (stop, restart, detach, reload, dump), on the heartbeat pipe
 * (POLLERR: the server is gone), on the next beat (auto mode) and on the end
 * of `run`, which works on a thread of its own with an empty signal mask
 * and default dispositions, so that whatever it starts (system(), popen(),
 * fork and exec) starts with a clean signal state. The immediate signals
 * (QUIT, HUP) keep their default action: they end the child at once. A
 * thread or embedded worker is `run` on a thread of the server.
 * Ruby ServerEngine's Worker#install_signal_handlers, HeartbeatThread and
 * MultiProcessServer#start_worker.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"

/* ---- public accessors --------------------------------------------------- */

uint32_t
se_worker_id(const struct se_worker *w)
{
    return w->id;
}

struct se_server *
se_worker_server(struct se_worker *w)
{
    return w->server;
}

const struct se_config *
se_worker_config(const struct se_worker *w)
{
    /* the helper thread swaps it on reload while run reads it */
    return __atomic_load_n(&w->cfg, __ATOMIC_ACQUIRE);
}

struct se_logger *
se_worker_logger(struct se_worker *w)
{
    return w->server->e->logger;
}

void *
se_worker_user_data(const struct se_worker *w)
{
    return w->user_data;
}

void
se_worker_set_user_data(struct se_worker *w, void *user_data)
{
    w->user_data = user_data;
}

int
se_worker_heartbeat(struct se_worker *w)
{
    if (w->stamp != NULL) se__beat_stamp_write(w->stamp);
    if (w->hb_fd < 0) return 0;
    struct pollfd pfd = {.fd = w->hb_fd, .events = 0};
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP))) return -EPIPE;
    return 0;
}

struct se_worker *
se__worker_new(struct se_server *s, uint32_t id)
{
    struct se_worker *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->server = s;
    w->id = id;
    w->hb_fd = -1;
    return w;
}

void
se__worker_free(struct se_worker *w)
{
    if (w == NULL) return;
    se_config_free(w->own_cfg);
    se_config_free(w->own_retired);
    free(w);
}

/* ---- thread and embedded workers ---------------------------------------- */

int
se__worker_thread_entry(void *arg, const struct se_child_ctx *cc)
{
    struct se_worker *w = arg;
    (void)cc;
    se__logger_set_worker(w->server->e->logger, w->id); /* this thread's lines */
    int status = w->server->e->wcb.run(w);
    se__logger_set_worker(w->server->e->logger, SE_LOG_WORKER_NONE);
    __atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
    return status;
}

/* ---- process workers ---------------------------------------------------- */

#define SE_HELPER_STACK_BYTES ((size_t)256 * 1024)

#define SE_DUMP_AFTER_STOP_MS 5000

struct helper {
    struct se_worker *w;
    int sigfd;
    int done_fd; /* eventfd: run has returned */
    int status;  /* run's value */
    bool manual;
    int64_t interval_ms;
    int64_t stop_at_ms; /* when a stop request came (0: none) */
};

static void
call_stop(struct se_worker *w)
{
    if (__atomic_exchange_n(&w->stopping, 1, __ATOMIC_ACQ_REL)) return;
    if (w->server->e->wcb.stop != NULL) w->server->e->wcb.stop(w);
}

/* USR2: the worker re-reads the configuration from the same sources itself,
 * so that it runs with the new values (Ruby's forked workers keep the old). */
static void
worker_reload(struct se_worker *w)
{
    struct se_engine *e = w->server->e;
    char err[512] = "";
    struct se_config *next = NULL;
    int rc = se__engine_load_config(e, &next, err, sizeof err);
    if (rc < 0) {
        se__engine_log(e, SE_LOG_ERROR, "Worker %u: reload failed, keeping the configuration: %s",
                       w->id, err);
        return;
    }
    se__config_keep_static(next, w->cfg);
    se_config_free(w->own_retired); /* readers had a whole reload to let go of it */
    w->own_retired = w->own_cfg;
    w->own_cfg = next;
    __atomic_store_n(&w->cfg, next, __ATOMIC_RELEASE);
    se__engine_apply_logger(e, next);
    se_logger_reopen(e->logger);
    if (e->wcb.reload != NULL) e->wcb.reload(w);
}

/* CONT is a dump request, except when the server sends it (kill escalation
 * follows every QUIT with CONT to wake a stopped worker) and within 5 s of a
 * stop request (service managers send CONT after TERM): serverengine(3), SIGNALS. */
static bool
is_dump_request(const struct helper *h, const struct signalfd_siginfo *si)
{
    if ((int32_t)si->ssi_pid == h->w->server_pid) return false;
    return h->stop_at_ms == 0 || se__posix_mono_ms() - h->stop_at_ms >= SE_DUMP_AFTER_STOP_MS;
}

static void
on_signal(struct helper *h, const struct signalfd_siginfo *si)
{
    struct se_worker *w = h->w;
    enum se_cmd cmd = se__config_signal_cmd(w->cfg, se__sig_from_posix((int)si->ssi_signo));
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_DETACH:
        h->stop_at_ms = se__posix_mono_ms();
        call_stop(w);
        return;
    case SE_CMD_RELOAD: worker_reload(w); return;
    case SE_CMD_DUMP:
        if (!w->cfg->disable_sigdump && is_dump_request(h, si)) se__sigdump(w->server->e->logger);
        return;
    case SE_CMD_IMMEDIATE_STOP:
    case SE_CMD_IMMEDIATE_RESTART:
    case SE_CMD_NONE:
    case SE_CMD_COUNT: return;
    }
}

/* The server is gone: nobody would stop or restart this worker. */
static SE_NORETURN void
orphaned(struct se_worker *w)
{
    struct se_engine *e = w->server->e;
    se__engine_log(e, SE_LOG_ERROR,
                   "Worker %u: the server process is gone (heartbeat pipe "
                   "closed); stopping",
                   w->id);
    call_stop(w);
    int64_t until = se__posix_mono_ms() + SE_STOP_GRACE_MS;
    while (__atomic_load_n(&w->running, __ATOMIC_ACQUIRE) && se__posix_mono_ms() < until) {
        struct timespec ts = {0, 20L * 1000000L}; /* polls a real condition, bounded */
        nanosleep(&ts, NULL);
    }
    se__engine_log(e, SE_LOG_ERROR, "Worker %u exits: its server is gone", w->id);
    fflush(NULL);
    _exit(1);
}

/* The helper's loop, on the worker's main thread, until run returns. */
static int
helper_loop(struct helper *h)
{
    struct se_worker *w = h->w;
    int64_t next_beat = se__posix_mono_ms() + h->interval_ms;
    for (;;) {
        int timeout = -1;
        if (!h->manual)
            timeout = (int)se_max_ms(0, se_min_ms(next_beat - se__posix_mono_ms(), INT32_MAX));
        struct pollfd pfd[3] = {{.fd = h->done_fd, .events = POLLIN},
                                {.fd = h->sigfd, .events = POLLIN},
                                {.fd = w->hb_fd, .events = 0}};
        int n = poll(pfd, w->hb_fd >= 0 ? 3 : 2, timeout);
        if (n < 0 && errno != EINTR) return -errno;
        if (n > 0 && (pfd[0].revents & POLLIN)) return 0;
        if (n > 0 && (pfd[2].revents & (POLLERR | POLLHUP))) orphaned(w);
        if (n > 0 && (pfd[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(h->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                on_signal(h, &si);
        }
        if (!h->manual && se__posix_mono_ms() >= next_beat) {
            se__beat_stamp_write(w->stamp);
            next_beat = se__posix_mono_ms() + h->interval_ms;
        }
    }
}

/*
 * A command signal that reached a thread other than the helper (run's, or
 * one run started: they block nothing) is passed on to the helper, the main
 * thread (its thread id is the pid), with its sender kept (SI_QUEUE may
 * carry any si_pid within the process; CONT from the server is told apart
 * by it). In a process forked from run without exec, the only thread is the
 * main one and it blocks nothing: the signal gets its default action there,
 * as if the engine had never been in the process. SIGPIPE in a worker
 * thread does nothing (a closed pipe is EPIPE, not death); an exec resets
 * every handler to the default. Async-signal-safe; errno kept.
 */
static void
// cppcheck-suppress constParameter ; the type sigaction's sa_sigaction takes
forward_signal(int signo, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    pid_t pid = getpid();
    if ((pid_t)syscall(SYS_gettid) == pid) {
        signal(signo, SIG_DFL);
        raise(signo);
    } else if (signo != SIGPIPE) {
        siginfo_t fwd = *si;
        fwd.si_code = SI_QUEUE;
        syscall(SYS_rt_tgsigqueueinfo, pid, pid, signo, &fwd);
    }
    errno = saved;
}

/* Every signal to its default action (whatever the server or the program
 * that started it had ignored), then the forwarding handler for the
 * commands the helper reads and for SIGPIPE. */
static void
worker_dispositions(const sigset_t *handled)
{
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
    }
    struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&sa.sa_mask);
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGPIPE || sigismember(handled, signo) == 1) sigaction(signo, &sa, NULL);
    }
}

/* The signals of the commands the helper handles; the immediate ones keep
 * their default action (QUIT and HUP end the process at once). */
static int
worker_signals(const struct se_config *cfg, sigset_t *handled)
{
    sigemptyset(handled);
    const enum se_cmd cmds[] = {SE_CMD_GRACEFUL_STOP, SE_CMD_GRACEFUL_RESTART, SE_CMD_DETACH,
                                SE_CMD_RELOAD, SE_CMD_DUMP};
    for (size_t i = 0; i < SE_ARRAY_LEN(cmds); i++) {
        int signo = se__sig_to_posix(se__config_cmd_signal(cfg, cmds[i]));
        if (signo > 0) sigaddset(handled, signo);
    }
    worker_dispositions(handled);
    /* the fork left every signal blocked: nothing was lost in between; the
     * main thread keeps the commands blocked for its signalfd */
    pthread_sigmask(SIG_SETMASK, handled, NULL);
    int fd = signalfd(-1, handled, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

static void *
run_main(void *arg)
{
    struct helper *h = arg;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL); /* user code: nothing blocked */
    h->status = h->w->server->e->wcb.run(h->w);
    __atomic_store_n(&h->w->running, 0, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t r = write(h->done_fd, &one, sizeof one);
    (void)r;
    return NULL;
}

/* Runs `run` on its own thread (the default stack size, as a main thread's
 * rlimit gives) while this thread is the helper; returns run's value. */
static int
run_with_helper(struct se_worker *w, struct helper *h)
{
    sigset_t handled;
    h->w = w;
    h->sigfd = worker_signals(w->cfg, &handled);
    if (h->sigfd < 0) return h->sigfd;
    h->done_fd = eventfd(0, EFD_CLOEXEC);
    if (h->done_fd < 0) return -errno;
    h->manual = w->cfg->worker_heartbeat_manual;
    h->interval_ms = se_max_ms(1, w->cfg->worker_heartbeat_interval_ms);
    pthread_t t;
    int rc = -pthread_create(&t, NULL, run_main, h);
    if (rc < 0) return rc;
    rc = helper_loop(h);
    if (rc < 0) return rc; /* poll itself failed: nothing to wait on */
    pthread_join(t, NULL);
    return 0;
}

int
se__worker_process_entry(void *arg, const struct se_child_ctx *cc)
{
    struct se_worker *w = arg;
    struct se_engine *e = w->server->e;
    /* Its own process group first, before it can start anything: what run
     * starts stays in it, and goes with the worker (worker_kill_process_group). */
    setpgid(0, 0);
    w->in_child = true;
    se__logger_set_process_worker(e->logger, w->id); /* every line of this child */
    w->server_pid = cc->parent_pid;
    w->hb_fd = cc->heartbeat_fd;
    w->stamp = cc->heartbeat_ms;
    w->pid = (int32_t)getpid();
    if (w->cfg->worker_process_name[0] != '\0')
        se__proctitle_set(&e->title, w->cfg->worker_process_name, w->id);

    struct helper h = {.sigfd = -1, .done_fd = -1};
    int rc = run_with_helper(w, &h);
    if (rc < 0) {
        se__engine_log(e, SE_LOG_FATAL, "Worker %u cannot run: %s", w->id, se_strerror(rc));
        return 1;
    }
    return h.status;
}
