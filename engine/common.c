/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common.c: names and texts every part of the engine shares: error strings,
 * signal and command names, reasons, and the assertion handler.
 * No state; nothing here touches the OS except the assertion's last words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "se_int.h"

void
se__assert_fail(const char *file, int line, const char *expr)
{
    /* The last words of a broken invariant: stderr, unbuffered, then abort()
     * so that a core and the simulator's trace show where. */
    fprintf(stderr, "serverengine: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

const char *
se_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case SE_ECONFIG: return "invalid configuration";
    case SE_EUNKNOWN: return "unknown name";
    case SE_ELIMIT: return "engine limit exceeded";
    case SE_EPARSE: return "parse error";
    case SE_ESTATE: return "invalid in the current state";
    case SE_ENOTSUP: return "not supported";
    case SE_EUSAGE: return "usage error";
    default: break;
    }
    if (err < 0 && err > -4096) return strerror(-err);
    return "unknown error";
}

static const char *const sig_names[SE_SIG_COUNT] = {
    [SE_SIG_NONE] = "SIGNONE",   [SE_SIG_HUP] = "SIGHUP",       [SE_SIG_INT] = "SIGINT",
    [SE_SIG_QUIT] = "SIGQUIT",   [SE_SIG_ILL] = "SIGILL",       [SE_SIG_TRAP] = "SIGTRAP",
    [SE_SIG_ABRT] = "SIGABRT",   [SE_SIG_BUS] = "SIGBUS",       [SE_SIG_FPE] = "SIGFPE",
    [SE_SIG_KILL] = "SIGKILL",   [SE_SIG_USR1] = "SIGUSR1",     [SE_SIG_SEGV] = "SIGSEGV",
    [SE_SIG_USR2] = "SIGUSR2",   [SE_SIG_PIPE] = "SIGPIPE",     [SE_SIG_ALRM] = "SIGALRM",
    [SE_SIG_TERM] = "SIGTERM",   [SE_SIG_CHLD] = "SIGCHLD",     [SE_SIG_CONT] = "SIGCONT",
    [SE_SIG_STOP] = "SIGSTOP",   [SE_SIG_TSTP] = "SIGTSTP",     [SE_SIG_TTIN] = "SIGTTIN",
    [SE_SIG_TTOU] = "SIGTTOU",   [SE_SIG_URG] = "SIGURG",       [SE_SIG_XCPU] = "SIGXCPU",
    [SE_SIG_XFSZ] = "SIGXFSZ",   [SE_SIG_VTALRM] = "SIGVTALRM", [SE_SIG_PROF] = "SIGPROF",
    [SE_SIG_WINCH] = "SIGWINCH", [SE_SIG_IO] = "SIGIO",         [SE_SIG_PWR] = "SIGPWR",
    [SE_SIG_SYS] = "SIGSYS",     [SE_SIG_OTHER] = "SIG?",
};

/* Linux x86/arm numbers, for "-s signal_reload=12" style values only. */
static const int8_t sig_linux_numbers[SE_SIG_COUNT] = {
    [SE_SIG_HUP] = 1,     [SE_SIG_INT] = 2,   [SE_SIG_QUIT] = 3,   [SE_SIG_ILL] = 4,
    [SE_SIG_TRAP] = 5,    [SE_SIG_ABRT] = 6,  [SE_SIG_BUS] = 7,    [SE_SIG_FPE] = 8,
    [SE_SIG_KILL] = 9,    [SE_SIG_USR1] = 10, [SE_SIG_SEGV] = 11,  [SE_SIG_USR2] = 12,
    [SE_SIG_PIPE] = 13,   [SE_SIG_ALRM] = 14, [SE_SIG_TERM] = 15,  [SE_SIG_CHLD] = 17,
    [SE_SIG_CONT] = 18,   [SE_SIG_STOP] = 19, [SE_SIG_TSTP] = 20,  [SE_SIG_TTIN] = 21,
    [SE_SIG_TTOU] = 22,   [SE_SIG_URG] = 23,  [SE_SIG_XCPU] = 24,  [SE_SIG_XFSZ] = 25,
    [SE_SIG_VTALRM] = 26, [SE_SIG_PROF] = 27, [SE_SIG_WINCH] = 28, [SE_SIG_IO] = 29,
    [SE_SIG_PWR] = 30,    [SE_SIG_SYS] = 31,
};

const char *
se_sig_name(enum se_sig sig)
{
    if ((unsigned)sig >= SE_SIG_COUNT) return "SIG?";
    return sig_names[sig];
}

int
se_sig_parse(const char *text, enum se_sig *sig)
{
    SE_ASSERT(sig != NULL);
    if (text == NULL || text[0] == '\0') return SE_EUNKNOWN;
    if (text[0] >= '0' && text[0] <= '9') {
        char *end = NULL;
        long n = strtol(text, &end, 10);
        if (*end != '\0') return SE_EUNKNOWN;
        for (int s = SE_SIG_HUP; s < SE_SIG_OTHER; s++) {
            if (sig_linux_numbers[s] == n) {
                *sig = (enum se_sig)s;
                return 0;
            }
        }
        return SE_EUNKNOWN;
    }
    const char *bare = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (int s = SE_SIG_HUP; s < SE_SIG_OTHER; s++) {
        if (strcasecmp(bare, sig_names[s] + 3) == 0) {
            *sig = (enum se_sig)s;
            return 0;
        }
    }
    return SE_EUNKNOWN;
}

static const char *const cmd_names[SE_CMD_COUNT] = {
    [SE_CMD_NONE] = "NONE",
    [SE_CMD_GRACEFUL_STOP] = "GRACEFUL_STOP",
    [SE_CMD_IMMEDIATE_STOP] = "IMMEDIATE_STOP",
    [SE_CMD_GRACEFUL_RESTART] = "GRACEFUL_RESTART",
    [SE_CMD_IMMEDIATE_RESTART] = "IMMEDIATE_RESTART",
    [SE_CMD_RELOAD] = "RELOAD",
    [SE_CMD_DETACH] = "DETACH",
    [SE_CMD_DUMP] = "DUMP",
};

const char *
se_cmd_name(enum se_cmd cmd)
{
    if ((unsigned)cmd >= SE_CMD_COUNT) return "NONE";
    return cmd_names[cmd];
}

int
se_cmd_parse(const char *text, size_t len, enum se_cmd *cmd)
{
    SE_ASSERT(cmd != NULL);
    if (text == NULL) return SE_EUNKNOWN;
    for (int c = SE_CMD_GRACEFUL_STOP; c < SE_CMD_COUNT; c++) {
        if (strlen(cmd_names[c]) == len && memcmp(cmd_names[c], text, len) == 0) {
            *cmd = (enum se_cmd)c;
            return 0;
        }
    }
    return SE_EUNKNOWN;
}

const char *
se__reason_text(enum se_reason reason)
{
    switch (reason) {
    case SE_REASON_NONE: return "no reason";
    case SE_REASON_STOP: return "stop request";
    case SE_REASON_RESTART: return "restart request";
    case SE_REASON_SCALE_DOWN: return "scale down (workers lowered)";
    case SE_REASON_HEARTBEAT: return "heartbeat timeout";
    case SE_REASON_HEARTBEAT_EOF: return "heartbeat pipe closed";
    case SE_REASON_UNRECOVERABLE: return "unrecoverable exit of a worker";
    case SE_REASON_DETACH: return "detach (live restart)";
    case SE_REASON_SERVER_RESTART: return "server process restart";
    case SE_REASON_GROUP_LEFT: return "what is left of its process group";
    case SE_REASON_COUNT: break;
    }
    return "unknown reason";
}
