/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_whelper.c: a process worker's helper, its decisions (sm_whelper.h).
 */
#include "sm_whelper.h"

void
se__wh_init(struct se_whelper *h, bool manual, int64_t interval_ms, int64_t now_ms)
{
    *h = (struct se_whelper){0};
    h->manual = manual;
    h->interval_ms = interval_ms < 1 ? 1 : interval_ms;
    h->next_beat_ms = now_ms + h->interval_ms;
}

/* CONT is a dump request, except when the server sends it and within the
 * window after a stop request. */
static bool
is_dump_request(const struct se_whelper *h, const struct se_wh_in *in, int64_t now_ms)
{
    if (!in->dump_enabled || in->from_server) return false;
    return !h->stop_seen || now_ms - h->stop_at_ms >= SE_DUMP_AFTER_STOP_MS;
}

static uint32_t
on_signal(struct se_whelper *h, const struct se_wh_in *in, int64_t now_ms)
{
    switch (in->cmd) {
    case SE_CMD_GRACEFUL_STOP:
    case SE_CMD_GRACEFUL_RESTART:
    case SE_CMD_DETACH:
        h->stop_seen = true;
        h->stop_at_ms = now_ms;
        return SE_WH_STOP;
    case SE_CMD_RELOAD: return SE_WH_RELOAD;
    case SE_CMD_DUMP: return is_dump_request(h, in, now_ms) ? SE_WH_DUMP : 0;
    case SE_CMD_IMMEDIATE_STOP:
    case SE_CMD_IMMEDIATE_RESTART:
    case SE_CMD_NONE:
    case SE_CMD_COUNT: return 0;
    }
    return 0;
}

/* The server is gone: only run's end or the grace's end matter now. */
static uint32_t
orphan_step(struct se_whelper *h, const struct se_wh_in *in, int64_t now_ms)
{
    if (in->kind == SE_WH_RUN_DONE || now_ms >= h->exit_at_ms) {
        h->ended = true;
        return SE_WH_EXIT;
    }
    return 0;
}

uint32_t
se__wh_step(struct se_whelper *h, const struct se_wh_in *in, int64_t now_ms)
{
    if (h->ended) return 0;
    if (h->orphaned) return orphan_step(h, in, now_ms);
    uint32_t acts = 0;
    switch (in->kind) {
    case SE_WH_RUN_DONE: h->ended = true; return SE_WH_RETURN;
    case SE_WH_PARENT_GONE:
        h->orphaned = true;
        h->exit_at_ms = now_ms + SE_STOP_GRACE_MS;
        return SE_WH_ORPHANED | SE_WH_STOP;
    case SE_WH_SIGNAL: acts = on_signal(h, in, now_ms); break;
    case SE_WH_TIMER: break;
    }
    if (!h->manual && now_ms >= h->next_beat_ms) {
        acts |= SE_WH_BEAT;
        h->next_beat_ms = now_ms + h->interval_ms;
    }
    return acts;
}

int64_t
se__wh_deadline_ms(const struct se_whelper *h)
{
    if (h->ended) return SE_INT64_NEVER;
    if (h->orphaned) return h->exit_at_ms;
    return h->manual ? SE_INT64_NEVER : h->next_beat_ms;
}

bool
se__wh_watch_parent(const struct se_whelper *h)
{
    return !h->orphaned;
}
