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

/* Parent, before clone3: the sandbox's network namespace, finished (lo up; for bridge and
 * internal: bridge, lease, veth pair, address, route). Records its lease in state_dir/net.json. */
int net_prepare(struct hutch_ctx *ctx, const struct hutch_spec *spec, const char *id,
                const char *state_dir, struct net **out, struct hutch_error **err);
/* 0: the child joins the namespace net_prepare made (or the one it shares) in net_child_setup. */
uint64_t net_clone_flags(const struct net *net);
/* Parent, while the child waits: nothing any more (everything is prepared before clone3). */
int net_attach(struct net *net, pid_t pid, struct hutch_error **err);
/* Child, first thing after the handshake (before it mounts sysfs, which shows the network
 * namespace of its mounter): join the sandbox's network namespace. One setns; no allocation.
 * Returns 0 or -errno. */
int net_child_setup(const struct net *net);
/* /etc/hosts and /etc/resolv.conf contents for the sandbox (malloc'd; NULL = none). */
int net_etc_files(const struct net *net, const char *hostname, char **hosts, char **resolv);
/* A warning for the sandbox.create event (host mode), or NULL. */
const char *net_warning(const struct net *net);
/* The same from the spec (sandbox.create is emitted before net_prepare). */
const char *net_spec_warning(const struct hutch_spec *spec);
/* Undo what net_prepare/attach made; idempotent; frees. */
void net_teardown(struct net *net);
/* gc: undo what a dead sandbox's state_dir records (its lease). */
int net_gc(struct hutch_ctx *ctx, const char *state_dir, struct hutch_error **err);
/* gc, after every dead sandbox: networks nobody uses lose their bridge (if hutch made it), nftables
 * table and pinned namespace. */
int net_gc_networks(struct hutch_ctx *ctx, struct hutch_error **err);
/* The finer phases of net_prepare (net.netns, net.ipam, net.veth, net.config, net.nat), each
 * that ran, for the core to emit as phase events. */
void net_phases(const struct net *net, void (*emit)(void *ud, const char *name, uint64_t ns),
                void *ud);

#endif
