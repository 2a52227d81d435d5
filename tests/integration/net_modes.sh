#!/usr/bin/env bash
# Networking modes (issue 6): none, host, bridge, internal, sandbox=ID; /etc/hosts and
# /etc/resolv.conf; errors. The whole script runs in a network namespace of its own (see
# net_lib.bash); every case ends with `hutch gc` and checks that no interface, nftables rule,
# lease or internal network namespace is left. No sleep synchronises anything: fifos, and retry loops
# bounded in count.
# shellcheck source=SCRIPTDIR/net_lib.bash
. "$(dirname "$0")/net_lib.bash"
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin
command -v busybox >/dev/null || t_skip_all "busybox (the host's, for nc) is missing"
command -v nft >/dev/null || t_skip_all "nft is missing"
[ -n "${NET_TEST_OUTER:-}" ] || t_skip_all "cannot make a network namespace for the test"

test_none() {
    hr -- sh -c 'probe netdev; echo ---; probe ns | grep "^net "
        (echo hello | nc -l -p 7000 &)
        for i in $(seq 50); do nc -w 1 127.0.0.1 7000 </dev/null && exit 0; usleep 100000; done
        exit 3'
    assert_status 0
    assert_eq "lo UP" "$(sed -n '1,/^---$/p' <<<"$out" | grep -v '^---$')" "interfaces"
    assert_contains "$out" "hello" "TCP over lo"
    assert_ne "net $(host_ns net)" "$(grep '^net ' <<<"$out")" "the network namespace"
    assert_event phase 'select(.name == "net.netns") | .name' '"net.netns"'
    net_gc_clean
}
test_case "none: a namespace of its own with only lo, up, carrying TCP" test_none

test_host() {
    hr --network host -- probe ns
    assert_status 0
    assert_line "$out" "net $(host_ns net)"
    assert_event sandbox.create '.warning | test("--network host")' true
    assert_event sandbox.create '.network' '"host"'
    net_gc_clean
}
test_case "host: the host's namespace, with a warning in sandbox.create" test_host

test_bridge() {
    net_conf bridge-hutch0 "subnet=10.123.0.0/24" "mtu=1400"
    # the listener answers one connection, on every address of the test's namespace
    echo pong | busybox nc -l -p 7001 >"$C_DIR/got" &
    local nc=$!
    hr --network bridge --hostname web -- sh -c 'ip -4 -o addr; ip route; cat /sys/class/net/eth0/mtu
        cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---
        for i in $(seq 50); do echo ping | nc -w 1 10.123.0.1 7001 && exit 0; usleep 100000; done
        exit 3'
    assert_status 0
    wait "$nc"
    assert_eq "ping" "$(cat "$C_DIR/got")" "what the gateway received"
    assert_contains "$out" "pong" "what the sandbox received"
    assert_eq "10.123.0.2/24" "$(net_addr_of "$out")" "eth0's address"
    assert_contains "$out" "default via 10.123.0.1 dev eth0"
    assert_contains "$(ip -o link show hutch0)" " mtu 1400 " "the bridge's MTU"
    assert_line "$out" "1400" "eth0's MTU (the bridge's)"
    assert_line "$out" "$(printf '10.123.0.2\tweb')" "/etc/hosts"
    local want
    want=$(grep -vE '^nameserver[[:space:]]+(127\.|::1)' /etc/resolv.conf || true)
    assert_eq "$want" "$(sed -n '/^---$/,/^---$/p' <<<"$out" | sed '1d;$d')" "/etc/resolv.conf"
    # the bridge: hutch's (alias), with the gateway address; the veth went with the sandbox
    assert_contains "$(ip -d link show hutch0)" "alias hutch"
    assert_contains "$(ip -4 -o addr show hutch0)" "10.123.0.1/24"
    net_assert_links hutch0
    for p in net.netns net.lo net.ipam net.veth net.config; do
        assert_event phase "select(.name == \"$p\") | .ns > 0" true
    done
    net_gc_clean
}
test_case "bridge: eth0 with a leased address, route and MTU; TCP round trip with the gateway" \
    test_bridge

test_internal() {
    net_conf bridge-hutch0 "subnet=10.123.0.0/24"
    net_conf internal-a "subnet=10.124.0.0/24"
    # internal=b's on-link /8 covers everyone's addresses: only isolation can stop it
    net_conf internal-b "subnet=10.0.0.0/8"
    hr -- true # --network none: nothing
    hr --network bridge -- true
    assert_status 0
    busybox nc -l -p 7003 </dev/null >"$C_DIR/gw.got" &
    local gwnc=$!
    (
        HR_N=100
        hr --network internal=a --hostname alpha -- sh -c \
            'echo pong | nc -l -p 7002'
        echo "$status" >"$C_DIR/a.status"
        echo "$out" >"$C_DIR/a.out"
    ) &
    local a=$!
    net_wait_for "$HUTCH_RUN/net/internal-a.leases" " alpha"
    # another internal network, and the first one, cannot reach alpha's listener or the gateway
    hr --network internal=b -- sh -c 'ip -4 -o addr
        echo x | nc -w 1 10.124.0.1 7002 && echo REACHED-ALPHA
        echo x | nc -w 1 10.123.0.1 7003 && echo REACHED-GATEWAY; exit 0'
    assert_status 0
    assert_eq "10.0.0.1/8" "$(net_addr_of "$out")" "internal=b's address"
    assert_not_contains "$out" "REACHED"
    hr --network internal=a -- sh -c 'ip route get 10.123.0.1 2>&1
        echo x | nc -w 1 10.123.0.1 7003 && echo REACHED-GATEWAY; exit 0'
    assert_not_contains "$out" "REACHED"
    assert_contains "$out" "unreachable"
    # the same network: by name, from /etc/hosts
    hr --network internal=a --hostname beta -- sh -c 'cat /etc/hosts
        for i in $(seq 50); do echo ping | nc -w 1 alpha 7002 && exit 0; usleep 100000; done
        exit 3'
    assert_status 0
    assert_line "$out" "$(printf '10.124.0.1\talpha')" "a peer in /etc/hosts"
    assert_contains "$out" "pong"
    wait "$a"
    assert_eq 0 "$(cat "$C_DIR/a.status")" "alpha's status"
    assert_contains "$(cat "$C_DIR/a.out")" "ping"
    # the host's namespace holds nothing of the internal networks
    net_assert_links hutch0
    kill "$gwnc"
    wait "$gwnc" || true
    [ ! -s "$C_DIR/gw.got" ] || fail "the gateway's listener got: $(cat "$C_DIR/gw.got")"
    net_gc_clean
}
test_case "internal: sandboxes on one network talk; on another, or to the bridge, they cannot" \
    test_internal

test_sandbox_join() {
    net_conf internal-j "subnet=10.126.0.0/24"
    mkdir "$C_DIR/sh"
    mkfifo "$C_DIR/sh/go"
    exec 3<>"$C_DIR/sh/go"
    local id=netj$$
    hr_exec "$C_DIR/a" run --rootfs "$ROOTFS" --id "$id" --network internal=j --hostname one \
        -v "$C_DIR/sh:/sh" -- sh -c 'probe ns | grep "^net "; echo ready; read x </sh/go' &
    local a=$!
    net_wait_for "$C_DIR/a.out" "^ready"
    hr --network sandbox="$id" --hostname two -- sh -c 'probe ns | grep "^net "; ip -4 -o addr
        cat /etc/hosts; cat /sys/class/net/eth0/address'
    assert_status 0
    assert_line "$out" "$(head -n 1 "$C_DIR/a.out")" "the network namespace"
    assert_eq "10.126.0.1/24" "$(net_addr_of "$out")" "the joined address"
    assert_line "$out" "$(printf '10.126.0.1\ttwo')" "/etc/hosts"
    assert_line "$out" "02:68:0a:7e:00:01" "eth0's MAC (from its address)"
    echo go >&3
    wait "$a"
    exec 3>&-
    hr --network sandbox="$id" -- true
    assert_status 125
    assert_one_error_line "sandbox=$id"
    net_gc_clean
}
test_case "sandbox=ID: the same network namespace, and a clear error once it ended" \
    test_sandbox_join

test_userns() {
    net_conf bridge-hutch0 "subnet=10.128.0.0/24"
    net_conf internal-u "subnet=10.129.0.0/24"
    printf 'root:300000000:1000000\n' >"$C_DIR/subid"
    export HUTCH_SUBUID=$C_DIR/subid HUTCH_SUBGID=$C_DIR/subid
    echo pong | busybox nc -l -p 7005 >"$C_DIR/got" &
    local nc=$!
    # the namespace is the sandbox's own (its root may bind port 80 in it), configured from outside
    hr --userns auto --network bridge -- sh -c 'ip -4 -o addr; probe ns | grep "^user "
        timeout 1 nc -l -p 80 </dev/null; echo "bind80=$?"
        for i in $(seq 50); do echo ping | nc -w 1 10.128.0.1 7005 && exit 0; usleep 100000; done
        exit 3'
    assert_status 0
    wait "$nc"
    assert_eq "10.128.0.2/24" "$(net_addr_of "$out")" "eth0's address"
    assert_ne "user $(host_ns user)" "$(grep '^user ' <<<"$out")" "the user namespace"
    assert_contains "$out" "pong"
    assert_eq "ping" "$(cat "$C_DIR/got")"
    # a failed bind exits at once with 1; a listening nc is ended by timeout
    assert_no_line "$out" "bind80=1" "binding port 80"
    hr --userns auto --network internal=u -- sh -c 'ip -4 -o addr'
    assert_status 0
    assert_eq "10.129.0.1/24" "$(net_addr_of "$out")" "internal=u's address"
    hr --userns auto --network sandbox=whatever -- true
    assert_status 125
    assert_one_error_line "--userns"
    net_gc_clean
}
test_case "--userns auto: bridge and internal in the sandbox's own namespace; no sandbox=ID" \
    test_userns

test_errors() {
    hr --nat -- true
    assert_status 125
    assert_one_error_line "--nat"
    hr --network bridge=other -- true
    assert_status 125
    assert_one_error_line "no subnet configured"
    net_conf bridge-bad "subnet=10.1.2.3/24"
    hr --network bridge=bad -- true
    assert_status 125
    assert_one_error_line "bridge-bad.conf"
    ip link add notabr type veth peer name notabr1
    net_conf bridge-notabr "subnet=10.127.0.0/24"
    hr --network bridge=notabr -- true
    assert_status 125
    assert_one_error_line "not a bridge"
    ip link del notabr
    local left
    left=$(find "$HUTCH_RUN" -mindepth 1 -maxdepth 1 ! -name net)
    [ -z "$left" ] || fail "state left: $left"
    net_gc_clean
}
test_case "errors: --nat without bridge, unconfigured or bad subnet, a name that is no bridge" \
    test_errors

t_end
