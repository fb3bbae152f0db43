/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_text.c: the bounded text builder behind every message of the
 * configuration model (snprintf's contract: always NUL-terminated, the whole
 * length counted), quoting of outside input, and the message sink.
 *
 * Never: allocates, or writes past the buffer it is given.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

#define QUOTE_MAX 64u /* bytes of a value echoed in a message */

struct sb
se__sb_init(char *buf, size_t size)
{
    if (size > 0) buf[0] = '\0';
    return (struct sb){.buf = buf, .size = size, .len = 0};
}

void
se__sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->len + 1 < b->size) {
        size_t room = b->size - 1 - b->len;
        size_t k = n < room ? n : room;
        memcpy(b->buf + b->len, s, k);
        b->buf[b->len + k] = '\0';
    }
    b->len += n;
}

void
se__sb_puts(struct sb *b, const char *s)
{
    se__sb_putn(b, s, strlen(s));
}

/* For short pieces only: key names and numbers (longer text goes through se__sb_puts). */
void
se__sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    SE_ASSERT(n >= 0 && (size_t)n < sizeof tmp);
    se__sb_putn(b, tmp, (size_t)n);
}

int
se__sb_result(const struct sb *b)
{
    return b->len > INT_MAX ? INT_MAX : (int)b->len;
}

/* Appends s in double quotes, escaped, at most about QUOTE_MAX bytes of it
 * (cut at a UTF-8 character boundary), for messages about outside input. */
void
se__sb_quoted(struct sb *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    se__sb_putn(b, "\"", 1);
    for (; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= QUOTE_MAX && (c & 0xC0) != 0x80) break;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            se__sb_putn(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            se__sb_putn(b, esc, 4);
        } else {
            se__sb_putn(b, (const char *)&s[i], 1);
        }
    }
    if (s[i] != '\0') se__sb_puts(b, "...");
    se__sb_putn(b, "\"", 1);
}

struct sb
se__msg_sb(const struct msg *m)
{
    return se__sb_init(m->buf, m->size);
}

void
se__msg_clear(const struct msg *m)
{
    if (m->size > 0) m->buf[0] = '\0';
}

int
se__msg_nomem(const struct msg *m)
{
    struct sb b = se__msg_sb(m);
    se__sb_puts(&b, "out of memory");
    return -ENOMEM;
}
