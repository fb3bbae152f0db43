/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_logrotate.h: size rotation and reopening of one shared log file, a pure
 * state machine.
 *
 * Many processes append to one file (one write per line, O_APPEND). The
 * machine of each process decides, from what its writes report and the clock
 * it is given:
 *   - when to rotate: the file reached rotate_size_bytes and rotate_age >= 1
 *     (0 never rotates). Rotation is serialised across processes by an
 *     exclusive lock on the live file and re-checked under the lock: when the
 *     path no longer names the file that was locked, or the file is below the
 *     threshold now, another process already rotated and this one only
 *     reopens. So N writers rotate once per threshold, never N times;
 *   - how: rotate_age files are kept in all, the live one included: path,
 *     path.0 (newest) ... path.(age-2). Under the lock the machine probes
 *     path.0, path.1, ... for the first missing generation (the "hole"), then
 *     renames from the hole downwards, highest first, ending with path ->
 *     path.0, and reopens path. Without a hole, path.(age-2) is overwritten
 *     (the oldest generation is dropped). Age 1 keeps no generation: the live
 *     file is unlinked and a new one opened, so its old content is discarded;
 *   - when to check the path's identity (external rotation by logrotate or
 *     mv): at most once per check_interval_ms, on a write (no timer), and
 *     reopen when the path names another file or nothing;
 *   - a reopen request (USR2): at once.
 * A call that fails (-errno from LOCK, CHECK under the lock, RENAME, UNLINK,
 * REOPEN) ends the attempt: the lock is released, the error is reported once
 * per episode of failures, and the attempt is made again on a write at least
 * retry_ms later. Because the probe finds the hole left by a half-done chain,
 * the next attempt (by this process or any other) resumes where the chain
 * stopped instead of shifting the generations twice; the live file is only
 * ever renamed as the last step, so its content is never lost.
 *
 * This is Ruby Logger::LogDevice's shift_log_age with lock_shift_log (the
 * lock and the identity re-check), plus ServerEngine's RotationAware inode
 * check (PR #127), with the races of PR #15 closed by the re-check.
 *
 * Protocol: the caller feeds WRITE or REOPEN while the machine is idle. A step
 * appends zero or more actions that need no answer (UNLOCK, REPORT_*) and at
 * most one call (LOCK, CHECK, RENAME, UNLINK, REOPEN), always last; the
 * caller executes the actions in order and answers the call with DONE or
 * FAILED, until a step ends without a call. Pure: no syscall, no clock, no
 * allocation, no global.
 */
#ifndef SE_SM_LOGROTATE_H
#define SE_SM_LOGROTATE_H

#include "se_int.h"

#define SE_LOGROT_AGE_MAX  1000u /* generations a configuration may ask for */
#define SE_LOGROT_ACTS_MAX 4u    /* actions one step can append */
#define SE_LOGROT_GEN_LIVE (-1)  /* the generation number of the live path */
#define SE_LOGROT_CHECK_MS 1000  /* default identity check period */
#define SE_LOGROT_RETRY_MS 1000  /* default delay after a failed attempt */

struct se_logrot_cfg {
    uint32_t rotate_age;        /* files in all, live included; 0 = never rotate */
    uint64_t rotate_size_bytes; /* rotate once the file reaches it; > 0 when age > 0 */
    int64_t check_interval_ms;  /* identity check at most this often (> 0) */
    int64_t retry_ms;           /* a failed attempt is retried this much later (>= 0) */
};

enum se_logrot_state {
    SE_LOGROT_IDLE = 0,   /* writing; waits for WRITE or REOPEN */
    SE_LOGROT_CHECKING,   /* identity check: CHECK(path) issued, no lock */
    SE_LOGROT_LOCKING,    /* LOCK issued */
    SE_LOGROT_RECHECKING, /* under the lock: CHECK(path) issued */
    SE_LOGROT_PROBING,    /* under the lock: CHECK(path.gen) issued, looking for the hole */
    SE_LOGROT_SHIFTING,   /* under the lock: RENAME or UNLINK issued */
    SE_LOGROT_REOPENING,  /* REOPEN issued (under the lock when .locked) */
};

enum se_logrot_in_kind {
    SE_LOGROT_IN_WRITE = 1, /* a line was appended; .size_bytes when .size_known */
    SE_LOGROT_IN_REOPEN,    /* reopen now (USR2, se_logger_reopen) */
    SE_LOGROT_IN_DONE,      /* the call succeeded; LOCK, CHECK, REOPEN: .id */
    SE_LOGROT_IN_FAILED,    /* the call failed with .err (-errno) */
};

struct se_logrot_in {
    enum se_logrot_in_kind kind;
    bool size_known;      /* WRITE: .size_bytes is the file's size right after the line */
    uint64_t size_bytes;  /* WRITE */
    struct se_file_id id; /* DONE: locked file (LOCK), gen's file (CHECK), new file (REOPEN) */
    int32_t err;          /* FAILED */
};

enum se_logrot_act_kind {
    SE_LOGROT_ACT_LOCK = 1,  /* open path afresh, lock it exclusively (blocks); answer its id */
    SE_LOGROT_ACT_CHECK,     /* stat .gen (path when GEN_LIVE); answer its id (may not exist) */
    SE_LOGROT_ACT_RENAME,    /* rename .gen to .gen_to */
    SE_LOGROT_ACT_UNLINK,    /* unlink .gen */
    SE_LOGROT_ACT_REOPEN,    /* open path, write there from now on; answer the new file's id */
    SE_LOGROT_ACT_UNLOCK,    /* release and close the lock descriptor; no answer */
    SE_LOGROT_ACT_REPORT,    /* .op on .gen/.gen_to failed with .err: tell the operator */
    SE_LOGROT_ACT_RECOVERED, /* rotation works again after .count failed attempts */
};

struct se_logrot_act {
    enum se_logrot_act_kind kind;
    enum se_logrot_act_kind op; /* REPORT: the call that failed */
    int32_t gen;                /* CHECK, RENAME (from), UNLINK; REPORT: of op */
    int32_t gen_to;             /* RENAME; REPORT: of op */
    int32_t err;                /* REPORT: -errno */
    uint32_t count;             /* RECOVERED: failed attempts before */
};

struct se_logrot_acts {
    uint32_t count;
    struct se_logrot_act items[SE_LOGROT_ACTS_MAX];
};

struct se_logrot {
    struct se_logrot_cfg cfg;
    enum se_logrot_state state;
    bool locked;                  /* the LOCK succeeded and no UNLOCK was emitted yet */
    bool reported;                /* the current episode of failures was reported */
    bool reopen_pending;          /* a reopen failed: retry it at retry_at_ms */
    struct se_file_id ours;       /* the file this process writes into */
    struct se_file_id locked_id;  /* the file the lock is held on */
    struct se_logrot_act pending; /* the call awaiting its answer (named in a REPORT) */
    int32_t gen;                  /* PROBING: generation checked; SHIFTING: source renamed */
    uint32_t failures;            /* failed attempts in the current episode */
    int64_t next_check_ms;        /* no identity check before this */
    int64_t retry_at_ms;          /* no rotation or reopen retry before this */
    int64_t now_ms_last;
};

/* Starts the machine for a file just opened, whose identity is opened. */
void se__logrot_init(struct se_logrot *r, const struct se_logrot_cfg *cfg,
                     const struct se_file_id *opened, int64_t now_ms);

/* Changes age and size (reload); the check period and retry delay too. Idle only. */
void se__logrot_set_cfg(struct se_logrot *r, const struct se_logrot_cfg *cfg);

/* Whether cfg is acceptable to se__logrot_init (age within SE_LOGROT_AGE_MAX, a
 * size when rotating, positive check period). */
bool se__logrot_cfg_valid(const struct se_logrot_cfg *cfg);

/* Feeds one input at now_ms (never decreasing) and appends actions to out (see
 * the protocol above). Cannot fail. */
void se__logrot_step(struct se_logrot *r, const struct se_logrot_in *in, int64_t now_ms,
                     struct se_logrot_acts *out);

/* Whether the last step ended with a call that awaits DONE or FAILED. */
bool se__logrot_waiting(const struct se_logrot *r);

/* When a write would first make the machine act again on its own (identity
 * check or retry); informative only: the machine is driven by writes. */
int64_t se__logrot_deadline_ms(const struct se_logrot *r);

#endif /* SE_SM_LOGROTATE_H */
