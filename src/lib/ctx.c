/* SPDX-License-Identifier: MIT */
#include "ctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp.h"
#include "util.h"

#ifndef HUTCH_POLICIES_DIR
#define HUTCH_POLICIES_DIR "/usr/local/share/hutch/policies"
#endif

/* The policies next to the running binary win over the installed ones, so a build tree uses its
 * own policies/ (build/hutch -> ../policies). */
static char *find_policies_dir(void)
{
    const char *env = getenv("HUTCH_POLICIES");
    if (env && *env)
        return strdup(env);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char *cand = NULL;
            if (asprintf(&cand, "%s/../policies", exe) >= 0) {
                struct stat st;
                if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
                    char *real = realpath(cand, NULL);
                    free(cand);
                    return real;
                }
                free(cand);
            }
        }
    }
    return strdup(HUTCH_POLICIES_DIR);
}

static char *pick(const char *opt, const char *envname, const char *def)
{
    if (opt && *opt)
        return strdup(opt);
    const char *e = getenv(envname);
    return strdup(e && *e ? e : def);
}

HUTCH_API int hutch_ctx_new(const struct hutch_ctx_opts *opts, struct hutch_ctx **out,
                            struct hutch_error **err)
{
    struct hutch_ctx_opts o = {0};
    if (opts)
        memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
    struct hutch_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return hutch_err(err, ENOMEM, NULL, "context", "out of memory");
    c->root = pick(o.root, "HUTCH_ROOT", "/var/lib/hutch");
    c->run_dir = pick(o.run_dir, "HUTCH_RUN", "/run/hutch");
    c->policies_dir = (o.policies_dir && *o.policies_dir) ? strdup(o.policies_dir)
                                                          : find_policies_dir();
    if (!c->root || !c->run_dir || !c->policies_dir) {
        hutch_ctx_free(c);
        return hutch_err(err, ENOMEM, NULL, "context", "out of memory");
    }
    if (c->root[0] != '/' || c->run_dir[0] != '/') {
        int r = hutch_err(err, EINVAL, "validate", c->root[0] != '/' ? "HUTCH_ROOT" : "HUTCH_RUN",
                          "must be an absolute path");
        hutch_ctx_free(c);
        return r;
    }
    *out = c;
    return 0;
}

HUTCH_API void hutch_ctx_free(struct hutch_ctx *c)
{
    if (!c)
        return;
    seccomp_cache_free(c->seccomp);
    free(c->root);
    free(c->run_dir);
    free(c->policies_dir);
    free(c);
}

HUTCH_API const char *hutch_ctx_root(const struct hutch_ctx *c)
{
    return c->root;
}

HUTCH_API const char *hutch_ctx_run_dir(const struct hutch_ctx *c)
{
    return c->run_dir;
}

int ctx_ensure_dir(const char *dir, struct hutch_error **err)
{
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return hutch_err(err, r, "mkdir", dir, "cannot create directory: %s", strerror(-r));
    return 0;
}
