/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver_log.c: the engine's log lines, one per machine event.
 *
 * The wording is fixed (serverengine(3), LOG); tests and operators rely on it:
 * "Worker 0 finished with status 0", "Worker 0 exited with status 0",
 * "Worker 0 exited unexpectedly with status 5", "... with signal SIGKILL",
 * "Server finished with ...", "Server finished unexpectedly with ...".
 * Every kill and restart names its reason (serverengine(5), TIMING).
 */
#include <stdio.h>

#include "driver.h"

struct line {
    char who[64];  /* "Worker 3" / "Server (pid 42)" */
    char whol[64]; /* the same in lower case: "worker 3" */
    char how[48];  /* "status 5" / "signal SIGKILL" */
};

static void
line_init(const struct se_driver *d, const struct se_act *a, struct line *l)
{
    if (d->role == SE_ROLE_SERVER) {
        snprintf(l->who, sizeof l->who, "Worker %u", a->slot);
        snprintf(l->whol, sizeof l->whol, "worker %u", a->slot);
    } else {
        int32_t pid = a->slot < SE_SERVERS_MAX ? d->slots[a->slot].pid : 0;
        snprintf(l->who, sizeof l->who, "Server (pid %d)", pid);
        snprintf(l->whol, sizeof l->whol, "server (pid %d)", pid);
    }
    if (a->status >= 0)
        snprintf(l->how, sizeof l->how, "status %d", a->status);
    else
        snprintf(l->how, sizeof l->how, "signal %s", se_sig_name(a->sig));
}

static double
secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

static const char *
sup_in_name(uint32_t in)
{
    static const char *const names[SE_SUP_IN_COUNT] = {
        [SE_SUP_IN_TICK] = "a tick",
        [SE_SUP_IN_START] = "start",
        [SE_SUP_IN_SPAWNED] = "a start result",
        [SE_SUP_IN_SPAWN_FAILED] = "a start failure",
        [SE_SUP_IN_EXITED] = "an exit",
        [SE_SUP_IN_LOST] = "a heartbeat loss",
        [SE_SUP_IN_GRACEFUL_STOP] = "graceful stop",
        [SE_SUP_IN_IMMEDIATE_STOP] = "immediate stop",
        [SE_SUP_IN_GRACEFUL_RESTART] = "graceful restart",
        [SE_SUP_IN_IMMEDIATE_RESTART] = "immediate restart",
        [SE_SUP_IN_RELOAD] = "reload",
        [SE_SUP_IN_DETACH] = "detach",
        [SE_SUP_IN_DUMP] = "dump",
    };
    return in < SE_SUP_IN_COUNT ? names[in] : "?";
}

static const char *
sup_state_name(uint32_t st)
{
    static const char *const names[SE_SUP_STATE_COUNT] = {
        [SE_SUP_INIT] = "starting up",
        [SE_SUP_STARTING] = "starting the server",
        [SE_SUP_RUNNING] = "running (disable_reload?)",
        [SE_SUP_WAIT_RESTART] = "waiting to restart the server",
        [SE_SUP_DETACHING] = "detaching",
        [SE_SUP_STOPPING] = "stopping",
        [SE_SUP_DONE] = "done",
    };
    return st < SE_SUP_STATE_COUNT ? names[st] : "?";
}

static enum se_log_level
exited_unexpectedly(const struct line *l, const struct se_act *a, char *buf, size_t n)
{
    /* killed by a signal the engine never sent (OOM killer, kill -9) */
    snprintf(buf, n, "%s exited unexpectedly with %s%s", l->who, l->how,
             a->outside ? " (not sent by serverengine: the out-of-memory killer or an "
                          "operator?)"
                        : "");
    return SE_LOG_ERROR;
}

/* the wording below says "a second": it is the pool's settled run */
_Static_assert(SE_SETTLED_RUN_MS == 1000, "the crash-loop log line names the settled run");

static enum se_log_level
restart_delayed(const struct line *l, const struct se_act *a, char *buf, size_t n)
{
    if (a->count > 1) {
        snprintf(buf, n,
                 "%s ended %u times in a row, each within a second of its start: restarting it "
                 "in %.3f s (crash-loop backoff, "
                 "worker_restart_backoff_max)",
                 l->who, a->count, secs(a->ms));
        return SE_LOG_WARN;
    }
    snprintf(buf, n, "Restarting %s in %.3f s (restart_worker_interval)", l->whol, secs(a->ms));
    return SE_LOG_INFO;
}

/* ms < 0: not retried (the engine is stopping) */
static enum se_log_level
spawn_failed(const char *who, const struct se_act *a, char *buf, size_t n)
{
    if (a->ms < 0)
        snprintf(buf, n, "%s could not be started: %s", who, se_strerror(a->err));
    else
        snprintf(buf, n, "%s could not be started: %s; retrying in %.3f s", who,
                 se_strerror(a->err), secs(a->ms));
    return SE_LOG_ERROR;
}

static enum se_log_level
stopping(const struct line *l, const struct se_act *a, char *buf, size_t n)
{
    snprintf(buf, n, "Stopping %s %s: %s", l->whol, a->graceful ? "gracefully" : "immediately",
             se__reason_text(a->reason));
    return SE_LOG_INFO;
}

static enum se_log_level
kill_signal(const struct se_driver *d, const struct line *l, const struct se_act *a, char *buf,
            size_t n)
{
    /* command_sender pipe: the stop signals go as words on the child's stdin
     * (never to what is left of an ended child's group: the slot's pipe is
     * its successor's) */
    bool word = a->reason != SE_REASON_GROUP_LEFT && a->slot < d->slots_max &&
                d->slots[a->slot].cmd_fd >= 0 &&
                (a->sig == d->kill_cfg.graceful_sig || a->sig == d->kill_cfg.immediate_sig);
    if (word)
        snprintf(buf, n, "Sending %s to %s on its command pipe (attempt %u, %s)",
                 a->sig == d->kill_cfg.graceful_sig ? "GRACEFUL_STOP" : "IMMEDIATE_STOP", l->whol,
                 a->count, se__reason_text(a->reason));
    else
        snprintf(buf, n, "Sending %s to %s (attempt %u, %s)", se_sig_name(a->sig), l->whol,
                 a->count, se__reason_text(a->reason));
    return a->count > 1 ? SE_LOG_WARN : SE_LOG_INFO;
}

static enum se_log_level
kill_escalate(const struct line *l, const struct se_act *a, char *buf, size_t n, bool final)
{
    if (final)
        snprintf(buf, n,
                 "%s still running %.3f s after an immediate stop "
                 "(worker_immediate_kill_timeout): sending SIGKILL",
                 l->who, secs(a->ms));
    else
        snprintf(buf, n,
                 "%s still running %.3f s after a graceful stop "
                 "(worker_graceful_kill_timeout): escalating to an immediate stop",
                 l->who, secs(a->ms));
    return SE_LOG_WARN;
}

static enum se_log_level
heartbeat_lost(const struct se_driver *d, const struct line *l, const struct se_act *a, char *buf,
               size_t n)
{
    snprintf(buf, n,
             "%s heartbeat timeout: no heartbeat for %.3f s (worker_heartbeat_timeout "
             "%.3f s); stopping it immediately",
             l->who, secs(a->ms), secs(d->hb_cfg.timeout_ms));
    return SE_LOG_ERROR;
}

static enum se_log_level
server_detach(const struct line *l, const struct se_act *a, char *buf, size_t n)
{
    snprintf(buf, n,
             "Detaching %s for a live restart: it stops gracefully; the next server "
             "starts when it exits or in %.3f s (server_detach_wait)",
             l->whol, secs(a->ms));
    return SE_LOG_INFO;
}

static enum se_log_level text(char *buf, size_t n, enum se_log_level level, const char *fmt, ...)
    SE_PRINTF(4, 5);

static enum se_log_level
text(char *buf, size_t n, enum se_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return level;
}

enum se_log_level
se__driver_event_text(const struct se_driver *d, const struct se_act *a, char *b, size_t n)
{
    SE_ASSERT(a->kind == SE_ACT_LOG);
    SE_ASSERT(n > 0);
    struct line l;
    line_init(d, a, &l);
    const enum se_log_level I = SE_LOG_INFO;
    switch (a->event) {
    case SE_EVT_WORKER_STARTED:
        if (d->slots[a->slot].pid <= 0) return text(b, n, I, "%s started (thread)", l.who);
        return text(b, n, I, "%s started (pid %d)", l.who, d->slots[a->slot].pid);
    case SE_EVT_WORKER_FINISHED: return text(b, n, I, "%s finished with %s", l.who, l.how);
    case SE_EVT_WORKER_EXITED: return text(b, n, I, "%s exited with %s", l.who, l.how);
    case SE_EVT_WORKER_EXITED_UNEXPECTEDLY: return exited_unexpectedly(&l, a, b, n);
    case SE_EVT_WORKER_UNRECOVERABLE:
        return text(b, n, SE_LOG_WARN,
                    "%s exited with unrecoverable status %d: not restarting "
                    "it",
                    l.who, a->status);
    case SE_EVT_WORKER_RESTART_DELAYED: return restart_delayed(&l, a, b, n);
    case SE_EVT_WORKER_SPAWN_FAILED: return spawn_failed(l.who, a, b, n);
    case SE_EVT_WORKER_STOP: return stopping(&l, a, b, n);
    case SE_EVT_WORKERS_SCALED:
        return text(b, n, I, "Scaling workers from %u to %d", a->count, a->status);
    case SE_EVT_WORKERS_DONE:
        return text(b, n, I, "All workers have stopped: the server exits with status %d",
                    a->status);
    case SE_EVT_HEARTBEAT_LOST: return heartbeat_lost(d, &l, a, b, n);
    case SE_EVT_HEARTBEAT_EOF:
        return text(b, n, SE_LOG_WARN,
                    "%s closed its heartbeat pipe but is still running; "
                    "stopping it immediately",
                    l.who);
    case SE_EVT_KILL_SIGNAL: return kill_signal(d, &l, a, b, n);
    case SE_EVT_KILL_ESCALATE: return kill_escalate(&l, a, b, n, false);
    case SE_EVT_KILL_FINAL: return kill_escalate(&l, a, b, n, true);
    case SE_EVT_KILL_SIGNAL_FAILED:
        return text(b, n, SE_LOG_WARN, "Could not send %s to %s: %s", se_sig_name(a->sig), l.whol,
                    se_strerror(a->err));
    case SE_EVT_SERVER_STARTED: return text(b, n, I, "%s started", l.who);
    case SE_EVT_SERVER_FINISHED: return text(b, n, I, "Server finished with %s", l.how);
    case SE_EVT_SERVER_FINISHED_UNEXPECTEDLY:
        return text(b, n, SE_LOG_ERROR, "Server finished unexpectedly with %s", l.how);
    case SE_EVT_SERVER_RESTART_DELAYED:
        if (a->no_slot) /* every slot holds a detached server */
            return text(b, n, SE_LOG_WARN,
                        "Every server slot holds a detached server still stopping: the server "
                        "starts when one ends (retrying in %.3f s)",
                        secs(a->ms));
        return text(b, n, I, "Restarting the server in %.3f s (server_restart_wait)", secs(a->ms));
    case SE_EVT_SERVER_SPAWN_FAILED: return spawn_failed("The server", a, b, n);
    case SE_EVT_SERVER_DETACH: return server_detach(&l, a, b, n);
    case SE_EVT_DETACHED_FINISHED: return text(b, n, I, "Detached server finished with %s", l.how);
    case SE_EVT_SERVER_STOP: return stopping(&l, a, b, n);
    case SE_EVT_SUPERVISOR_DONE: return text(b, n, I, "Supervisor exits with status %d", a->status);
    case SE_EVT_CMD_IGNORED:
        return text(b, n, I, "Ignoring %s while the supervisor is %s", sup_in_name(a->input),
                    sup_state_name(a->state));
    case SE_EVT_NONE:
    case SE_EVT_COUNT: break;
    }
    return text(b, n, SE_LOG_DEBUG, "event %d", (int)a->event);
}
