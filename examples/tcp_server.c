/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_server: the seed's multiprocess TCP server on the `listen` key. The
 * bind and port keys make the listen address (a loader, run on every load of
 * the configuration); the engine opens the socket once, in the supervisor,
 * before the workers and before any privilege drop, and keeps it open across
 * worker restarts (USR1, HUP), reloads and server restarts, so no connection
 * is refused meanwhile. Four forked workers accept on it and answer
 * "Awesome work!".
 *
 *   build/examples/tcp_server -s port=9071 &
 *   nc 127.0.0.1 9071           # Awesome work!
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "example_util.h"

/* listen = [tcp://BIND:PORT] (an IPv6 address goes in brackets). */
static int
listen_from_bind_and_port(void *ud, struct se_config *cfg, char *err, size_t err_size)
{
    (void)ud;
    char host[256] = "0.0.0.0", port[16] = "9071", list[300];
    se_config_get(cfg, "bind", host, sizeof host);
    se_config_get(cfg, "port", port, sizeof port);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(list, sizeof list, "[tcp://%s%s%s:%s]", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return se_config_set(cfg, "listen", list, err, err_size);
}

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    int lfd = se_worker_listen_fd(w, 0); /* the engine's: never closed here */
    example_serve_awesome(lfd, stop);
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
    se_config_set(defaults, "worker_type", "process", NULL, 0);
    se_config_set(defaults, "workers", "4", NULL, 0);
    se_config_set(defaults, "supervisor", "true", NULL, 0);
    se_config_declare(defaults, "bind", "0.0.0.0", NULL, 0);
    se_config_declare(defaults, "port", "9071", NULL, 0);
    return example_main_checked(argc, argv, NULL, &worker, defaults, listen_from_bind_and_port);
}
