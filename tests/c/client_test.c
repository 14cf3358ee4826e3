/*
 * client_test.c - the client in callback mode (zig_h3_client_fetch and
 * zig_h3_client_fetch_simple with a zig_h3_fetch_event_cb and a
 * zig_h3_fetch_cb):
 *   against Bun's own HTTP/3 server (tests/fixtures/bun-native-h3.ts, a peer
 *   this project did not write): GET, POST of 300 kB echoed, a streamed
 *   request body (zig_h3_client_write_body), a streamed response (DATA
 *   events counted and checked), fetch_simple, cancel_fetch; then the TLS
 *   checks of client_tls_test.c against the same server;
 *   against our own server: trailers, a response reset after part of its
 *   body, request timeouts (per fetch and the client's), 405, many fetches
 *   at once, client_free with a fetch in flight, the idle timeout, and the
 *   server stopping under a fetch.
 * Every fetch ends with one FINISHED event and one fetch_cb call; a failed
 * one has status 0 in both, never a partial body.
 */
#include "harness.h"

/* Records live until their client is freed (its free still ends fetches). */
static fetch_rec *recs[128];
static int nrecs;

static fetch_rec *new_rec(void) {
    fetch_rec *r = fetch_rec_new();
    if (nrecs < 128) recs[nrecs++] = r;
    return r;
}

static void free_recs(void) {
    while (nrecs > 0) fetch_rec_free(recs[--nrecs]);
}

static zig_h3_fetch_options options(const char *method, const char *path, fetch_rec *r) {
    return (zig_h3_fetch_options){.method = method, .method_len = strlen(method), .path = path,
                                  .path_len = strlen(path), .collect_body = 1, .event_cb = on_fetch_event,
                                  .event_user = r};
}

/* The events of a fetch that completed with status and no DATA events unless streamed. */
static void check_complete(fetch_rec *r, const char *what, uint16_t status, int streamed) {
    CHECK(fetch_wait(r, 1, 15000), "%s: no end after 15 s (events %d, cb %d)", what, LOAD(r->events),
          LOAD(r->cb_calls));
    pthread_mutex_lock(&r->mu);
    CHECK(r->order_bad == 0, "%s: %d events out of order, first: %s", what, r->order_bad, r->order_note);
    CHECK(r->started == 1 && r->headers == 1 && r->finished == 1 && r->cb_calls == 1,
          "%s: STARTED %d HEADERS %d FINISHED %d fetch_cb %d", what, r->started, r->headers, r->finished, r->cb_calls);
    CHECK(r->head_status == status && r->finish_status == status && r->cb_status == status,
          "%s: status HEADERS %u FINISHED %u fetch_cb %u, want %u (%s)", what, r->head_status, r->finish_status,
          r->cb_status, status, r->message);
    CHECK(streamed ? r->data_events > 0 : r->data_events == 0, "%s: %d DATA events", what, r->data_events);
    CHECK(r->cb_headers > 0, "%s: fetch_cb without headers", what);
    pthread_mutex_unlock(&r->mu);
}

/* The events of a fetch that failed: FINISHED and fetch_cb with status 0, no body. */
static void check_failed(fetch_rec *r, const char *what) {
    CHECK(fetch_wait(r, 1, 15000), "%s: no end after 15 s", what);
    pthread_mutex_lock(&r->mu);
    CHECK(r->order_bad == 0, "%s: %d events out of order, first: %s", what, r->order_bad, r->order_note);
    CHECK(r->finished == 1 && r->finish_status == 0 && r->cb_calls == 1 && r->cb_status == 0,
          "%s: FINISHED %d status %u, fetch_cb %d status %u", what, r->finished, r->finish_status, r->cb_calls,
          r->cb_status);
    CHECK(r->message[0] != 0, "%s: FINISHED with status 0 and no message", what);
    CHECK(r->body_len == 0 && r->cb_headers == 0, "%s: failed fetch_cb with %zu body bytes, %zu headers", what,
          r->body_len, r->cb_headers);
    printf("%s: failed as it should: %s\n", what, r->message);
    pthread_mutex_unlock(&r->mu);
}

/* ---- Against Bun ------------------------------------------------------------------------ */

static void bun_get(zig_h3_client *c) {
    fetch_rec *r = new_rec();
    zig_h3_fetch_options o = options("GET", "/hello", r);
    uint64_t sid = UINT64_MAX;
    CHECK_RC(h3.client_fetch(c, &o, &sid, on_fetch_done, r), ZIG_H3_OK);
    check_complete(r, "Bun GET /hello", 200, 0);
    CHECK(sid % 4 == 0 && sid == r->stream_id, "stream id %llu, STARTED %llu", (unsigned long long)sid,
          (unsigned long long)r->stream_id);
    CHECK(r->body_len == 5 && memcmp(r->body, "hello", 5) == 0, "Bun GET /hello body: %zu bytes", r->body_len);

    fetch_rec *nf = new_rec();
    zig_h3_fetch_options o404 = options("GET", "/nowhere?x=1", nf);
    CHECK_RC(h3.client_fetch(c, &o404, NULL, on_fetch_done, nf), ZIG_H3_OK);
    check_complete(nf, "Bun GET /nowhere", 404, 0);
    CHECK(nf->body_len == 9 && memcmp(nf->body, "not found", 9) == 0, "404 body: %zu bytes", nf->body_len);
}

static void bun_post(zig_h3_client *c) {
    enum { N = 300000 };
    uint8_t *body = malloc(N);
    if (!body) abort();
    fill_pattern(body, N, 7);
    fetch_rec *r = new_rec();
    zig_h3_header hd[] = {{"content-type", 12, "application/octet-stream", 24}};
    zig_h3_fetch_options o = options("POST", "/echo", r);
    o.headers = hd, o.headers_len = 1, o.body = body, o.body_len = N;
    CHECK_RC(h3.client_fetch(c, &o, NULL, on_fetch_done, r), ZIG_H3_OK);
    memset(body, 0, N); /* the library copied it */
    fill_pattern(body, N, 7);
    check_complete(r, "Bun POST /echo", 200, 0);
    CHECK(r->body_len == N && memcmp(r->body, body, N) == 0, "Bun POST /echo: %zu bytes back, want %d", r->body_len, N);
    free(body);
}

/* A request body written in pieces with zig_h3_client_write_body, pausing
 * at the high-water mark until WRITABLE. */
static void bun_streamed_request(zig_h3_client *c) {
    enum { N = 400000, CHUNK = 16384, FIRST = 1000 };
    uint8_t *body = malloc(N);
    if (!body) abort();
    fill_pattern(body, N, 0);
    fetch_rec *r = new_rec();
    zig_h3_fetch_options o = options("POST", "/echo", r);
    o.body = body, o.body_len = FIRST, o.stream_body = ZIG_H3_FETCH_REQUEST_BODY_STREAMED;
    uint64_t sid = UINT64_MAX;
    CHECK_RC(h3.client_fetch(c, &o, &sid, on_fetch_done, r), ZIG_H3_OK);
    int pauses = 0, errors = 0;
    for (size_t off = FIRST; off < N && !errors; off += CHUNK) {
        size_t n = N - off < CHUNK ? N - off : CHUNK;
        int writable = LOAD(r->writable);
        int64_t pending = h3.client_write_body(c, sid, body + off, n, 0);
        if (pending < 0) {
            CHECK(0, "write_body at %zu: %lld %s", off, (long long)pending, h3.last_error());
            errors++;
        } else if (pending >= ZIG_H3_RESPONSE_HIGH_WATER) {
            pauses++;
            CHECK(WAIT_FOR(LOAD(r->writable) > writable, 10000), "no WRITABLE after %lld pending", (long long)pending);
        }
    }
    int64_t fin = h3.client_write_body(c, sid, NULL, 0, 1);
    CHECK(fin >= 0, "write_body(NULL, 0, fin): %lld %s", (long long)fin, h3.last_error());
    CHECK_RC(h3.client_write_body(c, sid, body, 1, 0), ZIG_H3_ERR_STATE); /* after the end */
    CHECK_RC(h3.client_write_body(c, sid, NULL, 0, 1), ZIG_H3_ERR_STATE);
    check_complete(r, "Bun POST /echo, streamed request", 200, 0);
    CHECK(r->body_len == N && memcmp(r->body, body, N) == 0, "streamed request: %zu bytes back, want %d", r->body_len, N);
    printf("streamed request body: %d bytes, %d pauses at the high-water mark, %d WRITABLE events\n", N, pauses,
           LOAD(r->writable));
    free(body);
}

static void bun_streamed_response(zig_h3_client *c) {
    enum { N = 2000000 };
    fetch_rec *r = new_rec();
    r->check_pattern = 1;
    zig_h3_fetch_options o = options("GET", "/bytes?n=2000000", r);
    o.stream_body = ZIG_H3_FETCH_RESPONSE_BODY_STREAMED, o.collect_body = 0;
    CHECK_RC(h3.client_fetch(c, &o, NULL, on_fetch_done, r), ZIG_H3_OK);
    check_complete(r, "Bun GET /bytes, streamed", 200, 1);
    CHECK(r->data_len == N && r->data_mismatch < 0, "streamed response: %zu bytes, first wrong byte at %ld",
          r->data_len, r->data_mismatch);
    CHECK(r->body_len == 0 && r->cb_body_null, "not collected, yet fetch_cb got %zu body bytes", r->body_len);
    printf("streamed response: %zu bytes in %d DATA events\n", r->data_len, r->data_events);
}

static void bun_simple(zig_h3_client *c) {
    fetch_rec *r = new_rec();
    r->check_pattern = 1;
    uint64_t sid = UINT64_MAX;
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/bytes?n=100000", 1, ZIG_H3_FETCH_RESPONSE_BODY_STREAMED, 10000,
                                    on_fetch_event, r, on_fetch_done, r, &sid), ZIG_H3_OK);
    check_complete(r, "fetch_simple GET /bytes (streamed and collected)", 200, 1);
    CHECK(sid == r->stream_id, "fetch_simple stream id %llu, STARTED %llu", (unsigned long long)sid,
          (unsigned long long)r->stream_id);
    CHECK(r->data_len == 100000 && r->data_mismatch < 0, "fetch_simple DATA: %zu bytes", r->data_len);
    CHECK(r->body_len == 100000 && pattern_mismatch(r->body, r->body_len, 0) < 0, "fetch_simple body: %zu bytes",
          r->body_len);

    fetch_rec *only_cb = new_rec(); /* no event callback: the fetch_cb alone */
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hello", 1, 0, 0, NULL, NULL, on_fetch_done, only_cb, NULL), ZIG_H3_OK);
    CHECK(fetch_wait_cb(only_cb, 10000), "fetch_simple without event_cb: no fetch_cb");
    CHECK(only_cb->cb_status == 200 && only_cb->body_len == 5 && only_cb->events == 0,
          "fetch_simple without event_cb: status %u, %zu bytes, %d events", only_cb->cb_status, only_cb->body_len,
          only_cb->events);

    fetch_rec *only_ev = new_rec(); /* no fetch_cb: the events alone */
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hello", 0, 0, 0, on_fetch_event, only_ev, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK(fetch_wait(only_ev, 0, 10000) && only_ev->finish_status == 200 && only_ev->cb_calls == 0,
          "fetch_simple without fetch_cb: FINISHED %d status %u", only_ev->finished, only_ev->finish_status);
}

/* A large streamed response cancelled after its first DATA event: FINISHED
 * with status 0, the fetch_cb too, and the connection still serves. */
static void bun_cancel(zig_h3_client *c) {
    fetch_rec *r = new_rec();
    r->pause_first_data_ms = 300; /* holds the fetch back while it is cancelled */
    zig_h3_fetch_options o = options("GET", "/bytes?n=30000000", r);
    o.stream_body = ZIG_H3_FETCH_RESPONSE_BODY_STREAMED;
    uint64_t sid = UINT64_MAX;
    CHECK_RC(h3.client_fetch(c, &o, &sid, on_fetch_done, r), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(r->data_events) > 0, 15000), "cancel: no DATA event");
    CHECK_RC(h3.client_cancel_fetch(c, sid, 0), ZIG_H3_OK);
    check_failed(r, "cancelled fetch");
    CHECK(r->data_len < 30000000 && r->headers == 1, "cancelled fetch: %zu bytes, %d HEADERS", r->data_len, r->headers);
    CHECK_RC(h3.client_cancel_fetch(c, sid, 0), ZIG_H3_ERR_STATE); /* finished */
    CHECK_RC(h3.client_write_body(c, sid, (const uint8_t *)"x", 1, 1), ZIG_H3_ERR_STATE);

    fetch_rec *after = new_rec();
    zig_h3_fetch_options o2 = options("GET", "/hello", after);
    CHECK_RC(h3.client_fetch(c, &o2, NULL, on_fetch_done, after), ZIG_H3_OK);
    check_complete(after, "GET after a cancel", 200, 0);
}

void check_client_bun(void) {
    double t0 = now_ms();
    test_cert cert;
    bun_peer peer;
    if (make_test_cert(&cert) != 0) return;
    if (bun_peer_start(&peer, &cert) == 0) {
        zig_h3_client *c = connect_client("Bun", peer.port, 0, 0);
        if (c) {
            CHECK_RC(h3.client_run_once(c), ZIG_H3_OK);
            CHECK_RC(h3.client_poll(c), 0);
            bun_get(c);
            bun_post(c);
            bun_streamed_request(c);
            bun_streamed_response(c);
            bun_simple(c);
            bun_cancel(c);
            CHECK_RC(h3.client_free(c), ZIG_H3_OK);
        }
        free_recs();
        check_client_tls(peer.port, &cert);
        bun_peer_stop(&peer);
    }
    remove_test_cert(&cert);
    printf("client against Bun's HTTP/3: %.0f ms\n", now_ms() - t0);
}

/* ---- Against our server ----------------------------------------------------------------- */

static void local_trailers_and_errors(zig_h3_client *c) {
    fetch_rec *t = new_rec();
    zig_h3_fetch_options o = options("GET", "/trailers", t);
    CHECK_RC(h3.client_fetch(c, &o, NULL, on_fetch_done, t), ZIG_H3_OK);
    check_complete(t, "GET /trailers", 200, 0);
    CHECK(t->trailers == 1 && t->cb_trailers == 1 && strcmp(t->trailer, "x-t: v") == 0,
          "trailers: %d TRAILERS events, fetch_cb %zu trailers, first \"%s\"", t->trailers, t->cb_trailers, t->trailer);
    CHECK(t->body_len == 1 && t->body[0] == 't', "GET /trailers body: %zu bytes", t->body_len);

    /* Reset after the head and 1000 of 5000 bytes: never a success. */
    fetch_rec *a = new_rec();
    zig_h3_fetch_options oa = options("GET", "/abort", a);
    oa.stream_body = ZIG_H3_FETCH_RESPONSE_BODY_STREAMED;
    CHECK_RC(h3.client_fetch(c, &oa, NULL, on_fetch_done, a), ZIG_H3_OK);
    check_failed(a, "GET /abort (reset mid-body)");
    CHECK(a->data_len <= 1000, "GET /abort: %zu DATA bytes", a->data_len);

    /* No answer within request_timeout_ms. */
    fetch_rec *h = new_rec();
    zig_h3_fetch_options oh = options("GET", "/hang", h);
    oh.request_timeout_ms = 300;
    double t0 = now_ms();
    CHECK_RC(h3.client_fetch(c, &oh, NULL, on_fetch_done, h), ZIG_H3_OK);
    check_failed(h, "GET /hang with a 300 ms timeout");
    printf("request timeout of 300 ms: ended after %.0f ms\n", now_ms() - t0);

    fetch_rec *nf = new_rec();
    CHECK_RC(h3.client_fetch_simple(c, "DELETE", "/hello", 1, 0, 0, on_fetch_event, nf, on_fetch_done, nf, NULL),
             ZIG_H3_OK);
    check_complete(nf, "DELETE /hello", 405, 0);
}

/* 40 fetches at once from 4 threads; every one completes. */
#define PAR_THREADS 4
#define PAR_EACH 10
static fetch_rec *par_recs[PAR_THREADS * PAR_EACH];

typedef struct { zig_h3_client *c; int base; pthread_t th; int started; } par_arg;

static void *par_thread(void *arg) {
    par_arg *a = arg;
    for (int i = 0; i < PAR_EACH; i++) {
        fetch_rec *r = par_recs[a->base + i];
        if (h3.client_fetch_simple(a->c, "GET", "/bytes?n=20000", 1, 0, 10000, on_fetch_event, r, on_fetch_done, r,
                                   NULL) != ZIG_H3_OK)
            client_note(" [parallel fetch: %s]", h3.last_error());
    }
    return NULL;
}

static void local_parallel(zig_h3_client *c) {
    par_arg args[PAR_THREADS];
    for (int i = 0; i < PAR_THREADS * PAR_EACH; i++) par_recs[i] = new_rec();
    for (int i = 0; i < PAR_THREADS; i++) {
        args[i] = (par_arg){.c = c, .base = i * PAR_EACH};
        args[i].started = pthread_create(&args[i].th, NULL, par_thread, &args[i]) == 0;
    }
    for (int i = 0; i < PAR_THREADS; i++)
        if (args[i].started) pthread_join(args[i].th, NULL);
    int ok = 0;
    char first[1024] = "";
    for (int i = 0; i < PAR_THREADS * PAR_EACH; i++) {
        fetch_rec *r = par_recs[i];
        int good = fetch_wait(r, 1, 10000) && r->cb_status == 200 && r->body_len == 20000 &&
                   pattern_mismatch(r->body, r->body_len, 0) < 0 && r->order_bad == 0;
        if (!good && !first[0])
            snprintf(first, sizeof first, "fetch %d: FINISHED %d status %u (%s), fetch_cb %d status %u, %zu bytes, "
                     "%d events out of order (%s), headers %s", i, r->finished, r->finish_status, r->message,
                     r->cb_calls, r->cb_status, r->body_len, r->order_bad, r->order_note, r->cb_head);
        ok += good;
    }
    CHECK(ok == PAR_THREADS * PAR_EACH, "parallel fetches: %d of %d complete and right; first wrong: %s", ok,
          PAR_THREADS * PAR_EACH, first);
    client_check_notes("parallel fetches");
}

/* client_free with a fetch in flight: FINISHED (status 0) and the fetch_cb
 * come before it returns. */
static void local_free_in_flight(int p) {
    zig_h3_client *c = connect_client("free in flight", p, 0, 0);
    if (!c) return;
    fetch_rec *r = new_rec();
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hang", 1, 0, 0, on_fetch_event, r, on_fetch_done, r, NULL), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(r->started), 5000), "GET /hang: no STARTED");
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    CHECK(LOAD(r->finished) == 1 && LOAD(r->cb_calls) == 1, "client_free returned before the fetch ended: FINISHED %d, "
          "fetch_cb %d", LOAD(r->finished), LOAD(r->cb_calls));
    check_failed(r, "fetch in flight at client_free");
}

/* The client's request_timeout_ms applies to fetches that give none; the
 * idle timeout closes a connection without traffic. */
static void local_config_timeouts(int p) {
    zig_h3_client_config cfg = {.request_timeout_ms = 300, .idle_timeout_ms = 500, .connect_timeout_ms = 5000};
    zig_h3_client *c = h3.client_new(&cfg);
    CHECK(c != NULL, "client_new: %s", h3.last_error());
    if (!c) return;
    CHECK_RC(h3.client_connect(c, "127.0.0.1", (uint16_t)p, NULL), ZIG_H3_OK);
    fetch_rec *r = new_rec();
    double t0 = now_ms();
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hang", 1, 0, 0, on_fetch_event, r, on_fetch_done, r, NULL), ZIG_H3_OK);
    check_failed(r, "GET /hang with the client's request_timeout_ms of 300 ms");
    printf("config request timeout of 300 ms: ended after %.0f ms\n", now_ms() - t0);
    sleep_ms(1500); /* three idle timeouts */
    fetch_rec *late = new_rec();
    int rc = h3.client_fetch_simple(c, "GET", "/hello", 1, 0, 0, on_fetch_event, late, on_fetch_done, late, NULL);
    CHECK(rc == ZIG_H3_ERR_CLOSED, "fetch after the idle timeout: %d %s", rc, h3.last_error());
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
}

/* The server stops (force) under a fetch: FINISHED with status 0; then the
 * connection is gone (CLOSED). */
static void local_server_gone(zig_h3_server *s, zig_h3_client *c) {
    fetch_rec *r = new_rec();
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hang", 1, 0, 0, on_fetch_event, r, on_fetch_done, r, NULL), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(r->started), 5000), "GET /hang: no STARTED");
    client_server_stop(s);
    check_failed(r, "fetch in flight when the server stops");
    int rc = ZIG_H3_OK;
    for (double t0 = now_ms(); rc == ZIG_H3_OK && now_ms() - t0 < 5000; sleep_ms(20)) {
        fetch_rec *x = new_rec();
        rc = h3.client_fetch_simple(c, "GET", "/hello", 1, 0, 1000, on_fetch_event, x, on_fetch_done, x, NULL);
        if (rc == ZIG_H3_OK) fetch_wait(x, 1, 2000);
    }
    CHECK(rc == ZIG_H3_ERR_CLOSED, "fetch after the server stopped: %d %s", rc, h3.last_error());
}

void check_client_local(void) {
    int p;
    zig_h3_server *s = client_server_start(&p);
    if (!s) return;
    zig_h3_client *c = connect_client("local", p, 0, 0);
    if (c) {
        local_trailers_and_errors(c);
        local_parallel(c);
    }
    local_free_in_flight(p);
    local_config_timeouts(p);
    if (c) {
        local_server_gone(s, c);
        CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    } else {
        client_server_stop(s);
    }
    free_recs();
}
