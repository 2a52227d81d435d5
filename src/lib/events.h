/* SPDX-License-Identifier: MIT */
/* Event encoding (pure code): JSON Lines objects of schema version 1 (DESIGN.md §3). */
#ifndef HUTCH_EVENTS_H
#define HUTCH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"
#include "util.h"

struct hutch_event {
    enum hutch_event_type type;
    const char *json; /* one object, no newline */
    size_t len;
};

/* Name of an event type as it appears in "type". */
const char *event_type_name(enum hutch_event_type t);

/* Start an object: {"v":1,"type":T,"id":ID,"ts":TS  (ts in unix ns) */
int event_begin(struct buf *b, enum hutch_event_type t, const char *id, uint64_t ts);
/* ,"key":VALUE — keys are trusted literals; string values are escaped */
int event_str(struct buf *b, const char *key, const char *value);
int event_strn(struct buf *b, const char *key, const char *value, size_t len);
int event_u64(struct buf *b, const char *key, uint64_t v);
int event_i64(struct buf *b, const char *key, int64_t v);
int event_bool(struct buf *b, const char *key, bool v);
int event_null(struct buf *b, const char *key);
/* ,"key":RAW where RAW is already valid JSON */
int event_raw(struct buf *b, const char *key, const char *json);
/* ,"key":["a","b"] */
int event_strv(struct buf *b, const char *key, char *const *v);
/* ,"key":[{"code":..,"op":..,"subject":..,"message":..},...] deepest cause last */
int event_error_chain(struct buf *b, const char *key, const struct hutch_error *err);
int event_end(struct buf *b);

/* Append s[0..n) as a JSON string (with quotes); invalid UTF-8 becomes U+FFFD. */
int json_append_string(struct buf *b, const char *s, size_t n);

/* Length of the longest prefix of data[0..n) that does not end inside a UTF-8 sequence which
 * could still be completed by later bytes (at most 3 bytes are held back). */
size_t utf8_split_point(const unsigned char *data, size_t n);
/* true if data[0..n) is entirely valid UTF-8 */
bool utf8_valid(const unsigned char *data, size_t n);

/* The body of an output event: ,"stream":S,"data":"..." or ,"data_b64":"..." */
int event_output_data(struct buf *b, const char *stream, const unsigned char *data, size_t n);

#endif
