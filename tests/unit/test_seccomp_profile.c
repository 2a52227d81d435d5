/* SPDX-License-Identifier: MIT */
/*
 * Seccomp profiles: the parser (every error names file, line and field), includes/excludes,
 * Docker's format, the compile + cache path, and forked children that load the shipped
 * profiles and check the exact errno of what they refuse. Loading a filter needs no
 * privileges (no_new_privs is set in the child), so these tests run as any user.
 *
 *   test_seccomp_profile           run the tests
 *   test_seccomp_profile --bench   compile vs cached prepare and load times (p50 of 200)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "seccomp.h"
#include "seccomp_profile.h"
#include "spec.h"
#include "util.h"

#define CAP(n)             (1ull << (n))
#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT  21

static const struct seccomp_profile_env env_x86 = {
    .caps = 0, .arch = SCMP_ARCH_X86_64, .kernel_major = 6, .kernel_minor = 1};

/* ---------------------------------------------------------------- helpers */

/* Parse text; on failure return the formatted error chain (caller frees), else NULL. */
static char *parse_error(const char *text, const struct seccomp_profile_env *env, int *rc)
{
    struct seccomp_profile *p = NULL;
    struct hutch_error *err = NULL;
    int r = seccomp_profile_parse(text, strlen(text), "t.json", env ? env : &env_x86, &p, &err);
    if (rc)
        *rc = r;
    seccomp_profile_free(p);
    if (r == 0)
        return NULL;
    char *s = hutch_error_format(err);
    hutch_error_free(err);
    return s;
}

static void assert_parse_error(const char *text, const char *expect)
{
    char *s = parse_error(text, NULL, NULL);
    if (!s)
        fail_msg("parsed, expected error \"%s\"", expect);
    if (!strstr(s, expect))
        fail_msg("error \"%s\" does not contain \"%s\"", s, expect);
    free(s);
}

static struct seccomp_profile *parse_ok(const char *text, const struct seccomp_profile_env *env)
{
    struct seccomp_profile *p = NULL;
    struct hutch_error *err = NULL;
    int r = seccomp_profile_parse(text, strlen(text), "t.json", env, &p, &err);
    if (r < 0) {
        char *s = hutch_error_format(err);
        fail_msg("parse failed: %s", s);
    }
    hutch_error_free(err);
    return p;
}

static bool profile_has(const struct seccomp_profile *p, const char *name, uint32_t action)
{
    for (size_t i = 0; i < p->nentries; i++)
        for (size_t j = 0; j < p->entries[i].nnames; j++)
            if (!strcmp(p->entries[i].names[j], name) && p->entries[i].action == action)
                return true;
    return false;
}

static const char *policies_dir(void)
{
    static char dir[4096];
    const char *env = getenv("HUTCH_POLICIES");
    if (env && *env)
        return env;
    if (!dir[0]) {
        /* tests run from the top of the tree; else find it from this file's path */
        struct stat st;
        if (stat("policies/seccomp/default.json", &st) == 0)
            snprintf(dir, sizeof(dir), "policies");
        else
            snprintf(dir, sizeof(dir), "%.*s/../../policies",
                     (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
    }
    return dir;
}

struct fixture {
    char root[64];
    struct hutch_ctx *ctx;
};

static struct hutch_ctx *new_ctx(const char *root)
{
    struct hutch_ctx_opts o = {
        .sz = sizeof(o), .root = root, .run_dir = root, .policies_dir = policies_dir()};
    struct hutch_ctx *ctx = NULL;
    struct hutch_error *err = NULL;
    assert_int_equal(hutch_ctx_new(&o, &ctx, &err), 0);
    return ctx;
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/hutch-seccomp-test-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->ctx = new_ctx(f->root);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    hutch_ctx_free(f->ctx);
    rm_tree_at(AT_FDCWD, f->root);
    free(f);
    return 0;
}

static const struct seccomp_prog *prepare_ok(struct hutch_ctx *ctx, const char *name, uint64_t caps)
{
    const struct seccomp_prog *prog = NULL;
    struct hutch_error *err = NULL;
    int r = seccomp_prepare(ctx, name, caps, &prog, &err);
    if (r < 0) {
        char *s = hutch_error_format(err);
        fail_msg("seccomp_prepare(%s) failed: %s", name, s);
    }
    return prog;
}

/* The one .bpf file the cache directory holds. */
static char *cache_file(const struct fixture *f)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/cache/seccomp", f->root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *found = NULL;
    for (struct dirent *de; (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".bpf")) {
            assert_null(found);
            assert_true(asprintf(&found, "%s/%s", dir, de->d_name) > 0);
        }
    }
    closedir(d);
    assert_non_null(found);
    return found;
}

/* ---------------------------------------------------------------- parser: errors */

static void test_malformed_json_names_line(void **state)
{
    assert_parse_error("{\n"
                       "  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                       "  \"syscalls\": [\n"
                       "    {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",}\n"
                       "  ]\n"
                       "}\n",
                       "t.json:4: malformed JSON");
    assert_parse_error("", "t.json:1: malformed JSON");
    assert_parse_error("{\"a\": 1, \"a\": 2}", "duplicate object key");
}

static void test_unknown_syscall_names_line_and_field(void **state)
{
    assert_parse_error("{\n"
                       "  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                       "  \"syscalls\": [\n"
                       "    {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
                       "    {\n"
                       "      \"names\": [\n"
                       "        \"write\",\n"
                       "        \"mountt\"\n"
                       "      ],\n"
                       "      \"action\": \"SCMP_ACT_ALLOW\"\n"
                       "    }\n"
                       "  ]\n"
                       "}\n",
                       "t.json:8: syscalls[1].names[1]: unknown syscall \"mountt\"");
    /* a name that is a syscall of another arch only (i386's chown32) is fine */
    assert_null(parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": "
                            "[{\"names\": [\"chown32\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                            NULL, NULL));
}

static void test_unknown_action_names_line_and_field(void **state)
{
    assert_parse_error("{\n"
                       "  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                       "  \"syscalls\": [\n"
                       "    {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
                       "    {\"names\": [\"write\"],\n"
                       "     \"action\": \"SCMP_ACT_ALOW\"}\n"
                       "  ]\n"
                       "}\n",
                       "t.json:6: syscalls[1].action: unknown action \"SCMP_ACT_ALOW\"");
    assert_parse_error("{\n\"defaultAction\": \"ALLOW\", \"syscalls\": []}",
                       "t.json:2: defaultAction: unknown action \"ALLOW\"");
}

static void test_notify_is_refused(void **state)
{
    int rc = 0;
    char *s = parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": "
                          "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                          NULL, &rc);
    assert_non_null(s);
    assert_int_equal(rc, -EOPNOTSUPP);
    assert_non_null(strstr(s, "syscalls[0].action: SCMP_ACT_NOTIFY is not supported"));
    free(s);
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [], "
                       "\"listenerPath\": \"/run/x.sock\"}",
                       "listenerPath: seccomp notify listeners are not supported");
}

static void test_bad_args(void **state)
{
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},\n"
                       "          {\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_EQUAL\"}]}]}",
                       "t.json:4: syscalls[0].args[1].op: unknown operator \"SCMP_CMP_EQUAL\"");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"args\": [\n"
                       "   {\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "t.json:4: syscalls[0].args[0].index: 6 is out of range (0..5)");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "syscalls[0].args[0].index: missing");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "syscalls[0].args[0].value: -1 is out of range");
}

static void test_missing_and_unknown_fields(void **state)
{
    assert_parse_error("{\"syscalls\": []}", "t.json:1: defaultAction: missing");
    assert_parse_error("{\n\"defaultAction\": \"SCMP_ACT_ERRNO\"\n}",
                       "t.json:1: syscalls: missing");
    assert_parse_error("[]", "a seccomp profile must be a JSON object");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"errnoret\": 1}]}",
                       "t.json:3: syscalls[0].errnoret: unknown field");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"action\": \"SCMP_ACT_ALLOW\"}]}",
                       "t.json:2: syscalls[0]: needs \"names\"");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
                       "syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a value");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000, "
                       "\"syscalls\": []}",
                       "defaultErrnoRet: 5000 is out of range (0..4095)");
    assert_parse_error(
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
        "{\"name\": \"read\", \"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
        "syscalls[0].name: use either \"name\" or \"names\"");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"includes\": {\"caps\": [\"CAP_SYS_PTRAC\"]}}]}",
                       "t.json:3: syscalls[0].includes.caps[0]: unknown capability");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
                       " \"includes\": {\"minKernel\": \"4\"}}]}",
                       "syscalls[0].includes.minKernel: \"4\" is not a kernel version");
}

static void test_architectures(void **state)
{
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [],\n"
                       "\"architectures\": [\"SCMP_ARCH_X86\"]}",
                       "t.json:2: architectures: does not list the native architecture "
                       "(SCMP_ARCH_X86_64)");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [],\n"
                       "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_VAX\"]}",
                       "t.json:2: architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [],\n"
                       "\"architectures\": [], \"archMap\": []}",
                       "use either \"architectures\" or \"archMap\"");
    /* compat arches are kept, arches that cannot run here are dropped */
    struct seccomp_profile *p =
        parse_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [], \"architectures\": "
                 "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_AARCH64\"]}",
                 &env_x86);
    assert_int_equal(p->narches, 2);
    assert_int_equal(p->arches[0], SCMP_ARCH_X86_64);
    assert_int_equal(p->arches[1], SCMP_ARCH_X86);
    seccomp_profile_free(p);
}

static void test_conflicting_unconditional_rule(void **state)
{
    /* libseccomp would let "allow ioctl" silently win over the conditional deny */
    assert_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
                       "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
                       "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_KILL\",\n"
                       " \"args\": [{\"index\": 1, \"value\": 21522, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "t.json:3: syscalls[1].names: \"ioctl\" already has a different "
                       "unconditional action in syscalls[0]");
    /* the same action twice is fine */
    assert_null(parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
                            "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                            "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                            NULL, NULL));
}

static void test_line_lookup(void **state)
{
    const char *t =
        "{\n \"a\": [\n  1,\n  {\"b\\\"\": 2, \"c\": [\n\"x\", \"y\"]}\n ],\n \"d\": 3\n}";
    size_t n = strlen(t);
    assert_int_equal(seccomp_profile_line(t, n, "a"), 2);
    assert_int_equal(seccomp_profile_line(t, n, "a[1]"), 4);
    assert_int_equal(seccomp_profile_line(t, n, "a[1].c[1]"), 5);
    assert_int_equal(seccomp_profile_line(t, n, "d"), 7);
    /* a path that does not resolve: the deepest part that does */
    assert_int_equal(seccomp_profile_line(t, n, "a[1].zz"), 4);
    assert_int_equal(seccomp_profile_line(t, n, "a[9]"), 2);
    assert_int_equal(seccomp_profile_line("", 0, "a[9]"), 1);
    assert_int_equal(seccomp_profile_line("[[[[", 4, "a[1].b[2]"), 1);
}

/* ---------------------------------------------------------------- parser: semantics */

static const char *caps_profile =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n"
    " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
    " {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"includes\": {\"caps\": [\"CAP_SYS_PTRACE\"]}},\n"
    " {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_SYS_PTRACE\"]}},\n"
    " {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38,\n"
    "  \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
    " {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"includes\": {\"arches\": [\"amd64\", \"x32\"]}},\n"
    " {\"names\": [\"cacheflush\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"includes\": {\"arches\": [\"arm\", \"arm64\"]}},\n"
    " {\"names\": [\"kcmp\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"excludes\": {\"arches\": [\"x86_64\"]}},\n"
    " {\"names\": [\"rseq\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"includes\": {\"minKernel\": \"4.18\"}},\n"
    " {\"names\": [\"uselib\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "  \"excludes\": {\"minKernel\": \"5.0\"}}\n"
    "]}";

static void test_caps_includes_excludes(void **state)
{
    struct seccomp_profile_env env = env_x86;
    struct seccomp_profile *p = parse_ok(caps_profile, &env);
    assert_true(profile_has(p, "read", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "ptrace", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "mount", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "clone3", SCMP_ACT_ERRNO(38)));
    seccomp_profile_free(p);

    env.caps = CAP(CAP_SYS_PTRACE_BIT);
    p = parse_ok(caps_profile, &env);
    assert_true(profile_has(p, "ptrace", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "mount", SCMP_ACT_ALLOW)); /* needs both caps */
    assert_true(profile_has(p, "clone3", SCMP_ACT_ERRNO(38)));
    seccomp_profile_free(p);

    env.caps = CAP(CAP_SYS_PTRACE_BIT) | CAP(CAP_SYS_ADMIN_BIT);
    p = parse_ok(caps_profile, &env);
    assert_true(profile_has(p, "mount", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "clone3", SCMP_ACT_ERRNO(38))); /* excluded by CAP_SYS_ADMIN */
    seccomp_profile_free(p);
}

static void test_arches_and_kernel_conditions(void **state)
{
    struct seccomp_profile_env env = env_x86; /* kernel 6.1 */
    struct seccomp_profile *p = parse_ok(caps_profile, &env);
    assert_true(profile_has(p, "arch_prctl", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "cacheflush", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "kcmp", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "rseq", SCMP_ACT_ALLOW));
    assert_false(profile_has(p, "uselib", SCMP_ACT_ALLOW));
    seccomp_profile_free(p);
    env.kernel_major = 4;
    env.kernel_minor = 9;
    p = parse_ok(caps_profile, &env);
    assert_false(profile_has(p, "rseq", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "uselib", SCMP_ACT_ALLOW));
    seccomp_profile_free(p);
}

/* Docker's layout: archMap, the old "name" form, comments, null subArchitectures. */
static const char *docker_profile =
    "{\n"
    "\t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
    "\t\"defaultErrnoRet\": 1,\n"
    "\t\"archMap\": [\n"
    "\t\t{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},\n"
    "\t\t{\"architecture\": \"SCMP_ARCH_X86_64\",\n"
    "\t\t \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},\n"
    "\t\t{\"architecture\": \"SCMP_ARCH_RISCV64\", \"subArchitectures\": null}\n"
    "\t],\n"
    "\t\"syscalls\": [\n"
    "\t\t{\"names\": [\"read\", \"write\", \"exit_group\", \"chown32\", \"_llseek\"],\n"
    "\t\t \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"basics\"},\n"
    "\t\t{\"name\": \"getpid\", \"action\": \"SCMP_ACT_ALLOW\", \"args\": []},\n"
    "\t\t{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "\t\t \"args\": [{\"index\": 0, \"value\": 0, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"},\n"
    "\t\t          {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},\n"
    "\t\t{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
    "\t\t \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0,\n"
    "\t\t           \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
    "\t\t \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390\", \"s390x\"]}},\n"
    "\t\t{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_TRACE\"},\n"
    "\t\t{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_LOG\"},\n"
    "\t\t{\"names\": [\"tkill\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},\n"
    "\t\t{\"names\": [\"tgkill\"], \"action\": \"SCMP_ACT_TRAP\"},\n"
    "\t\t{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}\n"
    "\t]\n"
    "}\n";

static void test_docker_format(void **state)
{
    struct seccomp_profile *p = parse_ok(docker_profile, &env_x86);
    assert_int_equal(p->default_action, SCMP_ACT_ERRNO(1));
    assert_int_equal(p->narches, 3);
    assert_int_equal(p->arches[0], SCMP_ARCH_X86_64);
    assert_int_equal(p->arches[1], SCMP_ARCH_X86);
    assert_int_equal(p->arches[2], SCMP_ARCH_X32);
    assert_true(profile_has(p, "read", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "getpid", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "chown32", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "clone", SCMP_ACT_ALLOW));
    assert_true(profile_has(p, "ptrace", SCMP_ACT_TRACE(EPERM)));
    assert_true(profile_has(p, "kill", SCMP_ACT_LOG));
    assert_true(profile_has(p, "tkill", SCMP_ACT_KILL_PROCESS));
    assert_true(profile_has(p, "tgkill", SCMP_ACT_TRAP));
    assert_int_equal(p->entries[2].nargs, 2);
    assert_int_equal(p->entries[3].args[0].op, SCMP_CMP_MASKED_EQ);
    assert_int_equal(p->entries[3].args[0].value, 2114060288u);
    assert_int_equal(p->max_nr, 234 /* tgkill */);
    seccomp_profile_free(p);
}

/* ---------------------------------------------------------------- prepare, compile, cache */

static void test_shipped_profiles_compile(void **state)
{
    struct fixture *f = *state;
    const struct seccomp_prog *d = prepare_ok(f->ctx, "default", spec_default_caps());
    const struct seccomp_prog *s = prepare_ok(f->ctx, "strict", 0);
    assert_non_null(d);
    assert_non_null(s);
    assert_true(d->len > 20 && d->len <= 4096);
    assert_true(s->len > 20 && s->len <= 4096);
    assert_true(d->compile_ns > 0);
    assert_string_equal(d->profile, "default");
    assert_true(d != s);
    /* NULL means default: the same content, caps and arch, so the same cached program */
    assert_ptr_equal(prepare_ok(f->ctx, NULL, spec_default_caps()), d);
    const struct seccomp_prog *u = (void *)1;
    struct hutch_error *err = NULL;
    assert_int_equal(seccomp_prepare(f->ctx, "unconfined", 0, &u, &err), 0);
    assert_null(u);
    assert_int_equal(seccomp_load_prog(NULL), 0);
}

static void test_prepare_errors(void **state)
{
    struct fixture *f = *state;
    const struct seccomp_prog *prog = NULL;
    struct hutch_error *err = NULL;
    assert_int_equal(seccomp_prepare(f->ctx, "/nonexistent/p.json", 0, &prog, &err), -ENOENT);
    char *s = hutch_error_format(err);
    assert_non_null(strstr(s, "/nonexistent/p.json"));
    free(s);
    hutch_err_clear(&err);

    assert_int_equal(seccomp_prepare(f->ctx, "defualt", 0, &prog, &err), -EINVAL);
    s = hutch_error_format(err);
    assert_non_null(strstr(s, "unknown profile \"defualt\""));
    free(s);
    hutch_err_clear(&err);

    char path[128];
    snprintf(path, sizeof(path), "%s/bad.json", f->root);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n"
          "  {\"names\": [\"getpid\", \"mountt\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n",
          fp);
    fclose(fp);
    assert_int_equal(seccomp_prepare(f->ctx, path, 0, &prog, &err), -EINVAL);
    s = hutch_error_format(err);
    char expect[256];
    snprintf(expect, sizeof(expect), "%s:3: syscalls[0].names[1]: unknown syscall \"mountt\"",
             path);
    if (!strstr(s, expect))
        fail_msg("\"%s\" lacks \"%s\"", s, expect);
    free(s);
    hutch_err_clear(&err);
    assert_null(prog);
}

static void test_cache_memory_and_disk(void **state)
{
    struct fixture *f = *state;
    const struct seccomp_prog *a = prepare_ok(f->ctx, "default", 0);
    assert_true(a->compile_ns > 0);
    assert_ptr_equal(prepare_ok(f->ctx, "default", 0), a); /* memory hit */

    /* another context (another hutch process): the disk cache, no compile */
    struct hutch_ctx *ctx2 = new_ctx(f->root);
    const struct seccomp_prog *b = prepare_ok(ctx2, "default", 0);
    assert_int_equal(b->compile_ns, 0);
    assert_int_equal(b->len, a->len);
    assert_memory_equal(b->filter, a->filter, a->len * 8);
    hutch_ctx_free(ctx2);

    /* other caps: another key, another program */
    const struct seccomp_prog *c = prepare_ok(f->ctx, "default", CAP(CAP_SYS_PTRACE_BIT));
    assert_true(c != a);
    assert_true(c->compile_ns > 0);
}

static void corrupt_and_check_rebuilt(struct fixture *f, void (*damage)(const char *path))
{
    prepare_ok(f->ctx, "strict", 0);
    char *file = cache_file(f);
    damage(file);
    struct hutch_ctx *ctx2 = new_ctx(f->root);
    const struct seccomp_prog *p = prepare_ok(ctx2, "strict", 0);
    assert_true(p->compile_ns > 0); /* the damaged file was not used */
    hutch_ctx_free(ctx2);
    ctx2 = new_ctx(f->root);
    assert_int_equal(prepare_ok(ctx2, "strict", 0)->compile_ns, 0); /* and was rewritten */
    hutch_ctx_free(ctx2);
    free(file);
}

static void damage_flip_byte(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, st.st_size - 3), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, st.st_size - 3), 1);
    close(fd);
}

static void damage_truncate(const char *path)
{
    assert_int_equal(truncate(path, 100), 0);
}

static void damage_empty(const char *path)
{
    assert_int_equal(truncate(path, 0), 0);
}

static void test_cache_corrupt_file_rebuilt(void **state)
{
    corrupt_and_check_rebuilt(*state, damage_flip_byte);
}

static void test_cache_short_file_rebuilt(void **state)
{
    corrupt_and_check_rebuilt(*state, damage_truncate);
}

static void test_cache_empty_file_rebuilt(void **state)
{
    corrupt_and_check_rebuilt(*state, damage_empty);
}

/* ---------------------------------------------------------------- forked children */

/* Run body in a child that loads prog first; returns the child's wait status. */
static int run_filtered(const struct seccomp_prog *prog, int (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(200);
        if (seccomp_load_prog(prog) < 0)
            _exit(201);
        _exit(body());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_body_passes(const struct seccomp_prog *prog, int (*body)(void))
{
    int status = run_filtered(prog, body);
    if (WIFSIGNALED(status))
        fail_msg("filtered child killed by signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("filtered child failed check %d", WEXITSTATUS(status));
}

#define EXPECT_ERRNO(n, call, e)                                                                   \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        if (r_ != -1 || errno != (e))                                                              \
            return (n);                                                                            \
    } while (0)
#define EXPECT_OK(n, call)                                                                         \
    do {                                                                                           \
        if ((long)(call) < 0)                                                                      \
            return (n);                                                                            \
    } while (0)

/* Fork, run fn in the grandchild, return its wait status (the filter is inherited). */
static int in_grandchild(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

static void noop(void)
{
}

static void x32_getpid(void)
{
    syscall(0x40000000 | SYS_getpid);
}

static void i386_getpid(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "0"(20L) : "memory"); /* i386 getpid */
    (void)ret;
}

static void *thread_fn(void *arg)
{
    return arg;
}

static bool killed_by_sigsys(int status)
{
    return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static int default_body(void)
{
    EXPECT_ERRNO(1, mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
    EXPECT_ERRNO(2, unshare(CLONE_NEWUSER), EPERM);
    EXPECT_ERRNO(3, syscall(SYS_keyctl, 0, -1, 0), EPERM);
    EXPECT_ERRNO(4, syscall(SYS_bpf, 0, NULL, 0), EPERM);
    /* allowed, clone3(NULL, 0) would fail with EINVAL */
    EXPECT_ERRNO(5, syscall(SYS_clone3, NULL, 0), ENOSYS);
    if (syscall(SYS_getpid) != getpid() || getpid() <= 0)
        return 6;
    EXPECT_OK(7, personality(0));
    EXPECT_OK(8, personality(0xffffffff));
    EXPECT_ERRNO(9, personality(READ_IMPLIES_EXEC), EPERM);
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (r == 0)
        _exit(0);
    if (r != -1 || errno != EPERM)
        return 10;
    EXPECT_ERRNO(11, syscall(SYS_io_uring_setup, 1, NULL), EPERM);
    EXPECT_ERRNO(12, syscall(SYS_ptrace, -1L, 0, 0, 0), EPERM);
    EXPECT_ERRNO(13, syscall(SYS_setns, -1, 0), EPERM);
    EXPECT_ERRNO(14, syscall(SYS_userfaultfd, 0), EPERM);
    EXPECT_ERRNO(15, syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
    EXPECT_ERRNO(16, syscall(SYS_init_module, NULL, 0, ""), EPERM);
    EXPECT_ERRNO(17, syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EPERM);
    /* newer than any syscall the profile names: ENOSYS, so libcs fall back */
    EXPECT_ERRNO(18, syscall(1000), ENOSYS);
    EXPECT_ERRNO(24, socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    EXPECT_ERRNO(25, syscall(SYS_socket, 0x100000000L | AF_VSOCK, SOCK_STREAM, 0), EPERM);
    EXPECT_OK(26, socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
    /* glibc's fork, pthread_create (clone3 -> ENOSYS -> clone) and a real program */
    int st = in_grandchild(noop);
    if (st == -1 || !WIFEXITED(st))
        return 19;
    pthread_t t;
    if (pthread_create(&t, NULL, thread_fn, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 20;
    if (system("exec true") != 0)
        return 21;
    /* other ABIs kill the process */
    if (!killed_by_sigsys(in_grandchild(x32_getpid)))
        return 22;
    if (!killed_by_sigsys(in_grandchild(i386_getpid)))
        return 23;
    return 0;
}

static void test_default_profile_in_child(void **state)
{
    struct fixture *f = *state;
    assert_body_passes(prepare_ok(f->ctx, "default", spec_default_caps()), default_body);
}

static int ptrace_allowed_body(void)
{
    /* allowed by the filter: the kernel's own answer for pid 0 */
    EXPECT_ERRNO(1, syscall(SYS_ptrace, -1L, 0, 0, 0), ESRCH);
    return 0;
}

static void test_default_ptrace_with_cap(void **state)
{
    struct fixture *f = *state;
    const struct seccomp_prog *p =
        prepare_ok(f->ctx, "default", spec_default_caps() | CAP(CAP_SYS_PTRACE_BIT));
    assert_body_passes(p, ptrace_allowed_body);
}

static int strict_body(void)
{
    EXPECT_ERRNO(1, socket(AF_NETLINK, SOCK_RAW, 0), EPERM);
    EXPECT_ERRNO(2, socket(AF_PACKET, SOCK_RAW, 0), EPERM);
    EXPECT_ERRNO(3, socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    EXPECT_ERRNO(16, syscall(SYS_socket, 0x100000000L | AF_INET, SOCK_STREAM, 0), EPERM);
    EXPECT_OK(4, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_OK(5, socket(AF_INET6, SOCK_DGRAM, 0));
    EXPECT_OK(6, socket(AF_UNIX, SOCK_STREAM, 0));
    int sv[2];
    EXPECT_OK(7, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char buf[4];
    struct iovec iov = {buf, sizeof(buf)};
    EXPECT_ERRNO(8, process_vm_readv(getpid(), &iov, 1, &iov, 1, 0), EPERM);
    EXPECT_ERRNO(9, syscall(SYS_ptrace, -1L, 0, 0, 0), EPERM);
    EXPECT_ERRNO(10, syscall(SYS_mbind, 0, 0, 0, 0, 0, 0), EPERM);
    EXPECT_ERRNO(11, syscall(SYS_kcmp, 0, 0, 0, 0, 0), EPERM);
    EXPECT_ERRNO(12, unshare(CLONE_NEWNS), EPERM);
    EXPECT_ERRNO(13, syscall(SYS_clone3, NULL, 0), ENOSYS);
    EXPECT_OK(14, inotify_init1(0));
    if (system("exec true") != 0)
        return 15;
    return 0;
}

static void test_strict_profile_in_child(void **state)
{
    struct fixture *f = *state;
    /* CAP_SYS_PTRACE does not bring ptrace back in strict */
    assert_body_passes(prepare_ok(f->ctx, "strict", CAP(CAP_SYS_PTRACE_BIT)), strict_body);
}

static int docker_body(void)
{
    EXPECT_OK(1, personality(8));
    EXPECT_OK(2, personality(0));
    EXPECT_ERRNO(3, personality(0x20000), EPERM);
    EXPECT_ERRNO(4, mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
    return 0;
}

static void test_docker_profile_in_child(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/docker.json", f->root);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    /* the Docker-style test profile plus what _exit and a sanitizer runtime need */
    char *text = strdup(docker_profile);
    char *at = strstr(text, "\"read\", \"write\"");
    assert_non_null(at);
    fwrite(text, 1, (size_t)(at - text), fp);
    fputs("\"exit\", \"mmap\", \"munmap\", \"mprotect\", \"madvise\", \"sigaltstack\", "
          "\"rt_sigaction\", \"rt_sigprocmask\", \"brk\", \"prlimit64\", \"getrlimit\", "
          "\"futex\", \"gettid\", \"sched_yield\", \"openat\", \"close\", ",
          fp);
    fputs(at, fp);
    fclose(fp);
    free(text);
    assert_body_passes(prepare_ok(f->ctx, path, 0), docker_body);
}

/* ---------------------------------------------------------------- --bench */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double p50_us(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return (double)v[n / 2] / 1000.0;
}

/* One filter load in a fresh child (filters stack, so never twice in one process). */
static uint64_t time_load(const struct seccomp_prog *prog)
{
    int fds[2];
    if (pipe(fds) < 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        uint64_t t0 = now_mono_ns();
        int r = seccomp_load_prog(prog);
        uint64_t dt = r == 0 ? now_mono_ns() - t0 : 0;
        write_all(fds[1], &dt, sizeof(dt));
        _exit(0);
    }
    close(fds[1]);
    uint64_t dt = 0;
    if (read(fds[0], &dt, sizeof(dt)) != sizeof(dt))
        dt = 0;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return dt;
}

static int bench(void)
{
    enum { N = 200 };
    static uint64_t compile[N], disk[N], mem[N], load[N];
    char root[] = "/tmp/hutch-seccomp-bench-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "strict" : "default";
        size_t len = 0;
        for (int i = 0; i < N; i++) {
            rm_tree_at(AT_FDCWD, root);
            mkdir(root, 0700);
            struct hutch_ctx *ctx = new_ctx(root);
            uint64_t t0 = now_mono_ns();
            const struct seccomp_prog *p = prepare_ok(ctx, name, spec_default_caps());
            compile[i] = now_mono_ns() - t0;
            if (p->compile_ns == 0)
                return 1;
            hutch_ctx_free(ctx);
        }
        for (int i = 0; i < N; i++) {
            struct hutch_ctx *ctx = new_ctx(root);
            uint64_t t0 = now_mono_ns();
            const struct seccomp_prog *p = prepare_ok(ctx, name, spec_default_caps());
            disk[i] = now_mono_ns() - t0;
            if (p->compile_ns != 0)
                return 1;
            t0 = now_mono_ns();
            prepare_ok(ctx, name, spec_default_caps());
            mem[i] = now_mono_ns() - t0;
            load[i] = time_load(p);
            len = p->len;
            hutch_ctx_free(ctx);
        }
        printf("%s (%zu BPF instructions), p50 of %d:\n"
               "  prepare, compile (parse + libseccomp + export + store): %8.1f us\n"
               "  prepare, disk cache (read + sha256 + read .bpf):       %8.1f us\n"
               "  prepare, memory cache (read + sha256):                 %8.1f us\n"
               "  seccomp(SET_MODE_FILTER) of the program in a child:    %8.1f us\n",
               name, len, N, p50_us(compile, N), p50_us(disk, N), p50_us(mem, N), p50_us(load, N));
    }
    rm_tree_at(AT_FDCWD, root);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json_names_line),
        cmocka_unit_test(test_unknown_syscall_names_line_and_field),
        cmocka_unit_test(test_unknown_action_names_line_and_field),
        cmocka_unit_test(test_notify_is_refused),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_missing_and_unknown_fields),
        cmocka_unit_test(test_architectures),
        cmocka_unit_test(test_conflicting_unconditional_rule),
        cmocka_unit_test(test_line_lookup),
        cmocka_unit_test(test_caps_includes_excludes),
        cmocka_unit_test(test_arches_and_kernel_conditions),
        cmocka_unit_test(test_docker_format),
        cmocka_unit_test_setup_teardown(test_shipped_profiles_compile, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_errors, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_memory_and_disk, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_corrupt_file_rebuilt, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_short_file_rebuilt, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_empty_file_rebuilt, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_default_profile_in_child, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_default_ptrace_with_cap, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_strict_profile_in_child, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_docker_profile_in_child, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
