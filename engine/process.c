/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.c: the services every process of the engine uses (process.h):
 * configuration sources and loading, the logger's set-up, readiness, the
 * fork preparation, the command signals, and the start of a loop (adapter,
 * driver, output capture) that the server and the supervisor share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logger.h"
#include "process.h"

void
se__proc_init(struct se_proc *p)
{
    /* Relative paths are resolved against this directory, at start and on
     * every reload alike: a daemon changes its directory to / meanwhile. */
    if (se__posix_cwd(p->start_dir, sizeof p->start_dir) < 0) p->start_dir[0] = '\0';
    se__daemon_init(&p->daemon);
}

void
se__proc_fini(struct se_proc *p)
{
    se__listen_close(&p->listen);
    se__status_unlisten(&p->status_sock);
    se_logger_free(p->logger);
    se_config_free(p->cfg);
    se_config_free(p->defaults);
    for (size_t i = 0; i < p->overrides_count; i++)
        free(p->overrides[i]);
}

/* ---- configuration sources ---------------------------------------------- */

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

int
se__proc_set_sources(struct se_proc *p, const struct se_config *defaults, const char *path,
                     const char *const *overrides, size_t n, char *err, size_t err_size)
{
    if (n > SE_OVERRIDES_MAX || (path != NULL && strlen(path) >= SE_PATH_MAX)) {
        snprintf(err, err_size, "too many overrides or a config path too long");
        return SE_ECONFIG;
    }
    struct se_config *d = defaults != NULL ? se_config_dup(defaults) : se_config_new();
    if (d == NULL) return -ENOMEM;
    se_config_free(p->defaults);
    p->defaults = d;
    snprintf(p->config_path, sizeof p->config_path, "%s", path != NULL ? path : "");
    if (absolutize(p->start_dir, p->config_path, sizeof p->config_path) < 0) {
        snprintf(err, err_size,
                 "config file: the path is too long once made absolute against "
                 "the starting directory");
        return SE_ECONFIG;
    }
    for (size_t i = 0; i < p->overrides_count; i++)
        free(p->overrides[i]);
    p->overrides_count = 0;
    for (size_t i = 0; i < n; i++) {
        p->overrides[i] = strdup(overrides[i]);
        if (p->overrides[i] == NULL) return -ENOMEM;
        p->overrides_count = i + 1;
    }
    return 0;
}

bool
se__log_path_is_file(const char *log)
{
    return log[0] != '\0' && strcmp(log, "-") != 0;
}

/* The path keys, resolved once against the starting directory, so that a
 * reload (after a daemon's chdir to /) reads them as the start did. */
static int
absolutize_paths(const struct se_proc *p, struct se_config *cfg, char *err, size_t err_size)
{
    struct {
        const char *key;
        char *path;
    } keys[] = {{"log", cfg->log}, {"pid_path", cfg->pid_path}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (absolutize(p->start_dir, keys[i].path, SE_PATH_MAX) < 0) {
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
se__proc_load_config(const struct se_proc *p, struct se_config **out, char *err, size_t err_size)
{
    struct se_config *cfg = p->defaults != NULL ? se_config_dup(p->defaults) : se_config_new();
    if (cfg == NULL) return -ENOMEM;
    int rc = 0;
    if (p->config_path[0] != '\0') rc = se_config_load_yaml(cfg, p->config_path, err, err_size);
    for (size_t i = 0; rc == 0 && i < p->overrides_count; i++)
        rc = se_config_set_kv(cfg, p->overrides[i], err, err_size);
    if (rc == 0 && p->loader != NULL) rc = p->loader(p->loader_ud, cfg, err, err_size);
    if (rc == 0) rc = se__config_dump_signal_env(cfg, getenv("SIGDUMP_SIGNAL"), err, err_size);
    if (rc == 0) rc = se__config_check_whole(cfg, err, err_size);
    if (rc == 0) rc = absolutize_paths(p, cfg, err, err_size);
    bool spawn = cfg->worker_type == SE_WORKER_SPAWN;
    if (rc == 0 && (spawn ? p->wcb.spawn == NULL : p->wcb.run == NULL)) {
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
se__proc_fork_prepare(void *logger)
{
    fflush(NULL);
    se__logger_fork_lock(logger);
}

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

/* ---- logging ------------------------------------------------------------ */

void
se__proc_log(const struct se_proc *p, enum se_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (p->logger != NULL) {
        se_logv(p->logger, level, fmt, ap);
    } else {
        fprintf(stderr, "serverengine: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

int
se__proc_apply_logger(struct se_proc *p, const struct se_config *cfg)
{
    SE_ASSERT(cfg != NULL);
    if (p->logger == NULL) {
        int err = 0;
        p->logger = se_logger_new(cfg->log, &err);
        if (p->logger == NULL) return err;
    } else {
        int rc = se_logger_set_path(p->logger, cfg->log);
        if (rc < 0) return rc;
    }
    se_logger_set_level(p->logger, cfg->log_level);
    (void)se__logger_set_format(p->logger, cfg->log_format); /* a valid key's value */
    if (se__log_path_is_file(cfg->log))
        se_logger_set_rotation(p->logger, cfg->log_rotate_age, cfg->log_rotate_size_bytes);
    return 0;
}

void
se__proc_reload_logger(struct se_proc *p, const struct se_config *cfg)
{
    int rc = se__proc_apply_logger(p, cfg);
    if (rc < 0) {
        char why[256];
        se_log(p->logger, SE_LOG_ERROR, "Reload: cannot open log %s: %s; keeping the old one",
               cfg->log, se__posix_open_error(cfg->log, rc, why, sizeof why));
    }
}

void
se__proc_report_ready(struct se_proc *p, bool ok, const char *msg)
{
    if (p->ready_reported) return;
    p->ready_reported = true;
    if (p->posix != NULL) se__os_posix_private_fd_drop(p->posix, p->daemon.ready_fd);
    int rc = se__daemon_report(&p->daemon, ok, msg);
    if (rc == 0 || !ok) return;
    /* The launcher saw EOF and told its caller the start failed: a daemon
     * nobody believes is running must not go on running. */
    se__proc_log(p, SE_LOG_FATAL, "Cannot tell the launcher we are ready (%s): stopping",
                 se_strerror(rc));
    if (p->stop_hook != NULL) p->stop_hook(p->stop_ud);
}

/* ---- a loop: adapter, driver, output capture ---------------------------- */

/* Descriptors 1 and 2 into the log, when it is a file (log_stdout,
 * log_stderr): a log that is the terminal already shows them. */
static void
capture_output(struct se_proc *p, struct se_loop *l, const struct se_config *cfg)
{
    bool to_terminal = !se__log_path_is_file(cfg->log);
    const bool want[2] = {cfg->log_stdout && !to_terminal, cfg->log_stderr && !to_terminal};
    for (int i = 0; i < 2; i++) {
        int fd = -1;
        if (!want[i] || se_logger_capture(p->logger, i + 1, &fd) < 0) continue;
        if (l->os.watch(l->os.ctx, fd) < 0) {
            l->os.close(l->os.ctx, fd);
            continue;
        }
        l->capture_fds[i] = fd;
    }
}

int
se__loop_start(struct se_proc *p, struct se_loop *l, enum se_role role,
               const struct se_driver_hooks *hooks, int32_t parent_hb_fd, int64_t *parent_stamp,
               bool capture)
{
    l->capture_fds[0] = l->capture_fds[1] = -1;
    l->posix = calloc(1, sizeof *l->posix);
    if (l->posix == NULL) return -ENOMEM;
    enum se_sig sigs[SE_CMD_COUNT];
    uint32_t n = se__command_signals(p->cfg, sigs, SE_CMD_COUNT);
    int rc = se__os_posix_init(&l->os, l->posix, sigs, n, parent_hb_fd, parent_stamp);
    if (rc < 0) {
        free(l->posix);
        l->posix = NULL;
        return rc;
    }
    se__os_posix_private_fd(l->posix, p->daemon.ready_fd);
    p->posix = l->posix;
    se__os_posix_private_fd(l->posix, p->daemon.pidfile_fd);
    if (capture) capture_output(p, l, p->cfg);
    struct se_config *cfg = se_config_dup(p->cfg);
    if (cfg == NULL) return -ENOMEM;
    l->driver = se__driver_new(&l->os, role, cfg, hooks, &rc);
    return l->driver == NULL ? rc : 0;
}

bool
se__loop_readable(struct se_proc *p, struct se_loop *l, int32_t fd)
{
    for (int i = 0; i < 2; i++) {
        if (fd != l->capture_fds[i]) continue;
        if (se_logger_capture_drain(p->logger, fd) != 0) { /* EOF or an error: done */
            l->os.unwatch(l->os.ctx, fd);
            l->os.close(l->os.ctx, fd);
            l->capture_fds[i] = -1;
        }
        return true;
    }
    return false;
}

void
se__loop_free(struct se_proc *p, struct se_loop *l)
{
    se__driver_free(l->driver);
    l->driver = NULL;
    if (l->posix == NULL) return;
    for (int i = 0; i < 2; i++) {
        if (l->capture_fds[i] >= 0) l->os.close(l->os.ctx, l->capture_fds[i]);
        l->capture_fds[i] = -1;
    }
    if (p->posix == l->posix) p->posix = NULL;
    se__os_posix_fini(l->posix);
    free(l->posix);
    l->posix = NULL;
}
