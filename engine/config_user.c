/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_user.c: keys the engine does not know, kept for user code (the
 * seed's "message", "sleep"...) behind a warning that suggests the nearest
 * built-in key; the keys of Ruby ServerEngine that are refused by name; the
 * configuration's list of warnings.
 *
 * Never: logs (warnings are stored for the caller) or keeps global state.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define USER_KEYS_MAX    1024u  /* user keys in one config */
#define USER_VALUE_MAX   65536u /* bytes of one user value */
#define NAME_LEN_MAX     48u    /* a built-in key's name (edit distance rows) */
#define SUGGEST_DIST_MAX 2u     /* "did you mean" only this close */

/* Keys of Ruby ServerEngine that have no meaning here: an error, not a user key. */
static const struct {
    const char *name;
    const char *why;
} unsupported_keys[] = {
    {"logger_class", "a Ruby logger class cannot be plugged in; configure the log with log, "
                     "log_level, log_rotate_age and log_rotate_size"},
/* Ruby's supervisor had keys of its own for its server; here the worker_ ones
 * govern it. Ruby's process workers could drop privileges alone. */
#define SERVER_WHY "the supervisor watches and stops its server with "
#define WORKER_WHY(k)                                                                              \
    "workers run as the server does: set " k " for the whole engine, or start spawn workers "      \
    "through setpriv(1)"
    {"server_heartbeat_interval", SERVER_WHY "worker_heartbeat_interval"},
    {"server_heartbeat_timeout", SERVER_WHY "worker_heartbeat_timeout"},
    {"server_graceful_kill_interval", SERVER_WHY "worker_graceful_kill_interval"},
    {"server_graceful_kill_interval_increment",
     SERVER_WHY "worker_graceful_kill_interval_increment"},
    {"server_graceful_kill_timeout", SERVER_WHY "worker_graceful_kill_timeout"},
    {"server_immediate_kill_interval", SERVER_WHY "worker_immediate_kill_interval"},
    {"server_immediate_kill_interval_increment",
     SERVER_WHY "worker_immediate_kill_interval_increment"},
    {"server_immediate_kill_timeout", SERVER_WHY "worker_immediate_kill_timeout"},
    {"worker_chuser", WORKER_WHY("chuser")},
    {"worker_chgroup", WORKER_WHY("chgroup")},
    {"worker_chumask", WORKER_WHY("chumask")},
#undef SERVER_WHY
#undef WORKER_WHY
};

/* ------------------------------------------------------------------------ */
/* User keys and warnings                                                   */
/* ------------------------------------------------------------------------ */

/* Makes room for one more element of an owned array. 0 or -ENOMEM. */
static int
grow(void **array, size_t *cap, size_t count, size_t elem_size)
{
    if (count < *cap) return 0;
    size_t cap_new = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, cap_new * elem_size);
    if (p == NULL) return -ENOMEM;
    *array = p;
    *cap = cap_new;
    return 0;
}

size_t
se__config_user_find(const struct se_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->user_count; i++) {
        if (strcmp(cfg->user[i].key, key) == 0) return i;
    }
    return SIZE_MAX;
}

/* Optimal string alignment distance (a swap of two letters counts 1),
 * ASCII case-insensitive. b is a built-in key name. */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t d[3][NAME_LEN_MAX + 1];
    size_t la = strlen(a), lb = strlen(b);
    SE_ASSERT(lb <= NAME_LEN_MAX);
    if (la > lb + SUGGEST_DIST_MAX || lb > la + SUGGEST_DIST_MAX) return SUGGEST_DIST_MAX + 1;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = d[i % 3], *prev = d[(i + 2) % 3], *prev2 = d[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = se__config_ascii_lower(a[i - 1]);
            size_t v = prev[j - 1] + (ca != b[j - 1]);
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == b[j - 2] && se__config_ascii_lower(a[i - 2]) == b[j - 1] &&
                prev2[j - 2] + 1 < v) {
                v = prev2[j - 2] + 1;
            }
            cur[j] = v;
        }
    }
    return d[la % 3][lb];
}

/* The built-in key nearest to name (within SUGGEST_DIST_MAX), or NULL. */
static const char *
key_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_dist = SUGGEST_DIST_MAX + 1;
    for (size_t i = 0; i < se_config_key_count(); i++) {
        size_t dist = edit_distance(name, se_config_key_name(i));
        if (dist < best_dist) {
            best = se_config_key_name(i);
            best_dist = dist;
        }
    }
    return best;
}

/* Adds a warning (a copy of text) to cfg. 0 or -ENOMEM. */
int
se__config_warning_add(struct se_config *cfg, const char *text)
{
    if (grow((void **)&cfg->warnings, &cfg->warning_cap, cfg->warning_count,
             sizeof *cfg->warnings) < 0) {
        return -ENOMEM;
    }
    char *w = strdup(text);
    if (w == NULL) return -ENOMEM;
    cfg->warnings[cfg->warning_count++] = w;
    return 0;
}

static int
warning_add_unknown(struct se_config *cfg, const char *key)
{
    char text[MSG_TMP_MAX];
    struct sb b = se__sb_init(text, sizeof text);
    const char *near = key_suggest(key);
    se__sb_puts(&b, "unknown key ");
    se__sb_quoted(&b, key);
    se__sb_puts(&b, " (kept for user code)");
    if (near != NULL) {
        se__sb_puts(&b, "; did you mean ");
        se__sb_quoted(&b, near);
        se__sb_puts(&b, "?");
    }
    return se__config_warning_add(cfg, text);
}

/* Adds a new user key (owning value) and its warning. 0 or -ENOMEM. */
static int
user_add(struct se_config *cfg, const char *key, char *value)
{
    SE_ASSERT(key != NULL);
    if (grow((void **)&cfg->user, &cfg->user_cap, cfg->user_count, sizeof *cfg->user) < 0) {
        free(value);
        return -ENOMEM;
    }
    char *k = strdup(key);
    if (k == NULL) {
        free(value);
        return -ENOMEM;
    }
    SE_ASSERT(cfg->user != NULL); /* grow made room */
    cfg->user[cfg->user_count++] = (struct se_user_kv){.key = k, .value = value};
    /* Warned once per key: only when it first appears. */
    return warning_add_unknown(cfg, key);
}

/* Stores (or replaces) a user key. 0, SE_ECONFIG (a limit) or -ENOMEM. */
int
se__config_user_set(struct se_config *cfg, const char *key, const char *value, const struct msg *m)
{
    struct sb b = se__msg_sb(m);
    size_t i = se__config_user_find(cfg, key);
    if (strlen(value) > USER_VALUE_MAX) {
        se__sb_quoted(&b, key);
        se__sb_printf(&b, ": value too long: expected at most %u bytes", USER_VALUE_MAX);
        return SE_ECONFIG;
    }
    if (i == SIZE_MAX && cfg->user_count >= USER_KEYS_MAX) {
        se__sb_quoted(&b, key);
        se__sb_printf(&b, ": too many unknown keys: expected at most %u", USER_KEYS_MAX);
        return SE_ECONFIG;
    }
    char *v = strdup(value);
    if (v == NULL) return se__msg_nomem(m);
    if (i != SIZE_MAX && cfg->user != NULL) {
        free(cfg->user[i].value);
        cfg->user[i].value = v;
        return 0;
    }
    return user_add(cfg, key, v) < 0 ? se__msg_nomem(m) : 0;
}

/* A name that cannot be a user key: empty, too long, or a Ruby-only key. */
int
se__config_user_key_check(const char *key, const struct msg *m)
{
    SE_ASSERT(key != NULL);
    struct sb b = se__msg_sb(m);
    if (key[0] == '\0') {
        se__sb_puts(&b, "empty key: expected a key name");
        return SE_ECONFIG;
    }
    if (strlen(key) > KEY_LEN_MAX) {
        se__sb_quoted(&b, key);
        se__sb_printf(&b, ": key too long: expected at most %u bytes", KEY_LEN_MAX);
        return SE_ECONFIG;
    }
    for (size_t i = 0; i < SE_ARRAY_LEN(unsupported_keys); i++) {
        if (strcmp(key, unsupported_keys[i].name) == 0) {
            se__sb_printf(&b, "%s: not supported: ", key);
            se__sb_puts(&b, unsupported_keys[i].why);
            return SE_ECONFIG;
        }
    }
    return 0;
}

int
se__config_user_copy(struct se_config *dst, const struct se_config *src)
{
    if (src->user_count == 0) return 0;
    dst->user = calloc(src->user_count, sizeof *dst->user);
    if (dst->user == NULL) return -ENOMEM;
    dst->user_cap = src->user_count;
    for (size_t i = 0; i < src->user_count; i++) {
        char *k = strdup(src->user[i].key), *v = strdup(src->user[i].value);
        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            return -ENOMEM;
        }
        dst->user[dst->user_count++] = (struct se_user_kv){.key = k, .value = v};
    }
    return 0;
}

int
se__config_warnings_copy(struct se_config *dst, const struct se_config *src)
{
    if (src->warning_count == 0) return 0;
    dst->warnings = calloc(src->warning_count, sizeof *dst->warnings);
    if (dst->warnings == NULL) return -ENOMEM;
    dst->warning_cap = src->warning_count;
    for (size_t i = 0; i < src->warning_count; i++) {
        char *w = strdup(src->warnings[i]);
        if (w == NULL) return -ENOMEM;
        dst->warnings[dst->warning_count++] = w;
    }
    return 0;
}
