/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_capture.c: the process's stdout and stderr into the log (serverengine(3),
 * LOG): the descriptors 1 and 2 become a pipe the caller's loop drains line
 * by line, and stdio's streams are replaced by ones that log their lines
 * directly (the process that drains the pipe must never write into it).
 *
 * Stdout lines are logged at INFO with progname "stdout", stderr lines at
 * WARN with "stderr" (both are the program's own output; WARN makes stray
 * error output stand out without calling it an error). A line longer than
 * the capture buffer goes out in pieces, marked like continuation lines.
 * Capturing the descriptor the log itself goes to would feed every line
 * back forever, so it is refused (SE_ESTATE), as is switching the log to a
 * captured descriptor.
 *
 * Never: blocks on the pipe (reads are bounded per drain call and stop at
 * EAGAIN), or keeps global state.
 */
#include <errno.h>
#include <stdio.h>

#include "log_int.h"

#define DRAIN_READS_MAX 16u /* reads per drain call: a busy writer cannot hold the loop */

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
        se__log_emit(lg, level, is_out ? "stdout" : "stderr", 6, p, len, c->cont,
                     os->realtime_us(os->ctx), os->monotonic_ms(os->ctx));
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
void
se__log_capture_eof(struct se_logger *lg, struct capture *c)
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
    se__log_capture_eof(lg, c);
    if (n > 0)
        se__log_emit(lg, SE_LOG_WARN, "serverengine", 12, note, (size_t)n, false,
                     os->realtime_us(os->ctx), os->monotonic_ms(os->ctx));
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
            se__log_capture_eof(lg, c);
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
    se__log_pid_refresh(lg);
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
void
se__log_hook_remove(struct stdio_hook *h, int target_fd)
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
