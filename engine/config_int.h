/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_int.h: what the files of the configuration model share, and nothing
 * outside them uses: the key table's row type, the bounded text builder that
 * writes every message, and the parsers the YAML loader and the API call.
 *
 *   config.c        the key table, transactions and the public API
 *   config_parse.c  text to a key's value and back (scalars and lists)
 *   config_user.c   keys the engine does not know, and the warnings
 *   config_text.c   the text builder and error messages
 *   config_yaml.c   the libyaml loader of a document
 *   config_file.c   reading a configuration file from disk
 */
#ifndef SE_CONFIG_INT_H
#define SE_CONFIG_INT_H

#include "config.h"

#define KEY_LEN_MAX    (SE_NAME_MAX - 1u) /* a user key's name */
#define LIST_ITEMS_MAX 256u               /* items of a list value */
#define MSG_TMP_MAX    512u               /* a message built before its prefix */

enum key_type {
    KT_BOOL,    /* true/false, yes/no, on/off, 1/0 */
    KT_INT,     /* whole decimal in [min, max] */
    KT_SECONDS, /* decimal seconds, stored in ms, in [min, max] ms (and -1 with KF_NEG1) */
    KT_RATIO,   /* decimal 0..1, stored in permille, in [min, max] */
    KT_ENUM,    /* one of names[], stored as its index */
    KT_SIGNAL,  /* a signal that can be caught (nil with KF_NIL) */
    KT_UMASK,   /* octal 0..0777, or nil (-1) */
    KT_STRING,  /* text of the field's size (a printf format with KF_FORMAT) */
    KT_CODES,   /* list of exit codes 0..255, stored as a bitset */
    KT_LISTEN,  /* list of tcp://, udp://, unix: addresses */
};

enum key_flag {
    KF_DYNAMIC = 1u << 0, /* reloadable without a restart (the seed's marking) */
    KF_NEG1 = 1u << 1,    /* -1 allowed: "no timeout" */
    KF_NIL = 1u << 2,     /* nil allowed: "nil", "null", "~", "" and YAML null */
    KF_ACTION = 1u << 3,  /* the signal of one command (cmd) */
    KF_FORMAT = 1u << 4,  /* printf format with the worker id */
};

struct key {
    const char *name;
    enum key_type type;
    unsigned flags;
    size_t offset; /* of the field in struct se_config */
    size_t size;   /* of the field */
    int64_t min;   /* INT, SECONDS (ms), RATIO (permille), CODES */
    int64_t max;
    const char *const *names; /* ENUM: stored value = index */
    enum se_cmd cmd;          /* KF_ACTION */
    const char *def;          /* the default, as text se_config_set accepts */
    const char *help;
};

/* A bounded text builder with snprintf's contract: the buffer always ends in
 * NUL, len counts the whole text even when it did not fit. */
struct sb {
    char *buf;
    size_t size;
    size_t len;
};

/* Where error messages go; buf may be NULL (size 0). */
struct msg {
    char *buf;
    size_t size;
};

/* A decimal number as scanned: value = mant * 10^exp10 (with digits beyond
 * the 19 kept folded into `sticky`, which only matters for rounding). */
struct decimal {
    bool neg;
    uint64_t mant;
    int64_t exp10;
    bool sticky;
};

/* config_text.c: a builder over buf (NUL-terminated even when cut). */
struct sb se__sb_init(char *buf, size_t size);
void se__sb_putn(struct sb *b, const char *s, size_t n);
void se__sb_puts(struct sb *b, const char *s);
/* For short pieces only: key names and numbers (longer text goes through se__sb_puts). */
void se__sb_printf(struct sb *b, const char *fmt, ...) SE_PRINTF(2, 3);
/* The whole length, as snprintf returns it (at most INT_MAX). */
int se__sb_result(const struct sb *b);
/* s in double quotes, escaped and cut, for messages about outside input. */
void se__sb_quoted(struct sb *b, const char *s);
struct sb se__msg_sb(const struct msg *m);
void se__msg_clear(const struct msg *m);
/* Writes "out of memory"; returns -ENOMEM. */
int se__msg_nomem(const struct msg *m);

/* config.c: the row of a built-in key, or NULL. */
const struct key *se__config_key_find(const char *name);
/* Sets any key from text on cfg (a working copy). No cross-key check. */
int se__config_apply(struct se_config *cfg, const char *key, const char *value,
                     const struct msg *m);
/* Validates work and, when valid, makes it cfg's content. Frees work. */
int se__config_commit(struct se_config *cfg, struct se_config *work, const struct msg *m);

/* Marks built-in key k as given by a source (keys_given; config.c). */
void se__config_key_mark_given(const struct key *k, struct se_config *cfg);

/* config_parse.c: values of built-in keys. 0, SE_ECONFIG or -ENOMEM with a
 * message in m; cfg may be partly written on error (callers work on a copy).
 * The key is marked given (keys_given) either way. */
int se__config_key_set_text(const struct key *k, struct se_config *cfg, const char *text,
                            const struct msg *m);
/* Sets a list key from its items (a YAML sequence, or split text). */
int se__config_key_set_items(const struct key *k, struct se_config *cfg, const char *const *items,
                             size_t n, const struct msg *m);
/* Writes the text of built-in key k, which se__config_key_set_text accepts again. */
void se__config_key_format(const struct key *k, const struct se_config *cfg, struct sb *b);
/* Appends what a key accepts: "an integer from 0 to 1024". */
void se__config_key_expect(const struct key *k, struct sb *b);
/* "KEY: too many items: expected at most N"; returns SE_ECONFIG. */
int se__config_too_many(const struct msg *m, const struct key *k);
/* The integer cell of a scalar key (bool, 32 or 64 bits). */
int64_t se__config_cell_get(const struct key *k, const struct se_config *cfg);
const char *se__config_text_field_const(const struct key *k, const struct se_config *cfg);
bool se__config_parse_i64(const char *s, int64_t *v);
bool se__config_parse_bool(const char *s, int64_t *v);
bool se__config_decimal_scan(const char *s, struct decimal *d);
char se__config_ascii_lower(char c);

/* config_user.c: user keys (unknown to the engine) and warnings. */
size_t se__config_user_find(const struct se_config *cfg, const char *key); /* SIZE_MAX: none */
/* Adds a warning (a copy of text) to cfg. 0 or -ENOMEM. */
int se__config_warning_add(struct se_config *cfg, const char *text);
/* Stores (or replaces) a user key. 0, SE_ECONFIG (a limit) or -ENOMEM. */
int se__config_user_set(struct se_config *cfg, const char *key, const char *value,
                        const struct msg *m);
/* A name that cannot be a user key: empty, too long, or a Ruby-only key. */
int se__config_user_key_check(const char *key, const struct msg *m);
/* Deep copies into dst (whose arrays are empty). 0 or -ENOMEM (dst then
 * holds what was copied, for se_config_free). */
int se__config_user_copy(struct se_config *dst, const struct se_config *src);
int se__config_warnings_copy(struct se_config *dst, const struct se_config *src);

/* config_yaml.c: applies a YAML document (text of len bytes, named name in
 * messages) to cfg as one transaction. 0, SE_EPARSE, SE_ECONFIG or -ENOMEM. */
int se__config_yaml_load(struct se_config *cfg, const char *name, const char *text, size_t len,
                         const struct msg *m);

#endif /* SE_CONFIG_INT_H */
