/* SPDX-License-Identifier: MIT */
#include "userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

int userns_parse_map(const char *s, struct userns_map *m)
{
    unsigned long a, b, c;
    char tail;
    if (!s || sscanf(s, "%lu:%lu:%lu%c", &a, &b, &c, &tail) != 3 || c == 0 ||
        a + c > 0x100000000ul || b + c > 0x100000000ul)
        return -EINVAL;
    m->inside = m->ginside = (uint32_t)a;
    m->host = m->ghost = (uint32_t)b;
    m->size = m->gsize = (uint32_t)c;
    return 0;
}

int userns_subid_range(const char *text, const char *const *names, uint32_t *start,
                       uint32_t *count)
{
    for (const char *const *n = names; *n; n++) {
        size_t len = strlen(*n);
        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
            unsigned long s, c;
            if (strncmp(l, *n, len) || l[len] != ':')
                continue;
            if (sscanf(l + len + 1, "%lu:%lu", &s, &c) == 2 && c >= USERNS_SLOT &&
                s + c <= 0xffffffffu && s > 0) {
                *start = (uint32_t)s;
                *count = (uint32_t)c;
                return 0;
            }
        }
    }
    return -ENOENT;
}

static int read_range(const char *env, const char *def, uint32_t *start, uint32_t *count,
                      struct hutch_error **err)
{
    static const char *const names[] = {"hutch", "containers", "root", NULL};
    const char *path = getenv(env);
    if (!path || !*path)
        path = def;
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(AT_FDCWD, path, &text, NULL, 1 << 20);
    if (r < 0 || userns_subid_range(text, names, start, count) < 0)
        return hutch_err(err, ENOENT, "lookup", "--userns",
                         "auto needs a range of at least %u ids for 'hutch', 'containers' or "
                         "'root' in %s (e.g. a line hutch:100000000:6553600)",
                         USERNS_SLOT, path);
    return 0;
}

/* Claim RUN/userns/<host>: O_EXCL makes the claim atomic; a claim whose sandbox is dead is
 * taken over. */
static int claim(int dfd, uint32_t host, const char *id)
{
    char name[16];
    snprintf(name, sizeof(name), "%u", host);
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            int r = write_all(fd, id, strlen(id));
            close(fd);
            return r < 0 ? r : 1;
        }
        if (errno != EEXIST)
            return -errno;
        _cleanup_free_ char *owner = NULL;
        if (read_file_at(dfd, name, &owner, NULL, 128) < 0 || !*owner)
            return 0; /* being written right now: someone else's */
        char sdir[4200];
        snprintf(sdir, sizeof(sdir), "../%s", owner);
        struct stat st;
        if (fstatat(dfd, sdir, &st, 0) == 0)
            return 0; /* the owner's state exists: gc decides when it is dead */
        unlinkat(dfd, name, 0);
    }
    return 0;
}

int userns_lease_auto(const char *run_dir, const char *id, struct userns_map *m, char **lease,
                      struct hutch_error **err)
{
    uint32_t us, uc, gs, gc;
    int r = read_range("HUTCH_SUBUID", "/etc/subuid", &us, &uc, err);
    r = r ?: read_range("HUTCH_SUBGID", "/etc/subgid", &gs, &gc, err);
    if (r < 0)
        return r;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/userns", run_dir);
    if ((r = mkdir_p(dir, 0700)) < 0)
        return hutch_err(err, r, "mkdir", dir, "%s", strerror(-r));
    _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return hutch_err_sys(err, "open", dir);
    uint32_t slots = (uc < gc ? uc : gc) / USERNS_SLOT;
    for (uint32_t i = 0; i < slots; i++) {
        r = claim(dfd, us + i * USERNS_SLOT, id);
        if (r < 0)
            return hutch_err(err, r, "lease", dir, "%s", strerror(-r));
        if (r == 0)
            continue;
        *m = (struct userns_map){0, us + i * USERNS_SLOT, USERNS_SLOT,
                                 0, gs + i * USERNS_SLOT, USERNS_SLOT};
        if (asprintf(lease, "%s/%u", dir, m->host) < 0)
            return hutch_err(err, ENOMEM, NULL, "--userns", "out of memory");
        return 0;
    }
    return hutch_err(err, ENOSPC, "lease", "--userns",
                     "all %u id ranges of %u are in use by live sandboxes", slots, USERNS_SLOT);
}

int userns_write_maps(pid_t pid, const struct userns_map *m, struct hutch_error **err)
{
    char path[64], line[96];
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    snprintf(line, sizeof(line), "%u %u %u\n", m->inside, m->host, m->size);
    int r = write_file_at(AT_FDCWD, path, line);
    if (r < 0)
        return hutch_err(err, r, "write", path, "%s", strerror(-r));
    snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
    snprintf(line, sizeof(line), "%u %u %u\n", m->ginside, m->ghost, m->gsize);
    r = write_file_at(AT_FDCWD, path, line);
    if (r < 0)
        return hutch_err(err, r, "write", path, "%s", strerror(-r));
    return 0;
}

/* No idmapped mounts here: the kernel has none (ENOSYS: before 5.12), the layer's filesystem
 * does not support them (EINVAL, EOPNOTSUPP: e.g. FUSE, NFS, overlayfs itself), or a
 * security module or a locked mount says no (EPERM). */
static bool idmap_unsupported(int e)
{
    return e == ENOSYS || e == EINVAL || e == EOPNOTSUPP || e == EPERM;
}

int userns_idmap_layers(pid_t pid, char *const *layers, int n, int *fds, int *failed,
                        struct hutch_error **err)
{
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
    _cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0)
        return hutch_err_sys(err, "open", path);
    /* read-only: the sandbox writes to its private upper only; nodev: a device node in an
     * image opens nothing (belt and braces: overlay's own mount is nodev). Not nosuid: a
     * setuid binary of the image works as without --userns (becoming the sandbox's root, and
     * never under no_new_privs); execve checks the overlay's mount flags, not the layer's, so
     * nosuid here would add nothing today (measured on 6.18) and break that if it ever did. */
    struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
                           .userns_fd = (uint64_t)ns};
    for (int i = 0; i < n; i++) {
        /* a clone of the layer's mount alone (not recursive): an overlay layer never crosses
         * into a submount anyway */
        fds[i] = open_tree(AT_FDCWD, layers[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fds[i] < 0 || mount_setattr(fds[i], "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
            int e = errno;
            const char *op = fds[i] < 0 ? "open_tree" : "mount_setattr";
            for (int j = 0; j <= i; j++)
                close_fd(&fds[j]);
            if (idmap_unsupported(e)) {
                *failed = i;
                return e;
            }
            return hutch_err(err, e, op, layers[i], "cannot idmap the layer: %s", strerror(e));
        }
    }
    return 0;
}

int userns_child_setup(const struct userns_map *m)
{
    /* the host's supplementary groups mean nothing inside */
    if (setgroups(0, NULL) < 0)
        return -errno;
    if (m->inside == 0 && m->ginside == 0 &&
        (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        return -errno;
    return 0;
}

void userns_release(const char *lease)
{
    if (lease)
        unlink(lease);
}

void userns_gc(const char *run_dir)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/userns", run_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *owner = NULL;
        if (read_file_at(dirfd(d), de->d_name, &owner, NULL, 128) < 0 || !*owner ||
            strchr(owner, '/'))
            continue;
        char sdir[8300];
        snprintf(sdir, sizeof(sdir), "%s/%s", run_dir, owner);
        if (!state_is_live(sdir))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}
