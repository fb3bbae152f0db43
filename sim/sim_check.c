/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_check.c: the invariants, checked as the run goes (the README, The simulator).
 *
 *  - never a signal to a process that is not a live child (sim_os.c);
 *  - at most one live process per worker id (sim_os.c spawn);
 *  - every exit the engine was told about is reaped before it waits again;
 *  - no busy loop: the engine does not wait again and again at one instant;
 *  - escalation follows serverengine(5), TIMING to the millisecond: graceful signals at
 *    t0 + 15, +25, ..., the immediate phase only on a request or at the
 *    graceful timeout, KILL only at the immediate timeout;
 *  - a heartbeat kill comes no earlier than the timeout after the true last
 *    beat and no later than 50 ms past it;
 *  - a backoff follows only a run shorter than SE_SETTLED_RUN_MS; any other
 *    end waits restart_worker_interval and no more;
 *  - once a stop was received, no restart or start retry is scheduled;
 *  - after the faults stop, live workers converge to `workers` (N - 1 while
 *    a rolling restart goes on, and it ends);
 *  - what a worker leaves in its process group is stopped from its reap on,
 *    on the kill schedule, and is gone once the schedule has run out
 *    (sim_group.c);
 *  - a stop ends within the configured timeouts, no child (nor anything
 *    left in a worker's group) outlives it, and
 *    the exit status follows unrecoverable_exit_codes;
 *  - no step of a kill schedule is skipped: the engine never waits past a
 *    signal or an escalation that is due, so a failed signal is retried on
 *    the schedule (its decision is checked, delivered or not);
 *  - a detached server is stopped with escalation like any other;
 *  - the supervisor is never waiting with no deadline while a server is
 *    wanted, and a detach ends within server_detach_wait;
 *  - the engine, freed after its exit, closes every descriptor it opened,
 *    each once, and none it did not open;
 *  - every worker exit is logged once, as what it was (finished, exited with
 *    0, exited unexpectedly), and a signal the engine never sent is called
 *    external, as one it sent never is;
 *  - the driver's action backlog stays within half its queue;
 *  - every reload is told of before the engine waits again: an accepted one
 *    by config_applied with the configuration in force, a refused one by
 *    reload_failed with its reason; a reload reaches only live workers;
 *  - during a rolling restart, live workers never drop below N-1: a worker
 *    is stopped for it only while every other wanted worker serves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    for (uint32_t id = 0; id < sim_pool_size(w); id++) { /* embedded: one, whatever workers says */
        if (id == a->slot || w->dead[id] || serving(w, id)) continue;
        sim_fail(w, "rolling restart: w%u is stopped while w%u does not serve (below N-1)", a->slot,
                 id);
        return;
    }
}

static void
on_stop_event(struct sim_world *w, struct sim_proc *p, const struct se_act *a)
{
    if (!w->opts.supervisor && w->cfg->restart_rolling && a->graceful &&
        a->reason == SE_REASON_RESTART)
        w->roll_stop_ms = w->now_ms;
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
    if (p == NULL) return;
    /* a pipe beater's beats reach the engine only on its watched pipe */
    if (p->pipe_beats && (p->hb_fd < 0 || !w->fds[p->hb_fd].open || !w->fds[p->hb_fd].watched ||
                          w->fds[p->hb_fd].handle != p->handle))
        return;
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

/* The ended process an exit event is about: the slot's latest start. */
static struct sim_proc *
latest_reaped(struct sim_world *w, uint32_t slot)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        struct sim_proc *r = &w->procs[i];
        if (r->handle == 0 || r->worker_id != slot || r->state != SIM_P_REAPED) continue;
        if (r->nth + 1 == w->starts[slot]) return r;
    }
    return NULL;
}

/* The signals a process can get from outside (as the engine judges them). */
static bool
outside_signal(enum se_sig sig)
{
    return sig == SE_SIG_KILL || sig == SE_SIG_TERM || sig == SE_SIG_INT || sig == SE_SIG_QUIT ||
           sig == SE_SIG_HUP || sig == SE_SIG_USR1 || sig == SE_SIG_USR2;
}

/* Every exit is classified once, as what it was (finished after a stop,
 * exited with 0, exited unexpectedly), and a signal the engine never sent is
 * called external, as one it sent is never (on_unexpected_exit_event). */
static void
on_exit_event(struct sim_world *w, const struct se_act *a)
{
    if (w->opts.supervisor) return;
    struct sim_proc *r = latest_reaped(w, a->slot);
    if (r == NULL) {
        sim_fail(w, "w%u: an exit is logged and no process of it has ended", a->slot);
        return;
    }
    if (r->classified) {
        sim_fail(w, "w%u pid%d: its exit is logged twice", r->worker_id, r->pid);
        return;
    }
    r->classified = true;
    bool clean = r->exit_code == 0;
    if (a->event == SE_EVT_WORKER_EXITED && !clean)
        sim_fail(w, "w%u pid%d: ended with %d/%s, logged as an exit with status 0", r->worker_id,
                 r->pid, r->exit_code, se_sig_name(r->exit_sig));
    if (a->event == SE_EVT_WORKER_EXITED_UNEXPECTEDLY && clean)
        sim_fail(w, "w%u pid%d: exited with 0, logged as unexpected", r->worker_id, r->pid);
    bool outside = r->exit_code < 0 && outside_signal(r->exit_sig);
    if (a->event == SE_EVT_WORKER_EXITED_UNEXPECTEDLY && a->outside && !outside)
        sim_fail(w, "w%u pid%d: ended with %d/%s, called a signal from outside", r->worker_id,
                 r->pid, r->exit_code, se_sig_name(r->exit_sig));
    if (a->event != SE_EVT_WORKER_EXITED_UNEXPECTEDLY || a->outside || !outside ||
        r->sig_count > SIM_SIGLOG_MAX)
        return;
    for (uint32_t k = 0; k < r->sig_count; k++) {
        if (r->sigs[k].sig == r->exit_sig) return;
    }
    sim_fail(w, "w%u pid%d: killed by %s, which the engine never sent, and not called external",
             r->worker_id, r->pid, se_sig_name(r->exit_sig));
}

/* At the end: every worker process that ended had its exit logged. */
static void
check_every_exit_classified(struct sim_world *w)
{
    if (w->opts.supervisor) return;
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *r = &w->procs[i];
        if (r->handle == 0 || r->state != SIM_P_REAPED || r->classified) continue;
        sim_fail(w, "w%u pid%d ended (%d/%s) and its exit was never logged", r->worker_id, r->pid,
                 r->exit_code, se_sig_name(r->exit_sig));
        return;
    }
}

/* The engine's end: its driver freed closes each descriptor it still holds
 * once (a second close or a close of one never opened fails in sim_os.c),
 * and leaves none open. The world frees nothing twice: the driver is gone. */
static void
check_freed_closes_all(struct sim_world *w)
{
    se__driver_free(w->driver);
    w->driver = NULL;
    for (uint32_t fd = 0; fd < SIM_FDS_MAX; fd++) {
        if (!w->fds[fd].open) continue;
        sim_fail(w, "descriptor %u (of handle %u) still open after the engine was freed", fd,
                 w->fds[fd].handle);
        return;
    }
}

/* A run that ended without the engine's exit (a scenario's world ends at
 * its duration, the workers still running): the engine is freed then, as an
 * embedder ending its process without a stop frees it, and that too closes
 * every descriptor it holds. */
void
sim_check_freed(struct sim_world *w)
{
    check_freed_closes_all(w);
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
    if (w->stop_received)
        sim_fail(w, "w%u: a restart in %lld ms scheduled after a stop was received", a->slot,
                 (long long)a->ms);
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

/* A live restart: the old server is stopped like any other, on the kill
 * schedule (its stop event follows; check_detached sees that it came). A
 * new server must start by the end of server_detach_wait. */
static void
on_detach_event(struct sim_world *w, struct sim_proc *p, const struct se_act *a)
{
    w->detach_end_ms = w->now_ms + a->ms;
    if (p == NULL) return;
    p->detached = true;
}

/* The engine's own account of its decisions, checked against the world. */

void
sim_check_event(struct sim_world *w, const struct se_act *a)
{
    if (a->slot >= SE_WORKERS_MAX) return;
    struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[a->slot]);
    if (a->event == SE_EVT_WORKER_STOP || a->event == SE_EVT_SERVER_STOP) on_stop_event(w, p, a);
    if (a->event == SE_EVT_SERVER_DETACH) on_detach_event(w, p, a);
    if (a->event == SE_EVT_HEARTBEAT_LOST) on_lost_event(w, p);
    if (a->event == SE_EVT_WORKER_EXITED_UNEXPECTEDLY) on_unexpected_exit_event(w, a);
    if (a->event == SE_EVT_WORKER_RESTART_DELAYED) on_restart_delayed_event(w, a);
    if (a->event == SE_EVT_WORKER_SPAWN_FAILED && w->stop_received && a->ms >= 0)
        sim_fail(w, "w%u: a failed start retried in %lld ms after a stop was received", a->slot,
                 (long long)a->ms);
    if (a->event == SE_EVT_WORKER_FINISHED || a->event == SE_EVT_WORKER_EXITED ||
        a->event == SE_EVT_WORKER_EXITED_UNEXPECTEDLY)
        on_exit_event(w, a);
}

/* The next step of p's kill schedule (a signal or an escalation), NEVER
 * when none is due or the schedule cannot be known. */
static int64_t
kill_step_due(const struct sim_world *w, const struct sim_proc *p)
{
    const struct se_config *c = w->cfg;
    if (sim_by_hook(w) || !schedule_checked(w, p) || p->kill_failed) return SE_INT64_NEVER;
    if (p->i_start_ms != SE_INT64_NEVER) {
        int64_t i_to = c->worker_immediate_kill_timeout_ms;
        int64_t kill_at = i_to >= 0 ? p->i_start_ms + i_to : SE_INT64_NEVER;
        return se_min_ms(p->i_next_ms, kill_at);
    }
    if (p->imm_req_ms != SE_INT64_NEVER) return p->imm_req_ms;
    if (p->g_start_ms == SE_INT64_NEVER) return SE_INT64_NEVER;
    int64_t g_to = c->worker_graceful_kill_timeout_ms;
    return se_min_ms(p->g_next_ms, g_to >= 0 ? p->g_start_ms + g_to : SE_INT64_NEVER);
}

/* Every live child under a stop has its next step ahead, and the engine
 * wakes for it; a detached server is under a stop. */
static void
check_kill_steps(struct sim_world *w, int64_t deadline_ms)
{
    for (uint32_t id = 0; id < w->ids_used && !w->failed; id++) {
        const struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[id]);
        if (p == NULL || p->state != SIM_P_RUNNING) continue;
        if (p->detached && p->g_start_ms == SE_INT64_NEVER && p->imm_req_ms == SE_INT64_NEVER &&
            p->i_start_ms == SE_INT64_NEVER) {
            sim_fail(w, "w%u pid%d is detached and not being stopped", id, p->pid);
            return;
        }
        int64_t due = kill_step_due(w, p);
        if (due == SE_INT64_NEVER) continue;
        if (due <= w->now_ms || deadline_ms > due)
            sim_fail(w,
                     "w%u pid%d: its kill step due at %lld ms %s (now %lld ms, next wake-up "
                     "%lld ms)",
                     id, p->pid, (long long)due, due <= w->now_ms ? "was skipped" : "is slept past",
                     (long long)w->now_ms, (long long)deadline_ms);
    }
}

/* The supervisor wants a server whenever it has none and is not stopping:
 * then it has a deadline, and a detach lasts no longer than its wait. */
static void
check_supervisor_wait(struct sim_world *w)
{
    const struct se_sup *s = &w->driver->sup;
    bool wants = s->state != SE_SUP_INIT && s->state != SE_SUP_STOPPING &&
                 s->state != SE_SUP_DONE && s->current == SE_SUP_NONE;
    if (wants && se__sup_deadline_ms(s) == SE_INT64_NEVER) {
        sim_fail(w, "the supervisor wants a server and waits with no deadline (state %d)",
                 (int)s->state);
        return;
    }
    if (s->state == SE_SUP_DETACHING && w->now_ms > w->detach_end_ms)
        sim_fail(w, "the detach still runs at %lld ms, past server_detach_wait (ends %lld ms)",
                 (long long)w->now_ms, (long long)w->detach_end_ms);
}

/* A slot whose child has been reaped keeps no machine of that child going:
 * its kill machine has taken the reap (or never stopped anything) and its
 * heartbeat machine is stopped. The loop skips such slots' deadlines, so a
 * machine left running there would go stale unseen (what is left of the
 * group has a machine of its own). */
static void
check_childless_slots(struct sim_world *w)
{
    const struct se_driver *d = w->driver;
    for (uint32_t i = 0; i < d->slots_used; i++) {
        const struct se_drv_slot *s = &d->slots[i];
        if (s->child != 0 || !s->ended) continue;
        if (s->kill.phase != SE_KILL_REAPED && s->kill.phase != SE_KILL_IDLE) {
            sim_fail(w, "slot %u has no child and its kill machine is still in phase %d", i,
                     (int)s->kill.phase);
            return;
        }
        if (s->hb.active) {
            sim_fail(w, "slot %u has no child and its heartbeat machine still watches", i);
            return;
        }
    }
}

void
sim_check_wait(struct sim_world *w, int64_t deadline_ms)
{
    check_kill_steps(w, deadline_ms);
    if (w->driver != NULL && !w->failed) check_childless_slots(w);
    if (w->spawn_failures != w->spawn_failures_told)
        sim_fail(w, "%u starts failed, %u told by spawn_failed", w->spawn_failures,
                 w->spawn_failures_told);
    if (w->reloads_unapplied > 0 || w->reloads_unreported > 0)
        sim_fail(w,
                 "a reload %s and the engine waits again without telling (config_applied, "
                 "reload_failed)",
                 w->reloads_unapplied > 0 ? "was accepted" : "was refused");
    if (w->opts.supervisor && w->driver != NULL && !w->failed) check_supervisor_wait(w);
    if (w->failed) return;
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

/* The pool's size: an embedded worker is the server's own thread, one. */
uint32_t
sim_pool_size(const struct sim_world *w)
{
    return w->cfg->worker_type == SE_WORKER_EMBEDDED ? 1u : w->cfg->workers;
}

static uint32_t
wanted_now(const struct sim_world *w)
{
    if (w->opts.supervisor) return 1; /* one current server */
    uint32_t n = 0;
    for (uint32_t id = 0; id < sim_pool_size(w); id++)
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
        if (!w->opts.supervisor && id >= sim_pool_size(w)) {
            sim_fail(w, "worker %u still runs after a scale down to %u", id, sim_pool_size(w));
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
    int64_t bound = sim_converge_bound_ms(w);
    w->converge_ms = SE_INT64_NEVER;
    if (live + 1 == wanted && w->roll_stop_ms != SE_INT64_NEVER &&
        w->now_ms - w->roll_stop_ms <= bound) {
        /* a rolling restart replaces one worker at a time, each step a stop
         * and a restart apart: N - 1 serve while it goes on (check_rolling),
         * and it must end: checked again one bound later */
        w->converge_ms = w->now_ms + bound;
        sim_trace(w, "rolling restart under way: %u workers running, checked again in %lld ms",
                  live, (long long)bound);
        sim_push(w, w->converge_ms, SIM_EV_CONVERGED, 0, 0, 0);
    } else if (live != wanted) {
        sim_fail(w, "liveness: %u workers running, %u wanted, %lld ms after the faults stopped",
                 live, wanted, (long long)bound);
    } else {
        sim_trace(w, "converged: %u workers running", live);
    }
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
    sim_check_backlog(w); /* before the driver is freed */
    if (w->opts.seed % 3 == 0 && w->configs_retired != w->reloads_accepted)
        sim_fail(w, "%u reloads accepted, %u replaced configurations handed to retire_config",
                 w->reloads_accepted, w->configs_retired);
    check_freed_closes_all(w);
    check_every_exit_classified(w);
    for (uint32_t i = 0; i < SIM_PROCS_MAX && !w->failed; i++) {
        const struct sim_proc *p = &w->procs[i];
        if (p->handle != 0 && p->state == SIM_P_REAPED && !p->exit_told)
            sim_fail(w, "w%u pid%d was reaped and its end never told (exited hook)", p->worker_id,
                     p->pid);
    }
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *p = &w->procs[i];
        /* exit_on_detach: the old server finishes on its own, after us */
        if (p->detached && w->cfg->exit_on_detach) continue;
        if (p->state == SIM_P_RUNNING || p->state == SIM_P_ZOMBIE) {
            sim_fail(w, "w%u pid%d outlives the engine (%s)", p->worker_id, p->pid,
                     p->state == SIM_P_RUNNING ? "running" : "not reaped");
            return;
        }
        if (p->state != SIM_P_FREE && sim_group_left(w, p) > 0) {
            sim_fail(w, "%u member(s) of the group of w%u pid%d outlive the engine",
                     sim_group_left(w, p), p->worker_id, p->pid);
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
    if (w->driver == NULL) return; /* checked already, at the engine's exit */
    uint32_t peak = w->driver->backlog_max;
    w->res.backlog_max = peak;
    if (peak > SE_ACTS_MAX / 2)
        sim_fail(w, "the action backlog reached %u, past half the queue (%u)", peak,
                 SE_ACTS_MAX / 2);
}

/* The live process of the server role's slot, or, in the supervisor role
 * (slot UINT32_MAX), any live process with that pid. */
static const struct sim_proc *
live_with_pid(struct sim_world *w, uint32_t slot, int32_t pid)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *p = &w->procs[i];
        if (p->handle == 0 || p->pid != pid) continue;
        if (p->state != SIM_P_RUNNING && p->state != SIM_P_ZOMBIE) continue;
        if (slot == UINT32_MAX || (p->worker_id == slot && w->live_handle[slot] == p->handle))
            return p;
    }
    return NULL;
}

/* A log line that names a child's pid names the live process of that slot:
 * the pid the adapter returned at the spawn, not a stale or missing one.
 * The simulated reap fails only with EAGAIN (nothing ready), which is no
 * failure to report. */
void
sim_check_log(struct sim_world *w, const char *msg)
{
    unsigned slot = 0;
    int pid = 0;
    if (strncmp(msg, "Collecting child status failed", 30) == 0)
        sim_fail(w, "\"%s\": the adapter's reap never failed", msg);
    if (sscanf(msg, "Worker %u started (pid %d)", &slot, &pid) == 2) {
        if (slot >= SE_WORKERS_MAX || live_with_pid(w, slot, pid) == NULL)
            sim_fail(w, "\"%s\": worker %u has no live process with pid %d", msg, slot, pid);
    } else if (sscanf(msg, "Server (pid %d) started", &pid) == 1) {
        if (live_with_pid(w, UINT32_MAX, pid) == NULL)
            sim_fail(w, "\"%s\": no live server has pid %d", msg, pid);
    } else if (sscanf(msg, "Worker %u ", &slot) == 1 &&
               strstr(msg, " closed its heartbeat pipe but") != NULL) {
        /* an EOF, never a failed read (which says nothing of the child) */
        const struct sim_proc *p =
            slot < SE_WORKERS_MAX ? sim_proc_by_handle(w, w->live_handle[slot]) : NULL;
        if (p == NULL || !p->hb_eof)
            sim_fail(w, "\"%s\": worker %u never closed its heartbeat pipe", msg, slot);
    }
}

/* The server beats to its supervisor every self-beat interval, never later:
 * its own deadline includes the beat (a late one reads as a stall). Once
 * its supervisor is gone, the beat fails (EPIPE); once the engine knows
 * (the event, or that failure), it beats no more. */
int
sim_check_self_beat(struct sim_world *w)
{
    int64_t gap = w->now_ms - w->self_beat_last_ms;
    if (w->parent_told) {
        sim_fail(w, "the server beat to its supervisor after it learned it is gone");
        return -EPIPE;
    }
    if (w->parent_dead) {
        w->parent_told = true;
        sim_trace(w, "the beat finds the supervisor gone (EPIPE)");
        return -EPIPE;
    }
    if (w->opts.self_beat_ms <= 0)
        sim_fail(w, "the server beat to a supervisor it was never given");
    else if (gap > w->opts.self_beat_ms)
        sim_fail(w, "the server beat to its supervisor %lld ms after its last beat (interval %lld)",
                 (long long)gap, (long long)w->opts.self_beat_ms);
    w->self_beat_last_ms = w->now_ms;
    w->self_beats++;
    return 0;
}

/* The embedder's periodic duty (the watchdog ping) runs at its start, then
 * every interval to the millisecond: a deadline of the loop like the others. */
void
sim_check_periodic(struct sim_world *w)
{
    int64_t gap = w->now_ms - w->periodic_last_ms;
    int64_t want = w->periodic_runs == 0 ? 0 : w->opts.periodic_ms;
    if (w->opts.periodic_ms <= 0)
        sim_fail(w, "the periodic duty ran, and none was set");
    else if (gap != want)
        sim_fail(w, "the periodic duty ran %lld ms after its last run, not %lld", (long long)gap,
                 (long long)want);
    w->periodic_last_ms = w->now_ms;
    w->periodic_runs++;
}
