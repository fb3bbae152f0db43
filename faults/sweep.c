/* SPDX-License-Identifier: Apache-2.0 */
/*
 * se-fault-sweep: the SQLite-style fault sweep over the real adapter
 * (make check-faults; built with -DFIU_ENABLE=1 and libfiu).
 *
 * For every fault point of faults/points.def and every scenario below:
 *   1. run the scenario with the point counting its hits (never failing);
 *   2. for k = 1 .. min(hits, SWEEP_K): run it with the k-th hit failing
 *      once (transient), then with every hit from the k-th on failing
 *      (persistent), the errno cycling through the point's list.
 * Each run must end well: the engine keeps running and stops on TERM, or
 * exits by itself with a status and a log line saying why. Never a crash
 * (a fatal signal), a hang (the run's deadline), an orphan or a zombie (the
 * sweep is the child subreaper: anything left is its child), or a descriptor
 * leaked by the engine (the engine process counts its fds before and after).
 * A point with no hit in any scenario fails the sweep, unless it is listed as
 * unreachable here with the reason.
 *
 *   se-fault-sweep [--point NAME] [--scenario NAME] [-k N] [--verbose]
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "se_fault.h"
#include "serverengine.h"

#define SWEEP_K           4
#define WORKERS           2
#define DRIVE_DEADLINE_MS 5000  /* a scenario's steps; a stalled start ends them */
#define STOP_DEADLINE_MS  10000 /* TERM to exit: longer is a hang */
#define EXIT_FD_LEAK      101

struct shared {
    uint32_t hits;
    uint32_t fail_from, fail_to; /* fail hits in [from, to] */
    int fail_errno;
    uint32_t runs[WORKERS];
    int32_t pids[WORKERS];
};

static struct shared *sh; /* a program's own state: this is a test tool, not the library */
static char tmpdir[256];
static bool verbose;

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
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
}

/* libfiu asks this on every hit of the enabled point (in every process). */
static int
on_hit(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
    (void)name, (void)failnum, (void)flags;
    uint32_t n = __atomic_add_fetch(&sh->hits, 1, __ATOMIC_ACQ_REL);
    if (n < sh->fail_from || n > sh->fail_to) return 0;
    *failinfo = (void *)(intptr_t)sh->fail_errno;
    return 1;
}

/* ---- the engine under test ---------------------------------------------- */

static int
w_init(struct se_worker *w)
{
    se_worker_set_user_data(w, se_blocking_flag_new());
    return 0;
}

static int
w_run(struct se_worker *w)
{
    uint32_t id = se_worker_id(w) % WORKERS;
    sh->pids[id] = (int32_t)getpid();
    __atomic_add_fetch(&sh->runs[id], 1, __ATOMIC_ACQ_REL);
    int fd = -1; /* socket_manager: true: one request to the SocketManager */
    if (se_server_socket_manager_path(se_worker_server(w)) != NULL &&
        se_socket_manager_listen_tcp("127.0.0.1", 0, &fd) == 0)
        close(fd);
    struct se_blocking_flag *f = se_worker_user_data(w);
    for (int i = 0; f != NULL && !se_blocking_flag_wait_for_set(f, 50); i++)
        se_log_info(se_worker_logger(w), "worker %u line %d", se_worker_id(w), i);
    return 0;
}

static void
w_stop(struct se_worker *w)
{
    if (se_worker_user_data(w) != NULL) se_blocking_flag_set(se_worker_user_data(w));
}

static void
w_fin(struct se_worker *w)
{
    se_blocking_flag_free(se_worker_user_data(w));
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL) return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static __attribute__((noreturn)) void
engine_child(const char *point, const char *const *sets, size_t n)
{
    setpgid(0, 0);
    char err_path[300];
    snprintf(err_path, sizeof err_path, "%s/stderr", tmpdir);
    if (freopen(err_path, "w", stderr) != NULL) setvbuf(stderr, NULL, _IONBF, 0);
    fiu_init(0);
    if (point != NULL) fiu_enable_external(point, 1, NULL, 0, on_hit);
    static const struct se_worker_callbacks wcb = {
        .init = w_init, .run = w_run, .stop = w_stop, .finalize = w_fin};
    int fds = count_fds(), err = 0;
    char msg[512];
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    if (e == NULL) _exit(1);
    int status = 78;
    if (se_engine_configure(e, NULL, NULL, sets, n, msg, sizeof msg) == 0)
        status = se_engine_run(e);
    se_engine_free(e);
    fflush(NULL);
    if (status == 0 && count_fds() > fds) _exit(EXIT_FD_LEAK);
    _exit(status);
}

/* ---- scenarios ---------------------------------------------------------- */

struct run {
    pid_t pid;    /* the engine process we forked (a daemon's launcher) */
    pid_t daemon; /* the daemon, once known: our child too (we are the subreaper) */
    int64_t deadline;
    bool exited;
    int status;
};

static bool
poll_exit(struct run *r)
{
    if (r->exited) return true;
    pid_t target = r->daemon > 0 ? r->daemon : r->pid;
    if (waitpid(target, &r->status, WNOHANG) == target) r->exited = true;
    return r->exited;
}

static pid_t
target_of(const struct run *r)
{
    return r->daemon > 0 ? r->daemon : r->pid;
}

/* Waits for cond or the engine's exit or the deadline. */
static bool
wait_until(struct run *r, bool (*cond)(void *), void *arg)
{
    while (!cond(arg)) {
        if (poll_exit(r) || now_ms() > r->deadline) return false;
        nap();
    }
    return true;
}

static bool
all_ran(void *arg)
{
    const uint32_t *base = arg;
    for (int i = 0; i < WORKERS; i++) {
        if (__atomic_load_n(&sh->runs[i], __ATOMIC_ACQUIRE) <= base[i]) return false;
    }
    return true;
}

static bool
one_ran(void *arg)
{
    const uint32_t *base = arg;
    return __atomic_load_n(&sh->runs[0], __ATOMIC_ACQUIRE) > base[0];
}

static void
runs_now(uint32_t *base)
{
    for (int i = 0; i < WORKERS; i++)
        base[i] = __atomic_load_n(&sh->runs[i], __ATOMIC_ACQUIRE);
}

/* start, crash one, reload, restart all, stop */
static void
drive_lifecycle(struct run *r)
{
    uint32_t base[WORKERS] = {0};
    if (!wait_until(r, all_ran, base)) return;
    runs_now(base);
    kill(sh->pids[0], SIGKILL);
    wait_until(r, one_ran, base);
    kill(target_of(r), SIGUSR2);
    runs_now(base);
    kill(target_of(r), SIGUSR1);
    wait_until(r, all_ran, base);
}

/* The launcher exits once the daemon is ready; the daemon's pid is in the
 * pid file. Then the same steps as a foreground server. */
static void
drive_daemon(struct run *r)
{
    int status = 0;
    while (waitpid(r->pid, &status, WNOHANG) != r->pid) {
        if (now_ms() > r->deadline) return;
        nap();
    }
    char path[300];
    snprintf(path, sizeof path, "%s/test.pid", tmpdir);
    FILE *f = fopen(path, "re");
    int pid = 0;
    if (f != NULL && fscanf(f, "%d", &pid) != 1) pid = 0;
    if (f != NULL) fclose(f);
    if (WEXITSTATUS(status) != 0 || pid <= 0) {
        /* the daemon could not start: the launcher's status is the verdict */
        r->exited = true;
        r->status = status;
        return;
    }
    r->daemon = pid;
    drive_lifecycle(r);
}

/* start, reload, restart all, stop: threads cannot be killed alone */
static void
drive_threads(struct run *r)
{
    uint32_t base[WORKERS] = {0};
    if (!wait_until(r, all_ran, base)) return;
    kill(target_of(r), SIGUSR2);
    runs_now(base);
    kill(target_of(r), SIGUSR1);
    wait_until(r, all_ran, base);
}

struct scenario {
    const char *name;
    const char *sets[20];
    void (*drive)(struct run *r);
};

static const struct scenario scenarios[] = {
    {"process",
     {"worker_type=process", "workers=2", "log=LOG", "log_rotate_size=1024", "log_rotate_age=3",
      "worker_heartbeat_interval=0.05", "worker_graceful_kill_interval=0.5",
      "worker_graceful_kill_timeout=2", "worker_immediate_kill_timeout=1",
      "worker_restart_backoff_max=0.2", "listen=[tcp://127.0.0.1:0, udp://localhost:0]", NULL},
     drive_lifecycle},
    {"thread",
     {"worker_type=thread", "workers=2", "log=LOG", "worker_restart_backoff_max=0.2",
      "socket_manager=true", NULL},
     drive_threads},
    {"supervisor",
     {"worker_type=process", "workers=2", "log=LOG", "supervisor=true", "server_restart_wait=0.1",
      "listen=UNIX", "worker_restart_backoff_max=0.2", "worker_graceful_kill_interval=0.5",
      "worker_graceful_kill_timeout=2", "worker_immediate_kill_timeout=1", NULL},
     drive_lifecycle},
    {"daemon",
     {"worker_type=process", "workers=2", "log=LOG", "daemonize=true", "pid_path=PID",
      "chuser=nobody", "log_rotate_size=2048", "log_rotate_age=1", "daemon_process_name=se-sweep",
      "worker_restart_backoff_max=0.2", "worker_graceful_kill_interval=0.5",
      "worker_graceful_kill_timeout=2", "worker_immediate_kill_timeout=1", NULL},
     drive_daemon},
    {"daemon-stale",
     {"worker_type=process", "workers=2", "log=LOG", "daemonize=true", "pid_path=STALE",
      "chgroup=nogroup", "supervisor=true", "worker_graceful_kill_interval=0.5",
      "worker_graceful_kill_timeout=2", "worker_immediate_kill_timeout=1", NULL},
     drive_daemon},
};

/* Points no scenario reaches yet, and why. */
enum verdict { V_OK, V_CRASH, V_HANG, V_LEAK, V_SILENT };
static const char *const verdict_names[] = {"ok", "CRASH", "HANG", "LEAK", "SILENT"};

/* Outcomes a point's contract allows (points.def's last column). */
static bool
allowed(const char *point, enum verdict v, bool persistent)
{
    /* kill() failing forever: the escalation retries on its schedule, so a
     * stop cannot finish; the engine keeps running, as documented */
    if (strcmp(point, "se/os/proc/kill") == 0 && persistent && v == V_HANG) return true;
    /* an injected ECHILD says "someone else reaped it" of a child that lives
     * on: the engine, told it is gone, restarts its slot; the real process
     * is then not the engine's any more (it is in the real case: reaped) */
    if (strcmp(point, "se/os/proc/wait") == 0 && (v == V_LEAK || v == V_HANG)) return true;
    /* the launcher cannot read the daemon's report: it exits with the error
     * code while the daemon, which did report, runs on (its pid file still
     * refuses a second instance) */
    if (strcmp(point, "se/os/io/read") == 0 && v == V_LEAK) return true;
    /* every write failing: no log line and no message can be written */
    if (strcmp(point, "se/os/io/write") == 0 && persistent && v == V_SILENT) return true;
    return false;
}

static const char *const unreachable[] = {
    "se/os/proc/exec",           /* spawn workers (worker_type spawn) have their own issue */
    "se/os/fs/pidfile_truncate", /* se__pidfile_update: the engine writes it after the fork */
    "se/os/net/dup",             /* se__net_place_fds: for spawn workers (their own issue) */
};

static size_t
build_sets(const struct scenario *sc, const char **sets, char *log, char *pid, size_t size)
{
    size_t n = 0;
    snprintf(log, size, "log=%s/test.log", tmpdir);
    snprintf(pid, size, "pid_path=%s/test.pid", tmpdir);
    char path[300];
    snprintf(path, sizeof path, "%s/test.pid", tmpdir);
    unlink(path); /* a fresh start: the pid file is created (link) */
    for (; sc->sets[n] != NULL; n++) {
        sets[n] = sc->sets[n];
        if (strcmp(sc->sets[n], "log=LOG") == 0) sets[n] = log;
        if (strcmp(sc->sets[n], "pid_path=PID") == 0) sets[n] = pid;
        if (strcmp(sc->sets[n], "listen=UNIX") == 0) { /* a unix socket with a mode */
            static char listen[300];
            snprintf(listen, sizeof listen, "listen=unix:%s/s.sock?mode=0600", tmpdir);
            sets[n] = listen;
        }
        if (strcmp(sc->sets[n], "pid_path=STALE") == 0) {
            /* a stale file, left by a dead instance: replaced (rename) */
            FILE *f = fopen(path, "we");
            if (f != NULL) fprintf(f, "999999\n");
            if (f != NULL) fclose(f);
            sets[n] = pid;
        }
    }
    return n;
}

/* Our children now (as the subreaper, orphans of the engine are ours too). */
static int
children(pid_t *out, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "re");
    int n = 0;
    while (f != NULL && n < max && fscanf(f, "%d", &out[n]) == 1)
        n++;
    if (f != NULL) fclose(f);
    return n;
}

/* Anything still alive after the engine's end is a leak: killed, reaped and
 * counted; waits until none is left (bounded). */
static int
leftovers(void)
{
    /* first a moment for what is ending anyway (a daemon that reported a
     * failure, workers whose server just left) */
    int64_t grace = now_ms() + 3000;
    while (now_ms() < grace) {
        pid_t kids[64];
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (children(kids, 64) == 0) break;
        nap();
    }
    int count = 0;
    int64_t until = now_ms() + 8000;
    for (;;) {
        pid_t kids[64];
        int n = children(kids, 64);
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
            count++;
        if (n == 0 && p < 0) return count;
        if (now_ms() > until) return count + 1;
        nap();
    }
}

/* A nonzero exit must say why: an ERROR/FATAL/WARN log line or a message
 * on stderr (the log may be what failed to open). */
static bool
log_has_reason(void)
{
    char path[300], line[512];
    bool found = false;
    snprintf(path, sizeof path, "%s/test.log", tmpdir);
    FILE *f = fopen(path, "re");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (line[0] == 'E' || line[0] == 'F' || line[0] == 'W') found = true;
    }
    if (f != NULL) fclose(f);
    snprintf(path, sizeof path, "%s/stderr", tmpdir);
    f = fopen(path, "re");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        found = found || line[0] != '\0';
    if (f != NULL) fclose(f);
    return found;
}

static enum verdict
run_one(const struct scenario *sc, const char *point, uint32_t from, uint32_t to, int err,
        uint32_t *hits)
{
    memset(sh, 0, sizeof *sh);
    sh->fail_from = from;
    sh->fail_to = to;
    sh->fail_errno = err;
    char log[300], pid[300], path[300];
    const char *sets[20];
    size_t n = build_sets(sc, sets, log, pid, sizeof log);
    snprintf(path, sizeof path, "%s/test.log", tmpdir);
    unlink(path); /* the engine creates it, and hands it over to chuser (se/os/cred/chown) */
    struct run r = {.deadline = now_ms() + DRIVE_DEADLINE_MS};
    fflush(NULL); /* a child (the daemon flushes stdio) must not print our buffer again */
    r.pid = fork();
    if (r.pid == 0) engine_child(point, sets, n);
    sc->drive(&r);
    if (!poll_exit(&r)) kill(target_of(&r), SIGTERM);
    r.deadline = now_ms() + STOP_DEADLINE_MS;
    while (!poll_exit(&r) && now_ms() < r.deadline)
        nap();
    bool hung = !r.exited;
    int left = leftovers();
    *hits = sh->hits;
    if (hung) return V_HANG;
    if (WIFSIGNALED(r.status)) return V_CRASH;
    if (left > 0 || WEXITSTATUS(r.status) == EXIT_FD_LEAK) return V_LEAK;
    if (WEXITSTATUS(r.status) != 0 && !log_has_reason()) return V_SILENT;
    return V_OK;
}

struct tally {
    unsigned runs, failed;
};

static void
sweep_point(int id, const struct scenario *sc, int k_max, struct tally *t, uint32_t *hits_total)
{
    const struct se_fault_info *f = &se__fault_table[id];
    uint32_t hits = 0;
    enum verdict v = run_one(sc, f->name, UINT32_MAX, UINT32_MAX, 0, &hits);
    t->runs++;
    *hits_total += hits;
    if (v != V_OK) {
        t->failed++;
        printf("  %s / %s: without any failure: %s\n", f->name, sc->name, verdict_names[v]);
    }
    unsigned ok_t = 0, ok_p = 0, n = 0;
    for (uint32_t k = 1; k <= hits && k <= (uint32_t)k_max; k++, n++) {
        int err = f->errnos[(k - 1) % SE_FAULT_ERRNOS_MAX]
                      ? f->errnos[(k - 1) % SE_FAULT_ERRNOS_MAX]
                      : f->errnos[0];
        uint32_t h;
        enum verdict vt = run_one(sc, f->name, k, k, err, &h);
        enum verdict vp = run_one(sc, f->name, k, UINT32_MAX, err, &h);
        if (allowed(f->name, vt, false)) vt = V_OK;
        if (allowed(f->name, vp, true)) vp = V_OK;
        t->runs += 2;
        ok_t += vt == V_OK;
        ok_p += vp == V_OK;
        if (vt != V_OK || vp != V_OK) {
            t->failed += (vt != V_OK) + (vp != V_OK);
            printf("  %s / %s: hit %u failing (%s): transient %s, persistent %s\n", f->name,
                   sc->name, k, strerror(err), verdict_names[vt], verdict_names[vp]);
        }
    }
    if (verbose || hits > 0)
        printf("%-22s %-10s hits=%-5u transient=%u/%u persistent=%u/%u\n", f->name, sc->name, hits,
               ok_t, n, ok_p, n);
}

static bool
is_unreachable(const char *name)
{
    for (size_t i = 0; i < sizeof unreachable / sizeof unreachable[0]; i++) {
        if (strcmp(unreachable[i], name) == 0) return true;
    }
    return false;
}

int
main(int argc, char **argv)
{
    const char *only_point = NULL, *only_scenario = NULL;
    int k_max = SWEEP_K;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--point") == 0 && i + 1 < argc)
            only_point = argv[++i];
        else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc)
            only_scenario = argv[++i];
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            k_max = atoi(argv[++i]);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else {
            fprintf(stderr, "usage: se-fault-sweep [--point NAME] [--scenario NAME] [-k N]\n");
            return 2;
        }
    }
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/se-sweep-XXXXXX");
    if (sh == MAP_FAILED || mkdtemp(tmpdir) == NULL) return 1;
    chmod(tmpdir, 0777);              /* the daemon scenario drops to nobody */
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the engine come to us: counted as leaks */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    fiu_set_prng_seed(1); /* libfiu reseeds from the clock otherwise */
    struct tally t = {0};
    unsigned unhit = 0;
    for (int id = 0; id < SE_FAULT_COUNT; id++) {
        const char *name = se__fault_table[id].name;
        if (only_point != NULL && strcmp(only_point, name) != 0) continue;
        uint32_t hits = 0;
        for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
            if (only_scenario != NULL && strcmp(only_scenario, scenarios[s].name) != 0) continue;
            sweep_point(id, &scenarios[s], k_max, &t, &hits);
        }
        if (hits == 0 && !is_unreachable(name)) {
            printf("%-22s NO HIT in any scenario: add a scenario that reaches it\n", name);
            unhit++;
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (getenv("SWEEP_KEEP") == NULL && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    printf("se-fault-sweep: %u runs, %u failed, %u points never hit\n", t.runs, t.failed, unhit);
    return t.failed == 0 && unhit == 0 ? 0 : 1;
}
