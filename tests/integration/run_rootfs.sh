#!/usr/bin/env bash
# hutch run: the root filesystem - volumes (-v, :ro), --tmpfs, symlink tricks in the rootfs,
# and rootfs directories hutch must refuse.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

test_volume_rw() {
    mkdir "$C_DIR/vol"
    echo from-host >"$C_DIR/vol/in"
    hr -v "$C_DIR/vol:/data" -- sh -c 'cat /data/in; echo from-sandbox >/data/out'
    assert_status 0
    assert_eq from-host "$out" "a host file read inside"
    assert_eq from-sandbox "$(cat "$C_DIR/vol/out")" "a file written inside, read on the host"
}
test_case "-v SRC:DST shares a host directory read-write" test_volume_rw

test_volume_ro() {
    mkdir "$C_DIR/vol"
    echo keep >"$C_DIR/vol/f"
    hr -v "$C_DIR/vol:/data:ro" -- probe write /data/f changed
    assert_eq "write: EROFS" "$out" "write into a :ro volume"
    hr -v "$C_DIR/vol:/data:ro" -- probe write /data/new x
    assert_eq "write: EROFS" "$out" "create in a :ro volume"
    hr -v "$C_DIR/vol:/data:ro" -- cat /data/f
    assert_eq keep "$out" "read from a :ro volume"
    assert_eq keep "$(cat "$C_DIR/vol/f")" "host file"
    [ ! -e "$C_DIR/vol/new" ] || fail "a file appeared in the :ro volume on the host"
}
test_case "-v SRC:DST:ro is read-only (EROFS)" test_volume_ro

test_volume_file() {
    echo content >"$C_DIR/single"
    hr -v "$C_DIR/single:/etc/single:ro" -- cat /etc/single
    assert_status 0
    assert_eq content "$out" "a single-file volume"
}
test_case "a single file can be a volume" test_volume_file

test_volume_new_destination() {
    local r=$C_DIR/rootfs before
    rootfs_copy "$r"
    before=$(t_tree_sum "$r")
    mkdir "$C_DIR/vol"
    HR_ROOTFS=$r hr -v "$C_DIR/vol:/new/deep/dir" -- sh -c 'echo x >/new/deep/dir/f; ls /new/deep'
    assert_status 0
    assert_eq dir "$out" "the destination made inside"
    assert_eq x "$(cat "$C_DIR/vol/f")" "written through the new mount point"
    assert_eq "$before" "$(t_tree_sum "$r")" "rootfs digest (the mount point was made elsewhere)"
}
test_case "a volume destination missing from the rootfs is made without changing it" test_volume_new_destination

test_volume_as_non_root() {
    mkdir "$C_DIR/vol"
    chown 1000:1000 "$C_DIR/vol"
    hr -u 1000:1000 -v "$C_DIR/vol:/data" -- probe write /data/f x
    assert_eq "write: OK" "$out" "uid 1000 writing its volume"
    assert_eq 1000 "$(stat -c %u "$C_DIR/vol/f")" "owner on the host"
}
test_case "a non-root user writes to a volume it owns" test_volume_as_non_root

test_volume_missing_source() {
    hr -v "$C_DIR/no-such-dir:/data" -- true
    assert_status 125
    assert_one_error_line "$C_DIR/no-such-dir"
}
test_case "a volume whose source does not exist is an error 125 naming it" test_volume_missing_source

test_volume_symlink_destination_stays_inside() {
    local r=$C_DIR/rootfs before
    mkdir "$C_DIR/outside" "$C_DIR/vol"
    echo keep >"$C_DIR/outside/keep"
    echo volume >"$C_DIR/vol/volfile"
    rootfs_copy "$r"
    # destinations that are symlinks pointing out of the rootfs, absolute and relative
    ln -s "$C_DIR/outside" "$r/escape"
    ln -s "../../../../../../../../..$C_DIR/outside" "$r/escape-rel"
    mkdir "$r/sub"
    ln -s / "$r/sub/root"
    before=$(t_tree_sum "$r")
    local dst
    for dst in /escape /escape-rel /sub/root/escape; do
        HR_ROOTFS=$r hr -v "$C_DIR/vol:$dst" -- sh -c "cat $dst/volfile"
        if [ "$status" = 0 ]; then
            assert_eq volume "$out" "the volume at $dst, seen inside"
        else
            assert_status 125 "a volume on $dst"
        fi
        assert_eq keep "$(ls "$C_DIR/outside")" "the host directory the link points to"
        [ -z "$(t_mounts_under "$C_DIR/outside")" ] || fail "a host directory was mounted over"
        assert_eq "$before" "$(t_tree_sum "$r")" "rootfs digest"
    done
}
test_case "a volume destination that is a symlink out of the rootfs lands inside it" test_volume_symlink_destination_stays_inside

test_volume_bad_syntax() {
    local v
    for v in "relative:/data" "$C_DIR" "$C_DIR:relative" "$C_DIR:/data:rx" "$C_DIR:/" \
        "$C_DIR:/proc" ":/data"; do
        hr -v "$v" -- true
        assert_status 125 "-v '$v'"
        assert_one_error_line "--volume"
    done
}
test_case "malformed -v values are errors 125 naming --volume" test_volume_bad_syntax

test_tmpfs() {
    hr --tmpfs /scratch:size=1M,mode=700 -- sh -c 'probe stat /scratch; probe statfs /scratch'
    assert_status 0
    assert_contains "$out" "type=dir mode=700" "tmpfs mode"
    assert_contains "$out" "type=0x1021994" "tmpfs type"
    assert_contains "$out" "size=1048576" "tmpfs size"
    hr --tmpfs /scratch:size=1M -- sh -c 'head -c 2000000 /dev/zero >/scratch/big; echo $?'
    assert_ne 0 "$out" "writing 2 MB into a 1 MB tmpfs"
    hr --tmpfs /scratch -- probe stat /scratch
    assert_contains "$out" "mode=1777" "default tmpfs mode"
    hr --tmpfs /scratch -- probe write /scratch/f x
    assert_eq "write: OK" "$out" "write into a tmpfs"
}
test_case "--tmpfs DST:size=N,mode=M mounts a tmpfs with that size and mode" test_tmpfs

test_tmpfs_read_only_root() {
    hr --read-only --tmpfs /tmp -- sh -c 'echo x >/tmp/f && cat /tmp/f'
    assert_status 0
    assert_eq x "$out" "a tmpfs in a read-only root"
}
test_case "--tmpfs gives a writable place under --read-only" test_tmpfs_read_only_root

test_tmpfs_bad() {
    local v
    for v in relative /x:size=0 /x:size=abc /x:mode=999 /x:uid=0 /; do
        hr --tmpfs "$v" -- true
        assert_status 125 "--tmpfs '$v'"
        assert_one_error_line "--tmpfs"
    done
}
test_case "malformed --tmpfs values are errors 125" test_tmpfs_bad

# A rootfs whose NAME is a symlink pointing at the host must be refused before anything is
# mounted on it.
refuse_symlinked() { # NAME
    local r=$C_DIR/rootfs-$1
    rootfs_copy "$r"
    mkdir "$C_DIR/target-$1"
    echo keep >"$C_DIR/target-$1/keep"
    rm -rf "${r:?}/$1"
    ln -s "$C_DIR/target-$1" "$r/$1"
    HR_ROOTFS=$r hr -- true
    assert_status 125 "a rootfs whose /$1 is a symlink"
    assert_one_error_line "$1"
    assert_eq keep "$(ls "$C_DIR/target-$1")" "the symlink's target"
    # a relative link to a directory inside the rootfs is refused too
    rm "$r/$1"
    ln -s tmp "$r/$1"
    HR_ROOTFS=$r hr -- true
    assert_status 125 "a rootfs whose /$1 is a relative symlink"
}

test_rootfs_proc_symlink() { refuse_symlinked proc; }
test_case "a rootfs whose /proc is a symlink is refused (125)" test_rootfs_proc_symlink

test_rootfs_dev_symlink() { refuse_symlinked dev; }
test_case "a rootfs whose /dev is a symlink is refused (125)" test_rootfs_dev_symlink

test_rootfs_sys_symlink() { refuse_symlinked sys; }
test_case "a rootfs whose /sys is a symlink is refused (125)" test_rootfs_sys_symlink

test_rootfs_missing_dirs() {
    # a rootfs without /proc, /dev, /sys, /tmp still runs: the mount points are made on top
    local r=$C_DIR/rootfs before
    rootfs_copy "$r"
    rmdir "$r/proc" "$r/dev" "$r/sys"
    before=$(t_tree_sum "$r")
    HR_ROOTFS=$r hr -- sh -c 'ls /proc/self/ >/dev/null && echo ok'
    if [ "$status" = 0 ]; then
        assert_eq ok "$out"
    else
        assert_status 125 "a rootfs without /proc"
        assert_one_error_line "proc"
    fi
    assert_eq "$before" "$(t_tree_sum "$r")" "rootfs digest"
}
test_case "a rootfs without /proc, /dev, /sys runs or is refused, never changed" test_rootfs_missing_dirs

test_rootfs_missing() {
    hr_raw run --rootfs "$C_DIR/no-such-rootfs" -- true
    assert_status 125
    assert_one_error_line "$C_DIR/no-such-rootfs"
    echo x >"$C_DIR/file"
    hr_raw run --rootfs "$C_DIR/file" -- true
    assert_status 125
    assert_one_error_line "$C_DIR/file"
}
test_case "a rootfs that is missing or not a directory is an error 125" test_rootfs_missing

test_rootfs_relative_path() {
    ln -s "$ROOTFS" "$C_DIR/rootfs-link"
    (cd "$C_DIR" && hr_raw run --rootfs rootfs-link --events "$C_DIR/rel.jsonl" -- true &&
        [ "$status" = 0 ]) || fail "a relative --rootfs path: status $status"
}
test_case "--rootfs takes a relative path" test_rootfs_relative_path

t_end
