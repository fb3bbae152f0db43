/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The serverengine tool (tools/serverengine.c) as a user runs it: help and
 * version, usage errors (64) apart from bad values (78), `run` with three
 * workers of a shell command driven by every signal subcommand through its
 * pid file, the same under a supervisor, a program that cannot be run,
 * `check-config`, and the command pipe on `run`'s stdin (words, unknown
 * lines, an overlong line, EOF). The harness (tests/support/itest.h) gives
 * each test a directory and checks that nothing survives or leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serverengine.h"
#include "support/itest.h"
#include "support/itest_tool.h"

#define DL       ITEST_DEADLINE_MS
#define TEXT_MAX 16384

static void
expect_in(const char *text, const char *want, const char *what)
{
    if (strstr(text, want) == NULL) fail_msg("%s: no \"%s\" in \"%s\"", what, want, text);
}

/* ---- help, version, usage --------------------------------------------------- */

static void
test_help_and_version_on_the_tool_and_every_subcommand(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "--help", NULL), 0);
    expect_in(out, "usage: serverengine COMMAND", "--help");
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "--version", NULL), 0);
    expect_in(out, "serverengine " SE_VERSION_STRING, "--version");
    static const char *const subs[] = {"run",    "stop",   "kill", "restart",
                                       "reload", "detach", "dump", "check-config"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: serverengine %s", subs[i]);
        assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, subs[i], "--help", NULL), 0);
        expect_in(out, want, subs[i]);
    }
}

static void
test_usage_errors_exit_64_and_bad_values_78(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    static const char *const usage[][4] = {
        {"frobnicate", NULL},
        {"--bogus", NULL},
        {"run", "--bogus", "true", NULL},
        {"run", NULL},
        {"stop", NULL},
        {"stop", "abc", NULL},
        {"kill", "--immediate", "1", NULL},
        {"check-config", NULL},
        {"run", "-s", NULL},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        int rc = itest_tool_run(t, out, err, TEXT_MAX, usage[i][0], usage[i][1], usage[i][2],
                                usage[i][3], NULL);
        if (rc != 64) fail_msg("%s %s: status %d, want 64", usage[i][0], usage[i][1], rc);
        expect_in(err, "serverengine: ", usage[i][0]);
    }
    assert_int_equal(
        itest_tool_run(t, out, err, TEXT_MAX, "run", "-s", "workers=-1", "--", "true", NULL), 78);
    expect_in(err, "serverengine: workers", "a bad value");
    assert_int_equal(
        itest_tool_run(t, out, err, TEXT_MAX, "run", "-s", "worker_type=process", "true", NULL),
        78);
    expect_in(err, "worker_type", "a worker type the tool cannot run");
}

/* ---- run and the signal subcommands ---------------------------------------- */

static const char *const shell_cmd = "echo worker=$SERVERENGINE_WORKER_ID; exec sleep 1000";

/* The README's example: three workers of a shell command. */
static pid_t
run_three(struct itest *t, char *pid_path, size_t size, const char *extra)
{
    snprintf(pid_path, size, "%s/run.pid", t->dir);
    char log_kv[ITEST_PATH_MAX + 16], pid_kv[ITEST_PATH_MAX + 16];
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    snprintf(pid_kv, sizeof pid_kv, "pid_path=%s", pid_path);
    const char *args[] = {"run", "-s",  "workers=3", "-s", log_kv, "-s",      pid_kv,
                          "-s",  extra, "--",        "sh", "-c",   shell_cmd, NULL};
    pid_t pid = itest_tool_spawn(t, "run", -1, args, true);
    for (unsigned id = 0; id < 3; id++) {
        char text[64];
        snprintf(text, sizeof text, "stdout: worker=%u", id);
        itest_wait_log(t, text, 1, DL);
    }
    return pid;
}

static void
signal_by_pid_file(struct itest *t, const char *pid_path, const char *sub, const char *opt)
{
    static char out[TEXT_MAX], err[TEXT_MAX];
    int rc = opt != NULL ? itest_tool_run(t, out, err, TEXT_MAX, sub, opt, "-p", pid_path, NULL)
                         : itest_tool_run(t, out, err, TEXT_MAX, sub, "-p", pid_path, NULL);
    if (rc != 0) fail_msg("%s: status %d: %s", sub, rc, err);
}

static void
remove_dump(struct itest *t)
{
    char line[1024];
    if (!itest_log_line(t, "sigdump: wrote ", 1, line, sizeof line)) return;
    unlink(strstr(line, "sigdump: wrote ") + strlen("sigdump: wrote "));
}

static void
test_run_three_workers_and_every_signal_subcommand(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32], text[64];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "log_level=debug");
    itest_wait_log(t, "Worker 2 started", 1, DL);
    char pid_text[64];
    assert_true(itest_read_file(pid_path, pid_text, sizeof pid_text) > 0);
    assert_int_equal(atoi(pid_text), tool); /* no supervisor: the tool is the server */

    signal_by_pid_file(t, pid_path, "restart", NULL);
    itest_wait_log(t, "stdout: worker=", 6, DL);
    assert_int_equal(itest_count_log(t, "Received graceful restart"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGTERM"), 3);

    signal_by_pid_file(t, pid_path, "restart", "--immediate");
    itest_wait_log(t, "stdout: worker=", 9, DL);
    assert_int_equal(itest_count_log(t, "Received immediate restart"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGQUIT"), 3);

    signal_by_pid_file(t, pid_path, "reload", NULL);
    itest_wait_log(t, "Received reload", 1, DL);
    signal_by_pid_file(t, pid_path, "dump", NULL);
    itest_wait_log(t, "sigdump: wrote ", 1, DL);
    remove_dump(t);

    signal_by_pid_file(t, pid_path, "stop", NULL);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(itest_count_log(t, "Received graceful stop"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGTERM"), 6);
    for (unsigned id = 0; id < 3; id++) {
        snprintf(text, sizeof text, "stdout: worker=%u", id);
        assert_int_equal(itest_count_log(t, text), 3);
    }
    assert_int_equal(access(pid_path, F_OK), -1); /* the pid file is gone */
}

static void
test_kill_by_pid_stops_at_once(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], pid_text[32];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "log_level=info");
    snprintf(pid_text, sizeof pid_text, "%d", (int)tool);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "kill", pid_text, NULL), 0); /* by PID */
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(itest_count_log(t, "Received immediate stop"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGQUIT"), 3);
    /* the process is gone: the subcommand says so and fails */
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "stop", pid_text, NULL), 1);
    expect_in(err, "serverengine: cannot send SIGTERM", "stop to a gone pid");
}

static void
test_detach_without_a_supervisor_stops_gracefully(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "log_level=info");
    struct stat st;
    int64_t until = itest_now_ms() + DL;
    while (stat(pid_path, &st) < 0 && itest_now_ms() < until)
        usleep(5000); /* polls the pid file, bounded */
    signal_by_pid_file(t, pid_path, "detach", NULL);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(itest_count_log(t, "Received detach"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGTERM"), 3);
}

static void
test_run_under_a_supervisor_with_a_pid_file(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32], pid_text[64];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "supervisor=true");
    assert_true(itest_read_file(pid_path, pid_text, sizeof pid_text) > 0);
    assert_int_equal(atoi(pid_text), tool); /* the supervisor's pid */
    signal_by_pid_file(t, pid_path, "restart", NULL);
    itest_wait_log(t, "stdout: worker=", 6, DL);
    assert_int_equal(itest_count_log(t, "Server (pid"), 1); /* the server was kept */
    signal_by_pid_file(t, pid_path, "stop", NULL);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(itest_count_log(t, "Supervisor exits with status 0"), 1);
    assert_int_equal(itest_count_log(t, "finished with signal SIGTERM"), 6);
}

static void
test_run_as_a_daemon_is_stopped_through_its_pid_file(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], log_kv[ITEST_PATH_MAX + 16], pid_kv[ITEST_PATH_MAX + 48];
    snprintf(pid_path, sizeof pid_path, "%s/run.pid", t->dir);
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    snprintf(pid_kv, sizeof pid_kv, "pid_path=%s", pid_path);
    /* the launcher returns once the daemon is ready */
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "run", "-s", "daemonize=true", "-s",
                                    log_kv, "-s", pid_kv, "-s", "workers=2", "--", "sleep", "1000",
                                    NULL),
                     0);
    itest_wait_log(t, "Worker 1 started", 1, DL);
    char pid_text[32];
    assert_true(itest_read_file(pid_path, pid_text, sizeof pid_text) > 0);
    signal_by_pid_file(t, pid_path, "stop", NULL);
    int status = -1;
    assert_int_equal(itest_wait_adopted(t, DL, &status), atoi(pid_text));
    assert_int_equal(status, 0);
    assert_int_equal(itest_count_log(t, "finished with signal SIGTERM"), 2);
}

static void
test_run_of_a_program_that_is_not_there_says_why(void **state)
{
    struct itest *t = *state;
    char log_kv[ITEST_PATH_MAX + 16];
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    const char *args[] = {"run", "-s", log_kv, "/nonexistent/prog", "arg", NULL};
    pid_t tool = itest_tool_spawn(t, "run", -1, args, true);
    itest_wait_log(t, "Worker 0: cannot run /nonexistent/prog: No such file or directory (errno 2)",
                   2, DL);
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
}

/* ---- check-config ---------------------------------------------------------------- */

static void
test_check_config_prints_every_key_and_where_it_came_from(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "c.yml", path, sizeof path);
    itest_write_file(t, "c.yml",
                     "workers: 3\nlog: \"a b.log\"\nworker_heartbeat_timeout: 180\n"
                     "message: hello\n");
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "check-config", "-c", path,
                                    "--set=log_level=warn", NULL),
                     0);
    expect_in(out, "\nworkers: 3  # file\n", "a file value");
    expect_in(out, "\nlog: a b.log  # file\n", "a plain value with a space");
    expect_in(out, "\npid_path: \"\"  # default\n", "an empty value, quoted");
    expect_in(out, "\nworker_heartbeat_timeout: 180", "a file value equal to the default");
    expect_in(out, "\nlog_level: warn  # set\n", "a -s value");
    expect_in(out, "\nsupervisor: false  # default\n", "a default");
    expect_in(out, "\nworker_type: spawn  # run\n", "the tool's own default");
    expect_in(err, "serverengine: warning: unknown key \"message\"", "the typo guard");
    char *p = strstr(out, "worker_heartbeat_timeout: ");
    assert_non_null(p);
    assert_non_null(strstr(p, "# file"));

    itest_write_file(t, "c.yml", "workers: 3\nworker_heartbeat_mode: sometimes\n");
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "check-config", "-c", path, NULL), 78);
    expect_in(err, "serverengine: ", "the message's start");
    expect_in(err, "worker_heartbeat_mode", "the bad key named");
    assert_int_equal(
        itest_tool_run(t, out, err, TEXT_MAX, "check-config", "-c", path, "-s", "workers=x", NULL),
        78);
}

/* SIGDUMP_SIGNAL (serverengine(3), ENVIRONMENT) shows where it decides the
 * dump signal, and a bad value is refused naming it. */
static void
test_check_config_shows_the_dump_signal_sigdump_signal_names(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], out_set[TEXT_MAX], out_bad[TEXT_MAX], err[TEXT_MAX];
    char path[ITEST_PATH_MAX + 32];
    itest_path(t, "c.yml", path, sizeof path);
    itest_write_file(t, "c.yml", "workers: 2\n");
    setenv("SIGDUMP_SIGNAL", "WINCH", 1);
    int rc = itest_tool_run(t, out, err, TEXT_MAX, "check-config", "-c", path, NULL);
    int rc_set = itest_tool_run(t, out_set, err, TEXT_MAX, "check-config", "-c", path, "-s",
                                "signal_dump=URG", NULL);
    setenv("SIGDUMP_SIGNAL", "NOPE", 1);
    int rc_bad = itest_tool_run(t, out_bad, err, TEXT_MAX, "check-config", "-c", path, NULL);
    unsetenv("SIGDUMP_SIGNAL");
    assert_int_equal(rc_bad, 78);
    expect_in(err, "SIGDUMP_SIGNAL=\"NOPE\"", "the variable named");
    assert_int_equal(rc, 0);
    expect_in(out, "\nsignal_dump: SIGWINCH  # env SIGDUMP_SIGNAL\n", "the variable's signal");
    assert_int_equal(rc_set, 0);
    expect_in(out_set, "\nsignal_dump: SIGURG  # set\n", "the key wins");
    rc = itest_tool_run(t, out, err, TEXT_MAX, "check-config", "-c", path, NULL);
    expect_in(out, "\nsignal_dump: SIGCONT  # default\n", "the default without the variable");
}

/* ---- the command pipe on run's stdin ------------------------------------------- */

static void
write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        assert_true(n > 0);
        text += n, len -= (size_t)n;
    }
}

static void
test_run_with_command_pipe_reads_words_refuses_junk_and_stops_at_eof(void **state)
{
    struct itest *t = *state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    char log_kv[ITEST_PATH_MAX + 16];
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    /* the workers read their own command pipes too: each word is echoed
     * (to the log), GRACEFUL_STOP ends them */
    const char *program = "while read w; do echo \"word=$SERVERENGINE_WORKER_ID $w\"; "
                          "[ \"$w\" = GRACEFUL_STOP ] && exit 0; done; exit 3";
    const char *args[] = {"run",
                          "-s",
                          log_kv,
                          "-s",
                          "command_sender=pipe",
                          "-s",
                          "workers=2",
                          "-s",
                          "log_level=debug",
                          "--",
                          "sh",
                          "-c",
                          program,
                          NULL};
    pid_t tool = itest_tool_spawn(t, "run", fds[0], args, true);
    close(fds[0]);
    itest_wait_log(t, "Worker 1 started", 1, DL);

    write_all(fds[1], "BOGUS words\nRELOAD\n", 19);
    itest_wait_log(t, "Received reload", 1, DL);
    assert_int_equal(itest_count_log(t, "Command pipe: unknown command \"BOGUS words\" ignored"),
                     1);

    static char junk[5001];
    memset(junk, 'A', 5000);
    junk[5000] = '\n';
    write_all(fds[1], junk, sizeof junk);
    write_all(fds[1], "GRACEFUL_RESTART\n", 17);
    itest_wait_log(t, "Received graceful restart", 1, DL);
    assert_int_equal(itest_count_log(t, "Command pipe: a line of 5000 bytes refused"), 1);
    itest_wait_log(t, "Worker 1 started", 2, DL);
    /* a worker's output and its end are two events: either may come first */
    itest_wait_log(t, "stdout: word=0 GRACEFUL_STOP", 1, DL);
    itest_wait_log(t, "stdout: word=1 GRACEFUL_STOP", 1, DL);
    assert_int_equal(itest_count_log(t, "Worker 0 finished with status 0"), 1);

    close(fds[1]); /* EOF: the parent is gone */
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(itest_count_log(t, "The command pipe (stdin) closed: end of file"), 1);
    assert_int_equal(itest_count_log(t, "Received graceful stop"), 1);
    assert_int_equal(itest_count_log(t, "stdout: word=0 GRACEFUL_STOP"), 2);
    assert_int_equal(itest_count_log(t, "Worker 1 finished with status 0"), 2);
}

/* ---- listen: sockets handed to a program as systemd would ------------------- */

/* The program: this binary with --serve-listen-fds. It takes the sockets
 * the way a socket-activated daemon does (LISTEN_PID is its own pid,
 * LISTEN_FDS of them from descriptor 3) and answers every connection with
 * "OK pid=P names=N"; a wrong hand-over answers "BAD ..." instead. */
static __attribute__((noreturn)) int
serve_listen_fds(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    int type = 0;
    socklen_t len = sizeof type;
    bool good = pid != NULL && atol(pid) == (long)getpid() && fds != NULL && atoi(fds) == 1 &&
                getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
    char reply[512];
    int n = snprintf(reply, sizeof reply, "%s pid=%d names=%s\n", good ? "OK" : "BAD",
                     (int)getpid(), names != NULL ? names : "-");
    for (;;) {
        struct pollfd p = {.fd = 3, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) continue;
        int c = accept(3, NULL, NULL);
        if (c < 0) continue; /* another worker took it */
        (void)!write(c, reply, (size_t)n);
        close(c);
    }
}

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* One connection's answer into buf; false when refused or silent. */
static bool
ask(int port, char *buf, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval limit = {.tv_sec = 5}; /* a socket nobody accepts on must not hang us */
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    ssize_t r = ok ? read(fd, buf, size - 1) : -1;
    if (fd >= 0) close(fd);
    buf[r > 0 ? r : 0] = '\0';
    return r > 0;
}

/* `run -s listen=tcp://...` hands the socket to each spawned program the way
 * systemd's socket activation does; every connection is answered, by both
 * workers in turn, and none is refused once the first is. */
static void
test_run_hands_listen_sockets_to_programs_as_socket_activation_does(void **state)
{
    struct itest *t = *state;
    char self[PATH_MAX], listen[64], log[ITEST_PATH_MAX + 32], answer[512];
    assert_non_null(realpath("/proc/self/exe", self));
    int port = free_port();
    snprintf(listen, sizeof listen, "listen=tcp://127.0.0.1:%d", port);
    snprintf(log, sizeof log, "log=%s", t->log_path);
    const char *args[] = {
        "run", "-s", log, "-s", listen, "-s", "workers=2", "--", self, "--serve-listen-fds", NULL};
    pid_t tool = itest_tool_spawn(t, "run", -1, args, true);
    itest_wait_log(t, "Worker 1 started", 1, DL);
    int64_t until = itest_now_ms() + DL;
    while (!ask(port, answer, sizeof answer) && itest_now_ms() < until)
        usleep(5000); /* the socket is bound before the workers start: bounded */
    unsigned answered = 0;
    for (int i = 0; i < 200; i++) {
        if (!ask(port, answer, sizeof answer)) fail_msg("connection %d refused or silent", i);
        if (strncmp(answer, "OK pid=", 7) != 0) fail_msg("a wrong hand-over: %s", answer);
        expect_in(answer, "names=tcp-//127.0.0.1-", "LISTEN_FDNAMES");
        answered++;
    }
    assert_int_equal(answered, 200);
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
}

/* ---- registration ------------------------------------------------------------------ */

#define ONE(fn) cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--serve-listen-fds") == 0) return serve_listen_fds();
    itest_main(argc, argv);
    if (!itest_tool_init(argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        ONE(test_help_and_version_on_the_tool_and_every_subcommand),
        ONE(test_usage_errors_exit_64_and_bad_values_78),
        ONE(test_run_three_workers_and_every_signal_subcommand),
        ONE(test_kill_by_pid_stops_at_once),
        ONE(test_detach_without_a_supervisor_stops_gracefully),
        ONE(test_run_under_a_supervisor_with_a_pid_file),
        ONE(test_run_as_a_daemon_is_stopped_through_its_pid_file),
        ONE(test_run_of_a_program_that_is_not_there_says_why),
        ONE(test_check_config_prints_every_key_and_where_it_came_from),
        ONE(test_check_config_shows_the_dump_signal_sigdump_signal_names),
        ONE(test_run_with_command_pipe_reads_words_refuses_junk_and_stops_at_eof),
        ONE(test_run_hands_listen_sockets_to_programs_as_socket_activation_does),
    };
    if (getenv("ITEST_FILTER") != NULL) cmocka_set_test_filter(getenv("ITEST_FILTER"));
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
