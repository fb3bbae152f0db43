/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen_api.c: the `listen` sockets as the public API shows them to
 * workers and to the server's callbacks. The sockets belong to the engine
 * of the process that outlives restarts; every process below it inherited
 * them, so the same descriptor numbers are valid in each.
 */
#include "server.h"

static const struct se_listen_set *
set_of(const struct se_server *s)
{
    return &s->proc->listen;
}

uint32_t
se_server_listen_count(const struct se_server *s)
{
    return set_of(s)->count;
}

int
se_server_listen_fd(const struct se_server *s, uint32_t i)
{
    const struct se_listen_set *set = set_of(s);
    return i < set->count ? set->fds[i] : -1;
}

const char *
se_server_listen_name(const struct se_server *s, uint32_t i)
{
    const struct se_listen_set *set = set_of(s);
    return i < set->count ? set->names[i] : NULL;
}

uint32_t
se_worker_listen_count(const struct se_worker *w)
{
    return w->proc->listen.count;
}

int
se_worker_listen_fd(const struct se_worker *w, uint32_t i)
{
    const struct se_listen_set *set = &w->proc->listen;
    return i < set->count ? set->fds[i] : -1;
}

const char *
se_worker_listen_name(const struct se_worker *w, uint32_t i)
{
    const struct se_listen_set *set = &w->proc->listen;
    return i < set->count ? set->names[i] : NULL;
}
