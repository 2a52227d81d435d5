/* SPDX-License-Identifier: MIT */
/* The sandbox's filesystem view, built in the child's mount namespace before pivot_root. Every
 * function returns 0 (or an fd) or -errno and writes a message into msg. */
#ifndef HUTCH_ROOTFS_H
#define HUTCH_ROOTFS_H

#include <stddef.h>

struct hutch_sandbox;

struct cerr {
    char msg[400];
};

/* User namespace, before dropping to the namespace's root: open what the mapped root could not
 * reach through the host's root-only directories (layers, volume sources, the stage), so the
 * mounts below use /proc/self/fd/N paths of this mount namespace. */
int rootfs_hold_paths(struct hutch_sandbox *sb, struct cerr *ce);
/* Private propagation, the stage tmpfs, the overlay (layers + private upper); returns an O_PATH
 * fd of the new root. */
int rootfs_mount_root(struct hutch_sandbox *sb, struct cerr *ce);
/* Refuse a rootfs whose /proc, /sys or /dev is a symlink (or not a directory). */
int rootfs_check_special_dirs(int rootfd, struct cerr *ce);
int rootfs_mount_proc(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);
/* Minimal /dev on a fresh tmpfs; returns an O_PATH fd of its null device (used for masks). */
int rootfs_mount_dev(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);
int rootfs_mount_sys(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);
/* OCI masked and read-only paths under /proc and /sys. */
int rootfs_mask_paths(struct hutch_sandbox *sb, int rootfd, int nullfd, struct cerr *ce);
/* --volume and --tmpfs, parents before children. */
int rootfs_mount_user(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);
/* Files hutch provides inside (hosts, resolv.conf) and the working directory. */
int rootfs_write_files(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);
/* pivot_root into rootfd and detach the old root; --read-only afterwards. */
int rootfs_pivot(struct hutch_sandbox *sb, int rootfd, struct cerr *ce);

#endif
