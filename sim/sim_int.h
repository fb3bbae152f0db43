/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_int.h: the simulated world's insides, shared by the files of sim/ only.
 *
 * The simulator never calls the OS: no clock, no randomness but its PRNG,
 * no process, no file. All memory is in one struct sim_world allocated per
 * run. Every limit is named.
 */
#ifndef SE_SIM_INT_H
#define SE_SIM_INT_H

#include "driver.h"
#include "se_fault.h"
#include "sim.h"

#define SIM_PROCS_MAX   4096u  /* process records, reused in a ring */
#define SIM_QUEUE_MAX   65536u /* world events pending */
#define SIM_FDS_MAX     8192u  /* virtual descriptors */
#define SIM_PENDING_MAX 4096u  /* engine events not yet taken by wait() */
#define SIM_TRACE_LINES 2048u  /* kept for a failure report and scenario queries */
#define SIM_TRACE_LINE  200u
#define SIM_SIGLOG_MAX  24u /* signals remembered per process */
/* scripts of each kind: one for every worker at the limit, and more */
#define SIM_SCRIPT_MAX          (SE_WORKERS_MAX + 512u)
#define SIM_PIDS                (2u * SE_WORKERS_MAX) /* virtual pids from 100: reused quickly on purpose */
#define SIM_SAME_TIME_WAITS_MAX 256u /* wait() calls at one instant: more is a busy loop */
#define SIM_LATE_MS             50   /* heartbeat precision (serverengine(5), TIMING) */
#define SIM_WAITS_PER_S         2000u /* loop iterations per simulated second, at most (on average) */
#define SIM_WAITS_BASE          200000u

/* Every table holds a full pool: live workers, their zombies and descriptors. */
_Static_assert(SIM_PROCS_MAX >= 2u * (SE_WORKERS_MAX + SE_SERVERS_MAX), "process records");
_Static_assert(SIM_PIDS >= SE_WORKERS_MAX + SE_SERVERS_MAX + 1u, "a pid for every live child");
_Static_assert(SIM_FDS_MAX >= 4u * SE_WORKERS_MAX + 64u, "two pipe ends per worker, twice over");
_Static_assert(SIM_PENDING_MAX >= 2u * SE_WORKERS_MAX, "an event per worker is never dropped");

enum sim_ev_kind {
    SIM_EV_EXIT = 1,      /* a process exits (code, or signal when code < 0) */
    SIM_EV_CRASH,         /* a process's model makes it exit (not in the liveness phase) */
    SIM_EV_EOF_EARLY,     /* a process's model closes its heartbeat pipe (not in liveness) */
    SIM_EV_HB_EOF,        /* a process closes its heartbeat pipe */
    SIM_EV_PIPE_BEAT,     /* a pipe beater writes a beat */
    SIM_EV_NOTIFY,        /* SIGCHLD reaches the engine */
    SIM_EV_SIGNAL,        /* an operator signal reaches the engine */
    SIM_EV_OPERATOR,      /* the random operator acts */
    SIM_EV_LIVENESS,      /* faults off, workers healthy from now on */
    SIM_EV_CONVERGED,     /* check: live workers == wanted */
    SIM_EV_FINAL_STOP,    /* the graceful stop that ends the run */
    SIM_EV_STOP_BOUND,    /* check: the engine has exited */
    SIM_EV_STALL_CHECK,   /* check: a stalled process got its immediate signal */
    SIM_EV_RELOAD,        /* a scripted reload */
    SIM_EV_PARENT_GONE,   /* the server's supervisor dies (scripted) */
    SIM_EV_GROUP_CHECK,   /* check: nothing is left of a reaped worker's group */
    SIM_EV_PARENT_SILENT, /* the server's supervisor dies, nothing tells (scripted) */
    SIM_EV_STRAY,         /* a child the engine never started ends (scripted) */
    SIM_EV_READ_FAULT,    /* the next read of a descriptor fails with EIO (scripted) */
    SIM_EV_END,           /* the end of simulated time */
};

struct sim_ev {
    int64_t at_ms;
    uint64_t seq; /* ties broken by insertion order: determinism */
    enum sim_ev_kind kind;
    uint32_t handle; /* the process, for process events */
    int32_t arg;     /* exit code, signal, ... */
    int32_t arg2;    /* exit signal, epoch, ... */
};

enum sim_proc_state { SIM_P_FREE = 0, SIM_P_RUNNING, SIM_P_ZOMBIE, SIM_P_REAPED };

struct sim_sig_rec {
    int64_t at_ms;
    enum se_sig sig;
};

struct sim_member {
    bool alive;
    enum sim_member_end ends_on;
    int64_t leaves_ms;
};

struct sim_proc {
    uint32_t handle; /* the engine's name for it; unique for the run */
    int32_t pid;     /* virtual, reused */
    uint32_t worker_id;
    uint32_t nth; /* the nth start of this worker */
    bool hb_eof;  /* it closed its heartbeat pipe (the engine may read EOF) */
    enum sim_model model;
    enum sim_proc_state state;
    int64_t started_ms;
    int64_t beat_interval_ms; /* when it beats */
    int64_t beat_phase_ms;
    int64_t stall_ms;   /* beats stop here (NEVER: never) */
    int64_t exit_at_ms; /* scheduled exit (NEVER: none) */
    int64_t model_ms;   /* the model's parameter */
    int32_t model_code;
    int32_t exit_code; /* when exited */
    enum se_sig exit_sig;
    int32_t hb_fd;   /* the engine's read end, or -1 */
    bool pipe_beats; /* beats are bytes on the pipe, not stamps */
    int32_t cmd_fd;  /* the engine's write end of its command pipe, or -1 */
    bool cmd_broken; /* it closed its end of the command pipe: writes fail (EPIPE) */
    uint32_t words;  /* commands it read on its command pipe */
    bool notified;   /* the engine was told (SIGCHLD) after the exit */
    /* escalation oracle */
    uint32_t kill_epoch; /* kill settings epoch when the stop began */
    int64_t g_start_ms, g_next_ms, i_start_ms, i_next_ms, imm_req_ms;
    int64_t stall_check_ms; /* when the stall must have been acted on */
    uint32_t g_count, i_count;
    bool kill_failed; /* a SIGKILL attempt failed: retries allowed */
    bool detached;    /* supervisor role: an old server told to go (live restart) */
    bool unchecked;   /* settings changed mid-stop: no schedule check */
    bool classified;  /* server role: the engine logged how it ended (once) */
    bool exit_told;   /* the exited hook was called for it */
    uint32_t sig_count;
    struct sim_sig_rec sigs[SIM_SIGLOG_MAX];
    /* its process group (sim_group.c) */
    uint32_t members;
    struct sim_member member[SIM_MEMBERS_MAX];
    int64_t reaped_ms;      /* NEVER until reaped */
    uint32_t group_sigs;    /* signals to what is left after the reap */
    uint32_t group_tries;   /* of which the hash decided whether they fail */
    bool group_gone_told;   /* the engine was told nothing is left (ESRCH) */
    bool group_kill_failed; /* a KILL to what is left failed: it is retried */
    int64_t group_retry_ms; /* then, one immediate interval later */
    int64_t group_probe_ms; /* the engine's last probe of the group after the reap */
    struct sim_sig_rec group_sig_log[SIM_SIGLOG_MAX];
};

struct sim_fd {
    bool open;
    bool watched;
    bool eof;        /* the writer closed */
    uint32_t bytes;  /* unread bytes */
    uint32_t handle; /* owner process */
    bool cmd_pipe;   /* the engine's write end of the owner's command pipe */
};

struct sim_script {
    uint32_t worker_id, nth;
    enum sim_model model;
    int64_t at_ms;
    int32_t code;
};

struct sim_group_script {
    uint32_t worker_id, nth;
    uint32_t members;
    enum sim_member_end ends_on[SIM_MEMBERS_MAX];
    int64_t leaves_ms; /* after the start, for SIM_MEMBER_LEAVES */
};

struct sim_world {
    struct sim_opts opts;
    uint64_t prng[4]; /* xoshiro256** state */
    int64_t now_ms;
    uint64_t seq;
    int64_t self_beat_last_ms; /* the server's last beat to its supervisor */
    uint64_t self_beats;
    bool parent_dead;         /* the server's supervisor is gone (scripted) */
    bool parent_told;         /* and the engine knows it (the event, or a failed beat) */
    int64_t periodic_last_ms; /* the embedder's periodic duty: its last run */
    uint64_t periodic_runs;
    uint32_t reloads_unapplied;   /* accepted reloads config_applied has not told of yet */
    uint32_t reloads_unreported;  /* refused reloads reload_failed has not told of yet */
    uint64_t reload_worker_calls; /* thread and embedded workers told to reload */
    uint32_t reloads_accepted;
    uint32_t reloads_refused;
    uint32_t spawn_failures;      /* starts the adapter failed */
    uint32_t spawn_failures_told; /* by the spawn_failed hook */
    uint32_t configs_retired;     /* handed to retire_config */
    struct se_config *cfg_start;  /* the configuration the engine started with */
    char reload_err[SE_MSG_MAX];  /* why the last reload was refused */
    uint32_t kill_eperm_len;      /* starts whose every signal fails (scripted) */
    struct sim_script kill_eperm[SIM_SCRIPT_MAX];
    uint32_t strays;      /* stray children to reap (scripted) */
    bool read_fault_next; /* the next read fails with EIO (scripted) */
    uint32_t strays_reaped;
    bool liveness; /* faults off, models healthy */
    bool ended;    /* the run is over (end of time or a violation) */
    bool failed;
    char violation[512];

    /* the engine under test */
    struct se_os os;
    struct se_driver *driver;
    struct se_config *cfg; /* the world's copy of the configuration in force */
    uint32_t kill_epoch;   /* bumped when a reload changes kill settings */
    uint32_t hb_epoch;     /* bumped when a reload changes the heartbeat timeout */
    bool engine_exited;
    int32_t exit_status;
    int64_t final_stop_ms; /* NEVER until the final (or an early) stop */

    /* faults, BUGGIFY style: a point is active for the run, then fires by chance */
    bool fault_active[SE_FAULT_COUNT];
    uint32_t fault_permille[SE_FAULT_COUNT];

    /* processes */
    uint32_t next_handle;
    struct sim_proc procs[SIM_PROCS_MAX];
    bool pid_used[SIM_PIDS];
    bool pid_ever[SIM_PIDS];
    int32_t pid_next;
    uint64_t pid_reuses;
    uint32_t starts[SE_WORKERS_MAX];      /* starts per worker id */
    uint32_t live_handle[SE_WORKERS_MAX]; /* live (unreaped) process per worker id, 0 = none */
    bool dead[SE_WORKERS_MAX];            /* ended with an unrecoverable code */
    int64_t last_reap_ms[SE_WORKERS_MAX]; /* the latest reap of each worker id */
    uint32_t ids_used;                    /* 1 + the highest worker id ever started */

    /* descriptors */
    int32_t fd_next;
    struct sim_fd fds[SIM_FDS_MAX];

    /* events */
    uint32_t queue_len;
    struct sim_ev queue[SIM_QUEUE_MAX];
    uint32_t pending_len;
    struct se_ev pending[SIM_PENDING_MAX];
    /* descriptors handed over as readable by the last wait: still readable
     * at the next one (not drained, not closed), they are handed over again,
     * as epoll without EPOLLET does */
    uint32_t handed_len;
    int32_t handed[SIM_PENDING_MAX];
    bool child_pending;        /* a SIGCHLD is queued for the engine (coalesced) */
    uint32_t notified_zombies; /* zombies the engine was told about, before this wait */
    int64_t same_time_ms;
    uint32_t same_time_waits;
    uint64_t waits; /* wait() calls in the run: bounded work per event */

    /* scripts */
    uint32_t script_len;
    struct sim_script script[SIM_SCRIPT_MAX];
    uint32_t cmd_broken_len;
    struct sim_script cmd_broken[SIM_SCRIPT_MAX]; /* worker_id, nth */
    uint32_t group_script_len;
    struct sim_group_script group_script[SIM_SCRIPT_MAX];

    /* trace */
    uint64_t trace_hash;
    uint32_t trace_next;
    char trace[SIM_TRACE_LINES][SIM_TRACE_LINE];
    char last_sigs[512];                /* sim_signals_of's buffer */
    char reload_kv[SIM_SCRIPT_MAX][96]; /* scripted reloads: "key=value", "" = invalid */
    uint32_t reload_len;
    int32_t reload_pending; /* index of the scripted reload to apply next, or -1 */

    /* zombies in exit order, for reap() */
    uint32_t zombies_len;
    uint32_t zombies[SIM_PROCS_MAX];

    /* what the engine's exit status must be */
    bool unrec_seen;
    int32_t unrec_first, unrec_last;
    bool stop_requested;   /* an operator stop was sent */
    bool stop_received;    /* the engine logged that it received a stop */
    bool detach_ended;     /* supervisor role: exit_on_detach may end the run */
    int64_t detach_end_ms; /* supervisor role: the last detach must have ended by then */
    int64_t roll_stop_ms;  /* server role: the last worker stopped for a rolling restart */
    int64_t converge_ms;   /* the convergence check still to come, or NEVER */

    struct sim_result res;
};

/* sim_prng.c */
void sim_prng_seed(struct sim_world *w, uint64_t seed);
uint64_t sim_prng_next(struct sim_world *w);
uint32_t sim_rand_u32(struct sim_world *w);
int64_t sim_rand_range(struct sim_world *w, int64_t lo, int64_t hi); /* [lo, hi] */
bool sim_chance(struct sim_world *w, uint32_t permille);

/* sim_world.c */
void sim_push(struct sim_world *w, int64_t at_ms, enum sim_ev_kind kind, uint32_t handle,
              int32_t arg, int32_t arg2);
int64_t sim_next_event_ms(const struct sim_world *w);
struct sim_ev sim_pop(struct sim_world *w);
void sim_trace(struct sim_world *w, const char *fmt, ...) SE_PRINTF(2, 3);
void sim_fail(struct sim_world *w, const char *fmt, ...) SE_PRINTF(2, 3);
struct sim_proc *sim_proc_by_handle(struct sim_world *w, uint32_t handle);
void sim_engine_event(struct sim_world *w, struct se_ev ev);
void sim_proc_exit(struct sim_world *w, struct sim_proc *p, int32_t code, enum se_sig sig);
int64_t sim_proc_last_beat(const struct sim_world *w, const struct sim_proc *p);
bool sim_fault(struct sim_world *w, enum se_fault id, int *err);

/* sim_os.c */
void sim_os_init(struct sim_world *w);
int sim_world_wait(struct sim_world *w, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max,
                   uint32_t *evs_count);

/* sim_model.c */
bool sim_by_hook(const struct sim_world *w);
void sim_model_spawn(struct sim_world *w, struct sim_proc *p);
void sim_model_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig);
void sim_model_stop_hook(struct sim_world *w, uint32_t slot);
void sim_config_draw(struct sim_world *w, struct se_config *cfg);
int sim_config_reload(struct sim_world *w, struct se_config **out, char *err, size_t err_size);
void sim_operator_act(struct sim_world *w);
int64_t sim_stop_bound_ms(const struct sim_world *w);
int64_t sim_converge_bound_ms(const struct sim_world *w);

/* sim_group.c */
void sim_group_spawn(struct sim_world *w, struct sim_proc *p);
uint32_t sim_group_left(const struct sim_world *w, const struct sim_proc *p);
void sim_group_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig);
int sim_group_signal_left(struct sim_world *w, struct sim_proc *p, enum se_sig sig);
bool sim_groups_signalled(const struct sim_world *w);
void sim_group_reaped(struct sim_world *w, struct sim_proc *p);
void sim_check_group(struct sim_world *w, uint32_t handle);
bool sim_groups_pending(const struct sim_world *w);

/* sim_check.c */
void sim_check_signal(struct sim_world *w, struct sim_proc *p, enum se_sig sig);
void sim_check_event(struct sim_world *w, const struct se_act *a);
void sim_check_log(struct sim_world *w, const char *msg);
int sim_check_self_beat(struct sim_world *w);
void sim_check_periodic(struct sim_world *w);
void sim_check_wait(struct sim_world *w, int64_t deadline_ms);
void sim_check_converged(struct sim_world *w);
void sim_check_stall(struct sim_world *w, uint32_t handle, int32_t epoch);
void sim_check_exit(struct sim_world *w);
void sim_check_backlog(struct sim_world *w);
void sim_check_freed(struct sim_world *w);
uint32_t sim_pool_size(const struct sim_world *w);

#endif /* SE_SIM_INT_H */
