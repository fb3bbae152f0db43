/* SPDX-License-Identifier: Apache-2.0 */
/* Leak checks without valgrind: what the C library has handed out. */
#ifndef TESTS_SUPPORT_HEAP_H
#define TESTS_SUPPORT_HEAP_H

#include <malloc.h>
#include <stddef.h>

/* Bytes handed out and not taken back, from the arenas and as mappings of
 * their own (a large block, the driver say, is one: uordblks alone never
 * sees it). Under valgrind or ASan both read 0: their leak checks say it. */
static inline size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

#endif
