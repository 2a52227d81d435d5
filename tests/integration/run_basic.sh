#!/usr/bin/env bash
# hutch run: the basics - output, events (shape, order, sinks), -e, -w, --hostname.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

test_echo() {
    hr -- echo hello world
    assert_status 0
    assert_eq "hello world" "$out" stdout
    assert_eq "" "$err" stderr
}
test_case "echo passes stdout through and exits 0" test_echo

test_shell_pipeline() {
    hr -- sh -c 'echo one; echo two >&2; printf "%s\n" a b c | wc -l'
    assert_status 0
    assert_eq "one
3" "$out" stdout
    assert_eq "two" "$err" stderr
}
test_case "sh -c with stdout, stderr and a pipeline" test_shell_pipeline

test_events_shape() {
    hr -- probe exit 0
    assert_status 0
    assert_events_valid
    local types first last ids
    types=$(ev_types | tr '\n' ' ')
    first=$(ev_types | head -n 1)
    last=$(ev_types | tail -n 1)
    assert_eq sandbox.create "$first" "first event"
    assert_eq sandbox.remove "$last" "last event"
    assert_eq 1 "$(ev_count process.start)" "process.start events"
    assert_eq 1 "$(ev_count process.end)" "process.end events"
    # one sandbox id, on every event
    ids=$(jq -r .id "$ev" | sort -u)
    assert_eq 1 "$(grep -c '' <<<"$ids")" "distinct ids"
    assert_match "$ids" '^[A-Za-z0-9_.-]+$' "sandbox id"
    # order: create < start < end < remove
    local order
    order=$(ev_types | grep -n -e '^sandbox.create$' -e '^process.start$' -e '^process.end$' \
        -e '^sandbox.remove$' | cut -d: -f2 | tr '\n' ' ')
    assert_eq "sandbox.create process.start process.end sandbox.remove " "$order" "order ($types)"
    # timestamps: unix ns, never going backwards
    local bad
    bad=$(jq -s '[.[].ts] as $t | [range(1; $t|length) | select($t[.] < $t[. - 1])] | length' "$ev")
    assert_eq 0 "$bad" "timestamps going backwards"
    local ts now
    ts=$(ev_get sandbox.create .ts)
    now=$(date +%s%N)
    assert_le "$ts" "$now" "ts"
    assert_ge "$ts" $((now - 600 * 1000000000)) "ts (unix ns, within 10 minutes)"
}
test_case "events: schema 1, one id, create/start/end/remove in order" test_events_shape

test_events_phase() {
    hr -- true
    assert_status 0
    local n bad
    n=$(ev_count phase)
    assert_ge "$n" 1 "phase events"
    bad=$(jq -c 'select(.type == "phase" and (((.name|type) != "string") or ((.ns|type) != "number")
                 or .ns < 0))' "$ev")
    assert_eq "" "$bad" "phase events without name/ns"
}
test_case "events: phase events carry a name and a duration in ns" test_events_phase

test_events_process_fields() {
    hr -- probe exit 0
    assert_status 0
    local pid pin
    pid=$(ev_get process.start .pid)
    pin=$(ev_get process.start .pid_inside)
    assert_match "$pid" '^[0-9]+$' "process.start pid"
    assert_match "$pin" '^[0-9]+$' "process.start pid_inside"
    assert_ne "$pid" "$pin" "host pid vs pid inside"
    local f
    for f in exit_code signal oom_killed timed_out output_truncated wall_ns cpu_user_us \
        cpu_system_us memory_peak_bytes pids_peak io_read_bytes io_write_bytes; do
        assert_eq true "$(ev_get process.end "has(\"$f\")")" "process.end has $f"
    done
    assert_event process.end .exit_code 0
    assert_event process.end .oom_killed false
    assert_event process.end .timed_out false
    assert_event process.end .output_truncated false
    local t
    for f in wall_ns cpu_user_us cpu_system_us memory_peak_bytes pids_peak io_read_bytes \
        io_write_bytes; do
        t=$(ev_get process.end ".$f | type")
        assert_eq '"number"' "$t" "process.end $f type"
    done
    assert_ge "$(ev_get process.end .wall_ns)" 1 "wall_ns"
}
test_case "events: process.start and process.end fields" test_events_process_fields

test_events_create_summary() {
    hr -- probe exit 0
    assert_eq '"sandbox.create"' "$(ev_get sandbox.create .type)"
    # the spec summary names the command
    assert_contains "$(ev_get sandbox.create .)" "probe" "sandbox.create"
}
test_case "events: sandbox.create summarises the spec" test_events_create_summary

test_events_stdout_sink() {
    hr_raw run --rootfs "$ROOTFS" --events - -- sh -c 'echo to-stdout; echo to-stderr >&2'
    assert_status 0
    # stdout holds only events; the workload's output is inside output events
    cp "$outf" "$C_DIR/stdout.jsonl"
    ev=$C_DIR/stdout.jsonl
    assert_events_valid "$ev"
    local line
    while IFS= read -r line; do
        jq -e 'type == "object" and .v == 1' <<<"$line" >/dev/null ||
            fail "a stdout line that is not an event: $line"
    done <"$outf"
    ev_output_bytes stdout "$C_DIR/o"
    ev_output_bytes stderr "$C_DIR/e"
    assert_eq "to-stdout" "$(cat "$C_DIR/o")" "stdout in events"
    assert_eq "to-stderr" "$(cat "$C_DIR/e")" "stderr in events"
    assert_not_contains "$err" "to-stdout" "stderr"
}
test_case "--events - puts only events on stdout" test_events_stdout_sink

test_events_file_sink() {
    hr -- sh -c 'echo text'
    assert_status 0
    assert_eq text "$out" "stdout (still passed through)"
    ev_output_bytes stdout "$C_DIR/o"
    assert_eq text "$(cat "$C_DIR/o")" "output event"
}
test_case "--events FILE: events in the file, output still on stdout" test_events_file_sink

test_events_fd_sink() {
    local f=$C_DIR/fd.jsonl
    HR_N=$((HR_N + 1))
    status=0
    timeout -k 5 60 "$HUTCH" run --rootfs "$ROOTFS" --events fd:7 -- echo via-fd \
        7>"$f" >"$C_DIR/o" 2>"$C_DIR/e" || status=$?
    assert_status 0
    assert_eq via-fd "$(cat "$C_DIR/o")" stdout
    assert_events_valid "$f"
    ev_output_bytes stdout "$C_DIR/eo" "$f"
    assert_eq via-fd "$(cat "$C_DIR/eo")" "output event"
    # a sink that is not an open fd is bad input
    hr_raw run --rootfs "$ROOTFS" --events fd:99 -- true
    assert_status 125
    assert_one_error_line "fd:99"
}
test_case "--events fd:N writes to an inherited fd" test_events_fd_sink

test_env() {
    hr -e FOO=bar -e EMPTY= --env 'SPACED=a b  c' -- sh -c 'echo "$FOO|$EMPTY|$SPACED"; env'
    assert_status 0
    assert_line "$out" "bar||a b  c"
    assert_line "$out" "FOO=bar"
    # the host's environment does not leak in
    assert_not_contains "$out" "HUTCH_RUN=" "environment"
    assert_not_contains "$out" "ROOTFS=" "environment"
}
test_case "-e sets the environment, and nothing of the host's leaks in" test_env

test_env_default_path() {
    hr -- sh -c 'echo "$PATH"'
    assert_status 0
    assert_contains "$out" "/bin" "PATH"
}
test_case "a default PATH is set" test_env_default_path

test_workdir() {
    hr -w /tmp -- sh -c pwd
    assert_status 0
    assert_eq /tmp "$out" "pwd with -w /tmp"
    hr --workdir /home/tester -- probe cwd
    assert_eq /home/tester "$out" "cwd with --workdir"
    hr -- probe cwd
    assert_eq / "$out" "default workdir"
}
test_case "-w sets the working directory (default /)" test_workdir

test_workdir_created() {
    hr -w /no/such/dir -- probe cwd
    # docker creates a missing workdir; an error is acceptable too, but never a host path
    if [ "$status" = 0 ]; then
        assert_eq /no/such/dir "$out" cwd
    else
        assert_status 125
        assert_contains "$err" "/no/such/dir" stderr
    fi
}
test_case "a missing workdir is created or refused clearly" test_workdir_created

test_hostname() {
    hr --hostname box-1 -- probe hostname
    assert_status 0
    assert_eq box-1 "$out" "--hostname"
    hr -- hostname
    assert_status 0
    assert_ne "" "$out" "default hostname"
    assert_ne "$(hostname)" "$out" "default hostname (the host's)"
}
test_case "--hostname sets the name; the default is not the host's" test_hostname

test_argv_passthrough() {
    hr -- sh -c 'for a in "$@"; do echo "[$a]"; done' sh "a b" "" '$HOME' "*" "--x"
    assert_status 0
    assert_eq '[a b]
[]
[$HOME]
[*]
[--x]' "$out" "arguments"
}
test_case "arguments reach the command unchanged" test_argv_passthrough

test_path_lookup() {
    hr -- probe exit 0
    assert_status 0
    hr -- /usr/bin/probe exit 0
    assert_status 0
    hr -- ls /
    assert_status 0
    assert_line "$out" "bin"
}
test_case "commands are found in PATH and by absolute path" test_path_lookup

t_end
