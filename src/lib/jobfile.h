/* SPDX-License-Identifier: MIT */
/*
 * Job files (.hutch.yaml) and profiles (policies/profiles/NAME.yaml): YAML → struct jobfile
 * (pure code: libyaml and the spec setters, no other syscalls). Every error names the file,
 * line and column of the offending node ("FILE:LINE:COL" as the error's subject).
 *
 * Sandbox options (resources, network, user, env, ...) become `settings`: hutch_spec_set()
 * option/value pairs in file order, each already checked against a scratch spec, so a bad value
 * is reported here with its position and applying them later cannot fail. What only jobs have
 * (command, container, caches, inputs, artifacts, output, workspace) is kept in fields.
 */
#ifndef HUTCH_JOBFILE_H
#define HUTCH_JOBFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum job_cache_scope { JOB_CACHE_SHARED = 0, JOB_CACHE_WORKSPACE };
enum job_cache_mode { JOB_CACHE_BIND = 0, JOB_CACHE_OVERLAY };
enum job_ws_mode { JOB_WS_BIND = 0, JOB_WS_OVERLAY };

/* A position in the file, for errors raised after parsing (1-based; 0 = unknown). */
struct job_mark {
    int line, col;
};

struct job_setting {
    char *option; /* a hutch_spec_set() option name */
    char *value;
    struct job_mark at;
};

struct job_cache {
    char *name; /* [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 */
    char *path; /* absolute, or "~/..." (the sandbox user's home) */
    char *key;  /* workspace scope: replaces the hash of the workspace path; or NULL */
    enum job_cache_scope scope;
    enum job_cache_mode mode;
    struct job_mark at;
};

struct job_input {
    char *src; /* relative to the workspace (and must stay inside it) */
    char *dst; /* absolute, in the sandbox */
    struct job_mark at;
};

struct job_artifact {
    char *path; /* in the sandbox: absolute, or relative to the working directory */
    char *name; /* relative destination under the artifacts directory */
    struct job_mark at;
};

struct jobfile {
    char *file;  /* the name errors use */
    char **argv; /* NULL-terminated; a string command is {"sh", "-c", CMD} */
    int argc;
    bool container_none;
    char *image, *rootfs; /* container.image / container.rootfs (rootfs as written) */
    int devcontainer;     /* -1 auto (use .devcontainer if present), 0 never, 1 required */
    struct job_mark container_at;
    char *profile;
    struct job_mark profile_at;
    struct job_setting *settings;
    int nsettings;
    bool caches_auto;
    struct job_cache *caches;
    int ncaches;
    struct job_input *inputs;
    int ninputs;
    char *input_data; /* compact JSON, or NULL */
    struct job_artifact *artifacts;
    int nartifacts;
    char *output_path; /* default /hutch/output/output.json */
    enum job_ws_mode ws_mode;
    struct job_mark ws_at;
};

#define JOBFILE_PROFILE 0x1u /* a profile: sandbox settings only, no command */

#define JOBFILE_MAX_SIZE   (1u << 20)
#define JOB_OUTPUT_DEFAULT "/hutch/output/output.json"

/* Parse text[0..len) (need not be NUL-terminated). name is used in error messages. */
int jobfile_parse(const char *name, const char *text, size_t len, unsigned flags,
                  struct jobfile **out, struct hutch_error **err);
void jobfile_free(struct jobfile *jf);

/* An error at a position of the file: subject "FILE:LINE:COL". Returns -errnum. */
int jobfile_err(struct hutch_error **err, int errnum, const char *file, struct job_mark at,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A safe relative path: not empty, no leading '/', no "." or ".." component, no "//". */
bool jobfile_relpath_ok(const char *p);
/* A cache name or key: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
bool jobfile_name_ok(const char *s);

#endif
