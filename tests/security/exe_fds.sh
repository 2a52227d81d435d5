#!/usr/bin/env bash
# hutch's own binary and the host's fds and directories, from inside (issue 5):
# CVE-2019-5736 (overwrite the runtime's binary through /proc/1/exe or /proc/self/exe) and
# CVE-2024-21626 (a leaked host directory fd or a working directory outside the root).
. "$(dirname "$0")/../lib.sh"
t_begin

HUTCH_SUM=$(sha256sum "$HUTCH" | cut -d' ' -f1)


lines_of() { # ATTEMPT: the lines it printed
    awk -v h="== $1" '$0 == h { on = 1; next } /^== / { on = 0 } on' <<<"$out"
}

expect_of() { # ATTEMPT LINE...
    local a=$1 got l
    shift
    got=$(lines_of "$a")
    for l in "$@"; do
        grep -qxF -- "$l" <<<"$got" || fail "$a: expected '$l', got: $(tr '\n' '|' <<<"$got")"
    done
}

assert_hutch_unchanged() {
    assert_eq "$HUTCH_SUM" "$(sha256sum "$HUTCH" | cut -d' ' -f1)" "hutch's binary"
}

# ---------------------------------------------------------------- CVE-2019-5736

init_exe_refused() { # [HUTCH-OPTIONS...]
    hr_attacks "$@" -- "open /proc/1/exe w" "open /proc/1/exe rw" "open /proc/1/exe path" \
        "open /proc/1/exe r" "readlink /proc/1/exe" "open /proc/1/root dir" \
        "open /proc/1/cwd dir" "read /proc/1/environ" "read /proc/1/mem" "read /proc/1/maps"
    local a
    for a in "open /proc/1/exe w" "open /proc/1/exe rw" "open /proc/1/exe path" \
        "open /proc/1/exe r" "open /proc/1/root dir" "open /proc/1/cwd dir"; do
        expect_of "$a" "open: EACCES"
    done
    expect_of "readlink /proc/1/exe" "readlink: EACCES"
    expect_of "read /proc/1/environ" "read: EACCES"
    expect_of "read /proc/1/mem" "read: EACCES"
    expect_of "read /proc/1/maps" "read: EACCES"
    assert_not_contains "$out" "$HUTCH" "output"
    assert_hutch_unchanged
}

test_init_exe_root() {
    init_exe_refused
}
test_case "as root: /proc/1/exe (hutch's binary) can not be opened, even O_PATH: EACCES" \
    test_init_exe_root

test_init_exe_non_root() {
    init_exe_refused -u 1000
}
test_case "as uid 1000: /proc/1/exe, root, cwd, environ, mem: EACCES" test_init_exe_non_root

test_self_exe() {
    # from its first instruction the workload is its own binary, never hutch's
    # (pid 2 is the shell hr_attacks runs: busybox; the last attempt replaces it)
    hr_attacks -- "readlink /proc/2/exe" "readlink /proc/self/exe" "open /proc/self/exe w"
    expect_of "readlink /proc/self/exe" "readlink: OK" "target: /usr/bin/attack"
    expect_of "open /proc/self/exe w" "open: ETXTBSY"
    expect_of "readlink /proc/2/exe" "readlink: OK" "target: /bin/busybox"
    assert_hutch_unchanged
}
test_case "/proc/self/exe is the workload's own binary (ETXTBSY for writing)" test_self_exe

test_self_exe_shebang() {
    # runc's CVE-2019-5736 entry: a command that is a "#!/proc/self/exe" script makes the
    # runtime's process execute the runtime's own binary inside the container
    local r=$C_DIR/rootfs
    rootfs_copy "$r"
    printf '#!/proc/self/exe\n' >"$r/evil"
    printf '#!/proc/self/exe --help\n' >"$r/evil-help"
    chmod 0755 "$r/evil" "$r/evil-help"
    local cmd
    for cmd in /evil /evil-help; do
        HR_ROOTFS=$r hr -- "$cmd"
        ev_output_bytes stdout "$C_DIR/stdout" && ev_output_bytes stderr "$C_DIR/stderr"
        assert_eq "" "$(cat "$C_DIR/stdout" "$C_DIR/stderr")" "the workload's output ($cmd)"
        [ "$status" = 126 ] || [ "$status" = 127 ] || fail "$cmd: status $status"
    done
    assert_hutch_unchanged
}
test_case "a '#!/proc/self/exe' command never runs hutch's binary in the sandbox" \
    test_self_exe_shebang

# ---------------------------------------------------------------- CVE-2024-21626

test_fds() {
    local u
    for u in 0 1000; do
        hr_attacks -u "$u" -- fds
        expect_of fds "fds: 0 1 2" "fd 0: /dev/null" "cwd: /"
        assert_match "$(lines_of fds | grep '^fd 1: ')" '^fd 1: pipe:\[[0-9]+\]$' "fd 1 ($u)"
        assert_match "$(lines_of fds | grep '^fd 2: ')" '^fd 2: pipe:\[[0-9]+\]$' "fd 2 ($u)"
    done
}
test_case "/proc/self/fd holds 0, 1, 2 only (root and uid 1000), cwd is /" test_fds

test_fds_of_caller() {
    # a caller with directories and files open, not close-on-exec: none reaches the sandbox
    mkdir "$C_DIR/dir"
    exec 5<"$C_DIR/dir" 6</ 7>"$C_DIR/file" 8<"$HUTCH"
    hr_attacks -- fds dirfd-scan
    exec 5<&- 6<&- 7>&- 8<&-
    expect_of fds "fds: 0 1 2" "cwd: /"
    expect_of dirfd-scan "dirfd: ENOENT"
}
test_case "the caller's open fds (host directories, hutch's binary) do not leak in" \
    test_fds_of_caller

test_dirfd_scan() {
    # every fd of every process in the sandbox: no directory handle at all
    hr_attacks -- dirfd-scan
    expect_of dirfd-scan "dirfd: ENOENT"
    assert_not_contains "$out" "dirfd: OK"
    hr_attacks -u 1000 -- dirfd-scan
    expect_of dirfd-scan "dirfd: ENOENT"
}
test_case "no process in the sandbox holds a directory fd (hutch's init included)" \
    test_dirfd_scan

test_init_fds() {
    # root may list init's fd numbers (it owns the directory), but never follow one
    hr -- sh -c 'for f in /proc/1/fd/*; do attack readlink "$f"; attack open "$f" path; done'
    assert_no_line "$out" "readlink: OK"
    assert_no_line "$out" "open: OK"
    assert_line "$out" "readlink: EACCES"
    assert_line "$out" "open: EACCES"
    hr_attacks -u 1000 -- "ls /proc/1/fd" "ls /proc/1/fdinfo"
    expect_of "ls /proc/1/fd" "ls: EACCES"
    expect_of "ls /proc/1/fdinfo" "ls: EACCES"
}
test_case "/proc/1/fd: no fd of hutch's init can be followed (uid 1000: not even listed)" \
    test_init_fds

test_workdir_magic_links() {
    # runc's CVE-2024-21626: -w /proc/self/fd/N landed on a leaked host directory
    local w
    for w in /proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5 /proc/self/fd/6 /proc/self/fd/7 \
        /proc/self/fd/8 /proc/self/fd/9 /proc/self/fd/10 /proc/1/cwd /proc/1/root \
        /proc/self/cwd /proc/thread-self/root; do
        hr -w "$w" -- attack fds
        if [ "$status" = 125 ]; then
            assert_contains "$err" "$w" "the error for -w $w"
            continue
        fi
        assert_status 0
        # accepted: then it is a directory inside the sandbox's own tree
        assert_line "$out" "fds: 0 1 2"
        assert_match "$(sed -n 's/^cwd: //p' <<<"$out")" '^/' "cwd for -w $w"
        assert_not_contains "$out" "unreachable"
    done
}
test_case "-w /proc/self/fd/N, /proc/1/cwd...: refused or inside the root" \
    test_workdir_magic_links

test_stdin_host_directory() {
    # -i hands the caller's stdin to the workload as it is: it must not become a handle on the
    # host's tree when it is a directory
    mkdir "$C_DIR/dir"
    echo "host secret" >"$C_DIR/secret"
    hr_exec_stdin() {
        HR_N=$((HR_N + 1))
        ev=$C_DIR/hr.$HR_N.jsonl
        hr_exec "$C_DIR/hr.$HR_N" run --rootfs "$ROOTFS" --events "$ev" "$@" <"$C_DIR/dir"
    }
    hr_exec_stdin -i -- sh -c 'attack fds; cat /proc/self/fd/0/../secret'
    if [ "$status" = 125 ]; then
        return 0 # refused: fine
    fi
    assert_not_contains "$out" "host secret" "a host file read through stdin"
    assert_no_line "$out" "fd 0: $C_DIR/dir"
}
test_case "-i with a host directory as stdin gives no handle on the host's tree" \
    test_stdin_host_directory

t_end
