/* SPDX-License-Identifier: MIT */
/*
 * What the image store may delete (store.h): the blobs and layers image references and live
 * sandboxes' pins use (a state dir is live while its lock is held or its pinning process
 * lives), the rollback of a failed import, and `hutch image prune` under the exclusive lock.
 */
#include "store.h"
#include "store_internal.h"

#include "ctx.h"
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
#include <unistd.h>

/* Unpacked size of a layer from its metadata (0 when unknown). */
static uint64_t layer_size(struct store *s, const char *hex)
{
    _cleanup_json_ json_t *j = store_layer_meta(s, hex);
    return j ? (uint64_t)json_integer_value(json_object_get(j, "size")) : 0;
}

/* ---------------------------------------------------------------- referenced sets */

struct hexset {
    char (*v)[DIGEST_HEX_LEN + 1];
    size_t n, cap;
};

static int hexset_add(struct hexset *h, const char *hex)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        void *v = realloc(h->v, cap * sizeof(*h->v));
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    snprintf(h->v[h->n++], DIGEST_HEX_LEN + 1, "%s", hex);
    return 0;
}

static int hex_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void hexset_sort(struct hexset *h)
{
    if (h->n)
        qsort(h->v, h->n, sizeof(*h->v), hex_cmp);
}

static bool hexset_has(const struct hexset *h, const char *hex)
{
    return h->n && bsearch(hex, h->v, h->n, sizeof(*h->v), hex_cmp) != NULL;
}

unsigned long long store_proc_start_time(pid_t pid)
{
    char path[64], *data = NULL;
    unsigned long long start = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_file_at(AT_FDCWD, path, &data, NULL, 4096) < 0)
        return 0;
    /* field 22 (starttime), counted after the ")" that ends the command name */
    char *p = strrchr(data, ')');
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (p)
        start = strtoull(p, NULL, 10);
    free(data);
    return start;
}

static bool pid_alive(long long pid, unsigned long long start)
{
    if (pid <= 0 || pid > INT32_MAX)
        return false;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return false;
    return !start || store_proc_start_time((pid_t)pid) == start;
}

/* A sandbox state dir is live while its supervisor holds its `lock` (state.c), or while the
 * process that pinned the image lives (a pin written before the lock, or without one). */
static bool state_dir_live(int sfd, json_t *pin)
{
    int fd = openat(sfd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        close(fd);
        if (held)
            return true;
    }
    long long pid = (long long)json_integer_value(json_object_get(pin, "pid"));
    unsigned long long start =
        (unsigned long long)json_integer_value(json_object_get(pin, "pid_start"));
    return pid_alive(pid, start);
}

static int add_pin(json_t *pin, struct hexset *blobs, struct hexset *layers)
{
    char hex[DIGEST_HEX_LEN + 1];
    const char *keys[] = {"manifest", "config"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (digest_parse(json_string_value(json_object_get(pin, keys[i])), hex) == 0 &&
            hexset_add(blobs, hex) < 0)
            return -ENOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(pin, "layers"), i, v)
    {
        const char *h = json_string_value(v);
        if (h && digest_hex_valid(h) && hexset_add(layers, h) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Layers and blobs pinned by live sandboxes under run_dir. */
static int collect_pins(struct hutch_ctx *ctx, struct hexset *blobs, struct hexset *layers,
                        struct hutch_error **err)
{
    _cleanup_dir_ DIR *d = opendir(ctx->run_dir);
    if (!d)
        return errno == ENOENT ? 0 : hutch_err_sys(err, "open", ctx->run_dir);
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_close_ int sfd =
            openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_json_ json_t *pin = NULL;
        if (sfd < 0 || store_json_read_at(sfd, STORE_PIN_FILE, &pin, NULL) < 0)
            continue;
        if (state_dir_live(sfd, pin) && add_pin(pin, blobs, layers) < 0)
            return hutch_err(err, ENOMEM, NULL, ctx->run_dir, "out of memory");
    }
    return 0;
}

/* What must stay: everything an image reference or a live sandbox uses. An image that cannot
 * be read makes this fail, so that prune never deletes on a guess. */
static int collect_referenced(struct hutch_ctx *ctx, struct store *s, struct hexset *blobs,
                              struct hexset *layers, struct hutch_error **err)
{
    struct ref_entry *refs;
    size_t n;
    int r = store_refs_load(s, &refs, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct loaded l;
        r = store_image_load(s, refs[i].hex, &l, err);
        if (r < 0) {
            r = hutch_err(err, r, "prune", refs[i].name, "cannot read this image (remove it)");
            break;
        }
        if (hexset_add(blobs, refs[i].hex) < 0 || hexset_add(blobs, l.m->config.hex) < 0)
            r = -ENOMEM;
        for (size_t k = 0; r == 0 && k < l.c->ndiff_ids; k++)
            r = hexset_add(layers, l.c->diff_ids[k]);
        store_loaded_clear(&l);
        if (r == -ENOMEM)
            r = hutch_err(err, ENOMEM, NULL, "prune", "out of memory");
    }
    store_refs_free(refs, n);
    if (r == 0)
        r = collect_pins(ctx, blobs, layers, err);
    hexset_sort(blobs);
    hexset_sort(layers);
    return r;
}

static uint64_t remove_layer(struct store *s, const char *hex)
{
    char path[128];
    uint64_t size = layer_size(s, hex);
    snprintf(path, sizeof(path), LAYER_DIR "/%s", hex);
    if (rm_tree_at(s->root_fd, path) < 0)
        return 0;
    snprintf(path, sizeof(path), LAYER_DIR "/%s.json", hex);
    unlinkat(s->root_fd, path, 0);
    snprintf(path, sizeof(path), LOCK_DIR "/%s.lock", hex);
    unlinkat(s->root_fd, path, 0);
    return size;
}

static uint64_t remove_blob(struct store *s, const char *hex)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), BLOB_DIR "/%s", hex);
    if (fstatat(s->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        unlinkat(s->root_fd, path, 0) < 0)
        return 0;
    return (uint64_t)st.st_size;
}

/* Lock files of layers that are not there (an extraction that failed). */
static void remove_stale_locks(struct store *s)
{
    int dfd = openat(s->root_fd, LOCK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_dir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    for (struct dirent *de; (de = readdir(d));) {
        char hex[DIGEST_HEX_LEN + 1];
        if (strlen(de->d_name) != DIGEST_HEX_LEN + 5)
            continue;
        memcpy(hex, de->d_name, DIGEST_HEX_LEN);
        hex[DIGEST_HEX_LEN] = '\0';
        if (digest_hex_valid(hex) && !store_layer_exists(s, hex))
            unlinkat(dirfd(d), de->d_name, 0);
    }
}

void store_rollback(struct hutch_ctx *ctx, struct store *s, char **blobs, size_t nblobs,
                    char **layers, size_t nlayers)
{
    struct hexset kb = {0}, kl = {0};
    struct hutch_error *e = NULL;
    /* exclusive: no other import is between "layer exists" and writing its reference, and
     * nobody holds or waits on a layer lock file */
    if (store_lock_fd_op(s->lock_fd, LOCK_EX) < 0)
        return;
    if (collect_referenced(ctx, s, &kb, &kl, &e) == 0) {
        for (size_t i = 0; i < nlayers; i++)
            if (!hexset_has(&kl, layers[i]))
                remove_layer(s, layers[i]);
        for (size_t i = 0; i < nblobs; i++)
            if (!hexset_has(&kb, blobs[i]))
                remove_blob(s, blobs[i]);
    }
    remove_stale_locks(s);
    hutch_error_free(e);
    free(kb.v);
    free(kl.v);
}

/* ---------------------------------------------------------------- prune */

/* Remove every entry of dir (under ROOT) whose hex name is not kept. */
static int prune_dir(struct store *s, const char *dir, const char *suffix,
                     const struct hexset *keep, json_t *removed, uint64_t *bytes)
{
    int dfd = openat(s->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_dir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return errno == ENOENT ? 0 : -errno;
    }
    for (struct dirent *de; (de = readdir(d));) {
        char hex[DIGEST_HEX_LEN + 1] = "";
        size_t len = strlen(de->d_name), slen = strlen(suffix);
        if (de->d_name[0] == '.' || len < slen || strcmp(de->d_name + len - slen, suffix) != 0 ||
            len - slen != DIGEST_HEX_LEN)
            continue;
        memcpy(hex, de->d_name, DIGEST_HEX_LEN);
        if (!digest_hex_valid(hex) || hexset_has(keep, hex))
            continue;
        char digest[DIGEST_STR_LEN];
        snprintf(digest, sizeof(digest), DIGEST_PREFIX "%s", hex);
        if (strcmp(dir, LAYER_DIR) == 0 && !*suffix)
            *bytes += remove_layer(s, hex);
        else if (strcmp(dir, BLOB_DIR) == 0)
            *bytes += remove_blob(s, hex);
        else {
            unlinkat(dfd, de->d_name, 0);
            continue;
        }
        if (removed)
            json_array_append_new(removed, json_string(digest));
    }
    return 0;
}

static int prune_tmp(struct store *s)
{
    int dfd = openat(s->root_fd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_dir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    int n = 0;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return 0;
    }
    /* the exclusive lock means no import is using tmp/ now */
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            rm_tree_at(dirfd(d), de->d_name) == 0)
            n++;
    return n;
}

HUTCH_API int hutch_image_prune(struct hutch_ctx *ctx, char **json_out, struct hutch_error **err)
{
    struct store s;
    struct hexset kb = {0}, kl = {0};
    uint64_t bytes = 0;
    json_t *layers = json_array(), *blobs = json_array();
    int r = store_open(ctx, false, LOCK_EX, &s, err);
    if (r == -ENOENT) {
        hutch_err_clear(err);
        r = 0;
    } else if (r == 0) {
        r = collect_referenced(ctx, &s, &kb, &kl, err);
    }
    int ntmp = 0;
    if (r == 0 && s.root_fd >= 0) {
        prune_dir(&s, LAYER_DIR, "", &kl, layers, &bytes);
        prune_dir(&s, LAYER_DIR, ".json", &kl, NULL, &bytes);
        prune_dir(&s, LOCK_DIR, ".lock", &kl, NULL, &bytes);
        prune_dir(&s, BLOB_DIR, "", &kb, blobs, &bytes);
        ntmp = prune_tmp(&s);
    }
    store_close(&s);
    free(kb.v);
    free(kl.v);
    if (r < 0) {
        json_decref(layers);
        json_decref(blobs);
        return r;
    }
    json_t *o = json_pack("{s:o, s:o, s:i, s:I}", "layers", layers, "blobs", blobs, "tmp", ntmp,
                          "bytes_freed", (json_int_t)bytes);
    return json_out ? store_json_emit(o, json_out, err) : (json_decref(o), 0);
}
