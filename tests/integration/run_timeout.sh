#!/usr/bin/env bash
# hutch run --timeout / --kill-grace: SIGTERM to everything, SIGKILL after the grace period,
# status 124 and timed_out in process.end. Time bounds are generous on purpose: the checks are
# about order and flags, and only lower bounds (that cannot flake) are tight.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
t_begin

NS=1000000000

test_timeout_term() {
    # the workload says "ready" before the timeout can matter, and dies on SIGTERM
    hr --timeout 1 -- probe wait
    assert_status 124
    assert_line "$out" ready
    assert_event process.end .timed_out true
    local wall
    wall=$(ev_get process.end .wall_ns)
    assert_ge "$wall" $((NS * 9 / 10)) "wall_ns (at least the timeout)"
    # SIGTERM was enough: hutch did not wait for the 10 s default grace
    assert_le "$wall" $((NS * 9)) "wall_ns (well below timeout + default grace)"
}
test_case "--timeout: SIGTERM ends a workload, status 124, timed_out" test_timeout_term

test_timeout_kill_after_grace() {
    hr --timeout 1 --kill-grace 1 -- probe ignore-term-sleep
    assert_status 124
    assert_line "$out" ready
    assert_event process.end .timed_out true
    local wall
    wall=$(ev_get process.end .wall_ns)
    # it ignores SIGTERM, so it cannot end before timeout + grace (minus clock slack)
    assert_ge "$wall" $((NS * 19 / 10)) "wall_ns (timeout + grace)"
    assert_le "$wall" $((NS * 30)) "wall_ns"
}
test_case "--kill-grace: a workload that ignores SIGTERM is SIGKILLed after the grace" test_timeout_kill_after_grace

test_timeout_whole_tree() {
    # children and grandchildren that ignore SIGTERM die too; nothing is left (leak check)
    hr --timeout 0.5 --kill-grace 0.5 -- sh -c '
        probe ignore-term-sleep & probe ignore-term-sleep &
        (probe ignore-term-sleep &) ; probe ignore-term-sleep'
    assert_status 124
    assert_event process.end .timed_out true
    assert_eq 4 "$(grep -c '^ready$' <<<"$out")" "ready lines"
}
test_case "--timeout kills the whole process tree" test_timeout_whole_tree

test_timeout_zero_grace() {
    hr --timeout 0.5 --kill-grace 0 -- probe ignore-term-sleep
    assert_status 124
    assert_event process.end .timed_out true
    assert_le "$(ev_get process.end .wall_ns)" $((NS * 20)) "wall_ns"
}
test_case "--kill-grace 0 kills at once" test_timeout_zero_grace

test_no_timeout_when_fast() {
    hr --timeout 30 -- probe exit 3
    assert_status 3
    assert_event process.end .timed_out false
}
test_case "a workload that ends in time is not marked timed out" test_no_timeout_when_fast

test_timeout_fraction() {
    hr --timeout 0.3 -- probe wait
    assert_status 124
    assert_ge "$(ev_get process.end .wall_ns)" $((NS * 25 / 100)) "wall_ns"
}
test_case "--timeout takes fractions of a second" test_timeout_fraction

test_timeout_zero_means_none() {
    hr --timeout 0 -- sh -c 'exit 0'
    assert_status 0
    assert_event process.end .timed_out false
}
test_case "--timeout 0 means no timeout" test_timeout_zero_means_none

test_timeout_output_kept() {
    hr --timeout 0.5 -- sh -c 'echo before; exec probe wait'
    assert_status 124
    assert_line "$out" before
    ev_output_bytes stdout "$C_DIR/o"
    assert_contains "$(cat "$C_DIR/o")" before "output events"
}
test_case "output written before a timeout is kept" test_timeout_output_kept

test_timeout_bad_values() {
    local v
    for v in -1 abc 1m ""; do
        hr --timeout "$v" -- true
        assert_status 125 "--timeout '$v'"
        assert_one_error_line "--timeout"
        hr --kill-grace "$v" -- true
        assert_status 125 "--kill-grace '$v'"
        assert_one_error_line "--kill-grace"
    done
}
test_case "bad --timeout / --kill-grace values are errors 125" test_timeout_bad_values

t_end
