/* SPDX-License-Identifier: MIT */
/* devcontainer.json → struct devcontainer (devcontainer.h). */
#include "devcontainer.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DC_MAX_SIZE (1u << 20)

char *devcontainer_strip(const char *text, size_t len)
{
    char *o = malloc(len + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    size_t last_comma = (size_t)-1; /* where a comma was written, until something else comes */
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (c == '"') { /* a string, escapes included, copied as it is */
            o[w++] = text[i++];
            while (i < len && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < len)
                    o[w++] = text[i++];
                o[w++] = text[i++];
            }
            if (i < len)
                o[w++] = text[i++];
            last_comma = (size_t)-1;
        } else if (c == '/' && i + 1 < len && text[i + 1] == '/') {
            while (i < len && text[i] != '\n')
                o[w++] = ' ', i++;
        } else if (c == '/' && i + 1 < len && text[i + 1] == '*') {
            o[w++] = ' ', o[w++] = ' ';
            i += 2;
            while (i < len && !(text[i] == '*' && i + 1 < len && text[i + 1] == '/'))
                o[w++] = text[i] == '\n' ? '\n' : ' ', i++;
            if (i < len)
                o[w++] = ' ', o[w++] = ' ', i += 2;
        } else if (c == ',') {
            last_comma = w;
            o[w++] = text[i++];
        } else if (c == '}' || c == ']') {
            if (last_comma != (size_t)-1)
                o[last_comma] = ' ';
            last_comma = (size_t)-1;
            o[w++] = text[i++];
        } else {
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                last_comma = (size_t)-1;
            o[w++] = text[i++];
        }
    }
    o[w] = '\0';
    return o;
}

static int dc_err(struct hutch_error **err, const char *name, int line, int col, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
static int dc_err(struct hutch_error **err, const char *name, int line, int col, const char *fmt,
                  ...)
{
    char subject[4200], *msg = NULL;
    if (line > 0)
        snprintf(subject, sizeof(subject), "%s:%d:%d", name, line, col);
    else
        snprintf(subject, sizeof(subject), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    int r = hutch_err(err, EINVAL, "parse", subject, "%s", n < 0 ? "error" : msg);
    free(msg);
    return r;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* Expand ${...} variables; unknown ones are an error (a silent empty string hides mistakes). */
static int expand(const char *name, const char *in, const struct devcontainer_vars *v,
                  const char *container_ws, char **out, struct hutch_error **err)
{
    struct buf b = {0};
    int r = 0;
    for (const char *s = in; *s && !r;) {
        if (s[0] != '$' || s[1] != '{') {
            r = buf_append(&b, s++, 1);
            continue;
        }
        const char *end = strchr(s, '}');
        if (!end) {
            r = dc_err(err, name, 0, 0, "unterminated ${ in '%s'", in);
            break;
        }
        _cleanup_free_ char *var = strndup(s + 2, (size_t)(end - s - 2));
        if (!var) {
            r = -ENOMEM;
            break;
        }
        const char *lw = v && v->local_workspace ? v->local_workspace : "";
        const char *cw = container_ws ? container_ws : "";
        if (!strcmp(var, "localWorkspaceFolder"))
            r = buf_puts(&b, lw);
        else if (!strcmp(var, "localWorkspaceFolderBasename"))
            r = buf_puts(&b, base_name(lw));
        else if (!strcmp(var, "containerWorkspaceFolder"))
            r = buf_puts(&b, cw);
        else if (!strcmp(var, "containerWorkspaceFolderBasename"))
            r = buf_puts(&b, base_name(cw));
        else if (!strncmp(var, "localEnv:", 9) || !strncmp(var, "env:", 4)) {
            char *nm = strchr(var, ':') + 1, *def = strchr(nm, ':');
            if (def)
                *def++ = '\0';
            const char *val = v && v->getenv_fn ? v->getenv_fn(nm) : NULL;
            r = buf_puts(&b, val ? val : def ? def : "");
        } else {
            r = dc_err(err, name, 0, 0, "unsupported variable ${%s} in '%s'", var, in);
        }
        s = end + 1;
    }
    if (!r)
        r = buf_append(&b, "", 1);
    if (r < 0) {
        buf_free(&b);
        return err && *err ? r : hutch_err(err, ENOMEM, NULL, name, "out of memory");
    }
    *out = b.data;
    return 0;
}

static int need_build(const char *name, json_t *root, struct hutch_error **err)
{
    const char *why = NULL;
    json_t *features = json_object_get(root, "features");
    if (json_object_get(root, "build") || json_object_get(root, "dockerFile") ||
        json_object_get(root, "dockerfile"))
        why = "it builds an image from a Dockerfile";
    else if (json_object_get(root, "dockerComposeFile"))
        why = "it uses Docker Compose";
    else if (features && (!json_is_object(features) || json_object_size(features) > 0))
        why = "its features are installed by an image build";
    if (!why)
        return 0;
    return dc_err(err, name, 0, 0,
                  "%s: building images is not supported yet; build it elsewhere, save it "
                  "(docker save IMAGE -o image.tar, or skopeo copy to oci-archive:image.tar), run "
                  "`hutch image import image.tar --name NAME:TAG` and set \"image\": \"NAME:TAG\"",
                  why);
}

static int get_string(const char *name, json_t *root, const char *key, const char **out,
                      struct hutch_error **err)
{
    json_t *j = json_object_get(root, key);
    *out = NULL;
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_string(j) || !*json_string_value(j))
        return dc_err(err, name, 0, 0, "\"%s\" must be a non-empty string", key);
    *out = json_string_value(j);
    return 0;
}

static int read_env(const char *name, json_t *root, const struct devcontainer_vars *vars,
                    struct devcontainer *dc, struct hutch_error **err)
{
    json_t *env = json_object_get(root, "containerEnv");
    size_t n = env && json_is_object(env) ? json_object_size(env) : 0;
    if (env && !json_is_null(env) && !json_is_object(env))
        return dc_err(err, name, 0, 0, "\"containerEnv\" must be an object of strings");
    if (!(dc->env = calloc(n + 1, sizeof(char *))))
        return hutch_err(err, ENOMEM, NULL, name, "out of memory");
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(env, k, v)
    {
        if (!json_is_string(v))
            return dc_err(err, name, 0, 0, "containerEnv.%s must be a string", k);
        if (!*k || strchr(k, '=') || strpbrk(k, " \t\n"))
            return dc_err(err, name, 0, 0, "containerEnv: '%s' is not a variable name", k);
        _cleanup_free_ char *val = NULL;
        int r = expand(name, json_string_value(v), vars, dc->workspace_folder, &val, err);
        if (r < 0)
            return r;
        if (asprintf(&dc->env[i], "%s=%s", k, val) < 0)
            return hutch_err(err, ENOMEM, NULL, name, "out of memory");
        i++;
    }
    return 0;
}

static int read_fields(const char *name, json_t *root, const struct devcontainer_vars *vars,
                       struct devcontainer *dc, struct hutch_error **err)
{
    const char *image, *ru, *cu, *wf;
    int r = need_build(name, root, err);
    r = r ?: get_string(name, root, "image", &image, err);
    r = r ?: get_string(name, root, "remoteUser", &ru, err);
    r = r ?: get_string(name, root, "containerUser", &cu, err);
    r = r ?: get_string(name, root, "workspaceFolder", &wf, err);
    if (r < 0)
        return r;
    if (!image)
        return dc_err(err, name, 0, 0,
                      "no \"image\" (and building images is not supported "
                      "yet: import a prebuilt one with `hutch image import`)");
    if (!(dc->image = strdup(image)))
        return hutch_err(err, ENOMEM, NULL, name, "out of memory");
    if ((ru || cu) && !(dc->user = strdup(ru ? ru : cu)))
        return hutch_err(err, ENOMEM, NULL, name, "out of memory");
    if (wf) {
        r = expand(name, wf, vars, NULL, &dc->workspace_folder, err);
        if (r < 0)
            return r;
        const char *w = dc->workspace_folder;
        if (w[0] != '/' || strstr(w, "/../") || !strcmp(w, "/") ||
            (strlen(w) >= 3 && !strcmp(w + strlen(w) - 3, "/..")))
            return dc_err(err, name, 0, 0,
                          "\"workspaceFolder\" must be an absolute path "
                          "without '..' (got '%s')",
                          w);
    }
    return read_env(name, root, vars, dc, err);
}

int devcontainer_parse(const char *name, const char *text, size_t len,
                       const struct devcontainer_vars *vars, struct devcontainer *out,
                       struct hutch_error **err)
{
    memset(out, 0, sizeof(*out));
    if (len > DC_MAX_SIZE)
        return dc_err(err, name, 0, 0, "larger than %u bytes", DC_MAX_SIZE);
    _cleanup_free_ char *clean = devcontainer_strip(text, len);
    if (!clean)
        return hutch_err(err, ENOMEM, NULL, name, "out of memory");
    json_error_t je;
    /* the stripped text keeps every byte position, so jansson's line:column are the file's */
    json_t *root = json_loadb(clean, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return dc_err(err, name, je.line, je.column, "invalid JSON: %s", je.text);
    int r = json_is_object(root) ? read_fields(name, root, vars, out, err)
                                 : dc_err(err, name, 1, 1, "expected a JSON object");
    json_decref(root);
    if (r < 0)
        devcontainer_free(out);
    return r;
}

void devcontainer_free(struct devcontainer *dc)
{
    for (char **e = dc->env; e && *e; e++)
        free(*e);
    free(dc->env);
    free(dc->image);
    free(dc->user);
    free(dc->workspace_folder);
    memset(dc, 0, sizeof(*dc));
}
