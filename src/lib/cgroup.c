/* SPDX-License-Identifier: MIT */
/*
 * Cgroups: layout discovery, placement of <parent>/hutch-<id> in each hierarchy, attach, events
 * and usage; kill, destroy and gc are in cgroup_kill.c. What differs between v1 and v2
 * controllers (limits, OOM watch, usage) lives behind cgroup_ops in cgroup_v1.c / cgroup_v2.c.
 *
 * Everything on the start path is raw mkdir/open/write: libcgroup's cgroup_init() alone costs
 * 0.5-0.7 ms p50 in a fresh process here (2.5 ms at worst; FACTS.md saw 2.8-8.4 ms on a loaded
 * machine; `test_cgroup --bench` measures it), more than our whole create+attach (~0.19 ms),
 * and libcgroup 2.0 cannot reach the unified hierarchy of a hybrid host at all.
 *
 * Which hierarchies get a group, by cost measured on this host (mkdir+rmdir, p50): unified
 * 38 us, pids 29 us, freezer 29 us, cpu/cpuacct 39 us, cpuset 47 us, blkio 56 us, v1 memory
 * 115 us (plus ~25 us for its cgroup.procs write). The unified group is always made (kill,
 * freeze, events, cpu usage and CLONE_INTO_CGROUP at no controller cost); pids always (the
 * default limit); memory always (peak usage and OOM reporting are part of process.end; with it
 * a default start still stays under the 0.3 ms budget); cpu, cpuset and blkio only when the spec
 * limits them (cpu usage is in unified cpu.stat; io usage is not worth 56 us per start, so v1
 * reports io bytes only when io is limited); cpuacct and freezer only on a legacy host without a
 * unified hierarchy.
 */
#include "cgroup.h"

#include "cgroup_internal.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static const char *const ctrl_names[CG_NCTRL] = {
    [CG_MEMORY] = "memory",   [CG_PIDS] = "pids",     [CG_CPU] = "cpu",
    [CG_CPUACCT] = "cpuacct", [CG_CPUSET] = "cpuset", [CG_BLKIO] = "blkio",
    [CG_FREEZER] = "freezer",
};

/* ---------------------------------------------------------------- small file helpers */

int cgroup_ctrl_fd(const struct cgroup *cg, enum cgroup_ctrl c)
{
    int i = cg->by_ctrl[c];
    return i >= 0 && cg->dirs[i].created ? cg->dirs[i].fd : -1;
}

static const char *dir_path_of_fd(const struct cgroup *cg, int dirfd)
{
    for (int i = 0; i < cg->ndirs; i++)
        if (cg->dirs[i].fd == dirfd)
            return cg->dirs[i].path;
    return "?";
}

int cgroup_write(const struct cgroup *cg, int dirfd, const char *file, const char *val,
                 struct hutch_error **err)
{
    int r = write_file_at(dirfd, file, val);
    if (r < 0) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", dir_path_of_fd(cg, dirfd), file) < 0)
            p = NULL;
        return hutch_err(err, r, "write", p ? p : file, "cannot write '%s': %s", val, strerror(-r));
    }
    return 0;
}

int cgroup_write_path(const char *dir, const char *file, const char *val, struct hutch_error **err)
{
    _cleanup_free_ char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, file) < 0)
        return hutch_err(err, ENOMEM, NULL, file, "out of memory");
    int r = write_file_at(AT_FDCWD, p, val);
    if (r < 0)
        return hutch_err(err, r, "write", p, "cannot write '%s': %s", val, strerror(-r));
    return 0;
}

bool cgroup_file_exists(int dirfd, const char *file)
{
    return faccessat(dirfd, file, F_OK, 0) == 0;
}

/* Read a small cgroup file through an open fd from offset 0 (also re-arms kernfs poll). */
int cgroup_pread_small(int fd, char *buf, size_t size)
{
    ssize_t n;
    do
        n = pread(fd, buf, size - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

static int find_key(const char *text, const char *key, uint64_t *val)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            *val = strtoull(p + kl + 1, NULL, 10);
            return 0;
        }
    }
    return -ENOENT;
}

int cgroup_read_key_fd(int fd, const char *key, uint64_t *val)
{
    char buf[1024];
    int r = cgroup_pread_small(fd, buf, sizeof(buf));
    return r < 0 ? r : find_key(buf, key, val);
}

int cgroup_read_key(int dirfd, const char *file, const char *key, uint64_t *val)
{
    _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return cgroup_read_key_fd(fd, key, val);
}

int cgroup_read_u64(int dirfd, const char *file, uint64_t *val)
{
    char buf[64];
    _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = cgroup_pread_small(fd, buf, sizeof(buf));
    if (r < 0)
        return r;
    if (strncmp(buf, "max", 3) == 0) {
        *val = UINT64_MAX;
        return 0;
    }
    buf[strcspn(buf, "\n")] = '\0';
    return parse_u64(buf, val);
}

void cgroup_sample_pids(struct cgroup *cg, int dirfd)
{
    uint64_t n;
    if (dirfd >= 0 && cgroup_read_u64(dirfd, "pids.current", &n) == 0 && n > cg->pids_peak)
        cg->pids_peak = n;
}

/* ---------------------------------------------------------------- layout */

int cgroup_detect_mode(enum cgroup_mode *mode)
{
    struct statfs fs;
    if (statfs(CGROUP_ROOT, &fs) < 0)
        return -errno;
    if (fs.f_type == CGROUP2_SUPER_MAGIC) {
        *mode = CGROUP_MODE_V2;
        return 0;
    }
    if (statfs(CGROUP_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        *mode = CGROUP_MODE_HYBRID;
    else
        *mode = CGROUP_MODE_V1;
    return 0;
}

/* One line of /proc/self/cgroup: "id:controllers:path" (pointers into the read buffer). */
struct proc_cgroup {
    char *buf;
    struct {
        char *list, *path;
    } line[32];
    int n;
};

static int proc_cgroup_read(struct proc_cgroup *pc)
{
    int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", &pc->buf, NULL, 1 << 20);
    if (r < 0)
        return r;
    pc->n = 0;
    for (char *save = NULL, *l = strtok_r(pc->buf, "\n", &save); l && pc->n < 32;
         l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        pc->line[pc->n].list = c1 + 1;
        pc->line[pc->n].path = c2 + 1;
        pc->n++;
    }
    return 0;
}

static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* The /proc/self/cgroup line of v1 controller name (or the v2 line for name ""), or -1. */
static int proc_cgroup_find(const struct proc_cgroup *pc, const char *name)
{
    for (int i = 0; i < pc->n; i++) {
        const char *l = pc->line[i].list;
        if (*name ? list_has(l, name) : *l == '\0')
            return i;
    }
    return -1;
}

bool cgroup_is_fs(const char *path, long magic)
{
    struct statfs fs;
    return statfs(path, &fs) == 0 && (long)fs.f_type == magic;
}

/*
 * Where the v1 hierarchy with these controllers is mounted: /sys/fs/cgroup/<list> by
 * convention (a statfs checks it; reading mountinfo costs 30 us), else the first cgroup mount
 * of the whole hierarchy (root "/") found in mountinfo.
 */
static char *v1_mount_find(const char *list)
{
    char *p = NULL;
    if (asprintf(&p, CGROUP_ROOT "/%s", list) < 0)
        return NULL;
    if (cgroup_is_fs(p, CGROUP_SUPER_MAGIC))
        return p;
    free(p);
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    while (f && fgets(line, sizeof(line), f)) {
        char root[1024], mnt[1024], fstype[64], opts[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
            sscanf(dash, " - %63s %*s %1023s", fstype, opts) != 2)
            continue;
        if (strcmp(fstype, "cgroup") || strcmp(root, "/"))
            continue;
        bool all = true;
        _cleanup_free_ char *want = strdup(list);
        for (char *s = NULL, *t = want ? strtok_r(want, ",", &s) : NULL; t;
             t = strtok_r(NULL, ",", &s))
            all = all && list_has(opts, t);
        if (want && all)
            return strdup(mnt);
    }
    return NULL;
}

/* ---------------------------------------------------------------- placement */

/* "<mount><parent>/hutch-<id>", parent per --cgroup-parent (docker's rule: a leading '/' is
 * from the hierarchy's root, otherwise below the caller's own cgroup), without double '/'. */
static char *group_path(const char *mount, const char *own, const char *cgparent, const char *id)
{
    const char *base = own, *rel = "";
    if (cgparent && cgparent[0] == '/')
        base = cgparent;
    else if (cgparent)
        rel = cgparent;
    struct buf b = {0};
    int r = buf_puts(&b, mount);
    const char *parts[] = {base, rel};
    for (size_t i = 0; i < ARRAY_SIZE(parts) && r == 0; i++) {
        const char *p = parts[i];
        while (*p) {
            while (*p == '/')
                p++;
            size_t n = strcspn(p, "/");
            if (n)
                r = r ? r : buf_printf(&b, "/%.*s", (int)n, p);
            p += n;
        }
    }
    r = r ? r : buf_printf(&b, "/hutch-%s", id);
    if (r < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

static unsigned v1_wanted(const struct hutch_spec *spec, bool unified, unsigned *required)
{
    unsigned want = 1u << CG_MEMORY | 1u << CG_PIDS, req = 0;
    if (spec->memory || spec->memory_reservation)
        req |= 1u << CG_MEMORY;
    if (spec->pids_limit > 0)
        req |= 1u << CG_PIDS;
    if (spec->cpu_quota_us || spec->cpu_shares || spec->cpu_weight)
        req |= 1u << CG_CPU;
    if (spec->cpuset_cpus)
        req |= 1u << CG_CPUSET;
    if (spec->nio)
        req |= 1u << CG_BLKIO;
    if (!unified) /* cpu usage and kill-all need these where no cgroup2 offers them */
        want |= 1u << CG_CPUACCT | 1u << CG_FREEZER;
    *required = req;
    return want | req;
}

static int dir_add(struct cgroup *cg, const char *mnt, char *path, unsigned ctrls)
{
    if (!path)
        return -ENOMEM;
    cg->dirs[cg->ndirs++] =
        (struct cgroup_dir){.path = path, .mnt_len = strlen(mnt), .fd = -1, .ctrls = ctrls};
    return cg->ndirs - 1;
}

static int plan_v1(struct cgroup *cg, const struct proc_cgroup *pc, const struct hutch_spec *spec,
                   const char *id, struct hutch_error **err)
{
    unsigned req, want = v1_wanted(spec, cg->unified >= 0, &req);
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!(want & 1u << c) || cg->by_ctrl[c] >= 0)
            continue;
        int l = proc_cgroup_find(pc, ctrl_names[c]);
        _cleanup_free_ char *mnt = l >= 0 ? v1_mount_find(pc->line[l].list) : NULL;
        if (!mnt) {
            if (req & 1u << c)
                return hutch_err(err, ENODEV, "cgroup", ctrl_names[c],
                                 "the spec needs the %s controller, but no cgroup v1 hierarchy "
                                 "has it mounted and no cgroup v2 hierarchy offers it",
                                 ctrl_names[c]);
            continue;
        }
        unsigned ctrls = 0;
        for (int o = 0; o < CG_NCTRL; o++)
            if (list_has(pc->line[l].list, ctrl_names[o]))
                ctrls |= 1u << o;
        int i = dir_add(cg, mnt, group_path(mnt, pc->line[l].path, spec->cgroup_parent, id), ctrls);
        if (i < 0)
            return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
        for (int o = 0; o < CG_NCTRL; o++)
            if (ctrls & 1u << o)
                cg->by_ctrl[o] = i;
    }
    return 0;
}

static int plan(struct cgroup *cg, const struct hutch_spec *spec, const char *id,
                struct hutch_error **err)
{
    struct proc_cgroup pc = {0};
    int r = proc_cgroup_read(&pc);
    if (r < 0)
        return hutch_err(err, r, "read", "/proc/self/cgroup", "%s", strerror(-r));
    int l = proc_cgroup_find(&pc, "");
    if (cg->mode != CGROUP_MODE_V1 && l >= 0) {
        const char *mnt = cg->mode == CGROUP_MODE_V2 ? CGROUP_ROOT : CGROUP_ROOT "/unified";
        cg->unified =
            dir_add(cg, mnt, group_path(mnt, pc.line[l].path, spec->cgroup_parent, id), 0);
        if (cg->unified < 0)
            r = hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
    } else if (cg->mode == CGROUP_MODE_V2) {
        r = hutch_err(err, ENOENT, "parse", "/proc/self/cgroup", "no cgroup v2 entry (0::)");
    }
    if (r == 0 && cg->mode != CGROUP_MODE_V2)
        r = plan_v1(cg, &pc, spec, id, err);
    free(pc.buf);
    return r;
}

/* state_dir/cgroups: every path, written before the first mkdir, so gc finds them after a
 * crash at any later point. */
static int record_write(struct cgroup *cg, const char *state_dir, struct hutch_error **err)
{
    if (!state_dir)
        return 0;
    if (asprintf(&cg->record, "%s/cgroups", state_dir) < 0) {
        cg->record = NULL;
        return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
    }
    struct buf b = {0};
    for (int i = 0; i < cg->ndirs; i++)
        if (buf_printf(&b, "%s\n", cg->dirs[i].path) < 0) {
            buf_free(&b);
            return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
        }
    _cleanup_close_ int fd =
        open(cg->record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int r = fd < 0 ? -errno : write_all(fd, b.data, b.len);
    buf_free(&b);
    if (r < 0)
        return hutch_err(err, r, "write", cg->record, "%s", strerror(-r));
    return 0;
}

/* ---------------------------------------------------------------- creation */

/* v1 cpuset: a new group has empty cpus and mems and refuses tasks until both are set. */
static int cpuset_copy_parent(const char *dir, struct hutch_error **err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *up = strdup(dir), *val = NULL;
        char *slash = up ? strrchr(up, '/') : NULL;
        if (!slash)
            return hutch_err(err, ENOMEM, NULL, dir, "out of memory");
        *slash = '\0';
        _cleanup_close_ int pfd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = pfd < 0 ? -errno : read_file_at(pfd, files[i], &val, NULL, 65536);
        if (r < 0)
            return hutch_err(err, r, "read", up, "cannot read %s", files[i]);
        if (val[0] != '\n' && val[0] && (r = cgroup_write_path(dir, files[i], val, err)) < 0)
            return r;
    }
    return 0;
}

/*
 * Make the missing levels of the parent of dirs[i] (only a --cgroup-parent can be missing: the
 * caller's own cgroup exists). Parents are shared between sandboxes, so they stay afterwards,
 * as docker leaves them. v2: every level gets the controllers its child needs; v1 cpuset:
 * every new level gets its parent's cpus and mems.
 */
static int parents_create(struct cgroup *cg, int i, const struct hutch_spec *spec,
                          struct hutch_error **err)
{
    const struct cgroup_dir *d = &cg->dirs[i];
    bool v2 = i == cg->unified && cg->ops->enable_controllers;
    _cleanup_free_ char *p = strndup(d->path, (size_t)(strrchr(d->path, '/') - d->path));
    if (!p)
        return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
    size_t end = strlen(p);
    for (size_t n = d->mnt_len;;) {
        p[n] = '\0';
        int r = 0;
        if (n > d->mnt_len && mkdir(p, 0755) == 0) {
            if (d->ctrls & 1u << CG_CPUSET)
                r = cpuset_copy_parent(p, err);
        } else if (n > d->mnt_len && errno != EEXIST) {
            r = hutch_err_sys(err, "mkdir", p);
        }
        if (r == 0 && v2)
            r = cg->ops->enable_controllers(cg, spec, p, err);
        if (r < 0 || n == end)
            return r;
        p[n] = '/';
        const char *next = strchr(p + n + 1, '/');
        n = next ? (size_t)(next - p) : end;
    }
}

static int dir_create(struct cgroup *cg, int i, const struct hutch_spec *spec,
                      struct hutch_error **err)
{
    struct cgroup_dir *d = &cg->dirs[i];
    int r = 0;
    /* v2: a child has only the controllers of its parent's subtree_control */
    if (i == cg->unified && cg->ops->enable_controllers) {
        _cleanup_free_ char *parent = strndup(d->path, (size_t)(strrchr(d->path, '/') - d->path));
        if (!parent)
            return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
        r = cg->ops->enable_controllers(cg, spec, parent, err);
        if (r < 0 && r != -ENOENT) /* ENOENT: the parent does not exist yet: made below */
            return r;
    }
    if (mkdir(d->path, 0755) < 0) {
        /* EEXIST: a sandbox with this id, or a leftover for gc; never adopt a group */
        if (errno != ENOENT)
            return hutch_err_sys(err, "mkdir", d->path);
        if ((r = parents_create(cg, i, spec, err)) < 0)
            return r;
        if (mkdir(d->path, 0755) < 0)
            return hutch_err_sys(err, "mkdir", d->path);
    }
    d->created = true;
    d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0)
        return hutch_err_sys(err, "open", d->path);
    return 0;
}

/* The epoll set handed out by cgroup_event_fd(): kernfs files signal changes with POLLPRI
 * (and are always POLLIN), an eventfd with POLLIN; one EPOLLIN-readable fd hides that. */
static int events_watch(struct cgroup *cg, struct hutch_error **err)
{
    char buf[256];
    if (cg->unified >= 0) {
        cg->events_fd = openat(cg->dirs[cg->unified].fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        /* a kernfs fd reports a change until its first read: read it once to arm it */
        if (cg->events_fd >= 0)
            cgroup_pread_small(cg->events_fd, buf, sizeof(buf));
    }
    int r = cg->ops->watch_oom(cg, err);
    if (r < 0)
        return r;
    if (cg->events_fd < 0 && cg->oom_fd < 0)
        return 0;
    cg->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cg->epfd < 0)
        return hutch_err_sys(err, "epoll_create1", "cgroup");
    int fds[] = {cg->events_fd, cg->oom_fd};
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
        struct epoll_event ev = {.events = EPOLLPRI | EPOLLIN, .data.fd = fds[i]};
        if (fds[i] == cg->oom_fd && cg->mode == CGROUP_MODE_V2)
            ev.events = EPOLLPRI; /* memory.events: POLLIN is always set on kernfs */
        if (fds[i] == cg->events_fd)
            ev.events = EPOLLPRI;
        if (fds[i] >= 0 && epoll_ctl(cg->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            return hutch_err_sys(err, "epoll_ctl", "cgroup");
    }
    return 0;
}

static struct cgroup *cgroup_new(void)
{
    struct cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return NULL;
    cg->unified = cg->epfd = cg->events_fd = cg->oom_fd = cg->oom_ctl_fd = -1;
    for (int c = 0; c < CG_NCTRL; c++)
        cg->by_ctrl[c] = -1;
    return cg;
}

int cgroup_create(const struct hutch_spec *spec, const char *id, const char *state_dir,
                  struct cgroup **out, struct hutch_error **err)
{
    return cgroup_create_as(spec, id, state_dir, 0, out, err);
}

int cgroup_create_as(const struct hutch_spec *spec, const char *id, const char *state_dir,
                     enum cgroup_mode mode, struct cgroup **out, struct hutch_error **err)
{
    *out = NULL;
    struct cgroup *cg = cgroup_new();
    if (!cg)
        return hutch_err(err, ENOMEM, NULL, "cgroup", "out of memory");
    /* the id becomes a path component in every hierarchy */
    if (!id || !*id || strlen(id) > 64 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(id)) {
        free(cg);
        return hutch_err(err, EINVAL, "cgroup", id, "a sandbox id is 1-64 of [A-Za-z0-9_-]");
    }
    int r = mode ? 0 : cgroup_detect_mode(&mode);
    if (r < 0)
        r = hutch_err(err, r, "statfs", CGROUP_ROOT, "cannot detect the cgroup layout");
    cg->mode = mode;
    cg->ops = cg->mode == CGROUP_MODE_V2 ? &cgroup_v2_ops : &cgroup_v1_ops;
    r = r ? r : plan(cg, spec, id, err);
    r = r ? r : record_write(cg, state_dir, err);
    for (int i = 0; r == 0 && i < cg->ndirs; i++)
        r = dir_create(cg, i, spec, err);
    /* limits before any process can enter: the child is only cloned after we return */
    r = r ? r : cg->ops->set_limits(cg, spec, err);
    if (r < 0) {
        cgroup_destroy(cg); /* undoes exactly the mkdirs that succeeded, and the record */
        return r;
    }
    *out = cg;
    return 0;
}

int cgroup_clone_fd(const struct cgroup *cg)
{
    return cg && cg->unified >= 0 ? cg->dirs[cg->unified].fd : -1;
}

void cgroup_mark_cloned_into(struct cgroup *cg)
{
    if (cg)
        cg->cloned_into = true;
}

int cgroup_prepare_child_attach(struct cgroup *cg, struct hutch_error **err)
{
    cg->nself = 0;
    for (int i = 0; i < cg->ndirs; i++) {
        if (i == cg->unified)
            continue; /* CLONE_INTO_CGROUP, or the parent's cgroup_attach */
        int fd = openat(cg->dirs[i].fd, "tasks", O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            int r = hutch_err_sys(err, "open", cg->dirs[i].path);
            cgroup_close_child_attach(cg);
            return r;
        }
        cg->self_fds[cg->nself++] = fd;
    }
    return 0;
}

int cgroup_child_attach(const struct cgroup *cg)
{
    for (int i = 0; cg && i < cg->nself; i++)
        if (write(cg->self_fds[i], "0", 1) != 1)
            return -errno;
    return 0;
}

void cgroup_close_child_attach(struct cgroup *cg)
{
    for (int i = 0; cg && i < cg->nself; i++)
        close(cg->self_fds[i]);
    if (cg)
        cg->nself = -1; /* opened, used and closed: attach leaves the v1 groups to the child */
}

int cgroup_attach(struct cgroup *cg, pid_t pid, struct hutch_error **err)
{
    char s[32];
    snprintf(s, sizeof(s), "%d", (int)pid);
    /* each write costs ~12 us here (the kernel's threadgroup lock): skip the group that
     * CLONE_INTO_CGROUP already put the child in, and the v1 ones the child joins itself */
    for (int i = 0; i < cg->ndirs; i++) {
        if (i == cg->unified && cg->cloned_into)
            continue;
        if (i != cg->unified && cg->nself < 0)
            continue;
        int r = cgroup_write(cg, cg->dirs[i].fd, "cgroup.procs", s, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Made on first use, not in cgroup_create(): the lead asks for it once the child runs, so
 * its ~10 syscalls (30 us here) stay off the start path. An OOM before it exists still counts:
 * cgroup_check_oom() reads the counters, not the notifications. */
int cgroup_event_fd(struct cgroup *cg)
{
    if (!cg)
        return -1;
    if (!cg->watched) {
        cg->watched = true;
        if (events_watch(cg, NULL) < 0) {
            close_fd(&cg->epfd);
            close_fd(&cg->events_fd);
        }
    }
    return cg->epfd;
}

bool cgroup_check_oom(struct cgroup *cg)
{
    char buf[256];
    /* consume: re-read the kernfs files (re-arms POLLPRI) and drain the v1 eventfd; the
     * epoll set is level-triggered, so it is quiet again once its members are */
    if (cg->events_fd >= 0)
        cgroup_pread_small(cg->events_fd, buf, sizeof(buf));
    if (cg->oom_fd >= 0 && cg->mode != CGROUP_MODE_V2) {
        uint64_t n;
        while (read(cg->oom_fd, &n, sizeof(n)) < 0 && errno == EINTR)
            ;
    }
    if (cg->ops->read_oom_kills(cg) > 0)
        cg->oom = true;
    cgroup_sample_pids(cg, cg->unified >= 0 && cg->mode == CGROUP_MODE_V2
                               ? cg->dirs[cg->unified].fd
                               : cgroup_ctrl_fd(cg, CG_PIDS));
    return cg->oom;
}

/* ---------------------------------------------------------------- stats */

int cgroup_read_stats(struct cgroup *cg, struct cgroup_stats *st)
{
    *st = (struct cgroup_stats){0};
    if (!cg)
        return 0;
    cgroup_check_oom(cg);
    cg->ops->read_stats(cg, st);
    if (st->pids_peak < cg->pids_peak)
        st->pids_peak = cg->pids_peak;
    st->oom_killed = cg->oom;
    return 0;
}

