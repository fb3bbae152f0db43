/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_world.c: the simulated world: its event queue, processes, trace, and
 * the run (safety phase with faults, then a liveness phase without, then a
 * graceful stop), with the engine's real driver on top.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* ---- the event queue: a binary heap on (at_ms, seq) --------------------- */

static bool
ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

void
sim_push(struct sim_world *w, int64_t at_ms, enum sim_ev_kind kind, uint32_t handle, int32_t arg,
         int32_t arg2)
{
    if (w->queue_len == SIM_QUEUE_MAX) {
        sim_fail(w, "world event queue full (%u): unbounded event growth", SIM_QUEUE_MAX);
        return;
    }
    SE_ASSERT(at_ms >= w->now_ms);
    uint32_t i = w->queue_len++;
    w->queue[i] = (struct sim_ev){
        .at_ms = at_ms, .seq = w->seq++, .kind = kind, .handle = handle, .arg = arg, .arg2 = arg2};
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!ev_before(&w->queue[i], &w->queue[parent])) break;
        struct sim_ev t = w->queue[i];
        w->queue[i] = w->queue[parent];
        w->queue[parent] = t;
        i = parent;
    }
}

static struct sim_ev
pop(struct sim_world *w)
{
    SE_ASSERT(w->queue_len > 0);
    struct sim_ev top = w->queue[0];
    w->queue[0] = w->queue[--w->queue_len];
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->queue_len && ev_before(&w->queue[l], &w->queue[m])) m = l;
        if (r < w->queue_len && ev_before(&w->queue[r], &w->queue[m])) m = r;
        if (m == i) break;
        struct sim_ev t = w->queue[i];
        w->queue[i] = w->queue[m];
        w->queue[m] = t;
        i = m;
    }
    return top;
}

int64_t
sim_next_event_ms(const struct sim_world *w)
{
    return w->queue_len > 0 ? w->queue[0].at_ms : SE_INT64_NEVER;
}

struct sim_ev
sim_pop(struct sim_world *w)
{
    return pop(w);
}

/* ---- trace -------------------------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void
sim_trace(struct sim_world *w, const char *fmt, ...)
{
    char *line = w->trace[w->trace_next % SIM_TRACE_LINES];
    int n = snprintf(line, SIM_TRACE_LINE, "%8lld.%03lld ", (long long)(w->now_ms / 1000),
                     (long long)(w->now_ms % 1000));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, SIM_TRACE_LINE - (size_t)n, fmt, ap);
    va_end(ap);
    w->trace_next++;
    w->trace_hash = fnv1a(w->trace_hash, line, strlen(line));
    if (w->opts.verbose) fprintf(stderr, "%s\n", line);
}

void
sim_fail(struct sim_world *w, const char *fmt, ...)
{
    if (w->failed) return; /* the first violation is the one to explain */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->violation, sizeof w->violation, fmt, ap);
    va_end(ap);
    w->failed = true;
    w->ended = true;
    sim_trace(w, "VIOLATION %s", w->violation);
}

void
sim_print_trace_tail(const struct sim_world *w, uint32_t lines)
{
    uint32_t n = w->trace_next < lines ? w->trace_next : lines;
    if (n > SIM_TRACE_LINES) n = SIM_TRACE_LINES;
    for (uint32_t i = w->trace_next - n; i < w->trace_next; i++)
        fprintf(stderr, "  %s\n", w->trace[i % SIM_TRACE_LINES]);
}

/* ---- processes ---------------------------------------------------------- */

struct sim_proc *
sim_proc_by_handle(struct sim_world *w, uint32_t handle)
{
    if (handle == 0) return NULL;
    struct sim_proc *p = &w->procs[handle % SIM_PROCS_MAX];
    return p->handle == handle ? p : NULL;
}

void
sim_engine_event(struct sim_world *w, struct se_ev ev)
{
    if (w->pending_len == SIM_PENDING_MAX) {
        sim_fail(w, "engine event queue full (%u)", SIM_PENDING_MAX);
        return;
    }
    w->pending[w->pending_len++] = ev;
}

int64_t
sim_proc_last_beat(const struct sim_world *w, const struct sim_proc *p)
{
    if (p->beat_interval_ms <= 0) return p->started_ms;
    int64_t until = se_min_ms(w->now_ms, p->stall_ms);
    if (p->state != SIM_P_RUNNING) until = se_min_ms(until, p->exit_at_ms);
    int64_t first = p->started_ms + p->beat_phase_ms;
    if (until < first) return p->started_ms;
    return first + (until - first) / p->beat_interval_ms * p->beat_interval_ms;
}

void
sim_proc_exit(struct sim_world *w, struct sim_proc *p, int32_t code, enum se_sig sig)
{
    if (p->state != SIM_P_RUNNING) return;
    p->state = SIM_P_ZOMBIE;
    p->exit_code = code;
    p->exit_sig = sig;
    p->exit_at_ms = w->now_ms;
    if (code >= 0)
        sim_trace(w, "w%u pid%d exit status %d", p->worker_id, p->pid, code);
    else
        sim_trace(w, "w%u pid%d exit signal %s", p->worker_id, p->pid, se_sig_name(sig));
    SE_ASSERT(w->zombies_len < SIM_PROCS_MAX);
    w->zombies[w->zombies_len++] = p->handle;
    /* Its end of the heartbeat pipe closes with it: the engine may see the
     * EOF before or after the exit status (both orders happen for real). */
    if (p->hb_fd >= 0) {
        int64_t eof_delay = sim_chance(w, 500) ? 0 : sim_rand_range(w, 0, 50);
        sim_push(w, w->now_ms + eof_delay, SIM_EV_HB_EOF, p->handle, 0, 0);
    }
    /* SIGCHLD: sometimes late, and coalesced when one is already on its way */
    if (!w->child_pending) {
        w->child_pending = true;
        int64_t delay = sim_chance(w, 100) ? sim_rand_range(w, 1, 300) : 0;
        sim_push(w, w->now_ms + delay, SIM_EV_NOTIFY, 0, 0, 0);
    }
}

bool
sim_fault(struct sim_world *w, enum se_fault id, int *err)
{
    if (w->liveness || !w->opts.faults || !w->fault_active[id]) return false;
    if (!sim_chance(w, w->fault_permille[id])) return false;
    const struct se_fault_info *f = &se__fault_table[id];
    uint32_t n = 0;
    while (n < SE_FAULT_ERRNOS_MAX && f->errnos[n] != 0)
        n++;
    *err = -f->errnos[sim_rand_range(w, 0, n - 1)];
    /* ESRCH is what a dead child answers: never injected for a live one */
    if (id == SE_FAULT_PROC_KILL) *err = -EPERM;
    w->res.faults_injected++;
    sim_trace(w, "fault %s -> %s", f->name, se_strerror(*err));
    return true;
}

/* ---- world setup -------------------------------------------------------- */

static void
draw_faults(struct sim_world *w)
{
    for (int i = 0; i < SE_FAULT_COUNT; i++) {
        if (!se__fault_table[i].sim) continue;
        w->fault_active[i] = sim_chance(w, 300);
        w->fault_permille[i] = (uint32_t)sim_rand_range(w, 10, 300);
    }
}

struct sim_world *
sim_world_new(const struct sim_opts *opts)
{
    struct sim_world *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->opts = *opts;
    sim_prng_seed(w, opts->seed);
    w->trace_hash = UINT64_C(0xcbf29ce484222325);
    w->next_handle = 1;
    w->pid_next = 0;
    /* the engine has no stdio here: 0, 1 and 2 are handed out as on a host
     * where they are closed (a descriptor 0 is a real one) */
    w->fd_next = 0;
    w->final_stop_ms = SE_INT64_NEVER;
    w->detach_end_ms = SE_INT64_NEVER;
    w->roll_stop_ms = SE_INT64_NEVER;
    w->converge_ms = SE_INT64_NEVER;
    w->reload_pending = -1;
    sim_os_init(w);
    w->cfg = se_config_new();
    if (w->cfg == NULL) {
        free(w);
        return NULL;
    }
    sim_config_draw(w, w->cfg);
    draw_faults(w);
    return w;
}

void
sim_world_free(struct sim_world *w)
{
    if (w == NULL) return;
    se__driver_free(w->driver);
    se_config_free(w->cfg);
    se_config_free(w->cfg_start);
    free(w);
}

void
sim_script_model(struct sim_world *w, uint32_t worker_id, uint32_t nth, enum sim_model model,
                 int64_t at_ms, int32_t code)
{
    SE_ASSERT(w->script_len < SIM_SCRIPT_MAX);
    w->script[w->script_len++] = (struct sim_script){
        .worker_id = worker_id, .nth = nth, .model = model, .at_ms = at_ms, .code = code};
}

void
sim_script_cmd_pipe_broken(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    SE_ASSERT(w->cmd_broken_len < SIM_SCRIPT_MAX);
    w->cmd_broken[w->cmd_broken_len++] = (struct sim_script){.worker_id = worker_id, .nth = nth};
}

void
sim_script_parent_gone_silently(struct sim_world *w, int64_t at_ms)
{
    sim_push(w, at_ms, SIM_EV_PARENT_SILENT, 0, 0, 0);
}

void
sim_script_signals_fail(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    SE_ASSERT(w->kill_eperm_len < SIM_SCRIPT_MAX);
    w->kill_eperm[w->kill_eperm_len++] = (struct sim_script){.worker_id = worker_id, .nth = nth};
}

void
sim_script_stray_exit(struct sim_world *w, int64_t at_ms)
{
    sim_push(w, at_ms, SIM_EV_STRAY, 0, 0, 0);
}

void
sim_script_read_fault(struct sim_world *w, int64_t at_ms)
{
    sim_push(w, at_ms, SIM_EV_READ_FAULT, 0, 0, 0);
}

void
sim_script_signal(struct sim_world *w, int64_t at_ms, enum se_sig sig)
{
    sim_push(w, at_ms, SIM_EV_SIGNAL, 0, (int32_t)sig, 0);
}

void
sim_script_parent_gone(struct sim_world *w, int64_t at_ms)
{
    sim_push(w, at_ms, SIM_EV_PARENT_GONE, 0, 0, 0);
}

void
sim_script_reload(struct sim_world *w, int64_t at_ms, const char *kv)
{
    SE_ASSERT(w->reload_len < SIM_SCRIPT_MAX);
    uint32_t idx = w->reload_len++;
    snprintf(w->reload_kv[idx], sizeof w->reload_kv[idx], "%s", kv != NULL ? kv : "");
    sim_push(w, at_ms, SIM_EV_RELOAD, 0, (int32_t)idx, 0);
}

/* ---- driver hooks ------------------------------------------------------- */

static void
hook_log(void *ud, enum se_log_level level, const char *msg)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    struct sim_world *w = ud;
    sim_trace(w, "log %s %s", (unsigned)level < 6 ? names[level] : "ANY", msg);
    /* the fixed wording of serverengine(3), LOG: from here no worker may start */
    if (strcmp(msg, "Received graceful stop") == 0 || strcmp(msg, "Received immediate stop") == 0)
        w->stop_received = true;
    w->trace_hash = fnv1a(w->trace_hash, msg, strlen(msg));
    sim_check_log(w, msg);
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    const struct sim_world *w = ud;
    req->kind = SE_SPAWN_FORK;
    req->worker_id = slot;
    req->command_pipe = w->cfg->command_sender_pipe;
}

static void
hook_event(void *ud, const struct se_act *a)
{
    sim_check_event(ud, a);
}

/* Thread and embedded workers: the worker's stop callback. */
static void
hook_stop_worker(void *ud, uint32_t slot, bool graceful)
{
    (void)graceful; /* threads have no immediate stop */
    sim_model_stop_hook(ud, slot);
}

/* A reload the engine accepted is in force: the configuration it hands
 * over is the one it now runs, with the world's values. */
static void
hook_config_applied(void *ud, const struct se_config *cfg)
{
    struct sim_world *w = ud;
    if (w->reloads_unapplied == 0) {
        sim_fail(w, "config_applied with no reload accepted");
        return;
    }
    w->reloads_unapplied--;
    if (cfg != se__driver_config(w->driver) || cfg->workers != w->cfg->workers)
        sim_fail(w, "config_applied hands over a configuration that is not the one in force");
    char names[SE_CONFIG_STATIC_NAMES_MAX];
    if (w->cfg_start != NULL &&
        se__config_static_changes(w->cfg_start, cfg, names, sizeof names) > 0)
        sim_fail(w, "a reload changed keys that take effect on the next restart only: %s", names);
}

static void
hook_reload_failed(void *ud, const char *why)
{
    struct sim_world *w = ud;
    if (w->reloads_unreported == 0)
        sim_fail(w, "reload_failed with no reload refused");
    else
        w->reloads_unreported--;
    if (why == NULL || strcmp(why, w->reload_err) != 0)
        sim_fail(w, "reload_failed says \"%s\", the loader said \"%s\"", why ? why : "(null)",
                 w->reload_err);
}

/* The configuration a reload replaced, once the engine is done with it. */
static void
hook_retire_config(void *ud, struct se_config *old)
{
    struct sim_world *w = ud;
    w->configs_retired++;
    if (old == NULL || old == se__driver_config(w->driver))
        sim_fail(w, "retire_config hands over the configuration in force");
    else
        se_config_free(old);
}

/* Thread and embedded workers: a reload reaches each live one by its hook. */
static void
hook_reload_worker(void *ud, uint32_t slot)
{
    struct sim_world *w = ud;
    w->reload_worker_calls++;
    if (slot >= SE_WORKERS_MAX || w->live_handle[slot] == 0)
        sim_fail(w, "reload_worker for slot %u, which has no live worker", slot);
}

/* A child's end is told to the embedder once, as the adapter reported it. */
static void
hook_exited(void *ud, uint32_t slot, const struct se_exit *ex)
{
    struct sim_world *w = ud;
    struct sim_proc *p = sim_proc_by_handle(w, ex->child);
    if (p == NULL || p->state != SIM_P_REAPED || p->worker_id != slot) {
        sim_fail(w, "exited hook for handle %u of slot %u, which is no child of it just reaped",
                 ex->child, slot);
        return;
    }
    if (p->exit_told) sim_fail(w, "w%u pid%d: its end told twice (exited hook)", slot, p->pid);
    if (ex->code != p->exit_code || ex->sig != p->exit_sig)
        sim_fail(w, "w%u pid%d: the exited hook says %d/%s, it ended %d/%s", slot, p->pid, ex->code,
                 se_sig_name(ex->sig), p->exit_code, se_sig_name(p->exit_sig));
    p->exit_told = true;
}

static void
hook_spawn_failed(void *ud, uint32_t slot, int err)
{
    struct sim_world *w = ud;
    w->spawn_failures_told++;
    if (err >= 0 || slot >= SE_WORKERS_MAX)
        sim_fail(w, "spawn_failed for slot %u with %d, not a failure", slot, err);
}

static void
hook_periodic(void *ud)
{
    sim_check_periodic(ud);
}

static int
hook_load_config(void *ud, struct se_config **out, char *err, size_t err_size)
{
    return sim_config_reload(ud, out, err, err_size);
}

/* ---- the run ------------------------------------------------------------ */

static void
schedule_phases(struct sim_world *w)
{
    int64_t end = w->opts.duration_ms;
    if (!w->opts.final_stop) {
        sim_push(w, end, SIM_EV_END, 0, 0, 0);
        return;
    }
    int64_t converge = sim_converge_bound_ms(w);
    int64_t live_len = se_max_ms(end / 5, converge + 10000);
    int64_t live_at = se_max_ms(0, end - live_len);
    sim_push(w, live_at, SIM_EV_LIVENESS, 0, 0, 0); /* it schedules the final stop */
    if (w->opts.operator_random) sim_push(w, sim_rand_range(w, 0, 30000), SIM_EV_OPERATOR, 0, 0, 0);
}

static int
start_driver(struct sim_world *w)
{
    struct se_config *cfg = se_config_dup(w->cfg);
    if (cfg == NULL) return -ENOMEM;
    w->cfg_start = se_config_dup(w->cfg);
    if (w->cfg_start == NULL) {
        se_config_free(cfg);
        return -ENOMEM;
    }
    struct se_driver_hooks hooks = {
        .ud = w,
        .log = hook_log,
        .prepare_spawn = hook_prepare_spawn,
        .load_config = hook_load_config,
        .event = hook_event,
        .stop_worker = hook_stop_worker,
        .periodic = hook_periodic,
        .exited = hook_exited,
        .spawn_failed = hook_spawn_failed,
        .config_applied = hook_config_applied,
        .reload_failed = hook_reload_failed,
        .reload_worker = hook_reload_worker,
        /* a third of the seeds keep the replaced configuration a while (as
         * the runtime does for readers in other threads); the others let
         * the driver free it */
        .retire_config = w->opts.seed % 3 == 0 ? hook_retire_config : NULL,
    };
    int err = 0;
    enum se_role role = w->opts.supervisor ? SE_ROLE_SUPERVISOR : SE_ROLE_SERVER;
    w->driver = se__driver_new(&w->os, role, cfg, &hooks, &err);
    if (w->driver != NULL && w->opts.self_beat_ms > 0) {
        se__driver_set_self_beat(w->driver, w->opts.self_beat_ms);
        w->self_beat_last_ms = w->now_ms;
    }
    if (w->driver != NULL && w->opts.periodic_ms > 0) {
        se__driver_set_periodic(w->driver, w->opts.periodic_ms);
        w->periodic_last_ms = w->now_ms;
    }
    return err;
}

void
sim_run(struct sim_world *w, struct sim_result *res)
{
    schedule_phases(w);
    if (start_driver(w) < 0) {
        sim_fail(w, "driver creation failed");
    } else {
        int32_t status = 0;
        int rc = se__driver_run(w->driver, &status);
        if (rc == 0) {
            w->engine_exited = true;
            w->exit_status = status;
            sim_trace(w, "engine exited with status %d", status);
            sim_check_exit(w);
        } else if (!w->ended) {
            sim_fail(w, "the engine's loop failed: %s", se_strerror(rc));
        }
        sim_check_backlog(w);
        if (!w->engine_exited && w->ended && !w->failed) sim_check_freed(w);
    }
    w->res.ok = !w->failed;
    snprintf(w->res.violation, sizeof w->res.violation, "%s", w->violation);
    w->res.trace_hash = w->trace_hash;
    w->res.sim_ms = w->now_ms;
    w->res.waits = w->waits;
    w->res.engine_exited = w->engine_exited;
    w->res.exit_status = w->exit_status;
    *res = w->res;
}

/* ---- queries for scenario tests ----------------------------------------- */

static struct sim_proc *
proc_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        struct sim_proc *p = &w->procs[i];
        if (p->handle != 0 && p->worker_id == worker_id && p->nth == nth) return p;
    }
    return NULL;
}

uint32_t
sim_starts(const struct sim_world *w, uint32_t worker_id)
{
    return w->starts[worker_id];
}

/* "SIGTERM@1500 SIGQUIT@..." in w's buffer. */
static const char *
sigs_text(struct sim_world *w, const struct sim_sig_rec *recs, uint32_t count)
{
    w->last_sigs[0] = '\0';
    size_t used = 0;
    for (uint32_t i = 0; i < count && i < SIM_SIGLOG_MAX; i++) {
        int n = snprintf(w->last_sigs + used, sizeof w->last_sigs - used, "%s%s@%lld",
                         i > 0 ? " " : "", se_sig_name(recs[i].sig), (long long)recs[i].at_ms);
        if (n < 0 || (size_t)n >= sizeof w->last_sigs - used) break;
        used += (size_t)n;
    }
    return w->last_sigs;
}

const char *
sim_signals_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    if (p == NULL) return "?";
    return sigs_text(w, p->sigs, p->sig_count);
}

const char *
sim_group_signals_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    if (p == NULL) return "?";
    return sigs_text(w, p->group_sig_log, p->group_sigs);
}

uint32_t
sim_reloads(const struct sim_world *w)
{
    return w->reloads_accepted + w->reloads_refused;
}

uint64_t
sim_reload_worker_calls(const struct sim_world *w)
{
    return w->reload_worker_calls;
}

uint64_t
sim_periodic_runs(const struct sim_world *w)
{
    return w->periodic_runs;
}

uint32_t
sim_words_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    return p == NULL ? 0 : p->words;
}

uint32_t
sim_group_left_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    return p == NULL ? 0 : sim_group_left(w, p);
}

int64_t
sim_signal_at(struct sim_world *w, uint32_t worker_id, uint32_t nth, enum se_sig sig, uint32_t k)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    if (p == NULL) return -1;
    for (uint32_t i = 0; i < p->sig_count && i < SIM_SIGLOG_MAX; i++) {
        if (p->sigs[i].sig == sig && k-- == 0) return p->sigs[i].at_ms;
    }
    return -1;
}

uint64_t
sim_pid_reuses(const struct sim_world *w)
{
    return w->pid_reuses;
}

const char *
sim_end_of(struct sim_world *w, uint32_t worker_id, uint32_t nth)
{
    struct sim_proc *p = proc_of(w, worker_id, nth);
    if (p == NULL) return "?";
    if (p->state == SIM_P_RUNNING) return "-";
    if (p->exit_code >= 0)
        snprintf(w->last_sigs, sizeof w->last_sigs, "status %d", p->exit_code);
    else
        snprintf(w->last_sigs, sizeof w->last_sigs, "signal %s", se_sig_name(p->exit_sig));
    return w->last_sigs;
}

uint64_t
sim_self_beats(const struct sim_world *w)
{
    return w->self_beats;
}

bool
sim_logged(const struct sim_world *w, const char *text)
{
    for (uint32_t i = 0; i < SIM_TRACE_LINES && i < w->trace_next; i++) {
        if (strstr(w->trace[i], text) != NULL) return true;
    }
    return false;
}

uint32_t
sim_log_count(const struct sim_world *w, const char *text)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SIM_TRACE_LINES && i < w->trace_next; i++)
        n += strstr(w->trace[i], text) != NULL ? 1u : 0u;
    return n;
}

uint32_t
sim_alive(const struct sim_world *w)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++)
        n += w->live_handle[i] != 0 ? 1u : 0u;
    return n;
}
