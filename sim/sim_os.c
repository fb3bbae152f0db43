/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_os.c: struct se_os over the simulated world.
 *
 * Same contract as the POSIX adapter: 0 or -errno, handles not pids,
 * -ESRCH for a reaped handle, -EAGAIN from reap() when nothing is ready,
 * and failures drawn from faults/points.def. wait() is where simulated time
 * passes: it processes world events up to the engine's deadline and returns
 * as soon as the engine has something to handle.
 */
#include <errno.h>
#include <stdio.h>

#include "sim_int.h"

static struct sim_world *
W(void *ctx)
{
    return ctx;
}

static int64_t
os_monotonic_ms(void *ctx)
{
    return W(ctx)->now_ms;
}

static int64_t
os_realtime_us(void *ctx)
{
    /* a fixed epoch: wall time is never used for deadlines */
    return INT64_C(1795000000000000) + W(ctx)->now_ms * 1000;
}

static uint32_t
os_random_u32(void *ctx)
{
    return sim_rand_u32(W(ctx));
}

/* ---- descriptors -------------------------------------------------------- */

static int32_t
fd_alloc(struct sim_world *w, uint32_t handle)
{
    for (uint32_t tries = 0; tries < SIM_FDS_MAX; tries++) {
        int32_t fd = w->fd_next;
        w->fd_next = w->fd_next + 1 >= (int32_t)SIM_FDS_MAX ? 0 : w->fd_next + 1;
        if (!w->fds[fd].open) {
            w->fds[fd] = (struct sim_fd){.open = true, .handle = handle};
            return fd;
        }
    }
    return -EMFILE;
}

static bool
fd_valid(const struct sim_world *w, int32_t fd)
{
    return fd >= 0 && fd < (int32_t)SIM_FDS_MAX && w->fds[fd].open;
}

static void
fd_signal_readable(struct sim_world *w, int32_t fd)
{
    if (w->fds[fd].watched) sim_engine_event(w, (struct se_ev){.kind = SE_EV_READABLE, .fd = fd});
}

static int
os_watch(void *ctx, int32_t fd)
{
    struct sim_world *w = W(ctx);
    int err = 0;
    if (!fd_valid(w, fd)) return -EBADF;
    if (sim_fault(w, SE_FAULT_IO_WATCH, &err)) return err;
    w->fds[fd].watched = true;
    if (w->fds[fd].bytes > 0 || w->fds[fd].eof) fd_signal_readable(w, fd); /* level-triggered */
    return 0;
}

static int
os_unwatch(void *ctx, int32_t fd)
{
    struct sim_world *w = W(ctx);
    if (!fd_valid(w, fd)) return -EBADF;
    w->fds[fd].watched = false;
    return 0;
}

static int
os_read(void *ctx, int32_t fd, void *buf, size_t len, size_t *len_read)
{
    struct sim_world *w = W(ctx);
    int err = 0;
    (void)buf;
    *len_read = 0;
    if (!fd_valid(w, fd)) {
        sim_fail(w, "read from a descriptor that is not open (%d)", fd);
        return -EBADF;
    }
    if (w->read_fault_next) {
        w->read_fault_next = false;
        sim_trace(w, "fault: read of fd %d fails with EIO (scripted)", fd);
        return -EIO;
    }
    if (sim_fault(w, SE_FAULT_IO_READ, &err)) return err;
    struct sim_fd *f = &w->fds[fd];
    if (f->bytes > 0) {
        uint32_t n = f->bytes < len ? f->bytes : (uint32_t)len;
        f->bytes -= n;
        *len_read = n;
        return 0;
    }
    return f->eof ? 0 : -EAGAIN;
}

/* The command a word on a command pipe names, or SE_CMD_NONE. */
static enum se_cmd
word_cmd(const char *buf, size_t len)
{
    for (int c = SE_CMD_NONE + 1; c < SE_CMD_COUNT; c++) {
        const char *name = se_cmd_name((enum se_cmd)c);
        size_t n = strlen(name);
        if (len == n + 1 && memcmp(buf, name, n) == 0 && buf[n] == '\n') return (enum se_cmd)c;
    }
    return SE_CMD_NONE;
}

static void deliver(struct sim_world *w, struct sim_proc *p, enum se_sig sig);

/* A word on a child's command pipe (command_sender pipe) acts as the signal
 * it stands for; a child that is gone or closed its end answers EPIPE. */
static int
os_write(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written)
{
    struct sim_world *w = W(ctx);
    int err = 0;
    *len_written = 0;
    if (!fd_valid(w, fd)) {
        sim_fail(w, "write to a descriptor that is not open (%d)", fd);
        return -EBADF;
    }
    if (!w->fds[fd].cmd_pipe) return -EBADF; /* the engine writes to no other descriptor */
    struct sim_proc *p = sim_proc_by_handle(w, w->fds[fd].handle);
    if (p == NULL || p->state != SIM_P_RUNNING || p->cmd_broken) return -EPIPE;
    if (sim_fault(w, SE_FAULT_IO_WRITE, &err)) return err;
    enum se_cmd cmd = word_cmd(buf, len);
    if (cmd == SE_CMD_NONE) {
        sim_fail(w, "w%u pid%d: not a command on its command pipe (%zu bytes)", p->worker_id,
                 p->pid, len);
        return -EINVAL;
    }
    *len_written = len;
    p->words++;
    sim_trace(w, "w%u pid%d <= %s (command pipe)", p->worker_id, p->pid, se_cmd_name(cmd));
    enum se_sig sig = cmd == SE_CMD_GRACEFUL_STOP    ? w->cfg->signal_graceful_stop
                      : cmd == SE_CMD_IMMEDIATE_STOP ? w->cfg->signal_immediate_stop
                                                     : se__config_cmd_signal(w->cfg, cmd);
    if (sig != SE_SIG_NONE) {
        deliver(w, p, sig);
        sim_model_signal(w, p, sig);
    }
    return 0;
}

static int
os_close(void *ctx, int32_t fd)
{
    struct sim_world *w = W(ctx);
    if (!fd_valid(w, fd)) {
        sim_fail(w, "close of a descriptor that is not open (%d): double close", fd);
        return -EBADF;
    }
    /* the adapter's table of watched descriptors keeps what is not
     * unwatched: closed behind its back, the entry stays taken for ever */
    if (w->fds[fd].watched) sim_fail(w, "close of descriptor %d while it is watched", fd);
    w->fds[fd] = (struct sim_fd){0};
    return 0;
}

/* ---- processes ---------------------------------------------------------- */

static int32_t
pid_alloc(struct sim_world *w)
{
    /* Half of the time the lowest free pid: a reaped child's pid is often
     * given to the very next process, the case handles must survive. */
    if (sim_chance(w, 500)) w->pid_next = 0;
    for (uint32_t i = 0; i < SIM_PIDS; i++) {
        int32_t idx = w->pid_next;
        w->pid_next = (int32_t)(((uint32_t)w->pid_next + 1u) % SIM_PIDS);
        if (!w->pid_used[idx]) {
            w->pid_used[idx] = true;
            if (w->pid_ever[idx]) w->pid_reuses++;
            w->pid_ever[idx] = true;
            return 100 + idx;
        }
    }
    return -1;
}

static int spawn_try(struct sim_world *w, const struct se_spawn_req *req, struct se_spawn_res *res);

/* Every failed start is told to the embedder (spawn_failed) before the
 * engine waits again (sim_check_wait). */
static int
os_spawn(void *ctx, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    struct sim_world *w = W(ctx);
    int rc = spawn_try(w, req, res);
    if (rc < 0) w->spawn_failures++;
    return rc;
}

static int
spawn_try(struct sim_world *w, const struct se_spawn_req *req, struct se_spawn_res *res)
{
    int err = 0;
    SE_ASSERT(req->worker_id < SE_WORKERS_MAX);
    if (sim_fault(w, SE_FAULT_PROC_FORK, &err)) return err;
    if (req->heartbeat && sim_fault(w, SE_FAULT_IO_PIPE, &err)) return err;
    /* handles only grow; one whose record holds a long-lived process is
     * skipped, as the real adapter's children table does */
    uint32_t handle = 0;
    struct sim_proc *p = NULL;
    for (uint32_t i = 0; i < SIM_PROCS_MAX && p == NULL; i++) {
        handle = w->next_handle++;
        struct sim_proc *r = &w->procs[handle % SIM_PROCS_MAX];
        if (r->state != SIM_P_RUNNING && r->state != SIM_P_ZOMBIE) p = r;
    }
    if (p == NULL) {
        sim_fail(w, "more than %u processes alive: unbounded growth", SIM_PROCS_MAX);
        return -EAGAIN;
    }
    int32_t pid = pid_alloc(w);
    if (pid < 0) return -EAGAIN;
    if (w->stop_received)
        sim_fail(w, "worker %u started after the engine received a stop request", req->worker_id);
    if (w->live_handle[req->worker_id] != 0)
        sim_fail(w, "worker %u started while its previous process (handle %u) is not reaped",
                 req->worker_id, w->live_handle[req->worker_id]);
    *p = (struct sim_proc){.handle = handle,
                           .pid = pid,
                           .worker_id = req->worker_id,
                           .nth = w->starts[req->worker_id]++,
                           .state = SIM_P_RUNNING,
                           .started_ms = w->now_ms,
                           .stall_ms = SE_INT64_NEVER,
                           .exit_at_ms = SE_INT64_NEVER,
                           .hb_fd = -1,
                           .g_start_ms = SE_INT64_NEVER,
                           .g_next_ms = SE_INT64_NEVER,
                           .i_start_ms = SE_INT64_NEVER,
                           .i_next_ms = SE_INT64_NEVER,
                           .imm_req_ms = SE_INT64_NEVER,
                           .stall_check_ms = SE_INT64_NEVER};
    p->cmd_fd = -1;
    if (req->heartbeat) {
        p->hb_fd = fd_alloc(w, handle);
        if (p->hb_fd < 0) return p->hb_fd;
    }
    if (req->command_pipe) {
        p->cmd_fd = fd_alloc(w, handle);
        if (p->cmd_fd < 0) return p->cmd_fd;
        w->fds[p->cmd_fd].cmd_pipe = true;
        for (uint32_t i = 0; i < w->cmd_broken_len; i++)
            p->cmd_broken |=
                w->cmd_broken[i].worker_id == p->worker_id && w->cmd_broken[i].nth == p->nth;
    }
    w->live_handle[req->worker_id] = handle;
    if (req->worker_id >= w->ids_used) w->ids_used = req->worker_id + 1;
    w->res.spawns++;
    sim_model_spawn(w, p);
    sim_group_spawn(w, p);
    *res = (struct se_spawn_res){
        .child = handle, .pid = pid, .heartbeat_fd = p->hb_fd, .command_fd = p->cmd_fd};
    return 0;
}

static int
os_signal(void *ctx, uint32_t child, enum se_sig sig)
{
    struct sim_world *w = W(ctx);
    struct sim_proc *p = sim_proc_by_handle(w, child);
    int err = 0;
    if (p == NULL || p->state == SIM_P_REAPED || p->state == SIM_P_FREE) {
        sim_fail(w, "%s sent to handle %u, which is not a live child (reaped%s)", se_sig_name(sig),
                 child, p == NULL ? " and recycled" : "");
        return -ESRCH;
    }
    if (sig == SE_SIG_NONE) { /* signal() sends; only signal_group probes */
        sim_fail(w, "no signal (SE_SIG_NONE) sent to w%u", p->worker_id);
        return -EINVAL;
    }
    /* a thread or embedded worker shares the server's process: a signal
     * would reach the server; such workers are told through the hooks */
    if (!w->opts.supervisor &&
        (w->cfg->worker_type == SE_WORKER_THREAD || w->cfg->worker_type == SE_WORKER_EMBEDDED)) {
        sim_fail(w, "%s sent to w%u, a %s worker", se_sig_name(sig), p->worker_id,
                 w->cfg->worker_type == SE_WORKER_THREAD ? "thread" : "embedded");
        return -ENOTSUP;
    }
    bool scripted = false;
    for (uint32_t i = 0; i < w->kill_eperm_len; i++)
        scripted |= w->kill_eperm[i].worker_id == p->worker_id && w->kill_eperm[i].nth == p->nth;
    if (scripted) {
        err = -EPERM;
        sim_trace(w, "w%u pid%d: %s fails (EPERM, scripted)", p->worker_id, p->pid,
                  se_sig_name(sig));
    }
    if (scripted || sim_fault(w, SE_FAULT_PROC_KILL, &err)) {
        sim_check_signal(w, p, sig); /* the decision is checked, delivered or not */
        if (sig == SE_SIG_KILL) p->kill_failed = true;
        return err;
    }
    /* A race the real world has: the child exits on its own between the
     * engine's decision to signal it and the signal. */
    if (p->state == SIM_P_RUNNING && !w->liveness && sim_chance(w, 20))
        sim_proc_exit(w, p, 3, SE_SIG_NONE);
    deliver(w, p, sig);
    sim_trace(w, "w%u pid%d <- %s", p->worker_id, p->pid, se_sig_name(sig));
    if (p->state == SIM_P_RUNNING) sim_model_signal(w, p, sig);
    return 0;
}

/* A signal (or the word standing for it) reaches p: checked and recorded. */
static void
deliver(struct sim_world *w, struct sim_proc *p, enum se_sig sig)
{
    sim_check_signal(w, p, sig);
    if (p->sig_count < SIM_SIGLOG_MAX) p->sigs[p->sig_count] = (struct sim_sig_rec){w->now_ms, sig};
    p->sig_count++;
    w->res.signals++;
}

/* A worker's process group: the child while it is not reaped, and what it
 * leaves behind (sim_group.c), also after its reap: -ESRCH once nothing is
 * left. A zombie leader is no member the probe (SE_SIG_NONE) counts. */
static int
os_signal_group(void *ctx, uint32_t child, enum se_sig sig)
{
    struct sim_world *w = W(ctx);
    if (!sim_groups_signalled(w))
        sim_fail(w, "%s sent to a process group where the configuration stops none",
                 se_sig_name(sig));
    if (child == 0 || child >= w->next_handle) {
        sim_fail(w, "%s sent to the group of handle %u, which was never issued", se_sig_name(sig),
                 child);
        return -ESRCH;
    }
    struct sim_proc *p = sim_proc_by_handle(w, child);
    if (p == NULL || p->state == SIM_P_FREE) return -ESRCH;
    if (p->state == SIM_P_REAPED) return sim_group_signal_left(w, p, sig);
    if (sig == SE_SIG_NONE)
        return p->state == SIM_P_RUNNING || sim_group_left(w, p) > 0 ? 0 : -ESRCH;
    int rc = os_signal(ctx, child, sig);
    if (rc == 0) sim_group_signal(w, p, sig);
    return rc;
}

static int
os_reap(void *ctx, struct se_exit *ex)
{
    struct sim_world *w = W(ctx);
    if (w->zombies_len == 0 && w->strays > 0) { /* a handle never issued to the engine */
        w->strays--;
        w->strays_reaped++;
        *ex = (struct se_exit){.child = UINT32_MAX - w->strays_reaped, .code = 0};
        sim_trace(w, "a stray child reaped (handle %u)", ex->child);
        return 0;
    }
    if (w->zombies_len == 0) return -EAGAIN;
    uint32_t handle = w->zombies[0];
    w->zombies_len--;
    memmove(w->zombies, w->zombies + 1, w->zombies_len * sizeof w->zombies[0]);
    struct sim_proc *p = sim_proc_by_handle(w, handle);
    SE_ASSERT(p != NULL && p->state == SIM_P_ZOMBIE);
    p->state = SIM_P_REAPED;
    w->pid_used[p->pid - 100] = false; /* the pid may be reused at once */
    if (w->live_handle[p->worker_id] == handle) w->live_handle[p->worker_id] = 0;
    if (p->exit_code >= 0 && se__config_unrecoverable(w->cfg, p->exit_code)) {
        if (!w->unrec_seen) w->unrec_first = p->exit_code;
        w->unrec_seen = true;
        w->unrec_last = p->exit_code;
        if (p->worker_id < sim_pool_size(w)) w->dead[p->worker_id] = true;
    }
    *ex = (struct se_exit){.child = handle, .code = p->exit_code, .sig = p->exit_sig};
    sim_trace(w, "w%u pid%d reaped", p->worker_id, p->pid);
    sim_group_reaped(w, p);
    return 0;
}

static int
os_beat_stamp(void *ctx, uint32_t child, int64_t *stamp_ms)
{
    struct sim_world *w = W(ctx);
    struct sim_proc *p = sim_proc_by_handle(w, child);
    if (p == NULL || p->state == SIM_P_REAPED) {
        sim_fail(w, "beat stamp asked for handle %u, which was reaped", child);
        return -ESRCH;
    }
    if (p->pipe_beats) return -ENOENT;
    *stamp_ms = sim_proc_last_beat(w, p);
    return 0;
}

static int
os_heartbeat(void *ctx)
{
    return sim_check_self_beat(W(ctx)); /* a live simulated supervisor takes every beat */
}

static int
os_no_files(void *ctx)
{
    (void)ctx;
    return -ENOSYS;
}

static int
os_open_append(void *ctx, const char *path, int32_t *fd)
{
    (void)path, (void)fd;
    return os_no_files(ctx);
}

static int
os_rename(void *ctx, const char *from, const char *to)
{
    (void)from, (void)to;
    return os_no_files(ctx);
}

static int
os_unlink(void *ctx, const char *path)
{
    (void)path;
    return os_no_files(ctx);
}

static int
os_file_id(void *ctx, const char *path, int32_t fd, struct se_file_id *id)
{
    (void)path, (void)fd, (void)id;
    return os_no_files(ctx);
}

static int
os_lock(void *ctx, int32_t fd)
{
    (void)fd;
    return os_no_files(ctx);
}

static int
os_append(void *ctx, int32_t fd, const void *buf, size_t len, size_t *len_written,
          uint64_t *size_after)
{
    (void)fd, (void)buf, (void)len, (void)size_after;
    *len_written = 0;
    return os_no_files(ctx);
}

static int
os_wait(void *ctx, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max, uint32_t *evs_count)
{
    return sim_world_wait(W(ctx), deadline_ms, evs, evs_max, evs_count);
}

void
sim_os_init(struct sim_world *w)
{
    w->os = (struct se_os){
        .version = SE_OS_VERSION,
        .ctx = w,
        .monotonic_ms = os_monotonic_ms,
        .realtime_us = os_realtime_us,
        .random_u32 = os_random_u32,
        .wait = os_wait,
        .watch = os_watch,
        .unwatch = os_unwatch,
        .spawn = os_spawn,
        .signal = os_signal,
        .reap = os_reap,
        .beat_stamp = os_beat_stamp,
        .heartbeat = os_heartbeat,
        .read = os_read,
        .write = os_write,
        .close = os_close,
        .open_append = os_open_append,
        .rename = os_rename,
        .unlink = os_unlink,
        .file_id = os_file_id,
        .lock = os_lock,
        .unlock = os_lock,
        .append = os_append,
        .signal_group = os_signal_group,
    };
}

/* ---- time passes here --------------------------------------------------- */

static void
on_hb_eof(struct sim_world *w, const struct sim_ev *ev)
{
    struct sim_proc *p = sim_proc_by_handle(w, ev->handle);
    if (p == NULL || !fd_valid(w, p->hb_fd)) return;
    struct sim_fd *f = &w->fds[p->hb_fd];
    if (f->handle != p->handle || f->eof) return;
    f->eof = true;
    p->hb_eof = true;
    sim_trace(w, "w%u pid%d closes its heartbeat pipe", p->worker_id, p->pid);
    fd_signal_readable(w, p->hb_fd);
}

static void
on_pipe_beat(struct sim_world *w, const struct sim_ev *ev)
{
    struct sim_proc *p = sim_proc_by_handle(w, ev->handle);
    if (p == NULL || p->state != SIM_P_RUNNING || w->now_ms >= p->stall_ms) return;
    if (fd_valid(w, p->hb_fd) && w->fds[p->hb_fd].handle == p->handle && !w->fds[p->hb_fd].eof) {
        w->fds[p->hb_fd].bytes++;
        fd_signal_readable(w, p->hb_fd);
    }
    sim_push(w, w->now_ms + p->beat_interval_ms, SIM_EV_PIPE_BEAT, p->handle, 0, 0);
}

static void
on_notify(struct sim_world *w)
{
    w->child_pending = false;
    sim_engine_event(w, (struct se_ev){.kind = SE_EV_CHILD});
}

static void
on_final_stop(struct sim_world *w)
{
    if (w->final_stop_ms != SE_INT64_NEVER) return;
    if (w->converge_ms != SE_INT64_NEVER) { /* a rolling restart's convergence is still to check */
        sim_push(w, w->converge_ms + 1000, SIM_EV_FINAL_STOP, 0, 0, 0);
        return;
    }
    w->final_stop_ms = w->now_ms;
    w->stop_requested = true;
    sim_trace(w, "operator: final graceful stop");
    sim_engine_event(w, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = w->cfg->signal_graceful_stop});
    sim_push(w, w->now_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0, 0);
}

static void
on_liveness(struct sim_world *w)
{
    w->liveness = true;
    /* stalls still to come are called off; those that began must be caught */
    for (uint32_t id = 0; id < SE_WORKERS_MAX; id++) {
        struct sim_proc *p = sim_proc_by_handle(w, w->live_handle[id]);
        if (p != NULL && p->stall_ms > w->now_ms) p->stall_ms = SE_INT64_NEVER;
    }
    int64_t conv = sim_converge_bound_ms(w);
    sim_trace(w, "liveness phase: faults off, new workers healthy; converge within %lld ms",
              (long long)conv);
    w->converge_ms = w->now_ms + conv;
    sim_push(w, w->converge_ms, SIM_EV_CONVERGED, 0, 0, 0);
    sim_push(w, se_max_ms(w->now_ms + conv + 1000, w->opts.duration_ms), SIM_EV_FINAL_STOP, 0, 0,
             0);
}

static void
on_scripted_signal(struct sim_world *w, enum se_sig sig)
{
    sim_trace(w, "operator: %s", se_sig_name(sig));
    sim_engine_event(w, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = sig});
    bool stop = sig == w->cfg->signal_graceful_stop || sig == w->cfg->signal_immediate_stop;
    if (stop && w->final_stop_ms == SE_INT64_NEVER) {
        w->final_stop_ms = w->now_ms;
        w->stop_requested = true;
        sim_push(w, w->now_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0, 0);
    }
    /* a scripted INT ends the supervisor as the operator's does */
    if (sig == w->cfg->signal_detach && w->cfg->enable_detach && w->cfg->exit_on_detach)
        w->detach_ended = true;
}

/* The supervisor dies and nothing tells: the server's next beat finds out. */
static void
on_parent_silent(struct sim_world *w)
{
    sim_trace(w, "the supervisor dies, and nothing tells");
    w->parent_dead = true;
    if (w->final_stop_ms != SE_INT64_NEVER) return;
    w->final_stop_ms = w->now_ms; /* stopped at the next beat */
    w->stop_requested = true;
    sim_push(w, w->now_ms + w->opts.self_beat_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0,
             0);
}

static void
on_stray(struct sim_world *w)
{
    w->strays++;
    if (w->child_pending) return;
    w->child_pending = true;
    sim_push(w, w->now_ms, SIM_EV_NOTIFY, 0, 0, 0);
}

static void
process(struct sim_world *w, const struct sim_ev *ev)
{
    w->res.world_events++;
    switch (ev->kind) {
    case SIM_EV_CRASH:
        if (w->liveness) return; /* models behave from the liveness phase on */
        /* fall through */
    case SIM_EV_EXIT: {
        struct sim_proc *p = sim_proc_by_handle(w, ev->handle);
        if (p != NULL) sim_proc_exit(w, p, ev->arg, (enum se_sig)ev->arg2);
        return;
    }
    case SIM_EV_EOF_EARLY:
        if (w->liveness) return;
        on_hb_eof(w, ev);
        return;
    case SIM_EV_HB_EOF: on_hb_eof(w, ev); return;
    case SIM_EV_PIPE_BEAT: on_pipe_beat(w, ev); return;
    case SIM_EV_NOTIFY: on_notify(w); return;
    case SIM_EV_SIGNAL: on_scripted_signal(w, (enum se_sig)ev->arg); return;
    case SIM_EV_OPERATOR: sim_operator_act(w); return;
    case SIM_EV_LIVENESS: on_liveness(w); return;
    case SIM_EV_CONVERGED: sim_check_converged(w); return;
    case SIM_EV_FINAL_STOP: on_final_stop(w); return;
    case SIM_EV_STOP_BOUND:
        sim_fail(w,
                 "the engine has not exited %lld ms after the stop request (the bound of the "
                 "configured kill timeouts)",
                 (long long)(w->now_ms - w->final_stop_ms));
        return;
    case SIM_EV_STALL_CHECK: sim_check_stall(w, ev->handle, ev->arg); return;
    case SIM_EV_GROUP_CHECK: sim_check_group(w, ev->handle); return;
    case SIM_EV_RELOAD:
        w->reload_pending = ev->arg;
        sim_trace(w, "operator: reload (%s)",
                  w->reload_kv[ev->arg][0] ? w->reload_kv[ev->arg] : "invalid");
        sim_engine_event(w, (struct se_ev){.kind = SE_EV_SIGNAL, .sig = w->cfg->signal_reload});
        return;
    case SIM_EV_PARENT_SILENT: on_parent_silent(w); return;
    case SIM_EV_STRAY: on_stray(w); return;
    case SIM_EV_READ_FAULT: w->read_fault_next = true; return;
    case SIM_EV_PARENT_GONE:
        w->parent_dead = true;
        sim_trace(w, "the supervisor dies");
        sim_engine_event(w, (struct se_ev){.kind = SE_EV_PARENT_GONE});
        if (w->final_stop_ms == SE_INT64_NEVER) { /* a graceful stop, with its bound */
            w->final_stop_ms = w->now_ms;
            w->stop_requested = true;
            sim_push(w, w->now_ms + sim_stop_bound_ms(w), SIM_EV_STOP_BOUND, 0, 0, 0);
        }
        return;
    case SIM_EV_END:
        sim_trace(w, "end of simulated time");
        w->ended = true;
        return;
    }
}

/* Zombies the engine was told about must be reaped before it waits again. */
static void
mark_notified(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->zombies_len; i++) {
        struct sim_proc *p = sim_proc_by_handle(w, w->zombies[i]);
        if (p != NULL) p->notified = true;
    }
}

static void
hand_over(struct sim_world *w, struct se_ev *evs, uint32_t evs_max, uint32_t *evs_count)
{
    uint32_t n = w->pending_len < evs_max ? w->pending_len : evs_max;
    for (uint32_t i = 0; i < n; i++) {
        evs[i] = w->pending[i];
        if (evs[i].kind == SE_EV_READABLE && w->handed_len < SIM_PENDING_MAX)
            w->handed[w->handed_len++] = evs[i].fd;
        if (evs[i].kind == SE_EV_CHILD) mark_notified(w);
        if (evs[i].kind == SE_EV_PARENT_GONE) w->parent_told = true;
    }
    w->pending_len -= n;
    memmove(w->pending, w->pending + n, w->pending_len * sizeof w->pending[0]);
    *evs_count = n;
    w->res.engine_events += n;
}

int
sim_world_wait(struct sim_world *w, int64_t deadline_ms, struct se_ev *evs, uint32_t evs_max,
               uint32_t *evs_count)
{
    *evs_count = 0;
    sim_check_wait(w, deadline_ms);
    /* level-triggered: what the engine left readable is readable still */
    uint32_t handed = w->handed_len;
    w->handed_len = 0;
    for (uint32_t i = 0; i < handed; i++) {
        int32_t fd = w->handed[i];
        if (fd_valid(w, fd) && w->fds[fd].watched && (w->fds[fd].bytes > 0 || w->fds[fd].eof))
            sim_engine_event(w, (struct se_ev){.kind = SE_EV_READABLE, .fd = fd});
    }
    for (;;) {
        if (w->ended) return -ECANCELED;
        if (w->pending_len > 0) {
            hand_over(w, evs, evs_max, evs_count);
            return 0;
        }
        int64_t next = sim_next_event_ms(w);
        if (next <= deadline_ms && next != SE_INT64_NEVER) {
            struct sim_ev ev = sim_pop(w);
            if (ev.at_ms > w->now_ms) w->now_ms = ev.at_ms;
            process(w, &ev);
            continue;
        }
        if (deadline_ms == SE_INT64_NEVER) {
            sim_fail(w, "the engine waits with no deadline and nothing can happen: a hang");
            return -ECANCELED;
        }
        if (deadline_ms > w->now_ms) w->now_ms = deadline_ms;
        return 0;
    }
}
