/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_logger: the logger against the cheapest thing that could replace it,
 * measured side by side in one run and reported as ratios.
 *
 *   (a) one process, 100-byte lines into a file: se_log_info (format, header,
 *       one append, rotation bookkeeping) vs a bare loop doing one write() per
 *       pre-formatted 100-byte line. Target: the logger at >= 70% of the bare
 *       rate.
 *   (b) 8 processes, each with its own logger on one file rotating at 1 MiB,
 *       vs 8 bare write() loops on one O_APPEND file. Target >= 50%; every
 *       line of the logger run is counted back across the generations (0
 *       lost).
 *   (c) where Ruby and the ruby-serverengine package are installed: one
 *       process, 100-byte lines, rotation age 5 at 1 MiB (Ruby's defaults) on
 *       both sides, se_log_info vs Ruby's DaemonLogger (the loop timed by
 *       bench/ruby_daemon_logger.rb itself, without Ruby's start-up). Target:
 *       >= 3x Ruby's rate. Skipped, with a note, without Ruby.
 * Rounds alternate bare and logger runs so that both see the same machine
 * state; the ratio of each round is reported with the median. Not a test:
 * it asserts nothing about time (see the README).
 *
 *   build/bench/bench_logger [rounds] [lines_single] [lines_per_process]
 * (run from the repository's top directory, where bench/ruby_daemon_logger.rb is)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serverengine.h"

#define LINE_BYTES 100
#define PROCS      8

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of this process, or of its reaped children. */
static double
cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

struct run {
    double wall_s, cpu_s;
};

static void
die(const char *what)
{
    perror(what);
    exit(2);
}

/* The message length that makes "I, [...] #pid]  INFO -- : " + msg + "\n" 100 bytes. */
static int
msg_len_for_100(void)
{
    char pid[16];
    int pid_len = snprintf(pid, sizeof pid, "%d", (int)getpid());
    return LINE_BYTES - 1 - (4 + 26 + 2 + pid_len + 2 + 5 + 4 + 2);
}

static void
remove_logs(const char *path, int gens)
{
    char p[700];
    unlink(path);
    for (int g = 0; g < gens; g++) {
        snprintf(p, sizeof p, "%s.%d", path, g);
        unlink(p);
    }
}

static void
bare_loop(const char *path, long lines)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die("open");
    char line[LINE_BYTES];
    memset(line, 'x', sizeof line);
    memcpy(line, "I, [2026-11-28T11:20:18.123456 #4242]  INFO -- : ", 49);
    line[LINE_BYTES - 1] = '\n';
    for (long i = 0; i < lines; i++)
        if (write(fd, line, sizeof line) != (ssize_t)sizeof line) die("write");
    close(fd);
}

/* 100-byte lines through the logger; returns the logger's error count. */
static unsigned long
logger_loop(const char *path, long lines, uint32_t age, uint64_t size)
{
    int err = 0;
    struct se_logger *lg = se_logger_new(path, &err);
    if (lg == NULL) die("se_logger_new");
    if (se_logger_set_rotation(lg, age, size) < 0) die("se_logger_set_rotation");
    int n = msg_len_for_100() - 8; /* "%07ld " is 8 */
    char pad[LINE_BYTES];
    memset(pad, 'x', sizeof pad);
    pad[n] = '\0';
    for (long i = 0; i < lines; i++)
        se_log_info(lg, "%07ld %s", i % 10000000, pad);
    unsigned long errors = (unsigned long)se_logger_error_count(lg);
    se_logger_free(lg);
    return errors;
}

static long
count_lines(const char *path, int gens)
{
    char p[700], buf[1 << 16];
    long lines = 0;
    for (int g = -1; g < gens; g++) {
        if (g < 0)
            snprintf(p, sizeof p, "%s", path);
        else
            snprintf(p, sizeof p, "%s.%d", path, g);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < r; i++)
                lines += buf[i] == '\n';
        close(fd);
    }
    return lines;
}

/* Runs PROCS children doing loop; returns the seconds from first fork to last reap. */
static double
run_procs(const char *path, long lines, bool logger, uint32_t age)
{
    pid_t pids[PROCS];
    double t0 = now_s();
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        if (pids[i] < 0) die("fork");
        if (pids[i] == 0) {
            if (!logger) {
                bare_loop(path, lines);
                _exit(0);
            }
            _exit(logger_loop(path, lines, age, 1024 * 1024) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < PROCS; i++) {
        int st = 0;
        if (waitpid(pids[i], &st, 0) != pids[i]) die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_logger: a writer failed (status 0x%x)\n", st);
            exit(1);
        }
    }
    return now_s() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
print_ratios(const char *name, double *r, int n, double target)
{
    double lo = r[0], hi = r[0];
    for (int i = 1; i < n; i++) {
        lo = r[i] < lo ? r[i] : lo;
        hi = r[i] > hi ? r[i] : hi;
    }
    double med = median(r, n);
    printf("%s: ratio median %.1f%% (min %.1f%%, max %.1f%%, %d rounds) target >= %.0f%%: %s\n",
           name, 100 * med, 100 * lo, 100 * hi, n, 100 * target, med >= target ? "PASS" : "MISS");
}

static struct run
single_run(const char *path, long lines, bool logger)
{
    double w0 = now_s(), c0 = cpu_s(RUSAGE_SELF);
    if (logger && logger_loop(path, lines, 0, 0) != 0) die("logger errors");
    if (!logger) bare_loop(path, lines);
    struct run r = {now_s() - w0, cpu_s(RUSAGE_SELF) - c0};
    if (count_lines(path, 0) != lines) die("single: lines lost");
    remove_logs(path, 0);
    return r;
}

/* Rounds alternate which side runs first, so neither always inherits the
 * other's dirty pages. Ratios: wall time (lines/s) and CPU time. */
static void
bench_single(const char *dir, int rounds, long lines, double *ratios, double *cpu_ratios)
{
    char path[600];
    snprintf(path, sizeof path, "%s/single.log", dir);
    for (int r = 0; r < rounds; r++) {
        struct run bare, lg;
        if (r % 2 == 0) {
            bare = single_run(path, lines, false);
            lg = single_run(path, lines, true);
        } else {
            lg = single_run(path, lines, true);
            bare = single_run(path, lines, false);
        }
        ratios[r] = bare.wall_s / lg.wall_s;
        cpu_ratios[r] = bare.cpu_s / lg.cpu_s;
        printf("(a) round %d: bare %.0f lines/s, logger %.0f lines/s, ratio %.1f%% "
               "(CPU time ratio %.1f%%)\n",
               r + 1, (double)lines / bare.wall_s, (double)lines / lg.wall_s, 100 * ratios[r],
               100 * cpu_ratios[r]);
    }
}

static struct run
multi_run(const char *path, long lines, bool logger, uint32_t age)
{
    double c0 = cpu_s(RUSAGE_CHILDREN);
    double wall = run_procs(path, lines, logger, age);
    struct run r = {wall, cpu_s(RUSAGE_CHILDREN) - c0};
    long total = lines * PROCS, got = count_lines(path, (int)age);
    remove_logs(path, (int)age);
    if (got != total) {
        fprintf(stderr, "bench_logger: %s: %ld of %ld lines lost\n", logger ? "logger" : "bare",
                total - got, total);
        exit(1);
    }
    return r;
}

static void
bench_multi(const char *dir, int rounds, long lines, double *ratios, double *cpu_ratios)
{
    char path[600];
    snprintf(path, sizeof path, "%s/multi.log", dir);
    long total = lines * PROCS;
    uint32_t age = (uint32_t)(total * LINE_BYTES / (1024 * 1024)) * 2 + 8; /* keep everything */
    if (age > 1000) age = 1000;
    for (int r = 0; r < rounds; r++) {
        struct run bare, lg;
        if (r % 2 == 0) {
            bare = multi_run(path, lines, false, age);
            lg = multi_run(path, lines, true, age);
        } else {
            lg = multi_run(path, lines, true, age);
            bare = multi_run(path, lines, false, age);
        }
        ratios[r] = bare.wall_s / lg.wall_s;
        cpu_ratios[r] = bare.cpu_s / lg.cpu_s;
        printf("(b) round %d: bare %.0f lines/s, logger %.0f lines/s, ratio %.1f%% "
               "(CPU time ratio %.1f%%), lines lost 0 of %ld\n",
               r + 1, (double)total / bare.wall_s, (double)total / lg.wall_s, 100 * ratios[r],
               100 * cpu_ratios[r], total);
    }
}

#define RUBY_SCRIPT "bench/ruby_daemon_logger.rb"
#define RUBY_LINES  200000L
#define RUBY_ROUNDS 3

/* Seconds Ruby's DaemonLogger took for lines lines into path; < 0 when Ruby
 * or the gem is missing. */
static double
ruby_run(const char *path, long lines)
{
    char cmd[900];
    snprintf(cmd, sizeof cmd, "ruby %s '%s' %ld 2>/dev/null", RUBY_SCRIPT, path, lines);
    FILE *f = popen(cmd, "r");
    if (f == NULL) return -1;
    long got = 0;
    double secs = -1;
    if (fscanf(f, "%ld %lf", &got, &secs) != 2 || got != lines) secs = -1;
    if (pclose(f) != 0) secs = -1;
    return secs;
}

static void
bench_ruby(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/ruby.log", dir);
    if (access(RUBY_SCRIPT, R_OK) != 0 || system("ruby -e 'require \"serverengine\"' "
                                                 ">/dev/null 2>&1") != 0) {
        printf("(c) skipped: needs ruby and ruby-serverengine (apt-get install "
               "ruby-serverengine) and %s in the current directory\n",
               RUBY_SCRIPT);
        return;
    }
    double ratios[RUBY_ROUNDS];
    for (int r = 0; r < RUBY_ROUNDS; r++) {
        double rb = ruby_run(path, RUBY_LINES);
        remove_logs(path, 5);
        double t0 = now_s();
        if (logger_loop(path, RUBY_LINES, 5, 1024 * 1024) != 0) die("logger errors");
        double c = now_s() - t0;
        remove_logs(path, 5);
        if (rb <= 0) {
            printf("(c) round %d: the Ruby run failed\n", r + 1);
            return;
        }
        ratios[r] = rb / c;
        printf("(c) round %d: Ruby DaemonLogger %.0f lines/s, logger %.0f lines/s, %.1fx\n", r + 1,
               (double)RUBY_LINES / rb, (double)RUBY_LINES / c, ratios[r]);
    }
    double med = median(ratios, RUBY_ROUNDS);
    printf("(c) single process with rotation, logger vs Ruby ServerEngine's DaemonLogger: "
           "median %.1fx (%d rounds) target >= 3x: %s\n",
           med, RUBY_ROUNDS, med >= 3 ? "PASS" : "MISS");
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    long single = argc > 2 ? atol(argv[2]) : 500000;
    long per_proc = argc > 3 ? atol(argv[3]) : 100000;
    if (rounds < 1 || rounds > 100 || single < 1 || per_proc < 1) {
        fprintf(stderr, "usage: bench_logger [rounds] [lines_single] [lines_per_process]\n");
        return 2;
    }
    char dir[] = "/tmp/se_bench_logger_XXXXXX";
    if (mkdtemp(dir) == NULL) die("mkdtemp");
    printf("bench_logger: %ld lines of %d bytes in one process; %d processes x %ld lines, "
           "rotation at 1 MiB; files in %s\n",
           single, LINE_BYTES, PROCS, per_proc, dir);
    double ra[100], ca[100], rb[100], cb[100];
    bench_single(dir, rounds, single, ra, ca);
    bench_multi(dir, rounds, per_proc, rb, cb);
    printf("(a) CPU time ratio median %.1f%%; (b) CPU time ratio median %.1f%%\n",
           100 * median(ca, rounds), 100 * median(cb, rounds));
    print_ratios("(a) single process, logger vs bare write", ra, rounds, 0.70);
    print_ratios("(b) 8 processes + rotation, logger vs bare write", rb, rounds, 0.50);
    bench_ruby(dir);
    rmdir(dir);
    return 0;
}
