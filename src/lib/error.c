/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hutch_err(struct hutch_error **err, int errnum, const char *op, const char *subject,
              const char *fmt, ...)
{
    if (errnum < 0)
        errnum = -errnum;
    if (errnum == 0)
        errnum = EIO;
    if (!err)
        return -errnum;
    struct hutch_error *e = calloc(1, sizeof(*e));
    if (!e)
        return -errnum;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&e->message, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->message = NULL;
    e->op = op ? strdup(op) : NULL;
    e->subject = subject ? strdup(subject) : NULL;
    if (!e->message || (op && !e->op) || (subject && !e->subject)) {
        free(e->message);
        free(e->op);
        free(e->subject);
        free(e);
        return -errnum;
    }
    e->errnum = errnum;
    e->exit_status = (*err) ? (*err)->exit_status : HUTCH_EXIT_INTERNAL;
    e->cause = *err;
    *err = e;
    return -errnum;
}

int hutch_err_sys(struct hutch_error **err, const char *op, const char *subject)
{
    int e = errno ? errno : EIO;
    return hutch_err(err, e, op, subject, "%s", strerror(e));
}

void hutch_err_set_exit(struct hutch_error **err, int status)
{
    if (err && *err)
        (*err)->exit_status = status;
}

void hutch_err_clear(struct hutch_error **err)
{
    if (err) {
        hutch_error_free(*err);
        *err = NULL;
    }
}

HUTCH_API int hutch_error_errno(const struct hutch_error *err)
{
    return err ? err->errnum : 0;
}

HUTCH_API const char *hutch_error_op(const struct hutch_error *err)
{
    return err ? err->op : NULL;
}

HUTCH_API const char *hutch_error_subject(const struct hutch_error *err)
{
    return err ? err->subject : NULL;
}

HUTCH_API const char *hutch_error_message(const struct hutch_error *err)
{
    return err ? err->message : NULL;
}

HUTCH_API const struct hutch_error *hutch_error_cause(const struct hutch_error *err)
{
    return err ? err->cause : NULL;
}

HUTCH_API int hutch_error_exit_status(const struct hutch_error *err)
{
    return err ? err->exit_status : HUTCH_EXIT_INTERNAL;
}

/* Control characters (a newline or an escape sequence in a quoted value) would break the one
 * line the CLI prints, or reach a terminal: write them as \xNN. */
static void fput_clean(const char *s, FILE *f)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

/* "subject: message" per link, joined with ": " — the outermost context first. A link whose
 * message repeats its cause's (e.g. strerror twice) is not printed twice. */
HUTCH_API char *hutch_error_format(const struct hutch_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    for (const struct hutch_error *e = err; e; e = e->cause) {
        if (e != err)
            fputs(": ", f);
        if (e->subject && *e->subject)
            fput_clean(e->subject, f), fputs(": ", f);
        if (e->op && *e->op && !e->subject)
            fput_clean(e->op, f), fputs(": ", f);
        fput_clean(e->message, f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

HUTCH_API void hutch_error_free(struct hutch_error *err)
{
    while (err) {
        struct hutch_error *c = err->cause;
        free(err->op);
        free(err->subject);
        free(err->message);
        free(err);
        err = c;
    }
}
