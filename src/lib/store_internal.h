/* SPDX-License-Identifier: MIT */
/* The image store's insides, shared by store.c (open, blobs, layers, refs, resolve, pin, list)
 * and store_gc.c (what is referenced, rollback, prune). Layout: store.h. */
#ifndef HUTCH_STORE_INTERNAL_H
#define HUTCH_STORE_INTERNAL_H

#include "digest.h"
#include "error.h"
#include "image.h"
#include "store.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BLOB_DIR  "blobs/sha256"
#define LAYER_DIR "layers"
#define IMAGE_DIR "images"
#define TMP_DIR   "tmp"
#define LOCK_DIR  "locks"

static inline void json_decref_(json_t **j)
{
    json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_)))

static inline void closedir_(DIR **d)
{
    if (*d)
        closedir(*d);
}
#define _cleanup_dir_ __attribute__((cleanup(closedir_)))

struct ref_entry {
    char *name;
    char hex[DIGEST_HEX_LEN + 1];
    long long imported;
};

/* An image's manifest and config, read from the blobs. */
struct loaded {
    struct image_manifest *m;
    struct image_config *c;
    char *config_json;
};

/* store.c */

/* flock(fd, op), retried on EINTR; 0 or -errno. */
int store_lock_fd_op(int fd, int op);
/* Read a JSON object from dirfd/path (at most IMAGE_JSON_MAX bytes). */
int store_json_read_at(int dirfd, const char *path, json_t **out, struct hutch_error **err);
/* Dump j (indented, keys in order) into *out and drop j; -ENOMEM when j is NULL. */
int store_json_emit(json_t *j, char **out, struct hutch_error **err);
/* Every image reference, sorted by name. */
int store_refs_load(struct store *s, struct ref_entry **out, size_t *n, struct hutch_error **err);
void store_refs_free(struct ref_entry *v, size_t n);
/* Read and check an image's manifest and config (the numbers of layers and diff_ids agree). */
int store_image_load(struct store *s, const char *manifest_hex, struct loaded *l,
                     struct hutch_error **err);
void store_loaded_clear(struct loaded *l);
/* A layer's metadata (layers/<hex>.json), or NULL when it cannot be read. */
json_t *store_layer_meta(struct store *s, const char *hex);

/* store_gc.c */

/* /proc/<pid>/stat starttime (0 when unknown): a pid plus this names one process. */
unsigned long long store_proc_start_time(pid_t pid);

#endif
