/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itest_tool.h: the command-line tool (build/serverengine) run by the
 * integration tests, its output kept in the test's directory.
 */
#ifndef ITEST_TOOL_H
#define ITEST_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "support/itest.h"

#define ITEST_TOOL_ARGS_MAX 24

/* Finds the tool next to the test binary's directory (build/tests/..);
 * argv0 is the test's argv[0]. Returns false when it cannot. */
bool itest_tool_init(const char *argv0);

/* Forks the tool with args (NULL-terminated), in a process group of its
 * own, stdin from in_fd (-1: /dev/null), stdout and stderr to
 * <dir>/NAME.out and NAME.err, nothing blocked. track: a server whose
 * group the teardown must find gone. */
pid_t itest_tool_spawn(struct itest *t, const char *name, int in_fd, const char *const *args,
                       bool track);

/* Runs the tool with the arguments up to a NULL to its end: its status,
 * its output in out and err (size bytes each). */
int itest_tool_run(struct itest *t, char *out, char *err, size_t size, const char *first, ...)
    __attribute__((sentinel));

#endif /* ITEST_TOOL_H */
