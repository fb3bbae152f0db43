/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serverengine.h: the one installed header of libserverengine.
 *
 * A framework for robust multi-process servers: a supervisor keeps a server
 * alive, the server keeps N workers alive (processes, threads or spawned
 * commands) with heartbeats, escalating kills, signals for stop/restart/reload,
 * a multi-process-safe log and socket sharing. It is the C successor of Ruby's
 * ServerEngine; option names are the seed's.
 *
 * Conventions: every function that can fail returns 0 or a negative number,
 * either -errno or one of the SE_E* codes below (se_strerror() names both).
 * Time values are int64_t milliseconds of CLOCK_MONOTONIC unless the name
 * says otherwise. Nothing in this library keeps global mutable state.
 */
#ifndef SERVERENGINE_H
#define SERVERENGINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's exported symbols (everything else is hidden). */
#if defined(__GNUC__)
#define SE_API __attribute__((visibility("default")))
#else
#define SE_API
#endif

#define SE_VERSION_MAJOR  0
#define SE_VERSION_MINOR  1
#define SE_VERSION_PATCH  0
#define SE_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors: the project's own conditions, below every errno value.           */
/* ------------------------------------------------------------------------ */

#define SE_ECONFIG  (-1001) /* a configuration value is invalid */
#define SE_EUNKNOWN (-1002) /* an unknown name (key, level, signal, worker type) */
#define SE_ELIMIT   (-1003) /* a fixed limit of the engine was exceeded */
#define SE_EPARSE   (-1004) /* a file or string could not be parsed */
#define SE_ESTATE   (-1005) /* the call is not valid in the object's current state */
#define SE_ENOTSUP  (-1006) /* not supported for this worker type or platform */
#define SE_EUSAGE   (-1007) /* a command-line usage error (exit with 64, EX_USAGE) */

/*
 * Returns a static description of err, which is 0, -errno or an SE_E* code.
 * Never NULL; unknown codes give "unknown error".
 */
SE_API const char *se_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Signals, named without <signal.h> so that pure code and the simulator     */
/* stay platform-neutral. Only the POSIX adapter maps them to numbers.       */
/* ------------------------------------------------------------------------ */

enum se_sig {
    SE_SIG_NONE = 0,
    SE_SIG_HUP,
    SE_SIG_INT,
    SE_SIG_QUIT,
    SE_SIG_ILL,
    SE_SIG_TRAP,
    SE_SIG_ABRT,
    SE_SIG_BUS,
    SE_SIG_FPE,
    SE_SIG_KILL,
    SE_SIG_USR1,
    SE_SIG_SEGV,
    SE_SIG_USR2,
    SE_SIG_PIPE,
    SE_SIG_ALRM,
    SE_SIG_TERM,
    SE_SIG_CHLD,
    SE_SIG_CONT,
    SE_SIG_STOP,
    SE_SIG_TSTP,
    SE_SIG_TTIN,
    SE_SIG_TTOU,
    SE_SIG_URG,
    SE_SIG_XCPU,
    SE_SIG_XFSZ,
    SE_SIG_VTALRM,
    SE_SIG_PROF,
    SE_SIG_WINCH,
    SE_SIG_IO,
    SE_SIG_PWR,
    SE_SIG_SYS,
    SE_SIG_OTHER, /* a signal this enum does not name (real-time signals) */
    SE_SIG_COUNT
};

/* "SIGTERM" for SE_SIG_TERM; "SIG?" for values out of range. Static string. */
SE_API const char *se_sig_name(enum se_sig sig);

/*
 * Parses "TERM", "SIGTERM", "sigterm" or a decimal Linux signal number into
 * *sig. Returns 0, or SE_EUNKNOWN when the name is not a signal.
 */
SE_API int se_sig_parse(const char *text, enum se_sig *sig);

/* ------------------------------------------------------------------------ */
/* Commands an operator gives a server or supervisor, by signal or pipe.     */
/* ------------------------------------------------------------------------ */

enum se_cmd {
    SE_CMD_NONE = 0,
    SE_CMD_GRACEFUL_STOP,     /* TERM */
    SE_CMD_IMMEDIATE_STOP,    /* QUIT */
    SE_CMD_GRACEFUL_RESTART,  /* USR1 */
    SE_CMD_IMMEDIATE_RESTART, /* HUP */
    SE_CMD_RELOAD,            /* USR2 */
    SE_CMD_DETACH,            /* INT */
    SE_CMD_DUMP,              /* CONT */
    SE_CMD_COUNT
};

/* "GRACEFUL_STOP" etc., the command-pipe words of serverengine(3), COMMAND PIPE. */
SE_API const char *se_cmd_name(enum se_cmd cmd);

/* Parses a command-pipe word (without newline). Returns 0 or SE_EUNKNOWN. */
SE_API int se_cmd_parse(const char *text, size_t len, enum se_cmd *cmd);

/* ------------------------------------------------------------------------ */
/* Configuration (engine/config.c). Keys, types and defaults: serverengine(5). */
/* ------------------------------------------------------------------------ */

enum se_worker_type {
    SE_WORKER_EMBEDDED = 0,
    SE_WORKER_THREAD,
    SE_WORKER_PROCESS,
    SE_WORKER_SPAWN,
};

enum se_log_level {
    SE_LOG_TRACE = 0,
    SE_LOG_DEBUG,
    SE_LOG_INFO,
    SE_LOG_WARN,
    SE_LOG_ERROR,
    SE_LOG_FATAL,
};

struct se_config;

/*
 * Returns a new configuration holding every key's built-in default, or NULL
 * when out of memory. The caller owns it; release with se_config_free().
 */
SE_API struct se_config *se_config_new(void);

/* Releases cfg and everything it owns. NULL is allowed. */
SE_API void se_config_free(struct se_config *cfg);

/* Returns a deep copy of cfg (NULL when out of memory). */
SE_API struct se_config *se_config_dup(const struct se_config *cfg);

/*
 * Sets key to the value given as text, typed and range-checked by the key
 * table. Returns 0; SE_ECONFIG when the value is invalid for the key, with a
 * message naming the key, the value and what was expected written to err
 * (err may be NULL); -ENOMEM. A key the engine does not know is stored as a
 * user key (user code reads it with se_config_get) and a warning is recorded
 * (se_config_warning), as a typo guard. cfg is unchanged on error.
 */
SE_API int se_config_set(struct se_config *cfg, const char *key, const char *value, char *err,
                         size_t err_size);

/*
 * Declares a key of the program's own (bind, port, message...) with its
 * default value: like se_config_set, but no "unknown key" warning now or
 * when a file or -s sets it later. SE_ECONFIG for a built-in key.
 */
SE_API int se_config_declare(struct se_config *cfg, const char *key, const char *value, char *err,
                             size_t err_size);

/* Same as se_config_set for one "KEY=VALUE" string (the -s/--set syntax). */
SE_API int se_config_set_kv(struct se_config *cfg, const char *key_value, char *err,
                            size_t err_size);

/*
 * Applies the top-level mapping of a YAML file over cfg. Scalars are parsed
 * as by se_config_set; sequences are accepted for list keys
 * (unrecoverable_exit_codes, listen). Returns 0, -errno when the file cannot
 * be read, SE_EPARSE for malformed YAML, or SE_ECONFIG; cfg is unchanged on
 * error and err explains (with the line number for YAML errors).
 */
SE_API int se_config_load_yaml(struct se_config *cfg, const char *path, char *err, size_t err_size);

/* As se_config_load_yaml, from a string in memory (len bytes). */
SE_API int se_config_load_yaml_string(struct se_config *cfg, const char *yaml, size_t len,
                                      char *err, size_t err_size);

/*
 * Writes the value of any key, built-in or user, as text into buf (always
 * NUL-terminated when buf_size > 0). Returns the length of the full text
 * (like snprintf), or SE_EUNKNOWN when the key is not set and not built in.
 */
SE_API int se_config_get(const struct se_config *cfg, const char *key, char *buf, size_t buf_size);

/*
 * Typed readers for user code. Return 0, SE_EUNKNOWN when the key is absent,
 * or SE_ECONFIG when its text is not of the type (the default is then kept
 * in *out untouched).
 */
SE_API int se_config_get_int(const struct se_config *cfg, const char *key, int64_t *out);
SE_API int se_config_get_double(const struct se_config *cfg, const char *key, double *out);
SE_API int se_config_get_bool(const struct se_config *cfg, const char *key, bool *out);

/* Warnings recorded while loading (unknown keys). Index 0..count-1. */
SE_API size_t se_config_warning_count(const struct se_config *cfg);
SE_API const char *se_config_warning(const struct se_config *cfg, size_t index);

/* The built-in key table, for help texts and `check-config`. */
SE_API size_t se_config_key_count(void);
SE_API const char *se_config_key_name(size_t index);
SE_API bool se_config_key_dynamic(size_t index); /* reloadable without a restart */
SE_API const char *se_config_key_help(size_t index);

/* ------------------------------------------------------------------------ */
/* Logger (engine/logger.c): serverengine(3), LOG. A log many processes share:    */
/* one write() per line on O_APPEND, rotation serialised across processes,  */
/* external rotation noticed, stdout/stderr captured. Thread-safe.          */
/* ------------------------------------------------------------------------ */

#if defined(__GNUC__)
#define SE_API_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SE_API_PRINTF(a, b)
#endif

struct se_logger;

/*
 * Parses a level name (trace, debug, info, warn, error, fatal; any case) or
 * Ruby Logger's number (-1 trace, 0 debug, 1 info, 2 warn, 3 error, 4 fatal).
 * Returns 0, or SE_EUNKNOWN.
 */
SE_API int se_log_level_parse(const char *text, enum se_log_level *level);

/* "TRACE" .. "FATAL" (the label in a log line); "ANY" out of range. */
SE_API const char *se_log_level_name(enum se_log_level level);

/*
 * Opens a logger writing to path: NULL or "" means stderr, "-" stdout,
 * anything else a file opened O_APPEND|O_CREAT (0644). Level debug, no
 * rotation, no progname. Returns NULL with *err set (-errno) on failure.
 * The caller owns the logger (se_logger_free).
 */
SE_API struct se_logger *se_logger_new(const char *path, int *err);

/* As se_logger_new on a descriptor the caller keeps owning (not closed). */
SE_API struct se_logger *se_logger_new_fd(int fd, int *err);

/* Flushes a partial captured line, closes what the logger opened, frees. */
SE_API void se_logger_free(struct se_logger *lg);

SE_API int se_logger_set_level(struct se_logger *lg, enum se_log_level level);
SE_API enum se_log_level se_logger_level(const struct se_logger *lg);
/* true when a message at level would be written. */
SE_API bool se_logger_is_enabled(const struct se_logger *lg, enum se_log_level level);
/* Copies progname (up to 63 bytes). NULL clears it. */
SE_API int se_logger_set_progname(struct se_logger *lg, const char *progname);

/*
 * Size rotation: when the file reaches rotate_size_bytes it becomes path.0,
 * path.0 becomes path.1 ... keeping rotate_age files in all, the live one
 * included (Ruby Logger's meaning); rotate_age 0 turns rotation off.
 * Only for file outputs. Returns 0 or SE_ECONFIG.
 */
SE_API int se_logger_set_rotation(struct se_logger *lg, uint32_t rotate_age,
                                  uint64_t rotate_size_bytes);

/* Switches the output to another path (reload). 0 or -errno (old output kept). */
SE_API int se_logger_set_path(struct se_logger *lg, const char *path);

/* Reopens the file at its path now (USR2, logrotate's postrotate). */
SE_API int se_logger_reopen(struct se_logger *lg);

/* Writes one line at level: "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- prog: msg".
 * Never fails visibly: a failed write is counted (se_logger_error_count) and
 * reported once on stderr; writing resumes when the disk recovers. */
SE_API void se_log(struct se_logger *lg, enum se_log_level level, const char *fmt, ...)
    SE_API_PRINTF(3, 4);
SE_API void se_logv(struct se_logger *lg, enum se_log_level level, const char *fmt, va_list ap)
    SE_API_PRINTF(3, 0);

#define se_log_trace(lg, ...) se_log((lg), SE_LOG_TRACE, __VA_ARGS__)
#define se_log_debug(lg, ...) se_log((lg), SE_LOG_DEBUG, __VA_ARGS__)
#define se_log_info(lg, ...)  se_log((lg), SE_LOG_INFO, __VA_ARGS__)
#define se_log_warn(lg, ...)  se_log((lg), SE_LOG_WARN, __VA_ARGS__)
#define se_log_error(lg, ...) se_log((lg), SE_LOG_ERROR, __VA_ARGS__)
#define se_log_fatal(lg, ...) se_log((lg), SE_LOG_FATAL, __VA_ARGS__)

/* Writes that failed since the logger was made. */
SE_API uint64_t se_logger_error_count(const struct se_logger *lg);

/*
 * Capture of this process's own stdout (target_fd 1) or stderr (2): the
 * target is redirected into a pipe whose read end is returned in *read_fd
 * (non-blocking, close-on-exec) for the caller's event loop. Returns 0 or
 * -errno. Each whole line read is logged (stdout at INFO, stderr at WARN,
 * progname "stdout"/"stderr").
 */
SE_API int se_logger_capture(struct se_logger *lg, int target_fd, int *read_fd);

/* Reads what is available on a capture read_fd and logs whole lines.
 * Returns 0, or 1 at EOF (the partial last line is logged; close read_fd). */
SE_API int se_logger_capture_drain(struct se_logger *lg, int read_fd);

/* ------------------------------------------------------------------------ */
/* The engine: a server with workers, optionally under a supervisor and as  */
/* a daemon (engine/engine.c). serverengine(3) and serverengine(5).                         */
/* ------------------------------------------------------------------------ */

struct se_engine; /* what se_engine_new makes: the program's server engine */
struct se_server; /* the server process (or the only process) */
struct se_worker; /* one worker: a forked child, a thread, or a spawned command */

/*
 * The command a spawn worker runs (worker_type spawn): filled by `spawn`.
 * The strings are borrowed: they must stay valid until `spawn` is called
 * again for the same worker or the engine ends (static storage or the
 * worker's user data). The program starts with default signal handling, an
 * empty signal mask, in a process group of its own, with no descriptor of
 * the engine's but 0-2, and in its environment SERVERENGINE_WORKER_ID and
 * SERVERENGINE_HEARTBEAT_PIPE (README: "Spawn workers").
 */
struct se_spawn_cmd {
    const char *const *argv; /* NULL-terminated; argv[0] is looked up in PATH */
    const char *const *envp; /* extra "K=V" entries, NULL-terminated, or NULL */
    const char *cwd;         /* its working directory, or NULL: the server's */
};

/*
 * Server callbacks. All optional. They run in the server process (or the
 * only process), on the loop's thread, except after_start (the supervisor).
 * Return values of int callbacks: 0, or nonzero to fail the start (the
 * value becomes the exit status).
 */
struct se_server_callbacks {
    int (*init)(struct se_server *s);           /* the server process begins */
    int (*before_run)(struct se_server *s);     /* before any worker starts: open sockets here */
    void (*after_run)(struct se_server *s);     /* every worker has ended */
    void (*after_start)(struct se_server *s);   /* supervisor: a server process started */
    void (*reload_config)(struct se_server *s); /* a reloaded configuration is in force */
    void (*stop)(struct se_server *s, bool graceful);    /* a stop was requested */
    void (*restart)(struct se_server *s, bool graceful); /* a restart of workers was requested */
};

/*
 * Worker callbacks. `run` is required (`spawn` for worker_type spawn).
 * init, before_fork and after_start run in the server; run in the worker (a
 * forked child, a thread, or the server's own process for embedded); stop and
 * reload are called from another thread than run's and must be safe then.
 * A process worker's run returning ends the child with that status.
 */
struct se_worker_callbacks {
    int (*init)(struct se_worker *w);         /* before each start, in the server */
    void (*before_fork)(struct se_worker *w); /* right before the start, in the server */
    int (*run)(struct se_worker *w);          /* the work; returns the exit status */
    /* spawn workers: fill cmd; return 0, or nonzero when no command can be
     * given now (counted as a failed start, retried after a delay) */
    int (*spawn)(struct se_worker *w, struct se_spawn_cmd *cmd);
    void (*stop)(struct se_worker *w);        /* make run return soon */
    void (*reload)(struct se_worker *w);      /* the configuration was reloaded */
    void (*after_start)(struct se_worker *w); /* after the start, in the server */
    void (*finalize)(struct se_worker *w);    /* after the worker ended, in the server */
};

/*
 * Makes an engine from callbacks and a user pointer (se_engine_user_data).
 * The callbacks are copied. Returns NULL with *err = -ENOMEM or SE_ECONFIG
 * (no run callback). Release with se_engine_free.
 */
SE_API struct se_engine *se_engine_new(const struct se_server_callbacks *server,
                                       const struct se_worker_callbacks *worker, void *user_data,
                                       int *err);
SE_API void se_engine_free(struct se_engine *e);

/*
 * The configuration sources, in order, later wins: defaults (the program's
 * own settings, copied; NULL = built-in defaults), a YAML file (NULL = none),
 * "key=value" overrides. They are read now and again on every reload.
 * Returns 0, or SE_ECONFIG/SE_EPARSE/-errno with a message in err.
 */
SE_API int se_engine_configure(struct se_engine *e, const struct se_config *defaults,
                               const char *config_path, const char *const *overrides,
                               size_t overrides_count, char *err, size_t err_size);

/*
 * Reads the program's arguments the way GNU tools do: -c FILE, -cFILE,
 * --config FILE, --config=FILE; -s KEY=VALUE, -sKEY=VALUE, --set KEY=VALUE,
 * --set=KEY=VALUE (repeatable); -h, --help (the options, the program's
 * usage lines and every key with its default); `--` ends the options.
 * Consumed arguments are removed from argv (argc updated); operands are left
 * for the program. Also remembers argv for process names. Returns 0; 1 when
 * help was printed (exit 0); SE_EUSAGE with a message in err for an option
 * the engine does not know (unless se_engine_set_usage said the program
 * takes its own) or without its value (exit 64, EX_USAGE); SE_ECONFIG,
 * SE_EPARSE or -errno for a bad value or file (exit 78, EX_CONFIG).
 */
SE_API int se_engine_parse_args(struct se_engine *e, const struct se_config *defaults, int *argc,
                                char **argv, char *err, size_t err_size);

/*
 * For se_engine_parse_args: usage, lines the program adds to --help (its own
 * options; borrowed, NULL for none), and own_options: options the engine
 * does not know are left in argv for the program instead of refused.
 */
SE_API void se_engine_set_usage(struct se_engine *e, const char *usage, bool own_options);

/*
 * A configuration built by code (the seed's block form): called now and on
 * every reload with a config holding the sources' values; it may change any
 * key. Return 0, or <0 with a message in err (a reload then keeps the old
 * configuration in force).
 */
typedef int (*se_config_loader)(void *ud, struct se_config *cfg, char *err, size_t err_size);
SE_API void se_engine_set_loader(struct se_engine *e, se_config_loader load, void *ud);

/*
 * Runs the engine: validates the configuration (a bad value: a message on
 * stderr and 78, EX_CONFIG, nothing started), daemonizes, writes the pid
 * file, drops privileges, then runs the supervisor or the server until it
 * stops. Returns the process exit status: 0 after a requested stop, the
 * unrecoverable exit code of a worker (serverengine(5), TIMING), daemonize_error_exit_code
 * when daemonizing failed, 1 for other start failures (logged). Call once.
 */
SE_API int se_engine_run(struct se_engine *e);

SE_API void *se_engine_user_data(const struct se_engine *e);

/* The server: its configuration (borrowed; valid until the next reload has
 * been applied and reload_config has returned), logger, user data. */
SE_API const struct se_config *se_server_config(const struct se_server *s);
SE_API struct se_logger *se_server_logger(struct se_server *s);
SE_API void *se_server_user_data(const struct se_server *s);
SE_API void se_server_set_user_data(struct se_server *s, void *user_data);

/* Requests from code, as the signals would (thread-safe, async-signal-safe:
 * one byte on the server's command pipe). */
SE_API void se_server_stop(struct se_server *s, bool graceful);
SE_API void se_server_restart(struct se_server *s, bool graceful);
SE_API void se_server_reload(struct se_server *s);

/* A worker: its serial id (0..workers-1), server, configuration (as for
 * se_server_config: valid until the next reload callback returns), logger
 * and user data (set by init or run). */
SE_API uint32_t se_worker_id(const struct se_worker *w);
SE_API struct se_server *se_worker_server(struct se_worker *w);
SE_API const struct se_config *se_worker_config(const struct se_worker *w);
SE_API struct se_logger *se_worker_logger(struct se_worker *w);
SE_API void *se_worker_user_data(const struct se_worker *w);
SE_API void se_worker_set_user_data(struct se_worker *w, void *user_data);

/*
 * The `listen` sockets (README, "Listening sockets"): opened once, before any
 * privilege drop, by the process that outlives restarts (the supervisor when
 * there is one, else the server), or adopted from the engine's own systemd
 * socket activation (LISTEN_FDS and LISTEN_PID naming this process). They
 * stay open through worker restarts, reloads, server restarts and detach, so
 * no connection is refused while workers change.
 *
 * count: how many (0 without `listen`). fd: the i-th socket in the order of
 * the `listen` list, or -1 when i >= count; a listening TCP or unix stream
 * socket or a bound UDP socket, non-blocking (poll it, then accept: another
 * worker may have taken the connection), owned by the engine: never close
 * it. name: its address as written in `listen` ("tcp://127.0.0.1:8080"), or
 * the name systemd gave it (LISTEN_FDNAMES), or NULL when i >= count; valid
 * for the life of the engine. Safe from any thread.
 */
SE_API uint32_t se_worker_listen_count(const struct se_worker *w);
SE_API int se_worker_listen_fd(const struct se_worker *w, uint32_t i);
SE_API const char *se_worker_listen_name(const struct se_worker *w, uint32_t i);
/* The same for the server's callbacks (before_run, after_start...). */
SE_API uint32_t se_server_listen_count(const struct se_server *s);
SE_API int se_server_listen_fd(const struct se_server *s, uint32_t i);
SE_API const char *se_server_listen_name(const struct se_server *s, uint32_t i);

/*
 * The SocketManager (README, "The SocketManager"; socket_manager: true runs
 * it in the server, on a 0600 unix socket in
 * SERVERENGINE_SOCKETMANAGER_SOCK_DIR or /tmp whose path every worker finds
 * in SERVERENGINE_SOCKETMANAGER_PATH; only processes of the server's uid or
 * root are served, others are refused and logged).
 *
 * se_socket_manager_listen_tcp / _udp: from any worker, forked or spawned
 * (any process that has SERVERENGINE_SOCKETMANAGER_PATH): a listening TCP or
 * a bound UDP socket on host (an IPv4 or IPv6 literal, or "*" for every
 * address) and port, received by descriptor passing into *fd (close-on-exec,
 * non-blocking; the caller owns this descriptor). Every worker asking for
 * the same address gets the same underlying socket, so connections wait in
 * its queue while workers restart. With SERVERENGINE_USE_SOCKET_REUSEPORT=1
 * each request gets a socket of its own with SO_REUSEPORT, and the kernel
 * balances connections between them. Returns 0, -ENOENT when no
 * SocketManager runs, or -errno (the server's bind error, a connection
 * error).
 */
SE_API int se_socket_manager_listen_tcp(const char *host, uint16_t port, int *fd);
SE_API int se_socket_manager_listen_udp(const char *host, uint16_t port, int *fd);
/* The path of this server's SocketManager, or NULL when none runs. */
SE_API const char *se_server_socket_manager_path(const struct se_server *s);
/* A new server takes over every socket the SocketManager at path (a running
 * server's) holds, so that its workers get the very same sockets and no
 * connection is refused while the old server goes (call from before_run).
 * Returns 0, SE_ESTATE without socket_manager: true, or -errno. */
SE_API int se_server_share_sockets_with_another_server(struct se_server *s, const char *path);

/*
 * Manual heartbeat (worker_heartbeat_mode: manual): call from the worker's
 * own loop at least every worker_heartbeat_interval; a loop stuck for
 * worker_heartbeat_timeout is killed and restarted. In auto mode a thread
 * beats and this is a harmless extra beat. Returns 0, or -EPIPE when the
 * server is gone (the worker should end). Async-signal-safe, lock-free.
 */
SE_API int se_worker_heartbeat(struct se_worker *w);

/* ------------------------------------------------------------------------ */
/* Status (engine/status.c): what a running server's workers are doing.     */
/* serverengine(3), STATUS; the tool's `serverengine status`.                */
/* ------------------------------------------------------------------------ */

#define SE_STATUS_JSON 1u /* se_status_read: one JSON object instead of the table */

/*
 * Asks a running server for its status: per worker its id, pid, state,
 * uptime, restarts, last exit and heartbeat age; the server's and
 * supervisor's pids, configuration source and last reload. The server is
 * named by its pid file (pid_path, the configuration's pid_path; pid is
 * then ignored) or, with pid_path NULL, by pid (the pid an operator
 * signals: the supervisor's with `supervisor: true`). The answer is read
 * from the server's status socket (PID_PATH.status, or
 * serverengine-status-PID.sock in SERVERENGINE_STATUS_DIR or /tmp without
 * a pid file) and trusted only when the socket's peer is that pid or its
 * child. No worker is woken.
 *
 * flags: 0 for the table, SE_STATUS_JSON for JSON. Returns 0 with *text
 * (NUL-ended, the caller frees it with free()), or <0 with a sentence in
 * err: -ENOENT when the process serves no status (no socket), -ECONNREFUSED
 * when nothing answers, -EACCES when refused (another user), -EPERM when
 * another process answers, -ENOTSOCK for a link or a file at the path,
 * -ETIMEDOUT when no answer comes within 5 s (a server restarting).
 */
SE_API int se_status_read(const char *pid_path, int pid, unsigned flags, char **text, char *err,
                          size_t err_size);

/* ------------------------------------------------------------------------ */
/* BlockingFlag (engine/blocking_flag.c): a flag threads wait on, the safe   */
/* way for `stop` (another thread) to end `run`. serverengine(3), UTILITIES.            */
/* ------------------------------------------------------------------------ */

struct se_blocking_flag;

/* A new flag, reset. NULL when out of memory. */
SE_API struct se_blocking_flag *se_blocking_flag_new(void);
SE_API void se_blocking_flag_free(struct se_blocking_flag *f);
/* Set / reset; each returns true when it changed the flag. Wake waiters. */
SE_API bool se_blocking_flag_set(struct se_blocking_flag *f);
SE_API bool se_blocking_flag_reset(struct se_blocking_flag *f);
SE_API bool se_blocking_flag_is_set(struct se_blocking_flag *f);
/* Waits until the flag is set (reset), at most timeout_ms (< 0: no limit),
 * on the monotonic clock, never returning early on a spurious wake-up.
 * Returns whether the flag is set (reset) on return. */
SE_API bool se_blocking_flag_wait_for_set(struct se_blocking_flag *f, int64_t timeout_ms);
SE_API bool se_blocking_flag_wait_for_reset(struct se_blocking_flag *f, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* SERVERENGINE_H */
