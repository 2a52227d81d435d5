/* SPDX-License-Identifier: MIT */
/*
 * Seccomp profiles in Docker's / the OCI runtime spec's JSON format, parsed into a list of rules
 * for one architecture and one capability set (pure code: no syscalls, no libseccomp filter;
 * libseccomp is only asked to resolve syscall and architecture names).
 */
#ifndef HUTCH_SECCOMP_PROFILE_H
#define HUTCH_SECCOMP_PROFILE_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Arguments of an entry, as in the OCI spec: for MASKED_EQ, value is the mask and value_two the
 * value the masked argument must equal. */
struct seccomp_arg {
    unsigned index;
    enum scmp_compare op;
    uint64_t value;
    uint64_t value_two;
};

/* One entry of syscalls[] that applies to this arch and capability set. */
struct seccomp_entry {
    unsigned index;  /* position in syscalls[], for messages */
    uint32_t action; /* libseccomp action, errno included */
    size_t nnames;
    const char **names; /* point into the parsed JSON, which the profile keeps */
    int *nrs;           /* seccomp_syscall_resolve_name(): < 0 when not a syscall of the native
                           arch (libseccomp's pseudo numbers); then the rule is a no-op there */
    size_t nargs;
    struct seccomp_arg *args;
};

#define SECCOMP_PROFILE_MAX_ARCHES 4

struct seccomp_profile {
    char *file;       /* for messages */
    const char *text; /* borrowed from the caller: line lookups for compile errors */
    size_t text_len;
    struct json_t *root; /* owns the strings entries point at */
    uint32_t default_action;
    uint32_t arches[SECCOMP_PROFILE_MAX_ARCHES]; /* native first; then its listed compat arches */
    size_t narches;
    unsigned load_flags; /* SECCOMP_FILTER_FLAG_* from "flags" (LOG, SPEC_ALLOW) */
    int max_nr;          /* highest native syscall number the profile names, -1 if none */
    size_t nentries;
    struct seccomp_entry *entries;
};

/* What a profile's includes/excludes are evaluated against. */
struct seccomp_profile_env {
    uint64_t caps;         /* bit n = capability n held by the workload */
    uint32_t arch;         /* native SCMP_ARCH_* (== AUDIT_ARCH_*) */
    unsigned kernel_major; /* for minKernel */
    unsigned kernel_minor;
};

/*
 * Parse text[0..len) (need not be NUL-terminated). `file` names the profile in messages, which
 * read "FILE:LINE: FIELD: problem". text must stay valid while *out is used (compile errors look
 * lines up in it). Returns 0 or -EINVAL/-ENOMEM with *err filled.
 */
int seccomp_profile_parse(const char *text, size_t len, const char *file,
                          const struct seccomp_profile_env *env, struct seccomp_profile **out,
                          struct hutch_error **err);
void seccomp_profile_free(struct seccomp_profile *p);

/* Push an error located at `field` (a path such as "syscalls[3].names[1]") of p's text. */
int seccomp_profile_err(const struct seccomp_profile *p, struct hutch_error **err, int errnum,
                        const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* 1-based line of the value at `field` ("syscalls[3].args[0].op") in a JSON text; the line of
 * the deepest enclosing value that exists when the path does not resolve. */
unsigned seccomp_profile_line(const char *text, size_t len, const char *field);

/* "SCMP_ACT_ERRNO" etc. -> libseccomp action without errno; -EINVAL unknown, -ENOTSUP NOTIFY */
int seccomp_profile_action(const char *name, uint32_t *out);

#endif
