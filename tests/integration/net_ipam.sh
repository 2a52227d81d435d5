#!/usr/bin/env bash
# Addresses, leases and leftovers (issue 6): concurrent sandboxes get distinct addresses, a full
# subnet refuses cleanly, --nat masquerades (and without it nothing is forwarded), and after many
# runs - or runs killed with SIGKILL, then `hutch gc` - no veth, bridge, lease, internal network
# namespace or nftables rule remains. Runs in a network namespace of its own (see net_lib.bash).
# shellcheck source=SCRIPTDIR/net_lib.bash
. "$(dirname "$0")/net_lib.bash"
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin
command -v busybox >/dev/null || t_skip_all "busybox (the host's) is missing"
command -v nft >/dev/null || t_skip_all "nft is missing"
[ -n "${NET_TEST_OUTER:-}" ] || t_skip_all "cannot make a network namespace for the test"

# Start N sandboxes (extra hutch args in NET_ARGS) that print their address and wait on the fifo
# $C_DIR/sh/go; their outputs are $C_DIR/w.I.out, the hutch pids in WAITERS. The caller opens
# fd 3 on the fifo first.
start_waiters() { # N
    local i n=${#WAITERS[@]}
    for ((i = n + 1; i <= n + $1; i++)); do
        # shellcheck disable=SC2086
        "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/w.$i.jsonl" $NET_ARGS \
            -v "$C_DIR/sh:/sh" -- sh -c 'ip -4 -o addr show eth0; echo ready; read x </sh/go' \
            >"$C_DIR/w.$i.out" 2>"$C_DIR/w.$i.err" &
        WAITERS+=($!)
    done
}

release_waiters() {
    local p
    for p in "${WAITERS[@]}"; do echo go >&3; done
    for p in "${WAITERS[@]}"; do wait "$p" || fail "a waiter failed: $(cat "$C_DIR"/w.*.err)"; done
    WAITERS=()
}

go_fifo() {
    mkdir -p "$C_DIR/sh"
    mkfifo "$C_DIR/sh/go"
    WAITERS=()
}

test_concurrent() {
    net_conf internal-c "subnet=10.130.0.0/24"
    go_fifo
    exec 3<>"$C_DIR/sh/go"
    NET_ARGS="--network internal=c"
    start_waiters 20
    local i
    for i in $(seq 20); do net_wait_for "$C_DIR/w.$i.out" "^ready" 1200; done
    assert_eq 20 "$(grep -c '^lease ' "$HUTCH_RUN/net/internal-c.leases")" "leases while running"
    local addrs
    addrs=$(for i in $(seq 20); do net_addr_of "$(cat "$C_DIR/w.$i.out")"; done | sort -u)
    assert_eq 20 "$(grep -c '^10\.130\.0\.' <<<"$addrs")" "distinct addresses: $addrs"
    release_waiters
    exec 3>&-
    [ ! -e "$HUTCH_RUN/net/internal-c.leases" ] || fail "leases left: $(cat "$HUTCH_RUN/net/internal-c.leases")"
    net_gc_clean
}
test_case "20 concurrent sandboxes get distinct addresses" test_concurrent

test_full() {
    net_conf internal-tiny "subnet=10.131.0.0/30"
    go_fifo
    exec 3<>"$C_DIR/sh/go"
    NET_ARGS="--network internal=tiny"
    start_waiters 2
    net_wait_for "$C_DIR/w.1.out" "^ready"
    net_wait_for "$C_DIR/w.2.out" "^ready"
    hr --network internal=tiny -- true
    assert_status 125
    assert_one_error_line "subnet 10.131.0.0/30 of network tiny is full (2 addresses)"
    assert_eq 2 "$(grep -c '^lease ' "$HUTCH_RUN/net/internal-tiny.leases")" "leases"
    release_waiters
    exec 3>&-
    hr --network internal=tiny -- sh -c 'ip -4 -o addr show eth0'
    assert_status 0
    assert_eq "10.131.0.1/30" "$(net_addr_of "$out")" "an address given back"
    net_gc_clean
}
test_case "a subnet of 4 addresses refuses the 3rd sandbox cleanly" test_full

test_nat() {
    net_conf bridge-hutch0 "subnet=10.132.0.0/24"
    ip link set lo up
    # "the world": a namespace of its own behind a veth, 192.0.2.1, reachable from ours only
    mkfifo "$C_DIR/world"
    unshare --net -- sh -c 'echo up >"$1"; exec sleep 600' sh "$C_DIR/world" &
    local world=$!
    read -r _ <"$C_DIR/world"
    ip link add up0 type veth peer name wl0 netns "/proc/$world/ns/net"
    ip addr add 192.0.2.2/24 dev up0
    ip link set up0 up
    nsenter --net="/proc/$world/ns/net" sh -c \
        'ip addr add 192.0.2.1/24 dev wl0 && ip link set wl0 up && ip link set lo up'
    # the world has no route back to 10.132.0.0/24: only masquerading gets an answer through
    hr --network bridge --nat -- ping -c 1 -W 2 192.0.2.1
    assert_status 0
    assert_contains "$(nft list table ip hutch-hutch0)" "masquerade"
    assert_eq "" "$(nft list set ip hutch-hutch0 nat | sed -n 's/.*elements = //p')" \
        "NAT set after the run"
    hr --network bridge -- ping -c 1 -W 1 192.0.2.1
    assert_status 1 "ping without --nat"
    kill "$world"
    wait "$world" || true
    ip link del up0 2>/dev/null || true
    net_gc_clean
}
test_case "--nat: masquerades to another network; without it nothing is forwarded" test_nat

test_many_runs() {
    net_conf bridge-hutch0 "subnet=10.133.0.0/24"
    net_conf internal-m "subnet=10.134.0.0/28"
    local i st bad=0 args s ino
    for i in $(seq 200); do
        case $((i % 4)) in
        0) args=(--network none) ;;
        1) args=(--network bridge) ;;
        2) args=(--network internal=m) ;;
        3) args=(--network bridge --nat) ;;
        esac
        st=0
        "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/r.$((i % 4)).jsonl" "${args[@]}" \
            -- true >/dev/null 2>"$C_DIR/r.err" || st=$?
        if [ "$st" != 0 ]; then
            bad=$((bad + 1))
            echo "run $i (${args[*]}): status $st: $(cat "$C_DIR/r.err")"
        fi
    done
    assert_eq 0 "$bad" "failed runs"
    # one more on internal=m, to see its namespace held while in use and gone after
    mkdir -p "$C_DIR/sh" && mkfifo "$C_DIR/sh/go" && exec 3<>"$C_DIR/sh/go"
    WAITERS=()
    NET_ARGS="--network internal=m" start_waiters 1
    net_wait_for "$C_DIR/w.1.out" "^ready"
    ino=$(net_internal_ino m)
    if [ -z "$ino" ] || [ -z "$(net_ns_users "$ino")" ]; then
        fail "internal-m's namespace ($ino) is not held while in use"
    fi
    release_waiters
    exec 3>&-
    # only hutch0 (kept for the next sandbox) and its nftables table; no lease
    net_assert_links hutch0
    s=$(find "$HUTCH_RUN/net" -name '*.leases' -exec grep -H '^lease' {} + || true)
    [ -z "$s" ] || fail "leases left: $s"
    net_wait_ns_gone "$ino"
    net_gc_clean
}
test_case "after 200 runs (none, bridge, internal, --nat) and gc, nothing remains" test_many_runs

test_killed() {
    net_conf bridge-hutch0 "subnet=10.135.0.0/24"
    net_conf internal-k "subnet=10.136.0.0/24"
    go_fifo
    exec 3<>"$C_DIR/sh/go"
    NET_ARGS="--network bridge --nat" start_waiters 1
    NET_ARGS="--network internal=k" start_waiters 1
    local i ino
    for i in 1 2; do net_wait_for "$C_DIR/w.$i.out" "^ready"; done
    ino=$(net_internal_ino k)
    if [ -z "$ino" ] || [ -z "$(net_ns_users "$ino")" ]; then
        fail "internal-k's namespace ($ino) is not held"
    fi
    # the supervisors die; their sandboxes' init follows (PDEATHSIG), nothing tears down
    kill -KILL "${WAITERS[@]}"
    for i in "${WAITERS[@]}"; do wait "$i" || true; done
    exec 3>&-
    assert_contains "$(cat "$HUTCH_RUN/net/bridge-hutch0.leases")" "lease "
    # an internal network's namespace died with its holders, before any gc
    net_wait_ns_gone "$ino"
    hr_raw gc
    assert_status 0
    net_assert_clean
}
test_case "runs killed with SIGKILL: hutch gc removes their leases, veths, bridge and rules" \
    test_killed

t_end
