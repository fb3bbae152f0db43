/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger_util.h: what the logger's tests share: a scratch directory, file
 * helpers, a check of Ruby's line format, the descriptor count, and a
 * wrapped OS adapter whose monotonic clock the test drives and whose calls
 * can be made to fail for a window of calls.
 */
#ifndef SE_TEST_LOGGER_UTIL_H
#define SE_TEST_LOGGER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "se_int.h"

/* A wrapped adapter: every method forwards to the POSIX one except where
 * the fields below say otherwise. Counters count calls as they arrive. */
struct lt_wrap {
    struct se_os os; /* give &w->os to the logger; os.ctx points back here */
    const struct se_os *real;
    bool fake_clock; /* monotonic_ms returns now_ms */
    int64_t now_ms;
    int64_t real_us; /* realtime_us returns this when nonzero, else it follows now_ms */
    int64_t real_base_us;
    /* log writes (append and write to any fd but 2): calls number
     * [fail_from, fail_to) fail with fail_err */
    uint32_t log_writes;
    uint32_t fail_from, fail_to;
    int fail_err;
    /* renames: the next rename_fails renames fail with rename_err */
    uint32_t renames;
    uint32_t rename_fails;
    int rename_err;
    uint32_t path_stats; /* file_id calls on a path (identity checks, probes) */
    int read_err;        /* reads fail with this when nonzero */
    uint32_t locks;
    /* what the logger wrote to fd 2 (its reports), kept instead of printed */
    char err_text[8192];
    size_t err_len;
};

void lt_wrap_init(struct lt_wrap *w);
/* Reports on stderr so far that contain needle. */
int lt_wrap_reports(const struct lt_wrap *w, const char *needle);

/* A fresh directory under /tmp; lt_dir_remove deletes it and its files. */
void lt_dir_make(char *dir, size_t size);
void lt_dir_remove(const char *dir);

/* The whole file, NUL-terminated (caller frees), or NULL when it is missing. */
char *lt_read_file(const char *path, size_t *len);
bool lt_exists(const char *path);
size_t lt_count(const char *text, const char *needle);

/* Whether line (without its '\n') is a Ruby Logger line: on success *msg
 * points into line at the message, *pid holds the pid, *level the label. */
bool lt_parse_line(const char *line, size_t len, int *pid, char level[6], const char **msg);

/* Open descriptors of this process (/proc/self/fd). */
int lt_fd_count(void);

#endif
