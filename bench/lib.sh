# shellcheck shell=bash
# lib.sh - what every part of hutch's benchmark suite shares: the temporary directory (and its
# removal), the helpers built from bench/*.c, the rootfs, the peers' command lines, and the
# table printers. Sourced by bench/run-all; every name it defines starts with bench_ or BENCH_.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SRC=$(dirname "$BENCH_DIR")
BENCH_PIDS=()      # background processes a part started (killed by pid on exit)
BENCH_CGROUPS=()   # cgroup directories we created (removed, deepest first, on exit)

bench_log() { printf '%s\n' "$*" >&2; }
bench_die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
bench_have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- temp dir and cleanup

bench_setup_tmp() {
    BENCH_TMP=$(mktemp -d /tmp/hutch-bench.XXXXXX)
    export HUTCH_ROOT=$BENCH_TMP/root HUTCH_RUN=$BENCH_TMP/run
    mkdir -p "$HUTCH_ROOT" "$HUTCH_RUN" "$BENCH_TMP/bin" "$BENCH_TMP/out"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# Undo everything, in reverse: our processes (by pid), what hutch left (gc), crun/runc
# cgroups, mounts under the temp dir, the temp dir. Each step tolerates a half-done part.
bench_cleanup() {
    local p d
    for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
        wait "$p" 2>/dev/null || true
    done
    [ -n "${BENCH_TMP:-}" ] || return 0
    if [ -x "${HUTCH:-}" ]; then
        "$HUTCH" gc >/dev/null 2>&1 || true
    fi
    # the peers' groups: /hutch-bench-<pid>-* in every v1 hierarchy (and under our own group
    # where our group is not the root); rmdir only, so a group still in use is never forced
    find /sys/fs/cgroup -mindepth 1 -depth -type d \( -name "hutch-bench-$$" -o -name "hutch-bench-$$-*" \) \
        -exec rmdir {} \; 2>/dev/null || true
    for ((p = ${#BENCH_CGROUPS[@]} - 1; p >= 0; p--)); do
        rmdir "${BENCH_CGROUPS[p]}" 2>/dev/null || true
    done
    awk -v t="$BENCH_TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r d; do umount -l "$d" 2>/dev/null || true; done
    if [ -z "${BENCH_KEEP:-}" ]; then
        rm -rf --one-file-system "$BENCH_TMP"
    else
        bench_log "bench: kept $BENCH_TMP"
    fi
}

# ---------------------------------------------------------------- inputs

# The hutch binary: $HUTCH, else $BUILD/hutch (make passes BUILD when given on its command line).
bench_find_hutch() {
    HUTCH=${HUTCH:-$BENCH_SRC/${BUILD:-build}/hutch}
    HUTCH=$(realpath "$HUTCH" 2>/dev/null || echo "$HUTCH")
    [ -x "$HUTCH" ] || bench_die "no hutch binary at $HUTCH (make first, or set HUTCH=)"
    BENCH_BUILD=$(dirname "$HUTCH")
    export HUTCH
}

# C helpers: startlat (timing driver), textgen (static, runs inside the sandbox), embed (links
# libhutch.a through include/hutch.h only).
bench_build_helpers() {
    local cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -Wstrict-prototypes
        -Wmissing-prototypes -Wformat=2)
    cc "${cflags[@]}" -o "$BENCH_TMP/bin/startlat" "$BENCH_DIR/startlat.c" ||
        bench_die "cannot build bench/startlat.c"
    cc "${cflags[@]}" -static -o "$BENCH_TMP/bin/textgen" "$BENCH_DIR/textgen.c" ||
        bench_die "cannot build bench/textgen.c"
    BENCH_EMBED=""
    local pkgs
    pkgs=$(sed -n 's/^PKGS *:= *//p' "$BENCH_SRC/Makefile")
    # shellcheck disable=SC2046,SC2086
    if [ -f "$BENCH_BUILD/libhutch.a" ] &&
        cc "${cflags[@]}" -I"$BENCH_SRC/include" -o "$BENCH_TMP/bin/embed" "$BENCH_DIR/embed.c" \
            "$BENCH_BUILD/libhutch.a" $(pkg-config --libs $pkgs); then
        BENCH_EMBED=$BENCH_TMP/bin/embed
    else
        bench_log "bench: cannot build bench/embed.c against $BENCH_BUILD/libhutch.a: embed parts skipped"
    fi
    STARTLAT=$BENCH_TMP/bin/startlat
}

# One busybox rootfs for everyone (tools/mkimage), with textgen added for the output part.
bench_make_rootfs() {
    ROOTFS=$BENCH_TMP/rootfs
    "$BENCH_SRC/tools/mkimage" --rootfs "$ROOTFS" \
        --add "$BENCH_TMP/bin/textgen:/usr/bin/textgen" >/dev/null ||
        bench_die "tools/mkimage --rootfs failed"
}

# The same rootfs as an imported image, for --image runs; sets BENCH_IMAGE or leaves it empty.
bench_import_image() {
    BENCH_IMAGE=""
    local ref
    "$BENCH_SRC/tools/mkimage" --oci "$BENCH_TMP/oci" --tag hutch-bench:latest \
        --add "$BENCH_TMP/bin/textgen:/usr/bin/textgen" >/dev/null 2>&1 || return 0
    if ref=$("$HUTCH" image import "$BENCH_TMP/oci" 2>"$BENCH_TMP/out/image.err"); then
        BENCH_IMAGE=hutch-bench:latest
        "$HUTCH" run --image "$BENCH_IMAGE" -- /bin/true >/dev/null 2>&1 || BENCH_IMAGE=""
    fi
    [ -n "$BENCH_IMAGE" ] || bench_log "bench: images not available ($(head -c 200 "$BENCH_TMP/out/image.err")): --image rows skipped"
    : "$ref"
}

# ---------------------------------------------------------------- the peers

# crun 1.8.1 refuses hybrid cgroups; crun and runc run in a private mount namespace (prepared
# once by startlat -N) where the cgroup2 mount is replaced by an empty tmpfs (so it reads as
# cgroup v1 and any stray mkdir lands in a tmpfs that dies with the namespace), and where each
# v1 hierarchy in which we are not at the root is replaced by a group nested under our own, so
# `cgroupsPath: /hutch-bench-<pid>-X` lands under our own group in every hierarchy, as hutch's do.
# Never done in the host's namespace: startlat makes the namespace's mounts private first.
bench_peer_ns_setup() {
    local line ctrl path mnt sub s="umount -l /sys/fs/cgroup/unified"
    s+="; mount -t tmpfs -o size=64k,mode=755 hutch-bench /sys/fs/cgroup/unified"
    mkdir -p "$BENCH_TMP/mnt"
    while IFS= read -r line; do
        ctrl=${line#*:}; path=${ctrl#*:}; ctrl=${ctrl%%:*}
        ctrl=${ctrl#name=}
        mnt=/sys/fs/cgroup/$ctrl
        if [ -z "$ctrl" ] || [ "$path" = / ] || [ ! -d "$mnt$path" ]; then
            continue
        fi
        sub=$mnt$path/hutch-bench-$$
        mkdir -p "$sub" && BENCH_CGROUPS+=("$sub")
        s+="; mount --bind $sub $BENCH_TMP/mnt; umount -l $mnt; mount --move $BENCH_TMP/mnt $mnt"
    done </proc/self/cgroup
    BENCH_NS_SETUP=$s
}

# The docker/OCI default capability set (what hutch gives root in a sandbox).
BENCH_CAPS='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW",
"CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT",
"CAP_KILL","CAP_AUDIT_WRITE"]'

# hutch's default seccomp profile as an OCI `linux.seccomp` (the format is the same; drop the
# comments and the rules that only apply with capabilities the default set lacks).
bench_oci_seccomp() {
    jq -c '{defaultAction, defaultErrnoRet, architectures,
            syscalls: [.syscalls[] | select(.includes == null) | del(.comment, .excludes)]}' \
        "$BENCH_SRC/policies/seccomp/default.json"
}

# bench_oci_bundle NAME NAMESPACES CGROUP SECCOMP: an OCI bundle for crun/runc running
# /bin/true on the shared rootfs. NAMESPACES: space-separated OCI types; CGROUP: none|pids|
# limits (pids 1024, + memory 256m, cpu 1); SECCOMP: none|default.
bench_oci_bundle() {
    local name=$1 nss=$2 cg=$3 sc=$4 dir=$BENCH_TMP/bundles/$1 seccomp=null
    mkdir -p "$dir"
    [ "$sc" = default ] && seccomp=$(bench_oci_seccomp)
    jq -n --arg root "$ROOTFS" --arg nss "$nss" --arg cg "$cg" --arg cgpath "/hutch-bench-$$-$name" \
        --argjson caps "$BENCH_CAPS" --argjson seccomp "$seccomp" '
    {ociVersion: "1.0.2", root: {path: $root, readonly: true}, hostname: "bench",
     process: {terminal: false, user: {uid: 0, gid: 0}, args: ["/bin/true"], cwd: "/",
               env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], noNewPrivileges: true,
               capabilities: {bounding: $caps, effective: $caps, permitted: $caps},
               rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}]},
     mounts: [
       {destination: "/proc", type: "proc", source: "proc"},
       {destination: "/dev", type: "tmpfs", source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
       {destination: "/dev/pts", type: "devpts", source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
       {destination: "/dev/shm", type: "tmpfs", source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
       {destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]}],
     linux: {
       namespaces: [$nss | split(" ")[] | select(. != "") | {type: .}],
       maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                     "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                     "/sys/firmware"],
       readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]}}
    | if ($nss | test("uts") | not) then del(.hostname) else . end
    | if $cg != "none" then .linux.cgroupsPath = $cgpath
        | .linux.resources = {pids: {limit: 1024}} else . end
    | if $cg == "limits" then .linux.resources += {memory: {limit: 268435456},
                                                  cpu: {quota: 100000, period: 100000}} else . end
    | if $seccomp != null then .linux.seccomp = $seccomp else . end' >"$dir/config.json" ||
        bench_die "cannot write $dir/config.json"
    echo "$dir"
}

# ---------------------------------------------------------------- output

# Print a TSV table (first line = header) aligned for a terminal, and append it as markdown to
# the report: bench_table TITLE FILE [NOTE...]
bench_table() {
    local title=$1 file=$2
    shift 2
    printf '\n== %s\n' "$title"
    awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
                  if (NF > nf) nf = NF }
        END { for (r = 1; r <= NR; r++) { line = ""
                for (i = 1; i <= nf; i++) line = line sprintf(i == 1 ? "%-*s" : "  %*s", w[i], c[r, i])
                print line } }' "$file"
    local n
    for n in "$@"; do printf '  %s\n' "$n"; done
    {
        printf '\n### %s\n\n' "$title"
        awk -F'\t' '{ line = "|"; for (i = 1; i <= NF; i++) { c = $i; gsub(/\|/, "\\|", c); line = line " " c " |" }
                      print line
                      if (NR == 1) { line = "|"; for (i = 1; i <= NF; i++) line = line (i == 1 ? " --- |" : " ---: |"); print line } }' "$file"
        [ $# -eq 0 ] || printf '\n'
        for n in "$@"; do printf -- '- %s\n' "$n"; done
    } >>"$BENCH_TMP/report.md"
}

# A paragraph for both the terminal and the report.
bench_note() {
    printf '%s\n' "$*"
    printf '\n%s\n' "$*" >>"$BENCH_TMP/report.md"
}

bench_section() {
    printf '\n######## %s\n' "$*"
    printf '\n## %s\n' "$*" >>"$BENCH_TMP/report.md"
}

# The machine, for the report: kernel, CPU, cores, memory, cgroup mode, load.
bench_machine() {
    local mode=v1 cpu
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        mode="v2 (unified)"
    elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mode="hybrid (v1 controllers + controller-less cgroup2 at /sys/fs/cgroup/unified)"
    fi
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    printf -- "- kernel: \`%s\`\n" "$(uname -srvmo)"
    printf -- '- distribution: %s\n' "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    printf -- '- CPU: %s, %s cores online\n' "${cpu:-unknown}" "$(nproc)"
    printf -- '- memory: %s MiB\n' "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
    printf -- '- cgroups: %s\n' "$mode"
    printf -- '- load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- peers: %s; %s; %s; %s\n' "$(crun --version 2>/dev/null | head -1)" \
        "$(runc --version 2>/dev/null | head -1)" "$(bwrap --version 2>/dev/null)" \
        "$(unshare --version 2>/dev/null)"
    printf -- '- hutch: %s (%s, built %s; source tree at git %s)\n' "$HUTCH" \
        "$("$HUTCH" --version 2>/dev/null | head -1)" "$(date -u -r "$HUTCH" '+%Y-%m-%d %H:%M UTC')" \
        "$(git -C "$BENCH_SRC" describe --always --dirty 2>/dev/null || echo unknown)"
}
