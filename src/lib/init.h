/* SPDX-License-Identifier: MIT */
#ifndef HUTCH_INIT_H
#define HUTCH_INIT_H

#include <signal.h>

/* Sent by the supervisor to init on timeout: SIGTERM to everything in the sandbox. */
#define INIT_SIG_TERM_ALL (SIGRTMAX - 1)

#endif
