/* SPDX-License-Identifier: MIT */
/* Unit tests of the job file parser (src/lib/jobfile.c): every key, the value forms, and every
 * error path, which must name the file, line and column. No privileges needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first */
// clang-format off
#include <cmocka.h>
// clang-format on

#include "error.h"
#include "jobfile.h"

static struct jobfile *parse_ok_(const char *text, unsigned flags, int line)
{
    struct jobfile *jf = NULL;
    struct hutch_error *err = NULL;
    int r = jobfile_parse("job.yaml", text, strlen(text), flags, &jf, &err);
    if (r != 0) {
        char *m = hutch_error_format(err);
        print_error("line %d: unexpected error: %s\n", line, m ? m : "?");
        free(m);
        hutch_error_free(err);
        fail();
    }
    assert_non_null(jf);
    assert_null(err);
    return jf;
}
#define parse_ok(t) parse_ok_(t, 0, __LINE__)

/* Parsing must fail; the one-line message must contain each of the NULL-terminated needles. */
static void parse_err_(const char *text, size_t len, unsigned flags, int line, ...)
{
    struct jobfile *jf = NULL;
    struct hutch_error *err = NULL;
    int r = jobfile_parse("job.yaml", text, len, flags, &jf, &err);
    if (r >= 0) {
        print_error("line %d: parsed, but an error was expected\n", line);
        jobfile_free(jf);
        fail();
    }
    assert_null(jf);
    assert_non_null(err);
    char *m = hutch_error_format(err);
    assert_non_null(m);
    va_list ap;
    va_start(ap, line);
    for (const char *n; (n = va_arg(ap, const char *));) {
        if (!strstr(m, n)) {
            print_error("line %d: '%s' not in: %s\n", line, n, m);
            va_end(ap);
            free(m);
            hutch_error_free(err);
            fail();
        }
    }
    va_end(ap);
    free(m);
    hutch_error_free(err);
}
#define parse_err(t, ...)   parse_err_(t, strlen(t), 0, __LINE__, __VA_ARGS__, NULL)
#define profile_err(t, ...) parse_err_(t, strlen(t), JOBFILE_PROFILE, __LINE__, __VA_ARGS__, NULL)

static const char *setting(const struct jobfile *jf, const char *option, int nth)
{
    for (int i = 0; i < jf->nsettings; i++)
        if (!strcmp(jf->settings[i].option, option) && nth-- == 0)
            return jf->settings[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- commands */

static void test_command_string_runs_in_sh(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: make -j4 && make test\n");
    assert_int_equal(jf->argc, 3);
    assert_string_equal(jf->argv[0], "sh");
    assert_string_equal(jf->argv[1], "-c");
    assert_string_equal(jf->argv[2], "make -j4 && make test");
    assert_null(jf->argv[3]);
    assert_int_equal(jf->devcontainer, -1);
    assert_false(jf->container_none);
    jobfile_free(jf);
}

static void test_command_list_is_argv(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: [make, -C, 'a dir', \"\"]\n");
    assert_int_equal(jf->argc, 4);
    assert_string_equal(jf->argv[2], "a dir");
    assert_string_equal(jf->argv[3], "");
    jobfile_free(jf);
}

static void test_command_errors(void **state)
{
    (void)state;
    parse_err("env: {A: b}\n", "job.yaml:1:1", "no command given");
    parse_err("command: []\n", "job.yaml:1:10", "command: the list is empty");
    parse_err("command: {a: b}\n", "job.yaml:1:10", "command: expected a string", "got a map");
    parse_err("command:\n", "job.yaml:1:9", "command: expected a value");
    parse_err("command: ''\n", "job.yaml:1:10", "must not be empty");
    parse_err("command: ['', x]\n", "job.yaml:1:11", "command[0]: must not be empty");
    parse_err("command: [a, [b]]\n", "job.yaml:1:14", "command[1]: expected a string");
}

/* ---------------------------------------------------------------- document-level errors */

static void test_document_errors(void **state)
{
    (void)state;
    parse_err("", "job.yaml", "the file is empty");
    parse_err("command: a\n---\ncommand: b\n", "job.yaml:2:1", "more than one YAML document");
    parse_err("command: [a\n", "job.yaml:2:1", "invalid YAML");
    parse_err("command: a\n  bad: indent\n", "job.yaml:2:6", "invalid YAML");
    parse_err("- command: a\n", "job.yaml:1:1", "expected a map", "got a list");
    parse_err("command: a\nfoo: 1\n", "job.yaml:2:1", "unknown key 'foo'");
    parse_err("command: a\ncommand: b\n", "job.yaml:2:1", "duplicate key 'command'");
    parse_err("command: a\n[x]: 1\n", "job.yaml:2:1", "expected a key name");
    parse_err("command: a\n*x: 1\n", "job.yaml", "invalid YAML");
    /* a NUL byte inside a scalar (YAML's "\0" escape) */
    parse_err("command: \"a\\0b\"\n", "job.yaml:1:10", "contains a NUL byte");
}

static void test_too_large_file_is_refused(void **state)
{
    (void)state;
    size_t n = JOBFILE_MAX_SIZE + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    parse_err_(big, n, 0, __LINE__, "job.yaml", "larger than", NULL);
    free(big);
}

static void test_alias_bomb_is_bounded(void **state)
{
    (void)state;
    /* nine levels of ten aliases each: 10^9 nodes if expanded */
    const char *bomb = "command: x\n"
                       "input_data:\n"
                       "  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                       "  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    parse_err(bomb, "input_data: too large or too deeply nested");
}

/* ---------------------------------------------------------------- sandbox settings */

static void test_settings_become_spec_options(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\n"
                                  "resources: {memory: 512M, memory_reservation: 64M, cpus: 0.5,"
                                  " pids: 100, cpuset: '0'}\n"
                                  "network: none\n"
                                  "user: 1000\n"
                                  "hostname: builder\n"
                                  "read_only: true\n"
                                  "workdir: /src\n"
                                  "timeout: 5m\n"
                                  "kill_grace: 2\n"
                                  "max_output: 1M\n"
                                  "tmpfs: [/tmp, {path: /run, size: 1M, mode: '1777'}]\n"
                                  "security: {seccomp: strict, cap_drop: ALL, cap_add: [CHOWN],"
                                  " no_new_privileges: true}\n");
    assert_string_equal(setting(jf, "memory", 0), "512M");
    assert_string_equal(setting(jf, "memory-reservation", 0), "64M");
    assert_string_equal(setting(jf, "cpus", 0), "0.5");
    assert_string_equal(setting(jf, "pids-limit", 0), "100");
    assert_string_equal(setting(jf, "cpuset-cpus", 0), "0");
    assert_string_equal(setting(jf, "network", 0), "none");
    assert_string_equal(setting(jf, "user", 0), "1000");
    assert_string_equal(setting(jf, "hostname", 0), "builder");
    assert_string_equal(setting(jf, "read-only", 0), "true");
    assert_string_equal(setting(jf, "workdir", 0), "/src");
    assert_string_equal(setting(jf, "timeout", 0), "300");
    assert_string_equal(setting(jf, "kill-grace", 0), "2");
    assert_string_equal(setting(jf, "max-output", 0), "1M");
    assert_string_equal(setting(jf, "tmpfs", 0), "/tmp");
    assert_string_equal(setting(jf, "tmpfs", 1), "/run:size=1M,mode=1777");
    assert_string_equal(setting(jf, "security-opt", 0), "seccomp=strict");
    assert_string_equal(setting(jf, "cap-drop", 0), "ALL");
    assert_string_equal(setting(jf, "cap-add", 0), "CHOWN");
    assert_string_equal(setting(jf, "security-opt", 1), "no-new-privileges=true");
    /* settings keep their position for errors raised later */
    assert_int_equal(jf->settings[0].at.line, 2);
    jobfile_free(jf);
}

static void test_durations(void **state)
{
    (void)state;
    static const char *const in[] = {"90", "1.5", "30s", "5m", "2h", "0"};
    static const char *const out[] = {"90", "1.5", "30", "300", "7200", "0"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "command: x\ntimeout: %s\n", in[i]);
        struct jobfile *jf = parse_ok(text);
        assert_string_equal(setting(jf, "timeout", 0), out[i]);
        jobfile_free(jf);
    }
    parse_err("command: x\ntimeout: 5x\n", "job.yaml:2:10", "timeout: expected a duration");
    parse_err("command: x\ntimeout: -1\n", "job.yaml:2:10", "expected a duration");
    parse_err("command: x\ntimeout: s\n", "job.yaml:2:10", "expected a duration");
    parse_err("command: x\ntimeout: [1]\n", "job.yaml:2:10", "expected a string", "got a list");
}

static void test_bad_values_name_position_and_option(void **state)
{
    (void)state;
    parse_err("command: x\nresources:\n  memory: lots\n", "job.yaml:3:11",
              "resources.memory: invalid value", "--memory");
    parse_err("command: x\nresources: {cpus: -1}\n", "job.yaml:2:19", "resources.cpus", "--cpus");
    parse_err("command: x\nresources: {pids: many}\n", "job.yaml:2:19", "--pids-limit");
    parse_err("command: x\nresources: {io: {read_bps: /nonexistent:1M}}\n", "job.yaml:2:28",
              "resources.io.read_bps", "--device-read-bps");
    parse_err("command: x\nresources: {io: {bps: x}}\n", "job.yaml:2:18",
              "unknown key 'resources.io.bps'");
    parse_err("command: x\nresources: [1]\n", "job.yaml:2:12", "resources: expected a map",
              "got a list");
    parse_err("command: x\nresources: {disk: 1G}\n", "job.yaml:2:13",
              "unknown key 'resources.disk'");
    parse_err("command: x\nnetwork: wifi\n", "job.yaml:2:10", "network: invalid value");
    parse_err("command: x\nuser: 'a b'\n", "job.yaml:2:7", "--user");
    parse_err("command: x\nhostname: 'bad host'\n", "job.yaml:2:11", "--hostname");
    parse_err("command: x\nworkdir: rel\n", "job.yaml:2:10", "--workdir");
    parse_err("command: x\nread_only: maybe\n", "job.yaml:2:12", "expected true or false");
    parse_err("command: x\nread_only: {}\n", "job.yaml:2:12", "expected true or false",
              "got a map");
    parse_err("command: x\nmax_output: 12Q\n", "job.yaml:2:13", "--max-output");
    parse_err("command: x\ntmpfs: [/tmp:size=0]\n", "job.yaml:2:9", "tmpfs[0]", "--tmpfs");
    parse_err("command: x\ntmpfs: [{size: 1M}]\n", "job.yaml:2:9", "tmpfs[0]: needs a path");
    parse_err("command: x\ntmpfs: [{path: /t, uid: 1}]\n", "job.yaml:2:20",
              "unknown key 'tmpfs[0].uid'");
    parse_err("command: x\ntmpfs: [[/t]]\n", "job.yaml:2:9", "expected a path or");
    parse_err("command: x\nsecurity: {seccomp: ''}\n", "job.yaml:2:21", "must not be empty");
    parse_err("command: x\nsecurity: {cap_add: [FLY]}\n", "job.yaml:2:22", "--cap-add");
    parse_err("command: x\nsecurity: {privileged: true}\n", "job.yaml:2:12",
              "unknown key 'security.privileged'");
    parse_err("command: x\nsecurity: {no_new_privileges: 2}\n", "job.yaml:2:31",
              "expected true or false");
}

static void test_env_forms(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\nenv: {A: 1, B: 'two words', C: ''}\n");
    assert_string_equal(setting(jf, "env", 0), "A=1");
    assert_string_equal(setting(jf, "env", 1), "B=two words");
    assert_string_equal(setting(jf, "env", 2), "C=");
    jobfile_free(jf);
    jf = parse_ok("command: x\nenv: [A=1, B=x=y]\n");
    assert_string_equal(setting(jf, "env", 1), "B=x=y");
    jobfile_free(jf);
    /* no bare KEY: that would copy the caller's variable (a token, say) into the sandbox */
    parse_err("command: x\nenv: [HOME]\n", "job.yaml:2:7", "env[0]: expected KEY=VALUE");
    parse_err("command: x\nenv: {A: }\n", "job.yaml:2:10", "env.A: needs a value");
    parse_err("command: x\nenv: {'A B': x}\n", "job.yaml:2:7", "is not a variable name");
    parse_err("command: x\nenv: {A: [1]}\n", "job.yaml:2:10", "env.A: expected a string");
    parse_err("command: x\nenv: x\n", "job.yaml:2:6", "env: expected a map of variables");
}

/* ---------------------------------------------------------------- job-only keys */

static void test_container_forms(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\ncontainer: none\n");
    assert_true(jf->container_none);
    jobfile_free(jf);
    jf = parse_ok("command: x\ncontainer: auto\n");
    assert_false(jf->container_none);
    assert_int_equal(jf->devcontainer, -1);
    jobfile_free(jf);
    jf = parse_ok("command: x\ncontainer: {image: 'debian:12', devcontainer: false}\n");
    assert_string_equal(jf->image, "debian:12");
    assert_int_equal(jf->devcontainer, 0);
    jobfile_free(jf);
    jf = parse_ok("command: x\ncontainer:\n  rootfs: images/root\n");
    assert_string_equal(jf->rootfs, "images/root");
    assert_int_equal(jf->container_at.line, 3);
    jobfile_free(jf);
    jf = parse_ok("command: x\ncontainer: {devcontainer: true}\n");
    assert_int_equal(jf->devcontainer, 1);
    jobfile_free(jf);
    parse_err("command: x\ncontainer: docker\n", "job.yaml:2:12", "expected auto, none or a map");
    parse_err("command: x\ncontainer: {image: a, rootfs: b}\n", "job.yaml:2:12",
              "either image or rootfs");
    parse_err("command: x\ncontainer: {image: a, devcontainer: true}\n", "job.yaml:2:12",
              "devcontainer: true takes the image");
    parse_err("command: x\ncontainer: {build: .}\n", "job.yaml:2:13",
              "unknown key 'container.build'");
    parse_err("command: x\ncontainer: [a]\n", "job.yaml:2:12", "container: expected a map");
    /* a job file may not run on the host's / (or anything outside its workspace) */
    parse_err("command: x\ncontainer: {rootfs: /}\n", "job.yaml:2:21",
              "must be a directory inside the workspace");
    parse_err("command: x\ncontainer: {rootfs: ../other}\n", "job.yaml:2:21",
              "must be a directory inside the workspace");
}

static void test_profile(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\nprofile: untrusted\n");
    assert_string_equal(jf->profile, "untrusted");
    assert_int_equal(jf->profile_at.line, 2);
    assert_int_equal(jf->profile_at.col, 10);
    jobfile_free(jf);
    parse_err("command: x\nprofile: ../../etc/x\n", "job.yaml:2:10", "is not a profile name");
}

static void test_profiles_take_settings_only(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok_("user: nobody\nread_only: true\n", JOBFILE_PROFILE, __LINE__);
    assert_null(jf->argv);
    assert_string_equal(setting(jf, "user", 0), "nobody");
    jobfile_free(jf);
    static const char *const job_only[] = {"command: x",    "container: auto", "profile: ci",
                                           "caches: auto",  "inputs: []",      "input_data: 1",
                                           "artifacts: []", "output: /o",      "workspace: {}"};
    for (size_t i = 0; i < sizeof(job_only) / sizeof(job_only[0]); i++)
        profile_err(job_only[i], "job.yaml:1:1", "not allowed in a profile");
    profile_err("", "the file is empty");
}

static void test_caches(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\ncaches: auto\n");
    assert_true(jf->caches_auto);
    assert_int_equal(jf->ncaches, 0);
    jobfile_free(jf);
    jf = parse_ok("command: x\ncaches:\n  - auto\n"
                  "  - {name: node_modules, path: /workspace/node_modules, scope: workspace,"
                  " mode: overlay}\n"
                  "  - {name: tools, path: ~/.tools, key: k1, scope: workspace}\n"
                  "  - {name: big, path: /cache/big}\n");
    assert_true(jf->caches_auto);
    assert_int_equal(jf->ncaches, 3);
    assert_string_equal(jf->caches[0].name, "node_modules");
    assert_int_equal(jf->caches[0].scope, JOB_CACHE_WORKSPACE);
    assert_int_equal(jf->caches[0].mode, JOB_CACHE_OVERLAY);
    assert_null(jf->caches[0].key);
    assert_string_equal(jf->caches[1].path, "~/.tools");
    assert_string_equal(jf->caches[1].key, "k1");
    assert_int_equal(jf->caches[2].scope, JOB_CACHE_SHARED);
    assert_int_equal(jf->caches[2].mode, JOB_CACHE_BIND);
    assert_int_equal(jf->caches[2].at.line, 6);
    jobfile_free(jf);
    parse_err("command: x\ncaches: some\n", "job.yaml:2:9", "expected auto or a map");
    parse_err("command: x\ncaches: [{path: /c}]\n", "job.yaml:2:10", "needs a name and a path");
    parse_err("command: x\ncaches: [{name: c}]\n", "job.yaml:2:10", "needs a name and a path");
    parse_err("command: x\ncaches: [{name: ../c, path: /c}]\n", "job.yaml:2:17",
              "caches[0].name: '../c' must be");
    parse_err("command: x\ncaches: [{name: c, path: rel}]\n", "job.yaml:2:26",
              "caches[0].path: expected an absolute path");
    parse_err("command: x\ncaches: [{name: c, path: /a/../b}]\n", "caches[0].path");
    parse_err("command: x\ncaches: [{name: c, path: '~/../x'}]\n", "caches[0].path");
    parse_err("command: x\ncaches: [{name: c, path: /}]\n", "caches[0].path");
    parse_err("command: x\ncaches: [{name: c, path: /c, scope: global}]\n", "job.yaml:2:37",
              "expected shared or workspace");
    parse_err("command: x\ncaches: [{name: c, path: /c, mode: copy}]\n", "job.yaml:2:36",
              "expected bind or overlay");
    parse_err("command: x\ncaches: [{name: c, path: /c, key: k}]\n", "job.yaml:2:10",
              "key is only for scope: workspace");
    parse_err("command: x\ncaches: [{name: c, path: /c, size: 1G}]\n", "job.yaml:2:30",
              "unknown key 'caches[0].size'");
    parse_err("command: x\ncaches: [{name: c, path: /c}, {name: c, path: /d}]\n", "job.yaml:2:31",
              "a cache named 'c' is already listed");
    parse_err("command: x\ncaches: [{name: c, path: /c}, {name: d, path: /c}]\n", "job.yaml:2:31",
              "another cache is already mounted at /c");
    parse_err("command: x\ncaches: [{name: c, name: d, path: /c}]\n", "duplicate key");
    parse_err("command: x\ncaches: [[c]]\n", "job.yaml:2:10", "expected auto or a map");
}

static void test_inputs(void **state)
{
    (void)state;
    struct jobfile *jf =
        parse_ok("command: x\ninputs:\n  - {src: data/in.csv, dst: /in/data.csv}\n");
    assert_int_equal(jf->ninputs, 1);
    assert_string_equal(jf->inputs[0].src, "data/in.csv");
    assert_string_equal(jf->inputs[0].dst, "/in/data.csv");
    jobfile_free(jf);
    parse_err("command: x\ninputs: [{src: /etc/shadow, dst: /x}]\n", "job.yaml:2:10",
              "inputs[0].src: '/etc/shadow' must be a relative path inside the workspace");
    parse_err("command: x\ninputs: [{src: ../x, dst: /x}]\n", "inputs[0].src");
    parse_err("command: x\ninputs: [{src: a, dst: rel}]\n", "inputs[0].dst: 'rel'");
    parse_err("command: x\ninputs: [{src: a}]\n", "job.yaml:2:10", "needs src and dst");
    parse_err("command: x\ninputs: [{src: a, dst: /a, mode: ro}]\n", "job.yaml:2:28",
              "unknown key 'inputs[0].mode'");
    parse_err("command: x\ninputs: {src: a, dst: /a}\n", "job.yaml:2:9", "inputs: expected a list");
    parse_err("command: x\ninputs: [a]\n", "job.yaml:2:10", "inputs[0]: expected a map");
}

static void test_artifacts(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\nartifacts:\n  - dist/app.tar\n"
                                  "  - {path: /out/reports/, name: reports/junit}\n  - /abs\n");
    assert_int_equal(jf->nartifacts, 3);
    assert_string_equal(jf->artifacts[0].path, "dist/app.tar");
    assert_string_equal(jf->artifacts[0].name, "app.tar");
    assert_string_equal(jf->artifacts[1].path, "/out/reports");
    assert_string_equal(jf->artifacts[1].name, "reports/junit");
    assert_string_equal(jf->artifacts[2].name, "abs");
    jobfile_free(jf);
    parse_err("command: x\nartifacts: [a/../b]\n", "job.yaml:2:13", "must not contain '..'");
    parse_err("command: x\nartifacts: [/]\n", "job.yaml:2:13", "must not contain");
    parse_err("command: x\nartifacts: [{path: a, name: ../x}]\n", "name '../x' must be");
    parse_err("command: x\nartifacts: [{path: a, name: /x}]\n", "name '/x' must be");
    parse_err("command: x\nartifacts: [a/x, b/x]\n", "job.yaml:2:18",
              "another artifact is already named 'x'");
    parse_err("command: x\nartifacts: [{name: x}]\n", "needs a path");
    parse_err("command: x\nartifacts: [{path: a, sha: x}]\n", "unknown key 'artifacts[0].sha'");
}

static void test_output_and_workspace(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\noutput: {path: /out/result.json}\n"
                                  "workspace: {mode: overlay}\n");
    assert_string_equal(jf->output_path, "/out/result.json");
    assert_int_equal(jf->ws_mode, JOB_WS_OVERLAY);
    jobfile_free(jf);
    jf = parse_ok("command: x\noutput: /r.json\nworkspace: {mode: bind}\n");
    assert_string_equal(jf->output_path, "/r.json");
    assert_int_equal(jf->ws_mode, JOB_WS_BIND);
    jobfile_free(jf);
    parse_err("command: x\noutput: r.json\n", "job.yaml:2:9", "output: expected {path");
    parse_err("command: x\nworkspace: {mode: copy}\n", "job.yaml:2:12", "expected bind or overlay");
    parse_err("command: x\nworkspace: overlay\n", "job.yaml:2:12", "workspace: expected a map");
}

static void test_input_data_becomes_json(void **state)
{
    (void)state;
    struct jobfile *jf = parse_ok("command: x\n"
                                  "input_data:\n"
                                  "  n: 42\n"
                                  "  f: -2.5\n"
                                  "  t: true\n"
                                  "  s: 'true'\n"
                                  "  z: ~\n"
                                  "  hex: 0x10\n"
                                  "  list: [a, \"b c\", 1e3]\n"
                                  "  nested: {k: [ {x: null} ]}\n");
    assert_string_equal(
        jf->input_data,
        "{\"n\":42,\"f\":-2.5,\"t\":true,\"s\":\"true\",\"z\":null,\"hex\":\"0x10\","
        "\"list\":[\"a\",\"b c\",1000.0],\"nested\":{\"k\":[{\"x\":null}]}}");
    jobfile_free(jf);
    jf = parse_ok("command: x\ninput_data: just text\n");
    assert_string_equal(jf->input_data, "\"just text\"");
    jobfile_free(jf);
    parse_err("command: x\ninput_data: {[a]: 1}\n", "job.yaml:2:14", "expected a scalar key");
}

static void test_name_and_path_checks(void **state)
{
    (void)state;
    assert_true(jobfile_name_ok("npm"));
    assert_true(jobfile_name_ok("node_modules-1.2"));
    assert_false(jobfile_name_ok(""));
    assert_false(jobfile_name_ok(".hidden"));
    assert_false(jobfile_name_ok("a/b"));
    assert_false(jobfile_name_ok("a b"));
    char long_name[70];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[69] = '\0';
    assert_false(jobfile_name_ok(long_name));
    assert_true(jobfile_relpath_ok("a/b/c"));
    assert_true(jobfile_relpath_ok("a/.b"));
    assert_false(jobfile_relpath_ok("/a"));
    assert_false(jobfile_relpath_ok("a//b"));
    assert_false(jobfile_relpath_ok("a/./b"));
    assert_false(jobfile_relpath_ok("a/.."));
    assert_false(jobfile_relpath_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_string_runs_in_sh),
        cmocka_unit_test(test_command_list_is_argv),
        cmocka_unit_test(test_command_errors),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_too_large_file_is_refused),
        cmocka_unit_test(test_alias_bomb_is_bounded),
        cmocka_unit_test(test_settings_become_spec_options),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_values_name_position_and_option),
        cmocka_unit_test(test_env_forms),
        cmocka_unit_test(test_container_forms),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_profiles_take_settings_only),
        cmocka_unit_test(test_caches),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_artifacts),
        cmocka_unit_test(test_output_and_workspace),
        cmocka_unit_test(test_input_data_becomes_json),
        cmocka_unit_test(test_name_and_path_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
