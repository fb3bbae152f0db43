/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_format.c: se__log_format, the printf subset the logger formats its
 * messages with (see below and logger.h).
 *
 * Never: allocates, keeps state, or writes beyond the buffer it is given.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "logger.h"

/* ------------------------------------------------------------------------ */
/* Formatting: a printf subset, exact where it answers                      */
/* ------------------------------------------------------------------------ */

/*
 * glibc's vsnprintf costs more than anything else the logger does for a
 * line (a FILE set up per call, then a general interpreter). The common
 * conversions are done here, with printf's exact output: flags '-' and '0',
 * a decimal width, ".N" or ".*" precision on %s, the length modifiers hh h l
 * ll z j t, and d i u x X c s p %. Anything else (floats, %o, %m, '+', ' ',
 * '#', '*' width, integer precision, NULL strings, output that does not fit)
 * is declined and the caller uses vsnprintf on an untouched va_list. Checked
 * against vsnprintf by test_logger.
 */
struct spec {
    bool left, zero;
    int width; /* -1: none */
    int prec;  /* -1: none; -2: ".*" */
    char len;  /* 0, 'H' (hh), 'h', 'l', 'L' (ll), 'z', 'j', 't' */
    char conv;
};

struct sink {
    char *p, *end; /* end leaves room for the NUL */
};

static bool
sink_put(struct sink *k, const char *s, size_t n)
{
    if ((size_t)(k->end - k->p) < n) return false;
    memcpy(k->p, s, n);
    k->p += n;
    return true;
}

static bool
sink_pad(struct sink *k, char c, int n)
{
    if (n <= 0) return true;
    if (k->end - k->p < n) return false;
    memset(k->p, c, (size_t)n);
    k->p += n;
    return true;
}

static int
parse_num(const char **f)
{
    int v = 0;
    for (; **f >= '0' && **f <= '9'; (*f)++) {
        v = v * 10 + (**f - '0');
        if (v > (int)SE_LOG_LINE_MAX) return -1; /* wider than any line: decline */
    }
    return v;
}

static const char *
parse_length(const char *f, char *len)
{
    *len = 0;
    if (f[0] == 'h' || f[0] == 'l') {
        bool twice = f[1] == f[0];
        *len = twice ? (f[0] == 'h' ? 'H' : 'L') : f[0];
        return f + (twice ? 2 : 1);
    }
    if (f[0] == 'z' || f[0] == 'j' || f[0] == 't') *len = *f++;
    return f;
}

static bool
conv_known(char c)
{
    switch (c) {
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'c':
    case 's':
    case 'p':
    case '%': return true;
    default: return false;
    }
}

/* Parses what follows a '%'; NULL when the spec is not one we answer. */
static const char *
parse_spec(const char *f, struct spec *sp)
{
    *sp = (struct spec){.width = -1, .prec = -1};
    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else
            break;
    }
    if (*f >= '1' && *f <= '9' && (sp->width = parse_num(&f)) < 0) return NULL;
    if (*f == '.') {
        f++;
        if (*f == '*') {
            sp->prec = -2;
            f++;
        } else if ((sp->prec = parse_num(&f)) < 0) {
            return NULL;
        }
    }
    f = parse_length(f, &sp->len);
    sp->conv = *f;
    bool text = sp->conv == 's' || sp->conv == 'c';
    if (!conv_known(sp->conv)) return NULL;
    if (sp->prec != -1 && sp->conv != 's') return NULL;
    if (text && (sp->zero || sp->len != 0)) return NULL;
    if ((sp->conv == 'p' || sp->conv == '%') &&
        (sp->left || sp->zero || sp->width >= 0 || sp->len != 0))
        return NULL;
    return f + 1;
}

static uint64_t
arg_unsigned(va_list *ap, char len)
{
    switch (len) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned int);
    case 'h': return (unsigned short)va_arg(*ap, unsigned int);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t); /* NOLINT(bugprone-branch-clone): = 'j' on LP64 only */
    case 'j': return va_arg(*ap, uintmax_t);
    case 't': return (uint64_t)va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned int);
    }
}

static int64_t
arg_signed(va_list *ap, char len)
{
    switch (len) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return va_arg(*ap, ssize_t); /* NOLINT(bugprone-branch-clone): = 'j' on LP64 only */
    case 'j': return va_arg(*ap, intmax_t);
    case 't': return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

/* Digits of v, decimal or hexadecimal, into the end of buf; returns where
 * they start. Constant divisors: the compiler turns them into multiplies
 * (a run-time base made the division instruction this function's cost). */
static char *
digits(char *end, uint64_t v, bool hex, bool upper)
{
    if (hex) {
        const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        do {
            *--end = set[v & 15u];
            v >>= 4;
        } while (v > 0);
        return end;
    }
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    for (; v >= 100u; v /= 100u) { /* two digits per division */
        end -= 2;
        memcpy(end, pairs + 2 * (v % 100u), 2);
    }
    if (v >= 10u) {
        end -= 2;
        memcpy(end, pairs + 2 * v, 2);
        return end;
    }
    *--end = (char)('0' + v);
    return end;
}

/* Sign and digits, padded to the width as printf does. */
static bool
put_number(struct sink *k, const struct spec *sp, bool minus, const char *d, size_t nd)
{
    const char *sign = "-";
    size_t ns = minus ? 1 : 0;
    int fill = sp->width - (int)(ns + nd);
    if (sp->left) return sink_put(k, sign, ns) && sink_put(k, d, nd) && sink_pad(k, ' ', fill);
    if (sp->zero) return sink_put(k, sign, ns) && sink_pad(k, '0', fill) && sink_put(k, d, nd);
    return sink_pad(k, ' ', fill) && sink_put(k, sign, ns) && sink_put(k, d, nd);
}

static bool
put_int(struct sink *k, const struct spec *sp, va_list *ap)
{
    char buf[24], *end = buf + sizeof buf;
    bool minus = false;
    uint64_t v;
    if (sp->conv == 'd' || sp->conv == 'i') {
        int64_t x = arg_signed(ap, sp->len);
        minus = x < 0;
        v = minus ? (uint64_t)(-(x + 1)) + 1u : (uint64_t)x;
    } else {
        v = arg_unsigned(ap, sp->len);
    }
    char *d = digits(end, v, sp->conv == 'x' || sp->conv == 'X', sp->conv == 'X');
    return put_number(k, sp, minus, d, (size_t)(end - d));
}

static bool
put_text(struct sink *k, const struct spec *sp, va_list *ap)
{
    char c;
    const char *s = &c;
    size_t n = 1;
    if (sp->conv == 'c') {
        c = (char)va_arg(*ap, int);
    } else {
        int prec = sp->prec == -2 ? va_arg(*ap, int) : sp->prec;
        s = va_arg(*ap, const char *);
        if (s == NULL) return false; /* glibc's "(null)" rules: vsnprintf's */
        n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
    }
    int fill = sp->width - (int)n;
    if (sp->left) return sink_put(k, s, n) && sink_pad(k, ' ', fill);
    return sink_pad(k, ' ', fill) && sink_put(k, s, n);
}

static bool
put_pointer(struct sink *k, va_list *ap)
{
    const void *p = va_arg(*ap, const void *);
    if (p == NULL) return sink_put(k, "(nil)", 5);
    char buf[24], *end = buf + sizeof buf;
    char *d = digits(end, (uint64_t)(uintptr_t)p, true, false);
    return sink_put(k, "0x", 2) && sink_put(k, d, (size_t)(end - d));
}

static bool
put_spec(struct sink *k, const struct spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case '%': return sink_put(k, "%", 1);
    case 'c':
    case 's': return put_text(k, sp, ap);
    case 'p': return put_pointer(k, ap);
    default: return put_int(k, sp, ap);
    }
}

static bool
format_all(struct sink *k, const char *f, va_list *ap)
{
    while (*f != '\0') {
        const char *pct = strchr(f, '%');
        size_t lit = pct == NULL ? strlen(f) : (size_t)(pct - f);
        if (!sink_put(k, f, lit)) return false;
        if (pct == NULL) return true;
        struct spec sp;
        f = parse_spec(pct + 1, &sp);
        if (f == NULL || !put_spec(k, &sp, ap)) return false;
    }
    return true;
}

int
se__log_format(char *out, size_t cap, const char *fmt, va_list ap)
{
    SE_ASSERT(cap > 0);
    struct sink k = {out, out + cap - 1};
    va_list a;
    va_copy(a, ap);
    bool ok = format_all(&k, fmt, &a);
    va_end(a);
    *k.p = '\0';
    return ok ? (int)(k.p - out) : -1;
}
