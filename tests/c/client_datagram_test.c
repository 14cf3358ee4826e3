/*
 * client_datagram_test.c - datagrams and WebTransport from the C client in
 * callback mode, against our own server (client_support.c):
 *   WebTransport: zig_h3_client_open_webtransport with a zig_h3_wt_event_cb;
 *     CONNECTED, datagrams echoed (DATAGRAM events, then the same datagrams
 *     through zig_h3_wt_session_receive_datagram / _free_datagram), a close
 *     by the client, a close by the server (code 42, "server bye", flag
 *     REMOTE_CLOSE), a rejected session (403) and an unrouted one (404);
 *   raw QUIC datagrams on an "alpn" connection (set_options), echoed by the
 *     server's QUIC datagram callback: the client's datagram callback gets
 *     them with flow_id ZIG_H3_FLOW_ID_RAW; fetches and sessions are STATE;
 *   HTTP/3 datagrams on a request's flow (zig_h3_client_send_h3_datagram),
 *     echoed: DATAGRAM fetch events with the flow id stream_id / 4.
 */
#include "harness.h"

#define BAD ZIG_H3_ERR_BAD_HANDLE

/* ---- WebTransport ------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    int events, connected, failed, closed, dgrams, order_bad;
    uint32_t status, flags;
    int32_t code;
    uint64_t stream_id;
    zig_h3_wt_session *session; /* as the callback saw it */
    char reason[64], last_dgram[64];
} wt_rec;

static void on_wt_event(void *user, zig_h3_wt_session *s, const zig_h3_wt_event *e) {
    wt_rec *w = user;
    pthread_mutex_lock(&w->mu);
    w->events++;
    if (w->failed || w->closed) w->order_bad++; /* CONNECT_FAILED and CLOSED are the last events */
    if (w->session && w->session != s) w->order_bad++;
    w->session = s;
    switch (e->event_type) {
    /* The counters go last: the test thread waits for them without the lock, then takes it (wt_sync). */
    case ZIG_H3_WT_EVENT_CONNECTED:
        w->status = e->status, w->stream_id = e->stream_id;
        INC(w->connected);
        break;
    case ZIG_H3_WT_EVENT_CONNECT_FAILED:
        w->status = e->status;
        snprintf(w->reason, sizeof w->reason, "%.*s", (int)e->reason_len, (const char *)e->reason);
        INC(w->failed);
        break;
    case ZIG_H3_WT_EVENT_CLOSED:
        w->code = e->error_code, w->flags = e->flags;
        snprintf(w->reason, sizeof w->reason, "%.*s", (int)e->reason_len, (const char *)e->reason);
        INC(w->closed);
        break;
    case ZIG_H3_WT_EVENT_DATAGRAM:
        if (!w->connected) w->order_bad++;
        w->dgrams++;
        snprintf(w->last_dgram, sizeof w->last_dgram, "%.*s", (int)e->datagram_len, (const char *)e->datagram);
        break;
    default:
        w->order_bad++;
    }
    pthread_mutex_unlock(&w->mu);
}

static wt_rec *wt_rec_new(void) {
    wt_rec *w = calloc(1, sizeof *w);
    if (!w) abort();
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

/* Waits for the callback that set a counter to return its lock: its other fields are then set. */
static void wt_sync(wt_rec *w) {
    pthread_mutex_lock(&w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* Opens path and waits for its first event. */
static zig_h3_wt_session *open_session(zig_h3_client *c, const char *path, wt_rec *w) {
    zig_h3_wt_session *s = h3.client_open_webtransport(c, path, strlen(path), on_wt_event, w);
    CHECK(s != NULL, "open_webtransport %s: %s", path, h3.last_error());
    if (s) CHECK(WAIT_FOR(LOAD(w->connected) || LOAD(w->failed), 5000), "%s: neither CONNECTED nor CONNECT_FAILED", path);
    wt_sync(w);
    return s;
}

/* Datagrams echoed: DATAGRAM events, then the queue for receive_datagram. */
static void wt_echo(zig_h3_wt_session *s, wt_rec *w) {
    enum { N = 20 };
    char msg[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(msg, sizeof msg, "dg-%02d", i);
        CHECK_RC(h3.wt_session_send_datagram(s, (const uint8_t *)msg, (size_t)n), ZIG_H3_OK);
        sleep_ms(2);
    }
    CHECK_RC(h3.wt_send_datagram(s, (const uint8_t *)"server-side function", 20), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(w->dgrams) >= N + 1, 5000), "WebTransport echo: %d of %d datagrams back", LOAD(w->dgrams), N + 1);
    int got = 0, wrong = 0, rc;
    zig_h3_bytes b[N + 4];
    while (got < N + 4 && (rc = h3.wt_session_receive_datagram(s, &b[got])) == 1) {
        wrong += !(b[got].ptr && (b[got].len == 5 || b[got].len == 20));
        got++;
    }
    CHECK(got == N + 1 && wrong == 0, "receive_datagram: %d datagrams (%d wrong), want %d", got, wrong, N + 1);
    CHECK_RC(h3.wt_session_receive_datagram(s, &b[got]), 0); /* none left */
    for (int i = 0; i < got; i++) CHECK_RC(h3.wt_session_free_datagram(s, b[i].ptr, b[i].len), ZIG_H3_OK);
    if (got) CHECK_RC(h3.wt_session_free_datagram(s, b[0].ptr, b[0].len), ZIG_H3_ERR_INVALID_ARG); /* twice */
    static uint8_t big[65536];
    CHECK_RC(h3.wt_session_send_datagram(s, big, sizeof big), ZIG_H3_ERR_TOO_LARGE);
    int max = h3.wt_max_datagram_size(s);
    CHECK(max > 1000 && max < 65536, "wt_max_datagram_size of a client session: %d", max);
}

static void wt_client_close(zig_h3_client *c) {
    wt_rec *w = wt_rec_new();
    zig_h3_wt_session *s = open_session(c, "/wt", w);
    if (!s) return;
    CHECK(w->connected == 1 && w->status == 200 && w->session == s, "CONNECTED %d status %u session %p (%p)",
          w->connected, w->status, (void *)w->session, (void *)s);
    CHECK_RC(h3.wt_session_is_established(s), 1);
    uint64_t sid = h3.wt_session_stream_id(s);
    CHECK(sid == w->stream_id && sid % 4 == 0 && sid != UINT64_MAX, "session stream id %llu, CONNECTED's %llu",
          (unsigned long long)sid, (unsigned long long)w->stream_id);
    wt_echo(s, w);
    int closes = client_server_session_closes(NULL, NULL, 0);
    CHECK_RC(h3.wt_session_close(s, 7, (const uint8_t *)"client bye", 10), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(w->closed) == 1, 5000), "client close: no CLOSED event");
    wt_sync(w);
    CHECK(!(w->flags & ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE), "client close: CLOSED has REMOTE_CLOSE");
    uint32_t code = 0;
    char reason[64] = "";
    CHECK(WAIT_FOR(client_server_session_closes(&code, reason, sizeof reason) > closes, 5000) && code == 7 &&
              strcmp(reason, "client bye") == 0,
          "the server saw the close with code %u reason \"%s\"", code, reason);
    CHECK_RC(h3.wt_session_is_established(s), 0);
    int rc = h3.wt_session_send_datagram(s, (const uint8_t *)"x", 1);
    CHECK(rc == ZIG_H3_ERR_CLOSED || rc == ZIG_H3_ERR_STATE, "datagram on a closed session: %d", rc);
    rc = h3.wt_session_close(s, 1, NULL, 0);
    CHECK(rc == ZIG_H3_ERR_CLOSED || rc == ZIG_H3_ERR_STATE, "close of a closed session: %d", rc);
    CHECK_RC(h3.wt_session_free(s), ZIG_H3_OK);
    CHECK_RC(h3.wt_session_free(s), BAD);
    CHECK_RC(h3.wt_session_is_established(s), BAD);
    CHECK(h3.wt_session_stream_id(s) == UINT64_MAX, "stream id of a freed session");
    CHECK(w->order_bad == 0, "client close: %d events out of order", w->order_bad);
}

static void wt_server_close(zig_h3_client *c) {
    wt_rec *w = wt_rec_new();
    zig_h3_wt_session *s = open_session(c, "/wt", w);
    if (!s) return;
    CHECK_RC(h3.wt_session_send_datagram(s, (const uint8_t *)"close", 5), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(w->closed) == 1, 5000), "server close: no CLOSED event");
    wt_sync(w);
    CHECK(w->code == 42 && strcmp(w->reason, "server bye") == 0 && (w->flags & ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE),
          "server close: code %d reason \"%s\" flags %u", w->code, w->reason, w->flags);
    CHECK_RC(h3.wt_session_is_established(s), 0);
    CHECK_RC(h3.wt_session_free(s), ZIG_H3_OK);
    CHECK(w->order_bad == 0, "server close: %d events out of order", w->order_bad);
}

static void wt_refused(zig_h3_client *c, const char *path, uint32_t status) {
    wt_rec *w = wt_rec_new();
    zig_h3_wt_session *s = open_session(c, path, w);
    if (!s) return;
    CHECK(w->failed == 1 && w->connected == 0 && w->status == status, "%s: CONNECT_FAILED %d status %u, want %u",
          path, w->failed, w->status, status);
    CHECK_RC(h3.wt_session_is_established(s), 0);
    int rc = h3.wt_session_send_datagram(s, (const uint8_t *)"x", 1);
    CHECK(rc == ZIG_H3_ERR_STATE || rc == ZIG_H3_ERR_CLOSED, "%s: datagram on a refused session: %d", path, rc);
    CHECK_RC(h3.wt_session_free(s), ZIG_H3_OK);
    CHECK(w->order_bad == 0, "%s: %d events out of order", path, w->order_bad);
}

/* Frees the client with a session open: the session gets CLOSED first. */
static void wt_free_with_session(int p) {
    zig_h3_client *c = connect_client("WebTransport, freed with a session", p, 0, 1);
    if (!c) return;
    wt_rec *w = wt_rec_new();
    zig_h3_wt_session *s = open_session(c, "/wt", w);
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    CHECK(LOAD(w->closed) == 1, "client_free with an open session: %d CLOSED events", LOAD(w->closed));
    if (s) {
        int rc = h3.wt_session_free(s);
        CHECK(rc == ZIG_H3_OK || rc == BAD, "session_free after client_free: %d", rc);
    }
}

static void check_client_webtransport(int p) {
    zig_h3_client *c = connect_client("WebTransport", p, 0, 1);
    if (!c) return;
    wt_client_close(c);
    wt_server_close(c);
    wt_refused(c, "/wt/reject", 403);
    wt_refused(c, "/wt/nowhere", 404);
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    wt_free_with_session(p);
}

/* ---- Raw QUIC datagrams --------------------------------------------------------------- */

static struct {
    int calls, wrong_flow, matched;
    uint64_t seen[2]; /* bit per datagram index */
} raw;

static void on_raw(void *user, uint64_t flow, const uint8_t *d, size_t n) {
    (void)user;
    INC(raw.calls);
    if (flow != ZIG_H3_FLOW_ID_RAW) INC(raw.wrong_flow);
    unsigned i;
    if (n == 7 && memcmp(d, "raw-", 4) == 0 && sscanf((const char *)d + 4, "%3u", &i) == 1 && i < 128)
        if (!(__atomic_fetch_or(&raw.seen[i / 64], 1ULL << (i % 64), __ATOMIC_SEQ_CST) & (1ULL << (i % 64))))
            INC(raw.matched);
}

static void check_client_raw(int p) {
    enum { N = 40 };
    zig_h3_client_config cfg = {.enable_dgram = 1, .connect_timeout_ms = 5000};
    zig_h3_client *c = h3.client_new(&cfg);
    CHECK(c != NULL, "client_new: %s", h3.last_error());
    if (!c) return;
    const char *alpn = "{\"alpn\":[\"zig-h3-ctest\"]}";
    CHECK_RC(h3.client_set_options(c, alpn, strlen(alpn)), ZIG_H3_OK);
    CHECK_RC(h3.client_set_datagram_callback(c, on_raw, NULL), ZIG_H3_OK);
    CHECK_RC(h3.client_connect(c, "127.0.0.1", (uint16_t)p, NULL), ZIG_H3_OK);
    int max = h3.client_max_datagram_size(c);
    CHECK(max > 1000 && max < 65536, "client_max_datagram_size: %d", max);
    char msg[16];
    for (int i = 0; i < N; i++) {
        snprintf(msg, sizeof msg, "raw-%03d", i);
        CHECK_RC(h3.client_send_datagram(c, (const uint8_t *)msg, 7), ZIG_H3_OK);
        sleep_ms(2);
    }
    CHECK(WAIT_FOR(LOAD(raw.matched) == N, 5000), "raw QUIC datagrams: %d of %d back", LOAD(raw.matched), N);
    CHECK(LOAD(raw.wrong_flow) == 0, "%d raw datagrams without flow_id ZIG_H3_FLOW_ID_RAW", LOAD(raw.wrong_flow));
    static uint8_t big[65536];
    CHECK_RC(h3.client_send_datagram(c, big, sizeof big), ZIG_H3_ERR_TOO_LARGE);
    CHECK(strpbrk(h3.last_error(), "0123456789") != NULL, "TOO_LARGE message names no size: %s", h3.last_error());
    /* Only datagrams on an "alpn" connection. */
    fetch_rec *r = fetch_rec_new();
    CHECK_RC(h3.client_fetch_simple(c, "GET", "/hello", 1, 0, 0, on_fetch_event, r, on_fetch_done, r, NULL),
             ZIG_H3_ERR_STATE);
    CHECK(h3.client_open_webtransport(c, "/wt", 3, NULL, NULL) == NULL, "open_webtransport on an alpn connection");
    CHECK_RC(h3.client_send_h3_datagram(c, 0, (const uint8_t *)"x", 1), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.client_close(c, 5, (const uint8_t *)"done", 4), ZIG_H3_OK);
    int rc = h3.client_send_datagram(c, (const uint8_t *)"late", 4);
    CHECK(rc == ZIG_H3_ERR_CLOSED || rc == ZIG_H3_ERR_STATE, "send_datagram after close: %d", rc);
    rc = h3.client_close(c, 5, NULL, 0);
    CHECK(rc == ZIG_H3_ERR_STATE || rc == ZIG_H3_ERR_CLOSED, "close twice: %d", rc);
    CHECK_RC(h3.client_max_datagram_size(c), 0);
    CHECK_RC(h3.client_set_datagram_callback(c, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    CHECK(r->events == 0 && r->cb_calls == 0, "a refused fetch called back: %d events", r->events);
    fetch_rec_free(r);
    printf("raw QUIC datagrams: %d sent, %d back, max %d\n", N, LOAD(raw.matched), max);
}

/* ---- HTTP/3 datagrams ---------------------------------------------------------------- */

static int h3_conn_dgrams, h3_conn_wrong;
static uint64_t h3_flow;

static void on_conn_dgram(void *user, uint64_t flow, const uint8_t *d, size_t n) {
    (void)user, (void)d, (void)n;
    INC(h3_conn_dgrams);
    if (flow != LOAD(h3_flow)) INC(h3_conn_wrong);
}

/* POST /dg with "content-length: 0" and the request left open (a streamed
 * body, never written): the buffered route runs at once, the flow stays up. */
static void check_client_h3_datagrams(int p) {
    enum { N = 15 };
    zig_h3_client *c = connect_client("HTTP/3 datagrams", p, 1, 0);
    if (!c) return;
    CHECK_RC(h3.client_set_datagram_callback(c, on_conn_dgram, NULL), ZIG_H3_OK);
    fetch_rec *r = fetch_rec_new();
    zig_h3_header cl0 = {"content-length", 14, "0", 1};
    zig_h3_fetch_options o = {.method = "POST", .method_len = 4, .path = "/dg", .path_len = 3, .headers = &cl0,
                              .headers_len = 1, .stream_body = ZIG_H3_FETCH_REQUEST_BODY_STREAMED, .collect_body = 1,
                              .event_cb = on_fetch_event, .event_user = r};
    uint64_t sid = UINT64_MAX;
    CHECK_RC(h3.client_fetch(c, &o, &sid, on_fetch_done, r), ZIG_H3_OK);
    STORE(h3_flow, sid / 4);
    CHECK(WAIT_FOR(LOAD(r->headers), 5000), "POST /dg: no HEADERS");
    char msg[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(msg, sizeof msg, "h3dg-%02d", i);
        CHECK_RC(h3.client_send_h3_datagram(c, sid, (const uint8_t *)msg, (size_t)n), ZIG_H3_OK);
        sleep_ms(2);
    }
    CHECK(WAIT_FOR(LOAD(r->datagrams) == N, 5000), "HTTP/3 datagrams: %d DATAGRAM events of %d", LOAD(r->datagrams), N);
    static uint8_t big[65536];
    CHECK_RC(h3.client_send_h3_datagram(c, sid, big, sizeof big), ZIG_H3_ERR_TOO_LARGE);
    CHECK_RC(h3.client_send_h3_datagram(c, sid + 400, (const uint8_t *)"x", 1), ZIG_H3_ERR_STATE); /* unknown stream */
    CHECK_RC(h3.client_send_h3_datagram(c, sid, (const uint8_t *)"end", 3), ZIG_H3_OK);
    CHECK(h3.client_write_body(c, sid, NULL, 0, 1) >= 0, "write_body fin: %s", h3.last_error());
    CHECK(fetch_wait(r, 1, 5000) && r->cb_status == 200 && r->body_len == 4 && memcmp(r->body, "done", 4) == 0,
          "POST /dg: status %u, %zu body bytes (%s)", r->cb_status, r->body_len, r->message);
    CHECK(r->order_bad == 0, "POST /dg: events out of order: %s", r->order_note);
    CHECK_RC(h3.client_send_h3_datagram(c, sid, (const uint8_t *)"x", 1), ZIG_H3_ERR_STATE); /* finished */
    CHECK(LOAD(h3_conn_wrong) == 0, "%d connection datagram callbacks with another flow id", LOAD(h3_conn_wrong));
    printf("HTTP/3 datagrams: %d DATAGRAM events; the connection's datagram callback saw %d\n", r->datagrams,
           LOAD(h3_conn_dgrams));

    /* A fetch without a body that is a datagram flow (ZIG_H3_FETCH_DATAGRAM_FLOW) keeps its request
     * side open (content-length: 0), so it can send datagrams too. */
    fetch_rec *nb = fetch_rec_new();
    zig_h3_fetch_options o2 = {.method = "POST", .method_len = 4, .path = "/dg", .path_len = 3, .collect_body = 1,
                               .stream_body = ZIG_H3_FETCH_DATAGRAM_FLOW, .event_cb = on_fetch_event, .event_user = nb};
    CHECK_RC(h3.client_fetch(c, &o2, &sid, on_fetch_done, nb), ZIG_H3_OK);
    CHECK(WAIT_FOR(LOAD(nb->headers), 5000), "POST /dg without a body: no HEADERS");
    int rc = h3.client_send_h3_datagram(c, sid, (const uint8_t *)"end", 3);
    CHECK(rc == ZIG_H3_OK, "send_h3_datagram on a fetch without a body: %d %s", rc, h3.last_error());
    if (rc != ZIG_H3_OK) CHECK_RC(h3.client_cancel_fetch(c, sid, 0), ZIG_H3_OK);
    CHECK(fetch_wait(nb, 1, 5000), "POST /dg without a body: no end");
    CHECK_RC(h3.client_free(c), ZIG_H3_OK);
    fetch_rec_free(r), fetch_rec_free(nb);
}

void check_client_datagrams(void) {
    double t0 = now_ms();
    int p;
    zig_h3_server *s = client_server_start(&p);
    if (!s) return;
    check_client_webtransport(p);
    check_client_raw(p);
    check_client_h3_datagrams(p);
    client_check_notes("client datagrams");
    client_server_stop(s);
    printf("client datagrams and WebTransport: %.0f ms\n", now_ms() - t0);
}
