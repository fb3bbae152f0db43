/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's creation when memory runs out: se__driver_new makes the one
 * allocation of the engine's loop (driver.h); when it fails, the call fails
 * with -ENOMEM, takes the configuration it was given with it (freed), and
 * touches nothing else. calloc is replaced in this program so that one
 * allocation of a chosen size fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "driver_int.h"
#include "support/heap.h"

static size_t calloc_fail_size; /* the next calloc of this many bytes fails */

/* calloc over malloc, so that the memory is the C library's to free. */
void *
calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = n * size;
    if (calloc_fail_size != 0 && total == calloc_fail_size) {
        calloc_fail_size = 0;
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(total == 0 ? 1 : total);
    if (p != NULL) memset(p, 0, total);
    return p;
}

static int os_calls;

static int64_t
os_clock(void *ctx)
{
    (void)ctx;
    os_calls++;
    return 1000;
}

static int hook_calls;

static void
hook_log(void *ud, enum se_log_level level, const char *msg)
{
    (void)ud, (void)level, (void)msg;
    hook_calls++;
}

static void
hook_prepare_spawn(void *ud, uint32_t slot, struct se_spawn_req *req)
{
    (void)ud, (void)slot, (void)req;
    hook_calls++;
}

static const struct se_os os = {.version = SE_OS_VERSION, .monotonic_ms = os_clock};
static const struct se_driver_hooks hooks = {.log = hook_log, .prepare_spawn = hook_prepare_spawn};

static void
test_driver_new_out_of_memory_fails_with_enomem_and_frees_the_configuration(void **state)
{
    (void)state;
    se_config_free(se_config_new()); /* whatever it sets up once is set up */
    size_t before = heap_in_use();
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    os_calls = hook_calls = 0;
    calloc_fail_size = sizeof(struct se_driver);
    int err = 12345;
    struct se_driver *d = se__driver_new(&os, SE_ROLE_SERVER, cfg, &hooks, &err);
    assert_null(d);
    assert_int_equal(err, -ENOMEM);
    assert_int_equal(calloc_fail_size, 0); /* the driver's allocation is the one that failed */
    assert_int_equal(os_calls, 0);
    assert_int_equal(hook_calls, 0);
    /* the configuration went with it (under valgrind or ASan mallinfo2 says
     * nothing, and their leak checks say it instead) */
    assert_int_equal(heap_in_use(), before);
}

static void
test_driver_new_and_free_with_memory(void **state)
{
    (void)state;
    size_t before = heap_in_use();
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    int err = 12345;
    struct se_driver *d = se__driver_new(&os, SE_ROLE_SUPERVISOR, cfg, &hooks, &err);
    assert_non_null(d);
    assert_int_equal(err, 0);
    assert_ptr_equal(se__driver_config(d), cfg);
    se__driver_free(d);
    se__driver_free(NULL); /* nothing to free: nothing done */
    assert_int_equal(heap_in_use(), before);
}

/* The log lines of the queue test, in the order they came. */
static int32_t queue_seen[SE_ACTS_MAX];
static uint32_t queue_seen_n;

static void
hook_log_status(void *ud, enum se_log_level level, const char *msg)
{
    (void)ud, (void)level;
    int status = -1;
    if (sscanf(msg, "Supervisor exits with status %d", &status) == 1 && queue_seen_n < SE_ACTS_MAX)
        queue_seen[queue_seen_n++] = status;
}

/* The action queue past half its size in one run: the entries already run
 * are reclaimed (moved out) and every action still runs once, in order. */
static void
test_driver_queue_runs_every_action_once_in_order_past_its_reclaim_point(void **state)
{
    (void)state;
    static const struct se_driver_hooks rec = {.log = hook_log_status,
                                               .prepare_spawn = hook_prepare_spawn};
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    int err = 0;
    struct se_driver *d = se__driver_new(&os, SE_ROLE_SUPERVISOR, cfg, &rec, &err);
    assert_non_null(d);
    uint32_t n = d->acts.cap / 2 + 100;
    for (uint32_t k = 0; k < n; k++)
        se_acts_push(&d->acts, (struct se_act){.kind = SE_ACT_LOG,
                                               .event = SE_EVT_SUPERVISOR_DONE,
                                               .status = (int32_t)k});
    queue_seen_n = 0;
    se__driver_execute_all(d, 1000);
    assert_int_equal(d->acts.count, 0);
    assert_int_equal(queue_seen_n, n);
    for (uint32_t k = 0; k < n; k++)
        assert_int_equal(queue_seen[k], (int32_t)k);
    se__driver_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_driver_new_out_of_memory_fails_with_enomem_and_frees_the_configuration),
        cmocka_unit_test(test_driver_new_and_free_with_memory),
        cmocka_unit_test(test_driver_queue_runs_every_action_once_in_order_past_its_reclaim_point),
    };
    return cmocka_run_group_tests_name("driver", tests, NULL, NULL);
}
