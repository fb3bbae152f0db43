/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_posix_int.h: what the full adapter's two files share, and nobody else:
 * os_posix.c (set-up, the event wait, the method table) and os_posix_proc.c
 * (children: spawning, the child table, reaping, signalling). No fault point.
 */
#ifndef SE_OS_POSIX_INT_H
#define SE_OS_POSIX_INT_H

#include "os_posix.h"

/* What an epoll event is about: the tag in the high 32 bits of its data,
 * a value (a child's handle, a watched fd) in the low ones. */
enum ep_tag { EP_SIG = 1, EP_EVFD, EP_PIDFD, EP_WATCH, EP_PARENT };
#define EP_DATA(tag, v) (((uint64_t)(tag) << 32) | (uint32_t)(v))

/* The child of that handle in the table (handle h lives at
 * children[h % MAX]), or NULL: 0, freed or reused. */
struct se_posix_child *se__posix_child_get(struct se_os_posix *p, uint32_t handle);

/* Fills the children's methods into os: spawn, signal, signal_group, reap,
 * beat_stamp (os_posix_proc.c). */
void se__posix_proc_fill(struct se_os *os);

/* Raises the soft RLIMIT_NOFILE as far as SE_POSIX_CHILDREN_MAX children's
 * descriptors need (never past the hard limit), remembering the old value
 * in p; restore puts it back (in every child, and at fini). */
void se__posix_nofile_reserve(struct se_os_posix *p);
void se__posix_nofile_restore(struct se_os_posix *p);

#endif /* SE_OS_POSIX_INT_H */
