/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.h: what every process of the engine needs, whatever its role:
 * the configuration sources and their loading, the logger, readiness, the
 * fork preparation, the signals that are commands, systemd's notification,
 * and the loop (the adapter, the driver, the output capture). One module
 * below worker.c, server.c and supervisor.c, which engine.c (the public
 * entry) sits on: the layers are
 *
 *     engine.c -> supervisor.c -> server.c -> worker.c -> process.c
 *
 * each calling only what is below it (make lint checks it on the objects).
 * Nothing here calls up: how a process stops itself is a hook it sets.
 */
#ifndef SE_PROCESS_H
#define SE_PROCESS_H

#include "config.h"
#include "daemon.h"
#include "driver.h"
#include "listen.h"
#include "logger.h"
#include "os_posix.h"
#include "se_int.h"
#include "status.h"

#define SE_OVERRIDES_MAX 64u

/* What systemd gave this process (notify.c). */
struct se_notify {
    char socket[108]; /* NOTIFY_SOCKET, "" = none (sizeof sockaddr_un.sun_path) */
    int64_t watchdog_usec;
    int32_t watchdog_pid;
    bool stopping_sent;
};

/* One process's services: the engine owns it; a forked server or worker
 * works on its copy. */
struct se_proc {
    struct se_server_callbacks scb;
    struct se_worker_callbacks wcb;
    void *user_data;

    /* configuration sources, read again on every reload */
    struct se_config *defaults;        /* owned */
    char config_path[SE_PATH_MAX];     /* "" = none; absolute (against start_dir) */
    char start_dir[SE_PATH_MAX];       /* the directory at se_engine_new; "" unknown */
    char *overrides[SE_OVERRIDES_MAX]; /* owned "key=value" */
    size_t overrides_count;
    se_config_loader loader;
    void *loader_ud;

    struct se_config *cfg;    /* the configuration at start (owned) */
    struct se_logger *logger; /* this process's logger (owned) */
    struct se_proctitle title;
    struct se_daemon daemon;
    struct se_os_posix *posix; /* this process's adapter (its private fds), or NULL */
    bool log_created;          /* the log file did not exist before this process opened it */
    bool ready_reported;
    struct se_notify notify;
    struct se_listen_set listen;       /* the `listen` sockets, opened once at start */
    struct se_status_sock status_sock; /* the status socket, made at start */
    void (*stop_hook)(void *ud); /* how this process stops itself (its loop's owner sets it) */
    void *stop_ud;
};

/* The loop of a server or a supervisor: its adapter, its driver and the
 * capture of its descriptors 1 and 2 into the log. */
struct se_loop {
    struct se_os os;
    struct se_os_posix *posix; /* owned (large) */
    struct se_driver *driver;  /* owned */
    int32_t capture_fds[2];    /* stdout, stderr capture read ends, or -1 */
};

/* ---- the process's services (process.c) -------------------------------- */

void se__proc_init(struct se_proc *p);
void se__proc_fini(struct se_proc *p);

/* Replaces the sources (defaults copied, path made absolute, overrides
 * copied). 0, -ENOMEM or SE_ECONFIG with a message in err. */
int se__proc_set_sources(struct se_proc *p, const struct se_config *defaults, const char *path,
                         const char *const *overrides, size_t n, char *err, size_t err_size);
/* A new configuration from the sources, checked whole. */
int se__proc_load_config(const struct se_proc *p, struct se_config **out, char *err,
                         size_t err_size);
/* The `log` key names a file: not "" (stderr) and not "-" (stdout). */
bool se__log_path_is_file(const char *log);

void se__proc_log(const struct se_proc *p, enum se_log_level level, const char *fmt, ...)
    SE_PRINTF(3, 4);
/* Opens the logger of cfg, or moves the existing one to cfg's settings. */
int se__proc_apply_logger(struct se_proc *p, const struct se_config *cfg);
/* The same after a reload: a log that cannot be opened is said, the old kept. */
void se__proc_reload_logger(struct se_proc *p, const struct se_config *cfg);
/* Tells the launcher (daemon) or the supervisor (relay) once; when the
 * word cannot be delivered the process stops itself (its stop hook). */
void se__proc_report_ready(struct se_proc *p, bool ok, const char *msg);

/* A fork's prepare hook (se_spawn_req), arg the logger; its after hook is
 * se__logger_fork_unlock. */
void se__proc_fork_prepare(void *logger);

/* The signals a server or a supervisor takes as commands. */
uint32_t se__command_signals(const struct se_config *cfg, enum se_sig *sigs, uint32_t max);

/* The adapter and the driver of a loop in this process's role, with its
 * output captured when capture is true; parent_hb_fd/parent_stamp as for
 * se__os_posix_init. 0 or -errno (se__loop_free releases what was made). */
int se__loop_start(struct se_proc *p, struct se_loop *l, enum se_role role,
                   const struct se_driver_hooks *hooks, int32_t parent_hb_fd, int64_t *parent_stamp,
                   bool capture);
/* True when fd was one of the capture pipes (its lines went to the log). */
bool se__loop_readable(struct se_proc *p, struct se_loop *l, int32_t fd);
void se__loop_free(struct se_proc *p, struct se_loop *l);

/* ---- sigdump.c: writes stack and memory figures (serverengine(3), UTILITIES). */
int se__sigdump(struct se_logger *lg, const char *workers);

/* ---- notify.c: systemd notification (READY=1 ...) when NOTIFY_SOCKET was
 * set. Takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID out of the
 * environment into n: nothing this process starts inherits them. */
void se__notify_take(struct se_notify *n);
/* This process does not speak to systemd (a server under a supervisor). */
void se__notify_forget(struct se_notify *n);
void se__notify(const struct se_notify *n, const struct se_config *cfg, const char *state);
/* STOPPING=1, the first time only. */
void se__notify_stopping(struct se_notify *n, const struct se_config *cfg);
/* READY=1 with a STATUS= line saying why a reload was refused. */
void se__notify_reload_refused(const struct se_notify *n, const struct se_config *cfg,
                               const char *why);
/* The interval of WATCHDOG=1 pings systemd asks for (WATCHDOG_USEC, for this
 * pid), or 0. */
int64_t se__notify_watchdog_ms(const struct se_notify *n, const struct se_config *cfg);

#endif /* SE_PROCESS_H */
