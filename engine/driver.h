/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver.h: the imperative shell around the pure machines.
 *
 * One loop per process: wait on the adapter until an event or the earliest
 * deadline any machine asked for, feed events to the machines, execute their
 * actions through the adapter, and feed OS results back as inputs. There is
 * no polling tick. The same driver runs on the POSIX adapter and on the
 * simulator's virtual one; nothing in here knows which.
 *
 * Roles: a server keeps workers (sm_workers + per-child sm_kill, sm_heartbeat);
 * a supervisor keeps the server process (sm_supervisor + the same per-child
 * machines for each server process).
 */
#ifndef SE_DRIVER_H
#define SE_DRIVER_H

#include "config.h"
#include "se_int.h"
#include "sm_heartbeat.h"
#include "sm_kill.h"
#include "sm_supervisor.h"
#include "sm_workers.h"

enum se_role {
    SE_ROLE_SERVER = 0, /* keeps workers */
    SE_ROLE_SUPERVISOR, /* keeps the server process */
};

/* What the embedding runtime (or the simulator) plugs into the driver. Every
 * hook is optional unless stated; ud is passed back untouched. */
struct se_driver_hooks {
    void *ud;
    /* One engine log line (no newline). Required. */
    void (*log)(void *ud, enum se_log_level level, const char *msg);
    /* Fills the spawn request for slot (kind, entry, argv...). The driver has
     * set worker_id and heartbeat. Leaving kind 0 refuses this start (a
     * failed start, SE_ECONFIG, retried after a delay). Required. */
    void (*prepare_spawn)(void *ud, uint32_t slot, struct se_spawn_req *req);
    /* The child of slot started (after_start callbacks). */
    void (*spawned)(void *ud, uint32_t slot, const struct se_spawn_res *res);
    /* The child of slot ended (after it was reaped). */
    void (*exited)(void *ud, uint32_t slot, const struct se_exit *exit);
    /* Thread and embedded workers: call the worker's stop (graceful or not). */
    void (*stop_worker)(void *ud, uint32_t slot, bool graceful);
    /* Thread and embedded workers: call the worker's reload. */
    void (*reload_worker)(void *ud, uint32_t slot);
    /* Builds a new configuration from the same sources (reload). Returns 0 and
     * *out (ownership passes to the driver), or <0 with a message in err. */
    int (*load_config)(void *ud, struct se_config **out, char *err, size_t err_size);
    /* The configuration a reload replaced; ownership passes to the hook (which
     * may keep it for readers on other threads). Without it, it is freed. */
    void (*retire_config)(void *ud, struct se_config *old);
    /* A new configuration is in force (logger path and level, user hooks). */
    void (*config_applied)(void *ud, const struct se_config *cfg);
    /* A reload was refused (the old configuration stays); why is borrowed. */
    void (*reload_failed)(void *ud, const char *why);
    /* An operator command was accepted (server callbacks, sigdump). */
    void (*command)(void *ud, enum se_cmd cmd);
    /* A watched descriptor the driver does not own is readable (log capture). */
    void (*readable)(void *ud, int32_t fd);
    /* Called every se__driver_set_periodic interval (the systemd watchdog). */
    void (*periodic)(void *ud);
    /* Every machine event as a record, before it is logged (metrics, the
     * simulator's checks). The record is borrowed for the call. */
    void (*event)(void *ud, const struct se_act *event);
    /* The start of slot failed with err (-errno of fork or exec, SE_ECONFIG):
     * the runtime names what it tried to start. */
    void (*spawn_failed)(void *ud, uint32_t slot, int err);
};

/* One child slot: a worker (server role) or a server process (supervisor). */
struct se_drv_slot {
    uint32_t child; /* the adapter's handle; 0 = none */
    int32_t pid;    /* for logs */
    int32_t hb_fd;  /* heartbeat pipe read end we watch, or -1 */
    int32_t cmd_fd; /* command pipe write end, or -1 */
    bool hb_on;     /* heartbeat tracked (a spawn worker in auto mode: from its first beat) */
    struct se_kill kill;
    struct se_hb hb;
    /* What is left of the process group of the slot's previous child (its
     * workers' programs) after it ended: stopped on the same schedule. */
    uint32_t group_child; /* the ended child's handle; 0 = nothing left */
    int64_t group_probe_ms;
    struct se_kill group_kill;
    /* What an operator asks about the slot (status.c reads them; nothing
     * here decides on them). */
    uint32_t starts;          /* children started in this slot */
    bool ended;               /* last_exit holds how the previous child ended */
    bool last_exit_sig_ours;  /* ... by a signal the engine sent it */
    struct se_exit last_exit; /* child handle 0: it is gone */
};

struct se_driver {
    const struct se_os *os; /* borrowed; outlives the driver */
    enum se_role role;
    struct se_config *cfg; /* owned; replaced on reload */
    struct se_driver_hooks hooks;
    bool stop_by_hook; /* thread/embedded workers: no signals */
    bool started;
    bool done;
    int32_t exit_status;
    int64_t now_ms;                /* the current iteration's time (se__driver_command) */
    bool parent_gone;              /* this process's supervisor is gone (stopping) */
    int64_t last_stop_ms;          /* when the last stop request came (CONT rule) */
    enum se_cmd stop_seen;         /* the strongest stop received (SE_CMD_NONE: none) */
    int64_t self_beat_interval_ms; /* 0: this process has no parent to beat to */
    int64_t self_beat_next_ms;
    int64_t periodic_interval_ms; /* hooks.periodic every this long (0: never) */
    int64_t periodic_next_ms;
    uint32_t slots_max;  /* SE_WORKERS_MAX or SE_SERVERS_MAX */
    uint32_t slots_used; /* one past the highest slot that has had a child */
    uint32_t reloads;    /* configurations applied by a reload (status.c) */
    int64_t reloaded_ms; /* when the last one was applied */

    /* machine configurations, derived from cfg, borrowed by the machines */
    struct se_pool_cfg pool_cfg;
    struct se_kill_cfg kill_cfg;
    struct se_hb_cfg hb_cfg;
    struct se_sup_cfg sup_cfg;

    struct se_pool pool; /* server role */
    struct se_sup sup;   /* supervisor role */
    struct se_drv_slot slots[SE_WORKERS_MAX];

    struct se_acts acts;  /* this iteration's action queue */
    uint32_t backlog_max; /* most actions queued and not yet run at once (the sim checks) */
    struct se_act act_items[SE_ACTS_MAX];
    struct se_ev evs[SE_EVS_MAX];
};

/*
 * Creates a driver for role over the adapter os, taking ownership of cfg.
 * Returns NULL with *err = -ENOMEM (cfg is then freed). The driver is one
 * allocation; nothing is allocated once it runs.
 */
struct se_driver *se__driver_new(const struct se_os *os, enum se_role role, struct se_config *cfg,
                                 const struct se_driver_hooks *hooks, int *err);

/* Frees the driver and its configuration. Children are not touched. */
void se__driver_free(struct se_driver *d);

/*
 * Runs the loop until the role is done (every worker / server gone after a
 * stop, or an unrecoverable exit). Returns 0 with *exit_status set, or a
 * negative error when the adapter's wait() fails (logged).
 */
int se__driver_run(struct se_driver *d, int32_t *exit_status);

/* Calls hooks.periodic every interval_ms (0 = never). */
void se__driver_set_periodic(struct se_driver *d, int64_t interval_ms);

/* Beats to this process's parent every interval_ms (0 = never). */
void se__driver_set_self_beat(struct se_driver *d, int64_t interval_ms);

/* Feeds an operator command as if its signal had arrived (API calls,
 * command pipe). Only from a hook, on the loop's thread: the resulting
 * actions run in the current iteration. */
void se__driver_command(struct se_driver *d, enum se_cmd cmd);

/* The configuration in force (borrowed until the next reload). */
const struct se_config *se__driver_config(const struct se_driver *d);

/* Derives the machines' configurations from cfg (exported for tests). */
void se__driver_derive(const struct se_config *cfg, struct se_pool_cfg *pool,
                       struct se_kill_cfg *kill, struct se_hb_cfg *hb, struct se_sup_cfg *sup);

/* Formats the log line for an action of kind SE_ACT_LOG. Returns its level. */
enum se_log_level se__driver_event_text(const struct se_driver *d, const struct se_act *a,
                                        char *buf, size_t buf_size);

#endif /* SE_DRIVER_H */
