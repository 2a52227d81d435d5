/* SPDX-License-Identifier: MIT */
/* The library context: where the store and run state live, and caches shared by sandboxes. */
#ifndef HUTCH_CTX_H
#define HUTCH_CTX_H

#include "hutch.h"

struct seccomp_cache;

struct hutch_ctx {
    char *root;         /* HUTCH_ROOT */
    char *run_dir;      /* HUTCH_RUN */
    char *policies_dir; /* policies/ */
    struct seccomp_cache *seccomp; /* compiled filters by profile content (seccomp.c owns it) */
};

/* Create dir (and parents) with mode 0700 if missing; 0 or -errno with *err filled. */
int ctx_ensure_dir(const char *dir, struct hutch_error **err);

#endif
