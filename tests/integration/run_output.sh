#!/usr/bin/env bash
# hutch run: output - passthrough, output events (streams, UTF-8, data_b64), --max-output,
# stdin with and without -i, and -t.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

test_streams_separated() {
    hr -- probe out-err "to stdout" "to stderr"
    assert_status 0
    assert_eq "to stdout" "$out" "stdout passthrough"
    assert_eq "to stderr" "$err" "stderr passthrough"
    ev_output_bytes stdout "$C_DIR/o"
    ev_output_bytes stderr "$C_DIR/e"
    assert_eq "to stdout" "$(cat "$C_DIR/o")" "stdout events"
    assert_eq "to stderr" "$(cat "$C_DIR/e")" "stderr events"
    local streams
    streams=$(jq -r 'select(.type == "output") | .stream' "$ev" | sort -u | tr '\n' ' ')
    assert_eq "stderr stdout " "$streams" "output streams"
}
test_case "stdout and stderr stay separate, in passthrough and in events" test_streams_separated

test_binary_output() {
    hr -- probe binary
    assert_status 0
    local want
    want=$(printf '\377\376\000\001ab\303\n' | od -An -tx1)
    assert_eq "$want" "$(od -An -tx1 <"$outf")" "passthrough bytes"
    ev_output_bytes stdout "$C_DIR/o"
    assert_eq "$want" "$(od -An -tx1 <"$C_DIR/o")" "bytes decoded from events"
    local n
    n=$(jq -c 'select(.type == "output" and has("data_b64"))' "$ev" | grep -c '' || true)
    assert_ge "$n" 1 "output events with data_b64"
    n=$(jq -c 'select(.type == "output" and has("data_b64") and has("data"))' "$ev" | grep -c '' || true)
    assert_eq 0 "$n" "output events with both data and data_b64"
}
test_case "bytes that are not UTF-8 travel as data_b64 and decode exactly" test_binary_output

test_utf8_split_write() {
    hr -- probe utf8-split
    assert_status 0
    assert_eq "a€b" "$out" "passthrough"
    ev_output_bytes stdout "$C_DIR/o"
    assert_eq "a€b" "$(cat "$C_DIR/o")" "events"
    local n
    n=$(jq -c 'select(.type == "output" and has("data_b64"))' "$ev" | grep -c '' || true)
    assert_eq 0 "$n" "data_b64 events for valid UTF-8 written in two pieces"
}
test_case "a character split across two writes is not split in events" test_utf8_split_write

test_utf8_stream() {
    # 900 kB of 2-, 3- and 4-byte characters in 4096-byte writes: reads end inside characters
    hr -- probe utf8-stream 900000
    assert_status 0
    "$PROBE_HOST" utf8-stream 900000 >"$C_DIR/want"
    assert_eq "$(sha256sum <"$C_DIR/want")" "$(sha256sum <"$outf")" "passthrough"
    local n
    n=$(jq -c 'select(.type == "output" and has("data_b64"))' "$ev" | grep -c '' || true)
    assert_eq 0 "$n" "data_b64 events (a character was split)"
    n=$(jq -r 'select(.type == "output") | .data' "$ev" | grep -c $'\xef\xbf\xbd' || true)
    assert_eq 0 "$n" "U+FFFD in output events"
    ev_output_bytes stdout "$C_DIR/o"
    assert_eq "$(sha256sum <"$C_DIR/want")" "$(sha256sum <"$C_DIR/o")" "events"
}
test_case "a long multibyte stream is never split inside a character" test_utf8_stream

test_large_output_exact() {
    hr -- probe spam 4194304
    assert_status 0
    assert_eq 4194304 "$(stat -c %s "$outf")" "passthrough bytes"
    assert_contains "$err" "spam: done 4194304"
    ev_output_bytes stdout "$C_DIR/o"
    assert_eq 4194304 "$(stat -c %s "$C_DIR/o")" "bytes in output events"
    cmp -s "$outf" "$C_DIR/o" || fail "events and passthrough differ"
    assert_event process.end .output_truncated false
}
test_case "4 MiB of output arrive complete, in passthrough and in events" test_large_output_exact

test_max_output() {
    hr --max-output 1K -- probe spam 1048576
    # the workload is not blocked and not killed: hutch keeps draining and drops the rest
    assert_status 0
    assert_event process.end .output_truncated true
    local got
    got=$(stat -c %s "$outf")
    assert_le "$got" 1024 "passthrough bytes with --max-output 1K"
    ev_output_bytes stdout "$C_DIR/o"
    ev_output_bytes stderr "$C_DIR/e"
    assert_le $(($(stat -c %s "$C_DIR/o") + $(stat -c %s "$C_DIR/e"))) 1024 "bytes in output events"
    assert_ge "$(stat -c %s "$C_DIR/o")" 1 "some output is kept"
}
test_case "--max-output 1K: at most 1K kept, truncated, the workload not blocked" test_max_output

test_max_output_suffixes() {
    hr --max-output 2K -- probe spam 100000
    assert_status 0
    assert_le "$(stat -c %s "$outf")" 2048 "passthrough bytes with --max-output 2K"
    assert_ge "$(stat -c %s "$outf")" 1025 "passthrough bytes with --max-output 2K"
    assert_event process.end .output_truncated true
    hr --max-output 1M -- probe spam 1000
    assert_status 0
    assert_eq 1000 "$(stat -c %s "$outf")" "output below the cap"
    assert_event process.end .output_truncated false
}
test_case "--max-output takes K/M suffixes; output below the cap is whole" test_max_output_suffixes

test_max_output_bad() {
    local v
    for v in 1X -1 abc ""; do
        hr --max-output "$v" -- true
        assert_status 125 "--max-output '$v'"
        assert_one_error_line "--max-output"
    done
}
test_case "bad --max-output values are errors 125" test_max_output_bad

test_output_after_workload_exit() {
    # a background writer that outlives the workload: its output ends with the sandbox
    hr -- sh -c 'echo first; (sleep 0.2; echo late) & exit 0'
    assert_status 0
    assert_line "$out" first
}
test_case "output of the workload is complete when it exits" test_output_after_workload_exit

test_stdin_null_without_i() {
    hr -- probe stdin <<<"should not arrive"
    assert_status 0
    assert_eq "stdin: 0 bytes" "$out" "stdin without -i"
    hr -- probe readlink /proc/self/fd/0
    assert_eq "readlink: OK /dev/null" "$out" "fd 0 without -i"
}
test_case "without -i, stdin is /dev/null" test_stdin_null_without_i

test_stdin_with_i() {
    hr -i -- probe stdin <<<"hello"
    assert_status 0
    assert_eq "stdin: 6 bytes" "$out" "stdin with -i"
    hr -i -- cat <<<"line one
line two"
    assert_eq "line one
line two" "$out" "cat with -i"
    head -c 300000 /dev/urandom >"$C_DIR/big"
    hr -i -- sha256sum <"$C_DIR/big"
    assert_eq "$(sha256sum <"$C_DIR/big" | cut -d' ' -f1)" "$(cut -d' ' -f1 <<<"$out")" \
        "300 kB through stdin"
    hr --interactive -- probe stdin </dev/null
    assert_eq "stdin: 0 bytes" "$out" "-i with an empty stdin"
}
test_case "-i passes stdin through" test_stdin_with_i

test_tty() {
    command -v script >/dev/null || skip "util-linux script is missing"
    local evf=$C_DIR/tty.jsonl
    status=0
    timeout -k 5 60 script -qec "'$HUTCH' run --rootfs '$ROOTFS' --events '$evf' -t -- probe tty" \
        /dev/null >"$C_DIR/tty.out" 2>&1 </dev/null || status=$?
    out=$(tr -d '\r' <"$C_DIR/tty.out")
    assert_status 0 "hutch run -t under script"
    assert_match "$out" "fd0: /dev/pts/[0-9]+" "fd 0 with -t"
    assert_match "$out" "fd1: /dev/pts/[0-9]+" "fd 1 with -t"
    assert_match "$out" "fd2: /dev/pts/[0-9]+" "fd 2 with -t"
    status=0
    timeout -k 5 60 script -qec "'$HUTCH' run --rootfs '$ROOTFS' --events '$evf.2' -t -- tty" \
        /dev/null >"$C_DIR/tty2.out" 2>&1 </dev/null || status=$?
    assert_status 0 "tty under -t"
    assert_match "$(tr -d '\r' <"$C_DIR/tty2.out")" "^/dev/pts/[0-9]+" "tty"
}
test_case "-t gives the workload a terminal" test_tty

test_no_tty_without_t() {
    hr -- probe tty
    assert_status 0
    assert_line "$out" "fd0: not a tty"
    assert_line "$out" "fd1: not a tty"
}
test_case "without -t there is no terminal" test_no_tty_without_t

test_tty_exit_status() {
    command -v script >/dev/null || skip "util-linux script is missing"
    status=0
    timeout -k 5 60 script -qec "'$HUTCH' run --rootfs '$ROOTFS' --events '$C_DIR/t.jsonl' -t -- sh -c 'exit 3'" \
        /dev/null >"$C_DIR/t.out" 2>&1 </dev/null || status=$?
    assert_status 3 "exit status with -t"
}
test_case "-t keeps the exit status" test_tty_exit_status

t_end
