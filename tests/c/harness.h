/*
 * harness.h - shared by the parts of the C ABI test (see main.c).
 *
 * The table of library functions (loaded with dlopen by harness_init), the
 * CHECK macros and their counters, the runner of the Go HTTP/3 client
 * (h3client, through popen) with helpers to read its output, small helpers
 * for request callbacks, and the functions each part exports to main.c and
 * to the other parts.
 */
#ifndef ZIG_H3_C_TEST_HARNESS_H
#define ZIG_H3_C_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/zig_h3.h"

/* ---- The library, loaded with dlopen --------------------------------------- */

#include "functions.gen.h" /* ZIG_H3_FUNCTIONS(X): every function of the header */

#define FIELD(name) __typeof__(&zig_h3_##name) name;
struct zig_h3_functions { ZIG_H3_FUNCTIONS(FIELD) };
extern struct zig_h3_functions h3;

/* Loads the library (argv[1], else $ZIG_H3_LIB, else build/libzigh3.so) and
 * finds the clients ($H3CLIENT, else build/h3client; $DGCLIENT, else
 * build/dgclient); starts the 90 s watchdog. Returns 0, or prints why and
 * returns 1. */
int harness_init(int argc, char **argv);

/* ---- Checks ------------------------------------------------------------------ */

extern int checks, failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

/* Checks that expr returns want; an error must leave a last_error message. */
#define CHECK_RC(expr, want)                                                                    \
    do {                                                                                        \
        long long rc_ = (long long)(expr);                                                      \
        CHECK(rc_ == (want), "%s returned %lld (%s), want %d; last_error: %s", #expr, rc_,      \
              h3.strerror((int)rc_), (int)(want), h3.last_error());                             \
        if (rc_ < 0 && rc_ == (want))                                                           \
            CHECK(h3.last_error()[0] != 0, "no last_error message after %s", #expr);            \
    } while (0)

/* A response that has ended: its functions give CLOSED or BAD_HANDLE. */
#define ENDED(rc) ((rc) == ZIG_H3_ERR_CLOSED || (rc) == ZIG_H3_ERR_BAD_HANDLE)

double now_ms(void);
void sleep_ms(int ms);

/* Shared counters of callbacks and test threads. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)
/* Waits up to ms for cond; evaluates to whether it holds. */
#define WAIT_FOR(cond, ms) ({ double t_ = now_ms(); while (!(cond) && now_ms() - t_ < (ms)) sleep_ms(5); (cond); })

/* ---- Running the Go client --------------------------------------------------- */

extern const char *client_path;
extern const char *dgclient_path;
extern int port; /* of the main server */
extern int requests_made;

typedef struct {
    char *out;    /* stdout, NUL-terminated */
    size_t len;
    int exit_code;
} client_result;

char *read_all(FILE *f, size_t *len);
void free_result(client_result *r);
/* Runs a shell command and returns its stdout and exit code. */
client_result run_command(const char *cmd);
/* Runs the client with the given arguments (a shell fragment) for count requests. */
client_result client(int count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs dgclient (tests/dgclient) with the given arguments (a shell fragment);
 * it prints one JSON object. */
client_result dgclient(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The integer after the nth (from 0) "key": in json, or -999999 if none. */
long json_int(const char *json, const char *key, int nth);
/* Copies the string after the first "key": in json to out ("" if none). */
void json_str(const char *json, const char *key, char *out, size_t cap);
int status_of(const char *out);
/* The body (and trailer lines) after the blank line ending the head. */
const char *body_of(const char *out);
/* Number of head lines equal to line. */
int header_count(const char *out, const char *line);
int has_header(const char *out, const char *line);

/* A server on 127.0.0.1 (not started) with the default configuration but
 * for HTTP/3 datagrams and WebTransport (on when dgram or wt is 1), or NULL
 * after a failed check naming what. */
zig_h3_server *new_local_server(const char *what, uint8_t dgram, uint8_t wt);

/* ---- Helpers for request callbacks ------------------------------------------- */

void add_note(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int field_is(const char *p, size_t n, const char *want);
const zig_h3_header *find_header(const zig_h3_request *req, const char *name);

/* ---- abi_test.c: layouts, bad handles, misuse and error codes ----------------- */

void check_library_basics(void);
void check_all_bad_handles(void);
/* Every server (response) function on a bad handle: BAD_HANDLE. */
void check_bad_server(zig_h3_server *s, const char *what);
void check_bad_response(zig_h3_response *r, const char *what);
void check_setup_errors(zig_h3_server *s);
void cb_rules(void *user, const zig_h3_request *req, zig_h3_response *resp);
void check_rules(void);

/* ---- routes_test.c: buffered routes, deferred ends, stats, stop --------------- */

void routes_register(zig_h3_server *s);
void cb_any(void *user, const zig_h3_request *req, zig_h3_response *resp);
void on_log(void *user, const char *line);
void check_hello(void);
void check_echo(void);
void check_unrouted(void);
void check_deferred(void);
void check_respond(void);
void check_connections(void);
void check_stats(zig_h3_server *s);
void check_stop_and_free(zig_h3_server *s);
void check_force_stop(void);
void check_tcp(void);
void check_static_routes(void);
void check_graceful_inflight(void);

/* ---- streaming_test.c: streaming routes, stream and connection close ---------- */

void streaming_register(zig_h3_server *s);
void streaming_set_close_callbacks(zig_h3_server *s);
void on_body_chunk(void *user, const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *chunk, size_t len);
void on_body_complete(void *user, const uint8_t *conn, size_t cl, uint64_t sid);
void on_stream_close(void *user, const uint8_t *conn, size_t cl, uint64_t sid, uint8_t aborted);
void on_connection_close(void *user, const uint8_t *conn, size_t cl);
void check_streaming_uploads(void);
void check_streaming_echo(void);
void check_streaming_early(void);
void check_stream_abort(void);
void check_close_callbacks(zig_h3_server *s);

/* ---- send_test.c: zig_h3_response_send and zig_h3_response_send_file ---------- */

void send_register(zig_h3_server *s);
void check_send(void);
void check_send_file(void);
void check_declared_length(void);

/* ---- datagram_test.c: QUIC and HTTP/3 datagrams, WebTransport (dgclient) ----- */

void check_quic_datagrams(void);
void check_h3_datagrams(void);
void check_webtransport(void);

/* ---- misuse_test.c: NULLs, huge lengths, stale handles, many threads at once --- */

void check_misuse(void);

#endif
