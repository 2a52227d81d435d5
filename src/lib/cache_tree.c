/* SPDX-License-Identifier: MIT */
/*
 * The tree work of a cache commit (cache_internal.h): a hard-link clone of a generation, an
 * overlay upper applied onto it (whiteouts, opaque directories, overlay xattrs stripped,
 * metacopy and redirects refused), and the bytes of a tree. Every directory is reached
 * without following symlinks.
 */
#include "cache_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sys.h"
#include "util.h"

#define MAX_TREE_DEPTH 256

/* An overlay whiteout: a character device 0:0 in an upper means "deleted". */
static bool cache_is_whiteout(mode_t mode, dev_t rdev)
{
    return S_ISCHR(mode) && major(rdev) == 0 && minor(rdev) == 0;
}

int cache_copy_meta(int fd, const struct stat *st)
{
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
        futimens(fd, ts) < 0)
        return -errno;
    return 0;
}

/* A readable directory below dirfd, no symlink on the way (name may have several parts). */
int cache_open_sub(int dirfd, const char *name)
{
    int fd = sys_openat2(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                         RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    return fd < 0 ? -errno : fd;
}

/* Make dst a tree of hard links to src's files (generations are immutable, so sharing inodes
 * is safe and a commit costs one link per file, not a copy). */
int cache_clone_tree(int src, int dst, int depth)
{
    if (depth > MAX_TREE_DEPTH)
        return -ELOOP;
    DIR *d = cache_dir_list(src, ".");
    if (!d)
        return -errno;
    int r = 0;
    for (struct dirent *de; !r && (de = readdir(d));) {
        struct stat st;
        if (cache_is_dot(de->d_name))
            continue;
        if (fstatat(src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = -errno;
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst, de->d_name, 0700) < 0) {
                r = -errno;
                break;
            }
            int s = cache_open_sub(src, de->d_name), t = cache_open_sub(dst, de->d_name);
            r = s < 0 ? s : t < 0 ? t : cache_clone_tree(s, t, depth + 1);
            r = r ?: cache_copy_meta(t, &st);
            if (s >= 0)
                close(s);
            if (t >= 0)
                close(t);
        } else if (linkat(src, de->d_name, dst, de->d_name, 0) < 0) {
            r = -errno; /* without AT_SYMLINK_FOLLOW a symlink is linked, never followed */
        }
    }
    closedir(d);
    return r;
}

static bool has_xattr(int fd, const char *name, const char *want)
{
    char v[8];
    ssize_t n = fgetxattr(fd, name, v, sizeof(v));
    return n >= 0 && (!want || ((size_t)n == strlen(want) && !memcmp(v, want, (size_t)n)));
}

static bool opaque_dir(int fd)
{
    return has_xattr(fd, "trusted.overlay.opaque", "y") ||
           has_xattr(fd, "user.overlay.opaque", "y");
}

/* Overlay bookkeeping must not travel into a generation that is a lower layer later. A metacopy
 * or redirect file has no complete data of its own: refuse it rather than commit a wrong file. */
static int strip_overlay_xattrs(int dirfd, const char *name)
{
    char path[64 + NAME_MAX], list[4096];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    ssize_t n = llistxattr(path, list, sizeof(list));
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
        const char *x = list + i;
        if (strstr(x, "overlay.metacopy") || strstr(x, "overlay.redirect"))
            return -EOPNOTSUPP;
        if (!strncmp(x, "trusted.overlay.", 16) || !strncmp(x, "user.overlay.", 13))
            lremovexattr(path, x);
    }
    return 0;
}

static int apply_entry(int up, int out, const char *name, const struct stat *st, int depth);

/* Apply an overlay upper directory onto out (a clone of the lower). */
int cache_apply_upper(int up, int out, int depth)
{
    if (depth > MAX_TREE_DEPTH)
        return -ELOOP;
    DIR *d = cache_dir_list(up, ".");
    if (!d)
        return -errno;
    int r = 0;
    for (struct dirent *de; !r && (de = readdir(d));) {
        struct stat st;
        if (cache_is_dot(de->d_name))
            continue;
        r = fstatat(up, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
                ? -errno
                : apply_entry(up, out, de->d_name, &st, depth);
    }
    closedir(d);
    return r;
}

static int apply_entry(int up, int out, const char *name, const struct stat *st, int depth)
{
    struct stat ost;
    bool exists = fstatat(out, name, &ost, AT_SYMLINK_NOFOLLOW) == 0;
    if (cache_is_whiteout(st->st_mode, st->st_rdev))
        return exists ? rm_tree_at(out, name) : 0;
    if (!S_ISDIR(st->st_mode)) {
        if (exists) {
            int r = rm_tree_at(out, name);
            if (r < 0)
                return r;
        }
        /* the upper is this job's own and its mounts are gone: move, do not copy */
        if (renameat(up, name, out, name) < 0)
            return -errno;
        return strip_overlay_xattrs(out, name);
    }
    _cleanup_close_ int sub = cache_open_sub(up, name);
    if (sub < 0)
        return sub;
    /* redirect_dir renames and metacopy are not merged here: refuse rather than guess */
    if (has_xattr(sub, "trusted.overlay.redirect", NULL))
        return -EOPNOTSUPP;
    if (exists && (opaque_dir(sub) || !S_ISDIR(ost.st_mode))) {
        int r = rm_tree_at(out, name);
        if (r < 0)
            return r;
        exists = false;
    }
    if (!exists && mkdirat(out, name, 0700) < 0)
        return -errno;
    _cleanup_close_ int o = cache_open_sub(out, name);
    if (o < 0)
        return o;
    int r = cache_apply_upper(sub, o, depth + 1);
    return r ?: cache_copy_meta(o, st);
}

/* Bytes of the regular files of a tree (for the cache.commit event). */
uint64_t cache_tree_bytes(int dirfd, int depth)
{
    DIR *d = depth > MAX_TREE_DEPTH ? NULL : cache_dir_list(dirfd, ".");
    uint64_t sum = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        struct stat st;
        if (cache_is_dot(de->d_name) || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
        else if (S_ISDIR(st.st_mode)) {
            int s = cache_open_sub(dirfd, de->d_name);
            if (s >= 0) {
                sum += cache_tree_bytes(s, depth + 1);
                close(s);
            }
        }
    }
    if (d)
        closedir(d);
    return sum;
}
