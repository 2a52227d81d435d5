#!/usr/bin/env bash
# Terminal injection (issue 5): TIOCSTI pushes characters into a terminal's input queue, as if
# typed. From a sandbox it must never reach the terminal hutch runs in - the host shell would
# run the injected command when the sandbox exits (CVE-2017-5226) - not even with high bits set
# in the 64-bit ioctl request, which a filter comparing all 64 bits would miss while the kernel
# uses the low 32 (CVE-2019-10063). Each case runs hutch in a real terminal (script(1)), then
# checks whether the terminal has input pending.
. "$(dirname "$0")/../lib.sh"
t_begin

# in_terminal HUTCH-RUN-ARGS...: runs `hutch run ARGS` in a fresh terminal whose input nobody
# writes to; then reports what input the terminal holds ("HOST-INPUT: NONE" or the line).
# Sets out (everything the terminal showed) and status (hutch's).
in_terminal() {
    local args
    printf -v args ' %q' "$HUTCH" run --rootfs "$ROOTFS" \
        --events "$C_DIR/term.$((HR_N + 1)).jsonl" "$@"
    in_terminal_cmd "$args"
}

in_terminal_cmd() { # SHELL-COMMAND
    command -v script >/dev/null || skip "script(1) is missing (util-linux)"
    HR_N=$((HR_N + 1))
    local inner=$C_DIR/term.$HR_N.sh
    cat >"$inner" <<EOF
$1
echo "HUTCH-STATUS: \$?"
# TIOCSTI is synchronous: whatever was injected is queued by now
if read -r -t 0; then IFS= read -r line; echo "HOST-INPUT: \$line"; else echo "HOST-INPUT: NONE"; fi
EOF
    # script's own input: a fifo that we hold open and never write (no EOF, no keystroke)
    mkfifo "$C_DIR/term.$HR_N.in"
    exec 9<>"$C_DIR/term.$HR_N.in"
    timeout -k 5 "${HR_TIMEOUT:-60}" script -qec "bash $(printf '%q' "$inner")" /dev/null \
        <"$C_DIR/term.$HR_N.in" >"$C_DIR/term.$HR_N.out" 2>&1 || true
    exec 9>&-
    out=$(tr -d '\r' <"$C_DIR/term.$HR_N.out")
    status=$(sed -n 's/^HUTCH-STATUS: //p' <<<"$out")
    [ -n "$status" ] || fail "the command did not finish in the terminal: $out"
    local shown
    mapfile -t shown <<<"$out"
    printf '  term: %s\n' "${shown[@]}" >&2
}

marker() {
    echo "touch $C_DIR/pwned"
}

assert_not_injected() {
    assert_line "$out" "HOST-INPUT: NONE"
    [ ! -e "$C_DIR/pwned" ] || fail "the injected command ran on the host"
}

test_detector() {
    # positive control: the same injection made by a process of the terminal's own session
    # (the attack binary on the host, in this test's private terminal) is seen
    local cmd
    cmd=$(printf '%q' "$(marker)"$'\n')
    in_terminal_cmd "ATTACK_ON_HOST=1 $(printf '%q' "$ROOTFS/usr/bin/attack") tiocsti 0 $cmd"
    assert_line "$out" "tiocsti: OK"
    assert_line "$out" "HOST-INPUT: $(marker)"
}
test_case "positive control: an injection into the terminal is detected" test_detector

test_tty_mode() {
    # -t: the workload's terminal is a pty of the sandbox's own devpts; pushing into it is
    # harmless (OK, or refused by the kernel's legacy_tiocsti setting), the host sees nothing
    local cmd
    cmd=$(marker)
    in_terminal -t -- attack tiocsti 0 "$cmd"$'\n'
    assert_match "$(grep '^tiocsti: ' <<<"$out")" '^tiocsti: (OK|EPERM|EIO)$' "tiocsti"
    assert_not_injected
}
test_case "-t: TIOCSTI on the sandbox's terminal never reaches the host's (CVE-2017-5226)" \
    test_tty_mode

test_tty_mode_high_bits() {
    local cmd
    cmd=$(marker)
    in_terminal -t -- sh -c 'attack tiocsti-hi 0 "$1"; attack tiocsti-hi 1 "$1";
        attack tiocsti-hi 2 "$1"' sh "$cmd"$'\n'
    assert_match "$(grep -c '^tiocsti-hi: ' <<<"$out")" '^3$' "tiocsti-hi attempts"
    assert_not_injected
}
test_case "-t: TIOCSTI with high bits in the request (CVE-2019-10063) neither" \
    test_tty_mode_high_bits

test_interactive_host_tty() {
    # -i without -t: the caller's own terminal is the workload's stdin. The workload is in a
    # session of its own, so it is not its controlling terminal: TIOCSTI is refused, and the
    # terminal can not be taken over
    local cmd
    cmd=$(marker)
    in_terminal -i -- sh -c 'attack tiocsti 0 "$1"; attack tiocsti-hi 0 "$1";
        attack tiocsctty 0; attack tiocsctty 0 steal; attack tiocsti 0 "$1"' sh "$cmd"$'\n'
    assert_eq "2" "$(grep -cx 'tiocsti: EPERM' <<<"$out")" "tiocsti on the host's terminal"
    assert_line "$out" "tiocsti-hi: EPERM"
    assert_eq "2" "$(grep -cx 'tiocsctty: EPERM' <<<"$out")" "TIOCSCTTY on the host's terminal"
    assert_not_injected
}
test_case "-i: the host's terminal as stdin: TIOCSTI, TIOCSCTTY: EPERM" \
    test_interactive_host_tty

test_no_terminal() {
    # without -i or -t the workload has no terminal at all, even when hutch runs in one
    local cmd
    cmd=$(marker)
    in_terminal -- sh -c 'attack tiocsti 0 "$1"; attack tiocsti 1 "$1"; attack tiocsti 2 "$1";
        attack tiocsti-hi 1 "$1"' sh "$cmd"$'\n'
    assert_eq "3" "$(grep -cx 'tiocsti: ENOTTY' <<<"$out")" "tiocsti on 0, 1, 2"
    assert_line "$out" "tiocsti-hi: ENOTTY"
    assert_not_injected
}
test_case "no -i/-t: fds 0, 1, 2 are not terminals (ENOTTY), nothing reaches the host's" \
    test_no_terminal

t_end
