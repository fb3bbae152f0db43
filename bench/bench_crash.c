/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_crash: repeated crashes, the engine next to its peers, in one run.
 *
 * Each row SIGKILLs one worker after another, 4 worker ids in turn, each
 * worker killed again only once it has been up at least 1.1 s since its last
 * start, and times SIGKILL -> the replacement's run started (the worker
 * records the monotonic time its run starts in a shared file, one slot per
 * worker id). Rows:
 *
 *   engine, N = 4, 100, 1000 process workers, default settings (the ids
 *       killed are 0, N/3, 2N/3 and N-1); the engine's workers fork without exec;
 *   raw loop: a minimal C parent blocked in waitpid() that forks again (no
 *       exec, like the engine), one that forks and execs bench_worker (like
 *       runit and s6): what exec costs on this machine, and one whose parent
 *       holds 2,000 descriptors that the child closes one by one before it
 *       runs (what a fork costs in a server of 1,000 workers);
 *   runit's runsv, s6's s6-supervise (without and with readiness, through
 *       notification-fd) and Ruby ServerEngine (worker_type process,
 *       bench/bench_crash_serverengine.rb), 4 workers each, where installed;
 *       a row is skipped with a note otherwise. runsv and s6-supervise run
 *       bench_worker directly: the service's `run` is a link to it, its slot
 *       and file come from the environment; the service directories are on
 *       tmpfs (/dev/shm) when there is one, as under /run in a real system.
 *
 * Each row but the raw loops' (blocked in waitpid) also gives the
 * supervising processes' idle wake-ups per second (context switches of all
 * their threads, from /proc) over 10 s after the kills, with default
 * heartbeat settings. 40 samples a row; --quick: 12, and idle over 2 s.
 * Not a test: nothing is asserted. Run from the repository's top directory
 * (for the Ruby script). Usage: bench_crash [--quick]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define SLOTS       1024 /* the shared file holds the engine's maximum pool */
#define KILLED      4    /* worker ids killed in turn */
#define MAX_SAMPLES 64
#define UP_NS       1100000000LL /* a worker is killed again after this long up */
#define REPLACE_S   15.0         /* longer than the default backoff ceiling (10 s) */
#define RUBY_SCRIPT "bench/bench_crash_serverengine.rb"

struct slot {
    volatile int64_t start_ns; /* when the latest run of this worker id began */
    volatile int32_t pid;
    volatile uint32_t seq; /* runs so far; written last */
};

struct row {
    char name[64];
    int workers;
    int n;
    int64_t ns[MAX_SAMPLES];
    double idle; /* wake-ups/s; < 0 when not measured */
    char note[128];
};

/* The bench's own state; it is a program, not the library. */
static struct slot *shm;
static char tmpdir[64], shm_path[128], worker_path[PATH_MAX];
static volatile sig_atomic_t interrupted;
static int samples = 40;
static double idle_window = 10.0;

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps ns, cut short by an interrupt (^C) when `interruptible`. */
static void
nap(int64_t ns, bool interruptible)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (!(interruptible && interrupted) && nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void
sleep_ns(int64_t ns)
{
    nap(ns, true);
}

static uint32_t
seq_of(uint32_t id)
{
    return __atomic_load_n(&shm[id].seq, __ATOMIC_ACQUIRE);
}

/* Waits until worker id's run count exceeds `above`, polling every 100 us
 * (the figures come from the worker's own stamp, not from this poll). */
static bool
wait_seq(uint32_t id, uint32_t above, double deadline_s)
{
    int64_t until = now_ns() + (int64_t)(deadline_s * 1e9);
    while (seq_of(id) <= above) {
        if (interrupted || now_ns() > until) return false;
        sleep_ns(100000);
    }
    return true;
}

static bool
wait_all_started(int n, double deadline_s)
{
    int64_t until = now_ns() + (int64_t)(deadline_s * 1e9);
    for (uint32_t id = 0; id < (uint32_t)n; id++) {
        double left = (double)(until - now_ns()) / 1e9;
        if (!wait_seq(id, 0, left > 0 ? left : 0)) return false;
    }
    return true;
}

/* ---- processes: the bench is a subreaper, so every descendant is reaped --- */

static void
child_defaults(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
}

static pid_t
spawn(char *const argv[], const char *id, const char *notify_fd)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    child_defaults();
    setenv("BENCH_FILE", shm_path, 1);
    if (id != NULL) setenv("BENCH_ID", id, 1);
    if (notify_fd != NULL) setenv("BENCH_NOTIFY_FD", notify_fd, 1);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execvp(argv[0], argv);
    _exit(127);
}

/* Waits for pid with a deadline; SIGKILLs it when the deadline passes. */
static int
reap(pid_t pid, double deadline_s)
{
    int64_t until = now_ns() + (int64_t)(deadline_s * 1e9);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nap(1000000, false);
    }
    return status;
}

static int
run_cmd(char *const argv[])
{
    pid_t pid = spawn(argv, NULL, NULL);
    return pid < 0 ? -1 : reap(pid, 10.0);
}

/* SIGKILLs and reaps whatever is left below the bench (orphaned workers are
 * re-parented to it), until it has no child left. */
static void
kill_all_children(void)
{
    for (int round = 0; round < 1000; round++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
        FILE *f = fopen(path, "re");
        int pid, any = 0;
        while (f != NULL && fscanf(f, "%d", &pid) == 1) {
            kill(pid, SIGKILL);
            any = 1;
        }
        if (f != NULL) fclose(f);
        if (!any) return;
        nap(2000000, false);
    }
}

/* Notes why a row is short; an interrupt (^C) is the reason when there was one. */
static void
note(struct row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (interrupted)
        snprintf(r->note, sizeof r->note, "interrupted");
    else
        vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

/* ---- measuring ------------------------------------------------------------- */

/* Kills ids[] in turn, each once it has been up >= 1.1 s, and records each
 * SIGKILL -> replacement's recorded start. */
static void
measure(struct row *r, const uint32_t ids[KILLED])
{
    for (int i = 0; i < samples && !interrupted; i++) {
        uint32_t id = ids[i % KILLED], before = seq_of(id);
        int64_t up_at = shm[id].start_ns + UP_NS, now = now_ns();
        if (now < up_at) sleep_ns(up_at - now);
        pid_t pid = shm[id].pid;
        int64_t t0 = now_ns();
        if (pid <= 0 || kill(pid, SIGKILL) < 0) {
            note(r, "could not signal worker %u", id);
            return;
        }
        if (!wait_seq(id, before, REPLACE_S)) {
            note(r, "worker %u not replaced within %.0f s", id, REPLACE_S);
            return;
        }
        r->ns[r->n++] = shm[id].start_ns - t0;
    }
    if (interrupted) note(r, "interrupted");
}

static long
task_switches(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    long sum = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char st[300]; /* a task id is at most 10 digits */
        snprintf(st, sizeof st, "/proc/%d/task/%s/status", (int)pid, e->d_name);
        FILE *f = fopen(st, "re");
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
                sum += strtol(line + 24, NULL, 10);
            if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
                sum += strtol(line + 27, NULL, 10);
        }
        if (f != NULL) fclose(f);
    }
    if (d != NULL) closedir(d);
    return sum;
}

/* Idle wake-ups/s of the supervising processes: 1 s to settle, then the
 * context switches of all their threads over the window. */
static void
measure_idle(struct row *r, const pid_t *pids, int n)
{
    sleep_ns(1000000000);
    long s0 = 0, s1 = 0;
    for (int i = 0; i < n; i++)
        s0 += task_switches(pids[i]);
    sleep_ns((int64_t)(idle_window * 1e9));
    for (int i = 0; i < n; i++)
        s1 += task_switches(pids[i]);
    if (!interrupted) r->idle = (double)(s1 - s0) / idle_window;
}

static void
prepare(struct row *r, const char *name, int workers)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->workers = workers;
    r->idle = -1;
    memset(shm, 0, sizeof *shm * SLOTS);
}

/* ---- the engine ------------------------------------------------------------ */

static void
mark_start(uint32_t id)
{
    struct slot *s = &shm[id];
    s->start_ns = now_ns();
    s->pid = (int32_t)getpid();
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
}

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
start_engine(int workers)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    child_defaults();
    static const struct se_worker_callbacks wcb = {
        .init = w_init, .run = w_run, .stop = w_stop, .finalize = w_fin};
    char n[32], msg[256];
    snprintf(n, sizeof n, "workers=%d", workers);
    const char *sets[] = {"worker_type=process", n, "log=/dev/null"};
    int err = 0;
    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err);
    if (e == NULL || se_engine_configure(e, NULL, NULL, sets, 3, msg, sizeof msg) != 0) {
        fprintf(stderr, "bench_crash: engine: %s\n", e == NULL ? "cannot create" : msg);
        _exit(99);
    }
    int status = se_engine_run(e);
    se_engine_free(e);
    _exit(status);
}

static void
row_engine(struct row *r, int workers)
{
    char name[64];
    snprintf(name, sizeof name, "engine, process workers, defaults");
    prepare(r, name, workers);
    uint32_t ids[KILLED] = {0, (uint32_t)workers / 3, 2 * (uint32_t)workers / 3,
                            (uint32_t)workers - 1};
    pid_t srv = start_engine(workers);
    if (srv < 0 || !wait_all_started(workers, 120.0)) {
        note(r, "the %d workers did not all start", workers);
    } else {
        measure(r, ids);
        measure_idle(r, &srv, 1);
    }
    if (srv > 0) {
        kill(srv, SIGTERM);
        if (reap(srv, 30.0) < 0) note(r, "TERM did not stop it");
    }
    kill_all_children();
}

/* ---- raw loops: a parent blocked in waitpid() that starts the worker again - */

enum raw_kind {
    RAW_FORK_ONLY, /* the child runs at once */
    RAW_FORK_EXEC, /* the child execs bench_worker */
    RAW_FORK_FDS   /* the parent holds RAW_FDS descriptors; the child closes them */
};

#define RAW_FDS 2000 /* about what a server with 1,000 workers holds */

static pid_t
raw_start(uint32_t id, enum raw_kind kind, int fd_max)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (kind == RAW_FORK_EXEC) {
        char ids[16];
        snprintf(ids, sizeof ids, "%u", id);
        execl(worker_path, "bench_worker", shm_path, ids, (char *)NULL);
        _exit(127);
    }
    for (int fd = 3; fd <= fd_max; fd++) /* one by one, as a child that closes what it knows */
        close(fd);
    mark_start(id);
    for (;;)
        pause();
}

static void
raw_loop(enum raw_kind kind)
{
    child_defaults();
    int fd_max = 0, p[2];
    struct rlimit rl;
    if (kind == RAW_FORK_FDS && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < RAW_FDS + 64) {
        rl.rlim_cur = rl.rlim_max < RAW_FDS + 64 ? rl.rlim_max : RAW_FDS + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; kind == RAW_FORK_FDS && i < RAW_FDS / 2 && pipe(p) == 0; i++)
        fd_max = p[1];
    pid_t kids[KILLED];
    for (uint32_t id = 0; id < KILLED; id++)
        kids[id] = raw_start(id, kind, fd_max);
    for (;;) {
        pid_t pid = waitpid(-1, NULL, 0);
        if (pid < 0 && errno != EINTR) _exit(0);
        for (uint32_t id = 0; id < KILLED; id++)
            if (kids[id] == pid) kids[id] = raw_start(id, kind, fd_max);
    }
}

static void
row_raw(struct row *r, enum raw_kind kind)
{
    static const char *const names[] = {"raw loop: waitpid, fork",
                                        "raw loop: waitpid, fork + exec bench_worker",
                                        "raw loop: fork, child closes 2,000 fds"};
    prepare(r, names[kind], KILLED);
    static const uint32_t ids[KILLED] = {0, 1, 2, 3};
    fflush(stdout);
    pid_t loop = fork();
    if (loop == 0) raw_loop(kind);
    if (loop < 0 || !wait_all_started(KILLED, 10.0)) {
        note(r, "the raw loop did not start its workers");
    } else {
        measure(r, ids); /* idle: blocked in waitpid(), nothing to measure */
    }
    if (loop > 0) {
        kill(loop, SIGKILL);
        reap(loop, 10.0);
    }
    kill_all_children(); /* its workers, re-parented to the bench */
}

/* ---- runit, s6: one service directory per worker in the temp dir ----------- */

static bool
in_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, name);
        if (access(buf, X_OK) == 0) return true;
        path += len + (path[len] == ':');
    }
    return false;
}

static bool
make_service(const char *kind, uint32_t id, char *dir, size_t size)
{
    snprintf(dir, size, "%s/%s%u", tmpdir, kind, id);
    char run[PATH_MAX + 16];
    snprintf(run, sizeof run, "%s/run", dir);
    if (mkdir(dir, 0755) < 0 || symlink(worker_path, run) < 0) return false;
    if (strcmp(kind, "s6r-") != 0) return true;
    char nfd[PATH_MAX + 32];
    snprintf(nfd, sizeof nfd, "%s/notification-fd", dir); /* s6 readiness on fd 3 */
    FILE *f = fopen(nfd, "we");
    if (f == NULL) return false;
    fputs("3\n", f);
    return fclose(f) == 0;
}

/* Runs each stop command (two words) on each service directory. */
static void
stop_services(const char *const (*stops)[2], int nstops, char (*dirs)[PATH_MAX], int n)
{
    for (int s = 0; s < nstops; s++)
        for (int i = 0; i < n; i++) {
            char *argv[] = {(char *)stops[s][0], (char *)stops[s][1], dirs[i], NULL};
            run_cmd(argv);
        }
}

/* Supervisor `prog` on one service directory per worker; stopped with the
 * stop commands, then waited for. */
static void
row_supervisor(struct row *r, const char *name, const char *prog, const char *kind,
               const char *const (*stops)[2], int nstops)
{
    prepare(r, name, KILLED);
    if (!in_path(prog) || access(worker_path, X_OK) != 0) {
        note(r, "skipped: %s not installed", prog);
        return;
    }
    static const uint32_t ids[KILLED] = {0, 1, 2, 3};
    char dirs[KILLED][PATH_MAX];
    pid_t sup[KILLED];
    int started = 0;
    for (uint32_t id = 0; id < KILLED; id++) {
        char idstr[16];
        snprintf(idstr, sizeof idstr, "%u", id);
        if (!make_service(kind, id, dirs[id], sizeof dirs[id])) break;
        char *argv[] = {(char *)prog, dirs[id], NULL};
        sup[id] = spawn(argv, idstr, strcmp(kind, "s6r-") == 0 ? "3" : NULL);
        if (sup[id] < 0) break;
        started++;
    }
    if (started < KILLED || !wait_all_started(KILLED, 10.0)) {
        note(r, "%s did not start its workers", prog);
    } else {
        measure(r, ids);
        measure_idle(r, sup, KILLED);
    }
    stop_services(stops, nstops, dirs, started);
    for (int i = 0; i < started; i++)
        if (reap(sup[i], 10.0) < 0) note(r, "%s did not exit", prog);
    kill_all_children();
}

static void
row_runit(struct row *r)
{
    static const char *const stops[][2] = {{"sv", "down"}, {"sv", "exit"}};
    row_supervisor(r, "runit runsv", "runsv", "runit-", stops, 2);
}

static void
row_s6(struct row *r, bool readiness)
{
    static const char *const stops[][2] = {{"s6-svc", "-dx"}};
    if (readiness)
        row_supervisor(r, "s6-supervise, readiness on", "s6-supervise", "s6r-", stops, 1);
    else
        row_supervisor(r, "s6-supervise", "s6-supervise", "s6-", stops, 1);
}

/* ---- Ruby ServerEngine ----------------------------------------------------- */

static void
row_ruby(struct row *r)
{
    prepare(r, "Ruby ServerEngine, worker_type process", KILLED);
    if (!in_path("ruby") || access(RUBY_SCRIPT, R_OK) != 0 ||
        system("ruby -e 'require \"serverengine\"' 2>/dev/null") != 0) {
        note(r, "skipped: needs ruby, ruby-serverengine and %s", RUBY_SCRIPT);
        return;
    }
    static const uint32_t ids[KILLED] = {0, 1, 2, 3};
    char *argv[] = {"ruby", RUBY_SCRIPT, shm_path, "4", NULL};
    pid_t srv = spawn(argv, NULL, NULL);
    if (srv < 0 || !wait_all_started(KILLED, 30.0)) {
        note(r, "Ruby ServerEngine did not start its workers");
    } else {
        measure(r, ids);
        measure_idle(r, &srv, 1);
    }
    if (srv > 0) {
        kill(srv, SIGTERM);
        if (reap(srv, 15.0) < 0) note(r, "TERM did not stop it");
    }
    kill_all_children();
}

/* ---- the table --------------------------------------------------------------- */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double
pct(struct row *r, int p)
{
    if (r->n == 0) return -1;
    qsort(r->ns, (size_t)r->n, sizeof r->ns[0], cmp_i64);
    int i = p == 100 ? r->n - 1 : (r->n * p) / 100;
    return (double)r->ns[i] / 1e6;
}

static void
print_row(struct row *r)
{
    printf("%-44s %5d", r->name, r->workers);
    if (r->n > 0)
        printf(" %9.3f %9.3f %9.3f %5d", pct(r, 50), pct(r, 95), pct(r, 100), r->n);
    else
        printf(" %9s %9s %9s %5d", "-", "-", "-", 0);
    if (r->idle >= 0)
        printf(" %8.2f", r->idle);
    else
        printf(" %8s", "-");
    printf("%s%s\n", r->note[0] != '\0' ? "  " : "", r->note);
}

static void
print_ratio(const char *what, struct row *a, struct row *b)
{
    if (a->n == 0 || b->n == 0) {
        printf("%-44s n/a (a row has no samples)\n", what);
        return;
    }
    printf("%-44s median %.2fx  p95 %.2fx  (%.3f / %.3f ms p95)\n", what, pct(a, 50) / pct(b, 50),
           pct(a, 95) / pct(b, 95), pct(a, 95), pct(b, 95));
}

/* ---- setup and cleanup --------------------------------------------------------- */

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static bool
setup(const char *argv0)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len < 0) len = (ssize_t)snprintf(exe, sizeof exe, "%s", argv0);
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    snprintf(worker_path, sizeof worker_path, "%.*s/bench_worker",
             slash != NULL ? (int)(slash - exe) : 1, slash != NULL ? exe : ".");
    /* tmpfs where there is one, as the supervise directories of runit and s6
     * usually are (under /run) */
    snprintf(tmpdir, sizeof tmpdir, "/dev/shm/se_bench_crash_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/se_bench_crash_XXXXXX");
        if (mkdtemp(tmpdir) == NULL) return false;
    }
    snprintf(shm_path, sizeof shm_path, "%s/slots", tmpdir);
    int fd = open(shm_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)(sizeof *shm * SLOTS)) < 0) return false;
    shm = mmap(NULL, sizeof *shm * SLOTS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return shm != MAP_FAILED;
}

static void
cleanup(void)
{
    kill_all_children();
    if (tmpdir[0] != '\0') nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

enum { E4, E100, E1000, RAW_FORK, RAW_EXEC, RAW_FDS_ROW, RUNIT, S6, S6R, RUBY, ROWS };

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        samples = 12;
        idle_window = 2.0;
    }
    static struct row rows[ROWS];
    if (!setup(argv[0])) {
        perror("bench_crash: setup");
        cleanup();
        return 1;
    }
    for (int i = 0; i < ROWS && !interrupted; i++) {
        switch (i) {
        case E4: row_engine(&rows[i], 4); break;
        case RAW_FORK: row_raw(&rows[i], RAW_FORK_ONLY); break;
        case RAW_EXEC: row_raw(&rows[i], RAW_FORK_EXEC); break;
        case RAW_FDS_ROW: row_raw(&rows[i], RAW_FORK_FDS); break;
        case RUNIT: row_runit(&rows[i]); break;
        case S6: row_s6(&rows[i], false); break;
        case S6R: row_s6(&rows[i], true); break;
        case RUBY: row_ruby(&rows[i]); break;
        case E100: row_engine(&rows[i], 100); break;
        case E1000: row_engine(&rows[i], 1000); break;
        default: break;
        }
    }
    cleanup();
    printf("bench_crash: SIGKILL one of N workers, 4 ids in turn, each again after >= 1.1 s up;\n"
           "SIGKILL -> the replacement's run started (ms); idle: wake-ups/s of the supervising\n"
           "process(es) over %.0f s after the kills, default heartbeat settings; files in %.9s\n",
           idle_window, tmpdir);
    printf("%-44s %5s %9s %9s %9s %5s %8s\n", "supervisor", "N", "median", "p95", "max", "n",
           "idle/s");
    for (int i = 0; i < ROWS; i++)
        if (rows[i].name[0] != '\0') print_row(&rows[i]);
    if (interrupted) printf("bench_crash: interrupted; the rows after the last are not measured\n");
    print_ratio("engine N=4 vs runit", &rows[E4], &rows[RUNIT]);
    print_ratio("engine N=4 vs s6", &rows[E4], &rows[S6]);
    print_ratio("engine N=4 vs s6 with readiness", &rows[E4], &rows[S6R]);
    print_ratio("engine N=4 vs Ruby ServerEngine", &rows[E4], &rows[RUBY]);
    print_ratio("engine N=4 vs raw fork loop", &rows[E4], &rows[RAW_FORK]);
    print_ratio("raw fork+exec vs raw fork (what exec costs)", &rows[RAW_EXEC], &rows[RAW_FORK]);
    print_ratio("raw closing 2,000 fds vs raw fork", &rows[RAW_FDS_ROW], &rows[RAW_FORK]);
    print_ratio("engine N=1000 vs N=4", &rows[E1000], &rows[E4]);
    if (rows[E4].idle >= 0 && rows[E1000].idle >= 0)
        printf("%-44s %.2f vs %.2f wake-ups/s\n", "engine idle N=1000 vs N=4", rows[E1000].idle,
               rows[E4].idle);
    return interrupted ? 1 : 0;
}
