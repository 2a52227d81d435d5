/* SPDX-License-Identifier: MIT */
/*
 * The job file parser (jobfile.h): the walk, its helpers, the sandbox settings and the
 * document. A document tree from libyaml is walked once; each key has a handler that checks the
 * node's type and value (the job-only keys are in jobfile_job.c). Aliases may make the tree a DAG
 * that expands exponentially ("billion laughs"), so every walk counts the nodes it visits and stops
 * early.
 */
#include "jobfile_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "spec.h"
#include "util.h"

/* ---------------------------------------------------------------- errors and helpers */

int jobfile_err(struct hutch_error **err, int errnum, const char *file, struct job_mark at,
                const char *fmt, ...)
{
    char subject[PATH_MAX + 32], *msg = NULL;
    if (at.line > 0)
        snprintf(subject, sizeof(subject), "%s:%d:%d", file, at.line, at.col);
    else
        snprintf(subject, sizeof(subject), "%s", file);
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    int r = hutch_err(err, errnum, "parse", subject, "%s", n < 0 ? "error" : msg);
    free(msg);
    return r;
}

struct job_mark jp_mark(const yaml_node_t *n)
{
    return (struct job_mark){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

int jp_err(struct jp *p, const yaml_node_t *n, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    r = jobfile_err(p->err, EINVAL, p->file, jp_mark(n), "%s", r < 0 ? "error" : msg);
    free(msg);
    return r;
}

int jp_oom(struct jp *p)
{
    return hutch_err(p->err, ENOMEM, NULL, p->file, "out of memory");
}

const char *jp_type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a map";
    default:
        return "nothing";
    }
}

yaml_node_t *jp_node(struct jp *p, int id)
{
    p->visits++;
    return yaml_document_get_node(p->doc, id);
}

bool jp_is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

/* The scalar's text, or NULL (with an error) if n is not a scalar or holds a NUL byte. */
const char *jp_scalar(struct jp *p, yaml_node_t *n, const char *path, const char *want)
{
    if (!jp_is_scalar(n)) {
        jp_err(p, n, "%s: expected %s, got %s", path, want, jp_type_name(n));
        return NULL;
    }
    const char *s = (const char *)n->data.scalar.value;
    if (strlen(s) != n->data.scalar.length) {
        jp_err(p, n, "%s: contains a NUL byte", path);
        return NULL;
    }
    return s;
}

bool jp_plain_null(const yaml_node_t *n)
{
    if (!jp_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A non-empty string (any scalar: `user: 1000` is the string "1000"). */
const char *jp_str(struct jp *p, yaml_node_t *n, const char *path)
{
    if (jp_plain_null(n)) {
        jp_err(p, n, "%s: expected a value", path);
        return NULL;
    }
    const char *s = jp_scalar(p, n, path, "a string");
    if (s && !*s) {
        jp_err(p, n, "%s: must not be empty", path);
        return NULL;
    }
    return s;
}

int jp_bool(struct jp *p, yaml_node_t *n, const char *path, bool *out)
{
    const char *s = jp_scalar(p, n, path, "true or false");
    if (!s)
        return -EINVAL;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
        *out = true;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
        *out = false;
    else
        return jp_err(p, n, "%s: expected true or false, got '%s'", path, s);
    return 0;
}

int jp_dup(struct jp *p, char **dst, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return jp_oom(p);
    free(*dst);
    *dst = c;
    return 0;
}

int jp_strv_add(char ***v, int *n, const char *s)
{
    char **nv = realloc(*v, sizeof(char *) * (size_t)(*n + 2));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -ENOMEM;
    nv[++*n] = NULL;
    return 0;
}

bool jp_path_abs_ok(const char *s)
{
    return s[0] == '/' && (s[1] == '\0' || jobfile_relpath_ok(s + 1)) && strlen(s) < PATH_MAX;
}

bool jobfile_relpath_ok(const char *s)
{
    if (!s || !*s || s[0] == '/' || strlen(s) >= PATH_MAX)
        return false;
    for (const char *c = s; *c;) {
        const char *e = strchrnul(c, '/');
        size_t n = (size_t)(e - c);
        if (n == 0 && *e) /* "a//b" */
            return false;
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c = *e ? e + 1 : e;
    }
    return true;
}

bool jobfile_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* ---------------------------------------------------------------- walking maps and lists */

/* Call fn for n itself (a scalar or map, when single is allowed) or for each item of a list. */
int jp_each(struct jp *p, yaml_node_t *n, const char *path, bool single, item_fn fn)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        if (!single)
            return jp_err(p, n, "%s: expected a list, got %s", path, jp_type_name(n));
        return fn(p, n, path);
    }
    int i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        if (p->visits > MAX_VISITS)
            return jp_err(p, n, "%s: too many nodes", path);
        char sub[256];
        snprintf(sub, sizeof(sub), "%s[%d]", path, i);
        int r = fn(p, jp_node(p, *it), sub);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Dispatch each key of map n to its handler in keys[]; unknown or repeated keys are errors. */
int jp_walk_map(struct jp *p, yaml_node_t *n, const char *path, const struct key *keys,
                size_t nkeys)
{
    if (n->type != YAML_MAPPING_NODE)
        return jp_err(p, n, "%s: expected a map, got %s", *path ? path : "the job file",
                      jp_type_name(n));
    uint64_t seen = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = jp_node(p, pr->key), *v = jp_node(p, pr->value);
        if (p->visits > MAX_VISITS)
            return jp_err(p, n, "%s: too many nodes", path);
        const char *name = jp_scalar(p, k, *path ? path : "key", "a key name");
        if (!name)
            return -EINVAL;
        size_t i = 0;
        while (i < nkeys && strcmp(keys[i].name, name))
            i++;
        char sub[256];
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", name);
        if (i == nkeys || (keys[i].job_only && (p->flags & JOBFILE_PROFILE)))
            return jp_err(p, k, "unknown key '%s'%s", sub,
                          i < nkeys ? " (not allowed in a profile)" : "");
        if (seen & (1ull << i))
            return jp_err(p, k, "duplicate key '%s'", sub);
        seen |= 1ull << i;
        int r = keys[i].fn(p, v, sub);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A sandbox option: checked on the scratch spec now, applied to the real one later. */
static int setting(struct jp *p, yaml_node_t *n, const char *path, const char *option,
                   const char *value)
{
    struct jobfile *jf = p->jf;
    if (spec_set(p->scratch, option, value, p->err) < 0)
        return jp_err(p, n, "%s: invalid value", path);
    struct job_setting *ns = realloc(jf->settings, sizeof(*ns) * (size_t)(jf->nsettings + 1));
    if (!ns)
        return jp_oom(p);
    jf->settings = ns;
    struct job_setting *s = &ns[jf->nsettings];
    s->option = strdup(option);
    s->value = strdup(value);
    s->at = jp_mark(n);
    if (!s->option || !s->value) {
        free(s->option);
        free(s->value);
        return jp_oom(p);
    }
    jf->nsettings++;
    return 0;
}

static int str_setting(struct jp *p, yaml_node_t *n, const char *path, const char *option)
{
    const char *v = jp_str(p, n, path);
    return v ? setting(p, n, path, option, v) : -EINVAL;
}

static int bool_setting(struct jp *p, yaml_node_t *n, const char *path, const char *option)
{
    bool b;
    int r = jp_bool(p, n, path, &b);
    return r < 0 ? r : setting(p, n, path, option, b ? "true" : "false");
}

/* "90", "1.5", "30s", "5m", "2h" → seconds as text for the spec's parser */
static int duration_setting(struct jp *p, yaml_node_t *n, const char *path, const char *option)
{
    const char *v = jp_str(p, n, path);
    if (!v)
        return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    double mul = 1;
    if (end != v && end[0] && !end[1])
        mul = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 0;
    else if (end == v || *end)
        mul = 0;
    if (errno || mul == 0 || !(d >= 0) || d * mul > 1e9 || !isdigit((unsigned char)v[0]))
        return jp_err(p, n, "%s: expected a duration such as 90, 1.5, 30s, 5m or 2h, got '%s'",
                      path, v);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.9g", d * mul);
    return setting(p, n, path, option, buf);
}

/* ---------------------------------------------------------------- sandbox settings */

static int k_network(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "network");
}

static int k_user(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "user");
}

static int k_hostname(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "hostname");
}

static int k_workdir(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "workdir");
}

static int k_max_output(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "max-output");
}

static int k_read_only(struct jp *p, yaml_node_t *n, const char *path)
{
    return bool_setting(p, n, path, "read-only");
}

static int k_timeout(struct jp *p, yaml_node_t *n, const char *path)
{
    return duration_setting(p, n, path, "timeout");
}

static int k_kill_grace(struct jp *p, yaml_node_t *n, const char *path)
{
    return duration_setting(p, n, path, "kill-grace");
}

static int tmpfs_item(struct jp *p, yaml_node_t *n, const char *path)
{
    if (jp_is_scalar(n))
        return str_setting(p, n, path, "tmpfs");
    if (n->type != YAML_MAPPING_NODE)
        return jp_err(p, n, "%s: expected a path or {path, size, mode}, got %s", path,
                      jp_type_name(n));
    const char *dst = NULL, *size = NULL, *mode = NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = jp_node(p, pr->key), *v = jp_node(p, pr->value);
        const char *name = jp_scalar(p, k, path, "a key name");
        const char **slot = !name                   ? NULL
                            : !strcmp(name, "path") ? &dst
                            : !strcmp(name, "size") ? &size
                            : !strcmp(name, "mode") ? &mode
                                                    : NULL;
        if (!name)
            return -EINVAL;
        if (!slot)
            return jp_err(p, k, "unknown key '%s.%s' (path, size, mode)", path, name);
        if (*slot)
            return jp_err(p, k, "duplicate key '%s.%s'", path, name);
        if (!(*slot = jp_str(p, v, path)))
            return -EINVAL;
    }
    if (!dst)
        return jp_err(p, n, "%s: needs a path", path);
    char buf[PATH_MAX + 128];
    int len = snprintf(buf, sizeof(buf), "%s", dst);
    if (size || mode)
        snprintf(buf + len, sizeof(buf) - (size_t)len, ":%s%s%s%s%s", size ? "size=" : "",
                 size ? size : "", size && mode ? "," : "", mode ? "mode=" : "", mode ? mode : "");
    return setting(p, n, path, "tmpfs", buf);
}

static int k_tmpfs(struct jp *p, yaml_node_t *n, const char *path)
{
    return jp_each(p, n, path, true, tmpfs_item);
}

/* env: a map KEY: VALUE or a list of "KEY=VALUE". No bare KEY: a job file must not be able to
 * pull the caller's environment (tokens, keys) into the sandbox. */
static int env_entry(struct jp *p, yaml_node_t *n, const char *path, const char *key,
                     const char *val)
{
    if (!*key || strchr(key, '=') || strpbrk(key, " \t\n"))
        return jp_err(p, n, "%s: '%s' is not a variable name", path, key);
    _cleanup_free_ char *kv = NULL;
    if (asprintf(&kv, "%s=%s", key, val) < 0)
        return jp_oom(p);
    return setting(p, n, path, "env", kv);
}

static int env_item(struct jp *p, yaml_node_t *n, const char *path)
{
    const char *s = jp_str(p, n, path);
    if (!s)
        return -EINVAL;
    const char *eq = strchr(s, '=');
    if (!eq)
        return jp_err(p, n, "%s: expected KEY=VALUE, got '%s'", path, s);
    _cleanup_free_ char *key = strndup(s, (size_t)(eq - s));
    return key ? env_entry(p, n, path, key, eq + 1) : jp_oom(p);
}

static int k_env(struct jp *p, yaml_node_t *n, const char *path)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return jp_each(p, n, path, false, env_item);
    if (n->type != YAML_MAPPING_NODE)
        return jp_err(p, n, "%s: expected a map of variables or a list of KEY=VALUE, got %s", path,
                      jp_type_name(n));
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = jp_node(p, pr->key), *v = jp_node(p, pr->value);
        const char *key = jp_scalar(p, k, path, "a variable name");
        if (!key)
            return -EINVAL;
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        if (jp_plain_null(v))
            return jp_err(p, v, "%s: needs a value (use \"\" for an empty one)", sub);
        const char *val = jp_scalar(p, v, sub, "a string");
        if (!val)
            return -EINVAL;
        int r = env_entry(p, k, sub, key, val);
        if (r < 0)
            return r;
    }
    return 0;
}

static int option_item(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, p->item_option);
}

/* One value or a list of values of the same option. */
static int option_list(struct jp *p, yaml_node_t *n, const char *path, const char *option)
{
    p->item_option = option;
    return jp_each(p, n, path, true, option_item);
}

static int k_io_read_bps(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "device-read-bps");
}

static int k_io_write_bps(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "device-write-bps");
}

static int k_io_read_iops(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "device-read-iops");
}

static int k_io_write_iops(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "device-write-iops");
}

static int k_io(struct jp *p, yaml_node_t *n, const char *path)
{
    static const struct key keys[] = {
        {"read_bps", k_io_read_bps, false},
        {"write_bps", k_io_write_bps, false},
        {"read_iops", k_io_read_iops, false},
        {"write_iops", k_io_write_iops, false},
    };
    return jp_walk_map(p, n, path, keys, ARRAY_SIZE(keys));
}

static int k_memory(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "memory");
}

static int k_memory_reservation(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "memory-reservation");
}

static int k_cpus(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "cpus");
}

static int k_cpuset(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "cpuset-cpus");
}

static int k_pids(struct jp *p, yaml_node_t *n, const char *path)
{
    return str_setting(p, n, path, "pids-limit");
}

static int k_resources(struct jp *p, yaml_node_t *n, const char *path)
{
    static const struct key keys[] = {
        {"memory", k_memory, false}, {"memory_reservation", k_memory_reservation, false},
        {"cpus", k_cpus, false},     {"cpuset", k_cpuset, false},
        {"pids", k_pids, false},     {"io", k_io, false},
    };
    return jp_walk_map(p, n, path, keys, ARRAY_SIZE(keys));
}

static int k_seccomp(struct jp *p, yaml_node_t *n, const char *path)
{
    const char *v = jp_str(p, n, path);
    if (!v)
        return -EINVAL;
    _cleanup_free_ char *o = NULL;
    if (asprintf(&o, "seccomp=%s", v) < 0)
        return jp_oom(p);
    return setting(p, n, path, "security-opt", o);
}

static int k_nnp(struct jp *p, yaml_node_t *n, const char *path)
{
    bool b;
    int r = jp_bool(p, n, path, &b);
    return r < 0 ? r
                 : setting(p, n, path, "security-opt",
                           b ? "no-new-privileges=true" : "no-new-privileges=false");
}

static int k_cap_add(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "cap-add");
}

static int k_cap_drop(struct jp *p, yaml_node_t *n, const char *path)
{
    return option_list(p, n, path, "cap-drop");
}

static int k_security(struct jp *p, yaml_node_t *n, const char *path)
{
    static const struct key keys[] = {
        {"seccomp", k_seccomp, false},
        {"cap_add", k_cap_add, false},
        {"cap_drop", k_cap_drop, false},
        {"no_new_privileges", k_nnp, false},
    };
    return jp_walk_map(p, n, path, keys, ARRAY_SIZE(keys));
}

/* ---------------------------------------------------------------- the document */

static const struct key top_keys[] = {
    {"command", jp_key_command, true},
    {"container", jp_key_container, true},
    {"profile", jp_key_profile, true},
    {"resources", k_resources, false},
    {"network", k_network, false},
    {"user", k_user, false},
    {"hostname", k_hostname, false},
    {"read_only", k_read_only, false},
    {"tmpfs", k_tmpfs, false},
    {"env", k_env, false},
    {"workdir", k_workdir, false},
    {"timeout", k_timeout, false},
    {"kill_grace", k_kill_grace, false},
    {"max_output", k_max_output, false},
    {"security", k_security, false},
    {"caches", jp_key_caches, true},
    {"inputs", jp_key_inputs, true},
    {"input_data", jp_key_input_data, true},
    {"artifacts", jp_key_artifacts, true},
    {"output", jp_key_output, true},
    {"workspace", jp_key_workspace, true},
};

static int load_error(struct jp *p, yaml_parser_t *y)
{
    struct job_mark at = {(int)y->problem_mark.line + 1, (int)y->problem_mark.column + 1};
    return jobfile_err(p->err, EINVAL, p->file, at, "invalid YAML: %s%s%s",
                       y->problem ? y->problem : "syntax error", y->context ? " " : "",
                       y->context ? y->context : "");
}

static int parse_doc(struct jp *p, const char *text, size_t len)
{
    yaml_parser_t y;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&y))
        return jp_oom(p);
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    int r = 0;
    if (!yaml_parser_load(&y, &doc)) {
        r = load_error(p, &y);
        yaml_parser_delete(&y);
        return r;
    }
    p->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        r = jobfile_err(p->err, EINVAL, p->file, (struct job_mark){0, 0}, "the file is empty%s",
                        p->flags & JOBFILE_PROFILE ? "" : " (no command)");
    } else if (!yaml_parser_load(&y, &extra)) {
        r = load_error(p, &y);
    } else {
        if (yaml_document_get_root_node(&extra))
            r = jobfile_err(
                p->err, EINVAL, p->file,
                (struct job_mark){(int)extra.start_mark.line + 1, (int)extra.start_mark.column + 1},
                "more than one YAML document");
        yaml_document_delete(&extra);
        r = r ?: jp_walk_map(p, root, "", top_keys, ARRAY_SIZE(top_keys));
        if (!r && !(p->flags & JOBFILE_PROFILE) && !p->jf->argv)
            r = jobfile_err(p->err, EINVAL, p->file, jp_mark(root), "no command given");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&y);
    return r;
}

int jobfile_parse(const char *name, const char *text, size_t len, unsigned flags,
                  struct jobfile **out, struct hutch_error **err)
{
    struct jp p = {.file = name ? name : "job file", .flags = flags, .err = err};
    if (len > JOBFILE_MAX_SIZE)
        return jobfile_err(err, EFBIG, p.file, (struct job_mark){0, 0}, "larger than %u bytes",
                           JOBFILE_MAX_SIZE);
    p.jf = calloc(1, sizeof(*p.jf));
    if (!p.jf || !(p.jf->file = strdup(p.file)) || hutch_spec_new(&p.scratch) < 0) {
        jobfile_free(p.jf);
        return jp_oom(&p);
    }
    p.jf->devcontainer = -1;
    int r = parse_doc(&p, text, len);
    hutch_spec_free(p.scratch);
    if (r < 0) {
        jobfile_free(p.jf);
        return r;
    }
    *out = p.jf;
    return 0;
}

void jobfile_free(struct jobfile *jf)
{
    if (!jf)
        return;
    for (int i = 0; i < jf->argc; i++)
        free(jf->argv[i]);
    free(jf->argv);
    for (int i = 0; i < jf->nsettings; i++) {
        free(jf->settings[i].option);
        free(jf->settings[i].value);
    }
    free(jf->settings);
    for (int i = 0; i < jf->ncaches; i++) {
        free(jf->caches[i].name);
        free(jf->caches[i].path);
        free(jf->caches[i].key);
    }
    free(jf->caches);
    for (int i = 0; i < jf->ninputs; i++) {
        free(jf->inputs[i].src);
        free(jf->inputs[i].dst);
    }
    free(jf->inputs);
    for (int i = 0; i < jf->nartifacts; i++) {
        free(jf->artifacts[i].path);
        free(jf->artifacts[i].name);
    }
    free(jf->artifacts);
    free(jf->file);
    free(jf->image);
    free(jf->rootfs);
    free(jf->profile);
    free(jf->input_data);
    free(jf->output_path);
    free(jf);
}
