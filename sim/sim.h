/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim.h: the deterministic simulator's interface (se-sim and the scenario
 * tests).
 *
 * A world is a virtual clock, a virtual process table with worker models, a
 * virtual descriptor table, an event queue ordered by (time, sequence) and
 * one seeded PRNG, the only source of chance. The engine's real driver runs
 * on top of it through struct se_os; nothing in engine/ knows it is
 * simulated. A run is a function of its seed and options: the same seed
 * replays the same run, bit for bit (same trace hash).
 */
#ifndef SE_SIM_H
#define SE_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "se_int.h"

enum sim_model {
    SIM_HEALTHY = 0, /* beats; exits soon after the graceful signal */
    SIM_CRASH_AT,    /* exits by itself at .at_ms (code, or signal when code < 0) */
    SIM_STALL_AT,    /* stops beating at .at_ms and ignores the graceful signal */
    SIM_IGNORE_TERM, /* ignores the graceful signal; dies on the immediate one */
    SIM_IGNORE_QUIT, /* ignores graceful and immediate signals; only KILL ends it */
    SIM_SLOW_EXIT,   /* exits .at_ms after the graceful signal */
    SIM_CRASH_LOOP,  /* exits with code 1 a few ms after it starts */
    SIM_EXEC_FAIL,   /* exits with code 127 at once, as an exec failure does */
    SIM_PIPE_BEATER, /* healthy, but beats by writing bytes to its pipe */
    SIM_EOF_EARLY,   /* closes its heartbeat pipe .at_ms, then exits a little later */
    SIM_MODEL_COUNT
};

/* How a member of a worker's process group ends (sim_group.c): what a
 * worker starts stays in its group and may outlive it. */
#define SIM_MEMBERS_MAX 3u /* members of a worker's group besides it */
enum sim_member_end {
    SIM_MEMBER_TERM = 0, /* on the graceful signal (or a later one) */
    SIM_MEMBER_QUIT,     /* on the immediate signal or KILL */
    SIM_MEMBER_KILL,     /* on KILL only */
    SIM_MEMBER_LEAVES,   /* by itself at leaves_ms, or on the immediate signal or KILL */
};

struct sim_opts {
    uint64_t seed;
    int64_t duration_ms;          /* simulated time of the safety + liveness phases */
    uint32_t workers;             /* 0: drawn from the seed */
    bool faults;                  /* OS failures in the safety phase */
    bool operator_random;         /* random operator signals, reloads, scale changes */
    bool random_models;           /* worker behaviour drawn from the seed; else healthy */
    bool random_config;           /* timings drawn from the seed; else the overrides only */
    bool final_stop;              /* a graceful stop ends the run */
    bool supervisor;              /* the supervisor role: the children are server processes */
    bool verbose;                 /* print the trace as it goes */
    const char *const *overrides; /* "key=value" applied after the drawn config */
    int64_t self_beat_ms;         /* > 0: the server beats to a supervisor this often */
    int64_t periodic_ms;          /* > 0: the embedder's periodic duty this often */
};

struct sim_result {
    bool ok;
    char violation[512];    /* the first broken invariant, when !ok */
    uint64_t trace_hash;    /* FNV-1a of every trace line */
    int64_t sim_ms;         /* simulated time at the end */
    uint64_t world_events;  /* events processed by the world */
    uint64_t engine_events; /* events handed to the engine */
    uint64_t waits;         /* the engine's wait() calls: its wake-ups */
    uint64_t spawns;
    uint64_t signals;
    uint64_t faults_injected;
    uint32_t backlog_max; /* most actions the driver had queued and not run at once */
    bool engine_exited;
    int32_t exit_status;
};

struct sim_world;

/* A new world for opts, or NULL when out of memory. */
struct sim_world *sim_world_new(const struct sim_opts *opts);
void sim_world_free(struct sim_world *w);

/* Scenario scripting (before sim_run). The nth start (0-based) of a worker
 * gets the model; at_ms is relative to that start; code for CRASH_AT. */
void sim_script_model(struct sim_world *w, uint32_t worker_id, uint32_t nth, enum sim_model model,
                      int64_t at_ms, int32_t code);
/* The nth start of a worker leads a group with these members besides it
 * (n <= SIM_MEMBERS_MAX); leaves_ms: after the start, for SIM_MEMBER_LEAVES.
 * Only for process workers of a server with worker_kill_process_group and
 * finite kill timeouts (the engine stops nothing else). */
void sim_script_group(struct sim_world *w, uint32_t worker_id, uint32_t nth,
                      const enum sim_member_end *ends_on, uint32_t n, int64_t leaves_ms);
/* The nth start of a worker closes its end of the command pipe
 * (command_sender pipe): every word written to it fails with EPIPE. */
void sim_script_cmd_pipe_broken(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* An operator signal to the server at an absolute time. */
void sim_script_signal(struct sim_world *w, int64_t at_ms, enum se_sig sig);
/* The server's supervisor dies at at_ms: the adapter reports SE_EV_PARENT_GONE
 * and the engine must stop as on a graceful stop (the same bound). */
void sim_script_parent_gone(struct sim_world *w, int64_t at_ms);
/* The supervisor dies at at_ms with nothing to tell (no SE_EV_PARENT_GONE):
 * the server's next beat to it fails (EPIPE), and it stops as above. */
void sim_script_parent_gone_silently(struct sim_world *w, int64_t at_ms);
/* Every signal to the nth start of a worker fails with EPERM (as to a
 * process that changed its user). */
void sim_script_signals_fail(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* At at_ms the adapter reaps a child it never gave the engine (a stray the
 * engine must log and otherwise ignore). */
void sim_script_stray_exit(struct sim_world *w, int64_t at_ms);
/* From at_ms, the engine's next read of a descriptor fails with EIO. */
void sim_script_read_fault(struct sim_world *w, int64_t at_ms);
/* A reload at at_ms: the configuration gets "key=value" (or is invalid when
 * kv is NULL; "!" fails with EIO and no message; "!long" fails with the
 * longest message, naming a path of SE_PATH_MAX - 1 bytes), then the reload signal is
 * sent. */
void sim_script_reload(struct sim_world *w, int64_t at_ms, const char *kv);

/* Runs the world until the engine exits or the end of time. */
void sim_run(struct sim_world *w, struct sim_result *res);

/* Prints the last trace lines (a failing run's context) to stderr. */
void sim_print_trace_tail(const struct sim_world *w, uint32_t lines);

/* Queries for scenario tests. */
uint32_t sim_starts(const struct sim_world *w, uint32_t worker_id);
/* Signals the nth start of worker_id received, in order, as "SIGTERM@1500 SIGQUIT@...". */
const char *sim_signals_of(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* The signals that reached what the nth start of worker_id left in its
 * process group after its reap, as sim_signals_of gives them. */
const char *sim_group_signals_of(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* Members of that group still alive. */
uint32_t sim_group_left_of(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* When the nth start of worker_id received its k-th (0-based) sig, or -1. */
int64_t sim_signal_at(struct sim_world *w, uint32_t worker_id, uint32_t nth, enum se_sig sig,
                      uint32_t k);
/* How many commands the nth start of worker_id read on its command pipe. */
uint32_t sim_words_of(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* How many times a pid was given to a new process after an old one was reaped. */
uint64_t sim_pid_reuses(const struct sim_world *w);
/* How the nth start ended: "-" (alive), "status N" or "signal SIGX". */
const char *sim_end_of(struct sim_world *w, uint32_t worker_id, uint32_t nth);
/* True when a log line containing text was written by the engine. */
bool sim_logged(const struct sim_world *w, const char *text);
/* How often the server beat to its supervisor (opts.self_beat_ms). */
uint64_t sim_self_beats(const struct sim_world *w);
/* How often the embedder's periodic duty ran (opts.periodic_ms). */
uint64_t sim_periodic_runs(const struct sim_world *w);
/* How many log lines written by the engine contain text (of the last
 * trace lines kept). */
uint32_t sim_log_count(const struct sim_world *w, const char *text);
/* How many times the engine re-read its configuration (accepted or not). */
uint32_t sim_reloads(const struct sim_world *w);
/* How often a thread or embedded worker was told to reload (its hook). */
uint64_t sim_reload_worker_calls(const struct sim_world *w);
/* Live workers now. */
uint32_t sim_alive(const struct sim_world *w);

#endif /* SE_SIM_H */
