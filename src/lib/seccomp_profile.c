/* SPDX-License-Identifier: MIT */
/*
 * Docker / OCI seccomp profiles (JSON) -> the rules that apply to one arch and capability set.
 * Pure code: jansson for the syntax, libseccomp only to resolve names. Every error names the
 * file, the line and the field ("default.json:12: syscalls[3].names[1]: unknown syscall"); the
 * line lookup and seccomp_profile_err() are in seccomp_profile_line.c.
 */
#include "seccomp_profile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "util.h"

#define FIELD_MAX 128
#define MAX_ERRNO 4095

/* ---------------------------------------------------------------- the parser */

struct parser {
    struct seccomp_profile *p;
    const struct seccomp_profile_env *env;
    struct hutch_error **err;
};

#define perr(ps, field, ...) seccomp_profile_err((ps)->p, (ps)->err, EINVAL, field, __VA_ARGS__)

/* Field paths such as "syscalls[3].args[0].op" (truncated past FIELD_MAX: still readable). */
static void field_fmt(char buf[FIELD_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void field_fmt(char buf[FIELD_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, FIELD_MAX, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- small typed getters */

/* Unknown fields are errors (a typo must not silently drop a rule); "comment" is everywhere. */
static int check_keys(struct parser *ps, json_t *obj, const char *prefix,
                      const char *const *allowed)
{
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        bool ok = !strcmp(key, "comment");
        for (const char *const *a = allowed; !ok && *a; a++)
            ok = !strcmp(key, *a);
        if (!ok) {
            char f[FIELD_MAX];
            field_fmt(f, "%s%s%.64s", prefix, *prefix ? "." : "", key);
            return perr(ps, f, "unknown field");
        }
    }
    return 0;
}

static int get_u64(struct parser *ps, json_t *v, const char *field, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v))
        return perr(ps, field, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n > max)
        return perr(ps, field, "%lld is out of range (0..%llu)", (long long)n,
                    (unsigned long long)max);
    *out = (uint64_t)n;
    return 0;
}

static int get_string(struct parser *ps, json_t *v, const char *field, const char **out)
{
    if (!v)
        return perr(ps, field, "missing");
    if (!json_is_string(v) || !*json_string_value(v))
        return perr(ps, field, "must be a non-empty string");
    *out = json_string_value(v);
    return 0;
}

/* null and a missing array are the same: empty. */
static int get_array(struct parser *ps, json_t *v, const char *field, size_t *n)
{
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return perr(ps, field, "must be an array");
    *n = json_array_size(v);
    return 0;
}

/* ---------------------------------------------------------------- actions */

static const struct {
    const char *name;
    uint32_t action;
} actions[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

int seccomp_profile_action(const char *name, uint32_t *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
        if (!strcmp(name, actions[i].name)) {
            *out = actions[i].action;
            return 0;
        }
    return !strcmp(name, "SCMP_ACT_NOTIFY") ? -EOPNOTSUPP : -EINVAL;
}

/*
 * action + errnoRet -> a libseccomp action. Without errnoRet, ERRNO and TRACE return `dflt`
 * (runc's choice: EPERM for rules, defaultErrnoRet for the default action).
 */
static int parse_action(struct parser *ps, json_t *v, const char *field, json_t *ret,
                        const char *ret_field, uint32_t dflt, uint32_t *out)
{
    const char *name;
    int r = get_string(ps, v, field, &name);
    if (r < 0)
        return r;
    uint32_t act;
    r = seccomp_profile_action(name, &act);
    if (r == -EOPNOTSUPP)
        return seccomp_profile_err(ps->p, ps->err, EOPNOTSUPP, field,
                                   "SCMP_ACT_NOTIFY is not supported (hutch runs no seccomp "
                                   "agent to answer notifications)");
    if (r < 0)
        return perr(ps, field,
                    "unknown action \"%.64s\" (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "
                    "SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, "
                    "SCMP_ACT_TRACE or SCMP_ACT_LOG)",
                    name);
    bool takes_data = act == SCMP_ACT_ERRNO(0) || act == SCMP_ACT_TRACE(0);
    uint64_t data = dflt;
    if (ret && !json_is_null(ret)) {
        if (!takes_data)
            return perr(ps, ret_field, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a value");
        r = get_u64(ps, ret, ret_field, act == SCMP_ACT_ERRNO(0) ? MAX_ERRNO : 0xffff, &data);
        if (r < 0)
            return r;
    }
    *out = takes_data ? act | (uint32_t)data : act;
    return 0;
}

/* ---------------------------------------------------------------- architectures */

static const struct {
    uint32_t arch;
    const char *name;
} arch_names[] = {
    {SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64"}, {SCMP_ARCH_X86, "SCMP_ARCH_X86"},
    {SCMP_ARCH_X32, "SCMP_ARCH_X32"},       {SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64"},
    {SCMP_ARCH_ARM, "SCMP_ARCH_ARM"},       {SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE"},
    {SCMP_ARCH_S390X, "SCMP_ARCH_S390X"},   {SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64"},
};

static const char *arch_name(uint32_t arch)
{
    for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
        if (arch_names[i].arch == arch)
            return arch_names[i].name;
    return "the native architecture";
}

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64, 0 if unknown. */
static uint32_t arch_from_name(const char *name)
{
    if (strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name) > 40)
        return 0;
    char lower[32];
    size_t i = 0;
    for (const char *s = name + 10; *s; s++)
        lower[i++] = (char)tolower((unsigned char)*s);
    lower[i] = '\0';
    return i ? seccomp_arch_resolve_name(lower) : 0;
}

/* The arches that can issue syscalls on a kernel of the native arch: the only ones worth
 * filtering (no other can ever appear in seccomp_data.arch here). */
static const struct {
    uint32_t native;
    uint32_t compat[2];
} compat_arches[] = {
    {SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
    {SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM, 0}},
    {SCMP_ARCH_S390X, {SCMP_ARCH_S390, 0}},
    {SCMP_ARCH_PPC64, {SCMP_ARCH_PPC, 0}},
    {SCMP_ARCH_MIPS64, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32}},
    {SCMP_ARCH_MIPSEL64, {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32}},
};

static bool arch_is_compat(uint32_t native, uint32_t arch)
{
    for (size_t i = 0; i < ARRAY_SIZE(compat_arches); i++)
        if (compat_arches[i].native == native)
            return arch == compat_arches[i].compat[0] || arch == compat_arches[i].compat[1];
    return false;
}

static void profile_add_arch(struct seccomp_profile *p, uint32_t arch)
{
    for (size_t i = 0; i < p->narches; i++)
        if (p->arches[i] == arch)
            return;
    if (p->narches < SECCOMP_PROFILE_MAX_ARCHES)
        p->arches[p->narches++] = arch;
}

/* Check a list of SCMP_ARCH_* names; with add, keep those that are compat arches of ours. */
static int parse_arch_list(struct parser *ps, json_t *list, const char *field, bool add,
                           bool *has_native)
{
    size_t n;
    int r = get_array(ps, list, field, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        char f[FIELD_MAX];
        field_fmt(f, "%s[%zu]", field, i);
        const char *name;
        if ((r = get_string(ps, json_array_get(list, i), f, &name)) < 0)
            break;
        uint32_t arch = arch_from_name(name);
        if (!arch)
            return perr(ps, f, "unknown architecture \"%.64s\" (expected SCMP_ARCH_X86_64, ...)",
                        name);
        if (arch == ps->env->arch && has_native)
            *has_native = true;
        if (add && arch_is_compat(ps->env->arch, arch))
            profile_add_arch(ps->p, arch);
    }
    return r;
}

/* Docker's archMap: use the entry of the native arch (none: the native arch alone). */
static int parse_arch_map(struct parser *ps, json_t *map)
{
    static const char *const keys[] = {"architecture", "subArchitectures", NULL};
    size_t n;
    int r = get_array(ps, map, "archMap", &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        char f[FIELD_MAX], fa[FIELD_MAX], fs[FIELD_MAX];
        field_fmt(f, "archMap[%zu]", i);
        field_fmt(fa, "archMap[%zu].architecture", i);
        field_fmt(fs, "archMap[%zu].subArchitectures", i);
        json_t *e = json_array_get(map, i);
        if (!json_is_object(e))
            return perr(ps, f, "must be an object");
        const char *name;
        if ((r = check_keys(ps, e, f, keys)) < 0 ||
            (r = get_string(ps, json_object_get(e, "architecture"), fa, &name)) < 0)
            return r;
        uint32_t arch = arch_from_name(name);
        if (!arch)
            return perr(ps, fa, "unknown architecture \"%.64s\"", name);
        r = parse_arch_list(ps, json_object_get(e, "subArchitectures"), fs, arch == ps->env->arch,
                            NULL);
    }
    return r;
}

static int parse_arches(struct parser *ps, json_t *root)
{
    json_t *list = json_object_get(root, "architectures");
    json_t *map = json_object_get(root, "archMap");
    ps->p->arches[0] = ps->env->arch;
    ps->p->narches = 1;
    if (list && map)
        return perr(ps, "archMap", "use either \"architectures\" or \"archMap\", not both");
    if (map)
        return parse_arch_map(ps, map);
    bool has_native = false;
    int r = parse_arch_list(ps, list, "architectures", true, &has_native);
    if (r < 0)
        return r;
    /* A filter without the native arch would refuse every syscall, execve included. */
    if (json_array_size(list) > 0 && !has_native)
        return perr(ps, "architectures", "does not list the native architecture (%s)",
                    arch_name(ps->env->arch));
    return 0;
}

/* ---------------------------------------------------------------- includes / excludes */

/* includes/excludes "arches" use Docker's (Go) names; libseccomp's are accepted too. */
static const char *const go_arch_names[][2] = {
    {"amd64", "x86_64"},      {"386", "x86"},        {"arm64", "aarch64"}, {"ppc64le", "ppc64le"},
    {"ppc64", "ppc64"},       {"s390x", "s390x"},    {"s390", "s390"},     {"riscv64", "riscv64"},
    {"mips64le", "mipsel64"}, {"mipsle", "mipsel"},  {"mips64", "mips64"}, {"mips", "mips"},
    {"loong64", NULL},        {"loongarch64", NULL}, {"mips64n32", NULL},  {"mips64len32", NULL},
};

/* 0: unknown name; 1: the native arch; 2: another arch */
static int cond_arch(const char *name, uint32_t native)
{
    const char *lib = name;
    for (size_t i = 0; i < ARRAY_SIZE(go_arch_names); i++)
        if (!strcmp(name, go_arch_names[i][0])) {
            if (!go_arch_names[i][1])
                return 2; /* an arch this libseccomp may not know; never ours */
            lib = go_arch_names[i][1];
        }
    uint32_t arch = seccomp_arch_resolve_name(lib);
    if (!arch)
        return 0;
    return arch == native ? 1 : 2;
}

struct cond {
    bool has_caps, caps_all, caps_any;
    bool has_arches, arch_native;
    bool has_kernel, kernel_ge;
};

static int parse_min_kernel(struct parser *ps, json_t *v, const char *field, struct cond *c)
{
    const char *s;
    int r = get_string(ps, v, field, &s);
    if (r < 0)
        return r;
    char *end;
    unsigned long major = isdigit((unsigned char)s[0]) ? strtoul(s, &end, 10) : 0;
    unsigned long minor = 0;
    bool ok = isdigit((unsigned char)s[0]) && *end == '.' && isdigit((unsigned char)end[1]);
    if (ok) {
        minor = strtoul(end + 1, &end, 10);
        ok = !*end && major < 1000 && minor < 1000;
    }
    if (!ok)
        return perr(ps, field, "\"%.32s\" is not a kernel version like \"4.8\"", s);
    c->has_kernel = true;
    c->kernel_ge = ps->env->kernel_major > major ||
                   (ps->env->kernel_major == major && ps->env->kernel_minor >= minor);
    return 0;
}

static int parse_cond(struct parser *ps, json_t *obj, const char *field, struct cond *c)
{
    static const char *const keys[] = {"caps", "arches", "minKernel", NULL};
    *c = (struct cond){.caps_all = true};
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return perr(ps, field, "must be an object");
    int r = check_keys(ps, obj, field, keys);
    json_t *caps = json_object_get(obj, "caps"), *arches = json_object_get(obj, "arches");
    char f[FIELD_MAX];
    size_t n = 0;
    field_fmt(f, "%s.caps", field);
    r = r ?: get_array(ps, caps, f, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *name;
        field_fmt(f, "%s.caps[%zu]", field, i);
        if ((r = get_string(ps, json_array_get(caps, i), f, &name)) < 0)
            break;
        int cap = spec_cap_from_name(name);
        if (cap < 0)
            return perr(ps, f, "unknown capability \"%.64s\"", name);
        bool held = (ps->env->caps >> cap) & 1;
        c->has_caps = true;
        c->caps_all &= held;
        c->caps_any |= held;
    }
    field_fmt(f, "%s.arches", field);
    r = r ?: get_array(ps, arches, f, &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *name;
        field_fmt(f, "%s.arches[%zu]", field, i);
        if ((r = get_string(ps, json_array_get(arches, i), f, &name)) < 0)
            break;
        int a = cond_arch(name, ps->env->arch);
        if (!a)
            return perr(ps, f, "unknown architecture \"%.64s\" (expected e.g. amd64, arm64)", name);
        c->has_arches = true;
        c->arch_native |= a == 1;
    }
    field_fmt(f, "%s.minKernel", field);
    if (r == 0 && json_object_get(obj, "minKernel"))
        r = parse_min_kernel(ps, json_object_get(obj, "minKernel"), f, c);
    return r;
}

/* Docker's semantics: includes needs every listed cap, the native arch listed and a new
 * enough kernel; excludes drops the entry if any one of its criteria holds. */
static bool cond_includes(const struct cond *c)
{
    return (!c->has_caps || c->caps_all) && (!c->has_arches || c->arch_native) &&
           (!c->has_kernel || c->kernel_ge);
}

static bool cond_excludes(const struct cond *c)
{
    return (c->has_caps && c->caps_any) || (c->has_arches && c->arch_native) ||
           (c->has_kernel && c->kernel_ge);
}

/* ---------------------------------------------------------------- syscall entries */

static const struct {
    const char *name;
    enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define MAX_ARGS 64 /* per entry; a real profile has at most a handful */

static int parse_arg(struct parser *ps, json_t *a, const char *field, struct seccomp_arg *out)
{
    static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
    char f[FIELD_MAX];
    if (!json_is_object(a))
        return perr(ps, field, "must be an object");
    int r = check_keys(ps, a, field, keys);
    if (r < 0)
        return r;
    uint64_t index;
    field_fmt(f, "%s.index", field);
    if (!json_object_get(a, "index"))
        return perr(ps, f, "missing");
    if ((r = get_u64(ps, json_object_get(a, "index"), f, 5, &index)) < 0)
        return r;
    out->index = (unsigned)index;
    /* MASKED_EQ: value is the mask, valueTwo what the masked argument must equal (OCI) */
    out->value = out->value_two = 0;
    field_fmt(f, "%s.value", field);
    if (json_object_get(a, "value") &&
        (r = get_u64(ps, json_object_get(a, "value"), f, UINT64_MAX, &out->value)) < 0)
        return r;
    field_fmt(f, "%s.valueTwo", field);
    if (json_object_get(a, "valueTwo") &&
        (r = get_u64(ps, json_object_get(a, "valueTwo"), f, UINT64_MAX, &out->value_two)) < 0)
        return r;
    const char *op;
    field_fmt(f, "%s.op", field);
    if ((r = get_string(ps, json_object_get(a, "op"), f, &op)) < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (!strcmp(op, ops[i].name)) {
            out->op = ops[i].op;
            return 0;
        }
    return perr(ps, f,
                "unknown operator \"%.64s\" (expected SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
                "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ)",
                op);
}

static int parse_args(struct parser *ps, json_t *e, const char *prefix, struct seccomp_entry *out)
{
    char f[FIELD_MAX];
    json_t *args = json_object_get(e, "args");
    size_t n;
    field_fmt(f, "%s.args", prefix);
    int r = get_array(ps, args, f, &n);
    if (r < 0 || n == 0)
        return r;
    if (n > MAX_ARGS)
        return perr(ps, f, "more than %d conditions", MAX_ARGS);
    out->args = calloc(n, sizeof(*out->args));
    if (!out->args)
        return hutch_err(ps->err, ENOMEM, "parse", ps->p->file, "out of memory");
    for (size_t i = 0; i < n; i++, out->nargs++) {
        field_fmt(f, "%s.args[%zu]", prefix, i);
        if ((r = parse_arg(ps, json_array_get(args, i), f, &out->args[i])) < 0)
            return r;
    }
    return 0;
}

static int add_name(struct parser *ps, json_t *v, const char *field, struct seccomp_entry *out)
{
    const char *name;
    int r = get_string(ps, v, field, &name);
    if (r < 0)
        return r;
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return perr(ps, field, "unknown syscall \"%.64s\"", name);
    if (nr > ps->p->max_nr)
        ps->p->max_nr = nr;
    out->names[out->nnames] = name;
    out->nrs[out->nnames++] = nr;
    return 0;
}

/* "names": [...] or Docker's old "name": "..." */
static int parse_names(struct parser *ps, json_t *e, const char *prefix, struct seccomp_entry *out)
{
    char f[FIELD_MAX];
    json_t *names = json_object_get(e, "names"), *name = json_object_get(e, "name");
    if (names && name) {
        field_fmt(f, "%s.name", prefix);
        return perr(ps, f, "use either \"name\" or \"names\", not both");
    }
    if (!names && !name)
        return perr(ps, prefix, "needs \"names\" (the syscalls the entry is about)");
    size_t n = 1;
    field_fmt(f, "%s.names", prefix);
    int r = name ? 0 : get_array(ps, names, f, &n);
    if (r < 0)
        return r;
    out->names = calloc(n ? n : 1, sizeof(*out->names));
    out->nrs = calloc(n ? n : 1, sizeof(*out->nrs));
    if (!out->names || !out->nrs)
        return hutch_err(ps->err, ENOMEM, "parse", ps->p->file, "out of memory");
    if (name) {
        field_fmt(f, "%s.name", prefix);
        return add_name(ps, name, f, out);
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        field_fmt(f, "%s.names[%zu]", prefix, i);
        r = add_name(ps, json_array_get(names, i), f, out);
    }
    return r;
}

static void entry_free(struct seccomp_entry *e)
{
    free(e->names);
    free(e->nrs);
    free(e->args);
    *e = (struct seccomp_entry){0};
}

/* Parse syscalls[i] in full (even when it does not apply: a typo is an error on every host),
 * and keep it when its includes/excludes select it. */
static int parse_entry(struct parser *ps, json_t *e, size_t i)
{
    static const char *const keys[] = {"names", "name",     "action",   "errnoRet",
                                       "args",  "includes", "excludes", NULL};
    char prefix[FIELD_MAX], f[FIELD_MAX], fr[FIELD_MAX];
    field_fmt(prefix, "syscalls[%zu]", i);
    if (!json_is_object(e))
        return perr(ps, prefix, "must be an object");
    struct seccomp_entry ent = {.index = (unsigned)i};
    struct cond inc, exc;
    field_fmt(f, "%s.action", prefix);
    field_fmt(fr, "%s.errnoRet", prefix);
    json_t *action = json_object_get(e, "action"), *ret = json_object_get(e, "errnoRet");
    int r = check_keys(ps, e, prefix, keys);
    r = r ?: parse_names(ps, e, prefix, &ent);
    r = r ?: parse_action(ps, action, f, ret, fr, EPERM, &ent.action);
    r = r ?: parse_args(ps, e, prefix, &ent);
    field_fmt(f, "%s.includes", prefix);
    r = r ?: parse_cond(ps, json_object_get(e, "includes"), f, &inc);
    field_fmt(f, "%s.excludes", prefix);
    r = r ?: parse_cond(ps, json_object_get(e, "excludes"), f, &exc);
    if (r < 0 || !cond_includes(&inc) || cond_excludes(&exc)) {
        entry_free(&ent);
        return r;
    }
    ps->p->entries[ps->p->nentries++] = ent;
    return 0;
}

/*
 * libseccomp lets an unconditional rule silently win over every other rule of the same
 * syscall (whatever the order), so "allow ioctl" + "deny ioctl TIOCSTI" would quietly allow
 * TIOCSTI. Refuse such profiles instead of compiling something the author did not mean.
 */
static int check_conflicts(struct parser *ps)
{
    struct seccomp_profile *p = ps->p;
    if (p->max_nr < 0)
        return 0;
    _cleanup_free_ size_t *owner = calloc((size_t)p->max_nr + 1, sizeof(*owner));
    if (!owner)
        return hutch_err(ps->err, ENOMEM, "parse", p->file, "out of memory");
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->nentries; i++) {
            struct seccomp_entry *e = &p->entries[i];
            if ((pass == 0) != (e->nargs == 0))
                continue;
            for (size_t j = 0; j < e->nnames; j++) {
                int nr = e->nrs[j];
                if (nr < 0)
                    continue;
                if (!owner[nr] && pass == 0)
                    owner[nr] = i + 1;
                const struct seccomp_entry *o = owner[nr] ? &p->entries[owner[nr] - 1] : NULL;
                if (o && o->action != e->action) {
                    char f[FIELD_MAX];
                    field_fmt(f, "syscalls[%u].names", e->index);
                    return perr(ps, f,
                                "\"%s\" already has a different unconditional action in "
                                "syscalls[%u] (libseccomp would ignore this entry)",
                                e->names[j], o->index);
                }
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- the profile */

static int parse_flags(struct parser *ps, json_t *flags)
{
    size_t n;
    int r = get_array(ps, flags, "flags", &n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        char f[FIELD_MAX];
        const char *s;
        field_fmt(f, "flags[%zu]", i);
        if ((r = get_string(ps, json_array_get(flags, i), f, &s)) < 0)
            break;
        if (!strcmp(s, "SECCOMP_FILTER_FLAG_LOG"))
            ps->p->load_flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (!strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
            ps->p->load_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC") != 0) /* one thread: nothing to sync */
            return perr(ps, f, "unsupported flag \"%.64s\"", s);
    }
    return r;
}

static int parse_top(struct parser *ps, json_t *root)
{
    static const char *const keys[] = {"defaultAction", "defaultErrnoRet",  "architectures",
                                       "archMap",       "syscalls",         "flags",
                                       "listenerPath",  "listenerMetadata", NULL};
    if (!json_is_object(root))
        return perr(ps, "", "a seccomp profile must be a JSON object");
    int r = check_keys(ps, root, "", keys);
    if (r < 0)
        return r;
    if (json_object_get(root, "listenerPath") || json_object_get(root, "listenerMetadata"))
        return seccomp_profile_err(ps->p, ps->err, EOPNOTSUPP, "listenerPath",
                                   "seccomp notify listeners are not supported");
    json_t *dflt = json_object_get(root, "defaultAction");
    if (!dflt)
        return perr(ps, "defaultAction", "missing (e.g. \"SCMP_ACT_ERRNO\")");
    r = parse_action(ps, dflt, "defaultAction", json_object_get(root, "defaultErrnoRet"),
                     "defaultErrnoRet", EPERM, &ps->p->default_action);
    r = r ?: parse_arches(ps, root);
    r = r ?: parse_flags(ps, json_object_get(root, "flags"));
    if (r < 0)
        return r;
    json_t *calls = json_object_get(root, "syscalls");
    size_t n;
    if (!calls)
        return perr(ps, "syscalls", "missing (the list of rules)");
    if ((r = get_array(ps, calls, "syscalls", &n)) < 0)
        return r;
    ps->p->entries = calloc(n ? n : 1, sizeof(*ps->p->entries));
    if (!ps->p->entries)
        return hutch_err(ps->err, ENOMEM, "parse", ps->p->file, "out of memory");
    for (size_t i = 0; r == 0 && i < n; i++)
        r = parse_entry(ps, json_array_get(calls, i), i);
    return r ?: check_conflicts(ps);
}

int seccomp_profile_parse(const char *text, size_t len, const char *file,
                          const struct seccomp_profile_env *env, struct seccomp_profile **out,
                          struct hutch_error **err)
{
    struct seccomp_profile *p = calloc(1, sizeof(*p));
    if (!p || !(p->file = strdup(file))) {
        free(p);
        return hutch_err(err, ENOMEM, "parse", file, "out of memory");
    }
    p->text = text;
    p->text_len = len;
    p->max_nr = -1;
    json_error_t je;
    p->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!p->root) {
        char where[FIELD_MAX + 16];
        snprintf(where, sizeof(where), "%.*s:%d", FIELD_MAX, file, je.line > 0 ? je.line : 1);
        int r = hutch_err(err, EINVAL, "parse", where, "malformed JSON: %s (column %d)", je.text,
                          je.column);
        seccomp_profile_free(p);
        return r;
    }
    struct parser ps = {.p = p, .env = env, .err = err};
    int r = parse_top(&ps, p->root);
    if (r < 0) {
        seccomp_profile_free(p);
        return r;
    }
    *out = p;
    return 0;
}

void seccomp_profile_free(struct seccomp_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nentries; i++)
        entry_free(&p->entries[i]);
    free(p->entries);
    json_decref(p->root);
    free(p->file);
    free(p);
}
