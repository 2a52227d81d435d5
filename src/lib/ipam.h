/* SPDX-License-Identifier: MIT */
/*
 * IPv4 address management for hutch's networks.
 *
 * Pure part: subnets, allocation, the text of a network's config file and lease file.
 * System part: the lease file HUTCH_RUN/net/<network>.leases, read and written only while the
 * caller holds flock(HUTCH_RUN/net/<network>.lock) (ipam_lock). The lock file stays; the lease
 * file is removed when its last lease goes.
 *
 *   lease file:  "# hutch leases v1"
 *                "ifindex N"            the network's bridge, in the namespace it lives in
 *                "netns INO"            internal: the inode of that namespace
 *                "nat 1"                hutch's nftables table for the network exists
 *                "lease ADDR ID HOST [nat] [hold=PID:FD]"   one per sandbox (a sandbox=ID
 *                                       joiner shares ADDR); internal: process PID holds the
 *                                       network's namespace open at FD
 *   config file: HUTCH_ROOT/net/<network>.conf: "subnet=CIDR", "mtu=N", '#' comments
 */
#ifndef HUTCH_IPAM_H
#define HUTCH_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define IPAM_ID_MAX   64
#define IPAM_HOST_MAX 64

struct ipam_subnet {
    uint32_t net; /* host byte order, host bits zero */
    unsigned prefix;
};

struct ipam_conf {
    struct ipam_subnet subnet;
    bool has_subnet;
    unsigned mtu; /* 0: the bridge's */
};

struct ipam_lease {
    uint32_t addr;
    char id[IPAM_ID_MAX + 1];
    char host[IPAM_HOST_MAX + 1];
    bool nat;
    int hold_pid; /* 0 = none */
    int hold_fd;
};

struct ipam_table {
    unsigned ifindex;
    uint64_t netns_ino;
    bool nat_table;
    struct ipam_lease *leases;
    size_t n, cap;
};

/* ---- pure */
/* "10.88.0.0/16" (host bits must be zero; prefix 8..30). 0 or -EINVAL. */
int ipam_parse_cidr(const char *s, struct ipam_subnet *out);
/* "a.b.c.d" -> host order. 0 or -EINVAL. */
int ipam_parse_addr(const char *s, uint32_t *out);
/* "a.b.c.d" into out (16 bytes) */
void ipam_format_addr(uint32_t addr, char out[16]);
/* The gateway of a subnet: its first host address. */
uint32_t ipam_gateway(const struct ipam_subnet *s);
/* Host addresses a subnet can lease (network, broadcast and the gateway excluded). */
uint32_t ipam_capacity(const struct ipam_subnet *s, bool gateway);
/* The lowest host address of s not leased in t (and not the gateway). -ENOSPC when full. */
int ipam_alloc(const struct ipam_subnet *s, bool gateway, const struct ipam_table *t,
               uint32_t *out);
/* Parse a config file; on -EINVAL, what names the bad line. */
int ipam_conf_parse(const char *text, struct ipam_conf *conf, char *what, size_t whatsz);
/* Parse a lease file; lines it does not understand are skipped (it is only ever written by
 * hutch, but a torn or foreign line must not stop the network). 0 or -ENOMEM. */
int ipam_table_parse(const char *text, struct ipam_table *t);
int ipam_table_format(const struct ipam_table *t, struct buf *out);
int ipam_table_add(struct ipam_table *t, uint32_t addr, const char *id, const char *host,
                   bool nat);
/* Remove the lease of sandbox id; true if there was one. */
bool ipam_table_remove(struct ipam_table *t, const char *id);
const struct ipam_lease *ipam_table_find(const struct ipam_table *t, const char *id);
bool ipam_table_any_nat(const struct ipam_table *t);
void ipam_table_free(struct ipam_table *t);

/* ---- the lease file (dir = HUTCH_RUN/net) */
/* Take the network's lock (blocking): the returned fd holds it until closed. */
int ipam_lock(const char *dir, const char *network);
/* Read the lease file (missing = empty table). */
int ipam_load(const char *dir, const char *network, struct ipam_table *t);
/* Write it atomically; an empty table (no lease, no nat table) removes the file. */
int ipam_store(const char *dir, const char *network, const struct ipam_table *t);

#endif
