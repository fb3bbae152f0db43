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
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "logger.h"
#include "worker.h"

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
    return w->proc->logger;
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
    return se__posix_pipe_broken(w->hb_fd) ? -EPIPE : 0;
}

struct se_worker *
se__worker_new(struct se_proc *p, struct se_server *s, uint32_t id)
{
    struct se_worker *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->proc = p;
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
    se__logger_set_worker(w->proc->logger, w->id); /* this thread's lines */
    int status = w->proc->wcb.run(w);
    se__logger_set_worker(w->proc->logger, SE_LOG_WORKER_NONE);
    __atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
    return status;
}

/* ---- process workers ---------------------------------------------------- */

struct helper {
    struct se_worker *w;
    struct se_posix_helper os; /* its waits (os_posix_worker.c) */
    int status;                /* run's value */
    bool manual;
    int64_t interval_ms;
    int64_t stop_at_ms; /* when a stop request came (0: none) */
};

static void
call_stop(struct se_worker *w)
{
    if (__atomic_exchange_n(&w->stopping, 1, __ATOMIC_ACQ_REL)) return;
    if (w->proc->wcb.stop != NULL) w->proc->wcb.stop(w);
}

/* USR2: the worker re-reads the configuration from the same sources itself,
 * so that it runs with the new values (Ruby's forked workers keep the old). */
static void
worker_reload(struct se_worker *w)
{
    struct se_proc *p = w->proc;
    char err[512] = "";
    struct se_config *next = NULL;
    int rc = se__proc_load_config(p, &next, err, sizeof err);
    if (rc < 0) {
        se__proc_log(p, SE_LOG_ERROR, "Worker %u: reload failed, keeping the configuration: %s",
                     w->id, err);
        return;
    }
    se__config_keep_static(next, w->cfg);
    se_config_free(w->own_retired); /* readers had a whole reload to let go of it */
    w->own_retired = w->own_cfg;
    w->own_cfg = next;
    __atomic_store_n(&w->cfg, next, __ATOMIC_RELEASE);
    se__proc_apply_logger(p, next);
    se_logger_reopen(p->logger);
    if (p->wcb.reload != NULL) p->wcb.reload(w);
}

/* CONT is a dump request, except when the server sends it (kill escalation
 * follows every QUIT with CONT to wake a stopped worker) and within 5 s of a
 * stop request (service managers send CONT after TERM): serverengine(3), SIGNALS. */
static bool
is_dump_request(const struct helper *h, int32_t sender_pid)
{
    if (sender_pid == h->w->server_pid) return false;
    return h->stop_at_ms == 0 || se__posix_mono_ms() - h->stop_at_ms >= SE_DUMP_AFTER_STOP_MS;
}

static void
on_signal(struct helper *h, enum se_sig sig, int32_t sender_pid)
{
    struct se_worker *w = h->w;
    enum se_cmd cmd = se__config_signal_cmd(w->cfg, sig);
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_DETACH:
        h->stop_at_ms = se__posix_mono_ms();
        call_stop(w);
        return;
    case SE_CMD_RELOAD: worker_reload(w); return;
    case SE_CMD_DUMP:
        if (!w->cfg->disable_sigdump && is_dump_request(h, sender_pid))
            se__sigdump(w->proc->logger);
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
    struct se_proc *p = w->proc;
    se__proc_log(p, SE_LOG_ERROR,
                 "Worker %u: the server process is gone (heartbeat pipe "
                 "closed); stopping",
                 w->id);
    call_stop(w);
    int64_t until = se__posix_mono_ms() + SE_STOP_GRACE_MS;
    while (__atomic_load_n(&w->running, __ATOMIC_ACQUIRE) && se__posix_mono_ms() < until)
        se__posix_sleep_ms(20); /* polls a real condition, bounded */
    se__proc_log(p, SE_LOG_ERROR, "Worker %u exits: its server is gone", w->id);
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
        int64_t timeout = h->manual ? -1 : se_max_ms(0, next_beat - se__posix_mono_ms());
        uint32_t what = 0;
        int rc = se__posix_helper_wait(&h->os, w->hb_fd, timeout, &what);
        if (rc < 0) return rc;
        if (what & SE_HELPER_DONE) return 0;
        if (what & SE_HELPER_PARENT_GONE) orphaned(w);
        if (what & SE_HELPER_SIGNAL) {
            enum se_sig sig = SE_SIG_NONE;
            int32_t sender = 0;
            while (se__posix_helper_signal(&h->os, &sig, &sender) == 1)
                on_signal(h, sig, sender);
        }
        if (!h->manual && se__posix_mono_ms() >= next_beat) {
            se__beat_stamp_write(w->stamp);
            next_beat = se__posix_mono_ms() + h->interval_ms;
        }
    }
}

/* The signals of the commands the helper handles; the immediate ones keep
 * their default action (QUIT and HUP end the process at once). */
static uint32_t
worker_signals(const struct se_config *cfg, enum se_sig *sigs)
{
    const enum se_cmd cmds[] = {SE_CMD_GRACEFUL_STOP, SE_CMD_GRACEFUL_RESTART, SE_CMD_DETACH,
                                SE_CMD_RELOAD, SE_CMD_DUMP};
    uint32_t n = 0;
    for (size_t i = 0; i < SE_ARRAY_LEN(cmds); i++) {
        enum se_sig sig = se__config_cmd_signal(cfg, cmds[i]);
        if (sig != SE_SIG_NONE) sigs[n++] = sig;
    }
    return n;
}

static void
run_main(void *arg)
{
    struct helper *h = arg;
    h->status = h->w->proc->wcb.run(h->w);
    __atomic_store_n(&h->w->running, 0, __ATOMIC_RELEASE);
}

/* Runs `run` on its own thread (the default stack size, as a main thread's
 * rlimit gives) while this thread is the helper; returns run's value. */
static int
run_with_helper(struct se_worker *w, struct helper *h)
{
    enum se_sig sigs[SE_CMD_COUNT];
    h->w = w;
    int rc = se__posix_helper_open(&h->os, sigs, worker_signals(w->cfg, sigs));
    if (rc < 0) return rc;
    h->manual = w->cfg->worker_heartbeat_manual;
    h->interval_ms = se_max_ms(1, w->cfg->worker_heartbeat_interval_ms);
    rc = se__posix_helper_start(&h->os, run_main, h);
    if (rc < 0) return rc;
    rc = helper_loop(h);
    if (rc < 0) return rc; /* the wait itself failed: nothing to wait on */
    se__posix_helper_join(&h->os);
    return 0;
}

int
se__worker_process_entry(void *arg, const struct se_child_ctx *cc)
{
    struct se_worker *w = arg;
    struct se_proc *p = w->proc;
    w->in_child = true;
    se__logger_set_process_worker(p->logger, w->id); /* every line of this child */
    w->server_pid = cc->parent_pid;
    w->hb_fd = cc->heartbeat_fd;
    w->stamp = cc->heartbeat_ms;
    w->pid = se__posix_pid();
    if (w->cfg->worker_process_name[0] != '\0')
        se__proctitle_set(&p->title, w->cfg->worker_process_name, w->id);

    struct helper h = {.os = {.sigfd = -1, .done_fd = -1}};
    int rc = run_with_helper(w, &h);
    if (rc < 0) {
        se__proc_log(p, SE_LOG_FATAL, "Worker %u cannot run: %s", w->id, se_strerror(rc));
        return 1;
    }
    return h.status;
}
