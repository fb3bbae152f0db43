/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_heartbeat.h: heartbeat tracking of one child, a pure state machine.
 *
 * The child proves it is alive by beats; the machine holds the time of the
 * last one and reports "lost" once when now >= last + timeout (exactly: no
 * earlier, and the driver wakes at that deadline, so no later than the
 * wake-up latency). Manual and auto modes are the same machine: only who
 * beats differs (a thread in the child, or the worker's own loop).
 * Beats are stamps (monotonic ms taken by the child) or, for pipe beats,
 * the time the parent read them; the driver queries the stamp at the
 * deadline instead of waking for every beat. Ruby ServerEngine measures
 * heartbeat age from a time taken before its 0.5 s select and kills up to
 * half a second early; this does not.
 */
#ifndef SE_SM_HEARTBEAT_H
#define SE_SM_HEARTBEAT_H

#include "se_int.h"

/* A child that closed its heartbeat pipe (EOF) but has not exited this long
 * after is judged lost: the usual cause of EOF is an exit whose status is
 * about to be reaped, and stopping it at once would mislabel a crash. */
#define SE_HB_EOF_GRACE_MS 1000

struct se_hb_cfg {
    int64_t timeout_ms; /* worker_heartbeat_timeout; -1 = never lost */
};

enum se_hb_in_kind {
    SE_HB_IN_TICK = 0, /* time passed */
    SE_HB_IN_BEAT,     /* a beat stamped at .stamp_ms */
    SE_HB_IN_STOP,     /* the child is gone: stop watching */
    SE_HB_IN_EOF,      /* the child closed its heartbeat pipe */
};

struct se_hb_in {
    enum se_hb_in_kind kind;
    int64_t stamp_ms; /* BEAT */
};

struct se_hb {
    const struct se_hb_cfg *cfg; /* borrowed; may change between steps */
    uint32_t slot;
    bool active;          /* watching */
    bool lost;            /* "lost" was reported; nothing more until re-init */
    int64_t last_beat_ms; /* the start counts as a beat */
    int64_t eof_ms;       /* when EOF was seen, or SE_INT64_NEVER */
    int64_t now_ms_last;
};

void se__hb_init(struct se_hb *hb, const struct se_hb_cfg *cfg, uint32_t slot, int64_t now_ms);

/* Appends SE_ACT_LOST (.ms = age of the last beat; .reason HEARTBEAT, or
 * HEARTBEAT_EOF when the pipe was closed SE_HB_EOF_GRACE_MS ago) once when
 * the timeout passes. Beats stamped in the future (another CPU's clock read) count as
 * now. Cannot fail. */
void se__hb_step(struct se_hb *hb, const struct se_hb_in *in, int64_t now_ms, struct se_acts *out);

int64_t se__hb_deadline_ms(const struct se_hb *hb);

#endif /* SE_SM_HEARTBEAT_H */
