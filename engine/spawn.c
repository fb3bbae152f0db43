/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spawn.c: spawn workers (worker_type spawn). The `spawn` callback gives the
 * command of one worker; this file turns it into the adapter's exec request
 * and names it when it cannot start. The adapter forks and execs it (clean
 * signal state, own process group, parent-death signal, no engine
 * descriptor but 0-2, SERVERENGINE_WORKER_ID, SERVERENGINE_HEARTBEAT_PIPE,
 * the command pipe on stdin with command_sender: pipe); the driver stops it
 * with the kill escalation as a process worker. Ruby ServerEngine's
 * MultiSpawnServer and ProcessManager#spawn.
 */
#include <stdio.h>

#include "worker.h"

void
se__spawn_prepare(struct se_worker *w, const struct se_config *cfg, struct se_spawn_req *req)
{
    struct se_proc *p = w->proc;
    struct se_spawn_cmd cmd = {0};
    w->spawn_what[0] = '\0';
    req->kind = 0; /* refused unless the callback gives a command */
    int rc = p->wcb.spawn != NULL ? p->wcb.spawn(w, &cmd) : -1;
    if (rc != 0 || cmd.argv == NULL || cmd.argv[0] == NULL || cmd.argv[0][0] == '\0') {
        snprintf(w->spawn_what, sizeof w->spawn_what, "%s",
                 rc != 0 ? "(the spawn callback failed)" : "(the spawn callback gave no command)");
        return;
    }
    snprintf(w->spawn_what, sizeof w->spawn_what, "%s", cmd.argv[0]);
    req->kind = SE_SPAWN_EXEC;
    req->argv = cmd.argv;
    req->envp = cmd.envp;
    req->cwd = cmd.cwd;
    req->command_pipe = cfg->command_sender_pipe;
    /* the `listen` sockets, as systemd's socket activation hands them over */
    struct se_listen_env env;
    if (p->listen.count > 0 &&
        se__listen_env(&p->listen, 1, &env) == 0) { /* the pid: the child's own, later */
        snprintf(w->listen_fdnames, sizeof w->listen_fdnames, "%s", env.names);
        req->keep_fds = p->listen.fds;
        req->keep_fds_count = p->listen.count;
        req->listen_env = true;
        req->listen_fdnames = w->listen_fdnames;
    }
}

void
se__spawn_failed(struct se_worker *w, int err)
{
    /* err is the exec's errno when the program could not be run: its path
     * and the reason, once per failed start (the pool delays the next) */
    if (w->spawn_what[0] == '(') { /* no command: nothing was tried */
        se__proc_log(w->proc, SE_LOG_ERROR, "Worker %u: not started %s", w->id, w->spawn_what);
        return;
    }
    se__proc_log(w->proc, SE_LOG_ERROR, "Worker %u: cannot run %s: %s (errno %d)", w->id,
                 w->spawn_what, se_strerror(err), err < 0 && err > -4096 ? -err : 0);
}
