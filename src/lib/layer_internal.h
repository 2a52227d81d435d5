/* SPDX-License-Identifier: MIT */
/*
 * Layer extraction's insides, shared by layer.c (the tar side: entries, directories,
 * metadata) and layer_stream.c (the feeder thread: read, hash, decompress, hand over blocks).
 */
#ifndef HUTCH_LAYER_INTERNAL_H
#define HUTCH_LAYER_INTERNAL_H

#include "digest.h"
#include "error.h"
#include "layer.h"

#include <archive.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IN_CHUNK (256u * 1024)

struct dir_time {
    char *path;
    struct timespec ts[2];
};

#define FEED_BLOCKS 8
#define FEED_BLOCK  (1u << 20)

struct feeder {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *blocks[FEED_BLOCKS];
    size_t lens[FEED_BLOCKS];
    unsigned head, tail; /* blocks consumed / produced */
    bool held;           /* the tar reader still uses blocks[head] */
    bool empty;          /* the input is empty */
    bool eof, stop;
    int err;
    char msg[256];
    uint64_t cbytes; /* compressed bytes read, for progress (atomic) */
};

struct extract {
    const struct layer_opts *o;
    struct layer_result *res;
    struct hutch_error **err;
    int src_fd;
    int root_fd;                   /* O_RDONLY|O_DIRECTORY on the destination */
    struct archive *outer, *inner; /* outer: the feeder's; inner: the caller's */
    struct digest cdig, udig;      /* the feeder's until it is joined */
    char *inbuf;
    uint64_t max_bytes, max_files, last_progress;
    struct feeder feed;
    char *pcache_path; /* the last parent directory opened, and its O_PATH fd */
    int pcache_fd;
    struct dir_time *dirs;
    size_t ndirs, capdirs;
    const char *entry; /* the entry's path as written in the tar, for messages */
};

/* Error helpers (layer.c). An archive error, or the size limit the feeder hit. */
int layer_archive_fail(struct extract *x, struct archive *a, const char *what);

/* Streams (layer_stream.c). Start the feeder thread and open the tar reader on its blocks. */
int layer_streams_open(struct extract *x);
/* Stop the feeder (early, on an error) and wait for it. */
void layer_streams_stop(struct extract *x);
/* Hash what the tar reader left unread (end-of-archive padding, trailing data). */
int layer_streams_drain(struct extract *x);

#endif
