/* SPDX-License-Identifier: MIT */
/*
 * OCI / Docker image documents (image.h): media types, the index, manifest, config and
 * docker-archive manifest.json parsers, platform selection, and the manifest and config hutch
 * builds for docker-archives and rootfs tarballs. References (NAME:TAG, their file names) are
 * in image_ref.c.
 */
#include "image.h"

#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_decref_(json_t **j)
{
    json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_)))

/* ---------------------------------------------------------------- media types */

static const struct {
    const char *type;
    enum image_kind kind;
    enum image_compression comp;
} media_types[] = {
    {IMAGE_MT_OCI_INDEX, IMAGE_KIND_INDEX, IMAGE_COMP_NONE},
    {"application/vnd.docker.distribution.manifest.list.v2+json", IMAGE_KIND_INDEX, 0},
    {IMAGE_MT_OCI_MANIFEST, IMAGE_KIND_MANIFEST, IMAGE_COMP_NONE},
    {"application/vnd.docker.distribution.manifest.v2+json", IMAGE_KIND_MANIFEST, 0},
    {IMAGE_MT_OCI_CONFIG, IMAGE_KIND_CONFIG, IMAGE_COMP_NONE},
    {IMAGE_MT_DOCKER_CONFIG, IMAGE_KIND_CONFIG, IMAGE_COMP_NONE},
    {IMAGE_MT_OCI_LAYER, IMAGE_KIND_LAYER, IMAGE_COMP_NONE},
    {IMAGE_MT_OCI_LAYER "+gzip", IMAGE_KIND_LAYER, IMAGE_COMP_GZIP},
    {IMAGE_MT_OCI_LAYER "+zstd", IMAGE_KIND_LAYER, IMAGE_COMP_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", IMAGE_KIND_LAYER, IMAGE_COMP_NONE},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", IMAGE_KIND_LAYER, IMAGE_COMP_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", IMAGE_KIND_FOREIGN_LAYER, 0},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMAGE_KIND_FOREIGN_LAYER, 0},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMAGE_KIND_FOREIGN_LAYER, 0},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMAGE_KIND_FOREIGN_LAYER, 0},
};

enum image_kind image_media_kind(const char *media_type, enum image_compression *comp)
{
    for (size_t i = 0; media_type && i < ARRAY_SIZE(media_types); i++) {
        if (strcmp(media_type, media_types[i].type) == 0) {
            if (comp)
                *comp = media_types[i].comp;
            return media_types[i].kind;
        }
    }
    if (comp)
        *comp = IMAGE_COMP_NONE;
    return IMAGE_KIND_UNKNOWN;
}

const char *image_compression_name(enum image_compression comp)
{
    switch (comp) {
    case IMAGE_COMP_NONE:
        return "none";
    case IMAGE_COMP_GZIP:
        return "gzip";
    case IMAGE_COMP_ZSTD:
        return "zstd";
    default:
        return "detect";
    }
}

/* ---------------------------------------------------------------- JSON helpers */

static int load(const char *json, size_t len, const char *what, json_t **out,
                struct hutch_error **err)
{
    json_error_t je;
    if (len > IMAGE_JSON_MAX)
        return hutch_err(err, EFBIG, "parse", what, "document larger than %u bytes",
                         IMAGE_JSON_MAX);
    /* Duplicate keys make a document mean different things to different readers: refuse. */
    *out = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return hutch_err(err, EINVAL, "parse", what, "invalid JSON at line %d: %s", je.line,
                         je.text);
    if (!json_is_object(*out) && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return hutch_err(err, EINVAL, "parse", what, "not a JSON object");
    }
    return 0;
}

static int bad_type(struct hutch_error **err, const char *what, const char *field,
                    const char *expected)
{
    return hutch_err(err, EINVAL, "parse", what, "field \"%s\": expected %s", field, expected);
}

/* An optional string field (absent or null -> NULL). */
static int get_str(json_t *obj, const char *key, const char *what, char **out,
                   struct hutch_error **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad_type(err, what, key, "a string");
    *out = strdup(json_string_value(v));
    return *out ? 0 : hutch_err(err, ENOMEM, "parse", what, "out of memory");
}

static int need_str(json_t *obj, const char *key, const char *what, char **out,
                    struct hutch_error **err)
{
    int r = get_str(obj, key, what, out, err);
    if (r == 0 && !*out)
        return hutch_err(err, EINVAL, "parse", what, "missing field \"%s\"", key);
    return r;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* An optional array of strings (absent or null -> NULL). */
static int get_strv(json_t *obj, const char *key, const char *what, char ***out,
                    struct hutch_error **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return bad_type(err, what, key, "an array of strings");
    size_t n = json_array_size(v);
    char **sv = calloc(n + 1, sizeof(*sv));
    if (!sv)
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            strv_free(sv);
            return bad_type(err, what, key, "an array of strings");
        }
        sv[i] = strdup(json_string_value(e));
        if (!sv[i]) {
            strv_free(sv);
            return hutch_err(err, ENOMEM, "parse", what, "out of memory");
        }
    }
    *out = sv;
    return 0;
}

static int check_schema(json_t *root, const char *what, struct hutch_error **err)
{
    json_t *v = json_object_get(root, "schemaVersion");
    if (!v)
        return hutch_err(err, EINVAL, "parse", what, "missing field \"schemaVersion\"");
    if (!json_is_integer(v))
        return bad_type(err, what, "schemaVersion", "an integer");
    if (json_integer_value(v) != 2)
        return hutch_err(err, EOPNOTSUPP, "parse", what, "unsupported schemaVersion %lld",
                         (long long)json_integer_value(v));
    return 0;
}

/* ---------------------------------------------------------------- descriptors */

static void descriptor_clear(struct image_descriptor *d)
{
    free(d->media_type);
    free(d->os);
    free(d->arch);
    free(d->variant);
    free(d->ref_name);
    free(d->image_name);
    memset(d, 0, sizeof(*d));
}

static int parse_platform(json_t *obj, struct image_descriptor *d, const char *what,
                          struct hutch_error **err)
{
    json_t *p = json_object_get(obj, "platform");
    if (!p || json_is_null(p))
        return 0;
    if (!json_is_object(p))
        return bad_type(err, what, "platform", "an object");
    int r = need_str(p, "os", what, &d->os, err);
    if (r == 0)
        r = need_str(p, "architecture", what, &d->arch, err);
    if (r == 0)
        r = get_str(p, "variant", what, &d->variant, err);
    return r;
}

static int parse_descriptor(json_t *obj, const char *what, struct image_descriptor *d,
                            struct hutch_error **err)
{
    char *digest = NULL;
    if (!json_is_object(obj))
        return hutch_err(err, EINVAL, "parse", what, "descriptor is not an object");
    int r = need_str(obj, "mediaType", what, &d->media_type, err);
    if (r == 0)
        r = need_str(obj, "digest", what, &digest, err);
    if (r < 0)
        return r;
    r = digest_parse(digest, d->hex);
    if (r < 0) {
        r = hutch_err(err, -r, "parse", what, "%s digest \"%.80s\"",
                      r == -EOPNOTSUPP ? "unsupported" : "invalid", digest);
        free(digest);
        return r;
    }
    free(digest);
    snprintf(d->digest, sizeof(d->digest), DIGEST_PREFIX "%s", d->hex);
    json_t *size = json_object_get(obj, "size");
    if (!size)
        return hutch_err(err, EINVAL, "parse", what, "descriptor %s: missing field \"size\"",
                         d->digest);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return bad_type(err, what, "size", "a non-negative integer");
    d->size = (uint64_t)json_integer_value(size);
    d->kind = image_media_kind(d->media_type, &d->comp);
    r = parse_platform(obj, d, what, err);
    json_t *ann = json_object_get(obj, "annotations");
    if (r == 0 && ann && !json_is_null(ann)) {
        if (!json_is_object(ann))
            return bad_type(err, what, "annotations", "an object");
        r = get_str(ann, "org.opencontainers.image.ref.name", what, &d->ref_name, err);
        if (r == 0)
            r = get_str(ann, "io.containerd.image.name", what, &d->image_name, err);
    }
    return r;
}

/* ---------------------------------------------------------------- index */

void image_index_free(struct image_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n; i++)
        descriptor_clear(&idx->manifests[i]);
    free(idx->manifests);
    free(idx);
}

static int check_media_type(json_t *root, enum image_kind want, const char *what,
                            struct hutch_error **err)
{
    _cleanup_free_ char *mt = NULL;
    int r = get_str(root, "mediaType", what, &mt, err);
    if (r < 0 || !mt)
        return r;
    if (image_media_kind(mt, NULL) != want)
        return hutch_err(err, EOPNOTSUPP, "parse", what, "unexpected media type \"%.100s\"", mt);
    return 0;
}

int image_parse_index(const char *json, size_t len, const char *what, struct image_index **out,
                      struct hutch_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = load(json, len, what, &root, err);
    if (r == 0 && !json_is_object(root))
        r = hutch_err(err, EINVAL, "parse", what, "not a JSON object");
    if (r == 0)
        r = check_schema(root, what, err);
    if (r == 0)
        r = check_media_type(root, IMAGE_KIND_INDEX, what, err);
    if (r < 0)
        return r;
    json_t *arr = json_object_get(root, "manifests");
    if (!json_is_array(arr))
        return arr ? bad_type(err, what, "manifests", "an array")
                   : hutch_err(err, EINVAL, "parse", what, "missing field \"manifests\"");
    struct image_index *idx = calloc(1, sizeof(*idx));
    size_t n = json_array_size(arr);
    if (idx)
        idx->manifests = calloc(n ? n : 1, sizeof(*idx->manifests));
    if (!idx || !idx->manifests) {
        image_index_free(idx);
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        idx->n = i + 1;
        r = parse_descriptor(json_array_get(arr, i), what, &idx->manifests[i], err);
        if (r < 0) {
            image_index_free(idx);
            return r;
        }
    }
    *out = idx;
    return 0;
}

/* "os/arch[/variant]" into three pieces; variant may stay empty. */
static int split_platform(const char *platform, char os[32], char arch[32], char variant[32])
{
    os[0] = arch[0] = variant[0] = '\0';
    if (sscanf(platform, "%31[^/]/%31[^/]/%31s", os, arch, variant) < 2)
        return -EINVAL;
    return 0;
}

static bool platform_matches(const struct image_descriptor *d, const char *os, const char *arch,
                             const char *variant)
{
    if (!d->os || !d->arch || strcmp(d->os, os) != 0 || strcmp(d->arch, arch) != 0)
        return false;
    if (!variant[0])
        return true;
    /* arm64 without a variant means v8 */
    const char *have = d->variant ? d->variant : (strcmp(arch, "arm64") == 0 ? "v8" : "");
    return strcmp(have, variant) == 0;
}

static bool tag_matches(const struct image_descriptor *d, const char *tag)
{
    if (!tag)
        return true;
    const char *names[] = {d->ref_name, d->image_name};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const char *n = names[i];
        if (!n)
            continue;
        if (strcmp(n, tag) == 0)
            return true;
        /* a full reference "repo:tag" matches its tag */
        const char *colon = strrchr(n, ':');
        if (colon && !strchr(colon, '/') && strcmp(colon + 1, tag) == 0)
            return true;
    }
    return false;
}

int image_index_select(const struct image_index *idx, const char *platform, const char *tag,
                       size_t *out, struct hutch_error **err)
{
    char os[32], arch[32], variant[32];
    const char *want = platform && *platform ? platform : "linux/amd64";
    if (split_platform(want, os, arch, variant) < 0)
        return hutch_err(err, EINVAL, "select", want, "platform must be OS/ARCH[/VARIANT]");
    size_t match = SIZE_MAX, nomatch_plain = SIZE_MAX, nmatch = 0, nplain = 0, ncand = 0;
    for (size_t i = 0; i < idx->n; i++) {
        const struct image_descriptor *d = &idx->manifests[i];
        if (d->kind != IMAGE_KIND_MANIFEST && d->kind != IMAGE_KIND_INDEX)
            continue;
        if (!tag_matches(d, tag))
            continue;
        ncand++;
        if (platform_matches(d, os, arch, variant)) {
            match = i;
            nmatch++;
        } else if (!d->os) {
            nomatch_plain = i;
            nplain++;
        }
    }
    if (nmatch == 1 || (nmatch == 0 && nplain == 1 && ncand == 1)) {
        *out = nmatch ? match : nomatch_plain;
        return 0;
    }
    if (nmatch > 1 || nplain > 1)
        return hutch_err(err, EINVAL, "select", tag ? tag : want,
                         "the index holds %zu images for this platform; name one with "
                         "SOURCE:TAG (its org.opencontainers.image.ref.name)",
                         nmatch ? nmatch : nplain);
    if (idx->n && !ncand && !tag && idx->manifests[0].kind == IMAGE_KIND_UNKNOWN)
        return hutch_err(err, EOPNOTSUPP, "select", idx->manifests[0].digest,
                         "unknown media type \"%.100s\"", idx->manifests[0].media_type);
    return hutch_err(err, ENOENT, "select", tag ? tag : want,
                     "no image in the index for platform %s%s%s", want, tag ? " and tag " : "",
                     tag ? tag : "");
}

/* ---------------------------------------------------------------- manifest */

void image_manifest_free(struct image_manifest *m)
{
    if (!m)
        return;
    descriptor_clear(&m->config);
    for (size_t i = 0; i < m->nlayers; i++)
        descriptor_clear(&m->layers[i]);
    free(m->layers);
    free(m);
}

static int check_layer(const struct image_descriptor *d, const char *what, struct hutch_error **err)
{
    if (d->kind == IMAGE_KIND_LAYER)
        return 0;
    if (d->kind == IMAGE_KIND_FOREIGN_LAYER)
        return hutch_err(err, EOPNOTSUPP, "parse", what,
                         "layer %s is a foreign/nondistributable layer (%s): refused", d->digest,
                         d->media_type);
    return hutch_err(err, EOPNOTSUPP, "parse", what, "layer %s has unknown media type \"%.100s\"",
                     d->digest, d->media_type);
}

static int parse_manifest_body(json_t *root, const char *what, struct image_manifest *m,
                               struct hutch_error **err)
{
    json_t *cfg = json_object_get(root, "config");
    if (!cfg)
        return hutch_err(err, EINVAL, "parse", what, "missing field \"config\"");
    int r = parse_descriptor(cfg, what, &m->config, err);
    if (r < 0)
        return r;
    if (m->config.kind != IMAGE_KIND_CONFIG)
        return hutch_err(err, EOPNOTSUPP, "parse", what,
                         "config %s has unknown media type \"%.100s\"", m->config.digest,
                         m->config.media_type);
    json_t *arr = json_object_get(root, "layers");
    if (!json_is_array(arr))
        return arr ? bad_type(err, what, "layers", "an array")
                   : hutch_err(err, EINVAL, "parse", what, "missing field \"layers\"");
    size_t n = json_array_size(arr);
    m->layers = calloc(n ? n : 1, sizeof(*m->layers));
    if (!m->layers)
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    for (size_t i = 0; i < n; i++) {
        m->nlayers = i + 1;
        r = parse_descriptor(json_array_get(arr, i), what, &m->layers[i], err);
        if (r == 0)
            r = check_layer(&m->layers[i], what, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int image_parse_manifest(const char *json, size_t len, const char *what,
                         struct image_manifest **out, struct hutch_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = load(json, len, what, &root, err);
    if (r == 0 && !json_is_object(root))
        r = hutch_err(err, EINVAL, "parse", what, "not a JSON object");
    if (r == 0)
        r = check_schema(root, what, err);
    if (r == 0)
        r = check_media_type(root, IMAGE_KIND_MANIFEST, what, err);
    if (r < 0)
        return r;
    struct image_manifest *m = calloc(1, sizeof(*m));
    if (!m)
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    r = parse_manifest_body(root, what, m, err);
    if (r < 0) {
        image_manifest_free(m);
        return r;
    }
    *out = m;
    return 0;
}

/* ---------------------------------------------------------------- config */

void image_config_free(struct image_config *c)
{
    if (!c)
        return;
    free(c->os);
    free(c->arch);
    free(c->variant);
    free(c->created);
    strv_free(c->env);
    strv_free(c->entrypoint);
    strv_free(c->cmd);
    free(c->workdir);
    free(c->user);
    free(c->stop_signal);
    free(c->labels_json);
    free(c->diff_ids);
    free(c);
}

static int parse_labels(json_t *cfg, const char *what, struct image_config *c,
                        struct hutch_error **err)
{
    json_t *labels = json_object_get(cfg, "Labels");
    if (!labels || json_is_null(labels))
        return 0;
    if (!json_is_object(labels))
        return bad_type(err, what, "config.Labels", "an object");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v))
            return bad_type(err, what, "config.Labels", "string values");
    }
    c->labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    return c->labels_json ? 0 : hutch_err(err, ENOMEM, "parse", what, "out of memory");
}

static int parse_run_config(json_t *root, const char *what, struct image_config *c,
                            struct hutch_error **err)
{
    json_t *cfg = json_object_get(root, "config");
    if (!cfg || json_is_null(cfg))
        return 0;
    if (!json_is_object(cfg))
        return bad_type(err, what, "config", "an object");
    int r = get_strv(cfg, "Env", what, &c->env, err);
    if (r == 0)
        r = get_strv(cfg, "Entrypoint", what, &c->entrypoint, err);
    if (r == 0)
        r = get_strv(cfg, "Cmd", what, &c->cmd, err);
    if (r == 0)
        r = get_str(cfg, "WorkingDir", what, &c->workdir, err);
    if (r == 0)
        r = get_str(cfg, "User", what, &c->user, err);
    if (r == 0)
        r = get_str(cfg, "StopSignal", what, &c->stop_signal, err);
    if (r == 0)
        r = parse_labels(cfg, what, c, err);
    return r;
}

static int parse_diff_ids(json_t *root, const char *what, struct image_config *c,
                          struct hutch_error **err)
{
    json_t *rootfs = json_object_get(root, "rootfs");
    if (!rootfs)
        return hutch_err(err, EINVAL, "parse", what, "missing field \"rootfs\"");
    if (!json_is_object(rootfs))
        return bad_type(err, what, "rootfs", "an object");
    _cleanup_free_ char *type = NULL;
    int r = need_str(rootfs, "type", what, &type, err);
    if (r < 0)
        return r;
    if (strcmp(type, "layers") != 0)
        return hutch_err(err, EOPNOTSUPP, "parse", what, "rootfs.type \"%.40s\" is not \"layers\"",
                         type);
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(ids))
        return ids ? bad_type(err, what, "rootfs.diff_ids", "an array of digests")
                   : hutch_err(err, EINVAL, "parse", what, "missing field \"rootfs.diff_ids\"");
    size_t n = json_array_size(ids);
    c->diff_ids = calloc(n ? n : 1, sizeof(*c->diff_ids));
    if (!c->diff_ids)
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ids, i);
        if (!json_is_string(e))
            return bad_type(err, what, "rootfs.diff_ids", "an array of digests");
        r = digest_parse(json_string_value(e), c->diff_ids[i]);
        if (r < 0)
            return hutch_err(err, -r, "parse", what, "rootfs.diff_ids[%zu]: %s digest \"%.80s\"", i,
                             r == -EOPNOTSUPP ? "unsupported" : "invalid", json_string_value(e));
        c->ndiff_ids = i + 1;
    }
    return 0;
}

int image_parse_config(const char *json, size_t len, const char *what, struct image_config **out,
                       struct hutch_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = load(json, len, what, &root, err);
    if (r == 0 && !json_is_object(root))
        r = hutch_err(err, EINVAL, "parse", what, "not a JSON object");
    if (r < 0)
        return r;
    struct image_config *c = calloc(1, sizeof(*c));
    if (!c)
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    r = get_str(root, "os", what, &c->os, err);
    if (r == 0)
        r = get_str(root, "architecture", what, &c->arch, err);
    if (r == 0)
        r = get_str(root, "variant", what, &c->variant, err);
    if (r == 0)
        r = get_str(root, "created", what, &c->created, err);
    if (r == 0)
        r = parse_run_config(root, what, c, err);
    if (r == 0)
        r = parse_diff_ids(root, what, c, err);
    if (r < 0) {
        image_config_free(c);
        return r;
    }
    *out = c;
    return 0;
}

/* ---------------------------------------------------------------- docker-archive */

void docker_manifest_free(struct docker_manifest *dm)
{
    if (!dm)
        return;
    for (size_t i = 0; i < dm->n; i++) {
        free(dm->images[i].config);
        strv_free(dm->images[i].repo_tags);
        strv_free(dm->images[i].layers);
    }
    free(dm->images);
    free(dm);
}

static int parse_docker_image(json_t *obj, const char *what, struct docker_image *img,
                              struct hutch_error **err)
{
    if (!json_is_object(obj))
        return hutch_err(err, EINVAL, "parse", what, "entry is not an object");
    int r = need_str(obj, "Config", what, &img->config, err);
    if (r == 0)
        r = get_strv(obj, "RepoTags", what, &img->repo_tags, err);
    if (r == 0)
        r = get_strv(obj, "Layers", what, &img->layers, err);
    if (r < 0)
        return r;
    if (!img->layers)
        return hutch_err(err, EINVAL, "parse", what, "missing field \"Layers\"");
    while (img->layers[img->nlayers])
        img->nlayers++;
    if (!img->repo_tags) {
        img->repo_tags = calloc(1, sizeof(char *));
        if (!img->repo_tags)
            return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    }
    return 0;
}

int image_parse_docker_manifest(const char *json, size_t len, const char *what,
                                struct docker_manifest **out, struct hutch_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = load(json, len, what, &root, err);
    if (r == 0 && !json_is_array(root))
        r = hutch_err(err, EINVAL, "parse", what, "not a JSON array");
    if (r == 0 && json_array_size(root) == 0)
        r = hutch_err(err, EINVAL, "parse", what, "no image in the archive");
    if (r < 0)
        return r;
    struct docker_manifest *dm = calloc(1, sizeof(*dm));
    size_t n = json_array_size(root);
    if (dm)
        dm->images = calloc(n, sizeof(*dm->images));
    if (!dm || !dm->images) {
        docker_manifest_free(dm);
        return hutch_err(err, ENOMEM, "parse", what, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        dm->n = i + 1;
        r = parse_docker_image(json_array_get(root, i), what, &dm->images[i], err);
        if (r < 0) {
            docker_manifest_free(dm);
            return r;
        }
    }
    *out = dm;
    return 0;
}

/* ---------------------------------------------------------------- builders */

/* A rootfs tarball is for this machine: record its architecture (OCI/Go names). */
#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#else
#define HOST_ARCH "unknown"
#endif

static json_t *descriptor_json(const struct image_descriptor *d)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest, "size",
                     (json_int_t)d->size);
}

int image_manifest_build(const struct image_descriptor *config,
                         const struct image_descriptor *layers, size_t nlayers, char **json_out)
{
    _cleanup_json_ json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    for (size_t i = 0; i < nlayers; i++)
        if (json_array_append_new(arr, descriptor_json(&layers[i])) < 0)
            return -ENOMEM;
    _cleanup_json_ json_t *root =
        json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", IMAGE_MT_OCI_MANIFEST,
                  "config", descriptor_json(config), "layers", arr);
    if (!root)
        return -ENOMEM;
    *json_out = json_dumps(root, JSON_COMPACT);
    return *json_out ? 0 : -ENOMEM;
}

int image_config_build_rootfs(const char *diff_id_hex, const char *created, char **json_out)
{
    char diff[DIGEST_STR_LEN];
    snprintf(diff, sizeof(diff), DIGEST_PREFIX "%s", diff_id_hex);
    _cleanup_json_ json_t *root =
        json_pack("{s:s, s:s, s:s, s:{s:[s]}, s:{s:s, s:[s]}}", "created", created, "architecture",
                  HOST_ARCH, "os", "linux", "config", "Env",
                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "rootfs",
                  "type", "layers", "diff_ids", diff);
    if (!root)
        return -ENOMEM;
    *json_out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    return *json_out ? 0 : -ENOMEM;
}
