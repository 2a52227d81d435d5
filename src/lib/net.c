/* SPDX-License-Identifier: MIT */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctx.h"
#include "spec.h"
#include "util.h"

struct net {
    enum spec_net_mode mode;
    int join_fd; /* sandbox=ID: the network namespace to join */
};

int net_prepare(struct hutch_ctx *ctx, const struct hutch_spec *spec, const char *id,
                const char *state_dir, struct net **out, struct hutch_error **err)
{
    (void)ctx;
    (void)id;
    (void)state_dir;
    if (spec->net != SPEC_NET_NONE && spec->net != SPEC_NET_HOST)
        return hutch_err(err, ENOTSUP, "validate", "--network",
                         "this network mode is not available yet");
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return hutch_err(err, ENOMEM, NULL, "--network", "out of memory");
    n->mode = spec->net;
    n->join_fd = -1;
    *out = n;
    return 0;
}

uint64_t net_clone_flags(const struct net *n)
{
    return n && (n->mode == SPEC_NET_HOST || n->mode == SPEC_NET_SANDBOX) ? 0 : CLONE_NEWNET;
}

int net_attach(struct net *n, pid_t pid, struct hutch_error **err)
{
    (void)n;
    (void)pid;
    (void)err;
    return 0;
}

/* One ioctl on a throwaway socket: cheaper than a netlink round trip (FACTS.md). */
static int link_up(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    r = r < 0 ? -errno : 0;
    close(s);
    return r;
}

int net_child_setup(const struct net *n)
{
    if (!n || n->mode == SPEC_NET_HOST)
        return 0;
    if (n->join_fd >= 0)
        return setns(n->join_fd, CLONE_NEWNET) < 0 ? -errno : 0;
    return link_up("lo");
}

int net_etc_files(const struct net *n, const char *hostname, char **hosts, char **resolv)
{
    *hosts = NULL;
    *resolv = NULL;
    if (n && n->mode == SPEC_NET_HOST)
        return 0;
    if (asprintf(hosts,
                 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "127.0.1.1\t%s\n",
                 hostname) < 0) {
        *hosts = NULL;
        return -ENOMEM;
    }
    return 0;
}

const char *net_warning(const struct net *n)
{
    return n && n->mode == SPEC_NET_HOST
               ? "--network host: the sandbox shares the host's network namespace"
               : NULL;
}

void net_teardown(struct net *n)
{
    if (!n)
        return;
    if (n->join_fd >= 0)
        close(n->join_fd);
    free(n);
}

int net_gc(struct hutch_ctx *ctx, const char *state_dir, struct hutch_error **err)
{
    (void)ctx;
    (void)state_dir;
    (void)err;
    return 0;
}
