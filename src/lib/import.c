/* SPDX-License-Identifier: MIT */
/*
 * hutch_image_import: an OCI layout directory, an oci-archive, a docker-archive or a plain
 * rootfs tarball -> verified blobs, extracted layers and a NAME:TAG reference in the store.
 *
 * The import holds the store lock shared (prune and rm wait) and each layer's lock while it
 * extracts that layer, so concurrent imports of images sharing layers extract each layer once.
 * Blobs are verified against their descriptors (digest and size) before use; layers while they
 * are extracted (the compressed digest and the diff-id in the same pass). The reference is
 * written last; a failure before it removes what this import created (store_rollback).
 */
#include "ctx.h"
#include "image.h"
#include "layer.h"
#include "store.h"
#include "sys.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_INDEX_DEPTH 4
#define MAX_WARNINGS    50

enum source_kind { SOURCE_OCI, SOURCE_DOCKER, SOURCE_ROOTFS };

struct import {
    struct hutch_ctx *ctx;
    struct hutch_image_import_opts o;
    struct hutch_error **err;
    struct store s;
    char *path; /* the source path (SOURCE without :TAG) */
    char *tag;  /* SOURCE:TAG, or NULL */
    enum source_kind kind;
    int dir_fd;                     /* the layout (given or unpacked into stage), or -1 */
    char *stage;                    /* tmp/stage-* under ROOT, removed at the end */
    char *name;                     /* NAME:TAG to record */
    char **new_blobs, **new_layers; /* what this import created: removed if it fails */
    size_t nnew_blobs, nnew_layers;
    uint64_t bytes_total, bytes_done;
    unsigned layers_done, layers_total;
    json_t *warnings; /* of the layer being extracted */
};

static void json_decref_(json_t **j)
{
    json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_)))

static int remember(char ***v, size_t *n, const char *hex)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(hex)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void report_progress(struct import *im, uint64_t extra)
{
    if (im->o.progress)
        im->o.progress(im->bytes_done + extra, im->bytes_total, im->layers_done, im->layers_total,
                       im->o.userdata);
}

static void on_layer_progress(uint64_t bytes, void *userdata)
{
    report_progress(userdata, bytes);
}

static void on_layer_warning(const char *msg, void *userdata)
{
    struct import *im = userdata;
    if (im->warnings && json_array_size(im->warnings) < MAX_WARNINGS)
        json_array_append_new(im->warnings, json_string(msg));
    if (im->o.warning)
        im->o.warning(msg, im->o.userdata);
}

/* ---------------------------------------------------------------- source files */

/* Open a file of the layout; paths from manifest.json are untrusted: resolve them inside. */
static int src_open(struct import *im, const char *rel, int *fd_out, uint64_t *size)
{
    int fd =
        sys_openat2(im->dir_fd, rel, O_RDONLY | O_NOCTTY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    struct stat st;
    if (fd < 0)
        return hutch_err(im->err, errno, "open", rel, "%s in %s",
                         errno == ENOENT ? "missing" : strerror(errno), im->path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hutch_err(im->err, EINVAL, "open", rel, "not a regular file in %s", im->path);
    }
    *fd_out = fd;
    if (size)
        *size = (uint64_t)st.st_size;
    return 0;
}

static int read_fd(int fd, size_t max, char **data, size_t *len)
{
    struct buf b = {0};
    for (;;) {
        if (buf_reserve(&b, 65536) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || b.len + (size_t)(n > 0 ? n : 0) > max) {
            int e = n < 0 ? errno : EFBIG;
            buf_free(&b);
            return -e;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
    }
    b.data[b.len] = '\0';
    *data = b.data;
    *len = b.len;
    return 0;
}

static int src_read(struct import *im, const char *rel, char **data, size_t *len)
{
    _cleanup_close_ int fd = -1;
    int r = src_open(im, rel, &fd, NULL);
    if (r == 0 && (r = read_fd(fd, IMAGE_JSON_MAX, data, len)) < 0)
        r = hutch_err(im->err, r, "read", rel, "%s", strerror(-r));
    return r;
}

/* Read a blob of the layout named by a descriptor, checking size and digest. */
static int src_read_blob(struct import *im, const struct image_descriptor *d, char **data,
                         size_t *len)
{
    char rel[128], got[DIGEST_HEX_LEN + 1];
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->hex);
    if (d->size > IMAGE_JSON_MAX)
        return hutch_err(im->err, EFBIG, "read", rel, "%s: %llu bytes is too large", d->digest,
                         (unsigned long long)d->size);
    int r = src_read(im, rel, data, len);
    if (r < 0)
        return r;
    if (*len != d->size || digest_buf(*data, *len, got) < 0 || strcmp(got, d->hex) != 0) {
        r = hutch_err(im->err, EINVAL, "verify", rel,
                      "blob %s does not match its descriptor (size %zu, sha256:%s)", d->digest,
                      *len, *len == d->size ? got : "-");
        free(*data);
        *data = NULL;
    }
    return r;
}

/* ---------------------------------------------------------------- what the source is */

static bool is_hex_name(const char *s, size_t n)
{
    if (n != DIGEST_HEX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Could this archive member belong to an OCI layout or a docker-archive? Many members that
 * could not tell a rootfs tarball, without reading the whole of it. */
static bool image_member(const char *path)
{
    static const char *const top[] = {"blobs", "oci-layout", "index.json", "manifest.json",
                                      "repositories"};
    const char *slash = strchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    for (size_t i = 0; i < ARRAY_SIZE(top); i++)
        if (strlen(top[i]) == n && strncmp(path, top[i], n) == 0)
            return true;
    /* docker save: <hex>/{layer.tar,json,VERSION}, <hex>.json; skopeo: <hex>.tar */
    return is_hex_name(path, n) ||
           (n > DIGEST_HEX_LEN && path[DIGEST_HEX_LEN] == '.' && is_hex_name(path, DIGEST_HEX_LEN));
}

static int scan_archive(struct import *im, bool *layout, bool *docker)
{
    struct archive *a = archive_read_new();
    bool oci_layout = false, index = false, rootfs = false;
    unsigned foreign = 0;
    *layout = *docker = false;
    if (!a)
        return hutch_err(im->err, ENOMEM, "open", im->path, "out of memory");
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_format_tar(a);
    int r = archive_read_open_filename(a, im->path, 1 << 16);
    struct archive_entry *e;
    while (r == ARCHIVE_OK && !rootfs && (r = archive_read_next_header(a, &e)) >= ARCHIVE_WARN) {
        char path[4096];
        if (layer_path_normalize(archive_entry_pathname(e), path, sizeof(path)) < 0 || !*path)
            continue;
        oci_layout |= strcmp(path, "oci-layout") == 0;
        index |= strcmp(path, "index.json") == 0;
        *docker |= strcmp(path, "manifest.json") == 0;
        rootfs = !image_member(path) && ++foreign > 256;
        r = ARCHIVE_OK;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
        r = hutch_err(im->err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL, "read", im->path,
                      "not a tar archive: %s", archive_error_string(a));
    else
        r = 0;
    archive_read_free(a);
    *layout = !rootfs && oci_layout && index;
    *docker = !rootfs && *docker;
    return r;
}

/* Unpack an oci-archive / docker-archive into tmp/ to read it like a directory. */
static int stage_archive(struct import *im)
{
    /* the archive holds every layer, compressed: four times one layer's limit is plenty, and
     * a compressed archive that unpacks to more is a bomb */
    uint64_t layer_max = im->o.max_layer_bytes ? im->o.max_layer_bytes : LAYER_DEFAULT_MAX_BYTES;
    struct layer_opts lo = {.mode = LAYER_MODE_PLAIN,
                            .comp = IMAGE_COMP_DETECT,
                            .max_bytes = layer_max > UINT64_MAX / 4 ? UINT64_MAX : layer_max * 4,
                            .max_files = 100000};
    struct layer_result res;
    _cleanup_close_ int fd = open(im->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return hutch_err_sys(im->err, "open", im->path);
    int r = store_mktemp(&im->s, "stage", &im->stage, &im->dir_fd, im->err);
    if (r == 0)
        r = layer_extract(fd, im->dir_fd, &lo, &res, im->err);
    return r < 0 ? hutch_err(im->err, r, "unpack", im->path, "cannot unpack the archive") : 0;
}

static int source_open(struct import *im, const char *source)
{
    struct stat st;
    if (!(im->path = strdup(source)))
        return -ENOMEM;
    if (stat(im->path, &st) < 0) { /* SOURCE:TAG picks one image of a layout */
        char *colon = strrchr(im->path, ':');
        if (colon && colon[1] && !strchr(colon, '/')) {
            *colon = '\0';
            if (stat(im->path, &st) == 0 && !(im->tag = strdup(colon + 1)))
                return -ENOMEM;
        }
        if (!im->tag)
            return hutch_err_sys(im->err, "stat", source);
    }
    if (S_ISDIR(st.st_mode)) {
        im->dir_fd = open(im->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (im->dir_fd < 0)
            return hutch_err_sys(im->err, "open", im->path);
        if (faccessat(im->dir_fd, "index.json", F_OK, 0) == 0)
            im->kind = SOURCE_OCI;
        else if (faccessat(im->dir_fd, "manifest.json", F_OK, 0) == 0)
            im->kind = SOURCE_DOCKER;
        else
            return hutch_err(im->err, EINVAL, "detect", im->path,
                             "a directory must be an OCI layout (index.json) or an unpacked "
                             "docker-archive (manifest.json)");
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return hutch_err(im->err, EINVAL, "detect", im->path, "not a directory or a file");
    bool layout, docker;
    int r = scan_archive(im, &layout, &docker);
    if (r < 0)
        return r;
    im->kind = layout ? SOURCE_OCI : docker ? SOURCE_DOCKER : SOURCE_ROOTFS;
    return im->kind == SOURCE_ROOTFS ? 0 : stage_archive(im);
}

/* ---------------------------------------------------------------- layers */

static enum image_compression sniff_compression(int fd)
{
    unsigned char m[4] = {0};
    if (pread(fd, m, sizeof(m), 0) < 2)
        return IMAGE_COMP_NONE;
    if (m[0] == 0x1f && m[1] == 0x8b)
        return IMAGE_COMP_GZIP;
    if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return IMAGE_COMP_ZSTD;
    return IMAGE_COMP_NONE;
}

static int check_blob(struct import *im, const struct image_descriptor *d, const char *file,
                      const struct layer_result *res)
{
    if (d && strcmp(res->digest, d->hex) != 0)
        return hutch_err(im->err, EINVAL, "verify", file,
                         "layer %s does not match its digest (content is sha256:%s)", d->digest,
                         res->digest);
    if (d && res->compressed_size != d->size)
        return hutch_err(im->err, EINVAL, "verify", file,
                         "layer %s: size %llu, descriptor says %llu", d->digest,
                         (unsigned long long)res->compressed_size, (unsigned long long)d->size);
    return 0;
}

/* The layer is already in the store: only check the blob is the one described. */
static int layer_present(struct import *im, int fd, const struct image_descriptor *d,
                         const char *file, struct layer_result *res)
{
    int r = digest_fd(fd, res->digest, &res->compressed_size);
    if (r < 0)
        return hutch_err(im->err, r, "read", file, "%s", strerror(-r));
    res->comp = sniff_compression(fd);
    return check_blob(im, d, file, res);
}

static int layer_meta_json(struct import *im, const struct layer_result *res, char **out)
{
    char diff[DIGEST_STR_LEN], dig[DIGEST_STR_LEN];
    snprintf(diff, sizeof(diff), DIGEST_PREFIX "%s", res->diff_id);
    snprintf(dig, sizeof(dig), DIGEST_PREFIX "%s", res->digest);
    _cleanup_json_ json_t *j = json_pack(
        "{s:s, s:I, s:I, s:s, s:I, s:s, s:I, s:O}", "diff_id", diff, "size", (json_int_t)res->size,
        "files", (json_int_t)res->files, "digest", dig, "compressed_size",
        (json_int_t)res->compressed_size, "compression", image_compression_name(res->comp),
        "skipped", (json_int_t)res->skipped, "warnings", im->warnings);
    *out = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    return *out ? 0 : -ENOMEM;
}

/* Move an extracted layer into place under its lock, unless another import was first. */
static int layer_commit(struct import *im, const char *tmp, const struct layer_result *res,
                        int held_lock)
{
    _cleanup_close_ int lock = held_lock;
    _cleanup_free_ char *meta = NULL;
    int r = 0;
    if (lock < 0)
        r = store_layer_lock(&im->s, res->diff_id, &lock, im->err);
    if (r < 0 || store_layer_exists(&im->s, res->diff_id))
        return r;
    if (layer_meta_json(im, res, &meta) < 0 ||
        remember(&im->new_layers, &im->nnew_layers, res->diff_id) < 0)
        return hutch_err(im->err, ENOMEM, NULL, "layer", "out of memory");
    r = store_layer_commit(&im->s, tmp, res->diff_id, meta, im->err);
    if (r < 0)
        im->nnew_layers--, free(im->new_layers[im->nnew_layers]);
    return r;
}

static int layer_unpack(struct import *im, int fd, const struct image_descriptor *d,
                        const char *expect_diff, const char *file, struct layer_result *res,
                        int lock)
{
    struct layer_opts lo = {.mode = LAYER_MODE_IMAGE,
                            .comp = d ? d->comp : IMAGE_COMP_DETECT,
                            .allow_file_caps = im->o.allow_file_caps,
                            .max_bytes = im->o.max_layer_bytes,
                            .max_files = im->o.max_layer_files,
                            .progress = on_layer_progress,
                            .warning = on_layer_warning,
                            .userdata = im};
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int dfd = -1;
    int r = store_mktemp(&im->s, "layer", &tmp, &dfd, im->err);
    if (r < 0) {
        close_fd(&lock);
        return r;
    }
    json_decref(im->warnings);
    im->warnings = json_array();
    r = fchmod(dfd, 0755) < 0 ? hutch_err_sys(im->err, "chmod", tmp) : 0;
    if (r == 0)
        r = layer_extract(fd, dfd, &lo, res, im->err);
    if (r == 0)
        r = check_blob(im, d, file, res);
    if (r == 0 && expect_diff && strcmp(expect_diff, res->diff_id) != 0)
        r = hutch_err(im->err, EINVAL, "verify", file,
                      "uncompressed layer is sha256:%s, the config's diff_id is sha256:%s",
                      res->diff_id, expect_diff);
    if (r == 0)
        r = layer_commit(im, tmp, res, TAKE_FD(lock));
    close_fd(&lock);
    rm_tree_at(im->s.root_fd, tmp); /* gone already when committed */
    if (r < 0)
        return hutch_err(im->err, r, "layer", file, "cannot import layer %s", d ? d->digest : "");
    return 0;
}

/*
 * One layer from fd (file names it in messages). d: its descriptor when the manifest gives
 * one (digest and size are checked); expect_diff: the config's diff-id when known. The layer
 * lock is taken before looking, so eight imports of one layer extract it once.
 */
static int import_layer(struct import *im, int fd, const struct image_descriptor *d,
                        const char *expect_diff, const char *file, struct layer_result *res)
{
    int lock = -1, r = 0;
    memset(res, 0, sizeof(*res));
    if (expect_diff) {
        r = store_layer_lock(&im->s, expect_diff, &lock, im->err);
        if (r == 0 && store_layer_exists(&im->s, expect_diff)) {
            r = layer_present(im, fd, d, file, res);
            snprintf(res->diff_id, sizeof(res->diff_id), "%s", expect_diff);
            close_fd(&lock);
        } else if (r == 0) {
            r = layer_unpack(im, fd, d, expect_diff, file, res, lock);
        }
    } else {
        r = layer_unpack(im, fd, d, NULL, file, res, -1);
    }
    im->bytes_done += res->compressed_size;
    im->layers_done++;
    report_progress(im, 0);
    return r;
}

/* ---------------------------------------------------------------- names */

static int set_name(struct import *im, const char *name, const char *from)
{
    if (image_ref_normalize(name, &im->name) < 0)
        return hutch_err(im->err, EINVAL, "name", name, "invalid image name (from %s)", from);
    return 0;
}

static int need_name(struct import *im, const char *what)
{
    return hutch_err(im->err, EINVAL, "name", im->path,
                     "%s carries no image name: give one with --name NAME[:TAG]", what);
}

/* ---------------------------------------------------------------- blobs kept */

static int keep_blob(struct import *im, const char *data, size_t len, const char *expect,
                     char hex[DIGEST_HEX_LEN + 1])
{
    bool created;
    int r = store_blob_put(&im->s, data, len, expect, hex, &created, im->err);
    if (r == 0 && created && remember(&im->new_blobs, &im->nnew_blobs, hex) < 0)
        r = hutch_err(im->err, ENOMEM, NULL, "blob", "out of memory");
    return r;
}

/* Check the config against the manifest and keep both; the layers come next. */
static int keep_image_docs(struct import *im, const char *cfg, size_t cfglen,
                           const struct image_config *c, size_t nlayers, const char *cfg_hex)
{
    char hex[DIGEST_HEX_LEN + 1];
    if (c->ndiff_ids != nlayers)
        return hutch_err(im->err, EINVAL, "verify", "config",
                         "the manifest has %zu layers, the config %zu diff_ids", nlayers,
                         c->ndiff_ids);
    if (nlayers == 0)
        return hutch_err(im->err, EINVAL, "verify", "manifest", "the image has no layers");
    return keep_blob(im, cfg, cfglen, cfg_hex, hex);
}

/* ---------------------------------------------------------------- OCI layout */

/* Walk index -> (nested indexes) -> manifest for the platform and tag asked for. */
static int oci_select(struct import *im, struct image_descriptor *out)
{
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = src_read(im, "index.json", &data, &len);
    for (int depth = 0; r == 0; depth++) {
        struct image_index *idx = NULL;
        size_t i;
        r = image_parse_index(data, len, depth ? "nested index" : "index.json", &idx, im->err);
        if (r == 0)
            r = image_index_select(idx, im->o.platform, depth ? NULL : im->tag, &i, im->err);
        if (r == 0) {
            struct image_descriptor *d = &idx->manifests[i];
            if (depth == 0 && !im->name && (d->image_name || image_ref_is_full(d->ref_name)))
                r = set_name(im, d->image_name ? d->image_name : d->ref_name, "the index");
            else if (depth == 0 && !im->name)
                r = hutch_err(im->err, EINVAL, "name", im->path,
                              "the index names no repository%s%s%s: give one with --name "
                              "NAME[:TAG]",
                              d->ref_name ? " (its ref name \"" : "",
                              d->ref_name ? d->ref_name : "", d->ref_name ? "\" is a tag)" : "");
            if (r == 0 && d->kind == IMAGE_KIND_MANIFEST) {
                *out = *d;
                memset(d, 0, sizeof(*d)); /* moved */
                image_index_free(idx);
                return 0;
            }
        }
        free(data);
        data = NULL;
        if (r == 0 && depth == MAX_INDEX_DEPTH)
            r = hutch_err(im->err, ELOOP, "select", "index.json", "indexes nested too deep");
        if (r == 0)
            r = src_read_blob(im, &idx->manifests[i], &data, &len);
        image_index_free(idx);
    }
    return r;
}

static int import_oci(struct import *im)
{
    struct image_descriptor md = {0};
    struct image_manifest *m = NULL;
    struct image_config *c = NULL;
    _cleanup_free_ char *mdata = NULL, *cdata = NULL, *layout = NULL;
    size_t mlen, clen, llen;
    char hex[DIGEST_HEX_LEN + 1];
    int r = src_read(im, "oci-layout", &layout, &llen);
    if (r < 0)
        return hutch_err(im->err, r, "detect", im->path, "not an OCI image layout");
    r = oci_select(im, &md);
    if (r == 0)
        r = src_read_blob(im, &md, &mdata, &mlen);
    if (r == 0)
        r = image_parse_manifest(mdata, mlen, md.digest, &m, im->err);
    if (r == 0)
        r = src_read_blob(im, &m->config, &cdata, &clen);
    if (r == 0)
        r = image_parse_config(cdata, clen, m->config.digest, &c, im->err);
    if (r == 0)
        r = keep_image_docs(im, cdata, clen, c, m->nlayers, m->config.hex);
    for (size_t i = 0; r == 0 && i < m->nlayers; i++)
        im->bytes_total += m->layers[i].size;
    im->layers_total = m ? (unsigned)m->nlayers : 0;
    for (size_t i = 0; r == 0 && i < m->nlayers; i++) {
        char rel[128];
        struct layer_result res;
        _cleanup_close_ int fd = -1;
        snprintf(rel, sizeof(rel), "blobs/sha256/%s", m->layers[i].hex);
        r = src_open(im, rel, &fd, NULL);
        if (r == 0)
            r = import_layer(im, fd, &m->layers[i], c->diff_ids[i], rel, &res);
    }
    if (r == 0)
        r = keep_blob(im, mdata, mlen, md.hex, hex);
    if (r == 0)
        r = store_ref_write(&im->s, im->name, hex, im->err);
    free(md.media_type), free(md.os), free(md.arch), free(md.variant);
    free(md.ref_name), free(md.image_name);
    image_manifest_free(m);
    image_config_free(c);
    return r;
}

/* ---------------------------------------------------------------- docker-archive */

static int docker_pick(struct import *im, const struct docker_manifest *dm, size_t *out)
{
    _cleanup_free_ char *want = NULL;
    if (dm->n == 1) {
        *out = 0;
        return 0;
    }
    const char *w = im->tag ? im->tag : im->o.name;
    if (w && image_ref_normalize(w, &want) == 0)
        for (size_t i = 0; i < dm->n; i++)
            for (char **t = dm->images[i].repo_tags; *t; t++)
                if (strcmp(*t, want) == 0 || strcmp(*t, w) == 0) {
                    *out = i;
                    return 0;
                }
    return hutch_err(im->err, EINVAL, "select", im->path,
                     "the archive holds %zu images: name one of its RepoTags as SOURCE:NAME:TAG",
                     dm->n);
}

/* Media type of a docker-archive layer, from what it turned out to be. */
static const char *layer_media_type(enum image_compression comp)
{
    switch (comp) {
    case IMAGE_COMP_GZIP:
        return IMAGE_MT_OCI_LAYER "+gzip";
    case IMAGE_COMP_ZSTD:
        return IMAGE_MT_OCI_LAYER "+zstd";
    default:
        return IMAGE_MT_OCI_LAYER;
    }
}

static int docker_layers(struct import *im, const struct docker_image *di,
                         const struct image_config *c, struct image_descriptor *descs)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < di->nlayers; i++) {
        uint64_t size;
        _cleanup_close_ int fd = -1;
        r = src_open(im, di->layers[i], &fd, &size);
        im->bytes_total += size;
    }
    im->layers_total = (unsigned)di->nlayers;
    for (size_t i = 0; r == 0 && i < di->nlayers; i++) {
        struct layer_result res;
        _cleanup_close_ int fd = -1;
        r = src_open(im, di->layers[i], &fd, NULL);
        if (r == 0)
            r = import_layer(im, fd, NULL, c->diff_ids[i], di->layers[i], &res);
        if (r < 0)
            break;
        descs[i].media_type = (char *)layer_media_type(res.comp);
        descs[i].size = res.compressed_size;
        snprintf(descs[i].hex, sizeof(descs[i].hex), "%s", res.digest);
        snprintf(descs[i].digest, sizeof(descs[i].digest), DIGEST_PREFIX "%s", res.digest);
    }
    return r;
}

/* Keep a manifest that hutch writes for an image that came without one. */
static int keep_synth_manifest(struct import *im, struct image_descriptor *cfg,
                               const struct image_descriptor *layers, size_t n)
{
    _cleanup_free_ char *mjson = NULL;
    char hex[DIGEST_HEX_LEN + 1];
    if (image_manifest_build(cfg, layers, n, &mjson) < 0)
        return hutch_err(im->err, ENOMEM, NULL, "manifest", "out of memory");
    int r = keep_blob(im, mjson, strlen(mjson), NULL, hex);
    return r < 0 ? r : store_ref_write(&im->s, im->name, hex, im->err);
}

/* docker save names the config after its digest (<hex>.json, blobs/sha256/<hex>): hold the
 * content to that name. */
static const char *config_name_hex(const char *path, char out[DIGEST_HEX_LEN + 1])
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(base);
    if (n == DIGEST_HEX_LEN + 5 && strcmp(base + DIGEST_HEX_LEN, ".json") == 0)
        n = DIGEST_HEX_LEN;
    if (!is_hex_name(base, n))
        return NULL;
    memcpy(out, base, DIGEST_HEX_LEN);
    out[DIGEST_HEX_LEN] = '\0';
    return out;
}

static int import_docker(struct import *im)
{
    struct docker_manifest *dm = NULL;
    struct image_config *c = NULL;
    struct image_descriptor cfg = {.media_type = (char *)IMAGE_MT_DOCKER_CONFIG};
    struct image_descriptor *descs = NULL;
    _cleanup_free_ char *data = NULL, *cdata = NULL;
    size_t len, clen, pick = 0;
    char namehex[DIGEST_HEX_LEN + 1];
    int r = src_read(im, "manifest.json", &data, &len);
    if (r == 0)
        r = image_parse_docker_manifest(data, len, "manifest.json", &dm, im->err);
    if (r == 0)
        r = docker_pick(im, dm, &pick);
    const struct docker_image *di = r == 0 ? &dm->images[pick] : NULL;
    if (r == 0 && !im->name)
        r = di->repo_tags[0] ? set_name(im, di->repo_tags[0], "RepoTags")
                             : need_name(im, "the archive");
    if (r == 0)
        r = src_read(im, di->config, &cdata, &clen);
    if (r == 0)
        r = image_parse_config(cdata, clen, di->config, &c, im->err);
    if (r == 0)
        r = keep_image_docs(im, cdata, clen, c, di->nlayers, config_name_hex(di->config, namehex));
    if (r == 0 && !(descs = calloc(di->nlayers, sizeof(*descs))))
        r = hutch_err(im->err, ENOMEM, NULL, "layers", "out of memory");
    if (r == 0)
        r = docker_layers(im, di, c, descs);
    if (r == 0) {
        cfg.size = clen;
        digest_buf(cdata, clen, cfg.hex);
        snprintf(cfg.digest, sizeof(cfg.digest), DIGEST_PREFIX "%s", cfg.hex);
        r = keep_synth_manifest(im, &cfg, descs, di->nlayers);
    }
    free(descs);
    docker_manifest_free(dm);
    image_config_free(c);
    return r;
}

/* ---------------------------------------------------------------- rootfs tarball */

static int import_rootfs(struct import *im)
{
    struct image_descriptor cfg = {.media_type = (char *)IMAGE_MT_OCI_CONFIG};
    struct image_descriptor layer = {0};
    struct layer_result res;
    _cleanup_free_ char *cjson = NULL;
    char created[32];
    struct stat st;
    if (!im->name)
        return need_name(im, "a rootfs tarball");
    _cleanup_close_ int fd = open(im->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0)
        return hutch_err_sys(im->err, "open", im->path);
    im->bytes_total = (uint64_t)st.st_size;
    im->layers_total = 1;
    int r = import_layer(im, fd, NULL, NULL, im->path, &res);
    if (r < 0)
        return r;
    time_t now = time(NULL);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (image_config_build_rootfs(res.diff_id, created, &cjson) < 0)
        return hutch_err(im->err, ENOMEM, NULL, "config", "out of memory");
    cfg.size = strlen(cjson);
    r = keep_blob(im, cjson, cfg.size, NULL, cfg.hex);
    snprintf(cfg.digest, sizeof(cfg.digest), DIGEST_PREFIX "%s", cfg.hex);
    layer.media_type = (char *)layer_media_type(res.comp);
    layer.size = res.compressed_size;
    snprintf(layer.digest, sizeof(layer.digest), DIGEST_PREFIX "%s", res.digest);
    return r < 0 ? r : keep_synth_manifest(im, &cfg, &layer, 1);
}

/* ---------------------------------------------------------------- entry point */

static int import_run(struct import *im, const char *source)
{
    int r = store_open(im->ctx, true, LOCK_SH, &im->s, im->err);
    if (r == 0 && im->o.name)
        r = set_name(im, im->o.name, "--name");
    if (r == 0)
        r = source_open(im, source);
    if (r == -ENOMEM)
        r = hutch_err(im->err, ENOMEM, NULL, source, "out of memory");
    if (r == 0) {
        switch (im->kind) {
        case SOURCE_OCI:
            r = import_oci(im);
            break;
        case SOURCE_DOCKER:
            r = import_docker(im);
            break;
        default:
            r = import_rootfs(im);
            break;
        }
    }
    if (r < 0 && im->s.lock_fd >= 0)
        store_rollback(im->ctx, &im->s, im->new_blobs, im->nnew_blobs, im->new_layers,
                       im->nnew_layers);
    if (im->stage)
        rm_tree_at(im->s.root_fd, im->stage);
    return r;
}

HUTCH_API int hutch_image_import(struct hutch_ctx *ctx, const char *source,
                                 const struct hutch_image_import_opts *opts, char **ref_out,
                                 struct hutch_error **err)
{
    struct import im = {.ctx = ctx, .err = err, .dir_fd = -1, .s = {.root_fd = -1, .lock_fd = -1}};
    if (opts)
        memcpy(&im.o, opts, opts->sz < sizeof(im.o) ? opts->sz : sizeof(im.o));
    if (ref_out)
        *ref_out = NULL;
    if (!source || !*source)
        return hutch_err(err, EINVAL, "import", "SOURCE", "no source given");
    int r = import_run(&im, source);
    if (r == 0 && ref_out && !(*ref_out = strdup(im.name)))
        r = hutch_err(err, ENOMEM, NULL, source, "out of memory");
    for (size_t i = 0; i < im.nnew_blobs; i++)
        free(im.new_blobs[i]);
    for (size_t i = 0; i < im.nnew_layers; i++)
        free(im.new_layers[i]);
    free(im.new_blobs);
    free(im.new_layers);
    json_decref(im.warnings);
    close_fd(&im.dir_fd);
    store_close(&im.s);
    free(im.stage);
    free(im.path);
    free(im.tag);
    free(im.name);
    return r;
}
