/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_supervisor.c: the server process's life (see sm_supervisor.h).
 *
 * Pure: no syscall, no clock, no allocation, no global. A designated-
 * initialiser table maps every (state, input) cell to a handler, s6-style;
 * a unit test walks every cell. Exits of detached (old) servers are handled
 * the same way in every state: they are reaped and logged, never restarted.
 * Every stop, a detached server's included, is an SE_ACT_STOP: the driver's
 * kill machine resends, escalates and retries it; a forwarded signal is sent
 * once and is only for commands that need no follow-up.
 */
#include "sm_supervisor.h"

typedef void (*sup_handler)(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                            struct se_acts *out);

void
se__sup_init(struct se_sup *s, const struct se_sup_cfg *cfg, int64_t now_ms)
{
    SE_ASSERT(s != NULL);
    SE_ASSERT(cfg != NULL);
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->state = SE_SUP_INIT;
    s->current = SE_SUP_NONE;
    s->detaching = SE_SUP_NONE;
    s->restart_at_ms = SE_INT64_NEVER;
    s->detach_deadline_ms = SE_INT64_NEVER;
    s->now_ms_last = now_ms;
}

uint32_t
se__sup_alive(const struct se_sup *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SE_SERVERS_MAX; i++)
        n += s->servers[i].alive ? 1u : 0u;
    return n;
}

enum se_sup_in_kind
se__sup_in_for_cmd(enum se_cmd cmd)
{
    switch (cmd) {
    case SE_CMD_GRACEFUL_STOP: return SE_SUP_IN_GRACEFUL_STOP;
    case SE_CMD_IMMEDIATE_STOP: return SE_SUP_IN_IMMEDIATE_STOP;
    case SE_CMD_GRACEFUL_RESTART: return SE_SUP_IN_GRACEFUL_RESTART;
    case SE_CMD_IMMEDIATE_RESTART: return SE_SUP_IN_IMMEDIATE_RESTART;
    case SE_CMD_RELOAD: return SE_SUP_IN_RELOAD;
    case SE_CMD_DETACH: return SE_SUP_IN_DETACH;
    case SE_CMD_DUMP: return SE_SUP_IN_DUMP;
    case SE_CMD_NONE:
    case SE_CMD_COUNT: break;
    }
    return SE_SUP_IN_TICK;
}

/* ---- helpers ------------------------------------------------------------ */

static void
log_ignored(struct se_sup *s, const struct se_sup_in *in, struct se_acts *out)
{
    se_acts_log(out, (struct se_act){.event = SE_EVT_CMD_IGNORED,
                                     .input = (uint32_t)in->kind,
                                     .state = (uint32_t)s->state});
}

static void
finish(struct se_sup *s, int32_t status, struct se_acts *out)
{
    s->state = SE_SUP_DONE;
    s->exit_status = status;
    se_acts_log(out, (struct se_act){.event = SE_EVT_SUPERVISOR_DONE, .status = status});
    se_acts_push(out, (struct se_act){.kind = SE_ACT_EXIT, .status = status});
}

static void stop_server(struct se_sup *s, uint32_t slot, bool graceful, enum se_reason reason,
                        struct se_acts *out);

/* Every slot holds a detached server: the one detached longest ago is
 * stopped immediately, unless one already is (one at a time). */
static void
hurry_oldest_detached(struct se_sup *s, struct se_acts *out)
{
    uint32_t oldest = SE_SUP_NONE;
    for (uint32_t i = 0; i < SE_SERVERS_MAX; i++) {
        const struct se_sup_server *srv = &s->servers[i];
        if (!srv->alive || !srv->detached) continue;
        if (srv->immediate) return;
        if (oldest == SE_SUP_NONE || srv->detached_ms < s->servers[oldest].detached_ms) oldest = i;
    }
    if (oldest != SE_SUP_NONE) stop_server(s, oldest, false, SE_REASON_DETACH, out);
}

static void
spawn_server(struct se_sup *s, int64_t now_ms, struct se_acts *out)
{
    uint32_t slot = 0;
    while (slot < SE_SERVERS_MAX && s->servers[slot].alive)
        slot++;
    if (slot == SE_SERVERS_MAX) {
        /* Every slot holds a detached server still finishing. A slot that
         * frees starts the server at once (on_exited_other); the deadline
         * is the backstop: never a wait with no deadline. */
        hurry_oldest_detached(s, out);
        s->state = SE_SUP_WAIT_RESTART;
        s->restart_at_ms =
            se_add_ms(now_ms, se_max_ms(s->cfg->server_restart_wait_ms, SE_SUP_SLOT_RETRY_MS));
        se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_RESTART_DELAYED,
                                         .no_slot = true,
                                         .ms = s->restart_at_ms - now_ms});
        return;
    }
    s->servers[slot] = (struct se_sup_server){.alive = true};
    s->current = slot;
    s->killing = false;
    s->state = SE_SUP_STARTING;
    s->last_start_ms = now_ms;
    s->restart_at_ms = SE_INT64_NEVER;
    se_acts_push(out, (struct se_act){.kind = SE_ACT_SPAWN, .slot = slot});
}

static void
stop_server(struct se_sup *s, uint32_t slot, bool graceful, enum se_reason reason,
            struct se_acts *out)
{
    SE_ASSERT(slot < SE_SERVERS_MAX);
    SE_ASSERT(s->servers[slot].alive);
    if (!graceful) s->servers[slot].immediate = true;
    se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_STOP,
                                     .slot = slot,
                                     .graceful = graceful,
                                     .reason = reason});
    se_acts_push(
        out,
        (struct se_act){.kind = SE_ACT_STOP, .slot = slot, .graceful = graceful, .reason = reason});
}

static void
forward(struct se_sup *s, enum se_cmd cmd, struct se_acts *out)
{
    SE_ASSERT(s->current < SE_SERVERS_MAX);
    SE_ASSERT(s->servers[s->current].alive);
    se_acts_push(out, (struct se_act){.kind = SE_ACT_FORWARD, .slot = s->current, .cmd = cmd});
}

/* Enters STOPPING: every server, current and detached, is stopped with the
 * escalation rules (the kill machine ignores a stop that is no change).
 * Done at once when nothing is alive. */
static void
stop_all(struct se_sup *s, bool graceful, struct se_acts *out)
{
    if (s->state == SE_SUP_STOPPING && (graceful || !s->stop_graceful)) return;
    s->state = SE_SUP_STOPPING;
    s->stop_graceful = graceful;
    if (s->current != SE_SUP_NONE && s->servers[s->current].alive)
        stop_server(s, s->current, graceful, SE_REASON_STOP, out);
    /* Detached servers are already stopping gracefully; an immediate stop
     * reaches them too. */
    for (uint32_t i = 0; i < SE_SERVERS_MAX; i++) {
        if (i != s->current && s->servers[i].alive)
            stop_server(s, i, graceful, SE_REASON_STOP, out);
    }
    if (se__sup_alive(s) == 0) finish(s, s->exit_status, out);
}

static bool
is_unrecoverable(const struct se_sup *s, int32_t code)
{
    if (code < 0 || code > 255) return false;
    return (s->cfg->unrecoverable[code / 8] >> (code % 8)) & 1u;
}

/* A detached server ended: reap and log, in any state. Returns true when
 * the exit was such a server's. */
static bool
exited_detached(struct se_sup *s, const struct se_sup_in *in, struct se_acts *out)
{
    struct se_sup_server *srv = &s->servers[in->slot];
    SE_ASSERT(srv->alive);
    if (!srv->detached) return false;
    *srv = (struct se_sup_server){.alive = false};
    se_acts_log(out, (struct se_act){.event = SE_EVT_DETACHED_FINISHED,
                                     .slot = in->slot,
                                     .status = in->code,
                                     .sig = in->sig});
    return true;
}

static void
schedule_restart(struct se_sup *s, int64_t now_ms, struct se_acts *out)
{
    s->state = SE_SUP_WAIT_RESTART;
    s->current = SE_SUP_NONE;
    /* No sooner than server_restart_wait after the last start, and never a
     * busy loop when the wait is 0 and starting keeps failing. */
    int64_t at = se_add_ms(s->last_start_ms, s->cfg->server_restart_wait_ms);
    s->restart_at_ms = se_max_ms(at, now_ms);
    if (s->restart_at_ms <= now_ms) {
        spawn_server(s, now_ms, out);
        return;
    }
    se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_RESTART_DELAYED,
                                     .ms = s->restart_at_ms - now_ms});
}

/* ---- handlers ----------------------------------------------------------- */

static void
on_ignore(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)s, (void)in, (void)now_ms, (void)out;
}

static void
on_cmd_ignored(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    log_ignored(s, in, out);
}

static void
on_start(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in;
    spawn_server(s, now_ms, out);
}

static void
on_stop_before_start(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                     struct se_acts *out)
{
    (void)in, (void)now_ms;
    finish(s, 0, out);
}

static void
on_spawned(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    SE_ASSERT(in->slot == s->current);
    se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_STARTED, .slot = in->slot});
    if (s->state == SE_SUP_STOPPING) {
        /* a stop that came while it was starting is not lost */
        stop_server(s, in->slot, s->stop_graceful, SE_REASON_STOP, out);
        return;
    }
    s->state = SE_SUP_RUNNING;
    s->restarting = false;
}

static void
on_spawn_failed(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    SE_ASSERT(in->slot == s->current);
    s->servers[in->slot].alive = false;
    bool stopping = s->state == SE_SUP_STOPPING;
    int64_t retry_at =
        se_max_ms(se_add_ms(s->last_start_ms, s->cfg->server_restart_wait_ms), now_ms + 100);
    se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_SPAWN_FAILED,
                                     .err = in->err,
                                     .ms = stopping ? -1 : retry_at - now_ms});
    s->current = SE_SUP_NONE;
    if (stopping) {
        if (se__sup_alive(s) == 0) finish(s, s->exit_status, out);
        return;
    }
    s->state = SE_SUP_WAIT_RESTART;
    s->restart_at_ms = retry_at;
}

static void
on_exited_running(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    if (exited_detached(s, in, out)) return;
    SE_ASSERT(in->slot == s->current);
    s->servers[in->slot].alive = false;
    bool expected = s->restarting || s->killing; /* a restart we asked for, or our kill */
    se_acts_log(out, (struct se_act){.event = expected ? SE_EVT_SERVER_FINISHED
                                                       : SE_EVT_SERVER_FINISHED_UNEXPECTEDLY,
                                     .slot = in->slot,
                                     .status = in->code,
                                     .sig = in->sig});
    s->restarting = false;
    if (!expected && is_unrecoverable(s, in->code)) {
        s->current = SE_SUP_NONE;
        s->exit_status = in->code;
        stop_all(s, true, out); /* detached ones may still be finishing */
        return;
    }
    schedule_restart(s, now_ms, out);
}

static void
on_exited_detaching(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                    struct se_acts *out)
{
    bool was_old = in->slot == s->detaching;
    exited_detached(s, in, out);
    if (!was_old) return;
    s->detaching = SE_SUP_NONE;
    s->detach_deadline_ms = SE_INT64_NEVER;
    if (s->cfg->exit_on_detach) {
        finish(s, 0, out);
        return;
    }
    spawn_server(s, now_ms, out);
}

static void
on_exited_stopping(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                   struct se_acts *out)
{
    (void)now_ms;
    if (!exited_detached(s, in, out)) {
        s->servers[in->slot].alive = false;
        if (in->slot == s->current) s->current = SE_SUP_NONE;
        se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_FINISHED,
                                         .slot = in->slot,
                                         .status = in->code,
                                         .sig = in->sig});
    }
    if (se__sup_alive(s) == 0) finish(s, s->exit_status, out);
}

static void
on_exited_other(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    /* STARTING and WAIT_RESTART: only detached servers can be alive here.
     * In WAIT_RESTART, every slot taken means the start waits for a slot
     * (spawn_server): one is free now. */
    bool was_full = se__sup_alive(s) == SE_SERVERS_MAX;
    bool detached = exited_detached(s, in, out);
    SE_ASSERT(detached);
    if (s->state == SE_SUP_WAIT_RESTART && was_full) spawn_server(s, now_ms, out);
}

static void
on_lost(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    bool eof = in->reason == SE_REASON_HEARTBEAT_EOF;
    if (!s->servers[in->slot].alive) return;
    if (in->slot != s->current) {
        /* a detached server that stalls would never finish on its own */
        se_acts_log(out,
                    (struct se_act){.event = eof ? SE_EVT_HEARTBEAT_EOF : SE_EVT_HEARTBEAT_LOST,
                                    .slot = in->slot,
                                    .ms = in->age_ms});
        stop_server(s, in->slot, false, eof ? SE_REASON_HEARTBEAT_EOF : SE_REASON_HEARTBEAT, out);
        return;
    }
    if (s->killing || (s->state == SE_SUP_STOPPING && !s->stop_graceful)) return;
    s->killing = true;
    se_acts_log(out, (struct se_act){.event = eof ? SE_EVT_HEARTBEAT_EOF : SE_EVT_HEARTBEAT_LOST,
                                     .slot = in->slot,
                                     .ms = in->age_ms});
    stop_server(s, in->slot, false, eof ? SE_REASON_HEARTBEAT_EOF : SE_REASON_HEARTBEAT, out);
    if (s->state == SE_SUP_STOPPING) s->stop_graceful = false;
}

static void
on_graceful_stop(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in, (void)now_ms;
    stop_all(s, true, out);
}

static void
on_immediate_stop(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in, (void)now_ms;
    stop_all(s, false, out);
}

static void
on_stop_starting(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms, (void)out;
    /* The spawn result comes next; on_spawned stops it then. */
    s->state = SE_SUP_STOPPING;
    s->stop_graceful = in->kind == SE_SUP_IN_GRACEFUL_STOP;
}

static void
on_restart_running(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                   struct se_acts *out)
{
    (void)now_ms;
    bool graceful = in->kind == SE_SUP_IN_GRACEFUL_RESTART;
    se_acts_push(out, (struct se_act){.kind = SE_ACT_RELOAD});
    if (s->cfg->restart_server_process) {
        s->restarting = true;
        stop_server(s, s->current, graceful, SE_REASON_SERVER_RESTART, out);
        return;
    }
    forward(s, graceful ? SE_CMD_GRACEFUL_RESTART : SE_CMD_IMMEDIATE_RESTART, out);
}

static void
on_restart_waiting(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                   struct se_acts *out)
{
    (void)in;
    se_acts_push(out, (struct se_act){.kind = SE_ACT_RELOAD});
    spawn_server(s, now_ms, out);
}

static void
on_reload_running(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    if (s->cfg->disable_reload) {
        log_ignored(s, in, out);
        return;
    }
    se_acts_push(out, (struct se_act){.kind = SE_ACT_RELOAD});
    forward(s, SE_CMD_RELOAD, out);
}

static void
on_reload_no_server(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                    struct se_acts *out)
{
    (void)now_ms;
    if (s->cfg->disable_reload) {
        log_ignored(s, in, out);
        return;
    }
    se_acts_push(out, (struct se_act){.kind = SE_ACT_RELOAD});
}

static void
on_detach(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in;
    if (!s->cfg->enable_detach) {
        stop_all(s, true, out);
        return;
    }
    uint32_t old = s->current;
    /* the explanation comes before the act */
    se_acts_log(out, (struct se_act){.event = SE_EVT_SERVER_DETACH,
                                     .slot = old,
                                     .ms = s->cfg->server_detach_wait_ms});
    /* A graceful stop on the kill schedule: resent, escalated, and retried
     * when a signal fails. A server already being stopped (a restart, a
     * heartbeat kill) is going anyway: it is not told twice. */
    if (!s->restarting && !s->killing) stop_server(s, old, true, SE_REASON_DETACH, out);
    s->servers[old].detached = true;
    s->servers[old].detached_ms = now_ms;
    s->detaching = old;
    s->current = SE_SUP_NONE;
    s->state = SE_SUP_DETACHING;
    s->detach_deadline_ms = se_add_ms(now_ms, s->cfg->server_detach_wait_ms);
}

static void on_stop_waiting(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                            struct se_acts *out);

/* INT when there is no current server to detach (starting, or waiting to
 * restart): without enable_detach it is a graceful stop in every state (the
 * README's signal list), else nothing to do. DETACHING is not here: only a
 * detach enters it, and enable_detach is read at the start only. */
static void
on_detach_no_server(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                    struct se_acts *out)
{
    if (s->cfg->enable_detach) {
        log_ignored(s, in, out);
        return;
    }
    SE_ASSERT(s->state == SE_SUP_STARTING || s->state == SE_SUP_WAIT_RESTART);
    struct se_sup_in stop = {.kind = SE_SUP_IN_GRACEFUL_STOP};
    if (s->state == SE_SUP_STARTING)
        on_stop_starting(s, &stop, now_ms, out);
    else
        on_stop_waiting(s, &stop, now_ms, out);
}

static void
on_dump(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in, (void)now_ms;
    forward(s, SE_CMD_DUMP, out);
}

static void
on_tick_waiting(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in;
    if (now_ms >= s->restart_at_ms) spawn_server(s, now_ms, out);
}

static void
on_tick_detaching(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)in;
    if (now_ms < s->detach_deadline_ms) return;
    /* The old server keeps finishing on its own; it is reaped when it ends. */
    s->detaching = SE_SUP_NONE;
    s->detach_deadline_ms = SE_INT64_NEVER;
    if (s->cfg->exit_on_detach) {
        finish(s, 0, out);
        return;
    }
    spawn_server(s, now_ms, out);
}

static void
on_stop_detaching(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    s->detaching = SE_SUP_NONE;
    s->detach_deadline_ms = SE_INT64_NEVER;
    stop_all(s, in->kind == SE_SUP_IN_GRACEFUL_STOP, out);
}

static void
on_stop_waiting(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    (void)now_ms;
    s->restart_at_ms = SE_INT64_NEVER;
    stop_all(s, in->kind == SE_SUP_IN_GRACEFUL_STOP, out);
}

/* ---- the table ---------------------------------------------------------- */

#define ROW_DONE                                                                                   \
    {                                                                                              \
        [SE_SUP_IN_TICK] = on_ignore, [SE_SUP_IN_START] = on_ignore,                               \
        [SE_SUP_IN_SPAWNED] = on_ignore, [SE_SUP_IN_SPAWN_FAILED] = on_ignore,                     \
        [SE_SUP_IN_EXITED] = on_ignore, [SE_SUP_IN_LOST] = on_ignore,                              \
        [SE_SUP_IN_GRACEFUL_STOP] = on_ignore, [SE_SUP_IN_IMMEDIATE_STOP] = on_ignore,             \
        [SE_SUP_IN_GRACEFUL_RESTART] = on_ignore, [SE_SUP_IN_IMMEDIATE_RESTART] = on_ignore,       \
        [SE_SUP_IN_RELOAD] = on_ignore, [SE_SUP_IN_DETACH] = on_ignore,                            \
        [SE_SUP_IN_DUMP] = on_ignore,                                                              \
    }

static const sup_handler sup_table[SE_SUP_STATE_COUNT][SE_SUP_IN_COUNT] = {
    [SE_SUP_INIT] =
        {
            [SE_SUP_IN_TICK] = on_ignore,
            [SE_SUP_IN_START] = on_start,
            [SE_SUP_IN_SPAWNED] = on_ignore,
            [SE_SUP_IN_SPAWN_FAILED] = on_ignore,
            [SE_SUP_IN_EXITED] = on_ignore,
            [SE_SUP_IN_LOST] = on_ignore,
            [SE_SUP_IN_GRACEFUL_STOP] = on_stop_before_start,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_stop_before_start,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_RELOAD] = on_cmd_ignored,
            [SE_SUP_IN_DETACH] = on_cmd_ignored,
            [SE_SUP_IN_DUMP] = on_cmd_ignored,
        },
    [SE_SUP_STARTING] =
        {
            [SE_SUP_IN_TICK] = on_ignore,
            [SE_SUP_IN_START] = on_ignore,
            [SE_SUP_IN_SPAWNED] = on_spawned,
            [SE_SUP_IN_SPAWN_FAILED] = on_spawn_failed,
            [SE_SUP_IN_EXITED] = on_exited_other,
            [SE_SUP_IN_LOST] = on_lost,
            [SE_SUP_IN_GRACEFUL_STOP] = on_stop_starting,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_stop_starting,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_RELOAD] = on_reload_no_server,
            [SE_SUP_IN_DETACH] = on_detach_no_server,
            [SE_SUP_IN_DUMP] = on_cmd_ignored,
        },
    [SE_SUP_RUNNING] =
        {
            [SE_SUP_IN_TICK] = on_ignore,
            [SE_SUP_IN_START] = on_ignore,
            [SE_SUP_IN_SPAWNED] = on_ignore,
            [SE_SUP_IN_SPAWN_FAILED] = on_ignore,
            [SE_SUP_IN_EXITED] = on_exited_running,
            [SE_SUP_IN_LOST] = on_lost,
            [SE_SUP_IN_GRACEFUL_STOP] = on_graceful_stop,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_immediate_stop,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_restart_running,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_restart_running,
            [SE_SUP_IN_RELOAD] = on_reload_running,
            [SE_SUP_IN_DETACH] = on_detach,
            [SE_SUP_IN_DUMP] = on_dump,
        },
    [SE_SUP_WAIT_RESTART] =
        {
            [SE_SUP_IN_TICK] = on_tick_waiting,
            [SE_SUP_IN_START] = on_ignore,
            [SE_SUP_IN_SPAWNED] = on_ignore,
            [SE_SUP_IN_SPAWN_FAILED] = on_ignore,
            [SE_SUP_IN_EXITED] = on_exited_other,
            [SE_SUP_IN_LOST] = on_lost,
            [SE_SUP_IN_GRACEFUL_STOP] = on_stop_waiting,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_stop_waiting,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_restart_waiting,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_restart_waiting,
            [SE_SUP_IN_RELOAD] = on_reload_no_server,
            [SE_SUP_IN_DETACH] = on_detach_no_server,
            [SE_SUP_IN_DUMP] = on_cmd_ignored,
        },
    [SE_SUP_DETACHING] =
        {
            [SE_SUP_IN_TICK] = on_tick_detaching,
            [SE_SUP_IN_START] = on_ignore,
            [SE_SUP_IN_SPAWNED] = on_ignore,
            [SE_SUP_IN_SPAWN_FAILED] = on_ignore,
            [SE_SUP_IN_EXITED] = on_exited_detaching,
            [SE_SUP_IN_LOST] = on_lost,
            [SE_SUP_IN_GRACEFUL_STOP] = on_stop_detaching,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_stop_detaching,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_RELOAD] = on_reload_no_server,
            [SE_SUP_IN_DETACH] = on_cmd_ignored,
            [SE_SUP_IN_DUMP] = on_cmd_ignored,
        },
    [SE_SUP_STOPPING] =
        {
            [SE_SUP_IN_TICK] = on_ignore,
            [SE_SUP_IN_START] = on_ignore,
            [SE_SUP_IN_SPAWNED] = on_spawned,
            [SE_SUP_IN_SPAWN_FAILED] = on_spawn_failed,
            [SE_SUP_IN_EXITED] = on_exited_stopping,
            [SE_SUP_IN_LOST] = on_lost,
            [SE_SUP_IN_GRACEFUL_STOP] = on_graceful_stop,
            [SE_SUP_IN_IMMEDIATE_STOP] = on_immediate_stop,
            [SE_SUP_IN_GRACEFUL_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_IMMEDIATE_RESTART] = on_cmd_ignored,
            [SE_SUP_IN_RELOAD] = on_cmd_ignored,
            [SE_SUP_IN_DETACH] = on_cmd_ignored,
            [SE_SUP_IN_DUMP] = on_cmd_ignored,
        },
    [SE_SUP_DONE] = ROW_DONE,
};

_Static_assert(SE_ARRAY_LEN(sup_table) == SE_SUP_STATE_COUNT, "a row per state");
_Static_assert(SE_ARRAY_LEN(sup_table[0]) == SE_SUP_IN_COUNT, "a cell per input");

void
se__sup_step(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms, struct se_acts *out)
{
    SE_ASSERT(s != NULL);
    SE_ASSERT(now_ms >= s->now_ms_last);
    SE_ASSERT((unsigned)in->kind < SE_SUP_IN_COUNT);
    SE_ASSERT((unsigned)s->state < SE_SUP_STATE_COUNT);
    SE_ASSERT(in->slot < SE_SERVERS_MAX); /* 0 for the inputs that name none */
    s->now_ms_last = now_ms;
    sup_handler h = sup_table[s->state][in->kind];
    SE_ASSERT(h != NULL);
    h(s, in, now_ms, out);
}

int64_t
se__sup_deadline_ms(const struct se_sup *s)
{
    SE_ASSERT(s != NULL);
    switch (s->state) {
    case SE_SUP_WAIT_RESTART: return s->restart_at_ms;
    case SE_SUP_DETACHING: return s->detach_deadline_ms;
    case SE_SUP_INIT:
    case SE_SUP_STARTING:
    case SE_SUP_RUNNING:
    case SE_SUP_STOPPING:
    case SE_SUP_DONE:
    case SE_SUP_STATE_COUNT: break;
    }
    return SE_INT64_NEVER;
}
