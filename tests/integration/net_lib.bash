# shellcheck shell=bash
# net_lib.bash - what the network tests (net_*.sh) share. Not a test itself (not *.sh).
#
# Source it FIRST, before tests/lib.sh: it re-executes the script inside a network namespace of
# its own (unshare --net), which the kernel deletes with everything in it (bridges, veths,
# nftables tables) when the script's last process exits. The machine's own interfaces are never
# touched, and every packet the tests send stays between addresses in that namespace.

if [ -z "${NET_TEST_OUTER:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    NET_TEST_OUTER=$$ exec unshare --net -- "$BASH" "$0" "$@"
fi

# A network's config file: net_conf bridge-NAME|internal-NAME "subnet=CIDR" ["mtu=N"]
net_conf() {
    local name=$1
    shift
    mkdir -p "$HUTCH_ROOT/net"
    printf '%s\n' "$@" >"$HUTCH_ROOT/net/$name.conf"
}

# Wait (bounded) until FILE exists and has a line matching REGEX.
net_wait_for() { # FILE REGEX [TRIES]
    local i
    for ((i = 0; i < ${3:-300}; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "timed out waiting for /$2/ in $1: $(head -c 500 "$1" 2>/dev/null)"
}

# Interfaces of this (outer) namespace other than lo and the names given, one per line.
net_links_except() {
    local keep=" lo $* "
    ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | while read -r l; do
        [[ $keep == *" $l "* ]] || echo "$l"
    done
}

# shellcheck disable=SC2120 # callers outside this file pass the names
# The kernel removes a sandbox's veth pair asynchronously once its namespace is gone: wait for
# that (bounded), then fail if anything but lo and the given names remains.
net_assert_links() { # [NAME...]
    local i left=""
    for ((i = 0; i < 200; i++)); do
        left=$(net_links_except "$@")
        [ -z "$left" ] && return 0
        sleep 0.05
    done
    fail "interfaces left in the test's namespace: $(tr '\n' ' ' <<<"$left")"
}

# Processes with a handle (fd or namespace) on the network namespace of inode INO, one per line.
net_ns_users() { # INO
    local f
    for f in /proc/[0-9]*/fd/* /proc/[0-9]*/ns/net; do
        [ "$(readlink "$f" 2>/dev/null)" = "net:[$1]" ] && echo "$f"
    done
    return 0
}

# Wait (bounded) until nothing holds the network namespace of inode INO any more.
net_wait_ns_gone() { # INO
    local i
    for ((i = 0; i < 100; i++)); do
        [ -z "$(net_ns_users "$1")" ] && return 0
        sleep 0.05
    done
    fail "network namespace $1 is still held: $(net_ns_users "$1" | tr '\n' ' ')"
}

# The namespace inode an internal network's lease file records (while it exists).
net_internal_ino() { # NAME
    sed -n 's/^netns //p' "$HUTCH_RUN/net/internal-$1.leases" 2>/dev/null
}

# After `hutch gc`: no interface but lo, no nftables rule, no lease file, no mount.
net_assert_clean() {
    net_assert_links
    local s
    s=$(nft list ruleset 2>/dev/null || true)
    [ -z "$s" ] || fail "nftables rules left: $s"
    s=$(find "$HUTCH_RUN/net" -mindepth 1 ! -name '*.lock' 2>/dev/null || true)
    [ -z "$s" ] || fail "left in $HUTCH_RUN/net: $s"
    s=$(grep -F "$HUTCH_RUN/" /proc/self/mountinfo || true)
    [ -z "$s" ] || fail "mounts left: $s"
}

# gc, then net_assert_clean.
net_gc_clean() {
    hr_raw gc
    assert_status 0 "hutch gc"
    net_assert_clean
}

# The IPv4 address/prefix of eth0 in `ip -4 -o addr` output.
net_addr_of() {
    sed -n 's/.* eth0 *inet \([0-9.]*\/[0-9]*\).*/\1/p' <<<"$1" | head -n 1
}
