/* SPDX-License-Identifier: MIT */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sys.h"
#include "util.h"

int mnt_open_in_root(int rootfd, const char *path, int flags)
{
    while (*path == '/')
        path++;
    int fd = sys_openat2(rootfd, *path ? path : ".", flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    return fd < 0 ? -errno : fd;
}

/* Split "a/b/c" into parent "a/b" and leaf "c" in buf. */
static int split_parent(const char *path, char *buf, size_t bufsz, const char **leaf)
{
    while (*path == '/')
        path++;
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0 || n >= bufsz)
        return -EINVAL;
    memcpy(buf, path, n);
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash) {
        *slash = '\0';
        *leaf = slash + 1;
        return 1;
    }
    *leaf = buf;
    return 0;
}

static int mkpoint(int rootfd, const char *path, mode_t mode, bool dir, int depth)
{
    int flags = O_PATH | (dir ? O_DIRECTORY : 0);
    int fd = mnt_open_in_root(rootfd, path, flags);
    if (fd >= 0 || fd != -ENOENT || depth > 64)
        return fd;
    char buf[PATH_MAX];
    const char *leaf;
    int has_parent = split_parent(path, buf, sizeof(buf), &leaf);
    if (has_parent < 0)
        return has_parent;
    if (!strcmp(leaf, "..") || !strcmp(leaf, "."))
        return -EINVAL;
    int pfd = has_parent ? mkpoint(rootfd, buf, 0755, true, depth + 1)
                         : mnt_open_in_root(rootfd, "", O_PATH | O_DIRECTORY);
    if (pfd < 0)
        return pfd;
    /* created relative to the resolved parent fd: leaf is a plain name, no traversal */
    int r;
    if (dir) {
        r = mkdirat(pfd, leaf, mode);
    } else {
        int f = openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        r = f;
        if (f >= 0)
            close(f);
    }
    if (r < 0 && errno != EEXIST) {
        r = -errno;
        close(pfd);
        return r;
    }
    fd = openat(pfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0 && errno == ELOOP) /* an existing symlink: follow it, but only inside the root */
        fd = mnt_open_in_root(rootfd, path, O_PATH | (dir ? O_DIRECTORY : 0));
    else if (fd < 0)
        fd = -errno;
    close(pfd);
    return fd;
}

int mnt_mkdir_in_root(int rootfd, const char *path, mode_t mode)
{
    return mkpoint(rootfd, path, mode, true, 0);
}

int mnt_mkpoint_in_root(int rootfd, const char *path, bool dir)
{
    return mkpoint(rootfd, path, 0755, dir, 0);
}

static unsigned int ms_to_attr(unsigned long ms)
{
    unsigned int a = 0;
    if (ms & MS_RDONLY)
        a |= MOUNT_ATTR_RDONLY;
    if (ms & MS_NOSUID)
        a |= MOUNT_ATTR_NOSUID;
    if (ms & MS_NODEV)
        a |= MOUNT_ATTR_NODEV;
    if (ms & MS_NOEXEC)
        a |= MOUNT_ATTR_NOEXEC;
    return a;
}

static void fdpath(char *buf, size_t n, int fd)
{
    snprintf(buf, n, "/proc/self/fd/%d", fd);
}

static int fs_new(int target_fd, const char *fstype, const char *opts, unsigned long msflags)
{
    _cleanup_close_ int fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
    if (fsfd < 0)
        return -errno;
    char buf[512];
    if (opts && *opts) {
        if (strlen(opts) >= sizeof(buf))
            return -E2BIG;
        strcpy(buf, opts);
        char *save = NULL;
        for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(o, '=');
            int r;
            if (eq) {
                *eq = '\0';
                r = fsconfig(fsfd, FSCONFIG_SET_STRING, o, eq + 1, 0);
            } else {
                r = fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0);
            }
            if (r < 0)
                return -errno;
        }
    }
    if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return -errno;
    _cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, ms_to_attr(msflags));
    if (mfd < 0)
        return -errno;
    if (move_mount(mfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

static char *scratch_dir, *scratch_file; /* the child's own, single-threaded */

int mnt_fs_at(bool legacy, int target_fd, const char *fstype, const char *opts,
              unsigned long msflags)
{
    if (!legacy) {
        int r = fs_new(target_fd, fstype, opts, msflags);
        if (r != -ENOSYS)
            return r;
    }
    char tgt[64];
    fdpath(tgt, sizeof(tgt), target_fd);
    if (!(msflags & MS_RDONLY) || !scratch_dir)
        return mount(fstype, tgt, fstype, msflags, opts) < 0 ? -errno : 0;
    /* read-only as the new API makes it: the mount, not the filesystem (a write is EACCES
     * before EROFS, as elsewhere); set on our scratch, then moved by a bind (see below) */
    int r = 0;
    if (mount(fstype, scratch_dir, fstype, msflags & ~MS_RDONLY, opts) < 0)
        return -errno;
    if (mount(NULL, scratch_dir, NULL, MS_REMOUNT | MS_BIND | msflags, NULL) < 0 ||
        mount(scratch_dir, tgt, NULL, MS_BIND, NULL) < 0)
        r = -errno;
    umount2(scratch_dir, MNT_DETACH);
    return r;
}

int mnt_legacy_scratch(const char *dir)
{
    free(scratch_dir);
    free(scratch_file);
    scratch_dir = scratch_file = NULL;
    if (asprintf(&scratch_dir, "%s/scratch.d", dir) < 0 ||
        asprintf(&scratch_file, "%s/scratch.f", dir) < 0)
        return -ENOMEM;
    if (mkdir(scratch_dir, 0700) < 0)
        return -errno;
    int fd = open(scratch_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

int mnt_bind_at(bool legacy, int src_fd, int target_fd, bool recursive, unsigned long msflags)
{
    if (!legacy) {
        int tfd = open_tree(src_fd, "",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                (recursive ? AT_RECURSIVE : 0));
        if (tfd >= 0) {
            int r = 0;
            if (msflags) {
                struct mount_attr a = {.attr_set = ms_to_attr(msflags)};
                if (mount_setattr(tfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a,
                                  sizeof(a)) < 0)
                    r = -errno;
            }
            if (!r && move_mount(tfd, "", target_fd, "",
                                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                r = -errno;
            close(tfd);
            return r;
        }
        if (errno != ENOSYS)
            return -errno;
    }
    char src[64], tgt[64];
    fdpath(src, sizeof(src), src_fd);
    fdpath(tgt, sizeof(tgt), target_fd);
    unsigned long rec = recursive ? MS_REC : 0;
    if (!msflags)
        return mount(src, tgt, NULL, MS_BIND | rec, NULL) < 0 ? -errno : 0;
    /* A bind ignores flags and a remount finds its mount by a path walk, which a process
     * outside (a shared volume's owner) could redirect between the two calls. So: bind onto
     * our private scratch, remount it there (a walk nobody else can touch), bind that onto the
     * target (a bind copies the mount's flags) and drop the scratch mount. */
    struct stat st;
    if (fstat(src_fd, &st) < 0)
        return -errno;
    const char *scratch = S_ISDIR(st.st_mode) ? scratch_dir : scratch_file;
    if (!scratch)
        return -ENOSYS; /* mnt_legacy_scratch() first */
    int r = 0;
    if (mount(src, scratch, NULL, MS_BIND | rec, NULL) < 0)
        return -errno;
    if (mount(NULL, scratch, NULL, MS_REMOUNT | MS_BIND | msflags, NULL) < 0 ||
        mount(scratch, tgt, NULL, MS_BIND | rec, NULL) < 0)
        r = -errno;
    umount2(scratch, MNT_DETACH);
    return r;
}

int mnt_set_flags(bool legacy, int fd, unsigned long msflags, bool recursive)
{
    if (!legacy) {
        struct mount_attr a = {.attr_set = ms_to_attr(msflags)};
        if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a,
                          sizeof(a)) == 0)
            return 0;
        if (errno != ENOSYS)
            return -errno;
    }
    char p[64];
    fdpath(p, sizeof(p), fd);
    /* a bind remount replaces the per-mount flags: keep the ones already set */
    struct statvfs sv;
    if (fstatvfs(fd, &sv) == 0) {
        if (sv.f_flag & ST_NOSUID)
            msflags |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
            msflags |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
            msflags |= MS_NOEXEC;
    }
    if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | msflags, NULL) < 0)
        return -errno;
    return 0;
}
