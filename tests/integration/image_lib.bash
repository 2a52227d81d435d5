# shellcheck shell=bash
# tests/integration/image_lib.bash - what the image_*.sh scripts share: OCI layouts made by real
# tools (umoci, skopeo) from the test rootfs, and a digest of the image store. Sourced after
# tests/lib.sh; needs umoci (and skopeo for the archive cases: those skip without it).

img_need_umoci() {
    command -v umoci >/dev/null || skip "umoci is missing (tools/install-deps installs it)"
}

# An OCI layout LAYOUT with tag TAG: one layer holding the test rootfs plus a few files the
# whiteout cases change (/etc/gone, /etc/repl, /d/x, /etc/marker = TAG), made by umoci.
img_umoci_base() { # LAYOUT TAG
    local l=$1 t=$2 b=$C_DIR/bundle.$$
    img_need_umoci
    [ -d "$l" ] || umoci init --layout "$l"
    umoci new --image "$l:$t"
    umoci unpack --image "$l:$t" "$b" >/dev/null
    cp -a "$ROOTFS/." "$b/rootfs/"
    mkdir -p "$b/rootfs/d"
    echo old >"$b/rootfs/d/x"
    echo gone >"$b/rootfs/etc/gone"
    echo one >"$b/rootfs/etc/repl"
    echo "$t" >"$b/rootfs/etc/marker"
    umoci repack --image "$l:$t" "$b"
    rm -rf "$b"
}

# Adds a layer to LAYOUT:TAG made by umoci from the changes FUNC makes to the unpacked rootfs
# (FUNC gets the rootfs directory as $1).
img_umoci_layer() { # LAYOUT TAG FUNC
    local l=$1 t=$2 fn=$3 b=$C_DIR/bundle.$$
    umoci unpack --image "$l:$t" "$b" >/dev/null
    "$fn" "$b/rootfs"
    umoci repack --image "$l:$t" "$b"
    rm -rf "$b"
}

# The store as names and sizes: what "the store is unchanged" compares.
img_store_sum() {
    find "$HUTCH_ROOT" -printf '%P %y %s\n' 2>/dev/null | LC_ALL=C sort
}

# Layer directories of the store (one per diff id).
img_layer_dirs() {
    find "$HUTCH_ROOT/layers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | LC_ALL=C sort
}
