/* SPDX-License-Identifier: Apache-2.0 */
/*
 * socket_manager: the seed's SocketManager example. The server runs a
 * SocketManager (socket_manager: true); each of four forked workers asks it
 * at run time for a listening socket on bind:port and answers
 * "Awesome work!". Every worker gets the same socket, which the server
 * keeps, so a restarted worker (USR1) finds the connections that waited in
 * its queue. With SERVERENGINE_USE_SOCKET_REUSEPORT=1 each worker gets a
 * socket of its own on the port and the kernel balances between them.
 *
 *   build/examples/socket_manager -s port=9072 &
 *   nc 127.0.0.1 9072           # Awesome work!
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "example_util.h"

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    struct se_logger *lg = se_worker_logger(w);
    char host[256] = "0.0.0.0", port[16] = "9072";
    se_config_get(se_worker_config(w), "bind", host, sizeof host);
    se_config_get(se_worker_config(w), "port", port, sizeof port);
    int lfd = -1;
    int rc = se_socket_manager_listen_tcp(host, (uint16_t)atoi(port), &lfd);
    if (rc < 0) {
        se_log_error(lg, "Worker %u: no socket for %s:%s: %s", se_worker_id(w), host, port,
                     se_strerror(rc));
        return 1;
    }
    se_log_info(lg, "Worker %u listens on %s:%s", se_worker_id(w), host, port);
    example_serve_awesome(lfd, stop);
    close(lfd); /* ours: the server keeps its own copy */
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
    se_config_set(defaults, "socket_manager", "true", NULL, 0);
    se_config_declare(defaults, "bind", "0.0.0.0", NULL, 0);
    se_config_declare(defaults, "port", "9072", NULL, 0);
    return example_main(argc, argv, NULL, &worker, defaults);
}
