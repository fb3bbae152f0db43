/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `listen` sockets, end to end: a client on 127.0.0.1 connects without
 * pause while workers are killed, restarted (USR1, rolling, HUP), reloaded, while
 * the server crashes under a supervisor and while the supervisor detaches
 * one server for another. No connection is refused or reset, none times
 * out. Every connection gets its answer, except where a worker is ended at
 * once (SIGKILL, or QUIT on HUP's immediate restart): the one connection such
 * a worker held at that instant, if any, is closed unanswered; that is what
 * an immediate stop means. The counts of each case are printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "support/itest.h"

#define DL            ITEST_DEADLINE_MS
#define WORKERS       4
#define CONNS_MAX     20000 /* a bound on one case's connections */
#define ANSWER_WAIT_S 5     /* a connection unanswered this long counts as lost */
#define CONNS_AROUND  200   /* connections before and after the event */

struct counts {
    unsigned ok, refused, reset, closed, lost; /* closed: EOF before the answer */
    int reset_errno;                           /* the last error counted in reset */
};

struct client {
    uint16_t port;
    int stop;      /* atomic */
    unsigned done; /* atomic: connections finished */
    struct counts c;
};

/* One connection: connect, read the whole answer. */
static void
one_connection(struct client *cl)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cl->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = ANSWER_WAIT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == ECONNREFUSED)
            cl->c.refused++;
        else
            cl->c.reset++, cl->c.reset_errno = errno;
        close(fd);
        return;
    }
    char buf[64];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0 &&
           got + (size_t)n < sizeof buf - 1)
        got += (size_t)n;
    if (n > 0) got += (size_t)n;
    buf[got] = '\0';
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        cl->c.lost++;
    else if (n < 0)
        cl->c.reset++, cl->c.reset_errno = -errno;
    else if (strncmp(buf, "OK worker=", 10) == 0)
        cl->c.ok++;
    else
        cl->c.closed++; /* closed without an answer */
    close(fd);
}

static void *
client_main(void *arg)
{
    struct client *cl = arg;
    /* the orphans this test process adopts end with SIGCHLD: under valgrind
     * (which catches every signal) it would interrupt a recv here with
     * EINTR, which is not the server's doing */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (unsigned i = 0; i < CONNS_MAX && !__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE); i++) {
        one_connection(cl);
        __atomic_add_fetch(&cl->done, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void
wait_done(struct client *cl, unsigned n)
{
    int64_t until = itest_now_ms() + DL;
    while (__atomic_load_n(&cl->done, __ATOMIC_ACQUIRE) < n) {
        if (itest_now_ms() > until) fail_msg("the client made only %u connections", cl->done);
        usleep(5000);
    }
}

/* A port nobody uses now: the kernel picks it, we give it back. */
static uint16_t
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

enum event { EV_KILL_WORKER, EV_USR1, EV_ROLLING, EV_HUP, EV_RELOAD, EV_SERVER_CRASH, EV_DETACH };

struct sockcase {
    const char *name;
    enum event ev;
    bool supervisor;
    unsigned killed; /* workers ended at once, each holding at most one connection */
};

/* Makes the event happen and waits until the engine is whole again. */
static void
provoke(struct itest *t, pid_t top, enum event ev)
{
    unsigned runs = itest_count_log(t, "TEST listen worker=");
    switch (ev) {
    case EV_KILL_WORKER:
        itest_kill(itest_worker_pid(t, 1), SIGKILL);
        itest_wait_log(t, "TEST listen worker=", runs + 1, DL);
        return;
    case EV_USR1:
    case EV_ROLLING: itest_kill(top, SIGUSR1); break;
    case EV_HUP: itest_kill(top, SIGHUP); break;
    case EV_RELOAD:
        itest_kill(top, SIGUSR2);
        itest_wait_log(t, "TEST reload worker=", WORKERS, DL);
        return;
    case EV_SERVER_CRASH: {
        pid_t old[WORKERS];
        for (unsigned i = 0; i < WORKERS; i++)
            old[i] = itest_worker_pid(t, i);
        itest_kill(itest_server_pid(t, 1), SIGKILL);
        itest_wait_log(t, "TEST listen worker=", runs + WORKERS, DL);
        /* the old server's workers notice and end by themselves (adopted by us) */
        for (unsigned i = 0; i < WORKERS; i++)
            assert_int_not_equal(itest_wait_exit(t, old[i], DL), 128 + SIGKILL);
        return;
    }
    case EV_DETACH:
        itest_kill(top, SIGINT);
        itest_wait_log(t, "Detached server finished", 1, DL);
        break;
    }
    itest_wait_log(t, "TEST listen worker=", runs + WORKERS, DL);
}

static void
test_no_connection_is_refused(void **state)
{
    struct itest *t = *state;
    const struct sockcase *c = itest_param(t);
    struct client cl = {.port = free_port()};
    itest_set(t, "listen=tcp://127.0.0.1:%u", cl.port);
    itest_set(t, "mode=serve");
    itest_set(t, "restart_mode=%s", c->ev == EV_ROLLING ? "rolling" : "all");
    pid_t top = itest_start(t, NULL, "worker_type=process", "workers=4",
                            c->supervisor ? "supervisor=true" : "supervisor=false",
                            "enable_detach=true", "server_restart_wait=0.1", NULL);
    itest_wait_log(t, "TEST listen worker=", WORKERS, DL);
    assert_true(itest_count_log(t, "count=1 name=tcp://127.0.0.1:") >= WORKERS);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, &cl), 0);
    wait_done(&cl, CONNS_AROUND);
    unsigned before = __atomic_load_n(&cl.done, __ATOMIC_ACQUIRE);
    int64_t t0 = itest_now_ms();
    provoke(t, top, c->ev);
    wait_done(&cl, __atomic_load_n(&cl.done, __ATOMIC_ACQUIRE) + CONNS_AROUND);
    __atomic_store_n(&cl.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    int64_t ms = itest_now_ms() - t0;
    printf("    sockets %-13s %u connections (%u during the event, %lld ms): %u answered, "
           "%u refused, %u reset (errno %d), %u closed unanswered, %u timed out\n",
           c->name, cl.done, cl.done - before - CONNS_AROUND, (long long)ms, cl.c.ok, cl.c.refused,
           cl.c.reset, cl.c.reset_errno, cl.c.closed, cl.c.lost);
    if (c->ev == EV_ROLLING) {
        /* one at a time: worker i is stopped only once worker i-1 started again */
        for (unsigned i = 1; i < WORKERS; i++) {
            char stop[64], run[64];
            snprintf(stop, sizeof stop, "Stopping worker %u gracefully", i);
            snprintf(run, sizeof run, "Worker %u started", i - 1);
            assert_true(itest_log_line_no(t, stop, 1) > itest_log_line_no(t, run, 2));
        }
    }
    itest_kill(top, SIGTERM);
    assert_int_equal(itest_wait_exit(t, top, DL), 0);
    assert_int_equal(cl.c.refused, 0);
    assert_int_equal(cl.c.reset, 0);
    assert_in_range(cl.c.closed, 0, c->killed);
    assert_int_equal(cl.c.lost, 0);
    assert_int_equal(cl.c.ok + cl.c.closed, cl.done);
}

static const struct sockcase kill_worker = {"worker-kill", EV_KILL_WORKER, false, 1};
static const struct sockcase usr1 = {"USR1", EV_USR1, false, 0};
static const struct sockcase rolling = {"rolling", EV_ROLLING, false, 0};
static const struct sockcase hup = {"HUP", EV_HUP, false, WORKERS};
static const struct sockcase reload = {"reload", EV_RELOAD, false, 0};
static const struct sockcase usr1_sup = {"USR1-sup", EV_USR1, true, 0};
static const struct sockcase crash = {"server-crash", EV_SERVER_CRASH, true, 0};
static const struct sockcase detach = {"detach", EV_DETACH, true, 0};

#define CASE(fn, param, label)                                                                     \
    {                                                                                              \
#fn "(" label ")", fn, itest_setup, itest_teardown, (void *)(param)                        \
    }

int
main(int argc, char **argv)
{
    itest_main(argc, argv); /* in an engine child: runs the engine, never returns */
    const struct CMUnitTest tests[] = {
        CASE(test_no_connection_is_refused, &kill_worker, "worker SIGKILL"),
        CASE(test_no_connection_is_refused, &usr1, "USR1"),
        CASE(test_no_connection_is_refused, &rolling, "rolling restart"),
        CASE(test_no_connection_is_refused, &hup, "HUP"),
        CASE(test_no_connection_is_refused, &reload, "reload"),
        CASE(test_no_connection_is_refused, &usr1_sup, "USR1 under a supervisor"),
        CASE(test_no_connection_is_refused, &crash, "server crash under a supervisor"),
        CASE(test_no_connection_is_refused, &detach, "detach"),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
