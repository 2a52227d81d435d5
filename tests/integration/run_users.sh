#!/usr/bin/env bash
# hutch run: users, groups, capabilities and no_new_privs inside the sandbox.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

OCI_CAPS=00000000a80425fb # the OCI runtime spec's default set for root

field() { # NAME TEXT: the value of "NAME: value"
    sed -n "s/^$1: //p" <<<"$2"
}

test_default_root() {
    hr -- probe ids
    assert_status 0
    assert_eq 0 "$(field uid "$out")" uid
    assert_eq 0 "$(field euid "$out")" euid
    assert_eq 0 "$(field gid "$out")" gid
}
test_case "the default user is root (uid 0, gid 0)" test_default_root

test_uid_gid() {
    hr -u 1000:1000 -- probe ids
    assert_status 0
    local v
    for v in uid euid suid; do assert_eq 1000 "$(field "$v" "$out")" "$v"; done
    for v in gid egid sgid; do assert_eq 1000 "$(field "$v" "$out")" "$v"; done
    hr -u 1234:5678 -- probe ids
    assert_status 0
    assert_eq 1234 "$(field uid "$out")" "uid (not in /etc/passwd)"
    assert_eq 5678 "$(field gid "$out")" "gid (not in /etc/group)"
    # no supplementary group of hutch's caller survives
    assert_not_contains " $(field groups "$out") " " 0 " "groups"
}
test_case "-u UID:GID sets real, effective and saved ids" test_uid_gid

test_uid_only() {
    hr -u 1000 -- probe ids
    assert_status 0
    assert_eq 1000 "$(field uid "$out")" uid
    assert_eq 1000 "$(field euid "$out")" euid
}
test_case "-u UID alone" test_uid_only

test_user_name() {
    hr -u tester -- probe ids
    assert_status 0
    assert_eq 1000 "$(field uid "$out")" uid
    assert_eq 1000 "$(field gid "$out")" "gid (tester's primary group)"
    local groups
    groups=" $(field groups "$out") "
    assert_contains "$groups" " 2000 " "supplementary groups (testgrp)"
    assert_not_contains "$groups" " 0 " "supplementary groups"
    hr -u tester -- sh -c 'id -un; id -Gn'
    assert_status 0
    assert_contains "$out" "tester" "id -un"
    assert_contains "$out" "testgrp" "id -Gn"
}
test_case "-u NAME resolves uid, gid and supplementary groups in the rootfs" test_user_name

test_user_nobody() {
    hr -u nobody -- probe ids
    assert_status 0
    assert_eq 65534 "$(field uid "$out")" uid
    assert_eq 65534 "$(field gid "$out")" gid
}
test_case "-u nobody" test_user_nobody

test_user_home() {
    hr -u tester -- sh -c 'echo "$HOME"'
    assert_status 0
    # docker sets HOME from /etc/passwd; accept that or no HOME at all, never root's
    assert_ne /root "$out" "HOME for tester"
}
test_case "HOME of a named user is not root's" test_user_home

test_user_unknown() {
    hr -u no-such-user -- true
    assert_status 125
    assert_one_error_line "no-such-user"
    hr -u tester:no-such-group -- true
    assert_status 125
    assert_one_error_line "no-such-group"
}
test_case "an unknown user or group is an error 125 naming it" test_user_unknown

test_caps_root() {
    hr -- probe caps
    assert_status 0
    assert_eq "$OCI_CAPS" "$(field CapEff "$out")" CapEff
    assert_eq "$OCI_CAPS" "$(field CapPrm "$out")" CapPrm
    assert_eq "$OCI_CAPS" "$(field CapBnd "$out")" CapBnd
    assert_eq 0000000000000000 "$(field CapInh "$out")" CapInh
    assert_eq 0000000000000000 "$(field CapAmb "$out")" CapAmb
}
test_case "root gets exactly the OCI default capabilities" test_caps_root

test_caps_non_root() {
    hr -u 1000:1000 -- probe caps
    assert_status 0
    assert_eq 0000000000000000 "$(field CapEff "$out")" CapEff
    assert_eq 0000000000000000 "$(field CapPrm "$out")" CapPrm
    assert_eq 0000000000000000 "$(field CapInh "$out")" CapInh
    assert_eq 0000000000000000 "$(field CapAmb "$out")" CapAmb
    assert_eq "$OCI_CAPS" "$(field CapBnd "$out")" CapBnd
}
test_case "a non-root user gets no capabilities (bounding set only)" test_caps_non_root

test_caps_non_root_exec_keeps_none() {
    # after an execve as uid 1000 nothing comes back (no file caps, no setuid: nnp)
    hr -u 1000:1000 -- sh -c 'exec probe caps'
    assert_eq 0000000000000000 "$(field CapEff "$out")" CapEff
    assert_eq 0000000000000000 "$(field CapPrm "$out")" CapPrm
}
test_case "capabilities stay empty across exec for a non-root user" test_caps_non_root_exec_keeps_none

test_cap_add() {
    hr --cap-add SYS_ADMIN -- probe caps
    assert_status 0
    local eff
    eff=$(field CapEff "$out")
    cap_has "$eff" 21 || fail "CAP_SYS_ADMIN missing from CapEff $eff"
    assert_eq 00000000a82425fb "$eff" "CapEff with --cap-add SYS_ADMIN"
    assert_eq "$eff" "$(field CapBnd "$out")" CapBnd
    hr --cap-add CAP_NET_ADMIN -- probe caps
    assert_eq 00000000a80435fb "$(field CapEff "$out")" "CapEff with --cap-add CAP_NET_ADMIN"
}
test_case "--cap-add adds to the default set" test_cap_add

test_cap_drop() {
    hr --cap-drop NET_RAW -- probe caps
    assert_status 0
    assert_eq 00000000a80405fb "$(field CapEff "$out")" "CapEff with --cap-drop NET_RAW"
    assert_eq 00000000a80405fb "$(field CapBnd "$out")" "CapBnd with --cap-drop NET_RAW"
    hr --cap-drop NET_RAW -- probe syscall socket-raw
    assert_eq "socket-raw: EPERM" "$out" "raw socket without CAP_NET_RAW"
    hr -- probe syscall socket-raw
    assert_eq "socket-raw: OK" "$out" "raw socket with CAP_NET_RAW"
}
test_case "--cap-drop removes a capability (and it is really gone)" test_cap_drop

test_cap_drop_all() {
    hr --cap-drop ALL -- probe caps
    assert_status 0
    local k
    for k in CapEff CapPrm CapInh CapAmb CapBnd; do
        assert_eq 0000000000000000 "$(field "$k" "$out")" "$k with --cap-drop ALL"
    done
    hr --cap-drop ALL -- probe write /home/tester/x data
    assert_eq "write: EACCES" "$out" "root without CAP_DAC_OVERRIDE writing into tester's home"
    hr -- probe write /home/tester/x data
    assert_eq "write: OK" "$out" "root with CAP_DAC_OVERRIDE writing into tester's home"
    hr --cap-drop ALL --cap-add NET_BIND_SERVICE -- probe caps
    assert_eq 0000000000000400 "$(field CapEff "$out")" "CapEff with --cap-drop ALL --cap-add NET_BIND_SERVICE"
}
test_case "--cap-drop ALL empties every set; --cap-add after it adds back" test_cap_drop_all

test_cap_not_held_by_hutch() {
    local bnd
    bnd=$(sed -n 's/^CapBnd:\t//p' /proc/self/status)
    if cap_has "$bnd" 24; then
        skip "this host's bounding set has CAP_SYS_RESOURCE"
    fi
    hr --cap-add SYS_RESOURCE -- true
    assert_status 125
    assert_one_error_line "SYS_RESOURCE"
}
test_case "--cap-add of a capability hutch does not hold is a clear error" test_cap_not_held_by_hutch

test_cap_bad_name() {
    hr --cap-add SYS_EVERYTHING -- true
    assert_status 125
    assert_one_error_line "SYS_EVERYTHING"
}
test_case "--cap-add of an unknown capability is an error 125" test_cap_bad_name

test_no_new_privs() {
    hr -- probe caps
    assert_eq 1 "$(field NoNewPrivs "$out")" "NoNewPrivs (root)"
    hr -u 1000:1000 -- probe caps
    assert_eq 1 "$(field NoNewPrivs "$out")" "NoNewPrivs (uid 1000)"
}
test_case "no_new_privs is set" test_no_new_privs

test_setuid_binary_gives_nothing() {
    local r=$C_DIR/rootfs
    rootfs_copy "$r"
    cp "$r/usr/bin/probe" "$r/usr/bin/suid-probe"
    chmod 4755 "$r/usr/bin/suid-probe"
    HR_ROOTFS=$r hr -u 1000:1000 -- /usr/bin/suid-probe ids
    assert_status 0
    assert_eq 1000 "$(field euid "$out")" "euid after exec of a setuid-root binary"
}
test_case "a setuid-root binary does not raise a non-root user (no_new_privs)" test_setuid_binary_gives_nothing

test_non_root_cannot_write_root_files() {
    hr -u 1000:1000 -- probe write /etc/passwd x
    assert_eq "write: EACCES" "$out" "uid 1000 writing /etc/passwd"
    hr -u 1000:1000 -- probe write /home/tester/f x
    assert_eq "write: OK" "$out" "uid 1000 writing its home"
}
test_case "file permissions apply to a non-root user" test_non_root_cannot_write_root_files

t_end
