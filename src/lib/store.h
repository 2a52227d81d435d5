/* SPDX-License-Identifier: MIT */
/*
 * The image store under HUTCH_ROOT (DESIGN.md §5):
 *
 *   lock                    flock: shared while importing / resolving, exclusive for rm/prune
 *   blobs/sha256/<hex>      verified manifests and configs (layer blobs are verified while
 *                           they are extracted and not kept: the extracted tree is what runs)
 *   layers/<diff-id hex>/   one extracted layer, renamed into place once, read-only from then
 *   layers/<diff-id hex>.json  its metadata (sizes, entries, compressed digests, warnings)
 *   locks/<diff-id hex>.lock   flock held while that layer is being extracted
 *   images/<escaped ref>.json  NAME:TAG -> manifest digest
 *   tmp/                    staging (temporary layer dirs, unpacked archives, blobs in flight)
 *
 * Everything is created in tmp/ and renamed into place, so a reader never sees half an image.
 * ROOT and its subdirectories are 0700: layers hold setuid files that only sandboxes may use.
 *
 * `hutch image rm` removes the reference only; the blobs and layers no image references any
 * more go at `hutch image prune`, which alone knows (from the pins under HUTCH_RUN) which of
 * them live sandboxes still use, and runs under the exclusive lock.
 *
 * Lock order: store lock, then one layer lock at a time. A process that holds a resolved
 * image (store_resolve without store_pin yet) must not call prune or rm itself: flock locks
 * belong to open files, so it would wait for itself.
 */
#ifndef HUTCH_STORE_H
#define HUTCH_STORE_H

#include "digest.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_ctx;

/* ---------------------------------------------------------------- for the run core */

/* A resolved image: what rootfs.c mounts and sandbox.c runs. */
struct image_rootfs {
    char **layers; /* absolute layer directories, lowest (base) first; NULL-terminated */
    int nlayers;
    char **env;        /* "KEY=VAL", NULL-terminated, or NULL */
    char **entrypoint; /* NULL-terminated, or NULL */
    char **cmd;        /* NULL-terminated, or NULL */
    char *workdir;     /* or NULL */
    char *user;        /* or NULL */
    char *stop_signal; /* e.g. "SIGTERM", or NULL */
    char *ref;         /* NAME:TAG */
    char *digest;      /* manifest digest "sha256:..." */
    /* the store's own */
    char *config_digest;
    char **layer_ids; /* diff-id hex of each layer, same order */
    int lock_fd;      /* the store lock, held shared from store_resolve until store_pin/free */
};

/*
 * Find an image by NAME:TAG, NAME (means :latest), its manifest digest "sha256:<hex>" or a
 * unique prefix of it (4+ hex digits, with or without "sha256:"), and read its config.
 * Holds the store lock shared until store_pin() or image_rootfs_free(), so a concurrent prune
 * cannot remove the layers in between. -ENOENT when there is no such image.
 */
int store_resolve(struct hutch_ctx *ctx, const char *ref, struct image_rootfs **out,
                  struct hutch_error **err);
/*
 * Record in state_dir (the sandbox's directory under ctx->run_dir) which image and layers it
 * uses (state_dir/image-pin.json, with this process's pid), then release the store lock.
 * Prune keeps the layers of every state dir whose `lock` is held (state.c) or whose pinning
 * process is alive.
 */
int store_pin(struct hutch_ctx *ctx, struct image_rootfs *img, const char *state_dir,
              struct hutch_error **err);
void image_rootfs_free(struct image_rootfs *img);

#define STORE_PIN_FILE "image-pin.json"

/* ---------------------------------------------------------------- for import.c */

struct store {
    int root_fd; /* ROOT, O_PATH */
    int lock_fd; /* ROOT/lock */
    const char *root;
};

/* Open the store (creating its directories when create) and take the lock (LOCK_SH or
 * LOCK_EX). -ENOENT when it does not exist and !create. */
int store_open(struct hutch_ctx *ctx, bool create, int lock_op, struct store *s,
               struct hutch_error **err);
void store_close(struct store *s);

/* Write a blob (verified against expect_hex when not NULL); *created tells whether it is new.
 * The digest is returned in hex_out. */
int store_blob_put(struct store *s, const char *data, size_t len, const char *expect_hex,
                   char hex_out[DIGEST_HEX_LEN + 1], bool *created, struct hutch_error **err);
/* Read a blob back, checking its digest. */
int store_blob_read(struct store *s, const char *hex, char **data, size_t *len,
                    struct hutch_error **err);

/* Take the per-layer lock (exclusive, blocking) and return its fd; close it to release. */
int store_layer_lock(struct store *s, const char *hex, int *fd_out, struct hutch_error **err);
bool store_layer_exists(struct store *s, const char *hex);
/* Make a fresh directory tmp/<prefix>-<random>; *name_out is its path relative to ROOT. */
int store_mktemp(struct store *s, const char *prefix, char **name_out, int *fd_out,
                 struct hutch_error **err);
/* Write layers/<hex>.json, then rename tmp_name to layers/<hex>. -EEXIST if already there. */
int store_layer_commit(struct store *s, const char *tmp_name, const char *hex,
                       const char *meta_json, struct hutch_error **err);
/* Point NAME:TAG at a manifest (atomic replace). */
int store_ref_write(struct store *s, const char *ref, const char *manifest_hex,
                    struct hutch_error **err);
/* After a failed import: take the lock exclusive and remove the blobs and layers this import
 * created that nothing references. Best effort. */
void store_rollback(struct hutch_ctx *ctx, struct store *s, char **blobs, size_t nblobs,
                    char **layers, size_t nlayers);

#endif
