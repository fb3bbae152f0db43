/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn: spawn workers with the command pipe (the seed's spawn example).
 * The workers are programs the engine execs, here this same binary run
 * with --worker: it prints "Awesome work!" (or the configured `message`)
 * every second, writes a heartbeat byte on SERVERENGINE_HEARTBEAT_PIPE, and
 * takes its commands as words on its stdin (command_sender: pipe):
 * GRACEFUL_STOP and IMMEDIATE_STOP end it, RELOAD is acknowledged, EOF (its
 * server is gone) ends it. A supervisor commands the server the same way.
 *
 *   build/examples/spawn -s workers=3
 *   kill -USR1 <pid>    # the workers get GRACEFUL_STOP and are restarted
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "example_util.h"

#define WORKER_FLAG "--worker"

/* ---- the server: how to start one worker ---------------------------------- */

struct command {
    char exe[4096];
    char message_env[512];
    const char *argv[3];
    const char *envp[2];
};

static int
spawn_worker(struct se_worker *w, struct se_spawn_cmd *cmd)
{
    /* kept in the worker's user data: the strings must outlive the start */
    struct command *c = se_worker_user_data(w);
    ssize_t n = readlink("/proc/self/exe", c->exe, sizeof c->exe - 1);
    if (n <= 0) return 1;
    c->exe[n] = '\0';
    char message[256] = "Awesome work!";
    se_config_get(se_worker_config(w), "message", message, sizeof message);
    snprintf(c->message_env, sizeof c->message_env, "EXAMPLE_MESSAGE=%s", message);
    c->argv[0] = c->exe;
    c->argv[1] = WORKER_FLAG;
    c->argv[2] = NULL;
    c->envp[0] = c->message_env;
    c->envp[1] = NULL;
    cmd->argv = c->argv;
    cmd->envp = c->envp;
    return 0;
}

static int
init(struct se_worker *w)
{
    if (se_worker_user_data(w) == NULL)
        se_worker_set_user_data(w, calloc(1, sizeof(struct command)));
    return se_worker_user_data(w) != NULL ? 0 : 1;
}

static void
finalize(struct se_worker *w)
{
    free(se_worker_user_data(w));
    se_worker_set_user_data(w, NULL);
}

/* ---- the worker program ------------------------------------------------------ */

/* Reads what stdin holds; returns 1 when the worker must end. */
static int
read_commands(char *line, size_t *len, size_t size)
{
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0) return 1; /* EOF: the server is gone */
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (*len < size - 1) line[(*len)++] = buf[i];
            continue;
        }
        enum se_cmd cmd = SE_CMD_NONE;
        if (se_cmd_parse(line, *len, &cmd) == 0 &&
            (cmd == SE_CMD_GRACEFUL_STOP || cmd == SE_CMD_IMMEDIATE_STOP))
            return 1;
        if (cmd == SE_CMD_RELOAD) printf("reload requested\n");
        *len = 0;
    }
    return 0;
}

static int
worker_main(void)
{
    const char *message = getenv("EXAMPLE_MESSAGE");
    const char *hb = getenv("SERVERENGINE_HEARTBEAT_PIPE");
    int hb_fd = hb != NULL ? atoi(hb) : -1;
    char line[4096];
    size_t len = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int n = poll(&p, 1, 1000);
        if (n > 0 && read_commands(line, &len, sizeof line)) return 0;
        if (n == 0) printf("%s\n", message != NULL ? message : "Awesome work!");
        if (hb_fd >= 0 && write(hb_fd, ".", 1) < 0) return 1; /* the server is gone */
    }
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], WORKER_FLAG) == 0) return worker_main();
    static const struct se_worker_callbacks worker = {
        .init = init, .spawn = spawn_worker, .finalize = finalize};
    struct se_config *defaults = se_config_new();
    if (defaults == NULL) return 1;
    se_config_set(defaults, "worker_type", "spawn", NULL, 0);
    se_config_set(defaults, "workers", "2", NULL, 0);
    se_config_set(defaults, "supervisor", "true", NULL, 0);
    se_config_set(defaults, "command_sender", "pipe", NULL, 0);
    se_config_declare(defaults, "message", "Awesome work!", NULL, 0);
    return example_main(argc, argv, NULL, &worker, defaults);
}
