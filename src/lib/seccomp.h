/* SPDX-License-Identifier: MIT */
/* Seccomp: profiles (Docker/OCI JSON) compiled once to BPF, cached, loaded last in the child. */
#ifndef HUTCH_SECCOMP_H
#define HUTCH_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct hutch_ctx;
struct seccomp_cache;

/* A compiled filter ready to load: a raw classic-BPF program (struct sock_filter array). */
struct seccomp_prog {
    void *filter;        /* struct sock_filter[] */
    size_t len;          /* number of instructions */
    char *profile;       /* the profile's name or path, for messages */
    unsigned flags;      /* SECCOMP_FILTER_FLAG_* for seccomp(2), from the profile's "flags" */
    uint64_t compile_ns; /* parse + libseccomp compile time; 0 when read from the disk cache */
};

/*
 * Resolve `profile` ("default", "strict", "unconfined", or a path to a JSON file; NULL means
 * "default"), compile it for this kernel's architecture for a workload holding the capability
 * set `caps` (bit n = capability n; includes/excludes of the profile are evaluated against it),
 * and return the program. *out is NULL for "unconfined".
 * Compiled programs are cached in the context (memory) and under ROOT/cache/seccomp/ (disk),
 * keyed by the sha256 of the profile's content, caps and arch, so a cached start does not
 * rebuild the filter. *out stays owned by the cache.
 */
int seccomp_prepare(struct hutch_ctx *ctx, const char *profile, uint64_t caps,
                    const struct seccomp_prog **out, struct hutch_error **err);

/* Child side, after every other setup step: install prog (no allocation, async-signal-safe).
 * Returns 0 or -errno. */
int seccomp_load_prog(const struct seccomp_prog *prog);

void seccomp_cache_free(struct seccomp_cache *cache);

#endif
