#!/usr/bin/env bash
# A job's lifecycle: SIGINT/SIGTERM to hutch tear the sandbox down cleanly; SIGKILL to hutch at
# each setup phase in turn (HUTCH_TEST_PAUSE_AT) leaves only what `hutch gc` removes, and gc
# leaves live jobs alone.
. "$(dirname "$0")/../lib.sh"
t_begin

mkws() {
    mkdir -p "$1"
    cat >"$1/.hutch.yaml"
}

# A job that uses every resource a job makes: staging, inputs, an overlay workspace, a bind and
# an overlay cache, artifacts and a commit.
full_job() {
    mkws ws <<'EOF'
command: |
  echo started; echo data > /c/ov/f; echo data > /c/b/f; echo out > /hutch/output/o
  [ -n "$SLEEP" ] && sleep "$SLEEP"; exit 0
inputs: [{src: in.txt, dst: /in.txt}]
input_data: {x: 1}
caches: [{name: ov, path: /c/ov, mode: overlay}, {name: b, path: /c/b}]
workspace: {mode: overlay}
artifacts: [/hutch/output/o]
EOF
    echo input >ws/in.txt
}


wait_for() { # FILE TEXT PID: until FILE contains TEXT (or PID is gone); 1 on timeout
    local i
    for i in $(seq 300); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

test_sigint_tears_down() {
    full_job
    local sig pid st
    for sig in INT TERM; do
        "$HUTCH" job --rootfs "$ROOTFS" --workspace ws -e SLEEP=30 --artifacts-dir "$C_DIR/art" \
            --events "$C_DIR/sig.$sig.jsonl" >"$C_DIR/sig.$sig.out" 2>&1 &
        pid=$!
        wait_for "$C_DIR/sig.$sig.jsonl" '"started' "$pid" || fail "$sig: the job did not start"
        kill -"$sig" "$pid"
        st=0
        wait "$pid" || st=$?
        local want=$((128 + $(kill -l "$sig")))
        assert_eq "$want" "$st" "exit status after SIG$sig"
        assert_eq sandbox.remove "$(jq -r .type "$C_DIR/sig.$sig.jsonl" | tail -n 1)" "last event"
        assert_eq 0 "$(jq -c 'select(.type == "cache.commit")' "$C_DIR/sig.$sig.jsonl" | grep -c . || true)" \
            "commits of an interrupted job"
        assert_no_job_leftovers "after SIG$sig"
    done
}

# The phases a job goes through that the hook can stop at (those of the reference run).
hookable_phases() {
    local hooked="job.stage job.caches seccomp state userns cgroup net.prepare clone
                  userns.map userns.idmap cgroup.attach net.attach child exec job.output job.artifacts
                  job.commit"
    local p
    for p in $hooked; do
        jq -r 'select(.type == "phase") | .name' "$1" | grep -qx "$p" && echo "$p"
    done
    return 0
}

test_sigkill_at_each_phase_then_gc() {
    full_job
    "$HUTCH" job --rootfs "$ROOTFS" --workspace ws --artifacts-dir "$C_DIR/art" \
        --events "$C_DIR/ref.jsonl" >"$C_DIR/ref.out" 2>&1 || fail "reference run: $(cat "$C_DIR/ref.out")"
    local phases ph pid n=0
    phases=$(hookable_phases "$C_DIR/ref.jsonl")
    for ph in job.stage job.caches state cgroup clone child exec job.artifacts job.commit; do
        grep -qx "$ph" <<<"$phases" || fail "phase $ph is not in the reference run: $phases"
    done
    for ph in $phases; do
        n=$((n + 1))
        HUTCH_TEST_PAUSE_AT=$ph "$HUTCH" job --rootfs "$ROOTFS" --workspace ws -e SLEEP=0.2 \
            --artifacts-dir "$C_DIR/art" --events "$C_DIR/kill.$n.jsonl" \
            >"$C_DIR/kill.$n.out" 2>"$C_DIR/kill.$n.err" &
        pid=$!
        wait_for "$C_DIR/kill.$n.err" "paused at $ph" "$pid" ||
            fail "$ph: hutch did not pause: $(cat "$C_DIR/kill.$n.err")"
        if [ "$ph" = exec ]; then
            # while it is stopped there: ps sees it, and gc leaves a live job alone
            local id
            id=$(jq -r 'select(.type == "sandbox.create") | .id' "$C_DIR/kill.$n.jsonl")
            assert_contains "$("$HUTCH" ps)" "$id" "hutch ps"
            "$HUTCH" gc >/dev/null || fail "gc while a job lives"
            if ! { [ -d "$HUTCH_RUN/$id" ] && [ -d "$HUTCH_RUN/.jobs/$id" ] &&
                [ -e "$HUTCH_ROOT/caches/shared/ov/users/$id" ] &&
                [ -d "$HUTCH_ROOT/caches/shared/ov/jobs/$id" ]; }; then
                fail "gc removed parts of a live job"
            fi
        fi
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        "$HUTCH" gc >"$C_DIR/gc.$n.out" 2>&1 || fail "$ph: gc failed: $(cat "$C_DIR/gc.$n.out")"
        # gc is done when nothing of the job is left (the sandbox's init dies with hutch, but
        # the kernel may take a moment to free its cgroup)
        local tries=0
        while [ -n "$(find "$HUTCH_RUN" -mindepth 1 -maxdepth 1 ! -name .jobs)" ] && [ "$tries" -lt 20 ]; do
            sleep 0.1
            "$HUTCH" gc >/dev/null 2>&1
            tries=$((tries + 1))
        done
        assert_no_job_leftovers "SIGKILL at $ph"
        # and the next job runs normally on the same caches
        "$HUTCH" job --rootfs "$ROOTFS" --workspace ws --events "$C_DIR/after.$n.jsonl" \
            >"$C_DIR/after.$n.out" 2>&1 || fail "$ph: the next job failed: $(cat "$C_DIR/after.$n.out")"
    done
}

test_case "SIGINT/SIGTERM to hutch job tear the sandbox down" test_sigint_tears_down
test_case "SIGKILL at each setup phase, then gc: nothing remains" test_sigkill_at_each_phase_then_gc
t_end
