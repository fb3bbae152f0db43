/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger.c: the log many processes share (serverengine(3), LOG), Ruby
 * ServerEngine's DaemonLogger made safe across processes: creation, outputs,
 * levels, and writing a line (one write per line, failures counted). The
 * line's header is log_line.c's, the printf subset log_format.c's, the
 * rotation's actions log_rotate.c's, output capture log_capture.c's; what
 * they share is in log_int.h.
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
 *   - Rotation is decided by the pure machine sm_logrotate.c and its actions
    run by log_rotate.c, under a lock on the log file itself.
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
 *   - stdout/stderr capture: log_capture.c.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log_int.h"
#include "os_posix.h"

#define SIZE_SAMPLE_LINES  32u
#define SIZE_SAMPLE_DIV    64u
#define CUT_MARK           " ...(message cut)"
#define REPORT_INTERVAL_MS ((int64_t)60 * SE_MS_PER_S)

static void write_line(struct se_logger *lg, const char *line, size_t len, int64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Levels                                                                   */
/* ------------------------------------------------------------------------ */

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
    return se__log_level_index(level) >= __atomic_load_n(&lg->level, __ATOMIC_RELAXED);
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

int
se__logger_set_format(struct se_logger *lg, enum se_log_format format)
{
    if ((unsigned)format > SE_LOG_FORMAT_JSON) return SE_EUNKNOWN;
    pthread_mutex_lock(&lg->mu);
    lg->format = (int)format;
    pthread_mutex_unlock(&lg->mu);
    return 0;
}

void
se__logger_set_worker(struct se_logger *lg, int64_t worker_id)
{
    SE_ASSERT(worker_id == SE_LOG_WORKER_NONE ||
              (worker_id >= 0 && worker_id < (int64_t)SE_WORKERS_MAX));
    if (!lg->worker_key_ok) return;
    uintptr_t v = worker_id == SE_LOG_WORKER_NONE ? 0 : (uintptr_t)worker_id + 1;
    /* the id rides in the pointer, never dereferenced; fails only without memory */
    (void)pthread_setspecific(lg->worker_key, (void *)v); /* NOLINT(performance-no-int-to-ptr) */
}

void
se__logger_set_process_worker(struct se_logger *lg, int64_t worker_id)
{
    SE_ASSERT(worker_id == SE_LOG_WORKER_NONE ||
              (worker_id >= 0 && worker_id < (int64_t)SE_WORKERS_MAX));
    pthread_mutex_lock(&lg->mu);
    lg->process_worker = (int32_t)worker_id;
    pthread_mutex_unlock(&lg->mu);
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
/* Reports on stderr and the note of lost lines                             */
/* ------------------------------------------------------------------------ */

void
se__log_report(struct se_logger *lg, const char *fmt, ...)
{
    const struct se_os *os = lg->os;
    char msg[2 * GEN_PATH_MAX + 256], line[SE_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    if (msg[len - 1] == '\n') len--; /* every report is one line, even cut short */
    /* Race: with stderr captured by this logger, fd 2 is a pipe only the
     * drain empties, and the drain needs the mutex held here; a report
     * written there could block forever on a full pipe. It goes straight
     * into the log instead, as a line of its own (its first piece when
     * long), in the log's format. */
    bool captured = lg->cap[1].read_fd >= 0;
    size_t size = 0, taken = 0;
    if (captured) {
        int64_t real_us = os->realtime_us(os->ctx);
        se__log_header_refresh(lg, real_us);
        size = se__log_build_line(lg, line, SE_LOG_WARN, "serverengine", 12, msg, len, false,
                                  real_us, &taken);
    } else {
        size = (size_t)(se__log_put_bytes(line, "serverengine: ", 14) - line);
        size = (size_t)(se__log_put_bytes(line + size, msg, len) - line);
        line[size++] = '\n';
    }
    size_t written = 0;
    /* the output may itself be the one failing: nothing more to do then */
    (void)os->write(os->ctx, captured ? lg->out.fd : 2, line, size, &written);
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
    se__log_report(lg,
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
        se__log_report(lg, "writing the log to %s works again; %llu line(s) lost\n", out_name(lg),
                       (unsigned long long)lost);
    char note[160];
    int n = snprintf(note, sizeof note, "%llu log line(s) lost while writing failed (%s)",
                     (unsigned long long)lost, se_strerror(err));
    if (n > 0 && (size_t)n < sizeof note)
        se__log_emit(lg, SE_LOG_WARN, "serverengine", 12, note, (size_t)n, false, real_us, now_ms);
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
    se__log_rot_drive(
        lg,
        (struct se_logrot_in){.kind = SE_LOGROT_IN_WRITE, .size_known = want, .size_bytes = size},
        now_ms);
}

/* Writes msg as one line, or as several when it does not fit: each with its
 * own header, the continuation ones marked. Called with mu held. */
void
se__log_emit(struct se_logger *lg, enum se_log_level level, const char *prog, size_t prog_len,
             const char *msg, size_t len, bool cont, int64_t real_us, int64_t now_ms)
{
    char line[SE_LOG_LINE_MAX];
    se__log_header_refresh(lg, real_us);
    size_t off = 0;
    do {
        size_t taken = 0;
        size_t n = se__log_build_line(lg, line, level, prog, prog_len, msg + off, len - off, cont,
                                      real_us, &taken);
        write_line(lg, line, n, now_ms);
        off += taken;
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
    se__log_emit(lg, level, lg->progname, lg->progname_len, lg->msg, len, false, real_us, now_ms);
}

void
se_logv(struct se_logger *lg, enum se_log_level level, const char *fmt, va_list ap)
{
    if (!se_logger_is_enabled(lg, level)) return;
    const struct se_os *os = lg->os;
    /* The message is formatted outside the lock; the line is built under it
     * (the header's caches are shared). */
    char m[SE_LOG_LINE_MAX];
    va_list ap2;
    va_copy(ap2, ap);
    int n = se__log_format(m, sizeof m, fmt, ap); /* leaves ap untouched */
    if (n < 0) n = vsnprintf(m, sizeof m, fmt, ap);
    pthread_mutex_lock(&lg->mu);
    int64_t real_us = os->realtime_us(os->ctx);
    int64_t now_ms = se__log_line_now_ms(lg, real_us);
    if (n >= 0 && (size_t)n < sizeof m) {
        se__log_emit(lg, level, lg->progname, lg->progname_len, m, (size_t)n, false, real_us,
                     now_ms);
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
    lg->worker_key_ok = pthread_key_create(&lg->worker_key, NULL) == 0; /* else: per process */
    lg->process_worker = SE_LOG_WORKER_NONE;
    struct output out = {.kind = OUT_FD, .fd = fd};
    int rc = fd >= 0 ? 0 : output_open(os, path, &out);
    if (rc < 0 || pthread_mutex_init(&lg->mu, NULL) != 0) {
        if (lg->worker_key_ok) pthread_key_delete(lg->worker_key);
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
        rc = se__log_rot_drive(lg, (struct se_logrot_in){.kind = SE_LOGROT_IN_REOPEN}, now_ms);
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
/* Freeing, and the lock held across a fork                                 */
/* ------------------------------------------------------------------------ */

void
se_logger_free(struct se_logger *lg)
{
    if (lg == NULL) return;
    se__log_hook_remove(&lg->hook[0], 1);
    se__log_hook_remove(&lg->hook[1], 2);
    pthread_mutex_lock(&lg->mu);
    for (size_t i = 0; i < SE_ARRAY_LEN(lg->cap); i++)
        if (lg->cap[i].read_fd >= 0) se__log_capture_eof(lg, &lg->cap[i]);
    if (lg->out.kind == OUT_FILE) (void)lg->os->close(lg->os->ctx, lg->out.fd);
    pthread_mutex_unlock(&lg->mu);
    pthread_mutex_destroy(&lg->mu);
    if (lg->worker_key_ok) pthread_key_delete(lg->worker_key);
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
