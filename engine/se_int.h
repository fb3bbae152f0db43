/* SPDX-License-Identifier: Apache-2.0 */
/*
 * se_int.h: what the engine's files share and the installed header does not
 * show: assertions, fixed limits, the action records the pure machines emit,
 * and the reasons and events they explain themselves with.
 *
 * Pure machines (sm_*.c) include only this header, their own, and
 * <stdint.h> <stdbool.h> <stddef.h> <string.h>.
 */
#ifndef SE_INT_H
#define SE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "serverengine.h"
#include "se_os.h"

/* ------------------------------------------------------------------------ */
/* Assertions: always compiled in; for programmer errors, never for input.  */
/* ------------------------------------------------------------------------ */

#if defined(__GNUC__)
#define SE_NORETURN     __attribute__((noreturn))
#define SE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SE_UNUSED       __attribute__((unused))
#else
#define SE_NORETURN
#define SE_PRINTF(a, b)
#define SE_UNUSED
#endif

SE_NORETURN void se__assert_fail(const char *file, int line, const char *expr);

#define SE_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) se__assert_fail(__FILE__, __LINE__, #x);                                         \
    } while (0)

#define SE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The shape of a log line (serverengine(5), log_format): Ruby Logger's line
 * (the default), a journald priority prefix without the time, or one JSON
 * object per line. */
enum se_log_format {
    SE_LOG_FORMAT_RUBY = 0,
    SE_LOG_FORMAT_JOURNAL,
    SE_LOG_FORMAT_JSON,
};

/* ------------------------------------------------------------------------ */
/* Limits. Everything is bounded; the relations are checked at compile time. */
/* ------------------------------------------------------------------------ */

#define SE_WORKERS_MAX  1024u /* workers per server */
#define SE_SERVERS_MAX  4u    /* server processes a supervisor tracks (current + detached) */
#define SE_EVS_MAX      64u   /* events taken from one wait() */
#define SE_ACTS_MAX     (16u * SE_WORKERS_MAX) /* actions queued and not yet run */
#define SE_PATH_MAX     1024u                  /* paths in the configuration */
#define SE_MSG_MAX      (SE_PATH_MAX + 256u) /* an error message: a path and what is wrong with it */
#define SE_NAME_MAX     256u                 /* process names, user and group names */
#define SE_LOG_LINE_MAX 4096u                /* one log line, header included */
#define SE_INT64_NEVER  INT64_MAX            /* "no deadline" */

/* The driver reclaims run actions once half the queue is used, so half of it
 * bounds the backlog. No closed bound is claimed: 8 per worker is a margin
 * over the largest backlog the simulator has seen (4,808 at 1,024 workers,
 * 4.7 per worker), and its invariant fails any run past half the queue. */
_Static_assert(SE_ACTS_MAX / 2u >= 8u * SE_WORKERS_MAX,
               "the largest backlog fits in half the queue");
_Static_assert(SE_SERVERS_MAX >= 2u, "detach needs the old and the new server");

/* Milliseconds helpers for durations given in seconds in the config. */
#define SE_MS_PER_S 1000

/* A CONT this soon after a stop request is a service manager's (they send
 * CONT right after TERM), not a dump request: the driver's rule for a
 * server or supervisor, and a process worker's helper's for the worker
 * (serverengine(3), SIGNALS). */
#define SE_DUMP_AFTER_STOP_MS 5000

/* ------------------------------------------------------------------------ */
/* Why the engine stops or restarts something: every kill is explained.    */
/* ------------------------------------------------------------------------ */

enum se_reason {
    SE_REASON_NONE = 0,
    SE_REASON_STOP,           /* an operator asked the server to stop */
    SE_REASON_RESTART,        /* an operator asked for a restart of workers */
    SE_REASON_SCALE_DOWN,     /* `workers` was lowered by a reload */
    SE_REASON_HEARTBEAT,      /* no beat for worker_heartbeat_timeout */
    SE_REASON_HEARTBEAT_EOF,  /* the child closed its heartbeat pipe */
    SE_REASON_UNRECOVERABLE,  /* stop_immediately_at_unrecoverable_exit */
    SE_REASON_DETACH,         /* live restart: the old server is told to go */
    SE_REASON_SERVER_RESTART, /* restart_server_process */
    SE_REASON_GROUP_LEFT,     /* a worker ended: what is left of its process group */
    SE_REASON_COUNT
};

/* A short phrase for logs: "stop request", "heartbeat timeout", ... */
const char *se__reason_text(enum se_reason reason);

/* ------------------------------------------------------------------------ */
/* Events the machines report; the driver turns them into log lines with    */
/* the fixed wording of serverengine(3), LOG.                                     */
/* ------------------------------------------------------------------------ */

enum se_event {
    SE_EVT_NONE = 0,
    /* worker pool */
    SE_EVT_WORKER_STARTED,             /* slot */
    SE_EVT_WORKER_FINISHED,            /* slot status sig: exit after an engine stop */
    SE_EVT_WORKER_EXITED,              /* slot: status 0 without a stop */
    SE_EVT_WORKER_EXITED_UNEXPECTEDLY, /* slot status sig outside */
    SE_EVT_WORKER_UNRECOVERABLE,       /* slot status */
    SE_EVT_WORKER_RESTART_DELAYED,     /* slot ms count(crashes in a row) */
    SE_EVT_WORKER_SPAWN_FAILED,        /* slot err ms(retry in) */
    SE_EVT_WORKER_STOP,                /* slot graceful reason */
    SE_EVT_WORKERS_SCALED,             /* count(from) status(to) */
    SE_EVT_WORKERS_DONE,               /* status: every worker is gone, the server exits */
    /* heartbeat */
    SE_EVT_HEARTBEAT_LOST, /* slot ms(age) */
    SE_EVT_HEARTBEAT_EOF,  /* slot */
    /* kill escalation */
    SE_EVT_KILL_SIGNAL,        /* slot sig count(attempt) reason */
    SE_EVT_KILL_ESCALATE,      /* slot ms(timeout) */
    SE_EVT_KILL_FINAL,         /* slot ms(timeout): SIGKILL now */
    SE_EVT_KILL_SIGNAL_FAILED, /* slot sig err */
    /* supervisor */
    SE_EVT_SERVER_STARTED,               /* slot */
    SE_EVT_SERVER_FINISHED,              /* slot status sig: expected */
    SE_EVT_SERVER_FINISHED_UNEXPECTEDLY, /* slot status sig */
    SE_EVT_SERVER_RESTART_DELAYED,       /* ms no_slot */
    SE_EVT_SERVER_SPAWN_FAILED,          /* err ms */
    SE_EVT_SERVER_DETACH,                /* slot ms(wait) */
    SE_EVT_DETACHED_FINISHED,            /* slot status sig */
    SE_EVT_SERVER_STOP,                  /* slot graceful reason */
    SE_EVT_SUPERVISOR_DONE,              /* status */
    SE_EVT_CMD_IGNORED,                  /* input state: the supervisor machine's */
    SE_EVT_COUNT
};

/* ------------------------------------------------------------------------ */
/* Actions: what a machine asks the driver to do. Appended to a caller-     */
/* owned queue; the driver executes them and feeds results back as inputs. */
/* ------------------------------------------------------------------------ */

enum se_act_kind {
    SE_ACT_SPAWN = 1, /* start slot */
    SE_ACT_STOP,      /* stop slot (graceful or not) for reason: the driver routes it to
                         the slot's kill machine or to the worker's stop callback */
    SE_ACT_SIGNAL,    /* send sig to slot's child (handle child) */
    SE_ACT_FORWARD,   /* pass cmd on to slot's child (the supervisor to its server) */
    SE_ACT_LOST,      /* slot's heartbeat is older than the timeout (ms = age) */
    SE_ACT_RELOAD,    /* re-read this process's configuration */
    SE_ACT_LOG,       /* report event */
    SE_ACT_EXIT,      /* this role is done: exit with status */
};

struct se_act {
    enum se_act_kind kind;
    enum se_event event;   /* SE_ACT_LOG */
    enum se_reason reason; /* STOP, LOG */
    enum se_sig sig;       /* SIGNAL; LOG: a terminating signal */
    enum se_cmd cmd;       /* FORWARD, LOG */
    bool graceful;         /* STOP, LOG */
    bool group;            /* SIGNAL: to the child's process group */
    bool outside;          /* LOG of an unexpected exit: by a signal the engine never sent */
    bool no_slot;          /* LOG of a delayed server restart: every slot is taken */
    uint32_t input;        /* LOG of an ignored input: the machine's input kind */
    uint32_t state;        /* LOG of an ignored input: the machine's state then */
    uint32_t slot;         /* worker id, or server slot */
    uint32_t child;        /* SIGNAL: the adapter's handle */
    uint32_t count;        /* attempt number, crashes in a row, ... */
    int32_t status;        /* exit code, -1 when signalled; EXIT: the status */
    int32_t err;           /* -errno of a failed call */
    int64_t ms;            /* a duration: delay, age, timeout */
};

struct se_acts {
    uint32_t count;
    uint32_t cap;
    struct se_act *items; /* caller-owned storage of cap entries */
};

static inline void
se_acts_push(struct se_acts *acts, struct se_act act)
{
    SE_ASSERT(acts->count < acts->cap);
    acts->items[acts->count++] = act;
}

static inline void
se_acts_log(struct se_acts *acts, struct se_act act)
{
    act.kind = SE_ACT_LOG;
    se_acts_push(acts, act);
}

static inline int64_t
se_min_ms(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t
se_max_ms(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* a + b for deadlines, saturating at SE_INT64_NEVER. */
static inline int64_t
se_add_ms(int64_t a, int64_t b)
{
    if (a == SE_INT64_NEVER || b == SE_INT64_NEVER) return SE_INT64_NEVER;
    if (b > 0 && a > SE_INT64_NEVER - b) return SE_INT64_NEVER;
    return a + b;
}

#endif /* SE_INT_H */
