/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration model: defaults, text parsing and its messages, round
 * trips, user keys and warnings, YAML files, atomic loads, the reload
 * comparison and the command <-> signal maps. Cases are tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define TEXT_MAX 20000 /* the longest formatted value: 16 listen addresses */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const char *
get(const struct se_config *cfg, const char *key, char *buf, size_t size)
{
    int n = se_config_get(cfg, key, buf, size);
    if (n < 0) {
        print_error("se_config_get(%s) = %d\n", key, n);
        fail();
    }
    assert_true((size_t)n < size);
    return buf;
}

static void
assert_get(const struct se_config *cfg, const char *key, const char *want)
{
    char buf[TEXT_MAX];
    get(cfg, key, buf, sizeof buf);
    if (strcmp(buf, want) != 0) {
        print_error("%s: got \"%s\", want \"%s\"\n", key, buf, want);
        fail();
    }
}

static void
assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL) {
        print_error("\"%s\" does not contain \"%s\"\n", text, part);
        fail();
    }
}

/* Every built-in key's text and every user key, one string. */
static char *
snapshot(const struct se_config *cfg)
{
    size_t size = 64 * TEXT_MAX, len = 0;
    char *s = malloc(size);
    assert_non_null(s);
    for (size_t i = 0; i < se_config_key_count(); i++) {
        const char *name = se_config_key_name(i);
        len += (size_t)snprintf(s + len, size - len, "%s=", name);
        len += (size_t)se_config_get(cfg, name, s + len, size - len);
        len += (size_t)snprintf(s + len, size - len, "\n");
    }
    for (size_t i = 0; i < cfg->user_count; i++) {
        len += (size_t)snprintf(s + len, size - len, "user %s=%s\n", cfg->user[i].key,
                                cfg->user[i].value);
    }
    len += (size_t)snprintf(s + len, size - len, "warnings %zu\n", se_config_warning_count(cfg));
    assert_true(len < size);
    return s;
}

static void
assert_same(const char *before, const struct se_config *cfg)
{
    char *after = snapshot(cfg);
    assert_string_equal(before, after);
    free(after);
}

struct tmpdir {
    char path[64];
    char files[8][128];
    size_t count;
};

static void
tmpdir_make(struct tmpdir *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->path, "/tmp/se-test-config-XXXXXX");
    assert_non_null(mkdtemp(t->path));
}

static const char *
tmpdir_file(struct tmpdir *t, const char *name, const char *content)
{
    assert_true(t->count < 8);
    char full[sizeof t->files[0]];
    snprintf(full, sizeof full, "%s/%s", t->path, name);
    char *path = strcpy(t->files[t->count++], full);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
    return path;
}

static void
tmpdir_remove(struct tmpdir *t)
{
    for (size_t i = 0; i < t->count; i++)
        unlink(t->files[i]);
    assert_int_equal(rmdir(t->path), 0);
}

static int
load_string(struct se_config *cfg, const char *yaml, char *err, size_t err_size)
{
    return se_config_load_yaml_string(cfg, yaml, strlen(yaml), err, err_size);
}

/* ------------------------------------------------------------------------ */
/* Defaults and the key table                                               */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *key;
    const char *text;
} defaults[] = {
    {"daemonize", "false"},
    {"pid_path", ""},
    {"supervisor", "false"},
    {"disable_sigdump", "false"},
    {"daemon_process_name", ""},
    {"chuser", ""},
    {"chgroup", ""},
    {"chumask", "nil"},
    {"daemonize_error_exit_code", "1"},
    {"server_process_name", ""},
    {"restart_server_process", "false"},
    {"enable_detach", "true"},
    {"exit_on_detach", "false"},
    {"disable_reload", "false"},
    {"server_restart_wait", "1"},
    {"server_detach_wait", "10"},
    {"worker_type", "embedded"},
    {"workers", "1"},
    {"start_worker_delay", "0"},
    {"start_worker_delay_rand", "0.2"},
    {"restart_worker_interval", "0"},
    {"worker_restart_backoff_max", "10"},
    {"worker_process_name", ""},
    {"worker_heartbeat_interval", "1"},
    {"worker_heartbeat_timeout", "180"},
    {"worker_heartbeat_mode", "auto"},
    {"worker_graceful_kill_interval", "15"},
    {"worker_graceful_kill_interval_increment", "10"},
    {"worker_graceful_kill_timeout", "600"},
    {"worker_immediate_kill_interval", "10"},
    {"worker_immediate_kill_interval_increment", "10"},
    {"worker_immediate_kill_timeout", "600"},
    {"worker_kill_process_group", "true"}, /* new: a worker's process group goes with it */
    {"unrecoverable_exit_codes", "[]"},
    {"stop_immediately_at_unrecoverable_exit", "false"},
    {"worker_reload_signal", "nil"},
    {"command_sender", "signal"},
    {"signal_graceful_stop", "SIGTERM"},
    {"signal_immediate_stop", "SIGQUIT"},
    {"signal_graceful_restart", "SIGUSR1"},
    {"signal_immediate_restart", "SIGHUP"},
    {"signal_reload", "SIGUSR2"},
    {"signal_detach", "SIGINT"},
    {"signal_dump", "SIGCONT"},
    {"log", ""},
    {"log_level", "debug"},
    {"log_format", "ruby"},
    {"log_rotate_age", "5"},
    {"log_rotate_size", "1048576"},
    {"log_stdout", "true"},
    {"log_stderr", "true"},
    {"listen", "[]"},
    {"notify", "true"},
    {"restart_mode", "all"},
    {"socket_manager", "false"},
};

static void
test_config_every_key_has_the_seeds_default(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    for (size_t i = 0; i < SE_ARRAY_LEN(defaults); i++) {
        assert_get(cfg, defaults[i].key, defaults[i].text);
    }
    /* A key added to the table without a row here fails this test. */
    assert_int_equal(se_config_key_count(), SE_ARRAY_LEN(defaults));
    for (size_t i = 0; i < se_config_key_count(); i++) {
        bool found = false;
        for (size_t j = 0; j < SE_ARRAY_LEN(defaults); j++) {
            found |= strcmp(se_config_key_name(i), defaults[j].key) == 0;
        }
        if (!found) print_error("key %s has no default test\n", se_config_key_name(i));
        assert_true(found);
    }
    assert_int_equal(se_config_warning_count(cfg), 0);
    se_config_free(cfg);
}

static void
test_config_defaults_are_stored_in_engine_units(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(cfg->server_restart_wait_ms, 1000);
    assert_int_equal(cfg->server_detach_wait_ms, 10000);
    assert_int_equal(cfg->start_worker_delay_rand_permille, 200);
    assert_int_equal(cfg->worker_heartbeat_timeout_ms, 180000);
    assert_int_equal(cfg->worker_restart_backoff_max_ms, 10000);
    assert_int_equal(cfg->chumask, -1);
    assert_int_equal(cfg->daemonize_error_exit_code, 1);
    assert_int_equal(cfg->worker_type, SE_WORKER_EMBEDDED);
    assert_int_equal(cfg->log_level, SE_LOG_DEBUG);
    assert_int_equal(cfg->log_format, SE_LOG_FORMAT_RUBY);
    assert_int_equal(cfg->log_rotate_size_bytes, 1048576);
    assert_int_equal(cfg->worker_reload_signal, SE_SIG_NONE);
    assert_true(cfg->enable_detach);
    assert_false(cfg->worker_heartbeat_manual);
    assert_false(cfg->command_sender_pipe);
    assert_int_equal(cfg->listen_count, 0);
    se_config_free(cfg);
}

static void
test_config_key_table_has_unique_names_help_and_the_seeds_dynamic_marks(void **state)
{
    (void)state;
    static const char *const dynamic[] = {
        "server_restart_wait",
        "server_detach_wait",
        "workers",
        "start_worker_delay",
        "start_worker_delay_rand",
        "restart_worker_interval",
        "worker_restart_backoff_max",
        "worker_process_name",
        "worker_heartbeat_interval",
        "worker_heartbeat_timeout",
        "worker_heartbeat_mode",
        "worker_graceful_kill_interval",
        "worker_graceful_kill_interval_increment",
        "worker_graceful_kill_timeout",
        "worker_immediate_kill_interval",
        "worker_immediate_kill_interval_increment",
        "worker_immediate_kill_timeout",
        "worker_kill_process_group",
        "log",
        "log_level",
        "log_format",
        "restart_mode", /* new: read when a restart comes */
    };
    size_t n = se_config_key_count();
    for (size_t i = 0; i < n; i++) {
        const char *name = se_config_key_name(i);
        assert_non_null(name);
        assert_true(strlen(se_config_key_help(i)) > 10);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(name, se_config_key_name(j));
        bool want = false;
        for (size_t j = 0; j < SE_ARRAY_LEN(dynamic); j++)
            want |= strcmp(name, dynamic[j]) == 0;
        if (want != se_config_key_dynamic(i)) print_error("%s: dynamic flag\n", name);
        assert_true(want == se_config_key_dynamic(i));
    }
    assert_null(se_config_key_name(n));
    assert_null(se_config_key_help(n));
    assert_false(se_config_key_dynamic(n));
}

/* ------------------------------------------------------------------------ */
/* Values from text                                                         */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *key;
    const char *value;
    const char *want; /* se_config_get afterwards */
} accepted[] = {
    {"daemonize", "YES", "true"},
    {"daemonize", "on", "true"},
    {"daemonize", "1", "true"},
    {"enable_detach", "Off", "false"},
    {"enable_detach", "no", "false"},
    {"notify", "0", "false"},
    {"workers", "0", "0"},
    {"workers", "1024", "1024"},
    {"daemonize_error_exit_code", "255", "255"},
    {"log_rotate_size", "9223372036854775807", "9223372036854775807"},
    {"server_restart_wait", "0.5", "0.5"},
    {"server_restart_wait", "15", "15"},
    {"server_restart_wait", "1e-3", "0.001"},
    {"server_restart_wait", ".25", "0.25"},
    {"server_restart_wait", "1.5E2", "150"},
    {"server_restart_wait", "0.0004", "0"},
    {"server_restart_wait", "0.0005", "0.001"},
    {"server_restart_wait", "315360000", "315360000"},
    {"worker_heartbeat_timeout", "-1", "-1"},
    {"worker_graceful_kill_timeout", "-1.0", "-1"},
    {"worker_immediate_kill_timeout", "0", "0"},
    {"start_worker_delay_rand", "1", "1"},
    {"start_worker_delay_rand", "0.05", "0.05"},
    {"worker_type", "PROCESS", "process"},
    {"worker_type", "spawn", "spawn"},
    {"log_level", "Warn", "warn"},
    {"log_format", "JSON", "json"},
    {"log_format", "journal", "journal"},
    {"worker_heartbeat_mode", "manual", "manual"},
    {"command_sender", "pipe", "pipe"},
    {"chumask", "022", "0022"},
    {"chumask", "0027", "0027"},
    {"chumask", "0", "0000"},
    {"chumask", "777", "0777"},
    {"chumask", "nil", "nil"},
    {"worker_reload_signal", "USR2", "SIGUSR2"},
    {"worker_reload_signal", "sighup", "SIGHUP"},
    {"worker_reload_signal", "~", "nil"},
    {"worker_reload_signal", "", "nil"},
    {"worker_reload_signal", "null", "nil"},
    {"signal_dump", "WINCH", "SIGWINCH"},
    {"signal_reload", "28", "SIGWINCH"},
    {"unrecoverable_exit_codes", "[3, 4]", "[3, 4]"},
    {"unrecoverable_exit_codes", "4,3", "[3, 4]"},
    {"unrecoverable_exit_codes", "3 4 255 0", "[0, 3, 4, 255]"},
    {"unrecoverable_exit_codes", " [ 7 ,8 ] ", "[7, 8]"},
    {"unrecoverable_exit_codes", "[]", "[]"},
    {"unrecoverable_exit_codes", "", "[]"},
    {"listen", "tcp://0.0.0.0:80", "[tcp://0.0.0.0:80]"},
    {"listen", "[udp://[::1]:53, unix:/run/a.sock]", "[udp://[::1]:53, unix:/run/a.sock]"},
    {"listen", "tcp://example.com:0 tcp://localhost:65535",
     "[tcp://example.com:0, tcp://localhost:65535]"},
    {"listen", "[\"tcp://a:1\", 'tcp://b:2']", "[tcp://a:1, tcp://b:2]"},
    {"log", "-", "-"},
    {"worker_process_name", "worker-%d", "worker-%d"},
    {"worker_process_name", "w%02d (100%%)", "w%02d (100%%)"},
    {"worker_process_name", "%-3u", "%-3u"},
    {"worker_process_name", "plain", "plain"},
};

static void
test_config_accepts_valid_text_and_formats_it_back(void **state)
{
    (void)state;
    char err[512];
    for (size_t i = 0; i < SE_ARRAY_LEN(accepted); i++) {
        struct se_config *cfg = se_config_new();
        assert_non_null(cfg);
        int rc = se_config_set(cfg, accepted[i].key, accepted[i].value, err, sizeof err);
        if (rc != 0) print_error("%s=%s: %s\n", accepted[i].key, accepted[i].value, err);
        assert_int_equal(rc, 0);
        assert_string_equal(err, "");
        assert_get(cfg, accepted[i].key, accepted[i].want);
        assert_int_equal(se_config_warning_count(cfg), 0);
        se_config_free(cfg);
    }
}

static void
test_config_seconds_and_ratios_are_stored_rounded_to_thousandths(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_set(cfg, "worker_heartbeat_interval", "0.0015", NULL, 0), 0);
    assert_int_equal(cfg->worker_heartbeat_interval_ms, 2);
    assert_int_equal(se_config_set(cfg, "worker_heartbeat_timeout", "-1", NULL, 0), 0);
    assert_int_equal(cfg->worker_heartbeat_timeout_ms, -1);
    assert_int_equal(se_config_set(cfg, "start_worker_delay_rand", "0.3333", NULL, 0), 0);
    assert_int_equal(cfg->start_worker_delay_rand_permille, 333);
    assert_int_equal(se_config_set(cfg, "unrecoverable_exit_codes", "[0, 9, 255]", NULL, 0), 0);
    assert_true(se__config_unrecoverable(cfg, 0));
    assert_true(se__config_unrecoverable(cfg, 9));
    assert_true(se__config_unrecoverable(cfg, 255));
    assert_false(se__config_unrecoverable(cfg, 8));
    assert_int_equal(se_config_set(cfg, "listen", "tcp://h:1,unix:/x", NULL, 0), 0);
    assert_int_equal(cfg->listen_count, 2);
    assert_string_equal(cfg->listen[1], "unix:/x");
    se_config_free(cfg);
}

static const struct {
    const char *key;
    const char *value;
    const char *expected; /* the part of the message after the value */
} rejected[] = {
    {"workers", "-3", "expected an integer from 0 to 1024"},
    {"worker_type", "proces", "expected one of embedded, thread, process, spawn"},
    /* bool */
    {"daemonize", "maybe", "expected true or false"},
    {"notify", "", "expected true or false"},
    {"daemonize", "true ", "expected true or false"},
    /* int: range, junk, overflow, not whole */
    {"workers", "1025", "expected an integer from 0 to 1024"},
    {"workers", "4x", "expected an integer from 0 to 1024"},
    {"workers", " 4", "expected an integer from 0 to 1024"},
    {"workers", "4.0", "expected an integer from 0 to 1024"},
    {"workers", "+4", "expected an integer from 0 to 1024"},
    {"workers", "0x10", "expected an integer from 0 to 1024"},
    {"workers", "", "expected an integer from 0 to 1024"},
    {"log_rotate_size", "0", "expected an integer of at least 1"},
    {"log_rotate_size", "9223372036854775808", "expected an integer of at least 1"},
    {"log_rotate_age", "1001", "expected an integer from 0 to 1000"},
    {"daemonize_error_exit_code", "256", "expected an integer from 0 to 255"},
    /* seconds */
    {"server_restart_wait", "inf", "expected a number of seconds from 0 to 315360000"},
    {"server_restart_wait", "nan", "expected a number of seconds"},
    {"server_restart_wait", "-0.5", "expected a number of seconds"},
    {"server_restart_wait", "315360000.001", "expected a number of seconds"},
    {"server_restart_wait", "1e400", "expected a number of seconds"},
    {"server_restart_wait", "1s", "expected a number of seconds"},
    {"server_restart_wait", "0x1p3", "expected a number of seconds"},
    {"server_restart_wait", "1e", "expected a number of seconds"},
    {"server_restart_wait", ".", "expected a number of seconds"},
    /* -1 only where "-1 means no timeout" */
    {"worker_graceful_kill_interval", "-1", "expected a number of seconds from 0 to 315360000"},
    {"workers", "-1", "expected an integer from 0 to 1024"},
    {"worker_heartbeat_timeout", "-2", "or -1 for no timeout"},
    {"worker_heartbeat_timeout", "-1.5", "or -1 for no timeout"},
    {"worker_heartbeat_timeout", "0", "greater than 0"},
    {"worker_heartbeat_interval", "0", "greater than 0"},
    {"worker_heartbeat_interval", "0.0001", "greater than 0"},
    /* ratio */
    {"start_worker_delay_rand", "1.5", "expected a ratio from 0 to 1"},
    {"start_worker_delay_rand", "-0.1", "expected a ratio from 0 to 1"},
    /* enum */
    {"log_level", "verbose", "expected one of trace, debug, info, warn, error, fatal"},
    {"log_format", "syslog", "expected one of ruby, journal, json"},
    {"worker_heartbeat_mode", "auto ", "expected one of auto, manual"},
    {"command_sender", "socket", "expected one of signal, pipe"},
    /* signal */
    {"signal_graceful_stop", "TERMINATE", "expected a signal name or number"},
    {"signal_graceful_stop", "KILL", "that can be caught"},
    {"signal_detach", "SIGSTOP", "that can be caught"},
    {"signal_dump", "9", "that can be caught"},
    {"signal_reload", "CHLD", "nor CHLD"},
    {"signal_reload", "nil", "expected a signal name or number"},
    {"worker_reload_signal", "KILL", "or nil for none"},
    {"worker_reload_signal", "64", "expected a signal name or number"},
    /* umask */
    {"chumask", "18", "expected an octal umask from 0 to 0777"},
    {"chumask", "1000", "expected an octal umask"},
    {"chumask", "-1", "expected an octal umask"},
    /* lists */
    {"unrecoverable_exit_codes", "256", "expected a list of exit codes from 0 to 255"},
    {"unrecoverable_exit_codes", "x", "expected a list of exit codes"},
    {"unrecoverable_exit_codes", "-1", "expected a list of exit codes"},
    {"unrecoverable_exit_codes", "3,,4", "expected a list of exit codes"},
    {"unrecoverable_exit_codes", "3,", "expected a list of exit codes"},
    {"unrecoverable_exit_codes", "[3, 4", "expected a list of exit codes"},
    {"listen", "tcp://0.0.0.0", "expected a list of at most 16 addresses"},
    {"listen", "tcp://0.0.0.0:65536", "expected a list of at most 16 addresses"},
    {"listen", "tcp://256.0.0.1:80", "expected a list"},
    {"listen", "tcp://[::1:80", "expected a list"},
    {"listen", "tcp://[zz::1]:80", "expected a list"},
    {"listen", "tcp://::1:80", "expected a list"},
    {"listen", "tcp://:80", "expected a list"},
    {"listen", "tcp://a..b:80", "expected a list"},
    {"listen", "http://a:80", "expected a list"},
    {"listen", "unix:relative.sock", "expected a list"},
    {"listen", "sctp://a:1", "expected a list"},
    {"listen", "tcp://a:1 tcp://a:1", "expected each address only once"},
    /* strings */
    {"worker_process_name", "w%s", "with at most one %d"},
    {"worker_process_name", "w%n", "with at most one %d"},
    {"worker_process_name", "%d-%d", "with at most one %d"},
    {"worker_process_name", "%ld", "with at most one %d"},
    {"worker_process_name", "%*d", "with at most one %d"},
    {"worker_process_name", "%.3d", "with at most one %d"},
    {"worker_process_name", "%123d", "with at most one %d"},
    {"worker_process_name", "100%", "with at most one %d"},
};

static void
test_config_rejects_bad_values_naming_key_value_and_expectation(void **state)
{
    (void)state;
    char err[1024], want[512];
    for (size_t i = 0; i < SE_ARRAY_LEN(rejected); i++) {
        struct se_config *cfg = se_config_new();
        assert_non_null(cfg);
        char *before = snapshot(cfg);
        int rc = se_config_set(cfg, rejected[i].key, rejected[i].value, err, sizeof err);
        if (rc != SE_ECONFIG) print_error("%s=%s accepted\n", rejected[i].key, rejected[i].value);
        assert_int_equal(rc, SE_ECONFIG);
        snprintf(want, sizeof want, "%s: invalid value ", rejected[i].key);
        assert_true(strncmp(err, want, strlen(want)) == 0);
        assert_contains(err, rejected[i].expected);
        assert_same(before, cfg);
        free(before);
        se_config_free(cfg);
    }
}

static void
test_config_messages_quote_the_offending_value(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *message;
    } cases[] = {
        {"workers", "-3", "workers: invalid value \"-3\": expected an integer from 0 to 1024"},
        {"worker_type", "proces",
         "worker_type: invalid value \"proces\": expected one of embedded, thread, process, "
         "spawn"},
        {"unrecoverable_exit_codes", "[3, x]",
         "unrecoverable_exit_codes: invalid value \"x\": expected a list of exit codes from 0 to "
         "255, like [3, 4]"},
        {"log_level", "a\"b\n",
         "log_level: invalid value \"a\\\"b\\x0a\": expected one of trace, debug, info, warn, "
         "error, fatal"},
    };
    char err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    for (size_t i = 0; i < SE_ARRAY_LEN(cases); i++) {
        assert_int_equal(se_config_set(cfg, cases[i].key, cases[i].value, err, sizeof err),
                         SE_ECONFIG);
        assert_string_equal(err, cases[i].message);
    }
    se_config_free(cfg);
}

static void
test_config_string_longer_than_its_field_is_rejected_and_echo_is_shortened(void **state)
{
    (void)state;
    char value[SE_PATH_MAX + 1], err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    memset(value, 'a', SE_PATH_MAX);
    value[SE_PATH_MAX] = '\0';
    assert_int_equal(se_config_set(cfg, "pid_path", value, err, sizeof err), SE_ECONFIG);
    assert_contains(err, "pid_path: invalid value \"aaaa");
    assert_contains(err, "...\": expected a text of at most 1023 bytes");
    assert_true(strlen(err) < 200);
    value[SE_PATH_MAX - 1] = '\0';
    assert_int_equal(se_config_set(cfg, "pid_path", value, err, sizeof err), 0);
    value[SE_NAME_MAX] = '\0';
    assert_int_equal(se_config_set(cfg, "chuser", value, err, sizeof err), SE_ECONFIG);
    assert_contains(err, "expected a text of at most 255 bytes");
    se_config_free(cfg);
}

static void
test_config_listen_accepts_at_most_sixteen_addresses(void **state)
{
    (void)state;
    char text[1024], err[512];
    size_t len = 0;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    for (int i = 0; i < 16; i++)
        len += (size_t)sprintf(text + len, "tcp://h:%d ", i + 1);
    assert_int_equal(se_config_set(cfg, "listen", text, err, sizeof err), 0);
    assert_int_equal(cfg->listen_count, 16);
    sprintf(text + len, "tcp://h:17");
    assert_int_equal(se_config_set(cfg, "listen", text, err, sizeof err), SE_ECONFIG);
    assert_contains(err, "listen: too many items");
    assert_int_equal(cfg->listen_count, 16);
    se_config_free(cfg);
}

static void
test_config_logger_class_is_rejected_as_unsupported(void **state)
{
    (void)state;
    char err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_set(cfg, "logger_class", "MyLogger", err, sizeof err), SE_ECONFIG);
    assert_contains(err, "logger_class: not supported");
    assert_int_equal(se_config_get(cfg, "logger_class", NULL, 0), SE_EUNKNOWN);
    assert_int_equal(se_config_warning_count(cfg), 0);
    se_config_free(cfg);
}

/* Values that differ from every default, to round-trip non-trivial text. */
static const struct {
    const char *key, *value;
} non_defaults[] = {
    {"daemonize", "true"},
    {"pid_path", "/run/x.pid"},
    {"chumask", "027"},
    {"server_restart_wait", "0.125"},
    {"worker_type", "process"},
    {"workers", "7"},
    {"start_worker_delay_rand", "0.75"},
    {"worker_process_name", "w-%03d"},
    {"worker_heartbeat_timeout", "-1"},
    {"worker_heartbeat_mode", "manual"},
    {"unrecoverable_exit_codes", "[1, 2, 200]"},
    {"worker_reload_signal", "SIGWINCH"},
    {"command_sender", "pipe"},
    {"signal_graceful_stop", "SIGPWR"},
    {"signal_reload", "SIGTTIN"},
    {"log_level", "fatal"},
    {"log_format", "json"},
    {"listen", "[tcp://[2001:db8::1]:8080, udp://10.0.0.1:53, unix:/tmp/s]"},
};

static void
round_trip_all(const struct se_config *cfg)
{
    char text[TEXT_MAX], again[TEXT_MAX], err[512];
    for (size_t i = 0; i < se_config_key_count(); i++) {
        const char *name = se_config_key_name(i);
        struct se_config *copy = se_config_dup(cfg);
        assert_non_null(copy);
        get(cfg, name, text, sizeof text);
        int rc = se_config_set(copy, name, text, err, sizeof err);
        if (rc != 0) print_error("%s=%s: %s\n", name, text, err);
        assert_int_equal(rc, 0);
        get(copy, name, again, sizeof again);
        assert_string_equal(text, again);
        assert_int_equal(memcmp(copy, cfg, offsetof(struct se_config, user)), 0);
        se_config_free(copy);
    }
}

static void
test_config_every_key_round_trips_from_get_to_set(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    round_trip_all(cfg);
    for (size_t i = 0; i < SE_ARRAY_LEN(non_defaults); i++) {
        assert_int_equal(se_config_set(cfg, non_defaults[i].key, non_defaults[i].value, NULL, 0),
                         0);
    }
    round_trip_all(cfg);
    se_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Cross-key checks                                                         */
/* ------------------------------------------------------------------------ */

static void
test_config_two_actions_on_one_signal_are_rejected_naming_both_keys(void **state)
{
    (void)state;
    char err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    char *before = snapshot(cfg);
    assert_int_equal(se_config_set(cfg, "signal_detach", "TERM", err, sizeof err), SE_ECONFIG);
    assert_string_equal(err, "signal_graceful_stop and signal_detach: both are SIGTERM: "
                             "expected a different signal for each action");
    assert_same(before, cfg);
    /* Swapping two signals in one file is fine: checked after the whole file. */
    assert_int_equal(
        load_string(cfg, "signal_detach: TERM\nsignal_graceful_stop: INT\n", err, sizeof err), 0);
    assert_get(cfg, "signal_detach", "SIGTERM");
    assert_get(cfg, "signal_graceful_stop", "SIGINT");
    /* The reload signal of spawned workers is not an action of ours. */
    assert_int_equal(se_config_set(cfg, "worker_reload_signal", "TERM", err, sizeof err), 0);
    free(before);
    se_config_free(cfg);
}

static void
test_config_commands_map_to_signals_and_back(void **state)
{
    (void)state;
    static const struct {
        enum se_cmd cmd;
        enum se_sig sig;
    } map[] = {
        {SE_CMD_GRACEFUL_STOP, SE_SIG_TERM},
        {SE_CMD_IMMEDIATE_STOP, SE_SIG_QUIT},
        {SE_CMD_GRACEFUL_RESTART, SE_SIG_USR1},
        {SE_CMD_IMMEDIATE_RESTART, SE_SIG_HUP},
        {SE_CMD_RELOAD, SE_SIG_USR2},
        {SE_CMD_DETACH, SE_SIG_INT},
        {SE_CMD_DUMP, SE_SIG_CONT},
    };
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    for (size_t i = 0; i < SE_ARRAY_LEN(map); i++) {
        assert_int_equal(se__config_cmd_signal(cfg, map[i].cmd), map[i].sig);
        assert_int_equal(se__config_signal_cmd(cfg, map[i].sig), map[i].cmd);
    }
    assert_int_equal(se__config_cmd_signal(cfg, SE_CMD_NONE), SE_SIG_NONE);
    assert_int_equal(se__config_signal_cmd(cfg, SE_SIG_NONE), SE_CMD_NONE);
    assert_int_equal(se__config_signal_cmd(cfg, SE_SIG_WINCH), SE_CMD_NONE);
    assert_int_equal(se_config_set(cfg, "signal_dump", "WINCH", NULL, 0), 0);
    assert_int_equal(se__config_signal_cmd(cfg, SE_SIG_WINCH), SE_CMD_DUMP);
    assert_int_equal(se__config_signal_cmd(cfg, SE_SIG_CONT), SE_CMD_NONE);
    assert_int_equal(se__config_cmd_signal(cfg, SE_CMD_DUMP), SE_SIG_WINCH);
    se_config_free(cfg);
}

static void
test_config_static_changes_lists_non_dynamic_keys_only(void **state)
{
    (void)state;
    char names[256];
    struct se_config *a = se_config_new();
    assert_non_null(a);
    struct se_config *b = se_config_dup(a);
    assert_non_null(b);
    assert_int_equal(se__config_static_changes(a, b, names, sizeof names), 0);
    assert_string_equal(names, "");
    assert_int_equal(se_config_set(b, "workers", "5", NULL, 0), 0);
    assert_int_equal(se_config_set(b, "log_level", "info", NULL, 0), 0);
    assert_int_equal(se_config_set(b, "message", "hello", NULL, 0), 0);
    assert_int_equal(se__config_static_changes(a, b, names, sizeof names), 0);
    assert_int_equal(se_config_set(b, "daemonize", "true", NULL, 0), 0);
    assert_int_equal(se__config_static_changes(a, b, names, sizeof names), 1);
    assert_string_equal(names, "daemonize");
    assert_int_equal(se_config_set(b, "listen", "unix:/s", NULL, 0), 0);
    assert_int_equal(se_config_set(b, "unrecoverable_exit_codes", "3", NULL, 0), 0);
    assert_int_equal(se_config_set(b, "pid_path", "/p", NULL, 0), 0);
    assert_int_equal(se__config_static_changes(a, b, names, sizeof names), 4);
    assert_string_equal(names, "daemonize, pid_path, unrecoverable_exit_codes, listen");
    assert_int_equal(se__config_static_changes(a, b, names, 10), 4); /* truncated, counted */
    assert_string_equal(names, "daemonize");
    assert_int_equal(se__config_static_changes(a, b, NULL, 0), 4);
    se_config_free(a);
    se_config_free(b);
}

/* A reload that changes every key read only at the start: the list names
 * them all, whole, in a buffer of SE_CONFIG_STATIC_NAMES_MAX (the driver's). */
static void
test_config_static_changes_of_every_static_key_fit_the_names_buffer(void **state)
{
    (void)state;
    static const char *const values[] = {"true",    "false",   "7",         "2",       "0.5",
                                         "/x",      "unix:/s", "3",         "spawn",   "x",
                                         "pipe",    "daily",   "1048576",   "0077",    "root",
                                         "SIGTTIN", "SIGTTOU", "SIGPWR",    "SIGSYS",  "SIGURG",
                                         "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGSTKFLT"};
    struct se_config *a = se_config_new();
    struct se_config *b = se_config_dup(a);
    assert_non_null(a);
    assert_non_null(b);
    size_t statics = 0, changed = 0;
    for (size_t i = 0; i < se_config_key_count(); i++) {
        if (se_config_key_dynamic(i)) continue;
        statics++;
        for (size_t v = 0; v < SE_ARRAY_LEN(values); v++) {
            struct se_config *c = se_config_dup(b);
            assert_non_null(c);
            if (se_config_set(c, se_config_key_name(i), values[v], NULL, 0) == 0 &&
                se__config_static_changes(a, c, NULL, 0) == changed + 1) {
                se_config_free(b);
                b = c;
                changed++;
                break;
            }
            se_config_free(c);
        }
    }
    if (changed != statics) { /* say which: a value to add to the list above */
        char got[SE_CONFIG_STATIC_NAMES_MAX];
        se__config_static_changes(a, b, got, sizeof got);
        print_error("changed: %s\n", got);
    }
    assert_int_equal(changed, statics); /* every one of them changed */
    /* the whole list: every such name, ", " between them */
    size_t whole = 0;
    for (size_t i = 0; i < se_config_key_count(); i++) {
        if (!se_config_key_dynamic(i)) whole += (whole > 0 ? 2 : 0) + strlen(se_config_key_name(i));
    }
    char names[SE_CONFIG_STATIC_NAMES_MAX];
    assert_true(whole < sizeof names);
    assert_int_equal(se__config_static_changes(a, b, names, sizeof names), statics);
    assert_int_equal(strlen(names), whole);
    for (size_t i = 0; i < se_config_key_count(); i++) {
        if (!se_config_key_dynamic(i)) assert_non_null(strstr(names, se_config_key_name(i)));
    }
    se_config_free(a);
    se_config_free(b);
}

/* ------------------------------------------------------------------------ */
/* User keys, set_kv, typed getters, dup                                    */
/* ------------------------------------------------------------------------ */

static void
test_config_unknown_key_is_kept_for_user_code_with_one_warning_and_a_suggestion(void **state)
{
    (void)state;
    char err[512], buf[64];
    int64_t n = 0;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_set(cfg, "wrokers", "3", err, sizeof err), 0);
    assert_int_equal(se_config_warning_count(cfg), 1);
    assert_string_equal(se_config_warning(cfg, 0),
                        "unknown key \"wrokers\" (kept for user code); did you mean \"workers\"?");
    assert_int_equal(se_config_get(cfg, "wrokers", buf, sizeof buf), 1);
    assert_string_equal(buf, "3");
    assert_int_equal(se_config_get_int(cfg, "wrokers", &n), 0);
    assert_int_equal(n, 3);
    assert_get(cfg, "workers", "1");
    /* Replaced, not duplicated; warned once. */
    assert_int_equal(se_config_set(cfg, "wrokers", "4", err, sizeof err), 0);
    assert_int_equal(se_config_warning_count(cfg), 1);
    assert_get(cfg, "wrokers", "4");
    assert_int_equal(cfg->user_count, 1);
    /* Far from every key: no suggestion. */
    assert_int_equal(se_config_set(cfg, "message", "Awesome work!", err, sizeof err), 0);
    assert_string_equal(se_config_warning(cfg, 1), "unknown key \"message\" (kept for user code)");
    assert_int_equal(se_config_set(cfg, "Log_Levle", "x", err, sizeof err), 0);
    assert_string_equal(se_config_warning(cfg, 2),
                        "unknown key \"Log_Levle\" (kept for user code); did you mean "
                        "\"log_level\"?");
    assert_null(se_config_warning(cfg, 3));
    assert_int_equal(se_config_set(cfg, "", "x", err, sizeof err), SE_ECONFIG);
    assert_contains(err, "empty key");
    se_config_free(cfg);
}

static void
test_config_set_kv_splits_at_the_first_equals_sign(void **state)
{
    (void)state;
    static const struct {
        const char *kv;
        int rc;
        const char *key, *want; /* on success */
        const char *message;    /* on failure, a part of it */
    } cases[] = {
        {"workers=4", 0, "workers", "4", NULL},
        {"message=a=b", 0, "message", "a=b", NULL},
        {"log=", 0, "log", "", NULL},
        {"sleep=", 0, "sleep", "", NULL},
        {"workers", SE_ECONFIG, NULL, NULL, "invalid setting \"workers\": expected KEY=VALUE"},
        {"=4", SE_ECONFIG, NULL, NULL, "the key before '=' is empty"},
        {"", SE_ECONFIG, NULL, NULL, "expected KEY=VALUE"},
        {"workers=-3", SE_ECONFIG, NULL, NULL,
         "workers: invalid value \"-3\": expected an integer from 0 to 1024"},
    };
    char err[512];
    for (size_t i = 0; i < SE_ARRAY_LEN(cases); i++) {
        struct se_config *cfg = se_config_new();
        assert_non_null(cfg);
        assert_int_equal(se_config_set_kv(cfg, cases[i].kv, err, sizeof err), cases[i].rc);
        if (cases[i].rc == 0) {
            assert_get(cfg, cases[i].key, cases[i].want);
        } else {
            assert_contains(err, cases[i].message);
        }
        se_config_free(cfg);
    }
}

static void
test_config_set_kv_rejects_an_overlong_key(void **state)
{
    (void)state;
    char kv[SE_NAME_MAX + 8], err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    memset(kv, 'k', SE_NAME_MAX);
    strcpy(kv + SE_NAME_MAX, "=1");
    assert_int_equal(se_config_set_kv(cfg, kv, err, sizeof err), SE_ECONFIG);
    assert_contains(err, "key too long");
    kv[SE_NAME_MAX - 1] = '=';
    assert_int_equal(se_config_set_kv(cfg, kv, err, sizeof err), 0);
    se_config_free(cfg);
}

static void
test_config_typed_getters_read_user_and_built_in_keys(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_set(cfg, "sleep", "0.25", NULL, 0), 0);
    assert_int_equal(se_config_set(cfg, "port", "9071", NULL, 0), 0);
    assert_int_equal(se_config_set(cfg, "verbose", "Yes", NULL, 0), 0);
    assert_int_equal(se_config_set(cfg, "ratio", "-1.5e1", NULL, 0), 0);
    int64_t n = 42;
    double d = 42;
    bool b = false;
    assert_int_equal(se_config_get_int(cfg, "port", &n), 0);
    assert_int_equal(n, 9071);
    assert_int_equal(se_config_get_int(cfg, "workers", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(se_config_get_double(cfg, "sleep", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(se_config_get_double(cfg, "ratio", &d), 0);
    assert_true(d == -15.0);
    assert_int_equal(se_config_get_double(cfg, "start_worker_delay_rand", &d), 0);
    assert_true(d == 0.2);
    assert_int_equal(se_config_get_bool(cfg, "verbose", &b), 0);
    assert_true(b);
    assert_int_equal(se_config_get_bool(cfg, "enable_detach", &b), 0);
    assert_true(b);
    /* Wrong type or absent: out untouched. */
    n = 42;
    d = 42;
    b = false;
    assert_int_equal(se_config_get_int(cfg, "sleep", &n), SE_ECONFIG);
    assert_int_equal(se_config_get_int(cfg, "daemonize", &n), SE_ECONFIG);
    assert_int_equal(se_config_get_double(cfg, "verbose", &d), SE_ECONFIG);
    assert_int_equal(se_config_get_bool(cfg, "port", &b), SE_ECONFIG);
    assert_int_equal(se_config_get_int(cfg, "pid_path", &n), SE_ECONFIG);
    assert_int_equal(se_config_get_int(cfg, "absent", &n), SE_EUNKNOWN);
    assert_int_equal(se_config_get_double(cfg, "absent", &d), SE_EUNKNOWN);
    assert_int_equal(se_config_get_bool(cfg, "absent", &b), SE_EUNKNOWN);
    assert_int_equal(n, 42);
    assert_true(d == 42);
    assert_false(b);
    assert_int_equal(se_config_get(cfg, "absent", NULL, 0), SE_EUNKNOWN);
    se_config_free(cfg);
}

static void
test_config_get_reports_the_full_length_like_snprintf(void **state)
{
    (void)state;
    char buf[4];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_get(cfg, "worker_type", buf, sizeof buf), 8);
    assert_string_equal(buf, "emb");
    assert_int_equal(se_config_get(cfg, "worker_type", NULL, 0), 8);
    assert_int_equal(se_config_set(cfg, "message", "hello", NULL, 0), 0);
    assert_int_equal(se_config_get(cfg, "message", buf, sizeof buf), 5);
    assert_string_equal(buf, "hel");
    se_config_free(cfg);
}

static void
test_config_dup_copies_user_keys_and_warnings_deeply(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_set(cfg, "message", "one", NULL, 0), 0);
    assert_int_equal(se_config_set(cfg, "workers", "3", NULL, 0), 0);
    struct se_config *copy = se_config_dup(cfg);
    assert_non_null(copy);
    char *before = snapshot(cfg);
    assert_same(before, copy);
    assert_int_equal(se_config_set(cfg, "message", "two", NULL, 0), 0);
    assert_int_equal(se_config_set(cfg, "other", "x", NULL, 0), 0);
    assert_same(before, copy);
    assert_get(copy, "message", "one");
    assert_string_equal(se_config_warning(copy, 0), se_config_warning(cfg, 0));
    assert_ptr_not_equal(se_config_warning(copy, 0), se_config_warning(cfg, 0));
    free(before);
    se_config_free(cfg);
    se_config_free(copy);
    se_config_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* YAML                                                                     */
/* ------------------------------------------------------------------------ */

static void
test_config_yaml_file_applies_keys_and_keeps_unknown_ones(void **state)
{
    (void)state;
    struct tmpdir t;
    char err[512];
    tmpdir_make(&t);
    const char *path = tmpdir_file(&t, "config.yml",
                                   "# a comment\n"
                                   "worker_type: process\n"
                                   "workers: 4\n"
                                   "daemonize: yes\n"
                                   "worker_heartbeat_interval: 0.5\n"
                                   "wrokers: 9\n"
                                   "message: 'Awesome work!'\n"
                                   "log_level: info\n"
                                   "log_level: warn\n");
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_load_yaml(cfg, path, err, sizeof err), 0);
    assert_get(cfg, "worker_type", "process");
    assert_get(cfg, "workers", "4");
    assert_get(cfg, "daemonize", "true");
    assert_int_equal(cfg->worker_heartbeat_interval_ms, 500);
    assert_get(cfg, "log_level", "warn"); /* later duplicates win */
    assert_get(cfg, "wrokers", "9");
    assert_get(cfg, "message", "Awesome work!");
    /* the duplicate is named (with both lines), then the unknown keys */
    assert_int_equal(se_config_warning_count(cfg), 3);
    assert_contains(se_config_warning(cfg, 0),
                    "config.yml: key \"log_level\" is given twice (lines 8 and 9)");
    assert_string_equal(se_config_warning(cfg, 1),
                        "unknown key \"wrokers\" (kept for user code); did you mean \"workers\"?");
    se_config_free(cfg);
    tmpdir_remove(&t);
}

static void
test_config_yaml_sequences_fill_list_keys_and_user_keys(void **state)
{
    (void)state;
    char err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(load_string(cfg,
                                 "unrecoverable_exit_codes: [3, 4]\n"
                                 "listen:\n"
                                 "  - tcp://0.0.0.0:9071\n"
                                 "  - \"unix:/run/my server.sock\"\n"
                                 "hosts: [a, b c]\n"
                                 "empty: []\n",
                                 err, sizeof err),
                     SE_ECONFIG);
    assert_contains(err, "<string>:4:5: listen: invalid value \"unix:/run/my server.sock\"");
    assert_int_equal(load_string(cfg,
                                 "unrecoverable_exit_codes: [3, 4]\n"
                                 "listen:\n"
                                 "  - tcp://0.0.0.0:9071\n"
                                 "  - unix:/run/my.sock\n"
                                 "hosts: [a, b c]\n"
                                 "empty: []\n",
                                 err, sizeof err),
                     0);
    assert_get(cfg, "unrecoverable_exit_codes", "[3, 4]");
    assert_get(cfg, "listen", "[tcp://0.0.0.0:9071, unix:/run/my.sock]");
    assert_get(cfg, "hosts", "[a, b c]");
    assert_get(cfg, "empty", "[]");
    assert_int_equal(load_string(cfg, "unrecoverable_exit_codes: []\n", err, sizeof err), 0);
    assert_get(cfg, "unrecoverable_exit_codes", "[]");
    se_config_free(cfg);
}

static const struct {
    const char *yaml;
    int rc;
    const char *message; /* a part of it */
} yaml_errors[] = {
    {"workers: 2\nlog_level: [debug\n", SE_EPARSE, "<string>:3:1: "},
    {"workers: 2\n  bad indent: 1\n", SE_EPARSE, "<string>:2:"},
    {"a: 'unclosed\n", SE_EPARSE, "<string>:2:1: found unexpected end of stream"},
    {"workers: 2\nworkers: -3\n", SE_ECONFIG,
     "<string>:2:10: workers: invalid value \"-3\": expected an integer from 0 to 1024"},
    {"workers:\n  nested: 1\n", SE_ECONFIG,
     "<string>:2:3: workers: a nested mapping is not allowed: expected an integer"},
    {"message:\n  nested: 1\n", SE_ECONFIG, "\"message\": a nested mapping is not allowed"},
    {"workers: [1, 2]\n", SE_ECONFIG, "workers: a list is not allowed here"},
    {"unrecoverable_exit_codes: [3, [4]]\n", SE_ECONFIG,
     "<string>:1:31: unrecoverable_exit_codes: a list or mapping inside a list"},
    {"unrecoverable_exit_codes: [3, ~]\n", SE_ECONFIG, "a list item has no value"},
    {"unrecoverable_exit_codes: [3, 300]\n", SE_ECONFIG, "invalid value \"300\""},
    {"workers:\n", SE_ECONFIG, "<string>:1:9: workers: expected a value, found none"},
    {"workers: ~\n", SE_ECONFIG, "workers: expected a value"},
    {"message: null\n", SE_ECONFIG, "\"message\": expected a value"},
    {"- workers\n- 4\n", SE_EPARSE, "<string>:1:1: the top level must be a mapping"},
    {"just text\n", SE_EPARSE, "the top level must be a mapping"},
    {"[a]: 1\n", SE_EPARSE, "a key must be a plain name"},
    {"workers: 2\n---\nworkers: 3\n", SE_EPARSE, "<string>:3:1: only one YAML document"},
    {"logger_class: Foo\n", SE_ECONFIG, "logger_class: not supported"},
    {"signal_reload: TERM\n", SE_ECONFIG,
     "<string>: signal_graceful_stop and signal_reload: both are SIGTERM"},
    {"workers: \"a\\0b\"\n", SE_ECONFIG, "NUL byte"},
    {"a: \x01\n", SE_EPARSE, "<string>:1:4: control characters are not allowed"},
};

static void
test_config_yaml_errors_report_position_and_leave_config_unchanged(void **state)
{
    (void)state;
    char err[512];
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(load_string(cfg, "workers: 3\nmessage: hi\n", err, sizeof err), 0);
    char *before = snapshot(cfg);
    for (size_t i = 0; i < SE_ARRAY_LEN(yaml_errors); i++) {
        int rc = load_string(cfg, yaml_errors[i].yaml, err, sizeof err);
        if (rc != yaml_errors[i].rc) print_error("case %zu: %d %s\n", i, rc, err);
        assert_int_equal(rc, yaml_errors[i].rc);
        assert_contains(err, yaml_errors[i].message);
        assert_same(before, cfg);
    }
    free(before);
    se_config_free(cfg);
}

static void
test_config_failed_file_load_leaves_every_key_unchanged(void **state)
{
    (void)state;
    struct tmpdir t;
    char err[512];
    tmpdir_make(&t);
    const char *good = tmpdir_file(&t, "good.yml",
                                   "workers: 3\nworker_type: thread\nmessage: hello\n"
                                   "listen: [tcp://127.0.0.1:8080]\n");
    const char *bad = tmpdir_file(&t, "bad.yml",
                                  "workers: 8\nlisten: [unix:/x]\nnew_user_key: 1\n"
                                  "log_level: loud\n");
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_load_yaml(cfg, good, err, sizeof err), 0);
    char *before = snapshot(cfg);
    assert_int_equal(se_config_load_yaml(cfg, bad, err, sizeof err), SE_ECONFIG);
    char want[256];
    snprintf(want, sizeof want, "%s:4:12: log_level: invalid value \"loud\"", bad);
    assert_contains(err, want);
    assert_same(before, cfg);
    assert_get(cfg, "workers", "3");
    free(before);
    se_config_free(cfg);
    tmpdir_remove(&t);
}

static void
test_config_yaml_null_means_nil_for_nil_keys_and_empty_file_changes_nothing(void **state)
{
    (void)state;
    struct tmpdir t;
    char err[512];
    tmpdir_make(&t);
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(
        load_string(cfg, "worker_reload_signal: USR1\nchumask: 022\n", err, sizeof err), 0);
    assert_get(cfg, "worker_reload_signal", "SIGUSR1");
    assert_int_equal(load_string(cfg, "worker_reload_signal: ~\nchumask:\n", err, sizeof err), 0);
    assert_get(cfg, "worker_reload_signal", "nil");
    assert_get(cfg, "chumask", "nil");
    assert_int_equal(load_string(cfg, "log: ''\npid_path: \"\"\n", err, sizeof err), 0);
    char *before = snapshot(cfg);
    assert_int_equal(se_config_load_yaml(cfg, tmpdir_file(&t, "empty.yml", ""), err, sizeof err),
                     0);
    assert_int_equal(
        se_config_load_yaml(cfg, tmpdir_file(&t, "comments.yml", "# nothing\n"), err, sizeof err),
        0);
    assert_int_equal(load_string(cfg, "---\n", err, sizeof err), 0);
    assert_int_equal(se_config_load_yaml_string(cfg, NULL, 0, err, sizeof err), 0);
    assert_same(before, cfg);
    free(before);
    se_config_free(cfg);
    tmpdir_remove(&t);
}

static void
test_config_yaml_file_that_cannot_be_read_returns_errno(void **state)
{
    (void)state;
    struct tmpdir t;
    char err[512], path[128];
    tmpdir_make(&t);
    snprintf(path, sizeof path, "%s/missing.yml", t.path);
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    assert_int_equal(se_config_load_yaml(cfg, path, err, sizeof err), -ENOENT);
    assert_contains(err, "missing.yml: cannot read: ");
    assert_int_equal(se_config_load_yaml(cfg, t.path, err, sizeof err), -EISDIR);
    se_config_free(cfg);
    tmpdir_remove(&t);
}

static void
test_config_yaml_and_set_agree_on_every_scalar_case(void **state)
{
    (void)state;
    char yaml[256], err_yaml[512], err_set[512];
    for (size_t i = 0; i < SE_ARRAY_LEN(rejected); i++) {
        struct se_config *cfg = se_config_new();
        assert_non_null(cfg);
        snprintf(yaml, sizeof yaml, "%s: '%s'\n", rejected[i].key, rejected[i].value);
        if (strchr(rejected[i].value, '\'') == NULL) {
            assert_int_equal(load_string(cfg, yaml, err_yaml, sizeof err_yaml), SE_ECONFIG);
            assert_int_equal(
                se_config_set(cfg, rejected[i].key, rejected[i].value, err_set, sizeof err_set),
                SE_ECONFIG);
            assert_contains(err_yaml, err_set);
        }
        se_config_free(cfg);
    }
}

/* ------------------------------------------------------------------------ */
/* Hostile and careless files (issue 10)                                    */
/* ------------------------------------------------------------------------ */

static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 nested '[': refused by the depth limit, naming the file and the
 * line, in time linear in the size (libyaml alone took 23 s of CPU). */
static void
test_config_deep_yaml_is_refused_fast_naming_file_and_line(void **state)
{
    (void)state;
    enum { DEPTH = 100000 };
    char *text = malloc(2 * DEPTH + 16);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "workers: 2\nx: ");
    memset(text + n, '[', DEPTH);
    memset(text + n + DEPTH, ']', DEPTH);
    strcpy(text + n + 2 * DEPTH, "\n");
    struct tmpdir t;
    tmpdir_make(&t);
    const char *path = tmpdir_file(&t, "deep.yml", text);
    struct se_config *cfg = se_config_new();
    char err[512];
    double start = cpu_s();
    assert_int_equal(se_config_load_yaml(cfg, path, err, sizeof err), SE_EPARSE);
    double spent = cpu_s() - start;
    assert_contains(err, "deep.yml:2:");
    assert_contains(err, "nested deeper than 16 levels");
    if (spent > 0.5) fail_msg("refusing the deep file took %.3f s of CPU", spent);
    assert_get(cfg, "workers", "1"); /* unchanged */
    /* the same for a string, and for block nesting ("- - - - x") */
    assert_int_equal(se_config_load_yaml_string(cfg, text, strlen(text), err, sizeof err),
                     SE_EPARSE);
    assert_contains(err, "<string>:2:");
    char block[256] = "x:\n";
    for (int i = 0; i < 40; i++)
        strcat(block, "- ");
    strcat(block, "y\n");
    assert_int_equal(se_config_load_yaml_string(cfg, block, strlen(block), err, sizeof err),
                     SE_EPARSE);
    assert_contains(err, "nested deeper than");
    /* what a configuration needs still loads */
    static const char ok[] = "workers: 3\nunrecoverable_exit_codes: [3, 4]\n";
    assert_int_equal(se_config_load_yaml_string(cfg, ok, strlen(ok), err, sizeof err), 0);
    se_config_free(cfg);
    free(text);
    tmpdir_remove(&t);
}

/* A key given twice: the last one wins, with a warning naming both lines. */
static void
test_config_key_given_twice_in_one_file_warns_naming_both_lines(void **state)
{
    (void)state;
    static const char yaml[] = "workers: 1\nlog_level: info\nworkers: 2\nmy_key: a\nmy_key: b\n";
    struct se_config *cfg = se_config_new();
    char err[512];
    assert_int_equal(se_config_load_yaml_string(cfg, yaml, strlen(yaml), err, sizeof err), 0);
    assert_get(cfg, "workers", "2");
    bool workers = false, mine = false;
    for (size_t i = 0; i < se_config_warning_count(cfg); i++) {
        const char *w = se_config_warning(cfg, i);
        workers |= strstr(w, "\"workers\" is given twice (lines 1 and 3)") != NULL;
        mine |= strstr(w, "\"my_key\" is given twice (lines 4 and 5)") != NULL;
    }
    assert_true(workers);
    assert_true(mine);
    se_config_free(cfg);
}

/* The heartbeat timeout must exceed the interval (-1: never), checked on the
 * configuration as a whole, so that the order of -s options does not matter. */
static void
test_config_heartbeat_timeout_not_above_the_interval_is_refused_naming_both(void **state)
{
    (void)state;
    static const struct {
        const char *interval, *timeout;
        int rc;
    } rows[] = {
        {"2", "1", SE_ECONFIG}, {"1", "1", SE_ECONFIG}, {"1", "1.001", 0},
        {"2", "-1", 0},         {"0.1", "1", 0},        {"5", "180", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct se_config *cfg = se_config_new();
        char err[512] = "";
        /* the timeout first: per key, a pair that ends valid is never refused midway */
        assert_int_equal(
            se_config_set(cfg, "worker_heartbeat_timeout", rows[i].timeout, err, sizeof err), 0);
        assert_int_equal(
            se_config_set(cfg, "worker_heartbeat_interval", rows[i].interval, err, sizeof err), 0);
        assert_int_equal(se__config_check_whole(cfg, err, sizeof err), rows[i].rc);
        if (rows[i].rc < 0) {
            assert_contains(err, "worker_heartbeat_timeout");
            assert_contains(err, "worker_heartbeat_interval");
        }
        se_config_free(cfg);
    }
}

/* SIGDUMP_SIGNAL (serverengine(3), ENVIRONMENT) names the dump signal when
 * no source gives signal_dump; a source that does wins, even with CONT. */
static void
test_config_sigdump_signal_names_the_dump_signal_unless_the_key_is_given(void **state)
{
    (void)state;
    static const struct {
        const char *given; /* signal_dump set by a source first, or NULL */
        const char *env;   /* SIGDUMP_SIGNAL, NULL: unset */
        int rc;
        const char *dump; /* signal_dump after, or the words the error must hold */
    } rows[] = {
        {NULL, NULL, 0, "SIGCONT"},
        {NULL, "", 0, "SIGCONT"},
        {NULL, "WINCH", 0, "SIGWINCH"},
        {NULL, "SIGTSTP", 0, "SIGTSTP"},
        {NULL, "sigurg", 0, "SIGURG"},
        {NULL, "28", 0, "SIGWINCH"},
        {"PWR", "WINCH", 0, "SIGPWR"},
        {"CONT", "WINCH", 0, "SIGCONT"},
        {NULL, "WINCHY", SE_ECONFIG, "SIGDUMP_SIGNAL"},
        {NULL, "KILL", SE_ECONFIG, "SIGDUMP_SIGNAL"},
        {NULL, "0", SE_ECONFIG, "SIGDUMP_SIGNAL"},
        {NULL, "USR2", SE_ECONFIG, "signal_reload"}, /* the reload signal already */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct se_config *cfg = se_config_new();
        char err[512] = "", buf[64];
        if (rows[i].given != NULL)
            assert_int_equal(se_config_set(cfg, "signal_dump", rows[i].given, err, sizeof err), 0);
        int rc = se__config_dump_signal_env(cfg, rows[i].env, err, sizeof err);
        if (rc != rows[i].rc) fail_msg("row %zu: rc %d: %s", i, rc, err);
        if (rc == 0) {
            assert_string_equal(get(cfg, "signal_dump", buf, sizeof buf), rows[i].dump);
        } else {
            assert_contains(err, rows[i].dump);
            assert_contains(err, "SIGDUMP_SIGNAL");
            assert_contains(err, rows[i].env);
            assert_string_equal(get(cfg, "signal_dump", buf, sizeof buf), "SIGCONT");
        }
        se_config_free(cfg);
    }
}

/* A FIFO at the config path: refused at once, never a blocked open. */
static void
test_config_fifo_or_directory_at_the_path_is_refused_without_blocking(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t);
    char fifo[128], err[512];
    snprintf(fifo, sizeof fifo, "%s/c.yml", t.path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct se_config *cfg = se_config_new();
    assert_int_equal(se_config_load_yaml(cfg, fifo, err, sizeof err), -ENXIO);
    assert_contains(err, "c.yml: cannot read: a FIFO, not a regular file");
    assert_int_equal(se_config_load_yaml(cfg, t.path, err, sizeof err), -EISDIR);
    assert_contains(err, "a directory, not a regular file");
    se_config_free(cfg);
    unlink(fifo);
    tmpdir_remove(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_every_key_has_the_seeds_default),
        cmocka_unit_test(test_config_defaults_are_stored_in_engine_units),
        cmocka_unit_test(test_config_key_table_has_unique_names_help_and_the_seeds_dynamic_marks),
        cmocka_unit_test(test_config_accepts_valid_text_and_formats_it_back),
        cmocka_unit_test(test_config_seconds_and_ratios_are_stored_rounded_to_thousandths),
        cmocka_unit_test(test_config_rejects_bad_values_naming_key_value_and_expectation),
        cmocka_unit_test(test_config_messages_quote_the_offending_value),
        cmocka_unit_test(
            test_config_string_longer_than_its_field_is_rejected_and_echo_is_shortened),
        cmocka_unit_test(test_config_listen_accepts_at_most_sixteen_addresses),
        cmocka_unit_test(test_config_logger_class_is_rejected_as_unsupported),
        cmocka_unit_test(test_config_every_key_round_trips_from_get_to_set),
        cmocka_unit_test(test_config_two_actions_on_one_signal_are_rejected_naming_both_keys),
        cmocka_unit_test(test_config_sigdump_signal_names_the_dump_signal_unless_the_key_is_given),
        cmocka_unit_test(test_config_commands_map_to_signals_and_back),
        cmocka_unit_test(test_config_static_changes_lists_non_dynamic_keys_only),
        cmocka_unit_test(test_config_static_changes_of_every_static_key_fit_the_names_buffer),
        cmocka_unit_test(
            test_config_unknown_key_is_kept_for_user_code_with_one_warning_and_a_suggestion),
        cmocka_unit_test(test_config_set_kv_splits_at_the_first_equals_sign),
        cmocka_unit_test(test_config_set_kv_rejects_an_overlong_key),
        cmocka_unit_test(test_config_typed_getters_read_user_and_built_in_keys),
        cmocka_unit_test(test_config_get_reports_the_full_length_like_snprintf),
        cmocka_unit_test(test_config_dup_copies_user_keys_and_warnings_deeply),
        cmocka_unit_test(test_config_yaml_file_applies_keys_and_keeps_unknown_ones),
        cmocka_unit_test(test_config_yaml_sequences_fill_list_keys_and_user_keys),
        cmocka_unit_test(test_config_yaml_errors_report_position_and_leave_config_unchanged),
        cmocka_unit_test(test_config_failed_file_load_leaves_every_key_unchanged),
        cmocka_unit_test(
            test_config_yaml_null_means_nil_for_nil_keys_and_empty_file_changes_nothing),
        cmocka_unit_test(test_config_yaml_file_that_cannot_be_read_returns_errno),
        cmocka_unit_test(test_config_deep_yaml_is_refused_fast_naming_file_and_line),
        cmocka_unit_test(test_config_key_given_twice_in_one_file_warns_naming_both_lines),
        cmocka_unit_test(
            test_config_heartbeat_timeout_not_above_the_interval_is_refused_naming_both),
        cmocka_unit_test(test_config_fifo_or_directory_at_the_path_is_refused_without_blocking),
        cmocka_unit_test(test_config_yaml_and_set_agree_on_every_scalar_case),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
