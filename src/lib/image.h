/* SPDX-License-Identifier: MIT */
/*
 * OCI / Docker image documents (pure code: no syscalls). Parses image indexes (and Docker
 * manifest lists), manifests, configs and docker-archive manifest.json; picks a platform;
 * normalizes image references; builds the manifest and config that hutch synthesizes for
 * docker-archives and rootfs tarballs. Every parser takes untrusted bytes and is fuzzed
 * (tests/fuzz/fuzz_image_manifest.c).
 */
#ifndef HUTCH_IMAGE_H
#define HUTCH_IMAGE_H

#include "digest.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest JSON document (index, manifest, config, manifest.json) hutch reads. */
#define IMAGE_JSON_MAX (16u << 20)

#define IMAGE_MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_OCI_LAYER     "application/vnd.oci.image.layer.v1.tar"
#define IMAGE_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum image_kind {
    IMAGE_KIND_UNKNOWN = 0,
    IMAGE_KIND_INDEX,         /* OCI index, Docker manifest list */
    IMAGE_KIND_MANIFEST,      /* OCI manifest, Docker schema2 manifest */
    IMAGE_KIND_CONFIG,        /* OCI config, Docker container config */
    IMAGE_KIND_LAYER,         /* a tar, maybe compressed */
    IMAGE_KIND_FOREIGN_LAYER, /* nondistributable/foreign: refused */
};

enum image_compression {
    IMAGE_COMP_NONE = 0,
    IMAGE_COMP_GZIP,
    IMAGE_COMP_ZSTD,
    IMAGE_COMP_DETECT, /* unknown (docker-archive, rootfs tarball): detect from the content */
};

/* Classify a media type; for layers *comp tells the compression. */
enum image_kind image_media_kind(const char *media_type, enum image_compression *comp);
const char *image_compression_name(enum image_compression comp);

struct image_descriptor {
    char *media_type;
    enum image_kind kind;
    enum image_compression comp;
    char digest[DIGEST_STR_LEN]; /* "sha256:<hex>" */
    char hex[DIGEST_HEX_LEN + 1];
    uint64_t size;
    char *os, *arch, *variant; /* platform (index entries), may be NULL */
    char *ref_name;            /* org.opencontainers.image.ref.name, may be NULL */
    char *image_name;          /* io.containerd.image.name (docker save), may be NULL */
};

struct image_index {
    struct image_descriptor *manifests;
    size_t n;
};

struct image_manifest {
    struct image_descriptor config;
    struct image_descriptor *layers;
    size_t nlayers;
};

struct image_config {
    char *os, *arch, *variant, *created;
    char **env, **entrypoint, **cmd; /* NULL-terminated, or NULL when absent */
    char *workdir, *user, *stop_signal;
    char *labels_json; /* a JSON object, or NULL */
    char (*diff_ids)[DIGEST_HEX_LEN + 1];
    size_t ndiff_ids;
};

/* One image of a docker-archive's manifest.json. Paths are relative to the archive root. */
struct docker_image {
    char *config;
    char **repo_tags; /* NULL-terminated, maybe empty */
    char **layers;
    size_t nlayers;
};

struct docker_manifest {
    struct docker_image *images;
    size_t n;
};

/* Parsers: 0, or -EINVAL (bad document: the error names the field), -EOPNOTSUPP (unsupported
 * media type / digest algorithm / schema), -ENOMEM. `what` names the document in errors. */
int image_parse_index(const char *json, size_t len, const char *what, struct image_index **out,
                      struct hutch_error **err);
int image_parse_manifest(const char *json, size_t len, const char *what,
                         struct image_manifest **out, struct hutch_error **err);
int image_parse_config(const char *json, size_t len, const char *what, struct image_config **out,
                       struct hutch_error **err);
int image_parse_docker_manifest(const char *json, size_t len, const char *what,
                                struct docker_manifest **out, struct hutch_error **err);

void image_index_free(struct image_index *idx);
void image_manifest_free(struct image_manifest *m);
void image_config_free(struct image_config *c);
void docker_manifest_free(struct docker_manifest *dm);

/*
 * Pick the entry of an index for `platform` ("os/arch[/variant]", NULL = "linux/amd64") among
 * the manifests and nested indexes, restricted to those whose ref name is `tag` when tag is
 * not NULL. An entry without a platform is taken when it is the only candidate. -ENOENT when
 * nothing matches, -EINVAL when several do (the error lists them).
 */
int image_index_select(const struct image_index *idx, const char *platform, const char *tag,
                       size_t *out, struct hutch_error **err);

/*
 * Normalize a user-given image name: "NAME" -> "NAME:latest". NAME is lowercase letters,
 * digits, and . _ - / separators (an optional registry host[:port]/ prefix is kept);
 * TAG is [A-Za-z0-9_.-]{1,128}. -EINVAL otherwise.
 */
int image_ref_normalize(const char *in, char **out);
/* Whether s looks like a full image reference (has a '/' or a ':'), not just a tag. */
bool image_ref_is_full(const char *s);
/* The file name under images/ for a normalized ref: every byte outside [A-Za-z0-9._-] as %XX. */
int image_ref_filename(const char *ref, char **out);
/* The reverse of image_ref_filename (-EINVAL for a name it could not have produced). */
int image_ref_from_filename(const char *name, char **out);

/* Build an OCI manifest for config + layers (media types and digests as given). */
int image_manifest_build(const struct image_descriptor *config,
                         const struct image_descriptor *layers, size_t nlayers, char **json_out);
/* Build a minimal OCI config for a one-layer rootfs image. */
int image_config_build_rootfs(const char *diff_id_hex, const char *created, char **json_out);

#endif
