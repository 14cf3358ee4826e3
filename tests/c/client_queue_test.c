/*
 * client_queue_test.c - the client in event-queue mode, against our own
 * server (client_support.c): zig_h3_client_event_fd before connect, connect
 * returning at once, zig_h3_client_fetch_start (also before
 * CLIENT_CONNECTED), and a drain loop (poll on the fd, 20 ms at a time, every
 * wait bounded) reading FETCH_HEAD, FETCH_DATA (acknowledged with
 * zig_h3_fetch_ack), FETCH_END and FETCH_ERROR through the event structs of
 * zig_h3.h: GET, a 1.5 MB body held at ZIG_H3_BODY_WINDOW until acked, a
 * request body written with zig_h3_fetch_write (pausing for WRITABLE),
 * trailers, a reset mid-body, a cancelled fetch, HTTP/3 datagrams of a fetch,
 * WebTransport session datagrams and a stream, raw QUIC datagrams, a failed connect
 * (CLIENT_CLOSED), and the fd closed by zig_h3_client_free.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the events of one fetch said. */
typedef struct {
    uint64_t handle;
    int heads, ends, errors, writable, dgrams, after_end, ack;
    uint32_t status;
    uint64_t stream_id;
    size_t bytes, unacked, trailers;
    long mismatch; /* first byte off the pattern (check_pattern) */
    int check_pattern;
    uint8_t *body; /* keep_body: the bytes */
    size_t body_cap;
    int32_t err_code;
    uint32_t app_code;
    char head[512], err[160], trailer_block[64];
} qfetch;

/* A client in event-queue mode and what its events said. */
typedef struct {
    zig_h3_client *c;
    int fd, connected, closed, unknown, sessions_ready, sessions_closed, session_dgrams, quic_dgrams;
    int32_t closed_code;
    char closed_msg[160];
    uint64_t stream; /* a WebTransport stream the client opened; its echo: */
    size_t stream_bytes;
    long stream_mismatch;
    int stream_ends, stream_writable;
    uint8_t *buf;
    size_t cap;
    qfetch *f[16];
    int nf;
} qclient;

static qfetch *find(qclient *q, uint64_t handle) {
    for (int i = 0; i < q->nf; i++)
        if (q->f[i]->handle == handle) return q->f[i];
    q->unknown++;
    return NULL;
}

static void on_event(qclient *q, const zig_h3_event_header *e) {
    const zig_h3_event_bytes *b = (const void *)e;
    const zig_h3_event_error *er = (const void *)e;
    const zig_h3_event_handle *hd = (const void *)e;
    qfetch *f;
    switch (e->type) {
    case ZIG_H3_EVENT_CLIENT_CONNECTED:
        q->connected += hd->handle == (uint64_t)(uintptr_t)q->c;
        break;
    case ZIG_H3_EVENT_CLIENT_CLOSED:
        q->closed++, q->closed_code = er->code;
        snprintf(q->closed_msg, sizeof q->closed_msg, "%.*s", (int)er->message_len, (const char *)er->data);
        break;
    case ZIG_H3_EVENT_FETCH_HEAD: {
        const zig_h3_event_fetch_head *h = (const void *)e;
        if (!(f = find(q, h->handle))) break;
        f->heads++, f->status = h->status, f->stream_id = h->stream_id;
        size_t n = h->head_len < sizeof f->head ? h->head_len : sizeof f->head, nuls = 0;
        memcpy(f->head, h->data, n); /* "name\0value\0..." */
        for (uint32_t i = 0; i < h->head_len; i++) nuls += h->data[i] == 0;
        CHECK(nuls == 2u * h->headers && (h->head_len == 0 || h->data[h->head_len - 1] == 0) &&
                  h->h.length >= offsetof(zig_h3_event_fetch_head, data) + h->head_len,
              "FETCH_HEAD: %u headers, %zu NULs in %u bytes, event length %u", h->headers, nuls, h->head_len, h->h.length);
        break;
    }
    case ZIG_H3_EVENT_FETCH_DATA:
        if (!(f = find(q, b->handle))) break;
        f->after_end += f->ends + f->errors;
        if (f->check_pattern && f->mismatch < 0) {
            long m = pattern_mismatch(b->data, b->length, f->bytes);
            if (m >= 0) f->mismatch = (long)f->bytes + m;
        }
        if (f->body && f->bytes + b->length <= f->body_cap) memcpy(f->body + f->bytes, b->data, b->length);
        f->bytes += b->length;
        if (f->ack) CHECK_RC(h3.fetch_ack(f->handle, b->length), ZIG_H3_OK);
        else f->unacked += b->length;
        break;
    case ZIG_H3_EVENT_FETCH_END: {
        const zig_h3_event_body_end *be = (const void *)e;
        if (!(f = find(q, be->handle))) break;
        f->after_end += f->ends + f->errors;
        f->ends++, f->trailers = be->trailers;
        memcpy(f->trailer_block, be->data, be->trailers_len < 64 ? be->trailers_len : 64);
        break;
    }
    case ZIG_H3_EVENT_FETCH_ERROR:
        if (!(f = find(q, er->handle))) break;
        f->after_end += f->ends + f->errors;
        f->errors++, f->err_code = er->code, f->app_code = er->app_code;
        snprintf(f->err, sizeof f->err, "%.*s", (int)er->message_len, (const char *)er->data);
        break;
    case ZIG_H3_EVENT_WRITABLE:
        if (q->stream && hd->handle == q->stream) q->stream_writable++;
        else if ((f = find(q, hd->handle))) f->writable++;
        break;
    case ZIG_H3_EVENT_STREAM_DATA:
        if (b->handle != q->stream) {
            q->unknown++;
            break;
        }
        if (q->stream_mismatch < 0) {
            long m = pattern_mismatch(b->data, b->length, q->stream_bytes);
            if (m >= 0) q->stream_mismatch = (long)q->stream_bytes + m;
        }
        q->stream_bytes += b->length;
        CHECK_RC(h3.wt_stream_ack(b->handle, b->length), ZIG_H3_OK);
        break;
    case ZIG_H3_EVENT_STREAM_END: {
        const zig_h3_event_stream_end *se = (const void *)e;
        if (se->stream == q->stream && !se->reset) q->stream_ends++;
        else q->unknown++;
        break;
    }
    case ZIG_H3_EVENT_H3_DATAGRAM:
        if ((f = find(q, b->handle))) f->dgrams++;
        break;
    case ZIG_H3_EVENT_SESSION_READY:
        q->sessions_ready++;
        break;
    case ZIG_H3_EVENT_SESSION_DATAGRAM:
        q->session_dgrams++;
        break;
    case ZIG_H3_EVENT_SESSION_CLOSED:
        q->sessions_closed++;
        break;
    case ZIG_H3_EVENT_LOG:
        break;
    case ZIG_H3_EVENT_QUIC_DATAGRAM: {
        const zig_h3_event_quic_datagram *d = (const void *)e;
        const char *hex = (const char *)d->data + d->remote_len;
        if (d->conn == (uint64_t)(uintptr_t)q->c && strncmp(hex, "0000000000000000", 16) == 0 && d->length == 7)
            q->quic_dgrams++;
        else
            q->unknown++;
        break;
    }
    default:
        q->unknown++;
    }
}

/* Drains until done(q, arg) holds or ms pass; returns done's last value. */
static int drain_until(qclient *q, int (*done)(qclient *, void *), void *arg, int ms) {
    double t0 = now_ms();
    while (!done(q, arg) && now_ms() - t0 < ms) {
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) continue;
        uint64_t v;
        if (read(q->fd, &v, sizeof v) < 0) { /* EAGAIN: the fd is non-blocking */ }
        for (int64_t n; (n = h3.client_drain(q->c, q->buf, q->cap)) != 0;) {
            if (n == ZIG_H3_ERR_BUFFER_TOO_SMALL) {
                int64_t need = h3.client_event_size(q->c);
                CHECK(need > (int64_t)q->cap, "BUFFER_TOO_SMALL, yet event_size %lld", (long long)need);
                if (need <= (int64_t)q->cap || !(q->buf = realloc(q->buf, q->cap = (size_t)need))) abort();
                continue;
            }
            CHECK(n > 0, "client_drain: %lld %s", (long long)n, h3.last_error());
            if (n < 0) return done(q, arg);
            const zig_h3_event_header *e;
            for (int64_t off = 0; off + 8 <= n; off += e->length) {
                e = (const void *)(q->buf + off);
                CHECK(e->length >= 8 && e->length % 8 == 0 && off + e->length <= n, "event length %u", e->length);
                if (e->length < 8) break;
                on_event(q, e);
            }
        }
    }
    return done(q, arg);
}

static int fetch_over(qclient *q, void *arg) { (void)q; qfetch *f = arg; return f->ends + f->errors > 0; }
static int is_connected(qclient *q, void *arg) { (void)arg; return q->connected > 0 || q->closed > 0; }
static int is_closed(qclient *q, void *arg) { (void)arg; return q->closed > 0; }
static int never(qclient *q, void *arg) { (void)q, (void)arg; return 0; }

static qfetch *start(qclient *q, const char *head, size_t head_len, uint32_t flags) {
    qfetch *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->mismatch = -1, f->ack = 1;
    int64_t h = h3.client_fetch_start(q->c, (const uint8_t *)head, head_len, flags);
    CHECK(h > 0, "fetch_start %s: %lld %s", head, (long long)h, h3.last_error());
    f->handle = h > 0 ? (uint64_t)h : 0;
    if (q->nf < 16) q->f[q->nf++] = f;
    return f;
}

#define START(q, lit, flags) start(q, lit, sizeof lit - 1, flags)

static int new_qclient(qclient *q, int p, uint8_t dgram, uint8_t wt, const char *spec) {
    memset(q, 0, sizeof *q);
    zig_h3_client_config cfg = {.enable_dgram = dgram, .enable_webtransport = wt, .connect_timeout_ms = 5000};
    q->c = h3.client_new(&cfg);
    CHECK(q->c != NULL, "client_new: %s", h3.last_error());
    if (!q->c) return -1;
    if (spec) CHECK_RC(h3.client_set_options(q->c, spec, strlen(spec)), ZIG_H3_OK);
    q->fd = h3.client_event_fd(q->c);
    CHECK(q->fd >= 0, "client_event_fd: %d %s", q->fd, h3.last_error());
    CHECK(h3.client_event_fd(q->c) == q->fd, "a second client_event_fd gives another fd");
    q->buf = malloc(q->cap = 4096);
    CHECK_RC(h3.client_connect(q->c, "127.0.0.1", (uint16_t)p, NULL), ZIG_H3_OK);
    return q->fd >= 0 ? 0 : -1;
}

static void free_qclient(qclient *q) {
    if (q->c) CHECK_RC(h3.client_free(q->c), ZIG_H3_OK);
    if (q->fd >= 0) CHECK(fcntl(q->fd, F_GETFD) == -1 && errno == EBADF, "the event fd %d is open after client_free", q->fd);
    CHECK(q->unknown == 0, "%d unexpected events", q->unknown);
    for (int i = 0; i < q->nf; i++) free(q->f[i]->body), free(q->f[i]);
    free(q->buf);
}

/* "name\0value\0..." has name with value. */
static int head_has(const qfetch *f, const char *name, const char *value) {
    for (const char *p = f->head; p < f->head + sizeof f->head - 1 && *p; p += strlen(p) + 1) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0 && strcmp(v, value) == 0) return 1;
        p = v;
    }
    return 0;
}

/* The head as "name: value; ..." for messages. */
static const char *head_text(const qfetch *f) {
    static char out[600];
    out[0] = 0;
    for (const char *p = f->head; p < f->head + sizeof f->head - 1 && *p; p += strlen(p) + 1) {
        const char *v = p + strlen(p) + 1;
        add_note(out, sizeof out, "%s: %s; ", p, v);
        p = v;
    }
    return out;
}

static void check_ok(qclient *q, qfetch *f, const char *what, size_t bytes) {
    CHECK(drain_until(q, fetch_over, f, 15000), "%s: no FETCH_END after 15 s (%zu bytes)", what, f->bytes);
    CHECK(f->heads == 1 && f->ends == 1 && f->errors == 0 && f->status == 200 && f->after_end == 0,
          "%s: HEAD %d status %u END %d ERROR %d (%s), events after the end %d", what, f->heads, f->status, f->ends,
          f->errors, f->err, f->after_end);
    CHECK(f->bytes == bytes && f->mismatch < 0, "%s: %zu bytes, want %zu; first wrong at %ld; head %s", what, f->bytes,
          bytes, f->mismatch, head_text(f));
}

/* GET before CONNECTED, then a body over the window: held until acked. */
static void queue_get(qclient *q) {
    CHECK_RC(h3.client_poll(q->c), 0);
    CHECK_RC(h3.client_event_size(q->c), 0);
    qfetch *hello = START(q, "GET\0/hello\0accept\0text/plain\0", 0);
    CHECK(drain_until(q, is_connected, NULL, 5000) && q->connected == 1, "no CLIENT_CONNECTED (closed %d: %s)",
          q->closed, q->closed_msg);
    check_ok(q, hello, "queued GET /hello", 5);
    CHECK(head_has(hello, "content-length", "5") && hello->stream_id % 4 == 0, "GET /hello head: stream %llu",
          (unsigned long long)hello->stream_id);
    CHECK_RC(h3.fetch_ack(hello->handle, 0), ZIG_H3_OK); /* valid 5 s after its end */

    qfetch *big = START(q, "GET\0/bytes?n=1500000\0", 0);
    big->check_pattern = 1, big->ack = 0;
    drain_until(q, never, NULL, 500);
    CHECK(big->bytes > 0 && big->bytes <= ZIG_H3_BODY_WINDOW && big->ends == 0,
          "unacknowledged body: %zu bytes delivered (window %d)", big->bytes, ZIG_H3_BODY_WINDOW);
    printf("event queue: %zu bytes delivered before any ack\n", big->bytes);
    CHECK_RC(h3.fetch_ack(big->handle, big->unacked), ZIG_H3_OK);
    big->ack = 1;
    check_ok(q, big, "queued GET /bytes?n=1500000", 1500000);
    CHECK(head_has(big, "x-path", "/bytes?n=1500000"), "the server saw another path (x-path)");
    CHECK_RC(h3.fetch_write(big->handle, (const uint8_t *)"x", 1, 1), ZIG_H3_ERR_STATE); /* no body flag */
}

/* POST with FLAG_BODY: 600 kB in 64 kB writes, pausing for WRITABLE. */
static void queue_post(qclient *q) {
    enum { N = 600000, CHUNK = 65536 };
    uint8_t *body = malloc(N);
    if (!body) abort();
    fill_pattern(body, N, 0);
    qfetch *f = START(q, "POST\0/echo\0x-echo-header\0yes\0", ZIG_H3_FETCH_FLAG_BODY);
    f->check_pattern = 1;
    int pauses = 0;
    for (size_t off = 0; off < N; off += CHUNK) {
        size_t n = N - off < CHUNK ? N - off : CHUNK;
        int writable = f->writable;
        int64_t pending = h3.fetch_write(f->handle, body + off, n, off + n == N);
        CHECK(pending >= 0, "fetch_write at %zu: %lld %s", off, (long long)pending, h3.last_error());
        if (pending < 0) break;
        if (pending >= ZIG_H3_RESPONSE_HIGH_WATER) {
            pauses++;
            double t0 = now_ms();
            while (f->writable == writable && !fetch_over(q, f) && now_ms() - t0 < 10000) drain_until(q, never, NULL, 20);
            CHECK(f->writable > writable, "no WRITABLE after %lld pending", (long long)pending);
        }
    }
    CHECK_RC(h3.fetch_write(f->handle, body, 1, 0), ZIG_H3_ERR_STATE); /* after fin */
    check_ok(q, f, "queued POST /echo (600 kB written)", N);
    CHECK(head_has(f, "x-echoed", "yes"), "queued POST: request header not seen by the server");
    printf("event queue: 600 kB request body, %d pauses, %d WRITABLE events\n", pauses, f->writable);
    free(body);
}

static void queue_trailers_errors(qclient *q) {
    qfetch *t = START(q, "GET\0/trailers\0", 0);
    check_ok(q, t, "queued GET /trailers", 1);
    CHECK(t->trailers == 1 && memcmp(t->trailer_block, "x-t\0v\0", 6) == 0, "FETCH_END trailers: %zu", t->trailers);

    qfetch *a = START(q, "GET\0/abort\0", 0);
    CHECK(drain_until(q, fetch_over, a, 10000), "GET /abort: no end");
    CHECK(a->errors == 1 && a->ends == 0 && a->err[0] && a->bytes < 5000,
          "GET /abort: END %d ERROR %d (%d: %s) after %zu of 5000 bytes", a->ends, a->errors, a->err_code, a->err,
          a->bytes);
    CHECK(a->app_code == 0x102, "GET /abort: app_code 0x%x, want H3_INTERNAL_ERROR (0x102)", a->app_code);
    printf("event queue: reset mid-body: FETCH_ERROR %d, app code 0x%x: %s\n", a->err_code, a->app_code, a->err);

    qfetch *h = START(q, "GET\0/hang\0", 0);
    drain_until(q, never, NULL, 200);
    CHECK_RC(h3.fetch_cancel(h->handle, 0), ZIG_H3_OK);
    drain_until(q, never, NULL, 300);
    CHECK(h->ends == 0 && h->errors == 0 && h->bytes == 0, "cancelled fetch: END %d ERROR %d", h->ends, h->errors);

    /* Malformed and refused starts. */
    CHECK_RC(h3.client_fetch_start(q->c, (const uint8_t *)"GET\0/x\0", 7, 0x80), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.client_fetch_start(q->c, (const uint8_t *)"GET\0/x", 6, 0), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.client_fetch_start(q->c, (const uint8_t *)"GET\0/x\0name-only\0", 17, 0), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.client_fetch_start(q->c, (const uint8_t *)"G T\0/x\0", 7, 0), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.client_fetch_start(q->c, (const uint8_t *)"GET\0/x\0", 7, ZIG_H3_FETCH_FLAG_DATAGRAMS),
             ZIG_H3_ERR_STATE); /* no enable_dgram */
    zig_h3_fetch_options o = {.method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    CHECK_RC(h3.client_fetch(q->c, &o, NULL, NULL, NULL), ZIG_H3_ERR_STATE); /* callback-mode function */
}

static void no_wt_cb(void *u, zig_h3_wt_session *s, const zig_h3_wt_event *e) { (void)u, (void)s, (void)e; }

/* HTTP/3 datagrams of a fetch, session datagrams, on a client with both. */
/* A bidirectional WebTransport stream of 300 kB echoed by the server. */
static void queue_wt_stream(qclient *q, zig_h3_wt_session *s) {
    enum { N = 300000, CHUNK = 32768 };
    int64_t st = h3.wt_open_stream(s, 1);
    CHECK(st > 0, "wt_open_stream on a client session: %lld %s", (long long)st, h3.last_error());
    if (st <= 0) return;
    q->stream = (uint64_t)st, q->stream_mismatch = -1;
    long long before = client_server_stream_bytes();
    uint8_t buf[CHUNK];
    int pauses = 0;
    for (size_t off = 0; off < N; off += CHUNK) {
        size_t n = N - off < CHUNK ? N - off : CHUNK;
        fill_pattern(buf, n, off);
        int w = q->stream_writable;
        int64_t pending = h3.wt_stream_write(q->stream, buf, n, off + n == N);
        CHECK(pending >= 0, "wt_stream_write at %zu: %lld %s", off, (long long)pending, h3.last_error());
        if (pending < 0) break;
        for (double t0 = now_ms(); pending >= ZIG_H3_RESPONSE_HIGH_WATER && q->stream_writable == w && now_ms() - t0 < 5000;)
            drain_until(q, never, NULL, 20);
        pauses += pending >= ZIG_H3_RESPONSE_HIGH_WATER;
    }
    for (double t0 = now_ms(); !q->stream_ends && now_ms() - t0 < 10000;) drain_until(q, never, NULL, 20);
    CHECK(q->stream_bytes == N && q->stream_mismatch < 0 && q->stream_ends == 1,
          "WebTransport stream echo: %zu of %d bytes (first wrong at %ld), %d ends; the server echoed %lld",
          q->stream_bytes, N, q->stream_mismatch, q->stream_ends, client_server_stream_bytes() - before);
    printf("event queue: WebTransport stream of %d bytes echoed, %d pauses\n", N, pauses);
}

/* Drains until the fetch has its head (or 5 s pass). */
static void wait_head(qclient *q, qfetch *f) {
    for (double t0 = now_ms(); !f->heads && !fetch_over(q, f) && now_ms() - t0 < 5000;) drain_until(q, never, NULL, 20);
}

/* Sends n datagrams on f's flow and waits for their echo; returns how many went out. */
static int echo_datagrams(qclient *q, qfetch *f, int n) {
    int sent = 0;
    for (int i = 0; i < n; i++) sent += h3.fetch_send_datagram(f->handle, (const uint8_t *)"queued", 6) == ZIG_H3_OK;
    for (double t0 = now_ms(); sent && f->dgrams < sent && now_ms() - t0 < 5000;) drain_until(q, never, NULL, 20);
    CHECK(f->dgrams == sent, "H3_DATAGRAM events: %d of %d", f->dgrams, sent);
    return sent;
}

static void queue_datagrams(int p) {
    qclient q;
    if (new_qclient(&q, p, 1, 1, NULL) != 0) return free_qclient(&q);
    /* content-length 0 and the request left open (FLAG_BODY, fin at the end):
     * the buffered route runs at once, the flow stays up. */
    qfetch *f = START(&q, "POST\0/dg\0content-length\0" "0\0", ZIG_H3_FETCH_FLAG_DATAGRAMS | ZIG_H3_FETCH_FLAG_BODY);
    wait_head(&q, f);
    CHECK(f->heads == 1 && f->status == 200, "POST /dg: HEAD %d status %u", f->heads, f->status);
    int max = h3.fetch_max_datagram_size(f->handle);
    CHECK(max > 1000, "fetch_max_datagram_size: %d", max);
    CHECK(echo_datagrams(&q, f, 10) == 10, "fetch_send_datagram: %s", h3.last_error());
    CHECK_RC(h3.fetch_send_datagram(f->handle, (const uint8_t *)"end", 3), ZIG_H3_OK);
    CHECK(h3.fetch_write(f->handle, NULL, 0, 1) >= 0, "fetch_write fin: %s", h3.last_error());
    check_ok(&q, f, "queued POST /dg", 4);

    /* Without FLAG_BODY the request ends with its head; its flow should still send. */
    qfetch *nb = START(&q, "POST\0/dg\0", ZIG_H3_FETCH_FLAG_DATAGRAMS);
    wait_head(&q, nb);
    int sent = echo_datagrams(&q, nb, 3);
    CHECK(sent == 3, "fetch_send_datagram on a fetch without a body: %d of 3 sent; last_error: %s", sent,
          h3.last_error());
    if (sent) CHECK_RC(h3.fetch_send_datagram(nb->handle, (const uint8_t *)"end", 3), ZIG_H3_OK);
    else CHECK_RC(h3.fetch_cancel(nb->handle, 0), ZIG_H3_OK);
    double t0;

    zig_h3_wt_session *s = h3.client_open_webtransport(q.c, "/wt", 3, NULL, NULL);
    CHECK(s != NULL, "open_webtransport in event-queue mode: %s", h3.last_error());
    for (t0 = now_ms(); s && !q.sessions_ready && now_ms() - t0 < 5000;) drain_until(&q, never, NULL, 20);
    CHECK(q.sessions_ready == 1, "no SESSION_READY");
    for (int i = 0; s && i < 10; i++) CHECK_RC(h3.wt_session_send_datagram(s, (const uint8_t *)"wt", 2), ZIG_H3_OK);
    for (t0 = now_ms(); s && q.session_dgrams < 10 && now_ms() - t0 < 5000;) drain_until(&q, never, NULL, 20);
    CHECK(q.session_dgrams == 10, "SESSION_DATAGRAM events: %d of 10", q.session_dgrams);
    if (s) queue_wt_stream(&q, s);
    if (s) CHECK_RC(h3.wt_session_close(s, 0, NULL, 0), ZIG_H3_OK);
    for (t0 = now_ms(); s && !q.sessions_closed && now_ms() - t0 < 5000;) drain_until(&q, never, NULL, 20);
    CHECK(q.sessions_closed == 1, "no SESSION_CLOSED");
    if (s) CHECK_RC(h3.wt_session_free(s), ZIG_H3_OK);
    CHECK(h3.client_open_webtransport(q.c, "/wt", 3, no_wt_cb, NULL) == NULL && h3.last_error()[0],
          "open_webtransport with a callback in event-queue mode");
    free_qclient(&q);
}

static void queue_raw(int p) {
    qclient q;
    if (new_qclient(&q, p, 1, 0, "{\"alpn\":[\"zig-h3-ctest\"]}") != 0) return free_qclient(&q);
    CHECK(drain_until(&q, is_connected, NULL, 5000) && q.connected == 1, "alpn client: no CLIENT_CONNECTED");
    for (int i = 0; i < 10; i++) CHECK_RC(h3.client_send_datagram(q.c, (const uint8_t *)"raw-dgm", 7), ZIG_H3_OK);
    for (double t0 = now_ms(); q.quic_dgrams < 10 && now_ms() - t0 < 5000;) drain_until(&q, never, NULL, 20);
    CHECK(q.quic_dgrams == 10, "QUIC_DATAGRAM events: %d of 10", q.quic_dgrams);
    CHECK_RC(h3.client_fetch_start(q.c, (const uint8_t *)"GET\0/\0", 6, 0), ZIG_H3_ERR_STATE);
    free_qclient(&q);
}

/* Connect to a UDP port that never answers: CLIENT_CLOSED, then CLOSED. */
static void queue_connect_fails(void) {
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(sock >= 0 && bind(sock, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(sock, (struct sockaddr *)&a, &al) == 0,
          "udp socket");
    qclient q;
    memset(&q, 0, sizeof q);
    zig_h3_client_config cfg = {.connect_timeout_ms = 400};
    q.c = h3.client_new(&cfg);
    q.fd = q.c ? h3.client_event_fd(q.c) : -1;
    q.buf = malloc(q.cap = 4096);
    CHECK_RC(h3.client_connect(q.c, "127.0.0.1", ntohs(a.sin_port), NULL), ZIG_H3_OK);
    qfetch *f = START(&q, "GET\0/\0", 0);
    CHECK(drain_until(&q, is_closed, NULL, 5000), "silent server: no CLIENT_CLOSED");
    CHECK(q.connected == 0 && (q.closed_code == ZIG_H3_ERR_TIMEOUT || q.closed_code == ZIG_H3_ERR_IO) && q.closed_msg[0],
          "silent server: CLIENT_CLOSED code %d (%s)", q.closed_code, q.closed_msg);
    drain_until(&q, fetch_over, f, 2000);
    CHECK(f->errors == 1, "the fetch waiting for the connection: %d FETCH_ERROR", f->errors);
    CHECK_RC(h3.client_fetch_start(q.c, (const uint8_t *)"GET\0/\0", 6, 0), ZIG_H3_ERR_CLOSED);
    printf("event queue, silent server: CLIENT_CLOSED %d: %s\n", q.closed_code, q.closed_msg);
    free_qclient(&q);
    if (sock >= 0) close(sock);
}

void check_client_queue(void) {
    double t0 = now_ms();
    int p;
    zig_h3_server *s = client_server_start(&p);
    if (!s) return;
    qclient q;
    if (new_qclient(&q, p, 0, 0, NULL) == 0) {
        queue_get(&q);
        queue_post(&q);
        queue_trailers_errors(&q);
    }
    free_qclient(&q);
    queue_datagrams(p);
    queue_raw(p);
    queue_connect_fails();
    client_server_stop(s);
    printf("client, event-queue mode: %.0f ms\n", now_ms() - t0);
}
