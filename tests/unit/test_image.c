/* SPDX-License-Identifier: MIT */
/* Unit tests of the image documents (src/lib/image.c: index/manifest/config/manifest.json
 * parsing, platform selection, references), digests (digest.c) and the store (store.c,
 * import.c): imports of OCI layouts, oci-archives, docker-archives and rootfs tarballs built
 * here, verification failures that must leave the store as it was, resolve/pin/prune, and
 * eight concurrent imports sharing layers. Needs root (layers keep owners). */
/* clang-format off: cmocka.h needs setjmp.h, stdarg.h and stddef.h before it */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "ctx.h"
#include "digest.h"
#include "error.h"
#include "image.h"
#include "store.h"
#include "tarbuild.h"
#include "util.h"

#define MT_MANIFEST IMAGE_MT_OCI_MANIFEST
#define MT_LAYER_GZ IMAGE_MT_OCI_LAYER "+gzip"
#define HEX_A       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C       "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* The error chain mentions s (printed on failure, to see what it said instead). */
static bool err_has(struct hutch_error *err, const char *s)
{
    char *msg = hutch_error_format(err);
    bool ok = msg && strstr(msg, s);
    if (!ok)
        print_error("error was: %s\n", msg ? msg : "(none)");
    free(msg);
    return ok;
}

/* ---------------------------------------------------------------- digests */

static void test_digest_known_vector(void **state)
{
    (void)state;
    char hex[DIGEST_HEX_LEN + 1];
    assert_int_equal(digest_buf("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(digest_buf("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_digest_parse(void **state)
{
    (void)state;
    char hex[DIGEST_HEX_LEN + 1];
    assert_int_equal(digest_parse("sha256:" HEX_A, hex), 0);
    assert_string_equal(hex, HEX_A);
    assert_int_equal(digest_parse("sha512:" HEX_A, hex), -EOPNOTSUPP);
    assert_int_equal(digest_parse("sha256:" HEX_A "a", hex), -EINVAL);
    assert_int_equal(
        digest_parse("sha256:AAAAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                     hex),
        -EINVAL);
    assert_int_equal(digest_parse(HEX_A, hex), -EINVAL);
    assert_int_equal(digest_parse("sha256:../../../etc/passwd", hex), -EINVAL);
    assert_int_equal(digest_parse(NULL, hex), -EINVAL);
}

/* ---------------------------------------------------------------- media types, index */

static void test_media_kinds(void **state)
{
    (void)state;
    enum image_compression c;
    assert_int_equal(image_media_kind(IMAGE_MT_OCI_INDEX, &c), IMAGE_KIND_INDEX);
    assert_int_equal(
        image_media_kind("application/vnd.docker.distribution.manifest.list.v2+json", &c),
        IMAGE_KIND_INDEX);
    assert_int_equal(image_media_kind("application/vnd.docker.distribution.manifest.v2+json", &c),
                     IMAGE_KIND_MANIFEST);
    assert_int_equal(image_media_kind(IMAGE_MT_DOCKER_CONFIG, &c), IMAGE_KIND_CONFIG);
    assert_int_equal(image_media_kind(IMAGE_MT_OCI_LAYER "+zstd", &c), IMAGE_KIND_LAYER);
    assert_int_equal(c, IMAGE_COMP_ZSTD);
    assert_int_equal(image_media_kind("application/vnd.docker.image.rootfs.diff.tar.gzip", &c),
                     IMAGE_KIND_LAYER);
    assert_int_equal(c, IMAGE_COMP_GZIP);
    assert_int_equal(image_media_kind(IMAGE_MT_OCI_LAYER, &c), IMAGE_KIND_LAYER);
    assert_int_equal(c, IMAGE_COMP_NONE);
    assert_int_equal(
        image_media_kind("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", &c),
        IMAGE_KIND_FOREIGN_LAYER);
    assert_int_equal(image_media_kind("application/x-tar", &c), IMAGE_KIND_UNKNOWN);
}

#define DESC(mt, hex, size, extra)                                                                 \
    "{\"mediaType\":\"" mt "\",\"digest\":\"sha256:" hex "\",\"size\":" #size extra "}"
#define PLAT(os, arch) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v)                                                                         \
    ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"

static int parse_index(const char *json, struct image_index **idx, struct hutch_error **err)
{
    return image_parse_index(json, strlen(json), "index.json", idx, err);
}

static void test_index_platform_selection(void **state)
{
    (void)state;
    const char *json = "{\"schemaVersion\":2,\"manifests\":[" DESC(
        MT_MANIFEST, HEX_A, 10,
        PLAT("linux", "arm64")) "," DESC(MT_MANIFEST, HEX_B, 11,
                                         PLAT("linux", "amd64")) "," DESC(MT_MANIFEST, HEX_C, 12,
                                                                          PLATV("linux", "arm",
                                                                                "v7")) "]}";
    struct image_index *idx = NULL;
    struct hutch_error *err = NULL;
    size_t i;
    assert_int_equal(parse_index(json, &idx, &err), 0);
    assert_int_equal(idx->n, 3);
    assert_int_equal(image_index_select(idx, NULL, NULL, &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_B);
    assert_int_equal(idx->manifests[i].size, 11);
    assert_int_equal(image_index_select(idx, "linux/arm64", NULL, &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_A);
    assert_int_equal(image_index_select(idx, "linux/arm64/v8", NULL, &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_A);
    assert_int_equal(image_index_select(idx, "linux/arm/v7", NULL, &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_C);
    assert_int_equal(image_index_select(idx, "linux/arm/v6", NULL, &i, &err), -ENOENT);
    assert_int_equal(image_index_select(idx, "linux/s390x", NULL, &i, &err), -ENOENT);
    assert_true(err_has(err, "linux/s390x"));
    assert_int_equal(image_index_select(idx, "nonsense", NULL, &i, &err), -EINVAL);
    hutch_error_free(err);
    image_index_free(idx);
}

static void test_index_tags(void **state)
{
    (void)state;
    const char *
        json = "{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX
               "\",\"manifests\":[" DESC(MT_MANIFEST, HEX_A, 1,
                                         ",\"annotations\":{\"org.opencontainers.image.ref.name\":"
                                         "\"v1\"}") "," DESC(MT_MANIFEST, HEX_B, 1,
                                                             ",\"annotations\":{\"org."
                                                             "opencontainers.image.ref.name\":"
                                                             "\"reg/x:v2\"}") "," DESC("application"
                                                                                       "/vnd."
                                                                                       "example."
                                                                                       "unknown",
                                                                                       HEX_C, 1,
                                                                                       "") "]}";
    struct image_index *idx = NULL;
    struct hutch_error *err = NULL;
    size_t i;
    assert_int_equal(parse_index(json, &idx, &err), 0);
    /* two platform-less images: the caller must pick one */
    assert_int_equal(image_index_select(idx, NULL, NULL, &i, &err), -EINVAL);
    assert_true(err_has(err, "SOURCE:TAG"));
    assert_int_equal(image_index_select(idx, NULL, "v1", &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_A);
    assert_string_equal(idx->manifests[i].ref_name, "v1");
    assert_int_equal(image_index_select(idx, NULL, "v2", &i, &err), 0);
    assert_string_equal(idx->manifests[i].hex, HEX_B);
    assert_int_equal(image_index_select(idx, NULL, "v3", &i, &err), -ENOENT);
    assert_int_equal(idx->manifests[2].kind, IMAGE_KIND_UNKNOWN);
    hutch_error_free(err);
    image_index_free(idx);
}

static void test_index_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{\"schemaVersion\":2}",
        "{\"schemaVersion\":1,\"manifests\":[]}",
        "{\"schemaVersion\":\"2\",\"manifests\":[]}",
        "{\"schemaVersion\":2,\"manifests\":{}}",
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"manifests\":[]}",
        "{\"schemaVersion\":2,\"manifests\":[" DESC(MT_MANIFEST, HEX_A, -1, "") "]}",
        "{\"schemaVersion\":2,\"manifests\":[" DESC(MT_MANIFEST, HEX_A, "1", "") "]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_MANIFEST "\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_MANIFEST
        "\",\"digest\":\"sha256:abc\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":1,\"digest\":\"sha256:" HEX_A
        "\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[" DESC(MT_MANIFEST, HEX_A, 1,
                                                    ",\"platform\":{\"os\":\"linux\"}") "]}",
        "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}",
    };
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
        struct image_index *idx = NULL;
        struct hutch_error *err = NULL;
        int r = parse_index(bad[k], &idx, &err);
        if (r >= 0)
            fail_msg("accepted: %s", bad[k]);
        assert_non_null(err);
        assert_null(idx);
        hutch_error_free(err);
    }
}

/* ---------------------------------------------------------------- manifest */

static int parse_manifest(const char *json, struct image_manifest **m, struct hutch_error **err)
{
    return image_parse_manifest(json, strlen(json), "manifest", m, err);
}

static void test_manifest_good(void **state)
{
    (void)state;
    const char *json =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST
        "\",\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 100, "") ",\"layers\":[" DESC(
            MT_LAYER_GZ, HEX_B, 200,
            "") "," DESC("application/vnd.docker.image.rootfs.diff.tar.gzip", HEX_C, 300, "") "]}";
    struct image_manifest *m = NULL;
    struct hutch_error *err = NULL;
    assert_int_equal(parse_manifest(json, &m, &err), 0);
    assert_string_equal(m->config.hex, HEX_A);
    assert_int_equal(m->config.size, 100);
    assert_int_equal(m->nlayers, 2);
    assert_string_equal(m->layers[1].digest, "sha256:" HEX_C);
    assert_int_equal(m->layers[0].comp, IMAGE_COMP_GZIP);
    image_manifest_free(m);
}

static void test_manifest_bad(void **state)
{
    (void)state;
    static const struct {
        const char *json, *says;
        int errnum;
    } bad[] = {
        {"{\"schemaVersion\":2,\"layers\":[]}", "config", EINVAL},
        {"{\"schemaVersion\":2,\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 1, "") "}", "layers",
         EINVAL},
        {"{\"schemaVersion\":2,\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 1,
                                                 "") ",\"layers\":{}}",
         "layers", EINVAL},
        {"{\"schemaVersion\":2,\"config\":" DESC("text/plain", HEX_A, 1, "") ",\"layers\":[]}",
         "unknown media type", EOPNOTSUPP},
        {"{\"schemaVersion\":2,\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 1,
                                                 "") ",\"layers\":[" DESC("application/x-tar",
                                                                          HEX_B, 1, "") "]}",
         "unknown media type", EOPNOTSUPP},
        {"{\"schemaVersion\":2,\"config\":" DESC(
             IMAGE_MT_OCI_CONFIG, HEX_A, 1,
             "") ",\"layers\":[" DESC("application/"
                                      "vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                                      HEX_B, 1, "") "]}",
         "foreign", EOPNOTSUPP},
        {"{\"schemaVersion\":2,\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 1,
                                                 "") ",\"layers\":["
                                                     "{\"mediaType\":\"" MT_LAYER_GZ
                                                     "\",\"digest\":\"sha512:" HEX_B HEX_B
                                                     "\",\"size\":1}]}",
         "unsupported digest", EOPNOTSUPP},
        {"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX
         "\",\"config\":" DESC(IMAGE_MT_OCI_CONFIG, HEX_A, 1, "") ",\"layers\":[]}",
         "unexpected media type", EOPNOTSUPP},
    };
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
        struct image_manifest *m = NULL;
        struct hutch_error *err = NULL;
        int r = parse_manifest(bad[k].json, &m, &err);
        if (r != -bad[k].errnum)
            fail_msg("case %zu: got %d: %s", k, r, bad[k].json);
        assert_true(err_has(err, bad[k].says));
        assert_null(m);
        hutch_error_free(err);
    }
}

/* ---------------------------------------------------------------- config */

static void test_config_good(void **state)
{
    (void)state;
    const char *json =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
        "\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Entrypoint\":[\"/init\"],"
        "\"Cmd\":[\"-v\",\"x\"],\"WorkingDir\":\"/w\",\"User\":\"1000:1000\","
        "\"StopSignal\":\"SIGINT\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Volumes\":null},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" HEX_A "\",\"sha256:" HEX_B
        "\"]},\"history\":[{}]}";
    struct image_config *c = NULL;
    struct hutch_error *err = NULL;
    assert_int_equal(image_parse_config(json, strlen(json), "config", &c, &err), 0);
    assert_string_equal(c->env[1], "A=1");
    assert_null(c->env[2]);
    assert_string_equal(c->entrypoint[0], "/init");
    assert_string_equal(c->cmd[1], "x");
    assert_string_equal(c->workdir, "/w");
    assert_string_equal(c->user, "1000:1000");
    assert_string_equal(c->stop_signal, "SIGINT");
    assert_string_equal(c->labels_json, "{\"a\":\"1\",\"b\":\"2\"}");
    assert_int_equal(c->ndiff_ids, 2);
    assert_string_equal(c->diff_ids[1], HEX_B);
    assert_string_equal(c->created, "2024-01-02T03:04:05Z");
    image_config_free(c);

    const char *minimal = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":null}";
    assert_int_equal(image_parse_config(minimal, strlen(minimal), "config", &c, &err), 0);
    assert_null(c->env);
    assert_null(c->cmd);
    assert_int_equal(c->ndiff_ids, 0);
    image_config_free(c);
}

static void test_config_bad(void **state)
{
    (void)state;
#define RF "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"
    static const struct {
        const char *json, *says;
    } bad[] = {
        {"{}", "rootfs"},
        {"{\"rootfs\":[]}", "rootfs"},
        {"{\"rootfs\":{\"type\":\"layers\"}}", "diff_ids"},
        {"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}", "layers"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:12\"]}}", "diff_ids[0]"},
        {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[7]}}", "diff_ids"},
        {"{" RF ",\"config\":{\"Env\":\"A=1\"}}", "Env"},
        {"{" RF ",\"config\":{\"Cmd\":[\"a\",1]}}", "Cmd"},
        {"{" RF ",\"config\":{\"Entrypoint\":{}}}", "Entrypoint"},
        {"{" RF ",\"config\":{\"WorkingDir\":[]}}", "WorkingDir"},
        {"{" RF ",\"config\":{\"User\":0}}", "User"},
        {"{" RF ",\"config\":{\"Labels\":{\"a\":1}}}", "Labels"},
        {"{" RF ",\"config\":[]}", "config"},
        {"{" RF ",\"os\":3}", "os"},
    };
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
        struct image_config *c = NULL;
        struct hutch_error *err = NULL;
        if (image_parse_config(bad[k].json, strlen(bad[k].json), "config", &c, &err) >= 0)
            fail_msg("accepted: %s", bad[k].json);
        assert_true(err_has(err, bad[k].says));
        assert_null(c);
        hutch_error_free(err);
    }
}

static void test_docker_manifest(void **state)
{
    (void)state;
    const char *json = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a/b:1\"],"
                       "\"Layers\":[\"x/layer.tar\",\"y/layer.tar\"]},"
                       "{\"Config\":\"d.json\",\"RepoTags\":null,\"Layers\":[]}]";
    struct docker_manifest *dm = NULL;
    struct hutch_error *err = NULL;
    assert_int_equal(image_parse_docker_manifest(json, strlen(json), "m", &dm, &err), 0);
    assert_int_equal(dm->n, 2);
    assert_string_equal(dm->images[0].repo_tags[0], "a/b:1");
    assert_int_equal(dm->images[0].nlayers, 2);
    assert_null(dm->images[1].repo_tags[0]);
    docker_manifest_free(dm);
    static const char *const bad[] = {
        "{}", "[]", "[{\"Layers\":[]}]", "[{\"Config\":\"c\"}]", "[{\"Config\":1,\"Layers\":[]}]",
        "[1]"};
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
        assert_true(image_parse_docker_manifest(bad[k], strlen(bad[k]), "m", &dm, &err) < 0);
        hutch_error_free(err);
        err = NULL;
    }
}

/* ---------------------------------------------------------------- references */

static void test_ref_normalize(void **state)
{
    (void)state;
    static const char *const good[][2] = {
        {"busybox", "busybox:latest"},
        {"busybox:1.36", "busybox:1.36"},
        {"library/busybox", "library/busybox:latest"},
        {"localhost:5000/a/b", "localhost:5000/a/b:latest"},
        {"localhost:5000/a/b:v2", "localhost:5000/a/b:v2"},
        {"a.b-c_d/e:V_1.0-x", "a.b-c_d/e:V_1.0-x"},
    };
    for (size_t k = 0; k < ARRAY_SIZE(good); k++) {
        char *out = NULL;
        assert_int_equal(image_ref_normalize(good[k][0], &out), 0);
        assert_string_equal(out, good[k][1]);
        free(out);
    }
    static const char *const bad[] = {"",       "UPPER",    "a:",    "/abs", "a//b",
                                      "a/../b", "../x",     "a:b:c", "a:-x", ".hidden",
                                      "a/",     "host:x/y", "a b"};
    for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
        char *out = NULL;
        if (image_ref_normalize(bad[k], &out) == 0)
            fail_msg("accepted \"%s\" as %s", bad[k], out);
    }
}

static void test_ref_filename_roundtrip(void **state)
{
    (void)state;
    static const char *const refs[] = {"busybox:latest", "localhost:5000/a/b:v2", ".x/..:y"};
    for (size_t k = 0; k < ARRAY_SIZE(refs); k++) {
        char *file = NULL, *back = NULL;
        assert_int_equal(image_ref_filename(refs[k], &file), 0);
        assert_null(strchr(file, '/'));
        assert_true(file[0] != '.');
        assert_int_equal(image_ref_from_filename(file, &back), 0);
        assert_string_equal(back, refs[k]);
        free(file);
        free(back);
    }
    char *back = NULL;
    assert_int_equal(image_ref_from_filename("a%2", &back), -EINVAL);
    assert_int_equal(image_ref_from_filename("a%00", &back), -EINVAL);
}

/* ---------------------------------------------------------------- layouts built here */

struct layer_def {
    const struct tent *ents;
    size_t n;
};

struct built {
    char manifest[DIGEST_HEX_LEN + 1], config[DIGEST_HEX_LEN + 1];
    char layer[4][DIGEST_HEX_LEN + 1], diff[4][DIGEST_HEX_LEN + 1];
    size_t layer_size[4];
};

static void put_blob(const char *dir, const char *data, size_t len, char hex[DIGEST_HEX_LEN + 1])
{
    char p[1024];
    assert_int_equal(digest_buf(data, len, hex), 0);
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, hex);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
}

struct layout_opts {
    const char *ref_name; /* annotation, may be NULL */
    const char *layer_mt; /* override the layers' media type */
    const char *bad_diff; /* replace the config's first diff_id */
    long size_delta;      /* added to the first layer descriptor's size */
    enum tar_comp comp;
};

/* An OCI layout at dir with one image of the given layers. */
static void make_layout(const char *dir, const struct layer_def *layers, size_t n,
                        const struct layout_opts *lo, struct built *b)
{
    char p[1024], tmp[1024];
    snprintf(p, sizeof(p), "mkdir -p %s/blobs/sha256", dir);
    assert_int_equal(system(p), 0);
    struct buf cfg = {0}, man = {0}, idx = {0};
    const char *mt = lo->layer_mt           ? lo->layer_mt
                     : lo->comp == TAR_ZSTD ? IMAGE_MT_OCI_LAYER "+zstd"
                     : lo->comp == TAR_NONE ? IMAGE_MT_OCI_LAYER
                                            : MT_LAYER_GZ;
    buf_puts(&man, "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"layers\":[");
    buf_puts(&cfg, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":"
                   "\"2024-05-06T07:08:09Z\",\"config\":{\"Env\":[\"PATH=/bin\"],"
                   "\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/\"},"
                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        snprintf(tmp, sizeof(tmp), "%s/layer.tmp", dir);
        assert_int_equal(tar_build(tmp, layers[i].ents, layers[i].n, TAR_NONE), 0);
        char *data = slurp(tmp, &len);
        assert_int_equal(digest_buf(data, len, b->diff[i]), 0);
        free(data);
        assert_int_equal(tar_build(tmp, layers[i].ents, layers[i].n, lo->comp), 0);
        data = slurp(tmp, &len);
        put_blob(dir, data, len, b->layer[i]);
        b->layer_size[i] = len;
        free(data);
        unlink(tmp);
        buf_printf(&man, "%s{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%ld}",
                   i ? "," : "", mt, b->layer[i], (long)len + (i ? 0 : lo->size_delta));
        buf_printf(&cfg, "%s\"sha256:%s\"", i ? "," : "",
                   i == 0 && lo->bad_diff ? lo->bad_diff : b->diff[i]);
    }
    buf_puts(&cfg, "]}}");
    put_blob(dir, cfg.data, cfg.len, b->config);
    buf_printf(&man,
               "],\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG
               "\",\"digest\":\"sha256:%s\",\"size\":%zu}}",
               b->config, cfg.len);
    put_blob(dir, man.data, man.len, b->manifest);
    buf_printf(&idx,
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_MANIFEST
               "\",\"digest\":\"sha256:%s\",\"size\":%zu",
               b->manifest, man.len);
    if (lo->ref_name)
        buf_printf(&idx, ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}",
                   lo->ref_name);
    buf_puts(&idx, "}]}");
    snprintf(p, sizeof(p), "%s/index.json", dir);
    write_text(p, idx.data);
    snprintf(p, sizeof(p), "%s/oci-layout", dir);
    write_text(p, "{\"imageLayoutVersion\":\"1.0.0\"}");
    buf_free(&cfg);
    buf_free(&man);
    buf_free(&idx);
}

static const struct tent base_ents[] = {
    {"bin/", 'd'},           {"bin/sh", 'f', "#!sh\n", 0755},
    {"etc/", 'd'},           {"etc/passwd", 'f', "root:x:0:0::/:/bin/sh\n"},
    {"lib", 'l', "usr/lib"}, {"usr/lib/", 'd'},
    {"old/", 'd'},           {"old/file", 'f', "old"},
};
static const struct tent top_ents[] = {
    {"etc/", 'd'},           {"etc/motd", 'f', "hello\n"}, {"old/.wh..wh..opq", 'f', ""},
    {"bin/.wh.sh", 'f', ""}, {"bin/su", 'f', "su", 04755},
};
static const struct tent other_ents[] = {{"other", 'f', "another top layer\n"}};
static const struct layer_def two_layers[] = {{base_ents, ARRAY_SIZE(base_ents)},
                                              {top_ents, ARRAY_SIZE(top_ents)}};
static const struct layer_def base_other[] = {{base_ents, ARRAY_SIZE(base_ents)},
                                              {other_ents, ARRAY_SIZE(other_ents)}};

struct sfx {
    char *base;
    char root[600], run[600], src[600];
    struct hutch_ctx *ctx;
    struct hutch_error *err;
};

static int sfx_setup(void **state)
{
    struct sfx *f = calloc(1, sizeof(*f));
    f->base = scratch_dir();
    assert_non_null(f->base);
    snprintf(f->root, sizeof(f->root), "%s/root", f->base);
    snprintf(f->run, sizeof(f->run), "%s/run", f->base);
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    mkdir(f->run, 0700);
    struct hutch_ctx_opts o = {.sz = sizeof(o), .root = f->root, .run_dir = f->run};
    assert_int_equal(hutch_ctx_new(&o, &f->ctx, &f->err), 0);
    *state = f;
    return 0;
}

static int sfx_teardown(void **state)
{
    struct sfx *f = *state;
    int fd = open("/", O_PATH);
    rm_tree_at(fd, f->base + 1);
    close(fd);
    hutch_ctx_free(f->ctx);
    hutch_error_free(f->err);
    free(f->base);
    free(f);
    return 0;
}

static int import(struct sfx *f, const char *src, const char *name, char **ref)
{
    struct hutch_image_import_opts o = {.sz = sizeof(o), .name = name};
    hutch_error_free(f->err);
    f->err = NULL;
    return hutch_image_import(f->ctx, src, &o, ref, &f->err);
}

static int count_entries(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (de->d_name[0] != '.' && l >= s && !strcmp(de->d_name + l - s, suffix))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int count_layers(struct sfx *f)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/layers", f->root);
    return count_entries(p, "") - count_entries(p, ".json");
}

/* ---------------------------------------------------------------- imports */

static void test_import_oci_layout(void **state)
{
    struct sfx *f = *state;
    struct built b;
    char *ref = NULL;
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.ref_name = "test/img:1"}, &b);
    assert_int_equal(import(f, f->src, NULL, &ref), 0);
    assert_string_equal(ref, "test/img:1");
    free(ref);
    assert_int_equal(count_layers(f), 2);

    /* the top layer's whiteouts are in overlayfs form */
    char p[1024];
    struct stat st;
    snprintf(p, sizeof(p), "%s/layers/%s/bin/sh", f->root, b.diff[1]);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    struct image_rootfs *img = NULL;
    assert_int_equal(store_resolve(f->ctx, "test/img:1", &img, &f->err), 0);
    assert_int_equal(img->nlayers, 2);
    snprintf(p, sizeof(p), "%s/layers/%s", f->root, b.diff[0]);
    assert_string_equal(img->layers[0], p); /* base first */
    assert_string_equal(img->cmd[0], "/bin/sh");
    assert_string_equal(img->env[0], "PATH=/bin");
    assert_string_equal(img->workdir, "/");
    snprintf(p, sizeof(p), "sha256:%s", b.manifest);
    assert_string_equal(img->digest, p);
    image_rootfs_free(img);

    /* by digest, by prefix (with and without the algorithm) */
    assert_int_equal(store_resolve(f->ctx, p, &img, &f->err), 0);
    image_rootfs_free(img);
    char prefix[20];
    snprintf(prefix, sizeof(prefix), "%.12s", b.manifest);
    assert_int_equal(store_resolve(f->ctx, prefix, &img, &f->err), 0);
    assert_string_equal(img->ref, "test/img:1");
    image_rootfs_free(img);
    assert_int_equal(store_resolve(f->ctx, "test/img", &img, &f->err), -ENOENT); /* :latest */
    assert_int_equal(store_resolve(f->ctx, "nope", &img, &f->err), -ENOENT);

    char *json = NULL;
    assert_int_equal(hutch_image_list(f->ctx, &json, &f->err), 0);
    json_t *arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
                        "test/img:1");
    json_decref(arr);
    free(json);
    assert_int_equal(hutch_image_inspect(f->ctx, "test/img:1", &json, &f->err), 0);
    json_t *o = json_loads(json, 0, NULL);
    json_t *layers = json_object_get(o, "layers");
    assert_int_equal(json_array_size(layers), 2);
    snprintf(p, sizeof(p), "sha256:%s", b.diff[1]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(layers, 1), "diff_id")),
                        p);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(o, "config"), "Cmd"), 0)),
        "/bin/sh");
    json_decref(o);
    free(json);

    /* importing again under another name shares everything */
    assert_int_equal(import(f, f->src, "again:2", NULL), 0);
    assert_int_equal(count_layers(f), 2);
    snprintf(p, sizeof(p), "%s/tmp", f->root);
    assert_int_equal(count_entries(p, ""), 0);
}

static void test_import_compressions(void **state)
{
    struct sfx *f = *state;
    static const enum tar_comp comps[] = {TAR_NONE, TAR_GZIP, TAR_ZSTD};
    for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
        struct built b;
        char dir[700], name[32];
        snprintf(dir, sizeof(dir), "%s/c%zu", f->base, i);
        snprintf(name, sizeof(name), "comp:%zu", i);
        make_layout(dir, two_layers, 2, &(struct layout_opts){.comp = comps[i]}, &b);
        assert_int_equal(import(f, dir, name, NULL), 0);
    }
    assert_int_equal(count_layers(f), 2); /* same diff-ids whatever the compression */
}

/* A failed import leaves the store as it was: snapshot before, compare after. */
static void check_refused(struct sfx *f, const char *src, const char *says)
{
    char *before = tree_snapshot(f->root);
    assert_true(import(f, src, "bad:1", NULL) < 0);
    assert_true(err_has(f->err, says));
    char *after = tree_snapshot(f->root);
    if (strcmp(after, before) != 0) {
        write_text("/var/tmp/hutch-snap-before", before);
        write_text("/var/tmp/hutch-snap-after", after);
        fail_msg("store changed (diff /var/tmp/hutch-snap-before /var/tmp/hutch-snap-after)");
    }
    free(before);
    free(after);
}

static void seed_store(struct sfx *f)
{
    struct built b;
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/seed", f->base);
    make_layout(dir, base_other, 2, &(struct layout_opts){0}, &b);
    assert_int_equal(import(f, dir, "seed:1", NULL), 0);
}

static void test_import_bad_layer_digest(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &b);
    /* corrupt the top layer blob in place: same size, wrong content */
    char p[1024];
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", f->src, b.layer[1]);
    FILE *fp = fopen(p, "r+b");
    fseek(fp, 20, SEEK_SET);
    fputc('X', fp);
    fclose(fp);
    check_refused(f, f->src, b.layer[1] + 0);
}

static void test_import_missing_blob(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &b);
    char p[1024];
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", f->src, b.layer[1]);
    unlink(p);
    check_refused(f, f->src, "missing");
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", f->src, b.config);
    unlink(p);
    check_refused(f, f->src, b.config);
}

static void test_import_bad_media_type(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.layer_mt = "application/x-tar"}, &b);
    check_refused(f, f->src, "unknown media type");
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/foreign", f->base);
    make_layout(dir, two_layers, 2,
                &(struct layout_opts){
                    .layer_mt = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
                &b);
    check_refused(f, dir, "foreign");
}

static void test_import_bad_diff_id(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.bad_diff = "sha256:" HEX_A}, &b);
    check_refused(f, f->src, "diff_id");
}

static void test_import_bad_size(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.size_delta = 1}, &b);
    check_refused(f, f->src, "size");
}

static void test_import_hostile_layer(void **state)
{
    struct sfx *f = *state;
    struct built b;
    seed_store(f);
    static const struct tent evil[] = {{"ok", 'f', "ok"}, {"../../escape", 'f', "x"}};
    static const struct layer_def layers[] = {{base_ents, ARRAY_SIZE(base_ents)},
                                              {evil, ARRAY_SIZE(evil)}};
    make_layout(f->src, layers, 2, &(struct layout_opts){0}, &b);
    check_refused(f, f->src, "refused");
    char p[700];
    struct stat st;
    snprintf(p, sizeof(p), "%s/escape", f->root);
    assert_int_equal(lstat(p, &st), -1);
}

static void test_import_needs_name(void **state)
{
    struct sfx *f = *state;
    struct built b;
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.ref_name = "v1"}, &b);
    assert_int_equal(import(f, f->src, NULL, NULL), -EINVAL);
    assert_true(err_has(f->err, "--name"));
    char *ref = NULL;
    char src[700];
    snprintf(src, sizeof(src), "%s:v1", f->src); /* SOURCE:TAG picks by ref name */
    assert_int_equal(import(f, src, "named", &ref), 0);
    assert_string_equal(ref, "named:latest");
    free(ref);
    assert_int_equal(import(f, f->src, "Bad Name", NULL), -EINVAL);
}

static void test_import_rootfs_tarball(void **state)
{
    struct sfx *f = *state;
    char tarball[700];
    snprintf(tarball, sizeof(tarball), "%s/rootfs.tar.gz", f->base);
    assert_int_equal(tar_build(tarball, base_ents, ARRAY_SIZE(base_ents), TAR_GZIP), 0);
    assert_int_equal(import(f, tarball, NULL, NULL), -EINVAL);
    assert_true(err_has(f->err, "--name"));
    char *ref = NULL;
    assert_int_equal(import(f, tarball, "rootfs:1", &ref), 0);
    assert_string_equal(ref, "rootfs:1");
    free(ref);
    struct image_rootfs *img = NULL;
    assert_int_equal(store_resolve(f->ctx, "rootfs:1", &img, &f->err), 0);
    assert_int_equal(img->nlayers, 1);
    char p[1200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/etc/passwd", img->layers[0]);
    assert_int_equal(stat(p, &st), 0);
    image_rootfs_free(img);
}

/* An archive of the files under dir (paths relative to it), like skopeo/docker write. */
static void archive_dir(const char *dir, const char *const *files, size_t n, const char *out)
{
    struct tent e[16];
    char paths[16][1024];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, files[i]);
        e[i] = (struct tent){files[i], 'f', NULL, 0444};
        e[i].from_file = paths[i];
    }
    assert_int_equal(tar_build(out, e, n, TAR_NONE), 0);
}

static void test_import_oci_archive(void **state)
{
    struct sfx *f = *state;
    struct built b;
    char out[700], f0[100], f1[100], f2[100], f3[100], f4[100];
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.ref_name = "arch/img:2"}, &b);
    snprintf(f0, sizeof(f0), "blobs/sha256/%s", b.layer[0]);
    snprintf(f1, sizeof(f1), "blobs/sha256/%s", b.layer[1]);
    snprintf(f2, sizeof(f2), "blobs/sha256/%s", b.config);
    snprintf(f3, sizeof(f3), "blobs/sha256/%s", b.manifest);
    snprintf(f4, sizeof(f4), "%s", "index.json");
    const char *files[] = {"oci-layout", f4, f3, f2, f1, f0};
    snprintf(out, sizeof(out), "%s/oci.tar", f->base);
    archive_dir(f->src, files, ARRAY_SIZE(files), out);
    char *ref = NULL;
    assert_int_equal(import(f, out, NULL, &ref), 0);
    assert_string_equal(ref, "arch/img:2");
    free(ref);
    assert_int_equal(count_layers(f), 2);
    char p[700];
    snprintf(p, sizeof(p), "%s/tmp", f->root);
    assert_int_equal(count_entries(p, ""), 0); /* the unpacked archive is gone */
}

static void test_import_docker_archive(void **state)
{
    struct sfx *f = *state;
    struct built b;
    make_layout(f->src, two_layers, 2, &(struct layout_opts){.comp = TAR_NONE}, &b);
    /* docker save's shape: <hex>.json config, <id>/layer.tar, manifest.json */
    char p[2400], cfgname[80], l0[100], l1[100];
    snprintf(cfgname, sizeof(cfgname), "%s.json", b.config);
    snprintf(l0, sizeof(l0), "%.64s/layer.tar", HEX_A);
    snprintf(l1, sizeof(l1), "%.64s/layer.tar", HEX_B);
    snprintf(p, sizeof(p),
             "cd %s && mkdir " HEX_A " " HEX_B " && cp blobs/sha256/%s %s && "
             "cp blobs/sha256/%s %s && cp blobs/sha256/%s %s",
             f->src, b.config, cfgname, b.layer[0], l0, b.layer[1], l1);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof(p), "%s/manifest.json", f->src);
    char man[600];
    snprintf(man, sizeof(man),
             "[{\"Config\":\"%s\",\"RepoTags\":[\"dock/er:3\"],"
             "\"Layers\":[\"%s\",\"%s\"]}]",
             cfgname, l0, l1);
    write_text(p, man);
    const char *files[] = {"manifest.json", cfgname, l0, l1};
    char out[700];
    snprintf(out, sizeof(out), "%s/docker.tar", f->base);
    archive_dir(f->src, files, ARRAY_SIZE(files), out);
    char *ref = NULL;
    assert_int_equal(import(f, out, NULL, &ref), 0);
    assert_string_equal(ref, "dock/er:3");
    free(ref);
    struct image_rootfs *img = NULL;
    assert_int_equal(store_resolve(f->ctx, "dock/er:3", &img, &f->err), 0);
    assert_int_equal(img->nlayers, 2);
    snprintf(p, sizeof(p), "sha256:%s", b.config);
    assert_string_equal(img->config_digest, p);
    image_rootfs_free(img);

    /* a config whose content does not match its digest name is refused */
    snprintf(p, sizeof(p), "%s/%s", f->src, cfgname);
    write_text(p, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    archive_dir(f->src, files, ARRAY_SIZE(files), out);
    assert_true(import(f, out, "x:1", NULL) < 0);
}

static void test_import_platform_index(void **state)
{
    struct sfx *f = *state;
    struct built a, b;
    char dir_b[700], p[2000];
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &a);
    snprintf(dir_b, sizeof(dir_b), "%s/other", f->base);
    make_layout(dir_b, base_other, 2, &(struct layout_opts){0}, &b);
    snprintf(p, sizeof(p), "cp %s/blobs/sha256/* %s/blobs/sha256/", dir_b, f->src);
    assert_int_equal(system(p), 0);
    char man_path[900];
    snprintf(man_path, sizeof(man_path), "%s/blobs/sha256/%s", f->src, b.manifest);
    struct stat st;
    stat(man_path, &st);
    char idx[1200];
    size_t asz = 0;
    snprintf(man_path, sizeof(man_path), "%s/blobs/sha256/%s", f->src, a.manifest);
    free(slurp(man_path, &asz));
    snprintf(idx, sizeof(idx),
             "{\"schemaVersion\":2,\"manifests\":["
             "{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"sha256:%s\",\"size\":%zu" PLAT(
                 "linux", "amd64") "},"
                                   "{\"mediaType\":\"" MT_MANIFEST
                                   "\",\"digest\":\"sha256:%s\",\"size\":%lld" PLAT("linux",
                                                                                    "arm64") "}]}",
             a.manifest, asz, b.manifest, (long long)st.st_size);
    snprintf(p, sizeof(p), "%s/index.json", f->src);
    write_text(p, idx);
    struct hutch_image_import_opts o = {
        .sz = sizeof(o), .name = "multi:arm", .platform = "linux/arm64"};
    assert_int_equal(hutch_image_import(f->ctx, f->src, &o, NULL, &f->err), 0);
    assert_int_equal(import(f, f->src, "multi:amd", NULL), 0);
    struct image_rootfs *img = NULL;
    assert_int_equal(store_resolve(f->ctx, "multi:arm", &img, &f->err), 0);
    snprintf(p, sizeof(p), "sha256:%s", b.manifest);
    assert_string_equal(img->digest, p);
    image_rootfs_free(img);
    assert_int_equal(store_resolve(f->ctx, "multi:amd", &img, &f->err), 0);
    snprintf(p, sizeof(p), "sha256:%s", a.manifest);
    assert_string_equal(img->digest, p);
    image_rootfs_free(img);
    o.platform = "linux/riscv64";
    assert_int_equal(hutch_image_import(f->ctx, f->src, &o, NULL, &f->err), -ENOENT);
}

/* ---------------------------------------------------------------- resolve, pin, prune */

static void test_pin_and_prune(void **state)
{
    struct sfx *f = *state;
    struct built a, b;
    char dir_b[700], sdir[700], p[1200];
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &a);
    snprintf(dir_b, sizeof(dir_b), "%s/other", f->base);
    make_layout(dir_b, base_other, 2, &(struct layout_opts){0}, &b);
    assert_int_equal(import(f, f->src, "a:1", NULL), 0);
    assert_int_equal(import(f, dir_b, "b:1", NULL), 0);
    assert_int_equal(count_layers(f), 3); /* the base is shared */

    /* a live sandbox uses a:1: its state dir has a lock held by its supervisor (us) */
    snprintf(sdir, sizeof(sdir), "%s/sb1", f->run);
    mkdir(sdir, 0700);
    snprintf(p, sizeof(p), "%s/lock", sdir);
    int lock = open(p, O_RDWR | O_CREAT, 0600);
    assert_int_equal(flock(lock, LOCK_EX), 0);
    struct image_rootfs *img = NULL;
    assert_int_equal(store_resolve(f->ctx, "a:1", &img, &f->err), 0);

    /* while resolved and not yet pinned, the store lock is held: prune would wait */
    snprintf(p, sizeof(p), "%s/lock", f->root);
    int probe = open(p, O_RDWR);
    assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(store_pin(f->ctx, img, sdir, &f->err), 0);
    assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), 0);
    flock(probe, LOCK_UN);
    close(probe);
    image_rootfs_free(img);

    assert_int_equal(hutch_image_remove(f->ctx, "a:1", &f->err), 0);
    assert_int_equal(hutch_image_remove(f->ctx, "b:1", &f->err), 0);
    assert_int_equal(hutch_image_remove(f->ctx, "b:1", &f->err), -ENOENT);
    char *json = NULL;
    /* the pin record names our pid: make it someone else's dead one so only the lock counts */
    snprintf(p, sizeof(p), "sed -i 's/\"pid\":[0-9]*/\"pid\":999999999/' %s/" STORE_PIN_FILE, sdir);
    assert_int_equal(system(p), 0);
    assert_int_equal(hutch_image_prune(f->ctx, &json, &f->err), 0);
    json_t *o = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "layers")), 1); /* b's own layer */
    snprintf(p, sizeof(p), "sha256:%s", b.diff[1]);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "layers"), 0)), p);
    json_decref(o);
    free(json);
    assert_int_equal(count_layers(f), 2);

    /* the sandbox ends: its layers go at the next prune */
    close(lock);
    assert_int_equal(hutch_image_prune(f->ctx, &json, &f->err), 0);
    o = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "layers")), 2);
    json_decref(o);
    free(json);
    assert_int_equal(count_layers(f), 0);
    snprintf(p, sizeof(p), "%s/blobs/sha256", f->root);
    assert_int_equal(count_entries(p, ""), 0);
}

static void test_remove_by_digest(void **state)
{
    struct sfx *f = *state;
    struct built a;
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &a);
    assert_int_equal(import(f, f->src, "a:1", NULL), 0);
    assert_int_equal(import(f, f->src, "a:2", NULL), 0);
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "%.10s", a.manifest);
    assert_int_equal(hutch_image_remove(f->ctx, prefix, &f->err), -EINVAL); /* two names */
    assert_int_equal(hutch_image_remove(f->ctx, "a:2", &f->err), 0);
    assert_int_equal(hutch_image_remove(f->ctx, prefix, &f->err), 0);
    char *json = NULL;
    assert_int_equal(hutch_image_list(f->ctx, &json, &f->err), 0);
    assert_string_equal(json, "[]");
    free(json);
}

/* Eight imports at once of images sharing a base layer: no error, one copy of each layer. */
static void test_concurrent_imports(void **state)
{
    struct sfx *f = *state;
    struct built a, b;
    char dir_b[700];
    make_layout(f->src, two_layers, 2, &(struct layout_opts){0}, &a);
    snprintf(dir_b, sizeof(dir_b), "%s/other", f->base);
    make_layout(dir_b, base_other, 2, &(struct layout_opts){0}, &b);
    pid_t pids[8];
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char name[32];
            snprintf(name, sizeof(name), "c:%d", i);
            struct hutch_error *err = NULL;
            struct hutch_image_import_opts o = {.sz = sizeof(o), .name = name};
            int r = hutch_image_import(f->ctx, i % 2 ? dir_b : f->src, &o, NULL, &err);
            if (r < 0) {
                char *m = hutch_error_format(err);
                fprintf(stderr, "child %d: %s\n", i, m);
            }
            _exit(r < 0 ? 1 : 0);
        }
    }
    for (int i = 0; i < 8; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(count_layers(f), 3);
    char *json = NULL;
    assert_int_equal(hutch_image_list(f->ctx, &json, &f->err), 0);
    json_t *arr = json_loads(json, 0, NULL);
    assert_int_equal(json_array_size(arr), 8);
    json_decref(arr);
    free(json);
}

int main(void)
{
#define S(t) cmocka_unit_test_setup_teardown(t, sfx_setup, sfx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_known_vector),
        cmocka_unit_test(test_digest_parse),
        cmocka_unit_test(test_media_kinds),
        cmocka_unit_test(test_index_platform_selection),
        cmocka_unit_test(test_index_tags),
        cmocka_unit_test(test_index_bad),
        cmocka_unit_test(test_manifest_good),
        cmocka_unit_test(test_manifest_bad),
        cmocka_unit_test(test_config_good),
        cmocka_unit_test(test_config_bad),
        cmocka_unit_test(test_docker_manifest),
        cmocka_unit_test(test_ref_normalize),
        cmocka_unit_test(test_ref_filename_roundtrip),
        S(test_import_oci_layout),
        S(test_import_compressions),
        S(test_import_bad_layer_digest),
        S(test_import_missing_blob),
        S(test_import_bad_media_type),
        S(test_import_bad_diff_id),
        S(test_import_bad_size),
        S(test_import_hostile_layer),
        S(test_import_needs_name),
        S(test_import_rootfs_tarball),
        S(test_import_oci_archive),
        S(test_import_docker_archive),
        S(test_import_platform_index),
        S(test_pin_and_prune),
        S(test_remove_by_digest),
        S(test_concurrent_imports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
