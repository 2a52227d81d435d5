#!/usr/bin/env bash
# hutch run: exit statuses - the workload's own, 128+N for a signal, 126, 127 - and the
# process.end event that reports them.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

test_exit_codes() {
    local c
    for c in 0 1 3 42 255; do
        hr -- probe exit "$c"
        assert_status "$c" "exit status of 'probe exit $c'"
        assert_event process.end .exit_code "$c"
        assert_event process.end .signal null
    done
    hr -- sh -c 'exit 7'
    assert_status 7 "sh -c 'exit 7'"
}
test_case "the workload's exit code is hutch's exit status" test_exit_codes

# The event's signal may be a number or a name; both mean the same.
assert_signal_event() { # SIGNUM NAME
    local s
    s=$(ev_get process.end .signal)
    [ "$s" = "$1" ] || [ "$s" = "\"$2\"" ] || [ "$s" = "\"SIG$2\"" ] ||
        fail "process.end signal: expected $1 ($2), got $s"
}

test_signals() {
    local spec n name
    for spec in 15:TERM 9:KILL 11:SEGV 6:ABRT 2:INT 1:HUP 10:USR1; do
        n=${spec%%:*} name=${spec#*:}
        hr -- probe kill-self "$name"
        assert_status $((128 + n)) "exit status after SIG$name"
        assert_signal_event "$n" "$name"
        assert_event process.end .timed_out false
    done
}
test_case "a workload killed by signal N gives 128+N" test_signals

test_signal_via_shell() {
    hr -- sh -c 'kill -TERM $$'
    assert_status 143
}
test_case "a shell that kills itself gives 143" test_signal_via_shell

test_not_found() {
    hr -- no-such-command arg
    assert_status 127 "missing command in PATH"
    assert_contains "$err" "no-such-command" stderr
    hr -- /usr/bin/no-such-binary
    assert_status 127 "missing absolute path"
    assert_contains "$err" "/usr/bin/no-such-binary" stderr
    hr -- /no/such/dir/cmd
    assert_status 127 "missing directory"
}
test_case "a command that does not exist gives 127" test_not_found

test_not_executable() {
    hr -- /etc/passwd
    assert_status 126 "a file without x bits"
    assert_contains "$err" "/etc/passwd" stderr
    hr -- /tmp
    assert_status 126 "a directory"
    local r=$C_DIR/rootfs
    rootfs_copy "$r"
    printf 'not an ELF file\n' >"$r/usr/bin/junk"
    chmod 755 "$r/usr/bin/junk"
    HR_ROOTFS=$r hr -- junk
    # an executable that the kernel cannot run (no #!, not ELF): ENOEXEC -> 126
    assert_status 126 "an executable the kernel cannot run"
    printf '#!/no/such/interpreter\n' >"$r/usr/bin/badshebang"
    chmod 755 "$r/usr/bin/badshebang"
    HR_ROOTFS=$r hr -- badshebang
    # docker/runc: a missing interpreter is reported as not found
    [ "$status" = 127 ] || [ "$status" = 126 ] ||
        fail "missing #! interpreter: expected 127 or 126, got $status"
}
test_case "a command that is not executable gives 126" test_not_executable

test_not_executable_user() {
    # executable only by its owner: uid 1000 cannot run it
    local r=$C_DIR/rootfs
    rootfs_copy "$r"
    cp "$r/usr/bin/probe" "$r/usr/bin/rootonly"
    chmod 700 "$r/usr/bin/rootonly"
    HR_ROOTFS=$r hr -u 1000:1000 -- /usr/bin/rootonly exit 0
    assert_status 126 "EACCES as uid 1000"
    HR_ROOTFS=$r hr -- /usr/bin/rootonly exit 0
    assert_status 0 "root runs it"
}
test_case "EACCES on exec gives 126" test_not_executable_user

test_no_command() {
    hr_raw run --rootfs "$ROOTFS"
    assert_status 125 "no command"
    assert_one_error_line "command"
}
test_case "no command at all is bad input (125)" test_no_command

test_exit_status_matches_event() {
    hr -- sh -c 'echo out; exit 9'
    assert_status 9
    assert_event process.end .exit_code 9
    assert_eq out "$out" stdout
}
test_case "the process.end event agrees with the exit status" test_exit_status_matches_event

test_init_forwards_status_of_workload_only() {
    # a background child that outlives the workload does not change the status, and is
    # killed with the sandbox
    hr -- sh -c 'probe ignore-term-sleep >/dev/null & exit 5'
    assert_status 5
}
test_case "the status is the workload's even with children left running" test_init_forwards_status_of_workload_only

t_end
