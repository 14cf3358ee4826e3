/*
 * client_handles_test.c - the client functions that need no connection, and
 * handles: the helpers (zig_h3_fetch_event_size, _wt_event_size,
 * _header_size: 56, 56, 32; the copy functions with NULLs and bad indexes),
 * every client function on NULL, random, unissued and foreign (a live
 * server's) handles, fetch and session functions likewise; then many threads
 * calling client functions at once on live, freed and random handles while
 * clients are made, connected, used and freed under them. Also the record
 * of which functions the client parts called (client_calls.h).
 */
#include "client_calls.h"

static const uint8_t blob[] = "0123456789abcdef";
static void wt_cb(void *u, zig_h3_wt_session *s, const zig_h3_wt_event *e) { (void)u, (void)s, (void)e; }
static void dgram_cb(void *u, uint64_t f, const uint8_t *d, size_t n) { (void)u, (void)f, (void)d, (void)n; }

/* ---- Which functions the client parts called ---------------------------------------- */

#define NAME(f) #f,
static const char *all_names[] = {ZIG_H3_FUNCTIONS(NAME)};
#define NFUNCS ((int)(sizeof all_names / sizeof all_names[0]))
static int called[NFUNCS];

/* The server half, tested by the other parts (abi_test.c, misuse_test.c...). */
static const char *server_half[] = {
    "version", "strerror", "last_error", "server_new", "server_free", "server_start", "server_stop",
    "server_stop_async", "server_port", "server_certificate_hash", "server_set_options", "server_route",
    "server_route_streaming", "server_response_for_stream", "server_set_stream_close_cb",
    "server_set_connection_close_cb", "server_set_quic_datagram_cb", "server_queue_quic_datagrams",
    "server_send_quic_datagram", "server_max_datagram_size", "server_set_log", "server_stats", "server_counters",
    "response_set_timeout", "response_status", "response_header", "response_write", "response_end",
    "response_send_h3_datagram", "response_max_datagram_size", "response_send_trailers", "response_defer_end",
    "response_set_auto_end", "response_should_auto_end", "response_process_partial", "response_send",
    "response_send_file", "response_ack_body", "response_discard_body", "response_abort", "wt_accept", "wt_reject",
    "wt_close", "wt_send_datagram", "wt_max_datagram_size", "wt_release", "wt_open_stream", "wt_stream_write",
    "wt_stream_ack", "wt_stream_reset", "wt_stream_stop_reading", "server_event_fd", "server_drain",
    "server_event_size", "server_set_event_routes", "response_respond"};

void client_mark(const char *name) {
    for (int i = 0; i < NFUNCS; i++)
        if (strcmp(all_names[i], name) == 0) STORE(called[i], 1);
}

void check_client_coverage(void) {
    int missing = 0;
    char list[1024] = "";
    for (int i = 0; i < NFUNCS; i++) {
        int server = 0;
        for (size_t j = 0; j < sizeof server_half / sizeof server_half[0]; j++) server |= !strcmp(server_half[j], all_names[i]);
        if (!server && !LOAD(called[i])) missing++, add_note(list, sizeof list, " %s", all_names[i]);
    }
    CHECK(missing == 0, "client misuse never called %d functions of functions.gen.h:%s", missing, list);
}


/* ---- Helpers ---------------------------------------------------------------------------- */

static void check_helpers(void) {
    CHECK(CALL(fetch_event_size) == 56, "fetch_event_size %zu", h3.fetch_event_size());
    CHECK(CALL(wt_event_size) == 56, "wt_event_size %zu", h3.wt_event_size());
    CHECK(CALL(header_size) == 32, "header_size %zu", h3.header_size());
    zig_h3_fetch_event fe = {ZIG_H3_FETCH_EVENT_DATA, 200, 0, NULL, 0, blob, 4, 7, 28}, fd;
    memset(&fd, 0xee, sizeof fd);
    IS(INV, fetch_event_copy, NULL, &fd);
    IS(INV, fetch_event_copy, &fe, NULL);
    IS(OK, fetch_event_copy, &fe, &fd);
    CHECK(memcmp(&fe, &fd, sizeof fe) == 0, "fetch_event_copy: copy differs");
    zig_h3_wt_event we = {ZIG_H3_WT_EVENT_CLOSED, 0, 42, 1, 8, blob, 3, NULL, 0}, wd;
    IS(INV, wt_event_copy, NULL, &wd);
    IS(INV, wt_event_copy, &we, NULL);
    IS(OK, wt_event_copy, &we, &wd);
    CHECK(memcmp(&we, &wd, sizeof we) == 0, "wt_event_copy: copy differs");
    zig_h3_header hs[3] = {{"a", 1, "1", 1}, {"bb", 2, "22", 2}, {"ccc", 3, "333", 3}}, hd[5];
    IS(INV, header_copy, NULL, hd);
    IS(INV, header_copy, hs, NULL);
    IS(OK, header_copy, &hs[2], hd);
    CHECK(memcmp(&hs[2], hd, sizeof *hd) == 0, "header_copy: copy differs");
    IS(OK, header_copy_at, hs, 3, 1, hd);
    CHECK(memcmp(&hs[1], hd, sizeof *hd) == 0, "header_copy_at: copy differs");
    IS(INV, header_copy_at, hs, 3, 3, hd);
    IS(INV, header_copy_at, hs, 0, 0, hd);
    IS(INV, header_copy_at, hs, 3, SIZE_MAX, hd);
    IS(INV, header_copy_at, NULL, 3, 0, hd);
    IS(INV, header_copy_at, hs, 3, 0, NULL);
    IS(2, headers_copy, hs, 3, hd, 2);
    IS(3, headers_copy, hs, 3, hd, 5);
    CHECK(memcmp(hs, hd, sizeof hs) == 0, "headers_copy: copies differ");
    IS(0, headers_copy, NULL, 0, NULL, 0);
    IS(0, headers_copy, hs, 3, hd, 0);
    IS(INV, headers_copy, NULL, 3, hd, 3);
    IS(INV, headers_copy, hs, 3, NULL, 3);
    uint8_t out[16] = {0};
    IS(OK, copy_bytes, blob, 5, out);
    CHECK(memcmp(out, blob, 5) == 0 && out[5] == 0, "copy_bytes: wrong copy");
    IS(OK, copy_bytes, NULL, 0, NULL);
    IS(OK, copy_bytes, blob, 0, NULL);
    IS(INV, copy_bytes, NULL, 5, out);
    IS(INV, copy_bytes, blob, 5, NULL);
    IS(INV, copy_bytes, blob, HUGE_LEN, out);
    IS(INV, copy_bytes, blob, SIZE_MAX, out);
}

/* ---- Bad handles ----------------------------------------------------------------------- */

void check_bad_client(zig_h3_client *c, const char *what) {
    printf("bad client handle: %s\n", what);
    uint8_t buf[64];
    zig_h3_fetch_options o = {.method = "GET", .method_len = 3, .path = "/", .path_len = 1};
    uint64_t sid = 77;
    IS(BAD, client_set_options, c, "{}", 2);
    IS(BAD, client_connect, c, "127.0.0.1", 443, NULL);
    IS(BAD, client_close, c, 0x100, NULL, 0);
    IS(BAD, client_set_datagram_callback, c, dgram_cb, NULL);
    IS(BAD, client_set_datagram_callback, c, NULL, NULL);
    IS(BAD, client_fetch, c, &o, &sid, NULL, NULL);
    CHECK(sid == 77, "a failed fetch wrote its stream id");
    IS(BAD, client_fetch_simple, c, "GET", "/", 1, 0, 0, NULL, NULL, NULL, NULL, NULL);
    IS(BAD, client_write_body, c, 0, blob, 1, 1);
    IS(BAD, client_cancel_fetch, c, 0, 0);
    IS(BAD, client_send_h3_datagram, c, 0, blob, 1);
    IS(BAD, client_send_datagram, c, blob, 1);
    IS(BAD, client_max_datagram_size, c);
    IS(BAD, client_run_once, c);
    IS(BAD, client_poll, c);
    IS_NULL(client_open_webtransport, c, "/wt", 3, wt_cb, NULL);
    IS(BAD, client_event_fd, c);
    IS(BAD, client_drain, c, buf, sizeof buf);
    IS(BAD, client_event_size, c);
    IS(BAD, client_fetch_start, c, (const uint8_t *)"GET\0/\0", 6, 0);
    IS(BAD, client_free, c);
}

static void check_bad_fetch(uint64_t f, const char *what) {
    printf("bad fetch handle: %s\n", what);
    IS(BAD, fetch_write, f, blob, 1, 0);
    IS(BAD, fetch_write, f, NULL, 0, 1);
    IS(BAD, fetch_ack, f, 1);
    IS(BAD, fetch_cancel, f, 0);
    IS(BAD, fetch_send_datagram, f, blob, 1);
    IS(BAD, fetch_max_datagram_size, f);
}

/* NULL may be INVALID_ARG (as the server's wt_* functions say) or BAD_HANDLE. */
void check_bad_session(zig_h3_wt_session *s, const char *what) {
    printf("bad session handle: %s\n", what);
    zig_h3_bytes b = {blob, 1};
    int want = s ? BAD : INV;
    IS2(want, BAD, wt_session_close, s, 0, NULL, 0);
    IS2(want, BAD, wt_session_send_datagram, s, blob, 1);
    IS2(want, BAD, wt_session_receive_datagram, s, &b);
    CHECK(b.ptr == blob && b.len == 1, "receive_datagram on a bad session wrote *out");
    IS2(want, BAD, wt_session_free_datagram, s, blob, 1);
    IS2(want, BAD, wt_session_is_established, s);
    CHECK(CALL(wt_session_stream_id, s) == UINT64_MAX, "stream_id of %s", what);
    IS2(want, BAD, wt_session_free, s);
}

static void check_bad_handles(void) {
    check_bad_client(NULL, "NULL");
    check_bad_client((zig_h3_client *)(uintptr_t)0x1234, "0x1234");
    check_bad_client((zig_h3_client *)(uintptr_t)UINT64_MAX, "UINT64_MAX");
    check_bad_client((zig_h3_client *)(uintptr_t)((1ULL << 53) + 999999), "unissued");
    zig_h3_server *s = new_local_server("client misuse", 0, 0);
    if (s) { /* a live handle of another kind */
        check_bad_client((zig_h3_client *)s, "a live server handle");
        IS(OK, server_free, s);
    }
    check_bad_fetch(0, "0");
    check_bad_fetch(0x1234, "0x1234");
    check_bad_fetch(UINT64_MAX, "UINT64_MAX");
    check_bad_fetch((1ULL << 53) + (1ULL << 52) + 999999, "unissued");
    check_bad_session(NULL, "NULL");
    check_bad_session((zig_h3_wt_session *)(uintptr_t)0x1234, "0x1234");
    check_bad_session((zig_h3_wt_session *)(uintptr_t)((1ULL << 52) + 999999), "unissued");
}

/* ---- Many threads at once ------------------------------------------------------------ */

/* Documented results: bit -code of each error, POS for any result >= 0. */
#define E(c) (1u << -(ZIG_H3_ERR_##c))
#define POS 1u
#define HAMMER_THREADS 6

static struct {
    int port, stop;
    zig_h3_client *cur;     /* the live callback-mode client, replaced (and freed) by the churner */
    zig_h3_client *qc;      /* an event-queue client */
    zig_h3_client *gone[8]; /* freed clients */
    uint64_t sids[64], fetches[64];
    int nsids, nfetches, nfreed, swaps, free_ok;
    unsigned long long calls, viol, reentrant;
    pthread_mutex_t mu;
    char first[300];
} hm = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct { uint64_t rng; pthread_t th; int started; } hammer_arg;

static uint64_t hrnd(hammer_arg *a) { /* xorshift64* */
    return a->rng ^= a->rng >> 12, a->rng ^= a->rng << 25, a->rng ^= a->rng >> 27, a->rng * 2685821657736338717ULL;
}

/* Records a result of f: a violation unless mask documents it. */
static void hrec(const char *f, unsigned mask, long long rc) {
    __atomic_add_fetch(&hm.calls, 1, __ATOMIC_RELAXED);
    if (rc >= 0 ? (mask & POS) != 0 : rc >= -31 && (mask & (1u << -rc))) return;
    __atomic_add_fetch(&hm.viol, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&hm.mu);
    if (!hm.first[0]) snprintf(hm.first, sizeof hm.first, "%s -> %lld (%s): %s", f, rc, h3.strerror((int)rc), h3.last_error());
    pthread_mutex_unlock(&hm.mu);
}

#define H(mask, f, ...) hrec(#f, mask, (long long)CALL(f, __VA_ARGS__))

/* A fetch's events call back into the library: a cancel on DATA, a poll on STARTED. */
static void hammer_event(void *user, const zig_h3_fetch_event *e) {
    zig_h3_client *c = user;
    if (e->type == ZIG_H3_FETCH_EVENT_DATA && e->stream_id % 8 == 0) {
        hrec("client_cancel_fetch in an event callback", POS | E(BAD_HANDLE) | E(STATE),
             h3.client_cancel_fetch(c, e->stream_id, 0));
        __atomic_add_fetch(&hm.reentrant, 1, __ATOMIC_RELAXED);
    } else if (e->type == ZIG_H3_FETCH_EVENT_STARTED) {
        hrec("client_poll in an event callback", POS | E(BAD_HANDLE), h3.client_poll(c));
    }
}

/* A recent value of ring (n pushed), or 0, a random number, near UINT64_MAX. */
static uint64_t pick(hammer_arg *a, const uint64_t *ring, int n) {
    uint64_t r = hrnd(a);
    if (r % 4 == 0 || n == 0) return r % 3 == 0 ? 0 : r % 3 == 1 ? hrnd(a) : UINT64_MAX - r % 8;
    return LOAD(ring[(r >> 8) % (uint64_t)(n < 64 ? n : 64)]);
}

static void push(uint64_t *ring, int *n, uint64_t v) { STORE(ring[(INC(*n) - 1) % 64], v); }

static zig_h3_client *pick_client(hammer_arg *a) {
    uint64_t r = hrnd(a);
    if (r % 5 == 0 && LOAD(hm.nfreed)) return LOAD(hm.gone[(r >> 3) % 8]);
    if (r % 7 == 0) return (zig_h3_client *)(uintptr_t)hrnd(a);
    return LOAD(hm.cur);
}

static void hammer_call(hammer_arg *a, uint8_t *buf) {
    uint64_t r = hrnd(a);
    zig_h3_client *c = pick_client(a), *q = (r >> 40) % 4 ? LOAD(hm.qc) : c;
    uint64_t sid = pick(a, hm.sids, LOAD(hm.nsids)), fh = pick(a, hm.fetches, LOAD(hm.nfetches));
    size_t len = (r >> 16) % 3 == 0 ? HUGE_LEN : (r >> 16) % 3 == 1 ? 0 : (r >> 20) % 16;
    const uint8_t *d = (r >> 24) % 4 ? blob : NULL;
    const unsigned all = E(INVALID_ARG) | E(BAD_HANDLE) | E(STATE) | E(CLOSED);
    zig_h3_wt_session *s = (zig_h3_wt_session *)(uintptr_t)(r % 3 ? hrnd(a) : 0);
    zig_h3_bytes b;
    switch ((r >> 32) % 18) {
    case 0: case 1: case 2: {
        uint64_t out = 0;
        int rc = CALL(client_fetch_simple, c, "GET", (r >> 40) % 2 ? "/bytes?n=100000" : "/hello", 1,
                      ZIG_H3_FETCH_RESPONSE_BODY_STREAMED, 3000, hammer_event, c, NULL, NULL, &out);
        hrec("client_fetch_simple", POS | all | E(TIMEOUT), rc);
        if (rc == ZIG_H3_OK) push(hm.sids, &hm.nsids, out);
        break;
    }
    case 3: H(POS | all, client_write_body, c, sid, d, len, (uint8_t)(r >> 40)); break;
    case 4: H(POS | E(BAD_HANDLE) | E(STATE), client_cancel_fetch, c, sid, 0); break;
    case 5: H(POS | all | E(TOO_LARGE), client_send_h3_datagram, c, sid, d, len); break;
    case 6: H(POS | all | E(TOO_LARGE), client_send_datagram, c, d, len); break;
    case 7: H(POS | all, fetch_write, fh, d, len, (uint8_t)(r >> 40)); break;
    case 8: H(POS | E(INVALID_ARG) | E(BAD_HANDLE), fetch_ack, fh, (r >> 40) % 2 ? len : 100); break;
    case 9: H(POS | E(BAD_HANDLE), fetch_cancel, fh, 0); break;
    case 10: H(POS | all | E(TOO_LARGE), fetch_send_datagram, fh, d, len); break;
    case 11: H(POS | E(BAD_HANDLE), fetch_max_datagram_size, fh); break;
    case 12: {
        int64_t h = CALL(client_fetch_start, q, (const uint8_t *)"GET\0/bytes?n=20000\0", 19, (uint32_t)(r >> 44) % 4);
        hrec("client_fetch_start", POS | all, h);
        if (h > 0) push(hm.fetches, &hm.nfetches, (uint64_t)h);
        break;
    }
    case 13: H(POS | all | E(BUFFER_TOO_SMALL), client_drain, q, buf, (r >> 42) % 2 ? 4096 : 16); break;
    case 14: H(POS | E(BAD_HANDLE) | E(STATE), client_event_size, q); break;
    case 15:
        H(POS | E(BAD_HANDLE), client_poll, c), H(POS | E(BAD_HANDLE), client_run_once, c);
        H(POS | E(BAD_HANDLE), client_max_datagram_size, c);
        break;
    case 16:
        H(POS | E(INVALID_ARG) | E(BAD_HANDLE) | E(STATE), client_set_options, c, "{}", 2);
        H(POS | E(BAD_HANDLE), client_set_datagram_callback, c, NULL, NULL);
        break;
    default:
        H(POS | E(INVALID_ARG) | E(BAD_HANDLE), wt_session_send_datagram, s, d, len);
        H(POS | E(INVALID_ARG) | E(BAD_HANDLE), wt_session_receive_datagram, s, &b);
        H(POS | E(INVALID_ARG) | E(BAD_HANDLE), wt_session_is_established, s);
    }
}

/* Calls at random for 1.5 s (at least 2000 calls). */
static void *hammer_thread(void *arg) {
    hammer_arg *a = arg;
    uint8_t *buf = malloc(4096);
    double t0 = now_ms();
    for (int n = 0; buf && !LOAD(hm.stop) && (now_ms() - t0 < 1500 || n < 2000); n++) hammer_call(a, buf);
    free(buf);
    return NULL;
}

/* Replaces the live client every 50 ms and frees the old one under the hammer. */
static void *churn_thread(void *arg) {
    (void)arg;
    while (!LOAD(hm.stop)) {
        sleep_ms(50);
        zig_h3_client_config cfg = {.connect_timeout_ms = 3000, .request_timeout_ms = 3000};
        zig_h3_client *n = h3.client_new(&cfg);
        if (!n || h3.client_connect(n, "127.0.0.1", (uint16_t)hm.port, NULL) != ZIG_H3_OK) {
            client_note(" [churn: new client: %s]", h3.last_error());
            if (n) h3.client_free(n);
            continue;
        }
        zig_h3_client *old = __atomic_exchange_n(&hm.cur, n, __ATOMIC_SEQ_CST);
        int rc = h3.client_free(old);
        if (rc == ZIG_H3_OK) INC(hm.free_ok);
        else client_note(" [churn: free: %d %s]", rc, h3.last_error());
        STORE(hm.gone[INC(hm.nfreed) % 8], old);
        INC(hm.swaps);
    }
    return NULL;
}

static void check_hammer(void) {
    int p;
    zig_h3_server *srv = client_server_start(&p);
    if (!srv) return;
    hm.port = p;
    hm.cur = connect_client("hammer", p, 0, 0);
    zig_h3_client_config cfg = {.connect_timeout_ms = 3000};
    hm.qc = h3.client_new(&cfg);
    CHECK(hm.cur && hm.qc && h3.client_event_fd(hm.qc) >= 0 && h3.client_connect(hm.qc, "127.0.0.1", (uint16_t)p, NULL) == 0,
          "hammer clients: %s", h3.last_error());
    hammer_arg args[HAMMER_THREADS];
    pthread_t churner;
    int churning = pthread_create(&churner, NULL, churn_thread, NULL) == 0;
    double t0 = now_ms();
    for (int i = 0; i < HAMMER_THREADS; i++) {
        args[i] = (hammer_arg){.rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) ^ (uint64_t)(now_ms() * 1000)};
        args[i].started = pthread_create(&args[i].th, NULL, hammer_thread, &args[i]) == 0;
    }
    for (int i = 0; i < HAMMER_THREADS; i++)
        if (args[i].started) pthread_join(args[i].th, NULL);
    STORE(hm.stop, 1);
    if (churning) pthread_join(churner, NULL);
    double ms = now_ms() - t0;
    CHECK(hm.viol == 0, "hammer: %llu undocumented results; first: %s", hm.viol, hm.first);
    CHECK(hm.swaps >= 5 && hm.free_ok == hm.swaps, "hammer: %d clients replaced, %d freed", hm.swaps, hm.free_ok);
    CHECK_RC(h3.client_free(hm.cur), ZIG_H3_OK);
    CHECK_RC(h3.client_free(hm.qc), ZIG_H3_OK);
    printf("client hammer: %d threads, %llu calls in %.0f ms, %d clients freed under them, %llu cancels from event "
           "callbacks\n", HAMMER_THREADS, hm.calls, ms, hm.swaps, hm.reentrant);
    client_server_stop(srv);
}


void check_client_handles(void) {
    double t0 = now_ms();
    check_helpers();
    check_bad_handles();
    check_hammer();
    printf("client handles: %.0f ms\n", now_ms() - t0);
}
