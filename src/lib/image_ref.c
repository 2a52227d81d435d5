/* SPDX-License-Identifier: MIT */
/*
 * Image references (pure code, image.h): NAME[:TAG] validation and normalization, and the
 * escaped file names the store keeps references under (images/<escaped ref>.json).
 */
#include "image.h"

#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == '/';
}

static bool is_tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* NAME: components of [a-z0-9._-] separated by single '/', each starting with a letter or
 * digit; the first may be a registry "host:port". */
static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > 255 || s[0] == '/' || s[len - 1] == '/')
        return false;
    const char *slash = memchr(s, '/', len);
    size_t start = 0;
    if (slash) {
        const char *colon = memchr(s, ':', (size_t)(slash - s));
        if (colon) { /* host:port/ - digits only after the colon */
            for (const char *p = colon + 1; p < slash; p++)
                if (*p < '0' || *p > '9')
                    return false;
            if (colon == s || colon + 1 == slash)
                return false;
            start = (size_t)(slash - s) + 1;
        }
    }
    bool comp_start = true;
    for (size_t i = start; i < len; i++) {
        if (!is_name_char(s[i]) ||
            (comp_start && !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))))
            return false;
        comp_start = s[i] == '/';
    }
    return true;
}

int image_ref_normalize(const char *in, char **out)
{
    if (!in)
        return -EINVAL;
    size_t len = strlen(in);
    const char *slash = strrchr(in, '/');
    const char *colon = strrchr(in, ':');
    const char *tag = "latest";
    size_t name_len = len;
    if (colon && (!slash || colon > slash)) {
        tag = colon + 1;
        name_len = (size_t)(colon - in);
    }
    size_t tag_len = strlen(tag);
    if (!valid_name(in, name_len) || tag_len == 0 || tag_len > 128)
        return -EINVAL;
    for (size_t i = 0; i < tag_len; i++)
        if (!is_tag_char(tag[i]) || (i == 0 && (tag[i] == '.' || tag[i] == '-')))
            return -EINVAL;
    if (asprintf(out, "%.*s:%s", (int)name_len, in, tag) < 0)
        return -ENOMEM;
    return 0;
}

bool image_ref_is_full(const char *s)
{
    return s && (strchr(s, '/') || strchr(s, ':'));
}

int image_ref_filename(const char *ref, char **out)
{
    struct buf b = {0};
    for (const char *p = ref; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-' || (c == '.' && p != ref);
        int r = plain ? buf_append(&b, p, 1) : buf_printf(&b, "%%%02X", c);
        if (r < 0) {
            buf_free(&b);
            return r;
        }
    }
    if (buf_reserve(&b, 0) < 0)
        return -ENOMEM;
    b.data[b.len] = '\0';
    *out = b.data;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int image_ref_from_filename(const char *name, char **out)
{
    size_t n = strlen(name);
    char *s = malloc(n + 1), *o = s;
    if (!s)
        return -ENOMEM;
    for (const char *p = name; *p; p++) {
        if (*p == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(s);
                return -EINVAL;
            }
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *out = s;
    return 0;
}
