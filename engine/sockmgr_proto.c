/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sockmgr_proto.c: the SocketManager's request lines (sockmgr.h), parsed
 * and formatted. Pure: no system call, no allocation; fuzzed by
 * tests/fuzz/fuzz_sockmgr.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sockmgr.h"

#define WORDS_MAX 6

/* Splits line[0..n) at single spaces; empty words are malformed. */
static int
split(const char *line, size_t n, const char *w[], size_t wl[], size_t *count)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ') continue;
        if (i == start || k == WORDS_MAX) return -EINVAL;
        w[k] = line + start;
        wl[k++] = i - start;
        start = i + 1;
    }
    *count = k;
    return 0;
}

static bool
word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

static int
parse_port(const char *w, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5) return -EINVAL;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9') return -EINVAL;
        v = v * 10 + (uint32_t)(w[i] - '0');
    }
    if (v > 65535) return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* A host is "*", an IPv4 or IPv6 literal: hex digits, '.', ':' (names are
 * the client's to resolve: the server never waits on a resolver). */
static int
parse_host(const char *w, size_t n, char *host)
{
    if (n == 0 || n >= SE_LISTEN_HOST_MAX) return -EINVAL;
    if (!(n == 1 && w[0] == '*') && strspn(w, "0123456789abcdefABCDEF.:") < n) return -EINVAL;
    memcpy(host, w, n);
    host[n] = '\0';
    return 0;
}

static int
parse_address(const char *w[], const size_t wl[], size_t count, struct se_sockmgr_req *req)
{
    if (count != 4 && count != 5) return -EINVAL;
    if (word_is(w[1], wl[1], "tcp"))
        req->kind = SE_LISTEN_TCP;
    else if (word_is(w[1], wl[1], "udp"))
        req->kind = SE_LISTEN_UDP;
    else
        return -EINVAL;
    if (parse_host(w[2], wl[2], req->host) < 0 || parse_port(w[3], wl[3], &req->port) < 0)
        return -EINVAL;
    if (count == 5 && !word_is(w[4], wl[4], "reuseport")) return -EINVAL;
    req->reuseport = count == 5;
    return 0;
}

int
se__sockmgr_parse(const char *buf, size_t len, struct se_sockmgr_req *req)
{
    const char *nl = memchr(buf, '\n', len < SE_SOCKMGR_LINE_MAX ? len : SE_SOCKMGR_LINE_MAX);
    if (nl == NULL) return len >= SE_SOCKMGR_LINE_MAX ? -EMSGSIZE : 0;
    size_t n = (size_t)(nl - buf);
    memset(req, 0, sizeof *req);
    const char *w[WORDS_MAX];
    size_t wl[WORDS_MAX], count = 0;
    if (split(buf, n, w, wl, &count) < 0) return -EINVAL;
    int rc = -EINVAL;
    if (count == 1 && word_is(w[0], wl[0], "TAKEOVER"))
        req->op = SE_SOCKMGR_TAKEOVER, rc = 0;
    else if (count == 1 && word_is(w[0], wl[0], "END"))
        req->op = SE_SOCKMGR_END, rc = 0;
    else if (word_is(w[0], wl[0], "LISTEN"))
        req->op = SE_SOCKMGR_LISTEN, rc = parse_address(w, wl, count, req);
    else if (word_is(w[0], wl[0], "SOCKET"))
        req->op = SE_SOCKMGR_SOCKET, rc = parse_address(w, wl, count, req);
    return rc < 0 ? rc : (int)n + 1;
}

int
se__sockmgr_format(const struct se_sockmgr_req *req, char *buf, size_t size)
{
    const char *op = req->op == SE_SOCKMGR_SOCKET ? "SOCKET" : "LISTEN";
    int n = snprintf(buf, size, "%s %s %s %u%s\n", op, req->kind == SE_LISTEN_UDP ? "udp" : "tcp",
                     req->host, (unsigned)req->port, req->reuseport ? " reuseport" : "");
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
