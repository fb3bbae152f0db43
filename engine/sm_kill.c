/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_kill.c: kill escalation of one child (see sm_kill.h for the schedule).
 *
 * Pure: no syscall, no clock, no allocation, no global. The caller passes
 * now_ms and executes the SE_ACT_SIGNAL actions; a failed send comes back as
 * SE_KILL_IN_SIGNAL_FAILED. Schedules are anchored at the phase's start, so
 * a late wake-up neither shifts later signals nor fires a burst of missed
 * ones: it sends one signal and skips to the next slot in the future.
 */
#include <errno.h>

#include "sm_kill.h"

/* Bounds the catch-up loop after a long stall of the caller. */
#define KILL_CATCHUP_MAX 1000000u

void
se__kill_init(struct se_kill *k, const struct se_kill_cfg *cfg, uint32_t slot, uint32_t child,
              int64_t now_ms)
{
    SE_ASSERT(k != NULL);
    SE_ASSERT(cfg != NULL);
    memset(k, 0, sizeof *k);
    k->cfg = cfg;
    k->slot = slot;
    k->child = child;
    k->phase = SE_KILL_IDLE;
    k->next_ms = SE_INT64_NEVER;
    k->now_ms_last = now_ms;
}

bool
se__kill_sent(const struct se_kill *k, enum se_sig sig)
{
    SE_ASSERT((unsigned)sig < 32u);
    return (k->sent_mask >> sig) & 1u;
}

static int64_t
phase_interval_ms(const struct se_kill *k, uint32_t n)
{
    bool graceful = k->phase == SE_KILL_GRACEFUL;
    int64_t base = graceful ? k->cfg->graceful_interval_ms : k->cfg->immediate_interval_ms;
    int64_t inc = graceful ? k->cfg->graceful_increment_ms : k->cfg->immediate_increment_ms;
    if (base <= 0 && inc <= 0) return 0; /* send once */
    int64_t ms = base + inc * (int64_t)n;
    return ms > 0 ? ms : 1;
}

/* The moment the current phase ends by timeout, or NEVER. */
static int64_t
phase_timeout_at_ms(const struct se_kill *k)
{
    if (k->phase == SE_KILL_GRACEFUL) {
        if (k->cfg->graceful_timeout_ms < 0) return SE_INT64_NEVER;
        return se_add_ms(k->graceful_start_ms, k->cfg->graceful_timeout_ms);
    }
    if (k->phase == SE_KILL_IMMEDIATE) {
        if (k->cfg->immediate_timeout_ms < 0) return SE_INT64_NEVER;
        return se_add_ms(k->immediate_start_ms, k->cfg->immediate_timeout_ms);
    }
    return SE_INT64_NEVER;
}

static void
emit_signal(struct se_kill *k, enum se_sig sig, struct se_acts *out)
{
    SE_ASSERT(k->phase != SE_KILL_REAPED);
    k->sent_mask |= 1u << sig;
    se_acts_push(out, (struct se_act){.kind = SE_ACT_SIGNAL,
                                      .slot = k->slot,
                                      .child = k->child,
                                      .sig = sig,
                                      .group = k->cfg->group,
                                      .reason = k->reason});
}

static void
enter_immediate(struct se_kill *k, int64_t start_ms, bool escalated)
{
    k->phase = SE_KILL_IMMEDIATE;
    k->immediate_start_ms = start_ms;
    k->next_ms = start_ms;
    k->count = 0;
    k->escalated = escalated;
}

/* Sends the phase's signal, then moves next_ms to the first slot after now. */
static void
send_scheduled(struct se_kill *k, enum se_sig sig, int64_t now_ms, struct se_acts *out)
{
    emit_signal(k, sig, out);
    if (k->phase == SE_KILL_IMMEDIATE && k->cfg->resume_stopped) emit_signal(k, SE_SIG_CONT, out);
    se_acts_log(out, (struct se_act){.event = SE_EVT_KILL_SIGNAL,
                                     .slot = k->slot,
                                     .sig = sig,
                                     .child = k->child,
                                     .count = k->count + 1,
                                     .reason = k->reason});
    uint32_t guard = 0;
    do {
        int64_t interval = phase_interval_ms(k, k->count);
        k->count++;
        if (interval == 0) {
            k->next_ms = SE_INT64_NEVER;
            return;
        }
        k->next_ms = se_add_ms(k->next_ms, interval);
        SE_ASSERT(++guard < KILL_CATCHUP_MAX);
    } while (k->next_ms <= now_ms);
}

static void
kill_final(struct se_kill *k, struct se_acts *out)
{
    int64_t timeout = k->cfg->immediate_timeout_ms;
    k->phase = SE_KILL_FINAL;
    k->next_ms = SE_INT64_NEVER;
    emit_signal(k, SE_SIG_KILL, out);
    se_acts_log(out, (struct se_act){.event = SE_EVT_KILL_FINAL,
                                     .slot = k->slot,
                                     .child = k->child,
                                     .ms = timeout,
                                     .reason = k->reason});
}

static void
advance_graceful(struct se_kill *k, int64_t now_ms, struct se_acts *out)
{
    int64_t timeout_at = phase_timeout_at_ms(k);
    if (now_ms >= timeout_at) {
        se_acts_log(out, (struct se_act){.event = SE_EVT_KILL_ESCALATE,
                                         .slot = k->slot,
                                         .child = k->child,
                                         .ms = k->cfg->graceful_timeout_ms,
                                         .reason = k->reason});
        enter_immediate(k, timeout_at, true);
        return; /* the caller loops into the immediate phase */
    }
    if (now_ms >= k->next_ms) send_scheduled(k, k->cfg->graceful_sig, now_ms, out);
}

static void
advance_immediate(struct se_kill *k, int64_t now_ms, struct se_acts *out)
{
    if (now_ms >= phase_timeout_at_ms(k)) {
        kill_final(k, out);
        return;
    }
    if (now_ms >= k->next_ms) send_scheduled(k, k->cfg->immediate_sig, now_ms, out);
}

/* Sends whatever is due at now_ms; at most one phase change per call. */
static void
advance(struct se_kill *k, int64_t now_ms, struct se_acts *out)
{
    switch (k->phase) {
    case SE_KILL_IDLE: return;
    case SE_KILL_GRACEFUL:
        advance_graceful(k, now_ms, out);
        if (k->phase == SE_KILL_IMMEDIATE) advance_immediate(k, now_ms, out);
        return;
    case SE_KILL_IMMEDIATE: advance_immediate(k, now_ms, out); return;
    case SE_KILL_FINAL:
        /* only a failed SIGKILL is resent */
        if (now_ms >= k->next_ms) {
            k->next_ms = SE_INT64_NEVER;
            emit_signal(k, SE_SIG_KILL, out);
        }
        return;
    case SE_KILL_REAPED: return;
    }
}

static void
on_signal_failed(struct se_kill *k, const struct se_kill_in *in, int64_t now_ms,
                 struct se_acts *out)
{
    SE_ASSERT(in->err < 0);
    /* ESRCH: the child exited between our decision and the signal; its reap
     * is on its way. Nothing to report, and the schedule goes on: should the
     * answer be wrong, the next signal still comes. */
    if (in->err != -ESRCH)
        se_acts_log(out, (struct se_act){.event = SE_EVT_KILL_SIGNAL_FAILED,
                                         .slot = k->slot,
                                         .child = k->child,
                                         .sig = in->sig,
                                         .err = in->err});
    /* Graceful and immediate signals follow their schedule anyway; a failed
     * SIGKILL is retried after one interval. */
    if (k->phase == SE_KILL_FINAL) {
        int64_t retry = k->cfg->immediate_interval_ms > 0 ? k->cfg->immediate_interval_ms : 1000;
        k->next_ms = se_add_ms(now_ms, retry);
    }
}

void
se__kill_step(struct se_kill *k, const struct se_kill_in *in, int64_t now_ms, struct se_acts *out)
{
    SE_ASSERT(k != NULL);
    SE_ASSERT(in != NULL);
    SE_ASSERT(now_ms >= k->now_ms_last);
    k->now_ms_last = now_ms;
    if (k->phase == SE_KILL_REAPED) return;

    switch (in->kind) {
    case SE_KILL_IN_TICK: break;
    case SE_KILL_IN_GRACEFUL:
        if (k->phase != SE_KILL_IDLE) return; /* never restarts or downgrades a stop */
        k->phase = SE_KILL_GRACEFUL;
        k->reason = in->reason;
        k->graceful_start_ms = now_ms;
        k->next_ms = now_ms;
        k->count = 0;
        break;
    case SE_KILL_IN_IMMEDIATE:
        if (k->phase != SE_KILL_IDLE && k->phase != SE_KILL_GRACEFUL) return;
        if (k->phase == SE_KILL_IDLE || in->reason != SE_REASON_NONE) k->reason = in->reason;
        enter_immediate(k, now_ms, false);
        break;
    case SE_KILL_IN_SIGNAL_FAILED: on_signal_failed(k, in, now_ms, out); return;
    case SE_KILL_IN_REAPED:
        k->phase = SE_KILL_REAPED;
        k->next_ms = SE_INT64_NEVER;
        return;
    }
    advance(k, now_ms, out);
}

int64_t
se__kill_deadline_ms(const struct se_kill *k)
{
    SE_ASSERT(k != NULL);
    switch (k->phase) {
    case SE_KILL_IDLE: return SE_INT64_NEVER;
    case SE_KILL_GRACEFUL:
    case SE_KILL_IMMEDIATE: return se_min_ms(k->next_ms, phase_timeout_at_ms(k));
    case SE_KILL_FINAL: return k->next_ms;
    case SE_KILL_REAPED: return SE_INT64_NEVER;
    }
    return SE_INT64_NEVER;
}
