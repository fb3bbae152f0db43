/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.c: systemd's readiness protocol (sd_notify) without libsystemd:
 * one datagram of "READY=1" (or RELOADING=1, STOPPING=1) to the unix socket
 * named by NOTIFY_SOCKET ('@' for the abstract namespace). Does nothing
 * when the variable is unset or `notify` is false.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine_int.h"

int64_t
se__notify_watchdog_ms(const struct se_config *cfg)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (cfg == NULL || !cfg->notify || usec == NULL || getenv("NOTIFY_SOCKET") == NULL) return 0;
    if (pid != NULL && atol(pid) != (long)getpid()) return 0; /* meant for another process */
    long long us = atoll(usec);
    if (us <= 0) return 0;
    return se_max_ms(1, us / 2000); /* half the timeout, as sd_watchdog_enabled advises */
}

void
se__notify(const struct se_config *cfg, const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (cfg == NULL || !cfg->notify || path == NULL || path[0] == '\0') return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len);
    (void)r; /* best effort: systemd may not listen */
    close(fd);
}
