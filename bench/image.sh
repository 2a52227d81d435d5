#!/usr/bin/env bash
# bench/image.sh - images (issue 3): import throughput and sandbox start on image rootfs.
#
#   bench/image.sh [--runs N] [--warmup N] [--imports N] [--keep]
#
# (1) Import: a 13-layer OCI layout (the busybox rootfs + 12 layers of files copied from
#     /usr/lib, ~200 MB unpacked, tar+gzip -1) imported --imports times into an empty store,
#     against `tar -xzf` of the same layers into empty directories, alternated; the ratio is
#     tar's median time over hutch's (>= 1: hutch is as fast as tar; target >= 0.9).
# (2) Start: one interleaved startlat run (bench/startlat.c) of /bin/true with a 1-layer small
#     image, a 20-layer ~300 MB image (the same rootfs + 19 /usr/lib layers) and the same rootfs
#     as a --rootfs directory (targets: the two images within 10% of each other, within 15% of
#     the directory).
# Everything lives in one /tmp/hutch-bench.* dir removed at exit (bench/lib.sh). Prints figures,
# never a verdict.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_RUNS=100 BENCH_WARMUP=10 BENCH_SEED=1 IMPORTS=3
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) BENCH_RUNS=${2:?}; shift 2 ;;
    --warmup) BENCH_WARMUP=${2:?}; shift 2 ;;
    --imports) IMPORTS=${2:?}; shift 2 ;;
    --keep) export BENCH_KEEP=1; shift ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    *) bench_die "unknown argument '$1' (see --help)" ;;
    esac
done
[ "$(id -u)" = 0 ] || bench_die "needs root"
bench_have jq || bench_die "needs jq"

bench_find_hutch
export HUTCH_POLICIES=${HUTCH_POLICIES:-$BENCH_SRC/policies}
bench_setup_tmp
bench_build_helpers
bench_make_rootfs
L=$BENCH_TMP/layers

# 19 chunks of ~16 MB of real files (mostly incompressible-ish shared libraries) as gzip layers
# (2 at once), and the rootfs as layer 0.
img_make_layers() {
    mkdir -p "$L"
    tar --numeric-owner -C "$ROOTFS" -cf - . | gzip -1 >"$L/0.tar.gz"
    find /usr/lib -xdev -type f -size -4M -size +8k -printf '%s %p\n' 2>/dev/null | sort -k2 |
        awk -v lim=$((16 * 1024 * 1024)) -v dir="$L" '
            { if (sum + $1 > lim) { n++; sum = 0 } if (n >= 19) next
              sum += $1; print substr($0, index($0, " ") + 1) > (dir "/list." n + 1) }'
    local i
    for ((i = 1; i <= 19; i++)); do
        [ -s "$L/list.$i" ] || bench_die "not enough files in /usr/lib for 19 layers"
        # each layer under its own directory: no layer hides another one's files
        tar --numeric-owner -P --transform "s,^/,data/$i/," -T "$L/list.$i" -cf - |
            gzip -1 >"$L/$i.tar.gz" &
        if [ $((i % 2)) = 0 ]; then wait; fi
    done
    wait
}

# An OCI layout DIR tagged TAG of layers 0..N-1.
img_make_layout() { # DIR TAG N
    local out=$1 tag=$2 n=$3 i d diffs=() descs=() cfg cd man md
    mkdir -p "$out/blobs/sha256"
    for ((i = 0; i < n; i++)); do
        d=$(sha256sum "$L/$i.tar.gz" | cut -d' ' -f1)
        ln -f "$L/$i.tar.gz" "$out/blobs/sha256/$d"
        [ -f "$L/$i.diff" ] || gzip -dc "$L/$i.tar.gz" | sha256sum | cut -d' ' -f1 >"$L/$i.diff"
        diffs+=("sha256:$(cat "$L/$i.diff")")
        descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$L/$i.tar.gz")}")
    done
    cfg=$(jq -cn --args '{architecture: "amd64", os: "linux",
        config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]},
        rootfs: {type: "layers", diff_ids: $ARGS.positional}}' "${diffs[@]}")
    cd=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
    printf '%s' "$cfg" >"$out/blobs/sha256/$cd"
    man=$(printf '%s\n' "${descs[@]}" | jq -cs --arg cd "sha256:$cd" --argjson cs "${#cfg}" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
        layers: .}')
    md=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
    printf '%s' "$man" >"$out/blobs/sha256/$md"
    jq -cn --arg md "sha256:$md" --argjson ms "${#man}" --arg tag "$tag" '{schemaVersion: 2,
        manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md,
                     size: $ms, annotations: {"org.opencontainers.image.ref.name": $tag}}]}' \
        >"$out/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
}

now_ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# (1) import vs tar -xzf, alternated, each into a fresh directory.
img_bench_import() {
    local n=13 i j t0 d=$BENCH_TMP/imp tsz usz
    img_make_layout "$BENCH_TMP/oci-import" imp:1 "$n"
    tsz=$(du -cb "$L"/{0..12}.tar.gz | tail -n 1 | cut -f1)
    : >"$BENCH_TMP/out/imp.hutch"
    : >"$BENCH_TMP/out/imp.tar"
    for ((i = 0; i < IMPORTS; i++)); do
        rm -rf "$d"
        mkdir -p "$d"
        sync
        t0=$(now_ns)
        HUTCH_ROOT=$d/store "$HUTCH" image import --quiet "$BENCH_TMP/oci-import" >/dev/null ||
            bench_die "hutch image import failed"
        echo $(($(now_ns) - t0)) >>"$BENCH_TMP/out/imp.hutch"
        usz=$(du -sb "$d/store/layers" | cut -f1)
        rm -rf "$d"
        mkdir -p "$d"
        sync
        t0=$(now_ns)
        for ((j = 0; j < n; j++)); do
            mkdir "$d/$j"
            tar --numeric-owner -xzf "$L/$j.tar.gz" -C "$d/$j"
        done
        echo $(($(now_ns) - t0)) >>"$BENCH_TMP/out/imp.tar"
    done
    rm -rf "$d"
    local h t
    h=$(median <"$BENCH_TMP/out/imp.hutch")
    t=$(median <"$BENCH_TMP/out/imp.tar")
    {
        printf 'method\truns\tmedian s\tMB/s (unpacked)\tratio (tar time / this)\n'
        awk -v h="$h" -v t="$t" -v u="$usz" -v r="$IMPORTS" 'BEGIN {
            printf "hutch image import\t%d\t%.2f\t%.0f\t%.2f\n", r, h / 1e9, u / 1e6 / (h / 1e9), t / h
            printf "tar -xzf (13 dirs)\t%d\t%.2f\t%.0f\t1.00\n", r, t / 1e9, u / 1e6 / (t / 1e9) }'
    } >"$BENCH_TMP/out/imp.tsv"
    bench_table "Import of a 13-layer image ($((tsz / 1000000)) MB gzip, $((usz / 1000000)) MB unpacked)" \
        "$BENCH_TMP/out/imp.tsv" "target (issue 3): ratio >= 0.9"
}

# (2) start p50: small 1-layer image, 20-layer image, --rootfs directory.
img_bench_start() {
    local cmds=$BENCH_TMP/out/start.cmds sum=$BENCH_TMP/out/start.tsv
    "$BENCH_SRC/tools/mkimage" --oci "$BENCH_TMP/oci-small" --tag small:1 >/dev/null
    "$HUTCH" image import --quiet "$BENCH_TMP/oci-small" || bench_die "import of small:1 failed"
    img_make_layout "$BENCH_TMP/oci-big" big:20 20
    "$HUTCH" image import --quiet "$BENCH_TMP/oci-big" || bench_die "import of big:20 failed"
    {
        echo "image.1layer $HUTCH run --image small:1 -- /bin/true"
        echo "image.20layers $HUTCH run --image big:20 -- /bin/true"
        echo "rootfs.dir $HUTCH run --rootfs $ROOTFS -- /bin/true"
    } >"$cmds"
    bench_log "bench: image start: 3 configurations x ($BENCH_RUNS runs + $BENCH_WARMUP warm-up), interleaved..."
    "$STARTLAT" -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -s "$BENCH_SEED" -e "$BENCH_TMP/out/start.err" \
        "$cmds" >"$sum" || bench_die "startlat failed"
    awk -F'\t' 'NR == 1 { print "config\truns\tfailed\tp50 ms\tp90 ms\tp99 ms\tx rootfs.dir\tx image.1layer"; next }
        { n[NR] = $1; r[NR] = $2; f[NR] = $3; p50[$1] = $4; p90[NR] = $5; p99[NR] = $6 }
        END { for (i = 2; i <= NR; i++) { k = n[i]
                printf "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", k, r[i], f[i], p50[k] / 1e6,
                    p90[i] / 1e6, p99[i] / 1e6, p50[k] / p50["rootfs.dir"], p50[k] / p50["image.1layer"] } }' \
        "$sum" >"$BENCH_TMP/out/start-table.tsv"
    bench_table "Start of /bin/true on images, $BENCH_RUNS interleaved runs each" \
        "$BENCH_TMP/out/start-table.tsv" \
        "targets (issue 3): image.20layers within 10% of image.1layer; both within 15% of rootfs.dir"
}

main() {
    bench_section "Images (issue 3)"
    bench_machine | tee -a "$BENCH_TMP/report.md"
    bench_log "bench: image: making 20 layers from /usr/lib..."
    img_make_layers
    img_bench_import
    img_bench_start
    "$HUTCH" gc >/dev/null 2>&1 || true
}

main
