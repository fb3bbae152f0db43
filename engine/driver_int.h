/* SPDX-License-Identifier: Apache-2.0 */
/*
 * driver_int.h: what the parts of the driver share, and nothing else uses.
 *
 * driver.c (the loop, the machines' inputs) and driver_exec.c (executing
 * the machines' actions) call each other: the loop executes the queue, and
 * an action's result is fed back to its machine. Every call is on the
 * loop's thread, within one iteration (driver.h).
 */
#ifndef SE_DRIVER_INT_H
#define SE_DRIVER_INT_H

#include "driver.h"

/* driver.c ---------------------------------------------------------------- */

/* One engine log line through hooks.log, formatted like printf. */
void se__driver_logf(struct se_driver *d, enum se_log_level level, const char *fmt, ...)
    SE_PRINTF(3, 4);

/* Feeds the worker pool (server role; draws its random number), the
 * supervisor's machine (supervisor role), or the kill machine of slot, whose
 * child must be alive. Their actions join d->acts. */
void se__driver_pool_feed(struct se_driver *d, struct se_pool_in in, int64_t now_ms);
void se__driver_sup_feed(struct se_driver *d, struct se_sup_in in, int64_t now_ms);
void se__driver_kill_feed(struct se_driver *d, uint32_t slot, struct se_kill_in in, int64_t now_ms);

/* Re-reads the configuration (hooks.load_config); an invalid one leaves the
 * old one in force (logged, hooks.reload_failed). true when a new one is. */
bool se__driver_reload_config(struct se_driver *d, int64_t now_ms);

/* A signal of a's to what is left of an ended child's process group: none
 * left ends the group's stop quietly. */
void se__driver_group_signal(struct se_driver *d, const struct se_act *a, int64_t now_ms);

/* driver_exec.c ----------------------------------------------------------- */

/* Executes d->acts in order, with the actions that executing them appends,
 * until none is left; the queue is then empty. */
void se__driver_execute_all(struct se_driver *d, int64_t now_ms);

/* Tells every worker to reload: the reload hook of thread and embedded
 * workers, RELOAD on a command pipe, else the reload signal. */
void se__driver_notify_reload(struct se_driver *d);

#endif /* SE_DRIVER_INT_H */
