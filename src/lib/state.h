/* SPDX-License-Identifier: MIT */
/* Per-sandbox state under HUTCH_RUN/<id>/: what teardown and `hutch gc` need after a crash.
 *   lock      flock'ed by the supervisor for its whole life: a free lock means a dead sandbox
 *   info.json id, supervisor pid, init pid, command, image, created (for ps)
 *   root/     the child's mount stage (mounted only inside the child's mount namespace)
 *   cgroups, net, image ...   written by the modules that made those resources */
#ifndef HUTCH_STATE_H
#define HUTCH_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Create RUN/<id> (refusing an existing one) and take its lock. */
int state_create(const char *run_dir, const char *id, char **state_dir, int *lock_fd,
                 struct hutch_error **err);
/* Write (atomically) a file in the state directory. */
int state_write(const char *state_dir, const char *name, const char *content);
/* true if a live supervisor holds the lock of this state directory */
bool state_is_live(const char *state_dir);
/* Remove the state directory (safe walk: no symlinks followed, no other filesystem entered). */
int state_remove(const char *state_dir);

#endif
