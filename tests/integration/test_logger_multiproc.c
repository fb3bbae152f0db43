/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Many processes, one log, rotation under load. Each of 8 forked writers logs
 * numbered records ("w<writer> s<seq> n<len> " + a payload derived from the
 * three); afterwards every generation is read back, oldest first, and every
 * record must be there exactly once, whole, in well-formed lines. A record
 * longer than a line comes back in pieces: the pieces of one process are in
 * its write order across the files (a process only ever moves on to a newer
 * file), so they are joined per pid and checked byte for byte.
 * Every wait has a deadline; children still alive at it are killed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"
#include "support/itest.h"
#include "support/logger_util.h"

#define WRITERS     8
#define DEADLINE_MS 120000

struct scenario {
    int lines;            /* records per writer */
    uint64_t rotate_size; /* bytes */
    uint32_t rotate_age;  /* enough to keep everything */
    size_t len_max;       /* payload length: fixed when 0 random bits below */
    bool random_len;      /* uniform in [0, len_max] from a fixed seed */
    bool shared;          /* one logger made before fork (else one per child) */
};

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static char
payload_byte(int w, int s, size_t j)
{
    return (char)('a' + ((size_t)w * 7u + (size_t)s + j) % 26u);
}

static size_t
record_len(const struct scenario *sc, uint32_t *seed)
{
    return sc->random_len ? xorshift(seed) % (uint32_t)(sc->len_max + 1) : sc->len_max;
}

static int
writer(struct se_logger *shared, const char *path, const struct scenario *sc, int w)
{
    int err = 0;
    struct se_logger *lg = shared;
    if (lg == NULL) {
        lg = se_logger_new(path, &err);
        if (lg == NULL || se_logger_set_rotation(lg, sc->rotate_age, sc->rotate_size) < 0) return 2;
    }
    char *buf = malloc(sc->len_max + 1);
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)(w + 1) * 2654435761u; /* fixed per writer */
    for (int s = 0; s < sc->lines; s++) {
        size_t n = record_len(sc, &seed);
        for (size_t j = 0; j < n; j++)
            buf[j] = payload_byte(w, s, j);
        buf[n] = '\0';
        se_log_info(lg, "w%d s%d n%zu %s", w, s, n, buf);
    }
    free(buf);
    int rc = se_logger_error_count(lg) == 0 ? 0 : 1;
    if (shared == NULL) se_logger_free(lg);
    return rc;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reaps every child by the deadline; kills (and reaps) them past it. */
static void
reap_all(pid_t *pids, int n)
{
    int64_t deadline = now_ms() + DEADLINE_MS;
    int left = n;
    while (left > 0 && now_ms() < deadline) {
        int st = 0;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        assert_true(p > 0);
        for (int i = 0; i < n; i++) {
            if (pids[i] != p) continue;
            pids[i] = -1;
            left--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                print_error("writer %d ended with status 0x%x\n", i, st);
                fail();
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (pids[i] <= 0) continue;
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        print_error("writer %d missed the deadline and was killed\n", i);
        fail();
    }
}

struct pending {
    int pid;
    bool active; /* a record is waiting for continuation pieces */
    int w, s;
    size_t n, got;
};

struct check {
    const struct scenario *sc;
    pid_t pids[WRITERS];
    struct pending p[WRITERS];
    uint8_t *seen; /* [WRITERS * lines] */
    size_t records, lines;
    size_t size_max; /* the largest file: how far past the threshold rotation came */
};

static struct pending *
pending_of(struct check *c, int pid)
{
    for (int i = 0; i < WRITERS; i++)
        if (c->pids[i] == pid) return &c->p[i];
    return NULL;
}

/* Checks payload bytes msg[0..len) as bytes [p->got, ...) of p's record. */
static void
take_payload(struct pending *p, const char *msg, size_t len)
{
    if (p->got + len > p->n) {
        print_error("w%d s%d n%zu: %zu bytes more after %zu: %.60s\n", p->w, p->s, p->n, len,
                    p->got, msg);
        fail();
    }
    for (size_t j = 0; j < len; j++) {
        if (msg[j] != payload_byte(p->w, p->s, p->got + j)) {
            print_error("w%d s%d: byte %zu torn\n", p->w, p->s, p->got + j);
            fail();
        }
    }
    p->got += len;
    p->active = p->got < p->n;
}

static void
check_line(struct check *c, const char *l, size_t len)
{
    int pid = 0;
    const char *msg = NULL;
    if (!lt_parse_line(l, len, &pid, NULL, &msg)) {
        print_error("malformed line: %.80s\n", l);
        fail();
    }
    struct pending *p = pending_of(c, pid);
    assert_non_null(p);
    size_t mlen = len - (size_t)(msg - l);
    size_t cm = strlen(SE_LOG_CONT_MARK);
    c->lines++;
    if (p->active) {
        assert_true(mlen >= cm && memcmp(msg, SE_LOG_CONT_MARK, cm) == 0);
        take_payload(p, msg + cm, mlen - cm);
        return;
    }
    int w = -1, s = -1, off = 0;
    size_t n = 0;
    char head[64];
    size_t hl = mlen < sizeof head - 1 ? mlen : sizeof head - 1;
    memcpy(head, msg, hl); /* msg runs on into the next line: bound the scan */
    head[hl] = '\0';
    if (sscanf(head, "w%d s%d n%zu%n", &w, &s, &n, &off) != 3 || head[off] != ' ') {
        print_error("not a record: %.80s\n", msg);
        fail();
    }
    assert_true(w >= 0 && w < WRITERS && s >= 0 && s < c->sc->lines);
    assert_int_equal(c->pids[w], pid);
    uint8_t *seen = &c->seen[(size_t)w * (size_t)c->sc->lines + (size_t)s];
    if (*seen) {
        print_error("w%d s%d duplicated\n", w, s);
        fail();
    }
    *seen = 1;
    c->records++;
    *p = (struct pending){.pid = pid, .active = true, .w = w, .s = s, .n = n, .got = 0};
    take_payload(p, msg + off + 1, mlen - (size_t)off - 1);
}

static void
check_file(struct check *c, const char *path)
{
    size_t len = 0;
    char *t = lt_read_file(path, &len);
    assert_non_null(t);
    if (len > c->size_max) c->size_max = len;
    assert_true(len == 0 || t[len - 1] == '\n'); /* no torn tail */
    for (char *l = t; l < t + len;) {
        char *nl = memchr(l, '\n', (size_t)(t + len - l));
        assert_non_null(nl);
        check_line(c, l, (size_t)(nl - l));
        l = nl + 1;
    }
    free(t);
}

/* Reads path.(age-2) ... path.0, path: oldest first. Returns the file count. */
static int
check_all(struct check *c, const char *path)
{
    char p[700];
    int files = 0;
    for (int g = (int)c->sc->rotate_age - 2; g >= -1; g--) {
        if (g >= 0)
            snprintf(p, sizeof p, "%s.%d", path, g);
        else
            snprintf(p, sizeof p, "%s", path);
        if (!lt_exists(p)) continue;
        check_file(c, p);
        files++;
    }
    return files;
}

static void
run_scenario(const struct scenario *sc_full, const char *name)
{
    /* Under memcheck (make check-valgrind sets SE_VALGRIND=1) every writer
     * runs 20-50 times slower: a tenth of the records keeps it in minutes. */
    struct scenario scaled = *sc_full;
    const char *vg = getenv("SE_VALGRIND");
    if (vg != NULL && strcmp(vg, "1") == 0) scaled.lines /= 10;
    const struct scenario *sc = &scaled;
    char dir[256], path[512], errpath[512];
    lt_dir_make(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/multi.log", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    int fds_before = lt_fd_count();
    int64_t t0 = now_ms();
    struct se_logger *shared = NULL;
    int err = 0;
    if (sc->shared) {
        shared = se_logger_new(path, &err);
        assert_non_null(shared);
        assert_int_equal(se_logger_set_rotation(shared, sc->rotate_age, sc->rotate_size), 0);
    }
    struct check c = {.sc = sc};
    c.seen = calloc((size_t)WRITERS * (size_t)sc->lines, 1);
    fflush(stdout);
    for (int w = 0; w < WRITERS; w++) {
        c.pids[w] = fork();
        assert_true(c.pids[w] >= 0);
        if (c.pids[w] == 0) {
            int e = open(errpath, O_WRONLY | O_APPEND | O_CREAT, 0644);
            dup2(e, 2); /* the logger's reports, if any, land here */
            _exit(writer(shared, path, sc, w));
        }
    }
    pid_t reap[WRITERS];
    memcpy(reap, c.pids, sizeof reap);
    reap_all(reap, WRITERS);
    int64_t t1 = now_ms();
    se_logger_free(shared);
    int files = check_all(&c, path);
    for (int w = 0; w < WRITERS; w++)
        assert_false(c.p[w].active); /* no half record */
    assert_int_equal(c.records, (size_t)WRITERS * (size_t)sc->lines);
    char *errs = lt_read_file(errpath, NULL);
    assert_true(errs == NULL || errs[0] == '\0');
    free(errs);
    printf("# %s: %zu records in %zu lines, %d files (largest %.2f x the threshold), "
           "written in %lld ms, checked in %lld ms\n",
           name, c.records, c.lines, files, (double)c.size_max / (double)sc->rotate_size,
           (long long)(t1 - t0), (long long)(now_ms() - t1));
    assert_true(files > 2); /* it did rotate */
    free(c.seen);
    lt_dir_remove(dir);
    assert_int_equal(lt_fd_count(), fds_before);
}

static void
test_logger_8_writers_rotating_at_64k_lose_and_tear_nothing(void **state)
{
    (void)state;
    const struct scenario sc = {
        .lines = 20000, .rotate_size = 64 * 1024, .rotate_age = 400, .len_max = 24, .shared = true};
    run_scenario(&sc, "8 x 20000 lines, shared logger, rotation at 64 KiB");
}

static void
test_logger_8_writers_random_lengths_rotating_at_1m_lose_and_tear_nothing(void **state)
{
    (void)state;
    const struct scenario sc = {.lines = 20000,
                                .rotate_size = 1024 * 1024,
                                .rotate_age = 1000,
                                .len_max = 8192,
                                .random_len = true,
                                .shared = false};
    run_scenario(&sc, "8 x 20000 records up to 8 KiB, one logger each, rotation at 1 MiB");
}

int
main(void)
{
    itest_own_tree(); /* a failed check or a deadline leaves no writer running */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logger_8_writers_rotating_at_64k_lose_and_tear_nothing),
        cmocka_unit_test(test_logger_8_writers_random_lengths_rotating_at_1m_lose_and_tear_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
