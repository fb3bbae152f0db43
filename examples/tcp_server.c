/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp_server: the seed's multiprocess TCP server. The server process opens
 * the listening socket in before_run (bind and port keys); four forked
 * workers accept on it and answer "Awesome work!". A supervisor keeps the
 * server alive; USR1 restarts the workers one by one while the socket stays
 * open, so no connection is refused during a restart.
 *
 *   build/examples/tcp_server -s port=9071 &
 *   nc 127.0.0.1 9071           # Awesome work!
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example_util.h"

static int
open_listener(const char *host, const char *port, struct se_logger *lg)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        se_log_error(lg, "bind %s port %s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    /* non-blocking: every worker polls this socket and all of them wake for
     * one client; the ones that lose the race must get EAGAIN from accept,
     * not block there where they would never see their stop flag */
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        se_log_error(lg, "listen on %s:%s: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The listening socket lives in the server; forked workers inherit it. */
static int
before_run(struct se_server *s)
{
    char host[256] = "0.0.0.0", port[16] = "9071";
    se_config_get(se_server_config(s), "bind", host, sizeof host);
    se_config_get(se_server_config(s), "port", port, sizeof port);
    int fd = open_listener(host, port, se_server_logger(s));
    if (fd < 0) return 1;
    se_log_info(se_server_logger(s), "Listening on %s:%s", host, port);
    se_server_set_user_data(s, (void *)(intptr_t)fd);
    return 0;
}

static void
after_run(struct se_server *s)
{
    close((int)(intptr_t)se_server_user_data(s));
}

static int
run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    int lfd = (int)(intptr_t)se_server_user_data(se_worker_server(w));
    static const char reply[] = "Awesome work!\n";
    while (!se_blocking_flag_is_set(stop)) {
        /* a short poll keeps the loop responsive to stop */
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue; /* EAGAIN: another worker took it */
        ssize_t n = send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        (void)n;
        close(c);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct se_server_callbacks server = {
        .before_run = before_run,
        .after_run = after_run,
    };
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
    return example_main(argc, argv, &server, &worker, defaults);
}
