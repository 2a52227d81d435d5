#!/usr/bin/env bash
# Mount destinations inside an untrusted image (CVE-2021-30465 class): a symlink in the rootfs
# on the way to a -v or --tmpfs destination is resolved inside the rootfs, so the mount lands
# in the sandbox's own tree, never on the host's.
. "$(dirname "$0")/../lib.sh"
t_begin

# A rootfs copy with mnt/evil -> /etc; a volume source with a file in it.
evil_rootfs() {
    R=$C_DIR/rootfs
    rootfs_copy "$R"
    mkdir -p "$R/mnt" "$C_DIR/vol"
    echo "from the volume" >"$C_DIR/vol/file"
    ln -s /etc "$R/mnt/evil"
    R_SUM=$(t_tree_sum "$R")
}

assert_rootfs_unchanged() {
    assert_eq "$R_SUM" "$(t_tree_sum "$R")" "the rootfs directory"
}

# The mount points of the last run's sandbox (its /proc/self/mounts, printed first).
mounts_of_run() {
    sed -n 's/^mount: //p' <<<"$out"
}

MOUNTS='awk "{ print \"mount: \" \$2 }" /proc/self/mounts; '

test_symlink_absolute() {
    evil_rootfs
    local etc_sum passwd_sum
    etc_sum=$(find /etc -maxdepth 1 -printf '%f\n' | sort | sha256sum)
    passwd_sum=$(sha256sum </etc/passwd)
    echo "volume passwd" >"$C_DIR/passwd"
    HR_ROOTFS=$R hr -v "$C_DIR/vol:/mnt/evil/x" -v "$C_DIR/passwd:/mnt/evil/passwd:ro" \
        --tmpfs /mnt/evil/t -- sh -c "$MOUNTS"'cat /etc/x/file /etc/passwd; ls -d /etc/t'
    assert_status 0
    # the mounts are at the symlink's target resolved in the rootfs: /etc of the sandbox
    assert_line "$(mounts_of_run)" "/etc/x"
    assert_line "$(mounts_of_run)" "/etc/passwd"
    assert_line "$(mounts_of_run)" "/etc/t"
    assert_line "$out" "from the volume"
    assert_line "$out" "volume passwd"
    assert_line "$out" "/etc/t"
    # and nothing on the host's /etc
    if [ -e /etc/x ] || [ -e /etc/t ]; then fail "the host's /etc got x or t"; fi
    assert_eq "$etc_sum" "$(find /etc -maxdepth 1 -printf '%f\n' | sort | sha256sum)" "host /etc"
    assert_eq "$passwd_sum" "$(sha256sum </etc/passwd)" "the host's /etc/passwd"
    assert_eq "" "$(t_mounts_under /etc)" "mounts on the host's /etc"
    assert_rootfs_unchanged
}
test_case "-v/--tmpfs through mnt/evil -> /etc land on the sandbox's /etc, not the host's" \
    test_symlink_absolute

test_symlink_relative() {
    evil_rootfs
    # enough ".." to climb out of the rootfs directory on the host, then /tmp: the host's /tmp
    local name
    name=hutch-sec-marker-$(basename "$T_DIR")-$$
    ln -s ../../../../../../../../../../../../tmp "$R/mnt/up"
    R_SUM=$(t_tree_sum "$R")
    HR_ROOTFS=$R hr -v "$C_DIR/vol:/mnt/up/$name" -- sh -c "$MOUNTS"'cat /tmp/'"$name"'/file'
    assert_status 0
    assert_line "$(mounts_of_run)" "/tmp/$name"
    assert_line "$out" "from the volume"
    [ ! -e "/tmp/$name" ] || fail "the mount point was made on the host: /tmp/$name"
    assert_rootfs_unchanged
}
test_case "a relative symlink climbing out of the rootfs stays inside it" test_symlink_relative

test_symlink_chain_and_leaf() {
    evil_rootfs
    local shadow_sum
    shadow_sum=$(sha256sum </etc/shadow)
    # a chain of links, and a link as the last component (a file volume on it)
    ln -s b "$R/mnt/a"
    ln -s /../../../etc/../mnt/c "$R/mnt/b"
    mkdir "$R/mnt/c"
    ln -s /etc/shadow "$R/mnt/leaf"
    R_SUM=$(t_tree_sum "$R")
    echo "volume shadow" >"$C_DIR/shadow"
    HR_ROOTFS=$R hr -v "$C_DIR/vol:/mnt/a/y" -v "$C_DIR/shadow:/mnt/leaf:ro" \
        -- sh -c "$MOUNTS"'cat /mnt/c/y/file /etc/shadow'
    assert_status 0
    assert_line "$(mounts_of_run)" "/mnt/c/y"
    assert_line "$(mounts_of_run)" "/etc/shadow"
    assert_line "$out" "from the volume"
    assert_line "$out" "volume shadow"
    assert_eq "$shadow_sum" "$(sha256sum </etc/shadow)" "the host's /etc/shadow"
    assert_rootfs_unchanged
}
test_case "symlink chains and a symlink as the last component resolve inside the rootfs" \
    test_symlink_chain_and_leaf

test_symlink_dangling_outside() {
    evil_rootfs
    local name
    name=/tmp/hutch-sec-dangling-$(basename "$T_DIR")-$$
    ln -s "$name/d" "$R/mnt/dangle"
    R_SUM=$(t_tree_sum "$R")
    HR_ROOTFS=$R hr -v "$C_DIR/vol:/mnt/dangle/z" -- sh -c "$MOUNTS"
    # refused, or made inside the sandbox's tree: never on the host
    if [ "$status" = 125 ]; then
        assert_contains "$err" "/mnt/dangle/z"
    else
        assert_status 0
        assert_line "$(mounts_of_run)" "$name/d/z"
    fi
    [ ! -e "$name" ] || fail "a directory was made on the host: $name"
    assert_rootfs_unchanged
}
test_case "a dangling symlink to a host path: refused or made inside, never on the host" \
    test_symlink_dangling_outside

test_dotdot_destination() {
    evil_rootfs
    HR_ROOTFS=$R hr -v "$C_DIR/vol:/../../../tmp/x" -- true
    assert_status 125
    assert_one_error_line "--volume"
}
test_case "a destination with '..' is refused (125)" test_dotdot_destination

test_read_only_volume() {
    mkdir "$C_DIR/vol"
    echo "host data" >"$C_DIR/vol/file"
    local sum
    sum=$(t_tree_sum "$C_DIR/vol")
    hr -v "$C_DIR/vol:/ro:ro" -- sh -c 'attack open /ro/file w; attack open /ro/new create;
        attack mount_setattr /ro; attack umount2 /ro; attack mount /ro'
    assert_line "$out" "open: EROFS"
    [ "$(grep -cx 'open: EROFS' <<<"$out")" = 2 ] || fail "writes to the :ro volume: $out"
    assert_line "$out" "mount_setattr: EPERM"
    assert_line "$out" "umount2: EPERM"
    assert_line "$out" "mount: EPERM"
    assert_eq "$sum" "$(t_tree_sum "$C_DIR/vol")" "the :ro volume's host directory"
}
test_case "a :ro volume can not be written, remounted, unmounted or covered" \
    test_read_only_volume

# A sandbox that swaps DIR/a (a directory) and DIR/l (a symlink to /) of a volume it shares,
# as fast as it can, until DIR/stop exists. Sets SWAPPER (its pid).
start_swapper() { # HOSTDIR
    mkdir -p "$1/a"
    ln -s / "$1/l"
    timeout -k 5 60 "$HUTCH" run --rootfs "$ROOTFS" --events "$C_DIR/swapper.jsonl" \
        -v "$1:/s" -- attack swap-loop /s >"$C_DIR/swapper.out" 2>&1 &
    SWAPPER=$!
    # (no wait for the swapper to start: the runs race with it from whenever it does)
    trap 'touch "'"$1"'/stop"; wait '"$SWAPPER"'' EXIT # a failing case stops it too
}

stop_swapper() { # HOSTDIR
    touch "$1/stop"
    wait "$SWAPPER" || fail "the swapper failed: $(cat "$C_DIR/swapper.out")"
    grep -qx "swap-loop: OK" "$C_DIR/swapper.out" || fail "swapper: $(cat "$C_DIR/swapper.out")"
}

test_symlink_swap_race() {
    # runc's actual CVE-2021-30465: a sandbox sharing a volume swaps a directory of it for a
    # symlink to / while another sandbox mounts onto a path through it
    mkdir -p "$C_DIR/vol"
    echo "from the volume" >"$C_DIR/vol/file"
    start_swapper "$C_DIR/shared"
    local i dst
    for i in $(seq 12); do
        # the destination is the swapped entry itself, or a path through it
        dst=/s/a
        [ $((i % 2)) = 0 ] || dst=/s/a/x
        hr -v "$C_DIR/shared:/s" -v "$C_DIR/vol:$dst" -- \
            sh -c 'awk "{ print \"mount:\", \$2, \$4 }" /proc/self/mounts'
        # refused (the destination changed under hutch's feet), or mounted in this sandbox's
        # tree - /s/a, /s/l, /x through the symlink
        [ "$status" = 0 ] || [ "$status" = 125 ] || fail "run $i: status $status"
        [ ! -e /x ] || fail "run $i: mounted on the host's /x"
    done
    stop_swapper "$C_DIR/shared"
    [ ! -e /x ] || fail "the host got /x"
}
test_case "a volume swapped for a symlink to / by another sandbox (race): mounts stay inside" \
    test_symlink_swap_race

test_symlink_swap_race_nodev() {
    # the same race against the volume's mount flags: nodev must hold on the volume wherever
    # it lands, or root (CAP_MKNOD) opens host devices through it. The destination ends in
    # "dev", the name of a mount of hutch's own, so that a second lookup of the path can land
    # on a different mount. A harmless node (the null device, under a name that exists only
    # in the volume) tells whether devices open.
    mkdir -p "$C_DIR/vol"
    mknod -m 0666 "$C_DIR/vol/hostnull" c 1 3
    start_swapper "$C_DIR/shared"
    local i bad=""
    # the race is won in a few runs in a hundred: try up to 100 times, stop at the first
    for i in $(seq 100); do
        hr -i -v "$C_DIR/shared:/s" -v "$C_DIR/vol:/s/a/dev" -- sh -c '
            awk -v v="$1" "\$4 == v { print \"vol:\", \$5, \$6 }" /proc/self/mountinfo
            for d in /s/a/dev /s/l/dev /dev; do attack open $d/hostnull rw; done' sh "$C_DIR/vol"
        [ "$status" = 0 ] || [ "$status" = 1 ] || [ "$status" = 125 ] ||
            fail "run $i: status $status"
        if grep '^vol: ' <<<"$out" | grep -qv 'nodev'; then
            bad="run $i: the volume is mounted without nodev: $(grep '^vol: ' <<<"$out")"
        fi
        if grep -qx 'open: OK' <<<"$out"; then
            bad+=" run $i: the volume's device node opened: $out"
        fi
        [ -z "$bad" ] || break
    done
    stop_swapper "$C_DIR/shared"
    [ -z "$bad" ] || fail "$bad"
}
test_case "the same race never leaves a volume without nodev (no host device opens)" \
    test_symlink_swap_race_nodev

t_end
