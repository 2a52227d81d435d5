/* SPDX-License-Identifier: MIT */
/*
 * The story of a job, one line per step:
 *
 * new:    workspace → job file → profile → devcontainer → spec (profile < devcontainer < file
 *         < overrides) → user and home in the rootfs → checks of inputs and caches
 *         (nothing is created: bad input costs nothing)
 * start:  staging dir (lock, /hutch, inputs, workspace overlay) → caches → sandbox start
 * finish: wait → output.json → artifacts → mounts released → cache commit (exit 0 only)
 *         → staging removed → sandbox destroyed
 *
 * Everything a crash can leave behind (staging, cache uppers and records, half-built
 * generations) is found and removed by job_gc(), from `hutch gc`.
 */
#include "job_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts.h"
#include "cache.h"
#include "creds.h"
#include "ctx.h"
#include "devcontainer.h"
#include "events.h"
#include "jobfile.h"
#include "resolve.h"
#include "sandbox.h"
#include "spec.h"
#include "store.h"
#include "sys.h"

#define DEFAULT_IMAGE "hutch/default:latest"
#define OUTPUT_MAX    (1u << 20)

#define JOB_PHASE(j, name, expr)                                                                   \
    ({                                                                                             \
        uint64_t t0_ = now_mono_ns();                                                              \
        int r_ = (expr);                                                                           \
        if (r_ >= 0) {                                                                             \
            job_emit_phase(j, name, now_mono_ns() - t0_);                                          \
            test_pause_at(name);                                                                   \
        }                                                                                          \
        r_;                                                                                        \
    })

/* ---------------------------------------------------------------- events */

static int job_ev_begin(struct hutch_job *j, enum hutch_event_type t)
{
    j->ev.len = 0;
    return j->on_event ? event_begin(&j->ev, t, j->id, now_real_ns()) : -ENOENT;
}

static void job_emit(struct hutch_job *j, enum hutch_event_type t)
{
    if (!j->on_event || event_end(&j->ev) < 0)
        return;
    struct hutch_event ev = {.type = t, .json = j->ev.data, .len = j->ev.len};
    j->on_event(&ev, j->userdata);
}

static void job_emit_phase(struct hutch_job *j, const char *name, uint64_t ns)
{
    if (job_ev_begin(j, HUTCH_EVENT_PHASE) == 0 && event_str(&j->ev, "name", name) == 0 &&
        event_u64(&j->ev, "ns", ns) == 0)
        job_emit(j, HUTCH_EVENT_PHASE);
}

static void job_warn(struct hutch_job *j, const char *what, const char *subject,
                     const char *message)
{
    if (job_ev_begin(j, HUTCH_EVENT_WARNING) == 0 && event_str(&j->ev, "what", what) == 0 &&
        (!subject || event_str(&j->ev, "path", subject) == 0) &&
        event_str(&j->ev, "message", message) == 0)
        job_emit(j, HUTCH_EVENT_WARNING);
}

/* ---------------------------------------------------------------- new: reading */

static int read_small_file(const char *path, size_t max, char **data, size_t *len,
                           struct hutch_error **err)
{
    int r = read_file_at(AT_FDCWD, path, data, len, max);
    if (r == -EFBIG || r == -E2BIG)
        return hutch_err(err, EFBIG, "read", path, "larger than %zu bytes", max);
    return r < 0 ? hutch_err(err, r, "read", path, "%s", strerror(-r)) : 0;
}

static int load_job_file(struct hutch_job *j, const char *file, struct hutch_error **err)
{
    _cleanup_free_ char *def = NULL, *text = NULL;
    if (!file && asprintf(&def, "%s/.hutch.yaml", j->workspace) < 0)
        return -ENOMEM;
    const char *path = file ? file : def;
    size_t len = 0;
    int r = read_small_file(path, JOBFILE_MAX_SIZE, &text, &len, err);
    return r ?: jobfile_parse(path, text, len, 0, &j->jf, err);
}

static int load_profile(struct hutch_job *j, const char *name, struct hutch_error **err)
{
    if (!name)
        return 0;
    if (!jobfile_name_ok(name))
        return hutch_err(err, EINVAL, "validate", "profile", "'%s' is not a profile name", name);
    _cleanup_free_ char *path = NULL, *text = NULL;
    if (asprintf(&path, "%s/profiles/%s.yaml", j->ctx->policies_dir, name) < 0)
        return -ENOMEM;
    size_t len = 0;
    if (access(path, R_OK) < 0) {
        struct job_mark at = j->jf->profile ? j->jf->profile_at : (struct job_mark){0, 0};
        return jobfile_err(err, ENOENT, j->jf->file, at, "no profile '%s' (%s: %s)", name, path,
                           strerror(errno));
    }
    int r = read_small_file(path, JOBFILE_MAX_SIZE, &text, &len, err);
    return r ?: jobfile_parse(path, text, len, JOBFILE_PROFILE, &j->profile, err);
}

/* .devcontainer/devcontainer.json or .devcontainer.json, unless the file said devcontainer:
 * false; required with devcontainer: true. Returns 1 when one was loaded. */
static int load_devcontainer(struct hutch_job *j, struct hutch_error **err)
{
    if (j->jf->devcontainer == 0)
        return 0;
    static const char *const names[] = {".devcontainer/devcontainer.json", ".devcontainer.json"};
    _cleanup_free_ char *path = NULL, *text = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(names) && !path; i++) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", j->workspace, names[i]) < 0)
            return -ENOMEM;
        if (access(p, F_OK) == 0)
            path = p;
        else
            free(p);
    }
    if (!path)
        return j->jf->devcontainer == 1
                   ? jobfile_err(err, ENOENT, j->jf->file, j->jf->container_at,
                                 "container.devcontainer: no .devcontainer/devcontainer.json in %s",
                                 j->workspace)
                   : 0;
    size_t len = 0;
    int r = read_small_file(path, 1u << 20, &text, &len, err);
    /* no getenv: ${localEnv:X} takes its default, a repository's file must not read the
     * caller's environment (tokens, keys) into the sandbox */
    struct devcontainer_vars vars = {j->workspace, NULL};
    r = r ?: devcontainer_parse(path, text, len, &vars, &j->dc, err);
    return r < 0 ? r : 1;
}

/* ---------------------------------------------------------------- new: the spec */

/* What a bare host process (container: none) can be given: the limits, and from the job file
 * also its environment, directory and user. A profile describes a container: of it only the
 * limits apply; the job file's other settings are errors. */
static bool bare_limit_option(const char *o)
{
    static const char *const ok[] = {
        "memory",         "memory-reservation", "cpus",           "cpu-shares",
        "cpu-weight",     "cpuset-cpus",        "pids-limit",     "device-read-bps",
        "device-write-bps", "device-read-iops", "device-write-iops", "timeout",
        "kill-grace",     "max-output",         "cgroup-parent",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (!strcmp(o, ok[i]))
            return true;
    return false;
}

enum bare_filter { BARE_NO = 0, BARE_PROFILE, BARE_FILE };

static int bare_setting_check(const struct jobfile *jf, const struct job_setting *s,
                              enum bare_filter bare, struct hutch_error **err)
{
    if (bare == BARE_NO || bare_limit_option(s->option))
        return 0;
    if (bare == BARE_PROFILE)
        return 1; /* skipped */
    if (!strcmp(s->option, "env") || !strcmp(s->option, "workdir") ||
        !strcmp(s->option, "user") || (!strcmp(s->option, "network") && !strcmp(s->value, "host")))
        return 0;
    return jobfile_err(err, EINVAL, jf->file, s->at,
                       "%s: not available with container: none (a bare host process gets only "
                       "resources, timeout, max_output, env, workdir and user; its network is "
                       "the host's)",
                       s->option);
}

static int apply_settings(struct hutch_spec *spec, const struct jobfile *jf,
                          enum bare_filter bare, struct hutch_error **err)
{
    for (int i = 0; jf && i < jf->nsettings; i++) {
        const struct job_setting *s = &jf->settings[i];
        int skip = bare_setting_check(jf, s, bare, err);
        if (skip < 0)
            return skip;
        if (skip || (bare && !strcmp(s->option, "network")))
            continue;
        int r = spec_set(spec, s->option, s->value, err);
        if (r < 0)
            return jobfile_err(err, r, jf->file, s->at, "%s", s->option);
    }
    return 0;
}

static bool overrides_pick_rootfs(char *const *ov)
{
    for (; ov && *ov; ov++)
        if (!strncmp(*ov, "rootfs=", 7) || !strncmp(*ov, "image=", 6))
            return true;
    return false;
}

static bool overrides_ask_bare(char *const *ov)
{
    bool bare = false;
    for (; ov && *ov; ov++)
        if (!strncmp(*ov, "bare=", 5))
            parse_bool((*ov) + 5, &bare);
    return bare;
}

static int apply_overrides(struct hutch_spec *spec, char *const *ov, struct hutch_error **err)
{
    for (; ov && *ov; ov++) {
        _cleanup_free_ char *opt = strdup(*ov);
        if (!opt)
            return -ENOMEM;
        char *eq = strchr(opt, '=');
        if (eq)
            *eq = '\0';
        int r = spec_set(spec, opt, eq ? eq + 1 : "", err);
        if (r < 0)
            return hutch_err(err, r, "override", opt, "invalid override '%s'", *ov);
    }
    return 0;
}

/* container: auto = devcontainer.json, then container.image, then container.rootfs (relative
 * to the workspace), then the default image; a --rootfs/--image override beats them all. */
static int choose_rootfs(struct hutch_job *j, bool have_dc, char *const *ov,
                         struct hutch_error **err)
{
    if (overrides_pick_rootfs(ov))
        return 0;
    if (have_dc)
        return spec_set(j->spec, "image", j->dc.image, err);
    if (j->jf->image)
        return spec_set(j->spec, "image", j->jf->image, err);
    if (!j->jf->rootfs)
        return 0;
    /* a job file's rootfs is a directory of the workspace, reached without leaving it: the file
     * must not be able to run on the host's / and read its files (a flag may) */
    _cleanup_close_ int ws = open(j->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int fd = ws < 0 ? -1
                                    : sys_openat2(ws, j->jf->rootfs,
                                                  O_PATH | O_DIRECTORY | O_CLOEXEC,
                                                  RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = fd < 0 ? -1 : readlink(link, real, sizeof(real) - 1);
    if (n < 0)
        return jobfile_err(err, errno, j->jf->file, j->jf->container_at,
                           "container.rootfs '%s': %s%s", j->jf->rootfs, strerror(errno),
                           errno == EXDEV ? " (it leads out of the workspace)" : "");
    real[n] = '\0';
    return spec_set(j->spec, "rootfs", real, err);
}

static int build_spec(struct hutch_job *j, bool have_dc, char *const *ov, struct hutch_error **err)
{
    int r = hutch_spec_new(&j->spec);
    if (r < 0)
        return r;
    bool bare = j->jf->container_none;
    /* CI=true first, so that the profile, the file or a flag may still say otherwise */
    r = spec_set(j->spec, "env", "CI=true", err);
    r = r ?: (bare ? spec_set(j->spec, "bare", "true", err) : 0);
    if (!j->profile_enforced)
        r = r ?: apply_settings(j->spec, j->profile, bare ? BARE_PROFILE : BARE_NO, err);
    for (char **e = j->dc.env; !r && e && *e; e++)
        r = spec_set(j->spec, "env", *e, err);
    if (!r && have_dc && j->dc.user)
        r = spec_set(j->spec, "user", j->dc.user, err);
    r = r ?: apply_settings(j->spec, j->jf, bare ? BARE_FILE : BARE_NO, err);
    /* the caller's profile comes after the file, so a file it does not trust can not loosen it
     * (a bare job under an enforced profile was refused before) */
    if (j->profile_enforced)
        r = r ?: apply_settings(j->spec, j->profile, BARE_NO, err);
    r = r ?: (bare ? 0 : choose_rootfs(j, have_dc, ov, err));
    r = r ?: apply_overrides(j->spec, ov, err);
    r = r ?: hutch_spec_set_argv(j->spec, j->jf->argc, (const char *const *)j->jf->argv, err);
    if (r < 0)
        return r;
    if (!(j->ws_dst = strdup(bare                                 ? j->workspace
                             : have_dc && j->dc.workspace_folder ? j->dc.workspace_folder
                                                                 : DEFAULT_WORKSPACE)))
        return -ENOMEM;
    if (strchr(j->workspace, ':') || strchr(j->ws_dst, ':'))
        return hutch_err(err, EINVAL, "validate", j->workspace,
                         "the workspace path must not contain ':'");
    /* the workspace is where the job starts unless something said otherwise */
    if (!j->spec->workdir)
        r = spec_set(j->spec, "workdir", j->ws_dst, err);
    /* artifacts and a custom output file are read in the sandbox's view after the end; keeping
     * its mount namespace moves the namespace's teardown (milliseconds) onto our path, so only
     * when needed (the default output.json is read from our staging dir) */
    j->spec->keep_mntns = !bare && (j->jf->nartifacts > 0 || j->jf->output_path);
    return r;
}

/* The sandbox's user and home, from the rootfs's /etc/passwd (as the core will resolve them):
 * caches are made for this user at the paths its tools use. */
static int resolve_user(struct hutch_job *j, struct hutch_error **err)
{
    struct image_rootfs *img = NULL;
    char *layers_dir[2] = {NULL, NULL};
    char **layers = layers_dir;
    int n = 1, r;
    const char *user = j->spec->user;
    char self[32];
    if (j->spec->bare) { /* the host's users; the caller's own by default */
        snprintf(self, sizeof(self), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
        if (!(layers_dir[0] = strdup("/")))
            return -ENOMEM;
        user = user ? user : self;
    } else if (j->spec->rootfs) {
        if (!(layers_dir[0] = realpath(j->spec->rootfs, NULL)))
            return hutch_err(err, errno, "stat", "--rootfs", "%s: %s", j->spec->rootfs,
                             strerror(errno));
    } else {
        const char *ref = j->spec->image ? j->spec->image : DEFAULT_IMAGE;
        r = store_resolve(j->ctx, ref, &img, err);
        if (r == -ENOENT)
            return hutch_err(err, ENOENT, "resolve", ref,
                             "image not imported: import a prebuilt image with `hutch image "
                             "import ARCHIVE --name %s`%s",
                             ref, j->spec->image ? "" : " (or run `make run`)");
        if (r < 0)
            return r;
        n = img->nlayers;
        if (!(layers = calloc((size_t)n + 1, sizeof(char *)))) {
            image_rootfs_free(img);
            return -ENOMEM;
        }
        for (int i = 0; i < n; i++) /* creds want the top-most layer first */
            layers[i] = img->layers[n - 1 - i];
        if (!user)
            user = img->user && *img->user ? img->user : NULL;
    }
    struct creds c = {0};
    r = creds_resolve(layers, n, user, &c, err);
    if (r == 0) {
        j->uid = c.uid;
        j->gid = c.gid;
        j->home = c.home ? TAKE_PTR(c.home) : strdup("/root");
        r = j->home ? 0 : -ENOMEM;
    }
    creds_free(&c);
    free(layers_dir[0]);
    if (img) {
        free(layers);
        image_rootfs_free(img);
    }
    return r;
}

/* ---------------------------------------------------------------- new */

/* container: none runs the command on the host: nothing of a container may be asked for, and
 * a caller who enforces a profile does not get its job out of the sandbox by the file's say. */
static int check_bare(struct hutch_job *j, const char *enforced, struct hutch_error **err)
{
    const struct jobfile *jf = j->jf;
    if (!jf->container_none)
        return 0;
    if (enforced)
        return jobfile_err(err, EPERM, jf->file, jf->container_at,
                           "container: none (a bare host process, outside any sandbox) is "
                           "refused under the enforced profile '%s'",
                           enforced);
    if (jf->ws_mode == JOB_WS_OVERLAY)
        return jobfile_err(err, EINVAL, jf->file, jf->ws_at,
                           "workspace.mode: overlay needs a container (container: none runs in "
                           "the checkout itself)");
    for (int i = 0; i < jf->ncaches; i++)
        if (jf->caches[i].mode == JOB_CACHE_OVERLAY)
            return jobfile_err(err, EINVAL, jf->file, jf->caches[i].at,
                               "caches[%d].mode: overlay needs a container (a mount namespace); "
                               "container: none takes mode: bind",
                               i);
    return 0;
}

static int job_new_story(struct hutch_job *j, const char *file, const char *profile,
                         char *const *ov, struct hutch_error **err)
{
    int r = load_job_file(j, file, err);
    if (!r && overrides_ask_bare(ov))
        j->jf->container_none = true; /* --bare: container: none, whatever the file says */
    r = r ?: check_bare(j, profile, err);
    j->profile_enforced = profile != NULL;
    r = r ?: load_profile(j, profile ? profile : j->jf->profile, err);
    int have_dc = r < 0 ? r : j->jf->container_none ? 0 : load_devcontainer(j, err);
    if (have_dc < 0)
        return have_dc;
    r = r ?: build_spec(j, have_dc > 0, ov, err);
    r = r ?: spec_validate(j->spec, err);
    r = r ?: resolve_user(j, err);
    /* the cache store is hutch's, private: a bare process reaches it only as hutch's user */
    if (!r && j->spec->bare && (j->jf->caches_auto || j->jf->ncaches) && j->uid != geteuid())
        r = jobfile_err(err, EPERM, j->jf->file, j->jf->container_at,
                        "caches with container: none need the job to run as hutch's own user "
                        "(uid %u), not uid %u",
                        (unsigned)geteuid(), (unsigned)j->uid);
    for (int i = 0; !r && i < j->jf->ninputs; i++) {
        const struct job_input *in = &j->jf->inputs[i];
        if (strchr(in->dst, ':'))
            r = jobfile_err(err, EINVAL, j->jf->file, in->at, "inputs: dst must not contain ':'");
    }
    return r;
}

static int dup_opt(char **dst, const char *s)
{
    return !s || (*dst = strdup(s)) ? 0 : -ENOMEM;
}

HUTCH_API int hutch_job_new(struct hutch_ctx *ctx, const char *file,
                            const struct hutch_job_opts *opts, struct hutch_job **out,
                            struct hutch_error **err)
{
    struct hutch_job_opts o = {.stdout_fd = -1, .stderr_fd = -1};
    if (opts)
        memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
    struct hutch_job *j = calloc(1, sizeof(*j));
    if (!j)
        return hutch_err(err, ENOMEM, NULL, "job", "out of memory");
    j->ctx = ctx;
    j->on_event = o.on_event;
    j->userdata = o.userdata;
    j->stdout_fd = o.stdout_fd;
    j->stderr_fd = o.stderr_fd;
    j->output_events = o.output_events;
    j->dir_fd = j->lock_fd = -1;
    int r = dup_opt(&j->want_id, o.id) ?: dup_opt(&j->job_id, o.job_id)
                                       ?: dup_opt(&j->artifacts_dir, o.artifacts_dir);
    const char *ws = o.workspace ? o.workspace : ".";
    if (!r && !(j->workspace = realpath(ws, NULL)))
        r = hutch_err(err, errno, "open", ws, "workspace: %s", strerror(errno));
    struct stat st;
    if (!r && (stat(j->workspace, &st) < 0 || !S_ISDIR(st.st_mode)))
        r = hutch_err(err, ENOTDIR, "open", ws, "the workspace is not a directory");
    r = r ?: job_new_story(j, file, o.profile, o.overrides, err);
    if (r < 0) {
        if (r == -ENOMEM && err && !*err)
            hutch_err(err, ENOMEM, NULL, "job", "out of memory");
        hutch_job_free(j);
        return r;
    }
    *out = j;
    return 0;
}

HUTCH_API int hutch_job_start(struct hutch_job *j, struct hutch_error **err)
{
    if (j->started)
        return hutch_err(err, EALREADY, "start", "job", "already started");
    j->started = true;
    int r = resolve_id(j->want_id, j->id, err);
    r = r ?: JOB_PHASE(j, "job.stage", job_stage(j, err));
    r = r ?: JOB_PHASE(j, "job.caches", job_acquire_caches(j, err));
    r = r ?: job_env(j, err);
    struct hutch_start_opts so = {
        .sz = sizeof(so),
        .on_event = j->on_event,
        .userdata = j->userdata,
        .stdin_fd = -1,
        .stdout_fd = j->stdout_fd,
        .stderr_fd = j->stderr_fd,
        .output_events = j->output_events,
        .id = j->id,
    };
    r = r ?: hutch_sandbox_start(j->ctx, j->spec, &so, &j->sb, err);
    if (r < 0) {
        if (r == -ENOMEM && err && !*err)
            hutch_err(err, ENOMEM, NULL, "job", "out of memory");
        job_cleanup(j);
        return r;
    }
    return 0;
}

HUTCH_API struct hutch_sandbox *hutch_job_sandbox(const struct hutch_job *j)
{
    return j ? j->sb : NULL;
}

/* ---------------------------------------------------------------- finish */

static void warn_error(struct hutch_job *j, const char *what, const char *path,
                       struct hutch_error *e, int r)
{
    _cleanup_free_ char *msg = e ? hutch_error_format(e) : NULL;
    job_warn(j, what, path, msg ? msg : strerror(-r));
    hutch_error_free(e);
}

/* A bare job's files are read beneath its workspace, which stands for "/" there: its absolute
 * path inside it, or NULL when outside (a job on the host is not a door to the host's files). */
static char *bare_path(const struct hutch_job *j, const char *path)
{
    size_t wl = strlen(j->workspace);
    char *s = NULL;
    if (path[0] != '/') {
        const char *wd = j->spec->workdir ? j->spec->workdir : j->workspace;
        _cleanup_free_ char *full = NULL;
        if (asprintf(&full, "%s/%s", wd, path) < 0)
            return NULL;
        return bare_path(j, full);
    }
    if (strncmp(path, j->workspace, wl) || (path[wl] != '/' && path[wl] != '\0'))
        return NULL;
    return asprintf(&s, "/%s", path + wl + (path[wl] == '/')) < 0 ? NULL : s;
}

/* output.json, read in the sandbox's view, reported as an output event of its own. */
static void job_output(struct hutch_job *j)
{
    const char *path = j->jf->output_path ? j->jf->output_path : JOB_OUTPUT_DEFAULT;
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    struct hutch_error *e = NULL;
    /* the default output lies in our staging dir, bound at /hutch/output */
    _cleanup_free_ char *in_ws = j->spec->bare && j->jf->output_path ? bare_path(j, path) : NULL;
    int r = !j->jf->output_path
                ? artifacts_read_file_at(j->dir_fd, "hutch/output/output.json", OUTPUT_MAX, &data,
                                         &len)
            : !j->spec->bare
                ? artifacts_read_file(j->sb->mntns_fd, NULL, path, OUTPUT_MAX, &data, &len, &e)
            : in_ws ? artifacts_read_file(-1, j->workspace, in_ws, OUTPUT_MAX, &data, &len, &e)
                    : hutch_err(&e, EPERM, "read", path,
                                "outside the workspace: container: none reads only there");
    if (r == -ENOENT && !j->jf->output_path) {
        hutch_error_free(e);
        return; /* the default output is optional */
    }
    if (r < 0) {
        if (!e)
            hutch_err(&e, r, "read", path, "%s",
                      r == -EFBIG    ? "larger than 1 MiB"
                      : r == -EINVAL ? "not a regular file"
                                     : strerror(-r));
        warn_error(j, "output", path, e, r);
        return;
    }
    json_error_t je;
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY, &je);
    _cleanup_free_ char *compact = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!compact) {
        char msg[300];
        snprintf(msg, sizeof(msg), "not valid JSON (line %d: %s)", je.line, je.text);
        job_warn(j, "output", path, msg);
        return;
    }
    if (job_ev_begin(j, HUTCH_EVENT_OUTPUT) == 0 && event_str(&j->ev, "stream", "result") == 0 &&
        event_str(&j->ev, "path", path) == 0 && event_raw(&j->ev, "result", compact) == 0)
        job_emit(j, HUTCH_EVENT_OUTPUT);
}

static void emit_artifact(struct hutch_job *j, const struct job_artifact *a,
                          const struct artifact_result *res)
{
    static const char *const kinds[] = {"", "file", "directory", "symlink"};
    _cleanup_free_ char *dest = NULL;
    if (asprintf(&dest, "%s/%s", j->artifacts_dir, a->name) < 0 ||
        job_ev_begin(j, HUTCH_EVENT_ARTIFACT) < 0)
        return;
    struct buf *b = &j->ev;
    int r = event_str(b, "path", a->path);
    r = r ?: event_str(b, "name", a->name);
    r = r ?: event_str(b, "file", dest);
    r = r ?: event_str(b, "kind", kinds[res->kind]);
    r = r ?: event_u64(b, "size", res->size);
    r = r ?: event_str(b, "sha256", res->sha256);
    if (res->kind == ARTIFACT_DIR) {
        r = r ?: event_u64(b, "files", res->files);
        r = r ?: event_u64(b, "skipped", res->skipped);
    }
    if (res->kind == ARTIFACT_SYMLINK)
        r = r ?: event_str(b, "target", res->target);
    if (!r)
        job_emit(j, HUTCH_EVENT_ARTIFACT);
}

/* A bare job's artifacts, from beneath its workspace (see bare_path); the others are refused. */
static int bare_artifacts(struct hutch_job *j, struct artifact_result *res,
                          struct hutch_error **e)
{
    int n = j->jf->nartifacts, m = 0;
    struct job_artifact *list = calloc((size_t)n, sizeof(*list));
    int *idx = calloc((size_t)n, sizeof(*idx));
    struct artifact_result *sub = calloc((size_t)n, sizeof(*sub));
    int r = list && idx && sub ? 0 : -ENOMEM;
    for (int i = 0; !r && i < n; i++) {
        char *p = bare_path(j, j->jf->artifacts[i].path);
        if (!p) {
            res[i].status = -EPERM;
            snprintf(res[i].message, sizeof(res[i].message),
                     "outside the workspace: container: none copies artifacts from there only");
            continue;
        }
        list[m] = j->jf->artifacts[i];
        list[m].path = p;
        idx[m++] = i;
    }
    if (!r && m)
        r = artifacts_copy_out(-1, j->workspace, "/", list, m, j->artifacts_dir, sub, e);
    for (int k = 0; k < m; k++) {
        if (!r)
            res[idx[k]] = sub[k];
        free(list[k].path);
    }
    free(list);
    free(idx);
    free(sub);
    return r;
}

static void job_artifacts(struct hutch_job *j)
{
    int n = j->jf->nartifacts;
    if (n == 0)
        return;
    if (!j->artifacts_dir) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "%d artifact(s) not copied: no artifacts directory "
                 "(--artifacts-dir)",
                 n);
        job_warn(j, "artifacts", NULL, msg);
        return;
    }
    struct artifact_result *res = calloc((size_t)n, sizeof(*res));
    struct hutch_error *e = NULL;
    int r = !res ? -ENOMEM
            : j->spec->bare
                ? bare_artifacts(j, res, &e)
                : artifacts_copy_out(j->sb->mntns_fd, NULL, j->spec->workdir, j->jf->artifacts,
                                     n, j->artifacts_dir, res, &e);
    if (r < 0) {
        warn_error(j, "artifacts", j->artifacts_dir, e, r);
        free(res);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (res[i].status == 0)
            emit_artifact(j, &j->jf->artifacts[i], &res[i]);
        else
            job_warn(j, "artifact", j->jf->artifacts[i].path,
                     res[i].status == -ENOENT ? "missing: not copied" : res[i].message);
    }
    free(res);
}

static void job_commit(struct hutch_job *j)
{
    for (int i = 0; i < j->ncaches; i++) {
        if (cache_mode(j->caches[i]) != JOB_CACHE_OVERLAY)
            continue;
        unsigned gen = 0;
        uint64_t bytes = 0;
        bool changed = false;
        struct hutch_error *e = NULL;
        int r = cache_commit(j->caches[i], &gen, &bytes, &changed, &e);
        if (r < 0) {
            warn_error(j, "cache", cache_name(j->caches[i]), e, r);
            continue;
        }
        if (job_ev_begin(j, HUTCH_EVENT_CACHE_COMMIT) < 0)
            continue;
        r = event_str(&j->ev, "name", cache_name(j->caches[i]));
        r = r ?: event_u64(&j->ev, "generation", gen);
        r = r ?: event_bool(&j->ev, "changed", changed);
        r = r ?: (changed ? event_u64(&j->ev, "bytes", bytes) : 0);
        if (!r)
            job_emit(j, HUTCH_EVENT_CACHE_COMMIT);
    }
}

static int noop(void)
{
    return 0;
}

HUTCH_API int hutch_job_finish(struct hutch_job *j, struct hutch_error **err)
{
    if (j->finished)
        return j->status;
    if (!j->sb)
        return hutch_err(err, EINVAL, "finish", "job", "the job was not started");
    int st = hutch_sandbox_wait(j->sb, err);
    if (st >= 0) {
        JOB_PHASE(j, "job.output", (job_output(j), noop()));
        JOB_PHASE(j, "job.artifacts", (job_artifacts(j), noop()));
    }
    /* the sandbox's mounts go with its namespace: uppers are quiet before they are merged */
    close_fd(&j->sb->mntns_fd);
    if (st == 0)
        JOB_PHASE(j, "job.commit", (job_commit(j), noop()));
    job_cleanup(j);
    hutch_sandbox_destroy(j->sb);
    j->sb = NULL;
    j->finished = true;
    j->status = st;
    return st;
}

HUTCH_API void hutch_job_free(struct hutch_job *j)
{
    if (!j)
        return;
    if (j->sb) { /* started, never finished: kill it, no artifacts, no commit */
        hutch_sandbox_kill(j->sb, SIGKILL);
        hutch_sandbox_wait(j->sb, NULL);
        close_fd(&j->sb->mntns_fd);
        job_cleanup(j);
        hutch_sandbox_destroy(j->sb);
    }
    job_cleanup(j);
    jobfile_free(j->jf);
    jobfile_free(j->profile);
    devcontainer_free(&j->dc);
    hutch_spec_free(j->spec);
    buf_free(&j->ev);
    free(j->want_id);
    free(j->job_id);
    free(j->artifacts_dir);
    free(j->workspace);
    free(j->ws_dst);
    free(j->home);
    free(j);
}

HUTCH_API int hutch_job_run(struct hutch_ctx *ctx, const char *file,
                            const struct hutch_job_opts *opts, int *exit_status,
                            struct hutch_error **err)
{
    struct hutch_job *j = NULL;
    int r = hutch_job_new(ctx, file, opts, &j, err);
    r = r ?: hutch_job_start(j, err);
    r = r ?: hutch_job_finish(j, err);
    hutch_job_free(j);
    if (r >= 0 && exit_status)
        *exit_status = r;
    return r < 0 ? r : 0;
}
