/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the configuration parsers (engine/config_*.c): the
 * input as a YAML document (se_config_load_yaml_string), and split at its
 * first newline, the first line as a -s KEY=VALUE (se_config_set_kv) and the
 * rest as YAML over it. Beyond the sanitizers it checks three promises:
 * a failed call leaves the configuration unchanged, every failure explains
 * itself in err, and every key's text reads back through se_config_set.
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *       -Iengine/include -Iengine -Ifaults tests/fuzz/fuzz_config.c \
 *       engine/config.c engine/config_parse.c engine/config_user.c engine/config_text.c \
 *       engine/config_yaml.c engine/common.c engine/faults.c -lyaml \
 *       -o build/fuzz_config
 *   build/fuzz_config -max_total_time=30 tests/fuzz/corpus_config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define TEXT_MAX 20000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
    abort();
}

/* Every key's text, every user key and the warning count, as one string. */
static char *
snapshot(const struct se_config *cfg)
{
    size_t size = 8 * TEXT_MAX, len = 0;
    char *s = malloc(size);
    if (s == NULL) die("snapshot", "out of memory");
    for (size_t i = 0; i < se_config_key_count(); i++) {
        len += (size_t)snprintf(s + len, size - len, "%s=", se_config_key_name(i));
        int n = se_config_get(cfg, se_config_key_name(i), s + len, size - len);
        if (n < 0 || (size_t)n >= size - len) die("get", se_config_key_name(i));
        len += (size_t)n;
        len += (size_t)snprintf(s + len, size - len, "\n");
    }
    for (size_t i = 0; i < cfg->user_count && len < size; i++) {
        len +=
            (size_t)snprintf(s + len, size - len, "%s=%s\n", cfg->user[i].key, cfg->user[i].value);
    }
    if (len < size) snprintf(s + len, size - len, "%zu", se_config_warning_count(cfg));
    return s;
}

/* A call returned rc: on error, err says why and cfg is as before. */
static void
check_outcome(int rc, const char *err, const char *before, const struct se_config *cfg)
{
    if (rc == 0) return;
    if (err[0] == '\0') die("error without a message", se_strerror(rc));
    char *after = snapshot(cfg);
    if (strcmp(before, after) != 0) die("failed call changed the config", err);
    free(after);
}

/* get -> set -> get gives the same text for every built-in key. */
static void
check_round_trip(const struct se_config *cfg)
{
    static char text[TEXT_MAX], again[TEXT_MAX];
    char err[512];
    struct se_config *copy = se_config_dup(cfg);
    if (copy == NULL) die("dup", "out of memory");
    for (size_t i = 0; i < se_config_key_count(); i++) {
        const char *name = se_config_key_name(i);
        se_config_get(cfg, name, text, sizeof text);
        if (se_config_set(copy, name, text, err, sizeof err) != 0) die("round trip", err);
        se_config_get(copy, name, again, sizeof again);
        if (strcmp(text, again) != 0) die("round trip changed", name);
    }
    se_config_free(copy);
}

static void
apply(struct se_config *cfg, int (*call)(struct se_config *, const void *, size_t, char *, size_t),
      const void *arg, size_t len)
{
    char err[512];
    char *before = snapshot(cfg);
    int rc = call(cfg, arg, len, err, sizeof err);
    check_outcome(rc, err, before, cfg);
    free(before);
}

static int
call_yaml(struct se_config *cfg, const void *yaml, size_t len, char *err, size_t err_size)
{
    return se_config_load_yaml_string(cfg, yaml, len, err, err_size);
}

static int
call_kv(struct se_config *cfg, const void *kv, size_t len, char *err, size_t err_size)
{
    (void)len;
    return se_config_set_kv(cfg, kv, err, err_size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct se_config *cfg = se_config_new();
    if (cfg == NULL) return 0;
    apply(cfg, call_yaml, data, size);
    check_round_trip(cfg);
    se_config_free(cfg);

    const uint8_t *nl = memchr(data, '\n', size);
    size_t line_len = nl != NULL ? (size_t)(nl - data) : size;
    char *line = malloc(line_len + 1);
    cfg = se_config_new();
    if (line == NULL || cfg == NULL) die("setup", "out of memory");
    memcpy(line, data, line_len);
    line[line_len] = '\0';
    apply(cfg, call_kv, line, line_len);
    if (nl != NULL) apply(cfg, call_yaml, nl + 1, size - line_len - 1);
    check_round_trip(cfg);
    se_config_free(cfg);
    free(line);
    return 0;
}
