/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `serverengine status` and se_status_read with real processes (README,
 * "The serverengine tool"; serverengine(1), status): three workers of a
 * shell command, one killed with SIGKILL: the table and the JSON show its
 * restart and the signal, not sent by serverengine; the socket is a 0600
 * socket beside the pid file, and gone at exit; under a supervisor the
 * server restarted after a SIGKILL serves it again at the same path; a
 * process that serves no status, a file or a link at the path, and a
 * socket served by another process are refused with exit status 1; a
 * request from another user is refused by the socket's mode and, with the
 * mode opened, by the server's peer check (as root with a throwaway user;
 * as an ordinary user the mode and owner are asserted). Every wait polls a
 * real condition against a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serverengine.h"
#include "support/itest.h"
#include "support/itest_tool.h"

#define DL       ITEST_DEADLINE_MS
#define TEXT_MAX 65536

extern char **environ;

static void
expect_in(const char *text, const char *want, const char *what)
{
    if (strstr(text, want) == NULL) fail_msg("%s: no \"%s\" in \"%s\"", what, want, text);
}

/* ---- JSON: a strict reader of the grammar, enough to say "it parses" ----- */

static const char *json_value(const char *p);

static const char *
json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *
json_string(const char *p)
{
    if (*p++ != '"') return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\' && strchr("\"\\/bfnrtu", *++p) == NULL) return NULL;
    }
    return p + 1;
}

static const char *
json_list(const char *p, char close, bool keyed)
{
    p = json_ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
        if (keyed) {
            p = json_string(json_ws(p));
            if (p == NULL || *(p = json_ws(p)) != ':') return NULL;
            p++;
        }
        p = json_value(p);
        if (p == NULL) return NULL;
        p = json_ws(p);
        if (*p == close) return p + 1;
        if (*p++ != ',') return NULL;
    }
}

static const char *
json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{') return json_list(p, '}', true);
    if (*p == '[') return json_list(p, ']', false);
    if (*p == '"') return json_string(p);
    for (const char *lit = "true\0false\0null\0"; *lit != '\0'; lit += strlen(lit) + 1) {
        if (strncmp(p, lit, strlen(lit)) == 0) return p + strlen(lit);
    }
    char *end = NULL;
    strtod(p, &end);
    return end != p ? end : NULL;
}

static void
expect_json(const char *text)
{
    const char *end = json_value(text);
    if (end == NULL || *json_ws(end) != '\0') fail_msg("not JSON: %s", text);
}

/* The object of worker id in the JSON answer, copied into buf. */
static bool
json_worker(const char *json, unsigned id, char *buf, size_t size)
{
    char key[32];
    snprintf(key, sizeof key, "{\"id\":%u,", id);
    const char *p = strstr(json, key);
    if (p == NULL) return false;
    int depth = 0;
    size_t n = 0;
    do {
        depth += *p == '{' ? 1 : *p == '}' ? -1 : 0;
        if (n + 1 < size) buf[n++] = *p;
    } while (*p++ != '\0' && depth > 0);
    buf[n] = '\0';
    return true;
}

/* A number field of an object ("key":N), or -1 when null or absent. */
static long
json_num(const char *obj, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(obj, k);
    if (p == NULL || strncmp(p + strlen(k), "null", 4) == 0) return -1;
    return strtol(p + strlen(k), NULL, 10);
}

/* ---- running a server ------------------------------------------------------ */

static const char *const shell_cmd = "echo worker=$SERVERENGINE_WORKER_ID; exec sleep 1000";

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

/* The JSON status, once `until` holds for it (polled against the deadline). */
static void
status_json_until(struct itest *t, const char *pid_path, char *out,
                  bool (*until)(const char *json, const void *arg), const void *arg)
{
    static char err[TEXT_MAX];
    int64_t end = itest_now_ms() + DL;
    int rc = -1;
    while (itest_now_ms() < end) {
        rc = itest_tool_run(t, out, err, TEXT_MAX, "status", "--json", "-p", pid_path, NULL);
        if (rc == 0 && until(out, arg)) return;
        usleep(20000); /* the next poll of a real condition */
    }
    fail_msg("status never held: rc %d, out %s, err %s", rc, out, err);
}

static bool
all_running(const char *json, const void *arg)
{
    (void)arg;
    char w[1024];
    for (unsigned id = 0; id < 3; id++) {
        if (!json_worker(json, id, w, sizeof w) || strstr(w, "\"state\":\"running\"") == NULL)
            return false;
    }
    return true;
}

static bool
restarted_once(const char *json, const void *arg)
{
    char w[1024];
    const unsigned *id = arg;
    return json_worker(json, *id, w, sizeof w) && json_num(w, "restarts") == 1 &&
           strstr(w, "\"state\":\"running\"") != NULL;
}

static bool
reloaded_once(const char *json, const void *arg)
{
    (void)arg;
    return strstr(json, "\"reloads\":1,\"last_reload\":") != NULL &&
           strstr(json, "\"last_reload\":null") == NULL;
}

static void
expect_private_socket(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_uid, geteuid());
}

/* ---- the tests ------------------------------------------------------------- */

static void
test_status_shows_a_killed_workers_restart_and_its_signal(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], sock[ITEST_PATH_MAX + 64], w[1024];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "log_level=info");
    snprintf(sock, sizeof sock, "%s.status", pid_path);
    status_json_until(t, pid_path, out, all_running, NULL);
    expect_private_socket(sock);
    expect_json(out);
    static const char *const keys[] = {"\"server_pid\":",    "\"supervisor_pid\":null",
                                       "\"config\":null",    "\"overrides\":4",
                                       "\"uptime_ms\":",     "\"now\":",
                                       "\"reloads\":0",      "\"last_reload\":null",
                                       "\"stopping\":false", "\"workers_wanted\":3",
                                       "\"workers\":["};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        expect_in(out, keys[i], "the head's keys");
    assert_int_equal(json_num(out, "server_pid"), tool); /* no supervisor: the tool serves */
    assert_true(json_worker(out, 1, w, sizeof w));
    static const char *const wkeys[] = {
        "\"pid\":",       "\"state\":",         "\"immediate\":",  "\"uptime_ms\":",
        "\"restarts\":0", "\"last_exit\":null", "\"backoff_ms\":", "\"heartbeat_age_ms\":"};
    for (size_t i = 0; i < sizeof wkeys / sizeof wkeys[0]; i++)
        expect_in(w, wkeys[i], "a worker's keys");
    pid_t victim = (pid_t)json_num(w, "pid");
    assert_true(victim > 0 && victim != tool);

    itest_kill(victim, SIGKILL);
    unsigned id = 1;
    status_json_until(t, pid_path, out, restarted_once, &id);
    expect_json(out);
    assert_true(json_worker(out, 1, w, sizeof w));
    expect_in(w, "\"last_exit\":{\"status\":null,\"signal\":\"SIGKILL\",\"sent_by_engine\":false}",
              "worker 1's last exit");
    assert_true(json_num(w, "pid") > 0 && json_num(w, "pid") != victim);
    for (unsigned other = 0; other < 3; other += 2) {
        assert_true(json_worker(out, other, w, sizeof w));
        expect_in(w, "\"restarts\":0,\"last_exit\":null", "an untouched worker");
    }

    /* the table says the same */
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 0);
    expect_in(out, "workers: 3 running of 3 wanted", "the table's head");
    char pid_kv[64];
    snprintf(pid_kv, sizeof pid_kv, "server pid %d, up ", (int)tool);
    expect_in(out, pid_kv, "the table's head");
    expect_in(out, "SIGKILL (not sent by serverengine)", "the table's last exit");
    assert_int_equal(itest_count_log(t, "Status: "), 0); /* nothing refused or malformed */

    /* a reload is counted, and its time shown: between the signal and now */
    time_t asked = time(NULL);
    itest_kill(tool, SIGUSR2);
    status_json_until(t, pid_path, out, reloaded_once, NULL);
    time_t seen = time(NULL);
    expect_json(out);
    const char *at = strstr(out, "\"last_reload\":\"");
    assert_non_null(at);
    struct tm tm = {0};
    assert_int_equal(sscanf(at + 15, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t reloaded = timegm(&tm);
    assert_true(reloaded >= asked - 1 && reloaded <= seen); /* whole seconds, rounded down */
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 0);
    expect_in(out, "reloaded 1 time, last at ", "the table's head after a reload");

    /* a restart the engine made: its TERM is told as sent by serverengine */
    itest_kill(tool, SIGUSR1);
    id = 0;
    status_json_until(t, pid_path, out, restarted_once, &id);
    assert_true(json_worker(out, 0, w, sizeof w));
    expect_in(w, "\"last_exit\":{\"status\":null,\"signal\":\"SIGTERM\",\"sent_by_engine\":true}",
              "worker 0's last exit after USR1");

    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(access(sock, F_OK), -1); /* the socket is gone with the server */
    assert_int_equal(errno, ENOENT);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
}

static bool
served_by_another(const char *json, const void *arg)
{
    const long *old = arg;
    return json_num(json, "server_pid") != *old && all_running(json, NULL);
}

static void
test_status_under_a_supervisor_follows_the_restarted_server(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], sock[ITEST_PATH_MAX + 64];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "supervisor=true");
    snprintf(sock, sizeof sock, "%s.status", pid_path);
    status_json_until(t, pid_path, out, all_running, NULL);
    assert_int_equal(json_num(out, "supervisor_pid"), tool);
    long server = json_num(out, "server_pid");
    assert_true(server > 0 && server != tool);
    pid_t workers[3];
    for (unsigned id = 0; id < 3; id++) {
        char w[1024];
        assert_true(json_worker(out, id, w, sizeof w));
        workers[id] = (pid_t)json_num(w, "pid");
        assert_true(workers[id] > 0);
    }
    itest_kill((pid_t)server, SIGKILL); /* the supervisor starts another server */
    /* the kernel ends the killed server's programs; we adopted them */
    for (unsigned id = 0; id < 3; id++)
        assert_int_equal(itest_wait_exit(t, workers[id], DL), 128 + SIGKILL);
    status_json_until(t, pid_path, out, served_by_another, &server);
    assert_int_equal(json_num(out, "supervisor_pid"), tool);
    expect_private_socket(sock);
    /* by the supervisor's pid, the one an operator signals: the socket is
     * beside the pid file, which the tool says */
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%d", (int)tool);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", pid_text, NULL), 1);
    expect_in(err, "serves no status", "status by pid with a pid file");
    expect_in(err, "use -p", "status by pid with a pid file");
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(access(sock, F_OK), -1);
}

static void
test_status_without_a_pid_file_is_found_by_pid(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char dir_env[ITEST_PATH_MAX + 32], log_kv[ITEST_PATH_MAX + 16], pid_text[32];
    snprintf(dir_env, sizeof dir_env, "SERVERENGINE_STATUS_DIR=%s", t->dir);
    putenv(dir_env); /* the tool and the server it runs inherit it */
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    const char *args[] = {"run", "-s", "workers=2", "-s", log_kv, "--", "sleep", "1000", NULL};
    pid_t tool = itest_tool_spawn(t, "run", -1, args, true);
    itest_wait_log(t, "Worker 1 started", 1, DL);
    snprintf(pid_text, sizeof pid_text, "%d", (int)tool);
    int64_t end = itest_now_ms() + DL;
    int rc = -1;
    while ((rc = itest_tool_run(t, out, err, TEXT_MAX, "status", "--json", pid_text, NULL)) != 0 &&
           itest_now_ms() < end)
        usleep(20000);
    unsetenv("SERVERENGINE_STATUS_DIR");
    if (rc != 0) fail_msg("status %s: %d: %s", pid_text, rc, err);
    expect_json(out);
    expect_in(out, "\"workers_wanted\":2", "status by pid");
    char sock[ITEST_PATH_MAX + 64];
    snprintf(sock, sizeof sock, "%s/serverengine-status-%d.sock", t->dir, (int)tool);
    expect_private_socket(sock);
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(access(sock, F_OK), -1);
}

/* A unix socket at path, listening, served by this test process. */
static int
listen_at(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void
test_status_of_what_serves_none_is_refused_with_1(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX], err[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], sock[ITEST_PATH_MAX + 64], text[32];
    /* a live process that is no server: the test's own pid */
    snprintf(pid_path, sizeof pid_path, "%s/other.pid", t->dir);
    snprintf(sock, sizeof sock, "%s.status", pid_path);
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    itest_write_file(t, "other.pid", text);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
    expect_in(err, "serverengine: status: pid ", "no socket");
    expect_in(err, "serves no status: no socket at ", "no socket");
    assert_string_equal(out, "");
    /* a file where the socket should be */
    itest_write_file(t, "other.pid.status", "not a socket\n");
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
    expect_in(err, "is not a socket (another kind of file): refused", "a file");
    /* a link to a real socket: never followed */
    unlink(sock);
    char real[ITEST_PATH_MAX + 64];
    snprintf(real, sizeof real, "%s/real.sock", t->dir);
    int fd = listen_at(real);
    assert_int_equal(symlink(real, sock), 0);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
    expect_in(err, "is not a socket (a symbolic link): refused", "a link");
    /* a socket served by a process that is neither the pid nor its child:
     * the pid file names pid 1 */
    unlink(sock);
    close(fd);
    unlink(real);
    fd = listen_at(sock);
    itest_write_file(t, "other.pid", "1\n");
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
    snprintf(text, sizeof text, "served by pid %d, neither pid 1", (int)getpid());
    expect_in(err, text, "another process's socket");
    close(fd);
    unlink(sock);
    /* a stale socket: nothing answers */
    fd = listen_at(sock);
    close(fd);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "-p", pid_path, NULL), 1);
    expect_in(err, "nothing answers at ", "a stale socket");
    unlink(sock);
    /* usage */
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", NULL), 64);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "--immediate", "1", NULL), 64);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "stop", "--json", "1", NULL), 64);
    assert_int_equal(itest_tool_run(t, out, err, TEXT_MAX, "status", "--help", NULL), 0);
    expect_in(out, "usage: serverengine status [--json] (-p PIDFILE | PID)", "--help");
}

/* ---- another user --------------------------------------------------------- */

struct other_user {
    char name[32];
    uid_t uid;
    gid_t gid;
    bool made;
};

static struct other_user g_user; /* one per test; the teardown removes it */

static int
run_cmd(const char *const *argv)
{
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
other_user_make(void)
{
    snprintf(g_user.name, sizeof g_user.name, "sest%ld", (long)getpid());
    const char *const add[] = {"/usr/sbin/useradd", "-M",        "-N", "-s",
                               "/usr/sbin/nologin", g_user.name, NULL};
    assert_int_equal(run_cmd(add), 0);
    g_user.made = true;
    struct passwd *pw = getpwnam(g_user.name);
    assert_non_null(pw);
    g_user.uid = pw->pw_uid;
    g_user.gid = pw->pw_gid;
}

static int
setup(void **state)
{
    memset(&g_user, 0, sizeof g_user);
    return itest_setup(state);
}

static int
teardown(void **state)
{
    if (g_user.made) {
        const char *const del[] = {"/usr/sbin/userdel", g_user.name, NULL};
        (void)run_cmd(del);
        g_user.made = false;
    }
    return itest_teardown(state);
}

/* se_status_read as the throwaway user, in a child: its return value. */
static int
read_as_other(const char *pid_path, char *err, size_t err_size)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        char *text = NULL, msg[512] = "";
        int rc = -1;
        if (setgroups(0, NULL) == 0 && setgid(g_user.gid) == 0 && setuid(g_user.uid) == 0)
            rc = se_status_read(pid_path, 0, 0, &text, msg, sizeof msg);
        if (write(pfd[1], msg, strlen(msg)) < 0) _exit(98);
        _exit(rc == 0 ? 0 : rc == -EACCES ? 10 : 11);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], err, err_size - 1);
    err[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void
test_status_for_another_user_is_refused(void **state)
{
    struct itest *t = *state;
    char pid_path[ITEST_PATH_MAX + 32], sock[ITEST_PATH_MAX + 64], err[512];
    static char out[TEXT_MAX];
    pid_t tool = run_three(t, pid_path, sizeof pid_path, "log_level=info");
    snprintf(sock, sizeof sock, "%s.status", pid_path);
    status_json_until(t, pid_path, out, all_running, NULL);
    expect_private_socket(sock); /* as an ordinary user: only we can connect */
    if (geteuid() == 0) {
        other_user_make();
        assert_int_equal(chmod(t->dir, 0755), 0); /* the pid file is readable */
        /* the socket's mode refuses first */
        assert_int_equal(read_as_other(pid_path, err, sizeof err), 10);
        expect_in(err, "Permission denied", "the socket's mode");
        /* with the mode opened, the server's peer check refuses: no answer */
        assert_int_equal(chmod(sock, 0666), 0);
        assert_int_equal(read_as_other(pid_path, err, sizeof err), 10);
        expect_in(err, "the server gave no status", "the peer check");
        char line[64];
        snprintf(line, sizeof line, "Status: refused a peer of uid %u", (unsigned)g_user.uid);
        itest_wait_log(t, line, 1, DL);
        status_json_until(t, pid_path, out, all_running, NULL); /* we are still answered */
    }
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    assert_int_equal(access(sock, F_OK), -1);
}

/* With chuser, the socket is made before the privilege drop, so a pid file
 * in a directory only root writes still gets one, owned by the server's
 * user; the user cannot remove it at exit, and a status then finds nothing
 * answering. As an ordinary user, chuser names ourselves. */
static void
test_status_with_chuser_beside_a_pid_file_only_root_may_write_beside(void **state)
{
    struct itest *t = *state;
    static char out[TEXT_MAX];
    char pid_path[ITEST_PATH_MAX + 32], sock[ITEST_PATH_MAX + 64], kv[64];
    uid_t uid = geteuid();
    if (uid == 0) {
        other_user_make();
        uid = g_user.uid;
        snprintf(kv, sizeof kv, "chuser=%s", g_user.name);
        assert_int_equal(chmod(t->dir, 0755), 0); /* readable, writable by root only */
    } else {
        struct passwd *pw = getpwuid(uid);
        assert_non_null(pw);
        snprintf(kv, sizeof kv, "chuser=%s", pw->pw_name);
    }
    pid_t tool = run_three(t, pid_path, sizeof pid_path, kv);
    snprintf(sock, sizeof sock, "%s.status", pid_path);
    status_json_until(t, pid_path, out, all_running, NULL);
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_uid, uid); /* the server's user may ask too */
    assert_int_equal(itest_count_log(t, "No status socket"), 0);
    itest_kill(tool, SIGTERM);
    assert_int_equal(itest_wait_exit(t, tool, DL), 0);
    if (geteuid() == 0) {
        assert_int_equal(lstat(sock, &st), 0); /* left: the directory is root's */
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        assert_true(strlen(sock) < sizeof sun.sun_path);
        memcpy(sun.sun_path, sock, strlen(sock) + 1);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof sun), -1);
        assert_int_equal(errno, ECONNREFUSED); /* nothing answers: the next start replaces it */
        close(fd);
    } else {
        assert_int_equal(access(sock, F_OK), -1);
    }
}

int
main(int argc, char **argv)
{
    itest_main(argc, argv);
    if (!itest_tool_init(argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_shows_a_killed_workers_restart_and_its_signal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_under_a_supervisor_follows_the_restarted_server,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_without_a_pid_file_is_found_by_pid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_of_what_serves_none_is_refused_with_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_for_another_user_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_status_with_chuser_beside_a_pid_file_only_root_may_write_beside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, itest_group_setup, itest_group_teardown);
}
