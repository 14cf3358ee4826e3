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
    X(response_respond)

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
    EXPECT(h3.response_header(resp, "x-rules", 7, "yes", 3), ZIG_H3_OK);
    EXPECT(h3.response_status(resp, bad[0] ? 500 : 200), ZIG_H3_OK);
    EXPECT(h3.response_write(resp, (const uint8_t *)"rules", 5), ZIG_H3_OK);
    /* The body has begun: the head is fixed. */
    EXPECT(h3.response_header(resp, "x-late", 6, "1", 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_status(resp, 201), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_respond(resp, 200, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_write(resp, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
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
static void stream_close_cb(void *u, const uint8_t *c, size_t cl, uint64_t s, uint8_t a) {
    (void)u, (void)c, (void)cl, (void)s, (void)a;
}
static void conn_close_cb(void *u, const uint8_t *c, size_t cl) { (void)u, (void)c, (void)cl; }
static void quic_dgram_cb(void *u, void *p, const uint8_t *c, size_t cl, const uint8_t *d, size_t n) {
    (void)u, (void)p, (void)c, (void)cl, (void)d, (void)n;
}
static void chunk_cb(void *u, const uint8_t *c, size_t cl, uint64_t s, const uint8_t *d, size_t n) {
    (void)u, (void)c, (void)cl, (void)s, (void)d, (void)n;
}
static void complete_cb(void *u, const uint8_t *c, size_t cl, uint64_t s) { (void)u, (void)c, (void)cl, (void)s; }

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
    CHECK_RC(h3.server_route_streaming(s, "GET", "/", cb_any, chunk_cb, complete_cb, NULL, NULL, NULL),
             ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_stream_close_cb(s, stream_close_cb, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_connection_close_cb(s, conn_close_cb, NULL), ZIG_H3_ERR_BAD_HANDLE);
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
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up", cb_any, chunk_cb, complete_cb, NULL, NULL, NULL),
             ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.server_route_streaming(s, NULL, "/up", cb_any, chunk_cb, complete_cb, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_set_stream_close_cb(s, stream_close_cb, NULL), ZIG_H3_ERR_NOT_SUPPORTED);
    CHECK_RC(h3.server_set_connection_close_cb(s, conn_close_cb, NULL), ZIG_H3_ERR_NOT_SUPPORTED);
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
    check_setup_errors(s);

    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.server_route(s, "GET", "/late", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_STATE);
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
