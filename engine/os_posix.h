/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix.h: the production (POSIX/Linux) OS adapter, internal interface.
 *
 * os_posix.c holds processes, signals, the event wait and heartbeats;
 * os_posix_fs.c holds clocks, descriptors and files (the logger's needs).
 * These files are the only ones in engine/ that make system calls; each
 * call passes its fault point from faults/points.def first.
 */
#ifndef SE_OS_POSIX_H
#define SE_OS_POSIX_H

#include "se_int.h"

/*
 * A ready adapter with only the stateless methods filled: clocks
 * (monotonic_ms, realtime_us), read, write, close, open_append, rename,
 * unlink, file_id, lock, unlock, append. The other methods are NULL.
 * Static storage, read-only; valid for the life of the program.
 */
const struct se_os *se__os_posix_fs(void);

/* Fills the same stateless methods into os (the full adapter's init uses it). */
void se__os_posix_fs_fill(struct se_os *os);

#endif /* SE_OS_POSIX_H */
