/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_parse.c: one built-in key's value from text and back, for each type
 * of the key table (serverengine(5)): booleans, integers, decimal seconds
 * (stored in ms) and ratios, names, signals, umasks, texts and process-name
 * formats, lists of exit codes and listen addresses; what each type expects,
 * in the words of the error messages.
 *
 * Never: depends on the locale (words are ASCII-folded, the decimal point is
 * always '.'), keeps state, or reads anything. Numbers are scanned exactly:
 * no overflow, no rounding but the documented half-up to a millisecond.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_int.h"

/* Appends what a key accepts: "an integer from 0 to 1024". */
void
se__config_key_expect(const struct key *k, struct sb *b)
{
    switch (k->type) {
    case KT_BOOL: se__sb_puts(b, "true or false (or yes/no, on/off, 1/0)"); return;
    case KT_INT:
        if (k->max == INT64_MAX) {
            se__sb_printf(b, "an integer of at least %" PRId64, k->min);
        } else {
            se__sb_printf(b, "an integer from %" PRId64 " to %" PRId64, k->min, k->max);
        }
        return;
    case KT_SECONDS:
        if (k->min > 0) {
            se__sb_printf(b, "a number of seconds greater than 0 (at least 0.001), up to %" PRId64,
                          k->max / SE_MS_PER_S);
        } else {
            se__sb_printf(b, "a number of seconds from 0 to %" PRId64, k->max / SE_MS_PER_S);
        }
        if (k->flags & KF_NEG1) se__sb_puts(b, ", or -1 for no timeout");
        return;
    case KT_RATIO: se__sb_puts(b, "a ratio from 0 to 1"); return;
    case KT_ENUM:
        se__sb_puts(b, "one of ");
        for (size_t i = 0; k->names[i] != NULL; i++) {
            if (i > 0) se__sb_puts(b, ", ");
            se__sb_puts(b, k->names[i]);
        }
        return;
    case KT_SIGNAL:
        se__sb_puts(b, "a signal name or number that can be caught (like TERM, SIGUSR2 or 12; "
                       "not KILL or STOP");
        se__sb_puts(b, (k->flags & KF_ACTION) ? ", nor CHLD, which the engine needs)" : ")");
        if (k->flags & KF_NIL) se__sb_puts(b, ", or nil for none");
        return;
    case KT_UMASK:
        se__sb_puts(b, "an octal umask from 0 to 0777 (like 022), or nil to leave it unchanged");
        return;
    case KT_STRING:
        if (k->flags & KF_FORMAT) {
            se__sb_printf(b, "a name of at most %zu bytes", k->size - 1);
            se__sb_puts(b, " with at most one %d (or %i, %u; flags and a width of up to 2 digits "
                           "allowed) for the worker id and %% for a percent sign");
        } else {
            se__sb_printf(b, "a text of at most %zu bytes", k->size - 1);
        }
        return;
    case KT_CODES: se__sb_puts(b, "a list of exit codes from 0 to 255, like [3, 4]"); return;
    case KT_LISTEN:
        se__sb_printf(b, "a list of at most %" PRId64 " addresses", k->max);
        se__sb_puts(b, " tcp://HOST:PORT, udp://HOST:PORT (HOST an IPv4 address, [IPv6] or a name; "
                       "PORT 0 to 65535) or unix:/path");
        return;
    }
}

/* "workers: invalid value "-3": expected an integer from 0 to 1024". */
static int
bad_value(const struct msg *m, const struct key *k, const char *value)
{
    struct sb b = se__msg_sb(m);
    se__sb_printf(&b, "%s: invalid value ", k->name);
    se__sb_quoted(&b, value);
    se__sb_puts(&b, ": expected ");
    se__config_key_expect(k, &b);
    return SE_ECONFIG;
}

/* "listen: invalid value "tcp://a:1": expected each address only once". */
static int
bad_value_why(const struct msg *m, const struct key *k, const char *value, const char *expected)
{
    struct sb b = se__msg_sb(m);
    se__sb_printf(&b, "%s: invalid value ", k->name);
    se__sb_quoted(&b, value);
    se__sb_puts(&b, ": expected ");
    se__sb_puts(&b, expected);
    return SE_ECONFIG;
}

/* ------------------------------------------------------------------------ */
/* Fields: integer cells of 1, 4 or 8 bytes, text buffers, lists            */
/* ------------------------------------------------------------------------ */

int64_t
se__config_cell_get(const struct key *k, const struct se_config *cfg)
{
    const unsigned char *p = (const unsigned char *)cfg + k->offset;
    if (k->size == sizeof(bool)) {
        bool v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    if (k->size == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    SE_ASSERT(k->size == sizeof(int64_t));
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Stores v, which the parser has range-checked for this field. */
static void
cell_set(const struct key *k, struct se_config *cfg, int64_t v)
{
    unsigned char *p = (unsigned char *)cfg + k->offset;
    if (k->size == sizeof(bool)) {
        bool b = v != 0;
        memcpy(p, &b, sizeof b);
    } else if (k->size == sizeof(int32_t)) {
        SE_ASSERT(v >= INT32_MIN && v <= INT32_MAX);
        int32_t w = (int32_t)v;
        memcpy(p, &w, sizeof w);
    } else {
        SE_ASSERT(k->size == sizeof(int64_t));
        memcpy(p, &v, sizeof v);
    }
}

static char *
text_field(const struct key *k, struct se_config *cfg)
{
    return (char *)cfg + k->offset;
}

const char *
se__config_text_field_const(const struct key *k, const struct se_config *cfg)
{
    return (const char *)cfg + k->offset;
}

/* ------------------------------------------------------------------------ */
/* Scalar parsers: text in, int64 out; false/SE_ECONFIG when invalid        */
/* ------------------------------------------------------------------------ */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ASCII case folding: the words of a config file do not depend on the locale. */
char
se__config_ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ascii_eq_nocase(const char *a, const char *b)
{
    for (; *a != '\0' && se__config_ascii_lower(*a) == se__config_ascii_lower(*b); a++, b++) {
    }
    return *a == '\0' && *b == '\0';
}

bool
se__config_parse_bool(const char *s, int64_t *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < SE_ARRAY_LEN(yes); i++) {
        if (ascii_eq_nocase(s, yes[i])) return *v = 1, true;
        if (ascii_eq_nocase(s, no[i])) return *v = 0, true;
    }
    return false;
}

/* A whole decimal: optional '-', digits only, no blanks, no overflow. */
bool
se__config_parse_i64(const char *s, int64_t *v)
{
    bool neg = *s == '-';
    if (neg) s++;
    if (!is_digit(*s)) return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint64_t n = 0;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s)) return false;
        unsigned d = (unsigned)(*s - '0');
        if (n > (limit - d) / 10u) return false;
        n = n * 10u + d;
    }
    if (neg) {
        *v = n == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)n;
    } else {
        *v = (int64_t)n;
    }
    return true;
}

static void
decimal_digit(struct decimal *d, unsigned digit, bool fraction)
{
    if (d->mant <= (UINT64_MAX - 9u) / 10u) {
        d->mant = d->mant * 10u + digit;
        if (fraction) d->exp10--;
    } else {
        d->sticky |= digit != 0;
        if (!fraction) d->exp10++;
    }
}

/* Scans -?(D+(.D*)?|.D+)([eE][+-]?D+)? exactly: no blanks, no inf, nan or
 * hex. Locale-independent (the decimal point is always '.'). */
bool
se__config_decimal_scan(const char *s, struct decimal *d)
{
    bool any = false;
    *d = (struct decimal){.neg = *s == '-'};
    if (d->neg) s++;
    for (; is_digit(*s); s++, any = true)
        decimal_digit(d, (unsigned)(*s - '0'), false);
    if (*s == '.') {
        for (s++; is_digit(*s); s++, any = true)
            decimal_digit(d, (unsigned)(*s - '0'), true);
    }
    if (!any) return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = *s == '-';
        if (*s == '-' || *s == '+') s++;
        if (!is_digit(*s)) return false;
        int64_t e = 0;
        for (; is_digit(*s); s++) {
            if (e < 100000) e = e * 10 + (*s - '0');
        }
        d->exp10 += eneg ? -e : e;
    }
    return *s == '\0';
}

/* |d| in thousandths, rounded half up. False when above INT64_MAX. */
static bool
decimal_milli(const struct decimal *d, int64_t *milli, bool *exact)
{
    int64_t e = d->exp10 + 3;
    uint64_t v = d->mant;
    *exact = !d->sticky;
    if (v == 0) return *milli = 0, true;
    if (e >= 0) {
        for (int64_t i = 0; i < e; i++) {
            if (v > (uint64_t)INT64_MAX / 10u) return false;
            v *= 10u;
        }
    } else if (e < -19) {
        v = 0; /* mant < 2^64 < 0.5 * 10^20: rounds to 0 */
        *exact = false;
    } else {
        uint64_t pow = 1;
        for (int64_t i = 0; i < -e; i++)
            pow *= 10u;
        uint64_t r = v % pow;
        v /= pow;
        if (r >= pow - r) v++;
        *exact = *exact && r == 0;
    }
    if (v > (uint64_t)INT64_MAX) return false;
    *milli = (int64_t)v;
    return true;
}

/* Seconds into ms (or a ratio into permille), in [min, max]; -1 with KF_NEG1. */
static bool
parse_milli(const struct key *k, const char *s, int64_t *v)
{
    struct decimal d;
    int64_t milli;
    bool exact;
    if (!se__config_decimal_scan(s, &d) || !decimal_milli(&d, &milli, &exact)) return false;
    if (d.neg) {
        if (!(k->flags & KF_NEG1) || !exact || milli != SE_MS_PER_S) return false;
        return *v = -1, true;
    }
    if (milli < k->min || milli > k->max) return false;
    return *v = milli, true;
}

static bool
parse_int(const struct key *k, const char *s, int64_t *v)
{
    int64_t n;
    if (!se__config_parse_i64(s, &n) || n < k->min || n > k->max) return false;
    return *v = n, true;
}

static bool
parse_enum(const struct key *k, const char *s, int64_t *v)
{
    for (size_t i = 0; k->names[i] != NULL; i++) {
        if (ascii_eq_nocase(s, k->names[i])) return *v = (int64_t)i, true;
    }
    return false;
}

static bool
is_nil(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || ascii_eq_nocase(s, "nil") ||
           ascii_eq_nocase(s, "null");
}

static bool
parse_signal(const struct key *k, const char *s, int64_t *v)
{
    enum se_sig sig;
    if (is_nil(s)) {
        if (!(k->flags & KF_NIL)) return false;
        return *v = SE_SIG_NONE, true;
    }
    if (se_sig_parse(s, &sig) != 0) return false;
    /* KILL and STOP cannot be caught; CHLD is how the engine learns of exits. */
    if (sig == SE_SIG_KILL || sig == SE_SIG_STOP || sig == SE_SIG_OTHER) return false;
    if (sig == SE_SIG_CHLD && (k->flags & KF_ACTION)) return false;
    return *v = sig, true;
}

/* Always octal, like a umask: "022", "0022" and "22" are 0022; "18" is invalid. */
static bool
parse_umask(const char *s, int64_t *v)
{
    int64_t n = 0;
    if (is_nil(s)) return *v = -1, true;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '7') return false;
        n = n * 8 + (*p - '0');
        if (n > 0777) return false;
    }
    return *v = n, true;
}

static bool
scalar_parse(const struct key *k, const char *s, int64_t *v)
{
    switch (k->type) {
    case KT_BOOL: return se__config_parse_bool(s, v);
    case KT_INT: return parse_int(k, s, v);
    case KT_SECONDS:
    case KT_RATIO: return parse_milli(k, s, v);
    case KT_ENUM: return parse_enum(k, s, v);
    case KT_SIGNAL: return parse_signal(k, s, v);
    case KT_UMASK: return parse_umask(s, v);
    case KT_STRING:
    case KT_CODES:
    case KT_LISTEN: break;
    }
    se__assert_fail(__FILE__, __LINE__, "scalar_parse on a text or list key");
}

/* ------------------------------------------------------------------------ */
/* Strings and process-name formats                                         */
/* ------------------------------------------------------------------------ */

/*
 * A process name is handed to snprintf with the worker id (an int), so it is
 * a format string read from a file: at most one conversion, only %d, %i or
 * %u with flags "-+ 0" and a width of up to 2 digits; %% for a percent sign.
 * No %s, %n, '*', precision or length modifier.
 */
static bool
format_valid(const char *s)
{
    unsigned conversions = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p != '%') continue;
        p++;
        if (*p == '%') continue;
        while (*p == '-' || *p == '+' || *p == ' ' || *p == '0')
            p++;
        for (int w = 0; w < 2 && is_digit(*p); w++)
            p++;
        if (*p != 'd' && *p != 'i' && *p != 'u') return false;
        if (++conversions > 1) return false;
    }
    return true;
}

static int
text_set(const struct key *k, struct se_config *cfg, const char *s, const struct msg *m)
{
    size_t n = strlen(s);
    if (n >= k->size) return bad_value(m, k, s);
    if ((k->flags & KF_FORMAT) && !format_valid(s)) return bad_value(m, k, s);
    memcpy(text_field(k, cfg), s, n + 1);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lists: exit codes and listen addresses                                   */
/* ------------------------------------------------------------------------ */

/*
 * Splits the text form of a list in place: "[3, 4]", "3,4", "3 4", "[]" or
 * "". Items are separated by a comma and/or blanks and may be quoted ('a' or
 * "a"). Returns the number of items, -1 when malformed (unclosed bracket or
 * quote, empty item, trailing comma), -2 when there are more than max.
 */
static int
list_split(char *s, const char **items, size_t max)
{
    char *end = s + strlen(s);
    size_t n = 0;
    while (is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    if (*s == '[') {
        if (end - s < 2 || end[-1] != ']') return -1;
        s++;
        end--;
    }
    *end = '\0';
    while (is_blank(*s))
        s++;
    if (*s == '\0') return 0;
    for (char *p = s;;) {
        char *item = p, *stop;
        if (*p == '"' || *p == '\'') {
            item = p + 1;
            stop = strchr(item, *p);
            if (stop == NULL) return -1;
            p = stop + 1;
        } else {
            while (*p != '\0' && *p != ',' && !is_blank(*p))
                p++;
            stop = p;
            if (stop == item) return -1;
        }
        char sep = *p; /* read before *stop is cleared: they may be the same byte */
        if (sep != '\0' && sep != ',' && !is_blank(sep)) return -1;
        *stop = '\0';
        if (n == max) return -2;
        items[n++] = item;
        if (sep == '\0') return (int)n;
        for (p++; is_blank(*p); p++) {
        }
        if (sep != ',' && *p == ',') {
            sep = ',';
            for (p++; is_blank(*p); p++) {
            }
        }
        if (*p == '\0') return sep == ',' ? -1 : (int)n;
    }
}

static int
codes_set(const struct key *k, struct se_config *cfg, const char *const *items, size_t n,
          const struct msg *m)
{
    uint8_t bits[SE_UNRECOVERABLE_BITS / 8] = {0};
    _Static_assert(sizeof bits == sizeof cfg->unrecoverable_exit_codes, "bitset size");
    for (size_t i = 0; i < n; i++) {
        int64_t code;
        if (!se__config_parse_i64(items[i], &code) || code < k->min || code > k->max) {
            return bad_value(m, k, items[i]);
        }
        bits[code / 8] |= (uint8_t)(1u << (code % 8));
    }
    memcpy((unsigned char *)cfg + k->offset, bits, sizeof bits);
    return 0;
}

static bool
host_name_valid(const char *h, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253) return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && c != '-' && c != '_') return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

static bool
port_valid(const char *port)
{
    size_t n = strlen(port);
    return n > 0 && n <= 5 && strspn(port, "0123456789") == n && atoi(port) <= 65535;
}

/* HOST:PORT with HOST an IPv4 address, [IPv6], a name or *, PORT 0..65535. */
static bool
host_port_valid(const char *s)
{
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close != NULL ? (size_t)(close - s - 1) : 0;
        if (n == 0 || n >= sizeof addr || close[1] != ':' || !port_valid(close + 2)) return false;
        memcpy(addr, s + 1, n);
        addr[n] = '\0';
        return inet_pton(AF_INET6, addr, bin) == 1;
    }
    const char *colon = strrchr(s, ':');
    if (colon == NULL || !port_valid(colon + 1)) return false;
    size_t n = (size_t)(colon - s);
    if (n == 1 && s[0] == '*') return true; /* every address */
    if (strspn(s, "0123456789.") < n) return host_name_valid(s, n);
    /* All digits and dots: it has to be a dotted-quad IPv4 address. */
    if (n >= sizeof addr) return false;
    memcpy(addr, s, n);
    addr[n] = '\0';
    return inet_pton(AF_INET, addr, bin) == 1;
}

/* The shape of one listen address. Nothing that would not survive the text
 * form of the list (blanks, commas, quotes, brackets) is accepted. */
static bool
listen_valid(const char *s)
{
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;
        size_t n = strlen(path);
        if (path[0] != '/' || n >= sizeof(((struct sockaddr_un *)0)->sun_path)) return false;
        for (const char *p = path; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || strchr(" ,'\"[]\x7f", *p) != NULL) return false;
        }
        return true;
    }
    if (strncmp(s, "tcp://", 6) != 0 && strncmp(s, "udp://", 6) != 0) return false;
    return host_port_valid(s + 6);
}

static int
listen_set(const struct key *k, struct se_config *cfg, const char *const *items, size_t n,
           const struct msg *m)
{
    for (size_t i = 0; i < n; i++) {
        if (!listen_valid(items[i])) return bad_value(m, k, items[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[i], items[j]) == 0) {
                return bad_value_why(m, k, items[i], "each address only once");
            }
        }
    }
    memset(cfg->listen, 0, sizeof cfg->listen);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        SE_ASSERT(len < sizeof cfg->listen[i]);
        memcpy(cfg->listen[i], items[i], len + 1);
    }
    cfg->listen_count = (uint32_t)n;
    return 0;
}

static size_t
list_items_max(const struct key *k)
{
    return k->type == KT_LISTEN ? (size_t)k->max : LIST_ITEMS_MAX;
}

int
se__config_too_many(const struct msg *m, const struct key *k)
{
    struct sb b = se__msg_sb(m);
    se__sb_printf(&b, "%s: too many items: expected at most %zu", k->name, list_items_max(k));
    return SE_ECONFIG;
}

/* Sets a list key from its items (a YAML sequence, or split text). */
int
se__config_key_set_items(const struct key *k, struct se_config *cfg, const char *const *items,
                         size_t n, const struct msg *m)
{
    if (n > list_items_max(k)) return se__config_too_many(m, k);
    if (k->type == KT_CODES) return codes_set(k, cfg, items, n, m);
    SE_ASSERT(k->type == KT_LISTEN);
    return listen_set(k, cfg, items, n, m);
}

static int
list_set_text(const struct key *k, struct se_config *cfg, const char *text, const struct msg *m)
{
    const char *items[LIST_ITEMS_MAX];
    char *copy = strdup(text);
    if (copy == NULL) return se__msg_nomem(m);
    int n = list_split(copy, items, SE_ARRAY_LEN(items));
    int rc;
    if (n == -1) {
        rc = bad_value(m, k, text);
    } else if (n == -2) {
        rc = se__config_too_many(m, k);
    } else {
        rc = se__config_key_set_items(k, cfg, items, (size_t)n, m);
    }
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* One key from text, one key to text                                       */
/* ------------------------------------------------------------------------ */

/* Values of Ruby ServerEngine that have no meaning here: refused naming what to use. */
#define BY_DATE                                                                                    \
    "rotation by date is not built: give the number of files to keep, rotated by "                 \
    "log_rotate_size, or set log_rotate_age to 0, rotate with logrotate(8) and send USR2 to "      \
    "reopen the log"
static const struct {
    const char *key, *value, *why;
} unsupported_values[] = {
    {"log_rotate_age", "daily", BY_DATE},
    {"log_rotate_age", "weekly", BY_DATE},
    {"log_rotate_age", "monthly", BY_DATE},
};
#undef BY_DATE

/* A Ruby value with no meaning here: SE_ECONFIG naming what to use, else 0. */
static int
value_check(const struct key *k, const char *text, const struct msg *m)
{
    for (size_t i = 0; i < SE_ARRAY_LEN(unsupported_values); i++) {
        if (strcmp(k->name, unsupported_values[i].key) == 0 &&
            strcmp(text, unsupported_values[i].value) == 0) {
            struct sb b = se__msg_sb(m);
            se__sb_printf(&b, "%s: ", k->name);
            se__sb_quoted(&b, text);
            se__sb_puts(&b, " is not supported: ");
            se__sb_puts(&b, unsupported_values[i].why);
            return SE_ECONFIG;
        }
    }
    return 0;
}

/* Sets built-in key k from text. 0, SE_ECONFIG or -ENOMEM; cfg may be partly
 * written on error (callers work on a copy). */
int
se__config_key_set_text(const struct key *k, struct se_config *cfg, const char *text,
                        const struct msg *m)
{
    int64_t v;
    if (value_check(k, text, m) < 0) return SE_ECONFIG;
    se__config_key_mark_given(k, cfg);
    switch (k->type) {
    case KT_STRING: return text_set(k, cfg, text, m);
    case KT_CODES:
    case KT_LISTEN: return list_set_text(k, cfg, text, m);
    case KT_BOOL:
    case KT_INT:
    case KT_SECONDS:
    case KT_RATIO:
    case KT_ENUM:
    case KT_SIGNAL:
    case KT_UMASK: break;
    }
    if (!scalar_parse(k, text, &v)) return bad_value(m, k, text);
    cell_set(k, cfg, v);
    return 0;
}

/* Thousandths as the shortest decimal: 1500 -> "1.5", 1000 -> "1", 1 -> "0.001". */
static void
sb_milli(struct sb *b, int64_t v)
{
    SE_ASSERT(v >= 0);
    int64_t frac = v % 1000;
    se__sb_printf(b, "%" PRId64, v / 1000);
    if (frac == 0) return;
    char digits[4] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10), '\0'};
    for (int i = 2; i > 0 && digits[i] == '0'; i--)
        digits[i] = '\0';
    se__sb_puts(b, ".");
    se__sb_puts(b, digits);
}

static void
codes_format(const struct se_config *cfg, struct sb *b)
{
    bool first = true;
    se__sb_puts(b, "[");
    for (int32_t code = 0; code < (int32_t)SE_UNRECOVERABLE_BITS; code++) {
        if (!se__config_unrecoverable(cfg, code)) continue;
        se__sb_printf(b, first ? "%" PRId32 : ", %" PRId32, code);
        first = false;
    }
    se__sb_puts(b, "]");
}

static void
listen_format(const struct se_config *cfg, struct sb *b)
{
    se__sb_puts(b, "[");
    for (uint32_t i = 0; i < cfg->listen_count; i++) {
        if (i > 0) se__sb_puts(b, ", ");
        se__sb_puts(b, cfg->listen[i]);
    }
    se__sb_puts(b, "]");
}

/* Writes the text of built-in key k, which se__config_key_set_text accepts again. */
void
se__config_key_format(const struct key *k, const struct se_config *cfg, struct sb *b)
{
    int64_t v = 0;
    if (k->type != KT_STRING && k->type != KT_CODES && k->type != KT_LISTEN) {
        v = se__config_cell_get(k, cfg);
    }
    switch (k->type) {
    case KT_BOOL: se__sb_puts(b, v ? "true" : "false"); return;
    case KT_INT: se__sb_printf(b, "%" PRId64, v); return;
    case KT_SECONDS:
    case KT_RATIO:
        if (v < 0) {
            se__sb_puts(b, "-1"); /* only -1 is stored: "no timeout" */
        } else {
            sb_milli(b, v);
        }
        return;
    case KT_ENUM: se__sb_puts(b, k->names[v]); return;
    case KT_SIGNAL: se__sb_puts(b, v == SE_SIG_NONE ? "nil" : se_sig_name((enum se_sig)v)); return;
    case KT_UMASK:
        if (v < 0) {
            se__sb_puts(b, "nil");
        } else {
            se__sb_printf(b, "%04o", (unsigned)v);
        }
        return;
    case KT_STRING: se__sb_puts(b, se__config_text_field_const(k, cfg)); return;
    case KT_CODES: codes_format(cfg, b); return;
    case KT_LISTEN: listen_format(cfg, b); return;
    }
}
