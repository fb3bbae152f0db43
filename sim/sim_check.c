/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_check.c: the invariants, checked as the run goes (TESTING.md section 2).
 *
 *  - never a signal to a process that is not a live child (sim_os.c);
 *  - at most one live process per worker id (sim_os.c spawn);
 *  - every exit the engine was told about is reaped before it waits again;
 *  - no busy loop: the engine does not wait again and again at one instant;
 *  - escalation follows SPEC section 7 to the millisecond: graceful signals at
 *    t0 + 15, +25, ..., the immediate phase only on a request or at the
 *    graceful timeout, KILL only at the immediate timeout;
 *  - a heartbeat kill comes no earlier than the timeout after the true last
 *    beat and no later than 50 ms past it;
 *  - a backoff follows only a run shorter than SE_SETTLED_RUN_MS; any other
 *    end waits restart_worker_interval and no more;
 *  - after the faults stop, live workers converge to `workers`;
 *  - a stop ends within the configured timeouts, no child outlives it, and
 *    the exit status follows unrecoverable_exit_codes;
 *  - during a rolling restart, live workers never drop below N-1: a worker
 *    is stopped for it only while every other wanted worker serves.
 */
#include <stdio.h>

#include "sim_int.h"

static int64_t
interval_at(int64_t base, int64_t inc, uint32_t n)
{
    if (base <= 0 && inc <= 0) return 0;
    int64_t ms = base + inc * (int64_t)n;
    return ms > 0 ? ms : 1;
}

static bool
schedule_checked(const struct sim_world *w, const struct sim_proc *p)
{
    return !p->unchecked && p->kill_epoch == w->kill_epoch;
}

static void
check_graceful(struct sim_world *w, struct sim_proc *p)
{
    const struct se_config *c = w->cfg;
    if (p->i_start_ms != SE_INT64_NEVER) {
        sim_fail(w, "w%u pid%d got the graceful signal after its immediate stop began",
                 p->worker_id, p->pid);
        return;
    }
    if (p->g_start_ms == SE_INT64_NEVER) {
        sim_fail(w, "w%u pid%d got the graceful signal with no stop requested", p->worker_id,
                 p->pid);
        return;
    }
    if (schedule_checked(w, p) && w->now_ms != p->g_next_ms) {
        sim_fail(w, "w%u pid%d graceful signal #%u at %lld ms, expected at %lld ms", p->worker_id,
                 p->pid, p->g_count + 1, (long long)w->now_ms, (long long)p->g_next_ms);
        return;
    }
    int64_t step = interval_at(c->worker_graceful_kill_interval_ms,
                               c->worker_graceful_kill_interval_increment_ms, p->g_count);
    p->g_next_ms = step == 0 ? SE_INT64_NEVER : p->g_next_ms + step;
    p->g_count++;
}

/* When the immediate phase starts for this process, given what was asked. */
static int64_t
immediate_start(const struct sim_world *w, const struct sim_proc *p)
{
    if (p->i_start_ms != SE_INT64_NEVER) return p->i_start_ms;
    if (p->imm_req_ms == w->now_ms) return w->now_ms;
    int64_t g_to = w->cfg->worker_graceful_kill_timeout_ms;
    if (p->g_start_ms != SE_INT64_NEVER && g_to >= 0) return p->g_start_ms + g_to;
    return SE_INT64_NEVER;
}

static void
check_immediate(struct sim_world *w, struct sim_proc *p)
{
    const struct se_config *c = w->cfg;
    if (p->i_start_ms == SE_INT64_NEVER) {
        int64_t start = immediate_start(w, p);
        if (schedule_checked(w, p) && start != w->now_ms) {
            sim_fail(w,
                     "w%u pid%d got the immediate signal at %lld ms without a request or an "
                     "escalation due then (due %lld)",
                     p->worker_id, p->pid, (long long)w->now_ms, (long long)start);
            return;
        }
        p->i_start_ms = w->now_ms;
        p->i_next_ms = w->now_ms;
        p->i_count = 0;
    }
    if (schedule_checked(w, p) && w->now_ms != p->i_next_ms) {
        sim_fail(w, "w%u pid%d immediate signal #%u at %lld ms, expected at %lld ms", p->worker_id,
                 p->pid, p->i_count + 1, (long long)w->now_ms, (long long)p->i_next_ms);
        return;
    }
    int64_t step = interval_at(c->worker_immediate_kill_interval_ms,
                               c->worker_immediate_kill_interval_increment_ms, p->i_count);
    p->i_next_ms = step == 0 ? SE_INT64_NEVER : p->i_next_ms + step;
    p->i_count++;
}

static void
check_kill(struct sim_world *w, struct sim_proc *p)
{
    int64_t i_to = w->cfg->worker_immediate_kill_timeout_ms;
    int64_t start = immediate_start(w, p);
    if (!schedule_checked(w, p)) return;
    if (i_to < 0 || start == SE_INT64_NEVER) {
        sim_fail(w, "w%u pid%d got SIGKILL with no immediate stop to escalate", p->worker_id,
                 p->pid);
        return;
    }
    int64_t due = start + i_to;
    if (w->now_ms == due || (p->kill_failed && w->now_ms > due)) return;
    sim_fail(w,
             "w%u pid%d got SIGKILL at %lld ms, due at %lld ms (immediate stop at %lld + "
             "worker_immediate_kill_timeout)",
             p->worker_id, p->pid, (long long)w->now_ms, (long long)due, (long long)start);
}

void
sim_check_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    const struct se_config *c = w->cfg;
    if (sig == c->signal_graceful_stop)
        check_graceful(w, p);
    else if (sig == c->signal_immediate_stop)
        check_immediate(w, p);
    else if (sig == SE_SIG_KILL)
        check_kill(w, p);
}

/* A worker the engine may count on: a live process with no stop asked (an
 * exit it has not been told of yet is not its to know). */
static bool
serving(const struct sim_world *w, uint32_t id)
{
    const struct sim_proc *q = sim_proc_by_handle((struct sim_world *)w, w->live_handle[id]);
    if (q == NULL || (q->state != SIM_P_RUNNING && !(q->state == SIM_P_ZOMBIE && !q->notified)))
        return false;
    return q->g_start_ms == SE_INT64_NEVER && q->imm_req_ms == SE_INT64_NEVER;
}

/* restart_mode: rolling: a graceful restart stops a worker only while every
 * other wanted worker serves, so that live workers never drop below N - 1
 * by the restart's doing. */
static void
check_rolling(struct sim_world *w, const struct se_act *a)
{
    if (w->opts.supervisor || !w->cfg->restart_rolling) return;
    if (!a->graceful || a->reason != SE_REASON_RESTART) return;
    for (uint32_t id = 0; id < w->cfg->workers; id++) {
        if (id == a->slot || w->dead[id] || serving(w, id)) continue;
        sim_fail(w, "rolling restart: w%u is stopped while w%u does not serve (below N-1)", a->slot,
                 id);
        return;
    }
}

static void
on_stop_event(struct sim_world *w, struct sim_proc *p, const struct se_act *a)
{
    if (p == NULL) return;
    check_rolling(w, a);
    if (a->graceful && p->g_start_ms == SE_INT64_NEVER) {
        p->g_start_ms = p->g_next_ms = w->now_ms;
        p->kill_epoch = w->kill_epoch;
    }
    if (!a->graceful && p->i_start_ms == SE_INT64_NEVER) {
        p->imm_req_ms = w->now_ms;
        if (p->g_start_ms == SE_INT64_NEVER) p->kill_epoch = w->kill_epoch;
    }
}

static void
on_lost_event(struct sim_world *w, const struct sim_proc *p)
{
    if (p == NULL || p->pipe_beats) return;
    int64_t age = w->now_ms - sim_proc_last_beat(w, p);
    int64_t timeout = w->cfg->worker_heartbeat_timeout_ms;
    if (timeout >= 0 && age < timeout)
        sim_fail(w,
                 "w%u pid%d declared stalled %lld ms after its last beat, before the timeout "
                 "of %lld ms",
                 p->worker_id, p->pid, (long long)age, (long long)timeout);
}

/* "not sent by serverengine" must be true of the process that just ended */
static void
on_unexpected_exit_event(struct sim_world *w, const struct se_act *a)
{
    if (a->count != 1) return;
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *r = &w->procs[i];
        if (r->handle == 0 || r->worker_id != a->slot || r->state != SIM_P_REAPED) continue;
        if (r->nth + 1 != w->starts[a->slot]) continue; /* not the latest start */
        for (uint32_t k = 0; k < r->sig_count && k < SIM_SIGLOG_MAX; k++) {
            if (r->sigs[k].sig == a->sig)
                sim_fail(w, "w%u: the engine says it did not send %s, but it did", a->slot,
                         se_sig_name(a->sig));
        }
        return;
    }
}

/* The latest start of worker `slot`, once it has ended, or NULL. */
static const struct sim_proc *
latest_ended(const struct sim_world *w, uint32_t slot)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *r = &w->procs[i];
        if (r->handle == 0 || r->worker_id != slot || r->state != SIM_P_REAPED) continue;
        if (r->nth + 1 == w->starts[slot]) return r;
    }
    return NULL;
}

/* The restart policy: only a run shorter than SE_SETTLED_RUN_MS is a turn of
 * a crash loop; any other end waits restart_worker_interval and no more. */
static void
on_restart_delayed_event(struct sim_world *w, const struct se_act *a)
{
    const struct sim_proc *r = latest_ended(w, a->slot);
    if (r == NULL) return;
    int64_t ran_ms = w->now_ms - r->started_ms;
    if (a->count > 1 && ran_ms >= SE_SETTLED_RUN_MS)
        sim_fail(w, "w%u ran %lld ms and was held back as turn %u of a crash loop", a->slot,
                 (long long)ran_ms, a->count);
    if (a->count <= 1 && a->ms != w->cfg->restart_worker_interval_ms)
        sim_fail(w,
                 "w%u restarts in %lld ms after a first or settled end, not in "
                 "restart_worker_interval (%lld ms)",
                 a->slot, (long long)a->ms, (long long)w->cfg->restart_worker_interval_ms);
}

/* The engine's own account of its decisions, checked against the world. */
/* A live restart: the old server gets one graceful signal outside any
 * escalation schedule, then finishes on its own. */
static void
on_detach_event(struct sim_world *w, struct sim_proc *p)
{
    if (p == NULL) return;
    p->detached = true;
    p->unchecked = true;
    if (p->g_start_ms == SE_INT64_NEVER) p->g_start_ms = p->g_next_ms = w->now_ms;
}

void
sim_check_event(struct sim_world *w, const struct se_act *a)
{
    if (a->slot >= SE_WORKERS_MAX) return;
    struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[a->slot]);
    if (a->event == SE_EVT_WORKER_STOP || a->event == SE_EVT_SERVER_STOP) on_stop_event(w, p, a);
    if (a->event == SE_EVT_SERVER_DETACH) on_detach_event(w, p);
    if (a->event == SE_EVT_HEARTBEAT_LOST) on_lost_event(w, p);
    if (a->event == SE_EVT_WORKER_EXITED_UNEXPECTEDLY) on_unexpected_exit_event(w, a);
    if (a->event == SE_EVT_WORKER_RESTART_DELAYED) on_restart_delayed_event(w, a);
}

void
sim_check_wait(struct sim_world *w, int64_t deadline_ms)
{
    if (++w->waits > SIM_WAITS_BASE + SIM_WAITS_PER_S * (uint64_t)(w->now_ms / 1000)) {
        sim_fail(w, "unbounded work: %llu loop iterations in %lld simulated ms",
                 (unsigned long long)w->waits, (long long)w->now_ms);
        return;
    }
    for (uint32_t i = 0; i < w->zombies_len; i++) {
        struct sim_proc *p = sim_proc_by_handle(w, w->zombies[i]);
        if (p != NULL && p->notified) {
            sim_fail(w,
                     "w%u pid%d exited, the engine was told (SIGCHLD), and it waits again "
                     "without reaping it",
                     p->worker_id, p->pid);
            return;
        }
    }
    if (deadline_ms > w->now_ms) {
        w->same_time_waits = 0;
        return;
    }
    if (w->same_time_ms != w->now_ms) {
        w->same_time_ms = w->now_ms;
        w->same_time_waits = 0;
    }
    if (++w->same_time_waits > SIM_SAME_TIME_WAITS_MAX)
        sim_fail(w, "busy loop: %u waits at %lld ms with a deadline already passed",
                 w->same_time_waits, (long long)w->now_ms);
}

static uint32_t
wanted_now(const struct sim_world *w)
{
    if (w->opts.supervisor) return 1; /* one current server */
    uint32_t n = 0;
    for (uint32_t id = 0; id < w->cfg->workers; id++)
        n += w->dead[id] ? 0u : 1u;
    return n;
}

void
sim_check_converged(struct sim_world *w)
{
    uint32_t live = 0;
    for (uint32_t id = 0; id < SE_WORKERS_MAX; id++) {
        const struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[id]);
        if (p == NULL || p->state != SIM_P_RUNNING || p->detached) continue;
        if (!w->opts.supervisor && id >= w->cfg->workers) {
            sim_fail(w, "worker %u still runs after a scale down to %u", id, w->cfg->workers);
            return;
        }
        if (w->now_ms >= p->stall_ms) {
            sim_fail(w, "w%u pid%d has been stalled since %lld ms and is still running", id, p->pid,
                     (long long)p->stall_ms);
            return;
        }
        live++;
    }
    uint32_t wanted = wanted_now(w);
    if (live != wanted)
        sim_fail(w, "liveness: %u workers running, %u wanted, %lld ms after the faults stopped",
                 live, wanted, (long long)sim_converge_bound_ms(w));
    else
        sim_trace(w, "converged: %u workers running", live);
}

void
sim_check_stall(struct sim_world *w, uint32_t handle, int32_t epoch)
{
    struct sim_proc *p = sim_proc_by_handle(w, handle);
    if (p == NULL || p->state != SIM_P_RUNNING || (uint32_t)epoch != w->hb_epoch) return;
    if (p->stall_ms > w->now_ms) return; /* called off by the liveness phase */
    if (p->i_start_ms != SE_INT64_NEVER || p->kill_failed) return;
    if (p->imm_req_ms != SE_INT64_NEVER) return;
    sim_fail(w,
             "w%u pid%d stalled at %lld ms and was not stopped within the heartbeat timeout "
             "+ %d ms",
             p->worker_id, p->pid, (long long)p->stall_ms, SIM_LATE_MS);
}

/* The supervisor's exit: 0 after a stop or an exit_on_detach, else the
 * unrecoverable status of the server that ended it. */
static void
check_supervisor_exit(struct sim_world *w)
{
    bool asked = w->stop_requested || w->detach_ended;
    if (asked && (w->exit_status == 0 || (w->unrec_seen && w->exit_status == w->unrec_last)))
        return;
    if (!asked && w->unrec_seen && w->exit_status == w->unrec_last) return;
    sim_fail(w, "the supervisor exited with status %d (stop asked: %d, last unrecoverable: %d)",
             w->exit_status, asked, w->unrec_seen ? w->unrec_last : -1);
}

void
sim_check_exit(struct sim_world *w)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *p = &w->procs[i];
        /* exit_on_detach: the old server finishes on its own, after us */
        if (p->detached && w->cfg->exit_on_detach) continue;
        if (p->state == SIM_P_RUNNING || p->state == SIM_P_ZOMBIE) {
            sim_fail(w, "w%u pid%d outlives the engine (%s)", p->worker_id, p->pid,
                     p->state == SIM_P_RUNNING ? "running" : "not reaped");
            return;
        }
    }
    if (w->opts.supervisor) {
        check_supervisor_exit(w);
        return;
    }
    int32_t want = 0;
    if (w->unrec_seen)
        want = w->cfg->stop_immediately_at_unrecoverable_exit ? w->unrec_first : w->unrec_last;
    if (w->exit_status != want)
        sim_fail(w, "the engine exited with status %d, expected %d", w->exit_status, want);
    if (!w->stop_requested && !w->unrec_seen)
        sim_fail(w, "the engine exited without a stop request or an unrecoverable exit");
}

/* The driver's action queue reclaims what it has run once half of it is
 * used: a backlog past half the queue is one step from overflowing it. The
 * largest bursts (a restart or stop of every worker, a reload to the maximum)
 * are a few actions per worker. */
void
sim_check_backlog(struct sim_world *w)
{
    uint32_t peak = w->driver->stats.backlog_max;
    if (peak > SE_ACTS_MAX / 2)
        sim_fail(w, "the action backlog reached %u, past half the queue (%u)", peak,
                 SE_ACTS_MAX / 2);
}
