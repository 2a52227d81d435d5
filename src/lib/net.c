/* SPDX-License-Identifier: MIT */
/*
 * Networking modes. Everything is prepared by the parent before clone3, so the child only joins
 * a finished namespace with one setns() (and a pool of prepared sandboxes can hold one later):
 *
 *   none          a new namespace (unshare(CLONE_NEWNET) in the calling thread, which setns()
 *                 back at once, keeping an fd and an rtnetlink socket opened inside) with lo up
 *   host          the caller's namespace; nothing to do
 *   bridge=NAME   none + a veth pair made in one message: "hv<hash>" in the host namespace as a
 *                 port of bridge NAME (made on first use, marked by the alias "hutch", carrying the
 *                 gateway address), "eth0" straight into the sandbox's namespace with an address
 *                 from the lease file, a default route via the gateway and the bridge's MTU
 *   internal=NAME none + a veth pair whose bridge lives in a private namespace of its own: the
 *                 host's stack is not on that network at all (no address, no route, no ARP to
 *                 answer). Every sandbox's supervisor holds that namespace open (an fd recorded
 *                 in the lease file, through which the next sandbox finds it): when the last one
 *                 ends, or dies, the kernel removes the namespace, its bridge and veths by
 *                 itself - no mount to pin it, no 10 ms umount, nothing for gc.
 *   sandbox=ID    the namespace of a running sandbox (through its init's pidfd, checked live)
 *
 * With a user namespace, clone3 makes the network namespace instead (then owned by the
 * sandbox's user namespace: its root may bind low ports there) and net_attach finishes it the
 * same way, through a socket opened in it, while the child waits.
 *
 * Teardown never deletes a veth: closing the namespace fd lets the kernel remove the pair when
 * the sandbox's last process is gone (an explicit delete costs 15-20 ms). A hutch bridge stays
 * after its last sandbox (deleting one costs 30-40 ms, measured); `hutch gc` removes unused ones
 * and their nftables table.
 */
#include "net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctx.h"
#include "ipam.h"
#include "netlink.h"
#include "spec.h"
#include "state.h"
#include "sys.h"
#include "util.h"

#define NET_ALIAS        "hutch" /* marks the bridges hutch made (and may delete) */
#define NET_IFNAME       "eth0"
#define NET_INNER_BRIDGE "br0"
#define DEFAULT_BRIDGE_SUBNET   "10.88.0.0/16"
#define DEFAULT_INTERNAL_SUBNET "10.89.0.0/16"

enum net_phase { PH_NETNS, PH_LO, PH_IPAM, PH_VETH, PH_CONFIG, PH_NAT, PH_N };
static const char *const phase_names[PH_N] = {"net.netns", "net.lo",     "net.ipam",
                                              "net.veth",  "net.config", "net.nat"};

struct net {
    enum spec_net_mode mode;
    int ns_fd; /* the namespace the child joins; -1: the caller's (host) */
    bool nat;
    bool leased;             /* a lease to give back at teardown */
    bool resolv_host;        /* the host's /etc/resolv.conf goes in */
    char name[16];           /* the network's name (spec) */
    char network[32];        /* "bridge-NAME" / "internal-NAME": its files in HUTCH_RUN/net */
    char id[IPAM_ID_MAX + 1];
    char run_net[4096];      /* HUTCH_RUN/net */
    uint32_t addr, gw;       /* host order; 0 = none */
    unsigned prefix;
    char *peers;             /* /etc/hosts lines for the other sandboxes of the network */
    bool userns;             /* the child makes its own namespace (net_attach finishes it) */
    int br_ns;               /* internal: the bridge's namespace, held for the sandbox's life */
    int br_ifindex;          /* the bridge, in its namespace */
    unsigned mtu;
    uint64_t ns[PH_N];
};

/* An error from the kernel: what failed, then why. */
static int fail(struct hutch_error **err, int r, const char *op, const char *subject,
                const char *what)
{
    return hutch_err(err, r, op, subject, "%s: %s", what, strerror(-r));
}

static uint64_t phase_end(struct net *n, enum net_phase p, uint64_t t0)
{
    uint64_t now = now_mono_ns();
    n->ns[p] += now - t0;
    return now;
}

void net_phases(const struct net *n, void (*emit)(void *, const char *, uint64_t), void *ud)
{
    for (int p = 0; n && p < PH_N; p++)
        if (n->ns[p])
            emit(ud, phase_names[p], n->ns[p]);
}

/* ---------------------------------------------------------------- the network's lease file */

static bool lease_live(const char *run_net, const char *id)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%.*s/%s", (int)(strlen(run_net) - 4), run_net, id);
    return state_is_live(dir);
}

static void nat_remove(const char *name, struct ipam_table *t, uint32_t addr);

/* Drop the leases of sandboxes whose supervisor is gone (only when it matters: a full subnet,
 * a network whose namespace is gone, gc): one flock probe each. */
static void leases_prune(const char *run_net, const char *network, struct ipam_table *t)
{
    for (size_t i = 0; i < t->n;) {
        if (lease_live(run_net, t->leases[i].id)) {
            i++;
            continue;
        }
        struct ipam_lease l = t->leases[i];
        ipam_table_remove(t, l.id);
        if (l.nat && t->nat_table)
            nat_remove(network + strlen("bridge-"), t, l.addr);
    }
}

static int conf_load(struct hutch_ctx *ctx, const struct net *n, struct ipam_conf *conf,
                     struct hutch_error **err)
{
    char p[4200], what[128];
    snprintf(p, sizeof(p), "%s/net/%s.conf", ctx->root, n->network);
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(AT_FDCWD, p, &text, NULL, 1 << 16);
    if (r < 0 && r != -ENOENT)
        return fail(err, r, "read", p, "cannot read the network's configuration");
    if (text && (r = ipam_conf_parse(text, conf, what, sizeof(what))) < 0)
        return hutch_err(err, r, "parse", p, "%s", what);
    if (!text)
        memset(conf, 0, sizeof(*conf));
    if (conf->has_subnet)
        return 0;
    /* hutch0 and internal networks have a default; another bridge needs its subnet said */
    if (n->mode == SPEC_NET_BRIDGE && strcmp(n->name, "hutch0") != 0)
        return hutch_err(err, ENOENT, "configure", n->name,
                         "--network bridge=%s: no subnet configured (write subnet=CIDR to %s)",
                         n->name, p);
    conf->has_subnet = true;
    return ipam_parse_cidr(n->mode == SPEC_NET_BRIDGE ? DEFAULT_BRIDGE_SUBNET
                                                      : DEFAULT_INTERNAL_SUBNET,
                           &conf->subnet);
}

/* ---------------------------------------------------------------- bridges */

/* bridge=NAME: the host's bridge (made here on first use) */
static int bridge_ensure(struct net *n, int nl, const struct ipam_conf *conf,
                         struct netlink_link *l, struct hutch_error **err)
{
    int r = netlink_link_get(nl, n->name, l);
    if (r == -ENODEV) {
        r = netlink_bridge_create(nl, n->name, conf->mtu, NET_ALIAS, n->gw, n->prefix);
        r = r ?: netlink_link_get(nl, n->name, l);
    }
    if (r < 0)
        return fail(err, r, "create", n->name, "--network bridge: cannot create the bridge");
    if (!l->bridge)
        return hutch_err(err, EEXIST, "create", n->name,
                         "--network bridge=%s: an interface of that name is not a bridge",
                         n->name);
    return 0;
}

/* internal=NAME: its namespace, through the fd a live sandbox's supervisor holds it by. */
static int internal_open(const char *run_net, const struct ipam_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct ipam_lease *l = &t->leases[i];
        if (l->hold_pid <= 0 || !lease_live(run_net, l->id))
            continue;
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/fd/%d", l->hold_pid, l->hold_fd);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        struct stat st;
        struct statfs sf;
        /* the namespace recorded, not whatever a reused pid or fd number holds now */
        if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == NSFS_MAGIC && fstat(fd, &st) == 0 &&
            st.st_ino == t->netns_ino)
            return fd;
        if (fd >= 0)
            close(fd);
    }
    return -1;
}

/* internal=NAME: the bridge's own namespace (made here when nobody holds it), in n->br_ns. */
static int internal_ensure(struct net *n, const struct ipam_conf *conf, struct ipam_table *t,
                           struct hutch_error **err)
{
    if ((n->br_ns = internal_open(n->run_net, t)) >= 0)
        return 0;
    leases_prune(n->run_net, n->network, t);
    if (t->n)
        return hutch_err(err, ESRCH, "open", n->network,
                         "--network internal=%s: its sandboxes run but their network cannot be "
                         "reached (hutch processes of a network must share a pid namespace)",
                         n->name);
    _cleanup_close_ int ns = -1, nl = -1;
    int r = netlink_netns_new(&ns, &nl);
    if (r < 0)
        return fail(err, r, "unshare", "network namespace", "--network internal");
    struct netlink_link l;
    struct stat st;
    r = netlink_bridge_create(nl, NET_INNER_BRIDGE, conf->mtu, NULL, 0, 0);
    r = r ?: netlink_link_get(nl, NET_INNER_BRIDGE, &l);
    r = r ?: (fstat(ns, &st) < 0 ? -errno : 0);
    if (r < 0)
        return fail(err, r, "create", NET_INNER_BRIDGE, "--network internal: the bridge");
    t->ifindex = (unsigned)l.ifindex;
    t->netns_ino = st.st_ino;
    n->br_ns = TAKE_FD(ns);
    return 0;
}

/* ---------------------------------------------------------------- NAT (nftables) */

static int nat_add(struct net *n, struct ipam_table *t, struct hutch_error **err)
{
    char a[16], msg[256];
    ipam_format_addr(n->addr, a);
    /* masquerade needs forwarding; like Docker, hutch turns it on (and leaves it on) */
    _cleanup_free_ char *fwd = NULL;
    if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &fwd, NULL, 16) == 0 &&
        fwd[0] == '0' && write_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", "1") < 0)
        return hutch_err_sys(err, "write", "/proc/sys/net/ipv4/ip_forward");
    _cleanup_free_ char *script = NULL;
    int r;
    if (t->nat_table)
        r = asprintf(&script, "add element ip hutch-%s nat { %s }\n", n->name, a);
    else
        /* sandboxes without --nat on the bridge are never forwarded, with or without NAT */
        r = asprintf(&script,
                     "table ip hutch-%1$s {\n"
                     " set nat { type ipv4_addr; }\n"
                     " chain postrouting { type nat hook postrouting priority srcnat; "
                     "policy accept; ip saddr @nat oifname != \"%1$s\" masquerade; }\n"
                     " chain forward { type filter hook forward priority filter; policy accept; "
                     "iifname \"%1$s\" ip saddr != @nat drop; "
                     "oifname \"%1$s\" ct state != { established, related } drop; }\n"
                     "}\nadd element ip hutch-%1$s nat { %2$s }\n",
                     n->name, a);
    if (r < 0)
        return hutch_err(err, ENOMEM, NULL, "--nat", "out of memory");
    t->nat_table = true; /* even if nft failed half-way: gc deletes the table */
    if ((r = netlink_nft(script, msg, sizeof(msg))) < 0)
        return hutch_err(err, r, "nft", "--nat", "%s", msg);
    return 0;
}

static void nat_remove(const char *name, struct ipam_table *t, uint32_t addr)
{
    char a[16], msg[256], script[128];
    for (size_t i = 0; i < t->n; i++)
        if (t->leases[i].nat && t->leases[i].addr == addr)
            return; /* a sandbox=ID joiner still uses it */
    ipam_format_addr(addr, a);
    snprintf(script, sizeof(script), "delete element ip hutch-%s nat { %s }\n", name, a);
    netlink_nft(script, msg, sizeof(msg));
}

/* ---------------------------------------------------------------- joining a network */

static void host_ifname(const char *id, char out[IFNAMSIZ])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: ids may be longer than an interface name */
    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    snprintf(out, IFNAMSIZ, "hv%012llx", (unsigned long long)(h >> 16));
}

static int peers_collect(struct net *n, const struct ipam_table *t)
{
    struct buf b = {0};
    for (size_t i = 0; i < t->n; i++) {
        char a[16];
        ipam_format_addr(t->leases[i].addr, a);
        if (strcmp(t->leases[i].id, n->id) != 0 &&
            buf_printf(&b, "%s\t%s\n", a, t->leases[i].host) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
    }
    n->peers = b.data;
    return 0;
}

static int state_record(const struct net *n, const char *state_dir)
{
    char a[16], json[256];
    ipam_format_addr(n->addr, a);
    snprintf(json, sizeof(json), "{\"network\":\"%s\",\"name\":\"%s\",\"addr\":\"%s\","
             "\"prefix\":%u,\"nat\":%s,\"resolv_host\":%s}\n", n->network, n->name, a, n->prefix,
             n->nat ? "true" : "false", n->resolv_host ? "true" : "false");
    return state_write(state_dir, "net.json", json);
}

/* Under the network's lock: the bridge, an address, the lease (recorded in state_dir first,
 * so that gc finds it whatever happens next). */
static int lease_take(struct hutch_ctx *ctx, const struct hutch_spec *spec, struct net *n,
                      const char *state_dir, struct hutch_error **err)
{
    struct netlink_link br = {0};
    struct ipam_conf conf;
    int r = conf_load(ctx, n, &conf, err);
    if (r < 0)
        return r;
    n->prefix = conf.subnet.prefix;
    n->gw = n->mode == SPEC_NET_BRIDGE ? ipam_gateway(&conf.subnet) : 0;
    _cleanup_close_ int lock = ipam_lock(n->run_net, n->network);
    if (lock < 0)
        return fail(err, lock, "lock", n->run_net, "--network: the lease file");
    struct ipam_table t;
    if ((r = ipam_load(n->run_net, n->network, &t)) < 0)
        return fail(err, r, "read", n->network, "--network: the lease file");
    _cleanup_close_ int host_nl = -1;
    if (n->mode == SPEC_NET_BRIDGE) {
        if ((host_nl = netlink_open()) < 0)
            r = fail(err, host_nl, "socket", "netlink", "--network");
        r = r ?: bridge_ensure(n, host_nl, &conf, &br, err);
    } else {
        r = internal_ensure(n, &conf, &t, err);
        br.ifindex = (int)t.ifindex;
        br.mtu = conf.mtu;
    }
    n->br_ifindex = br.ifindex;
    n->mtu = conf.mtu ? conf.mtu : br.mtu;
    if (!r && (r = ipam_alloc(&conf.subnet, n->gw != 0, &t, &n->addr)) == -ENOSPC) {
        leases_prune(n->run_net, n->network, &t);
        r = ipam_alloc(&conf.subnet, n->gw != 0, &t, &n->addr);
    }
    if (r == -ENOSPC) {
        char a[16];
        ipam_format_addr(conf.subnet.net, a);
        r = hutch_err(err, ENOSPC, "allocate", n->network,
                      "--network: subnet %s/%u of network %s is full (%u addresses)", a,
                      conf.subnet.prefix, n->name, ipam_capacity(&conf.subnet, n->gw != 0));
    }
    const char *host = spec->hostname ? spec->hostname : n->id;
    if (!r && (r = state_record(n, state_dir)) < 0)
        r = fail(err, r, "write", state_dir, "net.json");
    if (!r && (r = ipam_table_add(&t, n->addr, n->id, host, n->nat)) < 0)
        r = fail(err, r, NULL, n->network, "cannot add the lease");
    if (!r && n->br_ns >= 0) {
        /* this process holds the network's namespace: the next sandbox finds it here */
        t.leases[t.n - 1].hold_pid = getpid();
        t.leases[t.n - 1].hold_fd = n->br_ns;
    }
    if (!r && n->mode == SPEC_NET_INTERNAL && peers_collect(n, &t) < 0)
        r = hutch_err(err, ENOMEM, NULL, "--network", "out of memory");
    if (!r && n->nat) {
        uint64_t t0 = now_mono_ns();
        r = nat_add(n, &t, err);
        phase_end(n, PH_NAT, t0);
    }
    /* stored even on failure: a nat table half made must be found by gc */
    int w = r && !t.nat_table ? 0 : ipam_store(n->run_net, n->network, &t);
    if (!r && w < 0)
        r = fail(err, w, "write", n->network, "--network: the lease file");
    n->leased = !r || t.nat_table;
    ipam_table_free(&t);
    return r;
}

/* The veth pair (host end a port of the bridge, "eth0" in the sandbox's namespace) and eth0's
 * address and route, through nl, a socket in the sandbox's namespace. */
static int net_wire(struct net *n, int nl, struct hutch_error **err)
{
    uint64_t t0 = now_mono_ns();
    _cleanup_close_ int host_nl = netlink_open();
    if (host_nl < 0)
        return fail(err, host_nl, "socket", "netlink", "--network");
    char hv[IFNAMSIZ];
    host_ifname(n->id, hv);
    /* a MAC derived from the address: a lease reused a moment later finds the peers' ARP
     * caches already right */
    uint8_t mac[6] = {0x02, 0x68, (uint8_t)(n->addr >> 24), (uint8_t)(n->addr >> 16),
                      (uint8_t)(n->addr >> 8), (uint8_t)n->addr};
    struct netlink_veth v = {.name = hv, .ns_fd = n->br_ns, .master = n->br_ifindex,
                             .peer = NET_IFNAME, .peer_ns_fd = n->ns_fd, .mtu = n->mtu,
                             .peer_mac = mac};
    int r = netlink_veth_create(host_nl, &v);
    if (r < 0)
        return fail(err, r, "create", hv, "--network: the veth pair");
    t0 = phase_end(n, PH_VETH, t0);
    if ((r = netlink_iface_config(nl, NET_IFNAME, n->addr, n->prefix, n->gw)) < 0)
        return fail(err, r, "configure", NET_IFNAME, "--network: address and route");
    phase_end(n, PH_CONFIG, t0);
    return 0;
}

/* lo up, and for bridge/internal the wiring, in the namespace ns_fd refers to; nl: a socket in
 * it (opened here when -1). */
static int net_finish(struct net *n, int nl, struct hutch_error **err)
{
    _cleanup_close_ int own = -1;
    if (nl < 0 && (nl = own = netlink_netns_socket(n->ns_fd)) < 0)
        return fail(err, nl, "setns", "network namespace", "--network");
    /* lo through a socket opened inside: the child only has to join */
    uint64_t t0 = now_mono_ns();
    int r = netlink_link_up(nl, 1);
    if (r < 0)
        return fail(err, r, "up", "lo", "--network");
    phase_end(n, PH_LO, t0);
    if (n->mode == SPEC_NET_BRIDGE || n->mode == SPEC_NET_INTERNAL)
        return net_wire(n, nl, err);
    return 0;
}

/* ---------------------------------------------------------------- sandbox=ID */

/* A joiner takes a lease on the same address, so that it stays taken (and an internal network
 * stays up) while the joiner lives, even if the sandbox it joined ends first. */
static int lease_share(const struct hutch_spec *spec, struct net *n, const char *state_dir,
                       struct hutch_error **err)
{
    _cleanup_close_ int lock = ipam_lock(n->run_net, n->network);
    if (lock < 0)
        return fail(err, lock, "lock", n->run_net, "--network: the lease file");
    struct ipam_table t;
    int r = ipam_load(n->run_net, n->network, &t);
    const char *host = spec->hostname ? spec->hostname : n->id;
    /* an internal network's namespace, held like its own sandboxes hold it: eth0's peer lives
     * there, and must outlive the sandbox we join if we do */
    if (!r && !strncmp(n->network, "internal-", 9))
        n->br_ns = internal_open(n->run_net, &t);
    r = r ?: state_record(n, state_dir);
    r = r ?: ipam_table_add(&t, n->addr, n->id, host, false);
    if (!r && n->br_ns >= 0) {
        t.leases[t.n - 1].hold_pid = getpid();
        t.leases[t.n - 1].hold_fd = n->br_ns;
    }
    r = r ?: ipam_store(n->run_net, n->network, &t);
    n->leased = r == 0;
    ipam_table_free(&t);
    return r < 0 ? fail(err, r, "lease", n->network, "--network sandbox=ID: a shared lease") : 0;
}

static int sandbox_join(struct hutch_ctx *ctx, const struct hutch_spec *spec, struct net *n,
                        const char *state_dir, struct hutch_error **err)
{
    char dir[4200], p[4300];
    snprintf(dir, sizeof(dir), "%s/%s", ctx->run_dir, n->name);
    snprintf(p, sizeof(p), "%s/init.pid", dir);
    _cleanup_free_ char *pidtxt = NULL, *json = NULL;
    int pid = read_file_at(AT_FDCWD, p, &pidtxt, NULL, 64) == 0 ? atoi(pidtxt) : 0;
    _cleanup_close_ int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    if (pidfd < 0 || !state_is_live(dir))
        return hutch_err(err, ESRCH, "join", n->name, "--network sandbox=%s: no running sandbox "
                         "with this id", n->name);
    snprintf(p, sizeof(p), "/proc/%d/ns/net", pid);
    n->ns_fd = open(p, O_RDONLY | O_CLOEXEC);
    /* the pidfd still alive after the open: /proc/<pid> was that sandbox's init, not a reuse */
    if (n->ns_fd < 0 || sys_pidfd_send_signal(pidfd, 0) < 0)
        return hutch_err(err, ESRCH, "join", n->name, "--network sandbox=%s: the sandbox ended",
                         n->name);
    struct stat a, b;
    if (fstat(n->ns_fd, &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        return hutch_err(err, EPERM, "join", n->name, "--network sandbox=%s: that sandbox uses "
                         "the host's network; ask for --network host instead", n->name);
    snprintf(p, sizeof(p), "%s/net.json", dir);
    if (read_file_at(AT_FDCWD, p, &json, NULL, 4096) < 0)
        return 0; /* that sandbox has --network none */
    json_t *j = json_loads(json, 0, NULL);
    const char *network = json_string_value(json_object_get(j, "network"));
    const char *addr = json_string_value(json_object_get(j, "addr"));
    int r = 0;
    if (network && addr && strlen(network) < sizeof(n->network) &&
        ipam_parse_addr(addr, &n->addr) == 0) {
        snprintf(n->network, sizeof(n->network), "%s", network);
        n->prefix = (unsigned)json_integer_value(json_object_get(j, "prefix"));
        n->resolv_host = json_is_true(json_object_get(j, "resolv_host"));
        r = lease_share(spec, n, state_dir, err);
    }
    json_decref(j);
    return r;
}

/* ---------------------------------------------------------------- the interface */

static int prepare_mode(struct hutch_ctx *ctx, const struct hutch_spec *spec, struct net *n,
                        const char *state_dir, struct hutch_error **err)
{
    if (n->mode == SPEC_NET_HOST)
        return 0;
    if (n->mode == SPEC_NET_SANDBOX && n->userns)
        /* setns from a new user namespace into one it does not own is refused (EPERM) */
        return hutch_err(err, EINVAL, "validate", "--network",
                         "--network sandbox=ID cannot be combined with --userns");
    if (n->mode == SPEC_NET_SANDBOX)
        return sandbox_join(ctx, spec, n, state_dir, err);
    if (n->mode != SPEC_NET_NONE) {
        uint64_t t0 = now_mono_ns();
        int r = lease_take(ctx, spec, n, state_dir, err);
        if (r < 0)
            return r;
        phase_end(n, PH_IPAM, t0);
    }
    if (n->userns)
        return 0; /* clone3 makes the namespace, owned by the sandbox's user namespace */
    uint64_t t0 = now_mono_ns();
    _cleanup_close_ int nl = -1;
    int r = netlink_netns_new(&n->ns_fd, &nl);
    if (r < 0)
        return fail(err, r, "unshare", "network namespace", "--network");
    phase_end(n, PH_NETNS, t0);
    return net_finish(n, nl, err);
}

int net_prepare(struct hutch_ctx *ctx, const struct hutch_spec *spec, const char *id,
                const char *state_dir, struct net **out, struct hutch_error **err)
{
    struct net *n = calloc(1, sizeof(*n));
    if (!n)
        return hutch_err(err, ENOMEM, NULL, "--network", "out of memory");
    n->mode = spec->net;
    n->ns_fd = n->br_ns = -1;
    /* a namespace made here belongs to the host's user namespace: the sandbox's root could not
     * join it, nor bind low ports in it; with a user namespace the child makes its own */
    n->userns = spec->userns != SPEC_USERNS_HOST;
    n->nat = spec->nat && spec->net == SPEC_NET_BRIDGE;
    n->resolv_host = spec->net == SPEC_NET_BRIDGE;
    snprintf(n->name, sizeof(n->name), "%s", spec->net_name ? spec->net_name : "");
    snprintf(n->id, sizeof(n->id), "%s", id);
    snprintf(n->run_net, sizeof(n->run_net), "%s/net", ctx->run_dir);
    if (n->mode == SPEC_NET_BRIDGE || n->mode == SPEC_NET_INTERNAL)
        snprintf(n->network, sizeof(n->network), "%s-%s",
                 n->mode == SPEC_NET_BRIDGE ? "bridge" : "internal", n->name);
    int r = spec->nat && spec->net != SPEC_NET_BRIDGE
                ? hutch_err(err, EINVAL, "validate", "--nat", "--nat needs --network bridge")
                : prepare_mode(ctx, spec, n, state_dir, err);
    if (r < 0) {
        net_teardown(n);
        return r;
    }
    *out = n;
    return 0;
}

uint64_t net_clone_flags(const struct net *n)
{
    bool own = n && n->userns && n->mode != SPEC_NET_HOST && n->mode != SPEC_NET_SANDBOX;
    return own ? CLONE_NEWNET : 0; /* otherwise the child joins in net_child_setup */
}

int net_attach(struct net *n, pid_t pid, struct hutch_error **err)
{
    if (!(net_clone_flags(n) & CLONE_NEWNET))
        return 0; /* all done before clone3 */
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
    if ((n->ns_fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
        return hutch_err_sys(err, "open", p);
    return net_finish(n, -1, err);
}

int net_child_setup(const struct net *n)
{
    if (!n || n->ns_fd < 0)
        return 0;
    return setns(n->ns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

static int resolv_from_host(char **out)
{
    _cleanup_free_ char *text = NULL;
    if (read_file_at(AT_FDCWD, "/etc/resolv.conf", &text, NULL, 1 << 16) < 0)
        return 0;
    struct buf b = {0};
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        /* a resolver on the host's loopback is not reachable from the sandbox */
        if (!strncmp(l, "nameserver", 10) &&
            (strstr(l + 10, " 127.") || strstr(l + 10, "\t127.") || strstr(l + 10, "::1")))
            continue;
        if (buf_printf(&b, "%s\n", l) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
    }
    *out = b.data ? b.data : strdup("");
    return *out ? 0 : -ENOMEM;
}

int net_etc_files(const struct net *n, const char *hostname, char **hosts, char **resolv)
{
    *hosts = NULL;
    *resolv = NULL;
    if (!n || n->mode == SPEC_NET_HOST)
        return 0;
    char a[16] = "127.0.1.1";
    if (n->addr)
        ipam_format_addr(n->addr, a);
    if (asprintf(hosts,
                 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n%s",
                 a, hostname, n->peers ? n->peers : "") < 0) {
        *hosts = NULL;
        return -ENOMEM;
    }
    return n->resolv_host ? resolv_from_host(resolv) : 0;
}

static const char host_warning[] =
    "--network host: the sandbox shares the host's network namespace";

const char *net_warning(const struct net *n)
{
    return n && n->mode == SPEC_NET_HOST ? host_warning : NULL;
}

const char *net_spec_warning(const struct hutch_spec *spec)
{
    return spec->net == SPEC_NET_HOST ? host_warning : NULL;
}

/* Give back id's lease on network (and its address in the NAT set). */
static void lease_release(const char *run_net, const char *network, const char *id)
{
    _cleanup_close_ int lock = ipam_lock(run_net, network);
    struct ipam_table t;
    if (lock < 0 || ipam_load(run_net, network, &t) < 0)
        return;
    const struct ipam_lease *l = ipam_table_find(&t, id);
    if (l) {
        uint32_t addr = l->addr;
        bool nat = l->nat;
        ipam_table_remove(&t, id);
        if (nat && t.nat_table)
            nat_remove(network + strlen("bridge-"), &t, addr);
        ipam_store(run_net, network, &t);
    }
    ipam_table_free(&t);
}

void net_teardown(struct net *n)
{
    if (!n)
        return;
    if (n->leased)
        lease_release(n->run_net, n->network, n->id);
    /* the namespace (and the veth pair in it) goes with the sandbox's last process, an internal
     * network's with the last fd on it */
    close_fd(&n->ns_fd);
    close_fd(&n->br_ns);
    free(n->peers);
    free(n);
}

int net_gc(struct hutch_ctx *ctx, const char *state_dir, struct hutch_error **err)
{
    (void)ctx;
    (void)err;
    char p[4200], run_net[4200];
    snprintf(p, sizeof(p), "%s/net.json", state_dir);
    _cleanup_free_ char *json = NULL;
    if (read_file_at(AT_FDCWD, p, &json, NULL, 4096) < 0)
        return 0;
    const char *slash = strrchr(state_dir, '/');
    if (!slash)
        return 0;
    snprintf(run_net, sizeof(run_net), "%.*s/net", (int)(slash - state_dir), state_dir);
    json_t *j = json_loads(json, 0, NULL);
    const char *network = json_string_value(json_object_get(j, "network"));
    if (network && (!strncmp(network, "bridge-", 7) || !strncmp(network, "internal-", 9)) &&
        !strchr(network, '/'))
        lease_release(run_net, network, slash + 1);
    json_decref(j);
    return 0;
}

/* gc: a bridge network nobody uses any more loses its bridge (if hutch made it) and nftables
 * table; leases of dead sandboxes go (an internal network's namespace went with them). */
static void gc_network(const char *run_net, const char *network)
{
    _cleanup_close_ int lock = ipam_lock(run_net, network);
    struct ipam_table t;
    if (lock < 0 || ipam_load(run_net, network, &t) < 0)
        return;
    leases_prune(run_net, network, &t);
    if (t.n == 0 && !strncmp(network, "bridge-", 7)) {
        const char *name = network + 7;
        char script[96], msg[256];
        snprintf(script, sizeof(script), "delete table ip hutch-%s\n", name);
        if (t.nat_table && netlink_nft(script, msg, sizeof(msg)) == 0)
            t.nat_table = false;
        _cleanup_close_ int nl = netlink_open();
        struct netlink_link l;
        if (nl >= 0 && netlink_link_get(nl, name, &l) == 0 && l.bridge &&
            !strcmp(l.alias, NET_ALIAS))
            netlink_link_delete(nl, name);
    }
    ipam_store(run_net, network, &t);
    ipam_table_free(&t);
}

int net_gc_networks(struct hutch_ctx *ctx, struct hutch_error **err)
{
    char run_net[4200];
    snprintf(run_net, sizeof(run_net), "%s/net", ctx->run_dir);
    DIR *d = opendir(run_net);
    if (!d)
        return errno == ENOENT ? 0 : hutch_err_sys(err, "open", run_net);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char network[64];
        if (len < 6 || len >= sizeof(network) + 5 || strcmp(de->d_name + len - 5, ".lock") ||
            (strncmp(de->d_name, "bridge-", 7) && strncmp(de->d_name, "internal-", 9)))
            continue;
        snprintf(network, sizeof(network), "%.*s", (int)(len - 5), de->d_name);
        gc_network(run_net, network);
    }
    closedir(d);
    return 0;
}
