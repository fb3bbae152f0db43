/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_heartbeat.c: heartbeat tracking (see sm_heartbeat.h).
 * Pure: no syscall, no clock, no allocation, no global.
 */
#include "sm_heartbeat.h"

void
se__hb_init(struct se_hb *hb, const struct se_hb_cfg *cfg, uint32_t slot, int64_t now_ms)
{
    SE_ASSERT(hb != NULL);
    SE_ASSERT(cfg != NULL);
    memset(hb, 0, sizeof *hb);
    hb->cfg = cfg;
    hb->slot = slot;
    hb->active = true;
    hb->last_beat_ms = now_ms;
    hb->eof_ms = SE_INT64_NEVER;
    hb->now_ms_last = now_ms;
}

void
se__hb_step(struct se_hb *hb, const struct se_hb_in *in, int64_t now_ms, struct se_acts *out)
{
    SE_ASSERT(hb != NULL);
    SE_ASSERT(now_ms >= hb->now_ms_last);
    hb->now_ms_last = now_ms;
    switch (in->kind) {
    case SE_HB_IN_TICK: break;
    case SE_HB_IN_BEAT:
        if (in->stamp_ms > hb->last_beat_ms) hb->last_beat_ms = se_min_ms(in->stamp_ms, now_ms);
        break;
    case SE_HB_IN_STOP: hb->active = false; return;
    case SE_HB_IN_EOF:
        if (hb->eof_ms == SE_INT64_NEVER) hb->eof_ms = now_ms;
        break;
    }
    int64_t deadline = se__hb_deadline_ms(hb);
    if (now_ms < deadline) return;
    hb->lost = true;
    bool by_eof = now_ms >= se_add_ms(hb->eof_ms, SE_HB_EOF_GRACE_MS);
    se_acts_push(out,
                 (struct se_act){.kind = SE_ACT_LOST,
                                 .slot = hb->slot,
                                 .ms = now_ms - hb->last_beat_ms,
                                 .reason = by_eof ? SE_REASON_HEARTBEAT_EOF : SE_REASON_HEARTBEAT});
}

int64_t
se__hb_deadline_ms(const struct se_hb *hb)
{
    SE_ASSERT(hb != NULL);
    if (!hb->active || hb->lost) return SE_INT64_NEVER;
    int64_t eof_deadline = se_add_ms(hb->eof_ms, SE_HB_EOF_GRACE_MS);
    if (hb->cfg->timeout_ms < 0) return eof_deadline;
    return se_min_ms(eof_deadline, se_add_ms(hb->last_beat_ms, hb->cfg->timeout_ms));
}
