/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The example programs (build/examples/), run as a user would run them:
 * each starts its workers and ends with status 0 on TERM, leaving no
 * process behind; the TCP server answers many clients, restarts its workers
 * on USR1 while clients keep connecting, and still stops on TERM.
 *
 * Found by `make demo`: every connection woke all four tcp_server workers
 * from poll; the ones that lost the race blocked in accept() on a blocking
 * listening socket, where they never saw their stop flag, so a graceful
 * restart or stop waited for worker_graceful_kill_timeout (10 minutes).
 *
 * The examples are exec'd from ../examples next to this binary, each in a
 * process group of its own, with stdout and stderr in a file (as under
 * `make demo > out`). The test process is a child subreaper, so workers
 * orphaned by a failure are still reaped and their group can be checked.
 * Every wait polls a real condition against a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/itest.h"

#define DEADLINE_MS 10000 /* generous: a loaded CI machine must not flake */
#define POLL_MS     10
#define CLIENTS     300
#define ARGS_MAX    16
#define OUT_MAX     65536
#define REPLY       "Awesome work!\n"
#define TCP_WORKERS 4

struct run {
    const void *param;       /* the row of a table of cases (cmocka's initial state) */
    char out_path[PATH_MAX]; /* the example's stdout and stderr */
    char cfg_path[PATH_MAX]; /* a config file of the test's, or "" */
    pid_t pid;               /* also its process group */
    bool reaped;
    int status;
};

static char examples_dir[PATH_MAX];

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap(void)
{
    struct timespec ts = {0, POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps whatever has exited: the example itself, and orphans that came to
 * this subreaper. */
static void
reap(struct run *r)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == r->pid) {
            r->reaped = true;
            r->status = status;
        }
    }
}

static void
start(struct run *r, const char *name, const char *const *args)
{
    snprintf(r->out_path, sizeof r->out_path, "/tmp/se-test-examples-%d-%s.out", (int)getpid(),
             name);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", examples_dir, name);
    char *argv[ARGS_MAX] = {path};
    size_t n = 1;
    for (; args[n - 1] != NULL && n < ARGS_MAX - 1; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;

    r->reaped = false;
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a killed test process */
        int fd = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execv(path, argv);
        _exit(127);
    }
    setpgid(r->pid, r->pid); /* both sides: no window where the group is wrong */
}

static size_t
read_out(const struct run *r, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(r->out_path, "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static unsigned
count_in(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void
fail_with_output(const struct run *r, const char *what)
{
    static char out[OUT_MAX];
    read_out(r, out, sizeof out);
    print_error("%s; the example's output:\n%s\n", what, out);
    fail();
}

/* Waits until the output holds text at least count times. */
static void
wait_output(struct run *r, const char *text, unsigned count)
{
    static char out[OUT_MAX];
    int64_t until = now_ms() + DEADLINE_MS;
    for (;;) {
        read_out(r, out, sizeof out);
        if (count_in(out, text) >= count) return;
        reap(r);
        if (r->reaped || now_ms() >= until) {
            print_error("waiting for %u of \"%s\"\n", count, text);
            fail_with_output(r, "the output never showed it");
        }
        nap();
    }
}

/* Waits until the output holds "Worker <id> started" for each of the ids. */
static void
wait_started(struct run *r, unsigned workers)
{
    for (unsigned id = 0; id < workers; id++) {
        char text[64];
        snprintf(text, sizeof text, "Worker %u started", id);
        wait_output(r, text, 1);
    }
}

/* Sends TERM and asserts that the example exits with status 0 and that
 * nothing of its process group is left. */
static void
term_and_wait_gone(struct run *r)
{
    assert_int_equal(kill(r->pid, SIGTERM), 0);
    int64_t until = now_ms() + DEADLINE_MS;
    for (;;) {
        reap(r);
        bool group_gone = kill(-r->pid, 0) < 0 && errno == ESRCH;
        if (r->reaped && group_gone) break;
        if (now_ms() >= until) fail_with_output(r, "TERM did not end the example's process tree");
        nap();
    }
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        fail_with_output(r, "the example did not exit with status 0");
}

static int
teardown(void **state)
{
    struct run *r = *state;
    if (r->pid > 0) {
        kill(-r->pid, SIGKILL);
        int64_t until = now_ms() + DEADLINE_MS;
        while (!(kill(-r->pid, 0) < 0 && errno == ESRCH) && now_ms() < until) {
            reap(r);
            nap();
        }
        reap(r);
    }
    unlink(r->out_path);
    if (r->cfg_path[0] != '\0') unlink(r->cfg_path);
    free(r);
    return 0;
}

static int
setup(void **state)
{
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL) return -1;
    r->param = *state;
    *state = r;
    return 0;
}

/* ---- every example starts and stops -------------------------------------------- */

struct example {
    const char *name;
    unsigned workers;
};

static const struct example ex_simple = {"simple", 1};
static const struct example ex_multiprocess = {"multiprocess", 4};
static const struct example ex_reload = {"reload", 2};
static const struct example ex_live_restart = {"live_restart", 2};
static const struct example ex_blocking_flag = {"blocking_flag", 2};
static const struct example ex_tcp_server = {"tcp_server", 4};
static const struct example ex_socket_manager = {"socket_manager", 4};
static const struct example ex_spawn = {"spawn", 2};

static void
test_example_starts_its_workers_and_stops_on_term(void **state)
{
    struct run *r = *state;
    const struct example *ex = r->param;
    const char *const args[] = {NULL};
    start(r, ex->name, args);
    wait_started(r, ex->workers);
    term_and_wait_gone(r);
}

/* The seed's periodic line, exactly: "Awesome work!" and nothing after it. */
static void
test_example_logs_exactly_awesome_work(void **state)
{
    struct run *r = *state;
    const struct example *ex = r->param;
    const char *const args[] = {NULL};
    start(r, ex->name, args);
    wait_started(r, ex->workers);
    wait_output(r, "Awesome work!\n", 2);
    static char out[OUT_MAX];
    read_out(r, out, sizeof out);
    if (strstr(out, "Awesome work! ") != NULL) fail_with_output(r, "more than \"Awesome work!\"");
    term_and_wait_gone(r);
}

/* The seed's reload example takes sleep: 0 (as fast as it can). */
static void
test_reload_example_accepts_sleep_0(void **state)
{
    struct run *r = *state;
    const char *const args[] = {"-s", "sleep=0", "-s", "workers=1", NULL};
    start(r, "reload", args);
    wait_started(r, 1);
    wait_output(r, "INFO -- worker 0: Awesome work!\n", 3); /* its id where Ruby has the progname */
    term_and_wait_gone(r);
}

/* A mistyped option must not start a server that ignores it. */
static void
test_example_refuses_an_unknown_argument_with_64(void **state)
{
    struct run *r = *state;
    const struct example *ex = r->param;
    const char *const args[] = {"--bogus", NULL};
    start(r, ex->name, args);
    int64_t until = now_ms() + DEADLINE_MS;
    while (reap(r), !r->reaped) {
        if (now_ms() >= until) fail_with_output(r, "an unknown argument did not end the example");
        nap();
    }
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 64)
        fail_with_output(r, "the example did not exit with 64 (EX_USAGE)");
    static char out[OUT_MAX];
    read_out(r, out, sizeof out);
    if (strstr(out, "unknown option --bogus") == NULL || strstr(out, "started") != NULL)
        fail_with_output(r, "the message does not name the argument, or something started");
}

/* ---- reload ---------------------------------------------------------------------- */

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* The example's promise: an invalid edit is refused and the old settings
 * stay in force, for the program's own keys as for the engine's. */
static void
test_reload_example_refuses_a_bad_edit_and_keeps_its_settings(void **state)
{
    struct run *r = *state;
    char *cfg = r->cfg_path;
    snprintf(cfg, sizeof r->cfg_path, "/tmp/se-test-examples-%d-reload.yml", (int)getpid());
    write_text(cfg, "message: one\nsleep: 0.05\n");
    const char *const args[] = {"-c", cfg, NULL};
    start(r, "reload", args);
    wait_started(r, 2);
    wait_output(r, "INFO -- worker 0: one\n", 1);
    wait_output(r, "INFO -- worker 1: one\n", 1);

    write_text(cfg, "message: two\nsleep: banana\n");
    assert_int_equal(kill(r->pid, SIGUSR2), 0);
    wait_output(r, "Reload failed, keeping the current configuration", 1);

    write_text(cfg, "message: three\nsleep: 0.05\n");
    assert_int_equal(kill(r->pid, SIGUSR2), 0);
    wait_output(r, "INFO -- worker 0: three\n", 1);
    wait_output(r, "INFO -- worker 1: three\n", 1);
    term_and_wait_gone(r);

    static char out[OUT_MAX];
    read_out(r, out, sizeof out);
    if (strstr(out, "two") != NULL) fail_with_output(r, "the refused edit took effect");
}

/* ---- the TCP server ------------------------------------------------------------ */

/* A port nobody listens on now (the kernel's pick for an ephemeral bind). */
static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One client: connects, reads the whole reply. -errno when refused. */
static int
ask(int port, char *reply, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = 0;
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
    while (rc == 0 && got < size - 1) {
        ssize_t n = read(fd, reply + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = -errno;
        if (n <= 0) break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    close(fd);
    return rc;
}

static void
start_server_named(struct run *r, const char *name, int port)
{
    char port_arg[32];
    snprintf(port_arg, sizeof port_arg, "port=%d", port);
    const char *const args[] = {"-s", port_arg, "-s", "bind=127.0.0.1", "-s", "log=-", NULL};
    start(r, name, args);
    wait_started(r, TCP_WORKERS);
    char reply[64];
    int64_t until = now_ms() + DEADLINE_MS;
    while (ask(port, reply, sizeof reply) < 0) {
        if (now_ms() >= until) fail_with_output(r, "the TCP server never accepted a client");
        nap();
    }
    assert_string_equal(reply, REPLY);
}

static void
start_tcp_server(struct run *r, int port)
{
    start_server_named(r, "tcp_server", port);
}

static void
ask_many(struct run *r, int port, unsigned clients)
{
    for (unsigned i = 0; i < clients; i++) {
        char reply[64];
        int rc = ask(port, reply, sizeof reply);
        if (rc < 0 || strcmp(reply, REPLY) != 0) {
            print_error("client %u: rc=%d reply=\"%s\"\n", i, rc, reply);
            fail_with_output(r, "a client was not answered");
        }
    }
}

static void
test_tcp_server_answers_many_clients_then_stops_on_term(void **state)
{
    struct run *r = *state;
    int port = free_port();
    start_tcp_server(r, port);
    ask_many(r, port, CLIENTS);
    term_and_wait_gone(r);
}

static void
test_tcp_server_restarts_its_workers_on_usr1_between_clients(void **state)
{
    struct run *r = *state;
    int port = free_port();
    start_tcp_server(r, port);
    ask_many(r, port, CLIENTS);
    assert_int_equal(kill(r->pid, SIGUSR1), 0);
    /* the restart is done when a second "Worker N started" is logged for
     * every worker; clients keep being answered meanwhile */
    static char out[OUT_MAX];
    int64_t until = now_ms() + DEADLINE_MS;
    for (;;) {
        ask_many(r, port, 1);
        read_out(r, out, sizeof out);
        unsigned done = 0;
        for (unsigned id = 0; id < TCP_WORKERS; id++) {
            char text[64];
            snprintf(text, sizeof text, "Worker %u started", id);
            if (count_in(out, text) >= 2) done++;
        }
        if (done == TCP_WORKERS) break;
        if (now_ms() >= until) fail_with_output(r, "USR1 did not restart every worker");
    }
    ask_many(r, port, CLIENTS);
    term_and_wait_gone(r);
}

/* Workers that ask the SocketManager for their socket at run time. */
static void
test_socket_manager_example_answers_many_clients_then_stops_on_term(void **state)
{
    struct run *r = *state;
    int port = free_port();
    start_server_named(r, "socket_manager", port);
    ask_many(r, port, CLIENTS);
    static char out[OUT_MAX];
    read_out(r, out, sizeof out);
    for (unsigned id = 0; id < 4; id++) {
        char text[64];
        snprintf(text, sizeof text, "Worker %u listens on 127.0.0.1:%d", id, port);
        int64_t until = now_ms() + DEADLINE_MS;
        while (read_out(r, out, sizeof out), strstr(out, text) == NULL) {
            if (now_ms() >= until) fail_with_output(r, "a worker got no socket");
            nap();
        }
    }
    term_and_wait_gone(r);
}

#define AWESOME(row)                                                                               \
    {                                                                                              \
        "test_example_logs_exactly_awesome_work(" #row ")",                                        \
            test_example_logs_exactly_awesome_work, setup, teardown, (void *)&(row)                \
    }
#define EXAMPLE(row)                                                                               \
    {                                                                                              \
        "test_example_starts_its_workers_and_stops_on_term(" #row ")",                             \
            test_example_starts_its_workers_and_stops_on_term, setup, teardown, (void *)&(row)     \
    }

#define REFUSES(row)                                                                               \
    {                                                                                              \
        "test_example_refuses_an_unknown_argument_with_64(" #row ")",                              \
            test_example_refuses_an_unknown_argument_with_64, setup, teardown, (void *)&(row)      \
    }

int
main(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) return 1;
    self[n] = '\0';
    snprintf(examples_dir, sizeof examples_dir, "%s/../examples", dirname(self));
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    itest_own_tree(); /* a failure or a deadline leaves no example running */
    const struct CMUnitTest tests[] = {
        EXAMPLE(ex_simple),
        EXAMPLE(ex_multiprocess),
        EXAMPLE(ex_reload),
        EXAMPLE(ex_live_restart),
        EXAMPLE(ex_blocking_flag),
        EXAMPLE(ex_spawn),
        AWESOME(ex_simple),
        AWESOME(ex_multiprocess),
        AWESOME(ex_live_restart),
        AWESOME(ex_spawn),
        REFUSES(ex_simple),
        REFUSES(ex_tcp_server),
        EXAMPLE(ex_socket_manager),
        REFUSES(ex_socket_manager),
        cmocka_unit_test_setup_teardown(
            test_socket_manager_example_answers_many_clients_then_stops_on_term, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_example_refuses_a_bad_edit_and_keeps_its_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_example_accepts_sleep_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_server_answers_many_clients_then_stops_on_term,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tcp_server_restarts_its_workers_on_usr1_between_clients, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
