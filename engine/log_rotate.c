/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_rotate.c: runs the actions of the rotation machine (sm_logrotate.c)
 * for a logger whose output is a file: lock, check, rename, unlink, reopen,
 * unlock, and the reports of failed and recovered attempts.
 *
 * The lock is taken on the log file itself, opened afresh for each attempt,
 * not on a sidecar "path.lock": what the lock must protect is "the path
 * still names this file", and the re-check under the lock (path's inode ==
 * locked inode) makes exactly that hold, even when the inode moved while we
 * waited (then we only reopen). A fresh open per attempt matters because
 * flock belongs to the open file description: forked children share the
 * logger's descriptor, so locking it would not exclude them from one
 * another (Ruby's lock_shift_log opens afresh for the same reason). A
 * sidecar would add a file operators and tmp cleaners can delete, after
 * which two processes would hold "the" lock on two inodes.
 *
 * Never: decides anything (the machine does), or makes a system call but
 * through the logger's OS adapter. Called with the logger's mutex held.
 */
#include <stdio.h>

#include "log_int.h"

#define DRIVE_STEPS_MAX (2u * SE_LOGROT_AGE_MAX + 16u)

/* ------------------------------------------------------------------------ */
/* Executing the rotation machine's actions                                 */
/* ------------------------------------------------------------------------ */

static const char *
gen_path(struct se_logger *lg, int32_t gen, char *buf)
{
    if (gen == SE_LOGROT_GEN_LIVE) return lg->out.path;
    snprintf(buf, GEN_PATH_MAX, "%s.%d", lg->out.path, (int)gen);
    return buf;
}

static void
answer(struct se_logrot_in *reply, int rc, const struct se_file_id *id)
{
    if (rc < 0)
        *reply = (struct se_logrot_in){.kind = SE_LOGROT_IN_FAILED, .err = rc};
    else
        *reply = (struct se_logrot_in){.kind = SE_LOGROT_IN_DONE, .id = *id};
}

static int
exec_lock(struct se_logger *lg, struct se_file_id *id)
{
    const struct se_os *os = lg->os;
    int32_t fd = -1;
    int rc = os->open_append(os->ctx, lg->out.path, &fd);
    if (rc < 0) return rc;
    rc = os->lock(os->ctx, fd);
    if (rc == 0) rc = os->file_id(os->ctx, NULL, fd, id);
    if (rc < 0) {
        os->close(os->ctx, fd); /* releases the lock too, if it was taken */
        return rc;
    }
    lg->lock_fd = fd;
    return 0;
}

static void
exec_unlock(struct se_logger *lg)
{
    const struct se_os *os = lg->os;
    SE_ASSERT(lg->lock_fd >= 0);
    (void)os->unlock(os->ctx, lg->lock_fd); /* the close below releases it regardless */
    (void)os->close(os->ctx, lg->lock_fd);
    lg->lock_fd = -1;
}

/* Opens the path again and swaps the descriptor; the old one is closed only
 * after the new one works, so a failure leaves lines going to the old file. */
static int
exec_reopen(struct se_logger *lg, struct se_file_id *id)
{
    const struct se_os *os = lg->os;
    int32_t fd = -1;
    int rc = os->open_append(os->ctx, lg->out.path, &fd);
    if (rc < 0) return rc;
    rc = os->file_id(os->ctx, NULL, fd, id);
    if (rc < 0) {
        os->close(os->ctx, fd);
        return rc;
    }
    (void)os->close(os->ctx, lg->out.fd);
    lg->out.fd = fd;
    lg->out.id = *id;
    lg->size_known = id->size_bytes;
    lg->bytes_since = 0;
    lg->lines_since = 0;
    return 0;
}

static void
exec_report(struct se_logger *lg, const struct se_logrot_act *a)
{
    const char *what = "reopen";
    char detail[2 * GEN_PATH_MAX + 8] = "";
    switch (a->op) {
    case SE_LOGROT_ACT_LOCK: what = "lock"; break;
    case SE_LOGROT_ACT_CHECK: what = "stat"; break;
    case SE_LOGROT_ACT_RENAME: what = "rename"; break;
    case SE_LOGROT_ACT_UNLINK: what = "unlink"; break;
    case SE_LOGROT_ACT_REOPEN:
    case SE_LOGROT_ACT_UNLOCK:
    case SE_LOGROT_ACT_REPORT:
    case SE_LOGROT_ACT_RECOVERED: break;
    }
    if (a->op == SE_LOGROT_ACT_RENAME)
        snprintf(detail, sizeof detail, " %s -> %s", gen_path(lg, a->gen, lg->gen_a),
                 gen_path(lg, a->gen_to, lg->gen_b));
    else if (a->op == SE_LOGROT_ACT_CHECK || a->op == SE_LOGROT_ACT_UNLINK)
        snprintf(detail, sizeof detail, " %s", gen_path(lg, a->gen, lg->gen_a));
    /* the open of a reopen or a lock may be a refusal: a planted link,
     * a FIFO or a directory at path, named as such */
    char why[256];
    bool opened = a->op == SE_LOGROT_ACT_REOPEN || a->op == SE_LOGROT_ACT_LOCK;
    se__log_report(lg,
                   "log rotation of %s: %s%s failed: %s; the live file is kept and "
                   "the rotation retried later\n",
                   lg->out.path, what, detail,
                   opened ? se__posix_open_error(lg->out.path, a->err, why, sizeof why)
                          : se_strerror(a->err));
}

/* Runs one action; for a call, writes the answer to reply and returns true. */
static bool
exec_act(struct se_logger *lg, const struct se_logrot_act *a, struct se_logrot_in *reply,
         int *reopen_err)
{
    const struct se_os *os = lg->os;
    struct se_file_id id = {0};
    int rc = 0;
    switch (a->kind) {
    case SE_LOGROT_ACT_LOCK: rc = exec_lock(lg, &id); break;
    case SE_LOGROT_ACT_CHECK:
        rc = os->file_id(os->ctx, gen_path(lg, a->gen, lg->gen_a), -1, &id);
        break;
    case SE_LOGROT_ACT_RENAME:
        rc = os->rename(os->ctx, gen_path(lg, a->gen, lg->gen_a),
                        gen_path(lg, a->gen_to, lg->gen_b));
        break;
    case SE_LOGROT_ACT_UNLINK: rc = os->unlink(os->ctx, gen_path(lg, a->gen, lg->gen_a)); break;
    case SE_LOGROT_ACT_REOPEN:
        rc = exec_reopen(lg, &id);
        *reopen_err = rc;
        break;
    case SE_LOGROT_ACT_UNLOCK: exec_unlock(lg); return false;
    case SE_LOGROT_ACT_REPORT: exec_report(lg, a); return false;
    case SE_LOGROT_ACT_RECOVERED:
        se__log_report(lg, "log rotation of %s works again after %u failed attempt(s)\n",
                       lg->out.path, (unsigned)a->count);
        return false;
    }
    answer(reply, rc, &id);
    return true;
}

/* Steps the machine with in, then with the answer to each call it makes,
 * until it asks for nothing more. Returns the result of the last REOPEN. */
int
se__log_rot_drive(struct se_logger *lg, struct se_logrot_in in, int64_t now_ms)
{
    int reopen_err = 0;
    for (uint32_t guard = 0;; guard++) {
        SE_ASSERT(guard < DRIVE_STEPS_MAX);
        struct se_logrot_acts acts = {.count = 0};
        se__logrot_step(&lg->rot, &in, now_ms, &acts);
        bool answered = false;
        for (uint32_t i = 0; i < acts.count; i++)
            answered = exec_act(lg, &acts.items[i], &in, &reopen_err) || answered;
        if (!answered) break;
    }
    SE_ASSERT(lg->lock_fd < 0); /* the machine never leaves the lock held */
    return reopen_err;
}
