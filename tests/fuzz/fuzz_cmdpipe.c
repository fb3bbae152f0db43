/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the command pipe's line reader (engine/cmdpipe.c).
 * The input is fed whole and again in reads of a size taken from its first
 * byte; beyond the sanitizers it checks the reader's promises: every call
 * takes at least one byte and no more than it was given, the two splits give
 * the same events, an unknown line is never longer than the limit and holds
 * no newline, and a refused line really was over the limit.
 *
 *   make fuzz-cmdpipe FUZZ_SECONDS=30
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdpipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_cmdpipe: %s\n", what);
    abort();
}

/* A running hash of the events: kind, command, length, text. */
static uint64_t
mix(uint64_t h, struct se_cmdpipe_ev ev)
{
    if (ev.kind == SE_CMDPIPE_NOTHING) return h;
    if (ev.kind == SE_CMDPIPE_UNKNOWN) {
        if (ev.len == 0 || ev.len > SE_CMDPIPE_LINE_MAX) die("unknown line of a bad length");
        if (memchr(ev.text, '\n', ev.len) != NULL) die("a newline inside a line");
        for (size_t i = 0; i < ev.len; i++)
            h = (h ^ (uint8_t)ev.text[i]) * 1099511628211u;
    }
    if (ev.kind == SE_CMDPIPE_TOO_LONG && ev.len <= SE_CMDPIPE_LINE_MAX)
        die("a line within the limit was refused");
    h = (h ^ (uint64_t)ev.kind) * 1099511628211u;
    h = (h ^ (uint64_t)ev.cmd) * 1099511628211u;
    return (h ^ (uint64_t)ev.len) * 1099511628211u;
}

static uint64_t
run(const char *in, size_t size, size_t chunk)
{
    struct se_cmdpipe cp;
    se__cmdpipe_init(&cp);
    uint64_t h = 14695981039346656037u;
    for (size_t at = 0; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk, off = 0;
        while (off < n) {
            size_t used = 0;
            h = mix(h, se__cmdpipe_feed(&cp, in + at + off, n - off, &used));
            if (used == 0 || used > n - off) die("a call took no byte or too many");
            off += used;
        }
    }
    return mix(h, se__cmdpipe_eof(&cp));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    const char *in = (const char *)data + 1;
    if (run(in, size - 1, size) != run(in, size - 1, chunk)) die("the split changed the events");
    return 0;
}
