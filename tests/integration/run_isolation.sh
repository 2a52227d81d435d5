#!/usr/bin/env bash
# hutch run: what a workload sees - namespaces, pid 1, network, the root, /proc, /dev, /sys,
# masked and read-only paths, hutch's own binary out of reach, orphans reaped.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

test_namespaces() {
    hr -- probe ns
    assert_status 0
    local ns inside host
    for ns in mnt pid uts ipc net cgroup; do
        inside=$(awk -v n="$ns" '$1 == n { print $2 }' <<<"$out")
        host=$(host_ns "$ns")
        assert_match "$inside" '^[0-9]+$' "$ns namespace inode inside"
        assert_ne "$host" "$inside" "$ns namespace (inside = host's)"
    done
    # user and time namespaces are the host's by default (DESIGN.md §6)
    for ns in user time; do
        inside=$(awk -v n="$ns" '$1 == n { print $2 }' <<<"$out")
        assert_eq "$(host_ns "$ns")" "$inside" "$ns namespace"
    done
}
test_case "new mount, pid, uts, ipc, net and cgroup namespaces" test_namespaces

ns_of() { # NS: its inode in the last run's `probe ns` output
    awk -v n="$1" '$1 == n { print $2 }' <<<"$out"
}

test_namespace_switches() {
    local sw ns other
    for sw in uts ipc pid cgroupns; do
        ns=${sw%ns}
        hr --"$sw" host -- probe ns
        assert_status 0
        assert_eq "$(host_ns "$ns")" "$(ns_of "$ns")" "--$sw host: the $ns namespace is the host's"
        # and only that one: the others stay the sandbox's own
        for other in mnt uts ipc pid cgroup net; do
            [ "$other" = "$ns" ] || assert_ne "$(host_ns "$other")" "$(ns_of "$other")" \
                "--$sw host: the $other namespace"
        done
        hr --"$sw" private -- probe ns
        assert_ne "$(host_ns "$ns")" "$(ns_of "$ns")" "--$sw private"
    done
    hr --uts host -- hostname
    assert_eq "$(hostname)" "$out" "--uts host: the host's name"
    hr --uts host -h box -- true
    assert_status 125
    assert_one_error_line "--hostname"
    hr --pid maybe -- true
    assert_status 125
    assert_one_error_line "--pid"
    hr --pid host --userns auto -- true
    assert_status 125
    assert_one_error_line "--userns"
}
test_case "--uts/--ipc/--pid/--cgroupns host: that namespace only is the host's" \
    test_namespace_switches

test_pid_host_leaves_nothing() {
    # no pid namespace ends the orphans with init: the cgroup does, at the end and on timeout
    hr --pid host -- sh -c 'sleep 1000 & echo "bg=$!"'
    assert_status 0
    local bg
    bg=$(sed -n 's/^bg=//p' <<<"$out")
    assert_match "$bg" '^[0-9]+$' "the background pid (a host pid)"
    proc_gone "$bg" || fail "--pid host: the background sleep $bg outlived the run"
    hr --pid host --timeout 1 --kill-grace 1 -- sh -c \
        '(trap "" TERM; exec sleep 1000) & echo "bg=$!"; wait'
    assert_status 124
    bg=$(sed -n 's/^bg=//p' <<<"$out")
    proc_gone "$bg" || fail "--pid host --timeout: the TERM-proof sleep $bg outlived the run"
    assert_event process.end .timed_out true
}
test_case "--pid host: what the workload leaves is killed through the cgroup" \
    test_pid_host_leaves_nothing

test_namespaces_differ_between_runs() {
    # both sandboxes alive at once (an inode number may be reused once a namespace is gone)
    mkfifo "$C_DIR/hold"
    ev=$C_DIR/a.jsonl
    timeout -k 5 60 "$HUTCH" run --rootfs "$ROOTFS" --events "$ev" -i -- \
        sh -c 'probe ns; echo ready; read x; exit 0' <"$C_DIR/hold" >"$C_DIR/a.out" 2>&1 &
    local a_pid=$!
    exec 9>"$C_DIR/hold"
    wait_for_line "$C_DIR/a.out" ready
    hr -- probe ns
    local b=$out a ns
    exec 9>&-
    t_wait_bg "$a_pid"
    [ "$bg_status" = 0 ] || fail "the first sandbox failed: $(cat "$C_DIR/a.out")"
    a=$(cat "$C_DIR/a.out")
    for ns in mnt pid net ipc uts cgroup; do
        assert_ne "$(awk -v n="$ns" '$1 == n { print $2 }' <<<"$a")" \
            "$(awk -v n="$ns" '$1 == n { print $2 }' <<<"$b")" "$ns namespace of two sandboxes"
    done
}
test_case "two sandboxes do not share namespaces" test_namespaces_differ_between_runs

test_pid1_is_init() {
    hr -- probe pid
    assert_status 0
    assert_line "$out" "ppid: 1"
    local pid
    pid=$(sed -n 's/^pid: //p' <<<"$out")
    assert_le "$pid" 3 "workload pid"
    assert_ge "$pid" 2 "workload pid (pid 1 is hutch's init)"
    assert_event process.start .pid_inside "$pid"
}
test_case "pid 1 is hutch's init and the workload is its child" test_pid1_is_init

test_proc_is_own() {
    hr -- sh -c 'ls /proc | grep -c "^[0-9]"'
    assert_status 0
    # init, sh, ls, grep at most: no host process is visible
    assert_le "$out" 6 "processes visible in /proc"
    hr -- sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; readlink /proc/self'
    assert_status 0
    assert_not_contains "$out" "probe subreaper" "/proc/1"
}
test_case "/proc belongs to the sandbox's pid namespace" test_proc_is_own

test_network_only_lo_up() {
    hr -- probe netdev
    assert_status 0
    assert_eq "lo UP" "$out" "interfaces (/proc/net/dev)"
    hr -- ls /sys/class/net
    assert_status 0
    assert_eq "lo" "$out" "/sys/class/net"
}
test_case "network: only lo, and it is up" test_network_only_lo_up

test_pivot_root_hides_host() {
    echo secret >"$C_DIR/host-marker"
    hr -- probe stat "$C_DIR/host-marker"
    assert_eq "stat: ENOENT" "$out" "a host file seen from inside"
    hr -- probe ls /
    assert_status 0
    local want
    want=$(find "$ROOTFS" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)
    local got
    got=$(LC_ALL=C sort <<<"$out")
    # the rootfs's own entries, nothing else from the host's /
    local e
    while read -r e; do
        assert_line "$got" "$e" "/ inside"
    done <<<"$want"
    while read -r e; do
        [ -e "$ROOTFS/$e" ] || [ -L "$ROOTFS/$e" ] && continue
        assert_no_line "$got" "$e" "/ inside (host's $e)"
    done < <(find / -mindepth 1 -maxdepth 1 -printf '%f\n')
    # no mount point outside the sandbox's own tree is left (the old root is detached)
    hr -- probe mounts
    local mp
    while read -r mp; do
        case "$mp" in
        / | /proc | /proc/* | /dev | /dev/* | /sys | /sys/*) ;;
        *) fail "unexpected mount point inside: $mp" ;;
        esac
    done < <(awk '{ print $5 }' <<<"$out")
}
test_case "pivot_root: / is the rootfs, no host file is visible" test_pivot_root_hides_host

test_rootfs_unchanged() {
    local r=$C_DIR/rootfs before after
    rootfs_copy "$r"
    before=$(t_tree_sum "$r")
    HR_ROOTFS=$r hr -- sh -c 'echo new >/etc/newfile && echo more >>/etc/passwd &&
        rm /bin/busybox.none 2>/dev/null; rm /usr/bin/awk && mkdir /root/d &&
        echo x >/tmp/x && chmod 700 /home/tester && cat /etc/newfile && test ! -e /usr/bin/awk'
    assert_status 0
    assert_eq new "$out" "a write inside is visible inside"
    after=$(t_tree_sum "$r")
    assert_eq "$before" "$after" "rootfs digest after writes inside"
    # and the shared test rootfs is untouched by every run of every test
    HR_ROOTFS=$r hr -- cat /etc/newfile
    assert_status 1
}
test_case "the rootfs directory is never modified by a run" test_rootfs_unchanged

test_read_only() {
    hr --read-only -- probe write /etc/x data
    assert_eq "write: EROFS" "$out" "write with --read-only"
    hr --read-only -- probe statfs /
    assert_contains "$out" "ro=1" "statfs /"
    hr -- probe write /etc/x data
    assert_eq "write: OK" "$out" "write without --read-only"
}
test_case "--read-only: writes to the root fail with EROFS" test_read_only

test_dev_minimal() {
    hr -- probe ls /dev
    assert_status 0
    local allowed=" null zero full random urandom tty pts ptmx shm mqueue fd stdin stdout stderr console core "
    local need="null zero full random urandom tty pts ptmx shm fd stdin stdout stderr"
    local e
    for e in $need; do assert_line "$out" "$e" "/dev"; done
    while read -r e; do
        [[ $allowed == *" $e "* ]] || fail "unexpected /dev entry: $e (all: $(tr '\n' ' ' <<<"$out"))"
    done <<<"$out"
}
test_case "/dev holds only the minimal set" test_dev_minimal

test_dev_nodes() {
    local spec
    for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
        local n=${spec%%:*} want=${spec#*:}
        hr -- probe stat "/dev/$n"
        assert_contains "$out" "type=char" "/dev/$n"
        assert_contains "$out" "rdev=$want" "/dev/$n device number"
    done
    hr -- sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c'
    assert_status 0
    assert_eq "4
8" "$out" "reading /dev/zero and /dev/urandom"
    hr -- probe write /dev/full x
    assert_eq "write: ENOSPC" "$out" "/dev/full"
    hr -- sh -c 'readlink /dev/fd; readlink /dev/stdin; readlink /dev/stdout; readlink /dev/stderr'
    assert_eq "/proc/self/fd
/proc/self/fd/0
/proc/self/fd/1
/proc/self/fd/2" "$out" "/dev/fd links"
    hr -- probe stat /dev/ptmx
    assert_match "$out" "type=(char|symlink)" "/dev/ptmx"
    hr -- probe stat /dev/pts/ptmx
    assert_contains "$out" "type=char" "/dev/pts/ptmx"
    hr -- probe statfs /dev/shm
    assert_contains "$out" "type=0x1021994" "/dev/shm is a tmpfs"
    hr -- probe write /dev/shm/x data
    assert_eq "write: OK" "$out" "/dev/shm is writable"
}
test_case "/dev nodes: null zero full random urandom tty, fd links, pts, shm" test_dev_nodes

test_dev_no_host_devices() {
    local d
    for d in /dev/vda /dev/sda /dev/loop0 /dev/kmsg /dev/mem /dev/kvm /dev/fuse; do
        hr -- probe stat "$d"
        assert_eq "stat: ENOENT" "$out" "$d"
    done
    # making a device node must not give access to a host device either
    hr -- sh -c 'mknod /tmp/vda b 254 0 2>/dev/null && head -c1 /tmp/vda >/dev/null && echo read'
    assert_not_contains "$out" read "reading a block device made with mknod"
}
test_case "no host device is reachable from /dev" test_dev_no_host_devices

test_sys_read_only() {
    hr -- probe statfs /sys
    assert_status 0
    assert_contains "$out" "ro=1" "statfs /sys"
    hr -- probe write /sys/kernel/uevent_helper x
    assert_ne "write: OK" "$out" "write into /sys"
    hr -- probe open-write /sys/kernel/mm/transparent_hugepage/enabled
    assert_ne "open-write: OK" "$out" "open /sys for writing"
}
test_case "/sys is read-only" test_sys_read_only

# A masked path is empty or unreadable inside; it is not masked if the host has no such path.
check_masked() {
    local p=$1
    if [ ! -e "$p" ]; then
        return 0
    fi
    if [ -d "$p" ]; then
        hr -- probe ls "$p"
        [ -z "$out" ] || [[ $out == "ls: E"* ]] ||
            fail "$p is not masked: $(head -c 300 <<<"$out")"
    else
        hr -- probe read "$p"
        [ "$out" = "read: OK 0" ] || [[ $out == "read: E"* ]] ||
            fail "$p is not masked: $out"
    fi
}

test_masked_paths() {
    local p
    for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats \
        /proc/timer_stats /proc/acpi /proc/scsi /proc/asound /sys/firmware \
        /sys/devices/virtual/powercap; do
        check_masked "$p"
    done
}
test_case "OCI masked paths are empty or unreadable" test_masked_paths

test_read_only_paths() {
    local p
    for p in /proc/sys /proc/irq /proc/bus /proc/fs; do
        [ -e "$p" ] || continue
        hr -- probe statfs "$p"
        assert_contains "$out" "ro=1" "statfs $p"
    done
    hr -- probe open-write /proc/sysrq-trigger
    assert_ne "open-write: OK" "$out" "/proc/sysrq-trigger"
    hr -- probe write /proc/sys/kernel/hostname evil
    assert_eq "write: EROFS" "$out" "/proc/sys/kernel/hostname"
    hr -- probe open-write /proc/sys/vm/drop_caches
    assert_ne "open-write: OK" "$out" "/proc/sys/vm/drop_caches"
}
test_case "OCI read-only paths: /proc/sys, sysrq-trigger, irq, bus, fs" test_read_only_paths

test_init_binary_out_of_reach() {
    # runc CVE-2019-5736: /proc/1/exe must not open hutch's binary for writing
    hr -- probe open-write /proc/1/exe
    assert_ne "open-write: OK" "$out" "/proc/1/exe for writing (root)"
    hr -- probe open-write /proc/self/exe
    assert_ne "open-write: OK" "$out" "/proc/self/exe for writing"
    hr -u 1000:1000 -- probe read /proc/1/environ
    assert_match "$out" "^read: E" "/proc/1/environ as uid 1000"
    hr -u 1000:1000 -- probe readlink /proc/1/exe
    assert_match "$out" "^readlink: E" "/proc/1/exe readlink as uid 1000"
    hr -u 1000:1000 -- probe read /proc/1/mem
    assert_match "$out" "^read: E" "/proc/1/mem as uid 1000"
    hr -- probe read /proc/1/environ
    # root in the sandbox has no CAP_SYS_PTRACE: a non-dumpable init is out of reach too
    assert_match "$out" "^read: E" "/proc/1/environ as root"
}
test_case "hutch's init is out of reach: /proc/1/exe, environ, mem" test_init_binary_out_of_reach

test_host_binary_unchanged() {
    local before after
    before=$(sha256sum <"$HUTCH")
    hr -- sh -c 'echo x >/proc/1/exe; cat /dev/null >/proc/1/exe; cp /bin/busybox /proc/1/exe'
    after=$(sha256sum <"$HUTCH")
    assert_eq "$before" "$after" "hutch binary digest"
}
test_case "writing to /proc/1/exe never changes hutch's binary" test_host_binary_unchanged

test_orphans_reaped() {
    hr -- probe orphan
    assert_status 0
    assert_line "$out" "orphan-ppid: 1"
    assert_line "$out" "orphan: reaped"
}
test_case "an orphan is reparented to init and reaped (no zombie)" test_orphans_reaped

test_many_orphans() {
    # ten orphans; then poll (bounded, 5 s) until no zombie is left in the sandbox
    hr -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0 &); done
        i=0; while [ $i -lt 500 ]; do
            n=$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)
            [ "$n" = 0 ] && break; i=$((i + 1)); sleep 0.01
        done; echo "$n"'
    assert_status 0
    assert_eq 0 "$out" "zombies after 10 orphans"
}
test_case "init reaps many orphans" test_many_orphans

test_fds() {
    hr -- probe fds
    assert_status 0
    local fds
    fds=$(cut -d' ' -f1 <<<"$out" | tr '\n' ' ')
    assert_eq "0 1 2 " "$fds" "open fds ($out)"
}
test_case "the workload gets fds 0, 1, 2 and nothing else" test_fds

test_fds_host_not_inherited() {
    # an fd open in hutch's caller must not reach the workload
    exec 8<"$C_DIR"
    hr -- probe fds
    exec 8<&-
    local fds
    fds=$(cut -d' ' -f1 <<<"$out" | tr '\n' ' ')
    assert_eq "0 1 2 " "$fds" "open fds ($out)"
}
test_case "fds of hutch's caller do not leak into the sandbox" test_fds_host_not_inherited

test_ipc_isolated() {
    # a SysV segment on the host is not visible inside (ipc namespace)
    hr -- sh -c 'cat /proc/sysvipc/shm | wc -l'
    assert_status 0
    assert_le "$out" 1 "SysV shm segments visible"
}
test_case "ipc namespace: no host SysV objects" test_ipc_isolated

t_end
