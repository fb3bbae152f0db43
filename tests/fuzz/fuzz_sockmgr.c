/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the SocketManager's request parser
 * (engine/sockmgr_proto.c). Beyond the sanitizers it checks its promises:
 * it reads nothing past the input (the input is copied to an exact-size
 * heap block), a result is 0, -EINVAL, -EMSGSIZE or the length of the line
 * it consumed, and a parsed request formats to a line that parses back to
 * the same request.
 *
 *   make fuzz-sockmgr FUZZ_SECONDS=30
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockmgr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_sockmgr: %s\n", what);
    abort();
}

static void
round_trip(const struct se_sockmgr_req *req)
{
    if (req->op != SE_SOCKMGR_LISTEN && req->op != SE_SOCKMGR_SOCKET) return;
    char line[SE_SOCKMGR_LINE_MAX + 64];
    int n = se__sockmgr_format(req, line, sizeof line);
    if (n <= 0) die("a parsed request does not format");
    struct se_sockmgr_req back;
    if (se__sockmgr_parse(line, (size_t)n, &back) != n) die("a formatted request does not parse");
    if (back.op != req->op || back.kind != req->kind || back.port != req->port ||
        back.reuseport != req->reuseport || strcmp(back.host, req->host) != 0)
        die("the round trip changed the request");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1); /* +1: malloc(0) may be NULL */
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    size_t at = 0;
    while (at < size) {
        struct se_sockmgr_req req;
        int rc = se__sockmgr_parse(buf + at, size - at, &req);
        if (rc == 0 || rc == -EINVAL || rc == -EMSGSIZE) break;
        if (rc < 0 || (size_t)rc > size - at || buf[at + (size_t)rc - 1] != '\n')
            die("a result that is not a line length");
        round_trip(&req);
        at += (size_t)rc;
    }
    free(buf);
    return 0;
}
