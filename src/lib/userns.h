/* SPDX-License-Identifier: MIT */
/* User namespaces: --userns=MAP maps as told; --userns=auto gives each sandbox its own 65536 ids
 * from the host's /etc/subuid and /etc/subgid, leased without collisions between concurrent
 * sandboxes, so root in the sandbox is nobody on the host. */
#ifndef HUTCH_USERNS_H
#define HUTCH_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct userns_map {
    uint32_t inside, host, size;    /* uid_map line */
    uint32_t ginside, ghost, gsize; /* gid_map line */
};

#define USERNS_SLOT 65536u

/* Pure: parse "C:H:S". */
int userns_parse_map(const char *s, struct userns_map *m);
/* Pure: find the first subordinate range for one of the names in a subuid/subgid text. */
int userns_subid_range(const char *text, const char *const *names, uint32_t *start,
                       uint32_t *count);
/* --userns=auto: lease a free slot for sandbox id (a file RUN/userns/<host> naming it);
 * *lease is its path, for release. */
int userns_lease_auto(const char *run_dir, const char *id, struct userns_map *m, char **lease,
                      struct hutch_error **err);
/* Parent, while the child waits: write its uid_map and gid_map. */
int userns_write_maps(pid_t pid, const struct userns_map *m, struct hutch_error **err);
/* Parent, after the maps: for each layer a detached clone mounted read-only and nodev, idmapped
 * through pid's user namespace, so that inside it the image's files keep their owners (root's
 * are the sandbox root's). Returns 0 with fds[0..n) filled; a positive errno when the kernel or
 * the filesystem of layers[*failed] has no idmapped mounts (fds all closed: fall back); -errno
 * on other errors. */
int userns_idmap_layers(pid_t pid, char *const *layers, int n, int *fds, int *failed,
                        struct hutch_error **err);
/* Child, first thing after the maps exist: become the namespace's root (if it is mapped). */
int userns_child_setup(const struct userns_map *m);
void userns_release(const char *lease);
/* gc: remove leases whose sandbox is not live. */
void userns_gc(const char *run_dir);

#endif
