/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log's line formats with real processes (serverengine(5), log_format):
 * for every worker type and every format, a worker's own lines carry its id
 * (where Ruby's line has the progname, or the "worker" field of a JSON
 * line), the server's lines carry none, and "Worker N started" is logged at
 * INFO, so a restart shows at log_level: info. The exact bytes of each
 * format are pinned down by tests/unit/test_log_formats.c; this checks the
 * wiring: the key reaches the logger and each worker tags its lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "support/itest.h"

#define DL ITEST_DEADLINE_MS

struct fcase {
    const char *worker_type;
    unsigned workers;
    const char *format;
};

static const struct fcase ruby_embedded = {"embedded", 1, "ruby"};
static const struct fcase ruby_thread = {"thread", 2, "ruby"};
static const struct fcase ruby_process = {"process", 2, "ruby"};
static const struct fcase journal_process = {"process", 2, "journal"};
static const struct fcase json_thread = {"thread", 2, "json"};
static const struct fcase json_process = {"process", 2, "json"};

/* The one log line containing text (the first), into line. */
static void
line_with(struct itest *t, const char *text, char *line, size_t size)
{
    if (!itest_log_line(t, text, 1, line, size)) fail_msg("no log line with \"%s\"", text);
}

/* What a line of worker id (or of no worker: -1) has, per format. */
static void
worker_mark(const char *format, int id, char *buf, size_t size)
{
    if (strcmp(format, "json") == 0) {
        if (id < 0)
            snprintf(buf, size, "\"worker\":null,");
        else
            snprintf(buf, size, "\"worker\":%d,", id);
    } else {
        if (id < 0)
            snprintf(buf, size, "INFO -- : ");
        else
            snprintf(buf, size, "INFO -- worker %d: ", id);
    }
}

static void
test_worker_lines_carry_the_worker_id_in_every_format(void **state)
{
    struct itest *t = *state;
    const struct fcase *c = itest_param(t);
    itest_set(t, "worker_type=%s", c->worker_type);
    itest_set(t, "workers=%u", c->workers);
    itest_set(t, "log_format=%s", c->format);
    itest_set(t, "log_level=info");
    pid_t server = itest_start(t, NULL, NULL);
    char text[64], line[2048], mark[64];
    for (unsigned id = 0; id < c->workers; id++) {
        snprintf(text, sizeof text, "TEST run worker=%u pid=", id);
        itest_wait_log(t, text, 1, DL);
        line_with(t, text, line, sizeof line);
        worker_mark(c->format, (int)id, mark, sizeof mark);
        if (strstr(line, mark) == NULL) fail_msg("\"%s\" not in: %s", mark, line);
        /* the server's line about this worker: no worker id, at INFO. The
         * server writes it after its fork returns, which may be after the
         * worker's first line: it is waited for too */
        snprintf(text, sizeof text, "Worker %u started (", id);
        itest_wait_log(t, text, 1, DL);
        line_with(t, text, line, sizeof line);
        worker_mark(c->format, -1, mark, sizeof mark);
        if (strstr(line, mark) == NULL) fail_msg("\"%s\" not in: %s", mark, line);
    }
    if (strcmp(c->format, "journal") == 0) {
        line_with(t, "TEST run worker=0 pid=", line, sizeof line);
        assert_memory_equal(line, "<6>[#", 5);
    }
    if (strcmp(c->format, "json") == 0) {
        line_with(t, "TEST before_run", line, sizeof line);
        assert_memory_equal(line, "{\"time\":\"", 9);
        assert_non_null(strstr(line, "\"worker\":null,"));
    }
    itest_kill(server, SIGTERM);
    assert_int_equal(itest_wait_exit(t, server, DL), 0);
    /* the embedded worker ran on the server's side: after it, no line of
     * the server carries its id */
    line_with(t, "TEST after_run", line, sizeof line);
    worker_mark(c->format, -1, mark, sizeof mark);
    if (strstr(line, mark) == NULL) fail_msg("\"%s\" not in: %s", mark, line);
}

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &ruby_embedded,
                   "ruby, embedded"),
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &ruby_thread,
                   "ruby, thread"),
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &ruby_process,
                   "ruby, process"),
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &journal_process,
                   "journal, process"),
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &json_thread,
                   "json, thread"),
        ITEST_CASE(test_worker_lines_carry_the_worker_id_in_every_format, &json_process,
                   "json, process"),
    };
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
