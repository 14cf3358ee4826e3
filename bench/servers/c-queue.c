/*
 * c-queue.c - benchmark server (f): this library in event-queue mode, with
 * a C consumer on one thread: the architecture Bun uses (requests become
 * events; one thread waits on the event fd, drains the queue in batches
 * and answers each request with zig_h3_response_respond), without Bun.
 * Between (b) and (f) lies the cost of the queue and its hand-offs between
 * threads; between (f) and (a), the cost of running the handler in Bun.
 *
 * Routes: GET /small, POST /echo-small, CONNECT /wt (WebTransport: datagram
 * and bidirectional stream echo, as in the other servers).
 *
 *   cc -O2 -o build/bench/c-queue bench/servers/c-queue.c -ldl -lpthread
 *   BENCH_CERT=... BENCH_KEY=... build/bench/c-queue build/libzigh3.so
 *
 * Prints the UDP port on stdout when ready; stops on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define PROG "c-queue"
#define FUNCS(X)                                                                              \
    X(last_error) X(server_new) X(server_start) X(server_stop) X(server_free) X(server_port)    \
    X(server_event_fd) X(server_drain) X(server_event_size) X(server_set_event_routes)        \
    X(response_respond) X(wt_accept) X(wt_send_datagram) X(wt_stream_write) X(wt_stream_ack)     \
    X(wt_stream_reset)
#include "c-bench.h"

enum { TAG_SMALL = 1, TAG_ECHO = 2, TAG_WT = 3 };
static const char routes[] = "{\"routes\":["
                             "{\"method\":\"GET\",\"pattern\":\"/small\",\"tag\":1},"
                             "{\"method\":\"POST\",\"pattern\":\"/echo-small\",\"tag\":2},"
                             "{\"method\":\"CONNECT\",\"pattern\":\"/wt\",\"tag\":3,\"webtransport\":true}]}";

/* Answers a request. */
static void handle_request(const zig_h3_event_request *r) {
    zig_h3_response *resp = (zig_h3_response *)(uintptr_t)r->handle;
    if (r->tag == TAG_SMALL)
        h3.response_respond(resp, 200, (const uint8_t *)plain, sizeof plain - 1, (const uint8_t *)"hello", 5, 1);
    else if (r->tag == TAG_ECHO)
        h3.response_respond(resp, 200, (const uint8_t *)octets, sizeof octets - 1, r->data + r->head_len, r->body_len, 1);
}

/* Stream data written back while the stream's pending bytes were at
 * ZIG_H3_RESPONSE_HIGH_WATER or more, acknowledged on its WRITABLE event:
 * a peer that stops reading the echo stops getting credit to send more. */
enum { MAX_DEFERRED = 64 };
static struct { uint64_t stream; size_t n; } deferred[MAX_DEFERRED];
static int n_deferred;

/* Acknowledges n bytes of stream now, or on its WRITABLE event when the echo
 * is at the high-water mark (at once if the table is full). */
static void ack_after(uint64_t stream, size_t n, int64_t pending) {
    if (pending >= ZIG_H3_RESPONSE_HIGH_WATER) {
        for (int i = 0; i < n_deferred; i++)
            if (deferred[i].stream == stream) {
                deferred[i].n += n;
                return;
            }
        if (n_deferred < MAX_DEFERRED) {
            deferred[n_deferred].stream = stream;
            deferred[n_deferred++].n = n;
            return;
        }
    }
    h3.wt_stream_ack(stream, n);
}

/* Acknowledges what was deferred for stream (a WRITABLE event). */
static void ack_deferred(uint64_t stream) {
    for (int i = 0; i < n_deferred; i++)
        if (deferred[i].stream == stream) {
            h3.wt_stream_ack(stream, deferred[i].n);
            deferred[i] = deferred[--n_deferred];
            return;
        }
}

/* Echoes a WebTransport session's datagrams and the data of its
 * bidirectional streams: each chunk is written back as it arrives and
 * acknowledged once written (see ack_after); a FIN gets a FIN, a reset a
 * reset. */
static void handle_webtransport(const zig_h3_event_header *e) {
    const zig_h3_event_bytes *b = (const void *)e;
    switch (e->type) {
    case ZIG_H3_EVENT_SESSION:
        h3.wt_accept((zig_h3_wt_session *)(uintptr_t)((const zig_h3_event_request *)(const void *)e)->handle);
        break;
    case ZIG_H3_EVENT_SESSION_DATAGRAM:
        h3.wt_send_datagram((zig_h3_wt_session *)(uintptr_t)b->handle, b->data, b->length);
        break;
    case ZIG_H3_EVENT_STREAM_DATA:
        ack_after(b->handle, b->length, h3.wt_stream_write(b->handle, b->data, b->length, 0));
        break;
    case ZIG_H3_EVENT_WRITABLE:
        ack_deferred(((const zig_h3_event_handle *)(const void *)e)->handle);
        break;
    case ZIG_H3_EVENT_STREAM_END: {
        const zig_h3_event_stream_end *end = (const void *)e;
        ack_deferred(end->stream);
        if (end->reset)
            h3.wt_stream_reset(end->stream, end->code);
        else
            h3.wt_stream_write(end->stream, NULL, 0, 1);
        break;
    }
    }
}

/* Handles one event, read through the structs of zig_h3.h ("Event-queue
 * mode"); log lines, aborts and the rest need nothing here. */
static void handle_event(const zig_h3_event_header *e) {
    if (e->type == ZIG_H3_EVENT_REQUEST)
        handle_request((const void *)e);
    else
        handle_webtransport(e);
}

/* Waits on the event fd and drains the queue until the stop pipe is readable. */
static void serve(zig_h3_server *s, int stop_fd) {
    int fd = h3.server_event_fd(s);
    if (fd < 0) die("server_event_fd");
    size_t cap = 64 * 1024;
    uint8_t *buf = malloc(cap);
    if (!buf) die_errno("malloc");
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die_errno("poll");
        }
        if (p[1].revents) break;
        uint64_t v;
        if (read(fd, &v, sizeof v) < 0) { /* non-blocking: EAGAIN is fine */ }
        for (int64_t n; (n = h3.server_drain(s, buf, cap)) != 0;) {
            if (n == ZIG_H3_ERR_BUFFER_TOO_SMALL) {
                int64_t need = h3.server_event_size(s);
                if (need < 0) die("server_event_size");
                if (need > 0 && !(buf = realloc(buf, cap = (size_t)need))) die_errno("realloc");
                continue;
            }
            if (n < 0) die("server_drain");
            /* malloc's buffer is 8-byte aligned, and so is every event in it. */
            const zig_h3_event_header *e;
            for (int64_t off = 0; off + 8 <= n && (e = (const void *)(buf + off))->length >= 8; off += e->length)
                handle_event(e);
        }
    }
    free(buf);
}

static int stop_pipe[2];

static void *wait_for_signal(void *arg) {
    sigset_t *set = arg;
    int sig;
    while (sigwait(set, &sig) != 0) {}
    if (write(stop_pipe[1], "x", 1) < 0) _exit(1);
    return NULL;
}

int main(int argc, char **argv) {
    static sigset_t set;
    bench_load(argc, argv, &set);
    zig_h3_server *s = bench_server();
    if (h3.server_set_event_routes(s, routes, sizeof routes - 1)) die("set_event_routes");
    if (h3.server_start(s)) die("start");
    if (pipe(stop_pipe)) die_errno("pipe");
    pthread_t waiter;
    if ((errno = pthread_create(&waiter, NULL, wait_for_signal, &set))) die_errno("pthread_create");
    bench_ready(s);
    serve(s, stop_pipe[0]);
    h3.server_stop(s, 1);
    h3.server_free(s);
    return 0;
}
