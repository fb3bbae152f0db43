/* SPDX-License-Identifier: Apache-2.0 */
#include "logger_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os_posix.h"

static struct lt_wrap *
me(void *ctx)
{
    return ctx;
}

static int64_t
w_monotonic_ms(void *ctx)
{
    struct lt_wrap *w = me(ctx);
    return w->fake_clock ? w->now_ms : w->real->monotonic_ms(w->real->ctx);
}

static int64_t
w_realtime_us(void *ctx)
{
    struct lt_wrap *w = me(ctx);
    if (w->real_us != 0) return w->real_us;
    /* the wall clock moves with the test's clock, as the real ones do together */
    if (w->fake_clock) return w->real_base_us + w->now_ms * 1000;
    return w->real->realtime_us(w->real->ctx);
}

static bool
log_write_fails(struct lt_wrap *w)
{
    uint32_t n = w->log_writes++;
    return n >= w->fail_from && n < w->fail_to;
}

static int
w_write(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written)
{
    struct lt_wrap *w = me(ctx);
    if (fd == 2) {
        size_t room = sizeof w->err_text - 1 - w->err_len;
        size_t n = len < room ? len : room;
        memcpy(w->err_text + w->err_len, buf, n);
        w->err_len += n;
        w->err_text[w->err_len] = '\0';
        *len_written = len;
        return 0;
    }
    if (log_write_fails(w)) return w->fail_err;
    return w->real->write(w->real->ctx, fd, buf, len, len_written);
}

static int
w_append(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written,
         uint64_t *size_after_bytes)
{
    struct lt_wrap *w = me(ctx);
    if (log_write_fails(w)) return w->fail_err;
    return w->real->append(w->real->ctx, fd, buf, len, len_written, size_after_bytes);
}

static int
w_read(void *ctx, int32_t fd, void *buf, size_t len, size_t *len_read)
{
    struct lt_wrap *w = me(ctx);
    if (w->read_err != 0) return w->read_err;
    return w->real->read(w->real->ctx, fd, buf, len, len_read);
}

static int
w_rename(void *ctx, const char *from, const char *to)
{
    struct lt_wrap *w = me(ctx);
    w->renames++;
    if (w->rename_fails > 0) {
        w->rename_fails--;
        return w->rename_err;
    }
    return w->real->rename(w->real->ctx, from, to);
}

static int
w_file_id(void *ctx, const char *path, int32_t fd, struct se_file_id *id)
{
    struct lt_wrap *w = me(ctx);
    if (fd < 0) w->path_stats++;
    return w->real->file_id(w->real->ctx, path, fd, id);
}

static int
w_lock(void *ctx, int32_t fd)
{
    struct lt_wrap *w = me(ctx);
    w->locks++;
    return w->real->lock(w->real->ctx, fd);
}

void
lt_wrap_init(struct lt_wrap *w)
{
    memset(w, 0, sizeof *w);
    w->real = se__os_posix_fs();
    w->os = *w->real;
    w->os.ctx = w;
    w->os.monotonic_ms = w_monotonic_ms;
    w->os.realtime_us = w_realtime_us;
    w->os.write = w_write;
    w->os.append = w_append;
    w->os.rename = w_rename;
    w->os.read = w_read;
    w->os.file_id = w_file_id;
    w->os.lock = w_lock;
    w->fake_clock = true;
    w->now_ms = 1000000;
    w->real_base_us = w->real->realtime_us(w->real->ctx) - w->now_ms * 1000;
    w->fail_err = -ENOSPC;
}

int
lt_wrap_reports(const struct lt_wrap *w, const char *needle)
{
    return (int)lt_count(w->err_text, needle);
}

void
lt_dir_make(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/se_logger_XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

void
lt_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    char p[1200];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

char *
lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) < 0) abort();
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) *len = n;
    return buf;
}

bool
lt_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

size_t
lt_count(const char *text, const char *needle)
{
    size_t n = 0, l = strlen(needle);
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += l)
        n++;
    return n;
}

/* "dddd-dd-ddTdd:dd:dd.dddddd": d a digit, anything else literal. */
static bool
stamp_ok(const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddddd";
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (pattern[i] == 'd' ? !digit : s[i] != pattern[i]) return false;
    }
    return true;
}

/* A hand parser (a regex per line is too slow for the 160,000-line checks). */
bool
lt_parse_line(const char *line, size_t len, int *pid, char level[6], const char **msg)
{
    static const char *const labels[] = {"TRACE", "DEBUG", " INFO", " WARN",
                                         "ERROR", "FATAL", "  ANY"};
    const char *p = line, *end = line + len;
    if (len < 4 + 26 + 2 + 1 + 2 + 5 + 4 + 2 || memcmp(p + 1, ", [", 3) != 0) return false;
    if (!stamp_ok(p + 4)) return false;
    p += 30;
    if (memcmp(p, " #", 2) != 0) return false;
    p += 2;
    int v = 0, digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0 || end - p < 2 + 5 + 4 + 2 || memcmp(p, "] ", 2) != 0) return false;
    p += 2;
    const char *label = NULL;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (memcmp(p, labels[i], 5) == 0) label = labels[i];
    if (label == NULL || memcmp(p + 5, " -- ", 4) != 0) return false;
    const char *first = label;
    while (*first == ' ')
        first++;
    if (line[0] != first[0]) return false; /* the letter is the label's first letter */
    p += 9;
    const char *colon = p;
    while (end - colon >= 2 && !(colon[0] == ':' && colon[1] == ' '))
        colon++;
    if (end - colon < 2) return false; /* no ": " after the progname */
    if (pid != NULL) *pid = v;
    if (level != NULL) {
        memcpy(level, label, 5);
        level[5] = '\0';
    }
    if (msg != NULL) *msg = colon + 2;
    return true;
}

int
lt_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}
