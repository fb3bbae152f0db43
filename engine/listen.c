/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen.c: the `listen` addresses as structs, and the socket-activation
 * environment of a spawned program. Pure: no system call, no allocation;
 * the adapter (os_posix_net.c) opens what this file describes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"

static int
fail(char *err, size_t err_size, const char *text, const char *why)
{
    if (err != NULL && err_size > 0) snprintf(err, err_size, "\"%s\": %s", text, why);
    return -EINVAL;
}

static bool
copy_bounded(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size) return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* "?mode=0660&owner=www&group=www" after a unix path. */
static int
parse_unix_options(const char *q, struct se_listen_addr *out, const char *text, char *err,
                   size_t err_size)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq == NULL) return fail(err, err_size, text, "an option is NAME=VALUE");
        size_t kn = (size_t)(eq - q), vn = n - kn - 1;
        const char *v = eq + 1;
        if (kn == 4 && strncmp(q, "mode", 4) == 0) {
            if (vn == 0 || vn > 4 || strspn(v, "01234567") < vn)
                return fail(err, err_size, text, "mode is octal, e.g. mode=0660");
            out->mode = (int32_t)strtol(v, NULL, 8);
        } else if (kn == 5 && strncmp(q, "owner", 5) == 0) {
            if (vn == 0 || !copy_bounded(out->owner, sizeof out->owner, v, vn))
                return fail(err, err_size, text, "owner is a user name or uid");
        } else if (kn == 5 && strncmp(q, "group", 5) == 0) {
            if (vn == 0 || !copy_bounded(out->group, sizeof out->group, v, vn))
                return fail(err, err_size, text, "group is a group name or gid");
        } else {
            return fail(err, err_size, text, "options are mode, owner and group");
        }
        q += n;
        if (*q == '&') q++;
    }
    return 0;
}

static int
parse_unix(const char *text, struct se_listen_addr *out, char *err, size_t err_size)
{
    const char *path = text + 5;
    size_t n = strcspn(path, "?");
    if (path[0] != '/') return fail(err, err_size, text, "a unix path is absolute");
    if (!copy_bounded(out->path, sizeof out->path, path, n))
        return fail(err, err_size, text, "the path is too long for a unix socket");
    out->kind = SE_LISTEN_UNIX;
    return path[n] == '?' ? parse_unix_options(path + n + 1, out, text, err, err_size) : 0;
}

static int
parse_inet(const char *text, struct se_listen_addr *out, char *err, size_t err_size)
{
    const char *s = text + 6;
    const char *colon;
    size_t hn;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') return fail(err, err_size, text, "[IPv6]:PORT");
        s++;
        hn = (size_t)(close - s);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) return fail(err, err_size, text, "HOST:PORT");
        hn = (size_t)(colon - s);
    }
    if (hn == 0 || !copy_bounded(out->host, sizeof out->host, s, hn))
        return fail(err, err_size, text, "a host, an address or *");
    const char *p = colon + 1;
    size_t pn = strlen(p);
    if (pn == 0 || pn > 5 || strspn(p, "0123456789") != pn || atoi(p) > 65535)
        return fail(err, err_size, text, "a port 0..65535");
    out->port = (uint16_t)atoi(p);
    out->kind = strncmp(text, "tcp://", 6) == 0 ? SE_LISTEN_TCP : SE_LISTEN_UDP;
    return 0;
}

int
se__listen_parse(const char *text, struct se_listen_addr *out, char *err, size_t err_size)
{
    SE_ASSERT(text != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->mode = -1;
    if (strncmp(text, "unix:", 5) == 0) return parse_unix(text, out, err, err_size);
    if (strncmp(text, "tcp://", 6) == 0 || strncmp(text, "udp://", 6) == 0)
        return parse_inet(text, out, err, err_size);
    return fail(err, err_size, text, "tcp://HOST:PORT, udp://HOST:PORT or unix:/path");
}

void
se__listen_fdname(const char *text, char *out, size_t out_size)
{
    SE_ASSERT(out_size > 0);
    size_t n = 0;
    for (; text[n] != '\0' && n + 1 < out_size && n + 1 < SE_LISTEN_NAME_MAX; n++)
        out[n] = text[n] == ':' ? '-' : text[n];
    out[n] = '\0';
}

/* Appends s at *at, bounded by end (always leaves room for the NUL). */
static void
put(char **at, const char *end, const char *s)
{
    while (*s != '\0' && *at + 1 < end)
        *(*at)++ = *s++;
    **at = '\0';
}

/* The decimal text of v (no stdio: async-signal-safe). */
static void
put_u32(char **at, const char *end, uint32_t v)
{
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    char rev[12];
    for (size_t i = 0; i < n; i++)
        rev[i] = digits[n - 1 - i];
    rev[n] = '\0';
    put(at, end, rev);
}

int
se__listen_env(const struct se_listen_set *set, int32_t pid, struct se_listen_env *env)
{
    if (set->count == 0 || pid <= 0) return -EINVAL;
    char *at = env->fds;
    put(&at, env->fds + sizeof env->fds, "LISTEN_FDS=");
    put_u32(&at, env->fds + sizeof env->fds, set->count);
    at = env->pid;
    put(&at, env->pid + sizeof env->pid, "LISTEN_PID=");
    put_u32(&at, env->pid + sizeof env->pid, (uint32_t)pid);
    at = env->names;
    const char *end = env->names + sizeof env->names;
    put(&at, end, "LISTEN_FDNAMES=");
    for (uint32_t i = 0; i < set->count; i++) {
        char name[SE_LISTEN_NAME_MAX];
        se__listen_fdname(set->names[i], name, sizeof name);
        if (i > 0) put(&at, end, ":");
        put(&at, end, name);
    }
    return 0;
}
