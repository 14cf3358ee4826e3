/*
 * client_calls.h - shared by the client misuse parts (client_handles_test.c,
 * client_misuse_test.c): calls that record which function they called (for
 * the coverage check of functions.gen.h) and check the code they return.
 */
#ifndef ZIG_H3_C_TEST_CLIENT_CALLS_H
#define ZIG_H3_C_TEST_CLIENT_CALLS_H

#include "harness.h"

#define HUGE_LEN ((size_t)ZIG_H3_MAX_LENGTH + 1) /* over the library's sanity bound */
#define BAD ZIG_H3_ERR_BAD_HANDLE
#define INV ZIG_H3_ERR_INVALID_ARG
#define STATE ZIG_H3_ERR_STATE
#define OK ZIG_H3_OK

/* Records that the function named name (without zig_h3_) was called. */
void client_mark(const char *name);
/* Fails a check naming every client function (outside the server half) never recorded. */
void check_client_coverage(void);

#define CALL(f, ...) (client_mark(#f), h3.f(__VA_ARGS__))
#define IS(want, f, ...) CHECK_RC(CALL(f, __VA_ARGS__), want)
/* One of two documented results (the header allows either reading). */
#define IS2(w1, w2, f, ...)                                                                                     \
    do {                                                                                                        \
        long long r_ = (long long)CALL(f, __VA_ARGS__);                                                         \
        CHECK(r_ == (w1) || r_ == (w2), "%s(%s) -> %lld (%s), want %s or %s; last_error: %s", #f, #__VA_ARGS__, \
              r_, h3.strerror((int)r_), h3.strerror(w1), h3.strerror(w2), h3.last_error());                    \
    } while (0)
#define IS_NULL(f, ...)                                                                                        \
    do {                                                                                                       \
        void *p_ = (void *)CALL(f, __VA_ARGS__);                                                               \
        CHECK(p_ == NULL && h3.last_error()[0], "%s(%s) -> %p (want NULL and a message: \"%s\")", #f,          \
              #__VA_ARGS__, p_, h3.last_error());                                                              \
    } while (0)

/* Every client function on a handle that is not a live client: BAD_HANDLE. */
void check_bad_client(zig_h3_client *c, const char *what);
/* Every zig_h3_wt_session_* function on a dead session: BAD_HANDLE (NULL: or INVALID_ARG). */
void check_bad_session(zig_h3_wt_session *s, const char *what);

#endif
