/* SPDX-License-Identifier: MIT */
/*
 * The image store (store.h): open and lock, blobs, layers, image references, loading an image,
 * resolve and pin for the run core, `hutch image list / inspect / rm`. What may be deleted
 * (references, pins of live sandboxes), rollback after a failed import and `hutch image prune`
 * are in store_gc.c.
 */
#include "store.h"
#include "state.h"
#include "store_internal.h"

#include "ctx.h"
#include "image.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- open, lock */

int store_lock_fd_op(int fd, int op)
{
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int store_open(struct hutch_ctx *ctx, bool create, int lock_op, struct store *s,
               struct hutch_error **err)
{
    static const char *const dirs[] = {"blobs", BLOB_DIR, LAYER_DIR, IMAGE_DIR, TMP_DIR, LOCK_DIR};
    s->root = ctx->root;
    s->root_fd = s->lock_fd = -1;
    if (create) {
        int r = ctx_ensure_dir(ctx->root, err);
        if (r < 0)
            return r;
    }
    s->root_fd = open(ctx->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0)
        return errno == ENOENT ? hutch_err(err, ENOENT, "open", ctx->root, "the store is empty")
                               : hutch_err_sys(err, "open", ctx->root);
    for (size_t i = 0; create && i < ARRAY_SIZE(dirs); i++)
        if (mkdirat(s->root_fd, dirs[i], 0700) < 0 && errno != EEXIST)
            return hutch_err_sys(err, "mkdir", dirs[i]);
    s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0)
        return hutch_err_sys(err, "open", "store lock");
    int r = store_lock_fd_op(s->lock_fd, lock_op);
    return r < 0 ? hutch_err(err, r, "flock", "store lock", "%s", strerror(-r)) : 0;
}

void store_close(struct store *s)
{
    close_fd(&s->lock_fd);
    close_fd(&s->root_fd);
}

/* ---------------------------------------------------------------- small files */

static int rand_name(char *out, size_t outsz, const char *dir, const char *prefix)
{
    char hex[17];
    int r = random_hex(hex, 8);
    if (r < 0)
        return r;
    snprintf(out, outsz, "%s/%s-%s", dir, prefix, hex);
    return 0;
}

/* Write data to dirfd/path through a temporary file + fsync + rename (replaces). */
static int write_atomic(int dirfd, const char *path, const char *data, size_t len,
                        struct hutch_error **err)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return hutch_err_sys(err, "create", path);
    int r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
        r = -errno;
    if (r < 0) {
        unlinkat(dirfd, tmp, 0);
        return hutch_err(err, r, "write", path, "%s", strerror(-r));
    }
    return 0;
}

static int json_write_atomic(int dirfd, const char *path, json_t *j, struct hutch_error **err)
{
    _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return hutch_err(err, ENOMEM, "write", path, "out of memory");
    return write_atomic(dirfd, path, s, strlen(s), err);
}

int store_json_read_at(int dirfd, const char *path, json_t **out, struct hutch_error **err)
{
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = read_file_at(dirfd, path, &data, &len, IMAGE_JSON_MAX);
    if (r < 0)
        return hutch_err(err, r, "read", path, "%s", strerror(-r));
    json_error_t je;
    *out = json_loadb(data, len, 0, &je);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return hutch_err(err, EINVAL, "parse", path, "corrupt store file: %s", je.text);
    }
    return 0;
}

/* ---------------------------------------------------------------- blobs */

int store_blob_put(struct store *s, const char *data, size_t len, const char *expect_hex,
                   char hex_out[DIGEST_HEX_LEN + 1], bool *created, struct hutch_error **err)
{
    char path[128], tmp[128];
    *created = false;
    if (digest_buf(data, len, hex_out) < 0)
        return hutch_err(err, ENOMEM, "digest", "blob", "sha256 failed");
    if (expect_hex && strcmp(expect_hex, hex_out) != 0)
        return hutch_err(err, EINVAL, "verify", expect_hex, "content has digest sha256:%s",
                         hex_out);
    snprintf(path, sizeof(path), BLOB_DIR "/%s", hex_out);
    if (faccessat(s->root_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    int r = rand_name(tmp, sizeof(tmp), TMP_DIR, "blob");
    if (r < 0)
        return hutch_err(err, r, "random", NULL, "%s", strerror(-r));
    r = write_atomic(s->root_fd, tmp, data, len, err);
    if (r < 0)
        return r;
    if (renameat2(s->root_fd, tmp, s->root_fd, path, RENAME_NOREPLACE) < 0) {
        r = errno;
        unlinkat(s->root_fd, tmp, 0);
        return r == EEXIST ? 0 : hutch_err(err, r, "rename", path, "%s", strerror(r));
    }
    *created = true;
    return 0;
}

int store_blob_read(struct store *s, const char *hex, char **data, size_t *len,
                    struct hutch_error **err)
{
    char path[128], got[DIGEST_HEX_LEN + 1];
    if (!digest_hex_valid(hex))
        return hutch_err(err, EINVAL, "read", hex, "invalid digest");
    snprintf(path, sizeof(path), BLOB_DIR "/%s", hex);
    int r = read_file_at(s->root_fd, path, data, len, IMAGE_JSON_MAX);
    if (r < 0)
        return hutch_err(err, r, "read", path, "blob sha256:%s: %s", hex, strerror(-r));
    if (digest_buf(*data, *len, got) < 0 || strcmp(got, hex) != 0) {
        free(*data);
        *data = NULL;
        return hutch_err(err, EIO, "verify", path, "blob sha256:%s is corrupt", hex);
    }
    return 0;
}

/* ---------------------------------------------------------------- layers */

int store_layer_lock(struct store *s, const char *hex, int *fd_out, struct hutch_error **err)
{
    char path[128];
    snprintf(path, sizeof(path), LOCK_DIR "/%s.lock", hex);
    int fd = openat(s->root_fd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return hutch_err_sys(err, "open", path);
    int r = store_lock_fd_op(fd, LOCK_EX);
    if (r < 0) {
        close(fd);
        return hutch_err(err, r, "flock", path, "%s", strerror(-r));
    }
    *fd_out = fd;
    return 0;
}

bool store_layer_exists(struct store *s, const char *hex)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), LAYER_DIR "/%s", hex);
    return fstatat(s->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int store_mktemp(struct store *s, const char *prefix, char **name_out, int *fd_out,
                 struct hutch_error **err)
{
    char name[128];
    int r = rand_name(name, sizeof(name), TMP_DIR, prefix);
    if (r < 0)
        return hutch_err(err, r, "random", NULL, "%s", strerror(-r));
    if (mkdirat(s->root_fd, name, 0700) < 0)
        return hutch_err_sys(err, "mkdir", name);
    int fd = openat(s->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !(*name_out = strdup(name))) {
        r = fd < 0 ? hutch_err_sys(err, "open", name) : hutch_err(err, ENOMEM, NULL, name, "oom");
        if (fd >= 0)
            close(fd);
        rm_tree_at(s->root_fd, name);
        return r;
    }
    *fd_out = fd;
    return 0;
}

int store_layer_commit(struct store *s, const char *tmp_name, const char *hex,
                       const char *meta_json, struct hutch_error **err)
{
    char path[128], meta[128];
    snprintf(path, sizeof(path), LAYER_DIR "/%s", hex);
    snprintf(meta, sizeof(meta), LAYER_DIR "/%s.json", hex);
    /* metadata first: an orphan .json is harmless (prune removes it), a layer without one
     * would have unknown sizes */
    int r = write_atomic(s->root_fd, meta, meta_json, strlen(meta_json), err);
    if (r < 0)
        return r;
    if (renameat2(s->root_fd, tmp_name, s->root_fd, path, RENAME_NOREPLACE) < 0) {
        r = errno;
        if (r != EEXIST)
            unlinkat(s->root_fd, meta, 0);
        return hutch_err(err, r, "rename", path, "%s", strerror(r));
    }
    return 0;
}

/* ---------------------------------------------------------------- refs */

void store_refs_free(struct ref_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

int store_ref_write(struct store *s, const char *ref, const char *manifest_hex,
                    struct hutch_error **err)
{
    _cleanup_free_ char *file = NULL, *path = NULL;
    char digest[DIGEST_STR_LEN];
    snprintf(digest, sizeof(digest), DIGEST_PREFIX "%s", manifest_hex);
    if (image_ref_filename(ref, &file) < 0 || asprintf(&path, IMAGE_DIR "/%s.json", file) < 0)
        return hutch_err(err, ENOMEM, NULL, ref, "out of memory");
    _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:I}", "name", ref, "manifest", digest,
                                         "imported", (json_int_t)time(NULL));
    if (!j)
        return hutch_err(err, ENOMEM, NULL, ref, "out of memory");
    return json_write_atomic(s->root_fd, path, j, err);
}

static int ref_parse(int dirfd, const char *file, struct ref_entry *e, struct hutch_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = store_json_read_at(dirfd, file, &j, err);
    if (r < 0)
        return r;
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *digest = json_string_value(json_object_get(j, "manifest"));
    if (!name || !digest || digest_parse(digest, e->hex) < 0)
        return hutch_err(err, EINVAL, "parse", file, "corrupt image reference");
    e->imported = (long long)json_integer_value(json_object_get(j, "imported"));
    e->name = strdup(name);
    return e->name ? 0 : hutch_err(err, ENOMEM, NULL, file, "out of memory");
}

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ref_entry *)a)->name, ((const struct ref_entry *)b)->name);
}

/* Every image reference, sorted by name. */
int store_refs_load(struct store *s, struct ref_entry **out, size_t *n, struct hutch_error **err)
{
    int dfd = openat(s->root_fd, IMAGE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_dir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    *out = NULL;
    *n = 0;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return errno == ENOENT ? 0 : hutch_err_sys(err, "open", IMAGE_DIR);
    }
    size_t cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct ref_entry *v = realloc(*out, cap * sizeof(*v));
            if (!v)
                return hutch_err(err, ENOMEM, NULL, IMAGE_DIR, "out of memory");
            *out = v;
        }
        int r = ref_parse(dirfd(d), de->d_name, &(*out)[*n], err);
        if (r < 0) {
            store_refs_free(*out, *n);
            *out = NULL;
            *n = 0;
            return r;
        }
        (*n)++;
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), ref_cmp);
    return 0;
}

static bool is_hex_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > DIGEST_HEX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Find ref among the refs: by name first, then by (a unique prefix of) the manifest digest.
 * *idx is the first matching entry; *count how many names share that digest. */
static int ref_find(const struct ref_entry *v, size_t n, const char *ref, size_t *idx,
                    size_t *count, struct hutch_error **err)
{
    _cleanup_free_ char *norm = NULL;
    *count = 0;
    if (image_ref_normalize(ref, &norm) == 0) {
        /* "busybox:t" also finds what docker save named docker.io/library/busybox:t */
        _cleanup_free_ char *docker = NULL;
        if (!strchr(norm, '/') && asprintf(&docker, "docker.io/library/%s", norm) < 0)
            docker = NULL;
        for (int pass = 0; pass < 2; pass++) {
            const char *want = pass == 0 ? norm : docker;
            for (size_t i = 0; want && i < n; i++)
                if (strcmp(v[i].name, want) == 0) {
                    *idx = i;
                    *count = 1;
                    return 0;
                }
        }
    }
    const char *hex = strncmp(ref, DIGEST_PREFIX, 7) == 0 ? ref + 7 : ref;
    if (!is_hex_prefix(hex))
        return hutch_err(err, ENOENT, "resolve", ref, "no such image");
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(v[i].hex, hex, strlen(hex)) != 0)
            continue;
        if (found && strcmp(found, v[i].hex) != 0)
            return hutch_err(err, EINVAL, "resolve", ref, "ambiguous digest prefix");
        if (!found)
            *idx = i;
        found = v[i].hex;
        (*count)++;
    }
    return found ? 0 : hutch_err(err, ENOENT, "resolve", ref, "no such image");
}

/* ---------------------------------------------------------------- loading an image */

void store_loaded_clear(struct loaded *l)
{
    image_manifest_free(l->m);
    image_config_free(l->c);
    free(l->config_json);
    memset(l, 0, sizeof(*l));
}

int store_image_load(struct store *s, const char *manifest_hex, struct loaded *l,
                     struct hutch_error **err)
{
    _cleanup_free_ char *mdata = NULL;
    size_t mlen, clen;
    memset(l, 0, sizeof(*l));
    int r = store_blob_read(s, manifest_hex, &mdata, &mlen, err);
    if (r == 0)
        r = image_parse_manifest(mdata, mlen, "manifest", &l->m, err);
    if (r == 0)
        r = store_blob_read(s, l->m->config.hex, &l->config_json, &clen, err);
    if (r == 0)
        r = image_parse_config(l->config_json, clen, "config", &l->c, err);
    if (r == 0 && l->c->ndiff_ids != l->m->nlayers)
        r = hutch_err(err, EINVAL, "verify", manifest_hex, "%zu layers but %zu diff_ids",
                      l->m->nlayers, l->c->ndiff_ids);
    if (r < 0)
        store_loaded_clear(l);
    return r;
}

json_t *store_layer_meta(struct store *s, const char *hex)
{
    char path[128];
    json_t *j = NULL;
    snprintf(path, sizeof(path), LAYER_DIR "/%s.json", hex);
    if (store_json_read_at(s->root_fd, path, &j, NULL) < 0)
        return NULL;
    return j;
}

/* ---------------------------------------------------------------- resolve, pin */

static char **strv_dup(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    if (!v)
        return NULL;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    return out;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void image_rootfs_free(struct image_rootfs *img)
{
    if (!img)
        return;
    strv_free(img->layers);
    strv_free(img->env);
    strv_free(img->entrypoint);
    strv_free(img->cmd);
    free(img->workdir);
    free(img->user);
    free(img->stop_signal);
    free(img->ref);
    free(img->digest);
    free(img->config_digest);
    strv_free(img->layer_ids);
    close_fd(&img->lock_fd);
    free(img);
}

#define DUP_OR_FAIL(dst, src)                                                                      \
    do {                                                                                           \
        if ((src) && !((dst) = strdup(src)))                                                       \
            return -ENOMEM;                                                                        \
    } while (0)

static int rootfs_fill(struct store *s, const struct ref_entry *ref, const struct loaded *l,
                       struct image_rootfs *img, struct hutch_error **err)
{
    size_t n = l->c->ndiff_ids;
    img->layers = calloc(n + 1, sizeof(char *));
    img->layer_ids = calloc(n + 1, sizeof(char *));
    if (!img->layers || !img->layer_ids)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *hex = l->c->diff_ids[i];
        if (!store_layer_exists(s, hex))
            return hutch_err(err, ENOENT, "resolve", ref->name,
                             "layer sha256:%s is missing from the store: import the image again",
                             hex);
        if (asprintf(&img->layers[i], "%s/" LAYER_DIR "/%s", s->root, hex) < 0) {
            img->layers[i] = NULL;
            return -ENOMEM;
        }
        DUP_OR_FAIL(img->layer_ids[i], hex);
        img->nlayers = (int)i + 1;
    }
    if ((l->c->env && !(img->env = strv_dup(l->c->env))) ||
        (l->c->entrypoint && !(img->entrypoint = strv_dup(l->c->entrypoint))) ||
        (l->c->cmd && !(img->cmd = strv_dup(l->c->cmd))))
        return -ENOMEM;
    DUP_OR_FAIL(img->workdir, l->c->workdir);
    DUP_OR_FAIL(img->user, l->c->user);
    DUP_OR_FAIL(img->stop_signal, l->c->stop_signal);
    DUP_OR_FAIL(img->ref, ref->name);
    DUP_OR_FAIL(img->config_digest, l->m->config.digest);
    if (asprintf(&img->digest, DIGEST_PREFIX "%s", ref->hex) < 0) {
        img->digest = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Find ref and load its manifest + config. The caller holds the store lock. */
static int store_find(struct store *s, const char *ref, struct ref_entry *found, size_t *nnames,
                      struct loaded *l, struct hutch_error **err)
{
    struct ref_entry *refs;
    size_t n, idx = 0;
    int r = store_refs_load(s, &refs, &n, err);
    if (r == 0)
        r = ref_find(refs, n, ref, &idx, nnames, err);
    if (r == 0) {
        *found = refs[idx];
        found->name = strdup(refs[idx].name);
        r = found->name ? store_image_load(s, found->hex, l, err) : -ENOMEM;
    }
    store_refs_free(refs, n);
    if (r < 0) {
        free(found->name);
        found->name = NULL;
    }
    return r == -ENOMEM ? hutch_err(err, ENOMEM, NULL, ref, "out of memory") : r;
}

int store_resolve(struct hutch_ctx *ctx, const char *ref, struct image_rootfs **out,
                  struct hutch_error **err)
{
    struct store s;
    struct ref_entry found = {0};
    struct loaded l = {0};
    size_t nnames;
    int r = store_open(ctx, false, LOCK_SH, &s, err);
    if (r == -ENOENT)
        r = hutch_err(err, ENOENT, "resolve", ref, "no such image");
    if (r == 0)
        r = store_find(&s, ref, &found, &nnames, &l, err);
    struct image_rootfs *img = r == 0 ? calloc(1, sizeof(*img)) : NULL;
    if (r == 0 && !img)
        r = -ENOMEM;
    if (img) {
        img->lock_fd = -1;
        r = rootfs_fill(&s, &found, &l, img, err);
    }
    if (r == -ENOMEM)
        r = hutch_err(err, ENOMEM, NULL, ref, "out of memory");
    if (r == 0) {
        img->lock_fd = TAKE_FD(s.lock_fd); /* held until store_pin: prune must wait */
        *out = TAKE_PTR(img);
    }
    image_rootfs_free(img);
    store_loaded_clear(&l);
    free(found.name);
    store_close(&s);
    return r;
}

int store_pin(struct hutch_ctx *ctx, struct image_rootfs *img, const char *state_dir,
              struct hutch_error **err)
{
    (void)ctx;
    _cleanup_json_ json_t *layers = json_array();
    for (int i = 0; layers && i < img->nlayers; i++)
        if (json_array_append_new(layers, json_string(img->layer_ids[i])) < 0)
            return hutch_err(err, ENOMEM, NULL, state_dir, "out of memory");
    _cleanup_json_ json_t *j =
        layers ? json_pack("{s:s, s:s, s:s, s:O, s:I, s:I}", "ref", img->ref, "manifest",
                           img->digest, "config", img->config_digest, "layers", layers, "pid",
                           (json_int_t)getpid(), "pid_start",
                           (json_int_t)store_proc_start_time(getpid()))
               : NULL;
    if (!j)
        return hutch_err(err, ENOMEM, NULL, state_dir, "out of memory");
    _cleanup_close_ int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return hutch_err_sys(err, "open", state_dir);
    /* run state, not store data: no fsync (HUTCH_RUN is usually a tmpfs and gc rebuilds) */
    _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT);
    int r = txt ? state_write(state_dir, STORE_PIN_FILE, txt) : -ENOMEM;
    if (r < 0)
        return hutch_err(err, r, "write", state_dir, "cannot record the image pin");
    close_fd(&img->lock_fd); /* the pin now protects the layers */
    return 0;
}

/* ---------------------------------------------------------------- list, inspect */

static json_t *layers_json(struct store *s, const struct loaded *l, uint64_t *total)
{
    json_t *arr = json_array();
    *total = 0;
    for (size_t i = 0; arr && i < l->m->nlayers; i++) {
        const struct image_descriptor *d = &l->m->layers[i];
        char diff[DIGEST_STR_LEN];
        snprintf(diff, sizeof(diff), DIGEST_PREFIX "%s", l->c->diff_ids[i]);
        _cleanup_json_ json_t *meta = store_layer_meta(s, l->c->diff_ids[i]);
        uint64_t unpacked = meta ? (uint64_t)json_integer_value(json_object_get(meta, "size")) : 0;
        *total += unpacked ? unpacked : d->size;
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:s, s:I, s:I}", "digest", d->digest, "media_type", d->media_type,
            "size", (json_int_t)d->size, "diff_id", diff, "unpacked_size", (json_int_t)unpacked,
            "files", (json_int_t)(meta ? json_integer_value(json_object_get(meta, "files")) : 0));
        json_t *w = meta ? json_object_get(meta, "warnings") : NULL;
        if (o && w)
            json_object_set(o, "warnings", w);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *image_json(struct store *s, const struct ref_entry *ref, const struct loaded *l,
                          bool full)
{
    uint64_t total;
    char digest[DIGEST_STR_LEN];
    snprintf(digest, sizeof(digest), DIGEST_PREFIX "%s", ref->hex);
    json_t *layers = layers_json(s, l, &total);
    json_t *o = layers
                    ? json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I}", "name",
                                ref->name, "digest", digest, "config_digest", l->m->config.digest,
                                "created", l->c->created, "os", l->c->os, "architecture",
                                l->c->arch, "size", (json_int_t)total, "imported",
                                (json_int_t)ref->imported, "nlayers", (json_int_t)l->m->nlayers)
                    : NULL;
    if (o && full) {
        json_object_set(o, "layers", layers);
        json_t *cfg = json_loads(l->config_json, 0, NULL);
        json_t *run = json_object_get(cfg, "config");
        json_object_set(o, "config", run ? run : json_object());
        json_decref(cfg);
    }
    json_decref(layers);
    return o;
}

int store_json_emit(json_t *j, char **out, struct hutch_error **err)
{
    *out = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return *out ? 0 : hutch_err(err, ENOMEM, NULL, "json", "out of memory");
}

HUTCH_API int hutch_image_list(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err)
{
    struct store s;
    struct ref_entry *refs = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int r = store_open(ctx, false, LOCK_SH, &s, err);
    if (r == -ENOENT) { /* an empty store lists nothing */
        hutch_err_clear(err);
        store_close(&s);
        return store_json_emit(arr, json_out, err);
    }
    if (r == 0)
        r = store_refs_load(&s, &refs, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct loaded l;
        r = store_image_load(&s, refs[i].hex, &l, err);
        if (r == 0 && json_array_append_new(arr, image_json(&s, &refs[i], &l, false)) < 0)
            r = hutch_err(err, ENOMEM, NULL, "list", "out of memory");
        if (r == 0)
            store_loaded_clear(&l);
        else
            r = hutch_err(err, r, "list", refs[i].name, "cannot read this image");
    }
    store_refs_free(refs, n);
    store_close(&s);
    if (r < 0) {
        json_decref(arr);
        return r;
    }
    return store_json_emit(arr, json_out, err);
}

HUTCH_API int hutch_image_inspect(struct hutch_ctx *ctx, const char *ref, char **json_out,
                                  struct hutch_error **err)
{
    struct store s;
    struct ref_entry found = {0};
    struct loaded l = {0};
    size_t nnames;
    int r = store_open(ctx, false, LOCK_SH, &s, err);
    if (r == -ENOENT)
        r = hutch_err(err, ENOENT, "inspect", ref, "no such image");
    if (r == 0)
        r = store_find(&s, ref, &found, &nnames, &l, err);
    if (r == 0)
        r = store_json_emit(image_json(&s, &found, &l, true), json_out, err);
    store_loaded_clear(&l);
    free(found.name);
    store_close(&s);
    return r;
}

/* ---------------------------------------------------------------- remove */

/* rm removes the reference only; the blobs and layers it alone used go at the next prune
 * (which also knows which ones live sandboxes still use). */
HUTCH_API int hutch_image_remove(struct hutch_ctx *ctx, const char *ref, struct hutch_error **err)
{
    struct store s;
    struct ref_entry *refs = NULL;
    size_t n = 0, idx = 0, count = 0;
    int r = store_open(ctx, false, LOCK_EX, &s, err);
    if (r == -ENOENT)
        r = hutch_err(err, ENOENT, "remove", ref, "no such image");
    if (r == 0)
        r = store_refs_load(&s, &refs, &n, err);
    if (r == 0)
        r = ref_find(refs, n, ref, &idx, &count, err);
    if (r == 0 && count > 1)
        r = hutch_err(err, EINVAL, "remove", ref,
                      "the digest is tagged %zu times (e.g. %s): remove by name", count,
                      refs[idx].name);
    _cleanup_free_ char *file = NULL, *path = NULL;
    if (r == 0 && (image_ref_filename(refs[idx].name, &file) < 0 ||
                   asprintf(&path, IMAGE_DIR "/%s.json", file) < 0))
        r = hutch_err(err, ENOMEM, NULL, ref, "out of memory");
    if (r == 0 && unlinkat(s.root_fd, path, 0) < 0)
        r = hutch_err_sys(err, "unlink", path);
    store_refs_free(refs, n);
    store_close(&s);
    return r;
}
