/* SPDX-License-Identifier: Apache-2.0 */
/*
 * se_fault.h: the fault-point table of points.def as C data.
 *
 * enum se_fault names every point; se__fault_table[] gives its libfiu name,
 * the errno values the real call can return (zero-terminated, first is the
 * default), whether the simulator injects it, and the contract a failure
 * must meet. The POSIX adapter checks its points with SE_FAULT_CHECK (a
 * no-op unless built with -DFIU_ENABLE=1); the simulator uses the same ids.
 */
#ifndef SE_FAULT_H
#define SE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#define SE_FAULT_ERRNOS_MAX 6

enum se_fault {
#define SE_ERRNOS(...)                        0
#define SE_FAULT(id, name, errnos, sim, must) SE_FAULT_##id,
#include "points.def"
#undef SE_FAULT
#undef SE_ERRNOS
    SE_FAULT_COUNT
};

struct se_fault_info {
    const char *name;                /* "se/os/<group>/<call>" */
    int errnos[SE_FAULT_ERRNOS_MAX]; /* positive errno values, 0-terminated */
    bool sim;                        /* injected by the simulator */
    const char *must;                /* what a failure must produce */
};

extern const struct se_fault_info se__fault_table[SE_FAULT_COUNT];

/* The errno a failing point returns: info from libfiu (when set and listed)
 * or the table's default. Positive. */
int se__fault_errno(enum se_fault id, intptr_t failinfo);

#ifdef FIU_ENABLE
#include <fiu.h>
/* Fails the enclosing adapter method with -errno when libfiu enables id. */
#define SE_FAULT_CHECK(id)                                                                         \
    do {                                                                                           \
        if (fiu_fail(se__fault_table[id].name))                                                    \
            return -se__fault_errno(id, (intptr_t)fiu_failinfo());                                 \
    } while (0)
#else
#define SE_FAULT_CHECK(id) ((void)0)
#endif

#endif /* SE_FAULT_H */
