/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status snapshot (engine/status.c, se__status_snapshot): what the
 * driver's machines hold, read as an operator's rows, from a driver built
 * by hand: a running worker with a fresh beat stamp, one in backoff after a
 * SIGKILL it was not sent, one being stopped immediately, one dead, the
 * restart counts, the reloads, and ids above `workers` shown only while
 * something of them is alive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "status.h"

#define NOW_MS 100000

/* The children's beat stamps, by handle (a load from shared memory in the
 * real adapter: no worker is woken). */
static int
fake_stamp(void *ctx, uint32_t child, int64_t *stamp_ms)
{
    (void)ctx;
    if (child == 11) {
        *stamp_ms = NOW_MS - 250; /* beat after the machine last looked */
        return 0;
    }
    return -ENOENT;
}

static struct se_driver *
driver(void)
{
    static struct se_os os;
    os = (struct se_os){.beat_stamp = fake_stamp};
    struct se_driver *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->os = &os;
    d->role = SE_ROLE_SERVER;
    d->pool_cfg.workers = 4;
    d->pool.phase = SE_POOL_RUN;
    d->pool.slots_count = 4;
    d->slots_used = 4;
    /* 0: running since 40 s, beating */
    d->pool.slots[0] = (struct se_slot){.state = SE_SLOT_UP, .up_since_ms = NOW_MS - 40000};
    d->slots[0] = (struct se_drv_slot){.child = 11, .pid = 501, .hb_on = true, .starts = 1};
    d->slots[0].hb.last_beat_ms = NOW_MS - 900;
    /* 1: ended by a SIGKILL nobody here sent, restarted in 1.6 s */
    d->pool.slots[1] = (struct se_slot){.state = SE_SLOT_DOWN, .start_at_ms = NOW_MS + 1600};
    d->slots[1] = (struct se_drv_slot){.starts = 3, .ended = true};
    d->slots[1].last_exit = (struct se_exit){.code = -1, .sig = SE_SIG_KILL};
    /* 2: being stopped at once, beat read by the machine only */
    d->pool.slots[2] = (struct se_slot){
        .state = SE_SLOT_STOPPING, .stop_graceful = false, .up_since_ms = NOW_MS - 5000};
    d->slots[2] = (struct se_drv_slot){.child = 12, .pid = 503, .hb_on = true, .starts = 2};
    d->slots[2].hb.last_beat_ms = NOW_MS - 3000;
    d->slots[2].ended = true;
    d->slots[2].last_exit = (struct se_exit){.code = -1, .sig = SE_SIG_TERM};
    d->slots[2].last_exit_sig_ours = true;
    /* 3: an unrecoverable exit code */
    d->pool.slots[3] = (struct se_slot){.state = SE_SLOT_DEAD};
    d->slots[3] = (struct se_drv_slot){.starts = 1, .ended = true};
    d->slots[3].last_exit = (struct se_exit){.code = 9};
    return d;
}

static void
test_status_snapshot_reads_the_machines_as_rows(void **state)
{
    (void)state;
    struct se_driver *d = driver();
    d->reloads = 2;
    d->reloaded_ms = NOW_MS - 7000;
    static struct se_status st;
    se__status_snapshot(d, NOW_MS, &st);
    assert_int_equal(st.workers_wanted, 4);
    assert_int_equal(st.count, 4);
    assert_false(st.stopping);
    assert_int_equal(st.reloads, 2);
    assert_int_equal(st.reload_age_ms, 7000);

    const struct se_status_worker *w = st.w;
    assert_int_equal(w[0].state, SE_STATUS_RUNNING);
    assert_int_equal(w[0].pid, 501);
    assert_int_equal(w[0].uptime_ms, 40000);
    assert_int_equal(w[0].restarts, 0);
    assert_false(w[0].ended);
    assert_int_equal(w[0].beat_age_ms, 250); /* the stamp, newer than the machine's */

    assert_int_equal(w[1].state, SE_STATUS_BACKOFF);
    assert_int_equal(w[1].backoff_ms, 1600);
    assert_int_equal(w[1].pid, 0);
    assert_int_equal(w[1].uptime_ms, -1);
    assert_int_equal(w[1].restarts, 2);
    assert_true(w[1].ended);
    assert_int_equal(w[1].last_code, -1);
    assert_int_equal(w[1].last_sig, SE_SIG_KILL);
    assert_false(w[1].last_sig_ours);
    assert_int_equal(w[1].beat_age_ms, -1); /* no process: no heartbeat */

    assert_int_equal(w[2].state, SE_STATUS_STOPPING);
    assert_true(w[2].stop_immediate);
    assert_int_equal(w[2].uptime_ms, 5000);
    assert_int_equal(w[2].restarts, 1);
    assert_true(w[2].last_sig_ours);
    assert_int_equal(w[2].beat_age_ms, 3000); /* no stamp: the machine's last beat */

    assert_int_equal(w[3].state, SE_STATUS_DEAD);
    assert_int_equal(w[3].last_code, 9);
    assert_int_equal(w[3].restarts, 0);
    free(d);
}

static void
test_status_snapshot_shows_ids_above_workers_only_while_alive(void **state)
{
    (void)state;
    struct se_driver *d = driver();
    d->pool_cfg.workers = 2; /* scaled down: 2 and 3 are above it */
    static struct se_status st;
    se__status_snapshot(d, NOW_MS, &st);
    assert_int_equal(st.workers_wanted, 2);
    assert_int_equal(st.count, 4); /* 3 is dead, kept: it says why it is gone */
    d->pool.slots[3].state = SE_SLOT_DOWN;
    d->slots[3] = (struct se_drv_slot){0};
    se__status_snapshot(d, NOW_MS, &st);
    assert_int_equal(st.count, 3); /* 2 is still being stopped */
    d->pool.slots[2].state = SE_SLOT_DOWN;
    d->slots[2].child = 0;
    se__status_snapshot(d, NOW_MS, &st);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.reload_age_ms, -1); /* never reloaded */
    free(d);
}

static void
test_status_snapshot_of_a_stopping_server(void **state)
{
    (void)state;
    struct se_driver *d = driver();
    d->pool.phase = SE_POOL_STOP;
    static struct se_status st;
    se__status_snapshot(d, NOW_MS, &st);
    assert_true(st.stopping);
    assert_int_equal(st.w[1].state, SE_STATUS_STOPPED); /* no restart comes now */
    assert_int_equal(st.w[0].state, SE_STATUS_RUNNING); /* not yet asked */
    free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_snapshot_reads_the_machines_as_rows),
        cmocka_unit_test(test_status_snapshot_shows_ids_above_workers_only_while_alive),
        cmocka_unit_test(test_status_snapshot_of_a_stopping_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
