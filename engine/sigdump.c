/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sigdump.c: what CONT asks for (serverengine(3), UTILITIES): the process's threads,
 * the dumping thread's stack and the memory figures, written to
 * /tmp/sigdump-PID.log (SIGDUMP_PATH changes it; "-" is stderr). The file is
 * created 0600 with O_EXCL|O_NOFOLLOW, or appended to only when it is a
 * regular file of ours with one link: a planted symlink or someone else's
 * file is never written. Both opens are non-blocking (se__posix_open_regular):
 * a FIFO planted at the path is refused at once instead of holding the loop. Ruby's sigdump gem
 * prints every thread's stack; a C process can only unwind the thread it runs on without stopping
 * the others, so other threads are listed with their state and kernel wait channel.
 */
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "process.h"
#include "logger.h"

#define DUMP_FRAMES_MAX 64

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

static void
dump_threads(int out)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[300], comm[64] = "?", wchan[64] = "?";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "re");
        if (f != NULL && fgets(comm, sizeof comm, f) != NULL) comm[strcspn(comm, "\n")] = '\0';
        if (f != NULL) fclose(f);
        snprintf(path, sizeof path, "/proc/self/task/%s/wchan", de->d_name);
        f = fopen(path, "re");
        if (f != NULL && fgets(wchan, sizeof wchan, f) == NULL) strcpy(wchan, "?");
        if (f != NULL) fclose(f);
        dprintf(out, "  thread %s (%s) waiting in %s\n", de->d_name, comm, wchan);
    }
    closedir(d);
}

int
se__sigdump(struct se_logger *lg)
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
    time_t t = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
    dprintf(fd, "Sigdump at %s process %d\n", when, (int)getpid());
    dprintf(fd, "Threads:\n");
    dump_threads(fd);
    dprintf(fd, "Stack of the dumping thread:\n");
    void *frames[DUMP_FRAMES_MAX];
    int n = backtrace(frames, DUMP_FRAMES_MAX);
    backtrace_symbols_fd(frames, n, fd);
    dprintf(fd, "Memory:\n");
    static const char *const mem[] = {"VmPeak",  "VmSize", "VmHWM",   "VmRSS",
                                      "RssAnon", "VmData", "Threads", NULL};
    copy_file_lines(fd, "/proc/self/status", mem);
    close(fd);
    if (lg != NULL) se_log(lg, SE_LOG_INFO, "sigdump: wrote %s", path);
    return 0;
}
