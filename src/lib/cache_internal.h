/* SPDX-License-Identifier: MIT */
/* Cache internals shared by cache.c (directories, generations, acquire, commit, gc) and
 * cache_tree.c (the tree work of a commit). */
#ifndef HUTCH_CACHE_INTERNAL_H
#define HUTCH_CACHE_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* cache.c */

/* A readable directory fd for listing (O_PATH fds can not be read). */
DIR *cache_dir_list(int dirfd, const char *name);
/* "." or "..". */
bool cache_is_dot(const char *n);

/* cache_tree.c; each returns 0 or -errno */

/* Give fd the owner, mode and times of st. */
int cache_copy_meta(int fd, const struct stat *st);
/* A readable directory below dirfd, no symlink on the way (name may have several parts);
 * the fd or -errno. */
int cache_open_sub(int dirfd, const char *name);
/* Make dst a tree of hard links to src's files. */
int cache_clone_tree(int src, int dst, int depth);
/* Apply an overlay upper directory onto out (a clone of the lower). */
int cache_apply_upper(int up, int out, int depth);
/* Bytes of the regular files of a tree (for the cache.commit event). */
uint64_t cache_tree_bytes(int dirfd, int depth);

#endif
