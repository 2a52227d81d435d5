/* SPDX-License-Identifier: MIT */
/*
 * Safe extraction of one image layer (a tar, maybe gzip/zstd compressed) into an empty
 * directory, computing the digests of the compressed and the uncompressed stream on the way.
 *
 * libarchive only reads: every entry is written by hutch through file descriptors. Each parent
 * directory is opened with openat2(root, dir, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a layer whose entries go through a symlink — even
 * one that stays inside the layer — is refused, because a tar that writes through its own
 * symlinks is either broken or hostile, and the check is then the kernel's, not ours. Entries
 * are created with mkdirat/openat(O_CREAT|O_EXCL|O_NOFOLLOW)/symlinkat/linkat/mknodat on that
 * fd; owner, mode, xattrs and times go on the opened fd (or AT_SYMLINK_NOFOLLOW for symlinks).
 * A later entry replaces an earlier one of the same name (tar semantics) by unlinkat + create,
 * never by writing through what was there.
 *
 * OCI whiteouts become overlayfs ones: ".wh.NAME" -> a 0:0 character device 0/0 at NAME,
 * ".wh..wh..opq" -> trusted.overlay.opaque="y" on the directory.
 */
#ifndef HUTCH_LAYER_H
#define HUTCH_LAYER_H

#include "digest.h"
#include "error.h"
#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYER_DEFAULT_MAX_BYTES (16ull << 30) /* uncompressed tar stream */
#define LAYER_DEFAULT_MAX_FILES 1000000ull    /* tar entries */

enum layer_mode {
    LAYER_MODE_IMAGE = 0, /* an image layer: owners, modes, xattrs, times, whiteouts */
    LAYER_MODE_PLAIN,     /* an archive to look into (oci-archive, docker-archive): regular
                           * files, directories, symlinks and hard links only, owned by us,
                           * no special bits, no whiteouts, no xattrs */
};

struct layer_opts {
    enum layer_mode mode;
    enum image_compression comp; /* which decompressors are allowed */
    bool allow_file_caps;        /* keep security.capability xattrs (else refuse the layer) */
    uint64_t max_bytes;          /* 0 = LAYER_DEFAULT_MAX_BYTES */
    uint64_t max_files;          /* 0 = LAYER_DEFAULT_MAX_FILES */
    /* compressed bytes read so far (called every few hundred KiB) */
    void (*progress)(uint64_t bytes, void *userdata);
    /* something skipped (a device node, an unsupported xattr) */
    void (*warning)(const char *message, void *userdata);
    void *userdata;
};

struct layer_result {
    char digest[DIGEST_HEX_LEN + 1];  /* sha256 of the input as read (compressed) */
    char diff_id[DIGEST_HEX_LEN + 1]; /* sha256 of the uncompressed tar */
    uint64_t compressed_size;
    uint64_t size;               /* uncompressed tar bytes */
    uint64_t files;              /* entries */
    uint64_t skipped;            /* entries or attributes skipped with a warning */
    enum image_compression comp; /* what the content turned out to be */
};

/*
 * Extract the archive readable from src_fd into the empty directory open at dest_fd.
 * Returns 0, or -errno with *err naming the entry: -EINVAL for a hostile or malformed entry
 * (.., absolute path, path through a symlink, link or whiteout outside, '.' not a directory),
 * -EPERM for a refused file capability, -EFBIG for a layer over the limits. On failure the
 * directory holds a partial extraction: the caller removes it.
 */
int layer_extract(int src_fd, int dest_fd, const struct layer_opts *opts, struct layer_result *res,
                  struct hutch_error **err);

/* Pure helpers (unit-tested). */

/* Normalize a tar path: drop "." components, empty components and a leading "./"; "" means
 * the root. -EINVAL for an absolute path, a ".." component, an empty name or one too long. */
int layer_path_normalize(const char *in, char *out, size_t outsz);

enum layer_whiteout {
    LAYER_WHITEOUT_NONE = 0,
    LAYER_WHITEOUT_FILE,    /* target = the path to hide */
    LAYER_WHITEOUT_OPAQUE,  /* target = the directory to make opaque ("" = root) */
    LAYER_WHITEOUT_INVALID, /* ".wh." with no usable name, or another ".wh..wh." marker */
};

/* Classify a normalized path; *target gets the path the whiteout is aimed at. */
enum layer_whiteout layer_whiteout_classify(const char *path, char *target, size_t targetsz);

#endif
