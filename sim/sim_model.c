/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_model.c: how simulated workers behave, how configurations are drawn
 * and reloaded, and what the random operator does. All chance comes from
 * the world's PRNG.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"

static const char *const model_names[SIM_MODEL_COUNT] = {
    [SIM_HEALTHY] = "healthy",         [SIM_CRASH_AT] = "crash-at",
    [SIM_STALL_AT] = "stall-at",       [SIM_IGNORE_TERM] = "ignore-term",
    [SIM_IGNORE_QUIT] = "ignore-quit", [SIM_SLOW_EXIT] = "slow-exit",
    [SIM_CRASH_LOOP] = "crash-loop",   [SIM_EXEC_FAIL] = "exec-fail",
    [SIM_PIPE_BEATER] = "pipe-beater", [SIM_EOF_EARLY] = "eof-early",
};

/* ---- models ------------------------------------------------------------- */

/* Weights (per mille) of the models drawn in the safety phase. */
static const uint16_t model_weights[SIM_MODEL_COUNT] = {
    [SIM_HEALTHY] = 560,    [SIM_CRASH_AT] = 120, [SIM_STALL_AT] = 60,   [SIM_IGNORE_TERM] = 50,
    [SIM_IGNORE_QUIT] = 30, [SIM_SLOW_EXIT] = 50, [SIM_CRASH_LOOP] = 40, [SIM_EXEC_FAIL] = 20,
    [SIM_PIPE_BEATER] = 50, [SIM_EOF_EARLY] = 20,
};

/* Thread and embedded workers: stopped by their stop callback (a hook),
 * never signalled, no heartbeat (the driver's stop_by_hook). */
bool
sim_by_hook(const struct sim_world *w)
{
    return !w->opts.supervisor &&
           (w->cfg->worker_type == SE_WORKER_THREAD || w->cfg->worker_type == SE_WORKER_EMBEDDED);
}

/* A model the configuration makes impossible to stop or detect is replaced:
 * with a timeout of -1 the engine waits forever by design. A thread has no
 * heartbeat, no signals and no pipe: it stops when its stop callback runs
 * (a slow exit at most), and it cannot be killed, so it has no model that
 * ignores the stop. */
static enum sim_model
model_allowed(const struct sim_world *w, enum sim_model m)
{
    const struct se_config *c = w->cfg;
    if (sim_by_hook(w) && m != SIM_CRASH_AT && m != SIM_SLOW_EXIT && m != SIM_CRASH_LOOP)
        return SIM_HEALTHY;
    bool graceful_forever = c->worker_graceful_kill_timeout_ms < 0;
    bool immediate_forever = c->worker_immediate_kill_timeout_ms < 0;
    switch (m) {
    case SIM_STALL_AT:
        if (c->worker_heartbeat_timeout_ms < 0 || graceful_forever) return SIM_HEALTHY;
        return m;
    case SIM_IGNORE_TERM: return graceful_forever ? SIM_HEALTHY : m;
    case SIM_IGNORE_QUIT: return graceful_forever || immediate_forever ? SIM_HEALTHY : m;
    case SIM_HEALTHY:
    case SIM_CRASH_AT:
    case SIM_SLOW_EXIT:
    case SIM_CRASH_LOOP:
    case SIM_EXEC_FAIL:
    case SIM_PIPE_BEATER:
    case SIM_EOF_EARLY:
    case SIM_MODEL_COUNT: break;
    }
    return m;
}

static enum sim_model
draw_model(struct sim_world *w)
{
    uint32_t r = (uint32_t)sim_rand_range(w, 0, 999), acc = 0;
    for (int m = 0; m < SIM_MODEL_COUNT; m++) {
        acc += model_weights[m];
        if (r < acc) return model_allowed(w, (enum sim_model)m);
    }
    return SIM_HEALTHY;
}

static const struct sim_script *
scripted(const struct sim_world *w, const struct sim_proc *p)
{
    for (uint32_t i = 0; i < w->script_len; i++) {
        if (w->script[i].worker_id == p->worker_id && w->script[i].nth == p->nth)
            return &w->script[i];
    }
    return NULL;
}

/* Whether the run may end before its liveness phase: by the operator (a
 * stop, or a detach that ends the supervisor) or by a worker's unrecoverable
 * exit code. In one seed of four: drawn in every seed, they ended a
 * supervisor's run half way on average, and more than half of the runs
 * never reached the liveness phase or the final stop. */
static bool
run_may_end(const struct sim_world *w)
{
    return w->opts.seed % 4 == 0;
}

static void
crash_how(struct sim_world *w, int32_t *code, enum se_sig *sig)
{
    static const enum se_sig crash_sigs[] = {SE_SIG_SEGV, SE_SIG_ABRT, SE_SIG_KILL, SE_SIG_BUS};
    *sig = SE_SIG_NONE;
    *code = 1;
    uint32_t r = (uint32_t)sim_rand_range(w, 0, 99);
    if (r < 10 && se__config_unrecoverable(w->cfg, 5) && run_may_end(w)) {
        *code = 5; /* an unrecoverable code, when the configuration has one */
    } else if (r < 70) {
        static const int32_t codes[] = {0, 1, 2, 70, 255};
        *code = codes[sim_rand_range(w, 0, 4)];
    } else {
        *code = -1;
        *sig = crash_sigs[sim_rand_range(w, 0, 3)];
    }
}

static int64_t
slow_exit_max_ms(const struct se_config *c)
{
    return 3 * se_max_ms(c->worker_graceful_kill_interval_ms, 100) + 1000;
}

static void
schedule_stall(struct sim_world *w, struct sim_proc *p, int64_t after_ms)
{
    p->stall_ms = w->now_ms + after_ms;
    if (w->cfg->worker_heartbeat_timeout_ms < 0) return;
    /* the last beat before the stall, then the timeout, then the precision */
    int64_t saved_now = w->now_ms;
    w->now_ms = p->stall_ms;
    int64_t last = sim_proc_last_beat(w, p);
    w->now_ms = saved_now;
    p->stall_check_ms = last + w->cfg->worker_heartbeat_timeout_ms + SIM_LATE_MS;
    sim_push(w, p->stall_check_ms, SIM_EV_STALL_CHECK, p->handle, (int32_t)w->hb_epoch, 0);
}

static void
apply_model(struct sim_world *w, struct sim_proc *p, enum sim_model m, int64_t at_ms, int32_t code,
            bool from_script)
{
    p->model = m;
    enum se_sig sig = SE_SIG_NONE;
    switch (m) {
    case SIM_HEALTHY:
    case SIM_IGNORE_TERM:
    case SIM_IGNORE_QUIT:
    case SIM_MODEL_COUNT: break;
    case SIM_CRASH_AT:
        if (!from_script) crash_how(w, &code, &sig);
        if (sim_by_hook(w) && sig != SE_SIG_NONE) code = 1, sig = SE_SIG_NONE; /* run returns */
        if (from_script && code < 0) sig = SE_SIG_SEGV;
        sim_push(w, w->now_ms + at_ms, SIM_EV_CRASH, p->handle, code, (int32_t)sig);
        break;
    case SIM_STALL_AT: schedule_stall(w, p, at_ms); break;
    case SIM_SLOW_EXIT: p->model_ms = at_ms; break;
    case SIM_CRASH_LOOP:
        sim_push(w, w->now_ms + sim_rand_range(w, 1, 50), SIM_EV_CRASH, p->handle, 1, 0);
        break;
    case SIM_EXEC_FAIL: sim_push(w, w->now_ms + 1, SIM_EV_CRASH, p->handle, 127, 0); break;
    case SIM_PIPE_BEATER:
        if (p->hb_fd < 0) break;
        p->pipe_beats = true;
        sim_push(w, w->now_ms + p->beat_phase_ms, SIM_EV_PIPE_BEAT, p->handle, 0, 0);
        break;
    case SIM_EOF_EARLY: {
        /* scripted: code is the delay from the EOF to the exit */
        int64_t exit_after = from_script ? code : sim_rand_range(w, 0, 2000);
        sim_push(w, w->now_ms + at_ms, SIM_EV_EOF_EARLY, p->handle, 0, 0);
        sim_push(w, w->now_ms + at_ms + exit_after, SIM_EV_CRASH, p->handle, 1, 0);
        break;
    }
    }
}

void
sim_model_spawn(struct sim_world *w, struct sim_proc *p)
{
    p->beat_interval_ms = se_max_ms(1, w->cfg->worker_heartbeat_interval_ms);
    p->beat_phase_ms = sim_rand_range(w, 0, p->beat_interval_ms - 1);
    const struct sim_script *s = scripted(w, p);
    if (s != NULL) {
        apply_model(w, p, s->model, s->at_ms, s->code, true);
    } else if (w->opts.random_models && !w->liveness) {
        enum sim_model m = draw_model(w);
        int64_t at = sim_rand_range(w, 0, 60000);
        if (m == SIM_SLOW_EXIT) at = sim_rand_range(w, 0, slow_exit_max_ms(w->cfg));
        apply_model(w, p, m, at, 0, false);
    } else {
        apply_model(w, p, SIM_HEALTHY, 0, 0, false);
    }
    SE_ASSERT((unsigned)p->model < SIM_MODEL_COUNT);
    sim_trace(w, "w%u pid%d start #%u model=%s", p->worker_id, p->pid, p->nth,
              model_names[p->model]);
}

static bool
stalled(const struct sim_world *w, const struct sim_proc *p)
{
    return w->now_ms >= p->stall_ms;
}

/* The worker's stop callback runs (graceful stop or restart, detach). */
static void
on_graceful(struct sim_world *w, struct sim_proc *p)
{
    if (p->model == SIM_IGNORE_TERM || p->model == SIM_IGNORE_QUIT || stalled(w, p)) return;
    int64_t delay = p->model == SIM_SLOW_EXIT ? p->model_ms : sim_rand_range(w, 0, 20);
    sim_push(w, w->now_ms + delay, SIM_EV_EXIT, p->handle, 0, 0);
}

void
sim_model_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    const struct se_config *c = w->cfg;
    if (sig == SE_SIG_KILL) {
        sim_proc_exit(w, p, -1, SE_SIG_KILL);
        return;
    }
    /* A server process takes restart signals as commands for its workers; a
     * worker process takes them as "stop" (serverengine(3), SIGNALS). */
    bool server = w->opts.supervisor;
    if (sig == c->signal_graceful_stop ||
        (!server && (sig == c->signal_graceful_restart || sig == c->signal_detach))) {
        on_graceful(w, p);
        return;
    }
    if (sig == c->signal_immediate_stop || (!server && sig == c->signal_immediate_restart)) {
        /* the default action: even a stalled loop dies of it */
        if (p->model != SIM_IGNORE_QUIT) sim_proc_exit(w, p, -1, sig);
        return;
    }
    /* reload and dump: handled by the worker, nothing to model */
}

/* A thread or embedded worker's stop callback: the graceful behaviour of
 * its model, once (the engine calls it once per stop). */
void
sim_model_stop_hook(struct sim_world *w, uint32_t slot)
{
    struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[slot]);
    if (p == NULL || p->state != SIM_P_RUNNING) return;
    sim_trace(w, "w%u pid%d stop callback", p->worker_id, p->pid);
    on_graceful(w, p);
}

/* ---- configurations ----------------------------------------------------- */

static void SE_PRINTF(3, 4) set(struct sim_world *w, struct se_config *cfg, const char *fmt, ...)
{
    char kv[256], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    if (se_config_set_kv(cfg, kv, err, sizeof err) != 0)
        sim_fail(w, "the simulator drew an invalid setting %s: %s", kv, err);
}

static double
s_of(int64_t ms)
{
    return (double)ms / 1000.0;
}

static void
draw_timeout(struct sim_world *w, struct se_config *cfg, const char *key, int64_t lo, int64_t hi)
{
    if (sim_chance(w, 50))
        set(w, cfg, "%s=-1", key);
    else
        set(w, cfg, "%s=%.3f", key, s_of(sim_rand_range(w, lo, hi)));
}

static void
draw_timings(struct sim_world *w, struct se_config *cfg)
{
    static const int64_t intervals[] = {100, 250, 500, 1000, 2000};
    int64_t hb = intervals[sim_rand_range(w, 0, 4)];
    set(w, cfg, "worker_heartbeat_interval=%.3f", s_of(hb));
    draw_timeout(w, cfg, "worker_heartbeat_timeout", se_max_ms(2 * hb, 500), 30000);
    set(w, cfg, "worker_graceful_kill_interval=%.3f", s_of(sim_rand_range(w, 100, 20000)));
    set(w, cfg, "worker_graceful_kill_interval_increment=%.3f", s_of(sim_rand_range(w, 0, 10000)));
    draw_timeout(w, cfg, "worker_graceful_kill_timeout", 0, 60000);
    set(w, cfg, "worker_immediate_kill_interval=%.3f", s_of(sim_rand_range(w, 100, 10000)));
    set(w, cfg, "worker_immediate_kill_interval_increment=%.3f", s_of(sim_rand_range(w, 0, 5000)));
    draw_timeout(w, cfg, "worker_immediate_kill_timeout", 0, 30000);
}

static void
draw_restarts(struct sim_world *w, struct se_config *cfg)
{
    int64_t delay = sim_chance(w, 500) ? 0 : sim_rand_range(w, 1, 2000);
    set(w, cfg, "start_worker_delay=%.3f", s_of(delay));
    set(w, cfg, "start_worker_delay_rand=%.3f", (double)sim_rand_range(w, 0, 1000) / 1000.0);
    int64_t rwi = sim_chance(w, 500) ? 0 : sim_rand_range(w, 1, 5000);
    set(w, cfg, "restart_worker_interval=%.3f", s_of(rwi));
    int64_t backoff = sim_chance(w, 200) ? 0 : sim_rand_range(w, 500, 20000);
    set(w, cfg, "worker_restart_backoff_max=%.3f", s_of(backoff));
}

static void
draw_supervisor(struct sim_world *w, struct se_config *cfg)
{
    set(w, cfg, "supervisor=true");
    set(w, cfg, "server_restart_wait=%.3f", s_of(sim_rand_range(w, 0, 2000)));
    set(w, cfg, "server_detach_wait=%.3f", s_of(sim_rand_range(w, 100, 10000)));
    set(w, cfg, "enable_detach=%s", sim_chance(w, 700) ? "true" : "false");
    set(w, cfg, "exit_on_detach=%s", sim_chance(w, 100) ? "true" : "false");
    set(w, cfg, "restart_server_process=%s", sim_chance(w, 300) ? "true" : "false");
    set(w, cfg, "disable_reload=%s", sim_chance(w, 200) ? "true" : "false");
}

void
sim_config_draw(struct sim_world *w, struct se_config *cfg)
{
    set(w, cfg, "worker_type=process");
    if (w->opts.supervisor) draw_supervisor(w, cfg);
    uint32_t workers = w->opts.workers ? w->opts.workers : (uint32_t)sim_rand_range(w, 1, 8);
    set(w, cfg, "workers=%u", workers);
    if (w->opts.random_config) {
        draw_timings(w, cfg);
        draw_restarts(w, cfg);
        if (sim_chance(w, 200)) set(w, cfg, "unrecoverable_exit_codes=[5, 6]");
        set(w, cfg, "stop_immediately_at_unrecoverable_exit=%s",
            sim_chance(w, 300) ? "true" : "false");
        /* odd seeds restart rolling: no draw, the other seeds' runs are unchanged */
        if (w->opts.seed % 2 == 1) set(w, cfg, "restart_mode=rolling");
        /* a quarter of the server role's seeds send stops on a command pipe
         * (even ones: the seeds kept for the races they draw are odd) */
        if (w->opts.seed % 4 == 2 && !w->opts.supervisor) set(w, cfg, "command_sender=pipe");
    }
    for (const char *const *o = w->opts.overrides; o != NULL && *o != NULL; o++)
        set(w, cfg, "%s", *o);
}

static bool
kill_settings_differ(const struct se_config *a, const struct se_config *b)
{
    return a->worker_graceful_kill_interval_ms != b->worker_graceful_kill_interval_ms ||
           a->worker_graceful_kill_interval_increment_ms !=
               b->worker_graceful_kill_interval_increment_ms ||
           a->worker_graceful_kill_timeout_ms != b->worker_graceful_kill_timeout_ms ||
           a->worker_immediate_kill_interval_ms != b->worker_immediate_kill_interval_ms ||
           a->worker_immediate_kill_interval_increment_ms !=
               b->worker_immediate_kill_interval_increment_ms ||
           a->worker_immediate_kill_timeout_ms != b->worker_immediate_kill_timeout_ms;
}

/* A random change of dynamic keys, within the classes the models rely on
 * (a timeout never becomes -1 or stops being -1). */
static void
mutate(struct sim_world *w, struct se_config *cfg)
{
    uint32_t r = (uint32_t)sim_rand_range(w, 0, 99);
    if (r < 50) {
        set(w, cfg, "workers=%u", (unsigned)sim_rand_range(w, 0, 8));
    } else if (r < 65 && cfg->worker_heartbeat_timeout_ms >= 0) {
        int64_t min = se_max_ms(2 * cfg->worker_heartbeat_interval_ms, 500);
        set(w, cfg, "worker_heartbeat_timeout=%.3f", s_of(sim_rand_range(w, min, 30000)));
    } else if (r < 85) {
        set(w, cfg, "worker_graceful_kill_interval=%.3f", s_of(sim_rand_range(w, 100, 20000)));
        set(w, cfg, "worker_immediate_kill_interval=%.3f", s_of(sim_rand_range(w, 100, 10000)));
    } else {
        draw_restarts(w, cfg);
    }
}

static void
adopt(struct sim_world *w, struct se_config *next)
{
    if (kill_settings_differ(w->cfg, next)) w->kill_epoch++;
    if (w->cfg->worker_heartbeat_timeout_ms != next->worker_heartbeat_timeout_ms) w->hb_epoch++;
    for (uint32_t id = next->workers; id < SE_WORKERS_MAX; id++)
        w->dead[id] = false;
    se_config_free(w->cfg);
    w->cfg = next;
}

int
sim_config_reload(struct sim_world *w, struct se_config **out, char *err, size_t err_size)
{
    struct se_config *next = se_config_dup(w->cfg);
    if (next == NULL) return -ENOMEM;
    bool invalid, long_msg = false;
    int rc = SE_ECONFIG;
    if (w->reload_pending >= 0) {
        const char *kv = w->reload_kv[w->reload_pending];
        w->reload_pending = -1;
        if (strcmp(kv, "!") == 0) rc = -EIO; /* a failure with no message: the errno says it */
        if (strcmp(kv, "!long") == 0) { /* the longest message: it names a path at SE_PATH_MAX */
            char path[SE_PATH_MAX];
            memset(path, 'p', sizeof path - 1);
            path[0] = '/';
            path[sizeof path - 1] = '\0';
            snprintf(w->reload_err, sizeof w->reload_err,
                     "pid_path: %s: the path is too long once made absolute (simulated)", path);
            snprintf(err, err_size, "%s", w->reload_err);
            long_msg = true;
        }
        invalid = kv[0] == '\0' || rc == -EIO || long_msg ||
                  se_config_set_kv(next, kv, err, err_size) != 0;
    } else if (w->opts.random_config) {
        invalid = sim_chance(w, 150);
        if (!invalid) mutate(w, next);
    } else {
        invalid = false; /* a scripted world's configuration changes only as scripted */
    }
    if (invalid) {
        se_config_free(next);
        if (err[0] == '\0' && rc == SE_ECONFIG)
            snprintf(err, err_size, "workers: invalid value \"-1\" (simulated)");
        /* the loader's whole message: reload_failed must pass it on uncut */
        if (!long_msg)
            snprintf(w->reload_err, sizeof w->reload_err, "%s", err[0] ? err : se_strerror(rc));
        sim_trace(w, "reload: invalid configuration");
        w->reloads_unreported++;
        w->reloads_refused++;
        return rc;
    }
    struct se_config *copy = se_config_dup(next);
    if (copy == NULL) {
        se_config_free(next);
        return -ENOMEM;
    }
    sim_trace(w, "reload: workers=%u", next->workers);
    adopt(w, next);
    w->reloads_unapplied++;
    w->reloads_accepted++;
    *out = copy;
    return 0;
}

/* ---- the operator ------------------------------------------------------- */

static void
operator_signal(struct sim_world *w, enum se_sig sig)
{
    sim_trace(w, "operator: %s", se_sig_name(sig));
    sim_engine_event(w, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = sig});
}

static void
operator_burst(struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    const enum se_sig kinds[] = {c->signal_graceful_restart, c->signal_reload,
                                 c->signal_immediate_restart, c->signal_dump};
    int64_t n = sim_rand_range(w, 1, 300);
    sim_trace(w, "operator: a burst of %lld signals", (long long)n);
    for (int64_t i = 0; i < n; i++)
        sim_engine_event(
            w, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = kinds[sim_rand_range(w, 0, 3)]});
}

static void
operator_early_stop(struct sim_world *w)
{
    bool graceful = sim_chance(w, 500);
    w->final_stop_ms = w->now_ms;
    w->stop_requested = true;
    /* Faults end here: a kill() that keeps failing would delay the stop
     * without bound, and the bound is what this stop checks. */
    w->liveness = true;
    operator_signal(w, graceful ? w->cfg->signal_graceful_stop : w->cfg->signal_immediate_stop);
    sim_push(w, w->now_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0, 0);
}

/* Whether INT ends the run: a stop without enable_detach, or the
 * supervisor's own end with exit_on_detach. */
static bool
detach_ends(const struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    return !c->enable_detach || c->exit_on_detach;
}

/* INT: a live restart, or (enable_detach false) a graceful stop; with
 * exit_on_detach the supervisor ends, and the run with it. */
static void
operator_detach(struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    if (!c->enable_detach) {
        w->final_stop_ms = w->now_ms;
        w->stop_requested = true;
        w->liveness = true;
        sim_push(w, w->now_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0, 0);
    }
    if (c->enable_detach && c->exit_on_detach) w->detach_ended = true;
    operator_signal(w, c->signal_detach);
}

void
sim_operator_act(struct sim_world *w)
{
    if (w->liveness || w->final_stop_ms != SE_INT64_NEVER) return;
    const struct se_config *c = w->cfg;
    uint32_t r = (uint32_t)sim_rand_range(w, 0, 999);
    if (r < 350)
        operator_signal(w, c->signal_reload);
    else if (r < 550)
        operator_signal(w, c->signal_graceful_restart);
    else if (r < 650)
        operator_signal(w, c->signal_immediate_restart);
    else if (r < 750)
        operator_signal(w, c->signal_dump);
    else if (r < 900)
        operator_burst(w);
    else if (r < 901) {
        if (run_may_end(w)) operator_early_stop(w);
    } else if (r < 980 && w->opts.supervisor && (!detach_ends(w) || run_may_end(w))) {
        operator_detach(w);
    }
    sim_push(w, w->now_ms + sim_rand_range(w, 500, 30000), SIM_EV_OPERATOR, 0, 0, 0);
}

/* ---- bounds ------------------------------------------------------------- */

/* The longest a stop may take: every phase of the escalation, plus slack. */
int64_t
sim_stop_bound_ms(const struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    int64_t g = sim_by_hook(w) ? -1 : c->worker_graceful_kill_timeout_ms;
    if (g < 0) {
        /* no escalation: the slowest live worker sets the pace */
        g = 100;
        for (uint32_t id = 0; id < SE_WORKERS_MAX; id++) {
            const struct sim_proc *p = &w->procs[w->live_handle[id] % SIM_PROCS_MAX];
            if (w->live_handle[id] == 0) continue;
            int64_t delay = p->model == SIM_SLOW_EXIT ? p->model_ms : 100;
            /* a stop already under way keeps its schedule: its next resend */
            int64_t start = p->g_next_ms != SE_INT64_NEVER && p->g_next_ms > w->now_ms
                                ? p->g_next_ms - w->now_ms
                                : 0;
            g = se_max_ms(g, start + delay);
        }
    }
    int64_t i = c->worker_immediate_kill_timeout_ms >= 0 ? c->worker_immediate_kill_timeout_ms : 0;
    if (sim_by_hook(w)) i = 0; /* no immediate stop: the callback is all there is */
    /* what a worker leaves in its group is stopped from its reap on, with
     * the same schedule again (sim_group.c: only when both are finite) */
    int64_t retry = se_max_ms(c->worker_immediate_kill_interval_ms, 1000); /* a failed KILL */
    int64_t group = sim_groups_pending(w) ? g + i + retry + 2000 : 0;
    return g + i + group + 2000;
}

/* How long after faults stop the workers must be back to `workers`. */
int64_t
sim_converge_bound_ms(const struct sim_world *w)
{
    const struct se_config *c = w->cfg;
    int64_t hb = c->worker_heartbeat_timeout_ms >= 0 ? c->worker_heartbeat_timeout_ms : 0;
    int64_t restart = 2 * se_max_ms(c->worker_restart_backoff_max_ms, SE_SPAWN_RETRY_MIN_MS) +
                      c->restart_worker_interval_ms;
    int64_t spacing = c->start_worker_delay_ms * 2 * ((int64_t)c->workers + 1);
    int64_t server = w->opts.supervisor ? c->server_restart_wait_ms + c->server_detach_wait_ms : 0;
    return hb + SE_HB_EOF_GRACE_MS + sim_stop_bound_ms(w) + restart + spacing + server + 3000;
}
