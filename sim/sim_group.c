/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_group.c: what a worker leaves in its process group.
 *
 * A process worker leads its own process group (worker_kill_process_group,
 * serverengine(5)); what it starts stays in that group, and may outlive it:
 * a shell's background job, a daemon that ignores TERM. Here a worker may
 * have up to SIM_MEMBERS_MAX such members. They are not the engine's
 * children: nothing tells the engine when they end, and only a signal to
 * the group (signal_group) reaches them. Each member ends on the graceful
 * signal, on the immediate one, on KILL only, or by itself at a set time.
 *
 * Whether a worker has members, and which, is drawn from a hash of the seed
 * and the handle, not from the world's PRNG: the runs of every seed draw
 * the same numbers as before the model existed, so a seed kept for a race
 * it draws keeps drawing it.
 *
 * The invariants (sim_check_group, sim_check_exit):
 *  - the stop of what is left begins at the worker's reap: its first signal
 *    comes then, and its KILL no earlier than the immediate timeout after;
 *  - nothing of the group is left once the kill schedule has run out (both
 *    timeouts after the reap, plus the engine's probe and a little slack; a
 *    failed KILL is retried);
 *  - once told that nothing of a group is left (ESRCH), the engine never
 *    signals or probes it again; it signals groups only where the
 *    configuration says so;
 *  - no member outlives the engine.
 */
#include <errno.h>
#include <stdio.h>

#include "sim_int.h"

#define SIM_GROUP_PERMILLE 200  /* workers that leave members behind */
#define SIM_GROUP_SLACK_MS 1000 /* past the schedule: the engine's probe and the loop */
#define SIM_GROUP_PROBE_MS 100  /* the driver looks at a group this often, no more */

static uint64_t
mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The engine signals a group only for process workers of a server with
 * worker_kill_process_group (serverengine(5)). */
bool
sim_groups_signalled(const struct sim_world *w)
{
    return !w->opts.supervisor && !sim_by_hook(w) && w->cfg->worker_kill_process_group;
}

/* Members are modelled where the engine stops them, and only where a
 * finite schedule can end one that ignores a signal. */
static bool
groups_modelled(const struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    return sim_groups_signalled(w) && c->worker_graceful_kill_timeout_ms >= 0 &&
           c->worker_immediate_kill_timeout_ms >= 0;
}

void
sim_script_group(struct sim_world *w, uint32_t worker_id, uint32_t nth,
                 const enum sim_member_end *ends_on, uint32_t n, int64_t leaves_ms)
{
    SE_ASSERT(w->group_script_len < SIM_SCRIPT_MAX && n <= SIM_MEMBERS_MAX);
    struct sim_group_script *g = &w->group_script[w->group_script_len++];
    *g = (struct sim_group_script){
        .worker_id = worker_id, .nth = nth, .members = n, .leaves_ms = leaves_ms};
    for (uint32_t i = 0; i < n; i++)
        g->ends_on[i] = ends_on[i];
}

static bool
scripted_group(struct sim_world *w, struct sim_proc *p)
{
    for (uint32_t k = 0; k < w->group_script_len; k++) {
        const struct sim_group_script *g = &w->group_script[k];
        if (g->worker_id != p->worker_id || g->nth != p->nth) continue;
        p->members = g->members;
        for (uint32_t i = 0; i < g->members; i++)
            p->member[i] = (struct sim_member){
                .alive = true, .ends_on = g->ends_on[i], .leaves_ms = p->started_ms + g->leaves_ms};
        return true;
    }
    return false;
}

void
sim_group_spawn(struct sim_world *w, struct sim_proc *p)
{
    p->members = 0;
    p->reaped_ms = SE_INT64_NEVER;
    if (!groups_modelled(w)) return;
    if (scripted_group(w, p)) {
        sim_trace(w, "w%u pid%d leads a group of %u more", p->worker_id, p->pid, p->members);
        return;
    }
    if (!w->opts.random_models || w->liveness) return;
    uint64_t h = mix(w->opts.seed * UINT64_C(0x100000001b3) ^ p->handle);
    if (h % 1000 >= SIM_GROUP_PERMILLE) return;
    p->members = 1 + (uint32_t)((h >> 10) % SIM_MEMBERS_MAX);
    for (uint32_t i = 0; i < p->members; i++) {
        struct sim_member *m = &p->member[i];
        m->alive = true;
        m->ends_on = (enum sim_member_end)((h >> (16 + 2 * i)) & 3u);
        m->leaves_ms = p->started_ms + (int64_t)((h >> (32 + 5 * i)) % 30) * 1000;
    }
    sim_trace(w, "w%u pid%d leads a group of %u more", p->worker_id, p->pid, p->members);
}

static bool
member_alive(const struct sim_world *w, const struct sim_member *m)
{
    return m->alive && !(m->ends_on == SIM_MEMBER_LEAVES && w->now_ms >= m->leaves_ms);
}

uint32_t
sim_group_left(const struct sim_world *w, const struct sim_proc *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->members; i++)
        n += member_alive(w, &p->member[i]) ? 1u : 0u;
    return n;
}

static bool
ends_on(const struct sim_world *w, const struct sim_member *m, enum se_sig sig)
{
    if (sig == SE_SIG_KILL) return true;
    if (sig == w->cfg->signal_immediate_stop) return m->ends_on != SIM_MEMBER_KILL;
    if (sig == w->cfg->signal_graceful_stop) return m->ends_on == SIM_MEMBER_TERM;
    return false;
}

/* The schedule of what is left, from the reap: its stop begins then, and
 * its KILL comes no earlier than the immediate timeout after it. */
static void
check_left_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    int64_t since = w->now_ms - p->reaped_ms;
    /* what is left of a worker stopped immediately is stopped immediately */
    bool immediate = p->i_start_ms != SE_INT64_NEVER || p->imm_req_ms != SE_INT64_NEVER;
    enum se_sig first = immediate ? w->cfg->signal_immediate_stop : w->cfg->signal_graceful_stop;
    if (p->group_sigs == 0 && since != 0)
        sim_fail(w, "w%u pid%d: the stop of what is left of its group began %lld ms after its reap",
                 p->worker_id, p->pid, (long long)since);
    else if (p->group_sigs == 0 && sig != first)
        sim_fail(w, "w%u pid%d: what is left of its group first gets %s, not %s (its own stop %s)",
                 p->worker_id, p->pid, se_sig_name(sig), se_sig_name(first),
                 immediate ? "was immediate" : "was not");
    else if (sig == SE_SIG_KILL && since < w->cfg->worker_immediate_kill_timeout_ms &&
             w->last_reap_ms[p->worker_id] != w->now_ms) /* a later one's end: no more waiting */
        sim_fail(w,
                 "w%u pid%d: SIGKILL to what is left of its group %lld ms after the reap, before "
                 "worker_immediate_kill_timeout",
                 p->worker_id, p->pid, (long long)since);
}

/* A signal to the group reaches the members left (the leader is signalled
 * by the caller while it is not reaped). */
void
sim_group_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    for (uint32_t i = 0; i < p->members; i++) {
        struct sim_member *m = &p->member[i];
        if (!member_alive(w, m) || !ends_on(w, m, sig)) continue;
        m->alive = false;
        sim_trace(w, "w%u pid%d: a member of its group ends on %s (%u left)", p->worker_id, p->pid,
                  se_sig_name(sig), sim_group_left(w, p));
    }
}

/* A signal to what is left fails (EPERM) as the proc/kill fault point
 * fails others, drawn from the hash, not the PRNG (see the top). The KILL
 * that hurries a group when the next worker of its slot ends is not failed:
 * the engine sends it once and gives up on the group (nothing to retry). */
static bool
left_signal_fails(struct sim_world *w, struct sim_proc *p)
{
    if (w->liveness || !w->opts.faults || !w->fault_active[SE_FAULT_PROC_KILL]) return false;
    if (w->last_reap_ms[p->worker_id] == w->now_ms && p->reaped_ms != w->now_ms) return false;
    uint64_t h = mix(w->opts.seed ^ ((uint64_t)p->handle << 24) ^ ((uint64_t)p->group_tries << 48));
    p->group_tries++;
    return h % 1000 < w->fault_permille[SE_FAULT_PROC_KILL];
}

/* signal_group for a reaped worker: what is left of its group. Once the
 * engine is told nothing is left (ESRCH), it never asks again: the group's
 * id may be another group's by then. */
int
sim_group_signal_left(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    if (p->group_gone_told) {
        sim_fail(w,
                 "w%u pid%d: %s to its group after the engine was told nothing of it is left "
                 "(its id may be another group's by now)",
                 p->worker_id, p->pid, se_sig_name(sig));
        return -ESRCH;
    }
    if (sig == SE_SIG_NONE) { /* the engine's probe: it polls, so never too often */
        if (p->group_probe_ms != SE_INT64_NEVER &&
            w->now_ms - p->group_probe_ms < SIM_GROUP_PROBE_MS)
            sim_fail(w,
                     "w%u pid%d: its group probed again %lld ms after the last probe (the loop "
                     "polls a group every %d ms)",
                     p->worker_id, p->pid, (long long)(w->now_ms - p->group_probe_ms),
                     SIM_GROUP_PROBE_MS);
        p->group_probe_ms = w->now_ms;
    }
    if (sim_group_left(w, p) == 0) {
        p->group_gone_told = true;
        return -ESRCH;
    }
    if (sig == SE_SIG_NONE) return 0;
    if (p->group_sigs < SIM_SIGLOG_MAX)
        p->group_sig_log[p->group_sigs] = (struct sim_sig_rec){w->now_ms, sig};
    if (sig != SE_SIG_CONT) check_left_signal(w, p, sig);
    p->group_sigs++;
    if (left_signal_fails(w, p)) {
        if (sig == SE_SIG_KILL) { /* retried one immediate interval later */
            int64_t every = w->cfg->worker_immediate_kill_interval_ms;
            p->group_kill_failed = true;
            p->group_retry_ms = w->now_ms + (every > 0 ? every : 1000);
        }
        sim_trace(w, "w%u pid%d: %s to its group fails (EPERM)", p->worker_id, p->pid,
                  se_sig_name(sig));
        return -EPERM;
    }
    sim_group_signal(w, p, sig);
    return 0;
}

/* The worker is reaped: what is left of its group must be gone once the
 * kill schedule has run out. */
void
sim_group_reaped(struct sim_world *w, struct sim_proc *p)
{
    p->reaped_ms = w->now_ms;
    p->group_sigs = 0;
    p->group_tries = 0;
    p->group_gone_told = false;
    p->group_kill_failed = false;
    p->group_probe_ms = SE_INT64_NEVER;
    w->last_reap_ms[p->worker_id] = w->now_ms;
    uint32_t left = sim_group_left(w, p);
    if (left == 0) return;
    const struct se_config *c = w->cfg;
    int64_t bound = c->worker_graceful_kill_timeout_ms + c->worker_immediate_kill_timeout_ms +
                    SIM_GROUP_SLACK_MS;
    sim_trace(w, "w%u pid%d reaped with %u member(s) of its group left", p->worker_id, p->pid,
              left);
    sim_push(w, w->now_ms + bound, SIM_EV_GROUP_CHECK, p->handle, 0, 0);
}

void
sim_check_group(struct sim_world *w, uint32_t handle)
{
    struct sim_proc *p = sim_proc_by_handle(w, handle);
    if (p == NULL || p->state != SIM_P_REAPED) return;
    uint32_t left = sim_group_left(w, p);
    if (left > 0 && p->group_kill_failed) { /* a failed KILL is retried an interval later */
        p->group_kill_failed = false;
        int64_t at = se_max_ms(p->group_retry_ms, w->now_ms) + SIM_GROUP_SLACK_MS;
        sim_push(w, at, SIM_EV_GROUP_CHECK, p->handle, 0, 0);
    } else if (left > 0) {
        sim_fail(w,
                 "w%u pid%d ended %lld ms ago and %u member(s) of its group are left: its kill "
                 "schedule has run out",
                 p->worker_id, p->pid, (long long)(w->now_ms - p->reaped_ms), left);
    }
}

/* Any group with members left: a stop must wait for them too. */
bool
sim_groups_pending(const struct sim_world *w)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        const struct sim_proc *p = &w->procs[i];
        if (p->handle != 0 && p->state != SIM_P_FREE && sim_group_left(w, p) > 0) return true;
    }
    return false;
}
