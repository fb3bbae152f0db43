/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sigdump.c: what the dump signal (CONT) asks for (serverengine(3), UTILITIES):
 * every thread of the process with its kernel state, wait channel and stack,
 * then the memory figures, written to /tmp/sigdump-PID.log (SIGDUMP_PATH
 * changes it; "-" is stderr). The file is created 0600 with O_EXCL|O_NOFOLLOW,
 * or appended to only when it is a regular file of ours with one link: a
 * planted symlink or someone else's file is never written. Both opens are
 * non-blocking (se__posix_open_regular): a FIFO planted at the path is
 * refused at once instead of holding the loop. Ruby's sigdump gem prints
 * every thread's stack the same way.
 *
 * Another thread's stack can only be taken on that thread: the dumper sends
 * each one SE_DUMP_STACK_SIGNAL (SIGRTMIN+5, serverengine(3)) with
 * rt_tgsigqueueinfo, carrying in si_value a pointer to a request page; the
 * handler, installed for the time of the dump only, calls backtrace() into
 * the page and wakes the dumper through a futex on the page's state word
 * (async-signal-safe: atomics and one system call). The dumper waits for
 * each answer with a deadline and prints the frames from its own thread. A
 * thread that blocks the signal, does not answer in time, or a program that
 * has its own handler on the signal, leaves its stack out, with the reason.
 *
 * Never: keeps global state (the request travels in si_value), or waits
 * without a deadline.
 */
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "process.h"
#include "logger.h"

#define DUMP_FRAMES_MAX 64
#define DUMP_ANSWER_MS  500  /* one thread's deadline to answer */
#define DUMP_BUDGET_MS  5000 /* every thread's: the loop that dumps waits no longer */

/* SIGRTMIN+5: glibc keeps the two real-time signals below SIGRTMIN for
 * itself; the lowest few above it are the ones programs and libraries take
 * first (timers, AIO). Documented in serverengine(3), UTILITIES. */
#define SE_DUMP_STACK_SIGNAL_OFFSET 5

static int
open_dump(char *path, size_t size)
{
    const char *env = getenv("SIGDUMP_PATH");
    if (env != NULL && strcmp(env, "-") == 0) return dup(2);
    if (env != NULL && env[0] != '\0')
        snprintf(path, size, "%s", env);
    else
        snprintf(path, size, "/tmp/sigdump-%d.log", (int)getpid());
    /* non-blocking, never through a link, a regular file only: a FIFO
     * planted at the path must not hold the loop that dumps */
    int32_t fd = -1;
    int rc = se__posix_open_regular(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600, &fd);
    if (rc != -EEXIST) return rc < 0 ? rc : fd;
    rc = se__posix_open_regular(path, O_WRONLY | O_APPEND | O_NOFOLLOW, 0, &fd);
    if (rc < 0) return rc;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || st.st_nlink != 1) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

static void
copy_file_lines(int out, const char *path, const char *const *prefixes)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        for (const char *const *p = prefixes; *p != NULL; p++) {
            if (strncmp(line, *p, strlen(*p)) == 0) dprintf(out, "  %s", line);
        }
    }
    fclose(f);
}

enum { REQ_SENT = 1, REQ_BUSY, REQ_DONE, REQ_ABANDONED };

/* One thread's request: a page of its own (mmap), so that a late answer
 * (a thread that took the signal after its deadline) writes into memory
 * that is still there: an abandoned page is never unmapped. */
struct stack_req {
    int32_t state; /* REQ_*, the futex word */
    int32_t tid;
    int32_t frames_count;
    void *frames[DUMP_FRAMES_MAX];
};

/* Async-signal-safe: atomics, backtrace() (its library loaded by the
 * dumper's own call first), one futex wake; errno kept. A sender of our
 * user id could already ptrace this process: si_value is trusted as ours. */
static void
// cppcheck-suppress constParameter ; the type sigaction's sa_sigaction takes
stack_handler(int signo, siginfo_t *si, void *uc)
{
    (void)signo;
    (void)uc;
    int saved = errno;
    struct stack_req *r = si->si_code == SI_QUEUE ? si->si_value.sival_ptr : NULL;
    int32_t sent = REQ_SENT;
    if (r != NULL && r->tid == (int32_t)syscall(SYS_gettid) &&
        __atomic_compare_exchange_n(&r->state, &sent, REQ_BUSY, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        r->frames_count = backtrace(r->frames, DUMP_FRAMES_MAX);
        __atomic_store_n(&r->state, REQ_DONE, __ATOMIC_RELEASE);
        syscall(SYS_futex, &r->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    errno = saved;
}

/* Waits until the request leaves state `from` or the deadline passes. */
static int32_t
req_wait(struct stack_req *r, int32_t from, int64_t deadline_ms)
{
    while (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == from) {
        int64_t left = deadline_ms - se__posix_mono_ms();
        if (left <= 0) break;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        syscall(SYS_futex, &r->state, FUTEX_WAIT_PRIVATE, from, &ts, NULL, 0);
    }
    return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
}

/* Asks thread tid for its stack and prints it. NULL, or why there is none. */
static const char *
ask_stack(int out, int32_t tid, int signo, int64_t deadline_ms)
{
    struct stack_req *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return "no memory for the request";
    r->tid = tid;
    r->state = REQ_SENT;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = signo;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_ptr = r;
    if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, signo, &si) < 0) {
        munmap(r, sizeof *r);
        return errno == ESRCH ? "the thread is gone" : "the signal cannot be sent";
    }
    int32_t s = req_wait(r, REQ_SENT, deadline_ms);
    int32_t sent = REQ_SENT;
    if (s == REQ_SENT && __atomic_compare_exchange_n(&r->state, &sent, REQ_ABANDONED, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return "no answer in time (its request page stays mapped for a late answer)";
    /* the handler is running: backtrace() takes microseconds, not seconds */
    if (req_wait(r, REQ_BUSY, se__posix_mono_ms() + DUMP_ANSWER_MS) != REQ_DONE)
        return "its answer did not finish in time (its request page stays mapped)";
    /* frame 0 is the handler itself */
    if (r->frames_count > 1) backtrace_symbols_fd(r->frames + 1, r->frames_count - 1, out);
    munmap(r, sizeof *r);
    return NULL;
}

/* What /proc/self/task/TID says of a thread. */
struct task_info {
    char comm[64], state[64], wchan[64];
    uint64_t sig_blocked;
    bool blocked_known;
};

static void
read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (f == NULL || fgets(buf, (int)size, f) == NULL) snprintf(buf, size, "?");
    if (f != NULL) fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    if (buf[0] == '\0') snprintf(buf, size, "?");
}

static void
task_read(const char *tid, struct task_info *ti)
{
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", tid);
    read_line(path, ti->comm, sizeof ti->comm);
    snprintf(path, sizeof path, "/proc/self/task/%s/wchan", tid);
    read_line(path, ti->wchan, sizeof ti->wchan);
    snprintf(ti->state, sizeof ti->state, "?");
    ti->blocked_known = false;
    snprintf(path, sizeof path, "/proc/self/task/%s/status", tid);
    FILE *f = fopen(path, "re");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "State:\t", 7) == 0)
            snprintf(ti->state, sizeof ti->state, "%.60s", line + 7);
        if (strncmp(line, "SigBlk:\t", 8) == 0)
            ti->blocked_known = sscanf(line + 8, "%" SCNx64, &ti->sig_blocked) == 1;
    }
    if (f != NULL) fclose(f);
}

/* The dump's signal and what the program had on it. */
struct stack_signal {
    int signo;
    struct sigaction old;
    const char *refused; /* why no other thread's stack is asked for; NULL: installed */
};

static void
stack_signal_install(struct stack_signal *ss)
{
    ss->signo = SIGRTMIN + SE_DUMP_STACK_SIGNAL_OFFSET;
    ss->refused = NULL;
    if (ss->signo > SIGRTMAX || sigaction(ss->signo, NULL, &ss->old) < 0) {
        ss->refused = "no real-time signal for the dump";
        return;
    }
    bool handled = (ss->old.sa_flags & SA_SIGINFO)
                       ? ss->old.sa_sigaction != NULL
                       : (ss->old.sa_handler != SIG_DFL && ss->old.sa_handler != SIG_IGN);
    if (handled) {
        ss->refused = "the program has its own handler on SIGRTMIN+5, left to it";
        return;
    }
    struct sigaction sa = {.sa_sigaction = stack_handler, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&sa.sa_mask);
    if (sigaction(ss->signo, &sa, NULL) < 0) ss->refused = "the dump's signal cannot be handled";
}

/* Ignoring the signal first discards one still pending at a thread that did
 * not answer (its default action would end the process). */
static void
stack_signal_restore(const struct stack_signal *ss)
{
    if (ss->refused != NULL) return;
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(ss->signo, &ign, NULL);
    sigaction(ss->signo, &ss->old, NULL);
}

/* Why thread ti gets no stack before it is asked; NULL: ask it. */
static const char *
stack_refused(const struct stack_signal *ss, const struct task_info *ti, int64_t budget_end_ms)
{
    if (ss->refused != NULL) return ss->refused;
    if (ti->blocked_known && ((ti->sig_blocked >> (ss->signo - 1)) & 1u))
        return "it blocks SIGRTMIN+5, the dump's signal";
    if (se__posix_mono_ms() >= budget_end_ms) return "the dump's 5 s for every thread are spent";
    return NULL;
}

/* One thread: its line, then its stack or why it has none. */
static void
dump_thread(int out, const char *name, const struct stack_signal *ss, int64_t budget_end_ms)
{
    struct task_info ti;
    task_read(name, &ti);
    int32_t tid = (int32_t)strtol(name, NULL, 10);
    dprintf(out, "  thread %s (%s) waiting in %s, state %s", name, ti.comm, ti.wchan, ti.state);
    if (tid == (int32_t)syscall(SYS_gettid)) {
        dprintf(out, ", the dumping thread:\n");
        void *frames[DUMP_FRAMES_MAX];
        int n = backtrace(frames, DUMP_FRAMES_MAX);
        backtrace_symbols_fd(frames, n, out);
        return;
    }
    const char *why = stack_refused(ss, &ti, budget_end_ms);
    if (why != NULL) {
        dprintf(out, "; no stack: %s\n", why);
        return;
    }
    dprintf(out, ":\n");
    why = ask_stack(out, tid, ss->signo,
                    se_min_ms(se__posix_mono_ms() + DUMP_ANSWER_MS, budget_end_ms));
    if (why != NULL) dprintf(out, "    no stack: %s\n", why);
}

static void
dump_threads(int out)
{
    struct stack_signal ss;
    stack_signal_install(&ss);
    int64_t budget_end_ms = se__posix_mono_ms() + DUMP_BUDGET_MS;
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') dump_thread(out, de->d_name, &ss, budget_end_ms);
    }
    if (d != NULL) closedir(d);
    stack_signal_restore(&ss);
}

int
se__sigdump(struct se_logger *lg, const char *workers)
{
    char path[SE_PATH_MAX] = "stderr";
    int fd = open_dump(path, sizeof path);
    if (fd < 0) {
        if (lg != NULL) {
            char why[256];
            se_log(lg, SE_LOG_ERROR, "sigdump: cannot write %s: %s", path,
                   se__posix_open_error(path, fd, why, sizeof why));
        }
        return fd;
    }
    /* backtrace() loads its unwinder on first use: here, never first in a handler */
    void *warm[1];
    (void)backtrace(warm, 1);
    time_t t = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
    dprintf(fd, "Sigdump at %s process %d\n", when, (int)getpid());
    dprintf(fd, "Threads (frames: binary(symbol+offset)[address]; where no symbol is named, "
                "addr2line -f -e BINARY OFFSET names it: serverengine(3), UTILITIES):\n");
    dump_threads(fd);
    dprintf(fd, "Memory:\n");
    static const char *const mem[] = {"VmPeak",  "VmSize", "VmHWM",   "VmRSS",
                                      "RssAnon", "VmData", "Threads", NULL};
    copy_file_lines(fd, "/proc/self/status", mem);
    if (workers != NULL) dprintf(fd, "Workers (as serverengine status shows them):\n%s", workers);
    close(fd);
    if (lg != NULL) se_log(lg, SE_LOG_INFO, "sigdump: wrote %s", path);
    return 0;
}
