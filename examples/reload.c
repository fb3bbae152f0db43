/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload: dynamic configuration reloading (the seed's example). Workers log
 * `message` every `sleep` seconds; edit the file and send USR2: every
 * worker re-reads the configuration and logs the new message, without a
 * restart. An invalid edit is refused and the old settings stay in force.
 *
 *   printf 'message: "Hello"\nsleep: 0.5\n' > reload.yml
 *   build/examples/reload -c reload.yml &
 *   printf 'message: "Bye"\nsleep: 0.5\n' > reload.yml; kill -USR2 %1
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "example_util.h"

struct settings {
    char message[256];
    int64_t sleep_ms;
};

static void
read_settings(const struct se_config *cfg, struct settings *s)
{
    if (se_config_get(cfg, "message", s->message, sizeof s->message) < 0)
        snprintf(s->message, sizeof s->message, "Awesome work!");
    double sleep_s = 1.0;
    se_config_get_double(cfg, "sleep", &sleep_s);
    s->sleep_ms = (int64_t)(sleep_s * 1000);
}

/* The program's own keys are checked here (sleep: 0 logs as fast as it
 * can, as the seed's example does), at the start and on every
 * reload (the engine checks its own): a bad edit is refused as a whole and
 * the running settings stay. */
static int
check(void *ud, struct se_config *cfg, char *err, size_t err_size)
{
    (void)ud;
    double sleep_s = 0;
    if (se_config_get_double(cfg, "sleep", &sleep_s) != 0 || !(sleep_s >= 0 && sleep_s <= 3600)) {
        char text[64] = "";
        se_config_get(cfg, "sleep", text, sizeof text);
        snprintf(err, err_size, "sleep: \"%s\" is not a number of seconds from 0 to 3600", text);
        return SE_ECONFIG;
    }
    return 0;
}

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    struct settings s;
    /* read at each round: after USR2 the worker's config is the new one */
    for (read_settings(se_worker_config(w), &s); !se_blocking_flag_wait_for_set(stop, s.sleep_ms);
         read_settings(se_worker_config(w), &s))
        se_log_info(se_worker_logger(w), "%s", s.message);
    return 0;
}

static void
reload(struct se_worker *w)
{
    struct settings s;
    read_settings(se_worker_config(w), &s);
    se_log_info(se_worker_logger(w), "Worker %u reloaded: message \"%s\", sleep %lld ms",
                se_worker_id(w), s.message, (long long)s.sleep_ms);
}

int
main(int argc, char **argv)
{
    static const struct se_worker_callbacks worker = {
        .init = example_worker_init,
        .run = run,
        .stop = example_worker_stop,
        .reload = reload,
        .finalize = example_worker_finalize,
    };
    struct se_config *defaults = se_config_new();
    if (defaults == NULL) return 1;
    se_config_set(defaults, "worker_type", "process", NULL, 0);
    se_config_set(defaults, "workers", "2", NULL, 0);
    se_config_declare(defaults, "message", "Awesome work!", NULL, 0);
    se_config_declare(defaults, "sleep", "1", NULL, 0);
    return example_main_checked(argc, argv, NULL, &worker, defaults, check);
}
