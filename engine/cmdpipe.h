/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmdpipe.h: the command pipe's line reader (command_sender: pipe), sans
 * I/O: bytes in, commands out, state in a caller-owned struct. The parent
 * writes one word per line (GRACEFUL_STOP, IMMEDIATE_STOP, GRACEFUL_RESTART,
 * IMMEDIATE_RESTART, RELOAD, DETACH, DUMP); the reader never buffers more
 * than one line of SE_CMDPIPE_LINE_MAX bytes: a longer line is refused and
 * the reader picks up again after its newline. No system call, no clock, no
 * allocation; the caller reads the descriptor and decides what EOF means.
 */
#ifndef SE_CMDPIPE_H
#define SE_CMDPIPE_H

#include "se_int.h"

#define SE_CMDPIPE_LINE_MAX 4096u /* bytes of one line, its newline excluded */

enum se_cmdpipe_kind {
    SE_CMDPIPE_NOTHING = 0, /* every byte was taken; no line ended */
    SE_CMDPIPE_COMMAND,     /* .cmd: a known word */
    SE_CMDPIPE_UNKNOWN,     /* .text/.len: a line that is no command (log, ignore) */
    SE_CMDPIPE_TOO_LONG,    /* .len: a line over SE_CMDPIPE_LINE_MAX bytes was dropped */
};

struct se_cmdpipe_ev {
    enum se_cmdpipe_kind kind;
    enum se_cmd cmd;  /* COMMAND */
    const char *text; /* UNKNOWN: the line, borrowed until the next call */
    size_t len;       /* UNKNOWN: its length; TOO_LONG: bytes dropped */
};

struct se_cmdpipe {
    char line[SE_CMDPIPE_LINE_MAX];
    size_t len;     /* bytes of the current line held in line[] */
    size_t dropped; /* > 0: the current line is too long; bytes seen so far */
};

void se__cmdpipe_init(struct se_cmdpipe *cp);

/*
 * Takes bytes from buf[0..len) until a line ends or every byte is taken.
 * *used is the number of bytes taken (call again with the rest). Returns
 * the event of the line that ended, or SE_CMDPIPE_NOTHING. Blank lines are
 * skipped; spaces, tabs and a carriage return around the word are ignored.
 */
struct se_cmdpipe_ev se__cmdpipe_feed(struct se_cmdpipe *cp, const char *buf, size_t len,
                                      size_t *used);

/* End of input: a last line without its newline is taken as a line (the
 * event of it, or SE_CMDPIPE_NOTHING); the reader is reset. */
struct se_cmdpipe_ev se__cmdpipe_eof(struct se_cmdpipe *cp);

#endif /* SE_CMDPIPE_H */
