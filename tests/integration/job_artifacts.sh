#!/usr/bin/env bash
# Inputs in and artifacts out: copies through fds, symlinks copied as symlinks and never
# followed out of the sandbox, an output directory swapped for a symlink to / while the job
# ends (CVE-2018-15664 class), missing artifacts as warnings.
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

art_event() { # NAME JQ
    jq -c --arg n "$1" "select(.type == \"artifact\" and .name == \$n) | $2" "$ev"
}

test_artifacts_out() {
    mkws ws <<'EOF'
command: |
  set -e
  rm -rf dist out; mkdir -p dist/sub out
  echo app > dist/app.bin; echo nested > dist/sub/n.txt; ln -s app.bin dist/latest
  mkfifo dist/pipe; head -c 300000 /dev/urandom > out/big.dat; chmod 4755 out/big.dat
artifacts:
  - dist/app.bin
  - {path: dist, name: all/dist}
  - {path: /workspace/out/big.dat, name: big.dat}
  - dist/latest
  - dist/nothing-here
EOF
    hj --workspace ws --artifacts-dir "$C_DIR/art"
    assert_status 0
    assert_eq app "$(cat art/app.bin)"
    assert_eq nested "$(cat art/all/dist/sub/n.txt)"
    assert_eq app.bin "$(readlink art/all/dist/latest)"
    [ ! -e art/all/dist/pipe ] || fail "a fifo was copied"
    cmp art/big.dat ws/out/big.dat || fail "big.dat differs"
    assert_eq 755 "$(stat -c %a art/big.dat)" "mode without the setuid bit"
    assert_eq "\"$(sha256sum <art/big.dat | cut -d' ' -f1)\"" "$(art_event big.dat .sha256)"
    assert_eq 300000 "$(art_event big.dat .size)"
    assert_eq '"file"' "$(art_event big.dat .kind)"
    assert_eq "\"$C_DIR/art/big.dat\"" "$(art_event big.dat .file)"
    assert_eq '"directory"' "$(art_event all/dist .kind)"
    assert_eq 2 "$(art_event all/dist .files)"
    assert_eq 1 "$(art_event all/dist .skipped)"
    # the directory digest is the sha256sum-style listing, depth first, symlinks as "-> target"
    local listing
    listing=$(printf '%s  app.bin\n-> app.bin  latest\n%s  sub/n.txt\n' \
        "$(sha256sum <art/app.bin | cut -d' ' -f1)" "$(sha256sum <art/all/dist/sub/n.txt | cut -d' ' -f1)")
    assert_eq "\"$(printf '%s\n' "$listing" | sha256sum | cut -d' ' -f1)\"" "$(art_event all/dist .sha256)"
    assert_eq '"symlink"' "$(art_event latest .kind)"
    assert_eq '"app.bin"' "$(art_event latest .target)"
    assert_eq app.bin "$(readlink art/latest)"
    assert_eq 1 "$(ev_count warning)" "warnings"
    assert_event warning .path '"dist/nothing-here"'
    # a second run replaces what is there
    echo stale >art/app.bin
    hj --workspace ws --artifacts-dir "$C_DIR/art"
    assert_status 0
    assert_eq app "$(cat art/app.bin)"
}

test_no_artifacts_dir_is_a_warning() {
    mkws ws <<'EOF'
command: echo x > f
artifacts: [f]
EOF
    hj --workspace ws
    assert_status 0
    assert_contains "$(ev_get warning .message)" "no artifacts directory"
}

test_symlink_artifacts_never_reach_the_host() {
    echo "host secret" >hostsecret
    mkdir -p hostdir
    echo "host file" >hostdir/f
    mkws ws <<EOF
command: |
  set -e
  mkdir -p /hutch/output/d
  ln -s $C_DIR/hostsecret /hutch/output/to-host-file
  ln -s $C_DIR/hostdir /hutch/output/d/to-host-dir
  ln -s / /hutch/output/root
  ln -s /etc /hutch/output/etc-link
artifacts:
  - /hutch/output/to-host-file
  - {path: /hutch/output/d, name: d}
  - {path: /hutch/output/root/etc/passwd, name: passwd-via-root}
  - {path: /hutch/output/etc-link/passwd, name: passwd-via-etc}
  - {path: $C_DIR/hostsecret, name: host-path}
EOF
    hj --workspace ws --artifacts-dir "$C_DIR/art"
    assert_status 0
    [ -L art/to-host-file ] || fail "the symlink artifact is not a symlink"
    assert_eq "$C_DIR/hostsecret" "$(readlink art/to-host-file)"
    [ -L art/d/to-host-dir ] || fail "the symlink in a directory artifact is not a symlink"
    [ ! -e art/d/to-host-dir/f ] || [ -L art/d/to-host-dir ] || fail "host dir copied"
    # paths resolve in the sandbox's root: its own /etc/passwd, never the host's
    cmp art/passwd-via-root "$ROOTFS/etc/passwd" || fail "passwd-via-root is not the sandbox's"
    cmp art/passwd-via-etc "$ROOTFS/etc/passwd" || fail "passwd-via-etc is not the sandbox's"
    [ ! -e art/host-path ] || fail "a host path was copied"
    assert_event warning .path "\"$C_DIR/hostsecret\""
    ! grep -rq "host secret\|host file" art || fail "host content in the artifacts"
}

# The payload keeps swapping its output directory for a symlink to / (and back) until the
# workload ends; the copy-out starts after every process of the sandbox is dead and resolves in
# the sandbox's root, so the artifact is either the directory or the symlink, never host files.
test_output_dir_swapped_for_a_symlink() {
    mkws ws <<'EOF'
command: |
  mkdir -p /hutch/output/dist; echo payload > /hutch/output/dist/file
  cd /hutch/output
  ( while :; do mv dist dist.real; ln -s / dist; rm dist; mv dist.real dist; done ) &
  ( while :; do ln -s / dist.new 2>/dev/null; mv -T dist.new dist 2>/dev/null; done ) &
  usleep $((RANDOM % 20000))
artifacts: [{path: /hutch/output/dist, name: dist}, {path: /hutch/output/dist/file, name: file}]
EOF
    local i
    for i in 1 2 3 4 5 6; do
        rm -rf art
        hj --workspace ws --artifacts-dir "$C_DIR/art"
        assert_status 0
        if [ -L art/dist ]; then
            assert_eq / "$(readlink art/dist)" "round $i: the symlink's target"
        elif [ -d art/dist ]; then
            assert_eq file "$(find art/dist -mindepth 1 -printf '%P ' | sed 's/ $//')" \
                "round $i: the directory's contents"
        else # caught between a rename and a symlink: missing, a warning
            assert_contains "$(jq -r 'select(.type == "warning") | .path' "$ev")" \
                /hutch/output/dist "round $i: warnings"
        fi
        [ ! -e art/file ] || assert_eq payload "$(cat art/file)" "round $i: file"
        [ -z "$(find art -mindepth 1 -maxdepth 3 -name passwd -o -name bin -o -name etc)" ] ||
            fail "round $i: host or root files were copied: $(find art | head)"
    done
}

test_kernel_files_are_not_artifacts() {
    mkws ws <<'EOF'
command: "true"
artifacts: [/proc/cpuinfo, {path: /sys/kernel, name: sys}]
EOF
    hj --workspace ws --artifacts-dir "$C_DIR/art"
    assert_status 0
    assert_eq 2 "$(ev_count warning)" "warnings"
    assert_contains "$(jq -r 'select(.type == "warning") | .message' "$ev")" "kernel filesystem"
    [ -z "$(ls -A art 2>/dev/null)" ] || fail "kernel files were copied: $(ls art)"
}

test_inputs_in() {
    mkws ws <<'EOF'
command: |
  cat /in/data.txt; ls /in/tree | tr '\n' ' '; echo; cat /in/tree/sub/deep
  readlink /in/tree/link; readlink /in/tree/secret; cat /in/alias
  cat /in/tree/secret 2>/dev/null || echo "secret: not readable"
  echo x > /in/data.txt 2>/dev/null || echo "inputs: read-only"
inputs:
  - {src: data.txt, dst: /in/data.txt}
  - {src: tree, dst: /in/tree}
  - {src: alias, dst: /in/alias}
EOF
    echo "the data" >ws/data.txt
    mkdir -p ws/tree/sub
    echo deep >ws/tree/sub/deep
    ln -s sub/deep ws/tree/link
    echo "host secret" >hostsecret
    ln -s "$C_DIR/hostsecret" ws/tree/secret
    ln -s data.txt ws/alias
    hj --workspace ws
    assert_status 0
    ev_output_bytes stdout "$C_DIR/stdout"
    local o
    o=$(cat "$C_DIR/stdout")
    assert_line "$o" "the data"
    assert_line "$o" "link secret sub "
    assert_line "$o" "deep"
    assert_line "$o" "sub/deep"
    assert_line "$o" "$C_DIR/hostsecret"
    assert_eq 2 "$(grep -c '^the data$' <<<"$o")" "the data (data.txt and alias)"
    assert_line "$o" "secret: not readable"
    assert_line "$o" "inputs: read-only"
    assert_not_contains "$o" "host secret"
    # an input that is (or goes through) a symlink leaving the workspace is refused
    local src n=0
    for src in secret-link escape/etc/hostname; do
        n=$((n + 1))
        mkws "ws$n" <<EOF
command: cat /in/x
inputs: [{src: $src, dst: /in/x}]
EOF
        ln -s "$C_DIR/hostsecret" "ws$n/secret-link"
        ln -s / "ws$n/escape"
        hj --workspace "ws$n"
        assert_status 125
        assert_contains "$err" "inputs[0]"
        assert_contains "$err" "out of the workspace"
        assert_not_contains "$out" "host secret"
    done
}

test_case "artifacts: files, directories, symlinks, digests, warnings" test_artifacts_out
test_case "artifacts without --artifacts-dir: a warning" test_no_artifacts_dir_is_a_warning
test_case "symlink artifacts never reach host files" test_symlink_artifacts_never_reach_the_host
test_case "an output dir swapped for a symlink to / during the end" test_output_dir_swapped_for_a_symlink
test_case "files of kernel filesystems are not artifacts" test_kernel_files_are_not_artifacts
test_case "inputs: copied in, read-only, symlinks not followed" test_inputs_in
t_end
