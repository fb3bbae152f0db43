/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmdpipe_in.c: a server's side of the command pipe (command_sender: pipe).
 * The server takes its stdin as the pipe its parent (a supervisor, the
 * serverengine tool, any program) writes command words to, and reads it in
 * its loop: each word is handled as its signal would be, an unknown line is
 * logged and ignored, a line over 4 KiB is refused, and EOF (the parent is
 * gone) is a graceful stop. The line reader is engine/cmdpipe.c. Ruby
 * ServerEngine's Server#start_command_pipe... under command_sender "pipe".
 */
#include <errno.h>
#include <stdlib.h>

#include "cmdpipe.h"
#include "server.h"

#define CMDIN_READ_BYTES     512u
#define CMDIN_SHOW_BYTES     64  /* of an unknown line, in the log */
#define CMDIN_FILE_READS_MAX 128 /* a file as stdin: the first 64 KiB of it */

static bool read_once(struct se_server *s, int32_t fd);

int
se__cmdin_open(struct se_server *s, const struct se_config *cfg, bool supervised)
{
    s->cmdin_fd = -1;
    /* a daemon with no supervisor has no parent to command it: its stdin is
     * /dev/null, and EOF there would stop it at once */
    if (!cfg->command_sender_pipe || (cfg->daemonize && !supervised)) return 0;
    s->cmdin = calloc(1, sizeof *s->cmdin);
    if (s->cmdin == NULL) return -ENOMEM;
    se__cmdpipe_init(s->cmdin);
    /* The pipe moves off descriptor 0, close-on-exec and closed in every
     * forked child: a worker that reads its stdin never takes the server's
     * commands; it reads /dev/null instead. */
    int32_t fd = -1;
    int rc = se__posix_stdin_take(&fd);
    if (rc < 0) return rc;
    s->cmdin_fd = fd;
    se__os_posix_private_fd(s->loop.posix, fd);
    rc = s->loop.os.watch(s->loop.os.ctx, fd);
    if (rc != -EPERM) return rc;
    /* a file (/dev/null, `server < words.txt`) cannot be watched: it is
     * always readable and ends; it is read to its end now */
    for (int i = 0; i < CMDIN_FILE_READS_MAX && read_once(s, fd); i++) {
    }
    if (s->cmdin_fd >= 0) se__cmdin_close(s);
    return 0;
}

void
se__cmdin_close(struct se_server *s)
{
    if (s->cmdin_fd >= 0) {
        s->loop.os.unwatch(s->loop.os.ctx, s->cmdin_fd);
        s->loop.os.close(s->loop.os.ctx, s->cmdin_fd);
        s->cmdin_fd = -1;
    }
    free(s->cmdin);
    s->cmdin = NULL;
}

static void
on_event(struct se_server *s, struct se_cmdpipe_ev ev)
{
    struct se_logger *lg = s->proc->logger;
    switch (ev.kind) {
    case SE_CMDPIPE_NOTHING: return;
    case SE_CMDPIPE_COMMAND: {
        se_log(lg, SE_LOG_DEBUG, "Read %s on the command pipe", se_cmd_name(ev.cmd));
        /* through the server's own command byte pipe, as se_server_stop:
         * the loop takes it in its next turn, also before it first runs */
        int rc = se__posix_post_byte(s->cmd_pipe[1], (unsigned char)ev.cmd);
        if (rc < 0)
            se_log(lg, SE_LOG_ERROR, "Command pipe: %s lost (%s)", se_cmd_name(ev.cmd),
                   se_strerror(rc));
        return;
    }
    case SE_CMDPIPE_UNKNOWN:
        se_log(lg, SE_LOG_WARN, "Command pipe: unknown command \"%.*s\"%s ignored",
               (int)(ev.len < CMDIN_SHOW_BYTES ? ev.len : CMDIN_SHOW_BYTES), ev.text,
               ev.len > CMDIN_SHOW_BYTES ? "..." : "");
        return;
    case SE_CMDPIPE_TOO_LONG:
        se_log(lg, SE_LOG_WARN, "Command pipe: a line of %zu bytes refused (at most %u)", ev.len,
               SE_CMDPIPE_LINE_MAX);
        return;
    }
}

/* Reads once; at EOF or on an error the pipe is closed and the stop asked
 * for. Returns false once it is closed. */
static bool
read_once(struct se_server *s, int32_t fd)
{
    char buf[CMDIN_READ_BYTES];
    size_t got = 0;
    /* one read per readiness: the descriptor may be blocking (a terminal,
     * a pipe shared with the parent), and a readable one never blocks */
    int rc = s->loop.os.read(s->loop.os.ctx, fd, buf, sizeof buf, &got);
    if (rc == -EAGAIN) return true;
    if (rc < 0 || got == 0) {
        on_event(s, se__cmdpipe_eof(s->cmdin));
        se_log(s->proc->logger, SE_LOG_WARN,
               "The command pipe (stdin) closed: %s; the parent is gone, stopping gracefully",
               rc < 0 ? se_strerror(rc) : "end of file");
        on_event(s,
                 (struct se_cmdpipe_ev){.kind = SE_CMDPIPE_COMMAND, .cmd = SE_CMD_GRACEFUL_STOP});
        se__cmdin_close(s);
        return false;
    }
    for (size_t off = 0; off < got;) {
        size_t used = 0;
        on_event(s, se__cmdpipe_feed(s->cmdin, buf + off, got - off, &used));
        off += used;
    }
    return true;
}

bool
se__cmdin_readable(struct se_server *s, int32_t fd)
{
    if (s->cmdin_fd < 0 || fd != s->cmdin_fd) return false;
    read_once(s, fd);
    return true;
}
