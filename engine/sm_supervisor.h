/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_supervisor.h: the server process's life, a pure state machine.
 *
 * The supervisor (supervisor: true) starts the server process, restarts it
 * when it dies (no sooner than server_restart_wait after the last start),
 * forwards operator commands to it, restarts the process itself on USR1/HUP
 * with restart_server_process, ignores USR2 with disable_reload, exits with
 * the server's status when that status is in unrecoverable_exit_codes, and
 * detaches for a live restart (INT with enable_detach): the old server is
 * stopped gracefully at once, on the kill schedule like any other server
 * (its signal resent, escalated at the timeouts), and a new one starts when
 * the old has exited or server_detach_wait has passed, whichever comes first
 * (with exit_on_detach the supervisor exits instead); the old one finishes
 * and is still reaped. When detached servers fill every slot, the oldest is
 * stopped immediately and the start is retried at a deadline: the
 * supervisor never waits with no deadline while it wants a server. This is
 * the README's detach, not Ruby ServerEngine's loop (which never starts the
 * new server while the old one lives, and crashes when the old one exits in
 * time).
 *
 * Large state x input matrix: a table of handlers, every cell filled.
 */
#ifndef SE_SM_SUPERVISOR_H
#define SE_SM_SUPERVISOR_H

#include "se_int.h"

#define SE_SUP_NONE UINT32_MAX /* no slot */

struct se_sup_cfg {
    int64_t server_restart_wait_ms; /* since the last start */
    int64_t server_detach_wait_ms;  /* the longest a new server waits for the old */
    bool restart_server_process;    /* USR1/HUP restart the server process itself */
    bool enable_detach;             /* INT detaches; else INT = graceful stop */
    bool exit_on_detach;            /* after a detach, exit instead of a new server */
    bool disable_reload;            /* USR2 is ignored */
    uint8_t unrecoverable[32];      /* server exit codes that end the supervisor */
};

enum se_sup_state {
    SE_SUP_INIT = 0,     /* nothing started */
    SE_SUP_STARTING,     /* SE_ACT_SPAWN emitted, waiting for its result */
    SE_SUP_RUNNING,      /* the current server runs */
    SE_SUP_WAIT_RESTART, /* no current server; a new one at restart_at_ms (never NEVER) */
    SE_SUP_DETACHING,    /* the old server was told to go; new one at its exit or deadline */
    SE_SUP_STOPPING,     /* stopping: done when no server is left */
    SE_SUP_DONE,         /* SE_ACT_EXIT emitted */
    SE_SUP_STATE_COUNT
};

enum se_sup_in_kind {
    SE_SUP_IN_TICK = 0,
    SE_SUP_IN_START,
    SE_SUP_IN_SPAWNED,      /* .slot started */
    SE_SUP_IN_SPAWN_FAILED, /* .slot could not be started: .err */
    SE_SUP_IN_EXITED,       /* .slot's process ended with .code / .sig */
    SE_SUP_IN_LOST,         /* .slot's heartbeat is .age_ms old */
    SE_SUP_IN_GRACEFUL_STOP,
    SE_SUP_IN_IMMEDIATE_STOP,
    SE_SUP_IN_GRACEFUL_RESTART,
    SE_SUP_IN_IMMEDIATE_RESTART,
    SE_SUP_IN_RELOAD,
    SE_SUP_IN_DETACH,
    SE_SUP_IN_DUMP,
    SE_SUP_IN_COUNT
};

struct se_sup_in {
    enum se_sup_in_kind kind;
    uint32_t slot;
    int32_t err;           /* SPAWN_FAILED */
    int32_t code;          /* EXITED: status, -1 when killed by .sig */
    enum se_sig sig;       /* EXITED */
    int64_t age_ms;        /* LOST */
    enum se_reason reason; /* LOST: SE_REASON_HEARTBEAT, or _HEARTBEAT_EOF (pipe closed) */
};

/* A start waiting for a free slot is retried this often, at least. */
#define SE_SUP_SLOT_RETRY_MS 1000

struct se_sup_server {
    bool alive;          /* started and not yet reaped */
    bool detached;       /* an old server finishing on its own */
    bool immediate;      /* an immediate stop was asked */
    int64_t detached_ms; /* when it was detached */
};

struct se_sup {
    const struct se_sup_cfg *cfg; /* borrowed */
    enum se_sup_state state;
    uint32_t current;           /* the current server's slot, or SE_SUP_NONE */
    uint32_t detaching;         /* DETACHING: the old server's slot */
    bool stop_graceful;         /* STOPPING: false once immediate was asked */
    bool restarting;            /* the current server is being restarted on purpose */
    bool killing;               /* the current server is being killed (heartbeat) */
    int32_t exit_status;        /* the status at DONE */
    int64_t last_start_ms;      /* when the last start was attempted */
    int64_t restart_at_ms;      /* WAIT_RESTART: when to start again */
    int64_t detach_deadline_ms; /* DETACHING: start the new one at the latest then */
    int64_t now_ms_last;
    struct se_sup_server servers[SE_SERVERS_MAX];
};

void se__sup_init(struct se_sup *s, const struct se_sup_cfg *cfg, int64_t now_ms);

/* Appends SE_ACT_SPAWN, SE_ACT_STOP, SE_ACT_FORWARD, SE_ACT_RELOAD,
 * SE_ACT_LOG and, once, SE_ACT_EXIT. Cannot fail. */
void se__sup_step(struct se_sup *s, const struct se_sup_in *in, int64_t now_ms,
                  struct se_acts *out);

int64_t se__sup_deadline_ms(const struct se_sup *s);

/* Server processes alive (current and detached). */
uint32_t se__sup_alive(const struct se_sup *s);

/* The input that an operator command means. */
enum se_sup_in_kind se__sup_in_for_cmd(enum se_cmd cmd);

#endif /* SE_SM_SUPERVISOR_H */
