/* SPDX-License-Identifier: MIT */
/* Capabilities: planned in the parent (OCI default set, --cap-add/--cap-drop, intersected with
 * what hutch itself may hold), applied in the workload. */
#ifndef HUTCH_CAPS_H
#define HUTCH_CAPS_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct hutch_spec;

/* The capability bounding set of the calling process (bit n = capability n). */
uint64_t caps_current_bounding(void);
/* Compute the workload's bounding (= permitted/effective for root) and ambient sets. Asking
 * for a capability hutch does not hold itself is an error naming it. */
int caps_plan(const struct hutch_spec *spec, uid_t uid, uint64_t *caps, uint64_t *ambient,
              struct hutch_error **err);
/* Child, before creds_apply: drop everything outside caps from the bounding set. */
int caps_drop_bounding(uint64_t caps);
/* Child, after creds_apply: permitted/effective = (root ? caps : ambient), inheritable =
 * ambient = ambient (empty unless asked). */
int caps_apply(uid_t uid, uint64_t caps, uint64_t ambient);

#endif
