/* SPDX-License-Identifier: MIT */
/* Unit tests of the event encoder (src/lib/events.c): object shape, JSON string escaping,
 * UTF-8 handling (U+FFFD, data_b64, split points) and error chains. Every encoding is also
 * parsed back with jansson, so "valid JSON" is checked by a real parser. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "events.h"
#include "util.h"

/* Parses b as one JSON value (NUL characters allowed), failing the test if it is not. */
static json_t *parse(const struct buf *b)
{
    json_error_t je;
    json_t *j = json_loadb(b->data, b->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j)
        print_error("not JSON (%s at %d): %.*s\n", je.text, je.position, (int)b->len, b->data);
    assert_non_null(j);
    return j;
}

/* Encodes s[0..n) as a JSON string, checks that it parses back, returns the encoding. */
static void encode_string(struct buf *b, const char *s, size_t n)
{
    b->len = 0;
    assert_int_equal(json_append_string(b, s, n), 0);
    assert_int_equal(strlen(b->data), b->len); /* NUL-terminated, no NUL inside */
}

/* The decoded value of a JSON string encoding (a malloc'd copy) and its length. */
static char *decode_string(const struct buf *b, size_t *len)
{
    json_t *j = parse(b);
    assert_true(json_is_string(j));
    *len = json_string_length(j);
    char *c = malloc(*len + 1);
    assert_non_null(c);
    memcpy(c, json_string_value(j), *len + 1);
    json_decref(j);
    return c;
}

/* ------------------------------------------------------------------ object shape */

static void test_begin_end_shape(void **state)
{
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_PROCESS_END, "abc123", 1700000000123456789ull), 0);
    assert_int_equal(event_end(&b), 0);
    assert_string_equal(b.data,
                        "{\"v\":1,\"type\":\"process.end\",\"id\":\"abc123\",\"ts\":1700000000123456789}");
    json_t *j = parse(&b);
    assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "process.end");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "abc123");
    assert_true(json_is_integer(json_object_get(j, "ts")));
    json_decref(j);
    buf_free(&b);
}

static void test_begin_null_id(void **state)
{
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_ERROR, NULL, 0), 0);
    assert_int_equal(event_end(&b), 0);
    assert_string_equal(b.data, "{\"v\":1,\"type\":\"error\",\"id\":\"\",\"ts\":0}");
    buf_free(&b);
}

static void test_type_names(void **state)
{
    static const struct {
        enum hutch_event_type t;
        const char *name;
    } names[] = {
        {HUTCH_EVENT_SANDBOX_CREATE, "sandbox.create"},
        {HUTCH_EVENT_PHASE, "phase"},
        {HUTCH_EVENT_PROCESS_START, "process.start"},
        {HUTCH_EVENT_OUTPUT, "output"},
        {HUTCH_EVENT_PROCESS_END, "process.end"},
        {HUTCH_EVENT_ARTIFACT, "artifact"},
        {HUTCH_EVENT_CACHE_COMMIT, "cache.commit"},
        {HUTCH_EVENT_SANDBOX_REMOVE, "sandbox.remove"},
        {HUTCH_EVENT_ERROR, "error"},
        {HUTCH_EVENT_WARNING, "warning"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_string_equal(event_type_name(names[i].t), names[i].name);
    assert_string_equal(event_type_name((enum hutch_event_type)0), "unknown");
    assert_string_equal(event_type_name((enum hutch_event_type)999), "unknown");
    assert_string_equal(event_type_name((enum hutch_event_type)-1), "unknown");
}

static void test_all_field_kinds(void **state)
{
    struct buf b = {0};
    char a[] = "a", bc[] = "b\"c", e[] = "";
    char *const strv[] = {a, bc, e, NULL};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_PROCESS_END, "id1", 5), 0);
    assert_int_equal(event_str(&b, "s", "text"), 0);
    assert_int_equal(event_str(&b, "nul", NULL), 0);
    assert_int_equal(event_strn(&b, "sn", "abcdef", 3), 0);
    assert_int_equal(event_u64(&b, "umax", UINT64_MAX), 0);
    assert_int_equal(event_u64(&b, "u0", 0), 0);
    assert_int_equal(event_i64(&b, "ineg", -42), 0);
    assert_int_equal(event_i64(&b, "imin", INT64_MIN), 0);
    assert_int_equal(event_bool(&b, "t", true), 0);
    assert_int_equal(event_bool(&b, "f", false), 0);
    assert_int_equal(event_null(&b, "n"), 0);
    assert_int_equal(event_raw(&b, "raw", "{\"x\":[1,2]}"), 0);
    assert_int_equal(event_strv(&b, "argv", strv), 0);
    assert_int_equal(event_strv(&b, "empty", NULL), 0);
    assert_int_equal(event_end(&b), 0);
    /* exact text of the numbers (jansson cannot hold UINT64_MAX) */
    assert_non_null(strstr(b.data, ",\"umax\":18446744073709551615,"));
    assert_non_null(strstr(b.data, ",\"imin\":-9223372036854775808,"));
    assert_non_null(strstr(b.data, ",\"argv\":[\"a\",\"b\\\"c\",\"\"],"));
    assert_non_null(strstr(b.data, ",\"empty\":[]}"));
    assert_null(strchr(b.data, '\n')); /* one line */
    /* parse what jansson can: replace the out-of-range number first */
    char *copy = strdup(b.data);
    assert_non_null(copy);
    char *u = strstr(copy, "18446744073709551615");
    memcpy(u, "1                   ", 20); /* same length, JSON whitespace */
    json_error_t je;
    json_t *j = json_loads(copy, 0, &je);
    if (!j)
        print_error("not JSON (%s at %d): %s\n", je.text, je.position, copy);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "s")), "text");
    assert_true(json_is_null(json_object_get(j, "nul")));
    assert_string_equal(json_string_value(json_object_get(j, "sn")), "abc");
    assert_int_equal(json_integer_value(json_object_get(j, "u0")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "ineg")), -42);
    assert_true(json_is_true(json_object_get(j, "t")));
    assert_true(json_is_false(json_object_get(j, "f")));
    assert_true(json_is_null(json_object_get(j, "n")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(json_object_get(j, "raw"),
                                                                       "x"),
                                                       1)),
                     2);
    json_t *argv = json_object_get(j, "argv");
    assert_int_equal(json_array_size(argv), 3);
    assert_string_equal(json_string_value(json_array_get(argv, 1)), "b\"c");
    json_decref(j);
    free(copy);
    buf_free(&b);
}

static void test_event_accessors(void **state)
{
    const char *json = "{\"v\":1}";
    struct hutch_event ev = {.type = HUTCH_EVENT_PHASE, .json = json, .len = strlen(json)};
    size_t len = 0;
    assert_int_equal(hutch_event_type(&ev), HUTCH_EVENT_PHASE);
    assert_ptr_equal(hutch_event_json(&ev, &len), json);
    assert_int_equal(len, strlen(json));
    assert_ptr_equal(hutch_event_json(&ev, NULL), json);
}

/* ------------------------------------------------------------------ escaping */

static void test_escape_specials(void **state)
{
    struct buf b = {0};
    encode_string(&b, "a\"b\\c/d", 7);
    assert_string_equal(b.data, "\"a\\\"b\\\\c/d\"");
    encode_string(&b, "\n\r\t\b\f", 5);
    assert_string_equal(b.data, "\"\\n\\r\\t\\b\\f\"");
    encode_string(&b, "\x01\x1f\x7f", 3);
    assert_string_equal(b.data, "\"\\u0001\\u001f\x7f\""); /* DEL needs no escape */
    encode_string(&b, "", 0);
    assert_string_equal(b.data, "\"\"");
    buf_free(&b);
}

static void test_escape_every_control_char_round_trips(void **state)
{
    char in[40];
    size_t n = 0;
    for (int c = 0; c < 0x20; c++)
        in[n++] = (char)c;
    in[n++] = '"';
    in[n++] = '\\';
    in[n++] = 'z';
    struct buf b = {0};
    encode_string(&b, in, n);
    /* nothing below 0x20 appears raw in the encoding */
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] >= 0x20);
    size_t len;
    char *out = decode_string(&b, &len);
    assert_int_equal(len, n);
    assert_memory_equal(out, in, n);
    free(out);
    buf_free(&b);
}

static void test_escape_nul_byte(void **state)
{
    struct buf b = {0};
    encode_string(&b, "a\0b", 3);
    assert_string_equal(b.data, "\"a\\u0000b\"");
    size_t len;
    char *out = decode_string(&b, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "a\0b", 3);
    free(out);
    buf_free(&b);
}

static void test_valid_utf8_passes_through(void **state)
{
    const char *s = "h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf \xef\xbf\xbd";
    struct buf b = {0};
    encode_string(&b, s, strlen(s));
    assert_int_equal(b.len, strlen(s) + 2);
    assert_memory_equal(b.data + 1, s, strlen(s));
    buf_free(&b);
}

/* Each case: input bytes -> the exact encoding (U+FFFD = EF BF BD for each bad byte). */
static void test_invalid_utf8_becomes_replacement(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"\xff", 1, "\"\xef\xbf\xbd\""},
        {"a\xfe" "b", 3, "\"a\xef\xbf\xbd" "b\""},
        {"\x80", 1, "\"\xef\xbf\xbd\""},                         /* lone continuation */
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},         /* overlong '/' */
        {"\xc1\xbf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},         /* overlong */
        {"\xe0\x80\xaf", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 3-byte */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate D800 */
        {"\xf4\x90\x80\x80", 4,
         "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},      /* above U+10FFFF */
        {"\xf5\x80", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xe2\x82", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},         /* truncated at the end */
        {"\xe2\x82" "a", 3, "\"\xef\xbf\xbd\xef\xbf\xbd" "a\""}, /* interrupted */
        {"\xc3" "\xc3\xa9", 3, "\"\xef\xbf\xbd\xc3\xa9\""},      /* bad lead, good char */
    };
    struct buf b = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        encode_string(&b, cases[i].in, cases[i].n);
        if (strcmp(b.data, cases[i].want))
            print_error("case %zu: got %s\n", i, b.data);
        assert_string_equal(b.data, cases[i].want);
        assert_true(utf8_valid((const unsigned char *)b.data, b.len));
        json_decref(parse(&b));
    }
    buf_free(&b);
}

static void test_large_string(void **state)
{
    size_t n = 1 << 20;
    char *in = malloc(n);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)(i % 251); /* every byte value below 251: controls, ASCII, invalid */
    struct buf b = {0};
    encode_string(&b, in, n);
    assert_true(utf8_valid((const unsigned char *)b.data, b.len));
    json_decref(parse(&b));
    free(in);
    buf_free(&b);
}

/* ------------------------------------------------------------------ UTF-8 helpers */

static size_t split(const char *s, size_t n)
{
    return utf8_split_point((const unsigned char *)s, n);
}

static void test_split_point_holds_back_incomplete(void **state)
{
    assert_int_equal(split("a\xc3", 2), 1);                 /* 2-byte, 1 of 2 */
    assert_int_equal(split("a\xe2", 2), 1);                 /* 3-byte, 1 of 3 */
    assert_int_equal(split("a\xe2\x82", 3), 1);             /* 3-byte, 2 of 3 */
    assert_int_equal(split("a\xf0", 2), 1);                 /* 4-byte, 1 of 4 */
    assert_int_equal(split("a\xf0\x9d", 3), 1);             /* 4-byte, 2 of 4 */
    assert_int_equal(split("a\xf0\x9d\x84", 4), 1);         /* 4-byte, 3 of 4 */
    assert_int_equal(split("\xc3", 1), 0);
    assert_int_equal(split("\xf0\x9d\x84", 3), 0);
    assert_int_equal(split("xyz\xe2\x82\xac\xe2\x82", 8), 6); /* after a complete char */
}

static void test_split_point_keeps_complete(void **state)
{
    assert_int_equal(split("", 0), 0);
    assert_int_equal(split("abc", 3), 3);
    assert_int_equal(split("a\xc3\xa9", 3), 3);
    assert_int_equal(split("a\xe2\x82\xac", 4), 4);
    assert_int_equal(split("a\xf0\x9d\x84\x9e", 5), 5);
    assert_int_equal(split("\xf0\x9d\x84\x9e\xc3\xa9", 6), 6);
}

static void test_split_point_passes_invalid(void **state)
{
    /* bytes that can never become valid are not held back (they go out as they are) */
    assert_int_equal(split("a\xff", 2), 2);
    assert_int_equal(split("a\x80", 2), 2);             /* lone continuation */
    assert_int_equal(split("a\x80\x80\x80\x80", 5), 5); /* more continuations than fit */
    assert_int_equal(split("a\xc0", 2), 2);             /* C0/C1 are never leads */
    assert_int_equal(split("a\xf5", 2), 2);
    assert_int_equal(split("a\xe0\x80", 3), 3);         /* E0 80 is overlong already */
    assert_int_equal(split("a\xed\xa0", 3), 3);         /* a surrogate already */
    assert_int_equal(split("a\xf4\x90", 3), 3);         /* above U+10FFFF already */
    assert_int_equal(split("a\xe2" "b", 3), 3);         /* interrupted by ASCII */
}

/* Feeding any stream in chunks cut at the split points never cuts a character. */
static void test_split_point_streaming(void **state)
{
    static const char cyc[] = "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e" "a";
    char stream[1000];
    for (size_t i = 0; i < sizeof(stream); i++)
        stream[i] = cyc[i % 10];
    for (size_t chunk = 1; chunk <= 17; chunk++) {
        size_t pos = 0, held = 0;
        char pending[8];
        while (pos < sizeof(stream)) {
            char tmp[32];
            size_t take = sizeof(stream) - pos < chunk ? sizeof(stream) - pos : chunk;
            memcpy(tmp, pending, held);
            memcpy(tmp + held, stream + pos, take);
            size_t n = held + take;
            size_t cut = utf8_split_point((unsigned char *)tmp, n);
            assert_true(n - cut <= 3);
            assert_true(utf8_valid((unsigned char *)tmp, cut));
            held = n - cut;
            memcpy(pending, tmp + cut, held);
            pos += take;
        }
        assert_int_equal(held, 0); /* the stream ends on a whole character */
    }
}

static void test_utf8_valid(void **state)
{
    const unsigned char *u = (const unsigned char *)"a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
    assert_true(utf8_valid(u, 10));
    assert_true(utf8_valid(u, 0));
    assert_false(utf8_valid(u, 2));  /* cut inside é */
    assert_false(utf8_valid(u, 9));  /* cut inside 𝄞 */
    assert_true(utf8_valid((const unsigned char *)"\0\x7f", 2));
    assert_false(utf8_valid((const unsigned char *)"\xff", 1));
    assert_false(utf8_valid((const unsigned char *)"\xc0\x80", 2));     /* overlong NUL */
    assert_false(utf8_valid((const unsigned char *)"\xed\xbf\xbf", 3)); /* surrogate */
    assert_true(utf8_valid((const unsigned char *)"\xee\x80\x80", 3));  /* U+E000 */
    assert_true(utf8_valid((const unsigned char *)"\xf4\x8f\xbf\xbf", 4));
    assert_false(utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
}

/* ------------------------------------------------------------------ output events */

static int b64val(int c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(t, c);
    return c && p ? (int)(p - t) : -1;
}

/* A strict base64 decoder (padding required) for checking data_b64. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    assert_int_equal(len % 4, 0);
    unsigned char *out = malloc(len / 4 * 3 + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' ? 0 : b64val(s[i + k]);
        for (int k = 0; k < 4; k++)
            assert_true(v[k] >= 0);
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        out[o++] = (unsigned char)(x >> 16);
        if (s[i + 2] != '=')
            out[o++] = (unsigned char)(x >> 8);
        if (s[i + 3] != '=')
            out[o++] = (unsigned char)x;
    }
    *n = o;
    return out;
}

/* Encodes an output event around data and returns it parsed. */
static json_t *output_event(const void *data, size_t n, const char *stream)
{
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_OUTPUT, "x", 1), 0);
    assert_int_equal(event_output_data(&b, stream, data, n), 0);
    assert_int_equal(event_end(&b), 0);
    json_t *j = parse(&b);
    buf_free(&b);
    assert_string_equal(json_string_value(json_object_get(j, "stream")), stream);
    return j;
}

static void test_output_text_uses_data(void **state)
{
    const char *s = "line 1\nline \"2\" \xe2\x82\xac\t\x01\n";
    json_t *j = output_event(s, strlen(s), "stdout");
    assert_null(json_object_get(j, "data_b64"));
    json_t *d = json_object_get(j, "data");
    assert_true(json_is_string(d));
    assert_int_equal(json_string_length(d), strlen(s));
    assert_memory_equal(json_string_value(d), s, strlen(s));
    json_decref(j);
    j = output_event("", 0, "stderr");
    assert_string_equal(json_string_value(json_object_get(j, "data")), "");
    json_decref(j);
}

static void test_output_nul_is_text(void **state)
{
    /* NUL is valid UTF-8: it travels as \u0000 in data, and decodes back */
    json_t *j = output_event("a\0b", 3, "stdout");
    json_t *d = json_object_get(j, "data");
    assert_non_null(d);
    assert_int_equal(json_string_length(d), 3);
    assert_memory_equal(json_string_value(d), "a\0b", 3);
    json_decref(j);
}

static void test_output_binary_uses_data_b64(void **state)
{
    static const unsigned char bin[] = {0xff, 0xfe, 0x00, 0x01, 'a', 'b', 0xc3, '\n'};
    json_t *j = output_event(bin, sizeof(bin), "stdout");
    assert_null(json_object_get(j, "data"));
    const char *b64 = json_string_value(json_object_get(j, "data_b64"));
    assert_non_null(b64);
    size_t n;
    unsigned char *dec = b64_decode(b64, &n);
    assert_int_equal(n, sizeof(bin));
    assert_memory_equal(dec, bin, n);
    free(dec);
    json_decref(j);
}

static void test_output_b64_padding(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"\xff", 1, "/w=="},
        {"\xff\xfe", 2, "//4="},
        {"\xff\xfe\xfd", 3, "//79"},
        {"\xff\xfe\xfd\xfc", 4, "//79/A=="},
        {"a\xff" "bc", 4, "Yf9iYw=="},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = output_event(cases[i].in, cases[i].n, "stderr");
        assert_string_equal(json_string_value(json_object_get(j, "data_b64")), cases[i].want);
        json_decref(j);
    }
}

static void test_output_b64_all_bytes(void **state)
{
    unsigned char all[256 * 3 + 1];
    for (size_t i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)(255 - i % 256);
    for (size_t n = 1; n < sizeof(all); n += 37) {
        json_t *j = output_event(all, n, "stdout");
        const char *b64 = json_string_value(json_object_get(j, "data_b64"));
        assert_non_null(b64); /* starts with 0xff: never valid UTF-8 */
        size_t got;
        unsigned char *dec = b64_decode(b64, &got);
        assert_int_equal(got, n);
        assert_memory_equal(dec, all, n);
        free(dec);
        json_decref(j);
    }
}

/* ------------------------------------------------------------------ error chains */

static void test_error_chain(void **state)
{
    struct hutch_error *err = NULL;
    hutch_err(&err, ENOENT, "open", "/r/bin/sh", "no such file \"x\"\n");
    hutch_err(&err, ENOENT, NULL, NULL, "command not found");
    hutch_err_set_exit(&err, 127);
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_ERROR, "id", 2), 0);
    assert_int_equal(event_error_chain(&b, "cause", err), 0);
    assert_int_equal(event_end(&b), 0);
    json_t *j = parse(&b);
    json_t *chain = json_object_get(j, "cause");
    assert_true(json_is_array(chain));
    assert_int_equal(json_array_size(chain), 2);
    /* newest first, the deepest cause last */
    json_t *top = json_array_get(chain, 0), *deep = json_array_get(chain, 1);
    assert_int_equal(json_integer_value(json_object_get(top, "code")), ENOENT);
    assert_string_equal(json_string_value(json_object_get(top, "message")), "command not found");
    assert_null(json_object_get(top, "op")); /* absent, not null, when not set */
    assert_null(json_object_get(top, "subject"));
    assert_string_equal(json_string_value(json_object_get(deep, "op")), "open");
    assert_string_equal(json_string_value(json_object_get(deep, "subject")), "/r/bin/sh");
    assert_string_equal(json_string_value(json_object_get(deep, "message")),
                        "no such file \"x\"\n");
    assert_null(strchr(b.data, '\n')); /* still one line */
    json_decref(j);
    buf_free(&b);
    hutch_error_free(err);
}

static void test_error_chain_empty(void **state)
{
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_ERROR, "id", 2), 0);
    assert_int_equal(event_error_chain(&b, "cause", NULL), 0);
    assert_int_equal(event_end(&b), 0);
    assert_non_null(strstr(b.data, ",\"cause\":[]}"));
    json_decref(parse(&b));
    buf_free(&b);
}

static void test_error_chain_invalid_utf8_message(void **state)
{
    struct hutch_error *err = NULL;
    hutch_err(&err, EINVAL, "parse", "--user", "invalid value '\xff\xfe'");
    struct buf b = {0};
    assert_int_equal(event_begin(&b, HUTCH_EVENT_ERROR, "id", 2), 0);
    assert_int_equal(event_error_chain(&b, "cause", err), 0);
    assert_int_equal(event_end(&b), 0);
    assert_true(utf8_valid((const unsigned char *)b.data, b.len));
    json_t *j = parse(&b);
    const char *m = json_string_value(json_object_get(json_array_get(json_object_get(j, "cause"), 0),
                                                      "message"));
    assert_string_equal(m, "invalid value '\xef\xbf\xbd\xef\xbf\xbd'");
    json_decref(j);
    buf_free(&b);
    hutch_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_end_shape),
        cmocka_unit_test(test_begin_null_id),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_all_field_kinds),
        cmocka_unit_test(test_event_accessors),
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_every_control_char_round_trips),
        cmocka_unit_test(test_escape_nul_byte),
        cmocka_unit_test(test_valid_utf8_passes_through),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement),
        cmocka_unit_test(test_large_string),
        cmocka_unit_test(test_split_point_holds_back_incomplete),
        cmocka_unit_test(test_split_point_keeps_complete),
        cmocka_unit_test(test_split_point_passes_invalid),
        cmocka_unit_test(test_split_point_streaming),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_output_text_uses_data),
        cmocka_unit_test(test_output_nul_is_text),
        cmocka_unit_test(test_output_binary_uses_data_b64),
        cmocka_unit_test(test_output_b64_padding),
        cmocka_unit_test(test_output_b64_all_bytes),
        cmocka_unit_test(test_error_chain),
        cmocka_unit_test(test_error_chain_empty),
        cmocka_unit_test(test_error_chain_invalid_utf8_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
