/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: the configuration model of serverengine(5): the seed's "List of
 * all configurations" plus the new keys, as one table of typed keys; the
 * transactions that change a configuration, the cross-key checks, the public
 * API (new, dup, set, get, the key table) and the reload comparison and
 * command <-> signal maps. Parsing a value is config_parse.c's, unknown keys
 * config_user.c's, YAML config_yaml.c's (see config_int.h).
 *
 * Everything is driven by the key table: a key is one row (name, type, range,
 * default as text, dynamic flag, help, field offset in struct se_config), and
 * the default goes through the same parser as any value. Changes are
 * transactional: they are made on a copy that replaces the configuration only
 * when the whole change (one key, or a whole file) is valid, so a bad value or
 * a bad edit never leaves a half-applied configuration.
 *
 * Never: keeps global state, logs, depends on the locale, or reads anything
 * but the file it is given. It allocates (with malloc), which is fine here:
 * configurations are built before the event loop runs; every failure to
 * allocate is -ENOMEM with nothing leaked and nothing changed. A NULL where
 * the API wants a configuration, key or value is a programmer error.
 */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define SECONDS_MAX_MS (10LL * 365 * 24 * 3600 * 1000) /* 10 years */
#define SHORT_TEXT_MAX 64u                             /* the formatted text of a scalar key */

_Static_assert(sizeof(enum se_sig) == sizeof(int32_t), "signal fields are 32-bit cells");
_Static_assert(sizeof(enum se_worker_type) == sizeof(int32_t), "enum fields are 32-bit cells");
_Static_assert(sizeof(enum se_log_level) == sizeof(int32_t), "enum fields are 32-bit cells");
_Static_assert(sizeof(enum se_log_format) == sizeof(int32_t), "enum fields are 32-bit cells");
_Static_assert(SE_LOG_FORMAT_JSON == 2, "enum names are indexed by value");
_Static_assert(SE_WORKER_SPAWN == 3 && SE_LOG_FATAL == 5, "enum names are indexed by value");
_Static_assert(LIST_ITEMS_MAX >= SE_UNRECOVERABLE_BITS, "every exit code fits in one list");

/* ------------------------------------------------------------------------ */
/* The key table                                                            */
/* ------------------------------------------------------------------------ */

static const char *const worker_type_names[] = {"embedded", "thread", "process", "spawn", NULL};
static const char *const log_level_names[] = {"trace", "debug", "info", "warn",
                                              "error", "fatal", NULL};
static const char *const log_format_names[] = {"ruby", "journal", "json", NULL};
static const char *const heartbeat_mode_names[] = {"auto", "manual", NULL};
static const char *const command_sender_names[] = {"signal", "pipe", NULL};
static const char *const restart_mode_names[] = {"all", "rolling", NULL};

#define F(field)                                                                                   \
    .offset = offsetof(struct se_config, field), .size = sizeof(((struct se_config *)0)->field)
#define BOOL(field)      .type = KT_BOOL, F(field)
#define TEXT(field)      .type = KT_STRING, F(field)
#define SECS(field)      .type = KT_SECONDS, F(field), .max = SECONDS_MAX_MS
#define SIGNAL(field, c) .type = KT_SIGNAL, .flags = KF_ACTION, .cmd = (c), F(field)

static const struct key keys[] = {
    /* Daemon */
    {"daemonize", BOOL(daemonize), .def = "false",
     .help = "run in the background (double fork, setsid)"},
    {"pid_path", TEXT(pid_path), .def = "", .help = "path of the pid file (empty: none)"},
    {"supervisor", BOOL(supervisor), .def = "false",
     .help = "run a supervisor process that restarts the server process"},
    {"disable_sigdump", BOOL(disable_sigdump), .def = "false",
     .help = "ignore the dump signal (CONT) instead of writing a sigdump"},
    {"daemon_process_name", TEXT(daemon_process_name), .def = "",
     .help = "process name of the server or supervisor (empty: unchanged)"},
    {"chuser", TEXT(chuser), .def = "", .help = "user to run as (empty: unchanged)"},
    {"chgroup", TEXT(chgroup), .def = "", .help = "group to run as (empty: unchanged)"},
    {"chumask", .type = KT_UMASK, .flags = KF_NIL, F(chumask), .def = "nil",
     .help = "umask to set, always read as octal like 022 (nil: unchanged)"},
    {"daemonize_error_exit_code", .type = KT_INT, F(daemonize_error_exit_code), .max = 255,
     .def = "1", .help = "exit code of the launcher when daemonizing or changing user fails"},
    /* Supervisor */
    {"server_process_name", TEXT(server_process_name), .def = "",
     .help = "process name of the server process (empty: unchanged)"},
    {"restart_server_process", BOOL(restart_server_process), .def = "false",
     .help = "restart the server process itself on a restart signal (USR1, HUP)"},
    {"enable_detach", BOOL(enable_detach), .def = "true",
     .help = "the detach signal (INT) starts a live restart (with supervisor)"},
    {"exit_on_detach", BOOL(exit_on_detach), .def = "false",
     .help = "the supervisor exits after a detach instead of starting a new server"},
    {"disable_reload", BOOL(disable_reload), .def = "false",
     .help = "ignore the reload signal (USR2)"},
    {"server_restart_wait", SECS(server_restart_wait_ms), .flags = KF_DYNAMIC, .def = "1.0",
     .help = "seconds between starts of the server process"},
    {"server_detach_wait", SECS(server_detach_wait_ms), .flags = KF_DYNAMIC, .def = "10.0",
     .help = "seconds a detached server may take to exit before a new one starts"},
    /* Workers */
    {"worker_type", .type = KT_ENUM, F(worker_type), .names = worker_type_names, .def = "embedded",
     .help = "how workers run: embedded, thread, process or spawn"},
    {"workers", .type = KT_INT, .flags = KF_DYNAMIC, F(workers), .max = SE_WORKERS_MAX, .def = "1",
     .help = "number of workers"},
    {"start_worker_delay", SECS(start_worker_delay_ms), .flags = KF_DYNAMIC, .def = "0",
     .help = "seconds between starts of workers started together"},
    {"start_worker_delay_rand", .type = KT_RATIO, .flags = KF_DYNAMIC,
     F(start_worker_delay_rand_permille), .max = 1000, .def = "0.2",
     .help = "randomizes start_worker_delay by this ratio"},
    {"restart_worker_interval", SECS(restart_worker_interval_ms), .flags = KF_DYNAMIC, .def = "0",
     .help = "seconds before a stopped worker is restarted"},
    {"worker_restart_backoff_max", SECS(worker_restart_backoff_max_ms), .flags = KF_DYNAMIC,
     .def = "10", .help = "ceiling of the crash-loop restart backoff in seconds (0: off)"},
    /* Process workers */
    {"worker_process_name", TEXT(worker_process_name), .flags = KF_DYNAMIC | KF_FORMAT, .def = "",
     .help = "process name of workers; one %d is replaced by the worker id"},
    {"worker_heartbeat_interval", SECS(worker_heartbeat_interval_ms), .flags = KF_DYNAMIC, .min = 1,
     .def = "1.0", .help = "seconds between heartbeats of a worker"},
    {"worker_heartbeat_timeout", SECS(worker_heartbeat_timeout_ms), .flags = KF_DYNAMIC | KF_NEG1,
     .min = 1, .def = "180",
     .help = "seconds without a heartbeat before a worker is killed (-1: never)"},
    {"worker_heartbeat_mode", .type = KT_ENUM, .flags = KF_DYNAMIC, F(worker_heartbeat_manual),
     .names = heartbeat_mode_names, .def = "auto",
     .help = "auto: a thread beats; manual: the worker calls se_worker_heartbeat()"},
    {"worker_graceful_kill_interval", SECS(worker_graceful_kill_interval_ms), .flags = KF_DYNAMIC,
     .def = "15", .help = "seconds before the first TERM is repeated"},
    {"worker_graceful_kill_interval_increment", SECS(worker_graceful_kill_interval_increment_ms),
     .flags = KF_DYNAMIC, .def = "10", .help = "seconds added to each further TERM interval"},
    {"worker_graceful_kill_timeout", SECS(worker_graceful_kill_timeout_ms),
     .flags = KF_DYNAMIC | KF_NEG1, .def = "600",
     .help = "seconds of TERM before escalating to QUIT (-1: never)"},
    {"worker_immediate_kill_interval", SECS(worker_immediate_kill_interval_ms), .flags = KF_DYNAMIC,
     .def = "10", .help = "seconds before the first QUIT is repeated"},
    {"worker_immediate_kill_interval_increment", SECS(worker_immediate_kill_interval_increment_ms),
     .flags = KF_DYNAMIC, .def = "10", .help = "seconds added to each further QUIT interval"},
    {"worker_immediate_kill_timeout", SECS(worker_immediate_kill_timeout_ms),
     .flags = KF_DYNAMIC | KF_NEG1, .def = "600",
     .help = "seconds of QUIT before KILL (-1: never)"},
    {"worker_kill_process_group", BOOL(worker_kill_process_group), .flags = KF_DYNAMIC,
     .def = "true",
     .help = "stop signals go to a process worker's whole process group, and what is left of "
             "it when the worker ends gets them too"},
    {"unrecoverable_exit_codes", .type = KT_CODES, F(unrecoverable_exit_codes), .max = 255,
     .def = "[]", .help = "worker exit codes that mean: do not restart it"},
    {"stop_immediately_at_unrecoverable_exit", BOOL(stop_immediately_at_unrecoverable_exit),
     .def = "false", .help = "stop the server at once when a worker exits with such a code"},
    /* Spawn workers */
    {"worker_reload_signal", .type = KT_SIGNAL, .flags = KF_NIL, F(worker_reload_signal),
     .def = "nil", .help = "signal sent to spawned workers on reload (nil: none)"},
    {"command_sender", .type = KT_ENUM, F(command_sender_pipe), .names = command_sender_names,
     .def = "signal", .help = "how commands reach spawned workers: signal or pipe (stdin)"},
    /* Signals */
    {"signal_graceful_stop", SIGNAL(signal_graceful_stop, SE_CMD_GRACEFUL_STOP), .def = "TERM",
     .help = "signal that asks for a graceful stop"},
    {"signal_immediate_stop", SIGNAL(signal_immediate_stop, SE_CMD_IMMEDIATE_STOP), .def = "QUIT",
     .help = "signal that asks for an immediate stop"},
    {"signal_graceful_restart", SIGNAL(signal_graceful_restart, SE_CMD_GRACEFUL_RESTART),
     .def = "USR1", .help = "signal that asks for a graceful restart of the workers"},
    {"signal_immediate_restart", SIGNAL(signal_immediate_restart, SE_CMD_IMMEDIATE_RESTART),
     .def = "HUP", .help = "signal that asks for an immediate restart of the workers"},
    {"signal_reload", SIGNAL(signal_reload, SE_CMD_RELOAD), .def = "USR2",
     .help = "signal that reloads the configuration and reopens the log"},
    {"signal_detach", SIGNAL(signal_detach, SE_CMD_DETACH), .def = "INT",
     .help = "signal that detaches the server for a live restart"},
    {"signal_dump", SIGNAL(signal_dump, SE_CMD_DUMP), .def = "CONT",
     .help = "signal that writes a sigdump (stack traces, memory)"},
    /* Logger */
    {"log", TEXT(log), .flags = KF_DYNAMIC, .def = "",
     .help = "log file path (empty: stderr, -: stdout)"},
    {"log_level", .type = KT_ENUM, .flags = KF_DYNAMIC, F(log_level), .names = log_level_names,
     .def = "debug", .help = "lowest level logged: trace, debug, info, warn, error or fatal"},
    {"log_format", .type = KT_ENUM, .flags = KF_DYNAMIC, F(log_format), .names = log_format_names,
     .def = "ruby",
     .help = "shape of a log line: ruby (Ruby Logger's), journal (<N> priority, no time) or json"},
    {"log_rotate_age", .type = KT_INT, F(log_rotate_age), .max = 1000, .def = "5",
     .help = "log files kept in all, the live one included (0: no rotation)"},
    {"log_rotate_size", .type = KT_INT, F(log_rotate_size_bytes), .min = 1, .max = INT64_MAX,
     .def = "1048576", .help = "size in bytes at which the log file rotates"},
    {"log_stdout", BOOL(log_stdout), .def = "true",
     .help = "capture the process's standard output into the log"},
    {"log_stderr", BOOL(log_stderr), .def = "true",
     .help = "capture the process's standard error into the log"},
    /* New keys */
    {"listen", .type = KT_LISTEN, F(listen), .max = SE_LISTEN_MAX, .def = "[]",
     .help = "addresses bound for the workers: tcp://HOST:PORT, udp://HOST:PORT, unix:/path"},
    {"restart_mode", .type = KT_ENUM, .flags = KF_DYNAMIC, F(restart_rolling),
     .names = restart_mode_names, .def = "all",
     .help = "graceful restart: all workers at once, or rolling: one at a time"},
    {"socket_manager", BOOL(socket_manager), .def = "false",
     .help = "run a SocketManager in the server: workers ask it for sockets at run time"},
    {"notify", BOOL(notify), .def = "true",
     .help = "tell systemd about readiness, reloads and stops when NOTIFY_SOCKET is set"},
};

#undef SIGNAL
#undef SECS
#undef TEXT
#undef BOOL
#undef F

#define KEY_COUNT SE_ARRAY_LEN(keys)
_Static_assert(KEY_COUNT <= 64 * SE_ARRAY_LEN(((struct se_config *)0)->keys_given),
               "one bit per key in keys_given");

void
se__config_key_mark_given(const struct key *k, struct se_config *cfg)
{
    size_t i = (size_t)(k - keys);
    SE_ASSERT(i < KEY_COUNT);
    cfg->keys_given[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool
key_given(const struct key *k, const struct se_config *cfg)
{
    size_t i = (size_t)(k - keys);
    return (cfg->keys_given[i / 64] >> (i % 64)) & 1u;
}

const struct key *
se__config_key_find(const char *name)
{
    if (name == NULL) return NULL;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    }
    return NULL;
}

/* Sets any key from text on cfg (a working copy). No cross-key check. */
int
se__config_apply(struct se_config *cfg, const char *key, const char *value, const struct msg *m)
{
    const struct key *k = se__config_key_find(key);
    if (k != NULL) return se__config_key_set_text(k, cfg, value, m);
    int rc = se__config_user_key_check(key, m);
    if (rc < 0) return rc;
    return se__config_user_set(cfg, key, value, m);
}

/* ------------------------------------------------------------------------ */
/* Cross-key validation and transactions                                    */
/* ------------------------------------------------------------------------ */

/* The checks that involve more than one key, after every set and load. */
static int
config_validate(const struct se_config *cfg, const struct msg *m)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const struct key *a = &keys[i];
        if (!(a->flags & KF_ACTION)) continue;
        for (size_t j = i + 1; j < KEY_COUNT; j++) {
            const struct key *b = &keys[j];
            if (!(b->flags & KF_ACTION) ||
                se__config_cell_get(a, cfg) != se__config_cell_get(b, cfg))
                continue;
            struct sb s = se__msg_sb(m);
            se__sb_printf(&s, "%s and %s: both are %s", a->name, b->name,
                          se_sig_name((enum se_sig)se__config_cell_get(a, cfg)));
            se__sb_puts(&s, ": expected a different signal for each action");
            return SE_ECONFIG;
        }
    }
    return 0;
}

int
se__config_check_whole(const struct se_config *cfg, char *err, size_t err_size)
{
    const struct msg m = {err, err_size};
    int64_t interval = cfg->worker_heartbeat_interval_ms,
            timeout = cfg->worker_heartbeat_timeout_ms;
    /* -1: never; interval and timeout are otherwise at least 1 ms */
    if (timeout < 0 || timeout > interval) return 0;
    struct sb b = se__msg_sb(&m);
    se__sb_printf(&b, "worker_heartbeat_timeout (%" PRId64 " ms) is not longer than ", timeout);
    se__sb_printf(&b, "worker_heartbeat_interval (%" PRId64 " ms): ", interval);
    se__sb_puts(&b, "every worker would be killed between two heartbeats; expected a timeout "
                    "above the interval, or -1 (never)");
    return SE_ECONFIG;
}

/* Exchanges two configurations' contents (owned pointers included). */
static void
config_swap(struct se_config *a, struct se_config *b)
{
    unsigned char tmp[256];
    unsigned char *pa = (unsigned char *)a, *pb = (unsigned char *)b;
    for (size_t i = 0; i < sizeof *a; i += sizeof tmp) {
        size_t n = sizeof *a - i < sizeof tmp ? sizeof *a - i : sizeof tmp;
        memcpy(tmp, pa + i, n);
        memcpy(pa + i, pb + i, n);
        memcpy(pb + i, tmp, n);
    }
}

/* Validates work and, when valid, makes it cfg's content. Frees work. */
int
se__config_commit(struct se_config *cfg, struct se_config *work, const struct msg *m)
{
    int rc = config_validate(work, m);
    if (rc == 0) config_swap(cfg, work);
    se_config_free(work);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Public: life cycle                                                       */
/* ------------------------------------------------------------------------ */

struct se_config *
se_config_new(void)
{
    static const struct msg quiet = {NULL, 0};
    struct se_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) return NULL;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        int rc = se__config_key_set_text(&keys[i], cfg, keys[i].def, &quiet);
        if (rc == -ENOMEM) {
            free(cfg);
            return NULL;
        }
        SE_ASSERT(rc == 0); /* the table's defaults are valid values */
    }
    SE_ASSERT(config_validate(cfg, &quiet) == 0);
    memset(cfg->keys_given, 0, sizeof cfg->keys_given); /* defaults are not given */
    return cfg;
}

void
se_config_free(struct se_config *cfg)
{
    if (cfg == NULL) return;
    for (size_t i = 0; i < cfg->user_count; i++) {
        free(cfg->user[i].key);
        free(cfg->user[i].value);
    }
    free(cfg->user);
    for (size_t i = 0; i < cfg->warning_count; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg);
}

struct se_config *
se_config_dup(const struct se_config *cfg)
{
    struct se_config *d = malloc(sizeof *d);
    if (d == NULL) return NULL;
    memcpy(d, cfg, sizeof *d);
    d->user = NULL;
    d->user_count = d->user_cap = 0;
    d->warnings = NULL;
    d->warning_count = d->warning_cap = 0;
    if (se__config_user_copy(d, cfg) < 0 || se__config_warnings_copy(d, cfg) < 0) {
        se_config_free(d);
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------------------ */
/* Public: set                                                              */
/* ------------------------------------------------------------------------ */

/*
 * A built-in key changes one field (and listen_count): keep its bytes, set it
 * in place, validate, and put the bytes back on any error. Same atomicity as
 * the copy-and-swap of user keys at a tiny fraction of the cost (the
 * simulator sets keys thousands of times a second).
 */
static int
key_set_in_place(const struct key *k, struct se_config *cfg, const char *value, const struct msg *m)
{
    _Static_assert(sizeof cfg->listen <= 16384, "the largest field fits the save buffer");
    unsigned char saved[16384];
    SE_ASSERT(k->size <= sizeof saved);
    unsigned char *field = (unsigned char *)cfg + k->offset;
    uint32_t saved_count = cfg->listen_count;
    uint64_t saved_given[SE_ARRAY_LEN(cfg->keys_given)];
    memcpy(saved_given, cfg->keys_given, sizeof saved_given);
    memcpy(saved, field, k->size);
    int rc = se__config_key_set_text(k, cfg, value, m);
    if (rc == 0) rc = config_validate(cfg, m);
    if (rc < 0) {
        memcpy(field, saved, k->size);
        memcpy(cfg->keys_given, saved_given, sizeof saved_given);
        cfg->listen_count = saved_count;
    }
    return rc;
}

int
se_config_set(struct se_config *cfg, const char *key, const char *value, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    SE_ASSERT(key != NULL && value != NULL); /* a programmer error (file header) */
    const struct msg m = {err, err_size};
    se__msg_clear(&m);
    const struct key *k = se__config_key_find(key);
    if (k != NULL) return key_set_in_place(k, cfg, value, &m);
    struct se_config *work = se_config_dup(cfg);
    if (work == NULL) return se__msg_nomem(&m);
    int rc = se__config_apply(work, key, value, &m);
    if (rc < 0) {
        se_config_free(work);
        return rc;
    }
    return se__config_commit(cfg, work, &m);
}

int
se_config_set_kv(struct se_config *cfg, const char *key_value, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    struct sb b = se__msg_sb(&m);
    char key[SE_NAME_MAX];
    const char *eq = strchr(key_value, '=');
    if (eq == NULL || eq == key_value) {
        se__sb_puts(&b, "invalid setting ");
        se__sb_quoted(&b, key_value);
        se__sb_puts(&b, eq == NULL ? ": expected KEY=VALUE (like workers=4)"
                                   : ": the key before '=' is empty: expected KEY=VALUE");
        return SE_ECONFIG;
    }
    size_t n = (size_t)(eq - key_value);
    if (n >= sizeof key) {
        se__sb_puts(&b, "invalid setting ");
        se__sb_quoted(&b, key_value);
        se__sb_printf(&b, ": key too long: expected at most %u bytes", KEY_LEN_MAX);
        return SE_ECONFIG;
    }
    memcpy(key, key_value, n);
    key[n] = '\0';
    return se_config_set(cfg, key, eq + 1, err, err_size);
}

/* ------------------------------------------------------------------------ */
/* Public: get                                                              */
/* ------------------------------------------------------------------------ */

int
se_config_get(const struct se_config *cfg, const char *key, char *buf, size_t buf_size)
{
    SE_ASSERT(buf != NULL || buf_size == 0);
    struct sb b = se__sb_init(buf, buf_size);
    const struct key *k = se__config_key_find(key);
    if (k != NULL) {
        se__config_key_format(k, cfg, &b);
        return se__sb_result(&b);
    }
    size_t i = se__config_user_find(cfg, key);
    if (i == SIZE_MAX) return SE_EUNKNOWN;
    se__sb_puts(&b, cfg->user[i].value);
    return se__sb_result(&b);
}

/* The text of any key for the typed readers; a built-in key's is formatted
 * into buf. SE_EUNKNOWN when absent, SE_ECONFIG when too long to be a number. */
static int
key_text(const struct se_config *cfg, const char *key, char *buf, size_t size, const char **text)
{
    const struct key *k = se__config_key_find(key);
    if (k == NULL) {
        size_t i = se__config_user_find(cfg, key);
        if (i == SIZE_MAX) return SE_EUNKNOWN;
        *text = cfg->user[i].value;
        return 0;
    }
    struct sb b = se__sb_init(buf, size);
    se__config_key_format(k, cfg, &b);
    if (b.len >= size) return SE_ECONFIG;
    *text = buf;
    return 0;
}

int
se_config_get_int(const struct se_config *cfg, const char *key, int64_t *out)
{
    char buf[SHORT_TEXT_MAX];
    const char *text;
    int64_t v;
    int rc = key_text(cfg, key, buf, sizeof buf, &text);
    if (rc < 0) return rc;
    if (!se__config_parse_i64(text, &v)) return SE_ECONFIG;
    *out = v;
    return 0;
}

int
se_config_get_double(const struct se_config *cfg, const char *key, double *out)
{
    char buf[SHORT_TEXT_MAX];
    const char *text;
    struct decimal d;
    int rc = key_text(cfg, key, buf, sizeof buf, &text);
    if (rc < 0) return rc;
    if (!se__config_decimal_scan(text, &d)) return SE_ECONFIG;
    /* strtod in the "C" locale: '.' is the decimal point whatever the program set. */
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c == (locale_t)0) return -ENOMEM;
    double v = strtod_l(text, NULL, c);
    freelocale(c);
    if (!isfinite(v)) return SE_ECONFIG;
    *out = v;
    return 0;
}

int
se_config_get_bool(const struct se_config *cfg, const char *key, bool *out)
{
    char buf[SHORT_TEXT_MAX];
    const char *text;
    int64_t v;
    int rc = key_text(cfg, key, buf, sizeof buf, &text);
    if (rc < 0) return rc;
    if (!se__config_parse_bool(text, &v)) return SE_ECONFIG;
    *out = v != 0;
    return 0;
}

size_t
se_config_warning_count(const struct se_config *cfg)
{
    return cfg->warning_count;
}

const char *
se_config_warning(const struct se_config *cfg, size_t index)
{
    return index < cfg->warning_count ? cfg->warnings[index] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Public: the key table                                                    */
/* ------------------------------------------------------------------------ */

size_t
se_config_key_count(void)
{
    return KEY_COUNT;
}

const char *
se_config_key_name(size_t index)
{
    return index < KEY_COUNT ? keys[index].name : NULL;
}

bool
se_config_key_dynamic(size_t index)
{
    return index < KEY_COUNT && (keys[index].flags & KF_DYNAMIC) != 0;
}

const char *
se_config_key_help(size_t index)
{
    return index < KEY_COUNT ? keys[index].help : NULL;
}

/* ------------------------------------------------------------------------ */
/* Internal: reload comparison and the command <-> signal maps              */
/* ------------------------------------------------------------------------ */

/* Whether key k has the same text in a and b. Text and list fields are
 * compared as stored (their text is a function of exactly those bytes);
 * scalars by their formatted text. */
static bool
key_same(const struct key *k, const struct se_config *a, const struct se_config *b)
{
    char ta[SHORT_TEXT_MAX], tb[SHORT_TEXT_MAX];
    switch (k->type) {
    case KT_STRING:
        return strcmp(se__config_text_field_const(k, a), se__config_text_field_const(k, b)) == 0;
    case KT_CODES:
        return memcmp(a->unrecoverable_exit_codes, b->unrecoverable_exit_codes,
                      sizeof a->unrecoverable_exit_codes) == 0;
    case KT_LISTEN:
        if (a->listen_count != b->listen_count) return false;
        for (uint32_t i = 0; i < a->listen_count; i++) {
            if (strcmp(a->listen[i], b->listen[i]) != 0) return false;
        }
        return true;
    case KT_BOOL:
    case KT_INT:
    case KT_SECONDS:
    case KT_RATIO:
    case KT_ENUM:
    case KT_SIGNAL:
    case KT_UMASK: break;
    }
    struct sb sa = se__sb_init(ta, sizeof ta), sbb = se__sb_init(tb, sizeof tb);
    se__config_key_format(k, a, &sa);
    se__config_key_format(k, b, &sbb);
    return strcmp(ta, tb) == 0;
}

size_t
se__config_static_changes(const struct se_config *old_cfg, const struct se_config *new_cfg,
                          char *names, size_t names_size)
{
    SE_ASSERT(names != NULL || names_size == 0);
    struct sb b = se__sb_init(names, names_size);
    size_t n = 0;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if ((keys[i].flags & KF_DYNAMIC) || key_same(&keys[i], old_cfg, new_cfg)) continue;
        if (n++ > 0) se__sb_puts(&b, ", ");
        se__sb_puts(&b, keys[i].name);
    }
    return n;
}

/*
 * The plain mapping of the signal_* keys. Policy (disable_sigdump,
 * disable_reload, enable_detach without a supervisor) is the caller's: this
 * only says which command a signal stands for.
 */
enum se_sig
se__config_cmd_signal(const struct se_config *cfg, enum se_cmd cmd)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if ((keys[i].flags & KF_ACTION) && keys[i].cmd == cmd) {
            return (enum se_sig)se__config_cell_get(&keys[i], cfg);
        }
    }
    return SE_SIG_NONE;
}

enum se_cmd
se__config_signal_cmd(const struct se_config *cfg, enum se_sig sig)
{
    if (sig == SE_SIG_NONE) return SE_CMD_NONE;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if ((keys[i].flags & KF_ACTION) && se__config_cell_get(&keys[i], cfg) == (int64_t)sig) {
            return keys[i].cmd;
        }
    }
    return SE_CMD_NONE;
}

int
se__config_dump_signal_env(struct se_config *cfg, const char *value, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    const struct key *k = se__config_key_find("signal_dump");
    SE_ASSERT(k != NULL);
    if (value == NULL || value[0] == '\0' || key_given(k, cfg)) return 0;
    char why[512] = "";
    const struct msg sub = {why, sizeof why};
    int rc = key_set_in_place(k, cfg, value, &sub);
    if (rc == 0) return 0;
    struct sb b = se__msg_sb(&m);
    se__sb_puts(&b, "SIGDUMP_SIGNAL=");
    se__sb_quoted(&b, value);
    se__sb_puts(&b, " (the dump signal: no source sets signal_dump): ");
    se__sb_puts(&b, why);
    return rc;
}

void
se__config_keep_static(struct se_config *next, const struct se_config *old_cfg)
{
    SE_ASSERT(next != NULL);
    SE_ASSERT(old_cfg != NULL);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const struct key *k = &keys[i];
        if (k->flags & KF_DYNAMIC) continue;
        memcpy((char *)next + k->offset, (const char *)old_cfg + k->offset, k->size);
        if (k->type == KT_LISTEN) next->listen_count = old_cfg->listen_count;
    }
}

int
se_config_declare(struct se_config *cfg, const char *key, const char *value, char *err,
                  size_t err_size)
{
    SE_ASSERT(cfg != NULL);
    if (key != NULL && se__config_key_find(key) != NULL) {
        if (err != NULL && err_size > 0)
            snprintf(err, err_size, "%s: a built-in key cannot be declared", key);
        return SE_ECONFIG;
    }
    /* A program's own key is no typo: the warning se_config_set records for
     * a key seen the first time is taken back. */
    size_t before = cfg->warning_count;
    int rc = se_config_set(cfg, key, value, err, err_size);
    while (rc == 0 && cfg->warning_count > before)
        free(cfg->warnings[--cfg->warning_count]);
    return rc;
}
