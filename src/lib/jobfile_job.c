/* SPDX-License-Identifier: MIT */
/* The keys only jobs have (profiles refuse them): command, container, profile, caches, inputs,
 * input_data, artifacts, output, workspace. */
#include "jobfile_internal.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int jp_key_command(struct jp *p, yaml_node_t *n, const char *path)
{
    struct jobfile *jf = p->jf;
    if (jp_is_scalar(n)) {
        const char *s = jp_str(p, n, path);
        if (!s)
            return -EINVAL;
        if (jp_strv_add(&jf->argv, &jf->argc, "sh") < 0 ||
            jp_strv_add(&jf->argv, &jf->argc, "-c") < 0 || jp_strv_add(&jf->argv, &jf->argc, s) < 0)
            return jp_oom(p);
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return jp_err(p, n, "%s: expected a string (run by sh -c) or a list of arguments, got %s",
                      path, jp_type_name(n));
    if (n->data.sequence.items.top == n->data.sequence.items.start)
        return jp_err(p, n, "%s: the list is empty", path);
    int i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        yaml_node_t *a = jp_node(p, *it);
        char sub[64];
        snprintf(sub, sizeof(sub), "%s[%d]", path, i);
        const char *s = i == 0 ? jp_str(p, a, sub) : jp_scalar(p, a, sub, "a string");
        if (!s)
            return -EINVAL;
        if (jp_strv_add(&jf->argv, &jf->argc, s) < 0)
            return jp_oom(p);
    }
    return 0;
}

static int k_c_image(struct jp *p, yaml_node_t *n, const char *path)
{
    const char *v = jp_str(p, n, path);
    return v ? jp_dup(p, &p->jf->image, v) : -EINVAL;
}

static int k_c_rootfs(struct jp *p, yaml_node_t *n, const char *path)
{
    const char *v = jp_str(p, n, path);
    if (v && !jobfile_relpath_ok(v))
        return jp_err(p, n, "%s: '%s' must be a directory inside the workspace (a relative path "
                            "without '..'; --rootfs takes any directory)", path, v);
    return v ? jp_dup(p, &p->jf->rootfs, v) : -EINVAL;
}

static int k_c_devcontainer(struct jp *p, yaml_node_t *n, const char *path)
{
    bool b;
    int r = jp_bool(p, n, path, &b);
    if (r == 0)
        p->jf->devcontainer = b;
    return r;
}

int jp_key_container(struct jp *p, yaml_node_t *n, const char *path)
{
    struct jobfile *jf = p->jf;
    jf->container_at = jp_mark(n);
    if (jp_is_scalar(n)) {
        const char *v = jp_str(p, n, path);
        if (!v)
            return -EINVAL;
        if (!strcmp(v, "none"))
            jf->container_none = true;
        else if (strcmp(v, "auto"))
            return jp_err(p, n,
                          "%s: expected auto, none or a map {image, rootfs, devcontainer}, "
                          "got '%s'",
                          path, v);
        return 0;
    }
    static const struct key keys[] = {
        {"image", k_c_image, false},
        {"rootfs", k_c_rootfs, false},
        {"devcontainer", k_c_devcontainer, false},
    };
    int r = jp_walk_map(p, n, path, keys, ARRAY_SIZE(keys));
    if (r < 0)
        return r;
    if (jf->image && jf->rootfs)
        return jp_err(p, n, "%s: give either image or rootfs, not both", path);
    if (jf->devcontainer == 1 && (jf->image || jf->rootfs))
        return jp_err(p, n,
                      "%s: devcontainer: true takes the image from devcontainer.json; "
                      "remove image/rootfs",
                      path);
    return 0;
}

int jp_key_profile(struct jp *p, yaml_node_t *n, const char *path)
{
    const char *v = jp_str(p, n, path);
    if (!v)
        return -EINVAL;
    if (!jobfile_name_ok(v))
        return jp_err(p, n, "%s: '%s' is not a profile name (untrusted, ci, trusted, ...)", path,
                      v);
    p->jf->profile_at = jp_mark(n);
    return jp_dup(p, &p->jf->profile, v);
}

static int cache_map(struct jp *p, yaml_node_t *n, const char *path, struct job_cache *c)
{
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = jp_node(p, pr->key), *v = jp_node(p, pr->value);
        const char *name = jp_scalar(p, k, path, "a key name");
        if (!name)
            return -EINVAL;
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.%s", path, name);
        const char *s = jp_str(p, v, sub);
        if (!s)
            return -EINVAL;
        if (!strcmp(name, "name") || !strcmp(name, "key")) {
            if (!jobfile_name_ok(s))
                return jp_err(p, v,
                              "%s: '%s' must be 1 to 64 letters, digits, '.', '_' or '-', "
                              "starting with a letter or digit",
                              sub, s);
            char **dst = name[0] == 'n' ? &c->name : &c->key;
            if (*dst)
                return jp_err(p, k, "duplicate key '%s'", sub);
            if (!(*dst = strdup(s)))
                return jp_oom(p);
        } else if (!strcmp(name, "path")) {
            bool home = !strncmp(s, "~/", 2);
            if (c->path)
                return jp_err(p, k, "duplicate key '%s'", sub);
            if (home ? !jobfile_relpath_ok(s + 2) : !jp_path_abs_ok(s) || !strcmp(s, "/"))
                return jp_err(
                    p, v, "%s: expected an absolute path or ~/PATH without '..', got '%s'", sub, s);
            if (!(c->path = strdup(s)))
                return jp_oom(p);
        } else if (!strcmp(name, "scope")) {
            if (strcmp(s, "shared") && strcmp(s, "workspace"))
                return jp_err(p, v, "%s: expected shared or workspace, got '%s'", sub, s);
            c->scope = s[0] == 'w' ? JOB_CACHE_WORKSPACE : JOB_CACHE_SHARED;
        } else if (!strcmp(name, "mode")) {
            if (strcmp(s, "bind") && strcmp(s, "overlay"))
                return jp_err(p, v, "%s: expected bind or overlay, got '%s'", sub, s);
            c->mode = s[0] == 'o' ? JOB_CACHE_OVERLAY : JOB_CACHE_BIND;
        } else {
            return jp_err(p, k, "unknown key '%s' (name, path, scope, mode, key)", sub);
        }
    }
    if (!c->name || !c->path)
        return jp_err(p, n, "%s: needs a name and a path", path);
    if (c->key && c->scope != JOB_CACHE_WORKSPACE)
        return jp_err(p, n, "%s: key is only for scope: workspace", path);
    return 0;
}

static int cache_item(struct jp *p, yaml_node_t *n, const char *path)
{
    struct jobfile *jf = p->jf;
    if (jp_is_scalar(n)) {
        const char *v = jp_str(p, n, path);
        if (!v)
            return -EINVAL;
        if (strcmp(v, "auto"))
            return jp_err(p, n,
                          "%s: expected auto or a map {name, path, scope, mode, key}, got "
                          "'%s'",
                          path, v);
        jf->caches_auto = true;
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return jp_err(p, n, "%s: expected auto or a map {name, path, scope, mode, key}, got %s",
                      path, jp_type_name(n));
    struct job_cache *nc = realloc(jf->caches, sizeof(*nc) * (size_t)(jf->ncaches + 1));
    if (!nc)
        return jp_oom(p);
    jf->caches = nc;
    struct job_cache *c = &nc[jf->ncaches++];
    memset(c, 0, sizeof(*c));
    c->at = jp_mark(n);
    int r = cache_map(p, n, path, c);
    if (r < 0)
        return r;
    for (int i = 0; i < jf->ncaches - 1; i++) {
        if (!strcmp(jf->caches[i].name, c->name) && jf->caches[i].scope == c->scope)
            return jp_err(p, n, "%s: a cache named '%s' is already listed", path, c->name);
        if (!strcmp(jf->caches[i].path, c->path))
            return jp_err(p, n, "%s: another cache is already mounted at %s", path, c->path);
    }
    return 0;
}

int jp_key_caches(struct jp *p, yaml_node_t *n, const char *path)
{
    return jp_each(p, n, path, true, cache_item);
}

/* A map of exactly the keys in names[] (NULL-terminated), all strings; out[i] per key. */
static int string_map(struct jp *p, yaml_node_t *n, const char *path, const char *const *names,
                      const char **out)
{
    if (n->type != YAML_MAPPING_NODE)
        return jp_err(p, n, "%s: expected a map, got %s", path, jp_type_name(n));
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = jp_node(p, pr->key), *v = jp_node(p, pr->value);
        const char *name = jp_scalar(p, k, path, "a key name");
        if (!name)
            return -EINVAL;
        int i = 0;
        while (names[i] && strcmp(names[i], name))
            i++;
        if (!names[i])
            return jp_err(p, k, "unknown key '%s.%s'", path, name);
        if (out[i])
            return jp_err(p, k, "duplicate key '%s.%s'", path, name);
        if (!(out[i] = jp_str(p, v, path)))
            return -EINVAL;
    }
    return 0;
}

static int input_item(struct jp *p, yaml_node_t *n, const char *path)
{
    static const char *const names[] = {"src", "dst", NULL};
    const char *v[2] = {NULL, NULL};
    int r = string_map(p, n, path, names, v);
    if (r < 0)
        return r;
    if (!v[0] || !v[1])
        return jp_err(p, n, "%s: needs src and dst", path);
    if (!jobfile_relpath_ok(v[0]))
        return jp_err(p, n,
                      "%s.src: '%s' must be a relative path inside the workspace (no '..'; "
                      "a job file may not read other host files)",
                      path, v[0]);
    if (!jp_path_abs_ok(v[1]) || !strcmp(v[1], "/"))
        return jp_err(p, n, "%s.dst: '%s' must be an absolute path without '..'", path, v[1]);
    struct jobfile *jf = p->jf;
    struct job_input *ni = realloc(jf->inputs, sizeof(*ni) * (size_t)(jf->ninputs + 1));
    if (!ni)
        return jp_oom(p);
    jf->inputs = ni;
    ni[jf->ninputs] = (struct job_input){strdup(v[0]), strdup(v[1]), jp_mark(n)};
    if (!ni[jf->ninputs].src || !ni[jf->ninputs].dst) {
        free(ni[jf->ninputs].src);
        free(ni[jf->ninputs].dst);
        return jp_oom(p);
    }
    jf->ninputs++;
    return 0;
}

int jp_key_inputs(struct jp *p, yaml_node_t *n, const char *path)
{
    return jp_each(p, n, path, false, input_item);
}

static int artifact_item(struct jp *p, yaml_node_t *n, const char *path)
{
    static const char *const names[] = {"path", "name", NULL};
    const char *v[2] = {NULL, NULL};
    int r = jp_is_scalar(n) ? ((v[0] = jp_str(p, n, path)) ? 0 : -EINVAL)
                            : string_map(p, n, path, names, v);
    if (r < 0)
        return r;
    if (!v[0])
        return jp_err(p, n, "%s: needs a path", path);
    char trimmed[PATH_MAX];
    snprintf(trimmed, sizeof(trimmed), "%s", v[0]);
    for (size_t l = strlen(trimmed); l > 1 && trimmed[l - 1] == '/'; l--)
        trimmed[l - 1] = '\0';
    if (trimmed[0] == '/' ? !jp_path_abs_ok(trimmed) || !trimmed[1] : !jobfile_relpath_ok(trimmed))
        return jp_err(p, n, "%s: path '%s' must not contain '..' or '.' components", path, v[0]);
    const char *name = v[1] ? v[1] : strrchr(trimmed, '/') ? strrchr(trimmed, '/') + 1 : trimmed;
    if (!jobfile_relpath_ok(name))
        return jp_err(p, n, "%s: name '%s' must be a relative path without '..'", path, name);
    struct jobfile *jf = p->jf;
    for (int i = 0; i < jf->nartifacts; i++)
        if (!strcmp(jf->artifacts[i].name, name))
            return jp_err(p, n, "%s: another artifact is already named '%s'", path, name);
    struct job_artifact *na = realloc(jf->artifacts, sizeof(*na) * (size_t)(jf->nartifacts + 1));
    if (!na)
        return jp_oom(p);
    jf->artifacts = na;
    na[jf->nartifacts] = (struct job_artifact){strdup(trimmed), strdup(name), jp_mark(n)};
    if (!na[jf->nartifacts].path || !na[jf->nartifacts].name) {
        free(na[jf->nartifacts].path);
        free(na[jf->nartifacts].name);
        return jp_oom(p);
    }
    jf->nartifacts++;
    return 0;
}

int jp_key_artifacts(struct jp *p, yaml_node_t *n, const char *path)
{
    return jp_each(p, n, path, false, artifact_item);
}

int jp_key_output(struct jp *p, yaml_node_t *n, const char *path)
{
    static const char *const names[] = {"path", NULL};
    const char *v[1] = {NULL};
    int r = jp_is_scalar(n) ? ((v[0] = jp_str(p, n, path)) ? 0 : -EINVAL)
                            : string_map(p, n, path, names, v);
    if (r < 0)
        return r;
    if (!v[0] || !jp_path_abs_ok(v[0]) || !strcmp(v[0], "/"))
        return jp_err(p, n, "%s: expected {path: ABSOLUTE-PATH} (default %s)", path,
                      JOB_OUTPUT_DEFAULT);
    return jp_dup(p, &p->jf->output_path, v[0]);
}

int jp_key_workspace(struct jp *p, yaml_node_t *n, const char *path)
{
    static const char *const names[] = {"mode", NULL};
    const char *v[1] = {NULL};
    int r = string_map(p, n, path, names, v);
    if (r < 0)
        return r;
    if (v[0] && strcmp(v[0], "bind") && strcmp(v[0], "overlay"))
        return jp_err(p, n, "%s.mode: expected bind or overlay, got '%s'", path, v[0]);
    p->jf->ws_mode = v[0] && v[0][0] == 'o' ? JOB_WS_OVERLAY : JOB_WS_BIND;
    p->jf->ws_at = jp_mark(n);
    return 0;
}

/* ---------------------------------------------------------------- input_data: YAML → JSON */

static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, n->data.scalar.length);
    if (jp_plain_null(n))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    char *end;
    errno = 0;
    long long ll = strtoll(s, &end, 10);
    if (*s && !*end && !errno && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+'))
        return json_integer(ll);
    errno = 0;
    double d = strtod(s, &end);
    if (*s && !*end && !errno && (isdigit((unsigned char)s[0]) || strchr("-+.", s[0])) &&
        !strpbrk(s, "xXnNiI")) /* no hex floats, nan, inf */
        return json_real(d);
    return json_stringn(s, n->data.scalar.length);
}

static json_t *to_json(struct jp *p, yaml_node_t *n, int depth)
{
    if (++p->visits > MAX_VISITS || depth > MAX_DEPTH) {
        jp_err(p, n, "input_data: too large or too deeply nested");
        return NULL;
    }
    json_t *j = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (!(j = scalar_json(n)))
            jp_err(p, n, "input_data: not valid UTF-8");
        return j;
    case YAML_SEQUENCE_NODE:
        j = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             j && it < n->data.sequence.items.top; it++) {
            json_t *e = to_json(p, jp_node(p, *it), depth + 1);
            if (!e || json_array_append_new(j, e) < 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case YAML_MAPPING_NODE:
        j = json_object();
        for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
             j && pr < n->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = jp_node(p, pr->key);
            const char *ks = jp_scalar(p, k, "input_data", "a scalar key");
            json_t *e = ks ? to_json(p, jp_node(p, pr->value), depth + 1) : NULL;
            if (!e || json_object_set_new(j, ks, e) < 0) {
                if (e)
                    jp_err(p, k, "input_data: key is not valid UTF-8");
                json_decref(j);
                return NULL;
            }
        }
        return j;
    default:
        jp_err(p, n, "input_data: unexpected node");
        return NULL;
    }
}

int jp_key_input_data(struct jp *p, yaml_node_t *n, const char *path)
{
    json_t *j = to_json(p, n, 0);
    if (!j)
        return p->err && *p->err ? -EINVAL : jp_oom(p);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s)
        return jp_oom(p);
    free(p->jf->input_data);
    p->jf->input_data = s;
    return 0;
}
