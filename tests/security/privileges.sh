#!/usr/bin/env bash
# Privileges a workload must not gain (issue 5): no inheritable or ambient capabilities unless
# asked for (CVE-2022-29162), nothing from a setuid-root or file-capability binary under
# no_new_privs, no raw sockets without CAP_NET_RAW.
. "$(dirname "$0")/../lib.sh"
t_begin

# The OCI default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP).
OCI_CAPS=00000000a80425fb
ZERO=0000000000000000

status_field() { # NAME: its value in the last run's /proc/self/status lines
    sed -n "s/^$1:[[:space:]]*//p" <<<"$out" | head -n 1
}

expect_caps() { # INH PRM EFF BND AMB
    assert_eq "$1" "$(status_field CapInh)" "CapInh"
    assert_eq "$2" "$(status_field CapPrm)" "CapPrm"
    assert_eq "$3" "$(status_field CapEff)" "CapEff"
    assert_eq "$4" "$(status_field CapBnd)" "CapBnd"
    assert_eq "$5" "$(status_field CapAmb)" "CapAmb"
}

test_caps_root() {
    hr -- attack caps
    assert_status 0
    expect_caps "$ZERO" "$OCI_CAPS" "$OCI_CAPS" "$OCI_CAPS" "$ZERO"
    assert_eq 1 "$(status_field NoNewPrivs)" "NoNewPrivs"
    assert_eq 2 "$(status_field Seccomp)" "Seccomp (filter mode)"
}
test_case "root: the OCI default set; CapInh and CapAmb empty (CVE-2022-29162)" test_caps_root

test_caps_non_root() {
    local u
    for u in 1000 65534 1000:1000 tester; do
        hr -u "$u" -- attack caps
        assert_status 0
        expect_caps "$ZERO" "$ZERO" "$ZERO" "$OCI_CAPS" "$ZERO"
        assert_eq 1 "$(status_field NoNewPrivs)" "NoNewPrivs ($u)"
    done
}
test_case "non-root users: no capability in any set but the bounding set" test_caps_non_root

test_caps_after_exec_chain() {
    # a shell that execs a program that execs another: nothing is gained on the way
    hr -u 1000 -- sh -c 'exec sh -c "exec attack caps"'
    expect_caps "$ZERO" "$ZERO" "$ZERO" "$OCI_CAPS" "$ZERO"
    hr -- sh -c 'exec sh -c "exec attack caps"'
    expect_caps "$ZERO" "$OCI_CAPS" "$OCI_CAPS" "$OCI_CAPS" "$ZERO"
}
test_case "capabilities are unchanged across exec chains" test_caps_after_exec_chain

test_caps_explicit() {
    # asked for: a non-root user gets exactly the added capability, as ambient (and so
    # inheritable), nothing else
    hr -u 1000 --cap-add NET_BIND_SERVICE -- attack caps
    expect_caps 0000000000000400 0000000000000400 0000000000000400 "$OCI_CAPS" 0000000000000400
    hr --cap-drop ALL -- attack caps
    expect_caps "$ZERO" "$ZERO" "$ZERO" "$ZERO" "$ZERO"
}
test_case "--cap-add for a non-root user: that capability only; --cap-drop ALL: none" \
    test_caps_explicit

# A rootfs with the attack binary setuid root and with a file capability.
privileged_binaries_rootfs() {
    R=$C_DIR/rootfs
    rootfs_copy "$R"
    install -m 4755 -o 0 -g 0 "$R/usr/bin/attack" "$R/usr/bin/attack-suid"
    install -m 0755 "$R/usr/bin/attack" "$R/usr/bin/attack-fcap"
    mkdir -p "$R/opt/suid"
    install -m 4755 -o 0 -g 0 "$R/bin/busybox" "$R/opt/suid/busybox"
    command -v setcap >/dev/null || skip "setcap is missing (libcap2-bin)"
    setcap cap_net_raw+ep "$R/usr/bin/attack-fcap"
}

test_setuid_under_nnp() {
    privileged_binaries_rootfs
    HR_ROOTFS=$R hr -u 1000 -- sh -c 'attack-suid caps; attack-suid setuid0;
        attack-fcap raw-socket; /opt/suid/busybox id -u;
        /opt/suid/busybox grep CapEff /proc/self/status'
    assert_line "$out" "uids: 1000 1000 1000"
    expect_caps "$ZERO" "$ZERO" "$ZERO" "$OCI_CAPS" "$ZERO"
    assert_line "$out" "setuid0: EPERM"
    assert_line "$out" "raw-socket: EPERM"
    assert_line "$out" "packet-socket: EPERM"
    # busybox setuid root too (it also drops privileges itself: the attack binary above is
    # the one that would keep them)
    assert_line "$out" "1000"
    assert_eq "2" "$(grep -c "^CapEff:[[:space:]]*$ZERO$" <<<"$out")" "CapEff lines"
}
test_case "a setuid-root or file-capability binary gains nothing under no_new_privs" \
    test_setuid_under_nnp

test_setuid_positive_control() {
    # the same binaries do gain root without no_new_privs (and without a filter, which hutch
    # can not load for a user without CAP_SYS_ADMIN when no_new_privs is off)
    privileged_binaries_rootfs
    HR_ROOTFS=$R hr -u 1000 --security-opt no-new-privileges=false \
        --security-opt seccomp=unconfined -- sh -c 'attack-suid caps; attack-fcap raw-socket'
    assert_status 0
    assert_line "$out" "uids: 1000 0 0"
    assert_eq "$OCI_CAPS" "$(status_field CapEff)" "CapEff of the setuid binary"
    assert_line "$out" "raw-socket: OK"
}
test_case "positive control: without no_new_privs the setuid binary does become root" \
    test_setuid_positive_control

test_raw_sockets() {
    # root has CAP_NET_RAW by default (OCI set): the positive control
    hr -- attack raw-socket
    assert_line "$out" "raw-socket: OK"
    assert_line "$out" "packet-socket: OK"
    hr --cap-drop NET_RAW -- attack raw-socket
    assert_line "$out" "raw-socket: EPERM"
    assert_line "$out" "packet-socket: EPERM"
    hr -u 1000 -- attack raw-socket
    assert_line "$out" "raw-socket: EPERM"
    assert_line "$out" "packet-socket: EPERM"
    # strict refuses AF_PACKET whatever the capabilities
    hr --security-opt seccomp=strict -- attack raw-socket
    assert_line "$out" "packet-socket: EPERM"
}
test_case "raw sockets: OK with the default CAP_NET_RAW, EPERM without it" test_raw_sockets

t_end
