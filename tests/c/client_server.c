/*
 * client_server.c - a server of this library, in the process, for the client
 * tests (see client_server_start in harness.h): C callback routes, session
 * datagrams and streams echoed by a thread draining the event queue, raw
 * QUIC datagrams echoed from the QUIC datagram callback.
 */
#include "harness.h"

#include <poll.h>
#include <unistd.h>

/* ---- Our server for the client tests ------------------------------------------------- */

static pthread_mutex_t cs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int stop, closes, session_closes, started, stream_ends;
    long long stream_bytes;
    uint32_t last_code;
    char last_reason[64];
    pthread_t drainer;
    zig_h3_response *hanging[16];
    int nhanging;
} cs;

static void cs_hello(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u, (void)req;
    CLIENT_EXPECT(h3.response_end(resp, (const uint8_t *)"hello", 5), ZIG_H3_OK);
}

static void cs_echo(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u;
    const zig_h3_header *h = find_header(req, "x-echo-header");
    if (h) CLIENT_EXPECT(h3.response_header(resp, "x-echoed", 8, h->value, h->value_len), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_end(resp, req->body, req->body_len), ZIG_H3_OK);
}

static void cs_bytes(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u;
    char path[256]; /* req->path is not NUL-terminated */
    snprintf(path, sizeof path, "%.*s", (int)req->path_len, req->path);
    const char *q = strstr(path, "n=");
    size_t n = q ? strtoul(q + 2, NULL, 10) : 0;
    if (n > 64u << 20) n = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) abort();
    fill_pattern(buf, n, 0);
    CLIENT_EXPECT(h3.response_header(resp, "x-path", 6, req->path, req->path_len), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_end(resp, buf, n), ZIG_H3_OK);
    free(buf);
}

static void cs_trailers(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u, (void)req;
    zig_h3_header t = {"x-t", 3, "v", 1};
    CLIENT_EXPECT(h3.response_write(resp, (const uint8_t *)"t", 1), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_send_trailers(resp, &t, 1), ZIG_H3_OK);
}

static void *abort_later(void *arg) {
    sleep_ms(150);
    CLIENT_EXPECT(h3.response_abort(arg), ZIG_H3_OK);
    return NULL;
}

/* GET /abort: a head and 1000 bytes of a body that never ends, then a reset. */
static void cs_abort(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u, (void)req;
    uint8_t buf[1000];
    fill_pattern(buf, sizeof buf, 0);
    CLIENT_EXPECT(h3.response_defer_end(resp), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_header(resp, "content-length", 14, "5000", 4), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_write(resp, buf, sizeof buf), ZIG_H3_OK);
    pthread_t t;
    if (pthread_create(&t, NULL, abort_later, resp) == 0) pthread_detach(t);
    else client_note(" [pthread_create]");
}

static void cs_hang(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u, (void)req;
    CLIENT_EXPECT(h3.response_defer_end(resp), ZIG_H3_OK);
    int i = INC(cs.nhanging) - 1;
    if (i < 16) STORE(cs.hanging[i], resp);
}

/* POST /dg: HTTP/3 datagrams echoed; the datagram "end" ends the response. */
static void cs_dg(void *u, const zig_h3_request *req, zig_h3_response *resp) {
    (void)u, (void)req;
    CLIENT_EXPECT(h3.response_defer_end(resp), ZIG_H3_OK);
    CLIENT_EXPECT(h3.response_write(resp, NULL, 0), ZIG_H3_OK); /* the head: the flow starts */
}

static void cs_dg_datagram(void *u, const zig_h3_request *req, zig_h3_response *resp, const uint8_t *d, size_t n) {
    (void)u, (void)req;
    if (n == 3 && memcmp(d, "end", 3) == 0) CLIENT_EXPECT(h3.response_end(resp, (const uint8_t *)"done", 4), ZIG_H3_OK);
    else CLIENT_EXPECT(h3.response_send_h3_datagram(resp, d, n), ZIG_H3_OK);
}

static void cs_session(void *u, const zig_h3_request *req, zig_h3_wt_session *sess) {
    (void)req;
    if (u) CLIENT_EXPECT(h3.wt_reject(sess, 403), ZIG_H3_OK);
    else CLIENT_EXPECT(h3.wt_accept(sess), ZIG_H3_OK);
}

static void cs_quic_datagram(void *u, void *conn, const uint8_t *cid, size_t cl, const uint8_t *d, size_t n) {
    (void)cid, (void)cl;
    CLIENT_EXPECT(h3.server_send_quic_datagram(u, conn, d, n), ZIG_H3_OK);
}

static void cs_event(const zig_h3_event_header *e) {
    const zig_h3_event_bytes *b = (const void *)e;
    switch (e->type) {
    case ZIG_H3_EVENT_SESSION_DATAGRAM: {
        zig_h3_wt_session *sess = (zig_h3_wt_session *)(uintptr_t)b->handle;
        if (b->length == 5 && memcmp(b->data, "close", 5) == 0) {
            CLIENT_EXPECT(h3.wt_close(sess, 42, (const uint8_t *)"server bye", 10), ZIG_H3_OK);
            INC(cs.closes);
        } else {
            CLIENT_EXPECT(h3.wt_send_datagram(sess, b->data, b->length), ZIG_H3_OK);
        }
        break;
    }
    case ZIG_H3_EVENT_SESSION_CLOSED: {
        const zig_h3_event_session_closed *c = (const void *)e;
        pthread_mutex_lock(&cs_mu);
        cs.last_code = c->code;
        snprintf(cs.last_reason, sizeof cs.last_reason, "%.*s", (int)c->reason_len, (const char *)c->data);
        pthread_mutex_unlock(&cs_mu);
        INC(cs.session_closes);
        break;
    }
    case ZIG_H3_EVENT_STREAM_OPENED: {
        const zig_h3_event_stream_opened *o = (const void *)e;
        if (!o->bidi) client_note(" [client test server: a unidirectional stream]");
        break;
    }
    case ZIG_H3_EVENT_STREAM_DATA: /* echoed on the same (bidirectional) stream */
        CLIENT_EXPECT(h3.wt_stream_write(b->handle, b->data, b->length, 0) >= 0, 1);
        CLIENT_EXPECT(h3.wt_stream_ack(b->handle, b->length), ZIG_H3_OK);
        __atomic_add_fetch(&cs.stream_bytes, b->length, __ATOMIC_SEQ_CST);
        break;
    case ZIG_H3_EVENT_STREAM_END: {
        const zig_h3_event_stream_end *se = (const void *)e;
        if (!se->reset) CLIENT_EXPECT(h3.wt_stream_write(se->stream, NULL, 0, 1) >= 0, 1);
        INC(cs.stream_ends);
        break;
    }
    case ZIG_H3_EVENT_SESSION_READY:
    case ZIG_H3_EVENT_LOG:
    case ZIG_H3_EVENT_WRITABLE:
        break;
    default:
        client_note(" [client test server: event type %d]", e->type);
    }
}

static void *cs_drain(void *arg) {
    zig_h3_server *s = arg;
    int fd = h3.server_event_fd(s);
    size_t cap = 65536;
    uint8_t *buf = malloc(cap);
    while (buf && !LOAD(cs.stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) continue;
        uint64_t v;
        if (read(fd, &v, sizeof v) < 0) { /* EAGAIN */ }
        for (int64_t n; (n = h3.server_drain(s, buf, cap)) != 0;) {
            if (n == ZIG_H3_ERR_BUFFER_TOO_SMALL) {
                cap = (size_t)h3.server_event_size(s);
                if (!(buf = realloc(buf, cap))) break;
                continue;
            }
            if (n < 0) {
                client_note(" [server drain: %lld]", (long long)n);
                break;
            }
            const zig_h3_event_header *e;
            for (int64_t off = 0; off + 8 <= n && (e = (const void *)(buf + off))->length >= 8; off += e->length)
                cs_event(e);
        }
    }
    free(buf);
    return NULL;
}

zig_h3_server *client_server_start(int *port_out) {
    memset(&cs, 0, sizeof cs);
    *port_out = 0;
    zig_h3_server *s = new_local_server("client test server", 1, 1);
    if (!s) return NULL;
    const char *opts = "{\"quicAlpn\":[\"zig-h3-ctest\"]}";
    CHECK_RC(h3.server_set_options(s, opts, strlen(opts)), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/hello", cs_hello, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/echo", cs_echo, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/bytes", cs_bytes, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/trailers", cs_trailers, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/abort", cs_abort, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/hang", cs_hang, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/dg", cs_dg, cs_dg_datagram, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "CONNECT", "/wt", cs_hello, NULL, cs_session, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "CONNECT", "/wt/reject", cs_hello, NULL, cs_session, (void *)1), ZIG_H3_OK);
    CHECK_RC(h3.server_set_quic_datagram_cb(s, cs_quic_datagram, s), ZIG_H3_OK);
    CHECK(h3.server_event_fd(s) >= 0, "client test server: event fd: %s", h3.last_error());
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    cs.started = pthread_create(&cs.drainer, NULL, cs_drain, s) == 0;
    CHECK(cs.started, "pthread_create");
    *port_out = h3.server_port(s);
    return s;
}

void client_server_stop(zig_h3_server *s) {
    if (!s) return;
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_OK);
    STORE(cs.stop, 1);
    if (cs.started) pthread_join(cs.drainer, NULL);
    CHECK_RC(h3.server_free(s), ZIG_H3_OK);
    client_check_notes("client test server");
}

int client_server_closes(void) { return LOAD(cs.closes); }

long long client_server_stream_bytes(void) { return LOAD(cs.stream_bytes); }

int client_server_session_closes(uint32_t *last_code, char *reason, size_t cap) {
    pthread_mutex_lock(&cs_mu);
    if (last_code) *last_code = cs.last_code;
    if (reason) snprintf(reason, cap, "%s", cs.last_reason);
    pthread_mutex_unlock(&cs_mu);
    return LOAD(cs.session_closes);
}
