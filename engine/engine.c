/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c: the public engine object, the top of the runtime's layers
 * (engine_int.h): the configuration sources as the API sets them, the
 * start-up sequence (validate, log, daemonize, pid file, privileges) and
 * the choice between a supervisor and a plain server. Nothing below calls
 * back into it. Ruby ServerEngine's Daemon and ServerEngine.create.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "logger.h"

#define EX_CONFIG_STATUS 78 /* sysexits.h EX_CONFIG */

struct se_engine *
se_engine_new(const struct se_server_callbacks *server, const struct se_worker_callbacks *worker,
              void *user_data, int *err)
{
    *err = 0;
    if (worker == NULL || (worker->run == NULL && worker->spawn == NULL)) {
        *err = SE_ECONFIG;
        return NULL;
    }
    struct se_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    if (server != NULL) e->proc.scb = *server;
    e->proc.wcb = *worker;
    e->proc.user_data = user_data;
    se__proc_init(&e->proc);
    return e;
}

void
se_engine_free(struct se_engine *e)
{
    if (e == NULL) return;
    se__server_free(e->server);
    se__proc_fini(&e->proc);
    free(e);
}

void *
se_engine_user_data(const struct se_engine *e)
{
    return e->proc.user_data;
}

void
se_engine_set_loader(struct se_engine *e, se_config_loader load, void *ud)
{
    e->proc.loader = load;
    e->proc.loader_ud = ud;
}

int
se_engine_configure(struct se_engine *e, const struct se_config *defaults, const char *config_path,
                    const char *const *overrides, size_t overrides_count, char *err,
                    size_t err_size)
{
    char msg[sizeof e->config_error_msg] = "";
    struct se_config *cfg = NULL;
    int rc = se__proc_set_sources(&e->proc, defaults, config_path, overrides, overrides_count, msg,
                                  sizeof msg);
    if (rc == 0) rc = se__proc_load_config(&e->proc, &cfg, msg, sizeof msg);
    /* a failed configuration is remembered: se_engine_run then starts nothing */
    e->config_error = rc;
    snprintf(e->config_error_msg, sizeof e->config_error_msg, "%s", msg[0] ? msg : se_strerror(rc));
    if (err != NULL && err_size > 0) snprintf(err, err_size, "%s", msg);
    if (rc < 0) return rc;
    se_config_free(e->proc.cfg);
    e->proc.cfg = cfg;
    return 0;
}

void
se_engine_set_usage(struct se_engine *e, const char *usage, bool own_options)
{
    e->usage = usage;
    e->own_options = own_options;
}

int
se_engine_parse_args(struct se_engine *e, const struct se_config *defaults, int *argc, char **argv,
                     char *err, size_t err_size)
{
    se__proctitle_init(&e->proc.title, *argc, argv);
    struct se_args a = {.own_options = e->own_options};
    int rc = se__args_take(&a, argc, argv, err, err_size);
    if (rc == 1) {
        struct se_config *shown = defaults != NULL ? NULL : se_config_new();
        se__args_usage(argv[0], e->usage, defaults != NULL ? defaults : shown);
        se_config_free(shown);
        return 1;
    }
    if (rc < 0) return rc;
    return se_engine_configure(e, defaults, a.config_path, a.sets, a.sets_count, err, err_size);
}

/* ---- start-up ----------------------------------------------------------- */

/* Whether the log is a file, not a stream the person starting us also sees. */
static bool
log_is_file(const struct se_engine *e)
{
    return e->proc.logger != NULL && e->proc.cfg != NULL && se__log_path_is_file(e->proc.cfg->log);
}

/* A start-up failure is said once where the person starting us looks: by
 * the daemon's launcher when there is one, else on stderr (as the FATAL log
 * line when the log is stderr or stdout, as a "serverengine:" line when it
 * is a file, which gets the FATAL line too). */
static int
start_failed(struct se_engine *e, int status, const char *what, const char *msg)
{
    char line[SE_DAEMON_MSG_MAX];
    if (what != NULL)
        snprintf(line, sizeof line, "%s: %s", what, msg);
    else
        snprintf(line, sizeof line, "%s", msg); /* the message names its subject */
    bool launcher = e->proc.daemon.ready_fd >= 0;
    if (log_is_file(e) || (e->proc.logger != NULL && !launcher))
        se__proc_log(&e->proc, SE_LOG_FATAL, "%s", line);
    if ((e->proc.logger == NULL || log_is_file(e)) && !launcher)
        fprintf(stderr, "serverengine: %s\n", line);
    se__proc_report_ready(&e->proc, false, line);
    return status;
}

static int
become_daemon(struct se_engine *e)
{
    const struct se_config *c = e->proc.cfg;
    bool keep_stderr = c->log[0] == '\0';
    /* The commands (and SIGCHLD) stay blocked through both forks: a TERM to
     * the new daemon before its loop reads the signalfd waits, pending,
     * instead of killing it; the adapter blocks the same set anyway. */
    enum se_sig sigs[SE_CMD_COUNT];
    uint32_t n = se__command_signals(c, sigs, SE_CMD_COUNT);
    se__posix_block_signals(sigs, n);
    int rc = se__daemonize(&e->proc.daemon, c->daemonize_error_exit_code, keep_stderr);
    if (rc < 0) return rc;
    return 0;
}

/* What the process reopens after the privilege drop is the new user's: the
 * log file, when this process created it (a file that was there before
 * keeps its owner; a warning says it may not be reopened). The pid file is
 * only ever written through the descriptor kept open, and emptied when the
 * user cannot remove it at exit (se__pidfile_release). */
static void
hand_over_log(struct se_engine *e)
{
    const struct se_config *c = e->proc.cfg;
    bool to_file = se__log_path_is_file(c->log);
    if (!to_file || (c->chuser[0] == '\0' && c->chgroup[0] == '\0')) return;
    char err[SE_DAEMON_MSG_MAX] = "";
    if (!e->proc.log_created) {
        se__proc_log(&e->proc, SE_LOG_DEBUG,
                     "Log %s was there before: it keeps its owner (chuser %s must be able to "
                     "reopen it)",
                     c->log, c->chuser);
        return;
    }
    if (se__privileges_hand_over(c->chuser, c->chgroup, c->log, err, sizeof err) < 0)
        se__proc_log(&e->proc, SE_LOG_WARN, "%s", err);
}

static int
prepare_process(struct se_engine *e)
{
    const struct se_config *c = e->proc.cfg;
    SE_ASSERT(c != NULL);
    char err[SE_DAEMON_MSG_MAX] = "";
    int code = c->daemonize_error_exit_code;
    if (c->daemonize) {
        int rc = become_daemon(e);
        if (rc < 0) return start_failed(e, code, "daemonize", se_strerror(rc));
    }
    if (c->pid_path[0] != '\0') {
        int rc = se__pidfile_acquire(&e->proc.daemon, c->pid_path, err, sizeof err);
        if (rc < 0) return start_failed(e, code, NULL, err); /* "pid file PATH ..." */
        if (err[0] != '\0') se__proc_log(&e->proc, SE_LOG_WARN, "%s", err);
    }
    hand_over_log(e);
    /* the sockets are bound while the process may still bind low ports */
    int rc = se__listen_open(&e->proc.listen, c, err, sizeof err);
    if (rc < 0) return start_failed(e, code, NULL, err); /* "listen ADDRESS: ..." */
    /* made while the directory of the pid file may still be written; a
     * server that cannot have one runs on (serverengine(3), STATUS) */
    rc = se__status_listen(&e->proc.status_sock, e->proc.daemon.pidfile_path, (int32_t)getpid(),
                           c->chuser, c->chgroup);
    if (rc < 0)
        se__proc_log(&e->proc, SE_LOG_WARN, "No status socket %s: %s", e->proc.status_sock.path,
                     se_strerror(rc));
    rc = se__privileges_drop(c->chuser, c->chgroup, c->chumask, err, sizeof err);
    if (rc < 0) return start_failed(e, code, "privileges", err);
    if (c->daemon_process_name[0] != '\0')
        se__proctitle_set(&e->proc.title, "%s", c->daemon_process_name);
    return 0;
}

static int
load_initial(struct se_engine *e)
{
    if (e->config_error < 0) {
        fprintf(stderr, "serverengine: %s\n", e->config_error_msg);
        return EX_CONFIG_STATUS;
    }
    if (e->proc.cfg == NULL) {
        char err[SE_MSG_MAX] = "";
        int rc = se_engine_configure(e, NULL, NULL, NULL, 0, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "serverengine: %s\n", err[0] ? err : se_strerror(rc));
            return EX_CONFIG_STATUS;
        }
    }
    for (size_t i = 0; i < se_config_warning_count(e->proc.cfg); i++)
        fprintf(stderr, "serverengine: warning: %s\n", se_config_warning(e->proc.cfg, i));
    SE_ASSERT(e->proc.cfg != NULL);
    const struct se_os *fs = se__os_posix_fs();
    struct se_file_id id = {0};
    bool to_file = se__log_path_is_file(e->proc.cfg->log);
    e->proc.log_created =
        to_file && fs->file_id(fs->ctx, e->proc.cfg->log, -1, &id) == 0 && !id.exists;
    int rc = se__proc_apply_logger(&e->proc, e->proc.cfg);
    if (rc < 0) {
        char why[256];
        fprintf(stderr, "serverengine: log %s: %s\n", e->proc.cfg->log,
                se__posix_open_error(e->proc.cfg->log, rc, why, sizeof why));
        return EX_CONFIG_STATUS;
    }
    return 0;
}

int
se_engine_run(struct se_engine *e)
{
    SE_ASSERT(!e->ran);
    e->ran = true;
    se__notify_take(&e->proc.notify); /* nothing started from here on inherits it */
    int status = load_initial(e);
    if (status != 0) return status;
    status = prepare_process(e);
    if (status != 0) {
        se__status_unlisten(&e->proc.status_sock);
        se__pidfile_release(&e->proc.daemon);
        return status;
    }
    if (e->proc.cfg->supervisor)
        status = se__supervisor_main(&e->proc);
    else
        status = se__server_main(&e->proc, -1, NULL, &e->server);
    se__proc_report_ready(&e->proc, status == 0, "the server ended before it was ready");
    se__status_unlisten(&e->proc.status_sock);
    se__pidfile_release(&e->proc.daemon);
    if (e->proc.daemon.release_msg[0] != '\0')
        se__proc_log(&e->proc, SE_LOG_WARN, "%s", e->proc.daemon.release_msg);
    return status;
}
