/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simple: the simplest server (the seed's first example). One embedded
 * worker logs "Awesome work!" every second until it is told to stop.
 *
 *   build/examples/simple                      # foreground, log on stderr
 *   build/examples/simple -s daemonize=true -s log=myserver.log -s pid_path=myserver.pid
 *   kill -TERM $(cat myserver.pid)             # graceful stop
 */
#include "example_util.h"

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    /* wait_for_set returns at once when stop() sets the flag: no sleep to sit out */
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
    return example_main(argc, argv, NULL, &worker, se_config_new());
}
