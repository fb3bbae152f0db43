/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.c: the supervisor process (supervisor: true). It runs the
 * driver in the supervisor role: the server is its one child (plus old
 * servers finishing after a detach), restarted when it dies, watched by its
 * heartbeat stamp, told operator commands by signal. The server process is
 * a fork of the supervisor that runs se__server_main with its heartbeat
 * channel to the supervisor. Ruby ServerEngine's Supervisor.
 *
 * Readiness: the supervisor is ready when a server is (its before_run
 * returned and its loop runs), which that server reports on a relay socket
 * (se__daemon_relay_open). Only then does a daemon's launcher exit 0 and
 * systemd hear READY=1, from the supervisor, the one process it knows. A
 * daemon's first server that ends before it is ready ends the start: the
 * launcher exits with daemonize_error_exit_code and the reason, instead of
 * the supervisor restarting a server that cannot start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "logger.h"
#include "supervisor.h"

struct sup {
    struct se_proc *p;
    struct se_server *view; /* what after_start receives: a server object with no loop */
    struct se_loop loop;
    int32_t relay[2];  /* readiness of the server being started: read, write ends */
    bool server_ready; /* a server has reported ready */
    bool start_failed; /* a daemon's first server ended before it was ready */
};

static int
server_process_entry(void *arg, const struct se_child_ctx *cc)
{
    struct sup *sp = arg;
    /* This is the server process now: the supervisor's loop objects are a
     * copy it never touches again (their descriptors were closed by the
     * fork); it builds its own. */
    /* only the supervisor talks to the launcher and to systemd; this process
     * tells the supervisor (the launcher's descriptor was closed by the fork) */
    struct se_proc *p = sp->p;
    p->daemon.ready_fd = sp->relay[1];
    p->ready_reported = sp->relay[1] < 0;
    se__notify_forget(&p->notify);
    enum se_sig sigs[SE_CMD_COUNT];
    se__sigmask_only(sigs, se__command_signals(p->cfg, sigs, SE_CMD_COUNT));
    struct se_server *server = NULL; /* this process ends with the server */
    return se__server_main(p, cc->heartbeat_fd, cc->heartbeat_ms, &server);
}

static void
hook_log(void *ud, enum se_log_level level, const char *msg)
{
    struct sup *sp = ud;
    se_log(sp->p->logger, level, "%s", msg);
}

static void
relay_close(struct sup *sp)
{
    if (sp->relay[0] >= 0) {
        sp->loop.os.unwatch(sp->loop.os.ctx, sp->relay[0]);
        sp->loop.os.close(sp->loop.os.ctx, sp->relay[0]);
    }
    if (sp->relay[1] >= 0) sp->loop.os.close(sp->loop.os.ctx, sp->relay[1]);
    sp->relay[0] = sp->relay[1] = -1;
}

/* A channel for the next server's readiness, until one has been ready. */
static void
relay_open(struct sup *sp)
{
    if (sp->server_ready || sp->relay[0] >= 0) return;
    int32_t fds[2];
    int rc = se__daemon_relay_open(fds);
    if (rc == 0) {
        sp->relay[0] = fds[0];
        sp->relay[1] = fds[1];
        rc = sp->loop.os.watch(sp->loop.os.ctx, fds[0]);
    }
    if (rc < 0) {
        /* the server's start then counts as its readiness */
        se__proc_log(sp->p, SE_LOG_WARN, "Cannot watch the server's readiness: %s",
                     se_strerror(rc));
        relay_close(sp);
    }
}

static void
server_is_ready(struct sup *sp)
{
    relay_close(sp);
    if (sp->server_ready) return;
    sp->server_ready = true;
    se__proc_report_ready(sp->p, true, NULL);
    se__notify(&sp->p->notify, se__driver_config(sp->loop.driver), "READY=1");
}

/* The start failed: a waiting launcher is told why, and we stop. */
static void
start_failed(struct sup *sp, const char *why)
{
    relay_close(sp);
    if (sp->p->ready_reported || sp->p->daemon.ready_fd < 0) return; /* nobody waits */
    char msg[SE_DAEMON_MSG_MAX];
    snprintf(msg, sizeof msg, "the server could not start: %s", why);
    se__proc_log(sp->p, SE_LOG_FATAL, "%s; stopping", msg);
    se__proc_report_ready(sp->p, false, msg);
    sp->start_failed = true;
    se__driver_command(sp->loop.driver, SE_CMD_IMMEDIATE_STOP);
}

static void
relay_poll(struct sup *sp)
{
    if (sp->relay[0] < 0) return;
    char msg[SE_DAEMON_MSG_MAX] = "";
    int rc = se__daemon_relay_read(sp->relay[0], msg, sizeof msg);
    if (rc == 1) server_is_ready(sp);
    if (rc == 0) start_failed(sp, msg);
    if (rc == -EPIPE) relay_close(sp); /* it ended without a word: judged at its exit */
    if (rc < 0 && rc != -EAGAIN && rc != -EPIPE) {
        /* the word is lost (a read error): as when the relay cannot be
         * watched, the server's start counts as its readiness, never a
         * launcher left waiting */
        se__proc_log(sp->p, SE_LOG_WARN, "Cannot read the server's readiness: %s", se_strerror(rc));
        server_is_ready(sp);
    }
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    (void)slot;
    struct sup *sp = ud;
    relay_open(sp);
    req->kind = SE_SPAWN_FORK;
    req->entry = server_process_entry;
    req->arg = ud;
    req->heartbeat = true;
    /* command_sender pipe: the server's stdin carries the commands */
    req->command_pipe = se__driver_config(sp->loop.driver)->command_sender_pipe;
    req->fork_prepare = se__proc_fork_prepare;
    req->fork_after = se__logger_fork_unlock;
    req->fork_arg = sp->p->logger;
}

static void
hook_spawned(void *ud, uint32_t slot, const struct se_spawn_res *res)
{
    struct sup *sp = ud;
    (void)slot, (void)res;
    if (sp->relay[1] >= 0) {
        sp->loop.os.close(sp->loop.os.ctx, sp->relay[1]); /* the server's end now */
        sp->relay[1] = -1;
    }
    if (sp->p->scb.after_start != NULL) sp->p->scb.after_start(sp->view);
    if (sp->relay[0] < 0) server_is_ready(sp); /* no relay: its start is all we know */
}

static void
hook_exited(void *ud, uint32_t slot, const struct se_exit *ex)
{
    struct sup *sp = ud;
    (void)slot;
    relay_poll(sp); /* a word it sent before it ended counts */
    if (sp->server_ready) return;
    relay_close(sp);
    char why[64];
    if (ex->code >= 0)
        snprintf(why, sizeof why, "it exited with status %d before it was ready", ex->code);
    else
        snprintf(why, sizeof why, "it was killed by %s before it was ready", se_sig_name(ex->sig));
    start_failed(sp, why);
}

/* The first server cannot even be started (fork, pipe): as with one that
 * ends before it is ready, a waiting launcher is told, and the start ends;
 * with nobody waiting the supervisor retries on its schedule. */
static void
hook_spawn_failed(void *ud, uint32_t slot, int err)
{
    struct sup *sp = ud;
    (void)slot;
    if (sp->server_ready) return;
    char why[96];
    snprintf(why, sizeof why, "it could not be started: %s", se_strerror(err));
    start_failed(sp, why);
}

static int
hook_load_config(void *ud, struct se_config **out, char *err, size_t err_size)
{
    struct sup *sp = ud;
    se__notify(&sp->p->notify, se__driver_config(sp->loop.driver), "RELOADING=1");
    return se__proc_load_config(sp->p, out, err, err_size);
}

static void
hook_reload_failed(void *ud, const char *why)
{
    struct sup *sp = ud;
    se__notify_reload_refused(&sp->p->notify, se__driver_config(sp->loop.driver), why);
}

static void
hook_config_applied(void *ud, const struct se_config *cfg)
{
    struct sup *sp = ud;
    se__proc_reload_logger(sp->p, cfg);
    se__notify(&sp->p->notify, cfg, "READY=1");
}

static void
hook_command(void *ud, enum se_cmd cmd)
{
    struct sup *sp = ud;
    const struct se_config *cfg = se__driver_config(sp->loop.driver);
    if (cmd == SE_CMD_DUMP && !cfg->disable_sigdump) se__sigdump(sp->p->logger, NULL);
    if (cmd == SE_CMD_RELOAD && !cfg->disable_reload) se_logger_reopen(sp->p->logger);
    if (cmd == SE_CMD_GRACEFUL_STOP || cmd == SE_CMD_IMMEDIATE_STOP)
        se__notify_stopping(&sp->p->notify, cfg);
}

static void
hook_periodic(void *ud)
{
    struct sup *sp = ud;
    se__notify(&sp->p->notify, se__driver_config(sp->loop.driver), "WATCHDOG=1");
}

static void
hook_readable(void *ud, int32_t fd)
{
    struct sup *sp = ud;
    if (fd == sp->relay[0]) {
        relay_poll(sp);
        return;
    }
    if (se__server_view_readable(sp->view, fd, sp->loop.driver)) return;
    se__loop_readable(sp->p, &sp->loop, fd);
}

static void
sup_stop_hook(void *ud)
{
    struct sup *sp = ud;
    se__driver_command(sp->loop.driver, SE_CMD_GRACEFUL_STOP);
}

static int
sup_setup(struct sup *sp)
{
    struct se_proc *p = sp->p;
    struct se_driver_hooks hooks = {
        .ud = sp,
        .log = hook_log,
        .prepare_spawn = hook_prepare_spawn,
        .spawned = hook_spawned,
        .exited = hook_exited,
        .spawn_failed = hook_spawn_failed,
        .load_config = hook_load_config,
        .config_applied = hook_config_applied,
        .reload_failed = hook_reload_failed,
        .command = hook_command,
        .readable = hook_readable,
        .periodic = hook_periodic,
    };
    int rc = se__loop_start(p, &sp->loop, SE_ROLE_SUPERVISOR, &hooks, -1, NULL, true);
    if (rc < 0) return rc;
    se__driver_set_periodic(sp->loop.driver, se__notify_watchdog_ms(&p->notify, p->cfg));
    rc = se__server_view_attach(sp->view, &sp->loop.os, sp->loop.driver);
    if (rc < 0) return rc;
    p->stop_hook = sup_stop_hook;
    p->stop_ud = sp;
    return 0;
}

static void
sup_free(struct sup *sp)
{
    relay_close(sp);
    se__server_free(sp->view); /* first: it borrows the loop's adapter */
    se__loop_free(sp->p, &sp->loop);
    free(sp);
}

int
se__supervisor_main(struct se_proc *p)
{
    struct sup *sp = calloc(1, sizeof *sp);
    if (sp == NULL) return 1;
    sp->p = p;
    sp->loop.capture_fds[0] = sp->loop.capture_fds[1] = -1;
    sp->relay[0] = sp->relay[1] = -1;
    sp->view = se__server_new(p);
    if (sp->view == NULL) {
        sup_free(sp);
        return 1;
    }
    sp->view->supervisor = true;
    int rc = sup_setup(sp);
    if (rc < 0) {
        se__proc_log(p, SE_LOG_FATAL, "The supervisor cannot start: %s", se_strerror(rc));
        sup_free(sp);
        return 1;
    }
    /* the loop runs from here; ready when a server is (relay_poll) */
    int32_t status = 0;
    rc = se__driver_run(sp->loop.driver, &status);
    se__notify_stopping(&p->notify, se__driver_config(sp->loop.driver));
    bool failed = sp->start_failed;
    p->stop_hook = NULL;
    sup_free(sp);
    if (failed) return p->cfg->daemonize_error_exit_code;
    return rc < 0 ? 1 : status;
}
