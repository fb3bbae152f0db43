/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver_exec.c: executing the machines' actions through the adapter (see
 * driver.h): start a child, stop it (its kill machine, or the stop hook of
 * thread and embedded workers), signal it or write the word on its command
 * pipe, forward a command, report a lost child, reload, log an event, end.
 *
 * A result the adapter gives back (a start that failed, a signal that could
 * not be sent) goes straight back into the machine that asked, whose new
 * actions join the same queue. What the machines decide is theirs; what an
 * event means is driver.c's; only the doing is here.
 * Thread-safety: single-threaded, on the loop's thread (driver.c).
 */
#include <errno.h>
#include <stdio.h>

#include "driver_int.h"

/* ---- logging ------------------------------------------------------------ */

static void
log_event(struct se_driver *d, const struct se_act *a)
{
    if (d->hooks.event != NULL) d->hooks.event(d->hooks.ud, a);
    char buf[SE_LOG_LINE_MAX];
    enum se_log_level level = se__driver_event_text(d, a, buf, sizeof buf);
    d->hooks.log(d->hooks.ud, level, buf);
}

/* ---- the command pipe (command_sender: pipe) ------------------------------ */

/* The word a kill machine's signal stands for on a command pipe. */
static enum se_cmd
cmd_of_stop_sig(const struct se_driver *d, enum se_sig sig)
{
    if (sig == d->kill_cfg.graceful_sig) return SE_CMD_GRACEFUL_STOP;
    if (sig == d->kill_cfg.immediate_sig) return SE_CMD_IMMEDIATE_STOP;
    return SE_CMD_NONE; /* KILL, CONT: only a signal does it */
}

/* Writes cmd's word on the slot's command pipe. false when there is no pipe
 * or the word could not go whole (full, closed): the caller signals instead. */
static bool
send_word(struct se_driver *d, struct se_drv_slot *s, enum se_cmd cmd)
{
    if (cmd == SE_CMD_NONE || s->cmd_fd < 0) return false;
    char line[32];
    int len = snprintf(line, sizeof line, "%s\n", se_cmd_name(cmd));
    size_t written = 0;
    /* a line under PIPE_BUF is written whole or not at all */
    int rc = d->os->write(d->os->ctx, s->cmd_fd, line, (size_t)len, &written);
    if (rc == 0 && written == (size_t)len) return true;
    se__driver_logf(d, SE_LOG_WARN,
                    "Could not write %s on the command pipe of pid %d (%s): signalling",
                    se_cmd_name(cmd), (int)s->pid, rc < 0 ? se_strerror(rc) : "short write");
    return false;
}

/* USR2 to every process worker (worker_reload_signal for spawn workers;
 * RELOAD on the command pipe when there is one). */
void
se__driver_notify_reload(struct se_driver *d)
{
    enum se_sig sig = d->cfg->signal_reload;
    if (d->cfg->worker_type == SE_WORKER_SPAWN) sig = d->cfg->worker_reload_signal;
    for (uint32_t i = 0; i < d->slots_used; i++) {
        if (d->slots[i].child == 0) continue;
        if (d->stop_by_hook) {
            if (d->hooks.reload_worker != NULL) d->hooks.reload_worker(d->hooks.ud, i);
            continue;
        }
        if (send_word(d, &d->slots[i], SE_CMD_RELOAD) || sig == SE_SIG_NONE) continue;
        int rc = d->os->signal(d->os->ctx, d->slots[i].child, sig);
        if (rc < 0 && rc != -ESRCH)
            se__driver_logf(d, SE_LOG_WARN, "Could not send %s to worker %u: %s", se_sig_name(sig),
                            i, se_strerror(rc));
    }
}

/* ---- actions ------------------------------------------------------------ */

static void
spawn_result(struct se_driver *d, uint32_t slot, int rc, int64_t now_ms)
{
    if (d->role == SE_ROLE_SERVER) {
        struct se_pool_in in = {.kind = rc == 0 ? SE_POOL_IN_SPAWNED : SE_POOL_IN_SPAWN_FAILED,
                                .slot = slot,
                                .err = rc};
        se__driver_pool_feed(d, in, now_ms);
    } else {
        struct se_sup_in in = {
            .kind = rc == 0 ? SE_SUP_IN_SPAWNED : SE_SUP_IN_SPAWN_FAILED, .slot = slot, .err = rc};
        se__driver_sup_feed(d, in, now_ms);
    }
}

static void
act_spawn(struct se_driver *d, uint32_t slot, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[slot];
    SE_ASSERT(slot < d->slots_max);
    SE_ASSERT(s->child == 0); /* never two children in one slot */
    struct se_spawn_req req = {.worker_id = slot, .heartbeat = !d->stop_by_hook};
    d->hooks.prepare_spawn(d->hooks.ud, slot, &req);
    struct se_spawn_res res = {.heartbeat_fd = -1, .command_fd = -1};
    int rc = req.kind == 0 ? SE_ECONFIG : d->os->spawn(d->os->ctx, &req, &res);
    if (rc == 0) {
        SE_ASSERT(res.child != 0);
        if (slot >= d->slots_used) d->slots_used = slot + 1;
        SE_ASSERT(d->slots_used <= d->slots_max); /* the loops over the slots stay in the table */
        s->child = res.child;
        s->pid = res.pid;
        s->starts++;
        s->hb_fd = res.heartbeat_fd;
        s->cmd_fd = res.command_fd;
        /* a spawned program in auto mode is judged by heartbeat once it
         * has written its first beat; any program can be run (README) */
        s->hb_on =
            req.heartbeat && !(req.kind == SE_SPAWN_EXEC && !d->cfg->worker_heartbeat_manual);
        se__kill_init(&s->kill, &d->kill_cfg, slot, res.child, now_ms);
        se__hb_init(&s->hb, &d->hb_cfg, slot, now_ms);
        if (s->hb_fd >= 0 && d->os->watch(d->os->ctx, s->hb_fd) < 0) {
            /* beats still arrive as stamps; only EOF detection is lost */
            d->os->close(d->os->ctx, s->hb_fd);
            s->hb_fd = -1;
        }
        if (d->hooks.spawned != NULL) d->hooks.spawned(d->hooks.ud, slot, &res);
    }
    if (rc < 0 && d->hooks.spawn_failed != NULL) d->hooks.spawn_failed(d->hooks.ud, slot, rc);
    spawn_result(d, slot, rc, now_ms);
}

static void
act_stop(struct se_driver *d, const struct se_act *a, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[a->slot];
    if (s->child == 0) return; /* ended in this same iteration */
    if (d->stop_by_hook) {
        if (d->hooks.stop_worker != NULL) d->hooks.stop_worker(d->hooks.ud, a->slot, a->graceful);
        return;
    }
    struct se_kill_in in = {.kind = a->graceful ? SE_KILL_IN_GRACEFUL : SE_KILL_IN_IMMEDIATE,
                            .reason = a->reason};
    se__driver_kill_feed(d, a->slot, in, now_ms);
}

static void
act_signal(struct se_driver *d, const struct se_act *a, int64_t now_ms)
{
    struct se_drv_slot *s = &d->slots[a->slot];
    if (a->reason == SE_REASON_GROUP_LEFT) {
        /* what is left of an ended child's group; a signal queued behind one
         * that found the group empty (QUIT's CONT) finds its stop ended */
        if (a->child == s->group_child) se__driver_group_signal(d, a, now_ms);
        return;
    }
    /* Pair assertion with sm_kill: a signal only ever targets the live child
     * the machine was made for; a reaped handle is never signalled. */
    SE_ASSERT(s->child != 0);
    SE_ASSERT(s->child == a->child);
    if (send_word(d, s, cmd_of_stop_sig(d, a->sig))) return;
    int rc = a->group ? d->os->signal_group(d->os->ctx, a->child, a->sig)
                      : d->os->signal(d->os->ctx, a->child, a->sig);
    if (rc == 0) return;
    se__driver_kill_feed(
        d, a->slot, (struct se_kill_in){.kind = SE_KILL_IN_SIGNAL_FAILED, .err = rc, .sig = a->sig},
        now_ms);
}

static void
act_forward(struct se_driver *d, const struct se_act *a)
{
    struct se_drv_slot *s = &d->slots[a->slot];
    if (s->child == 0 || send_word(d, s, a->cmd)) return;
    enum se_sig sig = se__config_cmd_signal(d->cfg, a->cmd);
    if (sig == SE_SIG_NONE) return;
    int rc = d->os->signal(d->os->ctx, s->child, sig);
    if (rc < 0 && rc != -ESRCH)
        se__driver_logf(d, SE_LOG_WARN, "Could not forward %s to the server: %s",
                        se_cmd_name(a->cmd), se_strerror(rc));
}

static void
act_lost(struct se_driver *d, const struct se_act *a, int64_t now_ms)
{
    if (d->slots[a->slot].child == 0) return;
    if (d->role == SE_ROLE_SERVER) {
        enum se_pool_in_kind k =
            a->reason == SE_REASON_HEARTBEAT_EOF ? SE_POOL_IN_HB_EOF : SE_POOL_IN_LOST;
        se__driver_pool_feed(d, (struct se_pool_in){.kind = k, .slot = a->slot, .age_ms = a->ms},
                             now_ms);
    } else {
        se__driver_sup_feed(
            d,
            (struct se_sup_in){
                .kind = SE_SUP_IN_LOST, .slot = a->slot, .age_ms = a->ms, .reason = a->reason},
            now_ms);
    }
}

static void
execute_one(struct se_driver *d, const struct se_act *a, int64_t now_ms)
{
    switch (a->kind) {
    case SE_ACT_SPAWN: act_spawn(d, a->slot, now_ms); return;
    case SE_ACT_STOP: act_stop(d, a, now_ms); return;
    case SE_ACT_SIGNAL: act_signal(d, a, now_ms); return;
    case SE_ACT_FORWARD: act_forward(d, a); return;
    case SE_ACT_LOST: act_lost(d, a, now_ms); return;
    case SE_ACT_RELOAD: se__driver_reload_config(d, now_ms); return;
    case SE_ACT_LOG: log_event(d, a); return;
    case SE_ACT_EXIT:
        d->done = true;
        d->exit_status = a->status;
        return;
    }
    SE_ASSERT(!"an action of no kind"); /* the machines emit only the kinds above */
}

/* Executes the queue in order; executing an action may append more (a result
 * fed back to a machine). Entries already run are reclaimed once they fill
 * half the queue, so what the queue must hold is the backlog (actions not yet
 * run), never an iteration's total: an immediate restart of 1,024 workers
 * runs several times more actions than SE_ACTS_MAX. */
void
se__driver_execute_all(struct se_driver *d, int64_t now_ms)
{
    struct se_acts *q = &d->acts;
    uint32_t i = 0;
    while (i < q->count) {
        if (i >= q->cap / 2) {
            memmove(q->items, q->items + i, (size_t)(q->count - i) * sizeof *q->items);
            q->count -= i;
            i = 0;
        }
        if (q->count - i > d->backlog_max) d->backlog_max = q->count - i;
        struct se_act a = q->items[i++]; /* copy: the queue may move */
        execute_one(d, &a, now_ms);
    }
    q->count = 0;
}
