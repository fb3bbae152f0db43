/* SPDX-License-Identifier: Apache-2.0 */
/*
 * act_fmt.h: a short canonical text for machine actions, so that test
 * tables state expected actions as readable strings:
 *   "signal w0 SIGTERM; log kill-signal w0 SIGTERM #1"
 */
#ifndef SE_TEST_ACT_FMT_H
#define SE_TEST_ACT_FMT_H

#include <stddef.h>

#include "se_int.h"

/* Writes the actions items[from..count) joined by "; " into buf. */
void se_test_acts_str(const struct se_acts *acts, uint32_t from, char *buf, size_t buf_size);

/* Same, without the log actions (for tables that do not care about logs). */
void se_test_acts_str_nolog(const struct se_acts *acts, uint32_t from, char *buf, size_t buf_size);

const char *se_test_event_name(enum se_event ev);

#endif
