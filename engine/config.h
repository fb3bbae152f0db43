/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: the typed configuration behind the opaque struct se_config.
 *
 * Every key of serverengine(5) is one field here and one row of the key table
 * in config.c (name, type, default, range, unit, dynamic flag). Durations
 * given in seconds (decimals) are stored in milliseconds; "-1 means no
 * timeout" is stored as -1. Engine code reads these fields directly; user
 * code goes through se_config_get*().
 */
#ifndef SE_CONFIG_H
#define SE_CONFIG_H

#include "se_int.h"

#define SE_UNRECOVERABLE_BITS 256u
#define SE_LISTEN_MAX         16u

struct se_user_kv {
    char *key;   /* owned */
    char *value; /* owned, the text as given */
};

struct se_config {
    /* Daemon */
    bool daemonize;
    char pid_path[SE_PATH_MAX]; /* "" = no pid file */
    bool supervisor;
    bool disable_sigdump;
    char daemon_process_name[SE_NAME_MAX]; /* "" = unchanged */
    char chuser[SE_NAME_MAX];              /* "" = unchanged */
    char chgroup[SE_NAME_MAX];
    int32_t chumask;                   /* -1 = unchanged; else 0..0777 */
    int32_t daemonize_error_exit_code; /* 0..255, default 1 */

    /* Supervisor */
    char server_process_name[SE_NAME_MAX];
    bool restart_server_process;
    bool enable_detach; /* default true */
    bool exit_on_detach;
    bool disable_reload;
    int64_t server_restart_wait_ms; /* default 1000, dynamic */
    int64_t server_detach_wait_ms;  /* default 10000, dynamic */

    /* Workers */
    enum se_worker_type worker_type;           /* default embedded */
    uint32_t workers;                          /* default 1, 0..SE_WORKERS_MAX, dynamic */
    int64_t start_worker_delay_ms;             /* default 0, dynamic */
    uint32_t start_worker_delay_rand_permille; /* default 200 (0.2), 0..1000, dynamic */
    int64_t restart_worker_interval_ms;        /* default 0, dynamic */
    int64_t worker_restart_backoff_max_ms;     /* new; default 10000; 0 = off; dynamic */

    /* Process workers */
    char worker_process_name[SE_NAME_MAX];               /* printf with the worker id, dynamic */
    int64_t worker_heartbeat_interval_ms;                /* default 1000, > 0, dynamic */
    int64_t worker_heartbeat_timeout_ms;                 /* default 180000, > 0 or -1, dynamic */
    bool worker_heartbeat_manual;                        /* worker_heartbeat_mode: auto|manual */
    int64_t worker_graceful_kill_interval_ms;            /* default 15000, dynamic */
    int64_t worker_graceful_kill_interval_increment_ms;  /* default 10000, dynamic */
    int64_t worker_graceful_kill_timeout_ms;             /* default 600000, -1, dynamic */
    int64_t worker_immediate_kill_interval_ms;           /* default 10000, dynamic */
    int64_t worker_immediate_kill_interval_increment_ms; /* default 10000, dynamic */
    int64_t worker_immediate_kill_timeout_ms;            /* default 600000, -1, dynamic */
    bool worker_kill_process_group;                      /* default true, dynamic */
    uint8_t unrecoverable_exit_codes[SE_UNRECOVERABLE_BITS / 8]; /* bitset */
    bool stop_immediately_at_unrecoverable_exit;

    /* Spawn workers */
    enum se_sig worker_reload_signal; /* SE_SIG_NONE = nil (default) */
    bool command_sender_pipe;         /* command_sender: signal|pipe */

    /* Signals, per action (serverengine(3), SIGNALS) */
    enum se_sig signal_graceful_stop;     /* TERM */
    enum se_sig signal_immediate_stop;    /* QUIT */
    enum se_sig signal_graceful_restart;  /* USR1 */
    enum se_sig signal_immediate_restart; /* HUP */
    enum se_sig signal_reload;            /* USR2 */
    enum se_sig signal_detach;            /* INT */
    enum se_sig signal_dump;              /* CONT */

    /* Logger */
    char log[SE_PATH_MAX];          /* "" = stderr, "-" = stdout; dynamic */
    enum se_log_level log_level;    /* default debug; dynamic */
    enum se_log_format log_format;  /* default ruby; dynamic */
    uint32_t log_rotate_age;        /* default 5; 0 = no rotation */
    uint64_t log_rotate_size_bytes; /* default 1048576 */
    bool log_stdout;                /* default true */
    bool log_stderr;                /* default true */

    /* New keys */
    char listen[SE_LISTEN_MAX][SE_PATH_MAX]; /* tcp://h:p, udp://h:p, unix:/path */
    uint32_t listen_count;
    bool notify;          /* systemd notification, default true */
    bool socket_manager;  /* run a SocketManager in the server */
    bool restart_rolling; /* restart_mode: all|rolling; dynamic */

    /* Keys the engine does not know, kept for user code (message, sleep...). */
    struct se_user_kv *user; /* owned array */
    size_t user_count;
    size_t user_cap;
    char **warnings; /* owned strings */
    size_t warning_count;
    size_t warning_cap;

    /* The built-in keys a source set (bit i: the key table's row i); the
     * defaults of se_config_new are not given. */
    uint64_t keys_given[2];
};

static inline bool
se__config_unrecoverable(const struct se_config *cfg, int32_t code)
{
    if (code < 0 || code > 255) return false;
    return (cfg->unrecoverable_exit_codes[code / 8] >> (code % 8)) & 1u;
}

/*
 * Compares a reloaded configuration with the one in force. Returns the
 * number of keys that differ and are not dynamic (they take effect on the
 * next restart of what they govern); writes their names, comma-separated,
 * into names (may be NULL).
 */
size_t se__config_static_changes(const struct se_config *old_cfg, const struct se_config *new_cfg,
                                 char *names, size_t names_size);

/* A names buffer for se__config_static_changes that holds every key's name
 * when a reload changes them all (test_config checks the sum against it). */
#define SE_CONFIG_STATIC_NAMES_MAX 1024u

/*
 * Copies every non-dynamic key's value from old_cfg into next, so that a
 * reload changes only what may change while running; the others take
 * effect on the next restart of what they govern (serverengine(5)).
 */
/* The checks on the configuration as a whole, once every source is applied
 * (start and reload), not after each key: with keys set one at a time, a
 * valid final pair could fail in between (the heartbeat timeout is checked
 * against the interval this way). 0, or SE_ECONFIG with a message naming the
 * keys in err. */
int se__config_check_whole(const struct se_config *cfg, char *err, size_t err_size);

void se__config_keep_static(struct se_config *next, const struct se_config *old_cfg);

/* The signal configured for a command (SE_SIG_NONE for none). */
enum se_sig se__config_cmd_signal(const struct se_config *cfg, enum se_cmd cmd);

/*
 * SIGDUMP_SIGNAL (serverengine(3), ENVIRONMENT): value, the variable's text
 * (NULL or "": unset), becomes signal_dump when no source gave that key (a
 * source that does wins, whatever its value). Called once every source is
 * applied. 0, or SE_ECONFIG with a message naming the variable in err and
 * cfg unchanged.
 */
int se__config_dump_signal_env(struct se_config *cfg, const char *value, char *err,
                               size_t err_size);

/* The command a signal means per this configuration (SE_CMD_NONE: not ours). */
enum se_cmd se__config_signal_cmd(const struct se_config *cfg, enum se_sig sig);

#endif /* SE_CONFIG_H */
