/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.h: a worker as the server drives it (worker.c) and a spawn
 * worker's exec request (spawn.c). Below server.c, above process.c: a
 * worker knows its process's services, never its server's insides.
 */
#ifndef SE_WORKER_H
#define SE_WORKER_H

#include "process.h"
#include "sm_whelper.h"

struct se_worker {
    struct se_proc *proc;     /* this process's services */
    struct se_server *server; /* what se_worker_server returns (opaque here) */
    uint32_t id;
    void *user_data;
    const struct se_config *cfg; /* the worker's view of the configuration */
    struct se_config *own_cfg;   /* a process worker's reloaded configuration */
    struct se_config *own_retired;
    int32_t hb_fd;      /* process child: heartbeat pipe write end */
    int64_t *stamp;     /* process child: its beat stamp */
    int32_t pid;        /* in the server: the child's pid */
    int32_t server_pid; /* in the child: the server's pid (signals from it) */
    bool in_child;      /* this copy is the forked child's */
    int stopping;       /* stop was called (atomic) */
    int running;        /* run has not returned yet (atomic) */
    /* spawn worker: the program last started (for its log lines) */
    char spawn_what[SE_NAME_MAX];
    char listen_fdnames[SE_LISTEN_MAX * SE_LISTEN_NAME_MAX + 32]; /* spawn: LISTEN_FDNAMES=... */
};

/* worker.c */
struct se_worker *se__worker_new(struct se_proc *p, struct se_server *s, uint32_t id);
void se__worker_free(struct se_worker *w);
int se__worker_process_entry(void *arg, const struct se_child_ctx *cc);
int se__worker_thread_entry(void *arg, const struct se_child_ctx *cc);

/* spawn.c: a spawn worker's exec request from the spawn callback (kind
 * left 0 when it gives no command), and the log line of a failed start. */
void se__spawn_prepare(struct se_worker *w, const struct se_config *cfg, struct se_spawn_req *req);
void se__spawn_failed(struct se_worker *w, int err);

#endif /* SE_WORKER_H */
