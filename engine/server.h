/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h: the server process (server.c), its command pipe on stdin
 * (cmdpipe_in.c) and the public accessors of the server object. Below
 * supervisor.c and engine.c, above worker.c and process.c.
 */
#ifndef SE_SERVER_H
#define SE_SERVER_H

#include "sockmgr.h"
#include "worker.h"

struct se_cmdpipe;

struct se_server {
    struct se_proc *proc; /* this process's services */
    void *user_data;
    struct se_loop loop;       /* adapter and driver; no driver in a supervisor's view */
    struct se_config *retired; /* the previous configuration, kept for readers */
    int32_t cmd_pipe[2];       /* se_server_stop & co: one byte per command */
    struct se_worker *workers[SE_WORKERS_MAX];
    bool supervisor;                     /* this object lives in the supervisor process */
    bool ready_notified;                 /* READY=1 went to systemd */
    struct se_sockmgr *sockmgr;          /* socket_manager: true (owned), else NULL */
    struct se_status_srv *status;        /* the status socket (owned), or NULL */
    const struct se_driver *config_from; /* a supervisor's view: its driver's configuration */
    /* command_sender pipe: the parent's pipe (was stdin) and its reader */
    int32_t cmdin_fd;
    struct se_cmdpipe *cmdin;
};

/* Runs the server in this process; parent channel from a supervisor or
 * -1/NULL. The server object goes to *keep (freed with se__server_free,
 * also when the start failed). Returns the exit status. */
int se__server_main(struct se_proc *p, int32_t parent_hb_fd, int64_t *parent_stamp,
                    struct se_server **keep);
/* A server object with no loop: what a supervisor's callbacks receive. */
struct se_server *se__server_new(struct se_proc *p);
/* Makes such a view work in the supervisor's loop: its commands
 * (se_server_stop & co) go on a pipe that loop watches, and its
 * configuration is the one d has in force. 0 or -errno. */
int se__server_view_attach(struct se_server *view, const struct se_os *os,
                           const struct se_driver *d);
/* fd readable in the supervisor's loop: true when it was the view's pipe,
 * whose commands went to d. */
bool se__server_view_readable(struct se_server *view, int32_t fd, struct se_driver *d);
void se__server_free(struct se_server *s);

/* cmdpipe_in.c: a server's stdin as its command pipe (command_sender:
 * pipe). open: takes stdin when the configuration says so (0 or -errno);
 * readable: true when fd was the pipe (its words are handled, EOF is a
 * graceful stop); close: releases it. */
int se__cmdin_open(struct se_server *s, const struct se_config *cfg, bool supervised);
bool se__cmdin_readable(struct se_server *s, int32_t fd);
void se__cmdin_close(struct se_server *s);

#endif /* SE_SERVER_H */
