/*
 * client_misuse_test.c - misuse of the client half of the ABI from C: freed
 * client and session handles; NULL buffers with lengths and lengths over
 * ZIG_H3_MAX_LENGTH; the wrong mode (callback functions in event-queue mode
 * and back); the wrong state (fetch before connect, connect twice, write
 * after fin, set_options after connect, a failed connect); bad JSON, PEM and
 * hashes; malformed request heads and unknown flags; two threads freeing
 * one client. Each call must return the code zig_h3.h documents (and leave
 * a zig_h3_last_error message); nothing crashes. Runs after
 * client_handles_test.c; at the end, every function of functions.gen.h
 * outside the server half must have been called by the two (client_calls.h).
 */
#include "client_calls.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t blob[] = "0123456789abcdef";
static void wt_cb(void *u, zig_h3_wt_session *s, const zig_h3_wt_event *e) { (void)u, (void)s, (void)e; }
static void dgram_cb(void *u, uint64_t f, const uint8_t *d, size_t n) { (void)u, (void)f, (void)d, (void)n; }

/* ---- A client before connect, and a failed connect ----------------------------------- */

static void check_set_options(zig_h3_client *c) {
    static const char *bad_specs[] = {
        "{", "[]", "nope", "{\"ca\":5}", "{\"ca\":\"not a PEM\"}",
        "{\"ca\":\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"}",
        "{\"serverCertificateHashes\":\"00\"}", "{\"serverCertificateHashes\":[\"zz\"]}",
        "{\"serverCertificateHashes\":[\"0123\"]}",
        "{\"serverCertificateHashes\":[\"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\"]}",
        "{\"alpn\":\"h3\"}", "{\"alpn\":[5]}", "{\"alpn\":[\"\"]}"};
    for (size_t i = 0; i < sizeof bad_specs / sizeof *bad_specs; i++)
        IS(INV, client_set_options, c, bad_specs[i], strlen(bad_specs[i]));
    IS(INV, client_set_options, c, NULL, 2);
    IS(INV, client_set_options, c, NULL, 0);
    IS(INV, client_set_options, c, "{}", 0);
    IS(INV, client_set_options, c, "{}", HUGE_LEN);
    IS(INV, client_set_options, c, "{}", SIZE_MAX);
    IS(OK, client_set_options, c, "{}", 2);
}

/* Every function of a client that is not connected. */
static void check_unconnected(void) {
    zig_h3_client *c = CALL(client_new, NULL);
    CHECK(c != NULL, "client_new(NULL): %s", h3.last_error());
    if (!c) return;
    check_set_options(c);
    uint8_t buf[64];
    zig_h3_fetch_options o = {.method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    IS(INV, client_connect, c, NULL, 443, NULL);
    IS(INV, client_connect, c, "127.0.0.1", 0, NULL);
    IS(STATE, client_close, c, 0x100, NULL, 0);
    IS(STATE, client_fetch, c, &o, NULL, NULL, NULL);
    IS2(INV, STATE, client_fetch, c, NULL, NULL, NULL, NULL);
    IS(STATE, client_fetch_simple, c, "GET", "/", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
    IS(STATE, client_write_body, c, 0, blob, 1, 0);
    IS(STATE, client_cancel_fetch, c, 0, 0);
    IS(STATE, client_send_h3_datagram, c, 0, blob, 1);
    IS(STATE, client_send_datagram, c, blob, 1);
    IS(0, client_max_datagram_size, c);
    IS(OK, client_run_once, c);
    IS(0, client_poll, c);
    IS_NULL(client_open_webtransport, c, "/wt", 3, wt_cb, NULL);
    IS(STATE, client_drain, c, buf, sizeof buf); /* callback mode: no queue */
    IS(STATE, client_event_size, c);
    IS(STATE, client_fetch_start, c, (const uint8_t *)"GET\0/\0", 6, 0);
    IS(OK, client_set_datagram_callback, c, dgram_cb, NULL);
    IS(OK, client_set_datagram_callback, c, NULL, NULL);

    /* A UDP port that never answers: TIMEOUT after connect_timeout_ms. */
    zig_h3_client_config cfg = {.connect_timeout_ms = 300};
    zig_h3_client *t = CALL(client_new, &cfg);
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (t && sock >= 0 && bind(sock, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(sock, (struct sockaddr *)&a, &al) == 0) {
        double t0 = now_ms();
        IS2(ZIG_H3_ERR_TIMEOUT, ZIG_H3_ERR_IO, client_connect, t, "127.0.0.1", ntohs(a.sin_port), NULL);
        printf("connect to a silent port: %.0f ms: %s\n", now_ms() - t0, h3.last_error());
        IS(STATE, client_connect, t, "127.0.0.1", ntohs(a.sin_port), NULL); /* one connection per client */
        IS(STATE, client_set_options, t, "{}", 2);
        IS2(STATE, ZIG_H3_ERR_CLOSED, client_fetch, t, &o, NULL, NULL, NULL);
        IS(OK, client_free, t);
    } else {
        CHECK(0, "client_new or udp socket for the silent port");
    }
    if (sock >= 0) close(sock);
    IS(OK, client_free, c);
    check_bad_client(c, "freed client");
}

/* ---- A connected client, callback mode ---------------------------------------------- */

static void check_fetch_options(zig_h3_client *c) {
    zig_h3_header bad_name = {"bad name", 8, "v", 1}, crlf = {"x-a", 3, "a\r\nb", 4}, pseudo = {":path", 5, "/", 1},
                  null_name = {NULL, 3, "v", 1};
    struct { const char *what; zig_h3_fetch_options o; } cases[] = {
        {"method G T", {.method = "G T", .method_len = 3}},
        {"method CONNECT", {.method = "CONNECT", .method_len = 7}},
        {"NULL method with a length", {.method = NULL, .method_len = 3}},
        {"huge method_len", {.method = "GET", .method_len = HUGE_LEN}},
        {"path without /", {.path = "no-slash", .path_len = 8}},
        {"path with a space", {.path = "/a b", .path_len = 4}},
        {"NULL path with a length", {.path = NULL, .path_len = 5}},
        {"huge path_len", {.path = "/", .path_len = HUGE_LEN}},
        {"header name with a space", {.headers = &bad_name, .headers_len = 1}},
        {"header value with CRLF", {.headers = &crlf, .headers_len = 1}},
        {"pseudo-header", {.headers = &pseudo, .headers_len = 1}},
        {"NULL header name", {.headers = &null_name, .headers_len = 1}},
        {"NULL headers with a length", {.headers = NULL, .headers_len = 2}},
        {"huge headers_len", {.headers = &crlf, .headers_len = HUGE_LEN}},
        {"NULL body with a length", {.body = NULL, .body_len = 5}},
        {"huge body_len", {.body = blob, .body_len = HUGE_LEN}},
        {"unknown stream_body bit", {.stream_body = 8}},
        {"stream_body 0xff", {.stream_body = 0xff}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t sid = 77;
        int rc = CALL(client_fetch, c, &cases[i].o, &sid, on_fetch_done, NULL);
        CHECK(rc == INV && sid == 77 && h3.last_error()[0], "fetch with %s: %d (%s), want INVALID_ARG", cases[i].what, rc,
              h3.last_error());
    }
    IS(INV, client_fetch, c, NULL, NULL, NULL, NULL);
    IS(INV, client_fetch_simple, c, "GET", "/", 1, 8, 0, NULL, NULL, NULL, NULL, NULL);
    IS(INV, client_fetch_simple, c, "G T", "/", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
    IS(INV, client_fetch_simple, c, "GET", "no-slash", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
}

static void check_connected(int p) {
    zig_h3_client *c = connect_client("client misuse", p, 0, 0);
    if (!c) return;
    IS(STATE, client_connect, c, "127.0.0.1", (uint16_t)p, NULL);
    IS(STATE, client_set_options, c, "{}", 2);
    IS(STATE, client_event_fd, c); /* connected in callback mode */
    check_fetch_options(c);

    /* A fetch whose body is not streamed, hanging on the server. */
    fetch_rec *hang = fetch_rec_new();
    uint64_t sid = UINT64_MAX;
    IS(OK, client_fetch_simple, c, "GET", "/hang", 0, 0, 0, on_fetch_event, hang, on_fetch_done, hang, &sid);
    IS(STATE, client_write_body, c, sid, blob, 1, 0);
    IS(STATE, client_send_h3_datagram, c, sid, blob, 1); /* no enable_dgram */
    IS(STATE, client_send_datagram, c, blob, 1);
    IS(STATE, client_cancel_fetch, c, sid + 4000, 0); /* unknown stream */
    IS(OK, client_cancel_fetch, c, sid, 0);
    CHECK(fetch_wait(hang, 1, 5000) && hang->finish_status == 0 && hang->cb_status == 0,
          "cancelled fetch: FINISHED %d status %u", hang->finished, hang->finish_status);
    IS(STATE, client_cancel_fetch, c, sid, 0);
    IS_NULL(client_open_webtransport, c, "/wt", 3, wt_cb, NULL); /* no enable_webtransport */

    /* A streamed request body: bad writes, then write after fin. */
    fetch_rec *up = fetch_rec_new();
    zig_h3_fetch_options o = {.method = "POST", .method_len = 4, .path = "/echo", .path_len = 5, .collect_body = 1,
                              .stream_body = ZIG_H3_FETCH_REQUEST_BODY_STREAMED, .event_cb = on_fetch_event,
                              .event_user = up};
    IS(OK, client_fetch, c, &o, &sid, on_fetch_done, up);
    IS(INV, client_write_body, c, sid, NULL, 5, 0);
    IS(INV, client_write_body, c, sid, blob, HUGE_LEN, 0);
    IS(INV, client_write_body, c, sid, blob, SIZE_MAX, 1);
    IS(STATE, client_write_body, c, sid + 4000, blob, 1, 0);
    CHECK(CALL(client_write_body, c, sid, blob, 4, 1) >= 0, "write_body with fin: %s", h3.last_error());
    IS(STATE, client_write_body, c, sid, blob, 1, 0);
    IS(STATE, client_write_body, c, sid, NULL, 0, 1);
    CHECK(fetch_wait(up, 1, 5000) && up->cb_status == 200 && up->body_len == 4, "streamed POST: status %u, %zu bytes",
          up->cb_status, up->body_len);

    uint8_t long_reason[ZIG_H3_WT_CLOSE_REASON_MAX + 1];
    memset(long_reason, 'r', sizeof long_reason);
    IS(INV, client_close, c, 0x100, NULL, 5);
    IS(INV, client_close, c, 0x100, long_reason, sizeof long_reason);
    IS(INV, client_close, c, 0x100, long_reason, HUGE_LEN);
    IS(OK, client_close, c, 0x100, long_reason, ZIG_H3_WT_CLOSE_REASON_MAX);
    IS2(ZIG_H3_ERR_CLOSED, STATE, client_fetch_simple, c, "GET", "/", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
    IS2(ZIG_H3_ERR_CLOSED, STATE, client_close, c, 0x100, NULL, 0);
    IS(OK, client_run_once, c);
    IS(0, client_poll, c);
    IS(OK, client_free, c);
    check_bad_client(c, "freed connected client");
    fetch_rec_free(hang), fetch_rec_free(up);
}

/* Datagrams and sessions with bad arguments, on a client with both. */
static void check_session_args(int p) {
    zig_h3_client *c = connect_client("client misuse, datagrams", p, 1, 1);
    if (!c) return;
    IS(INV, client_send_datagram, c, NULL, 5);
    IS(INV, client_send_datagram, c, blob, HUGE_LEN);
    IS2(INV, STATE, client_send_h3_datagram, c, 0, NULL, 5); /* stream 0 is unknown: either check may come first */
    IS2(INV, STATE, client_send_h3_datagram, c, 0, blob, HUGE_LEN);
    IS_NULL(client_open_webtransport, c, NULL, 3, wt_cb, NULL);
    IS_NULL(client_open_webtransport, c, "/wt", HUGE_LEN, wt_cb, NULL);
    IS_NULL(client_open_webtransport, c, "", 0, wt_cb, NULL);
    IS_NULL(client_open_webtransport, c, "wt", 2, wt_cb, NULL);
    zig_h3_wt_session *s = CALL(client_open_webtransport, c, "/wt", 3, NULL, NULL); /* cb may be NULL */
    CHECK(s != NULL, "open_webtransport without a callback: %s", h3.last_error());
    if (s) {
        CHECK(WAIT_FOR(h3.wt_session_is_established(s) == 1, 5000), "session not established");
        uint8_t long_reason[ZIG_H3_WT_CLOSE_REASON_MAX + 1] = {0};
        IS(INV, wt_session_close, s, 0, NULL, 5);
        IS(INV, wt_session_close, s, 0, long_reason, sizeof long_reason);
        IS(INV, wt_session_send_datagram, s, NULL, 5);
        IS(INV, wt_session_send_datagram, s, blob, HUGE_LEN);
        IS(INV, wt_session_receive_datagram, s, NULL);
        IS(INV, wt_session_free_datagram, s, blob, 1); /* never handed out */
        IS(INV, wt_session_free_datagram, s, NULL, 0);
        IS(OK, wt_session_send_datagram, s, blob, 3);
        zig_h3_bytes b = {0};
        int got = 0; /* not WAIT_FOR: it evaluates its condition once more at the end */
        for (double t0 = now_ms(); !got && now_ms() - t0 < 3000; sleep_ms(5)) got = h3.wt_session_receive_datagram(s, &b) == 1;
        CHECK(got, "no echoed datagram to receive");
        if (b.ptr) {
            IS(INV, wt_session_free_datagram, s, b.ptr, b.len + 1); /* wrong length */
            IS(OK, wt_session_free_datagram, s, b.ptr, b.len);
            IS(INV, wt_session_free_datagram, s, b.ptr, b.len);
        }
        IS(1, wt_session_is_established, s);
        IS(OK, wt_session_free, s); /* closes it */
        check_bad_session(s, "freed session");
    }
    IS(OK, client_free, c);
}

/* ---- Event-queue mode ------------------------------------------------------------------ */

static void check_queue_mode(int p) {
    zig_h3_client_config cfg = {.connect_timeout_ms = 5000};
    zig_h3_client *c = CALL(client_new, &cfg);
    if (!c) return;
    uint8_t *buf = malloc(4096);
    int fd = CALL(client_event_fd, c);
    CHECK(fd >= 0, "event_fd: %d", fd);
    IS(fd, client_event_fd, c);
    IS(0, client_drain, c, buf, 4096);
    IS(0, client_event_size, c);
    IS(INV, client_drain, c, NULL, 64);
    IS(INV, client_drain, c, buf, 0);
    IS(INV, client_drain, c, buf, HUGE_LEN);
    IS(INV, client_drain, c, buf, SIZE_MAX);
    /* A drain finds only its own kind's queues (eventstore.c serves both). */
    CHECK_RC(h3.server_drain((zig_h3_server *)c, buf, 4096), ZIG_H3_ERR_BAD_HANDLE);
    zig_h3_server *qs = new_local_server("queue-kind", 0, 0);
    if (qs) {
        CHECK(h3.server_event_fd(qs) >= 0, "server_event_fd: %s", h3.last_error());
        IS(BAD, client_drain, (zig_h3_client *)qs, buf, 4096);
        h3.server_free(qs);
    }
    zig_h3_fetch_options o = {.method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    IS(STATE, client_fetch, c, &o, NULL, NULL, NULL);
    IS(STATE, client_fetch_simple, c, "GET", "/", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
    struct { const char *what; const char *head; size_t len; uint32_t flags; } bad[] = {
        {"NULL with a length", NULL, 6, 0},
        {"empty", "", 0, 0},
        {"huge length", "GET\0/\0", HUGE_LEN, 0},
        {"no final NUL", "GET\0/", 5, 0},
        {"method only", "GET\0", 4, 0},
        {"CONNECT (sessions have their own function)", "CONNECT\0/\0", 10, 0},
        {"a connection-specific header", "GET\0/\0connection\0close\0", 23, 0},
        {"bad method", "G T\0/\0", 6, 0},
        {"path without /", "GET\0x\0", 6, 0},
        {"a header name without value", "GET\0/\0x-a\0", 10, 0},
        {"bad header name", "GET\0/\0bad name\0v\0", 17, 0},
        {"header value with CRLF", "GET\0/\0x-a\0a\r\nb\0", 15, 0},
        {"pseudo-header", "GET\0/\0:path\0/\0", 14, 0},
        {"unknown flag 4", "GET\0/\0", 6, 4},
        {"unknown flag 1<<31", "GET\0/\0", 6, 1u << 31},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t rc = CALL(client_fetch_start, c, (const uint8_t *)bad[i].head, bad[i].len, bad[i].flags);
        CHECK(rc == INV && h3.last_error()[0], "fetch_start, %s: %lld (%s)", bad[i].what, (long long)rc, h3.last_error());
    }
    IS(STATE, client_fetch_start, c, (const uint8_t *)"GET\0/\0", 6, ZIG_H3_FETCH_FLAG_DATAGRAMS); /* no enable_dgram */
    IS(OK, client_connect, c, "127.0.0.1", (uint16_t)p, NULL); /* returns at once */
    IS(STATE, client_connect, c, "127.0.0.1", (uint16_t)p, NULL);
    IS(STATE, client_set_options, c, "{}", 2);
    IS(fd, client_event_fd, c);
    IS_NULL(client_open_webtransport, c, "/wt", 3, wt_cb, NULL); /* a callback in event-queue mode */
    CHECK(WAIT_FOR(h3.client_event_size(c) > 0, 5000), "no event after connect");
    int64_t size = CALL(client_event_size, c);
    CHECK(size >= 16 && size % 8 == 0, "event_size %lld", (long long)size);
    IS(ZIG_H3_ERR_BUFFER_TOO_SMALL, client_drain, c, buf, 8);
    CHECK(CALL(client_poll, c) >= 1, "poll with an event waiting: %d", h3.client_poll(c));

    int64_t get = CALL(client_fetch_start, c, (const uint8_t *)"GET\0/hang\0", 10, 0);
    CHECK(get > 0, "fetch_start: %lld %s", (long long)get, h3.last_error());
    IS(STATE, fetch_write, (uint64_t)get, blob, 1, 0); /* no FLAG_BODY */
    IS(INV, fetch_ack, (uint64_t)get, HUGE_LEN);
    IS(INV, fetch_ack, (uint64_t)get, SIZE_MAX);
    IS(STATE, fetch_send_datagram, (uint64_t)get, blob, 1); /* no FLAG_DATAGRAMS */
    IS(0, fetch_max_datagram_size, (uint64_t)get);
    IS(OK, fetch_cancel, (uint64_t)get, 0);
    IS2(OK, BAD, fetch_cancel, (uint64_t)get, 0);

    int64_t post = CALL(client_fetch_start, c, (const uint8_t *)"POST\0/echo\0", 11, ZIG_H3_FETCH_FLAG_BODY);
    CHECK(post > 0, "fetch_start POST: %lld %s", (long long)post, h3.last_error());
    IS(INV, fetch_write, (uint64_t)post, NULL, 5, 0);
    IS(INV, fetch_write, (uint64_t)post, blob, HUGE_LEN, 0);
    IS(INV, fetch_write, (uint64_t)post, blob, SIZE_MAX, 1);
    CHECK(CALL(fetch_write, (uint64_t)post, blob, 4, 1) >= 0, "fetch_write with fin: %s", h3.last_error());
    IS(STATE, fetch_write, (uint64_t)post, blob, 1, 0);
    IS(STATE, fetch_write, (uint64_t)post, NULL, 0, 1);
    IS(OK, client_free, c); /* with events queued and fetches open */
    check_bad_client(c, "freed event-queue client");
    free(buf);
}

/* ---- Two threads free one client ----------------------------------------------------- */

static struct { zig_h3_client *c; int go, ok, bad, other; } race;

static void *free_racer(void *arg) {
    (void)arg;
    while (!LOAD(race.go)) { /* spin */ }
    int rc = h3.client_free(race.c);
    INC(*(rc == OK ? &race.ok : rc == BAD ? &race.bad : &race.other));
    return NULL;
}

static void check_free_race(int p) {
    int wrong = 0, rounds = 0;
    for (; rounds < 20; rounds++) {
        race.c = rounds % 2 ? connect_client("free race", p, 0, 0) : h3.client_new(NULL);
        if (!race.c) break;
        STORE(race.go, 0), STORE(race.ok, 0), STORE(race.bad, 0), STORE(race.other, 0);
        pthread_t t[2];
        int n = 0;
        for (; n < 2 && pthread_create(&t[n], NULL, free_racer, NULL) == 0; n++) {}
        STORE(race.go, 1);
        for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
        wrong += n != 2 || LOAD(race.ok) != 1 || LOAD(race.bad) != 1 || LOAD(race.other) != 0;
    }
    CHECK(wrong == 0, "two threads freeing one client: wrong in %d of %d rounds", wrong, rounds);
}

void check_client_misuse(void) {
    double t0 = now_ms();
    check_unconnected();
    int p;
    zig_h3_server *s = client_server_start(&p);
    if (s) {
        check_connected(p);
        check_session_args(p);
        check_queue_mode(p);
        check_free_race(p);
        client_server_stop(s);
    }
    check_client_coverage();
    printf("client misuse: %.0f ms\n", now_ms() - t0);
}
