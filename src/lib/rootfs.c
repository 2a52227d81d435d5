/* SPDX-License-Identifier: MIT */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mount.h"
#include "sandbox.h"
#include "sys.h"

static int fail(struct cerr *ce, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ce->msg, sizeof(ce->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(ce->msg) - 2)
        snprintf(ce->msg + n, sizeof(ce->msg) - (size_t)n, ": %s", strerror(r < 0 ? -r : r));
    return r < 0 ? r : -r;
}

/* overlay's legacy option syntax: ',' ':' and '\' in a path must be escaped */
static int append_escaped(char *dst, size_t cap, size_t *len, const char *s)
{
    for (; *s; s++) {
        if (*len + 3 >= cap)
            return -E2BIG;
        if (*s == ',' || *s == ':' || *s == '\\')
            dst[(*len)++] = '\\';
        dst[(*len)++] = *s;
    }
    dst[*len] = '\0';
    return 0;
}

static int overlay_new_api(struct sandbox_plan *p, const char *upper, const char *work, int tfd)
{
    _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return -errno;
    /* "lowerdir+" (6.8) takes one layer per call: no option-length limit on deep images */
    for (int i = 0; i < p->nlowers; i++)
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", p->lowers[i], 0) < 0)
            return -errno;
    if (upper && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
                  fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0))
        return -errno;
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return -errno;
    _cleanup_close_ int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
    if (m < 0)
        return -errno;
    if (move_mount(m, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

static int overlay_legacy(struct sandbox_plan *p, const char *upper, const char *work,
                          const char *target)
{
    size_t cap = 65536, len = 0;
    _cleanup_free_ char *opts = malloc(cap);
    if (!opts)
        return -ENOMEM;
    strcpy(opts, "lowerdir=");
    len = strlen(opts);
    for (int i = 0; i < p->nlowers; i++) {
        if (i)
            opts[len++] = ':';
        if (append_escaped(opts, cap, &len, p->lowers[i]) < 0)
            return -E2BIG;
    }
    if (upper)
        len += (size_t)snprintf(opts + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
    if (len >= cap)
        return -E2BIG;
    if (mount("overlay", target, "overlay", MS_NODEV, opts) < 0)
        return -errno;
    return 0;
}

static char *fd_path(int fd)
{
    char *s = NULL;
    return asprintf(&s, "/proc/self/fd/%d", fd) < 0 ? NULL : s;
}

int rootfs_hold_paths(struct hutch_sandbox *sb, struct cerr *ce)
{
    struct sandbox_plan *p = &sb->plan;
    /* (the child's own copy of the plan: replacing strings here changes nothing in the parent;
     * idmapped layers came as mounts and need no path) */
    for (int i = 0; !p->idmapped && i < p->nlowers; i++) {
        int fd = open(p->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        char *s = fd < 0 ? NULL : fd_path(fd);
        if (!s)
            return fail(ce, -errno, "open %s", p->lowers[i]);
        p->lowers[i] = s;
    }
    /* volumes are not idmapped (see step_idmap): the host's owners hold there */
    const struct hutch_spec *spec = sb->spec;
    p->vol_srcs = calloc((size_t)spec->nvolumes + 1, sizeof(char *));
    p->nvol_srcs = spec->nvolumes;
    for (int i = 0; i < spec->nvolumes; i++) {
        if (!spec->volumes[i].src)
            continue;
        int fd = open(spec->volumes[i].src, O_PATH | O_CLOEXEC);
        if (fd < 0 || !p->vol_srcs || !(p->vol_srcs[i] = fd_path(fd)))
            return fail(ce, -errno, "volume source %s", spec->volumes[i].src);
    }
    p->stage_fd = open(p->stage_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return p->stage_fd < 0 ? fail(ce, -errno, "open %s", p->stage_dir) : 0;
}

/* The idmapped layers the parent made, attached at l0..lN on the stage tmpfs (fd m) and given to
 * overlay as paths there. Not the detached mounts themselves (/proc/self/fd/N, or FSCONFIG_SET_FD
 * on 6.13+): they belong to an anonymous mount namespace owned by the host's user namespace, and
 * overlay refuses such a layer to us (EPERM, 6.18); attached, they are ours, on any kernel with
 * idmapped overlay layers (5.19). The root of the merged tree takes the upper's owner and mode:
 * copy the top layer's. */
static int attach_idmapped_layers(struct sandbox_plan *p, int m, int ofs, struct cerr *ce)
{
    for (int i = 0; i < p->nlowers; i++) {
        char name[16], path[64];
        snprintf(name, sizeof(name), "l%d", i);
        snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", m, name);
        if (mkdirat(m, name, 0700) < 0 ||
            move_mount(p->held_fds[i], "", m, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return fail(ce, -errno, "attach idmapped layer %d", i);
        close_fd(&p->held_fds[i]);
        if (fsconfig(ofs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0)
            return fail(ce, -errno, "overlay layer %d", i);
    }
    struct stat st;
    if (fstatat(m, "l0", &st, 0) < 0)
        return fail(ce, -errno, "stat the top layer");
    /* (an owner outside the map shows as the overflow id: keep ours then) */
    if ((fchownat(m, "upper", st.st_uid, st.st_gid, 0) < 0 && errno != EINVAL && errno != EPERM) ||
        fchmodat(m, "upper", st.st_mode & 07777, 0) < 0)
        return fail(ce, -errno, "chown the upper directory");
    return 0;
}

/* The stage tmpfs built detached and moved onto the stage fd, its directories reached through
 * its own mount fd: nothing is looked up by a path the namespace's root may not search. */
static int mount_root_userns(struct hutch_sandbox *sb, struct cerr *ce)
{
    struct sandbox_plan *p = &sb->plan;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return fail(ce, -errno, "make / a slave mount");
    _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    char size[32];
    snprintf(size, sizeof(size), "%llu", (unsigned long long)p->upper_size);
    if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
        (p->upper_size && fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0) ||
        fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return fail(ce, -errno, "create the stage tmpfs");
    int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
    if (m < 0 || mkdirat(m, "upper", 0755) < 0 || mkdirat(m, "work", 0700) < 0 ||
        mkdirat(m, "merged", 0755) < 0)
        return fail(ce, -errno, "populate the stage tmpfs");
    if (move_mount(m, "", p->stage_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return fail(ce, -errno, "mount the stage tmpfs");
    char upper[64], work[64];
    snprintf(upper, sizeof(upper), "/proc/self/fd/%d/upper", m);
    snprintf(work, sizeof(work), "/proc/self/fd/%d/work", m);
    _cleanup_close_ int tfd = openat(m, "merged", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int ofs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (tfd < 0 || ofs < 0)
        return fail(ce, -errno, "overlay");
    int r = p->idmapped ? attach_idmapped_layers(p, m, ofs, ce) : 0;
    if (r < 0)
        return r;
    for (int i = 0; !p->idmapped && i < p->nlowers; i++)
        if (fsconfig(ofs, FSCONFIG_SET_STRING, "lowerdir+", p->lowers[i], 0) < 0)
            return fail(ce, -errno, "overlay layer %d", i);
    /* no trusted.* xattrs for a namespace's root: overlay keeps its metadata in user.* */
    if (fsconfig(ofs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
        fsconfig(ofs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
        fsconfig(ofs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
        fsconfig(ofs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return fail(ce, -errno, "mount the overlay rootfs in the user namespace");
    _cleanup_close_ int om = fsmount(ofs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
    if (om < 0 || move_mount(om, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return fail(ce, -errno, "attach the overlay rootfs");
    int rootfd = openat(m, "merged", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(m);
    return rootfd < 0 ? fail(ce, -errno, "open the new root") : rootfd;
}

int rootfs_mount_root(struct hutch_sandbox *sb, struct cerr *ce)
{
    if (sb->plan.userns)
        return mount_root_userns(sb, ce);
    struct sandbox_plan *p = &sb->plan;
    /* nothing we mount may propagate back to the host; host unmounts still reach us */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return fail(ce, -errno, errno == EINVAL ? "make / a slave mount (in a chroot whose root is "
                                                  "not a mount point?)"
                                                : "make / a slave mount");
    char opts[64] = "mode=0700";
    if (p->upper_size)
        snprintf(opts, sizeof(opts), "mode=0700,size=%llu", (unsigned long long)p->upper_size);
    _cleanup_close_ int stage = open(p->stage_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (stage < 0)
        return fail(ce, -errno, "open %s", p->stage_dir);
    int r = mnt_fs_at(p->legacy_mount, stage, "tmpfs", opts, MS_NOSUID | MS_NODEV);
    if (r < 0)
        return fail(ce, r, "mount tmpfs on %s", p->stage_dir);
    char upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX];
    const char *ubase = p->upper_dir ? p->upper_dir : p->stage_dir;
    snprintf(upper, sizeof(upper), "%s/upper", ubase);
    snprintf(work, sizeof(work), "%s/work", ubase);
    snprintf(merged, sizeof(merged), "%s/merged", p->stage_dir);
    struct stat lst;
    if (stat(p->lowers[0], &lst) < 0)
        return fail(ce, -errno, "stat %s", p->lowers[0]);
    if ((mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0700) < 0 && errno != EEXIST) ||
        mkdir(merged, 0755) < 0)
        return fail(ce, -errno, "create the overlay directories in %s", p->stage_dir);
    if (p->legacy_mount && (r = mnt_legacy_scratch(p->stage_dir)) < 0)
        return fail(ce, r, "create the mount scratch in %s", p->stage_dir);
    /* the merged root takes the upper directory's attributes: copy the image's */
    /* (in a user namespace the image's owner may be unmapped: keep ours then) */
    if ((chown(upper, lst.st_uid, lst.st_gid) < 0 && !(p->userns && errno == EINVAL)) ||
        chmod(upper, lst.st_mode & 07777) < 0)
        return fail(ce, -errno, "chown %s", upper);
    _cleanup_close_ int tfd = open(merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tfd < 0)
        return fail(ce, -errno, "open %s", merged);
    r = p->legacy_mount ? -ENOSYS : overlay_new_api(p, upper, work, tfd);
    if (r == -ENOSYS || r == -EINVAL)
        r = overlay_legacy(p, upper, work, merged);
    if (r < 0)
        return fail(ce, r, "mount the overlay rootfs (%d layer%s)", p->nlowers,
                    p->nlowers == 1 ? "" : "s");
    int rootfd = open(merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return fail(ce, -errno, "open %s", merged);
    return rootfd;
}

int rootfs_check_special_dirs(int rootfd, struct cerr *ce)
{
    static const char *const dirs[] = {"proc", "sys", "dev"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        struct stat st;
        if (fstatat(rootfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return fail(ce, -errno, "rootfs /%s", dirs[i]);
            if (mkdirat(rootfd, dirs[i], 0755) < 0)
                return fail(ce, -errno, "create /%s in the rootfs", dirs[i]);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            snprintf(ce->msg, sizeof(ce->msg), "rootfs /%s is a symlink: refused", dirs[i]);
            return -ELOOP;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(ce->msg, sizeof(ce->msg), "rootfs /%s is not a directory", dirs[i]);
            return -ENOTDIR;
        }
    }
    return 0;
}

/* open a directory we just verified (no symlink), never following one */
static int open_plain_dir(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int rootfs_mount_proc(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    _cleanup_close_ int t = open_plain_dir(rootfd, "proc");
    if (t < 0)
        return fail(ce, t, "open /proc of the rootfs");
    int r = mnt_fs_at(sb->plan.legacy_mount, t, "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    return r < 0 ? fail(ce, r, "mount proc") : 0;
}

struct devnode {
    const char *name;
    unsigned maj, min;
};

static int bind_host_node(bool legacy, int dev, const char *name)
{
    char host[64];
    snprintf(host, sizeof(host), "/dev/%s", name);
    _cleanup_close_ int src = open(host, O_PATH | O_CLOEXEC);
    if (src < 0)
        return -errno;
    int f = openat(dev, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (f < 0)
        return -errno;
    close(f);
    _cleanup_close_ int t = openat(dev, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (t < 0)
        return -errno;
    return mnt_bind_at(legacy, src, t, false, 0);
}

int rootfs_mount_dev(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    bool legacy = sb->plan.legacy_mount;
    static const struct devnode nodes[] = {{"null", 1, 3},    {"zero", 1, 5}, {"full", 1, 7},
                                           {"random", 1, 8},  {"urandom", 1, 9},
                                           {"tty", 5, 0}};
    static const char *const links[][2] = {{"ptmx", "pts/ptmx"},
                                           {"fd", "/proc/self/fd"},
                                           {"stdin", "/proc/self/fd/0"},
                                           {"stdout", "/proc/self/fd/1"},
                                           {"stderr", "/proc/self/fd/2"},
                                           {"core", "/proc/kcore"}};
    _cleanup_close_ int t = open_plain_dir(rootfd, "dev");
    if (t < 0)
        return fail(ce, t, "open /dev of the rootfs");
    int r = mnt_fs_at(legacy, t, "tmpfs", "mode=0755,size=65536", MS_NOSUID | MS_NOEXEC);
    if (r < 0)
        return fail(ce, r, "mount tmpfs on /dev");
    _cleanup_close_ int dev = open_plain_dir(rootfd, "dev"); /* now the tmpfs root */
    if (dev < 0)
        return fail(ce, dev, "open /dev");
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
        if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) == 0)
            continue;
        if (errno != EPERM)
            return fail(ce, -errno, "mknod /dev/%s", nodes[i].name);
        /* a user namespace may not make device nodes: bind the host's same few */
        r = bind_host_node(legacy, dev, nodes[i].name);
        if (r < 0)
            return fail(ce, r, "bind /dev/%s", nodes[i].name);
    }
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (symlinkat(links[i][1], dev, links[i][0]) < 0)
            return fail(ce, -errno, "symlink /dev/%s", links[i][0]);
    static const char *const subdirs[] = {"pts", "shm", "mqueue"};
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
        if (mkdirat(dev, subdirs[i], i == 1 ? 01777 : 0755) < 0)
            return fail(ce, -errno, "mkdir /dev/%s", subdirs[i]);
    _cleanup_close_ int pts = open_plain_dir(dev, "pts");
    _cleanup_close_ int shm = open_plain_dir(dev, "shm");
    _cleanup_close_ int mq = open_plain_dir(dev, "mqueue");
    if (pts < 0 || shm < 0 || mq < 0)
        return fail(ce, -EIO, "open /dev subdirectories");
    r = mnt_fs_at(legacy, pts, "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5",
                  MS_NOSUID | MS_NOEXEC);
    if (r < 0)
        return fail(ce, r, "mount devpts");
    r = mnt_fs_at(legacy, shm, "tmpfs", "mode=1777,size=67108864", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (r < 0)
        return fail(ce, r, "mount /dev/shm");
    r = mnt_fs_at(legacy, mq, "mqueue", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (r < 0)
        return fail(ce, r, "mount /dev/mqueue");
    /* no device node can be created anywhere the workload writes: /dev is read-only (device
     * nodes still open for writing), every other writable mount is nodev */
    r = mnt_set_flags(legacy, dev, MS_RDONLY | MS_NOSUID | MS_NOEXEC, false);
    if (r < 0)
        return fail(ce, r, "make /dev read-only");
    /* masks bind this node: make sure it is the one we made, not something of the image's */
    int nullfd = openat(dev, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (nullfd < 0 || fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) ||
        st.st_rdev != makedev(1, 3)) {
        if (nullfd >= 0)
            close(nullfd);
        return fail(ce, -EIO, "verify /dev/null");
    }
    return nullfd;
}

int rootfs_mount_sys(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    _cleanup_close_ int t = open_plain_dir(rootfd, "sys");
    if (t < 0)
        return fail(ce, t, "open /sys of the rootfs");
    unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | (sb->spec->privileged ? 0 : MS_RDONLY);
    int r = mnt_fs_at(sb->plan.legacy_mount, t, "sysfs", NULL, fl);
    if (r == -EPERM || r == -EACCES) {
        /* sysfs may not be mounted from a namespace that does not own the network namespace
         * (--network host with a user namespace): bind the host's, read-only */
        _cleanup_close_ int src = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
        r = src < 0 ? -errno : mnt_bind_at(sb->plan.legacy_mount, src, t, true, MS_RDONLY);
    }
    return r < 0 ? fail(ce, r, "mount sysfs") : 0;
}

/* The OCI runtime spec's (and Docker's) default masked and read-only paths. */
static const char *const masked_paths[] = {
    "proc/acpi",          "proc/asound",      "proc/interrupts", "proc/kcore",
    "proc/keys",          "proc/latency_stats", "proc/timer_list", "proc/timer_stats",
    "proc/sched_debug",   "proc/scsi",        "sys/firmware",    "sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

/* Open a path under /proc or /sys that must not be reached through a symlink. */
static int open_kernel_path(int rootfd, const char *path)
{
    int fd = sys_openat2(rootfd, path, O_PATH | O_NOFOLLOW,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    return fd < 0 ? -errno : fd;
}

int rootfs_mask_paths(struct hutch_sandbox *sb, int rootfd, int nullfd, struct cerr *ce)
{
    bool legacy = sb->plan.legacy_mount;
    if (sb->spec->privileged)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
        _cleanup_close_ int t = open_kernel_path(rootfd, masked_paths[i]);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return fail(ce, t, "open /%s", masked_paths[i]);
        struct stat st;
        if (fstat(t, &st) < 0)
            return fail(ce, -errno, "stat /%s", masked_paths[i]);
        int r = S_ISDIR(st.st_mode)
                    ? mnt_fs_at(legacy, t, "tmpfs", "size=0,mode=0555", MS_RDONLY | MS_NOSUID |
                                                                            MS_NODEV | MS_NOEXEC)
                    : mnt_bind_at(legacy, nullfd, t, false, MS_RDONLY);
        if (r < 0)
            return fail(ce, r, "mask /%s", masked_paths[i]);
    }
    for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
        _cleanup_close_ int t = open_kernel_path(rootfd, readonly_paths[i]);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return fail(ce, t, "open /%s", readonly_paths[i]);
        int r = mnt_bind_at(legacy, t, t, true, MS_RDONLY);
        if (r < 0)
            return fail(ce, r, "make /%s read-only", readonly_paths[i]);
    }
    return 0;
}

struct user_mount {
    const char *dst;
    int depth;
    int vol; /* index in volumes, or -1 - index in tmpfs */
};

static int cmp_depth(const void *a, const void *b)
{
    const struct user_mount *x = a, *y = b;
    return x->depth - y->depth;
}

static int path_depth(const char *p)
{
    int d = 0;
    for (; *p; p++)
        if (*p == '/' && p[1] && p[1] != '/')
            d++;
    return d;
}

/* An overlay volume: lower (or nothing) + a private upper on disk, for caches committed later. */
static int mount_overlay_volume(struct hutch_sandbox *sb, int rootfd, const struct spec_volume *v,
                                struct cerr *ce)
{
    _cleanup_close_ int t = mnt_mkpoint_in_root(rootfd, v->dst, true);
    if (t < 0)
        return fail(ce, t, "cache destination %s", v->dst);
    char empty[PATH_MAX];
    const char *lower = v->src;
    if (!lower) { /* overlay needs a lower layer: an empty directory beside the upper */
        snprintf(empty, sizeof(empty), "%s.empty", v->work);
        if (mkdir(empty, 0755) < 0 && errno != EEXIST)
            return fail(ce, -errno, "mkdir %s", empty);
        lower = empty;
    }
    char opts[3 * PATH_MAX + 64];
    size_t len = 0;
    opts[0] = '\0';
    len += (size_t)snprintf(opts, sizeof(opts), "lowerdir=");
    if (append_escaped(opts, sizeof(opts), &len, lower) < 0)
        return fail(ce, -E2BIG, "cache %s", v->dst);
    len += (size_t)snprintf(opts + len, sizeof(opts) - len, ",upperdir=");
    if (append_escaped(opts, sizeof(opts), &len, v->upper) < 0)
        return fail(ce, -E2BIG, "cache %s", v->dst);
    len += (size_t)snprintf(opts + len, sizeof(opts) - len, ",workdir=");
    if (append_escaped(opts, sizeof(opts), &len, v->work) < 0)
        return fail(ce, -E2BIG, "cache %s", v->dst);
    char tgt[64];
    snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", t);
    (void)sb;
    if (mount("overlay", tgt, "overlay", MS_NODEV | MS_NOSUID, opts) < 0)
        return fail(ce, -errno, "mount the cache overlay on %s", v->dst);
    return 0;
}

static int mount_volume(struct hutch_sandbox *sb, int rootfd, const struct spec_volume *v,
                        const char *src_path, struct cerr *ce)
{
    if (v->upper)
        return mount_overlay_volume(sb, rootfd, v, ce);
    /* the source is a host path: resolved here, before pivot_root, in the host's view */
    _cleanup_close_ int src = open(src_path, O_PATH | O_CLOEXEC);
    if (src < 0)
        return fail(ce, -errno, "volume source %s", v->src);
    struct stat st;
    if (fstat(src, &st) < 0)
        return fail(ce, -errno, "stat %s", v->src);
    /* the destination is resolved inside the rootfs: a symlink there can not lead out */
    _cleanup_close_ int t = mnt_mkpoint_in_root(rootfd, v->dst, S_ISDIR(st.st_mode));
    if (t < 0)
        return fail(ce, t, "volume destination %s", v->dst);
    /* a host directory must not become a way to reach devices (no devices cgroup needed) */
    int r = mnt_bind_at(sb->plan.legacy_mount, src, t, true,
                        MS_NODEV | MS_NOSUID | (v->ro ? MS_RDONLY : 0));
    return r < 0 ? fail(ce, r, "bind %s on %s", v->src, v->dst) : 0;
}

static int mount_tmpfs(struct hutch_sandbox *sb, int rootfd, const struct spec_tmpfs *tm,
                       struct cerr *ce)
{
    _cleanup_close_ int t = mnt_mkpoint_in_root(rootfd, tm->dst, true);
    if (t < 0)
        return fail(ce, t, "tmpfs destination %s", tm->dst);
    char opts[96];
    int n = snprintf(opts, sizeof(opts), "mode=%o", (unsigned)tm->mode);
    if (tm->size)
        snprintf(opts + n, sizeof(opts) - (size_t)n, ",size=%llu", (unsigned long long)tm->size);
    int r = mnt_fs_at(sb->plan.legacy_mount, t, "tmpfs", opts, MS_NOSUID | MS_NODEV);
    return r < 0 ? fail(ce, r, "mount tmpfs on %s", tm->dst) : 0;
}

int rootfs_mount_user(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    const struct hutch_spec *s = sb->spec;
    int n = s->nvolumes + s->ntmpfs;
    if (n == 0)
        return 0;
    if (n > 256) {
        snprintf(ce->msg, sizeof(ce->msg), "too many volumes and tmpfs mounts (%d)", n);
        return -E2BIG;
    }
    struct user_mount list[256];
    for (int i = 0; i < s->nvolumes; i++)
        list[i] = (struct user_mount){s->volumes[i].dst, path_depth(s->volumes[i].dst), i};
    for (int i = 0; i < s->ntmpfs; i++)
        list[s->nvolumes + i] =
            (struct user_mount){s->tmpfs[i].dst, path_depth(s->tmpfs[i].dst), -1 - i};
    /* parents before children, so a volume inside a tmpfs lands on the tmpfs */
    qsort(list, (size_t)n, sizeof(list[0]), cmp_depth);
    for (int i = 0; i < n; i++) {
        int v = list[i].vol;
        const char *src = v >= 0 && sb->plan.vol_srcs ? sb->plan.vol_srcs[v]
                                                      : (v >= 0 ? s->volumes[v].src : NULL);
        int r = v >= 0 ? mount_volume(sb, rootfd, &s->volumes[v], src, ce)
                                 : mount_tmpfs(sb, rootfd, &s->tmpfs[-1 - list[i].vol], ce);
        if (r < 0)
            return r;
    }
    return 0;
}

/* In a user namespace without idmapped layers the image's /etc belongs to an unmapped owner:
 * write the file on the stage tmpfs and bind it over the image's (skipped when the image has
 * none). */
static int bind_in_root(struct hutch_sandbox *sb, int rootfd, const char *path,
                        const char *content, struct cerr *ce)
{
    _cleanup_close_ int t = sys_openat2(rootfd, path + 1, O_PATH | O_NOFOLLOW,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (t < 0)
        return 0;
    char name[32];
    snprintf(name, sizeof(name), ".%s", strrchr(path, '/') + 1);
    _cleanup_close_ int fd = openat(sb->plan.stage_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
                                                                O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, content, strlen(content)) < 0)
        return fail(ce, -EIO, "write %s", path);
    _cleanup_close_ int src = openat(sb->plan.stage_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int r = src < 0 ? -errno : mnt_bind_at(sb->plan.legacy_mount, src, t, false, 0);
    return r < 0 ? fail(ce, r, "bind %s", path) : 0;
}

static int write_in_root(int rootfd, const char *path, const char *content, struct cerr *ce)
{
    _cleanup_close_ int dir = mnt_mkdir_in_root(rootfd, "etc", 0755);
    if (dir < 0)
        return fail(ce, dir, "/etc");
    const char *leaf = strrchr(path, '/') + 1;
    /* replace whatever the image has (even a symlink) by a plain file in the upper layer */
    if (unlinkat(dir, leaf, 0) < 0 && errno != ENOENT)
        return fail(ce, -errno, "replace %s", path);
    _cleanup_close_ int fd =
        openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(ce, -errno, "create %s", path);
    int r = write_all(fd, content, strlen(content));
    return r < 0 ? fail(ce, r, "write %s", path) : 0;
}

static int put_in_root(struct hutch_sandbox *sb, int rootfd, const char *path, const char *content,
                       struct cerr *ce)
{
    int r = write_in_root(rootfd, path, content, ce);
    if ((r == -EACCES || r == -EPERM) && sb->plan.userns) {
        ce->msg[0] = '\0';
        r = bind_in_root(sb, rootfd, path, content, ce);
    }
    return r;
}

int rootfs_write_files(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    struct sandbox_plan *p = &sb->plan;
    int r;
    char hn[80];
    snprintf(hn, sizeof(hn), "%s\n", p->hostname);
    /* idmapped, the image's /etc is the sandbox root's: written as without --userns (an /etc
     * owned by an id outside the map still is not: bound over then) */
#define PUT(path, content)                                                                        \
    (p->userns && !p->idmapped ? bind_in_root(sb, rootfd, path, content, ce)                      \
                               : put_in_root(sb, rootfd, path, content, ce))
    if ((r = PUT("/etc/hostname", hn)) < 0)
        return r;
    if (p->etc_hosts && (r = PUT("/etc/hosts", p->etc_hosts)) < 0)
        return r;
    if (p->etc_resolv && (r = PUT("/etc/resolv.conf", p->etc_resolv)) < 0)
        return r;
#undef PUT
    if (p->workdir && strcmp(p->workdir, "/") != 0) {
        int fd = mnt_mkdir_in_root(rootfd, p->workdir, 0755);
        if (fd == -EACCES && p->userns)
            return 0; /* an unmapped owner's tree: chdir will say if it is missing */
        if (fd < 0)
            return fail(ce, fd, "working directory %s", p->workdir);
        close(fd);
    }
    return 0;
}

int rootfs_pivot(struct hutch_sandbox *sb, int rootfd, struct cerr *ce)
{
    if (fchdir(rootfd) < 0)
        return fail(ce, -errno, "chdir to the new root");
    /* pivot_root(".", "."): the old root ends up on top of the new one, then we detach it, so
     * no path to the host's tree is left in this mount namespace */
    if (sys_pivot_root(".", ".") < 0)
        return fail(ce, -errno, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return fail(ce, -errno, "detach the old root");
    if (chdir("/") < 0)
        return fail(ce, -errno, "chdir /");
    if (sb->plan.read_only) {
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r = root < 0 ? -errno : mnt_set_flags(sb->plan.legacy_mount, root, MS_RDONLY, false);
        if (r < 0)
            return fail(ce, r, "make the root read-only");
    }
    return 0;
}
