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
    /* the UTC offset, for JSON's time: "+01:00" */
    long off_min = tm.tm_gmtoff / 60, abs_min = off_min < 0 ? -off_min : off_min;
    char *z = lg->tz;
    *z++ = off_min < 0 ? '-' : '+';
    z += put_uint(z, (uint64_t)(abs_min / 60 % 100), 2);
    *z++ = ':';
    z += put_uint(z, (uint64_t)(abs_min % 60), 2);
    lg->tz_len = (size_t)(z - lg->tz);
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

/* The worker id of the calling thread's lines: its own, else the process's
 * (SE_LOG_WORKER_NONE: none). */
static int64_t
line_worker(const struct se_logger *lg)
{
    uintptr_t v = lg->worker_key_ok ? (uintptr_t)pthread_getspecific(lg->worker_key) : 0;
    return v == 0 ? lg->process_worker : (int64_t)(v - 1);
}

/* Ruby's progname field: the progname, then "worker N" for a worker's line
 * (separated by a space when both are there). */
static char *
put_prog(char *s, const char *prog, size_t prog_len, int64_t worker)
{
    s = se__log_put_bytes(s, prog, prog_len);
    if (worker == SE_LOG_WORKER_NONE) return s;
    if (prog_len > 0) *s++ = ' ';
    s = se__log_put_bytes(s, "worker ", 7);
    return s + put_uint(s, (uint64_t)worker, 1);
}

/* "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- prog: " (ruby) or
 * "<6>[#4242]  INFO -- prog: " (journal) into p (HDR_MAX bytes). */
static size_t
build_header(const struct se_logger *lg, char *p, enum se_log_level level, const char *prog,
             size_t prog_len, int64_t real_us)
{
    /* syslog priorities: crit, err, warning, notice (ANY), info, debug */
    static const char priority[7] = {'7', '7', '6', '4', '3', '2', '5'};
    int li = se__log_level_index(level);
    char *s = p;
    if (lg->format == SE_LOG_FORMAT_JOURNAL) {
        *s++ = '<';
        *s++ = priority[li];
        s = se__log_put_bytes(s, ">[#", 3);
    } else {
        int64_t usec = real_us - lg->stamp_sec * 1000000;
        SE_ASSERT(usec >= 0 && usec < 1000000);
        *s++ = level_letter[li];
        s = se__log_put_bytes(s, ", [", 3);
        s = se__log_put_bytes(s, lg->stamp, lg->stamp_len);
        *s++ = '.';
        s += put_uint(s, (uint64_t)usec, 6);
        s = se__log_put_bytes(s, " #", 2);
    }
    s = se__log_put_bytes(s, lg->pid_text, lg->pid_len);
    s = se__log_put_bytes(s, "] ", 2);
    s = se__log_put_bytes(s, level_label[li], 5);
    s = se__log_put_bytes(s, " -- ", 4);
    s = put_prog(s, prog, prog_len, line_worker(lg));
    s = se__log_put_bytes(s, ": ", 2);
    SE_ASSERT((size_t)(s - p) <= HDR_MAX);
    return (size_t)(s - p);
}

/* Cuts at most room bytes off s (which is longer), not inside a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t room)
{
    size_t cut = room;
    for (int back = 0; back < 3 && cut > 1 && ((unsigned char)s[cut] & 0xC0u) == 0x80u; back++)
        cut--;
    return ((unsigned char)s[cut] & 0xC0u) == 0x80u ? room : cut;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0:
 * no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0u) != 0x80u) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* UTF-16 surrogates */
    if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* above U+10FFFF */
    return len;
}

/* The JSON form of the unit at s: *in bytes of it give *out bytes in esc
 * (or, when *out is 0, *in bytes copied as they are). */
static void
json_unit(const unsigned char *s, size_t n, char esc[6], size_t *in, size_t *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    static const char plain[] = "\"\\\n\r\t\b\f", named[] = "\"\\nrtbf";
    const char *short_esc = strchr(plain, c);
    *in = 1;
    *out = 0;
    if (c != '\0' && short_esc != NULL) {
        esc[0] = '\\';
        esc[1] = named[short_esc - plain];
        *out = 2;
    } else if (c < 0x20 || c == 0x7f) {
        esc[0] = '\\';
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        *out = 6;
    } else if (c >= 0x80) {
        *in = utf8_len(s, n);
        if (*in == 0) { /* not UTF-8: the replacement character */
            *in = 1;
            static const char replacement[6] = {'\\', 'u', 'f', 'f', 'f', 'd'};
            memcpy(esc, replacement, sizeof replacement);
            *out = 6;
        }
    }
}

/* Escapes as much of s (n bytes) as fits in room bytes at p, whole units
 * only. Returns the bytes written; *taken is the bytes of s consumed. */
static size_t
json_escape(char *p, size_t room, const char *s, size_t n, size_t *taken)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        char esc[6];
        size_t in, out;
        json_unit(u + i, n - i, esc, &in, &out);
        size_t need = out > 0 ? out : in;
        if (o + need > room) break;
        memcpy(p + o, out > 0 ? esc : s + i, need);
        o += need;
        i += in;
    }
    *taken = i;
    return o;
}

/* {"time":"2026-11-28T11:20:18.123456+01:00","level":"INFO","pid":4242,
 * "worker":3,"progname":"","message":" into p. */
static size_t
json_head(const struct se_logger *lg, char *p, size_t cap, enum se_log_level level,
          const char *prog, size_t prog_len, int64_t real_us)
{
    int64_t usec = real_us - lg->stamp_sec * 1000000, worker = line_worker(lg);
    SE_ASSERT(usec >= 0 && usec < 1000000);
    char *s = se__log_put_bytes(p, "{\"time\":\"", 9);
    s = se__log_put_bytes(s, lg->stamp, lg->stamp_len);
    *s++ = '.';
    s += put_uint(s, (uint64_t)usec, 6);
    s = se__log_put_bytes(s, lg->tz, lg->tz_len);
    s = se__log_put_bytes(s, "\",\"level\":\"", 11);
    const char *name = level_names[se__log_level_index(level)];
    s = se__log_put_bytes(s, name, strlen(name));
    s = se__log_put_bytes(s, "\",\"pid\":", 8);
    s = se__log_put_bytes(s, lg->pid_text, lg->pid_len);
    s = se__log_put_bytes(s, ",\"worker\":", 10);
    if (worker == SE_LOG_WORKER_NONE)
        s = se__log_put_bytes(s, "null", 4);
    else
        s += put_uint(s, (uint64_t)worker, 1);
    s = se__log_put_bytes(s, ",\"progname\":\"", 13);
    size_t taken;
    s += json_escape(s, cap - (size_t)(s - p), prog, prog_len, &taken);
    SE_ASSERT(taken == prog_len); /* 6 x SE_LOG_PROGNAME_MAX fits: see JSON_HEAD_MAX */
    s = se__log_put_bytes(s, "\",\"message\":\"", 13);
    return (size_t)(s - p);
}

/* ------------------------------------------------------------------------ */
/* A whole line                                                             */
/* ------------------------------------------------------------------------ */

size_t
se__log_build_line(const struct se_logger *lg, char *line, enum se_log_level level,
                   const char *prog, size_t prog_len, const char *msg, size_t len, bool cont,
                   int64_t real_us, size_t *taken)
{
    bool json = lg->format == SE_LOG_FORMAT_JSON;
    size_t p = json ? json_head(lg, line, JSON_HEAD_MAX, level, prog, prog_len, real_us)
                    : build_header(lg, line, level, prog, prog_len, real_us);
    if (cont)
        p = (size_t)(se__log_put_bytes(line + p, SE_LOG_CONT_MARK, sizeof SE_LOG_CONT_MARK - 1) -
                     line);
    if (json) {
        p += json_escape(line + p, SE_LOG_LINE_MAX - p - 3, msg, len, taken);
        p = (size_t)(se__log_put_bytes(line + p, "\"}", 2) - line);
    } else {
        size_t room = SE_LOG_LINE_MAX - p - 1;
        *taken = len <= room ? len : utf8_cut(msg, room);
        p = (size_t)(se__log_put_bytes(line + p, msg, *taken) - line);
    }
    line[p++] = '\n';
    SE_ASSERT(*taken > 0 || len == 0);
    return p;
}
