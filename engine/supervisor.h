/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.h: the supervisor process (supervisor.c), above server.c,
 * below engine.c.
 */
#ifndef SE_SUPERVISOR_H
#define SE_SUPERVISOR_H

#include "server.h"

/* Runs the supervisor in this process; returns the exit status. */
int se__supervisor_main(struct se_proc *p);

#endif /* SE_SUPERVISOR_H */
