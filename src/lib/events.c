/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static const char *const type_names[] = {
    [HUTCH_EVENT_SANDBOX_CREATE] = "sandbox.create",
    [HUTCH_EVENT_PHASE] = "phase",
    [HUTCH_EVENT_PROCESS_START] = "process.start",
    [HUTCH_EVENT_OUTPUT] = "output",
    [HUTCH_EVENT_PROCESS_END] = "process.end",
    [HUTCH_EVENT_ARTIFACT] = "artifact",
    [HUTCH_EVENT_CACHE_COMMIT] = "cache.commit",
    [HUTCH_EVENT_SANDBOX_REMOVE] = "sandbox.remove",
    [HUTCH_EVENT_ERROR] = "error",
    [HUTCH_EVENT_WARNING] = "warning",
};

const char *event_type_name(enum hutch_event_type t)
{
    if ((size_t)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
        return type_names[t];
    return "unknown";
}

HUTCH_API enum hutch_event_type hutch_event_type(const struct hutch_event *ev)
{
    return ev->type;
}

HUTCH_API const char *hutch_event_json(const struct hutch_event *ev, size_t *len)
{
    if (len)
        *len = ev->len;
    return ev->json;
}

/* Decode one UTF-8 sequence at s (n bytes available). Returns its length (1-4) if valid and
 * complete, 0 if it is a valid but incomplete prefix, -1 if invalid. */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        unsigned char x = s[i];
        if (i == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF))
            return -1;
    }
    return len;
}

bool utf8_valid(const unsigned char *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, d + i, 8);
            if (!(v & HIGHS)) {
                i += 8;
                continue;
            }
        }
        if (d[i] < 0x80) {
            i++;
            continue;
        }
        int l = utf8_seq(d + i, n - i);
        if (l <= 0)
            return false;
        i += (size_t)l;
    }
    return true;
}

size_t utf8_split_point(const unsigned char *d, size_t n)
{
    /* look back at most 3 bytes for the start of a sequence that is still incomplete */
    size_t start = n > 3 ? n - 3 : 0;
    for (size_t i = n; i > start;) {
        i--;
        if ((d[i] & 0xC0) == 0x80)
            continue; /* continuation byte: keep looking for the lead */
        if (d[i] >= 0xC0 && utf8_seq(d + i, n - i) == 0)
            return i;
        break;
    }
    return n;
}

static const char hexdig[] = "0123456789abcdef";

/* true if any byte of v is zero (the classic bit trick) */
static inline uint64_t has_zero8(uint64_t v)
{
    return (v - ONES) & ~v & HIGHS;
}

/* A mask with the high bit set in bytes that are not plain printable ASCII, '"' or '\\'. The
 * lowest flagged byte is always a true one (borrows only run towards higher bytes). */
static inline uint64_t escape_mask8(uint64_t v)
{
    uint64_t ctrl = (v - 0x20 * ONES) & ~v & HIGHS; /* bytes < 0x20 */
    return (v & HIGHS) | ctrl | has_zero8(v ^ (0x22 * ONES)) | has_zero8(v ^ (0x5c * ONES));
}

int json_append_string(struct buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    /* worst case: every byte becomes \u00XX (6) or U+FFFD (3) */
    if (buf_reserve(b, n * 6 + 2) < 0)
        return -ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* 8 plain ASCII bytes at a time: output is mostly text that needs no escaping */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            uint64_t m = escape_mask8(v);
            memcpy(o, s + i, 8); /* room reserved above: copy all, keep the clean prefix */
            if (m) {
                size_t k = (size_t)__builtin_ctzll(m) >> 3;
                o += k;
                i += k;
                break;
            }
            o += 8;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            int l = utf8_seq(s + i, n - i);
            if (l > 0) {
                memcpy(o, s + i, (size_t)l);
                o += l;
                i += (size_t)l;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hexdig[c >> 4];
            *o++ = hexdig[c & 15];
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

static int key(struct buf *b, const char *k)
{
    size_t n = strlen(k);
    if (buf_reserve(b, n + 4) < 0)
        return -ENOMEM;
    char *o = b->data + b->len;
    *o++ = ',';
    *o++ = '"';
    memcpy(o, k, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int event_begin(struct buf *b, enum hutch_event_type t, const char *id, uint64_t ts)
{
    int r = buf_puts(b, "{\"v\":1,\"type\":\"");
    r = r ?: buf_puts(b, event_type_name(t));
    r = r ?: buf_puts(b, "\"");
    r = r ?: event_str(b, "id", id ? id : "");
    r = r ?: event_u64(b, "ts", ts);
    return r;
}

int event_str(struct buf *b, const char *k, const char *v)
{
    if (!v)
        return event_null(b, k);
    return event_strn(b, k, v, strlen(v));
}

int event_strn(struct buf *b, const char *k, const char *v, size_t n)
{
    return key(b, k) ?: json_append_string(b, v, n);
}

int event_u64(struct buf *b, const char *k, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    return key(b, k) ?: buf_append(b, tmp, (size_t)n);
}

int event_i64(struct buf *b, const char *k, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    return key(b, k) ?: buf_append(b, tmp, (size_t)n);
}

int event_bool(struct buf *b, const char *k, bool v)
{
    return key(b, k) ?: buf_puts(b, v ? "true" : "false");
}

int event_null(struct buf *b, const char *k)
{
    return key(b, k) ?: buf_puts(b, "null");
}

int event_raw(struct buf *b, const char *k, const char *json)
{
    return key(b, k) ?: buf_puts(b, json);
}

int event_strv(struct buf *b, const char *k, char *const *v)
{
    int r = key(b, k) ?: buf_puts(b, "[");
    for (int i = 0; !r && v && v[i]; i++) {
        if (i)
            r = buf_puts(b, ",");
        r = r ?: json_append_string(b, v[i], strlen(v[i]));
    }
    return r ?: buf_puts(b, "]");
}

int event_error_chain(struct buf *b, const char *k, const struct hutch_error *err)
{
    int r = key(b, k) ?: buf_puts(b, "[");
    for (const struct hutch_error *e = err; !r && e; e = e->cause) {
        if (e != err)
            r = buf_puts(b, ",");
        r = r ?: buf_printf(b, "{\"code\":%d", e->errnum);
        if (e->op)
            r = r ?: event_str(b, "op", e->op);
        if (e->subject)
            r = r ?: event_str(b, "subject", e->subject);
        r = r ?: event_str(b, "message", e->message);
        r = r ?: buf_puts(b, "}");
    }
    return r ?: buf_puts(b, "]");
}

int event_end(struct buf *b)
{
    return buf_puts(b, "}");
}

static int append_b64(struct buf *b, const unsigned char *d, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (buf_reserve(b, (n + 2) / 3 * 4 + 2) < 0)
        return -ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int event_output_data(struct buf *b, const char *stream, const unsigned char *d, size_t n)
{
    int r = event_str(b, "stream", stream);
    if (r)
        return r;
    if (utf8_valid(d, n))
        return key(b, "data") ?: json_append_string(b, (const char *)d, n);
    return key(b, "data_b64") ?: append_b64(b, d, n);
}
