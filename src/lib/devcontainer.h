/* SPDX-License-Identifier: MIT */
/*
 * .devcontainer/devcontainer.json (pure code): JSON with comments and trailing commas, as the
 * Dev Container spec allows, reduced to what a job uses. Configurations that need an image
 * build (build/dockerFile/dockerComposeFile/features) are refused with a message saying how to
 * import a prebuilt image instead.
 */
#ifndef HUTCH_DEVCONTAINER_H
#define HUTCH_DEVCONTAINER_H

#include <stddef.h>

#include "error.h"

struct devcontainer {
    char *image;            /* "image" */
    char **env;             /* "containerEnv" as KEY=VALUE, NULL-terminated (never NULL) */
    char *user;             /* "remoteUser", else "containerUser", or NULL */
    char *workspace_folder; /* "workspaceFolder" (absolute), or NULL */
};

/* Variables the spec lets values refer to: ${localWorkspaceFolder},
 * ${localWorkspaceFolderBasename}, ${containerWorkspaceFolder},
 * ${containerWorkspaceFolderBasename}, ${localEnv:NAME[:DEFAULT]} (NAME read with getenv_fn,
 * which may be NULL: then the default or ""). */
struct devcontainer_vars {
    const char *local_workspace; /* the workspace on the host */
    const char *(*getenv_fn)(const char *name);
};

/* Parse text[0..len). name is used in errors ("FILE:LINE:COL: ..."). */
int devcontainer_parse(const char *name, const char *text, size_t len,
                       const struct devcontainer_vars *vars, struct devcontainer *out,
                       struct hutch_error **err);
void devcontainer_free(struct devcontainer *dc);

/* Replace comments by spaces (newlines kept, so positions stay right) and drop commas that
 * precede '}' or ']'. Strings are left alone. Returns a NUL-terminated copy, NULL on ENOMEM. */
char *devcontainer_strip(const char *text, size_t len);

#endif
