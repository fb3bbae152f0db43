/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_workers.c: the worker pool (see sm_workers.h).
 *
 * Pure: no syscall, no clock, no allocation, no global; the random draw for
 * start spacing arrives in every input. Every input ends in reconcile(),
 * which compares what is (slot states) with what is wanted (phase and
 * cfg->workers) and emits the difference, the way runit and s6 keep "want"
 * apart from "state".
 */
#include "sm_workers.h"

void
se__pool_init(struct se_pool *p, const struct se_pool_cfg *cfg, int64_t now_ms)
{
    SE_ASSERT(p != NULL);
    SE_ASSERT(cfg != NULL);
    SE_ASSERT(cfg->workers <= SE_WORKERS_MAX);
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->phase = SE_POOL_INIT;
    p->workers_last = cfg->workers;
    p->next_start_ms = now_ms;
    p->now_ms_last = now_ms;
}

int64_t
se__pool_restart_delay_ms(const struct se_pool_cfg *cfg, uint32_t crashes)
{
    SE_ASSERT(crashes >= 1);
    int64_t interval = cfg->restart_worker_interval_ms;
    if (cfg->backoff_max_ms <= 0 || crashes == 1) return interval;
    /* Doubling from the interval (or 0.1 s when it is 0): base * 2^(n-1). */
    int64_t delay = interval > 0 ? interval : SE_BACKOFF_BASE_MS;
    for (uint32_t i = 1; i < crashes && delay < cfg->backoff_max_ms; i++)
        delay *= 2;
    return se_max_ms(interval, se_min_ms(delay, cfg->backoff_max_ms));
}

uint32_t
se__pool_alive(const struct se_pool *p)
{
    uint32_t alive = 0;
    for (uint32_t i = 0; i < p->slots_count; i++) {
        enum se_slot_state st = p->slots[i].state;
        if (st == SE_SLOT_STARTING || st == SE_SLOT_UP || st == SE_SLOT_STOPPING) alive++;
    }
    return alive;
}

static bool
is_unrecoverable(const struct se_pool_cfg *cfg, int32_t code)
{
    SE_ASSERT(code >= -1 && code <= 255); /* an exit status, or -1: killed by a signal */
    if (code < 0) return false;
    return (cfg->unrecoverable[code / 8] >> (code % 8)) & 1u;
}

static bool
wanted(const struct se_pool *p, uint32_t slot)
{
    return p->phase == SE_POOL_RUN && slot < p->cfg->workers;
}

/* start_worker_delay with +- rand/2 of it: d - d*r/2 + u*d*r, u in [0,1).
 * Called only while starts are spaced (d > 0). */
static int64_t
start_spacing_ms(const struct se_pool_cfg *cfg, uint32_t rand)
{
    int64_t d = cfg->start_worker_delay_ms;
    SE_ASSERT(d > 0);
    double span = (double)d * (double)cfg->start_worker_delay_rand_permille / 1000.0;
    double u = (double)rand / 4294967296.0;
    return (int64_t)((double)d - span / 2.0 + u * span);
}

static void
stop_slot(struct se_pool *p, uint32_t slot, bool graceful, enum se_reason reason,
          struct se_acts *out)
{
    struct se_slot *s = &p->slots[slot];
    SE_ASSERT(s->state == SE_SLOT_UP || s->state == SE_SLOT_STOPPING);
    if (s->state == SE_SLOT_STOPPING && (graceful || !s->stop_graceful)) return;
    if (s->state == SE_SLOT_UP) s->stop_reason = reason;
    s->state = SE_SLOT_STOPPING;
    s->stop_graceful = graceful;
    se_acts_log(out, (struct se_act){.event = SE_EVT_WORKER_STOP,
                                     .slot = slot,
                                     .graceful = graceful,
                                     .reason = reason});
    se_acts_push(
        out,
        (struct se_act){.kind = SE_ACT_STOP, .slot = slot, .graceful = graceful, .reason = reason});
}

static void
start_slot(struct se_pool *p, uint32_t slot, const struct se_pool_in *in, int64_t now_ms,
           struct se_acts *out)
{
    p->slots[slot].state = SE_SLOT_STARTING;
    if (slot >= p->slots_count) p->slots_count = slot + 1;
    if (p->cfg->start_worker_delay_ms > 0)
        p->next_start_ms = now_ms + start_spacing_ms(p->cfg, in->rand);
    se_acts_push(out, (struct se_act){.kind = SE_ACT_SPAWN, .slot = slot});
}

/* Starts wanted DOWN slots whose time has come, one at a time when spaced. */
static void
reconcile_starts(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms,
                 struct se_acts *out)
{
    bool spaced = p->cfg->start_worker_delay_ms > 0;
    for (uint32_t i = 0; i < p->cfg->workers; i++) {
        struct se_slot *s = &p->slots[i];
        if (s->state != SE_SLOT_DOWN || s->start_at_ms > now_ms) continue;
        if (spaced && now_ms < p->next_start_ms) return;
        start_slot(p, i, in, now_ms, out);
        if (spaced) return;
    }
}

/* Stops surplus workers after a scale down, highest ids first. */
static void
reconcile_surplus(struct se_pool *p, struct se_acts *out)
{
    for (uint32_t i = p->slots_count; i-- > p->cfg->workers;) {
        struct se_slot *s = &p->slots[i];
        if (s->state == SE_SLOT_UP) stop_slot(p, i, true, SE_REASON_SCALE_DOWN, out);
        if (s->state == SE_SLOT_DEAD || s->state == SE_SLOT_DOWN) {
            s->state = SE_SLOT_DOWN;
            s->crashes = 0;
        }
    }
}

/* The rolling restart's next worker to replace: the lowest marked one, once
 * every wanted worker runs (the one replaced last included); SE_WORKERS_MAX
 * when none is due. */
static uint32_t
rolling_next(const struct se_pool *p)
{
    uint32_t next = SE_WORKERS_MAX;
    for (uint32_t i = 0; i < p->cfg->workers; i++) {
        if (p->slots[i].state == SE_SLOT_DEAD) continue; /* never back: nothing to wait for */
        if (p->slots[i].state != SE_SLOT_UP) return SE_WORKERS_MAX;
        if (p->slots[i].roll && next == SE_WORKERS_MAX) next = i;
    }
    return next;
}

/* The rolling restart's step, so that never more than one worker is down by
 * the roll's doing. Taken on a tick only, which the driver gives after every
 * event of its wake-up: exits reaped in the same batch are all known before
 * the next worker is stopped (a step taken at one reap, before the next one,
 * went below N - 1). */
static void
reconcile_rolling(struct se_pool *p, const struct se_pool_in *in, struct se_acts *out)
{
    if (in->kind != SE_POOL_IN_TICK) return;
    uint32_t next = rolling_next(p);
    if (next == SE_WORKERS_MAX) return;
    /* its mark goes when it exits (on_exited): a stopping slot is not UP,
     * so rolling_next waits for it meanwhile */
    stop_slot(p, next, true, SE_REASON_RESTART, out);
}

static bool
all_wanted_dead(const struct se_pool *p)
{
    if (p->cfg->workers == 0) return false;
    for (uint32_t i = 0; i < p->cfg->workers; i++) {
        if (p->slots[i].state != SE_SLOT_DEAD) return false;
    }
    return true;
}

static void
finish(struct se_pool *p, struct se_acts *out)
{
    p->phase = SE_POOL_DONE;
    se_acts_log(out, (struct se_act){.event = SE_EVT_WORKERS_DONE, .status = p->exit_status});
    se_acts_push(out, (struct se_act){.kind = SE_ACT_EXIT, .status = p->exit_status});
}

static void
reconcile(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms, struct se_acts *out)
{
    if (p->phase == SE_POOL_RUN && p->cfg->workers != p->workers_last) {
        se_acts_log(out, (struct se_act){.event = SE_EVT_WORKERS_SCALED,
                                         .count = p->workers_last,
                                         .status = (int32_t)p->cfg->workers});
        p->workers_last = p->cfg->workers;
    }
    if (p->phase == SE_POOL_RUN) {
        reconcile_surplus(p, out);
        reconcile_starts(p, in, now_ms, out);
        reconcile_rolling(p, in, out);
        if (all_wanted_dead(p) && se__pool_alive(p) == 0) finish(p, out);
    } else if (p->phase == SE_POOL_STOP && se__pool_alive(p) == 0) {
        finish(p, out);
    }
}

static void
stop_all(struct se_pool *p, bool graceful, enum se_reason reason, struct se_acts *out)
{
    SE_ASSERT(p->phase != SE_POOL_DONE); /* se__pool_step takes no input once done */
    if (p->phase == SE_POOL_STOP && (graceful || !p->stop_graceful)) return;
    p->phase = SE_POOL_STOP;
    p->stop_graceful = graceful;
    for (uint32_t i = 0; i < p->slots_count; i++) {
        enum se_slot_state st = p->slots[i].state;
        if (st == SE_SLOT_UP || st == SE_SLOT_STOPPING) stop_slot(p, i, graceful, reason, out);
    }
}

static void
restart_all(struct se_pool *p, bool graceful, int64_t now_ms, struct se_acts *out)
{
    if (p->phase != SE_POOL_RUN) return;
    /* rolling: every running worker is marked; reconcile_rolling replaces
     * them one at a time */
    bool rolling = graceful && p->cfg->rolling_restart;
    for (uint32_t i = 0; i < p->slots_count; i++) {
        struct se_slot *s = &p->slots[i];
        if (rolling && s->state == SE_SLOT_UP)
            s->roll = true;
        else if (s->state == SE_SLOT_UP || s->state == SE_SLOT_STOPPING)
            stop_slot(p, i, graceful, SE_REASON_RESTART, out);
        /* an operator's restart cuts a crash-loop wait short */
        if (s->state == SE_SLOT_DOWN && s->start_at_ms > now_ms) {
            s->start_at_ms = now_ms;
            s->crashes = 0;
        }
    }
}

static void
on_spawned(struct se_pool *p, uint32_t slot, int64_t now_ms, struct se_acts *out)
{
    struct se_slot *s = &p->slots[slot];
    SE_ASSERT(s->state == SE_SLOT_STARTING);
    s->state = SE_SLOT_UP;
    s->up_since_ms = now_ms;
    se_acts_log(out, (struct se_act){.event = SE_EVT_WORKER_STARTED, .slot = slot});
    /* A stop or a scale down that came while it was starting is not lost. */
    if (p->phase == SE_POOL_STOP) stop_slot(p, slot, p->stop_graceful, SE_REASON_STOP, out);
}

static void
on_spawn_failed(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms, struct se_acts *out)
{
    struct se_slot *s = &p->slots[in->slot];
    SE_ASSERT(s->state == SE_SLOT_STARTING);
    SE_ASSERT(in->err < 0);
    s->state = SE_SLOT_DOWN;
    s->crashes++;
    int64_t delay = se_max_ms(SE_SPAWN_RETRY_MIN_MS, se__pool_restart_delay_ms(p->cfg, s->crashes));
    s->start_at_ms = now_ms + delay;
    se_acts_log(out, (struct se_act){.event = SE_EVT_WORKER_SPAWN_FAILED,
                                     .slot = in->slot,
                                     .err = in->err,
                                     .ms = wanted(p, in->slot) ? delay : -1});
}

static bool
sent_from_outside(enum se_sig sig)
{
    return sig == SE_SIG_KILL || sig == SE_SIG_TERM || sig == SE_SIG_INT || sig == SE_SIG_QUIT ||
           sig == SE_SIG_HUP || sig == SE_SIG_USR1 || sig == SE_SIG_USR2;
}

static void
log_exit(const struct se_pool_in *in, enum se_slot_state prev, struct se_acts *out)
{
    struct se_act a = {.slot = in->slot, .status = in->code, .sig = in->sig};
    if (prev == SE_SLOT_STOPPING) {
        a.event = SE_EVT_WORKER_FINISHED;
    } else if (in->code == 0) {
        a.event = SE_EVT_WORKER_EXITED;
    } else {
        a.event = SE_EVT_WORKER_EXITED_UNEXPECTEDLY;
        /* a signal that comes from outside (the OOM killer's KILL, an
         * operator's TERM) and that we did not send; SEGV or ABRT are the
         * worker's own crash */
        a.outside = in->code < 0 && !in->sig_ours && sent_from_outside(in->sig);
    }
    se_acts_log(out, a);
}

static void
on_unrecoverable(struct se_pool *p, const struct se_pool_in *in, struct se_acts *out)
{
    struct se_slot *s = &p->slots[in->slot];
    s->state = SE_SLOT_DEAD;
    se_acts_log(out, (struct se_act){.event = SE_EVT_WORKER_UNRECOVERABLE,
                                     .slot = in->slot,
                                     .status = in->code});
    if (!p->exit_status_final) p->exit_status = in->code;
    if (p->cfg->stop_immediately_at_unrecoverable_exit) {
        p->exit_status_final = true;
        stop_all(p, true, SE_REASON_UNRECOVERABLE, out);
    }
}

/* Restart timing for a wanted slot that just ended. */
static void
schedule_restart(struct se_pool *p, struct se_slot *s, uint32_t slot, enum se_slot_state prev,
                 int64_t now_ms, struct se_acts *out)
{
    bool deliberate = prev == SE_SLOT_STOPPING && s->stop_reason == SE_REASON_RESTART;
    int64_t ran_ms = now_ms - s->up_since_ms;
    bool settled = ran_ms >= SE_SETTLED_RUN_MS;
    if (settled) s->crashes = 0;
    if (deliberate) {
        s->start_at_ms = now_ms + p->cfg->restart_worker_interval_ms;
        return;
    }
    /* a settled run is not a turn of a crash loop: it waits the interval,
     * as a first end does */
    if (!settled) s->crashes++;
    int64_t delay = se__pool_restart_delay_ms(p->cfg, settled ? 1 : s->crashes);
    s->start_at_ms = now_ms + delay;
    if (delay > 0)
        se_acts_log(out, (struct se_act){.event = SE_EVT_WORKER_RESTART_DELAYED,
                                         .slot = slot,
                                         .ms = delay,
                                         .count = s->crashes});
}

static void
on_exited(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms, struct se_acts *out)
{
    struct se_slot *s = &p->slots[in->slot];
    enum se_slot_state prev = s->state;
    SE_ASSERT(prev == SE_SLOT_UP || prev == SE_SLOT_STOPPING);
    log_exit(in, prev, out);
    s->state = SE_SLOT_DOWN;
    s->roll = false; /* it comes back new: a rolling restart has nothing left to do to it */
    if (is_unrecoverable(p->cfg, in->code)) {
        on_unrecoverable(p, in, out);
        return;
    }
    if (wanted(p, in->slot)) schedule_restart(p, s, in->slot, prev, now_ms, out);
}

static void
on_lost(struct se_pool *p, const struct se_pool_in *in, enum se_reason reason, struct se_acts *out)
{
    struct se_slot *s = &p->slots[in->slot];
    if (s->state != SE_SLOT_UP && s->state != SE_SLOT_STOPPING) return;
    if (s->state == SE_SLOT_STOPPING && !s->stop_graceful) return;
    enum se_event ev = reason == SE_REASON_HEARTBEAT ? SE_EVT_HEARTBEAT_LOST : SE_EVT_HEARTBEAT_EOF;
    se_acts_log(out, (struct se_act){.event = ev, .slot = in->slot, .ms = in->age_ms});
    stop_slot(p, in->slot, false, reason, out);
}

void
se__pool_step(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms, struct se_acts *out)
{
    SE_ASSERT(p != NULL);
    SE_ASSERT(now_ms >= p->now_ms_last);
    SE_ASSERT(in->slot < SE_WORKERS_MAX);
    SE_ASSERT(p->cfg->workers <= SE_WORKERS_MAX);
    p->now_ms_last = now_ms;
    if (p->phase == SE_POOL_DONE) return;

    switch (in->kind) {
    case SE_POOL_IN_TICK: break;
    case SE_POOL_IN_START:
        if (p->phase == SE_POOL_INIT) p->phase = SE_POOL_RUN;
        break;
    case SE_POOL_IN_SPAWNED: on_spawned(p, in->slot, now_ms, out); break;
    case SE_POOL_IN_SPAWN_FAILED: on_spawn_failed(p, in, now_ms, out); break;
    case SE_POOL_IN_EXITED: on_exited(p, in, now_ms, out); break;
    case SE_POOL_IN_LOST: on_lost(p, in, SE_REASON_HEARTBEAT, out); break;
    case SE_POOL_IN_HB_EOF: on_lost(p, in, SE_REASON_HEARTBEAT_EOF, out); break;
    case SE_POOL_IN_STOP: /* from INIT too: stop_all enters STOP */
        stop_all(p, in->graceful, SE_REASON_STOP, out);
        break;
    case SE_POOL_IN_RESTART: restart_all(p, in->graceful, now_ms, out); break;
    case SE_POOL_IN_CONFIG: break;
    }
    reconcile(p, in, now_ms, out);
}

int64_t
se__pool_deadline_ms(const struct se_pool *p)
{
    SE_ASSERT(p != NULL);
    if (p->phase != SE_POOL_RUN) return SE_INT64_NEVER;
    int64_t deadline = SE_INT64_NEVER;
    for (uint32_t i = 0; i < p->cfg->workers; i++) {
        const struct se_slot *s = &p->slots[i];
        if (s->state == SE_SLOT_DOWN) deadline = se_min_ms(deadline, s->start_at_ms);
    }
    if (deadline != SE_INT64_NEVER && p->cfg->start_worker_delay_ms > 0)
        deadline = se_max_ms(deadline, p->next_start_ms);
    if (rolling_next(p) != SE_WORKERS_MAX) deadline = p->now_ms_last; /* a roll step is due */
    return deadline;
}
