/* SPDX-License-Identifier: MIT */
/* `hutch run` flags → a hutch_spec and the CLI's own settings. No side effects beyond the spec
 * (unit-tested). */
#ifndef HUTCH_ARGS_H
#define HUTCH_ARGS_H

#include <stdbool.h>

#include "hutch.h"

struct run_args {
    const char *events;   /* --events PATH | - | fd:N */
    const char *id;       /* --id */
    bool has_rootfs;      /* --rootfs or --image given */
    bool dashdash;        /* the command followed "--" */
    int first_positional; /* index in argv of the first positional (image or command), or argc */
    char error[256];      /* a usage error (unknown flag, missing value); *err stays NULL */
};

/*
 * Parse argv[1..] (argv[0] = "run") up to the first positional argument, applying options to
 * spec. Returns 0, or -EINVAL with *err naming the flag and what was expected. A flag that
 * follows a positional belongs to the command, as in docker.
 */
int args_parse_run(int argc, char **argv, struct hutch_spec *spec, struct run_args *out,
                   struct hutch_error **err);
/* The same, handing each option to set() (hutch_spec_set() names and values) instead of
 * applying it to a spec: `hutch job` collects them as overrides of the job file. */
typedef int (*args_set_fn)(void *ud, const char *option, const char *value,
                           struct hutch_error **err);
int args_parse_run_fn(int argc, char **argv, args_set_fn set, void *ud, struct run_args *out,
                      struct hutch_error **err);
/* Usage text of `hutch run`. */
extern const char args_run_usage[];

#endif
