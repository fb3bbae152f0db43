/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: the configuration model of serverengine(5): the seed's "List of
 * all configurations" plus the new keys, as one table of typed keys; values
 * parsed from text (-s KEY=VALUE) and from YAML files, formatted back to text,
 * unknown keys kept for user code behind a typo warning, and the cross-key
 * checks.
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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "logger.h"

#define SECONDS_MAX_MS   (10LL * 365 * 24 * 3600 * 1000) /* 10 years */
#define KEY_LEN_MAX      (SE_NAME_MAX - 1u)              /* a user key's name */
#define USER_KEYS_MAX    1024u                           /* user keys in one config */
#define USER_VALUE_MAX   65536u                          /* bytes of one user value */
#define LIST_ITEMS_MAX   256u                            /* items of a list value */
#define FILE_BYTES_MAX   (1u << 20)                      /* a config file */
#define QUOTE_MAX        64u                             /* bytes of a value echoed in a message */
#define NAME_LEN_MAX     48u /* a built-in key's name (edit distance rows) */
#define SUGGEST_DIST_MAX 2u  /* "did you mean" only this close */
#define SHORT_TEXT_MAX   64u /* the formatted text of a scalar key */
#define MSG_TMP_MAX      512u
#define YAML_DEPTH_MAX   16u /* nesting of a config file (keys, then lists: it needs 2) */
#define DUP_WARNINGS_MAX 16u /* "given twice" warnings from one file */

_Static_assert(sizeof(enum se_sig) == sizeof(int32_t), "signal fields are 32-bit cells");
_Static_assert(sizeof(enum se_worker_type) == sizeof(int32_t), "enum fields are 32-bit cells");
_Static_assert(sizeof(enum se_log_level) == sizeof(int32_t), "enum fields are 32-bit cells");
_Static_assert(SE_WORKER_SPAWN == 3 && SE_LOG_FATAL == 5, "enum names are indexed by value");
_Static_assert(LIST_ITEMS_MAX >= SE_UNRECOVERABLE_BITS, "every exit code fits in one list");

/* ------------------------------------------------------------------------ */
/* The key table                                                            */
/* ------------------------------------------------------------------------ */

enum key_type {
    KT_BOOL,    /* true/false, yes/no, on/off, 1/0 */
    KT_INT,     /* whole decimal in [min, max] */
    KT_SECONDS, /* decimal seconds, stored in ms, in [min, max] ms (and -1 with KF_NEG1) */
    KT_RATIO,   /* decimal 0..1, stored in permille, in [min, max] */
    KT_ENUM,    /* one of names[], stored as its index */
    KT_SIGNAL,  /* a signal that can be caught (nil with KF_NIL) */
    KT_UMASK,   /* octal 0..0777, or nil (-1) */
    KT_STRING,  /* text of the field's size (a printf format with KF_FORMAT) */
    KT_CODES,   /* list of exit codes 0..255, stored as a bitset */
    KT_LISTEN,  /* list of tcp://, udp://, unix: addresses */
};

enum key_flag {
    KF_DYNAMIC = 1u << 0, /* reloadable without a restart (the seed's marking) */
    KF_NEG1 = 1u << 1,    /* -1 allowed: "no timeout" */
    KF_NIL = 1u << 2,     /* nil allowed: "nil", "null", "~", "" and YAML null */
    KF_ACTION = 1u << 3,  /* the signal of one command (cmd) */
    KF_FORMAT = 1u << 4,  /* printf format with the worker id */
};

struct key {
    const char *name;
    enum key_type type;
    unsigned flags;
    size_t offset; /* of the field in struct se_config */
    size_t size;   /* of the field */
    int64_t min;   /* INT, SECONDS (ms), RATIO (permille), CODES */
    int64_t max;
    const char *const *names; /* ENUM: stored value = index */
    enum se_cmd cmd;          /* KF_ACTION */
    const char *def;          /* the default, as text se_config_set accepts */
    const char *help;
};

static const char *const worker_type_names[] = {"embedded", "thread", "process", "spawn", NULL};
static const char *const log_level_names[] = {"trace", "debug", "info", "warn",
                                              "error", "fatal", NULL};
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

/* Keys of Ruby ServerEngine that have no meaning here: an error, not a user key. */
static const struct {
    const char *name;
    const char *why;
} unsupported_keys[] = {
    {"logger_class", "a Ruby logger class cannot be plugged in; configure the log with log, "
                     "log_level, log_rotate_age and log_rotate_size"},
/* Ruby's supervisor had keys of its own for its server; here the worker_ ones
 * govern it. Ruby's process workers could drop privileges alone. */
#define SERVER_WHY "the supervisor watches and stops its server with "
#define WORKER_WHY(k)                                                                              \
    "workers run as the server does: set " k " for the whole engine, or start spawn workers "      \
    "through setpriv(1)"
    {"server_heartbeat_interval", SERVER_WHY "worker_heartbeat_interval"},
    {"server_heartbeat_timeout", SERVER_WHY "worker_heartbeat_timeout"},
    {"server_graceful_kill_interval", SERVER_WHY "worker_graceful_kill_interval"},
    {"server_graceful_kill_interval_increment",
     SERVER_WHY "worker_graceful_kill_interval_increment"},
    {"server_graceful_kill_timeout", SERVER_WHY "worker_graceful_kill_timeout"},
    {"server_immediate_kill_interval", SERVER_WHY "worker_immediate_kill_interval"},
    {"server_immediate_kill_interval_increment",
     SERVER_WHY "worker_immediate_kill_interval_increment"},
    {"server_immediate_kill_timeout", SERVER_WHY "worker_immediate_kill_timeout"},
    {"worker_chuser", WORKER_WHY("chuser")},
    {"worker_chgroup", WORKER_WHY("chgroup")},
    {"worker_chumask", WORKER_WHY("chumask")},
#undef SERVER_WHY
#undef WORKER_WHY
};

/* Values of Ruby ServerEngine that have no meaning here: refused naming what to use. */
#define BY_DATE                                                                                    \
    "rotation by date is not built: give the number of files to keep, rotated by "                 \
    "log_rotate_size, or set log_rotate_age to 0, rotate with logrotate(8) and send USR2 to "      \
    "reopen the log"
static const struct {
    const char *key, *value, *why;
} unsupported_values[] = {
    {"log_rotate_age", "daily", BY_DATE},
    {"log_rotate_age", "weekly", BY_DATE},
    {"log_rotate_age", "monthly", BY_DATE},
};
#undef BY_DATE

static const struct key *
key_find(const char *name)
{
    if (name == NULL) return NULL;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Text building and messages                                               */
/* ------------------------------------------------------------------------ */

/* A bounded text builder with snprintf's contract: the buffer always ends in
 * NUL, len counts the whole text even when it did not fit. */
struct sb {
    char *buf;
    size_t size;
    size_t len;
};

static struct sb
sb_init(char *buf, size_t size)
{
    if (size > 0) buf[0] = '\0';
    return (struct sb){.buf = buf, .size = size, .len = 0};
}

static void
sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->len + 1 < b->size) {
        size_t room = b->size - 1 - b->len;
        size_t k = n < room ? n : room;
        memcpy(b->buf + b->len, s, k);
        b->buf[b->len + k] = '\0';
    }
    b->len += n;
}

static void
sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

/* For short pieces only: key names and numbers (longer text goes through sb_puts). */
static void sb_printf(struct sb *b, const char *fmt, ...) SE_PRINTF(2, 3);

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    SE_ASSERT(n >= 0 && (size_t)n < sizeof tmp);
    sb_putn(b, tmp, (size_t)n);
}

static int
sb_result(const struct sb *b)
{
    return b->len > INT_MAX ? INT_MAX : (int)b->len;
}

/* Appends s in double quotes, escaped, at most about QUOTE_MAX bytes of it
 * (cut at a UTF-8 character boundary), for messages about outside input. */
static void
sb_quoted(struct sb *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    sb_putn(b, "\"", 1);
    for (; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= QUOTE_MAX && (c & 0xC0) != 0x80) break;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_putn(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            sb_putn(b, esc, 4);
        } else {
            sb_putn(b, (const char *)&s[i], 1);
        }
    }
    if (s[i] != '\0') sb_puts(b, "...");
    sb_putn(b, "\"", 1);
}

/* Where error messages go; buf may be NULL (size 0). */
struct msg {
    char *buf;
    size_t size;
};

static struct sb
msg_sb(const struct msg *m)
{
    return sb_init(m->buf, m->size);
}

static void
msg_clear(const struct msg *m)
{
    if (m->size > 0) m->buf[0] = '\0';
}

static int
nomem(const struct msg *m)
{
    struct sb b = msg_sb(m);
    sb_puts(&b, "out of memory");
    return -ENOMEM;
}

/* Appends what a key accepts: "an integer from 0 to 1024". */
static void
key_expect(const struct key *k, struct sb *b)
{
    switch (k->type) {
    case KT_BOOL: sb_puts(b, "true or false (or yes/no, on/off, 1/0)"); return;
    case KT_INT:
        if (k->max == INT64_MAX) {
            sb_printf(b, "an integer of at least %" PRId64, k->min);
        } else {
            sb_printf(b, "an integer from %" PRId64 " to %" PRId64, k->min, k->max);
        }
        return;
    case KT_SECONDS:
        if (k->min > 0) {
            sb_printf(b, "a number of seconds greater than 0 (at least 0.001), up to %" PRId64,
                      k->max / SE_MS_PER_S);
        } else {
            sb_printf(b, "a number of seconds from 0 to %" PRId64, k->max / SE_MS_PER_S);
        }
        if (k->flags & KF_NEG1) sb_puts(b, ", or -1 for no timeout");
        return;
    case KT_RATIO: sb_puts(b, "a ratio from 0 to 1"); return;
    case KT_ENUM:
        sb_puts(b, "one of ");
        for (size_t i = 0; k->names[i] != NULL; i++) {
            if (i > 0) sb_puts(b, ", ");
            sb_puts(b, k->names[i]);
        }
        return;
    case KT_SIGNAL:
        sb_puts(b, "a signal name or number that can be caught (like TERM, SIGUSR2 or 12; "
                   "not KILL or STOP");
        sb_puts(b, (k->flags & KF_ACTION) ? ", nor CHLD, which the engine needs)" : ")");
        if (k->flags & KF_NIL) sb_puts(b, ", or nil for none");
        return;
    case KT_UMASK:
        sb_puts(b, "an octal umask from 0 to 0777 (like 022), or nil to leave it unchanged");
        return;
    case KT_STRING:
        if (k->flags & KF_FORMAT) {
            sb_printf(b, "a name of at most %zu bytes", k->size - 1);
            sb_puts(b, " with at most one %d (or %i, %u; flags and a width of up to 2 digits "
                       "allowed) for the worker id and %% for a percent sign");
        } else {
            sb_printf(b, "a text of at most %zu bytes", k->size - 1);
        }
        return;
    case KT_CODES: sb_puts(b, "a list of exit codes from 0 to 255, like [3, 4]"); return;
    case KT_LISTEN:
        sb_printf(b, "a list of at most %" PRId64 " addresses", k->max);
        sb_puts(b, " tcp://HOST:PORT, udp://HOST:PORT (HOST an IPv4 address, [IPv6] or a name; "
                   "PORT 0 to 65535) or unix:/path");
        return;
    }
}

/* "workers: invalid value "-3": expected an integer from 0 to 1024". */
static int
bad_value(const struct msg *m, const struct key *k, const char *value)
{
    struct sb b = msg_sb(m);
    sb_printf(&b, "%s: invalid value ", k->name);
    sb_quoted(&b, value);
    sb_puts(&b, ": expected ");
    key_expect(k, &b);
    return SE_ECONFIG;
}

/* "listen: invalid value "tcp://a:1": expected each address only once". */
static int
bad_value_why(const struct msg *m, const struct key *k, const char *value, const char *expected)
{
    struct sb b = msg_sb(m);
    sb_printf(&b, "%s: invalid value ", k->name);
    sb_quoted(&b, value);
    sb_puts(&b, ": expected ");
    sb_puts(&b, expected);
    return SE_ECONFIG;
}

/* ------------------------------------------------------------------------ */
/* Fields: integer cells of 1, 4 or 8 bytes, text buffers, lists            */
/* ------------------------------------------------------------------------ */

static int64_t
cell_get(const struct key *k, const struct se_config *cfg)
{
    const unsigned char *p = (const unsigned char *)cfg + k->offset;
    if (k->size == sizeof(bool)) {
        bool v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    if (k->size == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    SE_ASSERT(k->size == sizeof(int64_t));
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Stores v, which the parser has range-checked for this field. */
static void
cell_set(const struct key *k, struct se_config *cfg, int64_t v)
{
    unsigned char *p = (unsigned char *)cfg + k->offset;
    if (k->size == sizeof(bool)) {
        bool b = v != 0;
        memcpy(p, &b, sizeof b);
    } else if (k->size == sizeof(int32_t)) {
        SE_ASSERT(v >= INT32_MIN && v <= INT32_MAX);
        int32_t w = (int32_t)v;
        memcpy(p, &w, sizeof w);
    } else {
        SE_ASSERT(k->size == sizeof(int64_t));
        memcpy(p, &v, sizeof v);
    }
}

static char *
text_field(const struct key *k, struct se_config *cfg)
{
    return (char *)cfg + k->offset;
}

static const char *
text_field_const(const struct key *k, const struct se_config *cfg)
{
    return (const char *)cfg + k->offset;
}

/* ------------------------------------------------------------------------ */
/* Scalar parsers: text in, int64 out; false/SE_ECONFIG when invalid        */
/* ------------------------------------------------------------------------ */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ASCII case folding: the words of a config file do not depend on the locale. */
static char
ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_eq_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && ascii_lower(*a) == ascii_lower(*b); a++, b++) {
    }
    return *a == '\0' && *b == '\0';
}

static bool
parse_bool(const char *s, int64_t *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < SE_ARRAY_LEN(yes); i++) {
        if (ascii_eq_nocase(s, yes[i])) return *v = 1, true;
        if (ascii_eq_nocase(s, no[i])) return *v = 0, true;
    }
    return false;
}

/* A whole decimal: optional '-', digits only, no blanks, no overflow. */
static bool
parse_i64(const char *s, int64_t *v)
{
    bool neg = *s == '-';
    if (neg) s++;
    if (!is_digit(*s)) return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint64_t n = 0;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s)) return false;
        unsigned d = (unsigned)(*s - '0');
        if (n > (limit - d) / 10u) return false;
        n = n * 10u + d;
    }
    if (neg) {
        *v = n == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)n;
    } else {
        *v = (int64_t)n;
    }
    return true;
}

/* A decimal number as scanned: value = mant * 10^exp10 (with digits beyond
 * the 19 kept folded into `sticky`, which only matters for rounding). */
struct decimal {
    bool neg;
    uint64_t mant;
    int64_t exp10;
    bool sticky;
};

static void
decimal_digit(struct decimal *d, unsigned digit, bool fraction)
{
    if (d->mant <= (UINT64_MAX - 9u) / 10u) {
        d->mant = d->mant * 10u + digit;
        if (fraction) d->exp10--;
    } else {
        d->sticky |= digit != 0;
        if (!fraction) d->exp10++;
    }
}

/* Scans -?(D+(.D*)?|.D+)([eE][+-]?D+)? exactly: no blanks, no inf, nan or
 * hex. Locale-independent (the decimal point is always '.'). */
static bool
decimal_scan(const char *s, struct decimal *d)
{
    bool any = false;
    *d = (struct decimal){.neg = *s == '-'};
    if (d->neg) s++;
    for (; is_digit(*s); s++, any = true)
        decimal_digit(d, (unsigned)(*s - '0'), false);
    if (*s == '.') {
        for (s++; is_digit(*s); s++, any = true)
            decimal_digit(d, (unsigned)(*s - '0'), true);
    }
    if (!any) return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = *s == '-';
        if (*s == '-' || *s == '+') s++;
        if (!is_digit(*s)) return false;
        int64_t e = 0;
        for (; is_digit(*s); s++) {
            if (e < 100000) e = e * 10 + (*s - '0');
        }
        d->exp10 += eneg ? -e : e;
    }
    return *s == '\0';
}

/* |d| in thousandths, rounded half up. False when above INT64_MAX. */
static bool
decimal_milli(const struct decimal *d, int64_t *milli, bool *exact)
{
    int64_t e = d->exp10 + 3;
    uint64_t v = d->mant;
    *exact = !d->sticky;
    if (v == 0) return *milli = 0, true;
    if (e >= 0) {
        for (int64_t i = 0; i < e; i++) {
            if (v > (uint64_t)INT64_MAX / 10u) return false;
            v *= 10u;
        }
    } else if (e < -19) {
        v = 0; /* mant < 2^64 < 0.5 * 10^20: rounds to 0 */
        *exact = false;
    } else {
        uint64_t pow = 1;
        for (int64_t i = 0; i < -e; i++)
            pow *= 10u;
        uint64_t r = v % pow;
        v /= pow;
        if (r >= pow - r) v++;
        *exact = *exact && r == 0;
    }
    if (v > (uint64_t)INT64_MAX) return false;
    *milli = (int64_t)v;
    return true;
}

/* Seconds into ms (or a ratio into permille), in [min, max]; -1 with KF_NEG1. */
static bool
parse_milli(const struct key *k, const char *s, int64_t *v)
{
    struct decimal d;
    int64_t milli;
    bool exact;
    if (!decimal_scan(s, &d) || !decimal_milli(&d, &milli, &exact)) return false;
    if (d.neg) {
        if (!(k->flags & KF_NEG1) || !exact || milli != SE_MS_PER_S) return false;
        return *v = -1, true;
    }
    if (milli < k->min || milli > k->max) return false;
    return *v = milli, true;
}

static bool
parse_int(const struct key *k, const char *s, int64_t *v)
{
    int64_t n;
    if (!parse_i64(s, &n) || n < k->min || n > k->max) return false;
    return *v = n, true;
}

static bool
parse_enum(const struct key *k, const char *s, int64_t *v)
{
    for (size_t i = 0; k->names[i] != NULL; i++) {
        if (ascii_eq_nocase(s, k->names[i])) return *v = (int64_t)i, true;
    }
    return false;
}

static bool
is_nil(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || ascii_eq_nocase(s, "nil") ||
           ascii_eq_nocase(s, "null");
}

static bool
parse_signal(const struct key *k, const char *s, int64_t *v)
{
    enum se_sig sig;
    if (is_nil(s)) {
        if (!(k->flags & KF_NIL)) return false;
        return *v = SE_SIG_NONE, true;
    }
    if (se_sig_parse(s, &sig) != 0) return false;
    /* KILL and STOP cannot be caught; CHLD is how the engine learns of exits. */
    if (sig == SE_SIG_KILL || sig == SE_SIG_STOP || sig == SE_SIG_OTHER) return false;
    if (sig == SE_SIG_CHLD && (k->flags & KF_ACTION)) return false;
    return *v = sig, true;
}

/* Always octal, like a umask: "022", "0022" and "22" are 0022; "18" is invalid. */
static bool
parse_umask(const char *s, int64_t *v)
{
    int64_t n = 0;
    if (is_nil(s)) return *v = -1, true;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '7') return false;
        n = n * 8 + (*p - '0');
        if (n > 0777) return false;
    }
    return *v = n, true;
}

static bool
scalar_parse(const struct key *k, const char *s, int64_t *v)
{
    switch (k->type) {
    case KT_BOOL: return parse_bool(s, v);
    case KT_INT: return parse_int(k, s, v);
    case KT_SECONDS:
    case KT_RATIO: return parse_milli(k, s, v);
    case KT_ENUM: return parse_enum(k, s, v);
    case KT_SIGNAL: return parse_signal(k, s, v);
    case KT_UMASK: return parse_umask(s, v);
    case KT_STRING:
    case KT_CODES:
    case KT_LISTEN: break;
    }
    se__assert_fail(__FILE__, __LINE__, "scalar_parse on a text or list key");
}

/* ------------------------------------------------------------------------ */
/* Strings and process-name formats                                         */
/* ------------------------------------------------------------------------ */

/*
 * A process name is handed to snprintf with the worker id (an int), so it is
 * a format string read from a file: at most one conversion, only %d, %i or
 * %u with flags "-+ 0" and a width of up to 2 digits; %% for a percent sign.
 * No %s, %n, '*', precision or length modifier.
 */
static bool
format_valid(const char *s)
{
    unsigned conversions = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p != '%') continue;
        p++;
        if (*p == '%') continue;
        while (*p == '-' || *p == '+' || *p == ' ' || *p == '0')
            p++;
        for (int w = 0; w < 2 && is_digit(*p); w++)
            p++;
        if (*p != 'd' && *p != 'i' && *p != 'u') return false;
        if (++conversions > 1) return false;
    }
    return true;
}

static int
text_set(const struct key *k, struct se_config *cfg, const char *s, const struct msg *m)
{
    size_t n = strlen(s);
    if (n >= k->size) return bad_value(m, k, s);
    if ((k->flags & KF_FORMAT) && !format_valid(s)) return bad_value(m, k, s);
    memcpy(text_field(k, cfg), s, n + 1);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lists: exit codes and listen addresses                                   */
/* ------------------------------------------------------------------------ */

/*
 * Splits the text form of a list in place: "[3, 4]", "3,4", "3 4", "[]" or
 * "". Items are separated by a comma and/or blanks and may be quoted ('a' or
 * "a"). Returns the number of items, -1 when malformed (unclosed bracket or
 * quote, empty item, trailing comma), -2 when there are more than max.
 */
static int
list_split(char *s, const char **items, size_t max)
{
    char *end = s + strlen(s);
    size_t n = 0;
    while (is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    if (*s == '[') {
        if (end - s < 2 || end[-1] != ']') return -1;
        s++;
        end--;
    }
    *end = '\0';
    while (is_blank(*s))
        s++;
    if (*s == '\0') return 0;
    for (char *p = s;;) {
        char *item = p, *stop;
        if (*p == '"' || *p == '\'') {
            item = p + 1;
            stop = strchr(item, *p);
            if (stop == NULL) return -1;
            p = stop + 1;
        } else {
            while (*p != '\0' && *p != ',' && !is_blank(*p))
                p++;
            stop = p;
            if (stop == item) return -1;
        }
        char sep = *p; /* read before *stop is cleared: they may be the same byte */
        if (sep != '\0' && sep != ',' && !is_blank(sep)) return -1;
        *stop = '\0';
        if (n == max) return -2;
        items[n++] = item;
        if (sep == '\0') return (int)n;
        for (p++; is_blank(*p); p++) {
        }
        if (sep != ',' && *p == ',') {
            sep = ',';
            for (p++; is_blank(*p); p++) {
            }
        }
        if (*p == '\0') return sep == ',' ? -1 : (int)n;
    }
}

static int
codes_set(const struct key *k, struct se_config *cfg, const char *const *items, size_t n,
          const struct msg *m)
{
    uint8_t bits[SE_UNRECOVERABLE_BITS / 8] = {0};
    _Static_assert(sizeof bits == sizeof cfg->unrecoverable_exit_codes, "bitset size");
    for (size_t i = 0; i < n; i++) {
        int64_t code;
        if (!parse_i64(items[i], &code) || code < k->min || code > k->max) {
            return bad_value(m, k, items[i]);
        }
        bits[code / 8] |= (uint8_t)(1u << (code % 8));
    }
    memcpy((unsigned char *)cfg + k->offset, bits, sizeof bits);
    return 0;
}

static bool
host_name_valid(const char *h, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253) return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && c != '-' && c != '_') return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

static bool
port_valid(const char *port)
{
    size_t n = strlen(port);
    return n > 0 && n <= 5 && strspn(port, "0123456789") == n && atoi(port) <= 65535;
}

/* HOST:PORT with HOST an IPv4 address, [IPv6], a name or *, PORT 0..65535. */
static bool
host_port_valid(const char *s)
{
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close != NULL ? (size_t)(close - s - 1) : 0;
        if (n == 0 || n >= sizeof addr || close[1] != ':' || !port_valid(close + 2)) return false;
        memcpy(addr, s + 1, n);
        addr[n] = '\0';
        return inet_pton(AF_INET6, addr, bin) == 1;
    }
    const char *colon = strrchr(s, ':');
    if (colon == NULL || !port_valid(colon + 1)) return false;
    size_t n = (size_t)(colon - s);
    if (n == 1 && s[0] == '*') return true; /* every address */
    if (strspn(s, "0123456789.") < n) return host_name_valid(s, n);
    /* All digits and dots: it has to be a dotted-quad IPv4 address. */
    if (n >= sizeof addr) return false;
    memcpy(addr, s, n);
    addr[n] = '\0';
    return inet_pton(AF_INET, addr, bin) == 1;
}

/* The shape of one listen address. Nothing that would not survive the text
 * form of the list (blanks, commas, quotes, brackets) is accepted. */
static bool
listen_valid(const char *s)
{
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;
        size_t n = strlen(path);
        if (path[0] != '/' || n >= sizeof(((struct sockaddr_un *)0)->sun_path)) return false;
        for (const char *p = path; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || strchr(" ,'\"[]\x7f", *p) != NULL) return false;
        }
        return true;
    }
    if (strncmp(s, "tcp://", 6) != 0 && strncmp(s, "udp://", 6) != 0) return false;
    return host_port_valid(s + 6);
}

static int
listen_set(const struct key *k, struct se_config *cfg, const char *const *items, size_t n,
           const struct msg *m)
{
    for (size_t i = 0; i < n; i++) {
        if (!listen_valid(items[i])) return bad_value(m, k, items[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[i], items[j]) == 0) {
                return bad_value_why(m, k, items[i], "each address only once");
            }
        }
    }
    memset(cfg->listen, 0, sizeof cfg->listen);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        SE_ASSERT(len < sizeof cfg->listen[i]);
        memcpy(cfg->listen[i], items[i], len + 1);
    }
    cfg->listen_count = (uint32_t)n;
    return 0;
}

static size_t
list_items_max(const struct key *k)
{
    return k->type == KT_LISTEN ? (size_t)k->max : LIST_ITEMS_MAX;
}

static int
too_many(const struct msg *m, const struct key *k)
{
    struct sb b = msg_sb(m);
    sb_printf(&b, "%s: too many items: expected at most %zu", k->name, list_items_max(k));
    return SE_ECONFIG;
}

/* Sets a list key from its items (a YAML sequence, or split text). */
static int
key_set_items(const struct key *k, struct se_config *cfg, const char *const *items, size_t n,
              const struct msg *m)
{
    if (n > list_items_max(k)) return too_many(m, k);
    if (k->type == KT_CODES) return codes_set(k, cfg, items, n, m);
    SE_ASSERT(k->type == KT_LISTEN);
    return listen_set(k, cfg, items, n, m);
}

static int
list_set_text(const struct key *k, struct se_config *cfg, const char *text, const struct msg *m)
{
    const char *items[LIST_ITEMS_MAX];
    char *copy = strdup(text);
    if (copy == NULL) return nomem(m);
    int n = list_split(copy, items, SE_ARRAY_LEN(items));
    int rc;
    if (n == -1) {
        rc = bad_value(m, k, text);
    } else if (n == -2) {
        rc = too_many(m, k);
    } else {
        rc = key_set_items(k, cfg, items, (size_t)n, m);
    }
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* One key from text, one key to text                                       */
/* ------------------------------------------------------------------------ */

/* A Ruby value with no meaning here: SE_ECONFIG naming what to use, else 0. */
static int
value_check(const struct key *k, const char *text, const struct msg *m)
{
    for (size_t i = 0; i < SE_ARRAY_LEN(unsupported_values); i++) {
        if (strcmp(k->name, unsupported_values[i].key) == 0 &&
            strcmp(text, unsupported_values[i].value) == 0) {
            struct sb b = msg_sb(m);
            sb_printf(&b, "%s: ", k->name);
            sb_quoted(&b, text);
            sb_puts(&b, " is not supported: ");
            sb_puts(&b, unsupported_values[i].why);
            return SE_ECONFIG;
        }
    }
    return 0;
}

/* Sets built-in key k from text. 0, SE_ECONFIG or -ENOMEM; cfg may be partly
 * written on error (callers work on a copy). */
static int
key_set_text(const struct key *k, struct se_config *cfg, const char *text, const struct msg *m)
{
    int64_t v;
    if (value_check(k, text, m) < 0) return SE_ECONFIG;
    switch (k->type) {
    case KT_STRING: return text_set(k, cfg, text, m);
    case KT_CODES:
    case KT_LISTEN: return list_set_text(k, cfg, text, m);
    case KT_BOOL:
    case KT_INT:
    case KT_SECONDS:
    case KT_RATIO:
    case KT_ENUM:
    case KT_SIGNAL:
    case KT_UMASK: break;
    }
    if (!scalar_parse(k, text, &v)) return bad_value(m, k, text);
    cell_set(k, cfg, v);
    return 0;
}

/* Thousandths as the shortest decimal: 1500 -> "1.5", 1000 -> "1", 1 -> "0.001". */
static void
sb_milli(struct sb *b, int64_t v)
{
    SE_ASSERT(v >= 0);
    int64_t frac = v % 1000;
    sb_printf(b, "%" PRId64, v / 1000);
    if (frac == 0) return;
    char digits[4] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10), '\0'};
    for (int i = 2; i > 0 && digits[i] == '0'; i--)
        digits[i] = '\0';
    sb_puts(b, ".");
    sb_puts(b, digits);
}

static void
codes_format(const struct se_config *cfg, struct sb *b)
{
    bool first = true;
    sb_puts(b, "[");
    for (int32_t code = 0; code < (int32_t)SE_UNRECOVERABLE_BITS; code++) {
        if (!se__config_unrecoverable(cfg, code)) continue;
        sb_printf(b, first ? "%" PRId32 : ", %" PRId32, code);
        first = false;
    }
    sb_puts(b, "]");
}

static void
listen_format(const struct se_config *cfg, struct sb *b)
{
    sb_puts(b, "[");
    for (uint32_t i = 0; i < cfg->listen_count; i++) {
        if (i > 0) sb_puts(b, ", ");
        sb_puts(b, cfg->listen[i]);
    }
    sb_puts(b, "]");
}

/* Writes the text of built-in key k, which key_set_text accepts again. */
static void
key_format(const struct key *k, const struct se_config *cfg, struct sb *b)
{
    int64_t v = 0;
    if (k->type != KT_STRING && k->type != KT_CODES && k->type != KT_LISTEN) {
        v = cell_get(k, cfg);
    }
    switch (k->type) {
    case KT_BOOL: sb_puts(b, v ? "true" : "false"); return;
    case KT_INT: sb_printf(b, "%" PRId64, v); return;
    case KT_SECONDS:
    case KT_RATIO:
        if (v < 0) {
            sb_puts(b, "-1"); /* only -1 is stored: "no timeout" */
        } else {
            sb_milli(b, v);
        }
        return;
    case KT_ENUM: sb_puts(b, k->names[v]); return;
    case KT_SIGNAL: sb_puts(b, v == SE_SIG_NONE ? "nil" : se_sig_name((enum se_sig)v)); return;
    case KT_UMASK:
        if (v < 0) {
            sb_puts(b, "nil");
        } else {
            sb_printf(b, "%04o", (unsigned)v);
        }
        return;
    case KT_STRING: sb_puts(b, text_field_const(k, cfg)); return;
    case KT_CODES: codes_format(cfg, b); return;
    case KT_LISTEN: listen_format(cfg, b); return;
    }
}

/* ------------------------------------------------------------------------ */
/* User keys and warnings                                                   */
/* ------------------------------------------------------------------------ */

/* Makes room for one more element of an owned array. 0 or -ENOMEM. */
static int
grow(void **array, size_t *cap, size_t count, size_t elem_size)
{
    if (count < *cap) return 0;
    size_t cap_new = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, cap_new * elem_size);
    if (p == NULL) return -ENOMEM;
    *array = p;
    *cap = cap_new;
    return 0;
}

static size_t
user_find(const struct se_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->user_count; i++) {
        if (strcmp(cfg->user[i].key, key) == 0) return i;
    }
    return SIZE_MAX;
}

/* Optimal string alignment distance (a swap of two letters counts 1),
 * ASCII case-insensitive. b is a built-in key name. */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t d[3][NAME_LEN_MAX + 1];
    size_t la = strlen(a), lb = strlen(b);
    SE_ASSERT(lb <= NAME_LEN_MAX);
    if (la > lb + SUGGEST_DIST_MAX || lb > la + SUGGEST_DIST_MAX) return SUGGEST_DIST_MAX + 1;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = d[i % 3], *prev = d[(i + 2) % 3], *prev2 = d[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = ascii_lower(a[i - 1]);
            size_t v = prev[j - 1] + (ca != b[j - 1]);
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == b[j - 2] && ascii_lower(a[i - 2]) == b[j - 1] &&
                prev2[j - 2] + 1 < v) {
                v = prev2[j - 2] + 1;
            }
            cur[j] = v;
        }
    }
    return d[la % 3][lb];
}

/* The built-in key nearest to name (within SUGGEST_DIST_MAX), or NULL. */
static const char *
key_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_dist = SUGGEST_DIST_MAX + 1;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t dist = edit_distance(name, keys[i].name);
        if (dist < best_dist) {
            best = keys[i].name;
            best_dist = dist;
        }
    }
    return best;
}

/* Adds a warning (a copy of text) to cfg. 0 or -ENOMEM. */
static int
warning_add(struct se_config *cfg, const char *text)
{
    if (grow((void **)&cfg->warnings, &cfg->warning_cap, cfg->warning_count,
             sizeof *cfg->warnings) < 0) {
        return -ENOMEM;
    }
    char *w = strdup(text);
    if (w == NULL) return -ENOMEM;
    cfg->warnings[cfg->warning_count++] = w;
    return 0;
}

static int
warning_add_unknown(struct se_config *cfg, const char *key)
{
    char text[MSG_TMP_MAX];
    struct sb b = sb_init(text, sizeof text);
    const char *near = key_suggest(key);
    sb_puts(&b, "unknown key ");
    sb_quoted(&b, key);
    sb_puts(&b, " (kept for user code)");
    if (near != NULL) {
        sb_puts(&b, "; did you mean ");
        sb_quoted(&b, near);
        sb_puts(&b, "?");
    }
    return warning_add(cfg, text);
}

/* Adds a new user key (owning value) and its warning. 0 or -ENOMEM. */
static int
user_add(struct se_config *cfg, const char *key, char *value)
{
    SE_ASSERT(key != NULL);
    if (grow((void **)&cfg->user, &cfg->user_cap, cfg->user_count, sizeof *cfg->user) < 0) {
        free(value);
        return -ENOMEM;
    }
    char *k = strdup(key);
    if (k == NULL) {
        free(value);
        return -ENOMEM;
    }
    SE_ASSERT(cfg->user != NULL); /* grow made room */
    cfg->user[cfg->user_count++] = (struct se_user_kv){.key = k, .value = value};
    /* Warned once per key: only when it first appears. */
    return warning_add_unknown(cfg, key);
}

/* Stores (or replaces) a user key. 0, SE_ECONFIG (a limit) or -ENOMEM. */
static int
user_set(struct se_config *cfg, const char *key, const char *value, const struct msg *m)
{
    struct sb b = msg_sb(m);
    size_t i = user_find(cfg, key);
    if (strlen(value) > USER_VALUE_MAX) {
        sb_quoted(&b, key);
        sb_printf(&b, ": value too long: expected at most %u bytes", USER_VALUE_MAX);
        return SE_ECONFIG;
    }
    if (i == SIZE_MAX && cfg->user_count >= USER_KEYS_MAX) {
        sb_quoted(&b, key);
        sb_printf(&b, ": too many unknown keys: expected at most %u", USER_KEYS_MAX);
        return SE_ECONFIG;
    }
    char *v = strdup(value);
    if (v == NULL) return nomem(m);
    if (i != SIZE_MAX && cfg->user != NULL) {
        free(cfg->user[i].value);
        cfg->user[i].value = v;
        return 0;
    }
    return user_add(cfg, key, v) < 0 ? nomem(m) : 0;
}

/* A name that cannot be a user key: empty, too long, or a Ruby-only key. */
static int
user_key_check(const char *key, const struct msg *m)
{
    SE_ASSERT(key != NULL);
    struct sb b = msg_sb(m);
    if (key[0] == '\0') {
        sb_puts(&b, "empty key: expected a key name");
        return SE_ECONFIG;
    }
    if (strlen(key) > KEY_LEN_MAX) {
        sb_quoted(&b, key);
        sb_printf(&b, ": key too long: expected at most %u bytes", KEY_LEN_MAX);
        return SE_ECONFIG;
    }
    for (size_t i = 0; i < SE_ARRAY_LEN(unsupported_keys); i++) {
        if (strcmp(key, unsupported_keys[i].name) == 0) {
            sb_printf(&b, "%s: not supported: ", key);
            sb_puts(&b, unsupported_keys[i].why);
            return SE_ECONFIG;
        }
    }
    return 0;
}

/* Sets any key from text on cfg (a working copy). No cross-key check. */
static int
config_apply(struct se_config *cfg, const char *key, const char *value, const struct msg *m)
{
    const struct key *k = key_find(key);
    if (k != NULL) return key_set_text(k, cfg, value, m);
    int rc = user_key_check(key, m);
    if (rc < 0) return rc;
    return user_set(cfg, key, value, m);
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
            if (!(b->flags & KF_ACTION) || cell_get(a, cfg) != cell_get(b, cfg)) continue;
            struct sb s = msg_sb(m);
            sb_printf(&s, "%s and %s: both are %s", a->name, b->name,
                      se_sig_name((enum se_sig)cell_get(a, cfg)));
            sb_puts(&s, ": expected a different signal for each action");
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
    struct sb b = msg_sb(&m);
    sb_printf(&b, "worker_heartbeat_timeout (%" PRId64 " ms) is not longer than ", timeout);
    sb_printf(&b, "worker_heartbeat_interval (%" PRId64 " ms): ", interval);
    sb_puts(&b, "every worker would be killed between two heartbeats; expected a timeout "
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
static int
config_commit(struct se_config *cfg, struct se_config *work, const struct msg *m)
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
        int rc = key_set_text(&keys[i], cfg, keys[i].def, &quiet);
        if (rc == -ENOMEM) {
            free(cfg);
            return NULL;
        }
        SE_ASSERT(rc == 0); /* the table's defaults are valid values */
    }
    SE_ASSERT(config_validate(cfg, &quiet) == 0);
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

static int
user_copy(struct se_config *dst, const struct se_config *src)
{
    if (src->user_count == 0) return 0;
    dst->user = calloc(src->user_count, sizeof *dst->user);
    if (dst->user == NULL) return -ENOMEM;
    dst->user_cap = src->user_count;
    for (size_t i = 0; i < src->user_count; i++) {
        char *k = strdup(src->user[i].key), *v = strdup(src->user[i].value);
        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            return -ENOMEM;
        }
        dst->user[dst->user_count++] = (struct se_user_kv){.key = k, .value = v};
    }
    return 0;
}

static int
warnings_copy(struct se_config *dst, const struct se_config *src)
{
    if (src->warning_count == 0) return 0;
    dst->warnings = calloc(src->warning_count, sizeof *dst->warnings);
    if (dst->warnings == NULL) return -ENOMEM;
    dst->warning_cap = src->warning_count;
    for (size_t i = 0; i < src->warning_count; i++) {
        char *w = strdup(src->warnings[i]);
        if (w == NULL) return -ENOMEM;
        dst->warnings[dst->warning_count++] = w;
    }
    return 0;
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
    if (user_copy(d, cfg) < 0 || warnings_copy(d, cfg) < 0) {
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
    memcpy(saved, field, k->size);
    int rc = key_set_text(k, cfg, value, m);
    if (rc == 0) rc = config_validate(cfg, m);
    if (rc < 0) {
        memcpy(field, saved, k->size);
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
    msg_clear(&m);
    const struct key *k = key_find(key);
    if (k != NULL) return key_set_in_place(k, cfg, value, &m);
    struct se_config *work = se_config_dup(cfg);
    if (work == NULL) return nomem(&m);
    int rc = config_apply(work, key, value, &m);
    if (rc < 0) {
        se_config_free(work);
        return rc;
    }
    return config_commit(cfg, work, &m);
}

int
se_config_set_kv(struct se_config *cfg, const char *key_value, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    struct sb b = msg_sb(&m);
    char key[SE_NAME_MAX];
    const char *eq = strchr(key_value, '=');
    if (eq == NULL || eq == key_value) {
        sb_puts(&b, "invalid setting ");
        sb_quoted(&b, key_value);
        sb_puts(&b, eq == NULL ? ": expected KEY=VALUE (like workers=4)"
                               : ": the key before '=' is empty: expected KEY=VALUE");
        return SE_ECONFIG;
    }
    size_t n = (size_t)(eq - key_value);
    if (n >= sizeof key) {
        sb_puts(&b, "invalid setting ");
        sb_quoted(&b, key_value);
        sb_printf(&b, ": key too long: expected at most %u bytes", KEY_LEN_MAX);
        return SE_ECONFIG;
    }
    memcpy(key, key_value, n);
    key[n] = '\0';
    return se_config_set(cfg, key, eq + 1, err, err_size);
}

/* ------------------------------------------------------------------------ */
/* YAML                                                                     */
/* ------------------------------------------------------------------------ */

/* Line and column (1-based) of a byte offset, for reader errors. */
static void
offset_line_col(const char *text, size_t len, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int
yaml_error(const yaml_parser_t *p, const char *name, const char *text, size_t len,
           const struct msg *m)
{
    struct sb b = msg_sb(m);
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    const char *problem = p->problem != NULL ? p->problem : "malformed YAML";
    switch (p->error) {
    case YAML_MEMORY_ERROR: return nomem(m);
    case YAML_READER_ERROR: offset_line_col(text, len, p->problem_offset, &line, &col); break;
    case YAML_NO_ERROR:
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR:
    case YAML_WRITER_ERROR:
    case YAML_EMITTER_ERROR: break;
    }
    sb_puts(&b, name);
    sb_printf(&b, ":%zu:%zu: ", line, col);
    sb_puts(&b, problem);
    if (p->context != NULL) {
        sb_puts(&b, " (");
        sb_puts(&b, p->context);
        sb_printf(&b, " at line %zu, column %zu)", p->context_mark.line + 1,
                  p->context_mark.column + 1);
    }
    return SE_EPARSE;
}

/* Prefixes a message with "name:line:col: " (the node's position). */
static int
yaml_at(int rc, const char *name, const yaml_node_t *node, const char *what, const struct msg *m)
{
    if (rc == -ENOMEM) return nomem(m);
    struct sb b = msg_sb(m);
    sb_puts(&b, name);
    sb_printf(&b, ":%zu:%zu: ", node->start_mark.line + 1, node->start_mark.column + 1);
    sb_puts(&b, what);
    return rc;
}

static bool
yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->tag != NULL && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0) return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The text of a scalar node, or NULL when it holds a NUL byte. */
static const char *
yaml_text(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length ? v : NULL;
}

/* Writes "KEY: <what>[: expected ...]" for a value of the wrong shape. */
static int
shape_error(const struct msg *m, const char *key, const struct key *k, const char *what)
{
    struct sb b = msg_sb(m);
    if (k != NULL) {
        sb_printf(&b, "%s: %s: expected ", k->name, what);
        key_expect(k, &b);
    } else {
        sb_quoted(&b, key);
        sb_printf(&b, ": %s: expected a value or a list of values", what);
    }
    return SE_ECONFIG;
}

/* Collects the scalar items of a sequence; *bad is the offending node. */
static int
yaml_items(yaml_document_t *doc, const yaml_node_t *seq, const char **items, size_t *n,
           const yaml_node_t **bad, const char **what)
{
    *n = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        *bad = item;
        if (*n == LIST_ITEMS_MAX) return *what = "too many items", SE_ECONFIG;
        if (item->type != YAML_SCALAR_NODE) {
            return *what = "a list or mapping inside a list is not allowed", SE_ECONFIG;
        }
        if (yaml_is_null(item)) return *what = "a list item has no value", SE_ECONFIG;
        items[*n] = yaml_text(item);
        if (items[*n] == NULL) return *what = "a list item holds a NUL byte", SE_ECONFIG;
        (*n)++;
    }
    return 0;
}

/* A sequence for a user key is kept as its text "[a, b]". */
static int
user_set_items(struct se_config *cfg, const char *key, const char *const *items, size_t n,
               const struct msg *m)
{
    struct sb measure = sb_init(NULL, 0);
    for (size_t i = 0; i < n; i++)
        sb_puts(&measure, items[i]);
    size_t size = measure.len + 2 * n + 3;
    char *text = malloc(size);
    if (text == NULL) return nomem(m);
    struct sb b = sb_init(text, size);
    sb_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) sb_puts(&b, ", ");
        sb_puts(&b, items[i]);
    }
    sb_puts(&b, "]");
    int rc = user_key_check(key, m);
    if (rc == 0) rc = user_set(cfg, key, text, m);
    free(text);
    return rc;
}

static int
yaml_apply_seq(struct se_config *cfg, yaml_document_t *doc, const char *key, const struct key *k,
               const yaml_node_t *seq, const char *name, const struct msg *m)
{
    const char *items[LIST_ITEMS_MAX];
    const yaml_node_t *bad = seq;
    const char *what = NULL;
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    size_t n;
    int rc;
    if (k != NULL && k->type != KT_CODES && k->type != KT_LISTEN) {
        rc = shape_error(&sub, key, k, "a list is not allowed here");
        return yaml_at(rc, name, seq, tmp, m);
    }
    rc = yaml_items(doc, seq, items, &n, &bad, &what);
    if (rc < 0) {
        rc = k != NULL && n == LIST_ITEMS_MAX ? too_many(&sub, k) : shape_error(&sub, key, k, what);
    } else if (k != NULL) {
        rc = key_set_items(k, cfg, items, n, &sub);
    } else {
        rc = user_set_items(cfg, key, items, n, &sub);
    }
    return rc < 0 ? yaml_at(rc, name, bad, tmp, m) : 0;
}

static int
yaml_apply_scalar(struct se_config *cfg, const char *key, const struct key *k,
                  const yaml_node_t *val, const char *name, const struct msg *m)
{
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    const char *text = yaml_text(val);
    int rc;
    if (yaml_is_null(val)) {
        if (k != NULL && (k->flags & KF_NIL)) {
            rc = key_set_text(k, cfg, "nil", &sub);
        } else {
            rc = shape_error(&sub, key, k, "expected a value, found none");
        }
    } else if (text == NULL) {
        rc = shape_error(&sub, key, k, "the value holds a NUL byte");
    } else {
        rc = config_apply(cfg, key, text, &sub);
    }
    return rc < 0 ? yaml_at(rc, name, val, tmp, m) : 0;
}

static int
yaml_apply_pair(struct se_config *cfg, yaml_document_t *doc, const yaml_node_pair_t *pair,
                const char *name, const struct msg *m)
{
    const yaml_node_t *kn = yaml_document_get_node(doc, pair->key);
    const yaml_node_t *vn = yaml_document_get_node(doc, pair->value);
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    const char *key = kn->type == YAML_SCALAR_NODE ? yaml_text(kn) : NULL;
    if (key == NULL) {
        return yaml_at(SE_EPARSE, name, kn, "a key must be a plain name", m);
    }
    const struct key *k = key_find(key);
    switch (vn->type) {
    case YAML_SCALAR_NODE: return yaml_apply_scalar(cfg, key, k, vn, name, m);
    case YAML_SEQUENCE_NODE: return yaml_apply_seq(cfg, doc, key, k, vn, name, m);
    case YAML_MAPPING_NODE:
    case YAML_NO_NODE: break;
    }
    int rc = shape_error(&sub, key, k, "a nested mapping is not allowed");
    return yaml_at(rc, name, vn, tmp, m);
}

struct seen_key {
    const char *key;
    size_t line; /* 1-based */
};

/* By key, then by line: equal keys end up next to each other, in file order. */
static int
seen_key_cmp(const void *a, const void *b)
{
    const struct seen_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * A key given twice in one file: the last one wins (as YAML loaders do), but
 * never silently: a warning names the key and both lines. Sorted, not
 * compared pair by pair, so a file of many keys costs n log n. 0 or -ENOMEM.
 */
static int
yaml_warn_duplicates(struct se_config *cfg, yaml_document_t *doc, const yaml_node_t *root,
                     const char *name)
{
    size_t n = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
    if (n < 2) return 0;
    struct seen_key *v = calloc(n, sizeof *v);
    if (v == NULL) return -ENOMEM;
    size_t k = 0;
    for (const yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        const char *key = kn->type == YAML_SCALAR_NODE ? yaml_text(kn) : NULL;
        if (key != NULL) v[k++] = (struct seen_key){key, kn->start_mark.line + 1};
    }
    qsort(v, k, sizeof *v, seen_key_cmp);
    int rc = 0;
    unsigned warned = 0;
    for (size_t i = 1; i < k && rc == 0 && warned < DUP_WARNINGS_MAX; i++) {
        if (strcmp(v[i - 1].key, v[i].key) != 0) continue;
        char text[MSG_TMP_MAX];
        struct sb b = sb_init(text, sizeof text);
        sb_puts(&b, name);
        sb_puts(&b, ": key ");
        sb_quoted(&b, v[i].key);
        sb_printf(&b, " is given twice (lines %zu and %zu); the last one wins", v[i - 1].line,
                  v[i].line);
        rc = warning_add(cfg, text);
        warned++;
    }
    free(v);
    return rc;
}

static int
yaml_apply_doc(struct se_config *cfg, yaml_document_t *doc, const char *name, const struct msg *m)
{
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    if (root == NULL || yaml_is_null(root)) return 0; /* empty file: no change */
    if (root->type != YAML_MAPPING_NODE) {
        return yaml_at(SE_EPARSE, name, root,
                       "the top level must be a mapping of keys to values (key: value)", m);
    }
    if (yaml_warn_duplicates(cfg, doc, root, name) < 0) return nomem(m);
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        int rc = yaml_apply_pair(cfg, doc, pair, name, m);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Only one document: a second one would be silently ignored otherwise. */
static int
yaml_check_end(yaml_parser_t *p, const char *name, const char *text, size_t len,
               const struct msg *m)
{
    yaml_document_t next;
    if (!yaml_parser_load(p, &next)) return yaml_error(p, name, text, len, m);
    const yaml_node_t *root = yaml_document_get_root_node(&next);
    int rc =
        root == NULL ? 0 : yaml_at(SE_EPARSE, name, root, "only one YAML document is allowed", m);
    yaml_document_delete(&next);
    return rc;
}

/*
 * Nesting deeper than YAML_DEPTH_MAX is refused before the document is
 * built: libyaml's scanner re-examines every open level for each token, so
 * a file of 100,000 '[' costs time quadratic in its depth (tens of seconds
 * for 200 KB, holding a reload's loop), and a configuration needs two levels.
 * The events are read only until the limit is crossed, which keeps the cost
 * linear. A syntax error is left to the loader, which reports it.
 */
static int
yaml_check_depth(const char *name, const char *text, size_t len, const struct msg *m)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return nomem(m);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    uint32_t depth = 0;
    int rc = 0;
    for (bool more = true; more;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break;
        yaml_event_type_t type = ev.type;
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        switch (type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: depth++; break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        case YAML_STREAM_END_EVENT: more = false; break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_ALIAS_EVENT:
        case YAML_SCALAR_EVENT: break;
        }
        if (depth > YAML_DEPTH_MAX) {
            struct sb b = msg_sb(m);
            sb_puts(&b, name);
            sb_printf(&b, ":%zu:%zu: nested deeper than %u levels", line, col, YAML_DEPTH_MAX);
            sb_puts(&b, ": expected keys with values or lists of values");
            rc = SE_EPARSE;
            more = false;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

static int
yaml_load(struct se_config *cfg, const char *name, const char *text, size_t len,
          const struct msg *m)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct se_config *work = NULL;
    int rc;
    rc = yaml_check_depth(name, text, len, m);
    if (rc < 0) return rc;
    if (!yaml_parser_initialize(&parser)) return nomem(m);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_error(&parser, name, text, len, m);
        goto fail_parser;
    }
    rc = yaml_check_end(&parser, name, text, len, m);
    if (rc < 0) goto fail;
    work = se_config_dup(cfg);
    if (work == NULL) {
        rc = nomem(m);
        goto fail;
    }
    rc = yaml_apply_doc(work, &doc, name, m);
    if (rc == 0) {
        char tmp[MSG_TMP_MAX];
        const struct msg sub = {tmp, sizeof tmp};
        rc = config_commit(cfg, work, &sub); /* frees work */
        work = NULL;
        if (rc < 0) {
            struct sb b = msg_sb(m);
            sb_puts(&b, name);
            sb_puts(&b, ": ");
            sb_puts(&b, tmp);
        }
    }
fail:
    se_config_free(work);
    yaml_document_delete(&doc);
fail_parser:
    yaml_parser_delete(&parser);
    return rc;
}

int
se_config_load_yaml_string(struct se_config *cfg, const char *yaml, size_t len, char *err,
                           size_t err_size)
{
    SE_ASSERT(yaml != NULL || len == 0);
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    msg_clear(&m);
    return yaml_load(cfg, "<string>", yaml != NULL ? yaml : "", len, &m);
}

/* Reads a whole file of at most FILE_BYTES_MAX. 0 or -errno. */
static int
read_file(const char *path, char **text, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = NULL;
    int32_t fd = -1;
    int rc = se__posix_open_regular(path, O_RDONLY, 0, &fd); /* never a FIFO's hang */
    if (rc < 0) return rc;
    for (;;) {
        if (n == cap || buf == NULL) {
            cap = buf == NULL ? cap : cap * 2;
            char *p = realloc(buf, cap);
            if (p == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = p;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = -errno;
        if (r <= 0) break;
        n += (size_t)r;
        if (n > FILE_BYTES_MAX) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

int
se_config_load_yaml(struct se_config *cfg, const char *path, char *err, size_t err_size)
{
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len);
    if (rc < 0) {
        struct sb b = msg_sb(&m);
        sb_puts(&b, path);
        sb_puts(&b, ": cannot read: ");
        char why[256];
        sb_puts(&b, rc == -EFBIG ? "larger than 1 MiB"
                                 : se__posix_open_error(path, rc, why, sizeof why));
        return rc;
    }
    msg_clear(&m);
    rc = yaml_load(cfg, path, text, len, &m);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Public: get                                                              */
/* ------------------------------------------------------------------------ */

int
se_config_get(const struct se_config *cfg, const char *key, char *buf, size_t buf_size)
{
    SE_ASSERT(buf != NULL || buf_size == 0);
    struct sb b = sb_init(buf, buf_size);
    const struct key *k = key_find(key);
    if (k != NULL) {
        key_format(k, cfg, &b);
        return sb_result(&b);
    }
    size_t i = user_find(cfg, key);
    if (i == SIZE_MAX) return SE_EUNKNOWN;
    sb_puts(&b, cfg->user[i].value);
    return sb_result(&b);
}

/* The text of any key for the typed readers; a built-in key's is formatted
 * into buf. SE_EUNKNOWN when absent, SE_ECONFIG when too long to be a number. */
static int
key_text(const struct se_config *cfg, const char *key, char *buf, size_t size, const char **text)
{
    const struct key *k = key_find(key);
    if (k == NULL) {
        size_t i = user_find(cfg, key);
        if (i == SIZE_MAX) return SE_EUNKNOWN;
        *text = cfg->user[i].value;
        return 0;
    }
    struct sb b = sb_init(buf, size);
    key_format(k, cfg, &b);
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
    if (!parse_i64(text, &v)) return SE_ECONFIG;
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
    if (!decimal_scan(text, &d)) return SE_ECONFIG;
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
    if (!parse_bool(text, &v)) return SE_ECONFIG;
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
    case KT_STRING: return strcmp(text_field_const(k, a), text_field_const(k, b)) == 0;
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
    struct sb sa = sb_init(ta, sizeof ta), sbb = sb_init(tb, sizeof tb);
    key_format(k, a, &sa);
    key_format(k, b, &sbb);
    return strcmp(ta, tb) == 0;
}

size_t
se__config_static_changes(const struct se_config *old_cfg, const struct se_config *new_cfg,
                          char *names, size_t names_size)
{
    SE_ASSERT(names != NULL || names_size == 0);
    struct sb b = sb_init(names, names_size);
    size_t n = 0;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if ((keys[i].flags & KF_DYNAMIC) || key_same(&keys[i], old_cfg, new_cfg)) continue;
        if (n++ > 0) sb_puts(&b, ", ");
        sb_puts(&b, keys[i].name);
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
            return (enum se_sig)cell_get(&keys[i], cfg);
        }
    }
    return SE_SIG_NONE;
}

enum se_cmd
se__config_signal_cmd(const struct se_config *cfg, enum se_sig sig)
{
    if (sig == SE_SIG_NONE) return SE_CMD_NONE;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if ((keys[i].flags & KF_ACTION) && cell_get(&keys[i], cfg) == (int64_t)sig) {
            return keys[i].cmd;
        }
    }
    return SE_CMD_NONE;
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
    if (key != NULL && key_find(key) != NULL) {
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
