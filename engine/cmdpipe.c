/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmdpipe.c: the command pipe's line reader (cmdpipe.h). Pure: no system
 * call, no allocation. Ruby ServerEngine reads the same words with
 * `gets.chomp`; here a line has a bound, and a line past it is refused
 * instead of held in memory.
 */
#include "cmdpipe.h"

void
se__cmdpipe_init(struct se_cmdpipe *cp)
{
    SE_ASSERT(cp != NULL);
    cp->len = 0;
    cp->dropped = 0;
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The event of the line held in cp->line[0..len), and a fresh reader. */
static struct se_cmdpipe_ev
line_done(struct se_cmdpipe *cp)
{
    struct se_cmdpipe_ev ev = {.kind = SE_CMDPIPE_NOTHING};
    if (cp->dropped > 0) {
        ev = (struct se_cmdpipe_ev){.kind = SE_CMDPIPE_TOO_LONG, .len = cp->dropped};
        se__cmdpipe_init(cp);
        return ev;
    }
    size_t start = 0, end = cp->len;
    while (start < end && is_blank(cp->line[start]))
        start++;
    while (end > start && is_blank(cp->line[end - 1]))
        end--;
    cp->len = 0;
    if (start == end) return ev; /* a blank line */
    enum se_cmd cmd = SE_CMD_NONE;
    if (se_cmd_parse(cp->line + start, end - start, &cmd) == 0)
        return (struct se_cmdpipe_ev){.kind = SE_CMDPIPE_COMMAND, .cmd = cmd};
    return (struct se_cmdpipe_ev){
        .kind = SE_CMDPIPE_UNKNOWN, .text = cp->line + start, .len = end - start};
}

struct se_cmdpipe_ev
se__cmdpipe_feed(struct se_cmdpipe *cp, const char *buf, size_t len, size_t *used)
{
    SE_ASSERT(cp != NULL && used != NULL && (buf != NULL || len == 0));
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\n') {
            *used = i + 1;
            return line_done(cp);
        }
        if (cp->dropped > 0) {
            cp->dropped++;
        } else if (cp->len == SE_CMDPIPE_LINE_MAX) {
            cp->dropped = cp->len + 1; /* refused: nothing more is kept of it */
            cp->len = 0;
        } else {
            cp->line[cp->len++] = c;
        }
    }
    *used = len;
    return (struct se_cmdpipe_ev){.kind = SE_CMDPIPE_NOTHING};
}

struct se_cmdpipe_ev
se__cmdpipe_eof(struct se_cmdpipe *cp)
{
    SE_ASSERT(cp != NULL);
    if (cp->len == 0 && cp->dropped == 0) return (struct se_cmdpipe_ev){.kind = SE_CMDPIPE_NOTHING};
    return line_done(cp);
}
