/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blocking_flag: the seed's BlockingFlag example. stop() is called from
 * another thread than run() (the server's loop for thread workers, a
 * helper thread in a process worker), so the stop request is a
 * se_blocking_flag: run sleeps in wait_for_set, which returns at once when
 * stop() sets the flag, instead of polling a plain boolean. Two thread
 * workers log `message` every `sleep` seconds (the program's own keys).
 *
 *   build/examples/blocking_flag -s message="Hello" -s sleep=0.5
 *   kill -TERM %1      # each worker wakes at once and returns
 */
#include <stdint.h>

#include "example_util.h"

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    char message[256] = "Awesome work!";
    double sleep_s = 1.0;
    se_config_get(se_worker_config(w), "message", message, sizeof message);
    se_config_get_double(se_worker_config(w), "sleep", &sleep_s);
    /* true as soon as the flag is set; false when the wait timed out */
    while (!se_blocking_flag_wait_for_set(stop, (int64_t)(sleep_s * 1000)))
        se_log_info(se_worker_logger(w), "%s (worker %u)", message, se_worker_id(w));
    se_log_info(se_worker_logger(w), "Worker %u saw the stop flag", se_worker_id(w));
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct se_worker_callbacks worker = {
        .init = example_worker_init,         /* se_blocking_flag_new */
        .run = run,                          /* se_blocking_flag_wait_for_set */
        .stop = example_worker_stop,         /* se_blocking_flag_set, from another thread */
        .finalize = example_worker_finalize, /* se_blocking_flag_free */
    };
    struct se_config *defaults = se_config_new();
    if (defaults == NULL) return 1;
    se_config_set(defaults, "worker_type", "thread", NULL, 0);
    se_config_set(defaults, "workers", "2", NULL, 0);
    se_config_declare(defaults, "message", "Awesome work!", NULL, 0);
    se_config_declare(defaults, "sleep", "1", NULL, 0);
    return example_main(argc, argv, NULL, &worker, defaults);
}
