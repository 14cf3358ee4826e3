/*
 * misuse_test.c - ABI misuse from C: NULL pointers, zero and huge lengths, stale and double-freed server,
 * response, session and stream handles, calls after free, from many threads at once. Each call must return
 * a documented code (0, a documented positive value, a ZIG_H3_ERR_* the function lists) and leave a
 * zig_h3_last_error message; nothing crashes. 1. A fresh server: lengths and NULLs, double free, every call
 * after it. 2. A deferred response (GET /stash): lengths, then every call once finished. 3. 8 threads call
 * random functions with live, stale, NULL and random handles while h3client sends 500 requests to server 1
 * and 200 to server 2, which another thread stops and frees under it (then the hammer frees it too).
 * 4. A WebTransport session (dgclient): bad arguments, then every call after its close.
 */
#include "harness.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/wait.h>

#define RESP(h) ((zig_h3_response *)(uintptr_t)(h))
#define HUGE_LEN ((size_t)ZIG_H3_MAX_LENGTH + 1) /* over the library's sanity bound: refused before any read */
#define BAD ZIG_H3_ERR_BAD_HANDLE
#define INV ZIG_H3_ERR_INVALID_ARG
#define IS_INV(call) CHECK_RC(h3.call, INV)
#define IS_BAD(call) CHECK_RC(h3.call, BAD)
#define IS_OK(call) CHECK_RC(h3.call, ZIG_H3_OK)
#define IS_STATE(call) CHECK_RC(h3.call, ZIG_H3_ERR_STATE)

static const uint8_t blob[65] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const zig_h3_header trailer = {"x-t", 3, "v", 1};

/* ---- Documented codes, and a tally of the codes seen ---------------------------- */

#define E(c) (1u << -(ZIG_H3_ERR_##c))
#define O_ 1u /* ZIG_H3_OK */
#define I_ E(INVALID_ARG)
#define B_ E(BAD_HANDLE)
#define S_ E(STATE)
#define C_ E(CLOSED)
/* X(function, codes as its comment in zig_h3.h lists them [, largest documented positive result [, codes seen but
 * not documented: reported, counted apart]]). INVALID_ARG also where only the header's conventions name it (NULL
 * with a length, absurd lengths). */
#define FUNCTIONS(X)                                                                                                 \
    X(response_status, O_ | I_ | B_ | S_ | C_) X(response_header, O_ | I_ | B_ | S_ | C_)                            \
    X(response_write, O_ | I_ | B_ | C_) X(response_end, O_ | I_ | B_ | C_)                                          \
    X(response_process_partial, O_ | B_ | C_, INT_MAX) X(response_set_timeout, O_ | I_ | B_ | S_ | C_)                     \
    X(response_send_trailers, O_ | I_ | B_ | C_) X(response_defer_end, O_ | B_) X(response_set_auto_end, O_ | B_)    \
    X(response_should_auto_end, O_ | B_, 1) X(response_max_datagram_size, O_ | B_, INT_MAX)                          \
    X(response_send_h3_datagram, O_ | I_ | B_ | S_ | E(TOO_LARGE) | C_) X(response_respond, O_ | I_ | B_ | S_ | C_)  \
    X(response_send, O_ | I_ | B_ | C_, LLONG_MAX) X(response_ack_body, O_ | I_ | B_ | S_)                           \
    X(response_discard_body, O_ | B_ | S_) X(response_abort, O_ | B_ | C_)                                           \
    X(server_port, O_ | B_, 65535) X(server_stats, O_ | I_ | B_)                                                     \
    X(server_counters, O_ | I_ | B_, ZIG_H3_COUNTER_COUNT) X(server_certificate_hash, O_ | I_ | B_, 1)               \
    X(server_event_size, O_ | B_ | S_, LLONG_MAX)                                                                    \
    X(server_drain, O_ | I_ | B_ | S_ | E(BUFFER_TOO_SMALL), LLONG_MAX)                                              \
    X(server_set_options, O_ | I_ | B_ | E(CONFIG) | S_) X(server_set_event_routes, O_ | I_ | B_ | E(IO))            \
    X(server_route, O_ | I_ | B_ | S_) X(server_response_for_stream, O_ | I_ | B_)                                  \
    X(server_send_quic_datagram, O_ | I_ | B_ | E(TOO_LARGE) | C_)                \
    X(server_max_datagram_size, O_ | B_, INT_MAX) X(server_start, O_ | B_ | S_ | E(IO)) X(server_stop, O_ | B_)      \
    X(server_free, O_ | B_) X(server_event_fd, O_ | B_ | E(IO), INT_MAX) X(wt_accept, O_ | I_ | B_ | S_)             \
    X(wt_reject, O_ | I_ | B_ | S_) X(wt_close, O_ | I_ | B_ | S_ | C_)                                              \
    X(wt_send_datagram, O_ | I_ | B_ | S_ | E(TOO_LARGE) | C_) X(wt_max_datagram_size, O_ | I_ | B_, INT_MAX)        \
    X(wt_release, O_ | I_ | B_) X(wt_open_stream, I_ | B_ | S_ | C_, LLONG_MAX)                                      \
    X(wt_stream_write, O_ | I_ | B_ | S_ | C_, LLONG_MAX) X(wt_stream_ack, O_ | I_ | B_) X(wt_stream_reset, O_ | B_) \
    X(wt_stream_stop_reading, O_ | B_)
#define ENUM(f, ...) F_##f,
#define ENTRY(f, ...) [F_##f] = {#f, __VA_ARGS__},
enum { FUNCTIONS(ENUM) NF };
static const struct { const char *name; unsigned mask; long long max; } fn[NF] = {FUNCTIONS(ENTRY)};
#define ANY 1 /* rec's want: any documented code */

typedef struct { uint64_t rng; unsigned long long iters; int started; pthread_t th; } tally; /* a caller */

/* Codes per function (0: OK, 1-11: -code, 12: positive, 13: other), undocumented ones, the first of these. */
static unsigned long long codes[NF][14], viol[NF], no_message;
static pthread_mutex_t first_mu = PTHREAD_MUTEX_INITIALIZER;
static char first_bad[NF][240];
#define ADD(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static int in_mask(unsigned mask, long long rc) { return rc <= 0 && rc >= -11 && (mask & (1u << -rc)); }

/* Records the result rc of function f, called on handle h (described by how). */
static void rec(int f, long long want, long long rc, const char *how, uint64_t h) {
    ADD(codes[f][rc > 0 ? 12 : rc == 0 ? 0 : rc >= -11 ? -rc : 13]);
    const char *e = rc < 0 ? h3.last_error() : "-";
    if (!e || !e[0]) ADD(no_message);
    if (want != ANY ? rc == want : rc > 0 ? rc <= fn[f].max : in_mask(fn[f].mask, rc)) return;
    ADD(viol[f]);
    pthread_mutex_lock(&first_mu);
    if (!first_bad[f][0])
        snprintf(first_bad[f], sizeof first_bad[f], "%s(%s 0x%llx, ...) -> %lld (%s), want %s; last_error: %s",
                 fn[f].name, how, (unsigned long long)h, rc, h3.strerror((int)rc),
                 want == ANY ? "a documented code" : h3.strerror((int)want), h3.last_error());
    pthread_mutex_unlock(&first_mu);
}

static uint64_t rnd(tally *t) { /* xorshift64* */
    return t->rng ^= t->rng >> 12, t->rng ^= t->rng << 25, t->rng ^= t->rng >> 27, t->rng * 2685821657736338717ULL;
}

/* ---- Servers whose route stashes its deferred responses; clients in threads ------ */

#define MAXSTASH 4096
static uint64_t stash[MAXSTASH];
static int nstash;

static int stashed(void) { return LOAD(nstash) < MAXSTASH ? LOAD(nstash) : MAXSTASH; }

static void cb_stash(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user, (void)req;
    h3.response_defer_end(resp);
    int i = INC(nstash) - 1;
    if (i < MAXSTASH) STORE(stash[i], (uint64_t)(uintptr_t)resp);
    else h3.response_end(resp, NULL, 0);
}


/* A client (a shell command) on a thread of its own. */
typedef struct { pthread_t t; char cmd[512]; client_result r; int done, started; } bg_client;

static void *bg_run(void *a) {
    bg_client *c = a;
    FILE *f = popen(c->cmd, "r");
    c->r.out = f ? read_all(f, &c->r.len) : strdup("");
    int st = f ? pclose(f) : -1;
    c->r.exit_code = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    STORE(c->done, 1);
    return NULL;
}

static void __attribute__((format(printf, 2, 3))) bg_start(bg_client *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->cmd, sizeof c->cmd, fmt, ap);
    va_end(ap);
    c->started = pthread_create(&c->t, NULL, bg_run, c) == 0;
    CHECK(c->started, "pthread_create");
}

static void bg_join(bg_client *c) { if (c->started) pthread_join(c->t, NULL); }

/* ---- 1. A fresh server; calls after free ---------------------------------------- */

static void check_server_lengths(void) {
    zig_h3_server *s = new_local_server("lengths", 0, 0);
    if (!s) return;
    uint8_t buf[64];
    uint64_t c[ZIG_H3_COUNTER_COUNT];
    const char *routes = "{\"routes\":[]}";
    IS_INV(server_set_options(s, NULL, 0)); IS_INV(server_set_options(s, "{}", 0));
    IS_INV(server_set_options(s, NULL, 2)); IS_INV(server_set_options(s, NULL, SIZE_MAX));
    IS_INV(server_set_options(s, "{}", SIZE_MAX)); IS_INV(server_set_options(s, "{}", HUGE_LEN));
    IS_INV(server_route(s, "", "/x", cb_stash, NULL, NULL, NULL));
    IS_INV(server_route(s, "GET", "", cb_stash, NULL, NULL, NULL)); CHECK_RC(h3.server_counters(s, NULL, 0), 0);
    IS_INV(server_counters(s, NULL, SIZE_MAX)); CHECK_RC(h3.server_counters(s, c, SIZE_MAX), ZIG_H3_COUNTER_COUNT);
    CHECK_RC(h3.server_counters(s, c, 1), 1);
    IS_STATE(server_drain(s, buf, sizeof buf)); /* no event queue yet */
    IS_STATE(server_event_size(s)); IS_INV(server_set_event_routes(s, NULL, 0));
    IS_INV(server_set_event_routes(s, routes, 0)); IS_INV(server_set_event_routes(s, NULL, 13));
    IS_INV(server_set_event_routes(s, routes, SIZE_MAX));
    CHECK(h3.server_event_fd(s) >= 0, "event_fd: %s", h3.last_error());
    IS_INV(server_drain(s, buf, 0)); IS_INV(server_drain(s, NULL, 0)); IS_INV(server_drain(s, NULL, sizeof buf));
    IS_INV(server_drain(s, buf, SIZE_MAX)); IS_OK(server_set_event_routes(s, routes, strlen(routes)));
    IS_BAD(server_send_quic_datagram(s, (void *)(uintptr_t)0x1234, NULL, SIZE_MAX));
    long long n = h3.server_drain(s, buf, sizeof buf);
    CHECK(n >= 0 || n == ZIG_H3_ERR_BUFFER_TOO_SMALL, "drain: %lld", n);
    IS_OK(server_free(s));
    check_bad_server(s, "freed server");
}

/* ---- 2. A live deferred response, then the finished one ------------------------- */

static void check_response_lengths(int p) {
    bg_client c = {0};
    int first = LOAD(nstash);
    bg_start(&c, "'%s' -timeout 10s 'https://127.0.0.1:%d/stash'", client_path, p);
    CHECK(WAIT_FOR(LOAD(nstash) > first && LOAD(stash[first]), 5000), "no request reached /stash");
    zig_h3_response *r = RESP(LOAD(stash[first]));
    IS_INV(response_status(r, 0)); IS_INV(response_status(r, UINT16_MAX));
    IS_INV(response_header(r, NULL, SIZE_MAX, "v", 1)); IS_INV(response_header(r, "x-a", SIZE_MAX, "v", 1));
    IS_INV(response_header(r, "x-a", 3, NULL, SIZE_MAX)); IS_INV(response_header(r, "x-a", 3, "v", HUGE_LEN));
    IS_INV(response_header(r, NULL, 0, NULL, 0)); /* empty name */
    IS_OK(response_header(r, "x-empty", 7, NULL, 0)); IS_OK(response_set_timeout(r, UINT32_MAX));
    IS_OK(response_set_timeout(r, 0)); IS_INV(response_respond(r, 200, NULL, SIZE_MAX, NULL, 0, 1));
    IS_INV(response_respond(r, 200, NULL, 0, blob, SIZE_MAX, 1));
    IS_INV(response_respond(r, 200, blob, HUGE_LEN, NULL, 0, 1)); IS_INV(response_send(r, NULL, SIZE_MAX, 0, NULL, 0));
    IS_INV(response_send(r, blob, HUGE_LEN, 1, NULL, 0)); IS_INV(response_send(r, NULL, 0, 1, NULL, SIZE_MAX));
    IS_INV(response_send_trailers(r, NULL, SIZE_MAX)); IS_INV(response_send_trailers(r, &trailer, SIZE_MAX));
    IS_INV(response_send_h3_datagram(r, NULL, SIZE_MAX)); IS_INV(response_send_file(r, 200, NULL, 0, NULL, SIZE_MAX));
    IS_INV(response_send_file(r, 200, NULL, 0, "/x", HUGE_LEN));
    IS_INV(response_send_file(r, 200, NULL, SIZE_MAX, "/x", 2)); IS_INV(response_ack_body(r, SIZE_MAX));
    IS_STATE(response_ack_body(r, 0)); CHECK_RC(h3.response_process_partial(r), 0);
    IS_INV(response_write(r, NULL, SIZE_MAX)); IS_INV(response_write(r, blob, SIZE_MAX));
    IS_INV(response_write(r, blob, HUGE_LEN)); IS_OK(response_write(r, blob, 0)); IS_OK(response_write(r, NULL, 0));
    IS_OK(response_write(r, blob, 4)); IS_INV(response_end(r, NULL, SIZE_MAX)); IS_OK(response_end(r, blob + 4, 4));
    int end2 = h3.response_end(r, NULL, 0), write0 = h3.response_write(r, blob, 0), partial = h3.response_process_partial(r);
    CHECK(ENDED(end2) && ENDED(write0) && (partial >= 0 || ENDED(partial)), "after the end: end %d, write of 0 bytes %d, "
          "process_partial %d", end2, write0, partial);
    bg_join(&c);
    CHECK(c.r.exit_code == 0 && status_of(c.r.out) == 200 && strcmp(body_of(c.r.out), "01234567") == 0 &&
              has_header(c.r.out, "x-empty: "), "stash response: exit %d output:\n%s", c.r.exit_code, c.r.out);
    free_result(&c.r);
    CHECK(WAIT_FOR(h3.response_process_partial(r) == BAD, 3000), "finished response still valid");
    check_bad_response(r, "finished response");
}

/* ---- 3. Many threads at once ---------------------------------------------------- */

#define THREADS 8
static zig_h3_server *srv1, *srv2;
static int port1, hammer_stop, s2_phase, s2_freed, s2_free_ok;
static double hammer_t0;
static bg_client c1, c2; /* h3client on server 1, on server 2 */

/* A data argument: valid (blob, 0-64 bytes), NULL with a length, or huge. */
static size_t pick_data(tally *t, const uint8_t **p) {
    uint64_t r = rnd(t), k = r % 6, n = r >> 8;
    *p = k < 2 ? NULL : blob;
    return k == 0 ? 0 : k == 1 ? 1 + n % 64 : k == 2 ? SIZE_MAX : k == 3 ? HUGE_LEN + n % 1000 : n % 65;
}

/* Records a call of the hammer functions (their locals t, want, how, h). */
#define RW(w, f, args) rec(F_##f, w, h3.f args, how, h)
#define R(f, args) RW(want, f, args)
#define BITS(n, m) ((a >> (n)) % (m))

static void hammer_response(tally *t) {
    static const uint16_t statuses[] = {200, 201, 404, 500, 0, 99, 100, 600, 65535};
    static const char *names[] = {"x-a", "bad name", "", "x-b"}, *values[] = {"v", "a\r\nb", "", "w"};
    static const uint32_t timeouts[] = {0, 1, 50, 10000, UINT32_MAX};
    static const uint8_t block[] = "x-h\0v\0"; /* with length 3: no final NUL */
    uint64_t r = rnd(t), a = rnd(t), h, k = r % 10;
    const char *how = "stashed";
    long long want = ANY;
    int n = stashed();
    if (k < 6 && n > 0) { /* a recent (likely live) or any stashed (likely stale) response */
        h = LOAD(stash[k < 3 ? n - 1 - (int)((r >> 8) % (uint64_t)(n < 16 ? n : 16)) : (int)((r >> 8) % (uint64_t)n)]);
    } else {
        want = BAD, how = k == 6 ? "NULL" : k == 7 ? "random" : k == 8 ? "small" : "unissued";
        h = k == 6 ? 0 : k == 7 ? rnd(t) : k == 8 ? rnd(t) % 65536 : (1ULL << 50) + (1ULL << 40) + rnd(t) % 1000000;
    }
    zig_h3_response *x = RESP(h);
    const uint8_t *d, *blk = BITS(24, 5) ? block : NULL;
    size_t len = pick_data(t, &d), bl = BITS(16, 4) == 0 ? SIZE_MAX : BITS(16, 4) == 1 ? 3 : 6;
    const char *nm = BITS(16, 5) ? names[a % 4] : NULL, *val = BITS(24, 5) ? values[BITS(4, 4)] : NULL;
    size_t nl = BITS(20, 7) == 0 ? SIZE_MAX : nm ? strlen(nm) : BITS(23, 2); /* NULL: with 0 or 1 */
    size_t vl = BITS(28, 7) == 0 ? SIZE_MAX : val ? strlen(val) : BITS(31, 2);
    switch (BITS(8, 16)) {
    case 0: R(response_status, (x, statuses[BITS(16, 9)])); break;
    case 1: R(response_header, (x, nm, nl, val, vl)); break;
    case 2: R(response_write, (x, d, len)); break;
    case 3: R(response_end, (x, d, len)); break;
    case 4: R(response_process_partial, (x)); break;
    case 5: R(response_set_timeout, (x, timeouts[BITS(16, 5)])); break;
    case 6: R(response_send_trailers, (x, BITS(20, 3) ? &trailer : NULL, bl == 6 ? 1 : bl == 3 ? 0 : bl)); break;
    case 7: R(response_defer_end, (x)); break;
    case 8: R(response_set_auto_end, (x, (uint8_t)(a >> 16))); break;
    case 9: R(response_should_auto_end, (x)); break;
    case 10: R(response_max_datagram_size, (x)); break;
    case 11: R(response_send_h3_datagram, (x, d, len)); break;
    case 12: R(response_respond, (x, statuses[BITS(20, 9)], blk, bl, d, len, BITS(28, 2))); break;
    case 13: R(response_send, (x, d, len, BITS(20, 2), blk, bl)); break;
    case 14: R(response_ack_body, (x, BITS(16, 2) ? SIZE_MAX : BITS(17, 100))); break;
    default: /* abort only bogus handles: a stashed response reset would fail the clients' requests */
        if (want == BAD && BITS(16, 2)) R(response_abort, (x));
        else R(response_discard_body, (x));
    }
}

/* Frees server 2, as several threads race to: one call only may succeed. */
static void free_srv2(long long want, const char *how) {
    int rc = h3.server_free(srv2);
    rec(F_server_free, want, rc, how, (uint64_t)(uintptr_t)srv2);
    if (rc == ZIG_H3_OK) INC(s2_free_ok), STORE(s2_freed, 1);
}

static void hammer_server(tally *t) {
    static const size_t counts[] = {0, 3, ZIG_H3_COUNTER_COUNT, ZIG_H3_COUNTER_COUNT + 2, SIZE_MAX};
    uint64_t r = rnd(t), a = rnd(t), h;
    int w = (int)(r % 8); /* 0-2: server 1 (live), 3-4: server 2 (stopped and freed meanwhile), 5-7: bogus */
    const char *how = w < 3 ? "live server 1" : w < 5 ? "server 2" : w == 5 ? "NULL" : w == 6 ? "random" : "unissued";
    long long want = w >= 5 || (w >= 3 && LOAD(s2_freed)) ? BAD : ANY;
    h = w < 3 ? (uint64_t)(uintptr_t)srv1 : w < 5 ? (uint64_t)(uintptr_t)srv2 : w == 5 ? 0 : w == 6 ? rnd(t)
        : (1ULL << 49) + (1ULL << 40) + rnd(t) % 1000000;
    zig_h3_server *s = (zig_h3_server *)(uintptr_t)h;
    union { uint8_t buf[64]; uint64_t c[ZIG_H3_COUNTER_COUNT + 2]; struct zig_h3_server_stats st; } o; /* outputs */
    const uint8_t *d;
    size_t len = pick_data(t, &d), cap = BITS(12, 3) ? sizeof o.buf : BITS(14, 2) ? 0 : SIZE_MAX;
    int late = w >= 5 || (w >= 3 && LOAD(s2_phase)); /* stop and free: bogus handles, server 2 once stopped */
    switch (a % 16) {
    case 1: R(server_stats, (s, BITS(8, 4) ? &o.st : NULL)); break;
    case 2: R(server_counters, (s, BITS(8, 4) ? o.c : NULL, counts[BITS(12, 5)])); break;
    case 3: R(server_certificate_hash, (s, BITS(8, 4) ? o.buf : NULL)); break;
    case 4: R(server_event_size, (s)); break;
    case 5: R(server_drain, (s, BITS(8, 4) ? o.buf : NULL, cap)); break;
    /* "{" with length 2 reads its NUL: malformed JSON. set_event_routes gets only NULL or empty specs (a valid
     * one would replace the routes of the live servers). Starting, stopping and freeing server 1 is left out. */
    case 6: R(server_set_options, (s, BITS(8, 2) ? "{}" : "{", BITS(9, 3) ? 2 : SIZE_MAX)); break;
    case 7: R(server_set_event_routes, (s, BITS(8, 2) ? "{}" : NULL, BITS(9, 2) ? 0 : SIZE_MAX)); break;
    case 8: R(server_route, (s, BITS(8, 4) ? "GET" : NULL, "/late", cb_stash, NULL, NULL, NULL)); break;
    case 9: RW(BAD, server_send_quic_datagram, (s, (void *)(uintptr_t)rnd(t), d, len)); break;
    case 10: RW(BAD, server_max_datagram_size, (s, (void *)(uintptr_t)rnd(t))); break;
    case 11: if (w < 3 || w >= 5) RW(w < 3 ? ZIG_H3_ERR_STATE : BAD, server_start, (s)); break;
    case 12: if (late) R(server_stop, (s, 1)); break;
    case 13: if (w >= 5) R(server_free, (s)); else if (late) free_srv2(want, how); break;
    case 14: if (w >= 5) R(server_event_fd, (s)); break;
    case 15: /* a random connection id and stream: never an open response in practice, but allowed */
        R(server_response_for_stream, (s, BITS(8, 4) ? o.buf : NULL, BITS(10, 4) ? 8 : len, rnd(t),
                                       BITS(12, 4) ? (zig_h3_response **)o.c : NULL));
        break;
    default: RW(w < 3 ? port1 : want, server_port, (s));
    }
}

/* WebTransport calls on session and stream handles that are NULL, random or stale. */
static void hammer_wt(tally *t) {
    uint64_t r = rnd(t) % 4, a = rnd(t), h;
    const char *how = r == 0 ? "NULL" : r == 1 ? "random" : r == 2 ? "small or top" : "stale or unissued";
    const uint8_t *d;
    size_t len = pick_data(t, &d);
    if (a % 12 < 7) {
        h = r == 0 ? 0 : r == 1 ? rnd(t) | 1 : r == 2 ? 1 + rnd(t) % 65535 : (1ULL << 52) + rnd(t) % 100000;
        zig_h3_wt_session *s = (zig_h3_wt_session *)(uintptr_t)h;
        long long want = h ? BAD : INV;
        switch (a % 12) {
        case 0: R(wt_accept, (s)); break;
        case 1: R(wt_reject, (s, (uint16_t)(a >> 8))); break;
        case 2: R(wt_close, (s, (uint32_t)(a >> 8), d, len)); break;
        case 3: R(wt_send_datagram, (s, d, len)); break;
        case 4: R(wt_max_datagram_size, (s)); break;
        case 5: R(wt_release, (s)); break;
        default: R(wt_open_stream, (s, (uint8_t)(a >> 8)));
        }
        return;
    }
    h = r == 0 ? 0 : r == 1 ? rnd(t) : r == 2 ? UINT64_MAX - rnd(t) % 16 : (1ULL << 52) + (1ULL << 51) + rnd(t) % 100000;
    long long want = BAD;
    switch (a % 12) {
    case 7: case 8: R(wt_stream_write, (h, d, len, (uint8_t)(a >> 8))); break;
    case 9: R(wt_stream_ack, (h, BITS(8, 2) ? SIZE_MAX : BITS(9, 100))); break;
    case 10: R(wt_stream_reset, (h, (uint32_t)(a >> 8))); break;
    default: R(wt_stream_stop_reading, (h, (uint32_t)(a >> 8)));
    }
}

/* Runs at least 1.5 s and 20000 calls, until the client of server 1 is done (at most 4 s). */
static void *hammer_thread(void *arg) {
    tally *t = arg;
    for (double el; (el = now_ms() - hammer_t0) < 4000 && !(el > 1500 && t->iters >= 20000 && LOAD(c1.done)); t->iters++) {
        uint64_t k = rnd(t) % 10;
        k < 5 ? hammer_response(t) : k < 8 ? hammer_server(t) : hammer_wt(t);
    }
    return NULL;
}

/* Stops and frees server 2 under traffic, then keeps calling it until the hammer ends. */
static void *stopper_thread(void *arg) {
    tally *t = arg;
    uint64_t h = (uint64_t)(uintptr_t)srv2;
    long long want = ZIG_H3_OK;
    const char *how = "server 2 under traffic";
    sleep_ms(300);
    R(server_stop, (srv2, 1));
    STORE(s2_phase, 1); /* the hammer stops and frees it too from now on */
    free_srv2(ANY, how);
    union { uint8_t buf[64]; uint64_t c[4]; struct zig_h3_server_stats st; } o; /* outputs */
    for (want = BAD, how = "server 2 after free"; !LOAD(hammer_stop); t->iters++, sleep_ms(1)) {
        R(server_free, (srv2)), R(server_stop, (srv2, 0)), R(server_port, (srv2));
        R(server_stats, (srv2, &o.st)), R(server_counters, (srv2, o.c, SIZE_MAX));
        R(server_drain, (srv2, o.buf, 0)), R(server_set_options, (srv2, NULL, SIZE_MAX));
    }
    return NULL;
}

static int live_stashed(void) {
    int alive = 0;
    for (int i = 0, n = stashed(); i < n; i++) alive += h3.response_should_auto_end(RESP(LOAD(stash[i]))) != BAD;
    return alive;
}

static void report_hammer(tally *ts, double ms) {
    static const char *code_names[14] = {"ok", "inval", "bad", "state", "closed", "notsup", "io", "config", "full",
                                         "small", "internal", "large", "pos", "other"};
    unsigned long long iters = 0;
    for (int i = 0; i < THREADS; i++) {
        iters += ts[i].iters;
        CHECK(ts[i].iters >= 1000, "thread %d: %llu calls", i, ts[i].iters);
    }
    printf("hammer: %d threads, %llu calls in %.0f ms, %d responses stashed; codes per function:\n", THREADS, iters, ms,
           LOAD(nstash));
    for (int f = 0; f < NF; f++) {
        char line[256] = "";
        unsigned long long calls = 0;
        for (int k = 0; k < 14; k++)
            if (codes[f][k]) calls += codes[f][k], add_note(line, sizeof line, " %s:%llu", code_names[k], codes[f][k]);
        printf("  %-27s%s\n", fn[f].name, line);
        CHECK(calls > 0, "%s was never called", fn[f].name);
        CHECK(viol[f] == 0, "%llu undocumented results of %s; first: %s", viol[f], fn[f].name, first_bad[f]);
    }
    CHECK(no_message == 0, "%llu errors without a last_error message", no_message);
}

static void check_hammer(void) {
    srv1 = new_local_server("hammer 1", 0, 0), srv2 = new_local_server("hammer 2", 0, 0);
    if (!srv1 || !srv2) return;
    for (int i = 0; i < 2; i++) {
        IS_OK(server_route(i ? srv2 : srv1, "GET", "/stash", cb_stash, NULL, NULL, NULL));
        /* A queue (its log lines): the hammer's drains then run in C, racing server 2's free. */
        CHECK(h3.server_event_fd(i ? srv2 : srv1) >= 0, "server_event_fd: %s", h3.last_error());
        IS_OK(server_start(i ? srv2 : srv1));
    }
    int port2 = h3.server_port(srv2);
    port1 = h3.server_port(srv1);
    CHECK(port1 > 0 && port2 > 0, "ports %d %d", port1, port2);
    check_response_lengths(port1);

    static tally ts[THREADS + 1]; /* the hammer threads, then the stopper */
    bg_start(&c1, "'%s' -timeout 20s -n 500 -c 20 'https://127.0.0.1:%d/stash'", client_path, port1);
    bg_start(&c2, "'%s' -timeout 3s -n 200 -c 10 'https://127.0.0.1:%d/stash' 2>/dev/null", client_path, port2);
    hammer_t0 = now_ms();
    for (int i = 0; i <= THREADS; i++) {
        ts[i].rng = 0x2545F4914F6CDD1DULL * (uint64_t)(i + 1) ^ (uint64_t)(now_ms() * 1000);
        ts[i].started = pthread_create(&ts[i].th, NULL, i < THREADS ? hammer_thread : stopper_thread, &ts[i]) == 0;
        CHECK(ts[i].started, "pthread_create %d", i);
    }
    for (int i = 0; i < THREADS; i++)
        if (ts[i].started) pthread_join(ts[i].th, NULL);
    double ms = now_ms() - hammer_t0;
    STORE(hammer_stop, 1);
    if (ts[THREADS].started) pthread_join(ts[THREADS].th, NULL);
    for (double t0 = now_ms(); !LOAD(c1.done) && now_ms() - t0 < 25000; sleep_ms(2)) /* end what the hammer left */
        for (int i = 0, n = stashed(); i < n; i++) h3.response_end(RESP(LOAD(stash[i])), NULL, 0);
    bg_join(&c1), bg_join(&c2);
    report_hammer(ts, ms);
    CHECK(LOAD(s2_free_ok) == 1, "server 2 was freed %d times", LOAD(s2_free_ok));
    CHECK(c1.r.exit_code == 0 && strstr(c1.r.out, "ok=500 failed=0"), "client of server 1: exit %d: %s", c1.r.exit_code,
          c1.r.out);
    CHECK(c2.r.exit_code == 0 || c2.r.exit_code == 1, "client of server 2: exit %d: %s", c2.r.exit_code, c2.r.out);
    printf("client of server 1: %sclient of server 2 (stopped and freed under it): %s", c1.r.out, c2.r.out);
    free_result(&c1.r), free_result(&c2.r);
    CHECK(WAIT_FOR(live_stashed() == 0, 3000), "%d of %d stashed responses still valid", live_stashed(), stashed());
    IS_OK(server_stop(srv1, 0)); IS_OK(server_free(srv1));
    check_bad_server(srv1, "freed server 1");
    check_bad_server(srv2, "server 2, freed under traffic");
}

/* Threads racing on one server: two free it, two ask for its event fd (which
 * creates the event queue). Exactly one free succeeds, the other gets
 * BAD_HANDLE; event_fd gives an fd or BAD_HANDLE; no eventfd outlives the
 * server. (The hammer above once saw two frees succeed.) */
#define FREE_RACERS 4
static struct { zig_h3_server *s; int go, ok, bad, other, fds, fd_bad, fd_other; } free_race;

static void *free_racer(void *arg) {
    int i = (int)(intptr_t)arg;
    while (!LOAD(free_race.go)) { /* spin: all racers call at once */ }
    if (i < 2) {
        int rc = h3.server_free(free_race.s);
        INC(*(rc == ZIG_H3_OK ? &free_race.ok : rc == ZIG_H3_ERR_BAD_HANDLE ? &free_race.bad : &free_race.other));
    } else {
        int rc = h3.server_event_fd(free_race.s);
        INC(*(rc >= 0 ? &free_race.fds : rc == ZIG_H3_ERR_BAD_HANDLE ? &free_race.fd_bad : &free_race.fd_other));
    }
    return NULL;
}

static int open_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void check_free_race(void) {
    int rounds = 0, wrong = 0, fds = 0, fd_bad = 0, fds_before = open_fds();
    char first[160] = "";
    while (rounds < 200) {
        zig_h3_server *s = new_local_server("free race", 0, 0);
        if (!s) return;
        rounds++;
        free_race.s = s;
        STORE(free_race.go, 0), STORE(free_race.ok, 0), STORE(free_race.bad, 0), STORE(free_race.other, 0);
        STORE(free_race.fds, 0), STORE(free_race.fd_bad, 0), STORE(free_race.fd_other, 0);
        pthread_t th[FREE_RACERS];
        int n = 0;
        for (; n < FREE_RACERS && pthread_create(&th[n], NULL, free_racer, (void *)(intptr_t)n) == 0; n++) {}
        STORE(free_race.go, 1);
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        if (n < FREE_RACERS) {
            CHECK(0, "pthread_create: %d of %d racers", n, FREE_RACERS);
            if (n < 1) h3.server_free(s);
            break;
        }
        fds += LOAD(free_race.fds), fd_bad += LOAD(free_race.fd_bad);
        if (LOAD(free_race.ok) != 1 || LOAD(free_race.bad) != 1 || LOAD(free_race.other) || LOAD(free_race.fd_other)) {
            if (!wrong++)
                snprintf(first, sizeof first, "frees: %d OK, %d BAD_HANDLE, %d other; event_fd: %d other",
                         LOAD(free_race.ok), LOAD(free_race.bad), LOAD(free_race.other), LOAD(free_race.fd_other));
        }
    }
    CHECK(wrong == 0, "racing calls went wrong in %d of %d rounds; first: %s", wrong, rounds, first);
    int fds_after = open_fds();
    CHECK(fds_after == fds_before, "open fds %d before, %d after (an event fd outlived its server)", fds_before, fds_after);
    printf("free race: %d rounds, %d wrong; event_fd gave %d fds and %d BAD_HANDLE; open fds %d -> %d\n", rounds,
           wrong, fds, fd_bad, fds_before, fds_after);
}

/* ---- 4. A WebTransport session and its streams ---------------------------------- */

static zig_h3_wt_session *wt_sess;

static void cb_session(void *u, const zig_h3_request *r, zig_h3_wt_session *s) { (void)u, (void)r, STORE(wt_sess, s); }

static void check_session(void) {
    zig_h3_server *s = new_local_server("session", 0, 1);
    if (!s) return;
    IS_OK(server_route(s, "CONNECT", "/wt", cb_stash, NULL, cb_session, NULL)); IS_OK(server_start(s));
    bg_client c = {0};
    bg_start(&c, "timeout -k 2 15 '%s' wt-close -url https://127.0.0.1:%d/wt -mode server -timeout 10s", dgclient_path,
             h3.server_port(s));
    CHECK(WAIT_FOR(LOAD(wt_sess) != NULL, 5000), "no WebTransport session");
    zig_h3_wt_session *w = LOAD(wt_sess);
    CHECK_RC(h3.wt_max_datagram_size(w), 0); IS_STATE(wt_open_stream(w, 1)); IS_STATE(wt_close(w, 1, NULL, 0));
    IS_INV(wt_close(w, 1, NULL, SIZE_MAX)); IS_INV(wt_send_datagram(w, NULL, SIZE_MAX)); IS_INV(wt_reject(w, 0));
    IS_INV(wt_reject(w, 399)); IS_INV(wt_reject(w, 600)); IS_OK(wt_release(w)); IS_OK(wt_accept(w));
    IS_STATE(wt_accept(w)); IS_STATE(wt_reject(w, 400));
    int64_t uni = ZIG_H3_ERR_STATE, bidi; /* STATE until the session is established */
    for (double t0 = now_ms(); uni == ZIG_H3_ERR_STATE && now_ms() - t0 < 5000; sleep_ms(5)) uni = h3.wt_open_stream(w, 0);
    bidi = h3.wt_open_stream(w, 1);
    CHECK(uni > 0 && bidi > 0, "wt_open_stream: %lld %lld %s", (long long)uni, (long long)bidi, h3.last_error());
    uint64_t st[2] = {(uint64_t)uni, (uint64_t)bidi};
    IS_INV(wt_send_datagram(w, blob, HUGE_LEN)); IS_OK(wt_send_datagram(w, NULL, 0));
    IS_INV(wt_stream_write(st[0], NULL, SIZE_MAX, 0)); IS_INV(wt_stream_write(st[0], blob, HUGE_LEN, 1));
    CHECK(h3.wt_stream_write(st[0], NULL, 0, 0) >= 0 && h3.wt_stream_write(st[1], blob, 8, 0) >= 0, "stream write: %s",
          h3.last_error());
    IS_INV(wt_stream_ack(st[1], SIZE_MAX)); IS_OK(wt_close(w, 42, (const uint8_t *)"bye", 3));
    bg_join(&c);
    CHECK(c.r.exit_code == 0 && json_int(c.r.out, "code", 0) == 42, "wt-close: exit %d output %s", c.r.exit_code, c.r.out);
    free_result(&c.r);
    CHECK(WAIT_FOR(h3.wt_release(w) == BAD, 3000), "closed session still valid");
    IS_BAD(wt_accept(w)); IS_BAD(wt_reject(w, 400)); IS_BAD(wt_close(w, 1, NULL, SIZE_MAX));
    IS_BAD(wt_send_datagram(w, blob, 1)); IS_BAD(wt_max_datagram_size(w)); IS_BAD(wt_open_stream(w, 1));
    for (int i = 0; i < 2; i++) {
        CHECK(WAIT_FOR(h3.wt_stream_reset(st[i], 1) == BAD, 3000), "stream %d still valid", i);
        IS_BAD(wt_stream_write(st[i], blob, 1, 1)); IS_BAD(wt_stream_ack(st[i], SIZE_MAX));
        IS_BAD(wt_stream_stop_reading(st[i], 1));
    }
    IS_OK(server_stop(s, 1)); IS_OK(server_free(s));
    check_bad_server(s, "freed server");
}

void check_misuse(void) {
    double t0 = now_ms();
    check_server_lengths(), check_hammer(), check_free_race(), check_session();
    printf("misuse: %.0f ms\n", now_ms() - t0);
}
