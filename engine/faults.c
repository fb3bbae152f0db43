/* SPDX-License-Identifier: Apache-2.0 */
/*
 * faults.c: the fault-point table (faults/points.def) as read-only data.
 * No state: libfiu (real adapter) and the simulator's PRNG decide when a
 * point fails; this file only says what a failure looks like.
 */
#include <errno.h>

#include "se_fault.h"
#include "se_int.h"

const struct se_fault_info se__fault_table[SE_FAULT_COUNT] = {
#define SE_ERRNOS(...)                                                                             \
    {                                                                                              \
        __VA_ARGS__, 0                                                                             \
    }
/* designated initialisers: the arguments cannot take parentheses */
#define SE_FAULT(id, name_, errnos_, sim_, must_)                                                  \
    [SE_FAULT_##id] = {.name = name_, .errnos = errnos_, .sim = sim_, .must = must_}, /* NOLINT */
#include "points.def"
#undef SE_FAULT
#undef SE_ERRNOS
};

int
se__fault_errno(enum se_fault id, intptr_t failinfo)
{
    SE_ASSERT((unsigned)id < SE_FAULT_COUNT);
    const struct se_fault_info *f = &se__fault_table[id];
    SE_ASSERT(f->errnos[0] > 0);
    for (int i = 0; i < SE_FAULT_ERRNOS_MAX && f->errnos[i] != 0; i++) {
        if (f->errnos[i] == failinfo) return (int)failinfo;
    }
    return f->errnos[0];
}
