/* SPDX-License-Identifier: MIT */
/*
 * The input side of layer_extract() (layer.h): a feeder thread reads the layer, hashes it,
 * decompresses it (in-process decompressors only), hashes the tar stream and hands it over in
 * blocks to the tar reader in layer.c.
 */
#include "layer_internal.h"

#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRESS_EVERY (512u * 1024)

/* ---------------------------------------------------------------- streams */

/*
 * A feeder thread reads the input, hashes it, decompresses it, hashes the tar stream and
 * hands it over in blocks; the calling thread parses the tar and writes files. Like
 * `gzip -d | tar -x`, decompression and extraction overlap. The thread touches only the
 * outer archive, the digests and the counters, and is joined before layer_extract returns;
 * callbacks (progress, warnings) run on the calling thread.
 */
static void feeder_fail(struct extract *x, int errnum, const char *msg)
{
    struct feeder *f = &x->feed;
    pthread_mutex_lock(&f->mu);
    if (!f->err) {
        f->err = errnum > 0 ? errnum : EIO;
        snprintf(f->msg, sizeof(f->msg), "%s", msg ? msg : "decompression failed");
    }
    f->eof = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* The compressed input: hashed as read, so the blob digest costs no second pass. */
static la_ssize_t outer_read(struct archive *a, void *ud, const void **buf)
{
    struct extract *x = ud;
    ssize_t n;
    do
        n = read(x->src_fd, x->inbuf, IN_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (a)
            archive_set_error(a, errno, "read: %s", strerror(errno));
        return -1;
    }
    digest_update(&x->cdig, x->inbuf, (size_t)n);
    x->res->compressed_size += (uint64_t)n;
    __atomic_store_n(&x->feed.cbytes, x->res->compressed_size, __ATOMIC_RELAXED);
    *buf = x->inbuf;
    return n;
}

static int feeder_open(struct extract *x)
{
    struct archive *o = x->outer;
    /* Only in-process decompressors: libarchive would otherwise run external programs. */
    switch (x->o->comp) {
    case IMAGE_COMP_NONE:
        break;
    case IMAGE_COMP_GZIP:
        archive_read_support_filter_gzip(o);
        break;
    case IMAGE_COMP_ZSTD:
        archive_read_support_filter_zstd(o);
        break;
    default:
        archive_read_support_filter_gzip(o);
        archive_read_support_filter_zstd(o);
        archive_read_support_filter_xz(o);
        archive_read_support_filter_bzip2(o);
        archive_read_support_filter_lz4(o);
        break;
    }
    archive_read_support_format_raw(o);
    archive_read_support_format_empty(o);
    struct archive_entry *e;
    int r = archive_read_open(o, x, NULL, outer_read, NULL);
    if (r == ARCHIVE_OK)
        r = archive_read_next_header(o, &e);
    if (r == ARCHIVE_EOF)
        x->feed.empty = true;
    else if (r < ARCHIVE_WARN)
        return -1;
    switch (archive_filter_code(o, 0)) {
    case ARCHIVE_FILTER_GZIP:
        x->res->comp = IMAGE_COMP_GZIP;
        break;
    case ARCHIVE_FILTER_ZSTD:
        x->res->comp = IMAGE_COMP_ZSTD;
        break;
    case ARCHIVE_FILTER_NONE:
        x->res->comp = IMAGE_COMP_NONE;
        break;
    default:
        x->res->comp = IMAGE_COMP_DETECT;
        break;
    }
    return 0;
}

/* Fill one block with uncompressed bytes; 0 at the end, -1 on error (reported). */
static la_ssize_t feeder_fill(struct extract *x, char *blk)
{
    size_t len = 0;
    while (!x->feed.empty && len < FEED_BLOCK) {
        la_ssize_t n = archive_read_data(x->outer, blk + len, FEED_BLOCK - len);
        if (n < 0) {
            feeder_fail(x, archive_errno(x->outer), archive_error_string(x->outer));
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    digest_update(&x->udig, blk, len);
    x->res->size += len;
    if (x->res->size > x->max_bytes) {
        feeder_fail(x, EFBIG, "over the size limit");
        return -1;
    }
    return (la_ssize_t)len;
}

static void *feeder_main(void *arg)
{
    struct extract *x = arg;
    struct feeder *f = &x->feed;
    if (feeder_open(x) < 0) {
        feeder_fail(x, archive_errno(x->outer), archive_error_string(x->outer));
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->tail - f->head >= FEED_BLOCKS && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        bool stop = f->stop;
        char *blk = f->blocks[f->tail % FEED_BLOCKS];
        pthread_mutex_unlock(&f->mu);
        if (stop)
            return NULL;
        la_ssize_t n = feeder_fill(x, blk);
        if (n < 0)
            return NULL;
        if (n == 0)
            break;
        pthread_mutex_lock(&f->mu);
        f->lens[f->tail % FEED_BLOCKS] = (size_t)n;
        f->tail++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    /* the rest of the input (after the end of the compressed stream) is part of the blob */
    const void *buf;
    la_ssize_t n;
    while ((n = outer_read(NULL, x, &buf)) > 0)
        ;
    if (n < 0) {
        feeder_fail(x, errno, strerror(errno));
        return NULL;
    }
    pthread_mutex_lock(&f->mu);
    f->eof = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* The next uncompressed block (valid until the next call): its length, 0 at the end, -1 on
 * error (with f->err set). */
static la_ssize_t feeder_pull(struct extract *x, const void **buf)
{
    struct feeder *f = &x->feed;
    la_ssize_t n = 0;
    pthread_mutex_lock(&f->mu);
    if (f->held) {
        f->head++;
        f->held = false;
        pthread_cond_broadcast(&f->cv);
    }
    while (f->head == f->tail && !f->eof)
        pthread_cond_wait(&f->cv, &f->mu);
    if (f->head != f->tail) {
        *buf = f->blocks[f->head % FEED_BLOCKS];
        n = (la_ssize_t)f->lens[f->head % FEED_BLOCKS];
        f->held = true;
    } else if (f->err) {
        n = -1;
    }
    pthread_mutex_unlock(&f->mu);
    uint64_t cbytes = __atomic_load_n(&f->cbytes, __ATOMIC_RELAXED);
    if (x->o->progress && cbytes - x->last_progress >= PROGRESS_EVERY) {
        x->last_progress = cbytes;
        x->o->progress(cbytes, x->o->userdata);
    }
    return n;
}

static la_ssize_t inner_read(struct archive *a, void *ud, const void **buf)
{
    struct extract *x = ud;
    la_ssize_t n = feeder_pull(x, buf);
    if (n < 0)
        archive_set_error(a, x->feed.err, "%s", x->feed.msg);
    return n;
}

int layer_streams_open(struct extract *x)
{
    struct feeder *f = &x->feed;
    x->outer = archive_read_new();
    x->inner = archive_read_new();
    for (size_t i = 0; i < FEED_BLOCKS; i++)
        if (!(f->blocks[i] = malloc(FEED_BLOCK)))
            return hutch_err(x->err, ENOMEM, "extract", NULL, "out of memory");
    if (!x->outer || !x->inner)
        return hutch_err(x->err, ENOMEM, "extract", NULL, "out of memory");
    archive_read_support_format_tar(x->inner);
    archive_read_support_format_empty(x->inner);
    int r = pthread_create(&f->thread, NULL, feeder_main, x);
    if (r != 0)
        return hutch_err(x->err, r, "pthread_create", "layer", "%s", strerror(r));
    f->started = true;
    if (archive_read_open(x->inner, x, NULL, inner_read, NULL) != ARCHIVE_OK)
        return layer_archive_fail(x, x->inner, "open");
    return 0;
}

/* Stop the feeder (early, on an error) and wait for it. */
void layer_streams_stop(struct extract *x)
{
    struct feeder *f = &x->feed;
    if (!f->started)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    f->started = false;
}

/* Hash what the tar reader left unread (end-of-archive padding, trailing data). */
int layer_streams_drain(struct extract *x)
{
    const void *buf;
    la_ssize_t n;
    while ((n = feeder_pull(x, &buf)) > 0)
        ;
    layer_streams_stop(x);
    if (n < 0)
        return x->feed.err == EFBIG ? layer_archive_fail(x, x->inner, "read")
                                    : hutch_err(x->err, x->feed.err, "extract", "layer",
                                                "decompress: %s", x->feed.msg);
    return 0;
}
