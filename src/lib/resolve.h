/* SPDX-License-Identifier: MIT */
/* Turning a spec into a plan: every check that needs the rootfs, done before anything is
 * created (bad input costs nothing and leaves nothing). */
#ifndef HUTCH_RESOLVE_H
#define HUTCH_RESOLVE_H

#include "error.h"

struct hutch_sandbox;
struct sandbox_plan;

/* Use the caller's id (validated) or make a random one. */
int resolve_id(const char *want, char *id, struct hutch_error **err);
/* Rootfs or image, command, environment, user, capabilities, volumes, hostname. */
int resolve_spec(struct hutch_sandbox *sb, struct hutch_error **err);
/* The compiled seccomp filter (cached per profile). */
int resolve_seccomp(struct hutch_sandbox *sb, struct hutch_error **err);
void resolve_plan_free(struct sandbox_plan *plan);

#endif
