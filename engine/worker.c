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
 * thread or embedded worker is `run` on a thread of the server. The
 * helper's waits are the adapter's (os_posix_worker.c), its decisions a
 * pure machine (sm_whelper.c); this file carries them out.
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
    struct se_whelper m;       /* its decisions (sm_whelper.c) */
    int status;                /* run's value */
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
    char err[SE_MSG_MAX] = "";
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

/* Carries out the machine's actions; false once the helper is done (run
 * returned). An orphan's exit does not return. */
static bool
apply(struct helper *h, uint32_t acts)
{
    struct se_worker *w = h->w;
    if (acts & SE_WH_BEAT) se__beat_stamp_write(w->stamp);
    if (acts & SE_WH_ORPHANED) /* nobody would stop or restart this worker */
        se__proc_log(w->proc, SE_LOG_ERROR,
                     "Worker %u: the server process is gone (heartbeat pipe closed); stopping",
                     w->id);
    if (acts & SE_WH_STOP) call_stop(w);
    if (acts & SE_WH_RELOAD) worker_reload(w);
    if (acts & SE_WH_DUMP) se__sigdump(w->proc->logger, NULL);
    if (acts & SE_WH_EXIT) {
        se__proc_log(w->proc, SE_LOG_ERROR, "Worker %u exits: its server is gone", w->id);
        fflush(NULL);
        _exit(1);
    }
    return (acts & SE_WH_RETURN) == 0;
}

static bool
step(struct helper *h, struct se_wh_in in)
{
    return apply(h, se__wh_step(&h->m, &in, se__posix_mono_ms()));
}

/* The signals read from the signalfd, each as its command. */
static void
take_signals(struct helper *h)
{
    struct se_worker *w = h->w;
    enum se_sig sig = SE_SIG_NONE;
    int32_t sender = 0;
    while (se__posix_helper_signal(&h->os, &sig, &sender) == 1) {
        struct se_wh_in in = {.kind = SE_WH_SIGNAL,
                              .cmd = se__config_signal_cmd(w->cfg, sig),
                              .from_server = sender == w->server_pid,
                              .dump_enabled = !w->cfg->disable_sigdump};
        step(h, in);
    }
}

/* The helper's loop, on the worker's main thread, until run returns: it
 * waits until the machine's deadline or an event, and feeds it what came. */
static int
helper_loop(struct helper *h)
{
    struct se_worker *w = h->w;
    for (;;) {
        int64_t deadline = se__wh_deadline_ms(&h->m);
        int64_t timeout =
            deadline == SE_INT64_NEVER ? -1 : se_max_ms(0, deadline - se__posix_mono_ms());
        int32_t hb_fd = se__wh_watch_parent(&h->m) ? w->hb_fd : -1;
        uint32_t what = 0;
        int rc = se__posix_helper_wait(&h->os, hb_fd, timeout, &what);
        if (rc < 0) return rc;
        if ((what & SE_HELPER_DONE) && !step(h, (struct se_wh_in){.kind = SE_WH_RUN_DONE}))
            return 0;
        if (what & SE_HELPER_PARENT_GONE) step(h, (struct se_wh_in){.kind = SE_WH_PARENT_GONE});
        if (what & SE_HELPER_SIGNAL) take_signals(h);
        step(h, (struct se_wh_in){.kind = SE_WH_TIMER});
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
    se__wh_init(&h->m, w->cfg->worker_heartbeat_manual, w->cfg->worker_heartbeat_interval_ms,
                se__posix_mono_ms());
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
