/* SPDX-License-Identifier: Apache-2.0 */
#include "act_fmt.h"

#include <stdio.h>
#include <string.h>

static const char *const event_names[SE_EVT_COUNT] = {
    [SE_EVT_NONE] = "none",
    [SE_EVT_WORKER_STARTED] = "worker-started",
    [SE_EVT_WORKER_FINISHED] = "worker-finished",
    [SE_EVT_WORKER_EXITED] = "worker-exited",
    [SE_EVT_WORKER_EXITED_UNEXPECTEDLY] = "worker-exited-unexpectedly",
    [SE_EVT_WORKER_UNRECOVERABLE] = "worker-unrecoverable",
    [SE_EVT_WORKER_RESTART_DELAYED] = "worker-restart-delayed",
    [SE_EVT_WORKER_SPAWN_FAILED] = "worker-spawn-failed",
    [SE_EVT_WORKER_STOP] = "worker-stop",
    [SE_EVT_WORKERS_SCALED] = "workers-scaled",
    [SE_EVT_WORKERS_DONE] = "workers-done",
    [SE_EVT_HEARTBEAT_LOST] = "heartbeat-lost",
    [SE_EVT_HEARTBEAT_EOF] = "heartbeat-eof",
    [SE_EVT_KILL_SIGNAL] = "kill-signal",
    [SE_EVT_KILL_ESCALATE] = "kill-escalate",
    [SE_EVT_KILL_FINAL] = "kill-final",
    [SE_EVT_KILL_SIGNAL_FAILED] = "kill-signal-failed",
    [SE_EVT_SERVER_STARTED] = "server-started",
    [SE_EVT_SERVER_FINISHED] = "server-finished",
    [SE_EVT_SERVER_FINISHED_UNEXPECTEDLY] = "server-finished-unexpectedly",
    [SE_EVT_SERVER_RESTART_DELAYED] = "server-restart-delayed",
    [SE_EVT_SERVER_SPAWN_FAILED] = "server-spawn-failed",
    [SE_EVT_SERVER_DETACH] = "server-detach",
    [SE_EVT_DETACHED_FINISHED] = "detached-finished",
    [SE_EVT_SERVER_STOP] = "server-stop",
    [SE_EVT_SUPERVISOR_DONE] = "supervisor-done",
    [SE_EVT_CMD_IGNORED] = "cmd-ignored",
};

const char *
se_test_event_name(enum se_event ev)
{
    if ((unsigned)ev >= SE_EVT_COUNT || event_names[ev] == NULL) return "?";
    return event_names[ev];
}

static int
fmt_one(const struct se_act *a, char *buf, size_t n)
{
    switch (a->kind) {
    case SE_ACT_SPAWN: return snprintf(buf, n, "spawn %u", a->slot);
    case SE_ACT_STOP:
        return snprintf(buf, n, "stop %u %s", a->slot, a->graceful ? "graceful" : "immediate");
    case SE_ACT_SIGNAL: return snprintf(buf, n, "signal %u %s", a->slot, se_sig_name(a->sig));
    case SE_ACT_FORWARD: return snprintf(buf, n, "forward %u %s", a->slot, se_cmd_name(a->cmd));
    case SE_ACT_LOST: return snprintf(buf, n, "lost %u age=%lld", a->slot, (long long)a->ms);
    case SE_ACT_RELOAD: return snprintf(buf, n, "reload");
    case SE_ACT_EXIT: return snprintf(buf, n, "exit %d", a->status);
    case SE_ACT_LOG: return snprintf(buf, n, "log %s %u", se_test_event_name(a->event), a->slot);
    }
    return snprintf(buf, n, "?");
}

static void
acts_str(const struct se_acts *acts, uint32_t from, char *buf, size_t buf_size, bool logs)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = from; i < acts->count; i++) {
        if (!logs && acts->items[i].kind == SE_ACT_LOG) continue;
        if (used > 0 && used + 2 < buf_size) {
            memcpy(buf + used, "; ", 3);
            used += 2;
        }
        int w = fmt_one(&acts->items[i], buf + used, buf_size - used);
        if (w < 0 || (size_t)w >= buf_size - used) return;
        used += (size_t)w;
    }
}

void
se_test_acts_str(const struct se_acts *acts, uint32_t from, char *buf, size_t buf_size)
{
    acts_str(acts, from, buf, buf_size, true);
}

void
se_test_acts_str_nolog(const struct se_acts *acts, uint32_t from, char *buf, size_t buf_size)
{
    acts_str(acts, from, buf, buf_size, false);
}
