/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver.c: the loop (see driver.h). wait -> dispatch -> step -> execute.
 *
 * It never sleeps and never polls: the only blocking call is the adapter's
 * wait() with the earliest deadline of all machines. Every OS result goes
 * back into the machine that asked for it, in the same iteration, so that a
 * crashed worker's replacement is started as soon as the reap is seen.
 * Thread-safety: single-threaded; hooks run on the loop's thread.
 *
 * This file holds the driver's life (configuration, creation, reload), the
 * machines' inputs (operator commands, children's ends, heartbeats, timers,
 * what is left of a worker's process group) and the loop itself. Executing
 * the machines' actions is driver_exec.c; the log lines are driver_log.c;
 * driver_int.h is what the parts share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver_int.h"

/* Reaping stops after this many children per event (bounded loop); a
 * CHILD event is re-armed by the adapter if more are left. */
#define DRV_REAP_MAX (SE_WORKERS_MAX + SE_SERVERS_MAX + 16u)
/* Bytes drained from a heartbeat pipe per readable event. */
#define DRV_HB_READ_MAX 4096u
/* How often what is left of an ended worker's process group is looked at:
 * the kernel says nothing when a group empties (its members are not our
 * children), so this is the one condition the loop polls, and only while
 * such a group is being stopped. */
#define DRV_GROUP_PROBE_MS 100

static void parent_gone(struct se_driver *d, int64_t now_ms);

/* ---- configuration ------------------------------------------------------ */

void
se__driver_derive(const struct se_config *cfg, struct se_pool_cfg *pool, struct se_kill_cfg *kill,
                  struct se_hb_cfg *hb, struct se_sup_cfg *sup)
{
    SE_ASSERT(cfg != NULL);
    *pool = (struct se_pool_cfg){
        .workers = cfg->worker_type == SE_WORKER_EMBEDDED ? 1u : cfg->workers,
        .start_worker_delay_ms = cfg->start_worker_delay_ms,
        .start_worker_delay_rand_permille = cfg->start_worker_delay_rand_permille,
        .restart_worker_interval_ms = cfg->restart_worker_interval_ms,
        .backoff_max_ms = cfg->worker_restart_backoff_max_ms,
        .stop_immediately_at_unrecoverable_exit = cfg->stop_immediately_at_unrecoverable_exit,
        .rolling_restart = cfg->restart_rolling,
    };
    memcpy(pool->unrecoverable, cfg->unrecoverable_exit_codes, sizeof pool->unrecoverable);
    *kill = (struct se_kill_cfg){
        .graceful_sig = cfg->signal_graceful_stop,
        .immediate_sig = cfg->signal_immediate_stop,
        .graceful_interval_ms = cfg->worker_graceful_kill_interval_ms,
        .graceful_increment_ms = cfg->worker_graceful_kill_interval_increment_ms,
        .graceful_timeout_ms = cfg->worker_graceful_kill_timeout_ms,
        .immediate_interval_ms = cfg->worker_immediate_kill_interval_ms,
        .immediate_increment_ms = cfg->worker_immediate_kill_interval_increment_ms,
        .immediate_timeout_ms = cfg->worker_immediate_kill_timeout_ms,
        .resume_stopped = true,
    };
    *hb = (struct se_hb_cfg){.timeout_ms = cfg->worker_heartbeat_timeout_ms};
    *sup = (struct se_sup_cfg){
        .server_restart_wait_ms = cfg->server_restart_wait_ms,
        .server_detach_wait_ms = cfg->server_detach_wait_ms,
        .restart_server_process = cfg->restart_server_process,
        .enable_detach = cfg->enable_detach,
        .exit_on_detach = cfg->exit_on_detach,
        .disable_reload = cfg->disable_reload,
    };
    memcpy(sup->unrecoverable, cfg->unrecoverable_exit_codes, sizeof sup->unrecoverable);
}

static void
derive_in_place(struct se_driver *d)
{
    se__driver_derive(d->cfg, &d->pool_cfg, &d->kill_cfg, &d->hb_cfg, &d->sup_cfg);
    d->stop_by_hook = d->role == SE_ROLE_SERVER && (d->cfg->worker_type == SE_WORKER_THREAD ||
                                                    d->cfg->worker_type == SE_WORKER_EMBEDDED);
    d->kill_cfg.group = d->role == SE_ROLE_SERVER && !d->stop_by_hook &&
                        d->cfg->worker_kill_process_group && d->os->signal_group != NULL;
}

struct se_driver *
se__driver_new(const struct se_os *os, enum se_role role, struct se_config *cfg,
               const struct se_driver_hooks *hooks, int *err)
{
    SE_ASSERT(os != NULL && os->version == SE_OS_VERSION);
    SE_ASSERT(cfg != NULL);
    SE_ASSERT(hooks != NULL && hooks->log != NULL && hooks->prepare_spawn != NULL);
    struct se_driver *d = calloc(1, sizeof *d);
    if (d == NULL) {
        se_config_free(cfg);
        *err = -ENOMEM;
        return NULL;
    }
    d->os = os;
    d->role = role;
    d->cfg = cfg;
    d->hooks = *hooks;
    d->last_stop_ms = INT64_MIN / 2;
    d->slots_max = role == SE_ROLE_SERVER ? SE_WORKERS_MAX : SE_SERVERS_MAX;
    for (uint32_t i = 0; i < SE_WORKERS_MAX; i++) {
        d->slots[i].hb_fd = -1;
        d->slots[i].cmd_fd = -1;
    }
    d->acts = (struct se_acts){.count = 0, .cap = SE_ACTS_MAX, .items = d->act_items};
    derive_in_place(d);
    int64_t now_ms = os->monotonic_ms(os->ctx);
    d->now_ms = now_ms;
    se__pool_init(&d->pool, &d->pool_cfg, now_ms);
    se__sup_init(&d->sup, &d->sup_cfg, now_ms);
    *err = 0;
    return d;
}

static void
close_hb_fd(struct se_driver *d, struct se_drv_slot *s)
{
    if (s->hb_fd < 0) return;
    d->os->unwatch(d->os->ctx, s->hb_fd);
    d->os->close(d->os->ctx, s->hb_fd);
    s->hb_fd = -1;
}

void
se__driver_free(struct se_driver *d)
{
    if (d == NULL) return;
    for (uint32_t i = 0; i < d->slots_max; i++) {
        close_hb_fd(d, &d->slots[i]); /* unwatched first, as everywhere */
        if (d->slots[i].cmd_fd >= 0) d->os->close(d->os->ctx, d->slots[i].cmd_fd);
    }
    se_config_free(d->cfg);
    free(d);
}

const struct se_config *
se__driver_config(const struct se_driver *d)
{
    return d->cfg;
}

void
se__driver_set_self_beat(struct se_driver *d, int64_t interval_ms)
{
    SE_ASSERT(interval_ms >= 0);
    d->self_beat_interval_ms = interval_ms;
    d->self_beat_next_ms = d->os->monotonic_ms(d->os->ctx);
}

/* ---- logging ------------------------------------------------------------ */

void
se__driver_logf(struct se_driver *d, enum se_log_level level, const char *fmt, ...)
{
    char buf[SE_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    d->hooks.log(d->hooks.ud, level, buf);
}

/* ---- feeding the machines ----------------------------------------------- */

static uint32_t
draw(struct se_driver *d)
{
    return d->os->random_u32(d->os->ctx);
}

void
se__driver_pool_feed(struct se_driver *d, struct se_pool_in in, int64_t now_ms)
{
    SE_ASSERT(d->role == SE_ROLE_SERVER);
    in.rand = draw(d);
    se__pool_step(&d->pool, &in, now_ms, &d->acts);
}

void
se__driver_sup_feed(struct se_driver *d, struct se_sup_in in, int64_t now_ms)
{
    SE_ASSERT(d->role == SE_ROLE_SUPERVISOR);
    se__sup_step(&d->sup, &in, now_ms, &d->acts);
}

void
se__driver_kill_feed(struct se_driver *d, uint32_t slot, struct se_kill_in in, int64_t now_ms)
{
    SE_ASSERT(d->slots[slot].child != 0);
    se__kill_step(&d->slots[slot].kill, &in, now_ms, &d->acts);
}

/* Feeds a heartbeat machine. When its deadline has come, the latest beat
 * stamp is read first: beats are not events, and judging a child on a stale
 * stamp would declare a beating child lost (seed 184 of the simulator). */
static void
hb_feed(struct se_driver *d, uint32_t slot, struct se_hb_in in, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    if (s->hb_on && se__hb_deadline_ms(&s->hb) <= now_ms) {
        int64_t stamp = 0;
        if (d->os->beat_stamp(d->os->ctx, s->child, &stamp) == 0)
            se__hb_step(&s->hb, &(struct se_hb_in){.kind = SE_HB_IN_BEAT, .stamp_ms = stamp},
                        now_ms, &d->acts);
    }
    se__hb_step(&s->hb, &in, now_ms, &d->acts);
}

static int32_t
slot_of_child(const struct se_driver *d, uint32_t child)
{
    for (uint32_t i = 0; i < d->slots_used; i++) {
        if (d->slots[i].child == child) return (int32_t)i;
    }
    return -1;
}

static int32_t
slot_of_hb_fd(const struct se_driver *d, int32_t fd)
{
    for (uint32_t i = 0; i < d->slots_used; i++) {
        if (d->slots[i].child != 0 && d->slots[i].hb_fd == fd) return (int32_t)i;
    }
    return -1;
}

/* ---- configuration reload ----------------------------------------------- */

static void
warn_static_changes(struct se_driver *d, const struct se_config *new_cfg)
{
    char names[SE_CONFIG_STATIC_NAMES_MAX];
    size_t n = se__config_static_changes(d->cfg, new_cfg, names, sizeof names);
    if (n > 0)
        se__driver_logf(d, SE_LOG_WARN,
                        "Reloaded configuration changes %zu key(s) that take effect on the "
                        "next restart only: %s",
                        n, names);
}

/* Re-reads the configuration; an invalid one leaves the old one in force. */
bool
se__driver_reload_config(struct se_driver *d, int64_t now_ms)
{
    if (d->hooks.load_config == NULL) return false;
    char err[SE_MSG_MAX] = "";
    struct se_config *next = NULL;
    int rc = d->hooks.load_config(d->hooks.ud, &next, err, sizeof err);
    if (rc < 0 || next == NULL) {
        const char *why = err[0] != '\0' ? err : se_strerror(rc);
        se__driver_logf(d, SE_LOG_ERROR, "Reload failed, keeping the current configuration: %s",
                        why);
        if (d->hooks.reload_failed != NULL) d->hooks.reload_failed(d->hooks.ud, why);
        return false;
    }
    warn_static_changes(d, next);
    se__config_keep_static(next, d->cfg);
    struct se_config *old = d->cfg;
    d->cfg = next;
    d->reloads++;
    d->reloaded_ms = now_ms;
    derive_in_place(d);
    /* Readers in other threads may still hold the old one: the runtime keeps
     * it alive a while (retire_config); without that hook it goes now. */
    if (d->hooks.retire_config != NULL)
        d->hooks.retire_config(d->hooks.ud, old);
    else
        se_config_free(old);
    if (d->role == SE_ROLE_SERVER)
        se__driver_pool_feed(d, (struct se_pool_in){.kind = SE_POOL_IN_CONFIG}, now_ms);
    if (d->hooks.config_applied != NULL) d->hooks.config_applied(d->hooks.ud, d->cfg);
    return true;
}

/* ---- commands ----------------------------------------------------------- */

static const char *const cmd_received[SE_CMD_COUNT] = {
    [SE_CMD_GRACEFUL_STOP] = "Received graceful stop",
    [SE_CMD_IMMEDIATE_STOP] = "Received immediate stop",
    [SE_CMD_GRACEFUL_RESTART] = "Received graceful restart",
    [SE_CMD_IMMEDIATE_RESTART] = "Received immediate restart",
    [SE_CMD_RELOAD] = "Received reload",
    [SE_CMD_DETACH] = "Received detach",
    [SE_CMD_DUMP] = "Received dump",
};

static void
server_command(struct se_driver *d, enum se_cmd cmd, int64_t now_ms)
{
    /* Thread and embedded workers have no immediate stop (serverengine(3), WORKER TYPES). */
    bool graceful_only = d->stop_by_hook;
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_DETACH: /* a server has nothing to detach from: graceful stop */
        se__driver_pool_feed(d, (struct se_pool_in){.kind = SE_POOL_IN_STOP, .graceful = true},
                             now_ms);
        break;
    case SE_CMD_IMMEDIATE_STOP:
        se__driver_pool_feed(
            d, (struct se_pool_in){.kind = SE_POOL_IN_STOP, .graceful = graceful_only}, now_ms);
        break;
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_IMMEDIATE_RESTART:
        se__driver_reload_config(d, now_ms);
        se__driver_pool_feed(
            d,
            (struct se_pool_in){.kind = SE_POOL_IN_RESTART,
                                .graceful = cmd == SE_CMD_GRACEFUL_RESTART || graceful_only},
            now_ms);
        break;
    case SE_CMD_RELOAD:
        if (se__driver_reload_config(d, now_ms)) se__driver_notify_reload(d);
        break;
    case SE_CMD_DUMP:
    case SE_CMD_NONE:
    case SE_CMD_COUNT: break;
    }
}

static void
supervisor_command(struct se_driver *d, enum se_cmd cmd, int64_t now_ms)
{
    se__driver_sup_feed(d, (struct se_sup_in){.kind = se__sup_in_for_cmd(cmd)}, now_ms);
}

static bool
is_stop(enum se_cmd cmd)
{
    return cmd == SE_CMD_GRACEFUL_STOP || cmd == SE_CMD_IMMEDIATE_STOP;
}

static void
handle_command(struct se_driver *d, enum se_cmd cmd, int64_t now_ms)
{
    SE_ASSERT(cmd > SE_CMD_NONE && cmd < SE_CMD_COUNT);
    if (cmd == SE_CMD_DUMP && now_ms - d->last_stop_ms < SE_DUMP_AFTER_STOP_MS) {
        /* service managers send CONT right after TERM: not a dump request */
        se__driver_logf(d, SE_LOG_DEBUG, "Ignoring SIGCONT within 5 s of a stop request");
        return;
    }
    bool stop = is_stop(cmd) || (cmd == SE_CMD_DETACH && d->role == SE_ROLE_SERVER);
    enum se_cmd as_stop = cmd == SE_CMD_DETACH ? SE_CMD_GRACEFUL_STOP : cmd;
    if (stop && d->stop_seen != SE_CMD_NONE &&
        (as_stop == SE_CMD_GRACEFUL_STOP || d->stop_seen == SE_CMD_IMMEDIATE_STOP)) {
        /* the same stop again (a supervisor's escalation resends it): the
         * stop is under way; no second log line, no second stop callback */
        se__driver_logf(d, SE_LOG_DEBUG, "%s again: the stop is under way", cmd_received[cmd]);
        return;
    }
    se__driver_logf(d, SE_LOG_INFO, "%s", cmd_received[cmd]);
    if (stop) {
        d->last_stop_ms = now_ms;
        d->stop_seen = as_stop;
    }
    if (d->hooks.command != NULL) d->hooks.command(d->hooks.ud, cmd);
    if (d->role == SE_ROLE_SERVER)
        server_command(d, cmd, now_ms);
    else
        supervisor_command(d, cmd, now_ms);
}

void
se__driver_command(struct se_driver *d, enum se_cmd cmd)
{
    /* Called from a hook, inside the loop: the actions join the queue the
     * loop is executing (or will execute right after this event), at the
     * iteration's time: the machines are fed that time after the hook too,
     * and their clock never goes back. */
    handle_command(d, cmd, d->now_ms);
}

/* ---- what is left of a worker's process group ---------------------------- */

static void
group_done(struct se_driver *d, uint32_t slot, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    se__kill_step(&s->group_kill, &(struct se_kill_in){.kind = SE_KILL_IN_REAPED}, now_ms,
                  &d->acts);
    s->group_child = 0;
}

/* The child of slot ended: if members of its process group are left (what
 * run started), they get the stop signal and its escalation, the immediate
 * one when the worker itself was being stopped immediately. */
static void
group_left(struct se_driver *d, uint32_t slot, uint32_t child, bool immediate, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    if (!d->kill_cfg.group) return;
    if (s->group_child != 0) { /* a previous one is still being stopped: no more waiting */
        d->os->signal_group(d->os->ctx, s->group_child, SE_SIG_KILL);
        group_done(d, slot, now_ms);
    }
    int rc = d->os->signal_group(d->os->ctx, child, SE_SIG_NONE);
    if (rc != 0 && rc != -EPERM) return; /* nothing left */
    s->group_child = child;
    s->group_probe_ms = now_ms + DRV_GROUP_PROBE_MS;
    se__kill_init(&s->group_kill, &d->kill_cfg, slot, child, now_ms);
    struct se_kill_in in = {.kind = immediate ? SE_KILL_IN_IMMEDIATE : SE_KILL_IN_GRACEFUL,
                            .reason = SE_REASON_GROUP_LEFT};
    se__kill_step(&s->group_kill, &in, now_ms, &d->acts);
}

static void
group_tick(struct se_driver *d, uint32_t slot, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    if (s->group_child == 0) return;
    if (s->group_probe_ms <= now_ms) {
        s->group_probe_ms = now_ms + DRV_GROUP_PROBE_MS;
        if (d->os->signal_group(d->os->ctx, s->group_child, SE_SIG_NONE) == -ESRCH) {
            group_done(d, slot, now_ms);
            return;
        }
    }
    if (se__kill_deadline_ms(&s->group_kill) <= now_ms)
        se__kill_step(&s->group_kill, &(struct se_kill_in){.kind = SE_KILL_IN_TICK}, now_ms,
                      &d->acts);
}

static bool
groups_left(const struct se_driver *d)
{
    for (uint32_t i = 0; i < d->slots_used; i++) {
        if (d->slots[i].group_child != 0) return true;
    }
    return false;
}

/* A signal to what is left of a group: none left ends it quietly. */
void
se__driver_group_signal(struct se_driver *d, const struct se_act *a, int64_t now_ms)
{
    int rc = d->os->signal_group(d->os->ctx, a->child, a->sig);
    if (rc == -ESRCH || (rc == 0 && a->sig == SE_SIG_KILL)) {
        group_done(d, a->slot, now_ms);
        return;
    }
    if (rc < 0)
        se__kill_step(
            &d->slots[a->slot].group_kill,
            &(struct se_kill_in){.kind = SE_KILL_IN_SIGNAL_FAILED, .err = rc, .sig = a->sig},
            now_ms, &d->acts);
}

/* ---- events ------------------------------------------------------------- */

static void
on_child_exit(struct se_driver *d, const struct se_exit *ex, int64_t now_ms)
{
    int32_t slot = slot_of_child(d, ex->child);
    if (slot < 0) {
        se__driver_logf(d, SE_LOG_WARN, "Reaped a child the engine does not know (handle %u)",
                        ex->child);
        return;
    }
    struct se_drv_slot *s = &d->slots[slot];
    bool sig_ours = ex->code < 0 && se__kill_sent(&s->kill, ex->sig);
    /* how the worker was being stopped, read before the reap ends its machine:
     * what is left of its group gets the same (an immediate stop stays one) */
    bool immediate = s->kill.phase == SE_KILL_IMMEDIATE || s->kill.phase == SE_KILL_FINAL;
    se__driver_kill_feed(d, (uint32_t)slot, (struct se_kill_in){.kind = SE_KILL_IN_REAPED}, now_ms);
    group_left(d, (uint32_t)slot, ex->child, immediate, now_ms);
    se__hb_step(&s->hb, &(struct se_hb_in){.kind = SE_HB_IN_STOP}, now_ms, &d->acts);
    close_hb_fd(d, s);
    if (s->cmd_fd >= 0) {
        d->os->close(d->os->ctx, s->cmd_fd);
        s->cmd_fd = -1;
    }
    s->child = 0; /* the handle is dead from here on: never signalled again */
    s->ended = true;
    s->last_exit = *ex;
    s->last_exit.child = 0;
    s->last_exit_sig_ours = sig_ours;
    if (d->hooks.exited != NULL) d->hooks.exited(d->hooks.ud, (uint32_t)slot, ex);
    if (d->role == SE_ROLE_SERVER) {
        se__driver_pool_feed(d,
                             (struct se_pool_in){.kind = SE_POOL_IN_EXITED,
                                                 .slot = (uint32_t)slot,
                                                 .code = ex->code,
                                                 .sig = ex->sig,
                                                 .sig_ours = sig_ours},
                             now_ms);
    } else {
        se__driver_sup_feed(
            d,
            (struct se_sup_in){
                .kind = SE_SUP_IN_EXITED, .slot = (uint32_t)slot, .code = ex->code, .sig = ex->sig},
            now_ms);
    }
}

/* SIGCHLD: collect every finished child (the notification may stand for
 * several exits: the kernel coalesces them). */
static void
drain_reap(struct se_driver *d, int64_t now_ms)
{
    for (uint32_t n = 0; n < DRV_REAP_MAX; n++) {
        struct se_exit ex;
        int rc = d->os->reap(d->os->ctx, &ex);
        if (rc == -EAGAIN) return;
        if (rc < 0) {
            se__driver_logf(d, SE_LOG_WARN, "Collecting child status failed: %s", se_strerror(rc));
            return;
        }
        on_child_exit(d, &ex, now_ms);
        se__driver_execute_all(d, now_ms); /* a replacement starts before the next reap */
    }
}

static void
on_hb_readable(struct se_driver *d, uint32_t slot, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    char buf[256];
    size_t total = 0;
    while (total < DRV_HB_READ_MAX) {
        size_t got = 0;
        int rc = d->os->read(d->os->ctx, s->hb_fd, buf, sizeof buf, &got);
        if (rc == -EAGAIN) break;
        if (rc < 0) {
            /* A read error says nothing about the child: stop watching the
             * pipe and judge it by its beat stamps and its exit. */
            se__driver_logf(d, SE_LOG_WARN, "Reading the heartbeat pipe of slot %u failed: %s",
                            slot, se_strerror(rc));
            close_hb_fd(d, s);
            return;
        }
        if (got == 0) {
            /* EOF: no more beats from this child. Its exit is usually about
             * to be reaped; the heartbeat machine waits a grace period
             * before judging it lost. (A spawned program that never beat is
             * not judged by heartbeat: it may close what it does not use.) */
            close_hb_fd(d, s);
            if (s->hb_on) hb_feed(d, slot, (struct se_hb_in){.kind = SE_HB_IN_EOF}, now_ms);
            return;
        }
        total += got;
    }
    if (total > 0 && !s->hb_on) {
        /* a spawn worker in auto mode beats: from now on it must keep on */
        s->hb_on = true;
        se__hb_init(&s->hb, &d->hb_cfg, slot, now_ms);
    }
    if (total > 0)
        hb_feed(d, slot, (struct se_hb_in){.kind = SE_HB_IN_BEAT, .stamp_ms = now_ms}, now_ms);
}

static void
dispatch(struct se_driver *d, const struct se_ev *ev, int64_t now_ms)
{
    switch (ev->kind) {
    case SE_EV_SIGNAL: {
        enum se_cmd cmd = se__config_signal_cmd(d->cfg, ev->sig);
        if (cmd == SE_CMD_NONE) {
            se__driver_logf(d, SE_LOG_DEBUG, "Ignoring %s (no action configured)",
                            se_sig_name(ev->sig));
            return;
        }
        handle_command(d, cmd, now_ms);
        return;
    }
    case SE_EV_CHILD: drain_reap(d, now_ms); return;
    case SE_EV_PARENT_GONE: parent_gone(d, now_ms); return;
    case SE_EV_READABLE: {
        int32_t slot = slot_of_hb_fd(d, ev->fd);
        if (slot >= 0) {
            on_hb_readable(d, (uint32_t)slot, now_ms);
        } else if (d->hooks.readable != NULL) {
            d->hooks.readable(d->hooks.ud, ev->fd);
        }
        return;
    }
    }
}

/* ---- timers ------------------------------------------------------------- */

static void
tick_slot(struct se_driver *d, uint32_t slot, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    group_tick(d, slot, now_ms);
    if (s->child == 0) return;
    if (s->hb_on && se__hb_deadline_ms(&s->hb) <= now_ms)
        hb_feed(d, slot, (struct se_hb_in){.kind = SE_HB_IN_TICK}, now_ms);
    if (se__kill_deadline_ms(&s->kill) <= now_ms)
        se__driver_kill_feed(d, slot, (struct se_kill_in){.kind = SE_KILL_IN_TICK}, now_ms);
}

/* Our supervisor is gone: nobody would restart us or forward signals. The
 * adapter says so at once (SE_EV_PARENT_GONE); a failed beat says it too. */
static void
parent_gone(struct se_driver *d, int64_t now_ms)
{
    if (d->parent_gone) return;
    d->parent_gone = true;
    d->self_beat_interval_ms = 0;
    se__driver_logf(d, SE_LOG_WARN,
                    "Supervisor is gone (heartbeat pipe closed): stopping gracefully");
    handle_command(d, SE_CMD_GRACEFUL_STOP, now_ms);
}

static void
self_beat(struct se_driver *d, int64_t now_ms)
{
    if (d->self_beat_interval_ms <= 0 || now_ms < d->self_beat_next_ms) return;
    d->self_beat_next_ms = now_ms + d->self_beat_interval_ms;
    int rc = d->os->heartbeat(d->os->ctx);
    if (rc == -EPIPE) parent_gone(d, now_ms);
}

/* The embedder's periodic duty (the systemd watchdog ping): a deadline like
 * any other, never a polling tick for the engine itself. */
static void
periodic(struct se_driver *d, int64_t now_ms)
{
    if (d->periodic_interval_ms <= 0 || now_ms < d->periodic_next_ms) return;
    d->periodic_next_ms = now_ms + d->periodic_interval_ms;
    if (d->hooks.periodic != NULL) d->hooks.periodic(d->hooks.ud);
}

void
se__driver_set_periodic(struct se_driver *d, int64_t interval_ms)
{
    SE_ASSERT(interval_ms >= 0);
    d->periodic_interval_ms = interval_ms;
    d->periodic_next_ms = d->os->monotonic_ms(d->os->ctx);
}

/* When one child's heartbeat deadline has come, every child's beat stamp is
 * read, not that child's alone: the deadlines then all move to a beat's
 * stamp plus the timeout, and the next one is a timeout less an interval
 * away, so an idle server wakes as often with 1,024 workers as with 4. A
 * stamp is a load from shared memory; reading one early never makes a
 * deadline earlier, only later and still exact. */
static void
read_stamps_when_due(struct se_driver *d, int64_t now_ms)
{
    bool due = false;
    for (uint32_t i = 0; i < d->slots_used && !due; i++) {
        const struct se_drv_slot *s = &d->slots[i];
        due = s->child != 0 && s->hb_on && se__hb_deadline_ms(&s->hb) <= now_ms;
    }
    for (uint32_t i = 0; i < d->slots_used && due; i++) {
        struct se_drv_slot *s = &d->slots[i];
        int64_t stamp = 0;
        if (s->child == 0 || !s->hb_on) continue;
        if (d->os->beat_stamp(d->os->ctx, s->child, &stamp) == 0)
            se__hb_step(&s->hb, &(struct se_hb_in){.kind = SE_HB_IN_BEAT, .stamp_ms = stamp},
                        now_ms, &d->acts);
    }
}

static void
tick_all(struct se_driver *d, int64_t now_ms)
{
    read_stamps_when_due(d, now_ms);
    for (uint32_t i = 0; i < d->slots_used; i++)
        tick_slot(d, i, now_ms);
    if (d->role == SE_ROLE_SERVER) {
        if (se__pool_deadline_ms(&d->pool) <= now_ms)
            se__driver_pool_feed(d, (struct se_pool_in){.kind = SE_POOL_IN_TICK}, now_ms);
    } else if (se__sup_deadline_ms(&d->sup) <= now_ms) {
        se__driver_sup_feed(d, (struct se_sup_in){.kind = SE_SUP_IN_TICK}, now_ms);
    }
    self_beat(d, now_ms);
    periodic(d, now_ms);
}

static int64_t
next_deadline(const struct se_driver *d)
{
    int64_t dl =
        d->role == SE_ROLE_SERVER ? se__pool_deadline_ms(&d->pool) : se__sup_deadline_ms(&d->sup);
    for (uint32_t i = 0; i < d->slots_used; i++) {
        const struct se_drv_slot *s = &d->slots[i];
        if (s->group_child != 0)
            dl = se_min_ms(dl, se_min_ms(s->group_probe_ms, se__kill_deadline_ms(&s->group_kill)));
        if (s->child == 0) continue;
        if (s->hb_on) dl = se_min_ms(dl, se__hb_deadline_ms(&s->hb));
        dl = se_min_ms(dl, se__kill_deadline_ms(&s->kill));
    }
    if (d->self_beat_interval_ms > 0) dl = se_min_ms(dl, d->self_beat_next_ms);
    if (d->periodic_interval_ms > 0) dl = se_min_ms(dl, d->periodic_next_ms);
    return dl;
}

/* ---- the loop ----------------------------------------------------------- */

static void
start(struct se_driver *d, int64_t now_ms)
{
    d->started = true;
    d->now_ms = now_ms;
    if (d->role == SE_ROLE_SERVER)
        se__driver_pool_feed(d, (struct se_pool_in){.kind = SE_POOL_IN_START}, now_ms);
    else
        se__driver_sup_feed(d, (struct se_sup_in){.kind = SE_SUP_IN_START}, now_ms);
    se__driver_execute_all(d, now_ms);
}

int
se__driver_run(struct se_driver *d, int32_t *exit_status)
{
    SE_ASSERT(d != NULL);
    SE_ASSERT(!d->started);
    start(d, d->os->monotonic_ms(d->os->ctx));
    while (!d->done || groups_left(d)) {
        uint32_t n = 0;
        int rc = d->os->wait(d->os->ctx, next_deadline(d), d->evs, SE_EVS_MAX, &n);
        if (rc < 0) {
            se__driver_logf(d, SE_LOG_FATAL, "Waiting for events failed: %s", se_strerror(rc));
            return rc;
        }
        SE_ASSERT(n <= SE_EVS_MAX);
        int64_t now_ms = d->os->monotonic_ms(d->os->ctx);
        d->now_ms = now_ms;
        for (uint32_t i = 0; i < n; i++) {
            /* once done, only children's ends matter: what is left of a
             * worker's group may be orphans of ours (PID 1) to reap */
            if (d->done && d->evs[i].kind != SE_EV_CHILD) continue;
            dispatch(d, &d->evs[i], now_ms);
            se__driver_execute_all(d, now_ms);
        }
        if (d->done && !groups_left(d)) break;
        tick_all(d, now_ms);
        se__driver_execute_all(d, now_ms);
    }
    *exit_status = d->exit_status;
    return 0;
}
