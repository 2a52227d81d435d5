/* SPDX-License-Identifier: MIT */
/* The job file parser's insides, shared by jobfile.c (the walk, helpers, sandbox settings) and
 * jobfile_job.c (the keys only jobs have). */
#ifndef HUTCH_JOBFILE_INTERNAL_H
#define HUTCH_JOBFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "jobfile.h"

#define MAX_VISITS 200000 /* nodes a walk may visit: aliases can make a tree expand exponentially  \
                           */
#define MAX_DEPTH 64

struct hutch_spec;

struct jp {
    const char *file;
    yaml_document_t *doc;
    struct jobfile *jf;
    struct hutch_spec *scratch; /* settings are tried here first: bad values fail at parse */
    unsigned flags;
    unsigned visits;
    const char *item_option; /* the option jp_each() items of a list of settings set */
    struct hutch_error **err;
};

typedef int (*key_fn)(struct jp *p, yaml_node_t *n, const char *path);
typedef int (*item_fn)(struct jp *p, yaml_node_t *n, const char *path);

struct key {
    const char *name;
    key_fn fn;
    bool job_only; /* refused in profiles */
};

/* Errors at a node ("FILE:LINE:COL: ..."); return -EINVAL / -ENOMEM. */
int jp_err(struct jp *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int jp_oom(struct jp *p);
struct job_mark jp_mark(const yaml_node_t *n);
const char *jp_type_name(const yaml_node_t *n);
/* A node by id, counted against MAX_VISITS. */
yaml_node_t *jp_node(struct jp *p, int id);
bool jp_is_scalar(const yaml_node_t *n);
bool jp_plain_null(const yaml_node_t *n);
/* The text of a scalar (NULL with an error otherwise); jp_str also refuses null and "". */
const char *jp_scalar(struct jp *p, yaml_node_t *n, const char *path, const char *want);
const char *jp_str(struct jp *p, yaml_node_t *n, const char *path);
int jp_bool(struct jp *p, yaml_node_t *n, const char *path, bool *out);
int jp_dup(struct jp *p, char **dst, const char *s);
int jp_strv_add(char ***v, int *n, const char *s);
bool jp_path_abs_ok(const char *s);
/* fn for n itself (if single) or for each item of a list */
int jp_each(struct jp *p, yaml_node_t *n, const char *path, bool single, item_fn fn);
/* each key of a map to its handler; unknown and repeated keys are errors */
int jp_walk_map(struct jp *p, yaml_node_t *n, const char *path, const struct key *keys,
                size_t nkeys);

/* jobfile_job.c */
int jp_key_command(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_container(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_profile(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_caches(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_inputs(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_input_data(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_artifacts(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_output(struct jp *p, yaml_node_t *n, const char *path);
int jp_key_workspace(struct jp *p, yaml_node_t *n, const char *path);

#endif
