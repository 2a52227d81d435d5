#!/usr/bin/env bash
# Warm caches of jobs: caches: auto, bind and overlay caches, atomic commits under concurrency,
# nothing committed by a failed job, symlinked cache directories refused (CVE-2024-42472
# class), teardown that removes only what it created (CVE-2024-23652 class).
. "$(dirname "$0")/../lib.sh"
t_begin

hj() {
    HR_N=$((HR_N + 1))
    ev=$C_DIR/hj.$HR_N.jsonl
    hr_exec "$C_DIR/hj.$HR_N" job --rootfs "$ROOTFS" --events "$ev" "$@"
}

mkws() {
    mkdir -p "$1"
    cat >"$1/.hutch.yaml"
}

CACHES=$HUTCH_ROOT/caches

# The listing the jobs write of their cache view, made the same way on the host.
view_of() { # DIR
    (cd "$1" && find . -type d | LC_ALL=C sort && find . -type l | LC_ALL=C sort &&
        find . -type f | LC_ALL=C sort | xargs -r md5sum)
}

current_gen() { # NAME
    cat "$CACHES/shared/$1/current"
}

test_caches_auto_are_warm_the_second_time() {
    mkws ws <<'EOF'
command: |
  set -e
  for d in ~/.npm ~/.cache/pip ~/.cargo/registry /go/pkg/mod ~/.cache/go-build ~/.m2 ~/.gradle; do
    [ -d "$d" ] || { echo "missing $d"; exit 1; }
  done
  echo "seen: $(cat ~/.npm/marker 2>/dev/null || echo none)"
  echo "run-$RUN" > ~/.npm/marker
  echo "GOMODCACHE=$GOMODCACHE GOCACHE=$GOCACHE CCACHE_DIR=$CCACHE_DIR"
caches: auto
EOF
    hj --workspace ws -e RUN=1
    assert_status 0
    ev_output_bytes stdout "$C_DIR/out1"
    assert_line "$(cat "$C_DIR/out1")" "seen: none"
    assert_line "$(cat "$C_DIR/out1")" \
        "GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build CCACHE_DIR=/root/.cache/ccache"
    hj --workspace ws -e RUN=2
    assert_status 0
    ev_output_bytes stdout "$C_DIR/out2"
    assert_line "$(cat "$C_DIR/out2")" "seen: run-1"
    assert_eq run-2 "$(cat "$CACHES/shared/npm/data/marker")" "the shared npm cache on the host"
}

test_workspace_scope() {
    local yaml='command: |
  echo "seen: $(cat /c/m 2>/dev/null || echo none)"; echo "$WS" > /c/m
caches: [{name: wsc, path: /c, scope: workspace}]'
    mkws a <<<"$yaml"
    mkws b <<<"$yaml"
    hj --workspace a -e WS=a
    hj --workspace b -e WS=b
    ev_output_bytes stdout "$C_DIR/out"
    assert_line "$(cat "$C_DIR/out")" "seen: none" "workspace b must not see a's cache"
    hj --workspace a -e WS=a2
    ev_output_bytes stdout "$C_DIR/out"
    assert_line "$(cat "$C_DIR/out")" "seen: a"
    # a key shares one cache between workspaces
    local ky='command: |
  echo "seen: $(cat /c/m 2>/dev/null || echo none)"; echo "$WS" > /c/m
caches: [{name: wsc, path: /c, scope: workspace, key: shared-key}]'
    mkws c <<<"$ky"
    mkws d <<<"$ky"
    hj --workspace c -e WS=c
    hj --workspace d -e WS=d
    ev_output_bytes stdout "$C_DIR/out"
    assert_line "$(cat "$C_DIR/out")" "seen: c"
    [ -d "$CACHES/workspace/shared-key/wsc/data" ] || fail "no cache dir for the key"
}

# A seed generation, then four jobs at once that each delete, change and add files; the
# snapshot that wins must be exactly one job's view, and every job must have started from a
# whole generation (the seed or another job's result), never a torn one.
test_overlay_concurrent_commits() {
    mkws ws <<'EOF'
command: |
  set -e
  cd /cache
  listing() { find . -type d | sort; find . -type l | sort; find . -type f | sort | xargs -r md5sum; }
  listing > /hutch/output/before.txt
  if [ "$N" = seed ]; then
    mkdir -p base/deep; for k in 1 2 3 4 5 6 7 8; do echo "seed $k" > base/s$k; done
    echo seed > base/deep/x; ln -s base/s1 link
  else
    rm -f base/s$N; rm -rf base/deep; echo "changed by $N" > base/s8
    mkdir -p job$N/sub; for k in 1 2 3 4 5 6 7 8 9 10; do echo "$N $k" > job$N/sub/f$k; done
    rm -f link; ln -s job$N link; echo "$N" > who
    usleep $((N * 7000))
  fi
  listing > /hutch/output/view.txt
artifacts: [/hutch/output/before.txt, /hutch/output/view.txt]
caches: [{name: conc, path: /cache, mode: overlay}]
EOF
    hj --workspace ws -e N=seed --artifacts-dir "$C_DIR/art.seed"
    assert_status 0
    assert_event cache.commit .generation 1
    local pids=() n
    for n in 1 2 3 4; do
        "$HUTCH" job --rootfs "$ROOTFS" --workspace ws -e N="$n" --artifacts-dir "$C_DIR/art.$n" \
            --events "$C_DIR/conc.$n.jsonl" >"$C_DIR/conc.$n.out" 2>&1 &
        pids+=($!)
    done
    for n in 1 2 3 4; do
        wait "${pids[$((n - 1))]}" || fail "job $n failed: $(cat "$C_DIR/conc.$n.out")"
        [ "$(jq -c 'select(.type == "cache.commit")' "$C_DIR/conc.$n.jsonl" | grep -c .)" = 1 ] ||
            fail "job $n did not commit"
    done
    local cur final match=""
    cur=$(current_gen conc)
    final=$(view_of "$CACHES/shared/conc/gen/$cur")
    for n in 1 2 3 4; do
        [ "$final" == "$(cat "$C_DIR/art.$n/view.txt")" ] && match="$match $n"
    done
    [ -n "$match" ] || fail "the snapshot (generation $cur) equals no job's view: $final"
    [ "$(echo "$match" | wc -w)" = 1 ] || fail "the snapshot equals several views:$match"
    assert_eq "${match# }" "$(cat "$CACHES/shared/conc/gen/$cur/who")" "who wrote the winner"
    # every job started from a whole generation: the seed's or a committed job's view
    local starts=("$(cat "$C_DIR/art.seed/view.txt")")
    for n in 1 2 3 4; do starts+=("$(cat "$C_DIR/art.$n/view.txt")"); done
    for n in 1 2 3 4; do
        local b ok=0 s
        b=$(cat "$C_DIR/art.$n/before.txt")
        for s in "${starts[@]}"; do [ "$b" == "$s" ] && ok=1; done
        [ "$ok" = 1 ] || fail "job $n started from a torn view: $b"
    done
    # old generations are pruned; no job left an upper, record or half-built generation
    assert_eq "$cur" "$(ls "$CACHES/shared/conc/gen")" "generations kept"
    assert_eq "" "$(find "$CACHES/shared/conc/jobs" "$CACHES/shared/conc/users" \
        "$CACHES/shared/conc/tmp" -mindepth 1)" "leftovers"
}

test_failed_job_commits_nothing() {
    mkws ws <<'EOF'
command: |
  echo "$N" > /cache/v; mkdir -p /cache/d; echo x > /cache/d/f
  [ -n "$REMOVE" ] && rm -rf /cache/d
  exit ${FAIL:-0}
caches: [{name: f, path: /cache, mode: overlay}]
EOF
    hj --workspace ws -e N=good
    assert_status 0
    local cur before
    cur=$(current_gen f)
    before=$(view_of "$CACHES/shared/f/gen/$cur")
    hj --workspace ws -e N=bad -e FAIL=1 -e REMOVE=1
    assert_status 1
    assert_eq 0 "$(ev_count cache.commit)" "cache.commit events of a failed job"
    assert_eq "$cur" "$(current_gen f)" "current generation"
    assert_eq "$before" "$(view_of "$CACHES/shared/f/gen/$cur")" "the snapshot"
    assert_eq good "$(cat "$CACHES/shared/f/gen/$cur/v")"
    [ -z "$(ls -A "$CACHES/shared/f/jobs")" ] || fail "the failed job's upper is still there"
    # a job that only reads its cache makes no new generation
    mkws ro <<'EOF'
command: cat /cache/v
caches: [{name: f, path: /cache, mode: overlay}]
EOF
    hj --workspace ro
    assert_status 0
    assert_event cache.commit .changed false
    assert_event cache.commit .generation "$cur"
    assert_eq "$cur" "$(ls "$CACHES/shared/f/gen")" "generations"
}

# A commit in place moves the current generation out of gen/ before it applies the upper: if
# hutch dies there, current names a missing generation, and the next job starts cold.
test_lost_generation_means_a_cold_cache() {
    mkws ws <<'EOF'
command: |
  echo "seen: $(cat /cache/v 2>/dev/null || echo none)"; echo "$N" > /cache/v
caches: [{name: lost, path: /cache, mode: overlay}]
EOF
    hj --workspace ws -e N=1
    assert_status 0
    local cur
    cur=$(current_gen lost)
    mv "$CACHES/shared/lost/gen/$cur" "$C_DIR/moved-away"
    hj --workspace ws -e N=2
    assert_status 0
    ev_output_bytes stdout "$C_DIR/out"
    assert_line "$(cat "$C_DIR/out")" "seen: none"
    hj --workspace ws -e N=3
    ev_output_bytes stdout "$C_DIR/out"
    assert_line "$(cat "$C_DIR/out")" "seen: 2"
}

test_whiteouts_and_opaque_dirs_are_applied() {
    mkws ws <<'EOF'
command: |
  set -e
  if [ "$STEP" = 1 ]; then
    mkdir -p /c/keep /c/gone /c/replaced; echo k > /c/keep/f; echo g > /c/gone/f
    echo r > /c/replaced/old; echo file > /c/was-file; mkdir /c/was-dir; echo d > /c/was-dir/f
  else
    rm -rf /c/gone; rm -rf /c/replaced; mkdir /c/replaced; echo n > /c/replaced/new
    rm /c/was-file; mkdir /c/was-file; echo now-dir > /c/was-file/f
    rm -rf /c/was-dir; echo now-file > /c/was-dir; chmod 700 /c/keep
  fi
caches: [{name: w, path: /c, mode: overlay}]
EOF
    hj --workspace ws -e STEP=1
    assert_status 0
    hj --workspace ws -e STEP=2
    assert_status 0
    local g
    g=$CACHES/shared/w/gen/$(current_gen w)
    [ ! -e "$g/gone" ] || fail "a whiteout was not applied"
    assert_eq new "$(ls "$g/replaced")" "an opaque directory's contents"
    assert_eq now-dir "$(cat "$g/was-file/f")"
    assert_eq now-file "$(cat "$g/was-dir")"
    assert_eq k "$(cat "$g/keep/f")"
    assert_eq 700 "$(stat -c %a "$g/keep")" "a directory's new mode"
    [ -z "$(find "$g" -type c)" ] || fail "a whiteout device was committed"
    [ -z "$(getfattr -R -m 'overlay' --absolute-names "$g" 2>/dev/null)" ] ||
        fail "overlay xattrs were committed"
}

test_symlinked_cache_dirs_are_refused() {
    mkws ws <<'EOF'
command: echo "$N" > /c/f
caches: [{name: s, path: /c}, {name: o, path: /o, mode: overlay}]
EOF
    hj --workspace ws -e N=1
    assert_status 0
    mkdir -p victim
    echo precious >victim/keep
    local sum
    sum=$(t_tree_sum victim)
    # each level in turn becomes a symlink to the victim between runs
    local p
    for p in shared/s/data shared/s "shared/o/gen/$(current_gen o)" shared/o/current caches; do
        local full=$CACHES/$p
        [ "$p" = caches ] && full=$CACHES
        mv "$full" "$full.real"
        ln -s "$C_DIR/victim" "$full"
        hj --workspace ws -e N=2
        assert_status 125 "a job with $p a symlink"
        assert_contains "$err" "symlink" "the error for $p"
        assert_eq "$sum" "$(t_tree_sum victim)" "the victim after $p"
        rm "$full"
        mv "$full.real" "$full"
    done
    hj --workspace ws -e N=3
    assert_status 0
    assert_eq 3 "$(cat "$CACHES/shared/s/data/f")"
}

test_teardown_removes_only_what_it_created() {
    mkdir -p canary/sub
    echo one >canary/a
    echo two >canary/sub/b
    mkws ws <<'EOF'
command: |
  for d in /hutch/output /cache /workspace /cache/sub /hutch/output/sub; do
    mkdir -p $d; ln -s "$CANARY" $d/link-dir; ln -s "$CANARY/a" $d/link-file
    ln -s / $d/root
  done
  rm -f /workspace/precious
  exit ${FAIL:-0}
caches: [{name: t, path: /cache, mode: overlay}, {name: tb, path: /bind}]
workspace: {mode: overlay}
EOF
    echo precious >ws/precious
    mkdir -p "$CACHES/shared/t"
    echo "the admin's notes" >"$CACHES/shared/t/NOTES"
    local canary ws
    canary=$(t_tree_sum canary)
    ws=$(t_tree_sum ws)
    hj --workspace ws -e CANARY="$C_DIR/canary" -e FAIL=1
    assert_status 1
    hj --workspace ws -e CANARY="$C_DIR/canary"
    assert_status 0
    assert_eq "$canary" "$(t_tree_sum canary)" "the canary"
    assert_eq "$ws" "$(t_tree_sum ws)" "the checkout"
    assert_eq "the admin's notes" "$(cat "$CACHES/shared/t/NOTES")"
    if [ ! -d "$HUTCH_ROOT" ] || [ ! -d /usr/bin ]; then fail "something outside was removed"; fi
    assert_eq "" "$(ls -A "$HUTCH_RUN/.jobs")" "job staging left"
    # the committed generation keeps the symlinks as symlinks
    local g
    g=$CACHES/shared/t/gen/$(current_gen t)
    assert_eq "$C_DIR/canary" "$(readlink "$g/link-dir")"
}

test_case "caches: auto is warm the second time" test_caches_auto_are_warm_the_second_time
test_case "workspace-scoped caches (hash or key)" test_workspace_scope
test_case "overlay caches: four concurrent jobs, one whole winner" test_overlay_concurrent_commits
test_case "overlay caches: a failed job commits nothing" test_failed_job_commits_nothing
test_case "overlay caches: a lost generation means a cold cache" test_lost_generation_means_a_cold_cache
test_case "overlay caches: whiteouts and opaque directories" test_whiteouts_and_opaque_dirs_are_applied
test_case "cache directories replaced by symlinks are refused" test_symlinked_cache_dirs_are_refused
test_case "teardown removes only what it created" test_teardown_removes_only_what_it_created
t_end
