/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_int.h: the runtime's objects (engine, server, worker) shared by
 * engine.c, server.c, worker.c and supervisor.c. The driver and the pure
 * machines know nothing of them: the runtime plugs into the driver through
 * its hooks, the same seam the simulator uses.
 */
#ifndef SE_ENGINE_INT_H
#define SE_ENGINE_INT_H

#include "config.h"
#include "daemon.h"
#include "driver.h"
#include "listen.h"
#include "logger.h"
#include "sockmgr.h"
#include "status.h"
#include "os_posix.h"
#include "se_int.h"

#define SE_OVERRIDES_MAX 64u
#define SE_STOP_GRACE_MS 5000 /* a worker whose server is gone gets this long to return */

/* What systemd gave this process (notify.c). */
struct se_notify {
    char socket[108]; /* NOTIFY_SOCKET, "" = none (sizeof sockaddr_un.sun_path) */
    int64_t watchdog_usec;
    int32_t watchdog_pid;
    bool stopping_sent;
};

struct se_engine {
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

    struct se_config *cfg; /* the configuration at start (owned) */
    int config_error;      /* the last se_engine_configure failed: run refuses */
    char config_error_msg[512];
    struct se_logger *logger; /* this process's logger (owned) */
    struct se_proctitle title;
    struct se_daemon daemon;
    struct se_server *server;  /* the server object of this process */
    struct se_os_posix *posix; /* this process's adapter (its private fds), or NULL */
    bool ran;
    bool log_created; /* the log file did not exist before this process opened it */
    bool ready_reported;
    struct se_notify notify;
    struct se_listen_set listen;       /* the `listen` sockets, opened once at start */
    struct se_status_sock status_sock; /* the status socket, made at start */
    void (*stop_hook)(void *ud);       /* the supervisor's way to stop itself */
    void *stop_ud;
    const char *usage; /* se_engine_set_usage: the program's --help lines */
    bool own_options;  /* ... and whether it takes options of its own */
};

struct se_cmdpipe;
struct se_status_srv;

struct se_server {
    struct se_engine *e;
    void *user_data;
    struct se_driver *driver; /* owned; NULL in a supervisor */
    struct se_os os;
    struct se_os_posix *posix; /* owned (large) */
    struct se_config *retired; /* the previous configuration, kept for readers */
    int32_t cmd_pipe[2];       /* se_server_stop & co: one byte per command */
    int32_t capture_fds[2];    /* stdout, stderr capture read ends, or -1 */
    struct se_worker *workers[SE_WORKERS_MAX];
    bool supervisor;              /* this object lives in the supervisor process */
    bool ready_notified;          /* READY=1 went to systemd */
    struct se_sockmgr *sockmgr;   /* socket_manager: true (owned), else NULL */
    struct se_status_srv *status; /* the status socket (owned), or NULL */
    /* command_sender pipe: the parent's pipe (was stdin) and its reader */
    int32_t cmdin_fd;
    struct se_cmdpipe *cmdin;
};

struct se_worker {
    struct se_server *server;
    uint32_t id;
    void *user_data;
    const struct se_config *cfg; /* the worker's view of the configuration */
    struct se_config *own_cfg;   /* a process worker's reloaded configuration */
    struct se_config *own_retired;
    int32_t hb_fd;      /* process child: heartbeat pipe write end */
    int64_t *stamp;     /* process child: its beat stamp */
    int32_t pid;        /* in the server: the child's pid */
    int32_t server_pid; /* in the child: the server's pid (signals from it) */
    bool in_child;      /* this copy is the forked child's */
    int stopping;       /* stop was called (atomic) */
    int running;        /* run has not returned yet (atomic) */
    /* spawn worker: the program last started (for its log lines) */
    char spawn_what[SE_NAME_MAX];
    char listen_fdnames[SE_LISTEN_MAX * SE_LISTEN_NAME_MAX + 32]; /* spawn: LISTEN_FDNAMES=... */
};

/* engine.c */
int se__engine_load_config(struct se_engine *e, struct se_config **out, char *err, size_t err_size);
void se__engine_log(struct se_engine *e, enum se_log_level level, const char *fmt, ...)
    SE_PRINTF(3, 4);
void se__engine_report_ready(struct se_engine *e, bool ok, const char *msg);
int se__engine_apply_logger(struct se_engine *e, const struct se_config *cfg);
/* A fork's prepare hook (se_spawn_req), arg the engine's logger; its after
 * hook is se__logger_fork_unlock. */
void se__engine_fork_prepare(void *logger);

/* server.c: runs the server in this process; parent channel from a
 * supervisor or -1/NULL. Returns the exit status. */
int se__server_main(struct se_engine *e, int32_t parent_hb_fd, int64_t *parent_stamp);
void se__server_free(struct se_server *s);
/* the signals a server or supervisor takes as commands */
uint32_t se__command_signals(const struct se_config *cfg, enum se_sig *sigs, uint32_t max);

/* worker.c */
struct se_worker *se__worker_new(struct se_server *s, uint32_t id);
void se__worker_free(struct se_worker *w);
int se__worker_process_entry(void *arg, const struct se_child_ctx *cc);
int se__worker_thread_entry(void *arg, const struct se_child_ctx *cc);

/* args.c: the command line (se_engine_parse_args). */
struct se_args {
    bool own_options;        /* options the engine does not know are the program's */
    const char *config_path; /* -c, or NULL */
    const char *sets[SE_OVERRIDES_MAX];
    size_t sets_count;
};
/* Takes the engine's options out of argv (argc updated; operands and the
 * program's own options stay). Returns 0, 1 for --help, or SE_EUSAGE with a
 * message in err. */
int se__args_take(struct se_args *a, int *argc, char **argv, char *err, size_t err_size);
/* Prints --help: the options, the program's usage lines, every key. */
void se__args_usage(const char *prog, const char *usage, const struct se_config *defaults);

/* spawn.c: a spawn worker's exec request from the spawn callback (kind
 * left 0 when it gives no command), and the log line of a failed start. */
void se__spawn_prepare(struct se_worker *w, const struct se_config *cfg, struct se_spawn_req *req);
void se__spawn_failed(struct se_worker *w, int err);

/* cmdpipe_in.c: a server's stdin as its command pipe (command_sender:
 * pipe). open: takes stdin when the configuration says so (0 or -errno);
 * readable: true when fd was the pipe (its words are handled, EOF is a
 * graceful stop); close: releases it. */
int se__cmdin_open(struct se_server *s, const struct se_config *cfg, bool supervised);
bool se__cmdin_readable(struct se_server *s, int32_t fd);
void se__cmdin_close(struct se_server *s);

/* supervisor.c */
int se__supervisor_main(struct se_engine *e);

/* sigdump.c: writes stack and memory figures (serverengine(3), UTILITIES). */
int se__sigdump(struct se_logger *lg);

/* notify.c: systemd notification (READY=1 ...) when NOTIFY_SOCKET was set.
 * Takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID out of the environment
 * into n: nothing this process starts inherits them. */
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

#endif /* SE_ENGINE_INT_H */
