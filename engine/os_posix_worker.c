/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix_worker.c: a process worker's side of the adapter. The worker's
 * main thread is its helper (worker.c decides what to do); this file is
 * how it waits: a signalfd for the commands, an eventfd that says `run` has
 * returned, the heartbeat pipe whose error says the server is gone, and the
 * thread that runs `run` with a clean signal state.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os_posix.h"

/*
 * A command signal that reached a thread other than the helper (run's, or
 * one run started: they block nothing) is passed on to the helper, the main
 * thread (its thread id is the pid), with its sender kept (CONT from the
 * server is told apart by it). In a process forked from run without exec,
 * the only thread is the main one and it blocks nothing: the signal gets
 * its default action there, as if the engine had never been in the
 * process. SIGPIPE in a worker thread does nothing (a closed pipe is EPIPE,
 * not death); an exec resets every handler to the default.
 * Async-signal-safe; errno kept.
 */
static void
// cppcheck-suppress constParameter ; the type sigaction's sa_sigaction takes
forward_signal(int signo, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    if ((pid_t)syscall(SYS_gettid) == getpid()) {
        signal(signo, SIG_DFL);
        raise(signo);
    } else if (signo != SIGPIPE) {
        se__posix_forward_to_main(signo, si);
    }
    errno = saved;
}

/* Every signal to its default action (whatever the server or the program
 * that started it had ignored), then the forwarding handler for the
 * commands the helper reads and for SIGPIPE. */
static void
worker_dispositions(const sigset_t *handled)
{
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
    }
    struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&sa.sa_mask);
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGPIPE || sigismember(handled, signo) == 1) sigaction(signo, &sa, NULL);
    }
}

int
se__posix_helper_open(struct se_posix_helper *h, const enum se_sig *sigs, uint32_t sigs_count)
{
    h->sigfd = h->done_fd = -1;
    /* Its own process group first, before it can start anything: what run
     * starts stays in it, and goes with the worker (worker_kill_process_group). */
    setpgid(0, 0);
    sigset_t handled;
    sigemptyset(&handled);
    for (uint32_t i = 0; i < sigs_count; i++) {
        int signo = se__sig_to_posix(sigs[i]);
        if (signo > 0) sigaddset(&handled, signo);
    }
    worker_dispositions(&handled);
    /* the fork left every signal blocked: nothing was lost in between; the
     * main thread keeps the commands blocked for its signalfd */
    pthread_sigmask(SIG_SETMASK, &handled, NULL);
    h->sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (h->sigfd < 0) return -errno;
    h->done_fd = eventfd(0, EFD_CLOEXEC);
    return h->done_fd < 0 ? -errno : 0;
}

static void *
run_main(void *arg)
{
    struct se_posix_helper *h = arg;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL); /* user code: nothing blocked */
    h->fn(h->arg);
    uint64_t one = 1;
    ssize_t r = write(h->done_fd, &one, sizeof one);
    (void)r;
    return NULL;
}

int
se__posix_helper_start(struct se_posix_helper *h, void (*fn)(void *arg), void *arg)
{
    h->fn = fn;
    h->arg = arg;
    pthread_t t;
    int rc = -pthread_create(&t, NULL, run_main, h);
    if (rc == 0) h->thread = (uint64_t)t;
    return rc;
}

void
se__posix_helper_join(struct se_posix_helper *h)
{
    pthread_join((pthread_t)h->thread, NULL);
}

int
se__posix_helper_wait(struct se_posix_helper *h, int32_t hb_fd, int64_t timeout_ms, uint32_t *what)
{
    *what = 0;
    int timeout = timeout_ms < 0 ? -1 : (int)se_min_ms(timeout_ms, INT32_MAX);
    struct pollfd pfd[3] = {{.fd = h->done_fd, .events = POLLIN},
                            {.fd = h->sigfd, .events = POLLIN},
                            {.fd = hb_fd, .events = 0}};
    int n = poll(pfd, hb_fd >= 0 ? 3 : 2, timeout);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    if (n == 0) return 0;
    if (pfd[0].revents & POLLIN) *what |= SE_HELPER_DONE;
    if (pfd[1].revents & POLLIN) *what |= SE_HELPER_SIGNAL;
    if (pfd[2].revents & (POLLERR | POLLHUP)) *what |= SE_HELPER_PARENT_GONE;
    return 0;
}

int
se__posix_helper_signal(struct se_posix_helper *h, enum se_sig *sig, int32_t *sender_pid)
{
    struct signalfd_siginfo si;
    if (read(h->sigfd, &si, sizeof si) != (ssize_t)sizeof si) return 0;
    *sig = se__sig_from_posix((int)si.ssi_signo);
    *sender_pid = (int32_t)si.ssi_pid;
    return 1;
}

bool
se__posix_pipe_broken(int32_t fd)
{
    struct pollfd pfd = {.fd = fd, .events = 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}
