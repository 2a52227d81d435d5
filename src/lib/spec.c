/* SPDX-License-Identifier: MIT */
/* Spec setters and validation: every value is checked here, before any resource exists. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

static const char *const cap_names[SPEC_CAP_LAST + 1] = {
    "CHOWN",         "DAC_OVERRIDE",   "DAC_READ_SEARCH", "FOWNER",          "FSETID",
    "KILL",          "SETGID",         "SETUID",          "SETPCAP",         "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",     "NET_RAW",         "IPC_LOCK",
    "IPC_OWNER",     "SYS_MODULE",     "SYS_RAWIO",       "SYS_CHROOT",      "SYS_PTRACE",
    "SYS_PACCT",     "SYS_ADMIN",      "SYS_BOOT",        "SYS_NICE",        "SYS_RESOURCE",
    "SYS_TIME",      "SYS_TTY_CONFIG", "MKNOD",           "LEASE",           "AUDIT_WRITE",
    "AUDIT_CONTROL", "SETFCAP",        "MAC_OVERRIDE",    "MAC_ADMIN",       "SYSLOG",
    "WAKE_ALARM",    "BLOCK_SUSPEND",  "AUDIT_READ",      "PERFMON",         "BPF",
    "CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name)
{
    if (!name)
        return -EINVAL;
    if (!strncasecmp(name, "CAP_", 4))
        name += 4;
    for (int i = 0; i <= SPEC_CAP_LAST; i++)
        if (!strcasecmp(name, cap_names[i]))
            return i;
    return -EINVAL;
}

const char *spec_cap_name(int cap)
{
    return cap >= 0 && cap <= SPEC_CAP_LAST ? cap_names[cap] : NULL;
}

#define CAPBIT(n) (1ull << (n))
uint64_t spec_default_caps(void)
{
    return CAPBIT(0) | CAPBIT(1) | CAPBIT(3) | CAPBIT(4) | CAPBIT(5) | CAPBIT(6) | CAPBIT(7) |
           CAPBIT(8) | CAPBIT(10) | CAPBIT(13) | CAPBIT(18) | CAPBIT(27) | CAPBIT(29) | CAPBIT(31);
}

HUTCH_API int hutch_spec_new(struct hutch_spec **out)
{
    struct hutch_spec *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->argv = calloc(1, sizeof(char *));
    s->env = calloc(1, sizeof(char *));
    if (!s->argv || !s->env) {
        hutch_spec_free(s);
        return -ENOMEM;
    }
    s->init = true;
    s->no_new_privs = true;
    s->kill_grace_ns = 10ull * 1000000000ull;
    s->pids_limit = 1024;
    *out = s;
    return 0;
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

HUTCH_API void hutch_spec_free(struct hutch_spec *s)
{
    if (!s)
        return;
    free_strv(s->argv);
    free_strv(s->env);
    free(s->workdir);
    free(s->user);
    free(s->hostname);
    free(s->rootfs);
    free(s->image);
    for (int i = 0; i < s->nvolumes; i++) {
        free(s->volumes[i].src);
        free(s->volumes[i].dst);
        free(s->volumes[i].upper);
        free(s->volumes[i].work);
    }
    free(s->volumes);
    for (int i = 0; i < s->ntmpfs; i++)
        free(s->tmpfs[i].dst);
    free(s->tmpfs);
    free(s->seccomp);
    free(s->userns_map);
    free(s->cpuset_cpus);
    for (int i = 0; i < s->nio; i++)
        free(s->io[i].device);
    free(s->io);
    free(s->cgroup_parent);
    free(s->net_name);
    free(s);
}

static int bad(struct hutch_error **err, const char *option, const char *value, const char *want)
{
    return hutch_err(err, EINVAL, "parse", option, "invalid value '%s': expected %s",
                     value ? value : "", want);
}

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static int strv_push(char ***v, int *n, const char *s)
{
    char *c = strdup(s);
    char **nv = realloc(*v, sizeof(char *) * (size_t)(*n + 2));
    if (!c || !nv) {
        free(c);
        if (nv)
            *v = nv;
        return -ENOMEM;
    }
    nv[*n] = c;
    nv[*n + 1] = NULL;
    *v = nv;
    (*n)++;
    return 0;
}

HUTCH_API int hutch_spec_set_argv(struct hutch_spec *s, int argc, const char *const *argv,
                                  struct hutch_error **err)
{
    if (argc < 0 || (argc > 0 && !argv))
        return hutch_err(err, EINVAL, "parse", "command", "invalid argument vector");
    char **nv = calloc((size_t)argc + 1, sizeof(char *));
    if (!nv)
        return hutch_err(err, ENOMEM, NULL, "command", "out of memory");
    for (int i = 0; i < argc; i++) {
        if (!argv[i] || (i == 0 && !*argv[i])) {
            free_strv(nv);
            return hutch_err(err, EINVAL, "parse", "command", "empty command name");
        }
        nv[i] = strdup(argv[i]);
        if (!nv[i]) {
            free_strv(nv);
            return hutch_err(err, ENOMEM, NULL, "command", "out of memory");
        }
    }
    free_strv(s->argv);
    s->argv = nv;
    s->argc = argc;
    return 0;
}

/* absolute, normalised: no "..", no empty components beyond separators */
static bool path_ok_abs(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) /* legal, but never what was meant */
            return false;
    for (const char *c = p; *c;) {
        while (*c == '/')
            c++;
        const char *e = strchrnul(c, '/');
        if (e - c == 2 && c[0] == '.' && c[1] == '.')
            return false;
        c = e;
    }
    return strlen(p) < PATH_MAX;
}

static int set_volume(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    const char *want = "SRC:DST[:ro|rw] with absolute paths";
    _cleanup_free_ char *copy = strdup(v);
    if (!copy)
        return -ENOMEM;
    char *src = copy, *dst = strchr(copy, ':');
    if (!dst)
        return bad(err, "--volume", v, want);
    *dst++ = '\0';
    char *mode = strchr(dst, ':');
    bool ro = false;
    if (mode) {
        *mode++ = '\0';
        for (char *o = strtok(mode, ","); o; o = strtok(NULL, ",")) {
            if (!strcmp(o, "ro"))
                ro = true;
            else if (!strcmp(o, "rw"))
                ro = false;
            else
                return bad(err, "--volume", v, "a mode of 'ro' or 'rw'");
        }
    }
    if (!path_ok_abs(src) || !path_ok_abs(dst))
        return bad(err, "--volume", v, want);
    if (!strcmp(dst, "/") || !strcmp(dst, "/proc") || !strncmp(dst, "/proc/", 6))
        return bad(err, "--volume", v, "a destination other than /, /proc");
    struct spec_volume *nv = realloc(s->volumes, sizeof(*nv) * (size_t)(s->nvolumes + 1));
    if (!nv)
        return -ENOMEM;
    s->volumes = nv;
    struct spec_volume *vol = &nv[s->nvolumes];
    vol->src = strdup(src);
    vol->dst = strdup(dst);
    vol->ro = ro;
    vol->upper = vol->work = NULL;
    if (!vol->src || !vol->dst) {
        free(vol->src);
        free(vol->dst);
        return -ENOMEM;
    }
    s->nvolumes++;
    return 0;
}

int spec_add_overlay_volume(struct hutch_spec *s, const char *lower, const char *upper,
                            const char *work, const char *dst)
{
    if (!upper || !work || !path_ok_abs(dst) || !path_ok_abs(upper) || !path_ok_abs(work) ||
        (lower && !path_ok_abs(lower)))
        return -EINVAL;
    struct spec_volume *nv = realloc(s->volumes, sizeof(*nv) * (size_t)(s->nvolumes + 1));
    if (!nv)
        return -ENOMEM;
    s->volumes = nv;
    struct spec_volume *v = &nv[s->nvolumes];
    memset(v, 0, sizeof(*v));
    v->src = lower ? strdup(lower) : NULL;
    v->dst = strdup(dst);
    v->upper = strdup(upper);
    v->work = strdup(work);
    if ((lower && !v->src) || !v->dst || !v->upper || !v->work) {
        free(v->src);
        free(v->dst);
        free(v->upper);
        free(v->work);
        return -ENOMEM;
    }
    s->nvolumes++;
    return 0;
}

static int set_tmpfs(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    _cleanup_free_ char *copy = strdup(v);
    if (!copy)
        return -ENOMEM;
    char *opts = strchr(copy, ':');
    if (opts)
        *opts++ = '\0';
    if (!path_ok_abs(copy) || !strcmp(copy, "/"))
        return bad(err, "--tmpfs", v, "DST[:size=N,mode=M] with an absolute DST other than /");
    uint64_t size = 0;
    mode_t mode = 01777;
    for (char *o = opts ? strtok(opts, ",") : NULL; o; o = strtok(NULL, ",")) {
        if (!strncmp(o, "size=", 5)) {
            if (parse_size(o + 5, &size) < 0 || size == 0)
                return bad(err, "--tmpfs", v, "size=BYTES[K|M|G] greater than 0");
        } else if (!strncmp(o, "mode=", 5)) {
            char *end;
            errno = 0;
            unsigned long m = strtoul(o + 5, &end, 8);
            if (!o[5] || *end || errno || m > 07777)
                return bad(err, "--tmpfs", v, "mode=OCTAL (at most 7777)");
            mode = (mode_t)m;
        } else {
            return bad(err, "--tmpfs", v, "options size=N and mode=M");
        }
    }
    struct spec_tmpfs *nt = realloc(s->tmpfs, sizeof(*nt) * (size_t)(s->ntmpfs + 1));
    if (!nt)
        return -ENOMEM;
    s->tmpfs = nt;
    nt[s->ntmpfs].dst = strdup(copy);
    if (!nt[s->ntmpfs].dst)
        return -ENOMEM;
    nt[s->ntmpfs].size = size;
    nt[s->ntmpfs].mode = mode;
    s->ntmpfs++;
    return 0;
}

static int set_env(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    const char *eq = strchr(v, '=');
    size_t klen = eq ? (size_t)(eq - v) : strlen(v);
    if (klen == 0)
        return bad(err, "--env", v, "KEY=VALUE with a non-empty KEY");
    for (size_t i = 0; i < klen; i++)
        if (v[i] == '\0' || isspace((unsigned char)v[i]))
            return bad(err, "--env", v, "KEY=VALUE with no space in KEY");
    _cleanup_free_ char *kv = NULL;
    if (!eq) { /* docker: -e KEY takes the value from the caller's environment */
        const char *hv = getenv(v);
        if (!hv)
            return 0;
        if (asprintf(&kv, "%s=%s", v, hv) < 0)
            return -ENOMEM;
        v = kv;
    }
    /* a later value for the same key replaces the earlier one */
    for (int i = 0; i < s->nenv; i++) {
        if (!strncmp(s->env[i], v, klen + 1)) {
            return set_str(&s->env[i], v);
        }
    }
    return strv_push(&s->env, &s->nenv, v);
}

static int set_user(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    const char *want = "UID[:GID] or a user name (with an optional :GROUP)";
    if (!*v || strlen(v) > 256)
        return bad(err, "--user", v, want);
    for (const char *c = v; *c; c++)
        if (!(isalnum((unsigned char)*c) || strchr("_-.:$", *c)))
            return bad(err, "--user", v, want);
    if (v[0] == ':' || v[strlen(v) - 1] == ':' || strchr(v, ':') != strrchr(v, ':'))
        return bad(err, "--user", v, want);
    return set_str(&s->user, v);
}

static int set_hostname(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64)
        return bad(err, "--hostname", v, "1 to 64 characters");
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '.' || v[i] == '_'))
            return bad(err, "--hostname", v, "letters, digits, '-', '.' and '_'");
    return set_str(&s->hostname, v);
}

static int set_caps(struct hutch_spec *s, const char *v, bool add, struct hutch_error **err)
{
    const char *opt = add ? "--cap-add" : "--cap-drop";
    if (!strcasecmp(v, "ALL")) {
        if (add) {
            s->cap_add = (CAPBIT(SPEC_CAP_LAST) << 1) - 1;
        } else {
            s->cap_drop_all = true;
            s->cap_add = 0; /* docker: --cap-drop ALL then --cap-add X keeps X */
        }
        return 0;
    }
    int c = spec_cap_from_name(v);
    if (c < 0)
        return bad(err, opt, v, "a capability name such as NET_ADMIN or CAP_SYS_PTRACE, or ALL");
    if (add) {
        s->cap_add |= CAPBIT(c);
        s->cap_drop &= ~CAPBIT(c);
    } else {
        s->cap_drop |= CAPBIT(c);
        s->cap_add &= ~CAPBIT(c);
    }
    return 0;
}

static int set_cpus(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !(d > 0) || d > 1024 || v[0] == '-')
        return bad(err, "--cpus", v, "a positive number of CPUs such as 0.5 or 2");
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpu > 0 && d > (double)ncpu)
        return hutch_err(err, EINVAL, "parse", "--cpus",
                         "invalid value '%s': only %ld CPUs are available", v, ncpu);
    s->cpu_period_us = 100000;
    s->cpu_quota_us = (uint64_t)(d * 100000.0 + 0.5);
    if (s->cpu_quota_us < 1000)
        return bad(err, "--cpus", v, "at least 0.01");
    return 0;
}

/* "0-3,5" with every cpu below the number of configured CPUs */
static int set_cpuset(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    const char *p = v;
    if (!*p)
        return bad(err, "--cpuset-cpus", v, "a CPU list such as 0-1,3");
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p))
            return bad(err, "--cpuset-cpus", v, "a CPU list such as 0-1,3");
        unsigned long a = strtoul(p, &end, 10), b = a;
        p = end;
        if (*p == '-') {
            p++;
            if (!isdigit((unsigned char)*p))
                return bad(err, "--cpuset-cpus", v, "a CPU list such as 0-1,3");
            b = strtoul(p, &end, 10);
            p = end;
        }
        if (b < a)
            return bad(err, "--cpuset-cpus", v, "ranges written low-high");
        if (ncpu > 0 && b >= (unsigned long)ncpu)
            return hutch_err(err, EINVAL, "parse", "--cpuset-cpus",
                             "invalid value '%s': CPU %lu does not exist (this host has CPUs "
                             "0-%ld)",
                             v, b, ncpu - 1);
        if (*p == ',')
            p++;
        else if (*p)
            return bad(err, "--cpuset-cpus", v, "a CPU list such as 0-1,3");
    }
    return set_str(&s->cpuset_cpus, v);
}

static int set_io(struct hutch_spec *s, enum spec_io_kind kind, const char *opt, const char *v,
                  struct hutch_error **err)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || v[0] != '/')
        return bad(err, opt, v, "DEVICE:RATE such as /dev/sda:10M");
    uint64_t rate;
    int r = (kind == SPEC_IO_READ_BPS || kind == SPEC_IO_WRITE_BPS) ? parse_size(colon + 1, &rate)
                                                                      : parse_u64(colon + 1, &rate);
    if (r < 0 || rate == 0)
        return bad(err, opt, v, "DEVICE:RATE with a positive RATE");
    _cleanup_free_ char *dev = strndup(v, (size_t)(colon - v));
    if (!dev)
        return -ENOMEM;
    struct stat st;
    if (stat(dev, &st) < 0)
        return hutch_err(err, errno, "stat", opt, "device '%s': %s", dev, strerror(errno));
    if (!S_ISBLK(st.st_mode))
        return hutch_err(err, EINVAL, "parse", opt, "'%s' is not a block device", dev);
    struct spec_io_limit *n = realloc(s->io, sizeof(*n) * (size_t)(s->nio + 1));
    if (!n)
        return -ENOMEM;
    s->io = n;
    n[s->nio] = (struct spec_io_limit){.kind = kind,
                                       .device = TAKE_PTR(dev),
                                       .major = major(st.st_rdev),
                                       .minor = minor(st.st_rdev),
                                       .rate = rate};
    s->nio++;
    return 0;
}

static int set_network(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    const char *want = "none, host, bridge[=NAME], internal=NAME or sandbox=ID";
    const char *name = NULL;
    enum spec_net_mode m;
    if (!strcmp(v, "none"))
        m = SPEC_NET_NONE;
    else if (!strcmp(v, "host"))
        m = SPEC_NET_HOST;
    else if (!strcmp(v, "bridge"))
        m = SPEC_NET_BRIDGE, name = "hutch0";
    else if (!strncmp(v, "bridge=", 7))
        m = SPEC_NET_BRIDGE, name = v + 7;
    else if (!strncmp(v, "internal=", 9))
        m = SPEC_NET_INTERNAL, name = v + 9;
    else if (!strncmp(v, "sandbox=", 8))
        m = SPEC_NET_SANDBOX, name = v + 8;
    else
        return bad(err, "--network", v, want);
    if (name) {
        size_t n = strlen(name);
        size_t max = m == SPEC_NET_SANDBOX ? 64 : 12; /* interface names: IFNAMSIZ - suffixes */
        if (n == 0 || n > max)
            return bad(err, "--network", v, "a name of 1 to 12 characters");
        for (size_t i = 0; i < n; i++)
            if (!(isalnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '_'))
                return bad(err, "--network", v, "a name of letters, digits, '-' and '_'");
    }
    s->net = m;
    free(s->net_name);
    s->net_name = NULL;
    if (name && set_str(&s->net_name, name) < 0)
        return -ENOMEM;
    return 0;
}

static int set_security_opt(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    if (!strncmp(v, "seccomp=", 8) || !strncmp(v, "seccomp:", 8)) {
        if (!v[8])
            return bad(err, "--security-opt", v, "seccomp=PATH|default|strict|unconfined");
        return set_str(&s->seccomp, v + 8);
    }
    if (!strcmp(v, "no-new-privileges") || !strncmp(v, "no-new-privileges=", 18) ||
        !strncmp(v, "no-new-privileges:", 18)) {
        bool b;
        if (parse_bool(v[17] ? v + 18 : "", &b) < 0)
            return bad(err, "--security-opt", v, "no-new-privileges=true|false");
        s->no_new_privs = b;
        return 0;
    }
    return bad(err, "--security-opt", v,
               "seccomp=PATH|default|strict|unconfined or no-new-privileges=BOOL");
}

static int set_ns_host(const char *opt, const char *v, bool *host, struct hutch_error **err)
{
    if (strcmp(v, "host") && strcmp(v, "private") && *v)
        return bad(err, opt, v, "host or private");
    *host = !strcmp(v, "host");
    return 0;
}

static int set_userns(struct hutch_spec *s, const char *v, struct hutch_error **err)
{
    if (!strcmp(v, "host") || !*v) {
        s->userns = SPEC_USERNS_HOST;
        return 0;
    }
    if (!strcmp(v, "auto")) {
        s->userns = SPEC_USERNS_AUTO;
        return 0;
    }
    unsigned long a, b, c;
    char tail;
    if (sscanf(v, "%lu:%lu:%lu%c", &a, &b, &c, &tail) != 3 || c == 0 || a > UINT32_MAX ||
        b > UINT32_MAX || c > UINT32_MAX || a + c > 1ul + UINT32_MAX || b + c > 1ul + UINT32_MAX)
        return bad(err, "--userns", v, "host, auto, or CONTAINER_ID:HOST_ID:SIZE");
    s->userns = SPEC_USERNS_MAP;
    return set_str(&s->userns_map, v);
}

static int set_size_opt(const char *opt, const char *v, uint64_t min, uint64_t *dst,
                        struct hutch_error **err)
{
    uint64_t n;
    if (parse_size(v, &n) < 0)
        return bad(err, opt, v, "a size in bytes with an optional K, M or G suffix");
    if (n < min)
        return hutch_err(err, EINVAL, "parse", opt, "invalid value '%s': at least %llu bytes",
                         v, (unsigned long long)min);
    *dst = n;
    return 0;
}

static int set_seconds_opt(const char *opt, const char *v, uint64_t *dst,
                           struct hutch_error **err)
{
    if (parse_seconds(v, dst) < 0)
        return bad(err, opt, v, "a non-negative number of seconds");
    return 0;
}

static int set_bool_opt(const char *opt, const char *v, bool *dst, struct hutch_error **err)
{
    if (parse_bool(v, dst) < 0)
        return bad(err, opt, v, "true or false");
    return 0;
}

int spec_set(struct hutch_spec *s, const char *o, const char *v, struct hutch_error **err)
{
    uint64_t n;
    if (!o)
        return hutch_err(err, EINVAL, "parse", "option", "no option name");
    if (!v)
        v = "";
#define IS(name) (!strcmp(o, name))
    if (IS("rootfs")) {
        if (!*v)
            return bad(err, "--rootfs", v, "a directory");
        if (v[0] == '/')
            return set_str(&s->rootfs, v);
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *abs = NULL;
        if (!cwd || asprintf(&abs, "%s/%s", cwd, v) < 0)
            return hutch_err(err, errno ? errno : ENOMEM, "getcwd", "--rootfs", "%s",
                             strerror(errno ? errno : ENOMEM));
        return set_str(&s->rootfs, abs);
    }
    if (IS("image"))
        return *v ? set_str(&s->image, v) : bad(err, "--image", v, "an image reference");
    if (IS("env"))
        return set_env(s, v, err);
    if (IS("workdir")) {
        if (!path_ok_abs(v))
            return bad(err, "--workdir", v, "an absolute path without '..'");
        return set_str(&s->workdir, v);
    }
    if (IS("user"))
        return set_user(s, v, err);
    if (IS("hostname"))
        return set_hostname(s, v, err);
    if (IS("volume"))
        return set_volume(s, v, err);
    if (IS("tmpfs"))
        return set_tmpfs(s, v, err);
    if (IS("read-only"))
        return set_bool_opt("--read-only", v, &s->read_only, err);
    if (IS("cap-add"))
        return set_caps(s, v, true, err);
    if (IS("cap-drop"))
        return set_caps(s, v, false, err);
    if (IS("tty"))
        return set_bool_opt("--tty", v, &s->tty, err);
    if (IS("interactive"))
        return set_bool_opt("--interactive", v, &s->interactive, err);
    if (IS("init"))
        return set_bool_opt("--init", v, &s->init, err);
    if (IS("privileged"))
        return set_bool_opt("--privileged", v, &s->privileged, err);
    if (IS("bare"))
        return set_bool_opt("--bare", v, &s->bare, err);
    if (IS("uts"))
        return set_ns_host("--uts", v, &s->host_uts, err);
    if (IS("ipc"))
        return set_ns_host("--ipc", v, &s->host_ipc, err);
    if (IS("pid"))
        return set_ns_host("--pid", v, &s->host_pid, err);
    if (IS("cgroupns"))
        return set_ns_host("--cgroupns", v, &s->host_cgroupns, err);
    if (IS("nat"))
        return set_bool_opt("--nat", v, &s->nat, err);
    if (IS("timeout"))
        return set_seconds_opt("--timeout", v, &s->timeout_ns, err);
    if (IS("kill-grace"))
        return set_seconds_opt("--kill-grace", v, &s->kill_grace_ns, err);
    if (IS("max-output"))
        return set_size_opt("--max-output", v, 0, &s->max_output, err);
    if (IS("upper-size"))
        return set_size_opt("--upper-size", v, 1 << 20, &s->upper_size, err);
    if (IS("memory"))
        return set_size_opt("--memory", v, 6ull << 20, &s->memory, err);
    if (IS("memory-reservation"))
        return set_size_opt("--memory-reservation", v, 1 << 20, &s->memory_reservation, err);
    if (IS("cpus"))
        return set_cpus(s, v, err);
    if (IS("cpu-shares")) {
        if (parse_u64(v, &n) < 0 || n < 2 || n > 262144)
            return bad(err, "--cpu-shares", v, "an integer from 2 to 262144");
        s->cpu_shares = n;
        return 0;
    }
    if (IS("cpu-weight")) {
        if (parse_u64(v, &n) < 0 || n < 1 || n > 10000)
            return bad(err, "--cpu-weight", v, "an integer from 1 to 10000");
        s->cpu_weight = n;
        return 0;
    }
    if (IS("cpuset-cpus"))
        return set_cpuset(s, v, err);
    if (IS("pids-limit")) {
        int64_t p;
        if (parse_i64(v, &p) < 0 || p < -1)
            return bad(err, "--pids-limit", v, "a positive integer, or 0/-1 for no limit");
        s->pids_limit = p <= 0 ? -1 : p;
        return 0;
    }
    if (IS("device-read-bps"))
        return set_io(s, SPEC_IO_READ_BPS, "--device-read-bps", v, err);
    if (IS("device-write-bps"))
        return set_io(s, SPEC_IO_WRITE_BPS, "--device-write-bps", v, err);
    if (IS("device-read-iops"))
        return set_io(s, SPEC_IO_READ_IOPS, "--device-read-iops", v, err);
    if (IS("device-write-iops"))
        return set_io(s, SPEC_IO_WRITE_IOPS, "--device-write-iops", v, err);
    if (IS("cgroup-parent")) {
        if (!*v || strstr(v, ".."))
            return bad(err, "--cgroup-parent", v, "a cgroup path without '..'");
        return set_str(&s->cgroup_parent, v);
    }
    if (IS("network"))
        return set_network(s, v, err);
    if (IS("security-opt"))
        return set_security_opt(s, v, err);
    if (IS("userns"))
        return set_userns(s, v, err);
#undef IS
    return hutch_err(err, EINVAL, "parse", o, "unknown option");
}

HUTCH_API int hutch_spec_set(struct hutch_spec *spec, const char *option, const char *value,
                             struct hutch_error **err)
{
    if (!spec)
        return hutch_err(err, EINVAL, "parse", option, "no spec");
    int r = spec_set(spec, option, value, err);
    if (r == -ENOMEM && err && !*err)
        return hutch_err(err, ENOMEM, NULL, option, "out of memory");
    return r;
}

/* --bare runs on the host as it is: what needs a namespace, a rootfs or a filter is refused
 * rather than silently dropped (the network is the host's; none is the default and means it). */
static int validate_bare(const struct hutch_spec *s, struct hutch_error **err)
{
    if (!s->bare)
        return 0;
    const char *bad_opt = s->rootfs                      ? "--rootfs"
                          : s->image                     ? "--image"
                          : s->nvolumes                  ? "--volume"
                          : s->ntmpfs                    ? "--tmpfs"
                          : s->read_only                 ? "--read-only"
                          : s->upper_size                ? "--upper-size"
                          : s->hostname                  ? "--hostname"
                          : s->userns != SPEC_USERNS_HOST ? "--userns"
                          : s->privileged                ? "--privileged"
                          : s->seccomp                   ? "--security-opt seccomp"
                          : (s->cap_add || s->cap_drop || s->cap_drop_all) ? "--cap-add/--cap-drop"
                          : (s->net != SPEC_NET_NONE && s->net != SPEC_NET_HOST) ? "--network"
                                                         : NULL;
    if (bad_opt)
        return hutch_err(err, EINVAL, "validate", bad_opt,
                         "not available with --bare or container: none (a host process: no "
                         "namespaces, rootfs, mounts, seccomp filter or capability changes)");
    if (s->argc == 0)
        return hutch_err(err, EINVAL, "validate", "command", "--bare needs a command");
    return 0;
}

int spec_validate(const struct hutch_spec *s, struct hutch_error **err)
{
    if (s->rootfs && s->image)
        return hutch_err(err, EINVAL, "validate", "--rootfs",
                         "give either --rootfs or an image, not both");
    if (s->memory_reservation && s->memory && s->memory_reservation > s->memory)
        return hutch_err(err, EINVAL, "validate", "--memory-reservation",
                         "must not be larger than --memory");
    if (s->cpu_shares && s->cpu_weight)
        return hutch_err(err, EINVAL, "validate", "--cpu-weight",
                         "give either --cpu-shares or --cpu-weight, not both");
    if (s->userns == SPEC_USERNS_HOST && s->userns_map)
        return hutch_err(err, EINVAL, "validate", "--userns", "a map needs user namespaces");
    if (s->tty && s->interactive == false) {
        /* docker allows -t without -i: the terminal has no input then; fine */
    }
    int r = validate_bare(s, err);
    if (r < 0)
        return r;
    if (s->host_uts && s->hostname)
        return hutch_err(err, EINVAL, "validate", "--hostname",
                         "the host's UTS namespace (--uts host) keeps the host's name");
    /* proc, mqueue and cgroup2 are mounted for the sandbox: a user namespace may mount them only
     * over namespaces it owns */
    if (s->userns != SPEC_USERNS_HOST && (s->host_ipc || s->host_pid || s->host_cgroupns))
        return hutch_err(err, EINVAL, "validate", "--userns",
                         "--ipc, --pid and --cgroupns host need --userns host");
    for (int i = 0; i < s->nvolumes; i++)
        for (int j = i + 1; j < s->nvolumes; j++)
            if (!strcmp(s->volumes[i].dst, s->volumes[j].dst))
                return hutch_err(err, EINVAL, "validate", "--volume",
                                 "two volumes have the destination %s", s->volumes[i].dst);
    return 0;
}
