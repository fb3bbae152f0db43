/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command pipe's line reader (engine/cmdpipe.c) as a table: input
 * bytes, the events they give, written as words ("GRACEFUL_STOP",
 * "?WORD" for an unknown line, "!N" for an N-byte line refused). Every row
 * is fed whole, byte by byte and in chunks of 7: the split of the bytes
 * into reads never changes the result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdpipe.h"

#define OUT_MAX 512

struct row {
    const char *in;  /* NULL: made by the test (long lines) */
    const char *out; /* the events, space-separated */
};

static void
append(char *out, const char *word)
{
    if (out[0] != '\0') strncat(out, " ", OUT_MAX - strlen(out) - 1);
    strncat(out, word, OUT_MAX - strlen(out) - 1);
}

static void
record(struct se_cmdpipe_ev ev, char *out)
{
    char w[80];
    switch (ev.kind) {
    case SE_CMDPIPE_NOTHING: return;
    case SE_CMDPIPE_COMMAND: snprintf(w, sizeof w, "%s", se_cmd_name(ev.cmd)); break;
    case SE_CMDPIPE_UNKNOWN:
        if (ev.len > 40)
            snprintf(w, sizeof w, "?[%zu bytes]", ev.len);
        else
            snprintf(w, sizeof w, "?%.*s", (int)ev.len, ev.text);
        break;
    case SE_CMDPIPE_TOO_LONG: snprintf(w, sizeof w, "!%zu", ev.len); break;
    }
    append(out, w);
}

static void
feed_in_chunks(const char *in, size_t len, size_t chunk, char *out)
{
    struct se_cmdpipe cp;
    se__cmdpipe_init(&cp);
    out[0] = '\0';
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk, off = 0;
        while (off < n) {
            size_t used = 0;
            record(se__cmdpipe_feed(&cp, in + at + off, n - off, &used), out);
            assert_true(used > 0 && used <= n - off);
            off += used;
        }
    }
    record(se__cmdpipe_eof(&cp), out);
}

static void
check(const char *in, size_t len, const char *want)
{
    const size_t chunks[] = {len > 0 ? len : 1, 1, 7};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char out[OUT_MAX];
        feed_in_chunks(in, len, chunks[i], out);
        if (strcmp(out, want) != 0)
            fail_msg("chunks of %zu: \"%s\" gave \"%s\", want \"%s\"", chunks[i],
                     len < 60 ? in : "(long)", out, want);
    }
}

static const struct row rows[] = {
    {"GRACEFUL_STOP\n", "GRACEFUL_STOP"},
    {"IMMEDIATE_STOP\nGRACEFUL_RESTART\nIMMEDIATE_RESTART\nRELOAD\nDETACH\nDUMP\n",
     "IMMEDIATE_STOP GRACEFUL_RESTART IMMEDIATE_RESTART RELOAD DETACH DUMP"},
    {"RELOAD\r\n", "RELOAD"},
    {"  DUMP \t\n", "DUMP"},
    {"\n\n\r\n  \n", ""},
    {"graceful_stop\n", "?graceful_stop"},
    {"HELLO WORLD\nRELOAD\n", "?HELLO WORLD RELOAD"},
    {"GRACEFUL_STOPX\n", "?GRACEFUL_STOPX"},
    {"GRACEFUL_\n", "?GRACEFUL_"},
    {"RELOAD", "RELOAD"}, /* the last line at EOF, without its newline */
    {"", ""},
    {"DUMP\nRELO", "DUMP ?RELO"},
};

static void
test_cmdpipe_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check(rows[i].in, strlen(rows[i].in), rows[i].out);
    }
}

/* A line of exactly the limit is read; one byte more is refused whole,
 * and the reader is in step again at the next line. */
static void
test_cmdpipe_refuses_a_line_over_the_limit_and_resynchronises(void **state)
{
    (void)state;
    size_t max = SE_CMDPIPE_LINE_MAX;
    char *in = malloc(3 * max + 64);
    assert_non_null(in);
    memset(in, 'A', max);
    strcpy(in + max, "\nRELOAD\n");
    char want[32];
    snprintf(want, sizeof want, "?[%zu bytes] RELOAD", max);
    check(in, strlen(in), want);
    memset(in, 'A', max + 1);
    strcpy(in + max + 1, "\nRELOAD\n");
    snprintf(want, sizeof want, "!%zu RELOAD", max + 1);
    check(in, strlen(in), want);
    /* far longer, with a command's word at the limit's edge: never taken */
    memset(in, 'B', 3 * max);
    memcpy(in + max + 1, "GRACEFUL_STOP", 13);
    strcpy(in + 3 * max, "\nDUMP\n");
    snprintf(want, sizeof want, "!%zu DUMP", 3 * max);
    check(in, strlen(in), want);
    /* an overlong last line at EOF is refused too */
    memset(in, 'C', max + 5);
    in[max + 5] = '\0';
    snprintf(want, sizeof want, "!%zu", max + 5);
    check(in, strlen(in), want);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdpipe_table),
        cmocka_unit_test(test_cmdpipe_refuses_a_line_over_the_limit_and_resynchronises),
    };
    return cmocka_run_group_tests_name("cmdpipe", tests, NULL, NULL);
}
