/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The logger on real files in a scratch directory, through a wrapped POSIX
 * adapter whose monotonic clock the test drives (the once-a-second identity
 * check is tested by moving that clock, never by sleeping) and whose writes
 * and renames can be made to fail. Ports Ruby ServerEngine's
 * daemon_logger_spec.rb, then covers what Ruby did not promise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <wchar.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "sm_logrotate.h"
#include "support/logger_util.h"

struct fx {
    char dir[256];
    char path[512];
    struct lt_wrap w;
    int fds_before;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    lt_dir_make(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/se1.log", f->dir);
    lt_wrap_init(&f->w);
    f->fds_before = lt_fd_count();
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

/* Teardown cannot fail a test in cmocka 1.1; each test checks its fds itself. */
static void
assert_no_fd_leak(const struct fx *f)
{
    assert_int_equal(lt_fd_count(), f->fds_before);
}

static struct se_logger *
open_wrapped(struct fx *f, const char *path)
{
    int err = 1;
    struct se_logger *lg = se__logger_new_os(&f->w.os, path, -1, &err);
    assert_non_null(lg);
    assert_int_equal(err, 0);
    return lg;
}

static char *
file_in(const struct fx *f, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", f->dir, name);
    return buf;
}

static size_t
count_in_file(const char *path, const char *needle)
{
    char *t = lt_read_file(path, NULL);
    size_t n = t == NULL ? 0 : lt_count(t, needle);
    free(t);
    return n;
}

/* ------------------------------------------------------------------------ */
/* daemon_logger_spec.rb                                                    */
/* ------------------------------------------------------------------------ */

/* 'reopen': another writer truncates the file; reopen! goes on writing. */
static void
test_logger_reopen_after_truncation_by_another_writer(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    se_log_warn(lg, "ABCDEF");
    int t = open(f->path, O_WRONLY | O_TRUNC);
    assert_true(t >= 0);
    close(t);
    se_log_warn(lg, "test2");
    assert_int_equal(count_in_file(f->path, "ABCDEF"), 0);
    assert_int_equal(se_logger_reopen(lg), 0);
    se_log_warn(lg, "test3");
    assert_int_equal(count_in_file(f->path, "test3\n"), 1);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* 'reset path' */
static void
test_logger_set_path_switches_files(void **state)
{
    struct fx *f = *state;
    char p2[600];
    struct se_logger *lg = open_wrapped(f, f->path);
    se_log_warn(lg, "first");
    assert_int_equal(se_logger_set_path(lg, file_in(f, "se2.log", p2, sizeof p2)), 0);
    se_log_warn(lg, "test");
    assert_int_equal(count_in_file(p2, "test\n"), 1);
    assert_int_equal(count_in_file(f->path, "test\n"), 0);
    /* a path that cannot be opened keeps the old output */
    assert_int_equal(se_logger_set_path(lg, "/nonexistent-dir/x.log"), -ENOENT);
    se_log_warn(lg, "still");
    assert_int_equal(count_in_file(p2, "still\n"), 1);
    /* the same path again is no change (Ruby: logdev= with the same name) */
    assert_int_equal(se_logger_set_path(lg, p2), 0);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* 'default level is debug' */
static void
test_logger_default_level_is_debug(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    assert_int_equal(se_logger_level(lg), SE_LOG_DEBUG);
    se_log_trace(lg, "trace");
    se_log_debug(lg, "debug");
    assert_int_equal(count_in_file(f->path, "debug\n"), 1);
    assert_int_equal(count_in_file(f->path, "trace\n"), 0);
    se_logger_free(lg);
}

static void
check_enabled(struct se_logger *lg, enum se_log_level at)
{
    assert_int_equal(se_logger_level(lg), at);
    for (int l = SE_LOG_TRACE; l <= SE_LOG_FATAL; l++)
        assert_int_equal(se_logger_is_enabled(lg, (enum se_log_level)l), l >= (int)at);
}

/* 'level set by int' and 'level set by string', every is_enabled answer */
static void
test_logger_level_by_number_and_by_name(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    static const struct {
        const char *number, *name, *upper;
        enum se_log_level level;
    } cases[] = {
        {"4", "fatal", "FATAL", SE_LOG_FATAL}, {"3", "error", "Error", SE_LOG_ERROR},
        {"2", "warn", "WARN", SE_LOG_WARN},    {"1", "info", "Info", SE_LOG_INFO},
        {"0", "debug", "DEBUG", SE_LOG_DEBUG}, {"-1", "trace", "TrAcE", SE_LOG_TRACE},
    };
    for (size_t i = 0; i < SE_ARRAY_LEN(cases); i++) {
        enum se_log_level l = SE_LOG_INFO;
        assert_int_equal(se_log_level_parse(cases[i].number, &l), 0);
        assert_int_equal(l, cases[i].level);
        assert_int_equal(se_logger_set_level(lg, l), 0);
        check_enabled(lg, cases[i].level);
        l = SE_LOG_INFO;
        assert_int_equal(se_log_level_parse(cases[i].name, &l), 0);
        assert_int_equal(l, cases[i].level);
        assert_int_equal(se_log_level_parse(cases[i].upper, &l), 0);
        assert_int_equal(l, cases[i].level);
        assert_int_equal(se_logger_set_level(lg, l), 0);
        check_enabled(lg, cases[i].level);
    }
    assert_string_equal(se_log_level_name(SE_LOG_WARN), "WARN");
    assert_string_equal(se_log_level_name((enum se_log_level)42), "ANY");
    se_logger_free(lg);
}

/* 'unknown level' */
static void
test_logger_unknown_level_is_refused(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    enum se_log_level l = SE_LOG_WARN;
    assert_int_equal(se_log_level_parse("unknown", &l), SE_EUNKNOWN);
    assert_int_equal(se_log_level_parse("5", &l), SE_EUNKNOWN);
    assert_int_equal(se_log_level_parse("-2", &l), SE_EUNKNOWN);
    assert_int_equal(se_log_level_parse("", &l), SE_EUNKNOWN);
    assert_int_equal(se_log_level_parse(NULL, &l), SE_EUNKNOWN);
    assert_int_equal(l, SE_LOG_WARN);
    assert_int_equal(se_logger_set_level(lg, (enum se_log_level)6), SE_EUNKNOWN);
    assert_int_equal(se_logger_level(lg), SE_LOG_DEBUG);
    se_logger_free(lg);
}

/* 'rotation': age 3, size 10,000. */
static void
test_logger_rotation_age_3_size_10000(void **state)
{
    struct fx *f = *state;
    char p0[600], p1[600], p2[600], path[600];
    file_in(f, "se3.log", path, sizeof path);
    file_in(f, "se3.log.0", p0, sizeof p0);
    file_in(f, "se3.log.1", p1, sizeof p1);
    file_in(f, "se3.log.2", p2, sizeof p2);
    struct se_logger *lg = open_wrapped(f, path);
    assert_int_equal(se_logger_set_level(lg, SE_LOG_TRACE), 0);
    assert_int_equal(se_logger_set_rotation(lg, 3, 10000), 0);
    char m[128];
    size_t total = 0;
    for (int i = 0; i < 20; i++)
        memcpy(m + 5 * i, "test1", 5);
    m[100] = '\0';
    se_log_warn(lg, "%s", m);
    assert_true(lt_exists(path));
    assert_false(lt_exists(p0));
    size_t line_len = 0;
    free(lt_read_file(path, &line_len));
    total = line_len;
    for (int i = 0; i < 20; i++)
        memcpy(m + 5 * i, "test2", 5);
    for (int i = 0; i < 100; i++) {
        se_log_warn(lg, "%s", m);
        total += line_len;
        /* .0 appears with the line that brings the file to 10,000 bytes */
        assert_int_equal(lt_exists(p0), total >= 10000);
    }
    assert_int_equal(count_in_file(p0, "test2\n") + count_in_file(path, "test2\n"), 100);
    for (int i = 0; i < 20; i++)
        memcpy(m + 5 * i, "test3", 5);
    for (int i = 0; i < 100; i++)
        se_log_warn(lg, "%s", m);
    assert_true(lt_exists(path));
    assert_true(lt_exists(p1));
    assert_false(lt_exists(p2));
    for (int i = 0; i < 20; i++)
        memcpy(m + 5 * i, "test4", 5);
    se_log_warn(lg, "%s", m);
    char *live = lt_read_file(path, NULL);
    char *gen0 = lt_read_file(p0, NULL);
    size_t ll = strlen(live), gl = strlen(gen0);
    assert_memory_equal(live + ll - 6, "test4\n", 6); /* newest content in the live file */
    assert_memory_equal(gen0 + gl - 6, "test3\n", 6);
    free(live);
    free(gen0);
    assert_int_equal(se_logger_error_count(lg), 0);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* 'inter-process locking on rotation': two forked writers, rotate size 10. */
static void
test_logger_inter_process_locking_reports_no_error(void **state)
{
    struct fx *f = *state;
    char path[600], errpath[600];
    file_in(f, "se4.log", path, sizeof path);
    file_in(f, "stderr.txt", errpath, sizeof errpath);
    int err = 0;
    struct se_logger *lg = se_logger_new(path, &err);
    assert_non_null(lg);
    assert_int_equal(se_logger_set_level(lg, SE_LOG_TRACE), 0);
    assert_int_equal(se_logger_set_rotation(lg, 3, 10), 0);
    pid_t pids[2];
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            int e = open(errpath, O_WRONLY | O_APPEND | O_CREAT, 0644);
            dup2(e, 2);
            for (int i = 0; i < 10; i++)
                se_log_info(lg, "000000000000000");
            _exit(se_logger_error_count(lg) == 0 ? 0 : 1);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    char *errtext = lt_read_file(errpath, NULL);
    assert_true(errtext == NULL || errtext[0] == '\0');
    free(errtext);
    /* whatever survived the rotations (3 files of one line each) is well formed */
    char *live = lt_read_file(path, NULL);
    assert_non_null(live);
    for (char *l = live; *l != '\0';) {
        char *nl = strchr(l, '\n');
        assert_non_null(nl);
        const char *msg = NULL;
        assert_true(lt_parse_line(l, (size_t)(nl - l), NULL, NULL, &msg));
        assert_memory_equal(msg, "000000000000000\n", 16);
        l = nl + 1;
    }
    free(live);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* 'reopen log when path is renamed': writes follow the renamed file until the
 * identity check, then go to a new file at the path. Ruby waited for the path
 * to exist again (a touch); here a missing path is reopened (created) too. */
static void
test_logger_follows_a_renamed_path_after_the_identity_check(void **state)
{
    struct fx *f = *state;
    char path[600], moved[600];
    file_in(f, "rotate.log", path, sizeof path);
    file_in(f, "rotate.log.1", moved, sizeof moved);
    struct se_logger *lg = open_wrapped(f, path);
    assert_int_equal(se_logger_set_level(lg, SE_LOG_INFO), 0);
    se_log_info(lg, "11111");
    assert_int_equal(count_in_file(path, "11111"), 1);
    assert_int_equal(rename(path, moved), 0);
    f->w.now_ms += 999;
    se_log_info(lg, "22222");
    assert_int_equal(count_in_file(moved, "11111"), 1);
    assert_int_equal(count_in_file(moved, "22222"), 1);
    assert_false(lt_exists(path));
    f->w.now_ms += 1; /* a second after the last check */
    se_log_info(lg, "33333");
    /* the line that notices goes to the old file; the next ones to the new */
    se_log_info(lg, "44444");
    assert_int_equal(count_in_file(path, "44444"), 1);
    assert_int_equal(count_in_file(moved, "44444"), 0);
    assert_int_equal(count_in_file(moved, "33333") + count_in_file(path, "33333"), 1);
    /* logrotate's "create": a new file appears at the path */
    assert_int_equal(rename(path, moved), 0);
    int t = open(path, O_WRONLY | O_CREAT, 0644);
    close(t);
    f->w.now_ms += 1000;
    se_log_info(lg, "55555");
    se_log_info(lg, "66666");
    assert_int_equal(count_in_file(path, "66666"), 1);
    assert_int_equal(count_in_file(moved, "66666"), 0);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* ------------------------------------------------------------------------ */
/* Beyond the Ruby spec                                                     */
/* ------------------------------------------------------------------------ */

static void
test_logger_identity_check_runs_at_most_once_a_second(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    uint32_t base = f->w.path_stats;
    for (int i = 0; i < 1000; i++) {
        se_log_info(lg, "line %d", i); /* 1000 lines over 999 ms: no check yet */
        f->w.now_ms += 1;
    }
    assert_int_equal(f->w.path_stats - base, 0);
    for (int i = 0; i < 1000; i++) {
        se_log_info(lg, "line %d", i); /* a second after creation: one check */
        f->w.now_ms += i < 999 ? 1 : 0;
    }
    assert_int_equal(f->w.path_stats - base, 1);
    for (int i = 0; i < 999; i++)
        se_log_info(lg, "same instant %d", i);
    assert_int_equal(f->w.path_stats - base, 1);
    f->w.now_ms += 1000;
    se_log_info(lg, "a second later");
    assert_int_equal(f->w.path_stats - base, 2);
    se_logger_free(lg);
}

static void
test_logger_reopen_request_acts_at_once(void **state)
{
    struct fx *f = *state;
    char moved[600];
    file_in(f, "moved.log", moved, sizeof moved);
    struct se_logger *lg = open_wrapped(f, f->path);
    se_log_info(lg, "before");
    assert_int_equal(rename(f->path, moved), 0);
    assert_int_equal(se_logger_reopen(lg), 0); /* no clock movement needed */
    se_log_info(lg, "after");
    assert_int_equal(count_in_file(f->path, "after"), 1);
    assert_int_equal(count_in_file(moved, "after"), 0);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* Ruby's Formatter, byte for byte, with a fixed realtime clock. */
static void
test_logger_line_format_is_ruby_logger_s(void **state)
{
    struct fx *f = *state;
    f->w.real_us = INT64_C(1795864818123456); /* 2026-11-28 UTC, usec 123456 */
    struct se_logger *lg = open_wrapped(f, f->path);
    assert_int_equal(se_logger_set_level(lg, SE_LOG_TRACE), 0);
    se_log_info(lg, "Worker %d exited unexpectedly with status %d", 0, 5);
    assert_int_equal(se_logger_set_progname(lg, "prog"), 0);
    se_log_info(lg, "message");
    se_log_trace(lg, "t");
    se_log_debug(lg, "d");
    se_log_warn(lg, "w");
    se_log_error(lg, "e");
    se_log_fatal(lg, "f");
    se_log(lg, (enum se_log_level)9, "any");
    se_log_info(lg, "two\nlines");
    se_log_info(lg, "%s", "");

    time_t t = 1795864818;
    struct tm tm;
    localtime_r(&t, &tm);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    char want[2048];
    int pid = (int)getpid();
    snprintf(want, sizeof want,
             "I, [%s.123456 #%d]  INFO -- : Worker 0 exited unexpectedly with status 5\n"
             "I, [%s.123456 #%d]  INFO -- prog: message\n"
             "T, [%s.123456 #%d] TRACE -- prog: t\n"
             "D, [%s.123456 #%d] DEBUG -- prog: d\n"
             "W, [%s.123456 #%d]  WARN -- prog: w\n"
             "E, [%s.123456 #%d] ERROR -- prog: e\n"
             "F, [%s.123456 #%d] FATAL -- prog: f\n"
             "A, [%s.123456 #%d]   ANY -- prog: any\n"
             "I, [%s.123456 #%d]  INFO -- prog: two\nlines\n"
             "I, [%s.123456 #%d]  INFO -- prog: \n",
             date, pid, date, pid, date, pid, date, pid, date, pid, date, pid, date, pid, date, pid,
             date, pid, date, pid);
    char *got = lt_read_file(f->path, NULL);
    assert_string_equal(got, want);
    free(got);
    /* usec below 100000 keeps its leading zeros; progname is cut at 63 bytes */
    f->w.real_us = INT64_C(1795864818000042);
    char longname[100];
    memset(longname, 'p', 99);
    longname[99] = '\0';
    assert_int_equal(se_logger_set_progname(lg, longname), 0);
    se_log_info(lg, "z");
    got = lt_read_file(f->path, NULL);
    char tail[256];
    snprintf(tail, sizeof tail, ".000042 #%d]  INFO -- %.63s: z\n", pid, longname);
    assert_non_null(strstr(got, tail));
    free(got);
    se_logger_free(lg);
}

/* The pid is the writer's, also in a child forked after the logger was made. */
static void
test_logger_pid_is_the_writing_process_after_fork(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    se_log_info(lg, "parent before");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        se_log_info(lg, "child");
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    se_log_info(lg, "parent after");
    char *text = lt_read_file(f->path, NULL);
    int pids[3] = {0};
    const char *msgs[3] = {"parent before", "child", "parent after"};
    char *l = text;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(l, '\n');
        const char *msg = NULL;
        assert_true(lt_parse_line(l, (size_t)(nl - l), &pids[i], NULL, &msg));
        assert_memory_equal(msg, msgs[i], strlen(msgs[i]));
        l = nl + 1;
    }
    assert_int_equal(pids[0], getpid());
    assert_int_equal(pids[1], child);
    assert_int_equal(pids[2], getpid());
    free(text);
    se_logger_free(lg);
}

/* Splits text into lines, checks each header and returns the messages joined
 * back (continuation marks removed) with the number of lines. */
static char *
reassemble(const char *text, size_t *lines, size_t *longest)
{
    size_t n = strlen(text);
    char *out = calloc(1, n + 1);
    size_t o = 0;
    *lines = 0;
    *longest = 0;
    for (const char *l = text; *l != '\0';) {
        const char *nl = strchr(l, '\n');
        assert_non_null(nl);
        const char *msg = NULL;
        assert_true(lt_parse_line(l, (size_t)(nl - l), NULL, NULL, &msg));
        size_t cm = strlen(SE_LOG_CONT_MARK);
        assert_int_equal(*lines > 0, strncmp(msg, SE_LOG_CONT_MARK, cm) == 0);
        if (*lines > 0) msg += cm;
        memcpy(out + o, msg, (size_t)(nl - msg));
        o += (size_t)(nl - msg);
        if ((size_t)(nl + 1 - l) > *longest) *longest = (size_t)(nl + 1 - l);
        (*lines)++;
        l = nl + 1;
    }
    return out;
}

static bool
valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (k == 0 || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static void
test_logger_long_message_is_split_into_whole_marked_lines(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    size_t n = 10000;
    char *m = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        m[i] = (char)('a' + i % 26);
    m[n] = '\0';
    se_log_info(lg, "%s", m);
    char *text = lt_read_file(f->path, NULL);
    size_t lines = 0, longest = 0;
    char *back = reassemble(text, &lines, &longest);
    assert_string_equal(back, m);
    assert_int_equal(lines, 3);
    assert_true(longest <= SE_LOG_LINE_MAX);
    assert_true(longest >= SE_LOG_LINE_MAX - 8); /* pieces are full */
    free(back);
    free(text);
    /* a multi-byte text is never cut inside a character */
    assert_int_equal(se_logger_set_path(lg, NULL), 0); /* stderr: frees the file */
    unlink(f->path);
    assert_int_equal(se_logger_set_path(lg, f->path), 0);
    const char *e = "\xc3\xa9\xe2\x82\xac"; /* e-acute (2 bytes) and euro (3 bytes) */
    char *u = malloc(5 * 2000 + 1);
    for (int i = 0; i < 2000; i++)
        memcpy(u + 5 * i, e, 5);
    u[5 * 2000] = '\0';
    se_log_info(lg, "%s", u);
    text = lt_read_file(f->path, NULL);
    for (char *l = text; *l;) {
        char *nl = strchr(l, '\n');
        assert_true(valid_utf8(l, (size_t)(nl - l)));
        l = nl + 1;
    }
    back = reassemble(text, &lines, &longest);
    assert_string_equal(back, u);
    free(back);
    free(text);
    free(u);
    free(m);
    /* beyond SE_LOG_MSG_MAX the message is cut, with a marker */
    char *huge = malloc(SE_LOG_MSG_MAX + 5000);
    memset(huge, 'h', SE_LOG_MSG_MAX + 4999);
    huge[SE_LOG_MSG_MAX + 4999] = '\0';
    se_log_info(lg, "%s", huge);
    assert_int_equal(count_in_file(f->path, "...(message cut)\n"), 1);
    free(huge);
    se_logger_free(lg);
}

/* ENOSPC for a window of writes: lines outside it are all there, the loss is
 * reported once (and its end once), nothing crashes. */
static void
test_logger_enospc_window_is_counted_reported_once_and_recovered(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    f->w.log_writes = 0;
    f->w.fail_from = 5;
    f->w.fail_to = 15;
    f->w.fail_err = -ENOSPC;
    for (int i = 0; i < 30; i++)
        se_log_info(lg, "line %03d", i);
    assert_int_equal(se_logger_error_count(lg), 10);
    assert_int_equal(se__logger_lost_pending(lg), 0);
    char *text = lt_read_file(f->path, NULL);
    for (int i = 0; i < 30; i++) {
        char want[32];
        snprintf(want, sizeof want, "line %03d\n", i);
        assert_int_equal(lt_count(text, want), i >= 5 && i < 15 ? 0 : 1);
    }
    assert_int_equal(lt_count(text, "10 log line(s) lost while writing failed"), 1);
    assert_int_equal(lt_count(text, "No space left on device"), 1);
    free(text);
    assert_int_equal(lt_wrap_reports(&f->w, "failed: No space left on device"), 1);
    assert_int_equal(lt_wrap_reports(&f->w, "works again; 10 line(s) lost"), 1);
    /* a flapping disk: short episodes within a minute reach stderr once */
    for (int k = 0; k < 5; k++) {
        f->w.fail_from = f->w.log_writes;
        f->w.fail_to = f->w.log_writes + 2;
        for (int i = 0; i < 3; i++)
            se_log_info(lg, "flap %d %d", k, i);
    }
    assert_int_equal(se_logger_error_count(lg), 20);
    assert_int_equal(lt_wrap_reports(&f->w, "failed: No space left on device"), 1);
    assert_int_equal(count_in_file(f->path, "2 log line(s) lost"), 5); /* but each in the log */
    /* a minute later a new episode is reported again, with the count of the
     * ones that were not */
    f->w.now_ms += 60000;
    f->w.fail_from = f->w.log_writes;
    f->w.fail_to = f->w.log_writes + 3;
    f->w.fail_err = -EIO;
    for (int i = 0; i < 5; i++)
        se_log_info(lg, "more %d", i);
    assert_int_equal(se_logger_error_count(lg), 23);
    assert_int_equal(lt_wrap_reports(&f->w, "failed: Input/output error"), 1);
    assert_int_equal(lt_wrap_reports(&f->w, "(5 earlier episode(s) not reported)"), 1);
    assert_int_equal(lt_wrap_reports(&f->w, "works again; 3 line(s) lost"), 1);
    se_logger_free(lg);
}

/* A disk that fills in the middle of a line: the write is short, then every
 * write fails for a while (the newline that would end the piece too). */
struct tear {
    struct se_os os; /* the wrapped adapter with write and append replaced */
    const struct se_os *inner;
    uint32_t writes;     /* writes to the log (not fd 2) */
    uint32_t short_at;   /* this one writes half its bytes */
    uint32_t full_until; /* the ones after it, up to this one, fail with ENOSPC */
};

/* The test's tear: the methods keep the wrapped adapter's ctx, which the
 * methods not replaced here need. */
static struct tear *g_tear;

static int
tear_next(struct tear *t, size_t *len)
{
    uint32_t k = t->writes++;
    if (k == t->short_at) *len /= 2;
    return k > t->short_at && k < t->full_until ? -ENOSPC : 0;
}

static int
tear_write(void *ctx, int32_t fd, const void *buf, size_t len, size_t *n)
{
    (void)ctx;
    struct tear *t = g_tear;
    int rc = fd == 2 ? 0 : tear_next(t, &len);
    return rc < 0 ? rc : t->inner->write(t->inner->ctx, fd, buf, len, n);
}

static int
tear_append(void *ctx, int32_t fd, const void *buf, size_t len, size_t *n, uint64_t *size)
{
    (void)ctx;
    struct tear *t = g_tear;
    int rc = tear_next(t, &len);
    return rc < 0 ? rc : t->inner->append(t->inner->ctx, fd, buf, len, n, size);
}

/* Every line of the file is whole: the torn piece ends with a newline of its
 * own before the next line, never glued to it; the loss is counted. */
static void
test_logger_line_torn_by_a_full_disk_is_never_glued_to_the_next(void **state)
{
    struct fx *f = *state;
    struct tear t = {.inner = &f->w.os, .short_at = 5, .full_until = 9};
    t.os = f->w.os;
    g_tear = &t;
    t.os.write = tear_write;
    t.os.append = tear_append;
    int err = 1;
    struct se_logger *lg = se__logger_new_os(&t.os, f->path, -1, &err);
    assert_non_null(lg);
    for (int i = 0; i < 20; i++)
        se_log_info(lg, "line %03d of a full disk", i);
    char *text = lt_read_file(f->path, NULL);
    assert_non_null(text);
    for (int i = 0; i < 20; i++) {
        char want[40];
        snprintf(want, sizeof want, "line %03d of a full disk\n", i);
        /* 5 is the torn one; 6 and 7 met the full disk (as did the newline
         * that ends the piece, tried before each); 8 found room again */
        if (lt_count(text, want) != (i >= 5 && i <= 7 ? 0u : 1u)) fail_msg("line %d:\n%s", i, text);
    }
    assert_int_equal(lt_count(text, "3 log line(s) lost while writing failed"), 1);
    size_t lines = 0, pieces = 0;
    for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        lines++;
        int pid;
        char level[6];
        const char *msg;
        if (lt_count(line, "] ") > 1) fail_msg("two lines glued into one: \"%s\"", line);
        if (!lt_parse_line(line, strlen(line), &pid, level, &msg)) pieces++;
    }
    assert_int_equal(pieces, 1);         /* the torn piece, on a line of its own */
    assert_int_equal(lines, 17 + 1 + 1); /* the kept lines, the piece, the note */
    free(text);
    se_logger_free(lg);
    g_tear = NULL;
    assert_no_fd_leak(f);
}

/* Links of our own (or root's) are followed, one level at a time, each
 * judged; a dangling one creates its target; a loop ends in a refusal. */
static void
test_logger_follows_its_own_links_and_stops_at_a_loop(void **state)
{
    struct fx *f = *state;
    char a[600], b[600], target[600];
    file_in(f, "target.log", target, sizeof target);
    assert_int_equal(symlink(target, file_in(f, "b.log", b, sizeof b)), 0);
    assert_int_equal(symlink("b.log", file_in(f, "a.log", a, sizeof a)), 0); /* relative */
    struct se_logger *lg = open_wrapped(f, a);
    se_log_info(lg, "through two links");
    se_logger_free(lg);
    assert_int_equal(count_in_file(target, "through two links"), 1);
    unlink(a);
    unlink(b);
    assert_int_equal(symlink("b.log", a), 0);
    assert_int_equal(symlink("a.log", b), 0);
    int err = 0;
    assert_null(se__logger_new_os(&f->w.os, a, -1, &err));
    assert_int_equal(err, -ELOOP);
    unlink(a);
    unlink(b);
    assert_no_fd_leak(f);
}

/* Rotation time: the path now names a FIFO; the rotation's lock (which
 * opens the path) refuses it at once, says so, and lines go on in the live
 * file; nothing is renamed. */
static void
test_logger_rotation_refuses_a_fifo_at_the_path(void **state)
{
    struct fx *f = *state;
    char moved[600];
    file_in(f, "se1.log.moved", moved, sizeof moved);
    struct se_logger *lg = open_wrapped(f, f->path);
    assert_int_equal(se_logger_set_rotation(lg, 3, 1000), 0);
    se_log_info(lg, "first");
    assert_int_equal(rename(f->path, moved), 0);
    assert_int_equal(mkfifo(f->path, 0644), 0);
    for (int i = 0; i < 40; i++) /* past the threshold, within the check interval */
        se_log_info(lg, "line %03d", i);
    assert_true(f->w.locks == 0); /* the open of the lock was refused before any flock */
    assert_int_equal(lt_wrap_reports(&f->w, "lock failed: a FIFO, not a regular file"), 1);
    assert_int_equal(count_in_file(moved, "line "), 40);
    assert_int_equal(f->w.renames, 0);
    unlink(f->path);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* A FIFO put in place of the log: the reopen refuses it at once (no open
 * blocks), lines go on into the old file, the refusal names what it is. */
static void
test_logger_fifo_in_place_of_the_log_is_refused_at_reopen(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    se_log_info(lg, "before");
    char moved[600];
    assert_int_equal(rename(f->path, file_in(f, "se1.log.moved", moved, sizeof moved)), 0);
    assert_int_equal(mkfifo(f->path, 0644), 0);
    assert_int_equal(se_logger_reopen(lg), -ENXIO);
    se_log_info(lg, "after");
    assert_int_equal(count_in_file(moved, "after"), 1);
    assert_int_equal(lt_wrap_reports(&f->w, "a FIFO, not a regular file"), 1);
    unlink(f->path);
    assert_int_equal(mkdir(f->path, 0755), 0); /* a directory: the same */
    f->w.now_ms += 2000;                       /* and through the identity check */
    se_log_info(lg, "later");
    assert_int_equal(count_in_file(moved, "later"), 1);
    assert_int_equal(se_logger_reopen(lg), -EISDIR);
    rmdir(f->path);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* rename fails with EXDEV: the live file keeps growing, nothing is lost, the
 * error is reported once; once renames work, the rotation completes. */
static void
test_logger_rotation_failure_then_recovery(void **state)
{
    struct fx *f = *state;
    char p0[600], p1[600];
    file_in(f, "se1.log.0", p0, sizeof p0);
    file_in(f, "se1.log.1", p1, sizeof p1);
    struct se_logger *lg = open_wrapped(f, f->path);
    assert_int_equal(se_logger_set_rotation(lg, 3, 1000), 0);
    f->w.rename_fails = 1000;
    f->w.rename_err = -EXDEV;
    for (int i = 0; i < 100; i++) {
        se_log_info(lg, "line %03d", i);
        f->w.now_ms += 50;
    }
    assert_false(lt_exists(p0));
    uint32_t failed = f->w.renames;
    assert_true(failed >= 3 && failed <= 6); /* one attempt per retry_ms, not per line */
    assert_int_equal(lt_wrap_reports(&f->w, "rename"), 1);
    assert_int_equal(lt_wrap_reports(&f->w, "Invalid cross-device link"), 1);
    assert_int_equal(count_in_file(f->path, "line "), 100);
    f->w.rename_fails = 0;
    f->w.now_ms += 1000;
    se_log_info(lg, "line 100");
    assert_true(lt_exists(p0));
    assert_int_equal(count_in_file(p0, "line "), 101);
    assert_int_equal(lt_wrap_reports(&f->w, "works again after"), 1);
    for (int i = 101; i < 111; i++)
        se_log_info(lg, "line %03d", i);
    assert_int_equal(count_in_file(f->path, "line "), 10);
    assert_false(lt_exists(p1));
    assert_int_equal(se_logger_error_count(lg), 0);
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

/* The capture test redirects this process's stdout and stderr, where cmocka
 * reports; it runs in a child so that a failure cannot swallow the report. */
#define CHK(c)                                                                                     \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            dprintf(saved2, "capture check failed at line %d: %s\n", __LINE__, #c);                \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

static void
capture_child(struct fx *f)
{
    int fds_before = lt_fd_count(); /* memcheck holds other fds in a child */
    struct se_logger *lg = open_wrapped(f, f->path);
    int saved1 = dup(1), saved2 = dup(2);
    int r1 = -1, r2 = -1;
    CHK(se_logger_capture(lg, 1, &r1) == 0);
    CHK(se_logger_capture(lg, 1, &r1) == SE_ESTATE); /* once */
    CHK(se_logger_set_path(lg, "-") == SE_ESTATE);   /* would loop */
    CHK(se_logger_capture(lg, 2, &r2) == 0);
    CHK(write(1, "hello\nwor", 9) == 9);
    CHK(se_logger_capture_drain(lg, r1) == 0);
    CHK(count_in_file(f->path, "]  INFO -- stdout: hello\n") == 1);
    CHK(count_in_file(f->path, "wor") == 0); /* partial: waits for more */
    CHK(write(1, "ld\nlast", 7) == 7);
    CHK(write(2, "oops\n", 5) == 5);
    CHK(se_logger_capture_drain(lg, r1) == 0);
    CHK(se_logger_capture_drain(lg, r2) == 0);
    CHK(se_logger_capture_drain(lg, r2) == 0); /* nothing there: not an error */
    CHK(write(1, "\n", 1) == 1);               /* ends "last" */
    char big[5000];
    memset(big, 'b', sizeof big);
    CHK(write(1, big, sizeof big) == (ssize_t)sizeof big);
    CHK(se_logger_capture_drain(lg, r1) == 0);
    CHK(write(1, "tail", 4) == 4);
    CHK(dup2(saved1, 1) == 1); /* the pipe's only writer is gone: EOF */
    CHK(dup2(saved2, 2) == 2);
    CHK(se_logger_capture_drain(lg, r1) == 1);
    CHK(se_logger_capture_drain(lg, r2) == 1);
    CHK(se_logger_capture_drain(lg, r1) == -EINVAL); /* slot released */
    close(r1);
    close(r2);
    close(saved1);
    se_logger_free(lg);
    CHK(lt_fd_count() == fds_before + 1); /* saved2, the reporting channel */
    _exit(0);
}

/* Captured stdout and stderr become lines; a partial last line waits for
 * more or for EOF; a line longer than the buffer goes out in pieces. */
static void
test_logger_capture_logs_lines_and_the_partial_last_one(void **state)
{
    struct fx *f = *state;
    fflush(stdout);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) capture_child(f);
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *text = lt_read_file(f->path, NULL);
    assert_int_equal(lt_count(text, "]  INFO -- stdout: hello\n"), 1);
    assert_int_equal(lt_count(text, "]  INFO -- stdout: world\n"), 1);
    assert_int_equal(lt_count(text, "]  WARN -- stderr: oops\n"), 1);
    assert_int_equal(lt_count(text, "]  INFO -- stdout: last\n"), 1);
    size_t bs = 0;
    for (const char *p = text; *p; p++)
        bs += *p == 'b';
    assert_int_equal(bs, 5000);
    /* the 4096-byte buffer went out first, then the rest with the mark */
    assert_int_equal(lt_count(text, "stdout: " SE_LOG_CONT_MARK "bbb"), 2);
    assert_non_null(strstr(text, "btail\n")); /* the partial last line, at EOF */
    /* hello, world, oops, last; the full buffer as a line and its overflow
     * (header + 4096 > SE_LOG_LINE_MAX), then the rest with "tail" at EOF */
    assert_int_equal(lt_count(text, "\n"), 4 + 3);
    free(text);
}

static void
read_fail_child(struct fx *f)
{
    int fds_before = lt_fd_count();
    struct se_logger *lg = open_wrapped(f, f->path);
    int saved2 = dup(2), saved1 = dup(1);
    int r1 = -1;
    CHK(se_logger_capture(lg, 1, &r1) == 0);
    CHK(write(1, "partial", 7) == 7);
    f->w.read_err = -EIO;
    /* readable but unreadable: the capture ends (1), so no loop spins on it */
    CHK(se_logger_capture_drain(lg, r1) == 1);
    CHK(se_logger_capture_drain(lg, r1) == -EINVAL);
    CHK(dup2(saved1, 1) == 1);
    close(saved1);
    close(r1);
    se_logger_free(lg);
    CHK(count_in_file(f->path, "capture of stdout ended: read failed: Input/output error") == 1);
    CHK(lt_fd_count() == fds_before + 1);
    _exit(0);
}

static void
test_logger_capture_read_error_ends_the_capture(void **state)
{
    struct fx *f = *state;
    fflush(stdout);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) read_fail_child(f);
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
captured_report_child(struct fx *f)
{
    struct se_logger *lg = open_wrapped(f, f->path);
    int saved2 = dup(2);
    int r2 = -1;
    CHK(se_logger_set_rotation(lg, 2, 100) == 0);
    CHK(se_logger_capture(lg, 2, &r2) == 0);
    f->w.rename_fails = 1;
    f->w.rename_err = -EXDEV;
    for (int i = 0; i < 5; i++)
        se_log_info(lg, "line %d", i);
    CHK(f->w.err_len == 0); /* nothing went to fd 2, the pipe only the drain empties */
    CHK(count_in_file(f->path, "]  WARN -- serverengine: log rotation of ") == 1);
    CHK(count_in_file(f->path, "Invalid cross-device link") == 1);
    CHK(dup2(saved2, 2) == 2);
    CHK(se_logger_capture_drain(lg, r2) == 1);
    close(r2);
    se_logger_free(lg);
    _exit(0);
}

/* With stderr captured by the logger, its own reports go into the log. */
static void
test_logger_reports_go_into_the_log_when_stderr_is_captured(void **state)
{
    struct fx *f = *state;
    fflush(stdout);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) captured_report_child(f);
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_logger_capture_of_its_own_output_is_refused(void **state)
{
    struct fx *f = *state;
    int err = 0, r = -1;
    struct se_logger *lg = se__logger_new_os(&f->w.os, NULL, -1, &err); /* stderr */
    assert_non_null(lg);
    assert_int_equal(se_logger_capture(lg, 2, &r), SE_ESTATE);
    assert_int_equal(se_logger_capture(lg, 0, &r), -EINVAL);
    assert_int_equal(se_logger_set_path(lg, "-"), 0);
    assert_int_equal(se_logger_capture(lg, 1, &r), SE_ESTATE);
    se_logger_free(lg);
    lg = se__logger_new_os(&f->w.os, NULL, 1, &err);
    assert_non_null(lg);
    assert_int_equal(se_logger_capture(lg, 1, &r), SE_ESTATE);
    assert_int_equal(se_logger_reopen(lg), 0); /* nothing to reopen: no-op */
    se_logger_free(lg);
    assert_no_fd_leak(f);
}

struct thr {
    struct se_logger *lg;
    int id;
};

static void *
thread_writer(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < 5000; i++)
        se_log_info(t->lg, "t%d s%05d %s", t->id, i, "payload");
    return NULL;
}

/* Threads of one process share the logger through rotations. */
static void
test_logger_threads_share_it_through_rotations(void **state)
{
    struct fx *f = *state;
    int err = 0;
    struct se_logger *lg = se_logger_new(f->path, &err);
    assert_non_null(lg);
    assert_int_equal(se_logger_set_rotation(lg, 100, 64 * 1024), 0);
    pthread_t th[4];
    struct thr args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thr){lg, i};
        assert_int_equal(pthread_create(&th[i], NULL, thread_writer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    se_logger_free(lg);
    size_t total = 0;
    char p[600];
    for (int g = -1; g < 99; g++) {
        if (g < 0)
            snprintf(p, sizeof p, "%s", f->path);
        else
            snprintf(p, sizeof p, "%s.%d", f->path, g);
        char *t = lt_read_file(p, NULL);
        if (t == NULL) continue;
        for (char *l = t; *l;) {
            char *nl = strchr(l, '\n');
            assert_true(lt_parse_line(l, (size_t)(nl - l), NULL, NULL, NULL));
            total++;
            l = nl + 1;
        }
        free(t);
    }
    assert_int_equal(total, 4 * 5000);
    assert_no_fd_leak(f);
}

/* The logger's printf subset against glibc's vsnprintf: what it answers is
 * byte for byte the same; what it declines goes to vsnprintf. */
static int
fmt_compare_va(size_t cap, const char *fmt, va_list ap)
{
    char a[256], b[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = se__log_format(a, cap, fmt, ap);
    int m = vsnprintf(b, cap, fmt, ap2);
    va_end(ap2);
    if (n < 0) return 0; /* declined */
    if (n != m || strcmp(a, b) != 0) {
        print_error("format \"%s\": got \"%s\" (%d), vsnprintf \"%s\" (%d)\n", fmt, a, n, b, m);
        fail();
    }
    return 1;
}

static int SE_PRINTF(2, 3) fmt_compare(size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fmt_compare_va(cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Without the format check: int arguments for %hh and %h on purpose, to see
 * the conversion narrow them as printf does (clang's -Wformat objects). */
static int
fmt_compare_unchecked(size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fmt_compare_va(cap, fmt, ap);
    va_end(ap);
    return rc;
}

#define ANSWERS(...)  assert_int_equal(fmt_compare(256, __VA_ARGS__), 1)
#define DECLINES(...) assert_int_equal(fmt_compare(256, __VA_ARGS__), 0)

static void
test_logger_format_subset_matches_vsnprintf(void **state)
{
    (void)state;
    int x = 0;
    ANSWERS("%d %d %d %d", 0, -1, INT32_MIN, INT32_MAX);
    ANSWERS("[%5d] [%-5d] [%05d] [%05d] [%1d]", -42, 42, -42, 42, 12345);
    ANSWERS("%010ld|%ld|%lu", (long)INT64_MIN, (long)INT64_MAX, (unsigned long)UINT64_MAX);
    ANSWERS("%lld %llu", (long long)INT64_MIN, (unsigned long long)UINT64_MAX);
    ANSWERS("%zu %zd %jd %ju %td", SIZE_MAX, (ssize_t)-5, INTMAX_MIN, UINTMAX_MAX, (ptrdiff_t)-7);
    assert_int_equal(
        fmt_compare_unchecked(256, "%hhd %hhu %hd %hu %hhx", 300, -1, 70000, -1, 0x1ff), 1);
    ANSWERS("%x %X %08x %-8X| %lx %i %u", 0xdeadbeefu, 0xbeefu, 255u, 0xabu,
            (unsigned long)UINT64_MAX, -3, UINT32_MAX);
    ANSWERS("%c|%3c|%-3c|", 'A', 'B', 'C');
    ANSWERS("%s|%10s|%-10s|%.2s|%.*s|%.*s|", "abc", "abc", "abc", "abcdef", 3, "abcdef", -1, "abc");
    ANSWERS("%5.1s|%.0s|%.10s|%-6.3s|", "xyz", "abc", "abc", "abcdef");
    ANSWERS("%p %p", (void *)NULL, (void *)&x);
    static const int64_t edges[] = {0,          1,   9,    10,   11,    99,    100,
                                    101,        999, 1000, 1001, 65535, 99999, 100000,
                                    1000000007, -9,  -10,  -99,  -100,  -1001, INT64_MAX - 1};
    for (size_t i = 0; i < SE_ARRAY_LEN(edges); i++) {
        long long v = (long long)edges[i];
        ANSWERS("%lld|%7lld|%-7lld|%07lld|%llx|%llu", v, v, v, v, (unsigned long long)v,
                (unsigned long long)v);
    }
    ANSWERS("100%% %%d plain");
    ANSWERS("%s", "");
    ANSWERS("w%d s%d n%zu %s", 7, 19999, (size_t)8192, "payload");
    ANSWERS("Worker %u exited unexpectedly with status %d", 3u, 5);
    DECLINES("%f", 1.5);
    DECLINES("%o", 8u);
    DECLINES("%+d", 1);
    DECLINES("% d", 1);
    DECLINES("%#x", 1u);
    DECLINES("%*d", 5, 1);
    DECLINES("%.3d", 1);
    const char *volatile null_text = NULL; /* hidden from -Wformat-overflow */
    DECLINES("%s", null_text);
    DECLINES("%m");
    DECLINES("%ls", L"wide");
    /* output longer than the buffer is declined (vsnprintf tells the length) */
    assert_int_equal(fmt_compare(4, "%s", "abcdef"), 0);
    assert_int_equal(fmt_compare(4, "abcdef"), 0);
    assert_int_equal(fmt_compare(7, "abcdef"), 1);
    assert_int_equal(fmt_compare(7, "%6d", 1), 1);
    assert_int_equal(fmt_compare(7, "%7d", 1), 0);
}

static void
test_logger_rotation_settings_are_checked(void **state)
{
    struct fx *f = *state;
    struct se_logger *lg = open_wrapped(f, f->path);
    assert_int_equal(se_logger_set_rotation(lg, 5, 0), SE_ECONFIG);
    assert_int_equal(se_logger_set_rotation(lg, SE_LOGROT_AGE_MAX + 1, 10), SE_ECONFIG);
    assert_int_equal(se_logger_set_rotation(lg, 0, 0), 0);
    assert_int_equal(se_logger_set_rotation(lg, 5, 1048576), 0);
    se_logger_free(lg);
    se_logger_free(NULL);
    int err = 0;
    assert_null(se_logger_new("/nonexistent-dir/x.log", &err));
    assert_int_equal(err, -ENOENT);
    assert_null(se_logger_new_fd(-1, &err));
    assert_int_equal(err, -EBADF);
    assert_no_fd_leak(f);
}

/* /dev/null is a fine log for a program that wants none (the benchmarks'),
 * though it is a device: the one device the logger takes. */
static void
test_logger_takes_dev_null_as_a_log(void **state)
{
    struct fx *f = *state;
    int err = 0;
    struct se_logger *lg = se_logger_new("/dev/null", &err);
    assert_non_null(lg);
    se_log_info(lg, "into the void");
    assert_int_equal(se_logger_error_count(lg), 0);
    se_logger_free(lg);
    assert_null(se_logger_new("/dev/zero", &err)); /* any other device is refused */
    assert_no_fd_leak(f);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_logger_reopen_after_truncation_by_another_writer),
        T(test_logger_takes_dev_null_as_a_log),
        T(test_logger_set_path_switches_files),
        T(test_logger_default_level_is_debug),
        T(test_logger_level_by_number_and_by_name),
        T(test_logger_unknown_level_is_refused),
        T(test_logger_rotation_age_3_size_10000),
        T(test_logger_inter_process_locking_reports_no_error),
        T(test_logger_follows_a_renamed_path_after_the_identity_check),
        T(test_logger_identity_check_runs_at_most_once_a_second),
        T(test_logger_reopen_request_acts_at_once),
        T(test_logger_line_format_is_ruby_logger_s),
        T(test_logger_pid_is_the_writing_process_after_fork),
        T(test_logger_long_message_is_split_into_whole_marked_lines),
        T(test_logger_enospc_window_is_counted_reported_once_and_recovered),
        T(test_logger_rotation_failure_then_recovery),
        T(test_logger_capture_logs_lines_and_the_partial_last_one),
        T(test_logger_line_torn_by_a_full_disk_is_never_glued_to_the_next),
        T(test_logger_fifo_in_place_of_the_log_is_refused_at_reopen),
        T(test_logger_follows_its_own_links_and_stops_at_a_loop),
        T(test_logger_rotation_refuses_a_fifo_at_the_path),
        T(test_logger_capture_read_error_ends_the_capture),
        T(test_logger_reports_go_into_the_log_when_stderr_is_captured),
        T(test_logger_capture_of_its_own_output_is_refused),
        T(test_logger_threads_share_it_through_rotations),
        T(test_logger_rotation_settings_are_checked),
        T(test_logger_format_subset_matches_vsnprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
