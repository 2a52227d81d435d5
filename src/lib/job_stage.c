/* SPDX-License-Identifier: MIT */
/*
 * What a job prepares on the host before its sandbox starts, and removes after it (job.c
 * tells the story; this is the staging): RUN/.jobs/<id>/ with its lock, /hutch (input.json,
 * output/), copied inputs and the overlay workspace's upper; the caches; the environment; and
 * job_gc() for what a killed job left.
 */
#include "job_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts.h"
#include "cache.h"
#include "ctx.h"
#include "digest.h"
#include "spec.h"

/* The caches: the standard tool caches for `auto`, then the file's own. */
struct auto_cache {
    const char *name, *path, *env;
};
static const struct auto_cache auto_caches[] = {
    {"npm", "~/.npm", NULL},
    {"yarn", "~/.cache/yarn", NULL},
    {"pnpm", "~/.local/share/pnpm/store", NULL},
    {"pip", "~/.cache/pip", NULL},
    {"cargo-registry", "~/.cargo/registry", NULL},
    {"cargo-git", "~/.cargo/git", NULL},
    {"go-mod", "/go/pkg/mod", "GOMODCACHE"},
    {"go-build", "~/.cache/go-build", "GOCACHE"},
    {"ccache", "~/.cache/ccache", "CCACHE_DIR"},
    {"maven", "~/.m2", NULL},
    {"gradle", "~/.gradle", NULL},
};

static char *cache_dst(const struct hutch_job *j, const char *path)
{
    char *d = NULL;
    if (strncmp(path, "~/", 2))
        return strdup(path);
    const char *h = j->home;
    size_t hl = strlen(h);
    while (hl > 1 && h[hl - 1] == '/')
        hl--;
    return asprintf(&d, "%.*s/%s", (int)hl, h, path + 2) < 0 ? NULL : d;
}

/* ---------------------------------------------------------------- start: staging */

static int add_volume(struct hutch_job *j, const char *src_rel, const char *dst, bool ro,
                      struct hutch_error **err)
{
    _cleanup_free_ char *v = NULL;
    if (asprintf(&v, "%s/%s:%s%s", j->dir, src_rel, dst, ro ? ":ro" : "") < 0)
        return -ENOMEM;
    return spec_set(j->spec, "volume", v, err);
}

/* RUN/.jobs/<id>, locked for the job's whole life (a free lock = a dead job, for gc). */
static int make_job_dir(struct hutch_job *j, struct hutch_error **err)
{
    _cleanup_free_ char *base = NULL;
    if (asprintf(&base, "%s/%s", j->ctx->run_dir, JOB_RUN_SUBDIR) < 0 ||
        asprintf(&j->dir, "%s/%s", base, j->id) < 0)
        return -ENOMEM;
    int r = mkdir_p(base, 0700);
    if (r < 0)
        return hutch_err(err, r, "mkdir", base, "%s", strerror(-r));
    if (mkdir(j->dir, 0700) < 0) {
        r = hutch_err_sys(err, "mkdir", j->dir);
        free(j->dir);
        j->dir = NULL; /* not ours: never remove it */
        return r;
    }
    j->dir_fd = open(j->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (j->dir_fd < 0)
        return hutch_err_sys(err, "open", j->dir);
    j->lock_fd =
        openat(j->dir_fd, "lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return hutch_err_sys(err, "lock", j->dir);
    return 0;
}

/* /hutch (read-only): input.json; /hutch/output (read-write, the sandbox user's). */
static int stage_hutch_dir(struct hutch_job *j, struct hutch_error **err)
{
    if (mkdirat(j->dir_fd, "hutch", 0755) < 0)
        return hutch_err_sys(err, "mkdir", "hutch staging");
    _cleanup_close_ int h =
        openat(j->dir_fd, "hutch", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (h < 0 || mkdirat(h, "output", 0755) < 0 ||
        fchownat(h, "output", j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return hutch_err_sys(err, "mkdir", "hutch/output staging");
    if (j->jf->input_data) {
        _cleanup_close_ int fd =
            openat(h, "input.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        int r = fd < 0 ? -errno : write_all(fd, j->jf->input_data, strlen(j->jf->input_data));
        r = r ?: write_all(fd, "\n", 1);
        if (r < 0)
            return hutch_err(err, r, "write", "input.json", "%s", strerror(-r));
    }
    if (j->spec->bare) /* the command finds them through HUTCH_OUTPUT_DIR and HUTCH_INPUT */
        return 0;
    return add_volume(j, "hutch", "/hutch", true, err)
               ?: add_volume(j, "hutch/output", "/hutch/output", false, err);
}

/* Below base (ours, fresh), make each directory of rel but the last component, owned by
 * uid:gid; returns an O_PATH fd of the last directory and *leaf, or -errno. */
static int make_parents(int base, const char *rel, uid_t uid, gid_t gid, const char **leaf)
{
    _cleanup_free_ char *copy = strdup(rel);
    if (!copy)
        return -ENOMEM;
    int fd = fcntl(base, F_DUPFD_CLOEXEC, 3);
    char *save = NULL, *c = strtok_r(copy, "/", &save);
    while (fd >= 0 && c) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            *leaf = rel + (c - copy);
            return fd;
        }
        if (mkdirat(fd, c, 0755) == 0)
            fchownat(fd, c, uid, gid, AT_SYMLINK_NOFOLLOW);
        else if (errno != EEXIST)
            break;
        int nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = nfd;
        c = next;
    }
    int e = fd < 0 ? errno : c ? errno : EINVAL;
    if (fd >= 0)
        close(fd);
    return -e;
}

/* container: none: a fresh home of the job's user (the tool caches are linked into it), the
 * staging directory reachable by that user when it is not ours. */
static int stage_bare_home(struct hutch_job *j, struct hutch_error **err)
{
    if (j->uid != geteuid()) {
        _cleanup_free_ char *base = NULL;
        if (asprintf(&base, "%s/%s", j->ctx->run_dir, JOB_RUN_SUBDIR) < 0)
            return -ENOMEM;
        /* search, not read: the ids below are not listed to others */
        if (chmod(j->ctx->run_dir, 0711) < 0 || chmod(base, 0711) < 0 || chmod(j->dir, 0711) < 0)
            return hutch_err_sys(err, "chmod", j->dir);
    }
    if (mkdirat(j->dir_fd, "home", 0700) < 0 ||
        fchownat(j->dir_fd, "home", j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return hutch_err_sys(err, "mkdir", "home staging");
    _cleanup_free_ char *home = NULL;
    if (asprintf(&home, "%s/home", j->dir) < 0)
        return -ENOMEM;
    free(j->home);
    j->home = TAKE_PTR(home);
    return 0;
}

/* Inputs are copied (not bound): the sandbox reads a snapshot taken through fds, beneath the
 * workspace, and nothing it does reaches the originals. */
static int stage_inputs(struct hutch_job *j, struct hutch_error **err)
{
    if (j->jf->ninputs == 0)
        return 0;
    const char *in_rel = j->spec->bare ? "hutch/inputs" : "in";
    _cleanup_close_ int ws = open(j->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ws < 0 || mkdirat(j->dir_fd, in_rel, 0755) < 0)
        return hutch_err_sys(err, "mkdir", "inputs staging");
    _cleanup_close_ int in =
        openat(j->dir_fd, in_rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return hutch_err_sys(err, "open", "inputs staging");
    for (int i = 0; i < j->jf->ninputs; i++) {
        const struct job_input *it = &j->jf->inputs[i];
        char name[16], rel[32];
        snprintf(name, sizeof(name), "%d", i);
        snprintf(rel, sizeof(rel), "in/%d", i);
        if (j->spec->bare) { /* no mounts: dst is taken beneath $HUTCH_INPUTS */
            const char *leaf = NULL;
            _cleanup_close_ int pfd = make_parents(in, it->dst + 1, 0, 0, &leaf);
            int r = pfd < 0 ? pfd : artifacts_stage_input(ws, it->src, pfd, leaf, err);
            if (r < 0)
                return jobfile_err(err, r, j->jf->file, it->at, "inputs[%d]", i);
            continue;
        }
        int r = artifacts_stage_input(ws, it->src, in, name, err);
        if (r < 0)
            return jobfile_err(err, r, j->jf->file, it->at, "inputs[%d]", i);
        if ((r = add_volume(j, rel, it->dst, true, err)) < 0)
            return r;
    }
    return 0;
}

/* bind: the checkout itself; overlay: the checkout as a read-only lower, writes to a
 * throwaway upper (owned and moded like the checkout, so the merged root looks the same). */
static int stage_workspace(struct hutch_job *j, struct hutch_error **err)
{
    if (j->spec->bare) /* the command runs in the checkout itself */
        return stage_bare_home(j, err);
    if (j->jf->ws_mode == JOB_WS_BIND) {
        _cleanup_free_ char *v = NULL;
        if (asprintf(&v, "%s:%s", j->workspace, j->ws_dst) < 0)
            return -ENOMEM;
        return spec_set(j->spec, "volume", v, err);
    }
    struct stat st;
    if (stat(j->workspace, &st) < 0 || mkdirat(j->dir_fd, "ws", 0700) < 0)
        return hutch_err_sys(err, "mkdir", "workspace upper");
    _cleanup_close_ int ws = openat(j->dir_fd, "ws", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ws < 0 || mkdirat(ws, "upper", st.st_mode & 07777) < 0 || mkdirat(ws, "work", 0700) < 0 ||
        fchownat(ws, "upper", st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(ws, "upper", st.st_mode & 07777, 0) < 0)
        return hutch_err_sys(err, "mkdir", "workspace upper");
    _cleanup_free_ char *up = NULL, *wk = NULL;
    if (asprintf(&up, "%s/ws/upper", j->dir) < 0 || asprintf(&wk, "%s/ws/work", j->dir) < 0)
        return -ENOMEM;
    int r = spec_add_overlay_volume(j->spec, j->workspace, up, wk, j->ws_dst);
    return r < 0 ? hutch_err(err, r, "workspace", j->ws_dst, "cannot add the overlay") : 0;
}

int job_stage(struct hutch_job *j, struct hutch_error **err)
{
    int r = make_job_dir(j, err);
    r = r ?: stage_workspace(j, err);
    r = r ?: stage_hutch_dir(j, err);
    return r ?: stage_inputs(j, err);
}

/* ---------------------------------------------------------------- start: caches and env */

/* A workspace-scoped cache without a key is keyed by the workspace path's digest. Made only
 * when needed: the first digest initializes OpenSSL, which costs a millisecond or two. */
static int workspace_key(const struct hutch_job *j, char key[17])
{
    char hex[DIGEST_HEX_LEN + 1];
    if (key[0])
        return 0;
    int r = digest_buf(j->workspace, strlen(j->workspace), hex);
    if (r == 0)
        snprintf(key, 17, "%.16s", hex);
    return r;
}

static int set_env(struct hutch_job *j, const char *key, const char *val, struct hutch_error **err);
static bool env_has(const struct hutch_spec *s, const char *key);

/* container: none: nothing is mounted. A ~/ path becomes a symlink in the job's fresh home, an
 * auto cache's variable names its directory, and every cache is in $HUTCH_CACHE_<NAME>. */
static int bare_cache(struct hutch_job *j, const char *path, const char *var, const char *dir,
                      const char *name, struct hutch_error **err)
{
    char key[96];
    int n = snprintf(key, sizeof(key), "HUTCH_CACHE_");
    for (const char *c = name; *c && n < (int)sizeof(key) - 1; c++)
        key[n++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    key[n] = '\0';
    int r = set_env(j, key, dir, err);
    if (!r && var && !env_has(j->spec, var))
        r = set_env(j, var, dir, err);
    if (r < 0 || strncmp(path, "~/", 2))
        return r;
    _cleanup_close_ int home = openat(j->dir_fd, "home", O_PATH | O_DIRECTORY | O_NOFOLLOW |
                                                               O_CLOEXEC);
    const char *leaf = NULL;
    _cleanup_close_ int pfd = home < 0 ? -errno : make_parents(home, path + 2, j->uid, j->gid, &leaf);
    if (pfd < 0 || symlinkat(dir, pfd, leaf) < 0)
        return hutch_err(err, pfd < 0 ? pfd : errno, "symlink", path, "cache %s in the job's home",
                         name);
    return 0;
}

static int acquire_one(struct hutch_job *j, const struct cache_request *req, const char *path,
                       const char *var, struct hutch_error **err)
{
    struct cache_use *u = NULL;
    bool bare = j->spec->bare;
    int r = cache_acquire(j->ctx->root, j->id, req, bare ? NULL : j->spec, &u, err);
    if (r < 0)
        return r;
    j->caches[j->ncaches++] = u;
    return bare ? bare_cache(j, path, var, cache_host_dir(u), req->name, err) : 0;
}

static bool dst_taken(const struct hutch_job *j, const char *dst)
{
    for (int i = 0; i < j->jf->ncaches; i++) {
        _cleanup_free_ char *d = cache_dst(j, j->jf->caches[i].path);
        if (d && !strcmp(d, dst))
            return true;
    }
    return false;
}

int job_acquire_caches(struct hutch_job *j, struct hutch_error **err)
{
    size_t max = (j->jf->caches_auto ? ARRAY_SIZE(auto_caches) : 0) + (size_t)j->jf->ncaches;
    if (max == 0)
        return 0;
    if (!(j->caches = calloc(max, sizeof(*j->caches))))
        return -ENOMEM;
    char key[17] = "";
    int r = 0;
    for (size_t i = 0; !r && j->jf->caches_auto && i < ARRAY_SIZE(auto_caches); i++) {
        _cleanup_free_ char *dst = cache_dst(j, auto_caches[i].path);
        if (!dst)
            return -ENOMEM;
        if (dst_taken(j, dst)) /* the file's own cache at the same path wins */
            continue;
        struct cache_request req = {
            auto_caches[i].name, dst, JOB_CACHE_SHARED, JOB_CACHE_BIND, NULL, j->uid, j->gid};
        r = acquire_one(j, &req, auto_caches[i].path, auto_caches[i].env, err);
    }
    for (int i = 0; !r && i < j->jf->ncaches; i++) {
        const struct job_cache *c = &j->jf->caches[i];
        _cleanup_free_ char *dst = cache_dst(j, c->path);
        if (!dst)
            return -ENOMEM;
        if (c->scope == JOB_CACHE_WORKSPACE && !c->key && (r = workspace_key(j, key)) < 0)
            return hutch_err(err, r, "digest", j->workspace, "cannot key the workspace");
        struct cache_request req = {c->name, dst,   c->scope, c->mode, c->key ? c->key : key,
                                    j->uid,  j->gid};
        if ((r = acquire_one(j, &req, c->path, NULL, err)) < 0)
            return jobfile_err(err, r, j->jf->file, c->at, "caches[%d]", i);
    }
    return r;
}

static bool env_has(const struct hutch_spec *s, const char *key)
{
    size_t n = strlen(key);
    for (char **e = s->env; e && *e; e++)
        if (!strncmp(*e, key, n) && (*e)[n] == '=')
            return true;
    return false;
}

static int set_env(struct hutch_job *j, const char *key, const char *val, struct hutch_error **err)
{
    _cleanup_free_ char *kv = NULL;
    if (asprintf(&kv, "%s=%s", key, val) < 0)
        return -ENOMEM;
    return spec_set(j->spec, "env", kv, err);
}

/* The tools' cache variables (unless the job set them), then hutch's own, which nothing
 * overrides: a job always knows who it is. */
int job_env(struct hutch_job *j, struct hutch_error **err)
{
    int r = 0;
    bool bare = j->spec->bare;
    for (size_t i = 0; !bare && j->jf->caches_auto && i < ARRAY_SIZE(auto_caches) && !r; i++) {
        if (!auto_caches[i].env || env_has(j->spec, auto_caches[i].env))
            continue;
        _cleanup_free_ char *dst = cache_dst(j, auto_caches[i].path);
        r = dst ? set_env(j, auto_caches[i].env, dst, err) : -ENOMEM;
    }
    r = r ?: set_env(j, "HUTCH_JOB_ID", j->job_id ? j->job_id : j->id, err);
    r = r ?: set_env(j, "HUTCH_SANDBOX_ID", j->id, err);
    if (!bare) {
        r = r ?: set_env(j, "HUTCH_OUTPUT_DIR", "/hutch/output", err);
        if (j->jf->input_data)
            r = r ?: set_env(j, "HUTCH_INPUT", "/hutch/input.json", err);
        return r;
    }
    /* a bare job's are host paths in its staging directory */
    _cleanup_free_ char *out = NULL, *in = NULL, *ins = NULL;
    if (asprintf(&out, "%s/hutch/output", j->dir) < 0 ||
        asprintf(&in, "%s/hutch/input.json", j->dir) < 0 ||
        asprintf(&ins, "%s/hutch/inputs", j->dir) < 0)
        return -ENOMEM;
    r = r ?: set_env(j, "HUTCH_OUTPUT_DIR", out, err);
    if (j->jf->input_data)
        r = r ?: set_env(j, "HUTCH_INPUT", in, err);
    if (j->jf->ninputs)
        r = r ?: set_env(j, "HUTCH_INPUTS", ins, err);
    if (!env_has(j->spec, "HOME"))
        r = r ?: set_env(j, "HOME", j->home, err);
    return r;
}

/* Release the caches (uppers and records) and remove the staging directory, still under its
 * lock so that a concurrent gc can not take it for a dead job's. */
void job_cleanup(struct hutch_job *j)
{
    for (int i = 0; i < j->ncaches; i++)
        cache_release(j->caches[i]);
    free(j->caches);
    j->caches = NULL;
    j->ncaches = 0;
    if (j->dir) {
        _cleanup_free_ char *base = NULL;
        if (asprintf(&base, "%s/%s", j->ctx->run_dir, JOB_RUN_SUBDIR) >= 0) {
            _cleanup_close_ int bfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (bfd >= 0)
                rm_tree_at(bfd, j->id);
        }
        free(j->dir);
        j->dir = NULL;
    }
    close_fd(&j->dir_fd);
    close_fd(&j->lock_fd);
}

/* ---------------------------------------------------------------- gc */

/* A staging dir is dead when its lock is free; one without a lock file yet is left alone for a
 * minute (its job may be between mkdir and lock). */
static bool job_dir_dead(int base, const char *name)
{
    _cleanup_close_ int d = openat(base, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return false;
    _cleanup_close_ int l = openat(d, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (l < 0) {
        struct stat st;
        return fstat(d, &st) == 0 &&
               now_real_ns() / 1000000000ull > (uint64_t)st.st_mtim.tv_sec + 60;
    }
    return flock(l, LOCK_EX | LOCK_NB) == 0;
}

int job_gc(struct hutch_ctx *ctx, struct buf *removed, struct hutch_error **err)
{
    _cleanup_free_ char *base = NULL;
    if (asprintf(&base, "%s/%s", ctx->run_dir, JOB_RUN_SUBDIR) < 0)
        return hutch_err(err, ENOMEM, NULL, "gc", "out of memory");
    int bfd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = bfd >= 0 ? fdopendir(bfd) : NULL;
    if (!d && bfd >= 0)
        close(bfd);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.' || !job_dir_dead(dirfd(d), de->d_name))
            continue;
        if (rm_tree_at(dirfd(d), de->d_name) == 0 && removed)
            buf_printf(removed, "%s\"job %s\"", removed->len > 1 ? "," : "", de->d_name);
    }
    if (d)
        closedir(d);
    struct buf cb = {0};
    int r = cache_gc(ctx->root, &cb, err);
    if (removed && cb.len)
        buf_printf(removed, "%s%.*s", removed->len > 1 ? "," : "", (int)cb.len, cb.data);
    buf_free(&cb);
    return r;
}
