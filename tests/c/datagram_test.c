/*
 * datagram_test.c - datagrams and WebTransport, driven by the Go client
 * dgclient (tests/dgclient), on two servers of their own:
 *   A (enable_dgram, quicAlpn "zig-h3-test", a QUIC datagram callback): raw
 *     QUIC datagrams echoed from inside the C callback (extra ALPN, and an h3
 *     peer without HTTP/3 datagrams), the too-large error, a stale conn_ptr;
 *     HTTP/3 datagram routes POST /dg (deferred; the client resets it) and
 *     POST /dg-stream (streaming; ended by a thread once all came back).
 *   B (enable_webtransport, quicAlpn "zig-h3-queue", event queue): CONNECT
 *     /wt/reject, /wt/echo and /wt/close with C session callbacks; session
 *     datagrams, streams and closes and the queued raw QUIC datagrams arrive
 *     as events, drained by a thread polling the event fd.
 * Then the datagram and session counters, stop and free.
 */
#include "harness.h"

#include <poll.h>
#include <unistd.h>


/* Notes of wrong results inside callbacks and the drain thread, checked empty. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char bad[1024];
#define NOTE(...) (pthread_mutex_lock(&mu), add_note(bad, sizeof bad, __VA_ARGS__), pthread_mutex_unlock(&mu))
#define EXPECT(expr, want)                                                                            \
    do {                                                                                              \
        long long rc_ = (long long)(expr);                                                            \
        if (rc_ != (long long)(want)) NOTE(" [%s -> %lld: %s]", #expr, rc_, h3.last_error());         \
    } while (0)

static void check_notes(const char *what) {
    pthread_mutex_lock(&mu);
    CHECK(bad[0] == 0, "%s:%s", what, bad);
    bad[0] = 0;
    pthread_mutex_unlock(&mu);
}


static zig_h3_server *new_server(uint8_t wt, const char *options) {
    zig_h3_server *s = new_local_server("datagram", 1, wt);
    if (s) CHECK_RC(h3.server_set_options(s, options, strlen(options)), ZIG_H3_OK);
    return s;
}

static void check_counters(zig_h3_server *s, const char *what) {
    uint64_t c[ZIG_H3_COUNTER_COUNT] = {0};
    CHECK(WAIT_FOR(h3.server_counters(s, c, ZIG_H3_COUNTER_COUNT) == ZIG_H3_COUNTER_COUNT &&
                       c[ZIG_H3_COUNTER_SESSIONS_ACTIVE] == 0, 3000), "%s: sessions active", what);
    printf("%s counters: datagrams received %llu sent %llu dropped %llu, sessions active %llu\n", what,
           (unsigned long long)c[ZIG_H3_COUNTER_DATAGRAMS_RECEIVED], (unsigned long long)c[ZIG_H3_COUNTER_DATAGRAMS_SENT],
           (unsigned long long)c[ZIG_H3_COUNTER_DATAGRAMS_DROPPED], (unsigned long long)c[ZIG_H3_COUNTER_SESSIONS_ACTIVE]);
    CHECK(c[ZIG_H3_COUNTER_DATAGRAMS_RECEIVED] > 0 && c[ZIG_H3_COUNTER_DATAGRAMS_SENT] > 0, "%s: no datagram counted", what);
    CHECK(c[ZIG_H3_COUNTER_DATAGRAMS_DROPPED] == 0, "%s: datagrams dropped", what);
}

/* ---- Raw QUIC datagrams: server A, C callback ---------------------------------- */

static zig_h3_server *srv_a, *srv_other;
static int port_a;
static struct {
    void *conn;
    int calls, echo_failed, max_size, big_rc, null_rc, other_rc;
    char big_msg[256];
} qd;

static void on_quic_dgram(void *user, void *conn, const uint8_t *cid, size_t cl, const uint8_t *d, size_t n) {
    zig_h3_server *s = user;
    if (!cid || cl != 8) NOTE(" [conn_id length %zu]", cl);
    if (INC(qd.calls) == 1) {
        static const uint8_t big[65536];
        qd.max_size = h3.server_max_datagram_size(s, conn);
        qd.big_rc = h3.server_send_quic_datagram(s, conn, big, sizeof big);
        snprintf(qd.big_msg, sizeof qd.big_msg, "%s", h3.last_error());
        qd.null_rc = h3.server_send_quic_datagram(s, conn, NULL, 5);
        /* A live connection of server A named with another server. */
        qd.other_rc = h3.server_send_quic_datagram(srv_other, conn, d, n);
    }
    STORE(qd.conn, conn);
    if (h3.server_send_quic_datagram(s, conn, d, n) != ZIG_H3_OK) INC(qd.echo_failed);
}

/* Runs quic-dgram with alpn against port; checks that all n came back. */
static void quic_dgram_run(int p, const char *alpn, int n, int want_http) {
    client_result r = dgclient("quic-dgram -addr 127.0.0.1:%d -alpn %s -n %d", p, alpn, n);
    printf("quic-dgram -alpn %s: %s", alpn, r.out);
    CHECK(r.exit_code == 0 && json_int(r.out, "matched", 0) == n && json_int(r.out, "sent", 0) == n,
          "quic-dgram %s: exit %d, output %s", alpn, r.exit_code, r.out);
    CHECK(json_int(r.out, "httpStatus", 0) == want_http, "quic-dgram %s: httpStatus in %s", alpn, r.out);
    CHECK(json_int(r.out, "maxDatagramSize", 0) > 1000, "quic-dgram %s: client max size in %s", alpn, r.out);
    free_result(&r);
}

/* ---- HTTP/3 datagrams: POST /dg and POST /dg-stream --------------------------- */

#define MAX_FLOWS 8
static struct flow {
    zig_h3_response *resp;
    uint64_t stream_id;
    uint8_t conn_id[8];
    int streaming, dgrams, body_done, end_rc, closed; /* closed: 1 clean, 2 aborted */
} flows[MAX_FLOWS];
static int nflows, dg_expect, dg_checked, dg_max, dg_big_rc;

static struct flow *find_flow(zig_h3_response *resp, const uint8_t *conn, size_t cl, uint64_t sid) {
    for (int i = 0; i < nflows; i++)
        if (resp ? flows[i].resp == resp
                 : cl == 8 && flows[i].stream_id == sid && memcmp(flows[i].conn_id, conn, 8) == 0)
            return &flows[i];
    return NULL;
}

/* Both routes: no flow before the head; defer the end and send the head. */
static void cb_dg_request(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    EXPECT(h3.response_send_h3_datagram(resp, (const uint8_t *)"x", 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_max_datagram_size(resp), 0);
    EXPECT(req->body == NULL && req->body_len == 0, 1);
    EXPECT(h3.response_defer_end(resp), ZIG_H3_OK);
    EXPECT(h3.response_header(resp, "x-flow", 6, "yes", 3), ZIG_H3_OK);
    /* /dg-stream sends its head itself; /dg leaves it to the library, which
     * sends it when this callback returns (zig_h3.h): the flow starts either way. */
    if (field_is(req->path, req->path_len, "/dg-stream")) EXPECT(h3.response_write(resp, NULL, 0), ZIG_H3_OK);
    pthread_mutex_lock(&mu);
    if (nflows < MAX_FLOWS && req->conn_id_len == 8) {
        flows[nflows] = (struct flow){resp, req->stream_id, {0}, field_is(req->path, req->path_len, "/dg-stream"), 0, 0, 1, 0};
        memcpy(flows[nflows++].conn_id, req->conn_id, 8);
    } else {
        add_note(bad, sizeof bad, " [flow table full or conn_id length %zu]", req->conn_id_len);
    }
    pthread_mutex_unlock(&mu);
}

/* Ends a streaming flow 100 ms after its last datagram was echoed. */
static void *end_later(void *arg) {
    struct flow *f = arg;
    sleep_ms(100);
    STORE(f->end_rc, h3.response_end(f->resp, NULL, 0));
    return NULL;
}

/* Echoes each datagram on its own flow; the first one checks the limits. */
static void cb_dg_datagram(void *user, const zig_h3_request *req, zig_h3_response *resp, const uint8_t *d, size_t n) {
    (void)user;
    static const uint8_t big[8192];
    int rc = h3.response_send_h3_datagram(resp, d, n);
    pthread_mutex_lock(&mu);
    struct flow *f = find_flow(resp, NULL, 0, 0);
    if (!f || f->stream_id != req->stream_id) add_note(bad, sizeof bad, " [datagram for an unknown flow]");
    else if (++f->dgrams == dg_expect && f->streaming) {
        pthread_t t;
        if (pthread_create(&t, NULL, end_later, f) == 0) pthread_detach(t);
    }
    if (rc != ZIG_H3_OK) add_note(bad, sizeof bad, " [echo: %d %s]", rc, h3.last_error());
    if (!dg_checked++) {
        dg_max = h3.response_max_datagram_size(resp);
        dg_big_rc = h3.response_send_h3_datagram(resp, big, sizeof big);
    }
    pthread_mutex_unlock(&mu);
}

static void on_dg_chunk(void *user, const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *d, size_t n) {
    (void)user, (void)conn, (void)cl, (void)d;
    NOTE(" [body chunk of %zu bytes on stream %llu]", n, (unsigned long long)sid);
}

/* POST /dg-stream: the body ends at once (content-length: 0), the flow goes on. */
static void on_dg_complete(void *user, const uint8_t *conn, size_t cl, uint64_t sid) {
    (void)user;
    pthread_mutex_lock(&mu);
    struct flow *f = find_flow(NULL, conn, cl, sid);
    if (f) f->body_done = 1;
    else add_note(bad, sizeof bad, " [body end of an unknown stream %llu]", (unsigned long long)sid);
    pthread_mutex_unlock(&mu);
}

static void on_dg_close(void *user, const uint8_t *conn, size_t cl, uint64_t sid, uint8_t aborted) {
    (void)user;
    pthread_mutex_lock(&mu);
    struct flow *f = find_flow(NULL, conn, cl, sid);
    if (f) f->closed = aborted ? 2 : 1;
    pthread_mutex_unlock(&mu);
}

static int flows_closed(int from) {
    pthread_mutex_lock(&mu);
    int all = 1;
    for (int i = from; i < nflows; i++) all &= flows[i].closed != 0;
    pthread_mutex_unlock(&mu);
    return all;
}

/* Runs h3-dgram on path with k requests of n datagrams; streaming routes end
 * their flows (FIN, clean close), /dg leaves them to the client's reset. */
static void h3_dgram_run(int p, const char *path, int k, int n, int streaming) {
    int from = nflows;
    dg_expect = n;
    double t0 = now_ms();
    client_result r = dgclient("h3-dgram -url https://127.0.0.1:%d%s -n %d -requests %d", p, path, n, k);
    printf("h3-dgram %s (%.0f ms): %s", path, now_ms() - t0, r.out);
    CHECK(r.exit_code == 0 && nflows - from == k, "h3-dgram %s: exit %d, %d flows, output %s", path, r.exit_code,
          nflows - from, r.out);
    for (int i = 0; i < k; i++) {
        long sid = json_int(r.out, "streamId", i);
        CHECK(json_int(r.out, "status", i) == 200 && json_int(r.out, "matched", i) == n &&
                  json_int(r.out, "foreign", i) == 0, "h3-dgram %s request %d: %s", path, i, r.out);
        pthread_mutex_lock(&mu);
        struct flow *f = NULL;
        for (int j = from; j < nflows; j++)
            if ((long)(flows[j].stream_id / 4) == sid / 4) f = &flows[j]; /* flow id = quarter stream id */
        pthread_mutex_unlock(&mu);
        CHECK(f && f->dgrams == n, "h3-dgram %s: flow of stream %ld: %d datagrams", path, sid, f ? f->dgrams : -1);
    }
    CHECK(WAIT_FOR(flows_closed(from), 3000), "h3-dgram %s: request streams not closed", path);
    for (int j = from; j < nflows; j++) {
        CHECK(flows[j].closed == (streaming ? 1 : 2), "%s: stream %llu closed %d", path,
              (unsigned long long)flows[j].stream_id, flows[j].closed);
        CHECK(flows[j].end_rc == (streaming ? ZIG_H3_OK : 1) && flows[j].body_done == streaming,
              "%s: end %d, body end %d", path, flows[j].end_rc, flows[j].body_done);
        int rc = h3.response_send_h3_datagram(flows[j].resp, (const uint8_t *)"x", 1);
        CHECK(ENDED(rc), "%s: datagram after the end: %d", path, rc);
    }
    free_result(&r);
    check_notes(path);
}

/* ---- Server A: raw QUIC datagrams, then HTTP/3 datagrams ------------------------ */

void check_quic_datagrams(void) {
    srv_a = new_server(0, "{\"quicAlpn\":[\"zig-h3-test\"]}");
    srv_other = new_server(0, "{\"quicAlpn\":[\"zig-h3-test\"]}");
    if (!srv_a || !srv_other) return;
    CHECK_RC(h3.server_set_quic_datagram_cb(srv_a, on_quic_dgram, srv_a), ZIG_H3_OK);
    CHECK_RC(h3.server_set_stream_close_cb(srv_a, on_dg_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(srv_a, "GET", "/", cb_any, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(srv_a, "POST", "/dg", cb_dg_request, cb_dg_datagram, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(srv_a, "POST", "/dg-stream", cb_dg_request, on_dg_chunk, on_dg_complete,
                                       cb_dg_datagram, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_start(srv_a), ZIG_H3_OK);
    CHECK_RC(h3.server_set_options(srv_a, "{}", 2), ZIG_H3_ERR_STATE);
    port_a = h3.server_port(srv_a);

    quic_dgram_run(port_a, "zig-h3-test", 50, 0);
    CHECK(LOAD(qd.calls) >= 50 && LOAD(qd.echo_failed) == 0, "QUIC datagram callback: %d calls, %d echoes failed",
          LOAD(qd.calls), LOAD(qd.echo_failed));
    CHECK(qd.max_size > 1000, "zig_h3_server_max_datagram_size in the callback: %d", qd.max_size);
    CHECK(qd.big_rc == ZIG_H3_ERR_TOO_LARGE, "64 KiB datagram: %d (%s)", qd.big_rc, qd.big_msg);
    const char *digits = strpbrk(qd.big_msg, "0123456789");
    long named = digits ? strtol(digits, NULL, 10) : 0;
    CHECK(named > 1000 && named < 65536, "TOO_LARGE message does not name the maximum: \"%s\" (max %d)", qd.big_msg,
          qd.max_size);
    CHECK(qd.null_rc == ZIG_H3_ERR_INVALID_ARG, "send_quic_datagram(NULL data, 5): %d", qd.null_rc);
    CHECK(qd.other_rc == ZIG_H3_ERR_BAD_HANDLE, "conn_ptr of server A given with another server: %d", qd.other_rc);
    CHECK_RC(h3.server_free(srv_other), ZIG_H3_OK);
    printf("raw QUIC datagrams: max %d, too large: %s\n", qd.max_size, qd.big_msg);

    /* The client has gone: its conn_ptr must become BAD_HANDLE, never crash. */
    void *stale = LOAD(qd.conn);
    CHECK(WAIT_FOR(h3.server_send_quic_datagram(srv_a, stale, (const uint8_t *)"x", 1) == ZIG_H3_ERR_BAD_HANDLE, 3000),
          "stale conn_ptr %p: send gives %d", stale, h3.server_send_quic_datagram(srv_a, stale, (const uint8_t *)"x", 1));
    CHECK_RC(h3.server_max_datagram_size(srv_a, stale), ZIG_H3_ERR_BAD_HANDLE);

    /* An h3 peer that does not enable HTTP/3 datagrams: its datagrams are raw. */
    int before = LOAD(qd.calls);
    quic_dgram_run(port_a, "h3", 20, 200);
    CHECK(LOAD(qd.calls) - before >= 20, "h3 connection: %d raw datagram calls", LOAD(qd.calls) - before);
    check_notes("QUIC datagram callback");
}

void check_h3_datagrams(void) {
    if (!srv_a) return;
    h3_dgram_run(port_a, "/dg", 2, 30, 0);
    CHECK(dg_max > 1000, "zig_h3_response_max_datagram_size in the datagram callback: %d", dg_max);
    CHECK(dg_big_rc == ZIG_H3_ERR_TOO_LARGE, "8 KiB HTTP/3 datagram: %d", dg_big_rc);
    h3_dgram_run(port_a, "/dg-stream", 2, 30, 1);
    check_counters(srv_a, "server A");
    CHECK_RC(h3.server_stop(srv_a, 0), ZIG_H3_OK);
    CHECK_RC(h3.server_free(srv_a), ZIG_H3_OK);
    srv_a = NULL;
}

/* ---- WebTransport: server B, event queue ---------------------------------------- */

enum { WT_REJECT = 1, WT_ECHO, WT_CLOSE };
static zig_h3_server *srv_b;
static struct {
    zig_h3_wt_session *sess[4]; /* by WT_* */
    int stop, ready, closed, close_code, closes, dgrams, qdgrams, stream_ends, unknown, late_acks;
    long long stream_bytes;
    char close_reason[64];
} wt;
static struct { uint64_t in, out; } wst[32]; /* drain thread only */
static int nwst;

static void cb_session(void *user, const zig_h3_request *req, zig_h3_wt_session *sess) {
    int kind = (int)(intptr_t)user;
    const uint8_t *x = (const uint8_t *)"x";
    EXPECT(field_is(req->method, req->method_len, "CONNECT"), 1);
    EXPECT(h3.wt_send_datagram(sess, x, 1), ZIG_H3_ERR_STATE); /* not accepted */
    EXPECT(h3.wt_max_datagram_size(sess), 0);
    EXPECT(h3.wt_open_stream(sess, 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.wt_close(sess, 1, NULL, 0), ZIG_H3_ERR_STATE);
    EXPECT(h3.wt_release(sess), ZIG_H3_OK);
    if (kind == WT_REJECT) {
        EXPECT(h3.wt_reject(sess, 200), ZIG_H3_ERR_INVALID_ARG);
        EXPECT(h3.wt_reject(sess, 403), ZIG_H3_OK);
        EXPECT(h3.wt_accept(sess), ZIG_H3_ERR_STATE);
    } else {
        EXPECT(h3.wt_accept(sess), ZIG_H3_OK);
        EXPECT(h3.wt_accept(sess), ZIG_H3_ERR_STATE);
        EXPECT(h3.wt_reject(sess, 500), ZIG_H3_ERR_STATE);
        EXPECT(h3.wt_send_datagram(sess, x, 1), ZIG_H3_ERR_STATE); /* established after the callback */
    }
    STORE(wt.sess[kind], sess);
}

static uint64_t reply_stream(uint64_t in) {
    for (int i = 0; i < nwst; i++)
        if (wst[i].in == in) return wst[i].out;
    NOTE(" [event for unknown stream %llx]", (unsigned long long)in);
    return 0;
}

#define SESSION(handle) ((zig_h3_wt_session *)(uintptr_t)(handle))

/* Handles one event, read through the struct of its type (zig_h3.h). */
static void handle_event(zig_h3_server *s, const zig_h3_event_header *e) {
    const zig_h3_event_bytes *bytes = (const void *)e; /* SESSION_DATAGRAM, STREAM_DATA */
    switch (e->type) {
    case ZIG_H3_EVENT_SESSION_READY: {
        const zig_h3_event_handle *ev = (const void *)e;
        EXPECT(h3.wt_max_datagram_size(SESSION(ev->handle)) > 1000, 1);
        INC(wt.ready);
        break;
    }
    case ZIG_H3_EVENT_SESSION_DATAGRAM: {
        zig_h3_wt_session *sess = SESSION(bytes->handle);
        INC(wt.dgrams);
        if (sess == LOAD(wt.sess[WT_CLOSE]) && bytes->length == 5 && memcmp(bytes->data, "close", 5) == 0) {
            if (INC(wt.closes) == 1) EXPECT(h3.wt_close(sess, 42, (const uint8_t *)"server bye", 10), ZIG_H3_OK);
        } else {
            EXPECT(h3.wt_send_datagram(sess, bytes->data, bytes->length), ZIG_H3_OK);
        }
        break;
    }
    case ZIG_H3_EVENT_STREAM_OPENED: {
        const zig_h3_event_stream_opened *ev = (const void *)e;
        uint64_t in = ev->stream;
        int64_t out = (int64_t)in;
        if (!ev->bidi) { /* the peer's uni stream: answer on a uni stream of ours */
            int rc = (int)h3.wt_stream_write(in, (const uint8_t *)"x", 1, 0); /* receive-only (or gone) */
            EXPECT(rc == ZIG_H3_ERR_STATE || rc == ZIG_H3_ERR_BAD_HANDLE, 1);
            out = h3.wt_open_stream(SESSION(ev->session), 0);
            EXPECT(out > 0, 1);
        }
        if (nwst < 32) wst[nwst].in = in, wst[nwst++].out = (uint64_t)out;
        break;
    }
    case ZIG_H3_EVENT_STREAM_DATA: {
        uint64_t in = bytes->handle, out = reply_stream(in);
        uint32_t n = bytes->length;
        EXPECT(h3.wt_stream_write(out, bytes->data, n, 0) >= 0, 1);
        int rc = h3.wt_stream_ack(in, n);
        if (rc == ZIG_H3_ERR_BAD_HANDLE) INC(wt.late_acks); /* a receive-only stream may be gone already */
        else EXPECT(rc, ZIG_H3_OK);
        __atomic_add_fetch(&wt.stream_bytes, n, __ATOMIC_SEQ_CST);
        break;
    }
    case ZIG_H3_EVENT_STREAM_END: {
        const zig_h3_event_stream_end *ev = (const void *)e;
        EXPECT(ev->reset, 0); /* FIN, not a reset */
        EXPECT(h3.wt_stream_write(reply_stream(ev->stream), NULL, 0, 1) >= 0, 1);
        INC(wt.stream_ends);
        break;
    }
    case ZIG_H3_EVENT_SESSION_CLOSED: {
        const zig_h3_event_session_closed *ev = (const void *)e;
        if (SESSION(ev->session) == LOAD(wt.sess[WT_CLOSE])) {
            uint32_t n = ev->reason_len < sizeof wt.close_reason ? ev->reason_len : sizeof wt.close_reason - 1;
            memcpy(wt.close_reason, ev->data, n);
            wt.close_reason[n] = 0;
            STORE(wt.close_code, (int)ev->code);
        } else if (SESSION(ev->session) == LOAD(wt.sess[WT_ECHO])) {
            EXPECT(ev->code, 0);
        }
        INC(wt.closed);
        break;
    }
    case ZIG_H3_EVENT_QUIC_DATAGRAM: { /* data: remote address, connection id in hex, bytes */
        const zig_h3_event_quic_datagram *ev = (const void *)e;
        const uint8_t *hex = ev->data + ev->remote_len;
        EXPECT(strspn((const char *)hex, "0123456789abcdef") >= 2 * ZIG_H3_CONN_ID_LEN, 1);
        EXPECT(h3.server_send_quic_datagram(s, (void *)(uintptr_t)ev->conn, hex + 2 * ZIG_H3_CONN_ID_LEN, ev->length),
               ZIG_H3_OK);
        INC(wt.qdgrams);
        break;
    }
    case ZIG_H3_EVENT_LOG:
        break;
    case ZIG_H3_EVENT_WRITABLE:
        /* An echo stream's pending bytes passed 256 KiB and fell back: the
         * echo writes without pausing (its peer reads everything), so this
         * only tells that it may go on. */
        break;
    default:
        NOTE(" [unexpected event type %d]", e->type);
        INC(wt.unknown);
    }
}

/* Polls the event fd and drains the queue until wt.stop. */
static void *drain_thread(void *arg) {
    zig_h3_server *s = arg;
    int fd = h3.server_event_fd(s);
    size_t cap = 4096;
    uint8_t *buf = malloc(cap);
    while (buf && !LOAD(wt.stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) continue;
        uint64_t v;
        if (read(fd, &v, sizeof v) < 0) { /* non-blocking: EAGAIN is fine */ }
        for (int64_t n; (n = h3.server_drain(s, buf, cap)) != 0;) {
            if (n == ZIG_H3_ERR_BUFFER_TOO_SMALL) {
                cap = (size_t)h3.server_event_size(s);
                buf = realloc(buf, cap);
                if (!buf) break;
                continue;
            }
            if (n < 0) {
                NOTE(" [drain: %lld]", (long long)n);
                break;
            }
            /* malloc's buffer is 8-byte aligned, and so is every event in it. */
            const zig_h3_event_header *e;
            for (int64_t off = 0; off + 8 <= n && (e = (const void *)(buf + off))->length >= 8; off += e->length)
                handle_event(s, e);
        }
    }
    free(buf);
    return NULL;
}

void check_webtransport(void) {
    srv_b = new_server(1, "{\"quicAlpn\":[\"zig-h3-queue\"]}");
    if (!srv_b) return;
    static const char *paths[] = {NULL, "/wt/reject", "/wt/echo", "/wt/close"};
    for (int k = WT_REJECT; k <= WT_CLOSE; k++)
        CHECK_RC(h3.server_route(srv_b, "CONNECT", paths[k], cb_any, NULL, cb_session, (void *)(intptr_t)k), ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(srv_b, "POST", "/dg-stream", cb_dg_request, on_dg_chunk, on_dg_complete,
                                       cb_dg_datagram, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_stream_close_cb(srv_b, on_dg_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_queue_quic_datagrams(srv_b), ZIG_H3_OK);
    int fd = h3.server_event_fd(srv_b); /* before start: sessions find the queue */
    CHECK(fd >= 0, "event fd %d", fd);
    CHECK_RC(h3.server_start(srv_b), ZIG_H3_OK);
    int p = h3.server_port(srv_b);
    pthread_t drainer;
    int started = pthread_create(&drainer, NULL, drain_thread, srv_b) == 0;
    CHECK(started, "pthread_create");

    client_result r = dgclient("wt-reject -url https://127.0.0.1:%d/wt/reject", p);
    printf("wt-reject: %s", r.out);
    CHECK(r.exit_code == 0 && json_int(r.out, "status", 0) == 403, "wt-reject: exit %d output %s", r.exit_code, r.out);
    free_result(&r);
    zig_h3_wt_session *rejected = LOAD(wt.sess[WT_REJECT]);
    CHECK(WAIT_FOR(h3.wt_accept(rejected) == ZIG_H3_ERR_BAD_HANDLE, 3000), "rejected session handle still valid");

    r = dgclient("wt -url https://127.0.0.1:%d/wt/echo -datagrams 20 -bidi 300000 -streams 2 -uni 1000", p);
    printf("wt: %s", r.out);
    CHECK(r.exit_code == 0 && json_int(r.out, "status", 0) == 200 && json_int(r.out, "matched", 0) == 20,
          "wt echo datagrams: exit %d output %s", r.exit_code, r.out);
    for (int i = 0; i < 3; i++)
        CHECK(json_int(r.out, "bytes", i) == (i < 2 ? 300000 : 1000), "wt echo stream %d: %s", i, r.out);
    CHECK(strstr(r.out, "\"ok\":false") == NULL && strstr(r.out, "\"error\"") == NULL, "wt echo streams: %s", r.out);
    free_result(&r);
    CHECK(WAIT_FOR(LOAD(wt.closed) >= 1 && LOAD(wt.stream_ends) >= 3, 3000), "wt echo: %d closed, %d stream ends",
          LOAD(wt.closed), LOAD(wt.stream_ends));
    CHECK(LOAD(wt.ready) == 1 && LOAD(wt.dgrams) >= 20 && LOAD(wt.stream_bytes) == 601000,
          "wt echo: %d ready, %d datagrams, %lld stream bytes", LOAD(wt.ready), LOAD(wt.dgrams), LOAD(wt.stream_bytes));
    zig_h3_wt_session *echo = LOAD(wt.sess[WT_ECHO]);
    CHECK(WAIT_FOR(h3.wt_send_datagram(echo, (const uint8_t *)"x", 1) == ZIG_H3_ERR_BAD_HANDLE, 3000),
          "closed session: send gives %d", h3.wt_send_datagram(echo, (const uint8_t *)"x", 1));
    for (int i = 0; i < LOAD(nwst); i++) /* the streams are done: both sides ended */
        CHECK(WAIT_FOR(h3.wt_stream_ack(wst[i].in, 0) == ZIG_H3_ERR_BAD_HANDLE, 3000), "stream %d still valid", i);

    r = dgclient("wt-close -url https://127.0.0.1:%d/wt/close -mode server", p);
    printf("wt-close: %s", r.out);
    char reason[64];
    json_str(r.out, "reason", reason, sizeof reason);
    CHECK(r.exit_code == 0 && json_int(r.out, "code", 0) == 42 && strcmp(reason, "server bye") == 0,
          "wt-close: exit %d output %s", r.exit_code, r.out);
    free_result(&r);
    CHECK(WAIT_FOR(LOAD(wt.close_code) == 42, 3000) && strcmp(wt.close_reason, "server bye") == 0,
          "SESSION_CLOSED of /wt/close: code %d reason \"%s\"", LOAD(wt.close_code), wt.close_reason);
    CHECK(WAIT_FOR(h3.wt_close(LOAD(wt.sess[WT_CLOSE]), 1, NULL, 0) == ZIG_H3_ERR_BAD_HANDLE, 3000),
          "closed session handle still valid");

    quic_dgram_run(p, "zig-h3-queue", 30, 0);
    CHECK(LOAD(wt.qdgrams) >= 30, "queued QUIC datagrams: %d events", LOAD(wt.qdgrams));
    h3_dgram_run(p, "/dg-stream", 1, 20, 1);
    CHECK(LOAD(wt.unknown) == 0, "unexpected events");
    printf("WebTransport: %d stream acks after the stream was gone (BAD_HANDLE)\n", LOAD(wt.late_acks));
    check_counters(srv_b, "server B");
    check_notes("WebTransport callbacks and events");

    CHECK_RC(h3.server_stop(srv_b, 0), ZIG_H3_OK);
    STORE(wt.stop, 1); /* stop polling before free closes the fd */
    if (started) pthread_join(drainer, NULL);
    CHECK_RC(h3.server_free(srv_b), ZIG_H3_OK);
    srv_b = NULL;
}
