/* SPDX-License-Identifier: Apache-2.0 */
/*
 * example_util.h: what every example shares: per-worker state with a stop
 * flag, and a main() skeleton that reads -c FILE and -s KEY=VALUE.
 */
#ifndef SE_EXAMPLE_UTIL_H
#define SE_EXAMPLE_UTIL_H

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serverengine.h"

/* Answers "Awesome work!" to every connection on the listening socket lfd
 * until stop is set. The socket is non-blocking, so a worker that loses the
 * race for a connection sees its flag again; a short poll keeps stop
 * responsive. */
static inline void
example_serve_awesome(int lfd, struct se_blocking_flag *stop)
{
    static const char reply[] = "Awesome work!\n";
    while (!se_blocking_flag_is_set(stop)) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue; /* EAGAIN: another worker took it */
        ssize_t n = send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        (void)n;
        close(c);
    }
}

/* Each worker gets a stop flag in init; stop (another thread) sets it. */
static inline int
example_worker_init(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_blocking_flag_new();
    if (stop == NULL) return 1;
    se_worker_set_user_data(w, stop);
    return 0;
}

static inline void
example_worker_stop(struct se_worker *w)
{
    se_blocking_flag_set(se_worker_user_data(w));
}

static inline void
example_worker_finalize(struct se_worker *w)
{
    se_blocking_flag_free(se_worker_user_data(w));
    se_worker_set_user_data(w, NULL);
}

/* Builds the engine, applies -c/-s over the program's defaults, runs it.
 * check (may be NULL) validates the program's own keys, at the start and on
 * every reload: an error refuses that configuration. */
static inline int
example_main_checked(int argc, char **argv, const struct se_server_callbacks *server,
                     const struct se_worker_callbacks *worker, struct se_config *defaults,
                     se_config_loader check)
{
    char err[512] = "";
    int rc = 0;
    struct se_engine *e = se_engine_new(server, worker, NULL, &rc);
    if (e == NULL) {
        fprintf(stderr, "%s: %s\n", argv[0], se_strerror(rc));
        return 1;
    }
    if (check != NULL) se_engine_set_loader(e, check, NULL);
    rc = se_engine_parse_args(e, defaults, &argc, argv, err, sizeof err);
    se_config_free(defaults);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], err);
        se_engine_free(e);
        if (rc == 1) return 0;            /* --help */
        return rc == SE_EUSAGE ? 64 : 78; /* EX_USAGE, EX_CONFIG */
    }
    if (argc > 1) { /* parse_args leaves what it does not know; these programs take nothing else */
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", argv[0], argv[1]);
        se_engine_free(e);
        return 64; /* EX_USAGE */
    }
    int status = se_engine_run(e);
    se_engine_free(e);
    return status;
}

static inline int
example_main(int argc, char **argv, const struct se_server_callbacks *server,
             const struct se_worker_callbacks *worker, struct se_config *defaults)
{
    return example_main_checked(argc, argv, server, worker, defaults, NULL);
}

#endif
