/* SPDX-License-Identifier: MIT */
#include "creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sys.h"
#include "util.h"

/* Walk the colon-separated fields of one line: fields[i] point into line (modified). */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int parse_id(const char *s, unsigned *out)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v > 0xfffffffeu)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

int creds_passwd_lookup(const char *passwd, const char *name, uid_t uid, uid_t *uid_out,
                        gid_t *gid_out, char **home_out, char **name_out)
{
    if (!passwd)
        return 0;
    _cleanup_free_ char *copy = strdup(passwd);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        if (line[0] == '#' || split_fields(line, f, 7) < 4)
            continue;
        unsigned u, g;
        if (parse_id(f[2], &u) < 0 || parse_id(f[3], &g) < 0)
            continue;
        if (name ? strcmp(f[0], name) != 0 : u != uid)
            continue;
        *uid_out = u;
        *gid_out = g;
        if (home_out)
            *home_out = f[5] && *f[5] ? strdup(f[5]) : NULL;
        if (name_out)
            *name_out = strdup(f[0]);
        return 1;
    }
    return 0;
}

int creds_group_lookup(const char *group, const char *name, gid_t *gid_out)
{
    if (!group)
        return 0;
    _cleanup_free_ char *copy = strdup(group);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[4];
        unsigned g;
        if (line[0] == '#' || split_fields(line, f, 4) < 3 || parse_id(f[2], &g) < 0)
            continue;
        if (!strcmp(f[0], name)) {
            *gid_out = g;
            return 1;
        }
    }
    return 0;
}

int creds_group_members(const char *group, const char *user, gid_t **gids, int *n)
{
    if (!group || !user)
        return 0;
    _cleanup_free_ char *copy = strdup(group);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[4];
        unsigned g;
        if (line[0] == '#' || split_fields(line, f, 4) < 4 || parse_id(f[2], &g) < 0)
            continue;
        char *msave = NULL;
        for (char *m = strtok_r(f[3], ",", &msave); m; m = strtok_r(NULL, ",", &msave)) {
            if (strcmp(m, user) != 0)
                continue;
            gid_t *ng = realloc(*gids, sizeof(gid_t) * (size_t)(*n + 1));
            if (!ng)
                return -ENOMEM;
            ng[(*n)++] = g;
            *gids = ng;
            break;
        }
    }
    return 0;
}

/* Read etc/<name> of the top-most layer that has it, never leaving the layer. */
static char *read_layer_file(char *const *layers, int nlayers, const char *rel)
{
    for (int i = 0; i < nlayers; i++) {
        _cleanup_close_ int root = open(layers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            continue;
        int fd = sys_openat2(root, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return NULL; /* e.g. an overlay whiteout (0:0 char device): deleted */
        }
        struct buf b = {0};
        char tmp[4096];
        ssize_t n;
        while ((n = read(fd, tmp, sizeof(tmp))) > 0 && b.len < (16u << 20))
            if (buf_append(&b, tmp, (size_t)n) < 0)
                break;
        char *data = b.data ? b.data : strdup("");
        close(fd);
        return data;
    }
    return NULL;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

int creds_resolve(char *const *layers, int nlayers, const char *user, struct creds *out,
                  struct hutch_error **err)
{
    memset(out, 0, sizeof(*out));
    if (!user || !*user)
        user = "0";
    _cleanup_free_ char *u = strdup(user);
    _cleanup_free_ char *passwd = read_layer_file(layers, nlayers, "etc/passwd");
    _cleanup_free_ char *group = read_layer_file(layers, nlayers, "etc/group");
    if (!u)
        return hutch_err(err, ENOMEM, NULL, "--user", "out of memory");
    char *g = strchr(u, ':');
    if (g)
        *g++ = '\0';
    _cleanup_free_ char *name = NULL;
    uid_t uid = 0;
    gid_t gid = 0;
    if (all_digits(u)) {
        unsigned v;
        if (parse_id(u, &v) < 0)
            return hutch_err(err, EINVAL, "parse", "--user", "invalid uid '%s'", u);
        uid = v;
        /* a uid without a passwd entry is fine (gid 0, no groups), as in docker */
        if (creds_passwd_lookup(passwd, NULL, uid, &uid, &gid, &out->home, &name) < 0)
            return hutch_err(err, ENOMEM, NULL, "--user", "out of memory");
    } else {
        int r = creds_passwd_lookup(passwd, u, 0, &uid, &gid, &out->home, &name);
        if (r <= 0)
            return hutch_err(err, ENOENT, "lookup", "--user",
                             "no user '%s' in the rootfs's /etc/passwd", u);
    }
    if (g) {
        unsigned v;
        if (all_digits(g)) {
            if (parse_id(g, &v) < 0) {
                creds_free(out);
                return hutch_err(err, EINVAL, "parse", "--user", "invalid gid '%s'", g);
            }
            gid = v;
        } else if (creds_group_lookup(group, g, &gid) <= 0) {
            creds_free(out);
            return hutch_err(err, ENOENT, "lookup", "--user",
                             "no group '%s' in the rootfs's /etc/group", g);
        }
    }
    out->uid = uid;
    out->gid = gid;
    if (name && creds_group_members(group, name, &out->groups, &out->ngroups) < 0) {
        creds_free(out);
        return hutch_err(err, ENOMEM, NULL, "--user", "out of memory");
    }
    return 0;
}

void creds_free(struct creds *c)
{
    free(c->groups);
    free(c->home);
    c->groups = NULL;
    c->home = NULL;
}

int creds_apply(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
    /* keep the permitted set across setuid: caps_apply then sets exactly what we want */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return -errno;
    if (setgroups((size_t)ngroups, groups) < 0)
        return -errno;
    if (setresgid(gid, gid, gid) < 0)
        return -errno;
    if (setresuid(uid, uid, uid) < 0)
        return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}
