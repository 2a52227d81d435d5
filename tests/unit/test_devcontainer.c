/* SPDX-License-Identifier: MIT */
/* Unit tests of the devcontainer.json reader (src/lib/devcontainer.c): comments and trailing
 * commas, the fields a job uses, variables, and the refusal of configurations that need an
 * image build. No privileges needed. */
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

#include "devcontainer.h"
#include "error.h"

static const char *fake_getenv(const char *name)
{
    return !strcmp(name, "TOKEN") ? "secret" : NULL;
}

static const struct devcontainer_vars vars = {"/home/me/project", fake_getenv};

static void parse_ok_(const char *text, struct devcontainer *dc, int line)
{
    struct hutch_error *err = NULL;
    int r = devcontainer_parse("dc.json", text, strlen(text), &vars, dc, &err);
    if (r != 0) {
        char *m = hutch_error_format(err);
        print_error("line %d: unexpected error: %s\n", line, m ? m : "?");
        free(m);
        hutch_error_free(err);
        fail();
    }
}
#define parse_ok(t, dc) parse_ok_(t, dc, __LINE__)

static void parse_err_(const char *text, int line, ...)
{
    struct devcontainer dc;
    struct hutch_error *err = NULL;
    int r = devcontainer_parse("dc.json", text, strlen(text), &vars, &dc, &err);
    if (r >= 0) {
        print_error("line %d: parsed, but an error was expected\n", line);
        devcontainer_free(&dc);
        fail();
    }
    assert_int_equal(r, -EINVAL);
    assert_null(dc.image);
    assert_null(dc.env);
    char *m = hutch_error_format(err);
    assert_non_null(m);
    va_list ap;
    va_start(ap, line);
    for (const char *n; (n = va_arg(ap, const char *));) {
        if (!strstr(m, n)) {
            print_error("line %d: '%s' not in: %s\n", line, n, m);
            free(m);
            va_end(ap);
            hutch_error_free(err);
            fail();
        }
    }
    va_end(ap);
    free(m);
    hutch_error_free(err);
}
#define parse_err(t, ...) parse_err_(t, __LINE__, __VA_ARGS__, NULL)

static void test_strip_comments_and_trailing_commas(void **state)
{
    (void)state;
    const char *in = "{ // a comment, with \"quotes\"\n"
                     "  \"a\": \"// not a comment\", /* block\n  comment */\n"
                     "  \"b\": [1, 2,],\n"
                     "  \"c\": \"a,}\",\n"
                     "}";
    char *out = devcontainer_strip(in, strlen(in));
    assert_non_null(out);
    /* same length and the same line breaks: error positions stay right */
    assert_int_equal(strlen(out), strlen(in));
    assert_string_equal(out, "{                            \n"
                             "  \"a\": \"// not a comment\",         \n"
                             "            \n"
                             "  \"b\": [1, 2 ],\n"
                             "  \"c\": \"a,}\" \n"
                             "}");
    free(out);
    /* escaped quotes do not end a string */
    const char *esc = "{\"a\": \"x\\\" // y\",}";
    out = devcontainer_strip(esc, strlen(esc));
    assert_string_equal(out, "{\"a\": \"x\\\" // y\" }");
    free(out);
}

static void test_fields(void **state)
{
    (void)state;
    struct devcontainer dc;
    parse_ok("// Dev container for the project\n"
             "{\n"
             "  \"name\": \"project\",\n"
             "  \"image\": \"mcr.microsoft.com/devcontainers/base:bookworm\",\n"
             "  \"containerEnv\": {\"A\": \"1\", \"WS\": \"${containerWorkspaceFolder}\",\n"
             "                   \"T\": \"${localEnv:TOKEN}\", \"D\": \"${localEnv:NOPE:dflt}\",\n"
             "                   \"B\": \"${localWorkspaceFolderBasename}\"},\n"
             "  \"remoteUser\": \"vscode\",\n"
             "  \"containerUser\": \"root\",\n"
             "  \"workspaceFolder\": \"/workspaces/${localWorkspaceFolderBasename}\",\n"
             "  \"customizations\": {\"vscode\": {\"extensions\": [\"x\",],},},\n"
             "  \"features\": {},\n"
             "}\n",
             &dc);
    assert_string_equal(dc.image, "mcr.microsoft.com/devcontainers/base:bookworm");
    assert_string_equal(dc.user, "vscode");
    assert_string_equal(dc.workspace_folder, "/workspaces/project");
    assert_string_equal(dc.env[0], "A=1");
    assert_string_equal(dc.env[1], "WS=/workspaces/project");
    assert_string_equal(dc.env[2], "T=secret");
    assert_string_equal(dc.env[3], "D=dflt");
    assert_string_equal(dc.env[4], "B=project");
    assert_null(dc.env[5]);
    devcontainer_free(&dc);
    assert_null(dc.image);
}

static void test_minimal(void **state)
{
    (void)state;
    struct devcontainer dc;
    parse_ok("{\"image\": \"debian:12\", \"containerUser\": \"builder\"}", &dc);
    assert_string_equal(dc.image, "debian:12");
    assert_string_equal(dc.user, "builder");
    assert_null(dc.workspace_folder);
    assert_non_null(dc.env);
    assert_null(dc.env[0]);
    devcontainer_free(&dc);
}

static void test_builds_are_refused_with_advice(void **state)
{
    (void)state;
    parse_err("{\"build\": {\"dockerfile\": \"Dockerfile\"}}", "builds an image from a Dockerfile",
              "not supported yet", "hutch image import");
    parse_err("{\"dockerFile\": \"Dockerfile\", \"image\": \"x\"}", "from a Dockerfile");
    parse_err("{\"dockerComposeFile\": \"compose.yml\"}", "Docker Compose", "hutch image import");
    parse_err("{\"image\": \"x\", \"features\": {\"ghcr.io/devcontainers/features/go:1\": {}}}",
              "features are installed by an image build");
    parse_err("{\"name\": \"no image\"}", "no \"image\"", "hutch image import");
}

static void test_errors(void **state)
{
    (void)state;
    parse_err("{\n  \"image\": \"x\",\n  \"image\": \"y\"\n}", "dc.json:3:", "invalid JSON");
    parse_err("{\n  \"image\": x\n}", "dc.json:2:", "invalid JSON");
    parse_err("[1, 2]", "dc.json:1:1", "expected a JSON object");
    parse_err("{\"image\": 5}", "\"image\" must be a non-empty string");
    parse_err("{\"image\": \"\"}", "\"image\" must be a non-empty string");
    parse_err("{\"image\": \"x\", \"remoteUser\": []}", "\"remoteUser\" must be");
    parse_err("{\"image\": \"x\", \"containerEnv\": [\"A=1\"]}", "must be an object of strings");
    parse_err("{\"image\": \"x\", \"containerEnv\": {\"A\": 1}}",
              "containerEnv.A must be a string");
    parse_err("{\"image\": \"x\", \"containerEnv\": {\"A B\": \"1\"}}", "is not a variable name");
    parse_err("{\"image\": \"x\", \"containerEnv\": {\"A\": \"${nope}\"}}",
              "unsupported variable ${nope}");
    parse_err("{\"image\": \"x\", \"containerEnv\": {\"A\": \"${open\"}}", "unterminated ${");
    parse_err("{\"image\": \"x\", \"workspaceFolder\": \"rel\"}", "must be an absolute path");
    parse_err("{\"image\": \"x\", \"workspaceFolder\": \"/a/../b\"}", "without '..'");
    parse_err("{\"image\": \"x\", \"workspaceFolder\": \"/\"}", "must be an absolute path");
    parse_err("{\"image\": \"x\" /* unterminated", "invalid JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_comments_and_trailing_commas),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_builds_are_refused_with_advice),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
