/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log-rotation machine, as tables of timed inputs and the exact calls it
 * asks for. Our file is inode 10 on device 1; other files have other inodes.
 * Each row is one step: a write (with the file size it reported), a reopen
 * request, or the answer to the call of the previous row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sm_logrotate.h"

#define NEVER SE_INT64_NEVER
#define OURS  10u

enum in_code {
    W = 1,  /* write; a = size after it */
    WU,     /* write of unknown size (a pipe, or a write that did not ask) */
    USR2,   /* reopen request */
    OK,     /* the call succeeded (RENAME, UNLINK) */
    ID,     /* the call succeeded; a = inode, b = size (LOCK, CHECK, REOPEN) */
    NOFILE, /* CHECK: the path names nothing */
    FAIL,   /* the call failed with -a */
};

struct row {
    int64_t at_ms;
    enum in_code in;
    uint64_t a, b;
    const char *expect; /* the actions, joined by "; " */
};

static const char *
errno_name(int32_t err)
{
    switch (-err) {
    case EXDEV: return "EXDEV";
    case EACCES: return "EACCES";
    case ENOSPC: return "ENOSPC";
    case ENOLCK: return "ENOLCK";
    case EIO: return "EIO";
    case ENOENT: return "ENOENT";
    case EMFILE: return "EMFILE";
    default: return "E?";
    }
}

static void
gen_str(int32_t gen, char *buf, size_t n)
{
    if (gen == SE_LOGROT_GEN_LIVE)
        snprintf(buf, n, "path");
    else
        snprintf(buf, n, ".%d", (int)gen);
}

static const char *
kind_name(enum se_logrot_act_kind k)
{
    switch (k) {
    case SE_LOGROT_ACT_LOCK: return "lock";
    case SE_LOGROT_ACT_CHECK: return "check";
    case SE_LOGROT_ACT_RENAME: return "rename";
    case SE_LOGROT_ACT_UNLINK: return "unlink";
    case SE_LOGROT_ACT_REOPEN: return "reopen";
    case SE_LOGROT_ACT_UNLOCK: return "unlock";
    case SE_LOGROT_ACT_REPORT: return "report";
    case SE_LOGROT_ACT_RECOVERED: return "recovered";
    }
    return "?";
}

/* "rename .0 .1", "check path", "report rename path .0 EXDEV", "recovered 2" */
static void
act_str(const struct se_logrot_act *a, char *buf, size_t n)
{
    char g[16], t[16];
    gen_str(a->gen, g, sizeof g);
    gen_str(a->gen_to, t, sizeof t);
    enum se_logrot_act_kind op = a->kind == SE_LOGROT_ACT_REPORT ? a->op : a->kind;
    char what[64];
    switch (op) {
    case SE_LOGROT_ACT_CHECK:
    case SE_LOGROT_ACT_UNLINK: snprintf(what, sizeof what, "%s %s", kind_name(op), g); break;
    case SE_LOGROT_ACT_RENAME: snprintf(what, sizeof what, "rename %s %s", g, t); break;
    case SE_LOGROT_ACT_RECOVERED:
        snprintf(what, sizeof what, "recovered %u", (unsigned)a->count);
        break;
    case SE_LOGROT_ACT_LOCK:
    case SE_LOGROT_ACT_REOPEN:
    case SE_LOGROT_ACT_UNLOCK:
    case SE_LOGROT_ACT_REPORT: snprintf(what, sizeof what, "%s", kind_name(op)); break;
    }
    if (a->kind == SE_LOGROT_ACT_REPORT)
        snprintf(buf, n, "report %s %s", what, errno_name(a->err));
    else
        snprintf(buf, n, "%s", what);
}

static void
acts_str(const struct se_logrot_acts *acts, char *buf, size_t n)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < acts->count; i++) {
        char one[96];
        act_str(&acts->items[i], one, sizeof one);
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? "; " : "", one);
    }
}

static bool
is_call(enum se_logrot_act_kind k)
{
    return k != SE_LOGROT_ACT_UNLOCK && k != SE_LOGROT_ACT_REPORT && k != SE_LOGROT_ACT_RECOVERED;
}

static struct se_logrot_in
make_in(const struct row *r)
{
    struct se_logrot_in in = {0};
    switch (r->in) {
    case W:
        in = (struct se_logrot_in){
            .kind = SE_LOGROT_IN_WRITE, .size_known = true, .size_bytes = r->a};
        break;
    case WU: in.kind = SE_LOGROT_IN_WRITE; break;
    case USR2: in.kind = SE_LOGROT_IN_REOPEN; break;
    case OK: in.kind = SE_LOGROT_IN_DONE; break;
    case ID:
        in.kind = SE_LOGROT_IN_DONE;
        in.id = (struct se_file_id){.dev = 1, .ino = r->a, .size_bytes = r->b, .exists = true};
        break;
    case NOFILE: in.kind = SE_LOGROT_IN_DONE; break;
    case FAIL:
        in = (struct se_logrot_in){.kind = SE_LOGROT_IN_FAILED, .err = -(int32_t)r->a};
        break;
    }
    return in;
}

static void
run_rows(struct se_logrot *r, const struct row *rows, size_t n)
{
    char got[512];
    for (size_t i = 0; i < n; i++) {
        struct se_logrot_acts acts = {.count = 0};
        struct se_logrot_in in = make_in(&rows[i]);
        se__logrot_step(r, &in, rows[i].at_ms, &acts);
        acts_str(&acts, got, sizeof got);
        if (strcmp(got, rows[i].expect) != 0) {
            print_error("row %zu at %lld ms: got \"%s\", want \"%s\"\n", i,
                        (long long)rows[i].at_ms, got, rows[i].expect);
            fail();
        }
        /* the protocol: a call, if any, is the last action and is awaited */
        bool want_wait = acts.count > 0 && is_call(acts.items[acts.count - 1].kind);
        for (uint32_t k = 0; k + 1 < acts.count; k++)
            assert_false(is_call(acts.items[k].kind));
        assert_int_equal(se__logrot_waiting(r), want_wait);
    }
}

static void
run_table(uint32_t age, uint64_t size, const struct row *rows, size_t n)
{
    const struct se_logrot_cfg cfg = {
        .rotate_age = age, .rotate_size_bytes = size, .check_interval_ms = 1000, .retry_ms = 1000};
    const struct se_file_id ours = {.dev = 1, .ino = OURS, .exists = true};
    struct se_logrot r;
    se__logrot_init(&r, &cfg, &ours, 0);
    run_rows(&r, rows, n);
}

static void
test_logrot_rotates_at_the_size_boundary_not_before(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 9999, 0, ""},
        {11, W, 10000, 0, "lock"},
        {11, ID, OURS, 0, "check path"},
        {11, ID, OURS, 10000, "rename path .0"},
        {11, OK, 0, 0, "reopen"},
        {11, ID, 11, 0, "unlock"},
        {12, W, 150, 0, ""},
        {13, W, 9999, 0, ""},
        {14, W, 10001, 0, "lock"},
    };
    run_table(2, 10000, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_age_3_renames_highest_first_and_keeps_two_generations(void **state)
{
    (void)state;
    static const struct row rows[] = {
        /* first rotation: no path.0 yet */
        {10, W, 500, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, OURS, 500, "check .0"},
        {10, NOFILE, 0, 0, "rename path .0"},
        {10, OK, 0, 0, "reopen"},
        {10, ID, 11, 0, "unlock"},
        /* second: path.0 exists, path.1 does not matter (it is the oldest) */
        {20, W, 500, 0, "lock"},
        {20, ID, 11, 0, "check path"},
        {20, ID, 11, 600, "check .0"},
        {20, ID, 50, 500, "rename .0 .1"},
        {20, OK, 0, 0, "rename path .0"},
        {20, OK, 0, 0, "reopen"},
        {20, ID, 12, 0, "unlock"},
        /* third: the same chain; the old path.1 is overwritten by the rename */
        {30, W, 700, 0, "lock"},
        {30, ID, 12, 0, "check path"},
        {30, ID, 12, 700, "check .0"},
        {30, ID, 11, 600, "rename .0 .1"},
        {30, OK, 0, 0, "rename path .0"},
        {30, OK, 0, 0, "reopen"},
        {30, ID, 13, 0, "unlock"},
    };
    run_table(3, 500, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_age_5_probes_for_the_hole_and_shifts_downwards(void **state)
{
    (void)state;
    static const struct row rows[] = {
        /* all of .0 .1 .2 exist: .3 (the oldest kept) is overwritten */
        {10, W, 100, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, OURS, 100, "check .0"},
        {10, ID, 20, 100, "check .1"},
        {10, ID, 21, 100, "check .2"},
        {10, ID, 22, 100, "rename .2 .3"},
        {10, OK, 0, 0, "rename .1 .2"},
        {10, OK, 0, 0, "rename .0 .1"},
        {10, OK, 0, 0, "rename path .0"},
        {10, OK, 0, 0, "reopen"},
        {10, ID, 11, 0, "unlock"},
        /* a hole at .1 (an operator deleted it): only .0 moves, .2 .3 stay */
        {20, W, 100, 0, "lock"},
        {20, ID, 11, 0, "check path"},
        {20, ID, 11, 100, "check .0"},
        {20, ID, 30, 100, "check .1"},
        {20, NOFILE, 0, 0, "rename .0 .1"},
        {20, OK, 0, 0, "rename path .0"},
        {20, OK, 0, 0, "reopen"},
        {20, ID, 12, 0, "unlock"},
    };
    run_table(5, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_age_0_never_rotates(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {1, W, 1, 0, ""},
        {2, W, 1000000, 0, ""},
        {3, W, UINT64_MAX, 0, ""},
        {1000, W, UINT64_MAX, 0, "check path"}, /* identity checks still run */
        {1000, ID, OURS, 0, ""},
    };
    run_table(0, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_age_1_discards_the_live_file(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {5, W, 100, 0, "lock"},  {5, ID, OURS, 0, "check path"}, {5, ID, OURS, 100, "unlink path"},
        {5, OK, 0, 0, "reopen"}, {5, ID, 11, 0, "unlock"},
    };
    run_table(1, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_identity_check_at_most_once_per_second(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {0, W, 1, 0, ""},
        {999, W, 2, 0, ""},
        {1000, W, 3, 0, "check path"},
        {1000, ID, OURS, 3, ""},
        {1001, WU, 0, 0, ""},
        {1999, WU, 0, 0, ""},
        {2000, WU, 0, 0, "check path"}, /* a write of unknown size drives it too */
        {2000, ID, OURS, 3, ""},
        /* a long silence: one check at the next write, not one per second missed */
        {9500, W, 4, 0, "check path"},
        {9500, ID, OURS, 4, ""},
        {9501, W, 5, 0, ""},
        {10499, W, 5, 0, ""},
        {10500, W, 6, 0, "check path"},
        {10500, ID, OURS, 6, ""},
    };
    run_table(0, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_reopens_when_the_path_names_another_file_or_nothing(void **state)
{
    (void)state;
    static const struct row rows[] = {
        /* logrotate moved the file and created a new one */
        {1000, W, 10, 0, "check path"},
        {1000, ID, 99, 0, "reopen"},
        {1000, ID, 99, 0, ""},
        {2000, W, 10, 0, "check path"},
        {2000, ID, 99, 10, ""},
        /* mv without a new file: the reopen creates it */
        {3000, W, 20, 0, "check path"},
        {3000, NOFILE, 0, 0, "reopen"},
        {3000, ID, 100, 0, ""},
        /* USR2: at once, whatever the clock says */
        {3001, USR2, 0, 0, "reopen"},
        {3001, ID, 100, 0, ""},
        /* and when a check is due too: the reopen alone */
        {5000, USR2, 0, 0, "reopen"},
        {5000, ID, 100, 0, ""},
    };
    run_table(0, 0, rows, SE_ARRAY_LEN(rows));
}

/* Two processes saw the file full; the other one won the lock and rotated. */
static void
test_logrot_recheck_under_lock_finds_the_rotation_already_done(void **state)
{
    (void)state;
    static const struct row rows[] = {
        /* we locked the old inode after its rename: the path names a new file */
        {10, W, 1000, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, 30, 40, "reopen"},
        {10, ID, 30, 40, "unlock"},
        /* we opened the lock on the new file: below the threshold, just follow it */
        {30, W, 1000, 0, "lock"},
        {30, ID, 31, 0, "check path"},
        {30, ID, 31, 60, "reopen"},
        {30, ID, 31, 60, "unlock"},
        /* the path is ours and small: someone truncated it; nothing to do */
        {40, W, 1000, 0, "lock"},
        {40, ID, 31, 0, "check path"},
        {40, ID, 31, 5, "unlock"},
        /* the path names nothing: the rotation's reopen has not happened yet */
        {50, W, 1000, 0, "lock"},
        {50, ID, 32, 0, "check path"},
        {50, NOFILE, 0, 0, "reopen"},
        {50, ID, 33, 0, "unlock"},
    };
    run_table(3, 1000, rows, SE_ARRAY_LEN(rows));
}

/* Two machines (two processes) over one scripted file system: one rotation. */
static void
test_logrot_two_writers_rotate_once(void **state)
{
    (void)state;
    const struct se_logrot_cfg cfg = {
        .rotate_age = 2, .rotate_size_bytes = 100, .check_interval_ms = 1000, .retry_ms = 1000};
    const struct se_file_id f = {.dev = 1, .ino = OURS, .exists = true};
    struct se_logrot a, b;
    se__logrot_init(&a, &cfg, &f, 0);
    se__logrot_init(&b, &cfg, &f, 0);
    static const struct row rows_a[] = {
        {1, W, 100, 0, "lock"},
        {1, ID, OURS, 0, "check path"},
        {1, ID, OURS, 120, "rename path .0"},
        {1, OK, 0, 0, "reopen"},
        {1, ID, 11, 0, "unlock"},
    };
    /* b decided to rotate on its write of 120 bytes and was blocked on the
     * lock of inode 10 until a released it */
    static const struct row rows_b[] = {
        {1, W, 120, 0, "lock"},   {2, ID, OURS, 0, "check path"},
        {2, ID, 11, 0, "reopen"}, {2, ID, 11, 0, "unlock"},
        {3, W, 20, 0, ""},
    };
    run_rows(&a, rows_a, SE_ARRAY_LEN(rows_a));
    run_rows(&b, rows_b, SE_ARRAY_LEN(rows_b));
}

static void
test_logrot_failure_in_the_chain_is_resumed_and_reported_once(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, OURS, 100, "check .0"},
        {10, ID, 20, 100, "check .1"},
        {10, ID, 21, 100, "check .2"},
        {10, ID, 22, 100, "rename .2 .3"},
        {10, OK, 0, 0, "rename .1 .2"},
        {10, FAIL, EACCES, 0, "unlock; report rename .1 .2 EACCES"},
        /* the live file keeps growing; no retry before retry_ms */
        {500, W, 150, 0, ""},
        {1009, W, 160, 0, ""},
        /* second attempt: the lock fails; not reported again */
        {1010, W, 170, 0, "lock"},
        {1010, FAIL, ENOLCK, 0, ""},
        {1500, W, 180, 0, "check path"},
        {1500, ID, OURS, 180, ""},
        /* third attempt: the probe finds the hole at .2 and resumes there */
        {2010, W, 190, 0, "lock"},
        {2010, ID, OURS, 0, "check path"},
        {2010, ID, OURS, 190, "check .0"},
        {2010, ID, 20, 100, "check .1"},
        {2010, ID, 21, 100, "check .2"},
        {2010, NOFILE, 0, 0, "rename .1 .2"},
        {2010, OK, 0, 0, "rename .0 .1"},
        {2010, OK, 0, 0, "rename path .0"},
        {2010, OK, 0, 0, "reopen"},
        {2010, ID, 11, 0, "unlock; recovered 2"},
        /* a new episode is reported again */
        {3000, W, 100, 0, "lock"},
        {3000, ID, 11, 0, "check path"},
        {3000, ID, 11, 100, "check .0"},
        {3000, ID, 23, 100, "check .1"},
        {3000, ID, 24, 100, "check .2"},
        {3000, ID, 25, 100, "rename .2 .3"},
        {3000, FAIL, EXDEV, 0, "unlock; report rename .2 .3 EXDEV"},
    };
    run_table(5, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_failed_rename_of_the_live_file_keeps_it_and_resumes(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, OURS, 100, "check .0"},
        {10, ID, 20, 100, "rename .0 .1"},
        {10, OK, 0, 0, "rename path .0"},
        {10, FAIL, EXDEV, 0, "unlock; report rename path .0 EXDEV"},
        {1010, W, 130, 0, "lock"},
        {1010, ID, OURS, 0, "check path"},
        {1010, ID, OURS, 130, "check .0"},
        {1010, NOFILE, 0, 0, "rename path .0"}, /* the hole left at .0 */
        {1010, OK, 0, 0, "reopen"},
        {1010, ID, 11, 0, "unlock; recovered 1"},
    };
    run_table(3, 100, rows, SE_ARRAY_LEN(rows));
}

/* The caller's clock may step back a little (a line's time comes from the
 * wall clock between monotonic readings): the machine keeps the latest time
 * it saw, so a failure told at an earlier time still postpones the retry
 * from the latest one. */
static void
test_logrot_a_clock_that_steps_back_never_brings_a_retry_forward(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {5000, W, 100, 0, "lock"},
        {4900, FAIL, ENOLCK, 0, "report lock ENOLCK"}, /* told 100 ms "earlier" */
        {5950, W, 110, 0, "check path"}, /* the retry is at 6000, not 5900: no lock yet */
        {5950, ID, OURS, 110, ""},
        {6000, W, 120, 0, "lock"},
    };
    run_table(2, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_lock_failure_postpones_the_rotation(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, FAIL, ENOLCK, 0, "report lock ENOLCK"}, /* nothing held: no unlock */
        {11, W, 110, 0, ""},
        {1009, W, 120, 0, "check path"}, /* identity checks go on meanwhile */
        {1009, ID, OURS, 120, ""},
        {1010, W, 130, 0, "lock"},
        {1010, ID, OURS, 0, "check path"},
        {1010, ID, OURS, 130, "rename path .0"},
        {1010, OK, 0, 0, "reopen"},
        {1010, ID, 11, 0, "unlock; recovered 1"},
    };
    run_table(2, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_failed_reopen_is_retried_and_the_old_file_kept(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, ID, OURS, 100, "rename path .0"},
        {10, OK, 0, 0, "reopen"},
        {10, FAIL, EMFILE, 0, "unlock; report reopen EMFILE"},
        {500, WU, 0, 0, ""},
        {1010, WU, 0, 0, "reopen"},
        {1010, FAIL, EMFILE, 0, ""},
        {2010, WU, 0, 0, "reopen"},
        {2010, ID, 11, 0, "recovered 2"},
        {2011, W, 10, 0, ""},
    };
    run_table(2, 100, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_failed_identity_check_is_skipped_until_the_next(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {1000, W, 1, 0, "check path"}, {1000, FAIL, EIO, 0, ""},    {1500, W, 1, 0, ""},
        {2000, W, 1, 0, "check path"}, {2000, ID, 77, 0, "reopen"}, {2000, ID, 77, 0, ""},
    };
    run_table(0, 0, rows, SE_ARRAY_LEN(rows));
}

static void
test_logrot_failure_under_the_lock_always_unlocks(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, ID, OURS, 0, "check path"},
        {10, FAIL, EIO, 0, "unlock; report check path EIO"},
        {1010, W, 100, 0, "lock"},
        {1010, ID, OURS, 0, "check path"},
        {1010, ID, OURS, 100, "check .0"},
        {1010, FAIL, EACCES, 0, "unlock"},
        {2010, W, 100, 0, "lock"},
        {2010, ID, OURS, 0, "check path"},
        {2010, ID, OURS, 100, "unlink path"},
        {2010, FAIL, EACCES, 0, "unlock"},
    };
    /* age 3 for the first two attempts, then the same machine at age 1 */
    const struct se_logrot_cfg cfg3 = {
        .rotate_age = 3, .rotate_size_bytes = 100, .check_interval_ms = 1000, .retry_ms = 1000};
    const struct se_logrot_cfg cfg1 = {
        .rotate_age = 1, .rotate_size_bytes = 100, .check_interval_ms = 1000, .retry_ms = 1000};
    const struct se_file_id ours = {.dev = 1, .ino = OURS, .exists = true};
    struct se_logrot r;
    se__logrot_init(&r, &cfg3, &ours, 0);
    run_rows(&r, rows, 7);
    se__logrot_set_cfg(&r, &cfg1);
    run_rows(&r, rows + 7, SE_ARRAY_LEN(rows) - 7);
    assert_false(r.locked);
}

static void
test_logrot_deadline_is_the_next_check_or_retry(void **state)
{
    (void)state;
    const struct se_logrot_cfg cfg = {
        .rotate_age = 2, .rotate_size_bytes = 100, .check_interval_ms = 1000, .retry_ms = 300};
    const struct se_file_id ours = {.dev = 1, .ino = OURS, .exists = true};
    struct se_logrot r;
    se__logrot_init(&r, &cfg, &ours, 0);
    assert_int_equal(se__logrot_deadline_ms(&r), 1000);
    static const struct row rows[] = {
        {100, W, 100, 0, "lock"},
        {100, FAIL, ENOLCK, 0, "report lock ENOLCK"},
    };
    run_rows(&r, rows, SE_ARRAY_LEN(rows));
    assert_int_equal(se__logrot_deadline_ms(&r), 400);
}

static void
test_logrot_config_validation(void **state)
{
    (void)state;
    struct se_logrot_cfg c = {.rotate_age = 5, .rotate_size_bytes = 1, .check_interval_ms = 1};
    assert_true(se__logrot_cfg_valid(&c));
    c.rotate_size_bytes = 0;
    assert_false(se__logrot_cfg_valid(&c));
    c.rotate_age = 0;
    assert_true(se__logrot_cfg_valid(&c));
    c.rotate_age = SE_LOGROT_AGE_MAX + 1;
    c.rotate_size_bytes = 10;
    assert_false(se__logrot_cfg_valid(&c));
    c.rotate_age = 2;
    c.check_interval_ms = 0;
    assert_false(se__logrot_cfg_valid(&c));
}

/* Each episode of failures is counted from zero: the second one, after a
 * recovery, reports its own count. */
static void
test_logrot_second_failure_episode_counts_from_zero(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {10, W, 100, 0, "lock"},
        {10, FAIL, ENOLCK, 0, "report lock ENOLCK"},
        {1010, W, 130, 0, "lock"},
        {1010, ID, OURS, 0, "check path"},
        {1010, ID, OURS, 130, "rename path .0"},
        {1010, OK, 0, 0, "reopen"},
        {1010, ID, 11, 0, "unlock; recovered 1"},
        {5000, W, 100, 0, "lock"},
        {5000, FAIL, ENOLCK, 0, "report lock ENOLCK"},
        {6000, W, 130, 0, "lock"},
        {6000, ID, 11, 0, "check path"},
        {6000, ID, 11, 130, "rename path .0"},
        {6000, OK, 0, 0, "reopen"},
        {6000, ID, 12, 0, "unlock; recovered 1"},
    };
    run_table(2, 100, rows, SE_ARRAY_LEN(rows));
}

/* The limits themselves are valid: SE_LOGROT_AGE_MAX generations, a 1-byte
 * size, a retry of 0 ms. */
static void
test_logrot_config_validation_at_the_limits(void **state)
{
    (void)state;
    struct se_logrot_cfg c = {
        .rotate_age = SE_LOGROT_AGE_MAX, .rotate_size_bytes = 1, .check_interval_ms = 1};
    assert_true(se__logrot_cfg_valid(&c));
    c.rotate_age = 1;
    assert_true(se__logrot_cfg_valid(&c));
    c.rotate_size_bytes = 0; /* age 1 rotates too: it needs a size */
    assert_false(se__logrot_cfg_valid(&c));
    c.rotate_size_bytes = 1;
    c.retry_ms = -1;
    assert_false(se__logrot_cfg_valid(&c));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logrot_rotates_at_the_size_boundary_not_before),
        cmocka_unit_test(test_logrot_age_3_renames_highest_first_and_keeps_two_generations),
        cmocka_unit_test(test_logrot_age_5_probes_for_the_hole_and_shifts_downwards),
        cmocka_unit_test(test_logrot_age_0_never_rotates),
        cmocka_unit_test(test_logrot_age_1_discards_the_live_file),
        cmocka_unit_test(test_logrot_identity_check_at_most_once_per_second),
        cmocka_unit_test(test_logrot_reopens_when_the_path_names_another_file_or_nothing),
        cmocka_unit_test(test_logrot_recheck_under_lock_finds_the_rotation_already_done),
        cmocka_unit_test(test_logrot_two_writers_rotate_once),
        cmocka_unit_test(test_logrot_failure_in_the_chain_is_resumed_and_reported_once),
        cmocka_unit_test(test_logrot_failed_rename_of_the_live_file_keeps_it_and_resumes),
        cmocka_unit_test(test_logrot_lock_failure_postpones_the_rotation),
        cmocka_unit_test(test_logrot_a_clock_that_steps_back_never_brings_a_retry_forward),
        cmocka_unit_test(test_logrot_failed_reopen_is_retried_and_the_old_file_kept),
        cmocka_unit_test(test_logrot_failed_identity_check_is_skipped_until_the_next),
        cmocka_unit_test(test_logrot_failure_under_the_lock_always_unlocks),
        cmocka_unit_test(test_logrot_deadline_is_the_next_check_or_retry),
        cmocka_unit_test(test_logrot_config_validation),
        cmocka_unit_test(test_logrot_second_failure_episode_counts_from_zero),
        cmocka_unit_test(test_logrot_config_validation_at_the_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
