/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blocking_flag.c: Ruby ServerEngine's BlockingFlag: a boolean that threads
 * can wait on with a timeout. A mutex and a condition variable on the
 * monotonic clock, so a wall-clock step neither ends a wait early nor
 * stretches it; the wait loops on the condition, so a spurious wake-up
 * never returns early.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "se_int.h"

struct se_blocking_flag {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool set;
};

struct se_blocking_flag *
se_blocking_flag_new(void)
{
    struct se_blocking_flag *f = calloc(1, sizeof *f);
    if (f == NULL) return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

void
se_blocking_flag_free(struct se_blocking_flag *f)
{
    if (f == NULL) return;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static bool
change(struct se_blocking_flag *f, bool value)
{
    pthread_mutex_lock(&f->mu);
    bool changed = f->set != value;
    f->set = value;
    if (changed) pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return changed;
}

bool
se_blocking_flag_set(struct se_blocking_flag *f)
{
    return change(f, true);
}

bool
se_blocking_flag_reset(struct se_blocking_flag *f)
{
    return change(f, false);
}

bool
se_blocking_flag_is_set(struct se_blocking_flag *f)
{
    pthread_mutex_lock(&f->mu);
    bool set = f->set;
    pthread_mutex_unlock(&f->mu);
    return set;
}

static bool
wait_for(struct se_blocking_flag *f, bool value, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&f->mu);
    while (f->set != value) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&f->cv, &f->mu)
                                : pthread_cond_timedwait(&f->cv, &f->mu, &until);
        if (rc == ETIMEDOUT) break;
    }
    bool now = f->set;
    pthread_mutex_unlock(&f->mu);
    return now == value;
}

bool
se_blocking_flag_wait_for_set(struct se_blocking_flag *f, int64_t timeout_ms)
{
    return wait_for(f, true, timeout_ms);
}

bool
se_blocking_flag_wait_for_reset(struct se_blocking_flag *f, int64_t timeout_ms)
{
    return wait_for(f, false, timeout_ms);
}
