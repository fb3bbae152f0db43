/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.c: systemd's readiness protocol (sd_notify) without libsystemd:
 * one datagram of "READY=1" (or RELOADING=1, STOPPING=1, WATCHDOG=1, with a
 * STATUS= line where it helps) to the unix socket named by NOTIFY_SOCKET
 * ('@' for the abstract namespace). Does nothing when the variable was unset
 * or `notify` is false.
 *
 * One process speaks for the service: the variables are taken out of the
 * environment when the engine starts (se__notify_take), so that no worker,
 * and no program a worker starts, inherits them and speaks for the whole
 * service; a server under a supervisor forgets them (the supervisor is the
 * process systemd knows). STOPPING=1 is sent once per process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process.h"

void
se__notify_take(struct se_notify *n)
{
    *n = (struct se_notify){0};
    const char *path = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (path != NULL && strlen(path) < sizeof n->socket) memcpy(n->socket, path, strlen(path) + 1);
    if (usec != NULL) n->watchdog_usec = atoll(usec);
    if (pid != NULL) n->watchdog_pid = (int32_t)atol(pid);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

void
se__notify_forget(struct se_notify *n)
{
    *n = (struct se_notify){0};
}

int64_t
se__notify_watchdog_ms(const struct se_notify *n, const struct se_config *cfg)
{
    if (cfg == NULL || !cfg->notify || n->socket[0] == '\0' || n->watchdog_usec <= 0) return 0;
    if (n->watchdog_pid != 0 && n->watchdog_pid != (int32_t)getpid())
        return 0; /* meant for another process */
    return se_max_ms(1, n->watchdog_usec /
                            2000); /* half the timeout, as sd_watchdog_enabled advises */
}

void
se__notify(const struct se_notify *n, const struct se_config *cfg, const char *state)
{
    const char *path = n->socket;
    if (cfg == NULL || !cfg->notify || path[0] == '\0') return;
    (void)se__net_datagram_send(path, state); /* best effort: systemd may not listen */
}

void
se__notify_stopping(struct se_notify *n, const struct se_config *cfg)
{
    if (n->stopping_sent) return;
    n->stopping_sent = true;
    se__notify(n, cfg, "STOPPING=1");
}

void
se__notify_reload_refused(const struct se_notify *n, const struct se_config *cfg, const char *why)
{
    char msg[512];
    /* systemd keeps the unit "reloading" until READY=1 */
    snprintf(msg, sizeof msg,
             "READY=1\nSTATUS=Reload failed, keeping the current configuration: %s", why);
    for (char *p = msg + strlen("READY=1\n"); *p != '\0'; p++) {
        if (*p == '\n') *p = ' '; /* one STATUS line */
    }
    se__notify(n, cfg, msg);
}
