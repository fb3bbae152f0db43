/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c: the public engine object: configuration sources, the start-up
 * sequence (validate, log, daemonize, pid file, privileges) and the choice
 * between a supervisor and a plain server. Ruby ServerEngine's Daemon and
 * ServerEngine.create.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (server != NULL) e->scb = *server;
    e->wcb = *worker;
    e->user_data = user_data;
    /* Relative paths are resolved against this directory, at start and on
     * every reload alike: a daemon changes its directory to / meanwhile. */
    if (getcwd(e->start_dir, sizeof e->start_dir) == NULL) e->start_dir[0] = '\0';
    se__daemon_init(&e->daemon);
    return e;
}

void
se_engine_free(struct se_engine *e)
{
    if (e == NULL) return;
    se__server_free(e->server);
    se__listen_close(&e->listen);
    se__status_unlisten(&e->status_sock);
    se_logger_free(e->logger);
    se_config_free(e->cfg);
    se_config_free(e->defaults);
    for (size_t i = 0; i < e->overrides_count; i++)
        free(e->overrides[i]);
    free(e);
}

void *
se_engine_user_data(const struct se_engine *e)
{
    return e->user_data;
}

void
se_engine_set_loader(struct se_engine *e, se_config_loader load, void *ud)
{
    e->loader = load;
    e->loader_ud = ud;
}

/* path made absolute against dir (the starting directory), in place: 0, or
 * SE_ELIMIT when the result would not fit. "", "-" and absolute paths stay;
 * so does everything when the starting directory is unknown. */
static int
absolutize(const char *dir, char *path, size_t size)
{
    if (path[0] == '\0' || path[0] == '/' || strcmp(path, "-") == 0 || dir[0] == '\0') return 0;
    char abs[2 * SE_PATH_MAX + 2];
    int n = snprintf(abs, sizeof abs, "%s/%s", dir, path);
    if (n < 0 || (size_t)n >= size) return SE_ELIMIT;
    memcpy(path, abs, (size_t)n + 1);
    return 0;
}

static int
set_sources(struct se_engine *e, const struct se_config *defaults, const char *path,
            const char *const *overrides, size_t n, char *err, size_t err_size)
{
    if (n > SE_OVERRIDES_MAX || (path != NULL && strlen(path) >= SE_PATH_MAX)) {
        snprintf(err, err_size, "too many overrides or a config path too long");
        return SE_ECONFIG;
    }
    struct se_config *d = defaults != NULL ? se_config_dup(defaults) : se_config_new();
    if (d == NULL) return -ENOMEM;
    se_config_free(e->defaults);
    e->defaults = d;
    snprintf(e->config_path, sizeof e->config_path, "%s", path != NULL ? path : "");
    if (absolutize(e->start_dir, e->config_path, sizeof e->config_path) < 0) {
        snprintf(err, err_size,
                 "config file: the path is too long once made absolute against "
                 "the starting directory");
        return SE_ECONFIG;
    }
    for (size_t i = 0; i < e->overrides_count; i++)
        free(e->overrides[i]);
    e->overrides_count = 0;
    for (size_t i = 0; i < n; i++) {
        e->overrides[i] = strdup(overrides[i]);
        if (e->overrides[i] == NULL) return -ENOMEM;
        e->overrides_count = i + 1;
    }
    return 0;
}

int
se_engine_configure(struct se_engine *e, const struct se_config *defaults, const char *config_path,
                    const char *const *overrides, size_t overrides_count, char *err,
                    size_t err_size)
{
    char msg[sizeof e->config_error_msg] = "";
    struct se_config *cfg = NULL;
    int rc = set_sources(e, defaults, config_path, overrides, overrides_count, msg, sizeof msg);
    if (rc == 0) rc = se__engine_load_config(e, &cfg, msg, sizeof msg);
    /* a failed configuration is remembered: se_engine_run then starts nothing */
    e->config_error = rc;
    snprintf(e->config_error_msg, sizeof e->config_error_msg, "%s", msg[0] ? msg : se_strerror(rc));
    if (err != NULL && err_size > 0) snprintf(err, err_size, "%s", msg);
    if (rc < 0) return rc;
    se_config_free(e->cfg);
    e->cfg = cfg;
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
    se__proctitle_init(&e->title, *argc, argv);
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

/* The path keys, resolved once against the starting directory, so that a
 * reload (after a daemon's chdir to /) reads them as the start did. */
/* The `log` key names a file: not "" (stderr) and not "-" (stdout). */
static bool
log_path_is_file(const char *log)
{
    return log[0] != '\0' && strcmp(log, "-") != 0;
}

static int
absolutize_paths(const struct se_engine *e, struct se_config *cfg, char *err, size_t err_size)
{
    struct {
        const char *key;
        char *path;
    } keys[] = {{"log", cfg->log}, {"pid_path", cfg->pid_path}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (absolutize(e->start_dir, keys[i].path, SE_PATH_MAX) < 0) {
            snprintf(err, err_size,
                     "%s: the path is too long once made absolute against the starting "
                     "directory",
                     keys[i].key);
            return SE_ECONFIG;
        }
    }
    return 0;
}

int
se__engine_load_config(struct se_engine *e, struct se_config **out, char *err, size_t err_size)
{
    struct se_config *cfg = e->defaults != NULL ? se_config_dup(e->defaults) : se_config_new();
    if (cfg == NULL) return -ENOMEM;
    int rc = 0;
    if (e->config_path[0] != '\0') rc = se_config_load_yaml(cfg, e->config_path, err, err_size);
    for (size_t i = 0; rc == 0 && i < e->overrides_count; i++)
        rc = se_config_set_kv(cfg, e->overrides[i], err, err_size);
    if (rc == 0 && e->loader != NULL) rc = e->loader(e->loader_ud, cfg, err, err_size);
    if (rc == 0) rc = se__config_dump_signal_env(cfg, getenv("SIGDUMP_SIGNAL"), err, err_size);
    if (rc == 0) rc = se__config_check_whole(cfg, err, err_size);
    if (rc == 0) rc = absolutize_paths(e, cfg, err, err_size);
    bool spawn = cfg->worker_type == SE_WORKER_SPAWN;
    if (rc == 0 && (spawn ? e->wcb.spawn == NULL : e->wcb.run == NULL)) {
        snprintf(err, err_size, "worker_type %s: the worker callbacks lack %s",
                 spawn ? "spawn" : "embedded/thread/process", spawn ? "spawn" : "run");
        rc = SE_ECONFIG;
    }
    if (rc < 0) {
        se_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* ---- forks ---------------------------------------------------------------- */

/* Right before a fork (every signal blocked): output the program left in
 * stdio's buffers is written now, once; a child would otherwise carry a copy
 * and write it again when it exits (Ruby's fork flushes for the same
 * reason). Then the logger's lock, so that the child gets it in a consistent
 * state. */
void
se__engine_fork_prepare(void *logger)
{
    fflush(NULL);
    se__logger_fork_lock(logger);
}

/* ---- logging ------------------------------------------------------------ */

void
se__engine_log(struct se_engine *e, enum se_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (e->logger != NULL) {
        se_logv(e->logger, level, fmt, ap);
    } else {
        fprintf(stderr, "serverengine: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

int
se__engine_apply_logger(struct se_engine *e, const struct se_config *cfg)
{
    SE_ASSERT(cfg != NULL);
    if (e->logger == NULL) {
        int err = 0;
        e->logger = se_logger_new(cfg->log, &err);
        if (e->logger == NULL) return err;
    } else {
        int rc = se_logger_set_path(e->logger, cfg->log);
        if (rc < 0) return rc;
    }
    se_logger_set_level(e->logger, cfg->log_level);
    (void)se__logger_set_format(e->logger, cfg->log_format); /* a valid key's value */
    if (log_path_is_file(cfg->log))
        se_logger_set_rotation(e->logger, cfg->log_rotate_age, cfg->log_rotate_size_bytes);
    return 0;
}

void
se__engine_report_ready(struct se_engine *e, bool ok, const char *msg)
{
    if (e->ready_reported) return;
    e->ready_reported = true;
    if (e->posix != NULL) se__os_posix_private_fd_drop(e->posix, e->daemon.ready_fd);
    int rc = se__daemon_report(&e->daemon, ok, msg);
    if (rc == 0 || !ok) return;
    /* The launcher saw EOF and told its caller the start failed: a daemon
     * nobody believes is running must not go on running. */
    se__engine_log(e, SE_LOG_FATAL, "Cannot tell the launcher we are ready (%s): stopping",
                   se_strerror(rc));
    if (e->server != NULL) se_server_stop(e->server, true);
    if (e->stop_hook != NULL) e->stop_hook(e->stop_ud);
}

/* ---- start-up ----------------------------------------------------------- */

/* Whether the log is a file, not a stream the person starting us also sees. */
static bool
log_is_file(const struct se_engine *e)
{
    return e->logger != NULL && e->cfg != NULL && log_path_is_file(e->cfg->log);
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
    bool launcher = e->daemon.ready_fd >= 0;
    if (log_is_file(e) || (e->logger != NULL && !launcher))
        se__engine_log(e, SE_LOG_FATAL, "%s", line);
    if ((e->logger == NULL || log_is_file(e)) && !launcher)
        fprintf(stderr, "serverengine: %s\n", line);
    se__engine_report_ready(e, false, line);
    return status;
}

static int
become_daemon(struct se_engine *e)
{
    const struct se_config *c = e->cfg;
    bool keep_stderr = c->log[0] == '\0';
    /* The commands (and SIGCHLD) stay blocked through both forks: a TERM to
     * the new daemon before its loop reads the signalfd waits, pending,
     * instead of killing it; the adapter blocks the same set anyway. */
    enum se_sig sigs[SE_CMD_COUNT];
    uint32_t n = se__command_signals(c, sigs, SE_CMD_COUNT);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (uint32_t i = 0; i < n; i++)
        sigaddset(&set, se__sig_to_posix(sigs[i]));
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = se__daemonize(&e->daemon, c->daemonize_error_exit_code, keep_stderr);
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
    const struct se_config *c = e->cfg;
    bool to_file = log_path_is_file(c->log);
    if (!to_file || (c->chuser[0] == '\0' && c->chgroup[0] == '\0')) return;
    char err[SE_DAEMON_MSG_MAX] = "";
    if (!e->log_created) {
        se__engine_log(e, SE_LOG_DEBUG,
                       "Log %s was there before: it keeps its owner (chuser %s must be able to "
                       "reopen it)",
                       c->log, c->chuser);
        return;
    }
    if (se__privileges_hand_over(c->chuser, c->chgroup, c->log, err, sizeof err) < 0)
        se__engine_log(e, SE_LOG_WARN, "%s", err);
}

static int
prepare_process(struct se_engine *e)
{
    const struct se_config *c = e->cfg;
    SE_ASSERT(c != NULL);
    char err[SE_DAEMON_MSG_MAX] = "";
    int code = c->daemonize_error_exit_code;
    if (c->daemonize) {
        int rc = become_daemon(e);
        if (rc < 0) return start_failed(e, code, "daemonize", se_strerror(rc));
    }
    if (c->pid_path[0] != '\0') {
        int rc = se__pidfile_acquire(&e->daemon, c->pid_path, err, sizeof err);
        if (rc < 0) return start_failed(e, code, NULL, err); /* "pid file PATH ..." */
        if (err[0] != '\0') se__engine_log(e, SE_LOG_WARN, "%s", err);
    }
    hand_over_log(e);
    /* the sockets are bound while the process may still bind low ports */
    int rc = se__listen_open(&e->listen, c, err, sizeof err);
    if (rc < 0) return start_failed(e, code, NULL, err); /* "listen ADDRESS: ..." */
    /* made while the directory of the pid file may still be written; a
     * server that cannot have one runs on (serverengine(3), STATUS) */
    rc = se__status_listen(&e->status_sock, e->daemon.pidfile_path, (int32_t)getpid(), c->chuser,
                           c->chgroup);
    if (rc < 0)
        se__engine_log(e, SE_LOG_WARN, "No status socket %s: %s", e->status_sock.path,
                       se_strerror(rc));
    rc = se__privileges_drop(c->chuser, c->chgroup, c->chumask, err, sizeof err);
    if (rc < 0) return start_failed(e, code, "privileges", err);
    if (c->daemon_process_name[0] != '\0')
        se__proctitle_set(&e->title, "%s", c->daemon_process_name);
    return 0;
}

static int
load_initial(struct se_engine *e)
{
    if (e->config_error < 0) {
        fprintf(stderr, "serverengine: %s\n", e->config_error_msg);
        return EX_CONFIG_STATUS;
    }
    if (e->cfg == NULL) {
        char err[512] = "";
        int rc = se_engine_configure(e, NULL, NULL, NULL, 0, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "serverengine: %s\n", err[0] ? err : se_strerror(rc));
            return EX_CONFIG_STATUS;
        }
    }
    for (size_t i = 0; i < se_config_warning_count(e->cfg); i++)
        fprintf(stderr, "serverengine: warning: %s\n", se_config_warning(e->cfg, i));
    SE_ASSERT(e->cfg != NULL);
    const struct se_os *fs = se__os_posix_fs();
    struct se_file_id id = {0};
    bool to_file = log_path_is_file(e->cfg->log);
    e->log_created = to_file && fs->file_id(fs->ctx, e->cfg->log, -1, &id) == 0 && !id.exists;
    int rc = se__engine_apply_logger(e, e->cfg);
    if (rc < 0) {
        char why[256];
        fprintf(stderr, "serverengine: log %s: %s\n", e->cfg->log,
                se__posix_open_error(e->cfg->log, rc, why, sizeof why));
        return EX_CONFIG_STATUS;
    }
    return 0;
}

int
se_engine_run(struct se_engine *e)
{
    SE_ASSERT(!e->ran);
    e->ran = true;
    se__notify_take(&e->notify); /* nothing started from here on inherits it */
    int status = load_initial(e);
    if (status != 0) return status;
    status = prepare_process(e);
    if (status != 0) {
        se__status_unlisten(&e->status_sock);
        se__pidfile_release(&e->daemon);
        return status;
    }
    if (e->cfg->supervisor)
        status = se__supervisor_main(e);
    else
        status = se__server_main(e, -1, NULL);
    se__engine_report_ready(e, status == 0, "the server ended before it was ready");
    se__status_unlisten(&e->status_sock);
    se__pidfile_release(&e->daemon);
    if (e->daemon.release_msg[0] != '\0')
        se__engine_log(e, SE_LOG_WARN, "%s", e->daemon.release_msg);
    return status;
}
