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

/* The driver the hooks of the later tests act on (they get no driver). */
static struct se_driver *the_driver;

/* A supervisor's driver over os with the default configuration. */
static struct se_driver *
supervisor_driver(const struct se_os *o, const struct se_driver_hooks *h)
{
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    int err = 0;
    struct se_driver *d = se__driver_new(o, SE_ROLE_SUPERVISOR, cfg, h, &err);
    assert_non_null(d);
    the_driver = d;
    return d;
}

/* A log action that the driver writes as "Supervisor exits with status k". */
static struct se_act
status_log(uint32_t k)
{
    return (struct se_act){
        .kind = SE_ACT_LOG, .event = SE_EVT_SUPERVISOR_DONE, .status = (int32_t)k};
}

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
    struct se_driver *d = supervisor_driver(&os, &rec);
    uint32_t n = d->acts.cap / 2 + 100;
    for (uint32_t k = 0; k < n; k++)
        se_acts_push(&d->acts, status_log(k));
    queue_seen_n = 0;
    se__driver_execute_all(d, 1000);
    assert_int_equal(d->acts.count, 0);
    assert_int_equal(queue_seen_n, n);
    for (uint32_t k = 0; k < n; k++)
        assert_int_equal(queue_seen[k], (int32_t)k);
    se__driver_free(d);
}

/* A chain: each action run appends the next (as a result fed back to a
 * machine does), three queues' worth in one run. The backlog stays one
 * action, so the queue, reclaimed as it goes, never fills. */
static uint32_t chain_seen, chain_total;

static void
hook_log_chain(void *ud, enum se_log_level level, const char *msg)
{
    (void)ud, (void)level;
    int status = -1;
    if (sscanf(msg, "Supervisor exits with status %d", &status) != 1) return;
    assert_int_equal(status, (int32_t)chain_seen); /* once each, in order */
    chain_seen++;
    if (chain_seen < chain_total) se_acts_push(&the_driver->acts, status_log(chain_seen));
}

static void
test_driver_queue_runs_a_chain_longer_than_itself(void **state)
{
    (void)state;
    static const struct se_driver_hooks rec = {.log = hook_log_chain,
                                               .prepare_spawn = hook_prepare_spawn};
    struct se_driver *d = supervisor_driver(&os, &rec);
    chain_seen = 0;
    chain_total = 3 * d->acts.cap;
    se_acts_push(&d->acts, status_log(0));
    se__driver_execute_all(d, 1000);
    assert_int_equal(chain_seen, chain_total);
    assert_int_equal(d->acts.count, 0);
    assert_int_equal(d->backlog_max, 1);
    se__driver_free(d);
}

/* The loop's start, with hooks that act at once. An adapter whose clock
 * moves on between the driver's making and its start, whose every spawn is refused
 * (prepare_spawn names no kind) and whose wait() fails. */
static char start_logged[4096];

static void
hook_log_keep(void *ud, enum se_log_level level, const char *msg)
{
    (void)ud, (void)level;
    size_t used = strlen(start_logged);
    snprintf(start_logged + used, sizeof start_logged - used, "%s\n", msg);
}

static void
hook_spawn_failed_stop(void *ud, uint32_t slot, int err)
{
    (void)ud, (void)slot, (void)err;
    se__driver_command(the_driver, SE_CMD_IMMEDIATE_STOP); /* as a launcher told no does */
}

static int wait_calls;
static int step_clock_calls;

/* 1000 ms when the driver is made, 2000 ms from then on: the loop starts
 * later than the driver was made, as it does when an embedder sets up
 * between the two. */
static int64_t
os_clock_steps(void *ctx)
{
    (void)ctx;
    return step_clock_calls++ == 0 ? 1000 : 2000;
}

static int
os_wait_fails(void *ctx, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max, uint32_t *n)
{
    (void)ctx, (void)deadline_ms, (void)evs, (void)evs_max;
    wait_calls++;
    *n = 0;
    return -EIO;
}

static const struct se_os os_wait_eio = {
    .version = SE_OS_VERSION, .monotonic_ms = os_clock_steps, .wait = os_wait_fails};

/* A hook that sends a command while the loop starts (the first server's
 * spawn refused) feeds it at the start's time, not at the time the driver
 * was made: the supervisor stops at once and the loop ends without waiting. */
static void
test_driver_a_command_from_a_hook_during_the_start_is_at_the_start_time(void **state)
{
    (void)state;
    static const struct se_driver_hooks h = {.log = hook_log_keep,
                                             .prepare_spawn = hook_prepare_spawn,
                                             .spawn_failed = hook_spawn_failed_stop};
    step_clock_calls = 0;
    struct se_driver *d = supervisor_driver(&os_wait_eio, &h);
    start_logged[0] = '\0';
    wait_calls = 0;
    int32_t status = -1;
    assert_int_equal(se__driver_run(d, &status), 0);
    assert_int_equal(status, 0);
    assert_int_equal(wait_calls, 0);
    se__driver_free(d);
}

/* wait() failing ends the loop with its error, and says so. */
static void
test_driver_a_failed_wait_ends_the_loop_with_its_error_logged(void **state)
{
    (void)state;
    static const struct se_driver_hooks h = {.log = hook_log_keep,
                                             .prepare_spawn = hook_prepare_spawn};
    step_clock_calls = 0;
    struct se_driver *d = supervisor_driver(&os_wait_eio, &h);
    start_logged[0] = '\0';
    wait_calls = 0;
    int32_t status = -1;
    assert_int_equal(se__driver_run(d, &status), -EIO);
    assert_int_equal(wait_calls, 1);
    assert_non_null(strstr(start_logged, "Waiting for events failed: Input/output error\n"));
    se__driver_free(d);
}

static int32_t word_fd = -2, signalled = 0;

static int
os_write_record(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written)
{
    (void)ctx, (void)buf;
    word_fd = fd;
    *len_written = len;
    return 0;
}

static int
os_signal_record(void *ctx, uint32_t child, enum se_sig sig)
{
    (void)ctx, (void)child, (void)sig;
    signalled++;
    return 0;
}

/* A command pipe at descriptor 0 is a pipe (an engine started with its
 * stdin closed gets 0 for its first pipe): the reload goes as a word on it,
 * not as a signal. */
static void
test_driver_a_command_pipe_at_descriptor_0_gets_the_word(void **state)
{
    (void)state;
    static const struct se_os o = {.version = SE_OS_VERSION,
                                   .monotonic_ms = os_clock,
                                   .write = os_write_record,
                                   .signal = os_signal_record};
    struct se_config *cfg = se_config_new();
    assert_non_null(cfg);
    char msg[256];
    assert_int_equal(se_config_set(cfg, "worker_type", "process", msg, sizeof msg), 0);
    int err = 0;
    struct se_driver *d = se__driver_new(&o, SE_ROLE_SERVER, cfg, &hooks, &err);
    assert_non_null(d);
    d->slots_used = 1;
    d->slots[0].child = 7;
    d->slots[0].cmd_fd = 0;
    word_fd = -2;
    signalled = 0;
    se__driver_notify_reload(d);
    assert_int_equal(word_fd, 0);
    assert_int_equal(signalled, 0);
    d->slots[0].cmd_fd = -1; /* nothing for the free to close */
    d->slots[0].child = 0;
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
        cmocka_unit_test(test_driver_queue_runs_a_chain_longer_than_itself),
        cmocka_unit_test(test_driver_a_command_from_a_hook_during_the_start_is_at_the_start_time),
        cmocka_unit_test(test_driver_a_failed_wait_ends_the_loop_with_its_error_logged),
        cmocka_unit_test(test_driver_a_command_pipe_at_descriptor_0_gets_the_word),
    };
    return cmocka_run_group_tests_name("driver", tests, NULL, NULL);
}
