/*
 * server_test.c - end-to-end test of libzigh3.so through its C ABI.
 *
 * Loads the library with dlopen (argv[1], else $ZIG_H3_LIB, else
 * build/libzigh3.so), checks the struct layouts of include/zig_h3.h, runs a
 * server with C callbacks and drives it with the Go HTTP/3 client
 * ($H3CLIENT, else build/h3client; see tests/h3client). It also calls every
 * function with bad handles and arguments, and checks stats, graceful and
 * forced stop. Run it from the repository root (tests/c/run.sh does).
 *
 * The streaming part ("C streaming route test"): POST /up checksums 5 MiB,
 * empty and concurrent uploads (FNV-1a 64 in the body callbacks, keyed by
 * connection and stream id); POST /echo-stream echoes each chunk as it
 * arrives (checked by SHA-256 and by h3client -duplex); POST /early answers
 * 401 before the body (the rest must not be delivered); GET /never is given
 * up by the client. The stream close callback must come once for every
 * request (aborted for the ones the client reset), the connection close
 * callback once for every connection. GET /send paces zig_h3_response_send
 * with zig_h3_response_process_partial and ends with a trailer; GET
 * /file/:name serves files with zig_h3_response_send_file (Range, 416, 404).
 * It needs coreutils (yes, tr, head, sha256sum) for one reference hash.
 *
 * Prints "PASS <n> checks" and exits 0, or prints each failing check and
 * exits 1. alarm(60) bounds the whole run.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../include/zig_h3.h"

/* ---- Layout of the ABI structs (x86-64 / LP64) ---------------------------- */

_Static_assert(sizeof(zig_h3_server_config) == 48, "zig_h3_server_config size");
_Static_assert(offsetof(zig_h3_server_config, cert_path) == 0, "cert_path");
_Static_assert(offsetof(zig_h3_server_config, key_path) == 8, "key_path");
_Static_assert(offsetof(zig_h3_server_config, bind_addr) == 16, "bind_addr");
_Static_assert(offsetof(zig_h3_server_config, bind_port) == 24, "bind_port");
_Static_assert(offsetof(zig_h3_server_config, enable_dgram) == 26, "enable_dgram");
_Static_assert(offsetof(zig_h3_server_config, enable_webtransport) == 27, "enable_webtransport");
_Static_assert(offsetof(zig_h3_server_config, qlog_dir) == 32, "qlog_dir");
_Static_assert(offsetof(zig_h3_server_config, log_level) == 40, "log_level");
_Static_assert(sizeof(zig_h3_header) == 32, "zig_h3_header size");
_Static_assert(sizeof(zig_h3_request) == 104, "zig_h3_request size");
_Static_assert(offsetof(zig_h3_request, headers) == 48, "headers");
_Static_assert(offsetof(zig_h3_request, headers_len) == 56, "headers_len");
_Static_assert(offsetof(zig_h3_request, stream_id) == 64, "stream_id");
_Static_assert(offsetof(zig_h3_request, conn_id) == 72, "conn_id");
_Static_assert(offsetof(zig_h3_request, conn_id_len) == 80, "conn_id_len");
_Static_assert(offsetof(zig_h3_request, body) == 88, "body");
_Static_assert(offsetof(zig_h3_request, body_len) == 96, "body_len");
_Static_assert(sizeof(struct zig_h3_server_stats) == 32, "zig_h3_server_stats size");

/* ---- The library, loaded with dlopen --------------------------------------- */

#define ZIG_H3_FUNCTIONS(X)                                                              \
    X(version) X(strerror) X(last_error) X(server_new) X(server_free) X(server_start)    \
    X(server_stop) X(server_stop_async) X(server_port) X(server_certificate_hash)        \
    X(server_route) X(server_route_streaming) X(server_set_stream_close_cb)              \
    X(server_set_connection_close_cb) X(server_set_quic_datagram_cb)                     \
    X(server_send_quic_datagram) X(server_set_log) X(server_stats) X(server_counters)    \
    X(response_status) X(response_header) X(response_write) X(response_end)              \
    X(response_send_h3_datagram) X(response_send_trailers) X(response_defer_end)         \
    X(response_set_auto_end) X(response_should_auto_end) X(response_process_partial)     \
    X(wt_accept) X(wt_reject) X(wt_close) X(wt_send_datagram) X(wt_release)              \
    X(server_event_fd) X(server_drain) X(server_event_size) X(server_set_event_routes)   \
    X(response_respond) X(response_send) X(response_send_file) X(response_ack_body)      \
    X(response_discard_body)

#define FIELD(name) __typeof__(&zig_h3_##name) name;
static struct { ZIG_H3_FUNCTIONS(FIELD) } h3;

/* ---- Checks ------------------------------------------------------------------ */

static int checks, failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            printf("FAIL line %d: %s: ", __LINE__, #cond);                \
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

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL watchdog: the test took over 60 s\n";
    ssize_t n = write(1, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

/* ---- Running the Go client --------------------------------------------------- */

static const char *client_path;
static int port; /* of the main server */
static int requests_made;

typedef struct {
    char *out;    /* stdout, NUL-terminated */
    size_t len;
    int exit_code;
} client_result;

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n < 2) buf = realloc(buf, cap *= 2);
    }
    if (!buf) abort();
    buf[n] = 0;
    *len = n;
    return buf;
}

static void free_result(client_result *r) { free(r->out); }

/* Runs the client with the given arguments (a shell fragment) for count requests. */
static client_result client(int count, const char *fmt, ...) {
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' -timeout 15s %s", client_path, args);
    client_result r = {0};
    FILE *f = popen(cmd, "r");
    if (!f) {
        r.out = strdup("");
        r.exit_code = -1;
        return r;
    }
    r.out = read_all(f, &r.len);
    int st = pclose(f);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    requests_made += count;
    return r;
}

static int status_of(const char *out) {
    int s = -1;
    if (sscanf(out, "HTTP/3 %d", &s) != 1) return -1;
    return s;
}

/* The body (and trailer lines) after the blank line ending the head. */
static const char *body_of(const char *out) {
    const char *p = strstr(out, "\n\n");
    return p ? p + 2 : "";
}

/* Number of head lines equal to line. */
static int header_count(const char *out, const char *line) {
    const char *end = strstr(out, "\n\n");
    size_t n = strlen(line);
    int count = 0;
    for (const char *p = strchr(out, '\n'); p && end && p < end; p = strchr(p + 1, '\n'))
        if ((size_t)(end - p) > n && strncmp(p + 1, line, n) == 0 && p[1 + n] == '\n') count++;
    return count;
}

static int has_header(const char *out, const char *line) { return header_count(out, line) > 0; }

/* ---- Request callbacks --------------------------------------------------------- */

static void add_note(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static int field_is(const char *p, size_t n, const char *want) {
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

static const zig_h3_header *find_header(const zig_h3_request *req, const char *name) {
    for (size_t i = 0; i < req->headers_len; i++)
        if (field_is(req->headers[i].name, req->headers[i].name_len, name)) return &req->headers[i];
    return NULL;
}

/* GET /hello/:name: 201, x-test, two cookies, "hello from C <path>"; x-req-check
 * reports whether the request struct looked right. */
static void cb_hello(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    char notes[256] = "", authority[64], body[512];
    if (user != (void *)&port) add_note(notes, sizeof notes, " user");
    if (!field_is(req->method, req->method_len, "GET") && !field_is(req->method, req->method_len, "HEAD"))
        add_note(notes, sizeof notes, " method");
    snprintf(authority, sizeof authority, "127.0.0.1:%d", port);
    if (!field_is(req->authority, req->authority_len, authority)) add_note(notes, sizeof notes, " authority");
    if (!req->conn_id || req->conn_id_len != 8) add_note(notes, sizeof notes, " conn_id");
    if (req->stream_id % 4 != 0) add_note(notes, sizeof notes, " stream_id");
    if (req->body || req->body_len) add_note(notes, sizeof notes, " body");
    const zig_h3_header *h = find_header(req, "x-client");
    if (!h || !field_is(h->value, h->value_len, "yes")) add_note(notes, sizeof notes, " x-client");
    for (size_t i = 0; i < req->headers_len; i++)
        for (size_t j = 0; j < req->headers[i].name_len; j++)
            if (req->headers[i].name[j] >= 'A' && req->headers[i].name[j] <= 'Z') add_note(notes, sizeof notes, " case");
    const char *check = notes[0] ? notes + 1 : "ok";

    int n = snprintf(body, sizeof body, "hello from C %.*s", (int)req->path_len, req->path);
    h3.response_status(resp, 201);
    h3.response_header(resp, "x-test", 6, "c-callback", 10);
    h3.response_header(resp, "set-cookie", 10, "a=1; Path=/", 11);
    h3.response_header(resp, "set-cookie", 10, "b=2", 3);
    h3.response_header(resp, "x-req-check", 11, check, strlen(check));
    h3.response_end(resp, (const uint8_t *)body, (size_t)n);
}

static int echo_calls;

/* POST /echo: the body back, with the request's content-type. */
static void cb_echo(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    __atomic_add_fetch(&echo_calls, 1, __ATOMIC_SEQ_CST);
    const zig_h3_header *ct = find_header(req, "content-type");
    if (ct) h3.response_header(resp, "content-type", 12, ct->value, ct->value_len);
    h3.response_end(resp, req->body, req->body_len);
}

/* GET /conn: the connection id in hex. */
static void cb_conn(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    char hex[64] = "";
    for (size_t i = 0; i < req->conn_id_len && i < 16; i++) sprintf(hex + 2 * i, "%02x", req->conn_id[i]);
    h3.response_end(resp, (const uint8_t *)hex, strlen(hex));
}

/* Any method on /any/ and below: method and path. */
static void cb_any(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    char body[256];
    int n = snprintf(body, sizeof body, "%.*s %.*s", (int)req->method_len, req->method, (int)req->path_len, req->path);
    h3.response_end(resp, (const uint8_t *)body, (size_t)n);
}

/* GET /deferred: the callback returns at once; a thread ends the response. */
static struct {
    int called, thread_ok;
    pthread_t thread;
    zig_h3_response *resp;
    int auto_before, rc_defer, auto_after;
    int rc_write1, rc_write2, rc_partial, rc_trailers, rc_write_after, rc_end_after, rc_trailers_after;
} deferred;

static void *deferred_thread(void *arg) {
    zig_h3_response *resp = arg;
    sleep_ms(20);
    deferred.rc_write1 = h3.response_write(resp, (const uint8_t *)"deferred ", 9);
    deferred.rc_write2 = h3.response_write(resp, (const uint8_t *)"body", 4);
    deferred.rc_partial = h3.response_process_partial(resp);
    zig_h3_header trailer = {"x-done", 6, "yes", 3};
    deferred.rc_trailers = h3.response_send_trailers(resp, &trailer, 1);
    deferred.rc_write_after = h3.response_write(resp, (const uint8_t *)"x", 1);
    deferred.rc_end_after = h3.response_end(resp, NULL, 0);
    deferred.rc_trailers_after = h3.response_send_trailers(resp, NULL, 0);
    return NULL;
}

static void cb_deferred(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    if (__atomic_fetch_add(&deferred.called, 1, __ATOMIC_SEQ_CST) != 0) {
        h3.response_status(resp, 409);
        h3.response_end(resp, (const uint8_t *)"once", 4);
        return;
    }
    deferred.resp = resp;
    deferred.auto_before = h3.response_should_auto_end(resp);
    deferred.rc_defer = h3.response_defer_end(resp);
    deferred.auto_after = h3.response_should_auto_end(resp);
    deferred.thread_ok = pthread_create(&deferred.thread, NULL, deferred_thread, resp) == 0;
    if (!deferred.thread_ok) h3.response_end(resp, (const uint8_t *)"no thread", 9);
}

/* GET /rules: misuse inside a callback must give the documented codes. */
static void cb_rules(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    char bad[1024] = "";
#define EXPECT(expr, want)                                                          \
    do {                                                                            \
        int rc_ = (expr);                                                           \
        if (rc_ != (want)) add_note(bad, sizeof bad, " [%s -> %d]", #expr, rc_);    \
        else if (rc_ < 0 && !h3.last_error()[0])                                    \
            add_note(bad, sizeof bad, " [%s: empty last_error]", #expr);            \
    } while (0)
    const uint8_t *u = (const uint8_t *)"x-a";
    EXPECT(h3.response_status(resp, 99), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_status(resp, 600), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "bad name", 8, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "", 0, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-crlf", 6, "a\r\nb", 4), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-nul", 5, "a\0b", 3), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, NULL, 3, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-v", 3, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_write(resp, NULL, 5), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_end(resp, NULL, 5), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_trailers(resp, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_respond(resp, 99, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_respond(resp, 200, u, 3, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG); /* no NULs */
    EXPECT(h3.response_respond(resp, 200, NULL, 4, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_h3_datagram(resp, u, 1), ZIG_H3_ERR_NOT_SUPPORTED);
    EXPECT(h3.response_should_auto_end(resp), 1);
    EXPECT(h3.response_set_auto_end(resp, 0), ZIG_H3_OK);
    EXPECT(h3.response_should_auto_end(resp), 0);
    EXPECT(h3.response_set_auto_end(resp, 1), ZIG_H3_OK);
    EXPECT(h3.response_should_auto_end(resp), 1);
    EXPECT(h3.response_process_partial(resp), 0);
    EXPECT(h3.response_send(resp, NULL, 5, 0, NULL, 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send(resp, u, 1, 1, NULL, 3), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send(resp, u, 1, 1, u, 3), ZIG_H3_ERR_INVALID_ARG); /* trailer block without NULs */
    EXPECT(h3.response_send(resp, NULL, 0, 1, (const uint8_t *)"bad name\0v\0", 11), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, NULL, 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, "", 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 3, "/x", 2), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, u, 3, "/x", 2), ZIG_H3_ERR_INVALID_ARG); /* block without NULs */
    EXPECT(h3.response_send_file(resp, 99, NULL, 0, "/x", 2), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_ack_body(resp, 1), ZIG_H3_ERR_STATE);   /* not a streaming request */
    EXPECT(h3.response_discard_body(resp), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_header(resp, "x-rules", 7, "yes", 3), ZIG_H3_OK);
    EXPECT(h3.response_status(resp, bad[0] ? 500 : 200), ZIG_H3_OK);
    EXPECT(h3.response_write(resp, (const uint8_t *)"rules", 5), ZIG_H3_OK);
    /* The body has begun: the head is fixed. */
    EXPECT(h3.response_header(resp, "x-late", 6, "1", 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_status(resp, 201), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_respond(resp, 200, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_write(resp, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, "/etc/hostname", 13), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_send(resp, NULL, 0, 0, NULL, 0) >= 0, 1);
#undef EXPECT
    char tail[1100];
    snprintf(tail, sizeof tail, "%s%s", bad[0] ? " FAILED:" : " ok", bad);
    h3.response_end(resp, (const uint8_t *)tail, strlen(tail));
}

/* GET /respond: zig_h3_response_respond with end == 0, then write and end. */
static void cb_respond(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    static const char block[] = "x-one\0" "1\0" "set-cookie\0" "c=3\0" "set-cookie\0" "d=4\0";
    int rc = h3.response_respond(resp, 202, (const uint8_t *)block, sizeof block - 1, (const uint8_t *)"part1 ", 6, 0);
    if (rc != ZIG_H3_OK) {
        h3.response_status(resp, 500);
        h3.response_end(resp, (const uint8_t *)"respond failed", 14);
        return;
    }
    rc = h3.response_write(resp, (const uint8_t *)"part2 ", 6);
    h3.response_end(resp, (const uint8_t *)(rc == 0 ? "end" : "write failed"), rc == 0 ? 3 : 12);
}

/* GET /slow on the third server: deferred, ended by a thread after 300 ms. */
static int slow_called, slow_end_rc = 1;

static void *slow_thread(void *arg) {
    sleep_ms(300);
    __atomic_store_n(&slow_end_rc, h3.response_end(arg, (const uint8_t *)"slow done", 9), __ATOMIC_SEQ_CST);
    return NULL;
}

static void cb_slow(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    pthread_t t;
    h3.response_defer_end(resp);
    if (pthread_create(&t, NULL, slow_thread, resp) != 0) {
        h3.response_end(resp, (const uint8_t *)"no thread", 9);
        return;
    }
    pthread_detach(t);
    __atomic_store_n(&slow_called, 1, __ATOMIC_SEQ_CST);
}

/* GET /hang on the second server: deferred and never ended. */
static zig_h3_response *hang_resp;
static int hang_called;

static void cb_hang(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    h3.response_defer_end(resp);
    __atomic_store_n(&hang_resp, resp, __ATOMIC_SEQ_CST);
    __atomic_store_n(&hang_called, 1, __ATOMIC_SEQ_CST);
}

static int log_lines;

static void on_log(void *user, const char *line) {
    if (user == &log_lines && line) __atomic_add_fetch(&log_lines, 1, __ATOMIC_SEQ_CST);
}

/* Any callbacks for the not-supported hooks (never called). */
static void dgram_cb(void *u, const zig_h3_request *r, zig_h3_response *s, const uint8_t *d, size_t n) {
    (void)u, (void)r, (void)s, (void)d, (void)n;
}
static void quic_dgram_cb(void *u, void *p, const uint8_t *c, size_t cl, const uint8_t *d, size_t n) {
    (void)u, (void)p, (void)c, (void)cl, (void)d, (void)n;
}

/* ---- Streaming routes, stream and connection close ------------------------------ */

#define PATTERN "abcdefghijklmnopqrstuvwxyz0123456789" /* what h3client -data-size sends */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* FNV-1a 64 of the first n bytes of the repeating PATTERN. */
static uint64_t fnv_pattern(size_t n) {
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)PATTERN[i % 36]) * FNV_PRIME;
    return h;
}

/* Which streaming route a callback serves: its user pointer. */
enum { ROUTE_UP = 1, ROUTE_ECHO, ROUTE_EARLY };
static int route_up = ROUTE_UP, route_echo = ROUTE_ECHO, route_early = ROUTE_EARLY;

/* Open streaming requests, keyed by connection id and stream id (stream ids
 * repeat across connections). */
typedef struct {
    int used, route;
    uint8_t conn[8];
    uint64_t sid;
    zig_h3_response *resp;
    uint64_t bytes, fnv;
} stream_entry;

/* Where the last request of a route came from. */
typedef struct {
    int seen;
    uint8_t conn[8];
    uint64_t sid;
} stream_key;

static pthread_mutex_t streams_mu = PTHREAD_MUTEX_INITIALIZER;
static stream_entry streams[64];
static stream_key last_up, last_echo, last_early, last_never;
/* Counters, under streams_mu. */
static struct {
    int up_requests, up_completes, echo_completes, echo_write_errors, early_completes, early_chunks;
    uint64_t early_bytes;
    int missing;   /* a chunk or complete callback for an unknown stream */
    int bad_ids;   /* conn_id NULL or not 8 bytes in a body callback */
    int table_full;
    int leftovers; /* entries the stream close callback removed (body never completed) */
} sc;

static int key_is(const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *kconn, uint64_t ksid) {
    return cl == 8 && conn && sid == ksid && memcmp(conn, kconn, 8) == 0;
}

static void set_key(stream_key *k, const zig_h3_request *req) {
    k->seen = 1;
    k->sid = req->stream_id;
    memset(k->conn, 0, 8);
    if (req->conn_id && req->conn_id_len == 8) memcpy(k->conn, req->conn_id, 8);
}

/* The entry of a stream, or NULL; streams_mu held. */
static stream_entry *find_stream(const uint8_t *conn, size_t cl, uint64_t sid) {
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        if (streams[i].used && key_is(conn, cl, sid, streams[i].conn, streams[i].sid)) return &streams[i];
    return NULL;
}

/* POST /up and POST /echo-stream: keep the response for the body callbacks. */
static void cb_stream_head(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    int route = *(int *)user;
    pthread_mutex_lock(&streams_mu);
    set_key(route == ROUTE_UP ? &last_up : &last_echo, req);
    if (route == ROUTE_UP) sc.up_requests++;
    stream_entry *e = NULL;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0] && !e; i++)
        if (!streams[i].used) e = &streams[i];
    if (e) {
        *e = (stream_entry){.used = 1, .route = route, .sid = req->stream_id, .resp = resp, .fnv = FNV_OFFSET};
        if (req->conn_id && req->conn_id_len == 8) memcpy(e->conn, req->conn_id, 8);
    } else {
        sc.table_full++;
    }
    pthread_mutex_unlock(&streams_mu);
    if (!e) {
        h3.response_status(resp, 503);
        h3.response_end(resp, (const uint8_t *)"table full", 10);
    } else if (route == ROUTE_ECHO) {
        h3.response_header(resp, "x-echo", 6, "stream", 6);
    }
}

/* POST /early: answers 401 before reading any of the body. */
static int early_end_rc = 1;

static void cb_early_head(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    pthread_mutex_lock(&streams_mu);
    set_key(&last_early, req);
    pthread_mutex_unlock(&streams_mu);
    h3.response_status(resp, 401);
    __atomic_store_n(&early_end_rc, h3.response_end(resp, (const uint8_t *)"no", 2), __ATOMIC_SEQ_CST);
}

static void on_body_chunk(void *user, const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *chunk, size_t len) {
    int route = *(int *)user;
    zig_h3_response *echo_to = NULL;
    pthread_mutex_lock(&streams_mu);
    if (!conn || cl != 8) sc.bad_ids++;
    if (route == ROUTE_EARLY) {
        sc.early_chunks++;
        sc.early_bytes += len;
    } else {
        stream_entry *e = find_stream(conn, cl, sid);
        if (!e) {
            sc.missing++;
        } else if (route == ROUTE_UP) {
            e->bytes += len;
            e->fnv = fnv1a(e->fnv, chunk, len);
        } else {
            e->bytes += len;
            echo_to = e->resp;
        }
    }
    pthread_mutex_unlock(&streams_mu);
    /* Full duplex: the chunk goes back while the upload goes on. */
    if (echo_to && h3.response_write(echo_to, chunk, len) != ZIG_H3_OK) {
        pthread_mutex_lock(&streams_mu);
        sc.echo_write_errors++;
        pthread_mutex_unlock(&streams_mu);
    }
}

static void on_body_complete(void *user, const uint8_t *conn, size_t cl, uint64_t sid) {
    int route = *(int *)user;
    stream_entry e = {0};
    pthread_mutex_lock(&streams_mu);
    if (!conn || cl != 8) sc.bad_ids++;
    if (route == ROUTE_EARLY) {
        sc.early_completes++;
    } else {
        stream_entry *p = find_stream(conn, cl, sid);
        if (p) {
            e = *p;
            p->used = 0;
        } else {
            sc.missing++;
        }
        if (route == ROUTE_UP) sc.up_completes++;
        else sc.echo_completes++;
    }
    pthread_mutex_unlock(&streams_mu);
    if (!e.used) return;
    if (route == ROUTE_UP) {
        char body[96];
        int n = snprintf(body, sizeof body, "bytes=%llu fnv=%016llx", (unsigned long long)e.bytes,
                         (unsigned long long)e.fnv);
        h3.response_end(e.resp, (const uint8_t *)body, (size_t)n);
    } else {
        h3.response_end(e.resp, NULL, 0);
    }
}

/* GET /never: deferred and never ended; the client gives up. */
static zig_h3_response *never_resp;

static void cb_never(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    h3.response_defer_end(resp);
    pthread_mutex_lock(&streams_mu);
    set_key(&last_never, req);
    never_resp = resp;
    pthread_mutex_unlock(&streams_mu);
}

/* Stream and connection close callbacks: a log of what they saw. */
typedef struct {
    uint8_t conn[8];
    uint64_t sid;
    int aborted;
} close_record;

static close_record closes[1024];
static int closes_n, closes_aborted, closes_bad, conn_closes, conn_closes_bad, close_user_bad;

static void on_stream_close(void *user, const uint8_t *conn, size_t cl, uint64_t sid, uint8_t aborted) {
    pthread_mutex_lock(&streams_mu);
    if (user != (void *)closes || !conn || cl != 8 || aborted > 1) closes_bad++;
    if (closes_n < (int)(sizeof closes / sizeof closes[0])) {
        close_record *c = &closes[closes_n];
        memset(c, 0, sizeof *c);
        if (conn && cl == 8) memcpy(c->conn, conn, 8);
        c->sid = sid;
        c->aborted = aborted;
    }
    closes_n++;
    closes_aborted += aborted != 0;
    /* A stream whose body never completed (the client gave up): forget it. */
    stream_entry *e = find_stream(conn, cl, sid);
    if (e) {
        e->used = 0;
        sc.leftovers++;
    }
    pthread_mutex_unlock(&streams_mu);
}

static void on_connection_close(void *user, const uint8_t *conn, size_t cl) {
    pthread_mutex_lock(&streams_mu);
    if (user != (void *)&conn_closes) close_user_bad++;
    if (!conn || cl != 8) conn_closes_bad++;
    conn_closes++;
    pthread_mutex_unlock(&streams_mu);
}

/* Waits up to 3 s for the stream close callback of k's stream; returns its
 * aborted flag, or -1 if it did not come. */
static int wait_stream_close(const stream_key *k) {
    for (int i = 0; i < 300; i++) {
        int found = -1;
        pthread_mutex_lock(&streams_mu);
        for (int j = 0; j < closes_n && j < (int)(sizeof closes / sizeof closes[0]); j++)
            if (k->seen && key_is(closes[j].conn, 8, closes[j].sid, k->conn, k->sid)) found = closes[j].aborted;
        pthread_mutex_unlock(&streams_mu);
        if (found >= 0) return found;
        sleep_ms(10);
    }
    return -1;
}

/* GET /send: zig_h3_response_send, paced by zig_h3_response_process_partial,
 * ending with a trailer. */
#define SEND_BIG (1 << 20)
static struct {
    int thread_ok;
    pthread_t thread;
    int64_t rc_first, rc_big, rc_last, rc_after;
    int drained, max_partial_seen;
} sendr;

static void *send_thread(void *arg) {
    zig_h3_response *resp = arg;
    uint8_t *big = malloc(SEND_BIG);
    if (!big) abort();
    memset(big, 'x', SEND_BIG);
    sendr.rc_big = h3.response_send(resp, big, SEND_BIG, 0, NULL, 0);
    free(big);
    /* Over the 256 KiB mark: pause until the library caught up (64 KiB). */
    for (int i = 0; i < 1000; i++) {
        int p = h3.response_process_partial(resp);
        if (p > sendr.max_partial_seen) sendr.max_partial_seen = p;
        if (p >= 0 && p <= 65536) {
            sendr.drained = 1;
            break;
        }
        sleep_ms(5);
    }
    static const char trailers[] = "x-sum\0abc\0";
    sendr.rc_last = h3.response_send(resp, (const uint8_t *)"end", 3, 1, (const uint8_t *)trailers, sizeof trailers - 1);
    sendr.rc_after = h3.response_send(resp, (const uint8_t *)"x", 1, 0, NULL, 0);
    return NULL;
}

static void cb_send(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    sendr.rc_first = h3.response_send(resp, (const uint8_t *)"start ", 6, 0, NULL, 0);
    h3.response_defer_end(resp);
    sendr.thread_ok = pthread_create(&sendr.thread, NULL, send_thread, resp) == 0;
    if (!sendr.thread_ok) h3.response_end(resp, NULL, 0);
}

/* GET /file/:name: zig_h3_response_send_file from the test's directory. */
static char file_dir[256];

static void cb_file(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    char path[512];
    const char *name = req->path + 6; /* after "/file/" */
    int n = snprintf(path, sizeof path, "%s/%.*s", file_dir, (int)(req->path_len - 6), name);
    static const char block[] = "x-file\0yes\0";
    int rc = h3.response_send_file(resp, 200, (const uint8_t *)block, sizeof block - 1, path, (size_t)n);
    if (rc != ZIG_H3_OK) {
        h3.response_status(resp, 500);
        h3.response_end(resp, (const uint8_t *)"send_file failed", 16);
    }
}

/* ---- Bad handles ------------------------------------------------------------------ */

static void check_bad_server(zig_h3_server *s, const char *what) {
    uint8_t buf[64];
    uint64_t counters[4];
    struct zig_h3_server_stats st;
    printf("bad server handle: %s\n", what);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop(s, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop_async(s, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_port(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_certificate_hash(s, buf), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_route(s, "GET", "/", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_route_streaming(s, "GET", "/", cb_any, on_body_chunk, on_body_complete, NULL, NULL, NULL),
             ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_stream_close_cb(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_connection_close_cb(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_quic_datagram_cb(s, quic_dgram_cb, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_send_quic_datagram(s, NULL, buf, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_log(s, on_log, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_log(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stats(s, &st), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_counters(s, counters, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_event_fd(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_drain(s, buf, sizeof buf), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_event_size(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_event_routes(s, "{\"routes\":[]}", 13), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_free(s), ZIG_H3_ERR_BAD_HANDLE);
}

static void check_bad_response(zig_h3_response *r, const char *what) {
    zig_h3_header hd = {"x-a", 3, "b", 1};
    const uint8_t *data = (const uint8_t *)"data";
    printf("bad response handle: %s\n", what);
    CHECK_RC(h3.response_status(r, 200), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_header(r, "x-a", 3, "b", 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_write(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_end(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_end(r, NULL, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_h3_datagram(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_trailers(r, &hd, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_defer_end(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_set_auto_end(r, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_should_auto_end(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_process_partial(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_respond(r, 200, (const uint8_t *)"a\0b\0", 4, data, 4, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send(r, data, 4, 0, NULL, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send(r, NULL, 0, 1, (const uint8_t *)"a\0b\0", 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_file(r, 200, NULL, 0, "/etc/hostname", 13), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_ack_body(r, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_discard_body(r), ZIG_H3_ERR_BAD_HANDLE);
}

static void check_wt(void) {
    zig_h3_wt_session *bogus = (zig_h3_wt_session *)(uintptr_t)0x1234;
    const uint8_t *d = (const uint8_t *)"x";
    CHECK_RC(h3.wt_accept(NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.wt_reject(NULL, 400), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.wt_close(NULL, 0, d, 1), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.wt_send_datagram(NULL, d, 1), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.wt_release(NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.wt_accept(bogus), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.wt_reject(bogus, 400), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.wt_close(bogus, 0, d, 1), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.wt_send_datagram(bogus, d, 1), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.wt_release(bogus), ZIG_H3_ERR_NOT_SUPPORTED);
}

#define FIRST_RESPONSE ((zig_h3_response *)(uintptr_t)0x4000000000001ULL) /* the first response id */

static void check_all_bad_handles(void) {
    check_bad_server(NULL, "NULL");
    check_bad_server((zig_h3_server *)(uintptr_t)0x1234, "0x1234");
    check_bad_server((zig_h3_server *)(uintptr_t)((1ULL << 49) + 999999), "unissued server id");
    check_bad_response(NULL, "NULL");
    check_bad_response((zig_h3_response *)(uintptr_t)0x1234, "0x1234");
    check_bad_response(FIRST_RESPONSE, "0x4000000000001");
    check_bad_response((zig_h3_response *)(uintptr_t)((1ULL << 50) + 999999999), "unissued response id");
}

/* ---- Scenarios ---------------------------------------------------------------------- */

static void *last_error_thread(void *arg) {
    const char *e = h3.last_error();
    *(int *)arg = e != NULL && e[0] == 0;
    return NULL;
}

static void check_library_basics(void) {
    const char *v = h3.version();
    printf("zig_h3_version: %s\n", v ? v : "(NULL)");
    CHECK(v && v[0], "version is empty");
    for (int code = 1; code >= -12; code--) {
        const char *s = h3.strerror(code);
        CHECK(s && s[0], "strerror(%d) is NULL or empty", code);
    }
    CHECK(h3.strerror(-9999) != NULL, "strerror(-9999) is NULL");
    int fresh_empty = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, last_error_thread, &fresh_empty) == 0) pthread_join(t, NULL);
    CHECK(fresh_empty, "zig_h3_last_error() on a new thread is not \"\"");
    CHECK(strcmp(h3.strerror(ZIG_H3_ERR_BAD_HANDLE), h3.strerror(ZIG_H3_ERR_STATE)) != 0, "strerror texts not distinct");
    check_all_bad_handles();
    check_wt();

    zig_h3_server_config cfg = {0};
    cfg.cert_path = "/nonexistent/cert.pem";
    cfg.key_path = "/nonexistent/key.pem";
    CHECK(h3.server_new(&cfg) == NULL, "server_new with a missing certificate file succeeded");
    CHECK(h3.last_error()[0] != 0, "no last_error after server_new failed");
    printf("missing certificate: %s\n", h3.last_error());
    cfg.key_path = NULL;
    CHECK(h3.server_new(&cfg) == NULL, "server_new with cert_path but no key_path succeeded");
    cfg = (zig_h3_server_config){0};
    cfg.bind_addr = "not-an-ip";
    CHECK(h3.server_new(&cfg) == NULL, "server_new with bind_addr \"not-an-ip\" succeeded");

    zig_h3_server *d = h3.server_new(NULL); /* all defaults, never started */
    CHECK(d != NULL, "server_new(NULL) failed: %s", h3.last_error());
    if (d) {
        CHECK_RC(h3.server_port(d), 0);
        CHECK_RC(h3.server_stop(d, 0), ZIG_H3_OK);
        CHECK_RC(h3.server_free(d), ZIG_H3_OK);
        CHECK_RC(h3.server_free(d), ZIG_H3_ERR_BAD_HANDLE);
        CHECK_RC(h3.server_start(d), ZIG_H3_ERR_BAD_HANDLE);
    }
}

static void check_setup_errors(zig_h3_server *s) {
    uint8_t hash[32] = {0}, zero[32] = {0};
    uint64_t counters[ZIG_H3_COUNTER_COUNT + 3];
    struct zig_h3_server_stats st;
    CHECK_RC(h3.server_route(s, NULL, "/x", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", NULL, cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/x", NULL, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "G T", "/x", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "no-slash", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/a/*/b", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/hello/:name", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG); /* duplicate */
    CHECK_RC(h3.server_route(s, "GET", "/dg", cb_any, dgram_cb, NULL, NULL), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.server_route_streaming(s, NULL, "/up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", NULL, cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", NULL, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", cb_any, NULL, on_body_complete, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* NULL body_chunk_cb */
    CHECK_RC(h3.server_route_streaming(s, "P T", "/up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* duplicate of a streaming route */
    CHECK_RC(h3.server_route_streaming(s, "GET", "/hello/:name", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* duplicate of a plain route */
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", cb_any, on_body_chunk, NULL, dgram_cb, NULL, NULL),
             ZIG_H3_ERR_NOT_SUPPORTED);
    /* NULL removes a close callback; main sets the real ones afterwards. */
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_stream_close_cb(s, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_quic_datagram_cb(s, quic_dgram_cb, NULL), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.server_send_quic_datagram(s, NULL, (const uint8_t *)"x", 1), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.server_certificate_hash(s, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_certificate_hash(s, hash), 1); /* development certificate */
    CHECK(memcmp(hash, zero, 32) != 0, "certificate hash is all zero");
    CHECK_RC(h3.server_stats(s, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_counters(s, NULL, 3), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_counters(s, counters, 0), 0);
    CHECK_RC(h3.server_counters(s, counters, ZIG_H3_COUNTER_COUNT + 3), ZIG_H3_COUNTER_COUNT);
    /* "Writes up to n counters": a huge n still writes (and returns) 7. */
    CHECK_RC(h3.server_counters(s, counters, SIZE_MAX), ZIG_H3_COUNTER_COUNT);
    CHECK_RC(h3.server_stats(s, &st), ZIG_H3_OK);
    CHECK(st.requests_total == 0 && st.connections_total == 0 && st.uptime_ms == 0,
          "stats before start: requests %llu connections %llu uptime %lld", (unsigned long long)st.requests_total,
          (unsigned long long)st.connections_total, (long long)st.uptime_ms);
    CHECK_RC(h3.server_port(s), 0);
    uint8_t buf[64];
    CHECK_RC(h3.server_drain(s, buf, sizeof buf), ZIG_H3_ERR_STATE); /* no event queue */
}

static void check_hello(void) {
    client_result r = client(1, "-H 'x-client: yes' 'https://127.0.0.1:%d/hello/world?x=1'", port);
    CHECK(r.exit_code == 0, "client exit %d", r.exit_code);
    CHECK(status_of(r.out) == 201, "status %d; output:\n%s", status_of(r.out), r.out);
    CHECK(has_header(r.out, "x-test: c-callback"), "x-test missing:\n%s", r.out);
    CHECK(header_count(r.out, "set-cookie: a=1; Path=/") == 1 && header_count(r.out, "set-cookie: b=2") == 1,
          "set-cookie lines:\n%s", r.out);
    const char *a = strstr(r.out, "set-cookie: a=1"), *b = strstr(r.out, "set-cookie: b=2");
    CHECK(a && b && a < b, "set-cookie order:\n%s", r.out);
    CHECK(has_header(r.out, "x-req-check: ok"), "request struct check:\n%s", r.out);
    CHECK(has_header(r.out, "content-length: 29"), "content-length:\n%s", r.out);
    CHECK(strcmp(body_of(r.out), "hello from C /hello/world?x=1") == 0, "body: [%s]", body_of(r.out));
    free_result(&r);

    r = client(1, "-X HEAD -H 'x-client: yes' 'https://127.0.0.1:%d/hello/head'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 201, "HEAD: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "x-test: c-callback") && strcmp(body_of(r.out), "") == 0, "HEAD output:\n%s", r.out);
    free_result(&r);
}

static void check_echo(void) {
    client_result r = client(1, "-d 'ping pong' -H 'content-type: text/x-echo' 'https://127.0.0.1:%d/echo'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "echo: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "content-type: text/x-echo"), "echo content-type:\n%s", r.out);
    CHECK(strcmp(body_of(r.out), "ping pong") == 0, "echo body: [%s]", body_of(r.out));
    free_result(&r);

    enum { N = 100000 };
    r = client(1, "-data-size %d -H 'content-type: application/octet-stream' 'https://127.0.0.1:%d/echo'", N, port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "big echo: exit %d status %d", r.exit_code, status_of(r.out));
    CHECK(has_header(r.out, "content-length: 100000"), "big echo content-length missing");
    const char *body = body_of(r.out), *pattern = "abcdefghijklmnopqrstuvwxyz0123456789";
    int same = strlen(body) == N;
    for (int i = 0; same && i < N; i++) same = body[i] == pattern[i % 36];
    CHECK(same, "big echo body differs (length %zu)", strlen(body));
    free_result(&r);

    r = client(1, "-data-size 1100000 'https://127.0.0.1:%d/echo'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 413, "1.1 MB upload: exit %d output:\n%.300s", r.exit_code, r.out);
    free_result(&r);
    CHECK(__atomic_load_n(&echo_calls, __ATOMIC_SEQ_CST) == 2, "echo callback ran %d times, want 2 (not for 413)",
          echo_calls);
}

static void check_unrouted(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/nope'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 404, "unknown path: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-X DELETE 'https://127.0.0.1:%d/echo'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 405, "wrong method: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "allow: POST, OPTIONS"), "405 allow header:\n%s", r.out);
    free_result(&r);
    r = client(1, "-X OPTIONS 'https://127.0.0.1:%d/echo'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 204, "OPTIONS: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "allow: POST, OPTIONS"), "OPTIONS allow header:\n%s", r.out);
    free_result(&r);
    r = client(1, "-X PATCH 'https://127.0.0.1:%d/any/a/b'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "wildcard: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "PATCH /any/a/b") == 0, "wildcard body: [%s]", body_of(r.out));
    free_result(&r);
}

static void check_deferred(void) {
    double t0 = now_ms();
    client_result r = client(1, "'https://127.0.0.1:%d/deferred'", port);
    double took = now_ms() - t0;
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "deferred: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "deferred body\ntrailer x-done: yes\n") == 0, "deferred body+trailers: [%s]",
          body_of(r.out));
    CHECK(took >= 20, "deferred response came after %.1f ms, before the thread's 20 ms sleep", took);
    free_result(&r);
    CHECK(deferred.called == 1 && deferred.thread_ok, "deferred callback called %d, thread %d", deferred.called,
          deferred.thread_ok);
    if (!deferred.thread_ok) return;
    pthread_join(deferred.thread, NULL);
    CHECK(deferred.auto_before == 1 && deferred.rc_defer == ZIG_H3_OK && deferred.auto_after == 0,
          "should_auto_end %d, defer_end %d, should_auto_end %d", deferred.auto_before, deferred.rc_defer,
          deferred.auto_after);
    CHECK(deferred.rc_write1 == 0 && deferred.rc_write2 == 0 && deferred.rc_trailers == 0,
          "write %d, write %d, send_trailers %d", deferred.rc_write1, deferred.rc_write2, deferred.rc_trailers);
    CHECK(deferred.rc_partial >= 0 && deferred.rc_partial <= 13, "process_partial %d", deferred.rc_partial);
#define ENDED(rc) ((rc) == ZIG_H3_ERR_CLOSED || (rc) == ZIG_H3_ERR_BAD_HANDLE)
    CHECK(ENDED(deferred.rc_write_after) && ENDED(deferred.rc_end_after) && ENDED(deferred.rc_trailers_after),
          "after the end: write %d, end %d, send_trailers %d (want CLOSED or BAD_HANDLE)", deferred.rc_write_after,
          deferred.rc_end_after, deferred.rc_trailers_after);
    /* Once finished the handle is gone for good. */
    int rc = 0;
    for (int i = 0; i < 100 && (rc = h3.response_write(deferred.resp, (const uint8_t *)"x", 1)) != ZIG_H3_ERR_BAD_HANDLE; i++)
        sleep_ms(10);
    CHECK(rc == ZIG_H3_ERR_BAD_HANDLE, "finished deferred response: write returned %d, want BAD_HANDLE", rc);
}

static void check_respond(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/respond'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 202, "respond: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "x-one: 1") && has_header(r.out, "set-cookie: c=3") && has_header(r.out, "set-cookie: d=4"),
          "respond headers:\n%s", r.out);
    CHECK(strcmp(body_of(r.out), "part1 part2 end") == 0, "respond body: [%s]", body_of(r.out));
    free_result(&r);
}

static void check_rules(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/rules'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "rules: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "rules ok") == 0, "rules body: [%s]", body_of(r.out));
    CHECK(has_header(r.out, "x-rules: yes") && !has_header(r.out, "x-late: 1"), "rules headers:\n%s", r.out);
    free_result(&r);
}

/* Distinct "body" values of -json lines. */
static int distinct_bodies(const char *out, int *lines) {
    char seen[16][64];
    int n = 0;
    *lines = 0;
    for (const char *p = out; (p = strstr(p, "\"body\":\"")) != NULL;) {
        p += 8;
        const char *q = strchr(p, '"');
        if (!q || q - p >= 64) break;
        char v[64];
        snprintf(v, sizeof v, "%.*s", (int)(q - p), p);
        (*lines)++;
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= strcmp(seen[i], v) == 0;
        if (!dup && n < 16) strcpy(seen[n++], v);
        p = q;
    }
    return n;
}

static void check_connections(void) {
    int lines;
    client_result r = client(3, "-json -n 3 'https://127.0.0.1:%d/conn'", port);
    int d = distinct_bodies(r.out, &lines);
    CHECK(r.exit_code == 0 && lines == 3 && d == 1, "-n 3 on one connection: %d lines, %d conn ids:\n%s", lines, d, r.out);
    CHECK(strstr(r.out, "\"bodyLength\":16") != NULL, "conn id is not 8 bytes:\n%s", r.out);
    free_result(&r);
    r = client(4, "-json -n 4 -conns 2 'https://127.0.0.1:%d/conn'", port);
    d = distinct_bodies(r.out, &lines);
    CHECK(r.exit_code == 0 && lines == 4 && d == 2, "-n 4 -conns 2: %d lines, %d conn ids:\n%s", lines, d, r.out);
    free_result(&r);
    r = client(20, "-n 20 -c 5 -H 'x-client: yes' 'https://127.0.0.1:%d/hello/many'", port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "ok=20 failed=0 statuses=201:20\n") == 0, "-n 20 -c 5: exit %d: %s",
          r.exit_code, r.out);
    free_result(&r);
}

/* ---- Streaming scenarios ---------------------------------------------------------- */

enum { BIG = 5 << 20, MID = 2 << 20 };
/* The aborted flags of the upload and the echo the client reset (see below). */
static int up_abort_flag, echo_abort_flag;

/* Occurrences of needle in hay. */
static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* SHA-256 in hex of the first n bytes of PATTERN, computed by coreutils
 * (independently of h3client). Returns 0 on success. */
static int pattern_sha256(size_t n, char out[65]) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "yes %s | tr -d '\\n' | head -c %zu | sha256sum", PATTERN, n);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%64[0-9a-f]", out) == 1 && strlen(out) == 64;
    return pclose(f) == 0 && ok ? 0 : -1;
}

/* A copy of the streaming counters. */
static __typeof__(sc) sc_now(void) {
    pthread_mutex_lock(&streams_mu);
    __typeof__(sc) c = sc;
    pthread_mutex_unlock(&streams_mu);
    return c;
}

static void check_streaming_uploads(void) {
    char want[96], want_json[128];
    snprintf(want, sizeof want, "bytes=%d fnv=%016llx", BIG, (unsigned long long)fnv_pattern(BIG));
    double t0 = now_ms();
    client_result r = client(1, "-data-size %d 'https://127.0.0.1:%d/up'", BIG, port);
    double took = now_ms() - t0;
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "5 MiB streaming upload: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), want) == 0, "5 MiB streaming upload: body [%s], want [%s]", body_of(r.out), want);
    printf("5 MiB streaming upload: %s in %.0f ms\n", body_of(r.out), took);
    free_result(&r);
    CHECK(wait_stream_close(&last_up) == 0, "5 MiB upload: no stream close with aborted=0");

    r = client(1, "-X POST -data-size 0 'https://127.0.0.1:%d/up'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "empty streaming body: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "bytes=0 fnv=cbf29ce484222325") == 0, "empty streaming body: [%s]", body_of(r.out));
    free_result(&r);

    snprintf(want_json, sizeof want_json, "\"body\":\"bytes=%d fnv=%016llx\"", MID, (unsigned long long)fnv_pattern(MID));
    r = client(3, "-json -n 3 -c 3 -data-size %d 'https://127.0.0.1:%d/up'", MID, port);
    CHECK(r.exit_code == 0 && count_str(r.out, "\"status\":200") == 3 && count_str(r.out, want_json) == 3,
          "3 concurrent 2 MiB uploads: exit %d, want 3 times %s:\n%.2000s", r.exit_code, want_json, r.out);
    free_result(&r);
    /* Same stream ids on several connections at once: keyed by connection too. */
    r = client(6, "-json -n 6 -c 6 -conns 3 -data-size %d 'https://127.0.0.1:%d/up'", MID, port);
    CHECK(r.exit_code == 0 && count_str(r.out, want_json) == 6,
          "6 concurrent 2 MiB uploads on 3 connections: exit %d:\n%.2000s", r.exit_code, r.out);
    free_result(&r);

    /* A paced upload arrives whole, and takes its time (256 KiB at 1 MiB/s). */
    snprintf(want, sizeof want, "bytes=%d fnv=%016llx", 256 << 10, (unsigned long long)fnv_pattern(256 << 10));
    t0 = now_ms();
    r = client(1, "-data-size %d -upload-rate 1048576 'https://127.0.0.1:%d/up'", 256 << 10, port);
    took = now_ms() - t0;
    CHECK(r.exit_code == 0 && strcmp(body_of(r.out), want) == 0, "paced upload: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(took >= 200, "paced upload of 256 KiB at 1 MiB/s took %.0f ms", took);
    printf("paced upload (256 KiB at 1 MiB/s) took %.0f ms\n", took);
    free_result(&r);

    /* The client resets the stream after 1 MiB: no complete callback, an
     * aborted stream close (which cleans up the table entry). */
    __typeof__(sc) before = sc_now();
    r = client(1, "-data-size %d -abort-after-send %d 'https://127.0.0.1:%d/up' 2>&1", BIG, 1 << 20, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "aborted after 1048576 bytes\n") == 0,
          "upload aborted by the client: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    /* The stream close callback must come with aborted = 1: the client reset
     * the stream before the response was sent. */
    int up_aborted = wait_stream_close(&last_up);
    up_abort_flag = up_aborted == 1;
    CHECK(up_aborted == 1, "upload aborted by the client: stream close callback gave %d, want aborted=1", up_aborted);
    __typeof__(sc) after = sc_now();
    CHECK(after.up_requests == before.up_requests + 1 && after.up_completes == before.up_completes,
          "upload aborted by the client: requests %d -> %d, completes %d -> %d (want +1, +0)", before.up_requests,
          after.up_requests, before.up_completes, after.up_completes);
    CHECK(after.leftovers == before.leftovers + 1, "upload aborted by the client: stream entry not left over (%d -> %d)",
          before.leftovers, after.leftovers);
}

static void check_streaming_echo(void) {
    char sha[65] = "", want[128];
    CHECK(pattern_sha256(BIG, sha) == 0, "sha256sum of the pattern failed");
    snprintf(want, sizeof want, "\"bodySha256\":\"%s\"", sha);
    __typeof__(sc) before = sc_now();
    client_result r = client(1, "-json -discard -data-size %d 'https://127.0.0.1:%d/echo-stream'", BIG, port);
    CHECK(r.exit_code == 0 && strstr(r.out, "\"status\":200") && strstr(r.out, "\"x-echo\":[\"stream\"]"),
          "5 MiB streaming echo: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strstr(r.out, "\"bodyLength\":5242880,") && strstr(r.out, want) && strstr(r.out, "\"body\":\"\""),
          "5 MiB streaming echo: want length 5242880 and %s:\n%s", want, r.out);
    free_result(&r);

    /* Each 64 KiB chunk must come back before the client sends the next. */
    double t0 = now_ms();
    r = client(1, "-duplex -data-size %d 'https://127.0.0.1:%d/echo-stream' 2>&1", BIG, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "duplex ok bytes=5242880\n") == 0, "full duplex echo: exit %d output:\n%s",
          r.exit_code, r.out);
    printf("full duplex echo of 5 MiB in 64 KiB steps took %.0f ms\n", now_ms() - t0);
    free_result(&r);

    r = client(1, "-X POST -data-size 0 'https://127.0.0.1:%d/echo-stream'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && strcmp(body_of(r.out), "") == 0 &&
              has_header(r.out, "x-echo: stream"),
          "empty streaming echo: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    CHECK(wait_stream_close(&last_echo) == 0, "empty streaming echo: no stream close with aborted=0");
    __typeof__(sc) after = sc_now();
    CHECK(after.echo_completes == before.echo_completes + 3 && after.echo_write_errors == before.echo_write_errors,
          "streaming echo: completes %d -> %d (want +3), write errors %d -> %d", before.echo_completes,
          after.echo_completes, before.echo_write_errors, after.echo_write_errors);

    /* The client stops reading after 1 MiB and resets the stream. */
    r = client(1, "-data-size %d -abort-after-read %d 'https://127.0.0.1:%d/echo-stream' 2>&1", BIG, 1 << 20, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "aborted after 1048576 bytes\n") == 0,
          "echo aborted by the client: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    /* As for the aborted upload: aborted = 1. */
    echo_abort_flag = wait_stream_close(&last_echo);
    CHECK(echo_abort_flag == 1, "echo aborted by the client: stream close callback gave %d, want aborted=1", echo_abort_flag);
    echo_abort_flag = echo_abort_flag == 1;
    after = sc_now();
    CHECK(after.echo_completes == before.echo_completes + 3, "echo aborted by the client: complete callback ran");
}

static void check_streaming_early(void) {
    __typeof__(sc) before = sc_now();
    double t0 = now_ms();
    client_result r = client(1, "-data-size %d 'https://127.0.0.1:%d/early' 2>&1", BIG, port);
    double took = now_ms() - t0;
    CHECK(r.exit_code == 0 && status_of(r.out) == 401 && strcmp(body_of(r.out), "no") == 0,
          "answer before the body: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(took < 5000, "answer before the body took %.0f ms", took);
    free_result(&r);
    CHECK(__atomic_load_n(&early_end_rc, __ATOMIC_SEQ_CST) == ZIG_H3_OK, "early response_end returned %d", early_end_rc);
    CHECK(wait_stream_close(&last_early) == 0, "answer before the body: no stream close with aborted=0");
    /* The stream close callback comes after the body callbacks are over. */
    __typeof__(sc) after = sc_now();
    uint64_t got = after.early_bytes - before.early_bytes;
    CHECK(after.early_completes == before.early_completes, "answer before the body: body_complete_cb was called");
    CHECK(got < BIG, "answer before the body: the server still delivered all %llu bytes", (unsigned long long)got);
    printf("401 before the body: client done in %.0f ms; %d chunks (%llu of %d bytes) were delivered\n", took,
           after.early_chunks - before.early_chunks, (unsigned long long)got, BIG);
}

static void check_stream_abort(void) {
    client_result r = client(1, "-timeout 300ms 'https://127.0.0.1:%d/never' 2>&1", port);
    CHECK(r.exit_code == 1 && status_of(r.out) == -1, "client giving up on /never: exit %d output:\n%s", r.exit_code,
          r.out);
    free_result(&r);
    CHECK(wait_stream_close(&last_never) == 1, "client giving up: no stream close with aborted=1");
    pthread_mutex_lock(&streams_mu);
    zig_h3_response *resp = never_resp;
    pthread_mutex_unlock(&streams_mu);
    int rc = 0;
    for (int i = 0; i < 100 && (rc = h3.response_end(resp, NULL, 0)) != ZIG_H3_ERR_BAD_HANDLE; i++) sleep_ms(10);
    CHECK(rc == ZIG_H3_ERR_BAD_HANDLE, "response of the aborted stream: end returned %d, want BAD_HANDLE", rc);
}

static void check_send(void) {
    double t0 = now_ms();
    client_result r = client(1, "-json -discard -read-rate 4194304 'https://127.0.0.1:%d/send'", port);
    double took = now_ms() - t0;
    char want[64];
    snprintf(want, sizeof want, "\"bodyLength\":%d,", 6 + SEND_BIG + 3);
    CHECK(r.exit_code == 0 && strstr(r.out, "\"status\":200") && strstr(r.out, want),
          "response_send: exit %d, want %s:\n%s", r.exit_code, want, r.out);
    CHECK(strstr(r.out, "\"trailers\":{\"x-sum\":[\"abc\"]}") != NULL, "response_send trailer:\n%s", r.out);
    CHECK(took >= 200, "1 MiB read at 4 MiB/s took %.0f ms", took);
    free_result(&r);
    CHECK(sendr.thread_ok, "/send thread not started");
    if (!sendr.thread_ok) return;
    pthread_join(sendr.thread, NULL);
    printf("response_send returned %lld, %lld (max pending seen %d), %lld; paced read took %.0f ms\n",
           (long long)sendr.rc_first, (long long)sendr.rc_big, sendr.max_partial_seen, (long long)sendr.rc_last, took);
    CHECK(sendr.rc_first == 6, "send of 6 bytes before the head went out returned %lld", (long long)sendr.rc_first);
    CHECK(sendr.rc_big >= SEND_BIG && sendr.rc_big <= SEND_BIG + 6, "send of 1 MiB returned %lld pending",
          (long long)sendr.rc_big);
    CHECK(sendr.drained, "pending bytes never went down to 64 KiB (max seen %d)", sendr.max_partial_seen);
    CHECK(sendr.rc_last >= 0 && sendr.rc_last <= 65536 + 3, "send with end and trailers returned %lld",
          (long long)sendr.rc_last);
    CHECK(ENDED(sendr.rc_after), "send after the end returned %lld, want CLOSED or BAD_HANDLE", (long long)sendr.rc_after);
}

static void check_send_file(void) {
    snprintf(file_dir, sizeof file_dir, "/tmp/zig-h3-c-test-XXXXXX");
    CHECK(mkdtemp(file_dir) != NULL, "mkdtemp failed");
    char path[300];
    snprintf(path, sizeof path, "%s/data.txt", file_dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs("abcdefghij", f);
    fclose(f);

    client_result r = client(1, "'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && strcmp(body_of(r.out), "abcdefghij") == 0,
          "send_file: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "content-length: 10") && has_header(r.out, "x-file: yes") &&
              has_header(r.out, "content-type: text/plain; charset=utf-8") && has_header(r.out, "accept-ranges: bytes"),
          "send_file headers:\n%s", r.out);
    free_result(&r);
    r = client(1, "-H 'range: bytes=2-4' 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 206 && strcmp(body_of(r.out), "cde") == 0 &&
              has_header(r.out, "content-range: bytes 2-4/10") && has_header(r.out, "content-length: 3"),
          "send_file range 2-4: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-H 'range: bytes=99-' 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 416 && has_header(r.out, "content-range: bytes */10"),
          "send_file range 99-: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-X HEAD 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && has_header(r.out, "content-length: 10") &&
              strcmp(body_of(r.out), "") == 0,
          "send_file HEAD: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "'https://127.0.0.1:%d/file/missing.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 404, "send_file of a missing file: exit %d output:\n%s", r.exit_code,
          r.out);
    free_result(&r);
    unlink(path);
    rmdir(file_dir);
}

/* Every request stream got exactly one stream close callback; every
 * connection a connection close callback. */
static void check_close_callbacks(zig_h3_server *s) {
    struct zig_h3_server_stats st = {0};
    int n = 0, aborted = 0, conns = 0;
    for (int i = 0; i < 300; i++) {
        h3.server_stats(s, &st);
        pthread_mutex_lock(&streams_mu);
        n = closes_n, aborted = closes_aborted, conns = conn_closes;
        pthread_mutex_unlock(&streams_mu);
        if (n >= requests_made && (uint64_t)conns >= st.connections_total && st.connections_active == 0) break;
        sleep_ms(10);
    }
    printf("stream close callbacks: %d (%d aborted) for %d requests; connection close callbacks: %d for %llu "
           "connections\n",
           n, aborted, requests_made, conns, (unsigned long long)st.connections_total);
    CHECK(n == requests_made, "%d stream close callbacks for %d requests (do the requests the server answers itself, "
          "404, 405, OPTIONS and 413, get theirs?)", n, requests_made);
    int want_aborted = 1 + up_abort_flag + echo_abort_flag;
    CHECK(aborted == want_aborted, "%d stream close callbacks with aborted=1, want %d (/never, client aborts)", aborted,
          want_aborted);
    CHECK((uint64_t)conns == st.connections_total && conns > 0, "%d connection close callbacks for %llu connections",
          conns, (unsigned long long)st.connections_total);
    pthread_mutex_lock(&streams_mu);
    int used = 0;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) used += streams[i].used;
    CHECK(closes_bad == 0 && conn_closes_bad == 0 && close_user_bad == 0,
          "close callbacks with a bad conn_id, aborted flag or user: stream %d, connection %d, user %d", closes_bad,
          conn_closes_bad, close_user_bad);
    CHECK(sc.missing == 0 && sc.bad_ids == 0 && sc.table_full == 0,
          "body callbacks: %d for unknown streams, %d with a bad conn_id, %d table full", sc.missing, sc.bad_ids,
          sc.table_full);
    CHECK(used == 0 && sc.leftovers == 2, "%d streams still open, %d cleaned up by the close callback (want 0, 2)",
          used, sc.leftovers);
    pthread_mutex_unlock(&streams_mu);
}

static void check_stats(zig_h3_server *s) {
    struct zig_h3_server_stats st;
    uint64_t c[ZIG_H3_COUNTER_COUNT];
    CHECK_RC(h3.server_stats(s, &st), ZIG_H3_OK);
    CHECK(st.requests_total == (uint64_t)requests_made, "requests_total %llu, want %d",
          (unsigned long long)st.requests_total, requests_made);
    CHECK(st.connections_total >= 1, "connections_total %llu", (unsigned long long)st.connections_total);
    CHECK(st.uptime_ms > 0, "uptime_ms %lld", (long long)st.uptime_ms);
    CHECK_RC(h3.server_counters(s, c, ZIG_H3_COUNTER_COUNT), ZIG_H3_COUNTER_COUNT);
    CHECK(c[ZIG_H3_COUNTER_REQUESTS_TOTAL] == (uint64_t)requests_made && c[ZIG_H3_COUNTER_CONNECTIONS_TOTAL] >= 1,
          "counters: requests %llu connections %llu", (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_TOTAL],
          (unsigned long long)c[ZIG_H3_COUNTER_CONNECTIONS_TOTAL]);
    CHECK(c[ZIG_H3_COUNTER_REQUESTS_ACTIVE] == 0, "requests_active %llu",
          (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_ACTIVE]);
    CHECK(c[ZIG_H3_COUNTER_REQUESTS_REJECTED] == 3, "requests_rejected %llu, want 3 (404, 405, 413)",
          (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_REJECTED]);
    CHECK(c[ZIG_H3_COUNTER_EVENTS_DROPPED] == 0, "events_dropped %llu",
          (unsigned long long)c[ZIG_H3_COUNTER_EVENTS_DROPPED]);
    printf("stats: requests_total=%llu connections_total=%llu connections_active=%llu uptime_ms=%lld\n",
           (unsigned long long)st.requests_total, (unsigned long long)st.connections_total,
           (unsigned long long)st.connections_active, (long long)st.uptime_ms);
}

static void check_stop_and_free(zig_h3_server *s) {
    struct zig_h3_server_stats a, b;
    double t0 = now_ms();
    CHECK_RC(h3.server_stop(s, 0), ZIG_H3_OK);
    double took = now_ms() - t0;
    printf("graceful stop took %.0f ms\n", took);
    CHECK(took < 3000, "graceful stop took %.0f ms", took);
    CHECK_RC(h3.server_stop(s, 0), ZIG_H3_OK); /* not running: OK */
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_STATE);
    h3.server_stats(s, &a);
    sleep_ms(20);
    h3.server_stats(s, &b);
    CHECK(a.uptime_ms == b.uptime_ms && a.uptime_ms > 0, "uptime not frozen at stop: %lld then %lld",
          (long long)a.uptime_ms, (long long)b.uptime_ms);
    CHECK(b.connections_active == 0, "connections_active %llu after stop", (unsigned long long)b.connections_active);
    int lines = __atomic_load_n(&log_lines, __ATOMIC_SEQ_CST);
    CHECK(lines >= 2, "log callback got %d lines, want at least \"listening\" and \"stopped\"", lines);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_port(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_free(s), ZIG_H3_ERR_BAD_HANDLE);
}

/* A third server, stopped gracefully while a deferred response is open: the
 * stop waits for it and the client gets the whole response. */
static void check_graceful_inflight(void) {
    zig_h3_server_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    zig_h3_server *s = h3.server_new(&cfg);
    CHECK(s != NULL, "third server_new: %s", h3.last_error());
    if (!s) return;
    CHECK_RC(h3.server_route(s, "GET", "/slow", cb_slow, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' -timeout 15s 'https://127.0.0.1:%d/slow' 2>&1", client_path, h3.server_port(s));
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen failed");
    if (!f) return;
    for (int i = 0; i < 1000 && !__atomic_load_n(&slow_called, __ATOMIC_SEQ_CST); i++) sleep_ms(10);
    CHECK(slow_called, "the /slow callback never ran");
    double t0 = now_ms();
    CHECK_RC(h3.server_stop(s, 0), ZIG_H3_OK);
    double took = now_ms() - t0;
    printf("graceful stop with an open deferred response took %.0f ms\n", took);
    CHECK(took >= 150 && took < 3000, "graceful stop took %.0f ms, want it to wait for the response (~300 ms)", took);
    size_t len;
    char *out = read_all(f, &len);
    int st = pclose(f);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    CHECK(code == 0 && status_of(out) == 200 && strcmp(body_of(out), "slow done") == 0,
          "client of the gracefully stopped server: exit %d output:\n%s", code, out);
    CHECK(__atomic_load_n(&slow_end_rc, __ATOMIC_SEQ_CST) == ZIG_H3_OK, "slow response end returned %d", slow_end_rc);
    free(out);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
}

/* A second server, stopped with force while a deferred response is open. */
static void check_force_stop(void) {
    zig_h3_server_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    zig_h3_server *s = h3.server_new(&cfg);
    CHECK(s != NULL, "second server_new: %s", h3.last_error());
    if (!s) return;
    CHECK_RC(h3.server_route(s, "GET", "/hang", cb_hang, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    int p = h3.server_port(s);
    CHECK(p > 0, "second server port %d", p);
    zig_h3_server_config busy = {0};
    busy.bind_addr = "127.0.0.1";
    busy.bind_port = (uint16_t)p;
    zig_h3_server *s3 = h3.server_new(&busy);
    CHECK(s3 != NULL, "server_new on a busy port: %s", h3.last_error());
    if (s3) {
        CHECK_RC(h3.server_start(s3), ZIG_H3_ERR_IO); /* the port is taken */
        CHECK_RC(h3.server_free(s3), ZIG_H3_OK);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' -timeout 15s 'https://127.0.0.1:%d/hang' 2>&1", client_path, p);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen failed");
    if (!f) return;
    for (int i = 0; i < 1000 && !__atomic_load_n(&hang_called, __ATOMIC_SEQ_CST); i++) sleep_ms(10);
    CHECK(hang_called, "the /hang callback never ran");
    double t0 = now_ms();
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_OK);
    double took = now_ms() - t0;
    printf("force stop with an open deferred response took %.0f ms\n", took);
    CHECK(took < 3000, "force stop took %.0f ms", took);
    size_t len;
    char *out = read_all(f, &len);
    int st = pclose(f);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    CHECK(code == 1, "client of the force-stopped server exited %d, want 1; output:\n%s", code, out);
    CHECK(strstr(out, "HTTP/3 200") == NULL, "client saw a complete response:\n%s", out);
    printf("client of the force-stopped server: %s", out[0] ? out : "(no output)\n");
    free(out);
    zig_h3_response *hr = __atomic_load_n(&hang_resp, __ATOMIC_SEQ_CST);
    int rc = 0;
    for (int i = 0; i < 100 && (rc = h3.response_end(hr, NULL, 0)) != ZIG_H3_ERR_BAD_HANDLE; i++) sleep_ms(10);
    CHECK(rc == ZIG_H3_ERR_BAD_HANDLE, "aborted response: end returned %d, want BAD_HANDLE", rc);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(60);
    const char *lib_path = argc > 1 ? argv[1] : getenv("ZIG_H3_LIB");
    if (!lib_path || !lib_path[0]) lib_path = "build/libzigh3.so";
    client_path = getenv("H3CLIENT");
    if (!client_path || !client_path[0]) client_path = "build/h3client";
    if (access(client_path, X_OK) != 0) {
        printf("FAIL: client %s is not executable (build it: go build -o build/h3client ./tests/h3client)\n",
               client_path);
        return 1;
    }

    void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("FAIL: dlopen %s: %s\n", lib_path, dlerror());
        return 1;
    }
    int missing = 0;
#define LOAD(name)                                                                       \
    if (!(h3.name = (__typeof__(&zig_h3_##name))dlsym(lib, "zig_h3_" #name))) {          \
        printf("FAIL: dlsym zig_h3_" #name ": %s\n", dlerror());                         \
        missing++;                                                                       \
    }
    ZIG_H3_FUNCTIONS(LOAD)
#undef LOAD
    if (missing) return 1;
    printf("loaded %s\n", lib_path);

    check_library_basics();

    zig_h3_server_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.bind_port = 0;
    cfg.log_level = 1;
    zig_h3_server *s = h3.server_new(&cfg);
    CHECK(s != NULL, "server_new: %s", h3.last_error());
    if (!s) goto done;
    CHECK_RC(h3.server_set_log(s, on_log, &log_lines), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/hello/:name", cb_hello, NULL, NULL, &port), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/echo", cb_echo, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/deferred", cb_deferred, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/rules", cb_rules, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/conn", cb_conn, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "*", "/any/*", cb_any, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/respond", cb_respond, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up", cb_stream_head, on_body_chunk, on_body_complete, NULL, NULL,
                                       &route_up),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/echo-stream", cb_stream_head, on_body_chunk, on_body_complete, NULL,
                                       NULL, &route_echo),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/early", cb_early_head, on_body_chunk, on_body_complete, NULL, NULL,
                                       &route_early),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/never", cb_never, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/send", cb_send, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/file/:name", cb_file, NULL, NULL, NULL), ZIG_H3_OK);
    check_setup_errors(s);
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, closes), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, &conn_closes), ZIG_H3_OK);

    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.server_route(s, "GET", "/late", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/late", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_STATE);
    port = h3.server_port(s);
    CHECK(port > 0 && port < 65536, "port %d", port);
    printf("server listening on 127.0.0.1:%d\n", port);

    check_hello();
    check_echo();
    check_unrouted();
    check_deferred();
    check_respond();
    check_rules();
    check_connections();
    check_streaming_uploads();
    check_streaming_echo();
    check_streaming_early();
    check_stream_abort();
    check_send();
    check_send_file();
    check_close_callbacks(s);
    check_stats(s);
    check_stop_and_free(s);
    check_all_bad_handles(); /* the first response id has been issued and finished by now */
    check_force_stop();
    check_graceful_inflight();

done:
    if (failures) {
        printf("FAILED %d of %d checks\n", failures, checks);
        return 1;
    }
    printf("PASS %d checks\n", checks);
    return 0;
}
