/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.c: the supervisor process (supervisor: true). It runs the
 * driver in the supervisor role: the server is its one child (plus old
 * servers finishing after a detach), restarted when it dies, watched by its
 * heartbeat stamp, told operator commands by signal. The server process is
 * a fork of the supervisor that runs se__server_main with its heartbeat
 * channel to the supervisor. Ruby ServerEngine's Supervisor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "logger.h"

struct sup {
    struct se_engine *e;
    struct se_server *view; /* what after_start receives: the engine's server object */
    struct se_driver *driver;
    struct se_os os;
    struct se_os_posix *posix;
    int32_t capture_fds[2];
};

static int
server_process_entry(void *arg, const struct se_child_ctx *cc)
{
    struct sup *sp = arg;
    /* This is the server process now: the supervisor's loop objects are a
     * copy it never touches again (their descriptors were closed by the
     * fork); it builds its own. */
    sp->e->ready_reported = true; /* only the supervisor talks to the launcher */
    enum se_sig sigs[SE_CMD_COUNT];
    se__sigmask_only(sigs, se__command_signals(sp->e->cfg, sigs, SE_CMD_COUNT));
    return se__server_main(sp->e, cc->heartbeat_fd, cc->heartbeat_ms);
}

static void
hook_log(void *ud, enum se_log_level level, const char *msg)
{
    struct sup *sp = ud;
    se_log(sp->e->logger, level, "%s", msg);
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    (void)slot;
    struct sup *sp = ud;
    req->kind = SE_SPAWN_FORK;
    req->entry = server_process_entry;
    req->arg = ud;
    req->heartbeat = true;
    /* command_sender pipe: the server's stdin carries the commands */
    req->command_pipe = se__driver_config(sp->driver)->command_sender_pipe;
    req->fork_prepare = se__engine_fork_prepare;
    req->fork_after = se__logger_fork_unlock;
    req->fork_arg = sp->e->logger;
}

static void
hook_spawned(void *ud, uint32_t slot, const struct se_spawn_res *res)
{
    struct sup *sp = ud;
    (void)slot, (void)res;
    if (sp->e->scb.after_start != NULL) sp->e->scb.after_start(sp->view);
    if (!sp->view->ready_notified) {
        sp->view->ready_notified = true;
        se__notify(se__driver_config(sp->driver), "READY=1");
    }
}

static int
hook_load_config(void *ud, struct se_config **out, char *err, size_t err_size)
{
    struct sup *sp = ud;
    return se__engine_load_config(sp->e, out, err, err_size);
}

static void
hook_config_applied(void *ud, const struct se_config *cfg)
{
    struct sup *sp = ud;
    se__engine_apply_logger(sp->e, cfg);
}

static void
hook_command(void *ud, enum se_cmd cmd)
{
    struct sup *sp = ud;
    const struct se_config *cfg = se__driver_config(sp->driver);
    if (cmd == SE_CMD_DUMP && !cfg->disable_sigdump) se__sigdump(sp->e->logger);
    if (cmd == SE_CMD_RELOAD && !cfg->disable_reload) se_logger_reopen(sp->e->logger);
    if (cmd == SE_CMD_GRACEFUL_STOP || cmd == SE_CMD_IMMEDIATE_STOP) se__notify(cfg, "STOPPING=1");
}

static void
hook_periodic(void *ud)
{
    struct sup *sp = ud;
    se__notify(se__driver_config(sp->driver), "WATCHDOG=1");
}

static void
hook_readable(void *ud, int32_t fd)
{
    struct sup *sp = ud;
    for (int i = 0; i < 2; i++) {
        if (fd != sp->capture_fds[i]) continue;
        if (se_logger_capture_drain(sp->e->logger, fd) != 0) { /* EOF or an error: done */
            sp->os.unwatch(sp->os.ctx, fd);
            close(fd);
            sp->capture_fds[i] = -1;
        }
    }
}

static void
capture_output(struct sup *sp, const struct se_config *cfg)
{
    bool to_terminal = strcmp(cfg->log, "-") == 0 || cfg->log[0] == '\0';
    const bool want[2] = {cfg->log_stdout && !to_terminal, cfg->log_stderr && !to_terminal};
    for (int i = 0; i < 2; i++) {
        int fd = -1;
        if (!want[i] || se_logger_capture(sp->e->logger, i + 1, &fd) < 0) continue;
        if (sp->os.watch(sp->os.ctx, fd) < 0) {
            close(fd);
            continue;
        }
        sp->capture_fds[i] = fd;
    }
}

static void
sup_stop_hook(void *ud)
{
    struct sup *sp = ud;
    se__driver_command(sp->driver, SE_CMD_GRACEFUL_STOP);
}

static int
sup_setup(struct sup *sp)
{
    struct se_engine *e = sp->e;
    enum se_sig sigs[SE_CMD_COUNT];
    uint32_t n = se__command_signals(e->cfg, sigs, SE_CMD_COUNT);
    int rc = se__os_posix_init(&sp->os, sp->posix, sigs, n, -1, NULL);
    if (rc < 0) return rc;
    se__os_posix_private_fd(sp->posix, e->daemon.ready_fd);
    se__os_posix_private_fd(sp->posix, e->daemon.pidfile_fd);
    capture_output(sp, e->cfg);
    struct se_config *cfg = se_config_dup(e->cfg);
    if (cfg == NULL) return -ENOMEM;
    struct se_driver_hooks hooks = {
        .ud = sp,
        .log = hook_log,
        .prepare_spawn = hook_prepare_spawn,
        .spawned = hook_spawned,
        .load_config = hook_load_config,
        .config_applied = hook_config_applied,
        .command = hook_command,
        .readable = hook_readable,
        .periodic = hook_periodic,
    };
    sp->driver = se__driver_new(&sp->os, SE_ROLE_SUPERVISOR, cfg, &hooks, &rc);
    if (sp->driver == NULL) return rc;
    se__driver_set_periodic(sp->driver, se__notify_watchdog_ms(e->cfg));
    e->stop_hook = sup_stop_hook;
    e->stop_ud = sp;
    return 0;
}

static void
sup_free(struct sup *sp)
{
    se__driver_free(sp->driver);
    for (int i = 0; i < 2; i++) {
        if (sp->capture_fds[i] >= 0) close(sp->capture_fds[i]);
    }
    se__os_posix_fini(sp->posix);
    free(sp->posix);
    free(sp->view);
    free(sp);
}

int
se__supervisor_main(struct se_engine *e)
{
    struct sup *sp = calloc(1, sizeof *sp);
    if (sp == NULL) return 1;
    sp->e = e;
    sp->capture_fds[0] = sp->capture_fds[1] = -1;
    sp->posix = calloc(1, sizeof *sp->posix);
    sp->view = calloc(1, sizeof *sp->view);
    if (sp->posix == NULL || sp->view == NULL) {
        sup_free(sp);
        return 1;
    }
    sp->view->e = e;
    sp->view->user_data = e->user_data;
    sp->view->supervisor = true;
    sp->view->cmd_pipe[0] = sp->view->cmd_pipe[1] = -1;
    int rc = sup_setup(sp);
    if (rc < 0) {
        se__engine_log(e, SE_LOG_FATAL, "The supervisor cannot start: %s", se_strerror(rc));
        sup_free(sp);
        return 1;
    }
    se__engine_report_ready(e, true, NULL); /* the supervisor's loop runs from here */
    int32_t status = 0;
    rc = se__driver_run(sp->driver, &status);
    sup_free(sp);
    return rc < 0 ? 1 : status;
}
