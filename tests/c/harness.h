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
#include <sys/types.h>

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

/* ---- answers_test.c: event-queue requests answered with zig_h3_response_respond - */

void check_queue_answers(void);

/* ---- misuse_test.c: NULLs, huge lengths, stale handles, many threads at once --- */

void check_misuse(void);

/* ---- client_support.c: shared by the client parts ----------------------------- */

/* Notes of wrong results seen on library threads (client callbacks, server
 * callbacks, drain threads); client_check_notes turns them into a failed check. */
void client_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CLIENT_EXPECT(expr, want)                                                                   \
    do {                                                                                            \
        long long rc_ = (long long)(expr);                                                          \
        if (rc_ != (long long)(want)) client_note(" [%s -> %lld: %s]", #expr, rc_, h3.last_error());  \
    } while (0)
void client_check_notes(const char *what);

/* The repeating body pattern of the test servers (Bun's and ours). */
#define PATTERN "abcdefghijklmnopqrstuvwxyz0123456789"
#define PATTERN_LEN 36
/* Fills buf with n bytes of PATTERN starting at offset off. */
void fill_pattern(uint8_t *buf, size_t n, size_t off);
/* Index of the first byte of buf (at offset off of the stream) that breaks the pattern, or -1. */
long pattern_mismatch(const uint8_t *buf, size_t n, size_t off);

/* A self-signed ECDSA certificate for 127.0.0.1 and localhost (openssl), in
 * a temporary directory: files, PEM text and the SHA-256 of its DER in hex. */
typedef struct {
    char dir[64], cert[128], key[128], hash_hex[65];
    char *pem;
} test_cert;
int make_test_cert(test_cert *c); /* 0, or a failed check and -1 */
void remove_test_cert(test_cert *c);

/* Bun's own HTTP/3 server (tests/fixtures/bun-native-h3.ts): GET /hello,
 * POST /echo, GET /bytes?n=N. $BUN, else node_modules/.bin/bun. */
typedef struct {
    pid_t pid;
    int port, stdin_fd;
} bun_peer;
int bun_peer_start(bun_peer *p, const test_cert *c); /* 0, or a failed check and -1 */
void bun_peer_stop(bun_peer *p);                    /* SIGTERM by pid, then SIGKILL after 3 s */

/* What the callbacks of one callback-mode fetch saw (zig_h3_fetch_event_cb
 * and zig_h3_fetch_cb, both with the record as user). Keep records alive
 * until the client is freed: its free still delivers FINISHED. */
typedef struct fetch_rec {
    pthread_mutex_t mu;
    int events, started, headers, data_events, trailers, finished, datagrams, writable, cb_calls;
    int order_bad;           /* an event out of the documented order (see order_note) */
    char order_note[160];
    uint16_t head_status, finish_status, cb_status;
    uint64_t stream_id;      /* of STARTED */
    size_t data_len;         /* bytes of DATA events */
    long data_mismatch;      /* first byte of DATA off the pattern (when check_pattern), else -1 */
    int check_pattern;       /* DATA must follow PATTERN from offset 0 */
    int pause_first_data_ms; /* sleep in the callback of the first DATA event */
    uint8_t *body;           /* copy of the fetch_cb body */
    size_t body_len, cb_headers, cb_trailers;
    int cb_body_null;        /* fetch_cb got body NULL */
    char message[256];       /* FINISHED with status 0: its data */
    char trailer[64];        /* first trailer "name: value" of the fetch_cb */
    char cb_head[256];       /* the fetch_cb headers as "name: value; ..." (for messages) */
} fetch_rec;
fetch_rec *fetch_rec_new(void);
void fetch_rec_free(fetch_rec *r);
void on_fetch_event(void *user, const zig_h3_fetch_event *e);
void on_fetch_done(void *user, uint16_t status, const zig_h3_header *headers, size_t headers_len,
                   const uint8_t *body, size_t body_len, const zig_h3_header *trailers, size_t trailers_len);
/* Waits up to ms for FINISHED (and the fetch_cb when want_cb): 1 when both
 * came; the record is then safe to read (the callbacks set these flags last). */
int fetch_wait(fetch_rec *r, int want_cb, int ms);
/* Waits up to ms for the fetch_cb alone (fetches without an event callback). */
int fetch_wait_cb(fetch_rec *r, int ms);

/* A callback-mode client on 127.0.0.1:port with verify_peer 0 (and the flags
 * given), connected; NULL after a failed check. */
zig_h3_client *connect_client(const char *what, int port, uint8_t dgram, uint8_t wt);

/* Our own server for the client tests (callback routes): GET /hello,
 * POST /echo (buffered, 1 MiB at most), GET /bytes?n=N (x-path: the path), GET /trailers
 * (body "t", trailer x-t: v), GET /abort (1000 bytes, then reset), GET /hang
 * (never answered until stop), POST /dg (HTTP/3 datagrams echoed, ended by
 * the client); CONNECT /wt (accepted; session datagrams and bidirectional
 * streams echoed through the event queue, the datagram "close" closes it
 * with 42 "server bye"), CONNECT /wt/reject (403); raw QUIC datagrams of
 * ALPN "zig-h3-ctest" echoed. (client_server.c) */
zig_h3_server *client_server_start(int *port_out);
void client_server_stop(zig_h3_server *s);
/* Sessions the server closed after "close"; stream bytes it echoed; the
 * sessions that ended (with the last one's code and reason). */
int client_server_closes(void);
long long client_server_stream_bytes(void);
int client_server_session_closes(uint32_t *last_code, char *reason, size_t cap);

/* ---- The client parts --------------------------------------------------------- */

void check_client_bun(void);             /* client_test.c: callback mode against Bun's HTTP/3 */
void check_client_local(void);           /* client_test.c: callback mode against our server */
void check_client_tls(int port, const test_cert *cert); /* client_tls_test.c: verify_peer, "ca", hashes */
void check_client_datagrams(void);       /* client_datagram_test.c: WebTransport, raw QUIC, H3 datagrams */
void check_client_queue(void);           /* client_queue_test.c: event-queue mode */
void check_client_handles(void);         /* client_handles_test.c: helpers, bad handles, many threads */
void check_client_misuse(void);          /* client_misuse_test.c: states, modes, arguments; coverage */

#endif
