/* SPDX-License-Identifier: MIT */
/* Unit tests of the spec setters (src/lib/spec.c): every option, good and bad values, and
 * errors that name the option. No privileges needed. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "spec.h"

#define CAPBIT(n) (1ull << (n))

static int setup(void **state)
{
    struct hutch_spec *s = NULL;
    assert_int_equal(hutch_spec_new(&s), 0);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    hutch_spec_free(*state);
    return 0;
}

/* Sets an option that must be accepted. */
static void set_ok_(struct hutch_spec *s, const char *opt, const char *val, int line)
{
    struct hutch_error *err = NULL;
    int r = spec_set(s, opt, val, &err);
    if (r != 0)
        print_error("line %d: %s=%s rejected: %s\n", line, opt, val ? val : "(null)",
                    err ? err->message : "(no error)");
    assert_int_equal(r, 0);
    assert_null(err);
}
#define set_ok(s, o, v) set_ok_((s), (o), (v), __LINE__)

/*
 * Sets an option that must be refused with -EINVAL and an error whose subject is the option's
 * flag (e.g. "--volume") and whose message quotes the value.
 */
static void set_bad_quoting_(struct hutch_spec *s, const char *opt, const char *val,
                             const char *flag, const char *quoted, int line)
{
    struct hutch_error *err = NULL;
    int r = spec_set(s, opt, val, &err);
    if (r != -EINVAL)
        print_error("line %d: %s=%s: expected -EINVAL, got %d\n", line, opt, val, r);
    assert_int_equal(r, -EINVAL);
    assert_non_null(err);
    assert_int_equal(err->errnum, EINVAL);
    assert_int_equal(err->exit_status, 125);
    assert_non_null(err->subject);
    if (strcmp(err->subject, flag))
        print_error("line %d: subject '%s', expected '%s'\n", line, err->subject, flag);
    assert_string_equal(err->subject, flag);
    assert_non_null(err->message);
    if (quoted && *quoted && !strstr(err->message, quoted))
        print_error("line %d: message '%s' does not quote '%s'\n", line, err->message, quoted);
    if (quoted && *quoted)
        assert_non_null(strstr(err->message, quoted));
    /* the whole chain formatted on one line names the option too */
    char *line_text = hutch_error_format(err);
    assert_non_null(line_text);
    assert_non_null(strstr(line_text, flag));
    assert_null(strchr(line_text, '\n'));
    free(line_text);
    hutch_error_free(err);
}
static void set_bad_(struct hutch_spec *s, const char *opt, const char *val, const char *flag,
                     int line)
{
    set_bad_quoting_(s, opt, val, flag, val, line);
}
#define set_bad(s, o, v) set_bad_((s), (o), (v), "--" o, __LINE__)
/* refused, with a message that quotes q (a part of the value) */
#define set_bad_q(s, o, v, q) set_bad_quoting_((s), (o), (v), "--" o, (q), __LINE__)

/* ------------------------------------------------------------------ defaults */

static void test_defaults(void **state)
{
    struct hutch_spec *s = *state;
    assert_true(s->init);
    assert_true(s->no_new_privs);
    assert_false(s->read_only);
    assert_false(s->tty);
    assert_false(s->interactive);
    assert_false(s->privileged);
    assert_int_equal(s->kill_grace_ns, 10ull * 1000000000ull);
    assert_int_equal(s->timeout_ns, 0);
    assert_int_equal(s->max_output, 0);
    assert_int_equal(s->pids_limit, 1024);
    assert_int_equal(s->net, SPEC_NET_NONE);
    assert_int_equal(s->userns, SPEC_USERNS_HOST);
    assert_int_equal(s->argc, 0);
    assert_non_null(s->argv);
    assert_null(s->argv[0]);
    assert_non_null(s->env);
    assert_null(s->env[0]);
    assert_null(s->rootfs);
    assert_null(s->user);
    assert_null(s->hostname);
    assert_int_equal(s->cap_add, 0);
    assert_int_equal(s->cap_drop, 0);
    assert_false(s->cap_drop_all);
    assert_int_equal(spec_validate(s, NULL), 0);
}

static void test_unknown_option(void **state)
{
    struct hutch_error *err = NULL;
    assert_int_equal(spec_set(*state, "no-such-option", "x", &err), -EINVAL);
    assert_non_null(err);
    assert_string_equal(err->subject, "no-such-option");
    assert_non_null(strstr(err->message, "unknown option"));
    hutch_error_free(err);
    err = NULL;
    assert_int_equal(spec_set(*state, NULL, "x", &err), -EINVAL);
    assert_non_null(err);
    hutch_error_free(err);
    /* through the public entry point too, and without an error pointer */
    assert_int_equal(hutch_spec_set(*state, "bogus", "1", NULL), -EINVAL);
    assert_int_equal(hutch_spec_set(NULL, "rootfs", "/", NULL), -EINVAL);
}

/* ------------------------------------------------------------------ argv */

static void test_argv(void **state)
{
    struct hutch_spec *s = *state;
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    assert_int_equal(hutch_spec_set_argv(s, 3, argv, NULL), 0);
    assert_int_equal(s->argc, 3);
    assert_string_equal(s->argv[0], "sh");
    assert_string_equal(s->argv[2], "echo hi");
    assert_null(s->argv[3]);
    /* replaced, not appended */
    const char *argv2[] = {"true"};
    assert_int_equal(hutch_spec_set_argv(s, 1, argv2, NULL), 0);
    assert_int_equal(s->argc, 1);
    assert_string_equal(s->argv[0], "true");
    assert_null(s->argv[1]);
    /* empty argv is allowed (an image may supply the command) */
    assert_int_equal(hutch_spec_set_argv(s, 0, NULL, NULL), 0);
    assert_int_equal(s->argc, 0);
    assert_null(s->argv[0]);
}

static void test_argv_bad(void **state)
{
    struct hutch_spec *s = *state;
    struct hutch_error *err = NULL;
    const char *empty[] = {"", "x"};
    assert_int_equal(hutch_spec_set_argv(s, 2, empty, &err), -EINVAL);
    assert_non_null(err);
    assert_string_equal(err->subject, "command");
    hutch_error_free(err);
    err = NULL;
    const char *hole[] = {"sh", NULL, "x"};
    assert_int_equal(hutch_spec_set_argv(s, 3, hole, &err), -EINVAL);
    hutch_error_free(err);
    err = NULL;
    assert_int_equal(hutch_spec_set_argv(s, -1, empty, &err), -EINVAL);
    hutch_error_free(err);
    err = NULL;
    assert_int_equal(hutch_spec_set_argv(s, 2, NULL, &err), -EINVAL);
    hutch_error_free(err);
    /* a refused argv leaves the previous one in place */
    assert_int_equal(s->argc, 0);
}

/* ------------------------------------------------------------------ rootfs, image */

static void test_rootfs(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "rootfs", "/srv/rootfs");
    assert_string_equal(s->rootfs, "/srv/rootfs");
    /* relative paths are made absolute against the working directory */
    char cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/some/dir", cwd);
    set_ok(s, "rootfs", "some/dir");
    assert_string_equal(s->rootfs, want);
    set_bad(s, "rootfs", "");
}

static void test_image(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "image", "busybox:latest");
    assert_string_equal(s->image, "busybox:latest");
    set_bad(s, "image", "");
}

static void test_rootfs_and_image_conflict(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "rootfs", "/r");
    set_ok(s, "image", "busybox");
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_non_null(err);
    assert_string_equal(err->subject, "--rootfs");
    hutch_error_free(err);
}

/* --bare: what needs a container is refused, naming the option; limits are fine */
static void test_bare_refuses_container_options(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        {"rootfs", "/r", "--rootfs"},         {"image", "x", "--image"},
        {"volume", "/a:/b", "--volume"},      {"tmpfs", "/t", "--tmpfs"},
        {"read-only", "true", "--read-only"}, {"hostname", "h", "--hostname"},
        {"userns", "auto", "--userns"},       {"privileged", "true", "--privileged"},
        {"cap-drop", "ALL", "--cap-add/--cap-drop"},
        {"security-opt", "seccomp=default", "--security-opt seccomp"},
        {"network", "bridge", "--network"},   {"upper-size", "64M", "--upper-size"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hutch_spec *s = NULL;
        assert_int_equal(hutch_spec_new(&s), 0);
        const char *argv[] = {"true"};
        assert_int_equal(hutch_spec_set_argv(s, 1, argv, NULL), 0);
        set_ok(s, "bare", "true");
        set_ok(s, bad[i][0], bad[i][1]);
        struct hutch_error *err = NULL;
        assert_int_equal(spec_validate(s, &err), -EINVAL);
        assert_non_null(err);
        assert_string_equal(err->subject, bad[i][2]);
        hutch_error_free(err);
        hutch_spec_free(s);
    }
}

static void test_bare_takes_limits_and_host_network(void **state)
{
    struct hutch_spec *s = *state;
    const char *argv[] = {"make", "-j2"};
    assert_int_equal(hutch_spec_set_argv(s, 2, argv, NULL), 0);
    set_ok(s, "bare", "true");
    set_ok(s, "memory", "256M");
    set_ok(s, "pids-limit", "100");
    set_ok(s, "timeout", "5");
    set_ok(s, "network", "host");
    set_ok(s, "user", "65534");
    set_ok(s, "workdir", "/srv");
    assert_true(s->bare);
    assert_int_equal(spec_validate(s, NULL), 0);
}

static void test_bare_needs_a_command(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "bare", "true");
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_string_equal(err->subject, "command");
    hutch_error_free(err);
    set_bad(s, "bare", "maybe");
}

/* kill's and StopSignal's signal names: one table for the CLI and the library */
static void test_signal_from_name(void **state)
{
    (void)state;
    assert_int_equal(hutch_signal_from_name("TERM"), SIGTERM);
    assert_int_equal(hutch_signal_from_name("SIGINT"), SIGINT);
    assert_int_equal(hutch_signal_from_name("sigkill"), SIGKILL);
    assert_int_equal(hutch_signal_from_name("usr1"), SIGUSR1);
    assert_int_equal(hutch_signal_from_name("15"), 15);
    assert_int_equal(hutch_signal_from_name("SIGPWR"), SIGPWR);
    assert_int_equal(hutch_signal_from_name("0"), -EINVAL);
    assert_int_equal(hutch_signal_from_name("65"), -EINVAL);
    assert_int_equal(hutch_signal_from_name("SIGNOPE"), -EINVAL);
    assert_int_equal(hutch_signal_from_name("SIG"), -EINVAL);
    assert_int_equal(hutch_signal_from_name(""), -EINVAL);
    assert_int_equal(hutch_signal_from_name(NULL), -EINVAL);
    assert_int_equal(hutch_signal_from_name("-9"), -EINVAL);
}

/* ------------------------------------------------------------------ env, workdir, user */

static void test_env(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "env", "A=1");
    set_ok(s, "env", "B=");
    set_ok(s, "env", "C=x=y");
    set_ok(s, "env", "A=2"); /* replaces A=1 */
    assert_int_equal(s->nenv, 3);
    assert_string_equal(s->env[0], "A=2");
    assert_string_equal(s->env[1], "B=");
    assert_string_equal(s->env[2], "C=x=y");
    assert_null(s->env[3]);
    /* a key that is a prefix of another is a different key */
    set_ok(s, "env", "AB=3");
    assert_int_equal(s->nenv, 4);
    assert_string_equal(s->env[0], "A=2");
}

static void test_env_from_caller(void **state)
{
    struct hutch_spec *s = *state;
    setenv("HUTCH_TEST_SPEC_VAR", "from-host", 1);
    unsetenv("HUTCH_TEST_SPEC_UNSET");
    set_ok(s, "env", "HUTCH_TEST_SPEC_VAR");
    set_ok(s, "env", "HUTCH_TEST_SPEC_UNSET"); /* unset in the caller: nothing added */
    assert_int_equal(s->nenv, 1);
    assert_string_equal(s->env[0], "HUTCH_TEST_SPEC_VAR=from-host");
}

static void test_env_bad(void **state)
{
    struct hutch_spec *s = *state;
    set_bad(s, "env", "=value");
    set_bad(s, "env", "");
    set_bad(s, "env", "A B=1");
    set_bad(s, "env", "A\tB=1");
    assert_int_equal(s->nenv, 0);
}

static void test_workdir(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "workdir", "/");
    set_ok(s, "workdir", "/home/tester/src");
    assert_string_equal(s->workdir, "/home/tester/src");
    set_ok(s, "workdir", "/a/..b/c."); /* names that only start with dots are fine */
    set_bad(s, "workdir", "relative/dir");
    set_bad(s, "workdir", "");
    set_bad(s, "workdir", "/a/../b");
    set_bad(s, "workdir", "/..");
    assert_string_equal(s->workdir, "/a/..b/c.");
}

static void test_user(void **state)
{
    struct hutch_spec *s = *state;
    const char *good[] = {"0", "1000", "1000:1000", "tester", "tester:testgrp", "nobody",
                          "_apt", "www-data", "a.b", "65534:65534"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(s, "user", good[i]);
        assert_string_equal(s->user, good[i]);
    }
    const char *bad[] = {"", ":", "1000:", ":1000", "a:b:c", "us er", "a/b", "x;y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "user", bad[i]);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    set_bad(s, "user", longname);
    assert_string_equal(s->user, "65534:65534");
}

static void test_hostname(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "hostname", "box");
    set_ok(s, "hostname", "my-box.example_1");
    assert_string_equal(s->hostname, "my-box.example_1");
    char h64[65], h65[66];
    memset(h64, 'h', 64);
    h64[64] = '\0';
    memset(h65, 'h', 65);
    h65[65] = '\0';
    set_ok(s, "hostname", h64);
    set_bad(s, "hostname", h65);
    set_bad(s, "hostname", "");
    set_bad(s, "hostname", "bad host");
    set_bad(s, "hostname", "a/b");
    set_bad(s, "hostname", "ünïcode");
    assert_string_equal(s->hostname, h64);
}

/* ------------------------------------------------------------------ volumes, tmpfs */

static void test_volume(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "volume", "/srv/data:/data");
    set_ok(s, "volume", "/srv/ro:/ro:ro");
    set_ok(s, "volume", "/srv/rw:/rw:rw");
    set_ok(s, "volume", "/srv/x:/x:rw,ro"); /* the last mode wins */
    assert_int_equal(s->nvolumes, 4);
    assert_string_equal(s->volumes[0].src, "/srv/data");
    assert_string_equal(s->volumes[0].dst, "/data");
    assert_false(s->volumes[0].ro);
    assert_true(s->volumes[1].ro);
    assert_false(s->volumes[2].ro);
    assert_true(s->volumes[3].ro);
}

static void test_volume_bad(void **state)
{
    struct hutch_spec *s = *state;
    const char *bad[] = {
        "/srv/data",          /* no destination */
        "relative:/data",     /* relative source */
        "/srv/data:relative", /* relative destination */
        "/srv/data:/data:rx", /* unknown mode */
        "/srv/data:/",        /* over the root */
        "/srv/data:/proc",    /* over /proc */
        "/srv/data:/proc/sys",
        "/srv/../etc:/data", /* dot-dot */
        "/srv/data:/a/../b",
        ":/data",
        "/srv/data:",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "volume", bad[i]);
    assert_int_equal(s->nvolumes, 0);
}

static void test_volume_duplicate_destination(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "volume", "/a:/data");
    set_ok(s, "volume", "/b:/data");
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_non_null(err);
    assert_string_equal(err->subject, "--volume");
    assert_non_null(strstr(err->message, "/data"));
    hutch_error_free(err);
}

static void test_tmpfs(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "tmpfs", "/scratch");
    set_ok(s, "tmpfs", "/small:size=1M,mode=700");
    set_ok(s, "tmpfs", "/k:size=64k");
    set_ok(s, "tmpfs", "/m:mode=0755");
    assert_int_equal(s->ntmpfs, 4);
    assert_string_equal(s->tmpfs[0].dst, "/scratch");
    assert_int_equal(s->tmpfs[0].size, 0);
    assert_int_equal(s->tmpfs[0].mode, 01777);
    assert_string_equal(s->tmpfs[1].dst, "/small");
    assert_int_equal(s->tmpfs[1].size, 1 << 20);
    assert_int_equal(s->tmpfs[1].mode, 0700);
    assert_int_equal(s->tmpfs[2].size, 64 << 10);
    assert_int_equal(s->tmpfs[3].mode, 0755);
}

static void test_tmpfs_bad(void **state)
{
    struct hutch_spec *s = *state;
    const char *bad[] = {"relative", "/", "", "/x:size=0", "/x:size=abc", "/x:size=-1",
                         "/x:mode=800", "/x:mode=17777", "/x:mode=", "/x:uid=0",
                         "/a/../b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "tmpfs", bad[i]);
    assert_int_equal(s->ntmpfs, 0);
}

/* ------------------------------------------------------------------ booleans */

static void check_bool_option(struct hutch_spec *s, const char *opt, const char *flag, bool *field)
{
    set_ok_(s, opt, "", __LINE__);
    assert_true(*field);
    set_ok_(s, opt, "false", __LINE__);
    assert_false(*field);
    set_ok_(s, opt, "true", __LINE__);
    assert_true(*field);
    set_ok_(s, opt, "0", __LINE__);
    assert_false(*field);
    set_ok_(s, opt, "yes", __LINE__);
    assert_true(*field);
    set_ok_(s, opt, "no", __LINE__);
    assert_false(*field);
    set_ok_(s, opt, NULL, __LINE__); /* a flag without a value */
    assert_true(*field);
    set_bad_(s, opt, "maybe", flag, __LINE__);
    set_bad_(s, opt, "TRUE!", flag, __LINE__);
    assert_true(*field);
}

static void test_bools(void **state)
{
    struct hutch_spec *s = *state;
    check_bool_option(s, "read-only", "--read-only", &s->read_only);
    check_bool_option(s, "tty", "--tty", &s->tty);
    check_bool_option(s, "interactive", "--interactive", &s->interactive);
    check_bool_option(s, "init", "--init", &s->init);
    check_bool_option(s, "privileged", "--privileged", &s->privileged);
    check_bool_option(s, "nat", "--nat", &s->nat);
}

/* ------------------------------------------------------------------ capabilities */

static void test_cap_names(void **state)
{
    assert_int_equal(spec_cap_from_name("CAP_CHOWN"), 0);
    assert_int_equal(spec_cap_from_name("chown"), 0);
    assert_int_equal(spec_cap_from_name("cap_sys_admin"), 21);
    assert_int_equal(spec_cap_from_name("SYS_ADMIN"), 21);
    assert_int_equal(spec_cap_from_name("NET_RAW"), 13);
    assert_int_equal(spec_cap_from_name("CHECKPOINT_RESTORE"), 40);
    assert_int_equal(spec_cap_from_name("BPF"), 39);
    assert_int_equal(spec_cap_from_name("ALL"), -EINVAL);
    assert_int_equal(spec_cap_from_name("CAP_"), -EINVAL);
    assert_int_equal(spec_cap_from_name(""), -EINVAL);
    assert_int_equal(spec_cap_from_name(NULL), -EINVAL);
    assert_int_equal(spec_cap_from_name("SYS_ADMINX"), -EINVAL);
    for (int i = 0; i <= SPEC_CAP_LAST; i++) {
        const char *n = spec_cap_name(i);
        assert_non_null(n);
        assert_int_equal(spec_cap_from_name(n), i); /* names round-trip */
    }
    assert_null(spec_cap_name(-1));
    assert_null(spec_cap_name(SPEC_CAP_LAST + 1));
}

static void test_default_caps_are_oci(void **state)
{
    /* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
     * SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP: the OCI runtime spec's (and Docker's) default */
    assert_int_equal(spec_default_caps(), 0xa80425fbull);
}

static void test_cap_add_drop(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "cap-add", "SYS_ADMIN");
    set_ok(s, "cap-add", "cap_net_admin");
    assert_int_equal(s->cap_add, CAPBIT(21) | CAPBIT(12));
    set_ok(s, "cap-drop", "NET_RAW");
    assert_int_equal(s->cap_drop, CAPBIT(13));
    /* dropping what was added takes it back out of the added set, and the other way round */
    set_ok(s, "cap-drop", "SYS_ADMIN");
    assert_int_equal(s->cap_add, CAPBIT(12));
    assert_int_equal(s->cap_drop, CAPBIT(13) | CAPBIT(21));
    set_ok(s, "cap-add", "NET_RAW");
    assert_int_equal(s->cap_drop, CAPBIT(21));
    assert_true((s->cap_add & CAPBIT(13)) != 0);
    assert_false(s->cap_drop_all);
}

static void test_cap_drop_all(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "cap-add", "SYS_PTRACE");
    set_ok(s, "cap-drop", "ALL");
    assert_true(s->cap_drop_all);
    assert_int_equal(s->cap_add, 0);
    /* docker: --cap-drop ALL --cap-add X keeps X */
    set_ok(s, "cap-add", "NET_BIND_SERVICE");
    assert_true(s->cap_drop_all);
    assert_int_equal(s->cap_add, CAPBIT(10));
    set_ok(s, "cap-drop", "all");
    assert_int_equal(s->cap_add, 0);
}

static void test_cap_add_all(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "cap-add", "ALL");
    assert_int_equal(s->cap_add, (CAPBIT(SPEC_CAP_LAST) << 1) - 1);
}

static void test_cap_bad(void **state)
{
    struct hutch_spec *s = *state;
    set_bad(s, "cap-add", "SYS_EVERYTHING");
    set_bad(s, "cap-add", "");
    set_bad(s, "cap-drop", "CAP_NOPE");
    set_bad(s, "cap-drop", "41");
    assert_int_equal(s->cap_add, 0);
    assert_int_equal(s->cap_drop, 0);
}

/* ------------------------------------------------------------------ supervision */

static void test_timeouts(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "timeout", "10");
    assert_int_equal(s->timeout_ns, 10ull * 1000000000ull);
    set_ok(s, "timeout", "0.5");
    assert_int_equal(s->timeout_ns, 500000000ull);
    set_ok(s, "timeout", "2.25s");
    assert_int_equal(s->timeout_ns, 2250000000ull);
    set_ok(s, "timeout", "0");
    assert_int_equal(s->timeout_ns, 0);
    set_ok(s, "kill-grace", "0");
    assert_int_equal(s->kill_grace_ns, 0);
    set_ok(s, "kill-grace", "1.5");
    assert_int_equal(s->kill_grace_ns, 1500000000ull);
    const char *bad[] = {"-1", "", "abc", "1m", "1.2.3", "ten", " 1", "1e3", "99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_bad(s, "timeout", bad[i]);
        set_bad(s, "kill-grace", bad[i]);
    }
    assert_int_equal(s->timeout_ns, 0);
    assert_int_equal(s->kill_grace_ns, 1500000000ull);
}

static void test_max_output(void **state)
{
    struct hutch_spec *s = *state;
    static const struct {
        const char *v;
        uint64_t want;
    } good[] = {
        {"0", 0},          {"1", 1},           {"1K", 1024},           {"1k", 1024},
        {"1KiB", 1024},    {"2M", 2 << 20},    {"1G", 1ull << 30},     {"1.5M", 3 << 19},
        {"512b", 512},     {"10MB", 10 << 20}, {"1T", 1ull << 40},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(s, "max-output", good[i].v);
        assert_int_equal(s->max_output, good[i].want);
    }
    const char *bad[] = {"", "-1", "1X", "K", "1 K", "1KK", "abc", "99999999999T"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "max-output", bad[i]);
    assert_int_equal(s->max_output, 1ull << 40);
}

/* ------------------------------------------------------------------ cgroup limits */

static void test_memory(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "memory", "512M");
    assert_int_equal(s->memory, 512ull << 20);
    set_ok(s, "memory", "6M"); /* the smallest accepted */
    set_bad(s, "memory", "5M");
    set_bad(s, "memory", "1");
    set_bad(s, "memory", "lots");
    set_bad(s, "memory", "-1G");
    assert_int_equal(s->memory, 6ull << 20);
    set_ok(s, "memory-reservation", "1M");
    assert_int_equal(s->memory_reservation, 1 << 20);
    set_bad(s, "memory-reservation", "1K");
    set_bad(s, "memory-reservation", "x");
    set_ok(s, "upper-size", "64M");
    assert_int_equal(s->upper_size, 64ull << 20);
    set_bad(s, "upper-size", "1K");
    set_bad(s, "upper-size", "");
}

static void test_memory_reservation_above_limit(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "memory", "64M");
    set_ok(s, "memory-reservation", "128M");
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_string_equal(err->subject, "--memory-reservation");
    hutch_error_free(err);
    set_ok(s, "memory-reservation", "32M");
    assert_int_equal(spec_validate(s, NULL), 0);
}

static void test_cpus(void **state)
{
    struct hutch_spec *s = *state;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    set_ok(s, "cpus", "0.5");
    assert_int_equal(s->cpu_period_us, 100000);
    assert_int_equal(s->cpu_quota_us, 50000);
    set_ok(s, "cpus", "1");
    assert_int_equal(s->cpu_quota_us, 100000);
    set_ok(s, "cpus", "0.01");
    assert_int_equal(s->cpu_quota_us, 1000);
    char all[32], more[32];
    snprintf(all, sizeof(all), "%ld", ncpu);
    snprintf(more, sizeof(more), "%ld", ncpu + 1);
    set_ok(s, "cpus", all);
    assert_int_equal(s->cpu_quota_us, (uint64_t)ncpu * 100000);
    set_bad(s, "cpus", more); /* more CPUs than this host has */
    const char *bad[] = {"0", "-1", "", "abc", "0.001", "1x", "nan", "inf"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "cpus", bad[i]);
}

static void test_cpu_shares_weight(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "cpu-shares", "2");
    set_ok(s, "cpu-shares", "262144");
    set_ok(s, "cpu-shares", "512");
    assert_int_equal(s->cpu_shares, 512);
    set_bad(s, "cpu-shares", "1");
    set_bad(s, "cpu-shares", "262145");
    set_bad(s, "cpu-shares", "-5");
    set_bad(s, "cpu-shares", "x");
    set_ok(s, "cpu-weight", "1");
    set_ok(s, "cpu-weight", "10000");
    assert_int_equal(s->cpu_weight, 10000);
    set_bad(s, "cpu-weight", "0");
    set_bad(s, "cpu-weight", "10001");
    set_bad(s, "cpu-weight", "");
    /* both at once is a conflict */
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_string_equal(err->subject, "--cpu-weight");
    hutch_error_free(err);
}

static void test_cpuset(void **state)
{
    struct hutch_spec *s = *state;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    set_ok(s, "cpuset-cpus", "0");
    assert_string_equal(s->cpuset_cpus, "0");
    char buf[64];
    if (ncpu >= 2) {
        snprintf(buf, sizeof(buf), "0-%ld", ncpu - 1);
        set_ok(s, "cpuset-cpus", buf);
        set_ok(s, "cpuset-cpus", "0,1");
    }
    snprintf(buf, sizeof(buf), "%ld", ncpu); /* one past the last CPU */
    set_bad(s, "cpuset-cpus", buf);
    const char *bad[] = {"", "a", "1-0", "0-", "-1", "0,,1", "0;1", "0-1-2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "cpuset-cpus", bad[i]);
}

static void test_pids_limit(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "pids-limit", "100");
    assert_int_equal(s->pids_limit, 100);
    set_ok(s, "pids-limit", "0");
    assert_int_equal(s->pids_limit, -1);
    set_ok(s, "pids-limit", "-1");
    assert_int_equal(s->pids_limit, -1);
    set_ok(s, "pids-limit", "1");
    assert_int_equal(s->pids_limit, 1);
    set_bad(s, "pids-limit", "-2");
    set_bad(s, "pids-limit", "");
    set_bad(s, "pids-limit", "ten");
    set_bad(s, "pids-limit", "1.5");
    assert_int_equal(s->pids_limit, 1);
}

/* The first block device in /dev, or NULL (unit tests do not create devices). */
static const char *find_block_device(dev_t *rdev)
{
    static char path[300];
    DIR *d = opendir("/dev");
    if (!d)
        return NULL;
    struct dirent *de;
    const char *found = NULL;
    while ((de = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof(path), "/dev/%s", de->d_name);
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
            *rdev = st.st_rdev;
            found = path;
            break;
        }
    }
    closedir(d);
    return found;
}

static void test_device_io(void **state)
{
    struct hutch_spec *s = *state;
    dev_t rdev;
    const char *dev = find_block_device(&rdev);
    if (!dev) {
        skip();
        return;
    }
    char v[400];
    snprintf(v, sizeof(v), "%s:10M", dev);
    set_ok(s, "device-read-bps", v);
    set_ok(s, "device-write-bps", v);
    snprintf(v, sizeof(v), "%s:100", dev);
    set_ok(s, "device-read-iops", v);
    set_ok(s, "device-write-iops", v);
    assert_int_equal(s->nio, 4);
    assert_int_equal(s->io[0].kind, SPEC_IO_READ_BPS);
    assert_int_equal(s->io[0].rate, 10 << 20);
    assert_int_equal(s->io[0].major, major(rdev));
    assert_int_equal(s->io[0].minor, minor(rdev));
    assert_string_equal(s->io[0].device, dev);
    assert_int_equal(s->io[1].kind, SPEC_IO_WRITE_BPS);
    assert_int_equal(s->io[2].kind, SPEC_IO_READ_IOPS);
    assert_int_equal(s->io[2].rate, 100);
    assert_int_equal(s->io[3].kind, SPEC_IO_WRITE_IOPS);
    /* iops take a plain count, no suffix */
    snprintf(v, sizeof(v), "%s:1K", dev);
    set_bad(s, "device-read-iops", v);
    snprintf(v, sizeof(v), "%s:0", dev);
    set_bad(s, "device-write-bps", v);
}

static void test_device_io_bad(void **state)
{
    struct hutch_spec *s = *state;
    set_bad_q(s, "device-read-bps", "/dev/null:1M", "/dev/null"); /* not a block device */
    set_bad(s, "device-read-bps", "sda:1M");       /* not a path */
    set_bad(s, "device-write-bps", "/dev/sda");    /* no rate */
    set_bad(s, "device-read-iops", ":100");
    set_bad(s, "device-write-iops", "");
    /* a missing device is an error naming the option and the device */
    struct hutch_error *err = NULL;
    assert_true(spec_set(s, "device-read-bps", "/dev/hutch-no-such-dev:1M", &err) < 0);
    assert_non_null(err);
    assert_string_equal(err->subject, "--device-read-bps");
    assert_non_null(strstr(err->message, "/dev/hutch-no-such-dev"));
    hutch_error_free(err);
    assert_int_equal(s->nio, 0);
}

static void test_cgroup_parent(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "cgroup-parent", "/jobs");
    assert_string_equal(s->cgroup_parent, "/jobs");
    set_ok(s, "cgroup-parent", "batch.slice");
    set_bad(s, "cgroup-parent", "");
    set_bad(s, "cgroup-parent", "/jobs/../..");
    assert_string_equal(s->cgroup_parent, "batch.slice");
}

/* ------------------------------------------------------------------ network */

static void test_network(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "network", "host");
    assert_int_equal(s->net, SPEC_NET_HOST);
    assert_null(s->net_name);
    set_ok(s, "network", "bridge");
    assert_int_equal(s->net, SPEC_NET_BRIDGE);
    assert_string_equal(s->net_name, "hutch0");
    set_ok(s, "network", "bridge=br-test");
    assert_string_equal(s->net_name, "br-test");
    set_ok(s, "network", "internal=lab_1");
    assert_int_equal(s->net, SPEC_NET_INTERNAL);
    assert_string_equal(s->net_name, "lab_1");
    set_ok(s, "network", "sandbox=0123456789abcdef0123");
    assert_int_equal(s->net, SPEC_NET_SANDBOX);
    set_ok(s, "network", "none");
    assert_int_equal(s->net, SPEC_NET_NONE);
    assert_null(s->net_name);
}

static void test_network_bad(void **state)
{
    struct hutch_spec *s = *state;
    const char *bad[] = {"", "bridged", "bridge=", "internal=", "internal",
                         "bridge=abcdefghijklm" /* 13 > IFNAMSIZ budget */, "internal=a b",
                         "internal=a/b", "sandbox=", "container:x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "network", bad[i]);
    assert_int_equal(s->net, SPEC_NET_NONE);
}

/* ------------------------------------------------------------------ security options */

static void test_security_opt(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "security-opt", "seccomp=unconfined");
    assert_string_equal(s->seccomp, "unconfined");
    set_ok(s, "security-opt", "seccomp:/etc/profile.json");
    assert_string_equal(s->seccomp, "/etc/profile.json");
    set_ok(s, "security-opt", "no-new-privileges=false");
    assert_false(s->no_new_privs);
    set_ok(s, "security-opt", "no-new-privileges");
    assert_true(s->no_new_privs);
    set_ok(s, "security-opt", "no-new-privileges:false");
    assert_false(s->no_new_privs);
    set_bad(s, "security-opt", "seccomp=");
    set_bad(s, "security-opt", "apparmor=unconfined");
    set_bad(s, "security-opt", "no-new-privileges=perhaps");
    set_bad(s, "security-opt", "");
    assert_false(s->no_new_privs);
}

static void test_userns(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "userns", "auto");
    assert_int_equal(s->userns, SPEC_USERNS_AUTO);
    set_ok(s, "userns", "0:100000:65536");
    assert_int_equal(s->userns, SPEC_USERNS_MAP);
    assert_string_equal(s->userns_map, "0:100000:65536");
    set_ok(s, "userns", "host");
    assert_int_equal(s->userns, SPEC_USERNS_HOST);
    const char *bad[] = {"0:100000", "0:100000:0", "a:b:c", "0:100000:65536:1",
                         "0:4294967295:2", "4294967296:0:1", "maybe"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(s, "userns", bad[i]);
}

static void test_userns_map_needs_userns(void **state)
{
    struct hutch_spec *s = *state;
    set_ok(s, "userns", "0:100000:65536");
    set_ok(s, "userns", "host"); /* the map string stays, but the mode says host */
    struct hutch_error *err = NULL;
    assert_int_equal(spec_validate(s, &err), -EINVAL);
    assert_non_null(err);
    assert_string_equal(err->subject, "--userns");
    hutch_error_free(err);
}

/* ------------------------------------------------------------------ errors */

/* The CLI prints an error on one line; a value with a newline or an escape sequence in it must
 * not break that line (or reach a terminal raw). */
static void test_error_quoting_control_chars_stays_one_line(void **state)
{
    const char *values[][2] = {{"user", "r\nt"}, {"hostname", "a\nb"}, {"volume", "/a\n:/b"},
                               {"network", "x\r\ny"}, {"timeout", "1\n"}};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct hutch_error *err = NULL;
        assert_int_equal(spec_set(*state, values[i][0], values[i][1], &err), -EINVAL);
        char *line = hutch_error_format(err);
        assert_non_null(line);
        if (strpbrk(line, "\r\n"))
            print_error("--%s: formatted error spans lines: %s\n", values[i][0], line);
        assert_null(strpbrk(line, "\r\n"));
        free(line);
        hutch_error_free(err);
    }
}

static void test_error_chain_on_one_line(void **state)
{
    struct hutch_error *err = NULL;
    assert_int_equal(spec_set(*state, "timeout", "-3", &err), -EINVAL);
    /* a caller wraps the parse error: the formatted chain keeps both, on one line */
    hutch_err(&err, EINVAL, "run", NULL, "bad command line");
    char *line = hutch_error_format(err);
    assert_non_null(line);
    assert_non_null(strstr(line, "bad command line"));
    assert_non_null(strstr(line, "--timeout"));
    assert_non_null(strstr(line, "-3"));
    assert_null(strchr(line, '\n'));
    assert_int_equal(hutch_error_exit_status(err), 125);
    free(line);
    hutch_error_free(err);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_unknown_option),
        T(test_argv),
        T(test_argv_bad),
        T(test_rootfs),
        T(test_image),
        T(test_rootfs_and_image_conflict),
        T(test_bare_refuses_container_options),
        T(test_bare_takes_limits_and_host_network),
        T(test_bare_needs_a_command),
        T(test_signal_from_name),
        T(test_env),
        T(test_env_from_caller),
        T(test_env_bad),
        T(test_workdir),
        T(test_user),
        T(test_hostname),
        T(test_volume),
        T(test_volume_bad),
        T(test_volume_duplicate_destination),
        T(test_tmpfs),
        T(test_tmpfs_bad),
        T(test_bools),
        T(test_cap_names),
        T(test_default_caps_are_oci),
        T(test_cap_add_drop),
        T(test_cap_drop_all),
        T(test_cap_add_all),
        T(test_cap_bad),
        T(test_timeouts),
        T(test_max_output),
        T(test_memory),
        T(test_memory_reservation_above_limit),
        T(test_cpus),
        T(test_cpu_shares_weight),
        T(test_cpuset),
        T(test_pids_limit),
        T(test_device_io),
        T(test_device_io_bad),
        T(test_cgroup_parent),
        T(test_network),
        T(test_network_bad),
        T(test_security_opt),
        T(test_userns),
        T(test_userns_map_needs_userns),
        T(test_error_chain_on_one_line),
        T(test_error_quoting_control_chars_stays_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
