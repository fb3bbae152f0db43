/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_whelper.h: the decisions of a process worker's helper thread, a pure
 * state machine. The helper (worker.c) waits on the adapter
 * (os_posix_worker.c) and feeds what it saw here; the machine says what to
 * do and when to be called again:
 *
 *   - the beat: in automatic mode a stamp every interval, on the deadline;
 *   - the commands: a graceful stop, restart or detach stops run; a reload
 *     reloads; CONT is a dump request, except from the server (its kill
 *     escalation follows every QUIT with CONT) and within
 *     SE_DUMP_AFTER_STOP_MS of a stop request (service managers send CONT
 *     after TERM): serverengine(3), SIGNALS;
 *   - the server gone (the heartbeat pipe's error): run is stopped and gets
 *     SE_STOP_GRACE_MS to return, then the worker exits 1; meanwhile no
 *     beat and no command (nobody reads the one or sends the other).
 */
#ifndef SE_SM_WHELPER_H
#define SE_SM_WHELPER_H

#include "se_int.h"

#define SE_STOP_GRACE_MS 5000 /* a worker whose server is gone gets this long to return */

enum se_wh_in_kind {
    SE_WH_TIMER = 1,   /* the deadline came (or any wake-up: it looks at the clock) */
    SE_WH_SIGNAL,      /* a command signal: .cmd, .from_server, .dump_enabled */
    SE_WH_PARENT_GONE, /* the heartbeat pipe reports an error: the server is gone */
    SE_WH_RUN_DONE,    /* run has returned */
};

struct se_wh_in {
    enum se_wh_in_kind kind;
    enum se_cmd cmd;   /* SIGNAL: the command its signal means */
    bool from_server;  /* SIGNAL: sent by the worker's server */
    bool dump_enabled; /* SIGNAL: disable_sigdump is false */
};

/* What the helper does, any of them in one step, in this order. */
enum se_wh_act {
    SE_WH_BEAT = 1u << 0,     /* write the beat stamp */
    SE_WH_STOP = 1u << 1,     /* call the stop callback (once: the caller keeps it once) */
    SE_WH_RELOAD = 1u << 2,   /* read the configuration again */
    SE_WH_DUMP = 1u << 3,     /* write a sigdump */
    SE_WH_ORPHANED = 1u << 4, /* log that the server is gone (a STOP comes with it) */
    SE_WH_EXIT = 1u << 5,     /* the server is gone and run returned or its time is up: exit 1 */
    SE_WH_RETURN = 1u << 6,   /* run returned: the worker ends with its value */
};

struct se_whelper {
    bool manual;         /* worker_heartbeat_manual: the program beats, not the helper */
    int64_t interval_ms; /* worker_heartbeat_interval (at least 1) */
    int64_t next_beat_ms;
    bool stop_seen; /* a stop request came, at stop_at_ms */
    int64_t stop_at_ms;
    bool orphaned; /* the server is gone; exit at exit_at_ms at the latest */
    int64_t exit_at_ms;
    bool ended; /* RETURN or EXIT was given: nothing more */
};

void se__wh_init(struct se_whelper *h, bool manual, int64_t interval_ms, int64_t now_ms);
/* Returns the actions (SE_WH_* bits) for one input. */
uint32_t se__wh_step(struct se_whelper *h, const struct se_wh_in *in, int64_t now_ms);
/* When to feed SE_WH_TIMER next; SE_INT64_NEVER: only on an event. */
int64_t se__wh_deadline_ms(const struct se_whelper *h);
/* Whether the heartbeat pipe is still worth watching (not once orphaned:
 * its error would wake the helper again and again). */
bool se__wh_watch_parent(const struct se_whelper *h);

#endif /* SE_SM_WHELPER_H */
