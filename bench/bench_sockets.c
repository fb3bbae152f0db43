/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_sockets: what clients on 127.0.0.1 see of the engine's sockets.
 *
 *   plain     a bare accept loop (one process, no engine): the baseline
 *   shared    `listen` with 4 process workers accepting on one socket
 *   reuseport the SocketManager with SERVERENGINE_USE_SOCKET_REUSEPORT=1:
 *             4 workers, a socket each, the kernel balancing
 *   rolling   connect-to-answer latency (p50/p99/max) in steady state and
 *             during rolling restarts (restart_mode: rolling, USR1 each 0.3 s)
 *
 * Two client threads connect, read the answer and close, without pause.
 * Rates are connections answered per second. Not a test: nothing here is
 * asserted, but refused or failed connections are counted and shown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define CLIENTS     2
#define RUN_MS      2000
#define LAT_MAX     400000
#define WORKERS_STR "4"

static int64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the server side ----------------------------------------------------- */

static void
serve(int lfd, volatile int *stop)
{
    static const char reply[] = "ok\n";
    while (!*stop) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        (void)!send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        close(c);
    }
}

static int
w_init(struct se_worker *w)
{
    se_worker_set_user_data(w, calloc(1, sizeof(int)));
    return 0;
}

static void
w_stop(struct se_worker *w)
{
    *(volatile int *)se_worker_user_data(w) = 1;
}

static void
w_fin(struct se_worker *w)
{
    free(se_worker_user_data(w));
}

static int
w_run(struct se_worker *w)
{
    int lfd = se_worker_listen_count(w) > 0 ? se_worker_listen_fd(w, 0) : -1;
    char port[16] = "0";
    se_config_get(se_worker_config(w), "port", port, sizeof port);
    bool own = lfd < 0;
    if (own && se_socket_manager_listen_tcp("127.0.0.1", (uint16_t)atoi(port), &lfd) < 0) return 1;
    serve(lfd, se_worker_user_data(w));
    if (own) close(lfd);
    return 0;
}

static pid_t
engine_start(const char *const *sets, size_t n)
{
    pid_t p = fork();
    if (p != 0) return p;
    static const struct se_worker_callbacks wcb = {
        .init = w_init, .run = w_run, .stop = w_stop, .finalize = w_fin};
    int err = 0;
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    char msg[256];
    if (e == NULL || se_engine_configure(e, NULL, NULL, sets, n, msg, sizeof msg) != 0) _exit(78);
    int status = se_engine_run(e);
    se_engine_free(e);
    _exit(status);
}

static pid_t
plain_start(int port)
{
    pid_t p = fork();
    if (p != 0) return p;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) _exit(1);
    static volatile int never;
    serve(fd, &never);
    _exit(0);
}

/* ---- the client side ----------------------------------------------------- */

struct client {
    int port;
    volatile int *stop;
    uint32_t ok, failed;
    uint32_t lat_n;
    int32_t *lat_us; /* LAT_MAX entries */
};

static bool
one(int port, int32_t *us)
{
    int64_t t0 = now_us();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[16];
    bool ok =
        connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && recv(fd, buf, sizeof buf, 0) > 0;
    close(fd);
    *us = (int32_t)(now_us() - t0);
    return ok;
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!*c->stop) {
        int32_t us;
        if (!one(c->port, &us)) {
            c->failed++;
            continue;
        }
        c->ok++;
        if (c->lat_n < LAT_MAX) c->lat_us[c->lat_n++] = us;
    }
    return NULL;
}

static void
wait_serving(int port)
{
    int32_t us;
    for (int i = 0; i < 1000 && !one(port, &us); i++)
        usleep(10000);
}

struct measure {
    uint32_t ok, failed, n;
    int32_t *lat;
};

/* Clients for ms; during() (may be NULL) is called every 10 ms. */
static struct measure
measure(int port, int64_t ms, void (*during)(pid_t, int64_t), pid_t pid)
{
    static struct client cl[CLIENTS];
    static int32_t lat[CLIENTS][LAT_MAX];
    volatile int stop = 0;
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (struct client){.port = port, .stop = &stop, .lat_us = lat[i]};
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    int64_t t0 = now_us();
    while (now_us() - t0 < ms * 1000) {
        if (during != NULL) during(pid, (now_us() - t0) / 1000);
        usleep(10000);
    }
    stop = 1;
    struct measure m = {0};
    static int32_t all[CLIENTS * LAT_MAX];
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        m.ok += cl[i].ok, m.failed += cl[i].failed;
        memcpy(all + m.n, cl[i].lat_us, cl[i].lat_n * sizeof(int32_t));
        m.n += cl[i].lat_n;
    }
    m.lat = all;
    return m;
}

static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void
report(const char *name, struct measure m, int64_t ms)
{
    qsort(m.lat, m.n, sizeof(int32_t), cmp_i32);
    int32_t p50 = m.n ? m.lat[m.n / 2] : 0, p99 = m.n ? m.lat[(size_t)m.n * 99 / 100] : 0;
    int32_t max = m.n ? m.lat[m.n - 1] : 0;
    printf("%-22s %8.0f conn/s   p50 %6d us  p99 %6d us  max %7d us  failed %u\n", name,
           (double)m.ok * 1000.0 / (double)ms, p50, p99, max, m.failed);
    fflush(stdout);
}

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void
stop_engine(pid_t p)
{
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
}

static void
usr1_every_300ms(pid_t p, int64_t at_ms)
{
    static int64_t last = -1000;
    if (at_ms < last) last = -1000; /* a new run */
    if (at_ms - last < 300) return;
    last = at_ms;
    kill(p, SIGUSR1);
}

static pid_t
start_with(int port, const char *extra1, const char *extra2)
{
    char listen[64], portkv[32];
    snprintf(listen, sizeof listen, "listen=tcp://127.0.0.1:%d", port);
    snprintf(portkv, sizeof portkv, "port=%d", port);
    const char *sets[] = {"worker_type=process",
                          "workers=" WORKERS_STR,
                          "log=/dev/null",
                          extra1 != NULL ? extra1 : listen,
                          portkv,
                          extra2};
    return engine_start(sets, extra2 != NULL ? 6 : 5);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int port = free_port();
    pid_t p = plain_start(port);
    wait_serving(port);
    report("plain accept loop", measure(port, RUN_MS, NULL, 0), RUN_MS);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);

    port = free_port();
    p = start_with(port, NULL, NULL);
    wait_serving(port);
    report("shared (listen)", measure(port, RUN_MS, NULL, 0), RUN_MS);
    stop_engine(p);

    port = free_port();
    setenv("SERVERENGINE_USE_SOCKET_REUSEPORT", "1", 1);
    p = start_with(port, "socket_manager=true", NULL);
    wait_serving(port);
    report("reuseport (sockmgr)", measure(port, RUN_MS, NULL, 0), RUN_MS);
    stop_engine(p);
    unsetenv("SERVERENGINE_USE_SOCKET_REUSEPORT");

    port = free_port();
    p = start_with(port, NULL, "restart_mode=rolling");
    wait_serving(port);
    report("steady (listen)", measure(port, RUN_MS, NULL, 0), RUN_MS);
    report("rolling restarts", measure(port, RUN_MS, usr1_every_300ms, p), RUN_MS);
    stop_engine(p);
    return 0;
}
