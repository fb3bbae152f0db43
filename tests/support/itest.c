/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest.c: the integration-test harness (see itest.h): the generic test
 * server and worker that run inside the engine's processes, the engine
 * child (fork, then exec of the test binary), log polling with deadlines,
 * and the end-of-test checks (no survivor, no unreaped child, no leaked
 * descriptor).
 *
 * It never sleeps to let something happen: every loop polls a condition
 * (a log line, an exit status, /proc) every few milliseconds and gives up at
 * a deadline. The only sleeps are the worker's own simulated work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"
#include "support/itest.h"

extern char **environ;

#define POLL_MS       5  /* between two looks at a condition */
#define BEAT_EVERY_MS 50 /* manual_beat: the worker loop's period */
#define TAIL_LINES    30 /* log lines printed when a wait fails */
#define SURVIVORS_MAX 64
#define REAP_GRACE_MS 5000
#define CFG_TEXT_MAX  256

/* The test binary, which the engine's child execs (see itest_main). */
static char itest_exe[PATH_MAX];

/* ======================================================================== */
/* The generic test server and worker: this code runs in the engine's       */
/* processes (server, supervisor, workers), never in the test process.      */
/* ======================================================================== */

static void
cfg_text(const struct se_config *cfg, const char *key, char *buf, size_t size)
{
    if (se_config_get(cfg, key, buf, size) < 0) buf[0] = '\0';
}

static bool
cfg_is(const struct se_config *cfg, const char *key, const char *value)
{
    char buf[CFG_TEXT_MAX];
    cfg_text(cfg, key, buf, sizeof buf);
    return strcmp(buf, value) == 0;
}

/* Item `index` of a comma list such as "5,4,4,3"; the last item when the
 * list is shorter. */
static long
cfg_item(const struct se_config *cfg, const char *key, unsigned index)
{
    char buf[CFG_TEXT_MAX];
    cfg_text(cfg, key, buf, sizeof buf);
    const char *p = buf;
    for (unsigned i = 0;; i++) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (i == index || *end != ',') return v;
        p = end + 1;
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int
ts_before_run(struct se_server *s)
{
    se_log_info(se_server_logger(s), "TEST before_run pid=%d", (int)getpid());
    /* left in stdio's buffer on purpose: the forks that follow must not
     * copy it into every child (test_server.c counts it) */
    printf("TEST printf before_run pid=%d\n", (int)getpid());
    /* more than a pipe holds, from the process that reads the capture pipe */
    int64_t lines = 0;
    se_config_get_int(se_server_config(s), "print_lines", &lines);
    for (int64_t i = 0; i < lines; i++)
        printf("TEST bulk line %06lld %s\n", (long long)i,
               "................................................"
               "................................................");
    int64_t status = 0; /* a server that cannot start (a port in use, say) */
    se_config_get_int(se_server_config(s), "before_run_status", &status);
    return (int)status;
}

static void
ts_after_run(struct se_server *s)
{
    se_log_info(se_server_logger(s), "TEST after_run");
}

/* In the supervisor: says which configuration it sees; with
 * after_start_stop, asks the supervisor to stop through its server object. */
static void
ts_after_start(struct se_server *s)
{
    const struct se_config *cfg = se_server_config(s);
    char message[CFG_TEXT_MAX];
    cfg_text(cfg, "message", message, sizeof message);
    se_log_info(se_server_logger(s), "TEST after_start message=%s", message);
    if (cfg_is(cfg, "after_start_stop", "true")) se_server_stop(s, true);
}

static void
ts_reload_config(struct se_server *s)
{
    se_log_info(se_server_logger(s), "TEST reload_config");
}

static void
ts_stop(struct se_server *s, bool graceful)
{
    se_log_info(se_server_logger(s), "TEST stop graceful=%d", graceful ? 1 : 0);
}

static void
ts_restart(struct se_server *s, bool graceful)
{
    se_log_info(se_server_logger(s), "TEST restart graceful=%d", graceful ? 1 : 0);
}

static int
tw_init(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_blocking_flag_new();
    if (stop == NULL) return 1;
    se_worker_set_user_data(w, stop);
    return 0;
}

static void
tw_finalize(struct se_worker *w)
{
    se_blocking_flag_free(se_worker_user_data(w));
    se_worker_set_user_data(w, NULL);
}

static void
tw_stop(struct se_worker *w)
{
    se_log_info(se_worker_logger(w), "TEST stop worker=%u", se_worker_id(w));
    if (cfg_is(se_worker_config(w), "mode", "ignore_term")) return;
    se_blocking_flag_set(se_worker_user_data(w));
}

static void
tw_reload(struct se_worker *w)
{
    char message[CFG_TEXT_MAX];
    cfg_text(se_worker_config(w), "message", message, sizeof message);
    se_log_info(se_worker_logger(w), "TEST reload worker=%u message=%s", se_worker_id(w), message);
}

/* Beats from the worker's own loop for beat_ms, then stops beating (a
 * stuck loop in a live process) and waits for stop. Returns when stopped. */
static void
manual_beat(struct se_worker *w, struct se_blocking_flag *stop, long beat_ms)
{
    int64_t until = itest_now_ms() + beat_ms;
    while (itest_now_ms() < until) {
        if (se_blocking_flag_wait_for_set(stop, BEAT_EVERY_MS)) return;
        se_worker_heartbeat(w);
    }
    se_log_info(se_worker_logger(w), "TEST beats stopped worker=%u", se_worker_id(w));
    se_blocking_flag_wait_for_set(stop, -1);
}

/* A program started from run the way system() and popen() start one
 * (posix_spawn: the mask and ignored signals are inherited). */
static void
spawn_sleep(struct se_logger *lg, unsigned id, bool ignore_term)
{
    char *argv[] = {"sleep", "1000", NULL};
    char *argv_sh[] = {"sh", "-c", "trap '' TERM; exec sleep 1000", NULL};
    pid_t pid = -1;
    char **args = ignore_term ? argv_sh : argv;
    int rc = posix_spawnp(&pid, args[0], NULL, NULL, args, environ);
    if (rc != 0) {
        se_log_error(lg, "TEST grandchild failed worker=%u: %s", id, strerror(rc));
        return;
    }
    se_log_info(lg, "TEST grandchild worker=%u pid=%d", id, (int)pid);
}

static void
dump_signal_noop(int signo)
{
    (void)signo;
}

/* dump_signal_taken (mode dump_wait): "blocked", run's thread blocks the
 * dump's SIGRTMIN+5 (serverengine(3), UTILITIES); "handled", the program has
 * a handler of its own on it; "no", neither. */
static void
take_dump_signal(const struct se_config *cfg)
{
    int signo = SIGRTMIN + 5;
    if (cfg_is(cfg, "dump_signal_taken", "blocked")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signo);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    } else if (cfg_is(cfg, "dump_signal_taken", "handled")) {
        struct sigaction sa = {.sa_handler = dump_signal_noop};
        sigaction(signo, &sa, NULL);
    }
}

/* mode dump_wait: the asm after the wait keeps this frame on the stack
 * (no tail call), and default visibility (the build hides symbols) lets
 * -rdynamic export it, so that a dump of run's thread shows it by name. */
__attribute__((noinline, visibility("default"))) void
itest_run_waits_in_dump_frame(struct se_blocking_flag *stop)
{
    se_blocking_flag_wait_for_set(stop, -1);
    __asm__ volatile("" ::: "memory");
}

/* mode serve: answers "OK worker=N\n" to every connection on the first
 * `listen` socket (one datagram back for UDP) until stopped; a connection
 * accepted is always answered, stop or not. */
static void
serve(struct se_worker *w, struct se_blocking_flag *stop)
{
    int lfd = se_worker_listen_fd(w, 0);
    int type = 0;
    socklen_t len = sizeof type;
    if (lfd < 0 || getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return;
    char reply[64];
    int n = snprintf(reply, sizeof reply, "OK worker=%u\n", se_worker_id(w));
    while (!se_blocking_flag_is_set(stop)) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) continue;
        if (type == SOCK_DGRAM) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            char buf[512];
            if (recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) >= 0)
                (void)!sendto(lfd, reply, (size_t)n, 0, (struct sockaddr *)&from, flen);
            continue;
        }
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue; /* EAGAIN: another worker took it */
        (void)!send(c, reply, (size_t)n, MSG_NOSIGNAL);
        close(c);
    }
}

static int
tw_run(struct se_worker *w)
{
    struct se_blocking_flag *stop = se_worker_user_data(w);
    const struct se_config *cfg = se_worker_config(w);
    struct se_logger *lg = se_worker_logger(w);
    unsigned id = se_worker_id(w);
    char mode[CFG_TEXT_MAX];
    cfg_text(cfg, "mode", mode, sizeof mode);
    int code = (int)cfg_item(cfg, "exit_code", id);
    long after_ms = cfg_item(cfg, "exit_after_ms", id);
    long linger_ms = cfg_item(cfg, "stop_delay_ms", id);
    long beat_ms = cfg_item(cfg, "beat_stop_after_ms", id);
    bool process = cfg_is(cfg, "worker_type", "process");
    char message[CFG_TEXT_MAX];
    cfg_text(cfg, "message", message, sizeof message);
    se_log_info(lg, "TEST run worker=%u pid=%d", id, (int)getpid());
    se_log_info(lg, "TEST config worker=%u message=%s", id, message);

    int status = 0;
    if (strcmp(mode, "exit") == 0) {
        status = code;
    } else if (strcmp(mode, "exit_after") == 0) {
        status = se_blocking_flag_wait_for_set(stop, after_ms) ? 0 : code;
    } else if (strcmp(mode, "manual_beat") == 0) {
        manual_beat(w, stop, beat_ms);
    } else if (strcmp(mode, "crash") == 0) {
        abort();
    } else if (strcmp(mode, "spawn_sleep") == 0) {
        spawn_sleep(lg, id, cfg_is(cfg, "grandchild_ignores_term", "true"));
        se_blocking_flag_wait_for_set(stop, -1);
    } else if (strcmp(mode, "dump_wait") == 0) {
        take_dump_signal(cfg);
        itest_run_waits_in_dump_frame(stop);
    } else if (strcmp(mode, "serve") == 0) {
        se_log_info(lg, "TEST listen worker=%u count=%u name=%s", id, se_worker_listen_count(w),
                    se_worker_listen_count(w) > 0 ? se_worker_listen_name(w, 0) : "-");
        serve(w, stop);
    } else {
        /* sleep, ignore_term (stop never sets the flag), server_stop */
        if (strcmp(mode, "ignore_term") == 0 && process) signal(SIGQUIT, SIG_IGN);
        if (strcmp(mode, "server_stop") == 0) se_server_stop(se_worker_server(w), true);
        se_blocking_flag_wait_for_set(stop, -1);
    }
    if (se_blocking_flag_is_set(stop) && linger_ms > 0) {
        se_log_info(lg, "TEST lingering worker=%u ms=%ld", id, linger_ms);
        sleep_ms(linger_ms); /* the worker's own work, simulated */
    }
    se_log_info(lg, "TEST return worker=%u status=%d", id, status);
    return status;
}

/* The program's own keys (declared: no unknown-key warning). */
static const char *const user_keys[][2] = {
    {"mode", "sleep"},      {"exit_code", "0"},          {"exit_after_ms", "0"},
    {"stop_delay_ms", "0"}, {"beat_stop_after_ms", "0"}, {"message", "none"},
    {"print_lines", "0"},   {"before_run_status", "0"},  {"grandchild_ignores_term", "false"},
    {"spawn_cwd", ""},      {"spawn_program", ""},       {"dump_signal_taken", "no"},
};

/* Short timings, set as the program's defaults so a config file can
 * override them (sources: defaults, file, overrides). */
static const char *const timings[][2] = {
    {"worker_heartbeat_interval", "0.1"},
    {"worker_heartbeat_timeout", "1"},
    {"worker_graceful_kill_interval", "0.2"},
    {"worker_graceful_kill_interval_increment", "0"},
    {"worker_graceful_kill_timeout", "3"},
    {"worker_immediate_kill_interval", "0.2"},
    {"worker_immediate_kill_interval_increment", "0"},
    {"worker_immediate_kill_timeout", "1"},
    {"server_restart_wait", "0.2"},
    {"server_detach_wait", "5"},
    {"log_rotate_age", "0"},
};

static struct se_config *
child_defaults(void)
{
    struct se_config *d = se_config_new();
    char err[512];
    if (d == NULL) return NULL;
    for (size_t i = 0; i < sizeof user_keys / sizeof user_keys[0]; i++) {
        if (se_config_declare(d, user_keys[i][0], user_keys[i][1], err, sizeof err) < 0)
            fprintf(stderr, "itest: declare %s: %s\n", user_keys[i][0], err);
    }
    for (size_t i = 0; i < sizeof timings / sizeof timings[0]; i++) {
        if (se_config_set(d, timings[i][0], timings[i][1], err, sizeof err) < 0)
            fprintf(stderr, "itest: set %s: %s\n", timings[i][0], err);
    }
    return d;
}

/* The child's stdio: stdin from /dev/null, stdout/stderr to files. */
static void
child_stdio(const char *dir)
{
    char path[ITEST_PATH_MAX + 32];
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0 && in != 0) {
        dup2(in, 0);
        close(in);
    }
    const char *names[2] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.%d", dir, names[i], (int)getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0 && fd != i + 1) {
            dup2(fd, i + 1);
            close(fd);
        }
    }
}

/* A clean slate: what the test process (cmocka) changed is undone. */
static void
child_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
}

/* The engine's process after the exec: argv is ITEST_CHILD_FLAG, the
 * directory, the config path ("" for none), then the "key=value"s. */
static __attribute__((noreturn)) void
child_main(int argc, char **argv)
{
    const char *config_path = argv[3][0] != '\0' ? argv[3] : NULL;
    const char *kv[ITEST_ARGS_MAX * 2 + 8];
    size_t n = 0;
    bool run_anyway = false;
    for (int i = 4; i < argc && n < sizeof kv / sizeof kv[0]; i++) {
        if (strcmp(argv[i], ITEST_RUN_AFTER_CONFIG_ERROR) == 0)
            run_anyway = true;
        else
            kv[n++] = argv[i];
    }

    static const struct se_server_callbacks scb = {
        .before_run = ts_before_run,
        .after_run = ts_after_run,
        .after_start = ts_after_start,
        .reload_config = ts_reload_config,
        .stop = ts_stop,
        .restart = ts_restart,
    };
    static const struct se_worker_callbacks wcb = {
        .init = tw_init,
        .run = tw_run,
        .spawn = itest_spawn_callback, /* worker_type spawn: itest_spawn.c */
        .stop = tw_stop,
        .reload = tw_reload,
        .finalize = tw_finalize,
    };
    int err = 0;
    struct se_config *defaults = child_defaults();
    struct se_engine *e = se_engine_new(&scb, &wcb, NULL, &err);
    if (defaults == NULL || e == NULL) {
        fprintf(stderr, "itest: cannot make the engine: %s\n", se_strerror(err));
        _exit(98);
    }
    char msg[1024] = "";
    int rc = se_engine_configure(e, defaults, config_path, kv, n, msg, sizeof msg);
    se_config_free(defaults);
    if (rc < 0 && run_anyway) {
        /* a program that ignores the error: se_engine_run must still refuse */
        fprintf(stderr, "itest: configure failed (%s); calling se_engine_run anyway\n", msg);
    } else if (rc < 0) {
        /* what every program does (examples/example_util.h): say why, 78 */
        fprintf(stderr, "itest: %s\n", msg[0] != '\0' ? msg : se_strerror(rc));
        se_engine_free(e);
        _exit(78);
    }
    int status = se_engine_run(e);
    se_engine_free(e);
    fflush(NULL);
    _exit(status);
}

/* In the forked child, before the exec: a process group of its own, the
 * stdio files, a clean signal state. */
static __attribute__((noreturn)) void
child_exec(const char *dir, char **argv, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test process */
    if (getppid() != parent) _exit(97);
    child_stdio(dir);
    child_signals();
    struct rlimit no_core = {0, 0}; /* QUIT and abort() must not litter cores */
    setrlimit(RLIMIT_CORE, &no_core);
    char dump[ITEST_PATH_MAX + 32];
    snprintf(dump, sizeof dump, "%s/sigdump.log", dir);
    setenv("SIGDUMP_PATH", dump, 1);
    execv(argv[0], argv);
    fprintf(stderr, "itest: exec %s: %s\n", argv[0], strerror(errno));
    _exit(97);
}

/* ======================================================================== */
/* The test process owns its process tree: whatever way it ends (a failed  */
/* assertion, exit, a deadline's TERM, Ctrl-C), nothing it started outlives */
/* it. It is a child subreaper, so every orphan of the tree is its child.   */
/* ======================================================================== */

/* The process that owns the tree; 0 before itest_own_tree. Forked copies
 * (a worker of test_logger_multiproc) inherit the handlers, not the tree. */
static pid_t tree_owner;

/* The ppid field of /proc/<name>/stat, or -1; async-signal-safe. */
static pid_t
stat_ppid(const char *name)
{
    char path[64] = "/proc/";
    size_t n = strlen(path);
    for (size_t i = 0; name[i] != '\0' && n < sizeof path - 8; i++)
        path[n++] = name[i];
    memcpy(path + n, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[512];
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return -1;
    buf[len] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold anything */
    if (p == NULL || p[1] == '\0' || p[2] == '\0' || p[3] != ' ') return -1;
    pid_t ppid = 0;
    for (p += 4; *p >= '0' && *p <= '9'; p++)
        ppid = ppid * 10 + (*p - '0');
    return ppid;
}

/* SIGKILLs every child of this process (orphans of the tree included);
 * returns how many. Async-signal-safe: raw getdents64, no stdio, no malloc. */
static int
kill_children(void)
{
    int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return 0;
    pid_t self = getpid();
    int killed = 0;
    char buf[4096] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64 *e = (struct dirent64 *)(void *)(buf + off);
            off += e->d_reclen;
            pid_t pid = (pid_t)atoi(e->d_name);
            if (pid > 0 && stat_ppid(e->d_name) == self && kill(pid, SIGKILL) == 0) killed++;
        }
    }
    close(dir);
    return killed;
}

/* Ends the whole tree: kills the children, reaps them, and again for the
 * orphans they leave (a killed server's workers), until there is no child. */
static int
end_tree(void)
{
    int ended = 0;
    for (int round = 0; round < 1000; round++) {
        ended += kill_children();
        int st;
        pid_t r;
        while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
        }
        if (r < 0 && errno == ECHILD) break;
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return ended;
}

static void
end_tree_on_signal(int sig)
{
    if (getpid() == tree_owner) {
        int saved = errno;
        end_tree();
        errno = saved;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
end_tree_at_exit(void)
{
    if (getpid() != tree_owner) return;
    int ended = end_tree();
    if (ended > 0) fprintf(stderr, "itest: ended %d process(es) left at exit\n", ended);
}

void
itest_own_tree(void)
{
    if (tree_owner == getpid()) return;
    tree_owner = getpid();
    if (prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) != 0)
        fprintf(stderr, "itest: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
    atexit(end_tree_at_exit);
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa = {.sa_handler = end_tree_on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

void
itest_main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], ITEST_CHILD_FLAG) == 0) child_main(argc, argv);
    if (argc == 2 && strcmp(argv[1], ITEST_SPAWN_FLAG) == 0) itest_spawn_prog_main();
    itest_own_tree();
    /* the binary the children exec (under valgrind too: not valgrind's own) */
    if (realpath(argv[0], itest_exe) == NULL) {
        fprintf(stderr, "itest: realpath %s: %s\n", argv[0], strerror(errno));
        exit(1);
    }
}

/* ======================================================================== */
/* The test process side.                                                    */
/* ======================================================================== */

int64_t
itest_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_poll(void)
{
    sleep_ms(POLL_MS);
}

const void *
itest_param(const struct itest *t)
{
    return t->param;
}

void
itest_path(const struct itest *t, const char *name, char *buf, size_t buf_size)
{
    int n = snprintf(buf, buf_size, "%s/%s", t->dir, name);
    assert_true(n > 0 && (size_t)n < buf_size);
}

ssize_t
itest_read_file(const char *path, char *buf, size_t buf_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t got = 0;
    while (got + 1 < buf_size) {
        ssize_t r = read(fd, buf + got, buf_size - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

void
itest_write_file(const struct itest *t, const char *name, const char *text)
{
    char path[ITEST_PATH_MAX + 64];
    char tmp[ITEST_PATH_MAX + 72];
    itest_path(t, name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    assert_int_equal(rename(tmp, path), 0);
}

void
itest_stderr(const struct itest *t, pid_t pid, char *buf, size_t buf_size)
{
    char name[64];
    char path[ITEST_PATH_MAX + 64];
    snprintf(name, sizeof name, "stderr.%d", (int)pid);
    itest_path(t, name, path, sizeof path);
    if (itest_read_file(path, buf, buf_size) < 0) buf[0] = '\0';
}

/* ---- the log -------------------------------------------------------------- */

/* The whole log, NUL-terminated, malloc'd ("" when it does not exist yet). */
static char *
log_read(const struct itest *t)
{
    struct stat st;
    size_t size = stat(t->log_path, &st) == 0 ? (size_t)st.st_size : 0;
    char *buf = malloc(size + 4096); /* room for lines written meanwhile */
    assert_non_null(buf);
    if (itest_read_file(t->log_path, buf, size + 4096) < 0) buf[0] = '\0';
    return buf;
}

/* Calls visit(line, index, ud) for every line containing text; stops when
 * visit returns false. Returns the number of lines visited. */
static unsigned
log_scan(const struct itest *t, const char *text,
         bool (*visit)(const char *line, long no, void *ud), void *ud)
{
    char *buf = log_read(t);
    unsigned hits = 0;
    long no = 0;
    for (char *line = buf; *line != '\0'; no++) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) *nl = '\0';
        if (strstr(line, text) != NULL) {
            hits++;
            if (visit != NULL && !visit(line, no, ud)) break;
        }
        if (nl == NULL) break;
        line = nl + 1;
    }
    free(buf);
    return hits;
}

unsigned
itest_count_log(const struct itest *t, const char *text)
{
    return log_scan(t, text, NULL, NULL);
}

struct nth_find {
    unsigned want; /* 1-based */
    unsigned seen;
    long no;
    char *buf;
    size_t size;
};

static bool
nth_visit(const char *line, long no, void *ud)
{
    struct nth_find *f = ud;
    if (++f->seen < f->want) return true;
    f->no = no;
    if (f->buf != NULL) snprintf(f->buf, f->size, "%s", line);
    return false;
}

long
itest_log_line_no(const struct itest *t, const char *text, unsigned nth)
{
    struct nth_find f = {.want = nth, .no = -1};
    log_scan(t, text, nth_visit, &f);
    return f.no;
}

bool
itest_log_line(const struct itest *t, const char *text, unsigned nth, char *buf, size_t buf_size)
{
    struct nth_find f = {.want = nth, .no = -1, .buf = buf, .size = buf_size};
    log_scan(t, text, nth_visit, &f);
    return f.no >= 0;
}

/* Prints text line by line (cmocka's printers cut at 1 KiB). */
static void
print_lines(const char *title, const char *text)
{
    print_error("---- %s ----\n", title);
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        int len = nl != NULL ? (int)(nl - p) : (int)strlen(p);
        print_error("%.*s\n", len < 1000 ? len : 1000, p);
        p += len + (nl != NULL ? 1 : 0);
    }
    print_error("---- end ----\n");
}

static void
print_tail(const struct itest *t)
{
    char *buf = log_read(t);
    size_t len = strlen(buf);
    unsigned lines = 0;
    size_t from = len;
    while (from > 0) {
        if (buf[from - 1] == '\n' && from != len && ++lines == TAIL_LINES) break;
        from--;
    }
    char title[ITEST_PATH_MAX + 64];
    snprintf(title, sizeof title, "last %d lines of %s", TAIL_LINES, t->log_path);
    print_lines(title, buf + from);
    free(buf);
    for (size_t i = 0; i < t->kids_count; i++) {
        char err[4096];
        itest_stderr(t, t->kids[i], err, sizeof err);
        snprintf(title, sizeof title, "stderr of %d", (int)t->kids[i]);
        if (err[0] != '\0') print_lines(title, err);
    }
}

void
itest_wait_log(struct itest *t, const char *text, unsigned min_count, int64_t deadline_ms)
{
    int64_t end = itest_now_ms() + deadline_ms;
    unsigned n = 0;
    while ((n = itest_count_log(t, text)) < min_count) {
        if (itest_now_ms() >= end) {
            print_tail(t);
            fail_msg("waited %lld ms for %u line(s) with \"%s\" in the log; saw %u",
                     (long long)deadline_ms, min_count, text, n);
        }
        pause_poll();
    }
}

static pid_t
pid_after(const struct itest *t, const char *prefix, unsigned nth)
{
    char line[1024];
    unsigned n = nth > 0 ? nth : itest_count_log(t, prefix);
    if (n == 0 || !itest_log_line(t, prefix, n, line, sizeof line)) {
        print_tail(t);
        fail_msg("no log line with \"%s\"", prefix);
    }
    const char *p = strstr(line, prefix);
    assert_non_null(p);
    return (pid_t)atoi(p + strlen(prefix));
}

pid_t
itest_worker_pid(const struct itest *t, unsigned id)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "TEST run worker=%u pid=", id);
    return pid_after(t, prefix, 0);
}

pid_t
itest_server_pid(const struct itest *t, unsigned nth)
{
    return pid_after(t, "TEST before_run pid=", nth);
}

/* ---- processes -------------------------------------------------------- */

void
itest_kill(pid_t pid, int sig)
{
    assert_true(pid > 0);
    if (kill(pid, sig) < 0) fail_msg("kill(%d, %d): %s", (int)pid, sig, strerror(errno));
}

/* Fields of /proc/PID/stat: state, ppid, pgrp. false when pid is gone. */
static bool
proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp)
{
    char path[64];
    char buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (itest_read_file(path, buf, sizeof buf) <= 0) return false;
    const char *p = strrchr(buf, ')'); /* the command name may hold anything */
    int pp = 0, pg = 0;
    if (p == NULL || sscanf(p + 1, " %c %d %d", state, &pp, &pg) != 3) return false;
    *ppid = pp;
    *pgrp = pg;
    return true;
}

bool
itest_alive(pid_t pid)
{
    char state;
    pid_t ppid, pgrp;
    return proc_stat(pid, &state, &ppid, &pgrp) && state != 'Z' && state != 'X';
}

static bool
itest_exists(pid_t pid)
{
    char state;
    pid_t ppid, pgrp;
    return proc_stat(pid, &state, &ppid, &pgrp);
}

pid_t
itest_pgid_of(pid_t pid)
{
    char state;
    pid_t ppid, pgrp;
    return proc_stat(pid, &state, &ppid, &pgrp) ? pgrp : -1;
}

void
itest_track_pgid(struct itest *t, pid_t pgid)
{
    if (pgid <= 0 || pgid == getpgrp()) return;
    for (size_t i = 0; i < t->pgids_count; i++) {
        if (t->pgids[i] == pgid) return;
    }
    assert_true(t->pgids_count < ITEST_PGIDS_MAX);
    t->pgids[t->pgids_count++] = pgid;
}

static void
kid_reaped(struct itest *t, pid_t pid)
{
    for (size_t i = 0; i < t->kids_count; i++) {
        if (t->kids[i] == pid) t->kids_reaped[i] = true;
    }
}

/* Children of the test process, zombies included. */
static size_t
children_of_self(pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (d == NULL) return 0;
    size_t n = 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        pid_t pid = (pid_t)atoi(e->d_name);
        char state;
        pid_t ppid, pgrp;
        if (pid > 0 && proc_stat(pid, &state, &ppid, &pgrp) && ppid == self) out[n++] = pid;
    }
    closedir(d);
    return n;
}

static int
decode_status(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

/* Kills pid's whole group (never the test's own) and pid itself. */
static void
kill_group_of(pid_t pid)
{
    pid_t pg = itest_pgid_of(pid);
    if (pg > 0 && pg != getpgrp()) kill(-pg, SIGKILL);
    kill(pid, SIGKILL);
}

int
itest_wait_exit(struct itest *t, pid_t pid, int64_t deadline_ms)
{
    assert_true(pid > 0);
    int64_t end = itest_now_ms() + deadline_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            kid_reaped(t, pid);
            return decode_status(st);
        }
        /* not ours: done when it is gone. A zombie is not gone: while the
         * parent that has not reaped it is ending, it is on its way to us
         * (we are the subreaper); CI saw one dead and not yet ours right
         * after its server was killed, and ours with status 137 later. */
        if (r < 0 && errno == ECHILD && !itest_exists(pid)) return -1;
        if (r < 0 && errno != ECHILD && errno != EINTR)
            fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
        if (itest_now_ms() >= end) {
            bool dead = !itest_alive(pid);
            kill_group_of(pid);
            print_tail(t);
            fail_msg("process %d %s after %lld ms", (int)pid,
                     dead ? "ended and was not reaped by its parent" : "still running",
                     (long long)deadline_ms);
        }
        pause_poll();
    }
}

static bool
is_kid(const struct itest *t, pid_t pid)
{
    for (size_t i = 0; i < t->kids_count; i++) {
        if (t->kids[i] == pid) return true;
    }
    return false;
}

pid_t
itest_wait_adopted(struct itest *t, int64_t deadline_ms, int *status)
{
    int64_t end = itest_now_ms() + deadline_ms;
    for (;;) {
        /* only look at adopted children: never reap a kid behind the test's back */
        pid_t pids[SURVIVORS_MAX];
        size_t n = children_of_self(pids, SURVIVORS_MAX);
        for (size_t i = 0; i < n; i++) {
            int st = 0;
            if (is_kid(t, pids[i]) || waitpid(pids[i], &st, WNOHANG) != pids[i]) continue;
            *status = decode_status(st);
            return pids[i];
        }
        if (itest_now_ms() >= end) {
            print_tail(t);
            fail_msg("no adopted child exited within %lld ms", (long long)deadline_ms);
        }
        pause_poll();
    }
}

pid_t
itest_start(struct itest *t, const char *config_path, ...)
{
    char *argv[ITEST_ARGS_MAX * 2 + 8];
    size_t n = 0;
    char log_kv[ITEST_PATH_MAX + 8];
    snprintf(log_kv, sizeof log_kv, "log=%s", t->log_path);
    assert_true(itest_exe[0] != '\0'); /* main() calls itest_main first */
    argv[n++] = itest_exe;
    argv[n++] = (char *)ITEST_CHILD_FLAG;
    argv[n++] = t->dir;
    argv[n++] = (char *)(config_path != NULL ? config_path : "");
    argv[n++] = log_kv;
    for (size_t i = 0; i < t->args_count; i++)
        argv[n++] = t->args[i];
    va_list ap;
    va_start(ap, config_path);
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n + 1 < sizeof argv / sizeof argv[0]);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    assert_true(t->kids_count < ITEST_KIDS_MAX);

    pid_t parent = getpid();
    fflush(NULL); /* the child must not print the test's buffered output again */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) child_exec(t->dir, argv, parent);
    setpgid(pid, pid); /* also done by the child: whichever comes first */
    t->kids[t->kids_count++] = pid;
    itest_track_pgid(t, pid);
    return pid;
}

void
itest_set(struct itest *t, const char *fmt, ...)
{
    assert_true(t->args_count < ITEST_ARGS_MAX);
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&t->args[t->args_count], fmt, ap);
    va_end(ap);
    assert_true(rc > 0);
    t->args_count++;
}

/* ---- fixtures ------------------------------------------------------------ */

/* "fd -> target" lines of /proc/self/fd, without the listing's own. */
static void
fds_snapshot(char *out, size_t size)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int own = dirfd(d);
    bool open_fd[1024] = {false};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != own && fd >= 0 && fd < 1024) open_fd[fd] = true;
    }
    closedir(d);
    out[0] = '\0';
    size_t len = 0;
    for (int fd = 0; fd < 1024; fd++) {
        if (!open_fd[fd]) continue;
        char link[64];
        char target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0) continue;
        target[n] = '\0';
        int w = snprintf(out + len, size - len, "%d -> %s\n", fd, target);
        if (w < 0 || (size_t)w >= size - len) break;
        len += (size_t)w;
    }
}

int
itest_group_setup(void **state)
{
    (void)state;
    /* orphans (a daemon, workers of a killed server) become our children */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) != 0) return -1;
    return 0;
}

int
itest_group_teardown(void **state)
{
    (void)state;
    return 0;
}

int
itest_setup(void **state)
{
    struct itest *t = calloc(1, sizeof *t);
    if (t == NULL) return -1;
    t->param = *state;
    snprintf(t->dir, sizeof t->dir, "/tmp/se-itest-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    snprintf(t->log_path, sizeof t->log_path, "%s/test.log", t->dir);
    fds_snapshot(t->fds_before, sizeof t->fds_before);
    *state = t;
    return 0;
}

/* Live processes (not zombies) in a tracked group or adopted by us. */
static size_t
survivors(const struct itest *t, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (d == NULL) return 0;
    size_t n = 0;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        pid_t pid = (pid_t)atoi(e->d_name);
        char state;
        pid_t ppid, pgrp;
        if (pid <= 0 || pid == self || !proc_stat(pid, &state, &ppid, &pgrp)) continue;
        if (state == 'Z' || state == 'X') continue;
        bool ours = ppid == self;
        for (size_t i = 0; i < t->pgids_count && !ours; i++)
            ours = pgrp == t->pgids[i];
        if (ours) out[n++] = pid;
    }
    closedir(d);
    return n;
}

static void
print_process(pid_t pid)
{
    char path[64];
    char cmd[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    ssize_t n = itest_read_file(path, cmd, sizeof cmd);
    for (ssize_t i = 0; i < n; i++) {
        if (cmd[i] == '\0') cmd[i] = ' ';
    }
    print_error("survivor: pid %d (%s), pgid %d\n", (int)pid, n > 0 ? cmd : "?",
                (int)itest_pgid_of(pid));
}

/* A test that failed midway left its children running: kill their groups,
 * reap them and whatever they orphaned, quietly (the test has failed
 * already). */
static void
kill_failed_test(struct itest *t)
{
    bool any = false;
    for (size_t i = 0; i < t->kids_count; i++) {
        if (t->kids_reaped[i]) continue;
        any = true;
        kill_group_of(t->kids[i]);
        int st;
        while (waitpid(t->kids[i], &st, 0) < 0 && errno == EINTR) {
        }
        t->kids_reaped[i] = true;
    }
    if (!any) return;
    int64_t end = itest_now_ms() + REAP_GRACE_MS;
    pid_t pids[SURVIVORS_MAX];
    size_t n;
    while ((n = survivors(t, pids, SURVIVORS_MAX)) > 0 && itest_now_ms() < end) {
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        pause_poll();
        int st;
        while (waitpid(-1, &st, WNOHANG) > 0) {
        }
    }
    int st;
    while (waitpid(-1, &st, WNOHANG) > 0) {
    }
}

/* Processes a test left behind; 0 when there is none. */
static int
kill_leftovers(struct itest *t)
{
    kill_failed_test(t);
    pid_t pids[SURVIVORS_MAX];
    size_t n = survivors(t, pids, SURVIVORS_MAX);
    for (size_t i = 0; i < n; i++) {
        print_process(pids[i]);
        kill(pids[i], SIGKILL);
    }
    return n > 0 ? -1 : 0;
}

/* Reaps what is left; -1 when a child had been left unreaped (a zombie
 * nobody collected, or an adopted orphan). Waits for killed ones. */
static int
reap_rest(const struct itest *t)
{
    int bad = 0;
    int64_t end = itest_now_ms() + REAP_GRACE_MS;
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r > 0) {
            print_error("child %d was left unreaped (status %d)\n", (int)r, decode_status(st));
            bad = -1;
            continue;
        }
        pid_t pids[SURVIVORS_MAX];
        bool live = r == 0 || survivors(t, pids, SURVIVORS_MAX) > 0;
        if (!live || itest_now_ms() >= end) break;
        pause_poll();
    }
    return bad;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int
itest_teardown(void **state)
{
    struct itest *t = *state;
    int bad = kill_leftovers(t);
    if (reap_rest(t) < 0) bad = -1;
    char fds_after[ITEST_FDS_MAX];
    fds_snapshot(fds_after, sizeof fds_after);
    if (strcmp(t->fds_before, fds_after) != 0) {
        print_error("descriptors leaked:\nbefore:\n%safter:\n%s", t->fds_before, fds_after);
        bad = -1;
    }
    if (bad < 0) print_tail(t);
    if (getenv("ITEST_KEEP") != NULL) /* for a look at the log after the test */
        print_message("# kept %s\n", t->dir);
    else
        nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < t->args_count; i++)
        free(t->args[i]);
    free(t);
    *state = NULL;
    return bad;
}
