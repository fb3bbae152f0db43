/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_restart: how fast the engine reacts, on real processes.
 *
 *   stall    SIGSTOP one worker (heartbeat 0.1 s / timeout 1 s) -> replacement runs
 *   restart  USR1 to the server -> all 4 workers replaced and running
 *   cold     the engine process forked -> 4 workers running
 *   stop     TERM to the server -> the whole tree is gone (server reaped)
 *   idle     server (+ supervisor) PSS and wake-ups per second over 10 s
 *   loop     a worker that exits at once: restarts/s after the backoff ramp, CPU
 *
 * Repeated crashes (SIGKILL), at 4, 100 and 1,000 workers and next to runit,
 * s6 and Ruby ServerEngine, are bench_crash's. Every scenario runs with the
 * engine's default restart settings, as users get them. Each timing is
 * median / p95 / max over the samples, next to a baseline measured in the
 * same run where there is one: the same worker body under raw fork() and
 * waitpid(). Workers report the moment their run starts in a shared page, so
 * the bench observes what a client would: a worker ready to work. Not a
 * test: nothing here is asserted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define WORKERS    4
#define SAMPLES    60
#define DEADLINE_S 10.0

struct slot {
    volatile int64_t start_ns; /* when the latest run of this worker id began */
    volatile int32_t pid;
    volatile uint32_t seq; /* runs so far */
};

static struct slot *shm; /* the bench's own shared page; the bench is a program, not the library */

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
mark_start(uint32_t id)
{
    struct slot *s = &shm[id];
    s->start_ns = now_ns();
    s->pid = (int32_t)getpid();
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
}

/* ---- the worker ---------------------------------------------------------- */

static int
w_init(struct se_worker *w)
{
    se_worker_set_user_data(w, se_blocking_flag_new());
    return 0;
}

static int
w_run(struct se_worker *w)
{
    mark_start(se_worker_id(w));
    int64_t exit_code = -1;
    se_config_get_int(se_worker_config(w), "exit_at_once", &exit_code);
    if (exit_code >= 0) return (int)exit_code;
    se_blocking_flag_wait_for_set(se_worker_user_data(w), -1);
    return 0;
}

static void
w_stop(struct se_worker *w)
{
    se_blocking_flag_set(se_worker_user_data(w));
}

static void
w_fin(struct se_worker *w)
{
    se_blocking_flag_free(se_worker_user_data(w));
}

static pid_t
start_engine(const char *const *sets, size_t n)
{
    fflush(stdout); /* the engine's process must not inherit the bench's unwritten lines */
    pid_t pid = fork();
    if (pid != 0) return pid;
    static const struct se_worker_callbacks wcb = {
        .init = w_init, .run = w_run, .stop = w_stop, .finalize = w_fin};
    int err = 0;
    char msg[256];
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    struct se_config *defaults = se_config_new();
    if (e == NULL || defaults == NULL ||
        se_config_declare(defaults, "exit_at_once", "-1", msg, sizeof msg) != 0 ||
        se_engine_configure(e, defaults, NULL, sets, n, msg, sizeof msg) != 0)
        _exit(99);
    se_config_free(defaults);
    int status = se_engine_run(e);
    se_engine_free(e);
    _exit(status);
}

/* ---- waiting on the shared page, always with a deadline ----------------- */

static bool
wait_seq(uint32_t id, uint32_t above, int64_t *start_ns)
{
    int64_t until = now_ns() + (int64_t)(DEADLINE_S * 1e9);
    while (__atomic_load_n(&shm[id].seq, __ATOMIC_ACQUIRE) <= above) {
        if (now_ns() > until) return false;
        struct timespec ts = {0, 20000}; /* 20 us: the resolution of the figures */
        nanosleep(&ts, NULL);
    }
    *start_ns = shm[id].start_ns;
    return true;
}

static bool
wait_all_above(const uint32_t *seqs, int64_t *last_ns)
{
    *last_ns = 0;
    for (uint32_t i = 0; i < WORKERS; i++) {
        int64_t t;
        if (!wait_seq(i, seqs[i], &t)) return false;
        if (t > *last_ns) *last_ns = t;
    }
    return true;
}

static void
snapshot(uint32_t *seqs)
{
    for (uint32_t i = 0; i < WORKERS; i++)
        seqs[i] = __atomic_load_n(&shm[i].seq, __ATOMIC_ACQUIRE);
}

static int
reap(pid_t pid)
{
    int64_t until = now_ns() + (int64_t)(DEADLINE_S * 1e9);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    return status;
}

/* ---- statistics ------------------------------------------------------------ */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void
report(const char *what, int64_t *ns, int n, const char *unit_note)
{
    if (n == 0) {
        printf("%-44s no samples\n", what);
        return;
    }
    qsort(ns, (size_t)n, sizeof *ns, cmp_i64);
    double med = (double)ns[n / 2] / 1e6, p95 = (double)ns[(n * 95) / 100] / 1e6,
           max = (double)ns[n - 1] / 1e6;
    printf("%-44s median %8.3f ms  p95 %8.3f ms  max %8.3f ms  (%d samples)%s\n", what, med, p95,
           max, n, unit_note);
}

/* ---- scenarios -------------------------------------------------------------- */

static const char *const process4[] = {"worker_type=process", "workers=4", "log=/dev/null"};
#define PROCESS4_SETS (sizeof process4 / sizeof process4[0])

/* Sends sig to one worker after another (ids in turn) and times each until
 * that worker's replacement runs. Each worker is signalled as soon as its run
 * starts, so the signal lands next to its first beat; a stalled worker is
 * killed 1 s after its last beat, so its run lasts at least 1 s and is no
 * turn of a crash loop: no wait is needed between the samples. */
static void
time_replacements(const char *const *sets, size_t sets_count, int sig, int samples,
                  const char *what)
{
    int64_t ns[SAMPLES];
    int n = 0;
    memset(shm, 0, sizeof *shm * WORKERS);
    pid_t srv = start_engine(sets, sets_count);
    uint32_t seqs[WORKERS] = {0};
    int64_t t;
    if (!wait_all_above(seqs, &t)) goto out;
    for (int i = 0; i < samples && i < SAMPLES; i++) {
        uint32_t id = (uint32_t)i % WORKERS, before = shm[id].seq;
        int64_t t0 = now_ns();
        kill(shm[id].pid, sig);
        if (!wait_seq(id, before, &t)) break;
        ns[n++] = t - t0;
    }
out:
    kill(srv, SIGTERM);
    reap(srv);
    report(what, ns, n, "");
}

static void
bench_stall(int samples)
{
    static const char *const sets[] = {"worker_type=process", "workers=4", "log=/dev/null",
                                       "worker_heartbeat_interval=0.1",
                                       "worker_heartbeat_timeout=1"};
    time_replacements(sets, sizeof sets / sizeof sets[0], SIGSTOP, samples,
                      "stall (SIGSTOP, timeout 1 s) -> replacement");
}

static void
bench_restart(void)
{
    int64_t ns[SAMPLES];
    int n = 0;
    memset(shm, 0, sizeof *shm * WORKERS);
    pid_t srv = start_engine(process4, PROCESS4_SETS);
    uint32_t seqs[WORKERS] = {0};
    int64_t t;
    if (!wait_all_above(seqs, &t)) goto out;
    for (int i = 0; i < SAMPLES; i++) {
        snapshot(seqs);
        int64_t t0 = now_ns();
        kill(srv, SIGUSR1);
        if (!wait_all_above(seqs, &t)) break;
        ns[n++] = t - t0;
    }
out:
    kill(srv, SIGTERM);
    reap(srv);
    report("graceful restart (USR1) -> 4 replaced", ns, n, "");
}

static void
bench_cold_and_stop(void)
{
    int64_t cold[SAMPLES], stop[SAMPLES];
    int nc = 0, ns_ = 0;
    for (int i = 0; i < SAMPLES; i++) {
        memset(shm, 0, sizeof *shm * WORKERS);
        uint32_t seqs[WORKERS] = {0};
        int64_t t0 = now_ns(), t;
        pid_t srv = start_engine(process4, PROCESS4_SETS);
        bool ok = wait_all_above(seqs, &t);
        if (ok) cold[nc++] = t - t0;
        int64_t s0 = now_ns();
        kill(srv, SIGTERM);
        if (reap(srv) >= 0 && ok) stop[ns_++] = now_ns() - s0;
    }
    report("cold start -> 4 workers running", cold, nc, "");
    report("graceful stop (TERM) -> tree gone", stop, ns_, "");
}

static void
baseline_cold_and_stop(void)
{
    int64_t cold[SAMPLES], stop[SAMPLES];
    int n = 0;
    for (int i = 0; i < SAMPLES; i++) {
        memset(shm, 0, sizeof *shm * WORKERS);
        uint32_t seqs[WORKERS] = {0};
        pid_t kids[WORKERS];
        int64_t t0 = now_ns(), t;
        for (uint32_t k = 0; k < WORKERS; k++) {
            kids[k] = fork();
            if (kids[k] == 0) {
                mark_start(k);
                pause();
                _exit(0);
            }
        }
        if (!wait_all_above(seqs, &t)) break;
        cold[n] = t - t0;
        int64_t s0 = now_ns();
        for (uint32_t k = 0; k < WORKERS; k++)
            kill(kids[k], SIGTERM);
        for (uint32_t k = 0; k < WORKERS; k++)
            waitpid(kids[k], NULL, 0);
        stop[n++] = now_ns() - s0;
    }
    report("  baseline: 4 raw forks running", cold, n, "");
    report("  baseline: 4 raw kill+waitpid", stop, n, "");
}

/* ---- idle cost and crash loop --------------------------------------------- */

static long
proc_field(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "re");
    long v = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) v = strtol(line + strlen(key), NULL, 10);
    }
    fclose(f);
    return v;
}

static long
switches(pid_t pid)
{
    return proc_field(pid, "status", "voluntary_ctxt_switches:") +
           proc_field(pid, "status", "nonvoluntary_ctxt_switches:");
}

static pid_t
first_child(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    int child = -1;
    if (f != NULL && fscanf(f, "%d", &child) != 1) child = -1;
    if (f != NULL) fclose(f);
    return child;
}

static long
cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    long utime = 0, stime = 0;
    /* fields after the name: state is 3rd; utime 14th, stime 15th */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

static void
sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void
bench_idle(void)
{
    static const char *const sets[] = {"worker_type=process", "workers=4", "log=/dev/null",
                                       "supervisor=true"};
    memset(shm, 0, sizeof *shm * WORKERS);
    pid_t sup = start_engine(sets, sizeof sets / sizeof sets[0]);
    uint32_t seqs[WORKERS] = {0};
    int64_t t;
    if (!wait_all_above(seqs, &t)) {
        kill(sup, SIGTERM);
        reap(sup);
        return;
    }
    pid_t srv = first_child(sup);
    sleep_s(1.0); /* let start-up settle before the window */
    long s0 = switches(sup) + switches(srv);
    double window = 10.0;
    sleep_s(window);
    long s1 = switches(sup) + switches(srv);
    long pss = proc_field(sup, "smaps_rollup", "Pss:") + proc_field(srv, "smaps_rollup", "Pss:");
    printf("%-44s PSS %.2f MiB; %.2f wake-ups/s over %.0f s (default heartbeat settings)\n",
           "idle: supervisor + server", (double)pss / 1024.0, (double)(s1 - s0) / window, window);
    kill(sup, SIGTERM);
    reap(sup);
}

static void
bench_crash_loop(void)
{
    static const char *const sets[] = {"worker_type=process", "workers=1", "log=/dev/null",
                                       "exit_at_once=1"};
    memset(shm, 0, sizeof *shm);
    pid_t srv = start_engine(sets, sizeof sets / sizeof sets[0]);
    sleep_s(15.0); /* the backoff ramp: 0, 0.2, 0.4 ... 6.4, then 10 s */
    uint32_t r0 = shm[0].seq;
    long c0 = cpu_ticks(srv);
    double window = 30.0;
    sleep_s(window);
    uint32_t r1 = shm[0].seq;
    long c1 = cpu_ticks(srv);
    double hz = (double)sysconf(_SC_CLK_TCK);
    printf("%-44s %.2f restarts/s, server CPU %.2f%% over %.0f s after the ramp (%u starts in "
           "all)\n",
           "crash loop (worker exits at once)", (double)(r1 - r0) / window,
           100.0 * (double)(c1 - c0) / hz / window, window, r1);
    kill(srv, SIGTERM);
    reap(srv);
}

int
main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) return 1;
    signal(SIGPIPE, SIG_IGN);
    printf("bench_restart: 4 process workers; times from the action to the worker's run\n");
    bench_stall(quick ? 8 : 50);
    bench_restart();
    bench_cold_and_stop();
    baseline_cold_and_stop();
    if (quick) return 0;
    bench_idle();
    bench_crash_loop();
    return 0;
}
