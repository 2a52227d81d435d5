/* SPDX-License-Identifier: MIT */
/*
 * Mount helpers that work on file descriptors, never on paths inside a rootfs: a symlink in an
 * image can not redirect a mount, mkdir or chown to the host. Two back ends behind the same
 * calls: the new mount API (fsopen/fsmount/open_tree/move_mount/mount_setattr) and the legacy
 * mount(2) through /proc/self/fd/N (kernels before 5.2, or HUTCH_MOUNT_LEGACY=1 to test it).
 * All return 0 (or an fd) or -errno.
 */
#ifndef HUTCH_MOUNT_H
#define HUTCH_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

/* Open path inside the tree at rootfd as if rootfd were "/": symlinks, ".." and absolute links
 * stay inside (RESOLVE_IN_ROOT), magic links refused. flags: O_PATH, O_DIRECTORY, ... */
int mnt_open_in_root(int rootfd, const char *path, int flags);
/* mkdir -p inside the tree at rootfd; returns an O_PATH fd of the directory. */
int mnt_mkdir_in_root(int rootfd, const char *path, mode_t mode);
/* Make sure path exists inside the tree as a regular file (created empty) or directory, like
 * what will be mounted onto it; returns an O_PATH fd. */
int mnt_mkpoint_in_root(int rootfd, const char *path, bool dir);

/* Mount a new filesystem of type fstype with comma-separated options onto target_fd.
 * msflags: MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC. */
int mnt_fs_at(bool legacy, int target_fd, const char *fstype, const char *opts,
              unsigned long msflags);
/* Bind the tree at src_fd (O_PATH) onto target_fd; recursive binds submounts too. msflags
 * (MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC) are set on the new tree before it is attached, so no
 * second lookup of the target can put them anywhere else. */
int mnt_bind_at(bool legacy, int src_fd, int target_fd, bool recursive, unsigned long msflags);
/* The legacy back end binds with flags through a scratch directory and file it makes in dir
 * (a private tmpfs of ours, whose paths nobody else can change). Call once, before binds. */
int mnt_legacy_scratch(const char *dir);
/* Set attributes on the mount whose root is open at fd (MS_RDONLY etc). */
int mnt_set_flags(bool legacy, int fd, unsigned long msflags, bool recursive);

#endif
