/* SPDX-License-Identifier: MIT */
/*
 * Warm caches: bind directories and overlay snapshots with atomic commits (cache.h): safe
 * directory access, generations, acquire and release, commit, gc. The tree work of a commit
 * (hard-link clones, applying an overlay upper, sizes) is in cache_tree.c.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache_internal.h"
#include "spec.h"
#include "sys.h"

struct cache_use {
    char *name;
    char *dir; /* absolute path of the cache directory (for volume sources) */
    char *data; /* bind mode: dir/data */
    int dirfd; /* the cache directory, O_PATH, reached without symlinks */
    char id[80];
    enum job_cache_mode mode;
    unsigned gen; /* overlay: the generation mounted as lower */
    int user_fd;  /* overlay: users/<id>, flock'ed while this job lives */
    uid_t uid;
    gid_t gid;
};

/* ---------------------------------------------------------------- safe directory access */

/* Open (and with create, make) one directory entry below dirfd; a symlink is refused with
 * -ELOOP, anything else that is not a directory with -ENOTDIR. */
static int open_dir_at(int dirfd, const char *name, bool create, mode_t mode)
{
    for (int i = 0; i < 2; i++) {
        int fd = sys_openat2(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC,
                             RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT || !create)
            return -errno;
        if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
            return -errno;
    }
    return -ENOENT;
}

/* A readable directory fd for listing (O_PATH fds can not be read). */
DIR *cache_dir_list(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
}

bool cache_is_dot(const char *n)
{
    return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

static int chain_err(struct hutch_error **err, int r, const char *path)
{
    if (r == -ELOOP)
        return hutch_err(err, ELOOP, "open", path,
                         "is a symlink: refusing it (cache directories are never reached "
                         "through symlinks)");
    if (r == -ENOTDIR)
        return hutch_err(err, ENOTDIR, "open", path, "is not a directory: refusing it");
    return hutch_err(err, r, "open", path, "%s", strerror(-r));
}

/* ROOT/caches/<scope...>/<name>, every component checked; returns an O_PATH fd. */
static int open_cache_dir(const char *root, const struct cache_request *req, char **path_out,
                          struct hutch_error **err)
{
    const char *comps[4] = {"caches", req->scope == JOB_CACHE_WORKSPACE ? "workspace" : "shared",
                            req->scope == JOB_CACHE_WORKSPACE ? req->scope_key : req->name,
                            req->scope == JOB_CACHE_WORKSPACE ? req->name : NULL};
    if (!jobfile_name_ok(comps[2]) || (comps[3] && !jobfile_name_ok(comps[3])))
        return hutch_err(err, EINVAL, "validate", "cache", "invalid cache name or key");
    int r = mkdir_p(root, 0700);
    if (r < 0)
        return hutch_err(err, r, "mkdir", root, "%s", strerror(-r));
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return hutch_err_sys(err, "open", root);
    struct buf path = {0};
    r = buf_puts(&path, root);
    for (int i = 0; i < 4 && comps[i] && r == 0; i++) {
        r = buf_printf(&path, "/%s", comps[i]);
        int nfd = r < 0 ? r : open_dir_at(fd, comps[i], true, 0700);
        close(fd);
        fd = nfd;
        if (fd < 0) {
            r = chain_err(err, fd, path.data ? path.data : root);
            buf_free(&path);
            return r;
        }
    }
    if (r < 0) {
        close(fd);
        buf_free(&path);
        return hutch_err(err, ENOMEM, NULL, "cache", "out of memory");
    }
    *path_out = path.data;
    return fd;
}

static int lock_cache(int cfd)
{
    int fd = openat(cfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* ---------------------------------------------------------------- generations */

static int parse_gen(const char *s, unsigned *out)
{
    uint64_t v;
    if (!*s || (s[0] == '0' && s[1]))
        return -EINVAL; /* no leading zeros: one name per number */
    if (parse_u64(s, &v) < 0 || v > UINT_MAX - 1)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int read_current(int cfd, unsigned *gen)
{
    int fd = openat(cfd, "current", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EINVAL;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return parse_gen(buf, gen);
}

/* Atomically point "current" at gen (a rename over the old file). */
static int write_current(int cfd, unsigned gen)
{
    int fd =
        openat(cfd, "current.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u\n", gen);
    int r = write_all(fd, buf, (size_t)n);
    close(fd);
    if (r == 0 && renameat(cfd, "current.tmp", cfd, "current") < 0)
        r = -errno;
    return r;
}

static unsigned next_generation(int cfd);

/* Under the lock: the current generation, made (empty) when the cache is new — or when current
 * names a generation that is gone (a commit in place was interrupted: the cache starts cold
 * again, it is never seen half-applied). */
static int ensure_current(int cfd, unsigned *gen)
{
    int r = read_current(cfd, gen);
    if (r < 0 && r != -ENOENT)
        return r;
    _cleanup_close_ int gfd = open_dir_at(cfd, "gen", true, 0700);
    if (gfd < 0)
        return gfd;
    char name[16];
    if (r == 0) {
        snprintf(name, sizeof(name), "%u", *gen);
        if (faccessat(gfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
            return 0;
    }
    *gen = r == 0 ? next_generation(cfd) : 0;
    snprintf(name, sizeof(name), "%u", *gen);
    if (mkdirat(gfd, name, 0755) < 0 && errno != EEXIST)
        return -errno;
    return write_current(cfd, *gen);
}

/* users/<id> is live while its job holds the flock; a dead record tells its generation too. */
static bool user_live(int usersfd, const char *id, unsigned *gen)
{
    _cleanup_close_ int fd = openat(usersfd, id, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return false;
    if (errno != EWOULDBLOCK)
        return false;
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (gen && n > 0) {
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (parse_gen(buf, gen) < 0)
            *gen = UINT_MAX;
    }
    return true;
}

static void gc_note(struct buf *out, const char *what, const char *id)
{
    if (!out)
        return;
    buf_printf(out, "%s\"%s %s\"", out->len ? "," : "", what, id);
}

/* Under the lock: drop what dead jobs left, then every generation nobody uses but current. */
static void prune_locked(int cfd, const char *name, struct buf *removed)
{
    unsigned live[256], nlive = 0, cur = UINT_MAX;
    read_current(cfd, &cur);
    _cleanup_close_ int ufd = open_dir_at(cfd, "users", false, 0);
    DIR *d = ufd >= 0 ? cache_dir_list(ufd, ".") : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        unsigned g = UINT_MAX;
        if (cache_is_dot(de->d_name))
            continue;
        if (user_live(ufd, de->d_name, &g)) {
            if (nlive < ARRAY_SIZE(live))
                live[nlive++] = g;
            else
                cur = UINT_MAX - 1; /* too many to track: prune nothing this time */
        } else if (unlinkat(ufd, de->d_name, 0) == 0) {
            gc_note(removed, name, de->d_name);
        }
    }
    if (d)
        closedir(d);
    /* uppers and half-built generations whose job is gone */
    static const char *const own[] = {"jobs", "tmp"};
    for (size_t k = 0; k < ARRAY_SIZE(own); k++) {
        _cleanup_close_ int fd = open_dir_at(cfd, own[k], false, 0);
        DIR *jd = fd >= 0 ? cache_dir_list(fd, ".") : NULL;
        for (struct dirent *de; jd && (de = readdir(jd));) {
            char id[NAME_MAX + 1];
            snprintf(id, sizeof(id), "%s", de->d_name);
            char *dot = strstr(id, ".gen");
            if (dot && k == 1)
                *dot = '\0';
            if (cache_is_dot(de->d_name) || (ufd >= 0 && user_live(ufd, id, NULL)))
                continue;
            rm_tree_at(dirfd(jd), de->d_name);
        }
        if (jd)
            closedir(jd);
    }
    if (cur >= UINT_MAX - 1)
        return; /* no current generation (or too many users): keep every generation */
    _cleanup_close_ int gfd = open_dir_at(cfd, "gen", false, 0);
    DIR *gd = gfd >= 0 ? cache_dir_list(gfd, ".") : NULL;
    for (struct dirent *de; gd && (de = readdir(gd));) {
        unsigned g;
        bool used = false;
        if (cache_is_dot(de->d_name) || parse_gen(de->d_name, &g) < 0 || g == cur)
            continue;
        for (unsigned i = 0; i < nlive; i++)
            used = used || live[i] == g;
        if (!used)
            rm_tree_at(dirfd(gd), de->d_name);
    }
    if (gd)
        closedir(gd);
}

/* ---------------------------------------------------------------- acquire and release */

static int acquire_overlay(struct cache_use *u, struct hutch_spec *spec, const char *dst,
                           struct hutch_error **err)
{
    _cleanup_close_ int lk = lock_cache(u->dirfd);
    if (lk < 0)
        return hutch_err(err, lk, "lock", u->dir, "%s", strerror(-lk));
    _cleanup_close_ int ufd = open_dir_at(u->dirfd, "users", true, 0700);
    _cleanup_close_ int jfd = open_dir_at(u->dirfd, "jobs", true, 0700);
    int r = ufd < 0 ? ufd : jfd < 0 ? jfd : 0;
    if (r < 0)
        return chain_err(err, r, u->dir);
    if ((r = ensure_current(u->dirfd, &u->gen)) < 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/current", u->dir);
        return r == -ELOOP ? chain_err(err, r, p)
                           : hutch_err(err, r, "read", p, "%s", strerror(-r));
    }
    char gname[32];
    snprintf(gname, sizeof(gname), "gen/%u", u->gen);
    _cleanup_close_ int gfd = open_dir_at(u->dirfd, gname, false, 0);
    if (gfd < 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", u->dir, gname);
        return chain_err(err, gfd, p);
    }
    /* the record is locked before the cache lock is dropped: a pruner never sees it unlocked */
    u->user_fd = openat(ufd, u->id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (u->user_fd < 0 || flock(u->user_fd, LOCK_EX | LOCK_NB) < 0)
        return hutch_err_sys(err, "create", "cache usage record");
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u\n", u->gen);
    if ((r = write_all(u->user_fd, buf, (size_t)n)) < 0)
        return hutch_err(err, r, "write", "cache usage record", "%s", strerror(-r));
    close_fd(&lk);

    if (mkdirat(jfd, u->id, 0700) < 0)
        return hutch_err_sys(err, "mkdir", "cache upper");
    _cleanup_close_ int job = open_dir_at(jfd, u->id, false, 0);
    if (job < 0 || mkdirat(job, "upper", 0755) < 0 || mkdirat(job, "work", 0700) < 0 ||
        fchownat(job, "upper", u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return hutch_err_sys(err, "mkdir", "cache upper");
    char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
    snprintf(lower, sizeof(lower), "%s/gen/%u", u->dir, u->gen);
    snprintf(upper, sizeof(upper), "%s/jobs/%s/upper", u->dir, u->id);
    snprintf(work, sizeof(work), "%s/jobs/%s/work", u->dir, u->id);
    r = spec_add_overlay_volume(spec, lower, upper, work, dst);
    return r < 0 ? hutch_err(err, r, "cache", u->name, "cannot add the overlay volume") : 0;
}

static int acquire_bind(struct cache_use *u, struct hutch_spec *spec, const char *dst,
                        struct hutch_error **err)
{
    int fd = open_dir_at(u->dirfd, "data", false, 0);
    if (fd == -ENOENT) {
        /* a new cache belongs to the sandbox's user, so the workload can fill it */
        if (mkdirat(u->dirfd, "data", 0755) < 0 && errno != EEXIST)
            return hutch_err_sys(err, "mkdir", u->dir);
        if (fchownat(u->dirfd, "data", u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0)
            return hutch_err_sys(err, "chown", u->dir);
        fd = open_dir_at(u->dirfd, "data", false, 0);
    }
    if (fd < 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/data", u->dir);
        return chain_err(err, fd, p);
    }
    close(fd);
    _cleanup_free_ char *vol = NULL;
    if (asprintf(&u->data, "%s/data", u->dir) < 0 || asprintf(&vol, "%s:%s", u->data, dst) < 0)
        return hutch_err(err, ENOMEM, NULL, "cache", "out of memory");
    return spec ? spec_set(spec, "volume", vol, err) : 0;
}

int cache_acquire(const char *root, const char *id, const struct cache_request *req,
                  struct hutch_spec *spec, struct cache_use **out, struct hutch_error **err)
{
    if (strchr(req->dst, ':') || strchr(root, ':'))
        return hutch_err(err, EINVAL, "validate", req->dst, "cache paths must not contain ':'");
    struct cache_use *u = calloc(1, sizeof(*u));
    if (!u || !(u->name = strdup(req->name))) {
        free(u);
        return hutch_err(err, ENOMEM, NULL, "cache", "out of memory");
    }
    u->dirfd = u->user_fd = -1;
    u->mode = req->mode;
    u->uid = req->uid;
    u->gid = req->gid;
    snprintf(u->id, sizeof(u->id), "%s", id);
    int r = open_cache_dir(root, req, &u->dir, err);
    if (r >= 0) {
        u->dirfd = r;
        r = !spec && req->mode == JOB_CACHE_OVERLAY
                ? hutch_err(err, EINVAL, "cache", req->name,
                            "mode: overlay needs a container (a mount namespace); use bind")
            : req->mode == JOB_CACHE_OVERLAY ? acquire_overlay(u, spec, req->dst, err)
                                           : acquire_bind(u, spec, req->dst, err);
    }
    if (r < 0) {
        hutch_err(err, r, "cache", req->name, "cannot prepare the cache");
        cache_release(u);
        return r;
    }
    *out = u;
    return 0;
}

enum job_cache_mode cache_mode(const struct cache_use *u)
{
    return u->mode;
}

const char *cache_name(const struct cache_use *u)
{
    return u->name;
}

const char *cache_host_dir(const struct cache_use *u)
{
    return u->data;
}

void cache_release(struct cache_use *u)
{
    if (!u)
        return;
    if (u->mode == JOB_CACHE_OVERLAY && u->dirfd >= 0) {
        /* the upper first: a usage record without its upper is harmless, the reverse leaks */
        _cleanup_close_ int jfd = open_dir_at(u->dirfd, "jobs", false, 0);
        _cleanup_close_ int tfd = open_dir_at(u->dirfd, "tmp", false, 0);
        char tmpname[128];
        snprintf(tmpname, sizeof(tmpname), "%s.gen", u->id);
        if (jfd >= 0 && u->user_fd >= 0)
            rm_tree_at(jfd, u->id);
        if (tfd >= 0 && u->user_fd >= 0)
            rm_tree_at(tfd, tmpname);
        _cleanup_close_ int lk = lock_cache(u->dirfd);
        _cleanup_close_ int ufd = open_dir_at(u->dirfd, "users", false, 0);
        if (ufd >= 0 && u->user_fd >= 0)
            unlinkat(ufd, u->id, 0);
        close_fd(&u->user_fd);
        if (lk >= 0)
            prune_locked(u->dirfd, u->name, NULL);
    }
    close_fd(&u->user_fd);
    close_fd(&u->dirfd);
    free(u->dir);
    free(u->data);
    free(u->name);
    free(u);
}

/* ---------------------------------------------------------------- commit: lower + upper */

static int open_upper(const struct cache_use *u)
{
    char path[128];
    snprintf(path, sizeof(path), "jobs/%s/upper", u->id);
    return cache_open_sub(u->dirfd, path);
}

/* Apply the job's upper onto tmp/<tmpname>; the upper's root carries the merged root's owner
 * and mode. */
static int apply_into(struct cache_use *u, int tfd, const char *tmpname)
{
    _cleanup_close_ int up = open_upper(u), out = cache_open_sub(tfd, tmpname);
    struct stat st;
    if (up < 0 || out < 0)
        return up < 0 ? up : out;
    if (fstat(up, &st) < 0)
        return -errno;
    int r = cache_apply_upper(up, out, 0);
    return r ?: cache_copy_meta(out, &st);
}

/* tmp/<id>.gen = a hard-link clone of gen/<lower>, then the upper applied. */
static int build_generation(struct cache_use *u, int tfd, const char *tmpname)
{
    char lower[32];
    snprintf(lower, sizeof(lower), "gen/%u", u->gen);
    rm_tree_at(tfd, tmpname);
    _cleanup_close_ int lo = cache_open_sub(u->dirfd, lower);
    if (lo < 0)
        return lo;
    if (mkdirat(tfd, tmpname, 0700) < 0)
        return -errno;
    _cleanup_close_ int out = cache_open_sub(tfd, tmpname);
    int r = out < 0 ? out : cache_clone_tree(lo, out, 0);
    return r ?: apply_into(u, tfd, tmpname);
}

/* Under the lock: the next number, above every generation that exists or is current. */
static unsigned next_generation(int cfd)
{
    unsigned next = 0, g, cur;
    if (read_current(cfd, &cur) == 0)
        next = cur + 1;
    _cleanup_close_ int gfd = open_dir_at(cfd, "gen", false, 0);
    DIR *d = gfd >= 0 ? cache_dir_list(gfd, ".") : NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        if (!cache_is_dot(de->d_name) && parse_gen(de->d_name, &g) == 0 && g + 1 > next)
            next = g + 1;
    if (d)
        closedir(d);
    return next;
}

/* Under the lock: is our lower the current generation, with no other live job on it? Then
 * nobody can see it change, and the commit may turn it into the next generation in place. */
static bool sole_user_of_current(const struct cache_use *u)
{
    unsigned cur, g;
    if (read_current(u->dirfd, &cur) < 0 || cur != u->gen)
        return false;
    _cleanup_close_ int ufd = open_dir_at(u->dirfd, "users", false, 0);
    DIR *d = ufd >= 0 ? cache_dir_list(ufd, ".") : NULL;
    bool sole = d != NULL;
    for (struct dirent *de; sole && (de = readdir(d));)
        if (!cache_is_dot(de->d_name) && strcmp(de->d_name, u->id) &&
            user_live(ufd, de->d_name, &g) && g == u->gen)
            sole = false;
    if (d)
        closedir(d);
    return sole;
}

/* Under the lock: tmp/<tmpname> becomes gen/<next> (one rename: it appears whole), then
 * current (another rename). */
static int publish_locked(struct cache_use *u, int tfd, const char *tmpname, unsigned *g)
{
    _cleanup_close_ int gfd = open_dir_at(u->dirfd, "gen", true, 0700);
    if (gfd < 0)
        return gfd;
    *g = next_generation(u->dirfd);
    char gname[16];
    snprintf(gname, sizeof(gname), "%u", *g);
    if (renameat(tfd, tmpname, gfd, gname) < 0)
        return -errno;
    int r = write_current(u->dirfd, *g);
    if (r < 0) {
        rm_tree_at(gfd, gname);
        return r;
    }
    prune_locked(u->dirfd, u->name, NULL);
    return 0;
}

/* In place (sole user of the current generation, under the lock): cost in proportion to what
 * the job wrote, not to the cache. The lower leaves gen/ first, so an interruption leaves
 * current naming a missing generation (a cold cache next time), never a half-applied one. */
static int commit_in_place(struct cache_use *u, int tfd, const char *tmpname, unsigned *g)
{
    char lower[32];
    snprintf(lower, sizeof(lower), "gen/%u", u->gen);
    rm_tree_at(tfd, tmpname);
    if (renameat(u->dirfd, lower, tfd, tmpname) < 0)
        return -errno;
    int r = apply_into(u, tfd, tmpname);
    return r ?: publish_locked(u, tfd, tmpname, g);
}

/* Did the job change anything? An untouched overlay leaves its upper directory empty, with the
 * owner and mode of the lower's root. */
static bool upper_empty(const struct cache_use *u)
{
    char lower[32];
    snprintf(lower, sizeof(lower), "gen/%u", u->gen);
    _cleanup_close_ int up = open_upper(u), lo = cache_open_sub(u->dirfd, lower);
    struct stat su, sl;
    if (up < 0 || lo < 0 || fstat(up, &su) < 0 || fstat(lo, &sl) < 0 || su.st_mode != sl.st_mode ||
        su.st_uid != sl.st_uid || su.st_gid != sl.st_gid)
        return false;
    DIR *d = cache_dir_list(up, ".");
    bool empty = d != NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        empty = empty && cache_is_dot(de->d_name);
    if (d)
        closedir(d);
    return empty;
}

int cache_commit(struct cache_use *u, unsigned *gen_out, uint64_t *bytes_out, bool *changed,
                 struct hutch_error **err)
{
    if (changed)
        *changed = false;
    if (gen_out)
        *gen_out = u->gen;
    if (u->mode != JOB_CACHE_OVERLAY || upper_empty(u))
        return 0; /* a warm job that only read its cache costs no generation */
    char tmpname[128];
    snprintf(tmpname, sizeof(tmpname), "%s.gen", u->id);
    _cleanup_close_ int tfd = open_dir_at(u->dirfd, "tmp", true, 0700);
    if (tfd < 0)
        return chain_err(err, tfd, u->dir);
    uint64_t bytes = 0;
    if (bytes_out) {
        _cleanup_close_ int up = open_upper(u);
        bytes = up >= 0 ? cache_tree_bytes(up, 0) : 0;
    }
    unsigned g = 0;
    int lk = lock_cache(u->dirfd);
    int r = lk < 0 ? lk : 0;
    if (r == 0 && sole_user_of_current(u)) {
        r = commit_in_place(u, tfd, tmpname, &g);
    } else if (r == 0) {
        /* others use our lower: build a copy beside it, outside the lock (it takes a while) */
        close_fd(&lk);
        r = build_generation(u, tfd, tmpname);
        if (r == 0 && (lk = lock_cache(u->dirfd)) < 0)
            r = lk;
        r = r ?: publish_locked(u, tfd, tmpname, &g);
    }
    close_fd(&lk);
    if (r < 0) {
        rm_tree_at(tfd, tmpname);
        return hutch_err(err, r, "commit", u->name, "cannot commit the cache: %s",
                         r == -EOPNOTSUPP ? "the upper uses overlay redirects or metacopy"
                                          : strerror(-r));
    }
    if (gen_out)
        *gen_out = g;
    if (bytes_out)
        *bytes_out = bytes;
    if (changed)
        *changed = true;
    return 0;
}

/* ---------------------------------------------------------------- gc */

static void gc_cache(int cfd, const char *label, struct buf *removed)
{
    if (faccessat(cfd, "users", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
        faccessat(cfd, "jobs", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
        faccessat(cfd, "tmp", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
        return; /* a bind cache: nothing per job */
    _cleanup_close_ int lk = lock_cache(cfd);
    if (lk >= 0)
        prune_locked(cfd, label, removed);
}

/* Each cache directory below dirfd; depth 1 = the name, depth 2 = key then name. */
static void gc_walk(int dirfd, const char *prefix, int depth, struct buf *removed)
{
    DIR *d = cache_dir_list(dirfd, ".");
    for (struct dirent *de; d && (de = readdir(d));) {
        if (cache_is_dot(de->d_name) || !jobfile_name_ok(de->d_name))
            continue;
        int fd = open_dir_at(dirfd, de->d_name, false, 0); /* symlinks: skipped, never followed */
        if (fd < 0)
            continue;
        char label[600];
        snprintf(label, sizeof(label), "%s/%s", prefix, de->d_name);
        if (depth > 1)
            gc_walk(fd, label, depth - 1, removed);
        else
            gc_cache(fd, label, removed);
        close(fd);
    }
    if (d)
        closedir(d);
}

int cache_gc(const char *root, struct buf *removed, struct hutch_error **err)
{
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return errno == ENOENT ? 0 : hutch_err_sys(err, "open", root);
    _cleanup_close_ int cfd = open_dir_at(rfd, "caches", false, 0);
    if (cfd < 0)
        return 0;
    _cleanup_close_ int sfd = open_dir_at(cfd, "shared", false, 0);
    _cleanup_close_ int wfd = open_dir_at(cfd, "workspace", false, 0);
    if (sfd >= 0)
        gc_walk(sfd, "shared", 1, removed);
    if (wfd >= 0)
        gc_walk(wfd, "workspace", 2, removed);
    return 0;
}
