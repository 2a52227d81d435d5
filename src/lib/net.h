/* SPDX-License-Identifier: MIT */
/* Networking modes: none (own netns, lo up), host, bridge, internal, sandbox=ID. */
#ifndef HUTCH_NET_H
#define HUTCH_NET_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct hutch_ctx;
struct hutch_spec;
struct net;

/* Parent, before clone3: resolve the mode, allocate an address, make sure the bridge exists.
 * Records what it made in state_dir for gc. */
int net_prepare(struct hutch_ctx *ctx, const struct hutch_spec *spec, const char *id,
                const char *state_dir, struct net **out, struct hutch_error **err);
/* CLONE_NEWNET unless the sandbox shares a namespace (host, sandbox=ID). */
uint64_t net_clone_flags(const struct net *net);
/* Parent, while the child waits: create the veth pair and move its end into pid's netns. */
int net_attach(struct net *net, pid_t pid, struct hutch_error **err);
/* Child, in its own network namespace: lo up, eth0 configured. Returns 0 or -errno. */
int net_child_setup(const struct net *net);
/* /etc/hosts and /etc/resolv.conf contents for the sandbox (malloc'd; NULL = none). */
int net_etc_files(const struct net *net, const char *hostname, char **hosts, char **resolv);
/* A warning for the sandbox.create event (host mode), or NULL. */
const char *net_warning(const struct net *net);
/* Undo what net_prepare/attach made; idempotent; frees. */
void net_teardown(struct net *net);
/* gc: undo what a dead sandbox's state_dir records. */
int net_gc(struct hutch_ctx *ctx, const char *state_dir, struct hutch_error **err);

#endif
