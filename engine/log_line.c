/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_line.c: the words of a log line: level names (by name or Ruby's
 * number), and the header Ruby's Logger::Formatter writes,
 *   "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- prog: "
 * built in place from caches of the local-time stamp (converted once a
 * second) and the pid (asked once after a fork).
 *
 * Never: writes, allocates or takes the logger's mutex (callers hold it).
 */
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "log_int.h"

#define LEVEL_ANY 6 /* Ruby's label for a severity out of range */

static const char level_letter[] = "TDIWEFA";
static const char level_label[7][6] = {"TRACE", "DEBUG", " INFO", " WARN",
                                       "ERROR", "FATAL", "  ANY"};
static const char *const level_names[7] = {"TRACE", "DEBUG", "INFO", "WARN",
                                           "ERROR", "FATAL", "ANY"};

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */

int
se__log_level_index(enum se_log_level level)
{
    return (unsigned)level <= SE_LOG_FATAL ? (int)level : LEVEL_ANY;
}

const char *
se_log_level_name(enum se_log_level level)
{
    return level_names[se__log_level_index(level)];
}

int
se_log_level_parse(const char *text, enum se_log_level *level)
{
    static const char *const numbers[] = {"-1", "0", "1", "2", "3", "4"};
    SE_ASSERT(level != NULL);
    if (text == NULL) return SE_EUNKNOWN;
    for (int l = SE_LOG_TRACE; l <= SE_LOG_FATAL; l++) {
        if (strcasecmp(text, level_names[l]) == 0 || strcmp(text, numbers[l]) == 0) {
            *level = (enum se_log_level)l;
            return 0;
        }
    }
    return SE_EUNKNOWN;
}
/* ------------------------------------------------------------------------ */
/* The line header                                                          */
/* ------------------------------------------------------------------------ */

static size_t
put_uint(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 || n < width);
    for (int i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return (size_t)n;
}

/* Local-time conversion is the costly part of a stamp: once per second. */
static void
stamp_refresh(struct se_logger *lg, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL) memset(&tm, 0, sizeof tm);
    int n =
        snprintf(lg->stamp, sizeof lg->stamp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    lg->stamp_len = n < 0 ? 0 : (size_t)n < sizeof lg->stamp ? (size_t)n : sizeof lg->stamp - 1;
    lg->stamp_sec = sec;
}

/* The pid may change under us (fork), so it is never taken on trust: the
 * fork-wiped word reads 0 in a new child, and without one we ask every time. */
void
se__log_pid_refresh(struct se_logger *lg)
{
    int32_t pid = lg->fork_word != NULL ? *lg->fork_word : 0;
    if (pid == 0) {
        pid = se__posix_pid();
        if (lg->fork_word != NULL) *lg->fork_word = pid;
    }
    if (pid == lg->pid && lg->pid_len > 0) return;
    lg->pid = pid;
    lg->pid_len = put_uint(lg->pid_text, (uint64_t)(uint32_t)pid, 1);
}

/*
 * The monotonic time of a line, from its realtime stamp: the monotonic clock
 * is read once per wall-clock second (as the local-time cache is refreshed)
 * and the realtime delta added in between, so a line costs one clock read,
 * not two. Both clocks run at the same rate; a wall-clock step of a second
 * or more changes the second and re-anchors at once, a smaller one within
 * the second, and a step backwards never moves the result below the anchor.
 * The rotation machine, which only needs "has a second passed", is fed this.
 */
int64_t
se__log_line_now_ms(struct se_logger *lg, int64_t real_us)
{
    int64_t sec = real_us / 1000000;
    if (sec != lg->anchor_sec) {
        lg->anchor_sec = sec;
        lg->anchor_real_us = real_us;
        lg->anchor_mono_ms = lg->os->monotonic_ms(lg->os->ctx);
    }
    int64_t delta_us = real_us - lg->anchor_real_us;
    return lg->anchor_mono_ms + (delta_us > 0 ? delta_us / 1000 : 0);
}

static int64_t
floor_sec(int64_t real_us)
{
    return real_us >= 0 ? real_us / 1000000 : -((-real_us + 999999) / 1000000);
}

/* Brings the stamp and pid caches up to date for a line stamped real_us. */
void
se__log_header_refresh(struct se_logger *lg, int64_t real_us)
{
    int64_t sec = floor_sec(real_us);
    if (sec != lg->stamp_sec) stamp_refresh(lg, sec);
    se__log_pid_refresh(lg);
}

/* The header's length once the caches are fresh: its parts are fixed but
 * the date, the pid and the progname. */
size_t
se__log_header_len(const struct se_logger *lg, size_t prog_len)
{
    return 4 + lg->stamp_len + 7 + 2 + lg->pid_len + 2 + 5 + 4 + prog_len + 2;
}

/* "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- prog: " into p (HDR_MAX),
 * with the caches made fresh for real_us by header_refresh. */
size_t
se__log_build_header(const struct se_logger *lg, char *p, enum se_log_level level, const char *prog,
                     size_t prog_len, int64_t real_us)
{
    int64_t usec = real_us - lg->stamp_sec * 1000000;
    SE_ASSERT(usec >= 0 && usec < 1000000);
    int li = se__log_level_index(level);
    char *s = p;
    *s++ = level_letter[li];
    s = se__log_put_bytes(s, ", [", 3);
    s = se__log_put_bytes(s, lg->stamp, lg->stamp_len);
    *s++ = '.';
    for (int i = 5; i >= 0; i--) {
        s[i] = (char)('0' + usec % 10);
        usec /= 10;
    }
    s += 6;
    s = se__log_put_bytes(s, " #", 2);
    s = se__log_put_bytes(s, lg->pid_text, lg->pid_len);
    s = se__log_put_bytes(s, "] ", 2);
    s = se__log_put_bytes(s, level_label[li], 5);
    s = se__log_put_bytes(s, " -- ", 4);
    s = se__log_put_bytes(s, prog, prog_len);
    s = se__log_put_bytes(s, ": ", 2);
    SE_ASSERT((size_t)(s - p) <= HDR_MAX);
    return (size_t)(s - p);
}
