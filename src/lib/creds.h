/* SPDX-License-Identifier: MIT */
/* Users and groups: resolved in the rootfs's /etc/passwd and /etc/group (parent), applied in
 * the workload (child). */
#ifndef HUTCH_CREDS_H
#define HUTCH_CREDS_H

#include <sys/types.h>

#include "error.h"

struct creds {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups */
    int ngroups;
    char *home; /* from /etc/passwd, or NULL */
};

/* Parse "uid[:gid]" or "name[:group]" (NULL = root) against the passwd/group files of the
 * rootfs layers (top-most first; the first layer that has a file wins). */
int creds_resolve(char *const *layers, int nlayers, const char *user, struct creds *out,
                  struct hutch_error **err);
void creds_free(struct creds *c);

/* Pure: find a user in passwd text by name or (if name is NULL) by uid. Returns 1 if found. */
int creds_passwd_lookup(const char *passwd, const char *name, uid_t uid, uid_t *uid_out,
                        gid_t *gid_out, char **home_out, char **name_out);
/* Pure: find a group's gid by name. Returns 1 if found. */
int creds_group_lookup(const char *group, const char *name, gid_t *gid_out);
/* Pure: the gids of the groups that list user as a member (appended to *gids). */
int creds_group_members(const char *group, const char *user, gid_t **gids, int *n);

/* Child: set groups, gid, uid keeping the permitted capabilities (caps_apply sets them). */
int creds_apply(uid_t uid, gid_t gid, const gid_t *groups, int ngroups);

#endif
