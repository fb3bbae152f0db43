/* SPDX-License-Identifier: Apache-2.0 */
/*
 * multiprocess: the seed's multiprocess server. Four forked workers, each
 * logging "Awesome work!" every second. A worker that dies is
 * restarted; one that stops beating for worker_heartbeat_timeout is killed
 * and restarted; TERM stops them gracefully, QUIT at once, USR1 restarts
 * them one by one without stopping the server.
 *
 *   build/examples/multiprocess -s workers=8
 */
#include "example_util.h"

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    while (!se_blocking_flag_wait_for_set(stop, 1000))
        se_log_info(se_worker_logger(w), "Awesome work!");
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct se_worker_callbacks worker = {
        .init = example_worker_init,
        .run = run,
        .stop = example_worker_stop,
        .finalize = example_worker_finalize,
    };
    struct se_config *defaults = se_config_new();
    if (defaults == NULL) return 1;
    /* settings made in code are the program's defaults: -c and -s win */
    se_config_set(defaults, "worker_type", "process", NULL, 0);
    se_config_set(defaults, "workers", "4", NULL, 0);
    return example_main(argc, argv, NULL, &worker, defaults);
}
