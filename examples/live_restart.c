/* SPDX-License-Identifier: Apache-2.0 */
/*
 * live_restart: the seed's live restart. A supervisor runs the server;
 * INT detaches it: the old server is told to stop gracefully and finishes
 * its long tasks on its own, while a new server starts as soon as the old
 * one has exited or server_detach_wait has passed. Workers here take a few
 * seconds to finish a task, as a worker with long jobs would.
 *
 *   build/examples/live_restart -s server_detach_wait=2 &
 *   kill -INT %1     # "Detaching server ..." then a new server's workers start
 */
#include <stdint.h>

#include "example_util.h"

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    int64_t task_ms = 3000;
    se_config_get_int(se_worker_config(w), "task_ms", &task_ms);
    while (!se_blocking_flag_is_set(stop)) {
        se_log_info(se_worker_logger(w), "Worker %u starts a task of %lld ms", se_worker_id(w),
                    (long long)task_ms);
        /* a task is not interrupted: stop is only looked at between tasks */
        struct se_blocking_flag *never = se_blocking_flag_new();
        if (never != NULL) se_blocking_flag_wait_for_set(never, task_ms);
        se_blocking_flag_free(never);
        se_log_info(se_worker_logger(w), "Awesome work!");
    }
    return 0;
}

static void
after_start(struct se_server *s)
{
    se_log_info(se_server_logger(s), "Supervisor: a server process started");
}

int
main(int argc, char **argv)
{
    static const struct se_server_callbacks server = {.after_start = after_start};
    static const struct se_worker_callbacks worker = {
        .init = example_worker_init,
        .run = run,
        .stop = example_worker_stop,
        .finalize = example_worker_finalize,
    };
    struct se_config *defaults = se_config_new();
    if (defaults == NULL) return 1;
    se_config_set(defaults, "worker_type", "process", NULL, 0);
    se_config_set(defaults, "workers", "2", NULL, 0);
    se_config_set(defaults, "supervisor", "true", NULL, 0);
    se_config_set(defaults, "enable_detach", "true", NULL, 0);
    se_config_declare(defaults, "task_ms", "3000", NULL, 0);
    return example_main(argc, argv, &server, &worker, defaults);
}
