#!/usr/bin/env bash
# hutch image: a corrupted blob and hostile tarballs are refused (exit 125) and leave the store
# and a decoy directory beside it as they were; eight concurrent imports of images sharing a
# layer keep one copy of each layer; prune never removes a layer a live sandbox uses.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/image_lib.bash
. "$(dirname "$0")/image_lib.bash"
t_begin

# every case has a store of its own, with a decoy directory beside it
img_case() {
    export HUTCH_ROOT=$C_DIR/store
    mkdir -p "$C_DIR/decoy/sub"
    echo decoy >"$C_DIR/decoy/f"
    echo decoy >"$C_DIR/decoy/sub/g"
}

manifest_of() { # LAYOUT: the path of its (first) manifest blob
    echo "$1/blobs/sha256/$(jq -r ".manifests[0].digest" "$1/index.json" | sed "s/sha256://")"
}

test_corrupt_blob() {
    img_case
    img_umoci_base L t
    # a store with another image in it (none of the blobs of L: a blob the store already has
    # need not be read again)
    tar --numeric-owner -C "$ROOTFS" -cf good.tar .
    hr_raw image import --name good:1 good.tar
    assert_status 0
    local kind blob off byte new before
    for kind in layer config manifest; do
        rm -rf C
        cp -a L C
        case $kind in
        layer) blob=$(find C/blobs/sha256 -type f -size +100k | head -n 1) ;;
        config) blob=C/blobs/sha256/$(jq -r .config.digest "$(manifest_of C)" | sed "s/sha256://") ;;
        manifest) blob=$(manifest_of C) ;;
        esac
        [ -f "$blob" ] || fail "no $kind blob found"
        off=$(($(stat -c %s "$blob") / 2))
        byte=$(od -An -tu1 -j "$off" -N1 "$blob" | tr -d ' ')
        new=$(((byte + 1) % 256))
        # shellcheck disable=SC2059 # an octal escape made on purpose
        printf "\\$(printf %03o "$new")" | dd of="$blob" bs=1 seek="$off" conv=notrunc status=none
        before=$(img_store_sum)
        hr_raw image import C:t --name bad:1
        assert_status 125 "import with a corrupt $kind"
        assert_one_error_line "sha256"
        assert_eq "$before" "$(img_store_sum)" "the store after a corrupt $kind"
    done
    hr_raw image import L:t --name intact:1
    assert_status 0 "import of the intact layout"
    hr_raw image ls --json
    assert_eq "good:1 intact:1" "$(jq -r "[.[].name] | sort | join(\" \")" <<<"$out")" "images"
}
test_case "a flipped byte in a layer, config or manifest blob is refused; store unchanged" \
    test_corrupt_blob

# hostile rootfs tarballs made with GNU tar (-P keeps what it would otherwise strip)
make_hostile() { # KIND -> evil.tar
    rm -rf s evil.tar
    mkdir -p s
    echo pwned >s/f
    echo a >s/a
    ln -s "$C_DIR/decoy" s/lnk
    ln -s ../../../../../../../../.. s/up
    case $1 in
    dotdot) tar -cPf evil.tar -C s --transform 's,^f$,../../decoy/pwn,' f ;;
    deep-dotdot) tar -cPf evil.tar -C s --transform 's,^f$,a/../../../../decoy/pwn,' f ;;
    absolute) tar -cPf evil.tar -C s --transform "s,^f$,$C_DIR/decoy/pwn," f ;;
    symlink-abs) tar -cPf evil.tar -C s lnk && tar -rPf evil.tar -C s --transform 's,^f$,lnk/pwn,' f ;;
    symlink-rel)
        tar -cPf evil.tar -C s up &&
            tar -rPf evil.tar -C s --transform "s,^f$,up$C_DIR/decoy/pwn," f
        ;;
    hardlink) ln s/a s/b && tar -cPf evil.tar -C s --transform 's,^a$,../../decoy/f,RSh' a b ;;
    hardlink-abs) ln s/a s/b && tar -cPf evil.tar -C s --transform "s,^a$,$C_DIR/decoy/f,RSh" a b ;;
    whiteout) tar -cPf evil.tar -C s --transform 's,^f$,../../decoy/.wh.f,' f ;;
    esac
}

test_hostile_tarballs() {
    img_case
    local kind decoy before
    # a store with one image in it, which each refused import must leave as it is
    tar --numeric-owner -C "$ROOTFS" -cf good.tar .
    hr_raw image import --name good:1 good.tar
    assert_status 0
    decoy=$(t_tree_sum "$C_DIR/decoy")
    for kind in dotdot deep-dotdot absolute symlink-abs symlink-rel hardlink hardlink-abs whiteout; do
        make_hostile "$kind"
        before=$(img_store_sum)
        hr_raw image import --name "evil:$kind" evil.tar
        assert_status 125 "import of a $kind tarball"
        [ -n "$err" ] || fail "no error for a $kind tarball"
        assert_eq "$decoy" "$(t_tree_sum "$C_DIR/decoy")" "the decoy after a $kind tarball"
        assert_eq "$before" "$(img_store_sum)" "the store after a $kind tarball"
        if [ -e "$C_DIR/store/pwn" ] || [ -e "$C_DIR/pwn" ]; then
            fail "a $kind tarball wrote outside its layer"
        fi
    done
    hr_raw image ls --json
    assert_eq good:1 "$(jq -r "[.[].name] | join(\" \")" <<<"$out")" "images after hostile imports"
}
test_case "hostile tarballs (.., absolute, through symlinks, hard links, whiteouts) are refused" \
    test_hostile_tarballs

add_a() { echo a >"$1/etc/which"; }
add_b() { echo b >"$1/etc/which"; }

test_concurrent_imports() {
    img_case
    img_umoci_base L base
    # two images sharing the base layer, each with one layer of its own
    umoci tag --image L:base a
    umoci tag --image L:base b
    img_umoci_layer L a add_a
    img_umoci_layer L b add_b
    local pids=() i ref p failed=0
    for ((i = 0; i < 8; i++)); do
        ref=a
        [ $((i % 2)) = 0 ] || ref=b
        "$HUTCH" image import "L:$ref" --name "img$ref:$i" >"imp.$i.out" 2>"imp.$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        t_wait_bg "$p"
        [ "$bg_status" = 0 ] || failed=$((failed + 1))
    done
    [ "$failed" = 0 ] || fail "$failed of 8 imports failed: $(cat imp.*.err)"
    assert_eq "" "$(cat imp.*.err)" "stderr of the imports"
    assert_eq 3 "$(img_layer_dirs | grep -c '')" "layer directories (base, a, b)"
    assert_eq "" "$(find "$HUTCH_ROOT/tmp" -mindepth 1 2>/dev/null)" "leftovers in the store's tmp"
    hr_raw image ls --json
    assert_eq 8 "$(jq length <<<"$out")" "images"
    hr_raw run --image imga:0 -- cat /etc/which
    assert_eq a "$out" "image a"
    hr_raw run --image imgb:7 -- cat /etc/which
    assert_eq b "$out" "image b"
}
test_case "8 concurrent imports of images sharing a layer: one copy of each layer" \
    test_concurrent_imports

test_prune_with_running_sandbox() {
    img_case
    img_umoci_base L keep
    hr_raw image import L:keep --name prunable:1
    assert_status 0
    local layers pid
    layers=$(img_layer_dirs)
    [ -n "$layers" ] || fail "no layers after import"
    mkdir sync
    mkfifo sync/go
    "$HUTCH" run -v "$C_DIR/sync:/sync" --events "$C_DIR/bg.jsonl" --image prunable:1 -- \
        sh -c 'echo ready; read x </sync/go; cat /etc/marker; ls /bin | grep -c .' \
        >bg.out 2>bg.err &
    pid=$!
    wait_for_line bg.out ready
    hr_raw image rm prunable:1
    assert_status 0
    hr_raw image prune
    assert_status 0
    assert_eq "$layers" "$(img_layer_dirs)" "layers while a sandbox uses them"
    timeout 20 sh -c 'echo go >sync/go' || fail "the sandbox does not read its fifo"
    t_wait_bg "$pid"
    assert_eq 0 "$bg_status" "sandbox status ($(cat bg.err))"
    assert_eq keep "$(sed -n 2p bg.out)" "a file of the image read after rm + prune"
    assert_eq "$(find "$ROOTFS/bin" -mindepth 1 -maxdepth 1 | grep -c .)" "$(sed -n 3p bg.out)" "files in /bin after rm + prune"
    hr_raw image prune
    assert_status 0
    assert_eq "" "$(img_layer_dirs)" "layers after the sandbox ended"
}
test_case "prune keeps the layers of a running sandbox, removes them after" \
    test_prune_with_running_sandbox

t_end
