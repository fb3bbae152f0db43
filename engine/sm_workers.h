/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sm_workers.h: the worker pool, a pure state machine.
 *
 * Keeps `workers` workers alive: starts them (spaced by start_worker_delay
 * +- start_worker_delay_rand/2 of it, the random draw an input), restarts a
 * dead one after restart_worker_interval with a crash-loop backoff
 * (worker_restart_backoff_max; runs shorter than SE_SETTLED_RUN_MS are its
 * turns), scales up and down (surplus
 * stopped gracefully, highest ids first), stops or restarts all gracefully or
 * immediately, honours unrecoverable_exit_codes and
 * stop_immediately_at_unrecoverable_exit, and decides the server's exit
 * status. Failed starts (-EAGAIN...) are retried at a deadline.
 *
 * It says *what* to do to a worker (spawn, stop graceful/immediate); how
 * (fork, thread, signals with kill escalation, a stop callback) is the
 * driver's business. Ruby ServerEngine's MultiWorkerServer keepalive loop
 * polls every 0.5 s; this reacts to each event and wakes at exact deadlines.
 */
#ifndef SE_SM_WORKERS_H
#define SE_SM_WORKERS_H

#include "se_int.h"

/* A spawn that failed is retried no sooner than this (no busy retry loop). */
#define SE_SPAWN_RETRY_MIN_MS 100
/* The crash-loop base delay when restart_worker_interval is 0. */
#define SE_BACKOFF_BASE_MS 100
/* A run at least this long is settled, the rule of s6 and runit: its end,
 * however it came and however many ends came before, is replaced after
 * restart_worker_interval alone. Only shorter runs are turns of a crash
 * loop, and a settled run starts their count afresh. */
#define SE_SETTLED_RUN_MS 1000

struct se_pool_cfg {
    uint32_t workers;                          /* wanted workers, 0..SE_WORKERS_MAX */
    int64_t start_worker_delay_ms;             /* spacing between starts; 0 = none */
    uint32_t start_worker_delay_rand_permille; /* +- half of this share of the delay */
    int64_t restart_worker_interval_ms;        /* wait before restarting a dead worker */
    int64_t backoff_max_ms;                    /* crash-loop ceiling; 0 = no backoff */
    uint8_t unrecoverable[32];                 /* exit codes (bitset) never restarted */
    bool stop_immediately_at_unrecoverable_exit;
    bool rolling_restart; /* a graceful restart replaces one worker at a time */
};

enum se_slot_state {
    SE_SLOT_DOWN = 0, /* no child; (re)started at start_at_ms when wanted */
    SE_SLOT_STARTING, /* SE_ACT_SPAWN emitted, result not yet fed back */
    SE_SLOT_UP,       /* running */
    SE_SLOT_STOPPING, /* a stop was asked (stop_reason), waiting for its exit */
    SE_SLOT_DEAD,     /* exited with an unrecoverable code: never restarted */
};

struct se_slot {
    enum se_slot_state state;
    enum se_reason stop_reason; /* STOPPING: why */
    bool stop_graceful;         /* STOPPING: false once an immediate stop was asked */
    int64_t start_at_ms;        /* DOWN: earliest (re)start */
    int64_t up_since_ms;        /* UP/STOPPING: when it started */
    uint32_t crashes;           /* unexpected ends in a row (backoff) */
    bool roll;                  /* UP: still to be replaced by the rolling restart */
};

enum se_pool_phase {
    SE_POOL_INIT = 0, /* nothing started yet */
    SE_POOL_RUN,      /* keeping workers alive */
    SE_POOL_STOP,     /* stopping every worker; done when none is left */
    SE_POOL_DONE,     /* SE_ACT_EXIT was emitted */
};

enum se_pool_in_kind {
    SE_POOL_IN_TICK = 0,     /* time passed */
    SE_POOL_IN_START,        /* begin: start the workers */
    SE_POOL_IN_SPAWNED,      /* .slot started */
    SE_POOL_IN_SPAWN_FAILED, /* .slot could not be started: .err */
    SE_POOL_IN_EXITED,       /* .slot's child ended: .code or .sig (.sig_ours) */
    SE_POOL_IN_LOST,         /* .slot's heartbeat is .age_ms old */
    SE_POOL_IN_HB_EOF,       /* .slot closed its heartbeat pipe while running */
    SE_POOL_IN_STOP,         /* stop every worker (.graceful) */
    SE_POOL_IN_RESTART,      /* restart every worker (.graceful) */
    SE_POOL_IN_CONFIG,       /* the configuration changed (scale, delays) */
};

struct se_pool_in {
    enum se_pool_in_kind kind;
    uint32_t slot;
    bool graceful;   /* STOP, RESTART */
    int32_t err;     /* SPAWN_FAILED: -errno */
    int32_t code;    /* EXITED: exit status, or -1 when killed by .sig */
    enum se_sig sig; /* EXITED */
    bool sig_ours;   /* EXITED: the engine sent .sig to this child */
    int64_t age_ms;  /* LOST */
    uint32_t rand;   /* a uniform draw for the start spacing (every input) */
};

struct se_pool {
    const struct se_pool_cfg *cfg; /* borrowed; changes are announced by IN_CONFIG */
    enum se_pool_phase phase;
    bool stop_graceful;     /* STOP phase: false once immediate was asked */
    uint32_t slots_count;   /* one past the highest slot ever started */
    uint32_t workers_last;  /* cfg->workers at the last reconcile (scale logs) */
    int64_t next_start_ms;  /* no start before this (start_worker_delay) */
    int32_t exit_status;    /* the server's status when done */
    bool exit_status_final; /* first unrecoverable code, locked */
    int64_t now_ms_last;
    struct se_slot slots[SE_WORKERS_MAX];
};

void se__pool_init(struct se_pool *p, const struct se_pool_cfg *cfg, int64_t now_ms);

/* Feeds one input and appends SE_ACT_SPAWN, SE_ACT_STOP, SE_ACT_LOG and,
 * once, SE_ACT_EXIT. Cannot fail. */
void se__pool_step(struct se_pool *p, const struct se_pool_in *in, int64_t now_ms,
                   struct se_acts *out);

int64_t se__pool_deadline_ms(const struct se_pool *p);

/* The restart delay after the n-th unexpected end in a row (n >= 1). */
int64_t se__pool_restart_delay_ms(const struct se_pool_cfg *cfg, uint32_t crashes);

/* Live workers (STARTING, UP or STOPPING). */
uint32_t se__pool_alive(const struct se_pool *p);

#endif /* SE_SM_WORKERS_H */
