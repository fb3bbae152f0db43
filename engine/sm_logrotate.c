/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_logrotate.c: rotation and reopening of a shared log file (the rules and
 * the protocol are in sm_logrotate.h).
 *
 * Pure: no syscall, no clock, no allocation, no global. The caller executes
 * the calls (LOCK, CHECK, RENAME, UNLINK, REOPEN) and answers each one; every
 * decision, including what a failure means, is taken here. One helper per
 * state; a call that fails under the lock always leads to an UNLOCK in the
 * same step, so no path of the machine leaves the lock held.
 */
#include "sm_logrotate.h"

static bool
same_file(const struct se_file_id *a, const struct se_file_id *b)
{
    return a->exists && b->exists && a->dev == b->dev && a->ino == b->ino;
}

bool
se__logrot_cfg_valid(const struct se_logrot_cfg *cfg)
{
    if (cfg->rotate_age > SE_LOGROT_AGE_MAX) return false;
    if (cfg->rotate_age > 0 && cfg->rotate_size_bytes == 0) return false;
    return cfg->check_interval_ms > 0 && cfg->retry_ms >= 0;
}

void
se__logrot_init(struct se_logrot *r, const struct se_logrot_cfg *cfg,
                const struct se_file_id *opened, int64_t now_ms)
{
    SE_ASSERT(r != NULL && cfg != NULL && opened != NULL);
    SE_ASSERT(se__logrot_cfg_valid(cfg));
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->state = SE_LOGROT_IDLE;
    r->ours = *opened;
    r->next_check_ms = se_add_ms(now_ms, cfg->check_interval_ms);
    r->retry_at_ms = now_ms;
    r->now_ms_last = now_ms;
}

void
se__logrot_set_cfg(struct se_logrot *r, const struct se_logrot_cfg *cfg)
{
    SE_ASSERT(r->state == SE_LOGROT_IDLE);
    SE_ASSERT(se__logrot_cfg_valid(cfg));
    r->cfg = *cfg;
}

bool
se__logrot_waiting(const struct se_logrot *r)
{
    return r->state != SE_LOGROT_IDLE;
}

int64_t
se__logrot_deadline_ms(const struct se_logrot *r)
{
    if (r->failures > 0 || r->reopen_pending) return se_min_ms(r->next_check_ms, r->retry_at_ms);
    return r->next_check_ms;
}

static void
push(struct se_logrot_acts *out, struct se_logrot_act act)
{
    SE_ASSERT(out->count < SE_LOGROT_ACTS_MAX);
    out->items[out->count++] = act;
}

/* Emits a call and records it with the state that awaits its answer. */
static void
call(struct se_logrot *r, enum se_logrot_state next, struct se_logrot_act act,
     struct se_logrot_acts *out)
{
    r->state = next;
    r->pending = act;
    push(out, act);
}

static void
unlock_if_held(struct se_logrot *r, struct se_logrot_acts *out)
{
    if (!r->locked) return;
    r->locked = false;
    push(out, (struct se_logrot_act){.kind = SE_LOGROT_ACT_UNLOCK});
}

/* The attempt ended well: release the lock and close an episode of failures. */
static void
attempt_done(struct se_logrot *r, struct se_logrot_acts *out)
{
    unlock_if_held(r, out);
    if (r->failures > 0)
        push(out, (struct se_logrot_act){.kind = SE_LOGROT_ACT_RECOVERED, .count = r->failures});
    r->failures = 0;
    r->reported = false;
    r->state = SE_LOGROT_IDLE;
}

/* The attempt stopped at a failed call: release the lock, report the first
 * failure of the episode only, and let a write retry_ms later try again. */
static void
attempt_failed(struct se_logrot *r, int32_t err, int64_t now_ms, struct se_logrot_acts *out)
{
    const struct se_logrot_act *failed = &r->pending;
    SE_ASSERT(err < 0);
    unlock_if_held(r, out);
    r->failures++;
    if (!r->reported) {
        r->reported = true;
        push(out, (struct se_logrot_act){.kind = SE_LOGROT_ACT_REPORT,
                                         .op = failed->kind,
                                         .gen = failed->gen,
                                         .gen_to = failed->gen_to,
                                         .err = err});
    }
    r->retry_at_ms = se_add_ms(now_ms, r->cfg.retry_ms);
    r->state = SE_LOGROT_IDLE;
}

static void
reopen(struct se_logrot *r, struct se_logrot_acts *out)
{
    call(r, SE_LOGROT_REOPENING, (struct se_logrot_act){.kind = SE_LOGROT_ACT_REOPEN}, out);
}

/* The rename that moves generation gen one step older; gen LIVE is the last. */
static void
shift_from(struct se_logrot *r, int32_t gen, struct se_logrot_acts *out)
{
    r->gen = gen;
    call(r, SE_LOGROT_SHIFTING,
         (struct se_logrot_act){.kind = SE_LOGROT_ACT_RENAME, .gen = gen, .gen_to = gen + 1}, out);
}

/* Under the lock, the live file is over the threshold: start the chain. */
static void
start_rotation(struct se_logrot *r, struct se_logrot_acts *out)
{
    uint32_t age = r->cfg.rotate_age;
    SE_ASSERT(age >= 1);
    if (age == 1) {
        /* No generation is kept: the live file is unlinked and the reopen
         * creates an empty one; writers that still hold the old file keep
         * appending to the unlinked inode until their identity check. */
        r->gen = SE_LOGROT_GEN_LIVE;
        call(r, SE_LOGROT_SHIFTING,
             (struct se_logrot_act){.kind = SE_LOGROT_ACT_UNLINK, .gen = SE_LOGROT_GEN_LIVE}, out);
        return;
    }
    if (age == 2) {
        shift_from(r, SE_LOGROT_GEN_LIVE, out); /* path.0 is the only generation */
        return;
    }
    r->gen = 0;
    call(r, SE_LOGROT_PROBING, (struct se_logrot_act){.kind = SE_LOGROT_ACT_CHECK, .gen = 0}, out);
}

/* The chain renames from the hole downwards: hole-1 -> hole, ..., path -> 0. */
static void
shift_into_hole(struct se_logrot *r, int32_t hole, struct se_logrot_acts *out)
{
    shift_from(r, hole - 1, out);
}

static void
on_idle(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
        struct se_logrot_acts *out)
{
    SE_ASSERT(in->kind == SE_LOGROT_IN_WRITE || in->kind == SE_LOGROT_IN_REOPEN);
    if (in->kind == SE_LOGROT_IN_REOPEN) {
        reopen(r, out);
        return;
    }
    bool retry_ok = now_ms >= r->retry_at_ms;
    bool full =
        r->cfg.rotate_age > 0 && in->size_known && in->size_bytes >= r->cfg.rotate_size_bytes;
    if (full && retry_ok) {
        call(r, SE_LOGROT_LOCKING, (struct se_logrot_act){.kind = SE_LOGROT_ACT_LOCK}, out);
    } else if (r->reopen_pending && retry_ok) {
        reopen(r, out);
    } else if (now_ms >= r->next_check_ms) {
        r->next_check_ms = se_add_ms(now_ms, r->cfg.check_interval_ms);
        call(r, SE_LOGROT_CHECKING,
             (struct se_logrot_act){.kind = SE_LOGROT_ACT_CHECK, .gen = SE_LOGROT_GEN_LIVE}, out);
    }
}

static void
on_checking(struct se_logrot *r, const struct se_logrot_in *in, struct se_logrot_acts *out)
{
    /* A failed stat skips this check; the next one comes a period later. */
    r->state = SE_LOGROT_IDLE;
    if (in->kind == SE_LOGROT_IN_DONE && !same_file(&in->id, &r->ours)) reopen(r, out);
}

static void
on_locking(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
           struct se_logrot_acts *out)
{
    if (in->kind == SE_LOGROT_IN_FAILED) {
        attempt_failed(r, in->err, now_ms, out); /* no rotation without the lock */
        return;
    }
    r->locked = true;
    r->locked_id = in->id;
    call(r, SE_LOGROT_RECHECKING,
         (struct se_logrot_act){.kind = SE_LOGROT_ACT_CHECK, .gen = SE_LOGROT_GEN_LIVE}, out);
}

static void
on_rechecking(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
              struct se_logrot_acts *out)
{
    if (in->kind == SE_LOGROT_IN_FAILED) {
        attempt_failed(r, in->err, now_ms, out);
        return;
    }
    r->next_check_ms = se_add_ms(now_ms, r->cfg.check_interval_ms); /* this was a check too */
    /* Race: between our decision and the lock another process may have
     * rotated; then the path names a file other than the one we locked (we
     * locked the old inode after its rename) or a fresh one below the
     * threshold, and the only thing left for us is to follow the path. */
    if (same_file(&in->id, &r->locked_id) && in->id.size_bytes >= r->cfg.rotate_size_bytes) {
        start_rotation(r, out);
    } else if (!same_file(&in->id, &r->ours)) {
        reopen(r, out);
    } else {
        attempt_done(r, out);
    }
}

static void
on_probing(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
           struct se_logrot_acts *out)
{
    if (in->kind == SE_LOGROT_IN_FAILED) {
        attempt_failed(r, in->err, now_ms, out);
        return;
    }
    int32_t oldest = (int32_t)r->cfg.rotate_age - 2;
    if (!in->id.exists) {
        shift_into_hole(r, r->gen, out); /* the first missing generation */
        return;
    }
    if (r->gen + 1 >= oldest) {
        shift_into_hole(r, oldest, out); /* no hole: the oldest generation is overwritten */
        return;
    }
    r->gen++;
    call(r, SE_LOGROT_PROBING, (struct se_logrot_act){.kind = SE_LOGROT_ACT_CHECK, .gen = r->gen},
         out);
}

static void
on_shifting(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
            struct se_logrot_acts *out)
{
    if (in->kind == SE_LOGROT_IN_FAILED) {
        /* Half done: the generations above r->gen moved, the rest did not.
         * The next attempt's probe finds the hole this left and resumes. */
        attempt_failed(r, in->err, now_ms, out);
        return;
    }
    if (r->gen == SE_LOGROT_GEN_LIVE) {
        reopen(r, out); /* the live file moved (or went): a new one at path */
        return;
    }
    shift_from(r, r->gen - 1, out);
}

static void
on_reopening(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
             struct se_logrot_acts *out)
{
    if (in->kind == SE_LOGROT_IN_FAILED) {
        /* The old descriptor stays in use: lines keep landing in the old
         * file (maybe path.0 now), never nowhere. */
        r->reopen_pending = true;
        attempt_failed(r, in->err, now_ms, out);
        return;
    }
    r->ours = in->id;
    r->reopen_pending = false;
    r->next_check_ms = se_add_ms(now_ms, r->cfg.check_interval_ms);
    attempt_done(r, out);
}

void
se__logrot_step(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
                struct se_logrot_acts *out)
{
    SE_ASSERT(r != NULL && in != NULL && out != NULL);
    /* The caller's clock may step back a little (the logger derives a line's
     * time from the wall clock between monotonic readings): here time never
     * runs backwards. */
    if (now_ms < r->now_ms_last) now_ms = r->now_ms_last;
    r->now_ms_last = now_ms;
    if (r->state != SE_LOGROT_IDLE)
        SE_ASSERT(in->kind == SE_LOGROT_IN_DONE || in->kind == SE_LOGROT_IN_FAILED);
    switch (r->state) {
    case SE_LOGROT_IDLE: on_idle(r, in, now_ms, out); break;
    case SE_LOGROT_CHECKING: on_checking(r, in, out); break;
    case SE_LOGROT_LOCKING: on_locking(r, in, now_ms, out); break;
    case SE_LOGROT_RECHECKING: on_rechecking(r, in, now_ms, out); break;
    case SE_LOGROT_PROBING: on_probing(r, in, now_ms, out); break;
    case SE_LOGROT_SHIFTING: on_shifting(r, in, now_ms, out); break;
    case SE_LOGROT_REOPENING: on_reopening(r, in, now_ms, out); break;
    }
}
