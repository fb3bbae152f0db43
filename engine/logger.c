/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger.c: the log many processes share (serverengine(3), LOG), Ruby
 * ServerEngine's DaemonLogger made safe across processes.
 *
 * What it reproduces from Ruby: Logger::Formatter's line
 *   "%s, [%s #%d] %5s -- %s: %s\n"
 * (severity letter; local time "%Y-%m-%dT%H:%M:%S.%6N"; pid; level label
 * right-aligned in 5, so " INFO" gives two spaces after the bracket; progname,
 * empty giving "-- : msg"); levels trace < debug < info < warn < error <
 * fatal, default debug, parsed by name or Ruby number; the message written
 * as is, embedded newlines included; rotation by size keeping
 * log_rotate_age files; the inode check at most once a second (PR #127).
 *
 * What it does that Ruby did not, and how:
 *   - Every line is built in one buffer and written by one append on an
 *     O_APPEND descriptor: the kernel appends each write whole, so lines of
 *     several processes never tear. A line never exceeds SE_LOG_LINE_MAX =
 *     PIPE_BUF, so even on a pipe (a container's stdout) a line is atomic.
 *     A longer message is cut into lines of at most that size, each with its
 *     own header; the continuation lines start with SE_LOG_CONT_MARK
 *     "(cont) ", and cuts avoid the middle of a UTF-8 sequence.
 *   - Newlines inside a message are written as is, as Ruby does: the record
 *     stays one write, so a backtrace is never interleaved with other
 *     processes' lines; the price (also Ruby's) is that its inner lines have
 *     no header, and a trailing "\n" yields an empty line.
 *   - Rotation is decided by the pure machine sm_logrotate.c and serialised
 *     with flock(LOCK_EX). The lock is taken on the log file itself, opened
 *     afresh for each attempt, not on a sidecar "path.lock": what the lock
 *     must protect is "the path still names this file", and the re-check
 *     under the lock (path's inode == locked inode) makes exactly that hold,
 *     even when the inode moved while we waited (then we only reopen). A
 *     fresh open per attempt matters because flock belongs to the open file
 *     description: forked children share the logger's descriptor, so locking
 *     it would not exclude them from one another (Ruby's lock_shift_log opens
 *     afresh for the same reason). A sidecar would add a file operators and
 *     tmp cleaners can delete, after which two processes would hold "the"
 *     lock on two inodes.
 *   - Size tracking: the file's real size (others' appends included) comes
 *     from the adapter's append (lseek after the write). Asking for it on
 *     every line would cost a second syscall per line, so the logger keeps
 *     an estimate (last size + own bytes since) and asks only when the
 *     estimate reaches the threshold or after SIZE_SAMPLE_LINES lines or
 *     1/SIZE_SAMPLE_DIV of the threshold. Alone, a process rotates exactly
 *     at the boundary; with N writers the file may overshoot by about what
 *     the others write between two samples (N x threshold/64 at most).
 *   - External rotation (logrotate, mv): the path's identity is checked on
 *     a write at most once a second; the line that notices still lands in
 *     the old file (the check follows the write that reports the size),
 *     the next ones in the new. A missing path is reopened (created), where
 *     Ruby waited for someone to create it.
 *   - A failed write (ENOSPC, EIO) is counted, reported once on stderr,
 *     never raised; the next successful write notes in the log, once, how
 *     many lines were lost. A flapping disk makes many short episodes: each
 *     gets its note in the log, but stderr hears of at most one episode per
 *     REPORT_INTERVAL_MS (the next report counts the ones it skipped).
 *   - stdout/stderr capture through a pipe drained by the caller's loop:
 *     stdout lines at INFO with progname "stdout", stderr lines at WARN with
 *     "stderr" (both are the program's own output; WARN makes stray error
 *     output stand out without calling it an error). A line longer than the
 *     capture buffer goes out in pieces, marked like continuation lines.
 *     Capturing the descriptor the log itself goes to would feed every line
 *     back forever, so it is refused (SE_ESTATE), as is switching the log to
 *     a captured descriptor.
 *   - Cost per line: one clock read (the monotonic time is derived from the
 *     realtime stamp, see line_now_ms), no getpid (a fork-wiped page tells a
 *     child to ask once), local time converted once a second, the common
 *     printf conversions done in place (se__log_format), the rotation machine
 *     stepped only when it has something to decide.
 *
 * What it never does: allocate after creation, keep global state, start a
 * thread or a timer (the identity check and rotation run inside writes),
 * or make a system call other than through the OS adapter and the
 * se__posix_* helpers. One mutex guards the state, the descriptor swaps and
 * the write itself, so that a reopen in one thread can never close the
 * descriptor another thread is writing to (the number could be reused by an
 * unrelated open and receive a log line). The kernel serialises O_APPEND
 * writes to one file anyway, so holding it across the write costs little.
 * Fork with another thread inside the logger leaves the child's mutex held:
 * the engine forks from its single-threaded loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "logger.h"
#include "os_posix.h"
#include "sm_logrotate.h"

#define HDR_MAX            128u /* the longest header: 4+26+2+11+2+5+4+63+2 = 119 */
#define SIZE_SAMPLE_LINES  32u
#define SIZE_SAMPLE_DIV    64u
#define DRAIN_READS_MAX    16u /* reads per drain call: a busy writer cannot hold the loop */
#define DRIVE_STEPS_MAX    (2u * SE_LOGROT_AGE_MAX + 16u)
#define GEN_PATH_MAX       (SE_PATH_MAX + 16u)
#define LEVEL_ANY          6 /* Ruby's label for a severity out of range */
#define CUT_MARK           " ...(message cut)"
#define REPORT_INTERVAL_MS ((int64_t)60 * SE_MS_PER_S)

_Static_assert(HDR_MAX + sizeof SE_LOG_CONT_MARK + 64u < SE_LOG_LINE_MAX, "room for a message");
_Static_assert(SE_LOG_PROGNAME_MAX + 56u <= HDR_MAX, "the header fits its reserve");

enum output_kind {
    OUT_FILE = 0, /* a path we opened; rotation and identity checks apply */
    OUT_STDERR,   /* fd 2, not owned */
    OUT_STDOUT,   /* fd 1, not owned */
    OUT_FD,       /* a descriptor the caller owns */
};

struct output {
    enum output_kind kind;
    int32_t fd;
    struct se_file_id id; /* OUT_FILE: what fd is */
    char path[SE_PATH_MAX];
};

struct capture {
    int32_t read_fd; /* -1: slot unused (always, for a stdio hook's) */
    bool is_err;     /* stderr's: logged at warn, progname "stderr" */
    bool cont;       /* the next piece continues a line already logged in part */
    size_t len;      /* bytes of a partial line in buf */
    char buf[SE_LOG_CAPTURE_MAX];
};

/* The stdio side of a capture: the process's stdout/stderr FILE replaced by
 * a stream that logs its lines directly. stdio output of the process that
 * drains the capture pipe would otherwise go into that pipe, and a callback
 * printing more than the pipe holds would block the only reader for good. */
struct stdio_hook {
    struct se_logger *lg;
    FILE *file;         /* the stream installed, or NULL */
    FILE *saved;        /* the stream it replaced */
    int32_t pid;        /* the process the partial line in cap belongs to (0: none yet) */
    struct capture cap; /* its partial line */
};

/* The fields every line touches come first, together; the path, the
 * scratch names and the big buffers after them. */
struct se_logger {
    pthread_mutex_t mu;
    const struct se_os *os;
    int level;              /* enum se_log_level; atomic loads let is_enabled skip the mutex */
    bool failing;           /* an episode of failed writes is under way */
    bool told;              /* ... and it was reported on stderr */
    bool torn;              /* the output ends inside a line: the next write starts a new one */
    int64_t stamp_sec;      /* the second stamp[] renders; INT64_MIN: none yet */
    int64_t anchor_sec;     /* the wall-clock second of the last monotonic reading */
    int64_t anchor_real_us; /* realtime and monotonic read together at that moment */
    int64_t anchor_mono_ms;
    size_t stamp_len;
    char stamp[32];     /* "2026-11-28T11:20:18" in local time */
    int32_t *fork_word; /* pid cache, zeroed by the kernel in a forked child */
    int32_t pid;        /* the pid pid_text renders */
    char pid_text[12];
    size_t pid_len;
    size_t progname_len;
    char progname[SE_LOG_PROGNAME_MAX + 1];
    uint64_t size_known;  /* the file's size at the last append that reported it */
    uint64_t bytes_since; /* bytes we wrote since */
    uint32_t lines_since; /* lines we wrote since */
    struct se_logrot_cfg rot_cfg;
    struct se_logrot rot;   /* OUT_FILE only */
    struct output out;      /* kind and fd first, the path last */
    int32_t lock_fd;        /* the rotation lock's descriptor while held, else -1 */
    uint64_t errors;        /* failed writes, ever (atomic loads) */
    uint64_t lost;          /* lines lost since the last good write */
    int32_t lost_err;       /* the first error of the episode */
    uint32_t untold;        /* episodes not reported since the last report */
    int64_t report_next_ms; /* no stderr report of a new episode before this */
    char gen_a[GEN_PATH_MAX], gen_b[GEN_PATH_MAX]; /* path.N scratch */
    struct capture cap[2];                         /* stdout, stderr */
    struct stdio_hook hook[2];                     /* stdout, stderr */
    char msg[SE_LOG_MSG_MAX]; /* messages too long for one line, formatted under mu */
};

static const char level_letter[] = "TDIWEFA";
static const char level_label[7][6] = {"TRACE", "DEBUG", " INFO", " WARN",
                                       "ERROR", "FATAL", "  ANY"};
static const char *const level_names[7] = {"TRACE", "DEBUG", "INFO", "WARN",
                                           "ERROR", "FATAL", "ANY"};

static void write_line(struct se_logger *lg, const char *line, size_t len, int64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */

static int
level_index(enum se_log_level level)
{
    return (unsigned)level <= SE_LOG_FATAL ? (int)level : LEVEL_ANY;
}

const char *
se_log_level_name(enum se_log_level level)
{
    return level_names[level_index(level)];
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

int
se_logger_set_level(struct se_logger *lg, enum se_log_level level)
{
    if ((unsigned)level > SE_LOG_FATAL) return SE_EUNKNOWN;
    __atomic_store_n(&lg->level, (int)level, __ATOMIC_RELAXED);
    return 0;
}

enum se_log_level
se_logger_level(const struct se_logger *lg)
{
    return (enum se_log_level)__atomic_load_n(&lg->level, __ATOMIC_RELAXED);
}

bool
se_logger_is_enabled(const struct se_logger *lg, enum se_log_level level)
{
    return level_index(level) >= __atomic_load_n(&lg->level, __ATOMIC_RELAXED);
}

int
se_logger_set_progname(struct se_logger *lg, const char *progname)
{
    pthread_mutex_lock(&lg->mu);
    size_t n = progname == NULL ? 0 : strnlen(progname, SE_LOG_PROGNAME_MAX);
    memcpy(lg->progname, progname == NULL ? "" : progname, n);
    lg->progname[n] = '\0';
    lg->progname_len = n;
    pthread_mutex_unlock(&lg->mu);
    return 0;
}

uint64_t
se_logger_error_count(const struct se_logger *lg)
{
    return __atomic_load_n(&lg->errors, __ATOMIC_RELAXED);
}

uint64_t
se__logger_lost_pending(const struct se_logger *lg)
{
    return __atomic_load_n(&lg->lost, __ATOMIC_RELAXED);
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
static void
pid_refresh(struct se_logger *lg)
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
static int64_t
line_now_ms(struct se_logger *lg, int64_t real_us)
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
static void
header_refresh(struct se_logger *lg, int64_t real_us)
{
    int64_t sec = floor_sec(real_us);
    if (sec != lg->stamp_sec) stamp_refresh(lg, sec);
    pid_refresh(lg);
}

/* The header's length once the caches are fresh: its parts are fixed but
 * the date, the pid and the progname. */
static size_t
header_len(const struct se_logger *lg, size_t prog_len)
{
    return 4 + lg->stamp_len + 7 + 2 + lg->pid_len + 2 + 5 + 4 + prog_len + 2;
}

/* Copies n bytes (no terminator: lines are byte strings) and returns the end. */
static inline char *
put_bytes(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    return dst + n;
}

/* "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- prog: " into p (HDR_MAX),
 * with the caches made fresh for real_us by header_refresh. */
static size_t
build_header(const struct se_logger *lg, char *p, enum se_log_level level, const char *prog,
             size_t prog_len, int64_t real_us)
{
    int64_t usec = real_us - lg->stamp_sec * 1000000;
    SE_ASSERT(usec >= 0 && usec < 1000000);
    int li = level_index(level);
    char *s = p;
    *s++ = level_letter[li];
    s = put_bytes(s, ", [", 3);
    s = put_bytes(s, lg->stamp, lg->stamp_len);
    *s++ = '.';
    for (int i = 5; i >= 0; i--) {
        s[i] = (char)('0' + usec % 10);
        usec /= 10;
    }
    s += 6;
    s = put_bytes(s, " #", 2);
    s = put_bytes(s, lg->pid_text, lg->pid_len);
    s = put_bytes(s, "] ", 2);
    s = put_bytes(s, level_label[li], 5);
    s = put_bytes(s, " -- ", 4);
    s = put_bytes(s, prog, prog_len);
    s = put_bytes(s, ": ", 2);
    SE_ASSERT((size_t)(s - p) <= HDR_MAX);
    return (size_t)(s - p);
}

/* ------------------------------------------------------------------------ */
/* Reports on stderr and the note of lost lines                             */
/* ------------------------------------------------------------------------ */

static void report(struct se_logger *lg, const char *fmt, ...) SE_PRINTF(2, 3);

static void
report(struct se_logger *lg, const char *fmt, ...)
{
    const struct se_os *os = lg->os;
    char buf[2 * GEN_PATH_MAX + 256 + HDR_MAX];
    size_t h = 0;
    /* Race: with stderr captured by this logger, fd 2 is a pipe only the
     * drain empties, and the drain needs the mutex held here; a report
     * written there could block forever on a full pipe. It goes straight
     * into the log instead, as a line of its own. */
    bool captured = lg->cap[1].read_fd >= 0;
    if (captured) {
        int64_t real_us = os->realtime_us(os->ctx);
        header_refresh(lg, real_us);
        h = build_header(lg, buf, SE_LOG_WARN, "serverengine", 12, real_us);
    } else {
        h = (size_t)(put_bytes(buf, "serverengine: ", 14) - buf);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + h, sizeof buf - h, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = h + ((size_t)n < sizeof buf - h ? (size_t)n : sizeof buf - h - 1);
    buf[len - 1] = '\n'; /* every report is one line, even cut short */
    size_t written = 0;
    /* the output may itself be the one failing: nothing more to do then */
    (void)os->write(os->ctx, captured ? lg->out.fd : 2, buf, len, &written);
}

static const char *
out_name(const struct se_logger *lg)
{
    switch (lg->out.kind) {
    case OUT_FILE: return lg->out.path;
    case OUT_STDERR: return "stderr";
    case OUT_STDOUT: return "stdout";
    case OUT_FD: return "a descriptor";
    }
    return "?";
}

static void
write_failed(struct se_logger *lg, int err, int64_t now_ms)
{
    __atomic_store_n(&lg->errors, lg->errors + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&lg->lost, lg->lost + 1, __ATOMIC_RELAXED);
    if (lg->failing) return; /* once per episode, not once per line */
    lg->failing = true;
    lg->lost_err = err;
    lg->told = now_ms >= lg->report_next_ms;
    if (!lg->told) {
        lg->untold++;
        return;
    }
    lg->report_next_ms = se_add_ms(now_ms, REPORT_INTERVAL_MS);
    report(lg,
           "writing the log to %s failed: %s; lines are counted as lost "
           "until a write succeeds (%u earlier episode(s) not reported)\n",
           out_name(lg), se_strerror(err), (unsigned)lg->untold);
    lg->untold = 0;
}

/* The first good write after failures: one note in the log, and one on
 * stderr if the failure was reported there. */
static void
write_recovered(struct se_logger *lg, int64_t real_us, int64_t now_ms)
{
    uint64_t lost = lg->lost;
    int err = lg->lost_err;
    lg->failing = false;
    __atomic_store_n(&lg->lost, 0, __ATOMIC_RELAXED);
    if (lg->told)
        report(lg, "writing the log to %s works again; %llu line(s) lost\n", out_name(lg),
               (unsigned long long)lost);
    char line[HDR_MAX + 160];
    header_refresh(lg, real_us);
    size_t h = build_header(lg, line, SE_LOG_WARN, "serverengine", 12, real_us);
    int n = snprintf(line + h, sizeof line - h, "%llu log line(s) lost while writing failed (%s)\n",
                     (unsigned long long)lost, se_strerror(err));
    if (n > 0 && (size_t)n < sizeof line - h) write_line(lg, line, h + (size_t)n, now_ms);
}

/* ------------------------------------------------------------------------ */
/* Executing the rotation machine's actions                                 */
/* ------------------------------------------------------------------------ */

static const char *
gen_path(struct se_logger *lg, int32_t gen, char *buf)
{
    if (gen == SE_LOGROT_GEN_LIVE) return lg->out.path;
    snprintf(buf, GEN_PATH_MAX, "%s.%d", lg->out.path, (int)gen);
    return buf;
}

static void
answer(struct se_logrot_in *reply, int rc, const struct se_file_id *id)
{
    if (rc < 0)
        *reply = (struct se_logrot_in){.kind = SE_LOGROT_IN_FAILED, .err = rc};
    else
        *reply = (struct se_logrot_in){.kind = SE_LOGROT_IN_DONE, .id = *id};
}

static int
exec_lock(struct se_logger *lg, struct se_file_id *id)
{
    const struct se_os *os = lg->os;
    int32_t fd = -1;
    int rc = os->open_append(os->ctx, lg->out.path, &fd);
    if (rc < 0) return rc;
    rc = os->lock(os->ctx, fd);
    if (rc == 0) rc = os->file_id(os->ctx, NULL, fd, id);
    if (rc < 0) {
        os->close(os->ctx, fd); /* releases the lock too, if it was taken */
        return rc;
    }
    lg->lock_fd = fd;
    return 0;
}

static void
exec_unlock(struct se_logger *lg)
{
    const struct se_os *os = lg->os;
    SE_ASSERT(lg->lock_fd >= 0);
    (void)os->unlock(os->ctx, lg->lock_fd); /* the close below releases it regardless */
    (void)os->close(os->ctx, lg->lock_fd);
    lg->lock_fd = -1;
}

/* Opens the path again and swaps the descriptor; the old one is closed only
 * after the new one works, so a failure leaves lines going to the old file. */
static int
exec_reopen(struct se_logger *lg, struct se_file_id *id)
{
    const struct se_os *os = lg->os;
    int32_t fd = -1;
    int rc = os->open_append(os->ctx, lg->out.path, &fd);
    if (rc < 0) return rc;
    rc = os->file_id(os->ctx, NULL, fd, id);
    if (rc < 0) {
        os->close(os->ctx, fd);
        return rc;
    }
    (void)os->close(os->ctx, lg->out.fd);
    lg->out.fd = fd;
    lg->out.id = *id;
    lg->size_known = id->size_bytes;
    lg->bytes_since = 0;
    lg->lines_since = 0;
    return 0;
}

static void
exec_report(struct se_logger *lg, const struct se_logrot_act *a)
{
    const char *what = "reopen";
    char detail[2 * GEN_PATH_MAX + 8] = "";
    switch (a->op) {
    case SE_LOGROT_ACT_LOCK: what = "lock"; break;
    case SE_LOGROT_ACT_CHECK: what = "stat"; break;
    case SE_LOGROT_ACT_RENAME: what = "rename"; break;
    case SE_LOGROT_ACT_UNLINK: what = "unlink"; break;
    case SE_LOGROT_ACT_REOPEN:
    case SE_LOGROT_ACT_UNLOCK:
    case SE_LOGROT_ACT_REPORT:
    case SE_LOGROT_ACT_RECOVERED: break;
    }
    if (a->op == SE_LOGROT_ACT_RENAME)
        snprintf(detail, sizeof detail, " %s -> %s", gen_path(lg, a->gen, lg->gen_a),
                 gen_path(lg, a->gen_to, lg->gen_b));
    else if (a->op == SE_LOGROT_ACT_CHECK || a->op == SE_LOGROT_ACT_UNLINK)
        snprintf(detail, sizeof detail, " %s", gen_path(lg, a->gen, lg->gen_a));
    /* the open of a reopen or a lock may be a refusal: a planted link,
     * a FIFO or a directory at path, named as such */
    char why[256];
    bool opened = a->op == SE_LOGROT_ACT_REOPEN || a->op == SE_LOGROT_ACT_LOCK;
    report(lg,
           "log rotation of %s: %s%s failed: %s; the live file is kept and "
           "the rotation retried later\n",
           lg->out.path, what, detail,
           opened ? se__posix_open_error(lg->out.path, a->err, why, sizeof why)
                  : se_strerror(a->err));
}

/* Runs one action; for a call, writes the answer to reply and returns true. */
static bool
exec_act(struct se_logger *lg, const struct se_logrot_act *a, struct se_logrot_in *reply,
         int *reopen_err)
{
    const struct se_os *os = lg->os;
    struct se_file_id id = {0};
    int rc = 0;
    switch (a->kind) {
    case SE_LOGROT_ACT_LOCK: rc = exec_lock(lg, &id); break;
    case SE_LOGROT_ACT_CHECK:
        rc = os->file_id(os->ctx, gen_path(lg, a->gen, lg->gen_a), -1, &id);
        break;
    case SE_LOGROT_ACT_RENAME:
        rc = os->rename(os->ctx, gen_path(lg, a->gen, lg->gen_a),
                        gen_path(lg, a->gen_to, lg->gen_b));
        break;
    case SE_LOGROT_ACT_UNLINK: rc = os->unlink(os->ctx, gen_path(lg, a->gen, lg->gen_a)); break;
    case SE_LOGROT_ACT_REOPEN:
        rc = exec_reopen(lg, &id);
        *reopen_err = rc;
        break;
    case SE_LOGROT_ACT_UNLOCK: exec_unlock(lg); return false;
    case SE_LOGROT_ACT_REPORT: exec_report(lg, a); return false;
    case SE_LOGROT_ACT_RECOVERED:
        report(lg, "log rotation of %s works again after %u failed attempt(s)\n", lg->out.path,
               (unsigned)a->count);
        return false;
    }
    answer(reply, rc, &id);
    return true;
}

/* Steps the machine with in, then with the answer to each call it makes,
 * until it asks for nothing more. Returns the result of the last REOPEN. */
static int
rot_drive(struct se_logger *lg, struct se_logrot_in in, int64_t now_ms)
{
    int reopen_err = 0;
    for (uint32_t guard = 0;; guard++) {
        SE_ASSERT(guard < DRIVE_STEPS_MAX);
        struct se_logrot_acts acts = {.count = 0};
        se__logrot_step(&lg->rot, &in, now_ms, &acts);
        bool answered = false;
        for (uint32_t i = 0; i < acts.count; i++)
            answered = exec_act(lg, &acts.items[i], &in, &reopen_err) || answered;
        if (!answered) break;
    }
    SE_ASSERT(lg->lock_fd < 0); /* the machine never leaves the lock held */
    return reopen_err;
}

/* ------------------------------------------------------------------------ */
/* Formatting: a printf subset, exact where it answers                      */
/* ------------------------------------------------------------------------ */

/*
 * glibc's vsnprintf costs more than anything else the logger does for a
 * line (a FILE set up per call, then a general interpreter). The common
 * conversions are done here, with printf's exact output: flags '-' and '0',
 * a decimal width, ".N" or ".*" precision on %s, the length modifiers hh h l
 * ll z j t, and d i u x X c s p %. Anything else (floats, %o, %m, '+', ' ',
 * '#', '*' width, integer precision, NULL strings, output that does not fit)
 * is declined and the caller uses vsnprintf on an untouched va_list. Checked
 * against vsnprintf by test_logger.
 */
struct spec {
    bool left, zero;
    int width; /* -1: none */
    int prec;  /* -1: none; -2: ".*" */
    char len;  /* 0, 'H' (hh), 'h', 'l', 'L' (ll), 'z', 'j', 't' */
    char conv;
};

struct sink {
    char *p, *end; /* end leaves room for the NUL */
};

static bool
sink_put(struct sink *k, const char *s, size_t n)
{
    if ((size_t)(k->end - k->p) < n) return false;
    memcpy(k->p, s, n);
    k->p += n;
    return true;
}

static bool
sink_pad(struct sink *k, char c, int n)
{
    if (n <= 0) return true;
    if (k->end - k->p < n) return false;
    memset(k->p, c, (size_t)n);
    k->p += n;
    return true;
}

static int
parse_num(const char **f)
{
    int v = 0;
    for (; **f >= '0' && **f <= '9'; (*f)++) {
        v = v * 10 + (**f - '0');
        if (v > (int)SE_LOG_LINE_MAX) return -1; /* wider than any line: decline */
    }
    return v;
}

static const char *
parse_length(const char *f, char *len)
{
    *len = 0;
    if (f[0] == 'h' || f[0] == 'l') {
        bool twice = f[1] == f[0];
        *len = twice ? (f[0] == 'h' ? 'H' : 'L') : f[0];
        return f + (twice ? 2 : 1);
    }
    if (f[0] == 'z' || f[0] == 'j' || f[0] == 't') *len = *f++;
    return f;
}

static bool
conv_known(char c)
{
    switch (c) {
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'c':
    case 's':
    case 'p':
    case '%': return true;
    default: return false;
    }
}

/* Parses what follows a '%'; NULL when the spec is not one we answer. */
static const char *
parse_spec(const char *f, struct spec *sp)
{
    *sp = (struct spec){.width = -1, .prec = -1};
    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else
            break;
    }
    if (*f >= '1' && *f <= '9' && (sp->width = parse_num(&f)) < 0) return NULL;
    if (*f == '.') {
        f++;
        if (*f == '*') {
            sp->prec = -2;
            f++;
        } else if ((sp->prec = parse_num(&f)) < 0) {
            return NULL;
        }
    }
    f = parse_length(f, &sp->len);
    sp->conv = *f;
    bool text = sp->conv == 's' || sp->conv == 'c';
    if (!conv_known(sp->conv)) return NULL;
    if (sp->prec != -1 && sp->conv != 's') return NULL;
    if (text && (sp->zero || sp->len != 0)) return NULL;
    if ((sp->conv == 'p' || sp->conv == '%') &&
        (sp->left || sp->zero || sp->width >= 0 || sp->len != 0))
        return NULL;
    return f + 1;
}

static uint64_t
arg_unsigned(va_list *ap, char len)
{
    switch (len) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned int);
    case 'h': return (unsigned short)va_arg(*ap, unsigned int);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t); /* NOLINT(bugprone-branch-clone): = 'j' on LP64 only */
    case 'j': return va_arg(*ap, uintmax_t);
    case 't': return (uint64_t)va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned int);
    }
}

static int64_t
arg_signed(va_list *ap, char len)
{
    switch (len) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return va_arg(*ap, ssize_t); /* NOLINT(bugprone-branch-clone): = 'j' on LP64 only */
    case 'j': return va_arg(*ap, intmax_t);
    case 't': return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

/* Digits of v, decimal or hexadecimal, into the end of buf; returns where
 * they start. Constant divisors: the compiler turns them into multiplies
 * (a run-time base made the division instruction this function's cost). */
static char *
digits(char *end, uint64_t v, bool hex, bool upper)
{
    if (hex) {
        const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        do {
            *--end = set[v & 15u];
            v >>= 4;
        } while (v > 0);
        return end;
    }
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    for (; v >= 100u; v /= 100u) { /* two digits per division */
        end -= 2;
        memcpy(end, pairs + 2 * (v % 100u), 2);
    }
    if (v >= 10u) {
        end -= 2;
        memcpy(end, pairs + 2 * v, 2);
        return end;
    }
    *--end = (char)('0' + v);
    return end;
}

/* Sign and digits, padded to the width as printf does. */
static bool
put_number(struct sink *k, const struct spec *sp, bool minus, const char *d, size_t nd)
{
    const char *sign = "-";
    size_t ns = minus ? 1 : 0;
    int fill = sp->width - (int)(ns + nd);
    if (sp->left) return sink_put(k, sign, ns) && sink_put(k, d, nd) && sink_pad(k, ' ', fill);
    if (sp->zero) return sink_put(k, sign, ns) && sink_pad(k, '0', fill) && sink_put(k, d, nd);
    return sink_pad(k, ' ', fill) && sink_put(k, sign, ns) && sink_put(k, d, nd);
}

static bool
put_int(struct sink *k, const struct spec *sp, va_list *ap)
{
    char buf[24], *end = buf + sizeof buf;
    bool minus = false;
    uint64_t v;
    if (sp->conv == 'd' || sp->conv == 'i') {
        int64_t x = arg_signed(ap, sp->len);
        minus = x < 0;
        v = minus ? (uint64_t)(-(x + 1)) + 1u : (uint64_t)x;
    } else {
        v = arg_unsigned(ap, sp->len);
    }
    char *d = digits(end, v, sp->conv == 'x' || sp->conv == 'X', sp->conv == 'X');
    return put_number(k, sp, minus, d, (size_t)(end - d));
}

static bool
put_text(struct sink *k, const struct spec *sp, va_list *ap)
{
    char c;
    const char *s = &c;
    size_t n = 1;
    if (sp->conv == 'c') {
        c = (char)va_arg(*ap, int);
    } else {
        int prec = sp->prec == -2 ? va_arg(*ap, int) : sp->prec;
        s = va_arg(*ap, const char *);
        if (s == NULL) return false; /* glibc's "(null)" rules: vsnprintf's */
        n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
    }
    int fill = sp->width - (int)n;
    if (sp->left) return sink_put(k, s, n) && sink_pad(k, ' ', fill);
    return sink_pad(k, ' ', fill) && sink_put(k, s, n);
}

static bool
put_pointer(struct sink *k, va_list *ap)
{
    const void *p = va_arg(*ap, const void *);
    if (p == NULL) return sink_put(k, "(nil)", 5);
    char buf[24], *end = buf + sizeof buf;
    char *d = digits(end, (uint64_t)(uintptr_t)p, true, false);
    return sink_put(k, "0x", 2) && sink_put(k, d, (size_t)(end - d));
}

static bool
put_spec(struct sink *k, const struct spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case '%': return sink_put(k, "%", 1);
    case 'c':
    case 's': return put_text(k, sp, ap);
    case 'p': return put_pointer(k, ap);
    default: return put_int(k, sp, ap);
    }
}

static bool
format_all(struct sink *k, const char *f, va_list *ap)
{
    while (*f != '\0') {
        const char *pct = strchr(f, '%');
        size_t lit = pct == NULL ? strlen(f) : (size_t)(pct - f);
        if (!sink_put(k, f, lit)) return false;
        if (pct == NULL) return true;
        struct spec sp;
        f = parse_spec(pct + 1, &sp);
        if (f == NULL || !put_spec(k, &sp, ap)) return false;
    }
    return true;
}

int
se__log_format(char *out, size_t cap, const char *fmt, va_list ap)
{
    SE_ASSERT(cap > 0);
    struct sink k = {out, out + cap - 1};
    va_list a;
    va_copy(a, ap);
    bool ok = format_all(&k, fmt, &a);
    va_end(a);
    *k.p = '\0';
    return ok ? (int)(k.p - out) : -1;
}

/* ------------------------------------------------------------------------ */
/* Writing lines                                                            */
/* ------------------------------------------------------------------------ */

static bool
rotating(const struct se_logger *lg)
{
    return lg->out.kind == OUT_FILE && lg->rot_cfg.rotate_age > 0;
}

/* Whether this write must report the file's size (see "Size tracking"). */
static bool
size_wanted(const struct se_logger *lg, size_t len)
{
    if (!rotating(lg)) return false;
    uint64_t limit = lg->rot_cfg.rotate_size_bytes;
    return lg->size_known + lg->bytes_since + len >= limit ||
           lg->lines_since >= SIZE_SAMPLE_LINES || lg->bytes_since >= limit / SIZE_SAMPLE_DIV;
}

/* Ends the part of a line a short write left (torn): 0 once the output
 * ends with a newline again, else the write's error. Every line in the file stays whole: a torn
 * piece is closed before anything else is written after it. */
static int
untear(struct se_logger *lg)
{
    const struct se_os *os = lg->os;
    size_t written = 0;
    if (!lg->torn) return 0;
    int rc = os->write(os->ctx, lg->out.fd, "\n", 1, &written);
    if (rc == 0 && written == 0) rc = -ENOSPC;
    lg->torn = rc < 0;
    return rc;
}

/* One line, one write. Called with mu held. */
static void
write_line(struct se_logger *lg, const char *line, size_t len, int64_t now_ms)
{
    const struct se_os *os = lg->os;
    bool want = size_wanted(lg, len);
    size_t written = 0;
    uint64_t size = 0;
    int rc = untear(lg); /* fails while the disk that tore the line is still full */
    if (rc == 0)
        rc = want ? os->append(os->ctx, lg->out.fd, line, len, &written, &size)
                  : os->write(os->ctx, lg->out.fd, line, len, &written);
    if (rc < 0 || written < len) {
        /* A short write left part of the line (ENOSPC midway): the piece is
         * ended with a newline, now or before the next line. */
        if (rc == 0 && written > 0) {
            lg->torn = true;
            (void)untear(lg);
        }
        write_failed(lg, rc < 0 ? rc : -ENOSPC, now_ms);
        return;
    }
    if (want) {
        lg->size_known = size;
        lg->bytes_since = 0;
        lg->lines_since = 0;
    } else {
        lg->bytes_since += len;
        lg->lines_since++;
    }
    if (lg->failing) write_recovered(lg, os->realtime_us(os->ctx), now_ms);
    if (lg->out.kind != OUT_FILE) return;
    /* Without a size and before its deadline, a WRITE makes the machine do
     * nothing: skipping the step is the same, and cheaper. */
    if (!want && now_ms < se__logrot_deadline_ms(&lg->rot)) return;
    rot_drive(
        lg,
        (struct se_logrot_in){.kind = SE_LOGROT_IN_WRITE, .size_known = want, .size_bytes = size},
        now_ms);
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

/* Writes msg as one line, or as several when it does not fit: each with its
 * own header, the continuation ones marked. Called with mu held. */
static void
emit(struct se_logger *lg, enum se_log_level level, const char *prog, size_t prog_len,
     const char *msg, size_t len, bool cont, int64_t real_us, int64_t now_ms)
{
    char line[SE_LOG_LINE_MAX];
    header_refresh(lg, real_us);
    size_t h = build_header(lg, line, level, prog, prog_len, real_us);
    size_t off = 0;
    do {
        size_t p = h;
        if (cont) {
            memcpy(line + p, SE_LOG_CONT_MARK, sizeof SE_LOG_CONT_MARK - 1);
            p += sizeof SE_LOG_CONT_MARK - 1;
        }
        size_t room = SE_LOG_LINE_MAX - p - 1;
        size_t take = len - off <= room ? len - off : utf8_cut(msg + off, room);
        memcpy(line + p, msg + off, take);
        p += take;
        line[p++] = '\n';
        write_line(lg, line, p, now_ms);
        off += take;
        cont = true;
    } while (off < len);
}

/* A message longer than one line: formatted whole into lg->msg (under mu),
 * cut with a marker beyond SE_LOG_MSG_MAX, then emitted in pieces. */
static void
log_long(struct se_logger *lg, enum se_log_level level, const char *fmt, va_list ap,
         int64_t real_us, int64_t now_ms)
{
    int n = vsnprintf(lg->msg, sizeof lg->msg, fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len >= sizeof lg->msg) {
        len = sizeof lg->msg - 1;
        memcpy(lg->msg + len - (sizeof CUT_MARK - 1), CUT_MARK, sizeof CUT_MARK - 1);
    }
    emit(lg, level, lg->progname, lg->progname_len, lg->msg, len, false, real_us, now_ms);
}

void
se_logv(struct se_logger *lg, enum se_log_level level, const char *fmt, va_list ap)
{
    if (!se_logger_is_enabled(lg, level)) return;
    const struct se_os *os = lg->os;
    /* The message is formatted outside the lock, right after room for the
     * header, which is built under the lock (its caches are shared). */
    char line[SE_LOG_LINE_MAX];
    char *m = line + HDR_MAX;
    size_t room = SE_LOG_LINE_MAX - HDR_MAX - 1;
    va_list ap2;
    va_copy(ap2, ap);
    int n = se__log_format(m, room + 1, fmt, ap); /* leaves ap untouched */
    if (n < 0) n = vsnprintf(m, room + 1, fmt, ap);
    pthread_mutex_lock(&lg->mu);
    int64_t real_us = os->realtime_us(os->ctx);
    int64_t now_ms = line_now_ms(lg, real_us);
    if (n >= 0 && (size_t)n <= room) {
        header_refresh(lg, real_us);
        size_t h = header_len(lg, lg->progname_len);
        size_t built = build_header(lg, m - h, level, lg->progname, lg->progname_len, real_us);
        SE_ASSERT(built == h);
        m[n] = '\n';
        write_line(lg, m - h, h + (size_t)n + 1, now_ms);
    } else {
        log_long(lg, level, fmt, ap2, real_us, now_ms);
    }
    pthread_mutex_unlock(&lg->mu);
    va_end(ap2);
}

void
se_log(struct se_logger *lg, enum se_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    se_logv(lg, level, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Outputs: creation, switching, reopening, rotation settings               */
/* ------------------------------------------------------------------------ */

/* Resolves path into out, opening a file; nothing is changed in lg. */
static int
output_open(const struct se_os *os, const char *path, struct output *out)
{
    if (path == NULL || path[0] == '\0') {
        *out = (struct output){.kind = OUT_STDERR, .fd = 2};
        return 0;
    }
    if (strcmp(path, "-") == 0) {
        *out = (struct output){.kind = OUT_STDOUT, .fd = 1};
        return 0;
    }
    size_t len = strlen(path);
    if (len >= SE_PATH_MAX) return -ENAMETOOLONG;
    out->kind = OUT_FILE;
    memcpy(out->path, path, len + 1);
    int rc = os->open_append(os->ctx, path, &out->fd);
    if (rc < 0) return rc;
    rc = os->file_id(os->ctx, NULL, out->fd, &out->id);
    if (rc < 0) os->close(os->ctx, out->fd);
    return rc;
}

/* Makes out the output, closing the previous one if it was ours. Under mu. */
static void
output_commit(struct se_logger *lg, const struct output *out)
{
    const struct se_os *os = lg->os;
    if (lg->out.kind == OUT_FILE && lg->out.fd >= 0) (void)os->close(os->ctx, lg->out.fd);
    lg->out = *out;
    lg->torn = false; /* a new output: the torn piece stays in the old one */
    lg->size_known = out->id.size_bytes;
    lg->bytes_since = 0;
    lg->lines_since = 0;
    if (out->kind == OUT_FILE)
        se__logrot_init(&lg->rot, &lg->rot_cfg, &out->id, os->monotonic_ms(os->ctx));
}

struct se_logger *
se__logger_new_os(const struct se_os *os, const char *path, int fd, int *err)
{
    SE_ASSERT(os != NULL && err != NULL);
    SE_ASSERT(fd < 0 || path == NULL);
    struct se_logger *lg = calloc(1, sizeof *lg);
    if (lg == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    lg->os = os;
    lg->level = SE_LOG_DEBUG;
    lg->lock_fd = -1;
    lg->out = (struct output){.kind = OUT_FD, .fd = -1};
    lg->rot_cfg = (struct se_logrot_cfg){.check_interval_ms = SE_LOGROT_CHECK_MS,
                                         .retry_ms = SE_LOGROT_RETRY_MS};
    lg->stamp_sec = INT64_MIN;
    lg->anchor_sec = INT64_MIN;
    lg->report_next_ms = INT64_MIN;
    for (int i = 0; i < 2; i++) {
        lg->cap[i] = (struct capture){.read_fd = -1, .is_err = i == 1};
        lg->hook[i] = (struct stdio_hook){.lg = lg, .cap = {.read_fd = -1, .is_err = i == 1}};
    }
    if (se__posix_fork_word_new(&lg->fork_word) < 0) lg->fork_word = NULL;
    struct output out = {.kind = OUT_FD, .fd = fd};
    int rc = fd >= 0 ? 0 : output_open(os, path, &out);
    if (rc < 0 || pthread_mutex_init(&lg->mu, NULL) != 0) {
        se__posix_fork_word_free(lg->fork_word);
        free(lg);
        *err = rc < 0 ? rc : -ENOMEM;
        return NULL;
    }
    output_commit(lg, &out);
    *err = 0;
    return lg;
}

struct se_logger *
se_logger_new(const char *path, int *err)
{
    return se__logger_new_os(se__os_posix_fs(), path, -1, err);
}

struct se_logger *
se_logger_new_fd(int fd, int *err)
{
    if (fd < 0) {
        *err = -EBADF;
        return NULL;
    }
    return se__logger_new_os(se__os_posix_fs(), NULL, fd, err);
}

/* Whether writing to out would feed a captured stream back into the log. */
static bool
output_loops(const struct se_logger *lg, const struct output *out)
{
    return (out->fd == 1 && lg->cap[0].read_fd >= 0) || (out->fd == 2 && lg->cap[1].read_fd >= 0);
}

int
se_logger_set_path(struct se_logger *lg, const char *path)
{
    struct output out;
    pthread_mutex_lock(&lg->mu);
    int rc = 0;
    bool same = lg->out.kind == OUT_FILE && path != NULL && strcmp(path, lg->out.path) == 0;
    if (!same) rc = output_open(lg->os, path, &out);
    if (!same && rc == 0 && output_loops(lg, &out)) rc = SE_ESTATE; /* only 1 and 2 are not ours */
    if (!same && rc == 0) output_commit(lg, &out);
    pthread_mutex_unlock(&lg->mu);
    return rc;
}

int
se_logger_reopen(struct se_logger *lg)
{
    pthread_mutex_lock(&lg->mu);
    int rc = 0;
    if (lg->out.kind == OUT_FILE) {
        int64_t now_ms = lg->os->monotonic_ms(lg->os->ctx);
        rc = rot_drive(lg, (struct se_logrot_in){.kind = SE_LOGROT_IN_REOPEN}, now_ms);
    }
    pthread_mutex_unlock(&lg->mu);
    return rc;
}

int
se_logger_set_rotation(struct se_logger *lg, uint32_t rotate_age, uint64_t rotate_size_bytes)
{
    struct se_logrot_cfg cfg = {.rotate_age = rotate_age,
                                .rotate_size_bytes = rotate_size_bytes,
                                .check_interval_ms = SE_LOGROT_CHECK_MS,
                                .retry_ms = SE_LOGROT_RETRY_MS};
    if (!se__logrot_cfg_valid(&cfg)) return SE_ECONFIG;
    pthread_mutex_lock(&lg->mu);
    lg->rot_cfg = cfg; /* kept for a later file output when this one is not a file */
    if (lg->out.kind == OUT_FILE) se__logrot_set_cfg(&lg->rot, &cfg);
    pthread_mutex_unlock(&lg->mu);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Capture of stdout and stderr                                             */
/* ------------------------------------------------------------------------ */

static void hook_install(struct stdio_hook *h, int target_fd);

int
se_logger_capture(struct se_logger *lg, int target_fd, int *read_fd)
{
    if (target_fd != 1 && target_fd != 2) return -EINVAL;
    struct capture *c = &lg->cap[target_fd - 1];
    pthread_mutex_lock(&lg->mu);
    int rc = 0;
    /* The log itself going to the target would read back its own lines forever. */
    if (lg->out.fd == target_fd || c->read_fd >= 0) rc = SE_ESTATE;
    int32_t fd = -1;
    if (rc == 0) rc = se__posix_capture_pipe(target_fd, &fd);
    if (rc == 0) {
        c->read_fd = fd;
        c->len = 0;
        c->cont = false;
        *read_fd = fd;
    }
    pthread_mutex_unlock(&lg->mu);
    if (rc == 0) hook_install(&lg->hook[target_fd - 1], target_fd);
    return rc;
}

/* Logs len bytes at p as one captured line (in pieces if long). Under mu. */
static void
capture_emit(struct se_logger *lg, struct capture *c, const char *p, size_t len)
{
    const struct se_os *os = lg->os;
    bool is_out = !c->is_err;
    enum se_log_level level = is_out ? SE_LOG_INFO : SE_LOG_WARN;
    if (se_logger_is_enabled(lg, level))
        emit(lg, level, is_out ? "stdout" : "stderr", 6, p, len, c->cont, os->realtime_us(os->ctx),
             os->monotonic_ms(os->ctx));
}

/* Logs every whole line in the buffer and keeps a partial last one, unless
 * the buffer is full of it: then it goes out as a piece to be continued. */
static void
capture_lines(struct se_logger *lg, struct capture *c)
{
    size_t start = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (c->buf[i] != '\n') continue;
        capture_emit(lg, c, c->buf + start, i - start);
        c->cont = false;
        start = i + 1;
    }
    if (start == 0 && c->len == sizeof c->buf) {
        capture_emit(lg, c, c->buf, c->len);
        c->cont = true;
        start = c->len;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
}

/* EOF: the partial last line is logged and the slot freed (the caller closes). */
static void
capture_eof(struct se_logger *lg, struct capture *c)
{
    if (c->len > 0) capture_emit(lg, c, c->buf, c->len);
    c->len = 0;
    c->cont = false;
    c->read_fd = -1;
}

static struct capture *
capture_find(struct se_logger *lg, int read_fd)
{
    for (size_t i = 0; i < SE_ARRAY_LEN(lg->cap); i++)
        if (read_fd >= 0 && lg->cap[i].read_fd == read_fd) return &lg->cap[i];
    return NULL;
}

/* A read error ends the capture like EOF (after saying so in the log): a
 * descriptor that stays readable but cannot be read would otherwise make
 * the caller's loop spin on it. */
static void
capture_read_failed(struct se_logger *lg, struct capture *c, int err)
{
    const struct se_os *os = lg->os;
    char note[128];
    int n = snprintf(note, sizeof note, "capture of %s ended: read failed: %s",
                     c->is_err ? "stderr" : "stdout", se_strerror(err));
    capture_eof(lg, c);
    if (n > 0)
        emit(lg, SE_LOG_WARN, "serverengine", 12, note, (size_t)n, false, os->realtime_us(os->ctx),
             os->monotonic_ms(os->ctx));
}

int
se_logger_capture_drain(struct se_logger *lg, int read_fd)
{
    const struct se_os *os = lg->os;
    pthread_mutex_lock(&lg->mu);
    struct capture *c = capture_find(lg, read_fd);
    int rc = c == NULL ? -EINVAL : 0;
    for (uint32_t i = 0; rc == 0 && i < DRAIN_READS_MAX; i++) {
        size_t n = 0;
        rc = os->read(os->ctx, read_fd, c->buf + c->len, sizeof c->buf - c->len, &n);
        if (rc == -EAGAIN) {
            rc = 0; /* all read; the caller's loop calls again when readable */
            break;
        }
        if (rc < 0) {
            capture_read_failed(lg, c, rc);
            rc = 1;
        } else if (n == 0) {
            capture_eof(lg, c);
            rc = 1;
        } else {
            c->len += n;
            capture_lines(lg, c);
        }
    }
    pthread_mutex_unlock(&lg->mu);
    return rc;
}

/* The stdio hook's write: whole lines are logged at once, a partial one
 * waits for the rest. A forked child starts without its parent's partial
 * line (the parent logs that one). Called by stdio with its own lock held. */
static ssize_t
hook_write(void *cookie, const char *buf, size_t size)
{
    struct stdio_hook *h = cookie;
    struct se_logger *lg = h->lg;
    pthread_mutex_lock(&lg->mu);
    pid_refresh(lg);
    if (h->pid != lg->pid) {
        h->pid = lg->pid;
        h->cap.len = 0;
        h->cap.cont = false;
    }
    struct capture *c = &h->cap;
    for (size_t off = 0; off < size;) {
        size_t room = sizeof c->buf - c->len;
        size_t n = size - off < room ? size - off : room;
        memcpy(c->buf + c->len, buf + off, n);
        c->len += n;
        off += n;
        capture_lines(lg, c);
    }
    pthread_mutex_unlock(&lg->mu);
    return (ssize_t)size;
}

/* Replaces stdout (1) or stderr (2) by a stream into the log. Without one
 * (no memory) stdio keeps writing into the capture pipe as before. */
static void
hook_install(struct stdio_hook *h, int target_fd)
{
    FILE **std = target_fd == 1 ? &stdout : &stderr;
    if (h->file != NULL) return;
    FILE *f = fopencookie(h, "w", (cookie_io_functions_t){.write = hook_write});
    if (f == NULL) return;
    /* stdout keeps its buffer (lines go out at each newline), stderr none */
    if (setvbuf(f, NULL, target_fd == 1 ? _IOLBF : _IONBF, target_fd == 1 ? BUFSIZ : 0) != 0) {
        fclose(f);
        return;
    }
    fflush(*std); /* what was buffered before goes where it was headed */
    h->saved = *std;
    h->file = f;
    *std = f;
}

/* Puts the original stream back and logs a last partial line. Not under mu:
 * the flush comes back through hook_write. */
static void
hook_remove(struct stdio_hook *h, int target_fd)
{
    FILE **std = target_fd == 1 ? &stdout : &stderr;
    if (h->file == NULL) return;
    fflush(h->file);
    if (*std == h->file) *std = h->saved;
    fclose(h->file);
    h->file = NULL;
    pthread_mutex_lock(&h->lg->mu);
    if (h->cap.len > 0) capture_emit(h->lg, &h->cap, h->cap.buf, h->cap.len);
    h->cap.len = 0;
    pthread_mutex_unlock(&h->lg->mu);
}

void
se_logger_free(struct se_logger *lg)
{
    if (lg == NULL) return;
    hook_remove(&lg->hook[0], 1);
    hook_remove(&lg->hook[1], 2);
    pthread_mutex_lock(&lg->mu);
    for (size_t i = 0; i < SE_ARRAY_LEN(lg->cap); i++)
        if (lg->cap[i].read_fd >= 0) capture_eof(lg, &lg->cap[i]);
    if (lg->out.kind == OUT_FILE) (void)lg->os->close(lg->os->ctx, lg->out.fd);
    pthread_mutex_unlock(&lg->mu);
    pthread_mutex_destroy(&lg->mu);
    se__posix_fork_word_free(lg->fork_word);
    free(lg);
}

void
se__logger_fork_lock(void *lg)
{
    struct se_logger *l = lg;
    if (l != NULL) pthread_mutex_lock(&l->mu);
}

void
se__logger_fork_unlock(void *lg)
{
    /* in the child the forking thread is the one that locked: the unlock is
     * its own */
    struct se_logger *l = lg;
    if (l != NULL) pthread_mutex_unlock(&l->mu);
}
