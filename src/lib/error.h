/* SPDX-License-Identifier: MIT */
/* Chained errors: errno + operation + subject + message, deepest cause last (crun-style). */
#ifndef HUTCH_ERROR_H
#define HUTCH_ERROR_H

#include "hutch.h"

struct hutch_error {
    int errnum;       /* positive errno */
    int exit_status;  /* 125 unless a command-lookup error (126/127) */
    char *op;         /* "mount", "parse", ... or NULL */
    char *subject;    /* path, field, option, interface ... or NULL */
    char *message;    /* human text, never NULL */
    struct hutch_error *cause;
};

/*
 * Push a new error on top of *err (the existing chain becomes its cause) and return -errnum.
 * errnum may be given negative or positive. op/subject may be NULL. On ENOMEM the chain is kept
 * as it is and -errnum still returned. err may be NULL (the error is dropped).
 */
int hutch_err(struct hutch_error **err, int errnum, const char *op, const char *subject,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Same as hutch_err with errnum = errno. */
int hutch_err_sys(struct hutch_error **err, const char *op, const char *subject);
/* Set the exit status (126/127) of the newest link. */
void hutch_err_set_exit(struct hutch_error **err, int status);
/* Free *err and set it to NULL. */
void hutch_err_clear(struct hutch_error **err);

static inline void cleanup_error_(struct hutch_error **e)
{
    hutch_error_free(*e);
}
#define _cleanup_error_ __attribute__((cleanup(cleanup_error_)))

#endif
