/* SPDX-License-Identifier: MIT */
/*
 * Where a seccomp profile's errors point (seccomp_profile.h): the line of a field such as
 * "syscalls[3].names[1]" in the JSON text, found by a small forward-only scanner, and
 * seccomp_profile_err(), which names the file, that line and the field. Pure code.
 */
#include "seccomp_profile.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---------------------------------------------------------------- locating a field's line */

/* A forward-only scanner over text jansson already accepted; it still never reads past len and
 * always advances or fails, so a hostile text cannot make it loop. */
struct jscan {
    const char *s;
    size_t len;
    size_t pos;
};

static bool jscan_is_delim(char c)
{
    return c == ',' || c == ':' || c == '{' || c == '}' || c == '[' || c == ']' || c == '"' ||
           c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void jscan_ws(struct jscan *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\r' || j->s[j->pos] == '\n'))
        j->pos++;
}

static bool jscan_string(struct jscan *j)
{
    if (j->pos >= j->len || j->s[j->pos] != '"')
        return false;
    for (j->pos++; j->pos < j->len; j->pos++) {
        if (j->s[j->pos] == '\\')
            j->pos++;
        else if (j->s[j->pos] == '"') {
            j->pos++;
            return true;
        }
    }
    return false;
}

/* Skip one value of any kind, iteratively (no recursion depth to exhaust). */
static bool jscan_value(struct jscan *j)
{
    long depth = 0;
    do {
        jscan_ws(j);
        if (j->pos >= j->len)
            return false;
        char c = j->s[j->pos];
        if (c == '"') {
            if (!jscan_string(j))
                return false;
        } else if (c == '{' || c == '[') {
            depth++;
            j->pos++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return false;
            j->pos++;
        } else if (c == ',' || c == ':') {
            j->pos++;
        } else {
            while (j->pos < j->len && !jscan_is_delim(j->s[j->pos]))
                j->pos++;
        }
    } while (depth > 0);
    return true;
}

/* At an object: move to the value of member `key` (compared unescaped-raw). */
static bool jscan_member(struct jscan *j, const char *key, size_t klen)
{
    jscan_ws(j);
    if (j->pos >= j->len || j->s[j->pos] != '{')
        return false;
    j->pos++;
    for (;;) {
        jscan_ws(j);
        size_t start = j->pos + 1;
        if (!jscan_string(j))
            return false;
        bool match = j->pos - 1 - start == klen && !memcmp(j->s + start, key, klen);
        jscan_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ':')
            return false;
        j->pos++;
        jscan_ws(j);
        if (match)
            return true;
        if (!jscan_value(j))
            return false;
        jscan_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ',')
            return false;
        j->pos++;
    }
}

/* At an array: move to element n. */
static bool jscan_element(struct jscan *j, unsigned long n)
{
    jscan_ws(j);
    if (j->pos >= j->len || j->s[j->pos] != '[')
        return false;
    j->pos++;
    for (unsigned long i = 0;; i++) {
        jscan_ws(j);
        if (j->pos >= j->len || j->s[j->pos] == ']')
            return false;
        if (i == n)
            return true;
        if (!jscan_value(j))
            return false;
        jscan_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ',')
            return false;
        j->pos++;
    }
}

unsigned seccomp_profile_line(const char *text, size_t len, const char *field)
{
    struct jscan j = {.s = text, .len = len};
    jscan_ws(&j);
    size_t best = j.pos;
    for (const char *f = field; f && *f;) {
        bool ok;
        if (*f == '[') {
            char *end;
            unsigned long n = strtoul(f + 1, &end, 10);
            if (*end != ']')
                break;
            f = end + 1;
            ok = jscan_element(&j, n);
        } else {
            size_t klen = strcspn(f, ".[");
            ok = jscan_member(&j, f, klen);
            f += klen;
        }
        if (!ok)
            break;
        best = j.pos;
        if (*f == '.')
            f++;
    }
    unsigned line = 1;
    for (size_t i = 0; i < best && i < len; i++)
        line += text[i] == '\n';
    return line;
}

/* ---------------------------------------------------------------- errors */

static int profile_verr(const char *file, const char *text, size_t len, struct hutch_error **err,
                        int errnum, const char *field, const char *fmt, va_list ap)
{
    _cleanup_free_ char *msg = NULL;
    _cleanup_free_ char *where = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    if (asprintf(&where, "%s:%u", file, seccomp_profile_line(text, len, field)) < 0)
        where = NULL;
    return hutch_err(err, errnum, "parse", where ? where : file, "%s%s%s", field,
                     *field ? ": " : "", msg ? msg : "invalid");
}

int seccomp_profile_err(const struct seccomp_profile *p, struct hutch_error **err, int errnum,
                        const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = profile_verr(p->file, p->text, p->text_len, err, errnum, field, fmt, ap);
    va_end(ap);
    return r;
}
