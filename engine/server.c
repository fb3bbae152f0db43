/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c: the server process. It starts its loop (process.c: the POSIX
 * adapter, the driver, stdout and stderr captured into the log), plugs the
 * user's callbacks into the driver's hooks, and runs the loop until every
 * worker is gone. Below supervisor.c and engine.c; above worker.c.
 * Ruby ServerEngine's Server, MultiWorkerServer and their subclasses; here
 * one driver serves every worker type, only the spawn request differs.
 */
#include <errno.h>
#include <stdlib.h>

#include "logger.h"
#include "server.h"

/* ---- public accessors --------------------------------------------------- */

const struct se_config *
se_server_config(const struct se_server *s)
{
    if (s->loop.driver != NULL) return se__driver_config(s->loop.driver);
    return s->config_from != NULL ? se__driver_config(s->config_from) : s->proc->cfg;
}

struct se_logger *
se_server_logger(struct se_server *s)
{
    return s->proc->logger;
}

void *
se_server_user_data(const struct se_server *s)
{
    return s->user_data;
}

void
se_server_set_user_data(struct se_server *s, void *user_data)
{
    s->user_data = user_data;
}

static void
post(struct se_server *s, enum se_cmd cmd)
{
    /* One byte on a pipe the loop watches: safe from any thread and from a
     * signal handler; errno is kept for the interrupted code. */
    (void)se__posix_post_byte(s->cmd_pipe[1], (unsigned char)cmd);
}

void
se_server_stop(struct se_server *s, bool graceful)
{
    post(s, graceful ? SE_CMD_GRACEFUL_STOP : SE_CMD_IMMEDIATE_STOP);
}

void
se_server_restart(struct se_server *s, bool graceful)
{
    post(s, graceful ? SE_CMD_GRACEFUL_RESTART : SE_CMD_IMMEDIATE_RESTART);
}

void
se_server_reload(struct se_server *s)
{
    post(s, SE_CMD_RELOAD);
}

/* ---- driver hooks -------------------------------------------------------- */

static void
hook_log(void *ud, enum se_log_level level, const char *msg)
{
    struct se_server *s = ud;
    se_log(s->proc->logger, level, "%s", msg);
}

static struct se_worker *
worker_at(struct se_server *s, uint32_t slot)
{
    if (s->workers[slot] == NULL) s->workers[slot] = se__worker_new(s->proc, s, slot);
    return s->workers[slot];
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    struct se_server *s = ud;
    struct se_worker *w = worker_at(s, slot);
    SE_ASSERT(w != NULL);
    const struct se_config *cfg = se__driver_config(s->loop.driver);
    w->cfg = cfg;
    w->stopping = 0;
    __atomic_store_n(&w->running, 1, __ATOMIC_RELEASE);
    if (s->proc->wcb.init != NULL) s->proc->wcb.init(w);
    if (s->proc->wcb.before_fork != NULL) s->proc->wcb.before_fork(w);
    req->arg = w;
    req->fork_prepare = se__proc_fork_prepare;
    req->fork_after = se__logger_fork_unlock;
    req->fork_arg = s->proc->logger;
    switch (cfg->worker_type) {
    case SE_WORKER_SPAWN: se__spawn_prepare(w, cfg, req); break;
    case SE_WORKER_PROCESS:
        req->kind = SE_SPAWN_FORK;
        req->entry = se__worker_process_entry;
        break;
    case SE_WORKER_THREAD:
    case SE_WORKER_EMBEDDED:
        req->kind = SE_SPAWN_THREAD;
        req->entry = se__worker_thread_entry;
        req->heartbeat = false;
        break;
    }
}

static void
hook_spawned(void *ud, uint32_t slot, const struct se_spawn_res *res)
{
    struct se_server *s = ud;
    struct se_worker *w = s->workers[slot];
    w->pid = res->pid;
    if (s->proc->wcb.after_start != NULL) s->proc->wcb.after_start(w);
    if (!s->ready_notified) {
        s->ready_notified = true;
        se__notify(&s->proc->notify, se__driver_config(s->loop.driver), "READY=1");
    }
}

static void
hook_spawn_failed(void *ud, uint32_t slot, int err)
{
    struct se_server *s = ud;
    if (s->workers[slot] != NULL &&
        se__driver_config(s->loop.driver)->worker_type == SE_WORKER_SPAWN)
        se__spawn_failed(s->workers[slot], err);
}

static void
hook_exited(void *ud, uint32_t slot, const struct se_exit *ex)
{
    struct se_server *s = ud;
    (void)ex;
    struct se_worker *w = s->workers[slot];
    if (w == NULL) return;
    __atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
    if (s->proc->wcb.finalize != NULL) s->proc->wcb.finalize(w);
}

static void
hook_stop_worker(void *ud, uint32_t slot, bool graceful)
{
    struct se_server *s = ud;
    struct se_worker *w = s->workers[slot];
    (void)graceful; /* threads have no immediate stop (serverengine(3), WORKER TYPES) */
    if (w == NULL || __atomic_exchange_n(&w->stopping, 1, __ATOMIC_ACQ_REL)) return;
    if (s->proc->wcb.stop != NULL) s->proc->wcb.stop(w);
}

static void
hook_reload_worker(void *ud, uint32_t slot)
{
    struct se_server *s = ud;
    struct se_worker *w = s->workers[slot];
    if (w == NULL) return;
    w->cfg = se__driver_config(s->loop.driver);
    if (s->proc->wcb.reload != NULL) s->proc->wcb.reload(w);
}

static int
hook_load_config(void *ud, struct se_config **out, char *err, size_t err_size)
{
    struct se_server *s = ud;
    se__notify(&s->proc->notify, se__driver_config(s->loop.driver), "RELOADING=1");
    return se__proc_load_config(s->proc, out, err, err_size);
}

/* Thread workers may read the old configuration until the next reload: it
 * is kept that long (se_worker_config's documented lifetime). */
static void
hook_retire_config(void *ud, struct se_config *old)
{
    struct se_server *s = ud;
    se_config_free(s->retired);
    s->retired = old;
}

static void
hook_config_applied(void *ud, const struct se_config *cfg)
{
    struct se_server *s = ud;
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++) {
        if (s->workers[i] != NULL) __atomic_store_n(&s->workers[i]->cfg, cfg, __ATOMIC_RELEASE);
    }
    se__proc_reload_logger(s->proc, cfg);
    if (s->proc->scb.reload_config != NULL) s->proc->scb.reload_config(s);
    se__notify(&s->proc->notify, cfg, "READY=1");
}

static void
hook_reload_failed(void *ud, const char *why)
{
    struct se_server *s = ud;
    se__notify_reload_refused(&s->proc->notify, se__driver_config(s->loop.driver), why);
}

static void
hook_command(void *ud, enum se_cmd cmd)
{
    struct se_server *s = ud;
    const struct se_config *cfg = se__driver_config(s->loop.driver);
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_IMMEDIATE_STOP:
    case SE_CMD_DETACH:
        se__notify_stopping(&s->proc->notify, cfg);
        if (s->proc->scb.stop != NULL) s->proc->scb.stop(s, cmd != SE_CMD_IMMEDIATE_STOP);
        return;
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_IMMEDIATE_RESTART:
        if (s->proc->scb.restart != NULL) s->proc->scb.restart(s, cmd == SE_CMD_GRACEFUL_RESTART);
        return;
    case SE_CMD_RELOAD: se_logger_reopen(s->proc->logger); return;
    case SE_CMD_DUMP:
        if (!cfg->disable_sigdump)
            se__sigdump(s->proc->logger,
                        s->status != NULL ? se__status_text(s->status, s->loop.driver) : NULL);
        return;
    case SE_CMD_NONE:
    case SE_CMD_COUNT: return;
    }
}

static void
hook_periodic(void *ud)
{
    struct se_server *s = ud;
    se__notify(&s->proc->notify, se__driver_config(s->loop.driver), "WATCHDOG=1");
}

/* The commands posted on s's pipe, to d. */
static void
read_commands(struct se_server *s, int32_t fd, struct se_driver *d)
{
    unsigned char buf[64];
    size_t n = 0;
    if (s->loop.os.read(s->loop.os.ctx, fd, buf, sizeof buf, &n) < 0) return;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] > SE_CMD_NONE && buf[i] < SE_CMD_COUNT)
            se__driver_command(d, (enum se_cmd)buf[i]);
    }
}

int
se__server_view_attach(struct se_server *view, const struct se_os *os, const struct se_driver *d)
{
    view->loop.os = *os; /* borrowed: closes the pipe, freed after the view */
    view->config_from = d;
    int rc = se__posix_pipe(view->cmd_pipe);
    if (rc < 0) return rc;
    return os->watch(os->ctx, view->cmd_pipe[0]);
}

bool
se__server_view_readable(struct se_server *view, int32_t fd, struct se_driver *d)
{
    if (fd != view->cmd_pipe[0]) return false;
    read_commands(view, fd, d);
    return true;
}

static void
hook_readable(void *ud, int32_t fd)
{
    struct se_server *s = ud;
    if (s->sockmgr != NULL && fd == s->sockmgr->lfd) {
        se__sockmgr_serve(s->sockmgr, s->proc->logger);
        return;
    }
    if (s->status != NULL && fd == s->status->lfd) {
        se__status_serve(s->status, s->loop.driver, s->proc->logger);
        return;
    }
    if (se__cmdin_readable(s, fd)) return;
    if (fd == s->cmd_pipe[0]) {
        read_commands(s, fd, s->loop.driver);
        return;
    }
    se__loop_readable(s->proc, &s->loop, fd);
}

/* ---- set-up ------------------------------------------------------------- */

static int
open_cmd_pipe(struct se_server *s)
{
    int rc = se__posix_pipe(s->cmd_pipe);
    if (rc < 0) return rc;
    return s->loop.os.watch(s->loop.os.ctx, s->cmd_pipe[0]);
}

struct se_server *
se__server_new(struct se_proc *p)
{
    struct se_server *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->proc = p;
    s->user_data = p->user_data;
    s->cmd_pipe[0] = s->cmd_pipe[1] = -1;
    s->loop.capture_fds[0] = s->loop.capture_fds[1] = -1;
    s->cmdin_fd = -1;
    return s;
}

void
se__server_free(struct se_server *s)
{
    if (s == NULL) return;
    se__cmdin_close(s);
    se__driver_free(s->loop.driver);
    s->loop.driver = NULL;
    se__status_free(s->status);
    if (s->sockmgr != NULL) se__sockmgr_stop(s->sockmgr);
    free(s->sockmgr);
    for (int i = 0; i < 2; i++) {
        if (s->cmd_pipe[i] >= 0) s->loop.os.close(s->loop.os.ctx, s->cmd_pipe[i]);
    }
    se__loop_free(s->proc, &s->loop);
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++)
        se__worker_free(s->workers[i]);
    se_config_free(s->retired);
    free(s);
}

static const struct se_driver_hooks server_hooks = {
    .log = hook_log,
    .prepare_spawn = hook_prepare_spawn,
    .spawned = hook_spawned,
    .exited = hook_exited,
    .stop_worker = hook_stop_worker,
    .reload_worker = hook_reload_worker,
    .load_config = hook_load_config,
    .retire_config = hook_retire_config,
    .config_applied = hook_config_applied,
    .reload_failed = hook_reload_failed,
    .command = hook_command,
    .readable = hook_readable,
    .periodic = hook_periodic,
    .spawn_failed = hook_spawn_failed,
};

/* How often the server stamps its beat for the supervisor: often enough to
 * be judged on time (the stamp is exact), rarely enough that an idle server
 * does not wake for it: a quarter of the timeout, not less than the interval. */
static int64_t
self_beat_interval_ms(const struct se_config *cfg)
{
    if (cfg->worker_heartbeat_timeout_ms < 0) return 0;
    return se_max_ms(cfg->worker_heartbeat_interval_ms, cfg->worker_heartbeat_timeout_ms / 4);
}

/* Before the workers: they inherit its path in their environment. */
static int
start_sockmgr(struct se_server *s)
{
    s->sockmgr = calloc(1, sizeof *s->sockmgr);
    if (s->sockmgr == NULL) return -ENOMEM;
    int rc = se__sockmgr_start(s->sockmgr);
    if (rc == 0) rc = s->loop.os.watch(s->loop.os.ctx, s->sockmgr->lfd);
    return rc;
}

static void
server_stop_hook(void *ud)
{
    se_server_stop(ud, true);
}

static int
server_setup(struct se_server *s, int32_t parent_hb_fd, int64_t *parent_stamp)
{
    struct se_proc *p = s->proc;
    struct se_driver_hooks hooks = server_hooks;
    hooks.ud = s;
    bool supervised = parent_hb_fd >= 0;
    int rc = se__loop_start(p, &s->loop, SE_ROLE_SERVER, &hooks, parent_hb_fd, parent_stamp,
                            !supervised);
    if (rc < 0) return rc;
    rc = open_cmd_pipe(s);
    if (rc < 0) return rc;
    p->stop_hook = server_stop_hook;
    p->stop_ud = s;
    if (p->cfg->socket_manager) rc = start_sockmgr(s);
    if (rc < 0) return rc;
    rc = se__cmdin_open(s, p->cfg, supervised);
    if (rc < 0) return rc;
    if (supervised)
        se__driver_set_self_beat(s->loop.driver, self_beat_interval_ms(p->cfg));
    else
        se__driver_set_periodic(s->loop.driver, se__notify_watchdog_ms(&p->notify, p->cfg));
    return 0;
}

/* The status socket (status.h), made by the engine before the privilege
 * drop and inherited: answered from this loop. Without it (the engine
 * logged why) no status is served. */
static void
start_status(struct se_server *s, bool supervised)
{
    struct se_proc *p = s->proc;
    if (!p->status_sock.open) return;
    struct se_os *os = &s->loop.os;
    s->status =
        se__status_new(p->status_sock.fd, (int32_t)getpid(), supervised ? (int32_t)getppid() : 0,
                       p->config_path, (uint32_t)p->overrides_count, os->monotonic_ms(os->ctx));
    int rc = s->status == NULL ? -ENOMEM : os->watch(os->ctx, s->status->lfd);
    if (rc == 0) return;
    se__proc_log(p, SE_LOG_WARN, "Status is not served: %s", se_strerror(rc));
    se__status_free(s->status);
    s->status = NULL;
}

static void
stop_status(struct se_server *s)
{
    if (s->status == NULL) return; /* the loop is done: nothing to answer from */
    s->loop.os.unwatch(s->loop.os.ctx, s->status->lfd);
    se__status_free(s->status);
    s->status = NULL;
}

int
se__server_main(struct se_proc *p, int32_t parent_hb_fd, int64_t *parent_stamp,
                struct se_server **keep)
{
    struct se_server *s = se__server_new(p);
    if (s == NULL) return 1;
    *keep = s;
    if (p->cfg->server_process_name[0] != '\0' && parent_hb_fd >= 0)
        se__proctitle_set(&p->title, "%s", p->cfg->server_process_name);
    int rc = server_setup(s, parent_hb_fd, parent_stamp);
    if (rc < 0) {
        se__proc_log(p, SE_LOG_FATAL, "The server cannot start: %s", se_strerror(rc));
        return 1;
    }
    if (p->scb.init != NULL && (rc = p->scb.init(s)) != 0) return rc;
    if (p->scb.before_run != NULL && (rc = p->scb.before_run(s)) != 0) return rc;
    /* Ready: the loop runs from here. Workers that fail to start are retried
     * by it, they do not make the start fail. */
    start_status(s, parent_hb_fd >= 0);
    se__proc_report_ready(p, true, NULL);
    int32_t status = 0;
    rc = se__driver_run(s->loop.driver, &status);
    stop_status(s);
    if (p->scb.after_run != NULL) p->scb.after_run(s);
    se__notify_stopping(&p->notify, se__driver_config(s->loop.driver));
    if (rc < 0) return 1;
    se__proc_log(p, SE_LOG_INFO, "Server exits with status %d", status);
    return status;
}
