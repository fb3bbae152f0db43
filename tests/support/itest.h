/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest.h: the harness of the real-process integration tests
 * (tests/integration/test_server.c, test_supervisor.c).
 *
 * A test starts the engine in a child (forked, then the test binary exec'd
 * again with ITEST_CHILD_FLAG, in a process group of its own) with a
 * generic test server and test worker whose behaviour comes from
 * configuration keys, drives it with real signals, and watches the log,
 * where every callback writes one "TEST ..." line. Every wait polls a real
 * condition against a deadline; none sleeps "long enough".
 *
 * The generic worker, by its `mode` key (the program's own keys, declared):
 *   sleep        (the default) run until stop sets its BlockingFlag;
 *   exit         return exit_code at once;
 *   exit_after   return exit_code after exit_after_ms, unless stopped first;
 *   ignore_term  stop does nothing, and a process worker ignores SIGQUIT;
 *   manual_beat  call se_worker_heartbeat every 50 ms for beat_stop_after_ms,
 *                then stop beating and run until stop;
 *   crash        abort();
 *   server_stop  call se_server_stop(graceful) from run, then run until stop;
 *   spawn_sleep  start `sleep 1000` with posix_spawnp (as system() would),
 *                log "TEST grandchild worker=N pid=G", then run until stop;
 *                with grandchild_ignores_term=true the program ignores TERM.
 * The server's before_run returns the key before_run_status (default 0).
 *   serve        answer "OK worker=N" on the first `listen` socket until stopped.
 * A stopped worker lingers stop_delay_ms before run returns (work to
 * finish). exit_code and exit_after_ms may be comma lists: worker N takes
 * item N (the last item when the list is shorter).
 *
 * Log lines: "TEST before_run pid=P" (and, by printf left unflushed,
 * "TEST printf before_run pid=P", in the log when stdout is captured, and
 * with print_lines=N, N lines "TEST bulk line NNNNNN ..." printed there too),
 * "TEST after_run", "TEST stop graceful=G",
 * "TEST restart graceful=G", "TEST reload_config", "TEST after_start",
 * "TEST run worker=N pid=P", "TEST config worker=N message=M" (at the start
 * of run), "TEST stop worker=N", "TEST reload worker=N message=M",
 * "TEST beats stopped worker=N", "TEST lingering worker=N ms=D",
 * "TEST return worker=N status=S".
 *
 * Environment: ITEST_FILTER=glob runs only the matching tests, ITEST_KEEP=1
 * keeps each test's directory (log, stderr).
 *
 * Each test gets a fresh directory (removed at the end). Teardown fails the
 * test when a process of a group it started survives, when a child of the
 * test process is left unreaped, or when a descriptor leaked. The test
 * process is a child subreaper: orphans of the engine (a daemon, workers of
 * a killed server) become its children, so they can be waited for.
 */
#ifndef SE_ITEST_H
#define SE_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ITEST_DEADLINE_MS 10000 /* generous: a loaded CI machine must not flake */
#define ITEST_ARGS_MAX    24
#define ITEST_KIDS_MAX    4
#define ITEST_PGIDS_MAX   8
#define ITEST_DIR_MAX     64
#define ITEST_PATH_MAX    256
#define ITEST_FDS_MAX     4096

struct itest {
    char dir[ITEST_DIR_MAX];       /* the test's own directory */
    char log_path[ITEST_PATH_MAX]; /* <dir>/test.log, the engine's log */
    char fds_before[ITEST_FDS_MAX];
    const void *param; /* the row of a table of cases (cmocka's prestate) */
    char *args[ITEST_ARGS_MAX];
    size_t args_count;
    pid_t kids[ITEST_KIDS_MAX];       /* children itest_start forked */
    bool kids_reaped[ITEST_KIDS_MAX]; /* ... and waited for */
    size_t kids_count;
    pid_t pgids[ITEST_PGIDS_MAX]; /* groups whose members must all be gone at the end */
    size_t pgids_count;
};

#define ITEST_CHILD_FLAG "--itest-engine-child"

/* An itest_start argument for the harness, not the engine: the child calls
 * se_engine_run even when se_engine_configure failed. */
#define ITEST_RUN_AFTER_CONFIG_ERROR "itest:run_after_config_error"

/* The harness's spawn worker (tests/support/itest_spawn.c): the test
 * binary run again with this flag is the program a spawn worker runs. */
#define ITEST_SPAWN_FLAG "--itest-spawn-program"
struct se_worker;
struct se_spawn_cmd;
int itest_spawn_callback(struct se_worker *w, struct se_spawn_cmd *cmd);
__attribute__((noreturn)) void itest_spawn_prog_main(void);

/* Where run waits in mode dump_wait: a frame of its own, never inlined and
 * exported (a test binary linked with -rdynamic names it in a sigdump). */
struct se_blocking_flag;
void itest_run_waits_in_dump_frame(struct se_blocking_flag *stop);

/*
 * The first call of a test program's main(). In the test process it
 * remembers the program's path and returns. In an engine child (the test
 * binary exec'd by itest_start with ITEST_CHILD_FLAG) it runs the engine
 * and never returns. The exec keeps the engine's processes out of a
 * valgrind run of the test process (--trace-children=no) and gives them a
 * fresh process image: no cmocka state, no test-process memory.
 */
void itest_main(int argc, char **argv);

/*
 * Makes the calling process own its process tree: a child subreaper whose
 * exit (atexit) and TERM, INT, HUP, ALRM and QUIT (a deadline, Ctrl-C) first
 * kill and reap every descendant, orphans included. itest_main calls it;
 * a test binary that does not use itest_main calls it first in main().
 * With PR_SET_PDEATHSIG on each engine child, even a SIGKILLed test process
 * leaves no engine behind.
 */
void itest_own_tree(void);

/* cmocka group fixture: makes the test process a child subreaper. */
int itest_group_setup(void **state);
int itest_group_teardown(void **state);

/* cmocka per-test fixture. *state on entry is the case's parameter (may be
 * NULL); on return it is the struct itest. */
int itest_setup(void **state);
int itest_teardown(void **state);

/* The parameter the case was registered with (cmocka_unit_test_prestate). */
const void *itest_param(const struct itest *t);

/* Adds one "key=value" override for the next itest_start (printf format). */
void itest_set(struct itest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Forks the engine: a child in a new process group that builds an engine
 * with the test callbacks, configures it (defaults: short timings, then the
 * YAML file config_path when not NULL, then log=<dir>/test.log, the
 * itest_set overrides and the NULL-terminated "key=value" arguments) and
 * exits with se_engine_run's status. A configuration error is printed on
 * its stderr and ends it with 78, as the examples do. Its stdout and stderr
 * go to <dir>/stdout.PID and <dir>/stderr.PID. Returns its pid.
 */
pid_t itest_start(struct itest *t, const char *config_path, ...) __attribute__((sentinel));

/* Makes every process of group pgid subject to the end-of-test check. */
void itest_track_pgid(struct itest *t, pid_t pgid);

/*
 * Waits for pid (a child of the test process, or an orphan adopted as
 * one) to exit, at most deadline_ms. Returns its exit status, or 128+signal.
 * On timeout kills its group with SIGKILL, prints the log's tail and fails.
 */
int itest_wait_exit(struct itest *t, pid_t pid, int64_t deadline_ms);

/* Waits for any child of the test process other than the ones itest_start
 * forked (an adopted orphan: the daemon of a launcher that failed) to
 * exit; returns its pid and *status (exit status or 128+signal). Fails at
 * the deadline. */
pid_t itest_wait_adopted(struct itest *t, int64_t deadline_ms, int *status);

/* Waits until the log has at least min_count lines containing text; fails
 * (with the last 30 log lines) when the deadline passes. */
void itest_wait_log(struct itest *t, const char *text, unsigned min_count, int64_t deadline_ms);

/* Lines of the log containing text. */
unsigned itest_count_log(const struct itest *t, const char *text);

/* The 0-based line number of the n-th (1-based) line containing text, or
 * -1. For assertions about the order of events. */
long itest_log_line_no(const struct itest *t, const char *text, unsigned nth);

/* Copies the n-th (1-based) line containing text (without newline) into
 * buf; false when there is none. */
bool itest_log_line(const struct itest *t, const char *text, unsigned nth, char *buf,
                    size_t buf_size);

/* The pid in the latest "TEST run worker=id pid=P" line; fails when none. */
pid_t itest_worker_pid(const struct itest *t, unsigned id);

/* The pid in the n-th (1-based) "TEST before_run pid=P" line; fails when none. */
pid_t itest_server_pid(const struct itest *t, unsigned nth);

/* Sends sig to pid; fails when it cannot. */
void itest_kill(pid_t pid, int sig);

/* <dir>/name into buf. */
void itest_path(const struct itest *t, const char *name, char *buf, size_t buf_size);

/* Writes <dir>/name atomically (a temporary file renamed over it). */
void itest_write_file(const struct itest *t, const char *name, const char *text);

/* Reads a whole file into buf (NUL-terminated, truncated to fit). Returns
 * the length, or -errno. */
ssize_t itest_read_file(const char *path, char *buf, size_t buf_size);

/* The stderr of a child itest_start forked, into buf. */
void itest_stderr(const struct itest *t, pid_t pid, char *buf, size_t buf_size);

/* true while pid names a process that has not exited (zombies count as
 * exited). */
bool itest_alive(pid_t pid);

/* The process group of pid, or -1. */
pid_t itest_pgid_of(pid_t pid);

/* Monotonic milliseconds. */
int64_t itest_now_ms(void);

/* A cmocka test of a table row: fn run with param (itest_param), named
 * "fn(label)". */
#define ITEST_CASE(fn, param, label)                                                               \
    {                                                                                              \
#fn "(" label ")", fn, itest_setup, itest_teardown, (void *)(param)                        \
    }

#endif /* SE_ITEST_H */
