/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_worker: the worker program bench_crash runs under runit, s6 and a raw
 * fork+exec loop. Usage: bench_worker FILE ID [NOTIFY_FD], or with
 * BENCH_FILE, BENCH_ID and BENCH_NOTIFY_FD in the environment, which then win
 * over any argument (s6-supervise passes `run` an argument of its own).
 *
 * It records the monotonic time its run starts into slot ID of FILE (the
 * layout of bench_crash: int64 start_ns, int32 pid, uint32 seq, 16 bytes a
 * slot), writes a newline to NOTIFY_FD if given (s6's readiness
 * notification), then sleeps until a signal ends it. It is not a benchmark
 * itself: bench/run.sh does not run it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 1024

struct slot {
    int64_t start_ns;
    int32_t pid;
    uint32_t seq;
};

static const char *
arg(int argc, char **argv, int i, const char *env)
{
    if (getenv("BENCH_FILE") != NULL) return getenv(env);
    return argc > i ? argv[i] : NULL;
}

int
main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* first: the moment the run starts */
    const char *file = arg(argc, argv, 1, "BENCH_FILE"), *ids = arg(argc, argv, 2, "BENCH_ID");
    const char *nfd = arg(argc, argv, 3, "BENCH_NOTIFY_FD");
    if (file == NULL || ids == NULL) {
        fprintf(stderr, "usage: bench_worker FILE ID [NOTIFY_FD]\n");
        return 2;
    }
    long id = strtol(ids, NULL, 10);
    int fd = open(file, O_RDWR | O_CLOEXEC);
    if (fd < 0 || id < 0 || id >= SLOTS) {
        perror("bench_worker");
        return 2;
    }
    struct slot *s = mmap(NULL, sizeof *s * SLOTS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED) {
        perror("bench_worker: mmap");
        return 2;
    }
    close(fd);
    s += id;
    __atomic_store_n(&s->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&s->start_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
    if (nfd != NULL) {
        int n = (int)strtol(nfd, NULL, 10);
        if (write(n, "\n", 1) < 0) perror("bench_worker: readiness");
        close(n);
    }
    for (;;)
        pause();
}
