/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serverengine: the command-line tool (README: "The serverengine tool").
 *
 *   serverengine run [-c FILE] [-s KEY=VALUE]... [--] COMMAND [ARG]...
 *   serverengine stop|kill|restart [--immediate]|reload|detach|dump (-p PIDFILE | PID)
 *   serverengine status [--json] (-p PIDFILE | PID)
 *   serverengine check-config -c FILE [-s KEY=VALUE]...
 *
 * `run` runs COMMAND as spawn workers with the whole engine (supervisor,
 * daemonize, pid file, heartbeats, logs, restart policy: every key of the
 * configuration). The signal commands send TERM, QUIT, USR1 (HUP with
 * --immediate), USR2, INT and CONT to a running server or supervisor.
 * `check-config` prints the effective configuration as YAML, each key with
 * where its value came from. Exit codes: 0; 64 (EX_USAGE) for a usage
 * error; 78 (EX_CONFIG) for a bad configuration value; 1 when a signal
 * cannot be sent or no status can be read; `run` exits with the engine's
 * status.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "serverengine.h"

#define EX_USAGE_     64
#define EX_CONFIG_    78
#define SETS_MAX      64
#define ERR_MAX       1024
#define VALUE_MAX     4096
#define FILE_KEYS_MAX 256

struct args {
    const char *config_path;
    const char *sets[SETS_MAX];
    size_t sets_count;
    bool help;
    bool immediate;
    bool json;
    const char *pid_file;
    const char *pid_text;
    char **command; /* run: COMMAND [ARG]..., NULL-terminated */
};

static const char usage_text[] =
    "usage: serverengine COMMAND [OPTION]...\n"
    "\n"
    "Runs any program as a supervised pool of workers, and commands a running one.\n"
    "\n"
    "commands:\n"
    "  run [-c FILE] [-s KEY=VALUE]... [--] PROGRAM [ARG]...\n"
    "                   run PROGRAM as spawn workers with the whole engine\n"
    "  stop (-p PIDFILE | PID)      graceful stop (TERM)\n"
    "  kill (-p PIDFILE | PID)      immediate stop (QUIT)\n"
    "  restart [--immediate] (-p PIDFILE | PID)\n"
    "                   restart the workers: graceful (USR1) or immediate (HUP)\n"
    "  reload (-p PIDFILE | PID)    reload the configuration, reopen logs (USR2)\n"
    "  detach (-p PIDFILE | PID)    detach for a live restart (INT)\n"
    "  dump (-p PIDFILE | PID)      dump stacks and memory figures (CONT)\n"
    "  status [--json] (-p PIDFILE | PID)\n"
    "                   the workers' table: pid, state, uptime, restarts, last exit\n"
    "  check-config -c FILE [-s KEY=VALUE]...\n"
    "                   print the effective configuration as YAML, or name the bad key\n"
    "\n"
    "  -h, --help       help (also after a command: serverengine run --help)\n"
    "  --version        the version\n"
    "\n"
    "Exit status: 0; 64 for a usage error; 78 for a bad configuration value;\n"
    "1 when a signal cannot be sent or no status can be read; run: the engine's\n"
    "own status.\n"
    "See the README for every configuration key.\n";

static const char run_text[] =
    "usage: serverengine run [-c FILE] [-s KEY=VALUE]... [--] PROGRAM [ARG]...\n"
    "\n"
    "Runs PROGRAM (looked up in PATH) as spawn workers: `workers` copies, each\n"
    "restarted when it ends, stopped with TERM then QUIT then KILL, with\n"
    "SERVERENGINE_WORKER_ID and SERVERENGINE_HEARTBEAT_PIPE in its environment.\n"
    "Every configuration key applies (supervisor, daemonize, pid_path, log,\n"
    "worker_heartbeat_mode, command_sender...); worker_type is spawn.\n"
    "\n"
    "  -c, --config FILE       read the configuration from a YAML file\n"
    "  -s, --set KEY=VALUE     set one key (repeatable; wins over the file)\n"
    "  -h, --help              this text\n"
    "  --                      the end of the options: PROGRAM follows\n";

static const char signal_text[] =
    "usage: serverengine %s%s (-p PIDFILE | PID)\n"
    "\n"
    "Sends %s to the server or supervisor whose pid is PID or is written in\n"
    "PIDFILE (the pid_path of its configuration): %s.\n"
    "\n"
    "  -p, --pid-file PIDFILE  read the pid from this file\n"
    "%s"
    "  -h, --help              this text\n";

static const char status_text[] =
    "usage: serverengine status [--json] (-p PIDFILE | PID)\n"
    "\n"
    "Prints what the server whose pid is PID or is written in PIDFILE is doing:\n"
    "its pid and its supervisor's, its configuration file and last reload, and\n"
    "per worker its id, pid, state (starting, running, stopping, backoff for a\n"
    "time, dead, stopped), uptime, restarts, last exit (status, or signal and\n"
    "whether serverengine sent it) and the age of its last heartbeat. The\n"
    "server answers on its status socket, PIDFILE.status (without a pid file,\n"
    "serverengine-status-PID.sock in SERVERENGINE_STATUS_DIR or /tmp); no\n"
    "worker is woken. Only the server's user and root are answered.\n"
    "\n"
    "  -p, --pid-file PIDFILE  the server's pid file\n"
    "  --json                  one JSON object instead of the table\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0; 64 for a usage error; 1 when no status can be read (the\n"
    "process serves none, nothing answers, or the answer is refused).\n";

static const char check_text[] =
    "usage: serverengine check-config -c FILE [-s KEY=VALUE]...\n"
    "\n"
    "Validates the configuration as `run` would read it and prints every\n"
    "built-in key with its effective value as YAML, each with where the value\n"
    "came from (default, file, or set), and exits 0; or names the bad key and\n"
    "exits 78. Unknown keys are warned about on stderr.\n"
    "\n"
    "  -c, --config FILE       the YAML file\n"
    "  -s, --set KEY=VALUE     set one key (repeatable; wins over the file)\n"
    "  -h, --help              this text\n";

struct sigcmd {
    const char *name;
    int sig;
    int sig_immediate; /* restart --immediate; 0: no such option */
    const char *what;
};

static const struct sigcmd sigcmds[] = {
    {"stop", SIGTERM, 0, "a graceful stop"},
    {"kill", SIGQUIT, 0, "an immediate stop"},
    {"restart", SIGUSR1, SIGHUP, "a graceful restart of the workers (HUP with --immediate)"},
    {"reload", SIGUSR2, 0, "a reload of the configuration and a reopening of the logs"},
    {"detach", SIGINT, 0, "a detach for a live restart (a graceful stop without supervisor)"},
    {"dump", SIGCONT, 0, "a dump of stacks and memory figures to the log"},
};

static int
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "serverengine: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'serverengine --help'.\n");
    return EX_USAGE_;
}

/* ---- arguments ----------------------------------------------------------- */

/* "-s" "K=V", "-sK=V", "--set" "K=V", "--set=K=V" and the same for -c and
 * -p: the value of option short/long at argv[*i], or NULL when a is not it.
 * *missing is set when the option is there without its value. */
static const char *
option_value(int argc, char **argv, int *i, char short_opt, const char *long_opt, bool *missing)
{
    const char *a = argv[*i];
    if (a == NULL) return NULL;
    size_t long_len = strlen(long_opt);
    if (a[0] == '-' && a[1] == short_opt) {
        if (a[2] != '\0') return a + 2;
    } else if (strncmp(a, long_opt, long_len) == 0 && a[long_len] == '=') {
        return a + long_len + 1;
    } else if (strcmp(a, long_opt) != 0) {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Parses the options of a subcommand. what: 'r' run, 's' a signal
 * command, 'c' check-config. Returns 0 or EX_USAGE_ (message printed). */
static int
parse(int argc, char **argv, char what, struct args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *v;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = true;
            return 0;
        }
        if (strcmp(arg, "--") == 0 && what == 'r') {
            a->command = argv + i + 1;
            return 0;
        }
        if (what != 's' && (v = option_value(argc, argv, &i, 'c', "--config", &missing)) != NULL) {
            a->config_path = v;
        } else if (what != 's' &&
                   (v = option_value(argc, argv, &i, 's', "--set", &missing)) != NULL) {
            if (a->sets_count == SETS_MAX) return usage_error("too many -s options (%s)", "64");
            a->sets[a->sets_count++] = v;
        } else if (what == 's' &&
                   (v = option_value(argc, argv, &i, 'p', "--pid-file", &missing)) != NULL) {
            a->pid_file = v;
        } else if (missing) {
            return usage_error("option %s needs a value", arg);
        } else if (what == 's' && strcmp(arg, "--immediate") == 0) {
            a->immediate = true;
        } else if (what == 's' && strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option %s", arg);
        } else if (what == 'r') {
            a->command = argv + i; /* the program and its own arguments */
            return 0;
        } else if (what == 's' && a->pid_text == NULL) {
            a->pid_text = arg;
        } else {
            return usage_error("unexpected argument %s", arg);
        }
    }
    return 0;
}

/* ---- run ------------------------------------------------------------------ */

/* Every worker runs the same command: the tool's own argv, which lives as
 * long as the process. */
static int
run_spawn(struct se_worker *w, struct se_spawn_cmd *cmd)
{
    cmd->argv = (const char *const *)se_server_user_data(se_worker_server(w));
    return 0;
}

static int
cmd_run(int argc, char **argv)
{
    struct args a = {0};
    int rc = parse(argc, argv, 'r', &a);
    if (rc != 0) return rc;
    if (a.help) return fputs(run_text, stdout) < 0;
    if (a.command == NULL || a.command[0] == NULL)
        return usage_error("run: no program to run%s", "");
    struct se_worker_callbacks wcb = {.spawn = run_spawn};
    int err = 0;
    struct se_engine *e = se_engine_new(NULL, &wcb, a.command, &err);
    struct se_config *defaults = se_config_new();
    char msg[ERR_MAX] = "";
    if (e == NULL || defaults == NULL ||
        se_config_set(defaults, "worker_type", "spawn", msg, sizeof msg) < 0) {
        fprintf(stderr, "serverengine: %s\n", se_strerror(err < 0 ? err : -ENOMEM));
        se_engine_free(e);
        se_config_free(defaults);
        return 1;
    }
    rc = se_engine_configure(e, defaults, a.config_path, a.sets, a.sets_count, msg, sizeof msg);
    se_config_free(defaults);
    if (rc < 0) {
        fprintf(stderr, "serverengine: %s\n", msg[0] != '\0' ? msg : se_strerror(rc));
        se_engine_free(e);
        return EX_CONFIG_;
    }
    int status = se_engine_run(e);
    se_engine_free(e);
    return status;
}

/* ---- signal commands -------------------------------------------------------- */

static int
parse_pid(const char *text, pid_t *pid)
{
    char *end = (char *)text;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == NULL) return -1;
    while (*end == '\n' || *end == ' ' || *end == '\r' || *end == '\t')
        end++;
    if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > 0x3fffffff) return -1;
    *pid = (pid_t)v;
    return 0;
}

static int
read_pid_file(const char *path, pid_t *pid)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        fprintf(stderr, "serverengine: pid file %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (parse_pid(buf, pid) < 0) {
        fprintf(stderr, "serverengine: pid file %s: no pid in it\n", path);
        return 1;
    }
    return 0;
}

static int
cmd_signal(const struct sigcmd *sc, int argc, char **argv)
{
    struct args a = {0};
    int rc = parse(argc, argv, 's', &a);
    if (rc != 0) return rc;
    if (a.help) {
        printf(signal_text, sc->name, sc->sig_immediate ? " [--immediate]" : "",
               sc->sig_immediate ? "USR1 (HUP with --immediate)" : strsignal(sc->sig), sc->what,
               sc->sig_immediate ? "  --immediate             an immediate restart (HUP)\n" : "");
        return 0;
    }
    if (a.immediate && sc->sig_immediate == 0)
        return usage_error("unknown option %s", "--immediate");
    if (a.json) return usage_error("unknown option %s", "--json");
    if ((a.pid_file == NULL) == (a.pid_text == NULL))
        return usage_error("%s: give either -p PIDFILE or a PID", sc->name);
    pid_t pid = 0;
    if (a.pid_text != NULL && parse_pid(a.pid_text, &pid) < 0)
        return usage_error("not a pid: %s", a.pid_text);
    if (a.pid_file != NULL && (rc = read_pid_file(a.pid_file, &pid)) != 0) return rc;
    int sig = a.immediate ? sc->sig_immediate : sc->sig;
    if (kill(pid, sig) < 0) {
        fprintf(stderr, "serverengine: cannot send SIG%s to pid %d: %s\n", sigabbrev_np(sig),
                (int)pid, strerror(errno));
        return 1;
    }
    return 0;
}

/* ---- status ---------------------------------------------------------------- */

static int
cmd_status(int argc, char **argv)
{
    struct args a = {0};
    int rc = parse(argc, argv, 's', &a);
    if (rc != 0) return rc;
    if (a.help) return fputs(status_text, stdout) < 0;
    if (a.immediate) return usage_error("unknown option %s", "--immediate");
    if ((a.pid_file == NULL) == (a.pid_text == NULL))
        return usage_error("status: give either -p PIDFILE or a PID%s", "");
    pid_t pid = 0;
    if (a.pid_text != NULL && parse_pid(a.pid_text, &pid) < 0)
        return usage_error("not a pid: %s", a.pid_text);
    char *text = NULL, err[ERR_MAX] = "";
    rc = se_status_read(a.pid_file, (int)pid, a.json ? SE_STATUS_JSON : 0, &text, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "serverengine: status: %s\n", err[0] != '\0' ? err : se_strerror(rc));
        return 1;
    }
    rc = fputs(text, stdout) < 0 || fflush(stdout) != 0;
    free(text);
    return rc;
}

/* ---- check-config ------------------------------------------------------------ */

/* The keys the top-level mapping of a YAML file sets (for "where from"). */
struct file_keys {
    char *names[FILE_KEYS_MAX];
    size_t count;
};

static void
file_keys_free(struct file_keys *fk)
{
    for (size_t i = 0; i < fk->count; i++)
        free(fk->names[i]);
    fk->count = 0;
}

static void
file_keys_read(const char *path, struct file_keys *fk)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) return;
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int depth = 0;
    bool key_next = true;
    for (bool done = false; !done;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) break;
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 1) key_next = true; /* a value that is a collection */
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT: depth--; break;
        case YAML_SCALAR_EVENT:
            if (depth == 1 && key_next && fk->count < FILE_KEYS_MAX)
                fk->names[fk->count++] = strdup((const char *)ev.data.scalar.value);
            if (depth == 1) key_next = !key_next;
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_ALIAS_EVENT: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(f);
}

static bool
in_file(const struct file_keys *fk, const char *key)
{
    for (size_t i = 0; i < fk->count; i++) {
        if (fk->names[i] != NULL && strcmp(fk->names[i], key) == 0) return true;
    }
    return false;
}

static bool
in_sets(const struct args *a, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < a->sets_count; i++) {
        if (strncmp(a->sets[i], key, len) == 0 && a->sets[i][len] == '=') return true;
    }
    return false;
}

/* A value as a YAML scalar: plain when that reads back as the same text,
 * double-quoted otherwise. Lists ("[3, 4]") are already YAML. */
static void
print_yaml_value(const char *v)
{
    bool plain = v[0] != '\0' && strchr("-?:,[]{}#&*!|>'\"%@` ", v[0]) == NULL;
    for (const char *p = v; plain && *p != '\0'; p++)
        plain = (unsigned char)*p >= 0x20 && *p != '#' && !(p[0] == ':' && p[1] == ' ');
    if (v[0] == '[' || plain) {
        fputs(v, stdout);
        return;
    }
    putchar('"');
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            printf("\\x%02x", (unsigned char)*p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* Validates as `run` would (the engine's own checks included). */
static int
check_as_run(const struct args *a)
{
    struct se_worker_callbacks wcb = {.spawn = run_spawn};
    int err = 0;
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    struct se_config *defaults = se_config_new();
    char msg[ERR_MAX] = "";
    int rc = e == NULL || defaults == NULL ? -ENOMEM : 0;
    if (rc == 0) rc = se_config_set(defaults, "worker_type", "spawn", msg, sizeof msg);
    if (rc == 0)
        rc = se_engine_configure(e, defaults, a->config_path, a->sets, a->sets_count, msg,
                                 sizeof msg);
    se_config_free(defaults);
    se_engine_free(e);
    if (rc == 0) return 0;
    fprintf(stderr, "serverengine: %s\n", msg[0] != '\0' ? msg : se_strerror(rc));
    return EX_CONFIG_;
}

static struct se_config *
effective_config(const struct args *a)
{
    char msg[ERR_MAX] = "";
    struct se_config *cfg = se_config_new();
    if (cfg == NULL) return NULL;
    int rc = se_config_set(cfg, "worker_type", "spawn", msg, sizeof msg);
    if (rc == 0 && a->config_path != NULL)
        rc = se_config_load_yaml(cfg, a->config_path, msg, sizeof msg);
    for (size_t i = 0; rc == 0 && i < a->sets_count; i++)
        rc = se_config_set_kv(cfg, a->sets[i], msg, sizeof msg);
    if (rc == 0) return cfg;
    se_config_free(cfg);
    return NULL;
}

/* signal_dump that no source sets is SIGDUMP_SIGNAL's when it is set
 * (serverengine(3), ENVIRONMENT; check_as_run refused a bad one): true, and
 * its value in value. */
static bool
dump_signal_from_env(struct se_config *cfg, const char *key, char *value, size_t size)
{
    const char *env = getenv("SIGDUMP_SIGNAL");
    if (strcmp(key, "signal_dump") != 0 || env == NULL || env[0] == '\0') return false;
    return se_config_set(cfg, key, env, NULL, 0) == 0 && se_config_get(cfg, key, value, size) >= 0;
}

static int
cmd_check_config(int argc, char **argv)
{
    struct args a = {0};
    int rc = parse(argc, argv, 'c', &a);
    if (rc != 0) return rc;
    if (a.help) return fputs(check_text, stdout) < 0;
    if (a.config_path == NULL) return usage_error("check-config: -c FILE is required%s", "");
    if ((rc = check_as_run(&a)) != 0) return rc;
    struct se_config *cfg = effective_config(&a);
    if (cfg == NULL) return EX_CONFIG_; /* check_as_run would have said why */
    for (size_t i = 0; i < se_config_warning_count(cfg); i++)
        fprintf(stderr, "serverengine: warning: %s\n", se_config_warning(cfg, i));
    struct file_keys fk = {0};
    file_keys_read(a.config_path, &fk);
    printf("# the effective configuration of %s (serverengine %s)\n", a.config_path,
           SE_VERSION_STRING);
    char value[VALUE_MAX];
    for (size_t i = 0; i < se_config_key_count(); i++) {
        const char *key = se_config_key_name(i);
        if (se_config_get(cfg, key, value, sizeof value) < 0) value[0] = '\0';
        const char *from = in_sets(&a, key) ? "set" : in_file(&fk, key) ? "file" : "default";
        if (strcmp(key, "worker_type") == 0 && strcmp(from, "default") == 0) from = "run";
        if (strcmp(from, "default") == 0 && dump_signal_from_env(cfg, key, value, sizeof value))
            from = "env SIGDUMP_SIGNAL";
        printf("%s: ", key);
        print_yaml_value(value);
        printf("  # %s\n", from);
    }
    file_keys_free(&fk);
    se_config_free(cfg);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    if (argc < 2) return usage_error("no command given%s", "");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0)
        return fputs(usage_text, stdout) < 0;
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("serverengine %s\n", SE_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "check-config") == 0) return cmd_check_config(argc - 2, argv + 2);
    if (strcmp(cmd, "status") == 0) return cmd_status(argc - 2, argv + 2);
    for (size_t i = 0; i < sizeof sigcmds / sizeof sigcmds[0]; i++) {
        if (strcmp(cmd, sigcmds[i].name) == 0) return cmd_signal(&sigcmds[i], argc - 2, argv + 2);
    }
    if (cmd[0] == '-') return usage_error("unknown option %s", cmd);
    return usage_error("unknown command %s", cmd);
}
