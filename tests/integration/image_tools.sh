#!/usr/bin/env bash
# hutch image: images made by real tools (umoci, skopeo, GNU tar) import and run; whiteouts and
# opaque directories of later layers apply (checked from inside the sandbox); the image config
# (Env, Cmd, WorkingDir, User) applies and CLI flags override it; ls/inspect; many layers.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/image_lib.bash
. "$(dirname "$0")/image_lib.bash"
t_begin

# every case has a store of its own: counts of layers and images are its own
img_case() { export HUTCH_ROOT=$C_DIR/store; }

# the second layer: deletes /etc/gone, replaces /etc/repl and /d (rm -r + recreate)
layer_two() {
    rm "$1/etc/gone"
    echo two >"$1/etc/repl"
    rm -r "$1/d"
    mkdir "$1/d"
    echo new >"$1/d/y"
}

test_umoci_whiteouts() {
    img_case
    img_umoci_base L t
    img_umoci_layer L t layer_two
    hr_raw image import L:t --name wh:1
    assert_status 0
    hr_raw run --image wh:1 -- sh -c 'cat /etc/repl; ls /d; cat /d/y; ls /etc'
    assert_status 0
    assert_eq "two
y
new" "$(head -n 3 <<<"$out")" "replaced file and recreated directory"
    assert_no_line "$out" gone "/etc listing"
    assert_line "$out" passwd "/etc listing"
    hr_raw run wh:1 cat /etc/gone
    assert_ne 0 "$status" "cat of a deleted file"
    assert_contains "$err" "No such file" stderr
    hr_raw run --image wh:1 -- ls -a /d
    assert_no_line "$out" x "/d after rm -r and recreate"
    # the whiteouts themselves never show inside
    hr_raw run --image wh:1 -- find / -xdev -name '.wh.*'
    assert_eq "" "$out" "whiteout files visible inside"
}
test_case "umoci layers: deleted files are gone, replaced ones have the new content" \
    test_umoci_whiteouts

test_opaque_dir() {
    img_case
    img_umoci_base L t
    # umoci writes per-file whiteouts for rm -r; an opaque directory comes as a raw layer
    mkdir -p raw/d
    : >raw/d/.wh..wh..opq
    echo opaque >raw/d/z
    tar --numeric-owner -C raw -cf opq.tar d
    umoci raw add-layer --image L:t opq.tar
    hr_raw image import L:t --name opq:1
    assert_status 0
    hr_raw run --image opq:1 -- ls -a /d
    assert_status 0
    assert_eq ".
..
z" "$out" "/d under an opaque whiteout"
    hr_raw run --image opq:1 -- cat /d/z
    assert_eq opaque "$out" "/d/z"
}
test_case "an opaque directory hides the lower layers' content" test_opaque_dir

test_skopeo_archives() {
    img_case
    command -v skopeo >/dev/null || skip "skopeo is missing"
    img_umoci_base L t
    img_umoci_layer L t layer_two
    skopeo copy -q oci:L:t docker-archive:docker.tar:dockimg:t
    skopeo copy -q oci:L:t oci-archive:oci.tar
    hr_raw image import docker.tar
    assert_status 0
    hr_raw image import oci.tar --name ociarch:1
    assert_status 0
    hr_raw image ls
    assert_contains "$out" "dockimg:t" "image ls"
    local dname
    dname=$(jq -r '.[] | select(.name | endswith("dockimg:t")) | .name' <<<"$("$HUTCH" image ls --json)")
    "$HUTCH" run --image dockimg:t -- true 2>/dev/null ||
        note "the short name dockimg:t does not find $dname (names are not normalised)"
    assert_contains "$out" "ociarch:1" "image ls"
    local ref
    for ref in "$dname" ociarch:1; do
        hr_raw run --image "$ref" -- sh -c 'cat /etc/marker /etc/repl; test ! -e /etc/gone && echo ok'
        assert_status 0 "run $ref"
        assert_eq "t
two
ok" "$out" "run $ref"
    done
    # the same layers: one copy each in the store
    assert_eq 2 "$(img_layer_dirs | grep -c '')" "layer directories"
}
test_case "skopeo docker-archive and oci-archive import and run" test_skopeo_archives

test_rootfs_tarball() {
    img_case
    mkdir src
    cp -a "$ROOTFS/." src/
    echo plain >src/etc/marker
    tar --numeric-owner -C src -czf rootfs.tar.gz .
    hr_raw image import rootfs.tar.gz
    assert_status 125
    assert_one_error_line "rootfs.tar.gz"
    assert_contains "$err" "--name"
    hr_raw image import --name plain:1 rootfs.tar.gz
    assert_status 0
    hr_raw run plain:1 cat /etc/marker
    assert_status 0
    assert_eq plain "$out" "/etc/marker"
    hr_raw run --image plain:1 -- probe exit 3
    assert_status 3 "probe exit 3 through --image"
}
test_case "a plain rootfs tarball needs --name, then runs" test_rootfs_tarball

test_config_and_overrides() {
    img_case
    img_umoci_base L t
    umoci config --image L:t --config.env FOO=bar --config.env PATH=/usr/bin:/bin \
        --config.workingdir /tmp --config.user tester \
        --config.cmd sh --config.cmd -c --config.cmd 'echo "$FOO $(pwd) $(id -un)"'
    hr_raw image import L:t --name cfg:1
    assert_status 0
    hr_raw run cfg:1
    assert_status 0
    assert_eq "bar /tmp tester" "$out" "Env, WorkingDir, User, Cmd from the config"
    hr_raw run -e FOO=flag -w / -u root cfg:1
    assert_status 0
    assert_eq "flag / root" "$out" "-e, -w, -u override the config"
    hr_raw run --image cfg:1 -- sh -c 'echo "$FOO $(id -u)"'
    assert_eq "bar 1000" "$out" "a command replaces Cmd only"
}
test_case "the image config applies (Env, Cmd, WorkingDir, User); flags override" \
    test_config_and_overrides

test_stop_signal() {
    img_case
    img_umoci_base L t
    umoci config --image L:t --config.stopsignal SIGINT
    hr_raw image import L:t --name stop:1
    assert_status 0
    # on timeout the image's StopSignal reaches the workload first (then SIGTERM to all)
    hr_raw run --timeout 1 --kill-grace 5 stop:1 sh -c \
        'trap "echo got-INT; exit 0" INT; trap "echo got-TERM; exit 0" TERM; while :; do sleep 0.05; done'
    assert_status 124
    assert_eq got-INT "$(head -n 1 <<<"$out")" "the first signal the workload saw"
    umoci config --image L:t --config.stopsignal SIGNOPE
    hr_raw image import L:t --name stop:2
    assert_status 0
    hr_raw run stop:2 true
    assert_status 125
    assert_one_error_line "StopSignal: unknown signal 'SIGNOPE'"
}
test_case "the image's StopSignal comes first on timeout; an unknown one is an error" \
    test_stop_signal

test_ls_inspect() {
    img_case
    img_umoci_base L t
    img_umoci_layer L t layer_two
    hr_raw image import L:t --name insp:2 --quiet
    assert_status 0
    assert_eq "" "$err" "stderr of a quiet import"
    hr_raw image ls
    assert_status 0
    assert_contains "$out" "insp:2"
    hr_raw image ls --json
    assert_eq insp:2 "$(jq -r '.[0].name' <<<"$out")" "ls --json name"
    local digest
    digest=$(jq -r '.[0].digest' <<<"$out")
    assert_match "$digest" '^sha256:[0-9a-f]{64}$' "digest"
    hr_raw image inspect insp:2
    assert_status 0
    assert_eq 2 "$(jq '.layers | length' <<<"$out")" "layers in inspect"
    assert_eq 2 "$(jq '[.layers[] | select(.diff_id | test("^sha256:[0-9a-f]{64}$"))] | length' \
        <<<"$out")" "layers with a diff_id"
    local d
    for d in $(jq -r '.layers[].diff_id | sub("sha256:"; "")' <<<"$out"); do
        [ -d "$HUTCH_ROOT/layers/$d" ] || fail "layer $d is not in the store"
    done
    hr_raw image inspect "$digest"
    assert_status 0
    assert_eq insp:2 "$(jq -r .name <<<"$out")" "inspect by digest"
    hr_raw image inspect nosuch:1
    assert_status 125
    assert_one_error_line "nosuch:1"
    hr_raw image rm insp:2
    assert_status 0
    hr_raw image ls --json
    assert_eq 0 "$(jq length <<<"$out")" "images after rm"
}
test_case "image ls, inspect (JSON with the layers), rm" test_ls_inspect

test_many_layers() {
    img_case
    local n=48 i
    img_umoci_base L t
    # more lowerdirs than fit in one page of mount options with these paths
    for ((i = 1; i <= n; i++)); do
        mkdir -p "raw$i/layers"
        echo "$i" >"raw$i/layers/$i"
        echo "$i" >"raw$i/layers/top"
        tar -C "raw$i" -cf "l$i.tar" layers
        umoci raw add-layer --image L:t "l$i.tar"
        rm -rf "raw$i" "l$i.tar"
    done
    hr_raw image import L:t --name many:1
    assert_status 0
    hr_raw image inspect many:1
    assert_eq $((n + 1)) "$(jq '.layers | length' <<<"$out")" "layers"
    hr_raw run --image many:1 -- sh -c 'ls /layers | wc -l; cat /layers/top /layers/1 /etc/marker'
    assert_status 0
    assert_eq "$((n + 1))
$n
1
t" "$out" "files of every layer, the top one wins"
}
test_case "an image with 49 layers runs" test_many_layers

t_end
