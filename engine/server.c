/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c: the server process. It builds the POSIX adapter and the driver,
 * plugs the user's callbacks into the driver's hooks, captures stdout and
 * stderr into the log, and runs the loop until every worker is gone.
 * Ruby ServerEngine's Server, MultiWorkerServer and their subclasses; here
 * one driver serves every worker type, only the spawn request differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "logger.h"
#include "status.h"

/* ---- the signals that are commands -------------------------------------- */

uint32_t
se__command_signals(const struct se_config *cfg, enum se_sig *sigs, uint32_t max)
{
    uint32_t n = 0;
    for (int c = SE_CMD_GRACEFUL_STOP; c < SE_CMD_COUNT && n < max; c++) {
        enum se_sig s = se__config_cmd_signal(cfg, (enum se_cmd)c);
        if (s != SE_SIG_NONE) sigs[n++] = s;
    }
    return n;
}

/* ---- public accessors --------------------------------------------------- */

const struct se_config *
se_server_config(const struct se_server *s)
{
    return s->driver != NULL ? se__driver_config(s->driver) : s->e->cfg;
}

struct se_logger *
se_server_logger(struct se_server *s)
{
    return s->e->logger;
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
    int saved = errno;
    unsigned char b = (unsigned char)cmd;
    if (s->cmd_pipe[1] >= 0) {
        ssize_t w = write(s->cmd_pipe[1], &b, 1);
        (void)w;
    }
    errno = saved;
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
    se_log(s->e->logger, level, "%s", msg);
}

static struct se_worker *
worker_at(struct se_server *s, uint32_t slot)
{
    if (s->workers[slot] == NULL) s->workers[slot] = se__worker_new(s, slot);
    return s->workers[slot];
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    struct se_server *s = ud;
    struct se_worker *w = worker_at(s, slot);
    SE_ASSERT(w != NULL);
    const struct se_config *cfg = se__driver_config(s->driver);
    w->cfg = cfg;
    w->stopping = 0;
    __atomic_store_n(&w->running, 1, __ATOMIC_RELEASE);
    if (s->e->wcb.init != NULL) s->e->wcb.init(w);
    if (s->e->wcb.before_fork != NULL) s->e->wcb.before_fork(w);
    req->arg = w;
    req->fork_prepare = se__engine_fork_prepare;
    req->fork_after = se__logger_fork_unlock;
    req->fork_arg = s->e->logger;
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
    if (s->e->wcb.after_start != NULL) s->e->wcb.after_start(w);
    if (!s->ready_notified) {
        s->ready_notified = true;
        se__notify(&s->e->notify, se__driver_config(s->driver), "READY=1");
    }
}

static void
hook_spawn_failed(void *ud, uint32_t slot, int err)
{
    struct se_server *s = ud;
    if (s->workers[slot] != NULL && se__driver_config(s->driver)->worker_type == SE_WORKER_SPAWN)
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
    if (s->e->wcb.finalize != NULL) s->e->wcb.finalize(w);
}

static void
hook_stop_worker(void *ud, uint32_t slot, bool graceful)
{
    struct se_server *s = ud;
    struct se_worker *w = s->workers[slot];
    (void)graceful; /* threads have no immediate stop (serverengine(3), WORKER TYPES) */
    if (w == NULL || __atomic_exchange_n(&w->stopping, 1, __ATOMIC_ACQ_REL)) return;
    if (s->e->wcb.stop != NULL) s->e->wcb.stop(w);
}

static void
hook_reload_worker(void *ud, uint32_t slot)
{
    struct se_server *s = ud;
    struct se_worker *w = s->workers[slot];
    if (w == NULL) return;
    w->cfg = se__driver_config(s->driver);
    if (s->e->wcb.reload != NULL) s->e->wcb.reload(w);
}

static int
hook_load_config(void *ud, struct se_config **out, char *err, size_t err_size)
{
    struct se_server *s = ud;
    se__notify(&s->e->notify, se__driver_config(s->driver), "RELOADING=1");
    return se__engine_load_config(s->e, out, err, err_size);
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
    int rc = se__engine_apply_logger(s->e, cfg);
    if (rc < 0) {
        char why[256];
        se_log(s->e->logger, SE_LOG_ERROR, "Reload: cannot open log %s: %s; keeping the old one",
               cfg->log, se__posix_open_error(cfg->log, rc, why, sizeof why));
    }
    if (s->e->scb.reload_config != NULL) s->e->scb.reload_config(s);
    se__notify(&s->e->notify, cfg, "READY=1");
}

static void
hook_reload_failed(void *ud, const char *why)
{
    struct se_server *s = ud;
    se__notify_reload_refused(&s->e->notify, se__driver_config(s->driver), why);
}

static void
hook_command(void *ud, enum se_cmd cmd)
{
    struct se_server *s = ud;
    const struct se_config *cfg = se__driver_config(s->driver);
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_IMMEDIATE_STOP:
    case SE_CMD_DETACH:
        se__notify_stopping(&s->e->notify, cfg);
        if (s->e->scb.stop != NULL) s->e->scb.stop(s, cmd != SE_CMD_IMMEDIATE_STOP);
        return;
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_IMMEDIATE_RESTART:
        if (s->e->scb.restart != NULL) s->e->scb.restart(s, cmd == SE_CMD_GRACEFUL_RESTART);
        return;
    case SE_CMD_RELOAD: se_logger_reopen(s->e->logger); return;
    case SE_CMD_DUMP:
        if (!cfg->disable_sigdump) se__sigdump(s->e->logger);
        return;
    case SE_CMD_NONE:
    case SE_CMD_COUNT: return;
    }
}

static void
hook_periodic(void *ud)
{
    struct se_server *s = ud;
    se__notify(&s->e->notify, se__driver_config(s->driver), "WATCHDOG=1");
}

static void
hook_readable(void *ud, int32_t fd)
{
    struct se_server *s = ud;
    if (s->sockmgr != NULL && fd == s->sockmgr->lfd) {
        se__sockmgr_serve(s->sockmgr, s->e->logger);
        return;
    }
    if (s->status != NULL && fd == s->status->lfd) {
        se__status_serve(s->status, s->driver, s->e->logger);
        return;
    }
    if (se__cmdin_readable(s, fd)) return;
    if (fd == s->cmd_pipe[0]) {
        unsigned char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] > SE_CMD_NONE && buf[i] < SE_CMD_COUNT)
                se__driver_command(s->driver, (enum se_cmd)buf[i]);
        }
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (fd != s->capture_fds[i]) continue;
        if (se_logger_capture_drain(s->e->logger, fd) != 0) { /* EOF or an error: done */
            s->os.unwatch(s->os.ctx, fd);
            close(fd);
            s->capture_fds[i] = -1;
        }
    }
}

/* ---- set-up ------------------------------------------------------------- */

static void
capture_output(struct se_server *s, const struct se_config *cfg)
{
    bool to_stdout = strcmp(cfg->log, "-") == 0, to_stderr = cfg->log[0] == '\0';
    const bool want[2] = {cfg->log_stdout && !to_stdout && !to_stderr,
                          cfg->log_stderr && !to_stderr && !to_stdout};
    for (int i = 0; i < 2; i++) {
        int fd = -1;
        if (!want[i] || se_logger_capture(s->e->logger, i + 1, &fd) < 0) continue;
        if (s->os.watch(s->os.ctx, fd) < 0) {
            close(fd);
            continue;
        }
        s->capture_fds[i] = fd;
    }
}

static int
open_cmd_pipe(struct se_server *s)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
    s->cmd_pipe[0] = fds[0];
    s->cmd_pipe[1] = fds[1];
    return s->os.watch(s->os.ctx, fds[0]);
}

static struct se_server *
server_new(struct se_engine *e)
{
    struct se_server *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->posix = calloc(1, sizeof *s->posix);
    if (s->posix == NULL) {
        free(s);
        return NULL;
    }
    s->e = e;
    s->user_data = e->user_data;
    s->cmd_pipe[0] = s->cmd_pipe[1] = -1;
    s->capture_fds[0] = s->capture_fds[1] = -1;
    s->cmdin_fd = -1;
    return s;
}

void
se__server_free(struct se_server *s)
{
    if (s == NULL) return;
    se__cmdin_close(s);
    se__driver_free(s->driver);
    se__status_free(s->status);
    if (s->sockmgr != NULL) se__sockmgr_stop(s->sockmgr);
    free(s->sockmgr);
    for (int i = 0; i < 2; i++) {
        if (s->cmd_pipe[i] >= 0) close(s->cmd_pipe[i]);
        if (s->capture_fds[i] >= 0) close(s->capture_fds[i]);
    }
    se__os_posix_fini(s->posix);
    free(s->posix);
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
    if (rc == 0) rc = s->os.watch(s->os.ctx, s->sockmgr->lfd);
    return rc;
}

/* The status socket (status.h), made by the engine before the privilege
 * drop and inherited: answered from this loop. Without it (the engine
 * logged why) no status is served. */
static void
start_status(struct se_server *s, bool supervised)
{
    struct se_engine *e = s->e;
    if (!e->status_sock.open) return;
    s->status =
        se__status_new(e->status_sock.fd, (int32_t)getpid(), supervised ? (int32_t)getppid() : 0,
                       e->config_path, (uint32_t)e->overrides_count, s->os.monotonic_ms(s->os.ctx));
    int rc = s->status == NULL ? -ENOMEM : s->os.watch(s->os.ctx, s->status->lfd);
    if (rc == 0) return;
    se__engine_log(e, SE_LOG_WARN, "Status is not served: %s", se_strerror(rc));
    se__status_free(s->status);
    s->status = NULL;
}

static int
server_setup(struct se_server *s, int32_t parent_hb_fd, int64_t *parent_stamp)
{
    struct se_engine *e = s->e;
    enum se_sig sigs[SE_CMD_COUNT];
    uint32_t n = se__command_signals(e->cfg, sigs, SE_CMD_COUNT);
    int rc = se__os_posix_init(&s->os, s->posix, sigs, n, parent_hb_fd, parent_stamp);
    if (rc < 0) return rc;
    se__os_posix_private_fd(s->posix, e->daemon.ready_fd);
    e->posix = s->posix;
    se__os_posix_private_fd(s->posix, e->daemon.pidfile_fd);
    rc = open_cmd_pipe(s);
    if (rc < 0) return rc;
    if (parent_hb_fd < 0) capture_output(s, e->cfg);
    if (e->cfg->socket_manager) rc = start_sockmgr(s);
    if (rc < 0) return rc;
    struct se_config *cfg = se_config_dup(e->cfg);
    if (cfg == NULL) return -ENOMEM;
    struct se_driver_hooks hooks = server_hooks;
    hooks.ud = s;
    s->driver = se__driver_new(&s->os, SE_ROLE_SERVER, cfg, &hooks, &rc);
    if (s->driver == NULL) return rc;
    rc = se__cmdin_open(s, e->cfg, parent_hb_fd >= 0);
    if (rc < 0) return rc;
    if (parent_hb_fd >= 0)
        se__driver_set_self_beat(s->driver, self_beat_interval_ms(e->cfg));
    else
        se__driver_set_periodic(s->driver, se__notify_watchdog_ms(&e->notify, e->cfg));
    return 0;
}

int
se__server_main(struct se_engine *e, int32_t parent_hb_fd, int64_t *parent_stamp)
{
    struct se_server *s = server_new(e);
    if (s == NULL) return 1;
    e->server = s;
    if (e->cfg->server_process_name[0] != '\0' && parent_hb_fd >= 0)
        se__proctitle_set(&e->title, "%s", e->cfg->server_process_name);
    int rc = server_setup(s, parent_hb_fd, parent_stamp);
    if (rc < 0) {
        se__engine_log(e, SE_LOG_FATAL, "The server cannot start: %s", se_strerror(rc));
        return 1;
    }
    if (e->scb.init != NULL && (rc = e->scb.init(s)) != 0) return rc;
    if (e->scb.before_run != NULL && (rc = e->scb.before_run(s)) != 0) return rc;
    /* Ready: the loop runs from here. Workers that fail to start are retried
     * by it, they do not make the start fail. */
    start_status(s, parent_hb_fd >= 0);
    se__engine_report_ready(e, true, NULL);
    int32_t status = 0;
    rc = se__driver_run(s->driver, &status);
    if (s->status != NULL) { /* the loop is done: nothing to answer from */
        s->os.unwatch(s->os.ctx, s->status->lfd);
        se__status_free(s->status);
        s->status = NULL;
    }
    if (e->scb.after_run != NULL) e->scb.after_run(s);
    se__notify_stopping(&e->notify, se__driver_config(s->driver));
    if (rc < 0) return 1;
    se__engine_log(e, SE_LOG_INFO, "Server exits with status %d", status);
    return status;
}
