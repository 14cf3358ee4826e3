/*
 * streaming_test.c - streaming routes and the close callbacks ("C streaming
 * route test"): POST /up checksums 5 MiB, empty and concurrent uploads
 * (FNV-1a 64 in the body callbacks, keyed by connection and stream id); POST
 * /echo-stream echoes each chunk as it arrives (checked by SHA-256 and by
 * h3client -duplex); POST /early answers 401 before the body (the rest must
 * not be delivered); GET /never is given up by the client. The stream close
 * callback must come once for every request (aborted for the ones the client
 * reset), the connection close callback once for every connection.
 *
 * It needs coreutils (yes, tr, head, sha256sum) for one reference hash.
 */
#include "harness.h"

/* ---- Streaming routes, stream and connection close ------------------------------ */

#define PATTERN "abcdefghijklmnopqrstuvwxyz0123456789" /* what h3client -data-size sends */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* FNV-1a 64 of the first n bytes of the repeating PATTERN. */
static uint64_t fnv_pattern(size_t n) {
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)PATTERN[i % 36]) * FNV_PRIME;
    return h;
}

/* Which streaming route a callback serves: its user pointer. */
enum { ROUTE_UP = 1, ROUTE_ECHO, ROUTE_EARLY };
static int route_up = ROUTE_UP, route_echo = ROUTE_ECHO, route_early = ROUTE_EARLY;

/* Open streaming requests, keyed by connection id and stream id (stream ids
 * repeat across connections). */
typedef struct {
    int used, route;
    uint8_t conn[8];
    uint64_t sid;
    zig_h3_response *resp;
    uint64_t bytes, fnv;
} stream_entry;

/* Where the last request of a route came from. */
typedef struct {
    int seen;
    uint8_t conn[8];
    uint64_t sid;
} stream_key;

/* The main server, for zig_h3_server_response_for_stream in body callbacks. */
static zig_h3_server *stream_server;

static pthread_mutex_t streams_mu = PTHREAD_MUTEX_INITIALIZER;
static stream_entry streams[64];
static stream_key last_up, last_echo, last_early, last_never;
/* Counters, under streams_mu. */
static struct {
    int up_requests, up_completes, echo_completes, echo_write_errors, early_completes, early_chunks;
    uint64_t early_bytes;
    int missing;   /* a chunk or complete callback for an unknown stream */
    int bad_ids;   /* conn_id NULL or not 8 bytes in a body callback */
    int table_full;
    int leftovers; /* entries the stream close callback removed (body never completed) */
    int lookups, lookups_wrong; /* zig_h3_server_response_for_stream in on_body_chunk */
} sc;

static int key_is(const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *kconn, uint64_t ksid) {
    return cl == 8 && conn && sid == ksid && memcmp(conn, kconn, 8) == 0;
}

static void set_key(stream_key *k, const zig_h3_request *req) {
    k->seen = 1;
    k->sid = req->stream_id;
    memset(k->conn, 0, 8);
    if (req->conn_id && req->conn_id_len == 8) memcpy(k->conn, req->conn_id, 8);
}

/* The entry of a stream, or NULL; streams_mu held. */
static stream_entry *find_stream(const uint8_t *conn, size_t cl, uint64_t sid) {
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        if (streams[i].used && key_is(conn, cl, sid, streams[i].conn, streams[i].sid)) return &streams[i];
    return NULL;
}

/* POST /up and POST /echo-stream: keep the response for the body callbacks. */
static void cb_stream_head(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    int route = *(int *)user;
    pthread_mutex_lock(&streams_mu);
    set_key(route == ROUTE_UP ? &last_up : &last_echo, req);
    if (route == ROUTE_UP) sc.up_requests++;
    stream_entry *e = NULL;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0] && !e; i++)
        if (!streams[i].used) e = &streams[i];
    if (e) {
        *e = (stream_entry){.used = 1, .route = route, .sid = req->stream_id, .resp = resp, .fnv = FNV_OFFSET};
        if (req->conn_id && req->conn_id_len == 8) memcpy(e->conn, req->conn_id, 8);
    } else {
        sc.table_full++;
    }
    pthread_mutex_unlock(&streams_mu);
    if (!e) {
        h3.response_status(resp, 503);
        h3.response_end(resp, (const uint8_t *)"table full", 10);
    } else if (route == ROUTE_ECHO) {
        h3.response_header(resp, "x-echo", 6, "stream", 6);
    }
}

/* POST /early: answers 401 before reading any of the body. */
static int early_end_rc = 1;

static void cb_early_head(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    pthread_mutex_lock(&streams_mu);
    set_key(&last_early, req);
    pthread_mutex_unlock(&streams_mu);
    h3.response_status(resp, 401);
    __atomic_store_n(&early_end_rc, h3.response_end(resp, (const uint8_t *)"no", 2), __ATOMIC_SEQ_CST);
}

void on_body_chunk(void *user, const uint8_t *conn, size_t cl, uint64_t sid, const uint8_t *chunk, size_t len) {
    int route = *(int *)user;
    zig_h3_response *echo_to = NULL, *found = NULL;
    int found_rc = stream_server ? h3.server_response_for_stream(stream_server, conn, cl, sid, &found) : ZIG_H3_OK;
    pthread_mutex_lock(&streams_mu);
    if (!conn || cl != 8) sc.bad_ids++;
    if (route == ROUTE_EARLY) {
        sc.early_chunks++;
        sc.early_bytes += len;
    } else {
        stream_entry *e = find_stream(conn, cl, sid);
        if (e && stream_server) {
            /* The library finds the response from (conn_id, stream_id) alone. */
            sc.lookups++;
            if (found_rc != ZIG_H3_OK || found != e->resp) sc.lookups_wrong++;
        }
        if (!e) {
            sc.missing++;
        } else if (route == ROUTE_UP) {
            e->bytes += len;
            e->fnv = fnv1a(e->fnv, chunk, len);
        } else {
            e->bytes += len;
            echo_to = e->resp;
        }
    }
    pthread_mutex_unlock(&streams_mu);
    /* Full duplex: the chunk goes back while the upload goes on. */
    if (echo_to && h3.response_write(echo_to, chunk, len) != ZIG_H3_OK) {
        pthread_mutex_lock(&streams_mu);
        sc.echo_write_errors++;
        pthread_mutex_unlock(&streams_mu);
    }
}

void on_body_complete(void *user, const uint8_t *conn, size_t cl, uint64_t sid) {
    int route = *(int *)user;
    stream_entry e = {0};
    pthread_mutex_lock(&streams_mu);
    if (!conn || cl != 8) sc.bad_ids++;
    if (route == ROUTE_EARLY) {
        sc.early_completes++;
    } else {
        stream_entry *p = find_stream(conn, cl, sid);
        if (p) {
            e = *p;
            p->used = 0;
        } else {
            sc.missing++;
        }
        if (route == ROUTE_UP) sc.up_completes++;
        else sc.echo_completes++;
    }
    pthread_mutex_unlock(&streams_mu);
    if (!e.used) return;
    if (route == ROUTE_UP) {
        char body[96];
        int n = snprintf(body, sizeof body, "bytes=%llu fnv=%016llx", (unsigned long long)e.bytes,
                         (unsigned long long)e.fnv);
        h3.response_end(e.resp, (const uint8_t *)body, (size_t)n);
    } else {
        h3.response_end(e.resp, NULL, 0);
    }
}

/* GET /never: deferred and never ended; the client gives up. */
static zig_h3_response *never_resp;

static void cb_never(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    h3.response_defer_end(resp);
    pthread_mutex_lock(&streams_mu);
    set_key(&last_never, req);
    never_resp = resp;
    pthread_mutex_unlock(&streams_mu);
}

/* Stream and connection close callbacks: a log of what they saw. */
typedef struct {
    uint8_t conn[8];
    uint64_t sid;
    int aborted;
} close_record;

static close_record closes[1024];
static int closes_n, closes_aborted, closes_bad, conn_closes, conn_closes_bad, close_user_bad;

void on_stream_close(void *user, const uint8_t *conn, size_t cl, uint64_t sid, uint8_t aborted) {
    pthread_mutex_lock(&streams_mu);
    if (user != (void *)closes || !conn || cl != 8 || aborted > 1) closes_bad++;
    if (closes_n < (int)(sizeof closes / sizeof closes[0])) {
        close_record *c = &closes[closes_n];
        memset(c, 0, sizeof *c);
        if (conn && cl == 8) memcpy(c->conn, conn, 8);
        c->sid = sid;
        c->aborted = aborted;
    }
    closes_n++;
    closes_aborted += aborted != 0;
    /* A stream whose body never completed (the client gave up): forget it. */
    stream_entry *e = find_stream(conn, cl, sid);
    if (e) {
        e->used = 0;
        sc.leftovers++;
    }
    pthread_mutex_unlock(&streams_mu);
}

void on_connection_close(void *user, const uint8_t *conn, size_t cl) {
    pthread_mutex_lock(&streams_mu);
    if (user != (void *)&conn_closes) close_user_bad++;
    if (!conn || cl != 8) conn_closes_bad++;
    conn_closes++;
    pthread_mutex_unlock(&streams_mu);
}

/* Waits up to 3 s for the stream close callback of k's stream; returns its
 * aborted flag, or -1 if it did not come. */
static int wait_stream_close(const stream_key *k) {
    for (int i = 0; i < 300; i++) {
        int found = -1;
        pthread_mutex_lock(&streams_mu);
        for (int j = 0; j < closes_n && j < (int)(sizeof closes / sizeof closes[0]); j++)
            if (k->seen && key_is(closes[j].conn, 8, closes[j].sid, k->conn, k->sid)) found = closes[j].aborted;
        pthread_mutex_unlock(&streams_mu);
        if (found >= 0) return found;
        sleep_ms(10);
    }
    return -1;
}

/* The streaming routes of the main server, and GET /never. */
void streaming_register(zig_h3_server *s) {
    stream_server = s;
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up", cb_stream_head, on_body_chunk, on_body_complete, NULL, NULL,
                                       &route_up),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/echo-stream", cb_stream_head, on_body_chunk, on_body_complete, NULL,
                                       NULL, &route_echo),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/early", cb_early_head, on_body_chunk, on_body_complete, NULL, NULL,
                                       &route_early),
             ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/never", cb_never, NULL, NULL, NULL), ZIG_H3_OK);
}

/* Sets the real close callbacks (check_setup_errors set and removed them). */
void streaming_set_close_callbacks(zig_h3_server *s) {
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, closes), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, &conn_closes), ZIG_H3_OK);
}

/* ---- Streaming scenarios ---------------------------------------------------------- */

enum { BIG = 5 << 20, MID = 2 << 20 };
/* The aborted flags of the upload and the echo the client reset (see below). */
static int up_abort_flag, echo_abort_flag;

/* Occurrences of needle in hay. */
static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* SHA-256 in hex of the first n bytes of PATTERN, computed by coreutils
 * (independently of h3client). Returns 0 on success. */
static int pattern_sha256(size_t n, char out[65]) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "yes %s | tr -d '\\n' | head -c %zu | sha256sum", PATTERN, n);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%64[0-9a-f]", out) == 1 && strlen(out) == 64;
    return pclose(f) == 0 && ok ? 0 : -1;
}

/* A copy of the streaming counters. */
static __typeof__(sc) sc_now(void) {
    pthread_mutex_lock(&streams_mu);
    __typeof__(sc) c = sc;
    pthread_mutex_unlock(&streams_mu);
    return c;
}

void check_streaming_uploads(void) {
    char want[96], want_json[128];
    snprintf(want, sizeof want, "bytes=%d fnv=%016llx", BIG, (unsigned long long)fnv_pattern(BIG));
    double t0 = now_ms();
    client_result r = client(1, "-data-size %d 'https://127.0.0.1:%d/up'", BIG, port);
    double took = now_ms() - t0;
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "5 MiB streaming upload: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), want) == 0, "5 MiB streaming upload: body [%s], want [%s]", body_of(r.out), want);
    printf("5 MiB streaming upload: %s in %.0f ms\n", body_of(r.out), took);
    free_result(&r);
    CHECK(wait_stream_close(&last_up) == 0, "5 MiB upload: no stream close with aborted=0");

    r = client(1, "-X POST -data-size 0 'https://127.0.0.1:%d/up'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "empty streaming body: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "bytes=0 fnv=cbf29ce484222325") == 0, "empty streaming body: [%s]", body_of(r.out));
    free_result(&r);

    snprintf(want_json, sizeof want_json, "\"body\":\"bytes=%d fnv=%016llx\"", MID, (unsigned long long)fnv_pattern(MID));
    r = client(3, "-json -n 3 -c 3 -data-size %d 'https://127.0.0.1:%d/up'", MID, port);
    CHECK(r.exit_code == 0 && count_str(r.out, "\"status\":200") == 3 && count_str(r.out, want_json) == 3,
          "3 concurrent 2 MiB uploads: exit %d, want 3 times %s:\n%.2000s", r.exit_code, want_json, r.out);
    free_result(&r);
    /* Same stream ids on several connections at once: keyed by connection too. */
    r = client(6, "-json -n 6 -c 6 -conns 3 -data-size %d 'https://127.0.0.1:%d/up'", MID, port);
    CHECK(r.exit_code == 0 && count_str(r.out, want_json) == 6,
          "6 concurrent 2 MiB uploads on 3 connections: exit %d:\n%.2000s", r.exit_code, r.out);
    free_result(&r);

    /* A paced upload arrives whole, and takes its time (256 KiB at 1 MiB/s). */
    snprintf(want, sizeof want, "bytes=%d fnv=%016llx", 256 << 10, (unsigned long long)fnv_pattern(256 << 10));
    t0 = now_ms();
    r = client(1, "-data-size %d -upload-rate 1048576 'https://127.0.0.1:%d/up'", 256 << 10, port);
    took = now_ms() - t0;
    CHECK(r.exit_code == 0 && strcmp(body_of(r.out), want) == 0, "paced upload: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(took >= 200, "paced upload of 256 KiB at 1 MiB/s took %.0f ms", took);
    printf("paced upload (256 KiB at 1 MiB/s) took %.0f ms\n", took);
    free_result(&r);

    /* The client resets the stream after 1 MiB: no complete callback, an
     * aborted stream close (which cleans up the table entry). */
    __typeof__(sc) before = sc_now();
    r = client(1, "-data-size %d -abort-after-send %d 'https://127.0.0.1:%d/up' 2>&1", BIG, 1 << 20, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "aborted after 1048576 bytes\n") == 0,
          "upload aborted by the client: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    /* The stream close callback must come with aborted = 1: the client reset
     * the stream before the response was sent. */
    int up_aborted = wait_stream_close(&last_up);
    up_abort_flag = up_aborted == 1;
    CHECK(up_aborted == 1, "upload aborted by the client: stream close callback gave %d, want aborted=1", up_aborted);
    __typeof__(sc) after = sc_now();
    CHECK(after.up_requests == before.up_requests + 1 && after.up_completes == before.up_completes,
          "upload aborted by the client: requests %d -> %d, completes %d -> %d (want +1, +0)", before.up_requests,
          after.up_requests, before.up_completes, after.up_completes);
    CHECK(after.leftovers == before.leftovers + 1, "upload aborted by the client: stream entry not left over (%d -> %d)",
          before.leftovers, after.leftovers);

    /* zig_h3_server_response_for_stream gave each body callback its response. */
    after = sc_now();
    CHECK(after.lookups > 0 && after.lookups_wrong == 0, "response_for_stream in body callbacks: %d lookups, %d wrong",
          after.lookups, after.lookups_wrong);
    zig_h3_response *none = NULL;
    CHECK_RC(h3.server_response_for_stream(stream_server, last_up.conn, 8, last_up.sid, &none), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_response_for_stream(stream_server, last_up.conn, 7, last_up.sid, &none), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_response_for_stream(stream_server, NULL, 8, 0, &none), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_response_for_stream(stream_server, last_up.conn, 8, last_up.sid, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_response_for_stream(NULL, last_up.conn, 8, last_up.sid, &none), ZIG_H3_ERR_BAD_HANDLE);
}

void check_streaming_echo(void) {
    char sha[65] = "", want[128];
    CHECK(pattern_sha256(BIG, sha) == 0, "sha256sum of the pattern failed");
    snprintf(want, sizeof want, "\"bodySha256\":\"%s\"", sha);
    __typeof__(sc) before = sc_now();
    client_result r = client(1, "-json -discard -data-size %d 'https://127.0.0.1:%d/echo-stream'", BIG, port);
    CHECK(r.exit_code == 0 && strstr(r.out, "\"status\":200") && strstr(r.out, "\"x-echo\":[\"stream\"]"),
          "5 MiB streaming echo: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strstr(r.out, "\"bodyLength\":5242880,") && strstr(r.out, want) && strstr(r.out, "\"body\":\"\""),
          "5 MiB streaming echo: want length 5242880 and %s:\n%s", want, r.out);
    free_result(&r);

    /* Each 64 KiB chunk must come back before the client sends the next. */
    double t0 = now_ms();
    r = client(1, "-duplex -data-size %d 'https://127.0.0.1:%d/echo-stream' 2>&1", BIG, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "duplex ok bytes=5242880\n") == 0, "full duplex echo: exit %d output:\n%s",
          r.exit_code, r.out);
    printf("full duplex echo of 5 MiB in 64 KiB steps took %.0f ms\n", now_ms() - t0);
    free_result(&r);

    r = client(1, "-X POST -data-size 0 'https://127.0.0.1:%d/echo-stream'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && strcmp(body_of(r.out), "") == 0 &&
              has_header(r.out, "x-echo: stream"),
          "empty streaming echo: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    CHECK(wait_stream_close(&last_echo) == 0, "empty streaming echo: no stream close with aborted=0");
    __typeof__(sc) after = sc_now();
    CHECK(after.echo_completes == before.echo_completes + 3 && after.echo_write_errors == before.echo_write_errors,
          "streaming echo: completes %d -> %d (want +3), write errors %d -> %d", before.echo_completes,
          after.echo_completes, before.echo_write_errors, after.echo_write_errors);

    /* The client stops reading after 1 MiB and resets the stream. */
    r = client(1, "-data-size %d -abort-after-read %d 'https://127.0.0.1:%d/echo-stream' 2>&1", BIG, 1 << 20, port);
    CHECK(r.exit_code == 0 && strcmp(r.out, "aborted after 1048576 bytes\n") == 0,
          "echo aborted by the client: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    /* As for the aborted upload: aborted = 1. */
    echo_abort_flag = wait_stream_close(&last_echo);
    CHECK(echo_abort_flag == 1, "echo aborted by the client: stream close callback gave %d, want aborted=1", echo_abort_flag);
    echo_abort_flag = echo_abort_flag == 1;
    after = sc_now();
    CHECK(after.echo_completes == before.echo_completes + 3, "echo aborted by the client: complete callback ran");
}

void check_streaming_early(void) {
    __typeof__(sc) before = sc_now();
    double t0 = now_ms();
    client_result r = client(1, "-data-size %d 'https://127.0.0.1:%d/early' 2>&1", BIG, port);
    double took = now_ms() - t0;
    CHECK(r.exit_code == 0 && status_of(r.out) == 401 && strcmp(body_of(r.out), "no") == 0,
          "answer before the body: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(took < 5000, "answer before the body took %.0f ms", took);
    free_result(&r);
    CHECK(__atomic_load_n(&early_end_rc, __ATOMIC_SEQ_CST) == ZIG_H3_OK, "early response_end returned %d", early_end_rc);
    CHECK(wait_stream_close(&last_early) == 0, "answer before the body: no stream close with aborted=0");
    /* The stream close callback comes after the body callbacks are over. */
    __typeof__(sc) after = sc_now();
    uint64_t got = after.early_bytes - before.early_bytes;
    CHECK(after.early_completes == before.early_completes, "answer before the body: body_complete_cb was called");
    CHECK(got < BIG, "answer before the body: the server still delivered all %llu bytes", (unsigned long long)got);
    printf("401 before the body: client done in %.0f ms; %d chunks (%llu of %d bytes) were delivered\n", took,
           after.early_chunks - before.early_chunks, (unsigned long long)got, BIG);
}

void check_stream_abort(void) {
    client_result r = client(1, "-timeout 300ms 'https://127.0.0.1:%d/never' 2>&1", port);
    CHECK(r.exit_code == 1 && status_of(r.out) == -1, "client giving up on /never: exit %d output:\n%s", r.exit_code,
          r.out);
    free_result(&r);
    CHECK(wait_stream_close(&last_never) == 1, "client giving up: no stream close with aborted=1");
    pthread_mutex_lock(&streams_mu);
    zig_h3_response *resp = never_resp;
    pthread_mutex_unlock(&streams_mu);
    int rc = 0;
    for (int i = 0; i < 100 && (rc = h3.response_end(resp, NULL, 0)) != ZIG_H3_ERR_BAD_HANDLE; i++) sleep_ms(10);
    CHECK(rc == ZIG_H3_ERR_BAD_HANDLE, "response of the aborted stream: end returned %d, want BAD_HANDLE", rc);
}

/* ---- Close callbacks -------------------------------------------------------------- */

/* Every request stream got exactly one stream close callback; every
 * connection a connection close callback. */
void check_close_callbacks(zig_h3_server *s) {
    struct zig_h3_server_stats st = {0};
    int n = 0, aborted = 0, conns = 0;
    for (int i = 0; i < 300; i++) {
        h3.server_stats(s, &st);
        pthread_mutex_lock(&streams_mu);
        n = closes_n, aborted = closes_aborted, conns = conn_closes;
        pthread_mutex_unlock(&streams_mu);
        if (n >= requests_made && (uint64_t)conns >= st.connections_total && st.connections_active == 0) break;
        sleep_ms(10);
    }
    printf("stream close callbacks: %d (%d aborted) for %d requests; connection close callbacks: %d for %llu "
           "connections\n",
           n, aborted, requests_made, conns, (unsigned long long)st.connections_total);
    CHECK(n == requests_made, "%d stream close callbacks for %d requests (do the requests the server answers itself, "
          "404, 405, OPTIONS and 413, get theirs?)", n, requests_made);
    int want_aborted = 1 + up_abort_flag + echo_abort_flag;
    CHECK(aborted == want_aborted, "%d stream close callbacks with aborted=1, want %d (/never, client aborts)", aborted,
          want_aborted);
    CHECK((uint64_t)conns == st.connections_total && conns > 0, "%d connection close callbacks for %llu connections",
          conns, (unsigned long long)st.connections_total);
    pthread_mutex_lock(&streams_mu);
    int used = 0;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) used += streams[i].used;
    CHECK(closes_bad == 0 && conn_closes_bad == 0 && close_user_bad == 0,
          "close callbacks with a bad conn_id, aborted flag or user: stream %d, connection %d, user %d", closes_bad,
          conn_closes_bad, close_user_bad);
    CHECK(sc.missing == 0 && sc.bad_ids == 0 && sc.table_full == 0,
          "body callbacks: %d for unknown streams, %d with a bad conn_id, %d table full", sc.missing, sc.bad_ids,
          sc.table_full);
    CHECK(used == 0 && sc.leftovers == 2, "%d streams still open, %d cleaned up by the close callback (want 0, 2)",
          used, sc.leftovers);
    pthread_mutex_unlock(&streams_mu);
}
