/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_yaml.c: a configuration as a YAML document (serverengine(5)), read
 * with libyaml: one mapping of keys to scalars or lists of scalars. The
 * nesting is bounded before the document is built, a second document is
 * refused, a key given twice warns, and every error names the position.
 * The whole document applies as one transaction (config_int.h).
 *
 * Never: reads a file (config_file.c does), or keeps state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"

#define YAML_DEPTH_MAX   16u /* nesting of a config file (keys, then lists: it needs 2) */
#define DUP_WARNINGS_MAX 16u /* "given twice" warnings from one file */

/* ------------------------------------------------------------------------ */
/* YAML                                                                     */
/* ------------------------------------------------------------------------ */

/* Line and column (1-based) of a byte offset, for reader errors. */
static void
offset_line_col(const char *text, size_t len, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int
yaml_error(const yaml_parser_t *p, const char *name, const char *text, size_t len,
           const struct msg *m)
{
    struct sb b = se__msg_sb(m);
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    const char *problem = p->problem != NULL ? p->problem : "malformed YAML";
    switch (p->error) {
    case YAML_MEMORY_ERROR: return se__msg_nomem(m);
    case YAML_READER_ERROR: offset_line_col(text, len, p->problem_offset, &line, &col); break;
    case YAML_NO_ERROR:
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR:
    case YAML_WRITER_ERROR:
    case YAML_EMITTER_ERROR: break;
    }
    se__sb_puts(&b, name);
    se__sb_printf(&b, ":%zu:%zu: ", line, col);
    se__sb_puts(&b, problem);
    if (p->context != NULL) {
        se__sb_puts(&b, " (");
        se__sb_puts(&b, p->context);
        se__sb_printf(&b, " at line %zu, column %zu)", p->context_mark.line + 1,
                      p->context_mark.column + 1);
    }
    return SE_EPARSE;
}

/* Prefixes a message with "name:line:col: " (the node's position). */
static int
yaml_at(int rc, const char *name, const yaml_node_t *node, const char *what, const struct msg *m)
{
    if (rc == -ENOMEM) return se__msg_nomem(m);
    struct sb b = se__msg_sb(m);
    se__sb_puts(&b, name);
    se__sb_printf(&b, ":%zu:%zu: ", node->start_mark.line + 1, node->start_mark.column + 1);
    se__sb_puts(&b, what);
    return rc;
}

static bool
yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->tag != NULL && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0) return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The text of a scalar node, or NULL when it holds a NUL byte. */
static const char *
yaml_text(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length ? v : NULL;
}

/* Writes "KEY: <what>[: expected ...]" for a value of the wrong shape. */
static int
shape_error(const struct msg *m, const char *key, const struct key *k, const char *what)
{
    struct sb b = se__msg_sb(m);
    if (k != NULL) {
        se__sb_printf(&b, "%s: %s: expected ", k->name, what);
        se__config_key_expect(k, &b);
    } else {
        se__sb_quoted(&b, key);
        se__sb_printf(&b, ": %s: expected a value or a list of values", what);
    }
    return SE_ECONFIG;
}

/* Collects the scalar items of a sequence; *bad is the offending node. */
static int
yaml_items(yaml_document_t *doc, const yaml_node_t *seq, const char **items, size_t *n,
           const yaml_node_t **bad, const char **what)
{
    *n = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        *bad = item;
        if (*n == LIST_ITEMS_MAX) return *what = "too many items", SE_ECONFIG;
        if (item->type != YAML_SCALAR_NODE) {
            return *what = "a list or mapping inside a list is not allowed", SE_ECONFIG;
        }
        if (yaml_is_null(item)) return *what = "a list item has no value", SE_ECONFIG;
        items[*n] = yaml_text(item);
        if (items[*n] == NULL) return *what = "a list item holds a NUL byte", SE_ECONFIG;
        (*n)++;
    }
    return 0;
}

/* A sequence for a user key is kept as its text "[a, b]". */
static int
user_set_items(struct se_config *cfg, const char *key, const char *const *items, size_t n,
               const struct msg *m)
{
    struct sb measure = se__sb_init(NULL, 0);
    for (size_t i = 0; i < n; i++)
        se__sb_puts(&measure, items[i]);
    size_t size = measure.len + 2 * n + 3;
    char *text = malloc(size);
    if (text == NULL) return se__msg_nomem(m);
    struct sb b = se__sb_init(text, size);
    se__sb_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) se__sb_puts(&b, ", ");
        se__sb_puts(&b, items[i]);
    }
    se__sb_puts(&b, "]");
    int rc = se__config_user_key_check(key, m);
    if (rc == 0) rc = se__config_user_set(cfg, key, text, m);
    free(text);
    return rc;
}

static int
yaml_apply_seq(struct se_config *cfg, yaml_document_t *doc, const char *key, const struct key *k,
               const yaml_node_t *seq, const char *name, const struct msg *m)
{
    const char *items[LIST_ITEMS_MAX];
    const yaml_node_t *bad = seq;
    const char *what = NULL;
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    size_t n;
    int rc;
    if (k != NULL && k->type != KT_CODES && k->type != KT_LISTEN) {
        rc = shape_error(&sub, key, k, "a list is not allowed here");
        return yaml_at(rc, name, seq, tmp, m);
    }
    rc = yaml_items(doc, seq, items, &n, &bad, &what);
    if (rc < 0) {
        rc = k != NULL && n == LIST_ITEMS_MAX ? se__config_too_many(&sub, k)
                                              : shape_error(&sub, key, k, what);
    } else if (k != NULL) {
        rc = se__config_key_set_items(k, cfg, items, n, &sub);
    } else {
        rc = user_set_items(cfg, key, items, n, &sub);
    }
    return rc < 0 ? yaml_at(rc, name, bad, tmp, m) : 0;
}

static int
yaml_apply_scalar(struct se_config *cfg, const char *key, const struct key *k,
                  const yaml_node_t *val, const char *name, const struct msg *m)
{
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    const char *text = yaml_text(val);
    int rc;
    if (yaml_is_null(val)) {
        if (k != NULL && (k->flags & KF_NIL)) {
            rc = se__config_key_set_text(k, cfg, "nil", &sub);
        } else {
            rc = shape_error(&sub, key, k, "expected a value, found none");
        }
    } else if (text == NULL) {
        rc = shape_error(&sub, key, k, "the value holds a NUL byte");
    } else {
        rc = se__config_apply(cfg, key, text, &sub);
    }
    return rc < 0 ? yaml_at(rc, name, val, tmp, m) : 0;
}

static int
yaml_apply_pair(struct se_config *cfg, yaml_document_t *doc, const yaml_node_pair_t *pair,
                const char *name, const struct msg *m)
{
    const yaml_node_t *kn = yaml_document_get_node(doc, pair->key);
    const yaml_node_t *vn = yaml_document_get_node(doc, pair->value);
    char tmp[MSG_TMP_MAX];
    const struct msg sub = {tmp, sizeof tmp};
    const char *key = kn->type == YAML_SCALAR_NODE ? yaml_text(kn) : NULL;
    if (key == NULL) {
        return yaml_at(SE_EPARSE, name, kn, "a key must be a plain name", m);
    }
    const struct key *k = se__config_key_find(key);
    switch (vn->type) {
    case YAML_SCALAR_NODE: return yaml_apply_scalar(cfg, key, k, vn, name, m);
    case YAML_SEQUENCE_NODE: return yaml_apply_seq(cfg, doc, key, k, vn, name, m);
    case YAML_MAPPING_NODE:
    case YAML_NO_NODE: break;
    }
    int rc = shape_error(&sub, key, k, "a nested mapping is not allowed");
    return yaml_at(rc, name, vn, tmp, m);
}

struct seen_key {
    const char *key;
    size_t line; /* 1-based */
};

/* By key, then by line: equal keys end up next to each other, in file order. */
static int
seen_key_cmp(const void *a, const void *b)
{
    const struct seen_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * A key given twice in one file: the last one wins (as YAML loaders do), but
 * never silently: a warning names the key and both lines. Sorted, not
 * compared pair by pair, so a file of many keys costs n log n. 0 or -ENOMEM.
 */
static int
yaml_warn_duplicates(struct se_config *cfg, yaml_document_t *doc, const yaml_node_t *root,
                     const char *name)
{
    size_t n = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
    if (n < 2) return 0;
    struct seen_key *v = calloc(n, sizeof *v);
    if (v == NULL) return -ENOMEM;
    size_t k = 0;
    for (const yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        const char *key = kn->type == YAML_SCALAR_NODE ? yaml_text(kn) : NULL;
        if (key != NULL) v[k++] = (struct seen_key){key, kn->start_mark.line + 1};
    }
    qsort(v, k, sizeof *v, seen_key_cmp);
    int rc = 0;
    unsigned warned = 0;
    for (size_t i = 1; i < k && rc == 0 && warned < DUP_WARNINGS_MAX; i++) {
        if (strcmp(v[i - 1].key, v[i].key) != 0) continue;
        char text[MSG_TMP_MAX];
        struct sb b = se__sb_init(text, sizeof text);
        se__sb_puts(&b, name);
        se__sb_puts(&b, ": key ");
        se__sb_quoted(&b, v[i].key);
        se__sb_printf(&b, " is given twice (lines %zu and %zu); the last one wins", v[i - 1].line,
                      v[i].line);
        rc = se__config_warning_add(cfg, text);
        warned++;
    }
    free(v);
    return rc;
}

static int
yaml_apply_doc(struct se_config *cfg, yaml_document_t *doc, const char *name, const struct msg *m)
{
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    if (root == NULL || yaml_is_null(root)) return 0; /* empty file: no change */
    if (root->type != YAML_MAPPING_NODE) {
        return yaml_at(SE_EPARSE, name, root,
                       "the top level must be a mapping of keys to values (key: value)", m);
    }
    if (yaml_warn_duplicates(cfg, doc, root, name) < 0) return se__msg_nomem(m);
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        int rc = yaml_apply_pair(cfg, doc, pair, name, m);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Only one document: a second one would be silently ignored otherwise. */
static int
yaml_check_end(yaml_parser_t *p, const char *name, const char *text, size_t len,
               const struct msg *m)
{
    yaml_document_t next;
    if (!yaml_parser_load(p, &next)) return yaml_error(p, name, text, len, m);
    const yaml_node_t *root = yaml_document_get_root_node(&next);
    int rc =
        root == NULL ? 0 : yaml_at(SE_EPARSE, name, root, "only one YAML document is allowed", m);
    yaml_document_delete(&next);
    return rc;
}

/*
 * Nesting deeper than YAML_DEPTH_MAX is refused before the document is
 * built: libyaml's scanner re-examines every open level for each token, so
 * a file of 100,000 '[' costs time quadratic in its depth (tens of seconds
 * for 200 KB, holding a reload's loop), and a configuration needs two levels.
 * The events are read only until the limit is crossed, which keeps the cost
 * linear. A syntax error is left to the loader, which reports it.
 */
static int
yaml_check_depth(const char *name, const char *text, size_t len, const struct msg *m)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return se__msg_nomem(m);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    uint32_t depth = 0;
    int rc = 0;
    for (bool more = true; more;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break;
        yaml_event_type_t type = ev.type;
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        switch (type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: depth++; break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        case YAML_STREAM_END_EVENT: more = false; break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_ALIAS_EVENT:
        case YAML_SCALAR_EVENT: break;
        }
        if (depth > YAML_DEPTH_MAX) {
            struct sb b = se__msg_sb(m);
            se__sb_puts(&b, name);
            se__sb_printf(&b, ":%zu:%zu: nested deeper than %u levels", line, col, YAML_DEPTH_MAX);
            se__sb_puts(&b, ": expected keys with values or lists of values");
            rc = SE_EPARSE;
            more = false;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

int
se__config_yaml_load(struct se_config *cfg, const char *name, const char *text, size_t len,
                     const struct msg *m)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct se_config *work = NULL;
    int rc;
    rc = yaml_check_depth(name, text, len, m);
    if (rc < 0) return rc;
    if (!yaml_parser_initialize(&parser)) return se__msg_nomem(m);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_error(&parser, name, text, len, m);
        goto fail_parser;
    }
    rc = yaml_check_end(&parser, name, text, len, m);
    if (rc < 0) goto fail;
    work = se_config_dup(cfg);
    if (work == NULL) {
        rc = se__msg_nomem(m);
        goto fail;
    }
    rc = yaml_apply_doc(work, &doc, name, m);
    if (rc == 0) {
        char tmp[MSG_TMP_MAX];
        const struct msg sub = {tmp, sizeof tmp};
        rc = se__config_commit(cfg, work, &sub); /* frees work */
        work = NULL;
        if (rc < 0) {
            struct sb b = se__msg_sb(m);
            se__sb_puts(&b, name);
            se__sb_puts(&b, ": ");
            se__sb_puts(&b, tmp);
        }
    }
fail:
    se_config_free(work);
    yaml_document_delete(&doc);
fail_parser:
    yaml_parser_delete(&parser);
    return rc;
}

int
se_config_load_yaml_string(struct se_config *cfg, const char *yaml, size_t len, char *err,
                           size_t err_size)
{
    SE_ASSERT(yaml != NULL || len == 0);
    SE_ASSERT(err != NULL || err_size == 0);
    const struct msg m = {err, err_size};
    se__msg_clear(&m);
    return se__config_yaml_load(cfg, "<string>", yaml != NULL ? yaml : "", len, &m);
}
