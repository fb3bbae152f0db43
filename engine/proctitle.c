/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proctitle.c: process names (serverengine(5), daemon_process_name,
 * server_process_name, worker_process_name): argv's memory overwritten so
 * that ps shows the title, and the thread name (/proc/PID/comm) set too.
 *
 * Keeps no state of its own (struct se_proctitle is the caller's).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "daemon.h"
#include "se_fault.h"

#define COMM_MAX 16u /* the kernel's thread name, NUL included */

/* ---- process names -------------------------------------------------------- */

static int
heap_copy(const char *s, size_t len, char **copy)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_ALLOC);
    *copy = malloc(len);
    if (*copy == NULL) return -ENOMEM;
    memcpy(*copy, s, len);
    return 0;
}

/*
 * The kernel lays the environment strings right after argv's. Moving them to
 * the heap (environ's entries repointed, so getenv and exec keep working)
 * lets a title longer than the command line fit. The trade-offs, as with
 * BSD setproctitle: pointers from getenv() taken before this call now point
 * into the title (so this runs first thing in main), /proc/PID/environ shows
 * the title's bytes, and the copies live as long as the process. A copy that
 * fails ends the area there. Returns the new end of the area.
 */
static char *
proctitle_take_environ(char *end)
{
    for (size_t i = 0; environ != NULL && environ[i] != NULL; i++) {
        if (environ[i] != end) break;
        size_t len = strlen(environ[i]) + 1;
        char *copy = NULL;
        if (heap_copy(environ[i], len, &copy) < 0) break;
        environ[i] = copy;
        end += len;
    }
    return end;
}

/* Called once, by the main thread, before other threads exist (environ is
 * rewritten without a lock). argv itself is left as it is; its strings are
 * overwritten by the first se__proctitle_set. */
void
se__proctitle_init(struct se_proctitle *t, int argc, char **argv)
{
    t->area = NULL;
    t->size = 0;
    if (argc < 1 || argv == NULL || argv[0] == NULL) return;
    char *end = argv[0] + strlen(argv[0]) + 1;
    int i = 1;
    while (i < argc && argv[i] == end) {
        end += strlen(argv[i]) + 1;
        i++;
    }
    /* Only an argv laid out whole as the kernel does it borders environ. */
    if (i == argc) end = proctitle_take_environ(end);
    t->area = argv[0];
    t->size = (size_t)(end - argv[0]);
}

/* PR_SET_NAME names the calling thread only: from the main thread that is
 * the process's /proc/PID/comm. */
static int
proc_setname(const char *title)
{
    char comm[COMM_MAX];
    size_t n = strnlen(title, sizeof comm - 1); /* the kernel keeps 15 bytes: cut on purpose */
    memcpy(comm, title, n);
    comm[n] = '\0';
    SE_FAULT_CHECK(SE_FAULT_PROC_SETNAME);
    return prctl(PR_SET_NAME, (unsigned long)comm, 0UL, 0UL, 0UL) < 0 ? -errno : 0;
}

/* The title, then NULs to the area's end: ps (/proc/PID/cmdline) shows the
 * title alone. A title longer than the area is cut. */
void
se__proctitle_set(const struct se_proctitle *t, const char *fmt, ...)
{
    char title[SE_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(title, sizeof title, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t != NULL && t->area != NULL && t->size > 0) {
        size_t len = strnlen(title, t->size - 1);
        memcpy(t->area, title, len);
        memset(t->area + len, 0, t->size - len);
    }
    (void)proc_setname(title);
}
