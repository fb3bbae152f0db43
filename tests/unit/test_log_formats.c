/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The three line formats of the log (serverengine(5), log_format): ruby (the
 * default, Ruby Logger's line), journal (a <N> priority prefix, no time, for
 * journald) and json (one object per line), each with and without a worker
 * id, as tables of exact lines; JSON escaping of every control character,
 * quotes, backslashes and bytes that are not UTF-8; long messages cut into
 * lines that are each whole (and, in JSON, each a valid object). The time is
 * fixed (the wrapped adapter's realtime) and TZ is UTC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "support/logger_util.h"

#define T0_US INT64_C(1795864818123456) /* 2026-11-28T11:20:18.123456 UTC */

struct fx {
    char dir[256];
    char path[512];
    struct lt_wrap w;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    setenv("TZ", "UTC0", 1);
    tzset();
    lt_dir_make(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/fmt.log", f->dir);
    lt_wrap_init(&f->w);
    f->w.real_us = T0_US;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    lt_dir_remove(f->dir);
    free(f);
    return 0;
}

static struct se_logger *
open_fmt(struct fx *f, enum se_log_format format)
{
    int err = 1;
    unlink(f->path);
    struct se_logger *lg = se__logger_new_os(&f->w.os, f->path, -1, &err);
    assert_non_null(lg);
    assert_int_equal(se__logger_set_format(lg, format), 0);
    assert_int_equal(se_logger_set_level(lg, SE_LOG_TRACE), 0);
    return lg;
}

/* The file's text with every "#PID" / ":PID," of this process made "#P" / ":P,". */
static char *
read_masked(const struct fx *f)
{
    char *t = lt_read_file(f->path, NULL);
    assert_non_null(t);
    char pids[2][32];
    snprintf(pids[0], sizeof pids[0], "#%d]", (int)getpid());
    snprintf(pids[1], sizeof pids[1], "\"pid\":%d,", (int)getpid());
    const char *masks[2] = {"#P]", "\"pid\":P,"};
    for (int k = 0; k < 2; k++) {
        for (char *p = strstr(t, pids[k]); p != NULL; p = strstr(p, pids[k])) {
            size_t n = strlen(pids[k]), m = strlen(masks[k]);
            memcpy(p, masks[k], m);
            memmove(p + m, p + n, strlen(p + n) + 1);
        }
    }
    return t;
}

struct row {
    enum se_log_format format;
    enum se_log_level level;
    const char *progname;
    int64_t worker;
    const char *msg;
    const char *want;
};

static const struct row rows[] = {
    /* ruby: Ruby's Logger line; the worker goes where Ruby has the progname */
    {SE_LOG_FORMAT_RUBY, SE_LOG_INFO, "", SE_LOG_WORKER_NONE, "hello",
     "I, [2026-11-28T11:20:18.123456 #P]  INFO -- : hello\n"},
    {SE_LOG_FORMAT_RUBY, SE_LOG_INFO, "", 3, "hello",
     "I, [2026-11-28T11:20:18.123456 #P]  INFO -- worker 3: hello\n"},
    {SE_LOG_FORMAT_RUBY, SE_LOG_WARN, "app", 1023, "w",
     "W, [2026-11-28T11:20:18.123456 #P]  WARN -- app worker 1023: w\n"},
    {SE_LOG_FORMAT_RUBY, SE_LOG_ERROR, "app", SE_LOG_WORKER_NONE, "two\nlines",
     "E, [2026-11-28T11:20:18.123456 #P] ERROR -- app: two\nlines\n"},
    /* journal: <priority>, no time (journald stamps each line) */
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_TRACE, "", SE_LOG_WORKER_NONE, "t", "<7>[#P] TRACE -- : t\n"},
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_DEBUG, "", 0, "d", "<7>[#P] DEBUG -- worker 0: d\n"},
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_INFO, "", 2, "i", "<6>[#P]  INFO -- worker 2: i\n"},
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_WARN, "app", SE_LOG_WORKER_NONE, "w",
     "<4>[#P]  WARN -- app: w\n"},
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_ERROR, "", SE_LOG_WORKER_NONE, "e", "<3>[#P] ERROR -- : e\n"},
    {SE_LOG_FORMAT_JOURNAL, SE_LOG_FATAL, "", SE_LOG_WORKER_NONE, "f", "<2>[#P] FATAL -- : f\n"},
    {SE_LOG_FORMAT_JOURNAL, (enum se_log_level)9, "", SE_LOG_WORKER_NONE, "a",
     "<5>[#P]   ANY -- : a\n"},
    /* json: one object; worker null when none */
    {SE_LOG_FORMAT_JSON, SE_LOG_INFO, "", SE_LOG_WORKER_NONE, "hello",
     "{\"time\":\"2026-11-28T11:20:18.123456+00:00\",\"level\":\"INFO\",\"pid\":P,"
     "\"worker\":null,\"progname\":\"\",\"message\":\"hello\"}\n"},
    {SE_LOG_FORMAT_JSON, SE_LOG_FATAL, "app", 7, "x",
     "{\"time\":\"2026-11-28T11:20:18.123456+00:00\",\"level\":\"FATAL\",\"pid\":P,"
     "\"worker\":7,\"progname\":\"app\",\"message\":\"x\"}\n"},
    {SE_LOG_FORMAT_JSON, (enum se_log_level)9, "", SE_LOG_WORKER_NONE, "",
     "{\"time\":\"2026-11-28T11:20:18.123456+00:00\",\"level\":\"ANY\",\"pid\":P,"
     "\"worker\":null,\"progname\":\"\",\"message\":\"\"}\n"},
    /* escaping: quotes, backslash, the short escapes, other controls as \u00XX */
    {SE_LOG_FORMAT_JSON, SE_LOG_INFO, "a\"b", SE_LOG_WORKER_NONE,
     "q\" b\\ n\n r\r t\t b\b f\f nul-less \x01\x1f\x7f end",
     "{\"time\":\"2026-11-28T11:20:18.123456+00:00\",\"level\":\"INFO\",\"pid\":P,"
     "\"worker\":null,\"progname\":\"a\\\"b\",\"message\":\"q\\\" b\\\\ n\\n r\\r t\\t "
     "b\\b f\\f nul-less \\u0001\\u001f\\u007f end\"}\n"},
    /* UTF-8 kept as is; a byte that is not UTF-8 becomes U+FFFD */
    {SE_LOG_FORMAT_JSON, SE_LOG_INFO, "", SE_LOG_WORKER_NONE,
     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad:\xff\xc3(\xed\xa0\x80\xc0\xaf",
     "{\"time\":\"2026-11-28T11:20:18.123456+00:00\",\"level\":\"INFO\",\"pid\":P,"
     "\"worker\":null,\"progname\":\"\",\"message\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
     "bad:\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}\n"},
};

/* One logger per row, the worker set on this thread (as a worker does). */
static void
test_log_formats_table(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct se_logger *lg = open_fmt(f, r->format);
        assert_int_equal(se_logger_set_progname(lg, r->progname), 0);
        se__logger_set_worker(lg, r->worker);
        se_log(lg, r->level, "%s", r->msg);
        char *got = read_masked(f);
        if (strcmp(got, r->want) != 0) print_error("row %zu\n", i);
        assert_string_equal(got, r->want);
        free(got);
        se_logger_free(lg);
    }
}

/* An unknown format is refused and the format in force stays. */
static void
test_log_formats_unknown_is_refused(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_fmt(f, SE_LOG_FORMAT_JOURNAL);
    assert_int_equal(se__logger_set_format(lg, (enum se_log_format)3), SE_EUNKNOWN);
    se_log_info(lg, "still");
    char *got = read_masked(f);
    assert_string_equal(got, "<6>[#P]  INFO -- : still\n");
    free(got);
    se_logger_free(lg);
}

static void *
thread_logs(void *arg)
{
    se_log_info(arg, "from another thread");
    return NULL;
}

/* The worker id belongs to the thread that set it (a thread worker), a
 * forked child keeps its thread's, and the process's id (a process worker
 * sets it once after fork) tags every thread that has none, in the child
 * only. */
static void
test_log_formats_worker_is_per_thread_and_survives_fork(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_fmt(f, SE_LOG_FORMAT_RUBY);
    se__logger_set_worker(lg, 5);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_logs, lg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        se_log_info(lg, "child");
        se__logger_set_process_worker(lg, 6);
        pthread_t c;
        if (pthread_create(&c, NULL, thread_logs, lg) != 0 || pthread_join(c, NULL) != 0) _exit(1);
        se_log_info(lg, "child again"); /* its thread's own id wins */
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    se__logger_set_worker(lg, SE_LOG_WORKER_NONE);
    se_log_info(lg, "server again");
    char *got = lt_read_file(f->path, NULL);
    assert_int_equal(lt_count(got, "INFO -- : from another thread\n"), 1);
    assert_int_equal(lt_count(got, "INFO -- worker 5: child\n"), 1);
    assert_int_equal(lt_count(got, "INFO -- worker 6: from another thread\n"), 1);
    assert_int_equal(lt_count(got, "INFO -- worker 5: child again\n"), 1);
    assert_int_equal(lt_count(got, "INFO -- : server again\n"), 1);
    free(got);
    se_logger_free(lg);
}

/* Whether s (len bytes) is one JSON object of the shape the logger writes:
 * strings with valid escapes and no raw control byte, then "}". Returns the
 * message's unescaped text (ASCII only in this test) into msg. */
static bool
json_line_ok(const char *s, size_t len, char *msg, size_t msg_size)
{
    const char *key = "\"message\":\"";
    const char *m = strstr(s, key);
    if (s[0] != '{' || m == NULL || len < 3 || s[len - 1] != '}' || s[len - 2] != '"') return false;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20) return false;
    }
    size_t o = 0;
    for (const char *p = m + strlen(key); p < s + len - 2; p++) {
        if (*p == '"') return false; /* an unescaped quote inside */
        char c = *p;
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                if (strncmp(p, "u00", 3) != 0) return false;
                c = (char)strtol((char[]){p[3], p[4], 0}, NULL, 16);
                p += 4;
            } else {
                c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            }
        }
        if (o + 1 < msg_size) msg[o++] = c;
    }
    msg[o] = '\0';
    return true;
}

/* A long message with control characters in every format: every line at
 * most SE_LOG_LINE_MAX, each JSON line a whole object, and the pieces put
 * back together (continuation marks removed) give the message again. */
static void
test_log_formats_long_lines_are_whole_in_every_format(void **state)
{
    struct fx *f = *state;
    size_t n = 9000;
    char *msg = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        msg[i] = i % 7 == 0 ? '\x01' : i % 11 == 0 ? '"' : (char)('a' + i % 26);
    msg[n] = '\0';
    enum se_log_format fmts[] = {SE_LOG_FORMAT_RUBY, SE_LOG_FORMAT_JOURNAL, SE_LOG_FORMAT_JSON};
    for (size_t k = 0; k < 3; k++) {
        struct se_logger *lg = open_fmt(f, fmts[k]);
        se__logger_set_worker(lg, 12);
        se_log_info(lg, "%s", msg);
        char *text = lt_read_file(f->path, NULL);
        char *back = calloc(1, 4 * n + 1), *piece = malloc(SE_LOG_LINE_MAX + 1);
        size_t lines = 0;
        for (char *l = text; *l != '\0'; lines++) {
            char *nl = strchr(l, '\n');
            assert_non_null(nl);
            assert_true((size_t)(nl - l) + 1 <= SE_LOG_LINE_MAX);
            const char *body;
            if (fmts[k] == SE_LOG_FORMAT_JSON) {
                assert_true(json_line_ok(l, (size_t)(nl - l), piece, SE_LOG_LINE_MAX + 1));
                assert_non_null(strstr(l, "\"worker\":12,"));
                body = piece;
            } else {
                *nl = '\0';
                body = strstr(l, "worker 12: ");
                assert_non_null(body);
                body += strlen("worker 12: ");
            }
            if (lines > 0) {
                assert_memory_equal(body, SE_LOG_CONT_MARK, strlen(SE_LOG_CONT_MARK));
                body += strlen(SE_LOG_CONT_MARK);
            }
            strcat(back, body);
            l = nl + 1;
        }
        assert_true(lines >= 3);
        assert_string_equal(back, msg);
        free(piece);
        free(back);
        free(text);
        se_logger_free(lg);
    }
    free(msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_formats_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_formats_unknown_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_formats_worker_is_per_thread_and_survives_fork,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_formats_long_lines_are_whole_in_every_format,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
