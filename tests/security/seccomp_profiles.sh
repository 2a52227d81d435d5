#!/usr/bin/env bash
# --security-opt seccomp=... (issue 5): every profile hutch ships loads; a Docker-format profile
# given as a file behaves as Docker would for the rules it states (exact errnos); a bad profile
# is exit 125 with one message naming the file, the line and the field.
. "$(dirname "$0")/../lib.sh"
t_begin

POLICIES=$(cd "$(dirname "$0")/../../policies/seccomp" && pwd)

profile() { # NAME: writes stdin to $C_DIR/NAME.json, prints the path
    cat >"$C_DIR/$1.json"
    echo "$C_DIR/$1.json"
}

test_shipped_profiles_load() {
    local p seen=0
    for p in default strict unconfined "$POLICIES"/*.json; do
        hr --security-opt "seccomp=$p" -- sh -c 'attack nop; attack caps'
        assert_status 0 "status with seccomp=$p"
        assert_line "$out" "nop: OK"
        if [ "$p" = unconfined ]; then
            assert_line "$out" "Seccomp:	0"
        else
            assert_line "$out" "Seccomp:	2"
        fi
        seen=$((seen + 1))
    done
    assert_ge "$seen" 5 "profiles tried"
}
test_case "default, strict, unconfined and every policies/seccomp/*.json load" \
    test_shipped_profiles_load

test_shipped_profiles_as_user() {
    local p
    for p in default strict "$POLICIES"/*.json; do
        hr -u 1000 --security-opt "seccomp=$p" -- attack nop
        assert_status 0 "status with seccomp=$p as uid 1000"
    done
}
test_case "the shipped profiles load for a non-root user too" test_shipped_profiles_as_user

test_profiles_without_nnp() {
    # no-new-privileges=false must still run with the default filter (root without
    # CAP_SYS_ADMIN, and a non-root user: the filter is loaded while hutch may still do so)
    hr --security-opt no-new-privileges=false -- attack caps
    assert_status 0 "root, no-new-privileges=false"
    assert_line "$out" "NoNewPrivs:	0"
    assert_line "$out" "Seccomp:	2"
    hr -u 1000 --security-opt no-new-privileges=false -- attack caps
    assert_status 0 "uid 1000, no-new-privileges=false"
    assert_line "$out" "NoNewPrivs:	0"
    assert_line "$out" "Seccomp:	2"
}
test_case "--security-opt no-new-privileges=false runs with the default filter loaded" \
    test_profiles_without_nnp

test_strict_is_stricter() {
    hr --security-opt seccomp=strict --cap-add SYS_PTRACE -- sh -c 'attack ptrace child;
        attack mount; attack keyctl; attack i386'
    assert_line "$out" "ptrace-child: EPERM" # strict: no tracing, whatever the capabilities
    assert_line "$out" "mount: EPERM"
    assert_line "$out" "keyctl: EPERM"
    assert_line "$out" "i386-getpid: SIGSYS"
}
test_case "strict: no ptrace even with CAP_SYS_PTRACE; the default's refusals hold" \
    test_strict_is_stricter

test_docker_deny_one() {
    local p
    p=$(profile deny-mkdir <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
  ]
}
EOF
    )
    hr --security-opt "seccomp=$p" -- sh -c 'attack mkdir; attack mkdirat; attack getpid;
        attack mount; attack keyctl'
    assert_line "$out" "mkdir: EPERM"    # SCMP_ACT_ERRNO without errnoRet: EPERM, as Docker
    assert_line "$out" "mkdirat: OK"     # only the syscall named
    assert_line "$out" "getpid: EACCES"  # errnoRet 13
    assert_line "$out" "mount: EPERM"    # allowed by the profile, refused by the kernel
    assert_line "$out" "keyctl: OK"      # allowed: this profile's choice
}
test_case "Docker profile: allow all but mkdir -> mkdir EPERM, errnoRet 13 -> EACCES" \
    test_docker_deny_one

test_docker_allowlist() {
    local p
    p=$(profile allowlist <<'EOF'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 95,
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {
      "names": ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                "prlimit64", "readlink", "getrandom", "mprotect", "newfstatat", "fstat",
                "write", "exit_group", "getpid"],
      "action": "SCMP_ACT_ALLOW"
    }
  ]
}
EOF
    )
    hr --security-opt "seccomp=$p" -- attack getpid
    assert_status 0
    assert_eq "getpid: OK" "$out"
    hr --security-opt "seccomp=$p" -- attack mkdir
    assert_eq "mkdir: EOPNOTSUPP" "$out" "mkdir (defaultErrnoRet 95)"
    # newer than any syscall named: ENOSYS, as runc does (libc falls back)
    hr --security-opt "seccomp=$p" -- attack clone3-newuser
    assert_eq "clone3-newuser: ENOSYS" "$out"
    # without defaultErrnoRet: EPERM
    jq 'del(.defaultErrnoRet)' "$p" >"$C_DIR/allowlist-eperm.json"
    hr --security-opt "seccomp=$C_DIR/allowlist-eperm.json" -- attack mkdir
    assert_eq "mkdir: EPERM" "$out" "mkdir (no defaultErrnoRet)"
}
test_case "Docker profile: defaultAction ERRNO + an allow list (defaultErrnoRet 95, EPERM)" \
    test_docker_allowlist

test_docker_conditions() {
    local p
    p=$(profile conditions <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
     "args": [{"index": 0, "value": 262144, "op": "SCMP_CMP_EQ"}]},
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28,
     "includes": {"caps": ["CAP_NET_RAW"]}},
    {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30,
     "excludes": {"caps": ["CAP_NET_RAW"]}}
  ]
}
EOF
    )
    # args: personality(ADDR_NO_RANDOMIZE = 0x40000) matches, EINVAL
    hr --security-opt "seccomp=$p" -- sh -c 'attack personality; attack mkdir; attack mkdirat'
    assert_line "$out" "personality: EINVAL"
    # includes caps: applies with CAP_NET_RAW (root's default); excludes: dropped with it
    assert_line "$out" "mkdir: ENOSPC"
    assert_line "$out" "mkdirat: OK"
    hr --cap-drop NET_RAW --security-opt "seccomp=$p" -- sh -c 'attack mkdir; attack mkdirat'
    assert_line "$out" "mkdir: OK"
    assert_line "$out" "mkdirat: EROFS"
    # SCMP_ACT_KILL_PROCESS: killed by SIGSYS, hutch reports 128 + 31
    jq '.syscalls = [{names: ["getpid"], action: "SCMP_ACT_KILL_PROCESS"}]' "$p" >"$C_DIR/kill.json"
    hr --security-opt "seccomp=$C_DIR/kill.json" -- attack getpid
    assert_status 159
    assert_eq "" "$out" "output"
}
test_case "Docker profile: args, includes/excludes caps, SCMP_ACT_KILL_PROCESS" \
    test_docker_conditions

test_docker_architectures() {
    local p
    p=$(profile arches <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
}
EOF
    )
    # i386 listed: its calls are allowed by the rules; x32 is not listed: killed
    hr --security-opt "seccomp=$p" -- sh -c 'attack i386; attack x32'
    assert_line "$out" "i386-getpid: OK"
    assert_line "$out" "x32-getpid: SIGSYS"
    jq '.architectures = ["SCMP_ARCH_X86_64"]' "$p" >"$C_DIR/native.json"
    hr --security-opt "seccomp=$C_DIR/native.json" -- sh -c 'attack i386; attack x32'
    assert_line "$out" "i386-getpid: SIGSYS"
    assert_line "$out" "x32-getpid: SIGSYS"
}
test_case "Docker profile: architectures decide which ABIs get through" \
    test_docker_architectures

bad_profile() { # NAME LINE FIELD-TEXT...: the run fails with 125 and one line naming them
    local p=$C_DIR/$1.json line=$2
    shift 2
    hr --security-opt "seccomp=$p" -- attack nop
    assert_status 125
    assert_one_error_line "$p:$line:"
    local f
    for f in "$@"; do assert_contains "$err" "$f" "stderr"; done
    assert_eq 0 "$(ev_count process.start)" "process.start events"
}

test_bad_syscall_name() {
    profile bad-name >/dev/null <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getpid",
               "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}
  ]
}
EOF
    bad_profile bad-name 5 "syscalls[0].names[1]" "no_such_syscall"
}
test_case "an unknown syscall name: 125, file:line: syscalls[0].names[1]" test_bad_syscall_name

test_bad_action() {
    profile bad-action >/dev/null <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getpid"],
     "action": "SCMP_ACT_EXPLODE"}
  ]
}
EOF
    bad_profile bad-action 5 "syscalls[0].action" "SCMP_ACT_EXPLODE"
    profile bad-default >/dev/null <<'EOF'
{

  "defaultAction": "SCMP_ACT_NOPE"
}
EOF
    bad_profile bad-default 3 "defaultAction" "SCMP_ACT_NOPE"
}
test_case "an unknown action: 125, file:line: the field (syscalls[0].action, defaultAction)" \
    test_bad_action

test_malformed_json() {
    # a comma missing on line 4
    profile malformed >/dev/null <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["getpid"] "action": "SCMP_ACT_ERRNO"}
  ]
}
EOF
    bad_profile malformed 4 "malformed JSON"
    printf '{"defaultAction": "SCMP_ACT_ALLOW",\n"syscalls": [\n' >"$C_DIR/truncated.json"
    bad_profile truncated 3 "malformed JSON"
}
test_case "malformed JSON: 125, file:line" test_malformed_json

test_bad_profile_path() {
    hr --security-opt "seccomp=$C_DIR/missing.json" -- attack nop
    assert_status 125
    assert_one_error_line "$C_DIR/missing.json"
    hr --security-opt "seccomp=nonsense" -- attack nop
    assert_status 125
    assert_one_error_line "nonsense"
}
test_case "a missing profile file or an unknown profile name: 125 naming it" \
    test_bad_profile_path

t_end
