/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest_tool.c: the command-line tool as the integration tests run it
 * (itest_tool.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/itest_tool.h"

static char tool_path[PATH_MAX]; /* a test program's own state, set once in main */

bool
itest_tool_init(const char *argv0)
{
    char self[PATH_MAX];
    if (realpath(argv0, self) == NULL) return false;
    int n = snprintf(tool_path, sizeof tool_path, "%s/../serverengine", dirname(self));
    return n > 0 && (size_t)n < sizeof tool_path;
}

pid_t
itest_tool_spawn(struct itest *t, const char *name, int in_fd, const char *const *args, bool track)
{
    char out[ITEST_PATH_MAX + 64], err[ITEST_PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/%s.out", t->dir, name);
    snprintf(err, sizeof err, "%s/%s.err", t->dir, name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || o < 0 || e < 0) _exit(97);
        dup2(in, 0), dup2(o, 1), dup2(e, 2);
        const char *argv[ITEST_TOOL_ARGS_MAX + 2] = {tool_path};
        for (size_t i = 0; args[i] != NULL && i < ITEST_TOOL_ARGS_MAX; i++)
            argv[i + 1] = args[i];
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(tool_path, (char *const *)argv);
        _exit(96);
    }
    setpgid(pid, pid);
    if (track) itest_track_pgid(t, pid); /* a server: nothing of it may survive */
    return pid;
}

int
itest_tool_run(struct itest *t, char *out, char *err, size_t size, const char *first, ...)
{
    const char *args[ITEST_TOOL_ARGS_MAX + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < ITEST_TOOL_ARGS_MAX; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    pid_t pid = itest_tool_spawn(t, "cmd", -1, args, false);
    int status = itest_wait_exit(t, pid, ITEST_DEADLINE_MS);
    char path[ITEST_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/cmd.out", t->dir);
    if (itest_read_file(path, out, size) < 0) out[0] = '\0';
    snprintf(path, sizeof path, "%s/cmd.err", t->dir);
    if (itest_read_file(path, err, size) < 0) err[0] = '\0';
    return status;
}
