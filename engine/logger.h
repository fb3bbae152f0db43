/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger.h: the logger's internal interface (the public one is the "Logger"
 * section of serverengine.h).
 *
 * se__logger_new_os builds a logger on any OS adapter: the public
 * constructors pass se__os_posix_fs(), the engine passes its own, tests wrap
 * one to control the clock and inject failures. The se__posix_* helpers are
 * the logger's few system calls that the adapter struct does not carry; they
 * live in os_posix_fs.c with the other system calls.
 */
#ifndef SE_LOGGER_H
#define SE_LOGGER_H

#include <stdarg.h>

#include "se_int.h"

/* Longest progname kept (se_logger_set_progname), without the NUL. */
#define SE_LOG_PROGNAME_MAX 63u
/* Longest message formatted whole; longer ones are cut with a marker. */
#define SE_LOG_MSG_MAX (64u * 1024u)
/* Marks the lines that continue a message too long for one line. */
#define SE_LOG_CONT_MARK "(cont) "
/* The captured-output buffer: a line longer than this is logged in pieces. */
#define SE_LOG_CAPTURE_MAX 4096u

_Static_assert(SE_LOG_MSG_MAX >= SE_LOG_LINE_MAX, "a message buffer holds at least one line");

/*
 * Opens a logger on os, which must stay valid for the logger's life and
 * provide clocks, read, write, close, open_append, rename, unlink, file_id,
 * lock, unlock and append. Output: fd when fd >= 0 (not owned, path must be
 * NULL); else path as for se_logger_new (NULL or "" stderr, "-" stdout, a
 * file otherwise). Returns NULL with *err = -errno (-ENOMEM, the open's
 * error) on failure.
 */
struct se_logger *se__logger_new_os(const struct se_os *os, const char *path, int fd, int *err);

/* Formats like vsnprintf(out, cap, fmt, ap) for the common conversions
 * (see log_format.c) and returns the length; -1 when it declines (a conversion
 * it does not do, or output longer than cap - 1): then use vsnprintf. ap is
 * not consumed. */
int se__log_format(char *out, size_t cap, const char *fmt, va_list ap);

/* The shape of every line from now on (log_line.c). 0, or SE_EUNKNOWN for
 * a value that is not a format (the format in force stays). */
int se__logger_set_format(struct se_logger *lg, enum se_log_format format);

/* No worker: the lines of the server, the supervisor, and captured output. */
#define SE_LOG_WORKER_NONE (-1)

/* The worker id the calling thread's lines carry from now on (a thread
 * worker sets it on its thread), or SE_LOG_WORKER_NONE. Ids are 0 ..
 * SE_WORKERS_MAX - 1. Without thread-specific storage (the key could not be
 * made) these lines carry the process's id (below), if any. */
void se__logger_set_worker(struct se_logger *lg, int64_t worker_id);

/* The worker id of every line of this process whose thread set none (a
 * process worker sets it once after the fork: the logger is the child's
 * copy, so its parent's lines are unchanged), or SE_LOG_WORKER_NONE. */
void se__logger_set_process_worker(struct se_logger *lg, int64_t worker_id);

/* Lines lost to failed writes since the last successful one (tests). */
uint64_t se__logger_lost_pending(const struct se_logger *lg);

/* This process's pid (getpid). */
int32_t se__posix_pid(void);

/* Held across a fork (se_spawn_req.fork_prepare / fork_after): no thread
 * can be inside the logger when the child is made. */
void se__logger_fork_lock(void *lg);
void se__logger_fork_unlock(void *lg);

/* A zeroed word the kernel zeroes again in a forked child (MADV_WIPEONFORK),
 * in its own page. 0, or -errno (-EINVAL before Linux 4.14; the caller then
 * asks for the pid on every line). Release with se__posix_fork_word_free. */
int se__posix_fork_word_new(int32_t **word);
void se__posix_fork_word_free(int32_t *word);

/*
 * Opens path as the engine opens every file it is given (the log, a config
 * file, the sigdump file; the pid file has its own protocol in daemon.c):
 * flags (O_RDONLY, or O_WRONLY|O_APPEND|O_CREAT, ...) plus O_NONBLOCK, so
 * that a FIFO or a device planted at path cannot block the caller's loop in
 * open(); then fstat: anything but a regular file is refused, and
 * O_NONBLOCK is cleared. A symbolic link is followed only when it is owned
 * by this process's user or by root (each link of a chain is checked);
 * another user's link is refused, as fs.protected_symlinks does in sticky
 * directories; with O_NOFOLLOW in flags no link is followed at all. Returns 0 with *fd
 * (close-on-exec) or -errno: -ELOOP for a refused link, -EISDIR for a directory, -ENXIO for a FIFO,
 * socket or device, or the open's own error. Describe a failure with se__posix_open_error.
 */
int se__posix_open_regular(const char *path, int flags, uint32_t mode, int32_t *fd);

/* What se__posix_open_regular's err means for path, in words, into buf:
 * "a symbolic link owned by uid 1001 (alice), neither this user nor root:
 * not followed ...", "a FIFO, not a regular file: refused", or the errno's
 * text. Returns buf. */
const char *se__posix_open_error(const char *path, int err, char *buf, size_t size);

/* Redirects target_fd (1 or 2) into a new pipe; *read_fd is its read end,
 * non-blocking and close-on-exec. 0 or -errno; target_fd unchanged on error. */
int se__posix_capture_pipe(int32_t target_fd, int32_t *read_fd);

#endif /* SE_LOGGER_H */
