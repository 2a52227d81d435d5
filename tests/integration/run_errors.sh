#!/usr/bin/env bash
# hutch run: bad input costs nothing - one line on stderr naming the culprit, exit 125 (127 for
# a command that does not exist), and nothing left behind (no state, cgroup, mount, process:
# the harness checks after every case).
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

# bad_input CULPRIT ARGS...: hutch run ARGS must fail with 125 and one line naming CULPRIT.
bad_input() {
    local culprit=$1
    shift
    hr_raw run "$@"
    assert_status 125 "hutch run $*"
    assert_one_error_line "$culprit"
    assert_eq "" "$out" "stdout of a refused run"
    # nothing was started: no state in HUTCH_RUN
    if [ -d "$HUTCH_RUN" ]; then
        local left
        left=$(find "$HUTCH_RUN" -mindepth 1 ! -name '*.lock' ! -name lock | head -n 5)
        [ -z "$left" ] || fail "state left in HUTCH_RUN after bad input: $left"
    fi
}

test_missing_rootfs() {
    bad_input "$C_DIR/nope" --rootfs "$C_DIR/nope" -- true
}
test_case "a missing rootfs" test_missing_rootfs

test_unknown_user() {
    bad_input "ghost" --rootfs "$ROOTFS" -u ghost -- true
}
test_case "an unknown user" test_unknown_user

test_malformed_volume() {
    bad_input "--volume" --rootfs "$ROOTFS" -v "not-absolute:/x" -- true
    bad_input "--volume" --rootfs "$ROOTFS" -v "/only-one-part" -- true
}
test_case "a malformed -v" test_malformed_volume

test_negative_timeout() {
    bad_input "--timeout" --rootfs "$ROOTFS" --timeout -5 -- true
}
test_case "a negative timeout" test_negative_timeout

test_unknown_flag() {
    bad_input "--bogus" --rootfs "$ROOTFS" --bogus -- true
    bad_input "-Z" --rootfs "$ROOTFS" -Z -- true
}
test_case "an unknown flag" test_unknown_flag

test_flag_missing_value() {
    bad_input "--timeout" --rootfs "$ROOTFS" --timeout
    bad_input "--rootfs" --rootfs
}
test_case "a flag without its value" test_flag_missing_value

test_missing_command_name() {
    hr_raw run --rootfs "$ROOTFS" -- no-such-command
    assert_status 127
    assert_one_error_line "no-such-command"
    assert_eq "" "$out" stdout
}
test_case "a command that does not exist: 127 and one line naming it" test_missing_command_name

test_no_command() {
    bad_input "command" --rootfs "$ROOTFS"
    bad_input "command" --rootfs "$ROOTFS" --
}
test_case "no command" test_no_command

test_more_bad_values() {
    bad_input "--max-output" --rootfs "$ROOTFS" --max-output 12Q -- true
    bad_input "--kill-grace" --rootfs "$ROOTFS" --kill-grace soon -- true
    bad_input "--tmpfs" --rootfs "$ROOTFS" --tmpfs relative -- true
    bad_input "--cap-add" --rootfs "$ROOTFS" --cap-add SYS_WIZARD -- true
    bad_input "--cap-drop" --rootfs "$ROOTFS" --cap-drop NOPE -- true
    bad_input "--hostname" --rootfs "$ROOTFS" --hostname "bad host" -- true
    bad_input "--env" --rootfs "$ROOTFS" -e "=x" -- true
    bad_input "--workdir" --rootfs "$ROOTFS" -w relative -- true
    bad_input "--user" --rootfs "$ROOTFS" -u "" -- true
    bad_input "--user" --rootfs "$ROOTFS" -u "a:b:c" -- true
}
test_case "bad values of other options" test_more_bad_values

test_volume_source_missing() {
    bad_input "$C_DIR/absent" --rootfs "$ROOTFS" -v "$C_DIR/absent:/data" -- true
}
test_case "a volume source that does not exist" test_volume_source_missing

test_events_sink_unwritable() {
    bad_input "$C_DIR/no/such/dir/ev.jsonl" --rootfs "$ROOTFS" --events "$C_DIR/no/such/dir/ev.jsonl" -- true
}
test_case "an events file that cannot be created" test_events_sink_unwritable

test_error_event() {
    # with an events sink, a failure after the sink is open is also an error event
    hr -u ghost -- true
    assert_status 125
    if [ -s "$ev" ]; then
        assert_events_valid
        local n
        n=$(ev_count error)
        assert_ge "$n" 1 "error events"
        assert_contains "$(ev_get error .)" ghost "error event"
        assert_eq '"number"' "$(ev_get error '.code | type')" "error code"
        assert_eq '"string"' "$(ev_get error '.message | type')" "error message"
    fi
}
test_case "an error after the events sink is open is an error event" test_error_event

test_error_is_one_line_for_control_chars() {
    hr_raw run --rootfs "$ROOTFS" -u $'bad\nuser' -- true
    assert_status 125
    assert_one_error_line "user"
}
test_case "an error quoting a value with a newline stays on one line" test_error_is_one_line_for_control_chars

test_help_and_version() {
    hr_raw run --help
    assert_status 0
    assert_contains "$out$err" "--rootfs"
    hr_raw --version
    assert_status 0
    assert_match "$out" "[0-9]+\.[0-9]+" "hutch --version"
    hr_raw no-such-subcommand
    assert_status 125
}
test_case "hutch run --help, hutch --version, an unknown subcommand" test_help_and_version

t_end
