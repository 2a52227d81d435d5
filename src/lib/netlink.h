/* SPDX-License-Identifier: MIT */
/*
 * Thin helpers over rtnetlink, knowing nothing of sandboxes. Messages are built with libmnl
 * (bridges with libnl-route) and sent on a plain NETLINK_ROUTE socket: a socket acts in the
 * network namespace that was current when it was opened, so one socket per namespace and no
 * setns() around each call. All functions return 0 (or an fd) or -errno.
 */
#ifndef HUTCH_NETLINK_H
#define HUTCH_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An rtnetlink socket in the calling thread's network namespace. */
int netlink_open(void);
/* A new network namespace: *ns_fd refers to it, *nl_fd is an rtnetlink socket in it. Only the
 * calling thread enters it, and it is back in its own namespace on return. */
int netlink_netns_new(int *ns_fd, int *nl_fd);
/* An rtnetlink socket in the namespace ns_fd refers to (same thread dance). */
int netlink_netns_socket(int ns_fd);

struct netlink_link {
    int ifindex;
    unsigned mtu;
    unsigned flags;
    bool bridge;
    char alias[64];
};
/* -ENODEV when there is no link of that name. */
int netlink_link_get(int nl, const char *name, struct netlink_link *out);
int netlink_link_up(int nl, int ifindex);
int netlink_link_delete(int nl, const char *name);

/* A bridge, up, optionally with an alias (hutch marks its own) and an IPv4 address (the
 * gateway), in one round trip. mtu 0 = the kernel's default. */
int netlink_bridge_create(int nl, const char *name, unsigned mtu, const char *alias,
                          uint32_t addr, unsigned prefix);

/* A veth pair in one message: `name` goes to namespace ns_fd (-1: the socket's) as a port of
 * bridge ifindex `master` there, up; `peer` to peer_ns_fd, down (netlink_iface_config brings it
 * up); both with mtu (0: default). */
struct netlink_veth {
    const char *name;
    int ns_fd;
    int master;
    const char *peer;
    int peer_ns_fd;
    unsigned mtu;
    const uint8_t *peer_mac; /* 6 bytes or NULL */
};
int netlink_veth_create(int nl, const struct netlink_veth *v);

/* Address ifname (in the socket's namespace), bring it up and, when gw != 0, route by default
 * via gw: one round trip after the name lookup. */
int netlink_iface_config(int nl, const char *ifname, uint32_t addr, unsigned prefix,
                         uint32_t gw);

/* Run nft(8) on a script (nftables rules: a process only for --nat, on its slow path). On
 * failure, nft's first error line lands in msg. */
int netlink_nft(const char *script, char *msg, size_t msgsz);

#endif
