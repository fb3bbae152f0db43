/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_kill.h: kill escalation of one child, a pure state machine.
 *
 * Graceful stop: the graceful signal (TERM) at t0, then again at
 * t0+i, t0+i+(i+inc), ... with i = interval and inc = increment; once
 * graceful_timeout has passed since t0 (never when -1) it escalates to an
 * immediate stop. Immediate stop: the immediate signal (QUIT) on the same
 * kind of schedule from its own start; once immediate_timeout has passed
 * (never when -1), SIGKILL. Nothing is ever sent after the child was reaped.
 * An interval of 0 with an increment of 0 sends the phase's signal once.
 * With resume_stopped, every immediate signal is followed by SIGCONT: a
 * stopped process (SIGSTOP, a debugger let go) keeps signals pending until it
 * runs again, so without it a stalled-by-SIGSTOP worker would wait for the
 * SIGKILL at the immediate timeout (Ruby ServerEngine never kills it).
 * This is Ruby ServerEngine's ProcessManager::Monitor#tick with exact
 * deadlines instead of a 0.5 s tick and the monotonic clock instead of
 * Time.now (serverengine(5), TIMING).
 */
#ifndef SE_SM_KILL_H
#define SE_SM_KILL_H

#include "se_int.h"

struct se_kill_cfg {
    enum se_sig graceful_sig;       /* TERM */
    enum se_sig immediate_sig;      /* QUIT */
    int64_t graceful_interval_ms;   /* worker_graceful_kill_interval */
    int64_t graceful_increment_ms;  /* worker_graceful_kill_interval_increment */
    int64_t graceful_timeout_ms;    /* worker_graceful_kill_timeout; -1 never escalates */
    int64_t immediate_interval_ms;  /* worker_immediate_kill_interval */
    int64_t immediate_increment_ms; /* worker_immediate_kill_interval_increment */
    int64_t immediate_timeout_ms;   /* worker_immediate_kill_timeout; -1 never KILLs */
    bool resume_stopped;            /* follow each immediate signal with SIGCONT */
    bool group;                     /* signals go to the child's process group */
};

enum se_kill_phase {
    SE_KILL_IDLE = 0,  /* running; nobody asked it to stop */
    SE_KILL_GRACEFUL,  /* graceful signal on its schedule */
    SE_KILL_IMMEDIATE, /* immediate signal on its schedule */
    SE_KILL_FINAL,     /* SIGKILL sent; resent only if sending failed */
    SE_KILL_REAPED,    /* the handle is dead: never another signal */
};

enum se_kill_in_kind {
    SE_KILL_IN_TICK = 0,      /* time passed */
    SE_KILL_IN_GRACEFUL,      /* start a graceful stop (ignored once stopping) */
    SE_KILL_IN_IMMEDIATE,     /* start or escalate to an immediate stop */
    SE_KILL_IN_SIGNAL_FAILED, /* the adapter could not send .sig: .err */
    SE_KILL_IN_REAPED,        /* the child was reaped */
};

struct se_kill_in {
    enum se_kill_in_kind kind;
    enum se_reason reason; /* GRACEFUL, IMMEDIATE: why (for logs) */
    enum se_sig sig;       /* SIGNAL_FAILED */
    int32_t err;           /* SIGNAL_FAILED: -errno */
};

struct se_kill {
    const struct se_kill_cfg *cfg; /* borrowed; may change between steps (reload) */
    uint32_t slot;                 /* who, for actions and logs */
    uint32_t child;                /* the adapter's handle */
    enum se_kill_phase phase;
    enum se_reason reason;      /* why the current stop started */
    bool escalated;             /* the immediate phase came from the graceful timeout */
    int64_t graceful_start_ms;  /* t0 of the graceful phase */
    int64_t immediate_start_ms; /* t0 of the immediate phase */
    int64_t next_ms;            /* when the phase's next signal is due (NEVER: none) */
    uint32_t count;             /* signals sent in the current phase */
    uint32_t sent_mask;         /* bit (1 << sig) for every signal sent */
    int64_t now_ms_last;
};

void se__kill_init(struct se_kill *k, const struct se_kill_cfg *cfg, uint32_t slot, uint32_t child,
                   int64_t now_ms);

/* Feeds one input at now_ms (never decreasing) and appends actions to out:
 * SE_ACT_SIGNAL and SE_ACT_LOG (kill-signal, kill-escalate, kill-final,
 * kill-signal-failed). Cannot fail. */
void se__kill_step(struct se_kill *k, const struct se_kill_in *in, int64_t now_ms,
                   struct se_acts *out);

/* When the machine wants to be stepped again (SE_INT64_NEVER: not before an input). */
int64_t se__kill_deadline_ms(const struct se_kill *k);

/* Whether sig was ever sent to this child by the machine. */
bool se__kill_sent(const struct se_kill *k, enum se_sig sig);

#endif /* SE_SM_KILL_H */
