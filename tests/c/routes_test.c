/*
 * routes_test.c - buffered routes of the main server: GET /hello/:name (the
 * request struct, headers, cookies, HEAD), POST /echo (small, 100 kB and a
 * 413), 404/405/OPTIONS and a wildcard route, GET /deferred (ended by a
 * thread, with trailers), GET /respond, one and several connections (GET
 * /conn); then the stats and counters, graceful stop and free, a forced stop
 * with an open deferred response (second server) and a graceful stop that
 * waits for one (third server); HTTP/1.1 and HTTP/2 through curl on a server
 * with "tcp" (fourth).
 */
#include "harness.h"

#include <sys/wait.h>

/* ---- Request callbacks --------------------------------------------------------- */

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
void cb_any(void *user, const zig_h3_request *req, zig_h3_response *resp) {
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

void on_log(void *user, const char *line) {
    if (user == &log_lines && line) __atomic_add_fetch(&log_lines, 1, __ATOMIC_SEQ_CST);
}

/* Sets the log callback and the buffered routes of the main server. */
void routes_register(zig_h3_server *s) {
    CHECK_RC(h3.server_set_log(s, on_log, &log_lines), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/hello/:name", cb_hello, NULL, NULL, &port), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/echo", cb_echo, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/deferred", cb_deferred, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/rules", cb_rules, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/conn", cb_conn, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "*", "/any/*", cb_any, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/respond", cb_respond, NULL, NULL, NULL), ZIG_H3_OK);
}

/* ---- Scenarios ---------------------------------------------------------------------- */

void check_hello(void) {
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

void check_echo(void) {
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

void check_unrouted(void) {
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

void check_deferred(void) {
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
    CHECK(ENDED(deferred.rc_write_after) && ENDED(deferred.rc_end_after) && ENDED(deferred.rc_trailers_after),
          "after the end: write %d, end %d, send_trailers %d (want CLOSED or BAD_HANDLE)", deferred.rc_write_after,
          deferred.rc_end_after, deferred.rc_trailers_after);
    /* Once finished the handle is gone for good. */
    int rc = 0;
    for (int i = 0; i < 100 && (rc = h3.response_write(deferred.resp, (const uint8_t *)"x", 1)) != ZIG_H3_ERR_BAD_HANDLE; i++)
        sleep_ms(10);
    CHECK(rc == ZIG_H3_ERR_BAD_HANDLE, "finished deferred response: write returned %d, want BAD_HANDLE", rc);
}

void check_respond(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/respond'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 202, "respond: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "x-one: 1") && has_header(r.out, "set-cookie: c=3") && has_header(r.out, "set-cookie: d=4"),
          "respond headers:\n%s", r.out);
    CHECK(strcmp(body_of(r.out), "part1 part2 end") == 0, "respond body: [%s]", body_of(r.out));
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

void check_connections(void) {
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

/* ---- Stats, stop and free ------------------------------------------------------------ */

void check_stats(zig_h3_server *s) {
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

void check_stop_and_free(zig_h3_server *s) {
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
void check_graceful_inflight(void) {
    zig_h3_server *s = new_local_server("third", 0, 0);
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
void check_force_stop(void) {
    zig_h3_server *s = new_local_server("second", 0, 0);
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

/* Event routes with a "static" response are answered by the server itself:
 * nothing is ever queued for them, and nobody drains the queue here. */
void check_static_routes(void) {
    zig_h3_server *s = new_local_server("static-routes", 0, 0);
    if (!s) return;
    /* head: base64 of "bad name\0x\0". */
    const char *bad = "{\"routes\":[{\"method\":\"GET\",\"pattern\":\"/\",\"tag\":1,"
                      "\"static\":{\"status\":200,\"head\":\"YmFkIG5hbWUAeAA=\",\"body\":\"\"}}]}";
    CHECK_RC(h3.server_set_event_routes(s, bad, strlen(bad)), ZIG_H3_ERR_INVALID_ARG);
    /* head: base64 of "x-static\01\0etag\0\"v1\"\0"; body: "aG9tZQ==" is "home". */
    const char *spec = "{\"routes\":[{\"method\":\"GET\",\"pattern\":\"/static\",\"tag\":1,"
                       "\"static\":{\"status\":200,\"head\":\"eC1zdGF0aWMAMQBldGFnACJ2MSIA\",\"body\":\"aG9tZQ==\"}},"
                       "{\"method\":\"GET\",\"pattern\":\"/queued\",\"tag\":2}]}";
    CHECK_RC(h3.server_set_event_routes(s, spec, strlen(spec)), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    int p = h3.server_port(s);

    client_result r = client(1, "'https://127.0.0.1:%d/static'", p);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "static GET: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "x-static: 1") && has_header(r.out, "content-length: 4"), "static GET head:\n%s", r.out);
    CHECK(strcmp(body_of(r.out), "home") == 0, "static GET body: [%s]", body_of(r.out));
    free_result(&r);
    r = client(1, "-X HEAD 'https://127.0.0.1:%d/static'", p);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && has_header(r.out, "content-length: 4") &&
              strcmp(body_of(r.out), "") == 0,
          "static HEAD: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-H 'if-none-match: \"v1\"' 'https://127.0.0.1:%d/static'", p);
    CHECK(r.exit_code == 0 && status_of(r.out) == 304, "static If-None-Match: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    CHECK(h3.server_event_size(s) == 0, "events queued for a static route: next size %lld",
          (long long)h3.server_event_size(s));
    /* The control: a request to the other route is queued (nobody answers it here). */
    r = client(1, "-timeout 1s 'https://127.0.0.1:%d/queued'", p);
    free_result(&r);
    CHECK(h3.server_event_size(s) > 0, "the /queued request was not queued");

    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_OK);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
}

/* ---- TCP: set_options "tcp" ------------------------------------------------------- */

static void cb_tcp(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    char body[256];
    int n = snprintf(body, sizeof body, "%.*s %.*s conn %zu body %zu", (int)req->method_len, req->method,
                     (int)req->path_len, req->path, req->conn_id_len, req->body_len);
    h3.response_status(resp, 200);
    h3.response_end(resp, (const uint8_t *)body, (size_t)n);
}

/* HTTP/1.1 and HTTP/2 through curl on a server with "tcp", the same routes and
 * callbacks; the main server (C default) listens on UDP only. */
void check_tcp(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -sk --http2 'https://127.0.0.1:%d/hello/x' 2>&1", port);
    client_result r = run_command(cmd);
    CHECK(r.exit_code == 7, "TCP without \"tcp\": curl exit %d (want 7, could not connect)", r.exit_code);
    free_result(&r);

    zig_h3_server *s = new_local_server("tcp", 0, 0);
    if (!s) return;
    const char *opts = "{\"tcp\":true}";
    CHECK_RC(h3.server_set_options(s, opts, strlen(opts)), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/tcp", cb_tcp, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    int p = h3.server_port(s);
    char alt[64];
    snprintf(alt, sizeof alt, "alt-svc: h3=\":%d\"; ma=86400", p);
    const char *protos[] = {"--http1.1", "--http2"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "curl -sk %s -i -d hello 'https://127.0.0.1:%d/tcp' 2>&1", protos[i], p);
        r = run_command(cmd);
        CHECK(r.exit_code == 0 && strstr(r.out, "POST /tcp conn 8 body 5") && strcasestr(r.out, alt),
              "curl %s: exit %d output:\n%s", protos[i], r.exit_code, r.out);
        free_result(&r);
    }
    uint64_t c[ZIG_H3_COUNTER_COUNT] = {0};
    CHECK(h3.server_counters(s, c, ZIG_H3_COUNTER_COUNT) == ZIG_H3_COUNTER_COUNT && c[ZIG_H3_COUNTER_REQUESTS_HTTP1] == 1 &&
              c[ZIG_H3_COUNTER_REQUESTS_HTTP2] == 1 && c[ZIG_H3_COUNTER_REQUESTS_HTTP3] == 0,
          "requests by protocol: %llu %llu %llu", (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_HTTP1],
          (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_HTTP2], (unsigned long long)c[ZIG_H3_COUNTER_REQUESTS_HTTP3]);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
}
