/* SPDX-License-Identifier: MIT */
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define NL_BUF 32768

/* ---------------------------------------------------------------- sockets and namespaces */

int netlink_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    return fd < 0 ? -errno : fd;
}

/* Enter ns (or a new one when ns < 0), open what is wanted there, come back. Namespaces are
 * per thread: the caller's other threads never see the switch. */
static int in_netns(int ns, int *ns_out, int *nl_out)
{
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return -errno;
    if ((ns < 0 ? unshare(CLONE_NEWNET) : setns(ns, CLONE_NEWNET)) < 0)
        return -errno;
    int r = 0, nsfd = -1, nl = -1;
    if (ns_out && (nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        r = -errno;
    if (!r && (nl = netlink_open()) < 0)
        r = nl;
    if (setns(self, CLONE_NEWNET) < 0) {
        /* cannot happen short of ENOMEM; the thread would be stranded: say so loudly */
        r = -errno;
        fprintf(stderr, "hutch: cannot return to the original network namespace: %s\n",
                strerror(errno));
    }
    if (r < 0) {
        if (nsfd >= 0)
            close(nsfd);
        if (nl >= 0)
            close(nl);
        return r;
    }
    if (ns_out)
        *ns_out = nsfd;
    *nl_out = nl;
    return 0;
}

int netlink_netns_new(int *ns_fd, int *nl_fd)
{
    return in_netns(-1, ns_fd, nl_fd);
}

int netlink_netns_socket(int ns_fd)
{
    int nl = -1;
    int r = in_netns(ns_fd, NULL, &nl);
    return r < 0 ? r : nl;
}

/* ---------------------------------------------------------------- requests */

/* Send the n messages in buf (each asking for an ack) and collect their acks; other replies go
 * to cb. Returns the first error the kernel reported, or 0. */
static int talk(int nl, void *buf, size_t len, unsigned n, mnl_cb_t cb, void *data)
{
    uint32_t seq = (uint32_t)now_mono_ns();
    unsigned i = 0;
    for (struct nlmsghdr *h = buf; i < n; h = (struct nlmsghdr *)((char *)h +
                                                                   NLMSG_ALIGN(h->nlmsg_len))) {
        h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        h->nlmsg_seq = seq + i++;
    }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    ssize_t s;
    do
        s = sendto(nl, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
    while (s < 0 && errno == EINTR);
    if (s < 0)
        return -errno;
    char rb[NL_BUF] __attribute__((aligned(4)));
    unsigned acks = 0;
    int first = 0;
    while (acks < n) {
        ssize_t got = recv(nl, rb, sizeof(rb), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -errno : -EPIPE;
        int left = (int)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)rb; mnl_nlmsg_ok(h, left);
             h = mnl_nlmsg_next(h, &left)) {
            if (h->nlmsg_seq - seq >= n)
                continue; /* a stale answer to an earlier, abandoned request */
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                acks++;
                if (e->error && !first)
                    first = e->error;
            } else if (cb && cb(h, data) < 0 && !first) {
                first = -EPROTO;
            }
        }
    }
    return first;
}

static struct nlmsghdr *put_msg(char *at, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *h = mnl_nlmsg_put_header(at);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    return h;
}

static char *msg_end(struct nlmsghdr *h)
{
    return (char *)h + NLMSG_ALIGN(h->nlmsg_len);
}

struct link_reply {
    struct netlink_link *out;
    bool seen;
};

static int link_attr(const struct nlattr *a, void *data)
{
    struct netlink_link *l = data;
    switch (mnl_attr_get_type(a)) {
    case IFLA_MTU:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
            l->mtu = mnl_attr_get_u32(a);
        break;
    case IFLA_IFALIAS:
        snprintf(l->alias, sizeof(l->alias), "%.*s", (int)mnl_attr_get_payload_len(a),
                 (const char *)mnl_attr_get_payload(a));
        break;
    case IFLA_LINKINFO: {
        const struct nlattr *in;
        mnl_attr_for_each_nested(in, a) if (mnl_attr_get_type(in) == IFLA_INFO_KIND)
            l->bridge = !strncmp(mnl_attr_get_payload(in), "bridge",
                                 mnl_attr_get_payload_len(in));
        break;
    }
    }
    return MNL_CB_OK;
}

static int link_reply_cb(const struct nlmsghdr *h, void *data)
{
    struct link_reply *lr = data;
    if (h->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
    memset(lr->out, 0, sizeof(*lr->out));
    lr->out->ifindex = ifi->ifi_index;
    lr->out->flags = ifi->ifi_flags;
    lr->seen = true;
    return mnl_attr_parse(h, sizeof(*ifi), link_attr, lr->out) < 0 ? -1 : MNL_CB_OK;
}

int netlink_link_get(int nl, const char *name, struct netlink_link *out)
{
    char buf[512] __attribute__((aligned(4)));
    struct nlmsghdr *h = put_msg(buf, RTM_GETLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, name);
    /* no statistics: a smaller answer */
    mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    struct link_reply lr = {.out = out};
    int r = talk(nl, buf, h->nlmsg_len, 1, link_reply_cb, &lr);
    return r < 0 ? r : lr.seen ? 0 : -ENODEV;
}

static struct nlmsghdr *put_link_up(char *at, int ifindex)
{
    struct nlmsghdr *h = put_msg(at, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    return h;
}

int netlink_link_up(int nl, int ifindex)
{
    char buf[256] __attribute__((aligned(4)));
    struct nlmsghdr *h = put_link_up(buf, ifindex);
    return talk(nl, buf, h->nlmsg_len, 1, NULL, NULL);
}

int netlink_link_delete(int nl, const char *name)
{
    char buf[256] __attribute__((aligned(4)));
    struct nlmsghdr *h = put_msg(buf, RTM_DELLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, name);
    return talk(nl, buf, h->nlmsg_len, 1, NULL, NULL);
}

static struct nlmsghdr *put_addr(char *at, int ifindex, uint32_t addr, unsigned prefix)
{
    struct nlmsghdr *h = put_msg(at, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)ifindex;
    uint32_t be = htonl(addr), bcast = htonl(addr | ~(prefix ? ~0U << (32 - prefix) : 0));
    mnl_attr_put_u32(h, IFA_LOCAL, be);
    mnl_attr_put_u32(h, IFA_ADDRESS, be);
    mnl_attr_put_u32(h, IFA_BROADCAST, bcast);
    return h;
}

static struct nlmsghdr *put_default_route(char *at, int ifindex, uint32_t gw)
{
    struct nlmsghdr *h = put_msg(at, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gw));
    mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
    return h;
}

int netlink_iface_config(int nl, const char *ifname, uint32_t addr, unsigned prefix,
                         uint32_t gw)
{
    struct netlink_link l;
    int r = netlink_link_get(nl, ifname, &l);
    if (r < 0)
        return r;
    /* one send: the kernel handles them in order, the route finds its on-link subnet */
    char buf[1024] __attribute__((aligned(4)));
    char *at = msg_end(put_addr(buf, l.ifindex, addr, prefix));
    at = msg_end(put_link_up(at, l.ifindex));
    if (gw)
        at = msg_end(put_default_route(at, l.ifindex, gw));
    return talk(nl, buf, (size_t)(at - buf), gw ? 3 : 2, NULL, NULL);
}

/* ---------------------------------------------------------------- links (libnl-route) */

static int send_nl_msg(int nl, struct nl_msg *msg)
{
    struct nlmsghdr *h = nlmsg_hdr(msg);
    return talk(nl, h, h->nlmsg_len, 1, NULL, NULL);
}

int netlink_bridge_create(int nl, const char *name, unsigned mtu, const char *alias,
                          uint32_t addr, unsigned prefix)
{
    struct rtnl_link *link = rtnl_link_alloc();
    if (!link)
        return -ENOMEM;
    int r = rtnl_link_set_type(link, "bridge");
    rtnl_link_set_name(link, name);
    struct nl_msg *msg = NULL;
    if (!r)
        r = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg);
    rtnl_link_put(link);
    if (r < 0)
        return -ENOMEM;
    r = send_nl_msg(nl, msg);
    nlmsg_free(msg);
    if (r < 0)
        return r;
    /* by ifindex, once it exists: the alias (ignored on creation), the MTU (set on creation,
     * the bridge would forget it when its last port goes), the gateway address, up */
    struct netlink_link l;
    if ((r = netlink_link_get(nl, name, &l)) < 0)
        return r;
    char buf[1024] __attribute__((aligned(4)));
    unsigned n = 0;
    char *at = buf;
    if (alias || mtu) {
        struct nlmsghdr *h = put_msg(at, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_index = l.ifindex;
        if (alias)
            mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
        if (mtu)
            mnl_attr_put_u32(h, IFLA_MTU, mtu);
        at = msg_end(h), n++;
    }
    if (addr)
        at = msg_end(put_addr(at, l.ifindex, addr, prefix)), n++;
    at = msg_end(put_link_up(at, l.ifindex)), n++;
    return talk(nl, buf, (size_t)(at - buf), n, NULL, NULL);
}

/* libmnl rather than libnl-route here: libnl sends the peer's ifi_change as 0, so asking for
 * the peer up makes the kernel open it before it knows its peer (ENOTCONN), and without that
 * every other flag of the peer is cleared. */
int netlink_veth_create(int nl, const struct netlink_veth *v)
{
    char buf[1024] __attribute__((aligned(4)));
    struct nlmsghdr *h = put_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    mnl_attr_put_strz(h, IFLA_IFNAME, v->name);
    if (v->ns_fd >= 0)
        mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)v->ns_fd);
    if (v->master > 0)
        mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)v->master);
    if (v->mtu)
        mnl_attr_put_u32(h, IFLA_MTU, v->mtu);
    struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
    mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
    /* the peer cannot be up yet (the kernel opens it before it is paired): the config of its
     * namespace brings it up */
    struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
    pifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, v->peer);
    if (v->peer_ns_fd >= 0)
        mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)v->peer_ns_fd);
    if (v->mtu)
        mnl_attr_put_u32(h, IFLA_MTU, v->mtu);
    if (v->peer_mac)
        mnl_attr_put(h, IFLA_ADDRESS, 6, v->peer_mac);
    mnl_attr_nest_end(h, peer);
    mnl_attr_nest_end(h, data);
    mnl_attr_nest_end(h, info);
    return talk(nl, buf, h->nlmsg_len, 1, NULL, NULL);
}

/* ---------------------------------------------------------------- nftables */

static const char *find_nft(void)
{
    static const char *const paths[] = {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

int netlink_nft(const char *script, char *msg, size_t msgsz)
{
    const char *nft = find_nft();
    if (!nft) {
        snprintf(msg, msgsz, "nft(8) is not installed");
        return -ENOENT;
    }
    /* the script through a memfd and errors through a file: no pipe to deadlock on, no
     * SIGPIPE if nft exits early */
    _cleanup_close_ int in = memfd_create("hutch-nft", MFD_CLOEXEC);
    _cleanup_close_ int er = memfd_create("hutch-nft-err", MFD_CLOEXEC);
    if (in < 0 || er < 0)
        return -errno;
    int r = write_all(in, script, strlen(script));
    if (r < 0 || lseek(in, 0, SEEK_SET) < 0)
        return r < 0 ? r : -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, er, 2);
    char *argv[] = {(char *)"nft", (char *)"-f", (char *)"-", NULL};
    pid_t pid;
    r = posix_spawn(&pid, nft, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r) {
        snprintf(msg, msgsz, "cannot run %s: %s", nft, strerror(r));
        return -r;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    char ebuf[512];
    ssize_t n = pread(er, ebuf, sizeof(ebuf) - 1, 0);
    ebuf[n > 0 ? n : 0] = '\0';
    ebuf[strcspn(ebuf, "\n")] = '\0';
    snprintf(msg, msgsz, "nft: %s", ebuf[0] ? ebuf : "failed");
    return -EIO;
}
