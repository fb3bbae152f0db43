/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest_spawn.c: the harness's spawn worker (worker_type spawn). The test
 * engine's `spawn` callback runs the test binary again as a plain program
 * (ITEST_SPAWN_FLAG), which behaves by the same `mode` keys as the generic
 * worker (itest.h), passed in its environment, and writes the same "TEST"
 * lines to the engine's log through its own logger:
 *   sleep        run until TERM (or GRACEFUL_STOP on stdin);
 *   exit         exit with exit_code at once;
 *   exit_after   exit with exit_code after exit_after_ms;
 *   ignore_term  ignore TERM and QUIT;
 *   manual_beat  write one byte on SERVERENGINE_HEARTBEAT_PIPE every 50 ms for
 *                beat_stop_after_ms (< 0: for ever), then stop beating;
 *   crash        abort().
 * Keys of its own: spawn_program (argv[0] instead of the test binary; "-":
 * the callback fails),
 * spawn_cwd (its working directory). Extra lines: "TEST env worker=N hb=H" (H: the heartbeat fd, or
 * "none"), "TEST fds worker=N count=C: FD:TARGET..." (descriptors it was given), "TEST cwd worker=N
 * dir=D", "TEST word worker=N W" (a command read on stdin), "TEST stdin eof
 * worker=N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"
#include "support/itest.h"

#define SPAWN_WORKERS_MAX 64
#define SPAWN_ENV_MAX     8
#define SPAWN_TEXT_MAX    300
#define TICK_MS           50

/* ---- in the engine: the spawn callback ----------------------------------- */

struct spawn_slot {
    char env_text[SPAWN_ENV_MAX][SPAWN_TEXT_MAX];
    const char *envp[SPAWN_ENV_MAX + 1];
    const char *argv[3];
    char exe[SPAWN_TEXT_MAX];
    char program[SPAWN_TEXT_MAX];
};

/* One per worker id, in the engine's server process only (test code). */
static struct spawn_slot spawn_slots[SPAWN_WORKERS_MAX];

static void
put_env(struct spawn_slot *s, size_t *n, const struct se_config *cfg, const char *name,
        const char *key, unsigned id)
{
    char value[SPAWN_TEXT_MAX - 32] = "";
    if (se_config_get(cfg, key, value, sizeof value) < 0) value[0] = '\0';
    /* comma lists: worker N takes item N (the last item when shorter) */
    char *item = value;
    for (unsigned i = 0; i < id; i++) {
        char *comma = strchr(item, ',');
        if (comma == NULL) break;
        item = comma + 1;
    }
    char *end = strchr(item, ',');
    if (end != NULL && strcmp(key, "log") != 0) *end = '\0';
    snprintf(s->env_text[*n], sizeof s->env_text[*n], "%s=%s", name, item);
    s->envp[*n] = s->env_text[*n];
    (*n)++;
}

int
itest_spawn_callback(struct se_worker *w, struct se_spawn_cmd *cmd)
{
    unsigned id = se_worker_id(w);
    if (id >= SPAWN_WORKERS_MAX) return 1;
    struct spawn_slot *s = &spawn_slots[id];
    const struct se_config *cfg = se_worker_config(w);
    ssize_t len = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    if (len <= 0) return 1;
    s->exe[len] = '\0';
    size_t n = 0;
    put_env(s, &n, cfg, "ITEST_LOG", "log", id);
    put_env(s, &n, cfg, "ITEST_MODE", "mode", id);
    put_env(s, &n, cfg, "ITEST_EXIT_CODE", "exit_code", id);
    put_env(s, &n, cfg, "ITEST_EXIT_AFTER_MS", "exit_after_ms", id);
    put_env(s, &n, cfg, "ITEST_BEAT_MS", "beat_stop_after_ms", id);
    put_env(s, &n, cfg, "ITEST_STOP_DELAY_MS", "stop_delay_ms", id);
    put_env(s, &n, cfg, "ITEST_MESSAGE", "message", id);
    s->envp[n] = NULL;
    s->argv[0] = s->exe;
    if (se_config_get(cfg, "spawn_program", s->program, sizeof s->program) >= 0 &&
        s->program[0] != '\0')
        s->argv[0] = s->program;                /* a program that is not there, for exec failures */
    if (strcmp(s->program, "-") == 0) return 1; /* the callback fails */
    s->argv[1] = ITEST_SPAWN_FLAG;
    s->argv[2] = NULL;
    cmd->argv = s->argv;
    cmd->envp = s->envp;
    char dir[SPAWN_TEXT_MAX];
    if (se_config_get(cfg, "spawn_cwd", dir, sizeof dir) >= 0 && dir[0] != '\0') {
        static char cwd[SPAWN_WORKERS_MAX][SPAWN_TEXT_MAX];
        snprintf(cwd[id], sizeof cwd[id], "%s", dir);
        cmd->cwd = cwd[id];
    }
    return 0;
}

/* ---- the spawned program ------------------------------------------------- */

static volatile sig_atomic_t got_term, got_usr2;

static void
on_signal(int sig)
{
    if (sig == SIGTERM) got_term = 1;
    if (sig == SIGUSR2) got_usr2 = 1;
}

struct prog {
    struct se_logger *lg;
    const char *id;
    const char *mode;
    int code;
    long after_ms, beat_ms, linger_ms;
    int hb_fd;
    int log_fd;
    int64_t start_ms;
    bool beats_stopped;
    char line[256];
    size_t line_len;
};

static long
env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : def;
}

static __attribute__((noreturn)) void
prog_exit(struct prog *p, int status, bool stopped)
{
    if (stopped && p->linger_ms > 0) {
        se_log_info(p->lg, "TEST lingering worker=%s ms=%ld", p->id, p->linger_ms);
        struct timespec ts = {p->linger_ms / 1000, (p->linger_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* the program's own work, simulated */
    }
    se_log_info(p->lg, "TEST return worker=%s status=%d", p->id, status);
    se_logger_free(p->lg);
    close(p->log_fd);
    exit(status);
}

/* The descriptors it holds, but its log's and the directory's own: their
 * count, and what each one is into names. */
static unsigned
count_fds(int skip_fd, char *names, size_t size)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return 0;
    names[0] = '\0';
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd == dirfd(d) || fd == skip_fd) continue;
        char path[64], target[128] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        size_t at = strlen(names);
        snprintf(names + at, size - at, " %d:%s", fd, target);
        n++;
    }
    closedir(d);
    return n;
}

static void
on_word(struct prog *p, const char *word, size_t len)
{
    enum se_cmd cmd = SE_CMD_NONE;
    se_log_info(p->lg, "TEST word worker=%s %.*s", p->id, (int)len, word);
    if (se_cmd_parse(word, len, &cmd) < 0) return;
    if (cmd == SE_CMD_GRACEFUL_STOP || cmd == SE_CMD_GRACEFUL_RESTART) got_term = 1;
    if (cmd == SE_CMD_RELOAD) got_usr2 = 1;
    if (cmd == SE_CMD_IMMEDIATE_STOP) prog_exit(p, 0, false);
}

static void
read_stdin(struct prog *p)
{
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) {
        se_log_info(p->lg, "TEST stdin eof worker=%s", p->id);
        prog_exit(p, 0, true);
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            on_word(p, p->line, p->line_len);
            p->line_len = 0;
        } else if (p->line_len < sizeof p->line) {
            p->line[p->line_len++] = buf[i];
        }
    }
}

static void
tick(struct prog *p, bool watch_stdin)
{
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int n = poll(&pfd, watch_stdin ? 1 : 0, TICK_MS);
    if (n > 0 && (pfd.revents & (POLLIN | POLLHUP))) read_stdin(p);
    if (got_term && strcmp(p->mode, "ignore_term") != 0) {
        se_log_info(p->lg, "TEST stop worker=%s", p->id);
        prog_exit(p, 0, true);
    }
    if (got_usr2) {
        got_usr2 = 0;
        se_log_info(p->lg, "TEST reload worker=%s message=%s", p->id, getenv("ITEST_MESSAGE"));
    }
    int64_t age_ms = itest_now_ms() - p->start_ms;
    if (strcmp(p->mode, "manual_beat") == 0 && (p->beat_ms < 0 || age_ms < p->beat_ms)) {
        ssize_t w = write(p->hb_fd, "x", 1);
        (void)w;
    } else if (strcmp(p->mode, "manual_beat") == 0 && !p->beats_stopped) {
        p->beats_stopped = true;
        se_log_info(p->lg, "TEST beats stopped worker=%s", p->id);
    }
    if (strcmp(p->mode, "exit_after") == 0 && age_ms >= p->after_ms) prog_exit(p, p->code, false);
}

void
itest_spawn_prog_main(void)
{
    /* Signals first: a test that saw "TEST run" may signal at once (the
     * program's own window between exec and this, as any program has). */
    const char *mode = getenv("ITEST_MODE");
    if (mode != NULL && strcmp(mode, "ignore_term") == 0) signal(SIGQUIT, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    int err = 0;
    /* its own log descriptor, opened here so that it is known */
    int log_fd = open(getenv("ITEST_LOG") ? getenv("ITEST_LOG") : "/dev/null",
                      O_WRONLY | O_APPEND | O_CLOEXEC);
    struct prog p = {.lg = se_logger_new_fd(log_fd, &err),
                     .log_fd = log_fd,
                     .id = getenv("SERVERENGINE_WORKER_ID"),
                     .mode = getenv("ITEST_MODE"),
                     .code = (int)env_long("ITEST_EXIT_CODE", 0),
                     .after_ms = env_long("ITEST_EXIT_AFTER_MS", 0),
                     .beat_ms = env_long("ITEST_BEAT_MS", 0),
                     .linger_ms = env_long("ITEST_STOP_DELAY_MS", 0),
                     .hb_fd = (int)env_long("SERVERENGINE_HEARTBEAT_PIPE", -1),
                     .start_ms = itest_now_ms()};
    if (p.lg == NULL || p.id == NULL || p.mode == NULL) exit(99);
    const char *hb = getenv("SERVERENGINE_HEARTBEAT_PIPE");
    char cwd[SPAWN_TEXT_MAX] = "";
    if (getcwd(cwd, sizeof cwd) == NULL) cwd[0] = '\0';
    se_log_info(p.lg, "TEST run worker=%s pid=%d", p.id, (int)getpid());
    se_log_info(p.lg, "TEST env worker=%s hb=%s", p.id, hb != NULL ? hb : "none");
    char names[1024];
    unsigned fds = count_fds(p.log_fd, names, sizeof names);
    se_log_info(p.lg, "TEST fds worker=%s count=%u:%s", p.id, fds, names);
    se_log_info(p.lg, "TEST cwd worker=%s dir=%s", p.id, cwd);
    if (strcmp(p.mode, "exit") == 0) prog_exit(&p, p.code, false);
    if (strcmp(p.mode, "crash") == 0) abort();
    /* stdin is a command pipe when it is a pipe (command_sender: pipe) */
    struct stat st;
    bool watch_stdin = fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);
    for (;;)
        tick(&p, watch_stdin);
}
