/* SPDX-License-Identifier: MIT */
#include "resolve.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "creds.h"
#include "ctx.h"
#include "sandbox.h"
#include "seccomp.h"
#include "store.h"
#include "sys.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_IMAGE "hutch/default:latest"

int resolve_id(const char *want, char *id, struct hutch_error **err)
{
    if (!want)
        return random_hex(id, SANDBOX_ID_LEN / 2) < 0
                   ? hutch_err(err, EIO, "getrandom", "id", "no randomness")
                   : 0;
    size_t n = strlen(want);
    if (n < 4 || n > SANDBOX_ID_LEN)
        return hutch_err(err, EINVAL, "validate", "id", "'%s': 4 to %d characters expected",
                         want, SANDBOX_ID_LEN);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)want[i]) && want[i] != '-' && want[i] != '_')
            return hutch_err(err, EINVAL, "validate", "id",
                             "'%s': letters, digits, '-' and '_' expected", want);
    memcpy(id, want, n + 1);
    return 0;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* Set KEY=VAL in env (replacing KEY) unless keep_existing and KEY is set. */
static int env_set(char ***env, const char *kv, bool keep_existing)
{
    size_t klen = strcspn(kv, "=");
    int n = 0;
    for (; (*env)[n]; n++) {
        if (!strncmp((*env)[n], kv, klen) && (*env)[n][klen] == '=') {
            if (keep_existing)
                return 0;
            char *c = strdup(kv);
            if (!c)
                return -ENOMEM;
            free((*env)[n]);
            (*env)[n] = c;
            return 0;
        }
    }
    char **nv = realloc(*env, sizeof(char *) * (size_t)(n + 2));
    if (!nv)
        return -ENOMEM;
    *env = nv;
    if (!(nv[n] = strdup(kv)))
        return -ENOMEM;
    nv[n + 1] = NULL;
    return 0;
}

static int resolve_rootfs(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    struct sandbox_plan *p = &sb->plan;
    const char *image = s->image;
    if (!s->rootfs && !image)
        image = DEFAULT_IMAGE;
    if (image) {
        int r = store_resolve(sb->ctx, image, &sb->image, err);
        if (r < 0) {
            if (r == -ENOENT && !s->image)
                return hutch_err(err, ENOENT, "resolve", "--rootfs",
                                 "no --rootfs given and the default image %s is not imported "
                                 "(`make run` imports it)",
                                 DEFAULT_IMAGE);
            return r;
        }
        p->nlowers = sb->image->nlayers;
        p->lowers = calloc((size_t)p->nlowers + 1, sizeof(char *));
        if (!p->lowers)
            return -ENOMEM;
        /* overlay wants the top-most layer first; the store lists the base first */
        for (int i = 0; i < p->nlowers; i++)
            if (!(p->lowers[i] = strdup(sb->image->layers[p->nlowers - 1 - i])))
                return -ENOMEM;
        return 0;
    }
    char *real = realpath(s->rootfs, NULL);
    struct stat st;
    if (!real || stat(real, &st) < 0) {
        int e = errno;
        free(real);
        return hutch_err(err, e, "stat", "--rootfs", "%s: %s", s->rootfs, strerror(e));
    }
    if (!S_ISDIR(st.st_mode)) {
        free(real);
        return hutch_err(err, ENOTDIR, "stat", "--rootfs", "%s is not a directory", s->rootfs);
    }
    p->lowers = calloc(2, sizeof(char *));
    if (!p->lowers) {
        free(real);
        return -ENOMEM;
    }
    p->lowers[0] = real;
    p->nlowers = 1;
    return 0;
}

/* Docker's rules: --entrypoint (not yet) / image Entrypoint + (CLI command or image Cmd). */
static int resolve_command(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    struct image_rootfs *img = sb->image;
    char *const *cmd = s->argc > 0 ? s->argv : (img ? img->cmd : NULL);
    char *const *ep = img ? img->entrypoint : NULL;
    int n = 0, m = 0;
    while (ep && ep[n])
        n++;
    while (cmd && cmd[m])
        m++;
    if (n + m == 0)
        return hutch_err(err, EINVAL, "validate", "command",
                         "no command given (and the image has no Cmd or Entrypoint)");
    char **argv = calloc((size_t)(n + m + 1), sizeof(char *));
    if (!argv)
        return -ENOMEM;
    sb->plan.argv = argv;
    for (int i = 0; i < n; i++)
        if (!(argv[i] = strdup(ep[i])))
            return -ENOMEM;
    for (int i = 0; i < m; i++)
        if (!(argv[n + i] = strdup(cmd[i])))
            return -ENOMEM;
    return 0;
}

static int resolve_env(struct hutch_sandbox *sb, const char *home)
{
    struct sandbox_plan *p = &sb->plan;
    char **env = calloc(1, sizeof(char *));
    if (!env)
        return -ENOMEM;
    p->env = env;
    int r = 0;
    if (sb->image && sb->image->env)
        for (char **e = sb->image->env; !r && *e; e++)
            r = env_set(&p->env, *e, false);
    for (char **e = sb->spec->env; !r && e && *e; e++)
        r = env_set(&p->env, *e, false);
    char tmp[PATH_MAX + 16];
    /* a host process finds the host's tools where the caller does */
    const char *host_path = sb->spec->bare ? getenv("PATH") : NULL;
    if (host_path && *host_path && strlen(host_path) < PATH_MAX) {
        snprintf(tmp, sizeof(tmp), "PATH=%s", host_path);
        r = r ?: env_set(&p->env, tmp, true);
    }
    r = r ?: env_set(&p->env, "PATH=" DEFAULT_PATH, true);
    snprintf(tmp, sizeof(tmp), "HOSTNAME=%s", p->hostname);
    r = r ?: env_set(&p->env, tmp, true);
    snprintf(tmp, sizeof(tmp), "HOME=%s", home ? home : "/root");
    r = r ?: env_set(&p->env, tmp, true);
    if (sb->spec->tty)
        r = r ?: env_set(&p->env, "TERM=xterm", true);
    return r;
}

/* Look the command up in the rootfs now, so a missing one is 127 before anything exists.
 * Only for a single directory: an image's layers are checked by execve itself. */
static int precheck_command(struct hutch_sandbox *sb, struct hutch_error **err)
{
    struct sandbox_plan *p = &sb->plan;
    if (p->nlowers != 1 && !sb->spec->bare)
        return 0;
    const char *cmd = p->argv[0];
    const char *path = DEFAULT_PATH;
    for (char **e = p->env; *e; e++)
        if (!strncmp(*e, "PATH=", 5))
            path = *e + 5;
    _cleanup_close_ int root =
        open(sb->spec->bare ? "/" : p->lowers[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return 0;
    bool found_nonexec = false;
    char buf[PATH_MAX];
    const char *dir = strchr(cmd, '/') ? "" : path;
    for (const char *d = dir;; d++) {
        const char *end = strchrnul(d, ':');
        if (*cmd == '/' || strchr(cmd, '/'))
            snprintf(buf, sizeof(buf), "%s%s%s", (*cmd == '/' || !p->workdir) ? "" : p->workdir,
                     (*cmd == '/' || !p->workdir) ? "" : "/", cmd);
        else
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - d), d, cmd);
        int fd = sys_openat2(root, buf, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0) {
            struct stat st;
            bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
            close(fd);
            if (ok)
                return 0;
            found_nonexec = true;
        }
        if (!*end || !*dir)
            break;
        d = end;
    }
    int r = hutch_err(err, found_nonexec ? EACCES : ENOENT, "exec", cmd, "%s",
                      found_nonexec ? "not an executable file" : "command not found");
    hutch_err_set_exit(err, found_nonexec ? HUTCH_EXIT_NOT_EXECUTABLE : HUTCH_EXIT_NOT_FOUND);
    return r;
}

static int check_volumes(const struct hutch_spec *s, struct hutch_error **err)
{
    for (int i = 0; i < s->nvolumes; i++) {
        struct stat st;
        if (!s->volumes[i].src)
            continue;
        if (stat(s->volumes[i].src, &st) < 0)
            return hutch_err(err, errno, "stat", "--volume", "source %s: %s",
                             s->volumes[i].src, strerror(errno));
    }
    return 0;
}

static int resolve_userns(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    struct sandbox_plan *p = &sb->plan;
    if (s->userns == SPEC_USERNS_HOST)
        return 0;
    p->userns = true;
    if (s->userns == SPEC_USERNS_MAP && userns_parse_map(s->userns_map, &p->umap) < 0)
        return hutch_err(err, EINVAL, "parse", "--userns", "invalid map '%s'", s->userns_map);
    return 0;
}

/* In a chroot whose root is not its mount namespace's root, the mounts above the sandbox's new
 * root stay reachable through ".." from a nested chroot: refuse rather than leak the host. */
static int check_not_chrooted(struct hutch_error **err)
{
    struct stat a, b, na, nb;
    /* only pid 1 of our own mount namespace tells: its root is the namespace's (or should be) */
    if (stat("/proc/self/ns/mnt", &na) < 0 || stat("/proc/1/ns/mnt", &nb) < 0 ||
        na.st_ino != nb.st_ino || stat("/", &a) < 0 || stat("/proc/1/root/", &b) < 0)
        return 0;
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return 0;
    return hutch_err(err, EPERM, "validate", "/",
                     "hutch runs in a chroot: a sandbox could reach what lies above it; run hutch "
                     "in its own mount namespace with pivot_root instead of chroot");
}

/* The image's StopSignal ("SIGINT", "INT", "2"); SIGTERM when absent. */
static int resolve_stop_signal(const char *s, int *out, struct hutch_error **err)
{
    *out = SIGTERM;
    if (!s || !*s)
        return 0;
    int sig = hutch_signal_from_name(s);
    if (sig < 0)
        return hutch_err(err, EINVAL, "validate", "StopSignal", "unknown signal '%s' in the image",
                         s);
    *out = sig;
    return 0;
}

/* The user (names from the layers' /etc/passwd and group), then the environment with its home. */
static int resolve_user_env(struct hutch_sandbox *sb, char *const *layers, int n,
                            const char *user, struct hutch_error **err)
{
    struct sandbox_plan *p = &sb->plan;
    struct creds c;
    int r = creds_resolve(layers, n, user, &c, err);
    if (r < 0)
        return r;
    p->uid = c.uid;
    p->gid = c.gid;
    p->groups = TAKE_PTR(c.groups);
    p->ngroups = c.ngroups;
    r = resolve_env(sb, c.home);
    creds_free(&c);
    return r < 0 ? hutch_err(err, r, NULL, "--env", "no memory") : 0;
}

/* --bare: the host's root, the caller's working directory, its own credentials unless --user
 * names others (looked up in the host's /etc/passwd). */
static int resolve_bare(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    struct sandbox_plan *p = &sb->plan;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    p->hostname = strdup(host);
    p->workdir = s->workdir ? strdup(s->workdir) : getcwd(NULL, 0);
    if (!p->hostname || !p->workdir)
        return hutch_err(err, errno ? errno : ENOMEM, "getcwd", "--bare", "%s",
                         strerror(errno ? errno : ENOMEM));
    char slash[] = "/", *root[2] = {slash, NULL}, self[32];
    snprintf(self, sizeof(self), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
    p->keep_creds = !s->user;
    int r = resolve_user_env(sb, root, 1, s->user ? s->user : self, err);
    if (r < 0)
        return r;
    p->stop_signal = SIGTERM;
    return precheck_command(sb, err);
}

int resolve_spec(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    struct sandbox_plan *p = &sb->plan;
    int r = spec_validate(s, err);
    if (!r && s->bare) {
        r = resolve_command(sb, err);
        r = r ?: resolve_bare(sb, err);
        return r == -ENOMEM && err && !*err ? hutch_err(err, ENOMEM, NULL, "spec", "no memory") : r;
    }
    r = r ?: check_not_chrooted(err);
    r = r ?: resolve_rootfs(sb, err);
    r = r ?: resolve_command(sb, err);
    r = r ?: check_volumes(s, err);
    if (r < 0)
        return r == -ENOMEM && err && !*err ? hutch_err(err, ENOMEM, NULL, "spec", "no memory") : r;
    p->hostname = strdup(s->hostname ? s->hostname : sb->id);
    const char *wd = s->workdir ? s->workdir : (sb->image ? sb->image->workdir : NULL);
    p->workdir = wd && *wd ? strdup(wd) : NULL;
    if (!p->hostname || (wd && *wd && !p->workdir))
        return hutch_err(err, ENOMEM, NULL, "spec", "no memory");
    const char *user = s->user ? s->user : (sb->image ? sb->image->user : NULL);
    r = resolve_user_env(sb, p->lowers, p->nlowers, user, err);
    r = r ?: caps_plan(s, p->uid, &p->caps, &p->caps_ambient, err);
    r = r ?: precheck_command(sb, err);
    r = r ?: resolve_userns(sb, err);
    r = r ?: resolve_stop_signal(sb->image ? sb->image->stop_signal : NULL, &p->stop_signal, err);
    if (r < 0)
        return r;
    p->pidns = !s->host_pid;
    p->no_new_privs = s->no_new_privs;
    p->read_only = s->read_only;
    p->upper_size = s->upper_size;
    const char *legacy = getenv("HUTCH_MOUNT_LEGACY");
    /* (a user namespace's root is built with the new API only: no legacy back end there) */
    p->legacy_mount = legacy && *legacy && strcmp(legacy, "0") != 0 && !p->userns;
    return 0;
}

int resolve_seccomp(struct hutch_sandbox *sb, struct hutch_error **err)
{
    const struct hutch_spec *s = sb->spec;
    if (sb->spec->bare)
        return 0; /* no filter: only the cgroup limits confine a bare process */
    const char *profile = s->privileged && !s->seccomp ? "unconfined" : s->seccomp;
    return seccomp_prepare(sb->ctx, profile, sb->plan.caps, &sb->plan.seccomp, err);
}

void resolve_plan_free(struct sandbox_plan *p)
{
    strv_free(p->lowers);
    strv_free(p->argv);
    strv_free(p->env);
    free(p->stage_dir);
    free(p->upper_dir);
    free(p->hostname);
    free(p->workdir);
    free(p->groups);
    free(p->etc_hosts);
    free(p->etc_resolv);
    for (int i = 0; i < p->nheld_fds; i++)
        close(p->held_fds[i]);
    free(p->held_fds);
    for (int i = 0; i < p->nvol_srcs; i++)
        free(p->vol_srcs[i]);
    free(p->vol_srcs);
    free(p->userns_lease);
    memset(p, 0, sizeof(*p));
}
