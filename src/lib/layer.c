/* SPDX-License-Identifier: MIT */
/*
 * Layer extraction (layer.h): the pure path and whiteout helpers, then the calling thread's
 * side of layer_extract(): parse the tar and write each entry below the destination through
 * openat2 (no symlink, no "..", no other mount), with owners, modes, xattrs and times, and
 * whiteouts. The feeder thread that reads, hashes and decompresses the input is in
 * layer_stream.c.
 */
#include "layer.h"

#include "layer_internal.h"
#include "sys.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif

/* Every parent directory is resolved by the kernel with these: no symlink, no magic link, no
 * ".." above the root, no other mount. */
#define RESOLVE_LAYER                                                                              \
    (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

#define WHITEOUT ".wh."
#define OPAQUE   ".wh..wh..opq"

/* ---------------------------------------------------------------- pure helpers */

int layer_path_normalize(const char *in, char *out, size_t outsz)
{
    if (!in || !*in || in[0] == '/')
        return -EINVAL;
    size_t o = 0;
    for (const char *p = in; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -EINVAL;
        if (!(n == 1 && p[0] == '.')) {
            if (n > NAME_MAX || o + (o ? 1 : 0) + n + 1 > outsz)
                return -ENAMETOOLONG;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p = end;
    }
    if (o + 1 > outsz)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return 0;
}

enum layer_whiteout layer_whiteout_classify(const char *path, char *target, size_t targetsz)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    if (strncmp(base, WHITEOUT, strlen(WHITEOUT)) != 0)
        return LAYER_WHITEOUT_NONE;
    if (strcmp(base, OPAQUE) == 0) {
        if (dirlen + 1 > targetsz)
            return LAYER_WHITEOUT_INVALID;
        memcpy(target, path, dirlen);
        target[dirlen] = '\0';
        return LAYER_WHITEOUT_OPAQUE;
    }
    const char *name = base + strlen(WHITEOUT);
    /* ".wh..wh.*" are aufs' own markers (.wh..wh.plnk, .wh..wh.aufs); ".wh." + "" / "." / ".."
     * would hide the directory itself or its parent. */
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strncmp(name, WHITEOUT, strlen(WHITEOUT)) == 0 || dirlen + strlen(name) + 2 > targetsz)
        return LAYER_WHITEOUT_INVALID;
    snprintf(target, targetsz, "%.*s%s%s", (int)dirlen, path, dirlen ? "/" : "", name);
    return LAYER_WHITEOUT_FILE;
}

/* ---------------------------------------------------------------- extraction state */

static void pcache_drop(struct extract *x)
{
    free(x->pcache_path);
    x->pcache_path = NULL;
    close_fd(&x->pcache_fd);
}

static void warn(struct extract *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct extract *x, const char *fmt, ...)
{
    x->res->skipped++;
    if (!x->o->warning)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    x->o->warning(msg, x->o->userdata);
}

static int entry_err(struct extract *x, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int entry_err(struct extract *x, int errnum, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return hutch_err(x->err, errnum, "extract", x->entry, "%s", msg);
}

static int entry_sys(struct extract *x, const char *op)
{
    int e = errno ? errno : EIO;
    return entry_err(x, e, "%s: %s", op, strerror(e));
}

int layer_archive_fail(struct extract *x, struct archive *a, const char *what)
{
    if (x->feed.err == EFBIG)
        return entry_err(x, EFBIG, "layer larger than the limit of %llu bytes uncompressed",
                         (unsigned long long)x->max_bytes);
    int e = archive_errno(a) > 0 ? archive_errno(a) : EINVAL;
    const char *s = archive_error_string(a);
    return hutch_err(x->err, e, "extract", x->entry ? x->entry : what, "%s: %s", what,
                     s ? s : "malformed archive");
}

/* ---------------------------------------------------------------- directories */

static int resolve_err(struct extract *x, const char *dir, int e)
{
    switch (e) {
    case ELOOP:
        return entry_err(x, EINVAL, "path goes through a symlink (at \"%s\"): refused", dir);
    case EXDEV:
        return entry_err(x, EINVAL, "path leaves the layer (at \"%s\"): refused", dir);
    case ENOTDIR:
        return entry_err(x, ENOTDIR, "\"%s\" is not a directory", dir);
    default:
        return entry_err(x, e, "open \"%s\": %s", dir, strerror(e));
    }
}

/* Create the missing directories of dir (tar allows a file before its directory). */
static int make_parents(struct extract *x, const char *dir, int *out)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", dir);
    _cleanup_close_ int cur = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return entry_sys(x, "dup");
    char *save = NULL;
    for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        int fd = sys_openat2(cur, comp, O_PATH | O_DIRECTORY, RESOLVE_LAYER);
        if (fd < 0 && errno == ENOENT) {
            if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST)
                return entry_sys(x, "mkdir");
            /* O_RDONLY, not O_PATH: fchmod needs a real fd (and the umask must not decide) */
            fd = sys_openat2(cur, comp, O_RDONLY | O_DIRECTORY, RESOLVE_LAYER);
            if (fd >= 0 && fchmod(fd, 0755) < 0) {
                close(fd);
                return entry_sys(x, "chmod");
            }
        }
        if (fd < 0)
            return resolve_err(x, dir, errno);
        close(cur);
        cur = fd;
    }
    *out = TAKE_FD(cur);
    return 0;
}

/* The directory dir ("" = root) as an fd owned by the cache. */
static int open_parent(struct extract *x, const char *dir, int *out)
{
    if (!*dir) {
        *out = x->root_fd;
        return 0;
    }
    if (x->pcache_path && strcmp(x->pcache_path, dir) == 0) {
        *out = x->pcache_fd;
        return 0;
    }
    pcache_drop(x);
    int fd = sys_openat2(x->root_fd, dir, O_PATH | O_DIRECTORY, RESOLVE_LAYER);
    if (fd < 0 && errno != ENOENT)
        return resolve_err(x, dir, errno);
    if (fd < 0) {
        int r = make_parents(x, dir, &fd);
        if (r < 0)
            return r;
    }
    x->pcache_path = strdup(dir);
    if (!x->pcache_path) {
        close(fd);
        return entry_err(x, ENOMEM, "out of memory");
    }
    *out = x->pcache_fd = fd;
    return 0;
}

/* Make way for a new entry: tar semantics say the later entry wins. A symlink is removed,
 * never followed; a directory only when empty. */
static int make_room(struct extract *x, int pfd, const char *name)
{
    if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return entry_sys(x, "unlink");
    /* the cached parent might be this directory or below it */
    pcache_drop(x);
    if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
        return 0;
    if (errno == ENOTEMPTY || errno == EEXIST)
        return entry_err(x, EEXIST, "would replace a non-empty directory");
    return entry_sys(x, "rmdir");
}

/* ---------------------------------------------------------------- metadata */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (!archive_entry_mtime_is_set(e))
        ts[1].tv_nsec = UTIME_OMIT;
    ts[0] = ts[1];
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    }
}

static int set_xattr(int fd, int pfd, const char *name, const char *key, const void *val,
                     size_t len)
{
    if (fd >= 0)
        return fsetxattr(fd, key, val, len, 0);
    /* a symlink: no fd can carry the xattr, setxattrat (Linux 6.13) can without following */
    struct {
        uint64_t value;
        uint32_t size, flags;
    } args = {(uint64_t)(uintptr_t)val, (uint32_t)len, 0};
    return (int)syscall(SYS_setxattrat, pfd, name, AT_SYMLINK_NOFOLLOW, key, &args, sizeof(args));
}

/* user.* and trusted.* are kept; security.capability only when asked; trusted.overlay.*
 * never (overlayfs would act on it: opaque, redirect, metacopy); the rest skipped. */
static int apply_xattrs(struct extract *x, struct archive_entry *e, int fd, int pfd,
                        const char *name)
{
    const char *key, *seen[64];
    const void *val;
    size_t len, nseen = 0;
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    while (archive_entry_xattr_next(e, &key, &val, &len) == ARCHIVE_OK) {
        /* pax archives often carry each xattr twice (SCHILY.xattr and LIBARCHIVE.xattr) */
        bool dup = false;
        for (size_t i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], key) == 0;
        if (dup)
            continue;
        if (nseen < ARRAY_SIZE(seen))
            seen[nseen++] = key;
        if (strcmp(key, "security.capability") == 0) {
            if (!x->o->allow_file_caps)
                return entry_err(x, EPERM,
                                 "file capabilities (security.capability) refused; "
                                 "import with --allow-file-caps to keep them");
        } else if (strncmp(key, "trusted.overlay.", 16) == 0) {
            warn(x, "%s: xattr %s skipped (reserved for overlayfs)", x->entry, key);
            continue;
        } else if (strncmp(key, "user.", 5) != 0 && strncmp(key, "trusted.", 8) != 0) {
            warn(x, "%s: xattr %s skipped", x->entry, key);
            continue;
        }
        if (set_xattr(fd, pfd, name, key, val, len) < 0) {
            if (errno == ENOSYS || (fd < 0 && errno == EPERM) || errno == EOPNOTSUPP) {
                warn(x, "%s: xattr %s skipped: %s", x->entry, key, strerror(errno));
                continue;
            }
            return entry_sys(x, "setxattr");
        }
    }
    return 0;
}

static int entry_owner(struct extract *x, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
    la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
    /* (uid_t)-1 means "leave unchanged" to chown: never let a header pick that */
    if (u < 0 || g < 0 || u >= (la_int64_t)UINT32_MAX || g >= (la_int64_t)UINT32_MAX)
        return entry_err(x, EINVAL, "invalid owner %lld:%lld", (long long)u, (long long)g);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown drops capabilities). */
static int apply_meta(struct extract *x, struct archive_entry *e, int fd)
{
    mode_t perm = archive_entry_perm(e) & 07777;
    if (x->o->mode == LAYER_MODE_PLAIN) { /* ours to read, no special bits */
        bool exec = archive_entry_filetype(e) == AE_IFDIR || (perm & 0111);
        return fchmod(fd, exec ? 0755 : 0644) < 0 ? entry_sys(x, "chmod") : 0;
    }
    uid_t uid;
    gid_t gid;
    int r = entry_owner(x, e, &uid, &gid);
    if (r < 0)
        return r;
    if (fchown(fd, uid, gid) < 0)
        return entry_sys(x, "chown");
    if (fchmod(fd, perm) < 0)
        return entry_sys(x, "chmod");
    return apply_xattrs(x, e, fd, -1, NULL);
}

static int record_dir_time(struct extract *x, const char *path, struct archive_entry *e)
{
    if (x->o->mode == LAYER_MODE_PLAIN)
        return 0;
    if (x->ndirs == x->capdirs) {
        size_t cap = x->capdirs ? x->capdirs * 2 : 64;
        struct dir_time *d = realloc(x->dirs, cap * sizeof(*d));
        if (!d)
            return entry_err(x, ENOMEM, "out of memory");
        x->dirs = d;
        x->capdirs = cap;
    }
    struct dir_time *d = &x->dirs[x->ndirs];
    d->path = strdup(path);
    if (!d->path)
        return entry_err(x, ENOMEM, "out of memory");
    entry_times(e, d->ts);
    x->ndirs++;
    return 0;
}

/* Directory times last: creating entries inside a directory changes its mtime. */
static void apply_dir_times(struct extract *x)
{
    for (size_t i = 0; i < x->ndirs; i++) {
        char *path = x->dirs[i].path;
        if (!*path) {
            futimens(x->root_fd, x->dirs[i].ts);
            continue;
        }
        char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        if (slash)
            *slash = '\0';
        int pfd =
            slash ? sys_openat2(x->root_fd, path, O_PATH | O_DIRECTORY, RESOLVE_LAYER) : x->root_fd;
        if (pfd >= 0)
            utimensat(pfd, name, x->dirs[i].ts, AT_SYMLINK_NOFOLLOW);
        if (slash && pfd >= 0)
            close(pfd);
    }
}

/* ---------------------------------------------------------------- entries */

static int extract_dir(struct extract *x, struct archive_entry *e, int pfd, const char *name,
                       const char *path)
{
    if (mkdirat(pfd, name, 0700) < 0) {
        struct stat st;
        if (errno != EEXIST)
            return entry_sys(x, "mkdir");
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return entry_sys(x, "stat");
        if (!S_ISDIR(st.st_mode)) { /* e.g. a symlink: replace it, never follow it */
            if (unlinkat(pfd, name, 0) < 0 || mkdirat(pfd, name, 0700) < 0)
                return entry_sys(x, "mkdir");
        }
    }
    _cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return entry_sys(x, "open");
    int r = apply_meta(x, e, fd);
    return r < 0 ? r : record_dir_time(x, path, e);
}

static int write_data(struct extract *x, struct archive_entry *e, int fd)
{
    const void *buf;
    size_t len;
    la_int64_t off, end = 0;
    for (;;) {
        int r = archive_read_data_block(x->inner, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return layer_archive_fail(x, x->inner, "read");
        const char *p = buf;
        while (len > 0) {
            ssize_t n = pwrite(fd, p, len, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return entry_sys(x, "write");
            p += n;
            off += n;
            len -= (size_t)n;
        }
        end = off;
    }
    /* a sparse file may end in a hole */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
        ftruncate(fd, archive_entry_size(e)) < 0)
        return entry_sys(x, "truncate");
    return 0;
}

static int extract_file(struct extract *x, struct archive_entry *e, int pfd, const char *name)
{
    int r = make_room(x, pfd, name);
    if (r < 0)
        return r;
    _cleanup_close_ int fd =
        openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return entry_sys(x, "create");
    r = write_data(x, e, fd);
    if (r == 0)
        r = apply_meta(x, e, fd);
    if (r == 0 && x->o->mode == LAYER_MODE_IMAGE) {
        struct timespec ts[2];
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
            r = entry_sys(x, "utime");
    }
    return r;
}

static int extract_symlink(struct extract *x, struct archive_entry *e, int pfd, const char *name)
{
    const char *target = archive_entry_symlink(e);
    if (!target || !*target)
        return entry_err(x, EINVAL, "symlink without a target");
    int r = make_room(x, pfd, name);
    if (r < 0)
        return r;
    /* the target is only data: nothing here ever resolves it */
    if (symlinkat(target, pfd, name) < 0)
        return entry_sys(x, "symlink");
    if (x->o->mode == LAYER_MODE_PLAIN)
        return 0;
    uid_t uid;
    gid_t gid;
    struct timespec ts[2];
    r = entry_owner(x, e, &uid, &gid);
    if (r < 0)
        return r;
    if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_sys(x, "chown");
    r = apply_xattrs(x, e, -1, pfd, name);
    entry_times(e, ts);
    if (r == 0 && utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        r = entry_sys(x, "utime");
    return r;
}

static int extract_hardlink(struct extract *x, const char *link, int pfd, const char *name,
                            const char *path)
{
    char target[PATH_MAX];
    if (layer_path_normalize(link, target, sizeof(target)) < 0 || !*target)
        return entry_err(x, EINVAL, "hard link to \"%.200s\" (outside the layer): refused", link);
    if (strcmp(target, path) == 0)
        return 0;
    char *slash = strrchr(target, '/');
    const char *tname = slash ? slash + 1 : target;
    if (slash)
        *slash = '\0';
    /* own fd, not the cache: pfd is the cached one */
    _cleanup_close_ int tpfd =
        sys_openat2(x->root_fd, slash ? target : ".", O_PATH | O_DIRECTORY, RESOLVE_LAYER);
    if (tpfd < 0)
        return errno == ELOOP || errno == EXDEV
                   ? entry_err(x, EINVAL, "hard link through a symlink (\"%.200s\"): refused", link)
                   : entry_err(x, errno, "hard link target \"%.200s\": %s", link, strerror(errno));
    struct stat st;
    if (fstatat(tpfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(x, errno, "hard link target \"%.200s\": %s", link, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return entry_err(x, EINVAL, "hard link to a directory (\"%.200s\"): refused", link);
    int r = make_room(x, pfd, name);
    if (r < 0)
        return r;
    /* flags 0: a link to a symlink links the symlink itself, never what it points to */
    if (linkat(tpfd, tname, pfd, name, 0) < 0)
        return entry_sys(x, "link");
    return 0;
}

static int extract_fifo(struct extract *x, struct archive_entry *e, int pfd, const char *name)
{
    int r = make_room(x, pfd, name);
    if (r < 0)
        return r;
    if (mknodat(pfd, name, S_IFIFO | 0600, 0) < 0)
        return entry_sys(x, "mkfifo");
    /* O_NONBLOCK: opening a FIFO for reading must not wait for a writer */
    _cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return entry_sys(x, "open");
    r = apply_meta(x, e, fd);
    struct timespec ts[2];
    entry_times(e, ts);
    if (r == 0 && futimens(fd, ts) < 0)
        r = entry_sys(x, "utime");
    return r;
}

/* ".wh.NAME" -> char device 0/0 owned 0:0 at NAME, the overlayfs whiteout. */
static int extract_whiteout(struct extract *x, const char *target)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", target);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? target + (slash - dir) + 1 : target;
    if (slash)
        *slash = '\0';
    int pfd;
    int r = open_parent(x, slash ? dir : "", &pfd);
    if (r == 0)
        r = make_room(x, pfd, name);
    if (r < 0)
        return r;
    if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
        return entry_sys(x, "mknod");
    if (fchownat(pfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_sys(x, "chown");
    return 0;
}

static int extract_opaque(struct extract *x, const char *dir)
{
    _cleanup_close_ int fd = -1;
    if (*dir) {
        int pfd;
        int r = open_parent(x, dir, &pfd); /* creates it if missing, refuses symlinks */
        if (r < 0)
            return r;
        fd = sys_openat2(pfd, ".", O_RDONLY | O_DIRECTORY, RESOLVE_LAYER);
        if (fd < 0)
            return entry_sys(x, "open");
    }
    if (fsetxattr(*dir ? fd : x->root_fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return entry_sys(x, "setxattr trusted.overlay.opaque");
    return 0;
}

static int extract_special(struct extract *x, const char *path)
{
    char target[PATH_MAX];
    switch (layer_whiteout_classify(path, target, sizeof(target))) {
    case LAYER_WHITEOUT_FILE:
        return extract_whiteout(x, target);
    case LAYER_WHITEOUT_OPAQUE:
        return extract_opaque(x, target);
    case LAYER_WHITEOUT_INVALID:
        if (strstr(path, WHITEOUT WHITEOUT)) {
            warn(x, "%s: aufs whiteout marker skipped", x->entry);
            return 0;
        }
        return entry_err(x, EINVAL, "whiteout aimed at the directory itself or above: refused");
    default:
        return 1;
    }
}

static int extract_root(struct extract *x, struct archive_entry *e)
{
    if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e))
        return entry_err(x, EINVAL,
                         "entry \"%s\" is not a directory: it would replace the layer "
                         "root: refused",
                         x->entry);
    int r = apply_meta(x, e, x->root_fd);
    return r < 0 ? r : record_dir_time(x, "", e);
}

static int extract_entry(struct extract *x, struct archive_entry *e)
{
    char path[PATH_MAX], dir[PATH_MAX];
    x->entry = archive_entry_pathname(e);
    if (!x->entry)
        return hutch_err(x->err, EINVAL, "extract", "layer", "entry without a path name");
    int r = layer_path_normalize(x->entry, path, sizeof(path));
    if (r < 0)
        return entry_err(x, EINVAL,
                         r == -ENAMETOOLONG ? "path too long" : "absolute path or \"..\": refused");
    if (x->o->mode == LAYER_MODE_IMAGE && (r = extract_special(x, path)) <= 0)
        return r;
    if (!*path)
        return extract_root(x, e);
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? path + (slash - dir) + 1 : path;
    if (slash)
        *slash = '\0';
    int pfd;
    r = open_parent(x, slash ? dir : "", &pfd);
    if (r < 0)
        return r;
    const char *link = archive_entry_hardlink(e);
    if (link)
        return extract_hardlink(x, link, pfd, name, path);
    switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
        return extract_dir(x, e, pfd, name, path);
    case AE_IFREG:
        return extract_file(x, e, pfd, name);
    case AE_IFLNK:
        return extract_symlink(x, e, pfd, name);
    case AE_IFIFO:
        if (x->o->mode == LAYER_MODE_IMAGE)
            return extract_fifo(x, e, pfd, name);
        break;
    case AE_IFCHR:
    case AE_IFBLK:
        /* a device node in an image would hand the workload a host device */
        warn(x, "%s: device node skipped", x->entry);
        return 0;
    default:
        break;
    }
    warn(x, "%s: %s skipped", x->entry,
         archive_entry_filetype(e) == AE_IFSOCK ? "socket" : "unsupported entry type");
    return 0;
}

/* ---------------------------------------------------------------- driver */

static int extract_all(struct extract *x)
{
    int r = layer_streams_open(x);
    for (struct archive_entry *e; r == 0;) {
        x->entry = NULL;
        int ar = archive_read_next_header(x->inner, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN)
            return layer_archive_fail(x, x->inner, "read");
        if (++x->res->files > x->max_files)
            return hutch_err(x->err, EFBIG, "extract", "layer",
                             "more than %llu entries: refused (limit)",
                             (unsigned long long)x->max_files);
        r = extract_entry(x, e);
    }
    if (r < 0)
        return r;
    x->entry = NULL;
    apply_dir_times(x);
    r = layer_streams_drain(x);
    if (r == 0 && (digest_final_hex(&x->cdig, x->res->digest) < 0 ||
                   digest_final_hex(&x->udig, x->res->diff_id) < 0))
        r = hutch_err(x->err, EIO, "digest", "layer", "sha256 failed");
    if (r == 0 && x->o->progress)
        x->o->progress(x->res->compressed_size, x->o->userdata);
    return r;
}

int layer_extract(int src_fd, int dest_fd, const struct layer_opts *opts, struct layer_result *res,
                  struct hutch_error **err)
{
    struct extract x = {
        .o = opts,
        .res = res,
        .err = err,
        .src_fd = src_fd,
        .pcache_fd = -1,
        .max_bytes = opts->max_bytes ? opts->max_bytes : LAYER_DEFAULT_MAX_BYTES,
        .max_files = opts->max_files ? opts->max_files : LAYER_DEFAULT_MAX_FILES,
    };
    memset(res, 0, sizeof(*res));
    pthread_mutex_init(&x.feed.mu, NULL);
    pthread_cond_init(&x.feed.cv, NULL);
    x.root_fd = openat(dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    x.inbuf = malloc(IN_CHUNK);
    int r;
    if (x.root_fd < 0)
        r = hutch_err_sys(err, "open", "layer directory");
    else if (!x.inbuf || digest_init(&x.cdig) < 0 || digest_init(&x.udig) < 0)
        r = hutch_err(err, ENOMEM, "extract", NULL, "out of memory");
    else
        r = extract_all(&x);
    layer_streams_stop(&x); /* before the outer archive it reads goes */
    if (x.inner)
        archive_read_free(x.inner);
    if (x.outer)
        archive_read_free(x.outer);
    pcache_drop(&x);
    for (size_t i = 0; i < x.ndirs; i++)
        free(x.dirs[i].path);
    free(x.dirs);
    free(x.inbuf);
    for (size_t i = 0; i < FEED_BLOCKS; i++)
        free(x.feed.blocks[i]);
    pthread_mutex_destroy(&x.feed.mu);
    pthread_cond_destroy(&x.feed.cv);
    digest_free(&x.cdig);
    digest_free(&x.udig);
    close_fd(&x.root_fd);
    return r;
}
