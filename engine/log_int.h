/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_int.h: the logger's state and what its files share (logger.c,
 * log_line.c, log_rotate.c, log_capture.c); nothing outside them includes it.
 * Every function here is called with the logger's mutex held unless it says
 * otherwise.
 */
#ifndef SE_LOG_INT_H
#define SE_LOG_INT_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "logger.h"
#include "sm_logrotate.h"

#define HDR_MAX 160u /* the longest header: 4+26+2+11+2+5+4+63+1+11+2 = 131 */
/* the longest JSON line head: 9+26+6+11+5+8+11+10+4+13+6*63+13 = 500 */
#define JSON_HEAD_MAX 512u
#define GEN_PATH_MAX  (SE_PATH_MAX + 16u)

_Static_assert(HDR_MAX + sizeof SE_LOG_CONT_MARK + 64u < SE_LOG_LINE_MAX, "room for a message");
_Static_assert(SE_LOG_PROGNAME_MAX + 68u <= HDR_MAX, "the header fits its reserve");
_Static_assert(6u * SE_LOG_PROGNAME_MAX + 122u <= JSON_HEAD_MAX, "the JSON head fits its reserve");
_Static_assert(JSON_HEAD_MAX + sizeof SE_LOG_CONT_MARK + 64u < SE_LOG_LINE_MAX,
               "room for a message");
_Static_assert(SE_WORKERS_MAX <= 99999u, "a worker id takes at most 5 digits");

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
    char stamp[32]; /* "2026-11-28T11:20:18" in local time */
    char tz[8];     /* its UTC offset, "+01:00" (JSON) */
    size_t tz_len;
    int format;               /* enum se_log_format */
    bool worker_key_ok;       /* worker_key was made */
    pthread_key_t worker_key; /* the calling thread's worker id + 1 (0: none) */
    int32_t process_worker;   /* the id of a thread without one, or SE_LOG_WORKER_NONE */
    int32_t *fork_word;       /* pid cache, zeroed by the kernel in a forked child */
    int32_t pid;              /* the pid pid_text renders */
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

/* Copies n bytes (no terminator: lines are byte strings) and returns the end. */
static inline char *
se__log_put_bytes(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    return dst + n;
}

/* log_line.c: the index of a level in the label tables (out of range: ANY). */
int se__log_level_index(enum se_log_level level);
/* Brings the pid cache up to date (a fork changes it). */
void se__log_pid_refresh(struct se_logger *lg);
/* The monotonic time of a line stamped real_us (one clock read per line). */
int64_t se__log_line_now_ms(struct se_logger *lg, int64_t real_us);
/* Brings the stamp and pid caches up to date for a line stamped real_us. */
void se__log_header_refresh(struct se_logger *lg, int64_t real_us);
/* One line of msg into line (SE_LOG_LINE_MAX bytes) in the logger's format
 * (ruby, journal or json; serverengine(5), log_format): the header, the
 * continuation mark when cont, as much of msg as fits (never cutting a UTF-8
 * character; escaped in JSON), and the newline. Returns the line's length;
 * *taken is how many bytes of msg it holds (some when len > 0). The caches
 * must be fresh (se__log_header_refresh). */
size_t se__log_build_line(const struct se_logger *lg, char *line, enum se_log_level level,
                          const char *prog, size_t prog_len, const char *msg, size_t len, bool cont,
                          int64_t real_us, size_t *taken);

/* logger.c: one line on stderr (or into the log when stderr is captured). */
void se__log_report(struct se_logger *lg, const char *fmt, ...) SE_PRINTF(2, 3);
/* Writes msg (len bytes, no newline) as one line, or several when it does
 * not fit, each with its own header, the continuation ones marked. */
void se__log_emit(struct se_logger *lg, enum se_log_level level, const char *prog, size_t prog_len,
                  const char *msg, size_t len, bool cont, int64_t real_us, int64_t now_ms);

/* log_rotate.c: steps the rotation machine with in, then with the answer to
 * each call it makes, until it asks for nothing more. Returns the result of
 * the last REOPEN. */
int se__log_rot_drive(struct se_logger *lg, struct se_logrot_in in, int64_t now_ms);

/* log_capture.c: EOF on a capture: the partial last line is logged and the
 * slot freed (the caller closes). */
void se__log_capture_eof(struct se_logger *lg, struct capture *c);
/* Puts the original stream back and logs a last partial line. Not under
 * the mutex: the flush comes back through the hook. */
void se__log_hook_remove(struct stdio_hook *h, int target_fd);

#endif /* SE_LOG_INT_H */
