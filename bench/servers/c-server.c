/*
 * c-server.c - benchmark server (d): this library with C handlers through
 * the C ABI (include/zig_h3.h), loaded with dlopen.
 *
 * Routes: GET /small, POST /echo-small, GET /download?bytes=N (a thread
 * per response sends 64 KiB chunks with zig_h3_response_send, pacing
 * itself on the pending byte count), GET /file (zig_h3_response_send_file
 * of $BENCH_FILE), POST /upload (streaming route: counts the body chunks,
 * answers the byte count), GET /stats (zig_h3_server_counters as JSON).
 *
 *   cc -O2 -o build/bench/c-server bench/servers/c-server.c -ldl -lpthread
 *   BENCH_CERT=... BENCH_KEY=... BENCH_FILE=... build/bench/c-server build/libzigh3.so
 *
 * Prints the UDP port on stdout when ready; stops on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "c-server"
#define FUNCS(X)                                                                          \
    X(last_error) X(server_new) X(server_start) X(server_stop) X(server_free)             \
    X(server_port) X(server_route) X(server_route_streaming) X(server_set_stream_close_cb) \
    X(response_respond) X(response_send) X(response_send_file) X(response_defer_end)      \
    X(response_process_partial) X(response_end) X(server_counters)
#include "c-bench.h"

static const char *bench_file;

static void on_small(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user, (void)req;
    h3.response_respond(resp, 200, (const uint8_t *)plain, sizeof plain - 1, (const uint8_t *)"hello", 5, 1);
}

static void on_echo(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    h3.response_respond(resp, 200, NULL, 0, req->body, req->body_len, 1);
}

static void on_file(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user, (void)req;
    h3.response_send_file(resp, 200, NULL, 0, bench_file, strlen(bench_file));
}

/* ---- GET /download?bytes=N ------------------------------------------------- */

static uint8_t chunk[64 * 1024];

typedef struct {
    zig_h3_response *resp;
    long long left;
} download_job;

static void pause_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void *download_thread(void *arg) {
    download_job *job = arg;
    while (job->left > 0) {
        size_t k = job->left < (long long)sizeof chunk ? (size_t)job->left : sizeof chunk;
        job->left -= (long long)k;
        int64_t pending = h3.response_send(job->resp, chunk, k, job->left == 0, NULL, 0);
        if (pending < 0) break;
        while (pending >= (1 << 20)) { /* keep about 1 MiB recorded, not more */
            pause_us(50);
            pending = h3.response_process_partial(job->resp);
            if (pending < 0) goto done;
        }
    }
done:
    free(job);
    return NULL;
}

static void on_download(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    long long n = 0;
    char path[256]; /* req->path is not NUL-terminated */
    size_t len = req->path_len < sizeof path - 1 ? req->path_len : sizeof path - 1;
    memcpy(path, req->path, len);
    path[len] = 0;
    const char *q = strstr(path, "bytes=");
    if (q) n = strtoll(q + 6, NULL, 10);
    if (n <= 0) {
        h3.response_respond(resp, 200, (const uint8_t *)octets, sizeof octets - 1, NULL, 0, 1);
        return;
    }
    h3.response_defer_end(resp);
    h3.response_respond(resp, 200, (const uint8_t *)octets, sizeof octets - 1, NULL, 0, 0);
    download_job *job = malloc(sizeof *job);
    job->resp = resp;
    job->left = n;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, download_thread, job) != 0) {
        free(job);
        h3.response_end(resp, NULL, 0);
    }
    pthread_attr_destroy(&attr);
}

/* ---- POST /upload (streaming) -------------------------------------------- */

/* Open uploads, keyed by connection id and stream id. */
typedef struct {
    int used, have_resp;
    uint64_t conn, sid, bytes;
    zig_h3_response *resp;
} upload;

#define UPLOADS 1024
static upload uploads[UPLOADS];
static pthread_mutex_t uploads_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t conn_key(const uint8_t *c, size_t n) {
    uint64_t k = 0;
    if (c && n == 8) memcpy(&k, c, 8);
    return k;
}

/* The entry of (conn, sid), created if absent; uploads_mu held. */
static upload *find_upload(uint64_t conn, uint64_t sid, int create) {
    size_t h = (size_t)((conn * 0x9e3779b97f4a7c15ULL) ^ sid) % UPLOADS;
    for (size_t i = 0; i < UPLOADS; i++) {
        upload *u = &uploads[(h + i) % UPLOADS];
        if (u->used && u->conn == conn && u->sid == sid) return u;
        if (!u->used && create) {
            *u = (upload){.used = 1, .conn = conn, .sid = sid};
            return u;
        }
    }
    return NULL;
}

static void on_upload(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    h3.response_defer_end(resp);
    pthread_mutex_lock(&uploads_mu);
    upload *u = find_upload(conn_key(req->conn_id, req->conn_id_len), req->stream_id, 1);
    if (u) u->resp = resp, u->have_resp = 1;
    pthread_mutex_unlock(&uploads_mu);
    if (!u) h3.response_respond(resp, 503, NULL, 0, NULL, 0, 1);
}

static void on_upload_chunk(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id,
                            const uint8_t *data, size_t len) {
    (void)user, (void)data;
    pthread_mutex_lock(&uploads_mu);
    upload *u = find_upload(conn_key(conn_id, conn_id_len), stream_id, 1);
    if (u) u->bytes += len;
    pthread_mutex_unlock(&uploads_mu);
}

static void on_upload_done(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id) {
    (void)user;
    pthread_mutex_lock(&uploads_mu);
    upload *u = find_upload(conn_key(conn_id, conn_id_len), stream_id, 0);
    zig_h3_response *resp = NULL;
    uint64_t bytes = 0;
    if (u && u->have_resp) {
        resp = u->resp, bytes = u->bytes;
        u->used = 0;
    }
    pthread_mutex_unlock(&uploads_mu);
    if (resp) {
        char text[32];
        int n = snprintf(text, sizeof text, "%llu", (unsigned long long)bytes);
        h3.response_respond(resp, 200, (const uint8_t *)plain, sizeof plain - 1, (const uint8_t *)text, (size_t)n, 1);
    }
}

/* Forgets uploads whose stream ended without a complete body. */
static void on_stream_close(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id,
                            uint8_t aborted) {
    (void)user, (void)aborted;
    pthread_mutex_lock(&uploads_mu);
    upload *u = find_upload(conn_key(conn_id, conn_id_len), stream_id, 0);
    if (u) u->used = 0;
    pthread_mutex_unlock(&uploads_mu);
}

/* ---- GET /stats ------------------------------------------------------------ */

static zig_h3_server *server;

static void on_stats(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user, (void)req;
    uint64_t c[ZIG_H3_COUNTER_COUNT] = {0};
    h3.server_counters(server, c, ZIG_H3_COUNTER_COUNT);
    char body[512];
    int n = snprintf(body, sizeof body,
                     "{\"connectionsTotal\":%llu,\"connectionsActive\":%llu,\"requests\":%llu,\"uptimeMs\":%llu,"
                     "\"requestsActive\":%llu,\"requestsRejected\":%llu,\"eventsDropped\":%llu,"
                     "\"datagramsReceived\":%llu,\"datagramsSent\":%llu,\"datagramsDropped\":%llu,\"sessionsActive\":%llu}",
                     (unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2], (unsigned long long)c[3],
                     (unsigned long long)c[4], (unsigned long long)c[5], (unsigned long long)c[6], (unsigned long long)c[7],
                     (unsigned long long)c[8], (unsigned long long)c[9], (unsigned long long)c[10]);
    static const char json[] = "content-type\0application/json\0";
    h3.response_respond(resp, 200, (const uint8_t *)json, sizeof json - 1, (const uint8_t *)body, (size_t)n, 1);
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv) {
    sigset_t set;
    bench_load(argc, argv, &set);
    memset(chunk, 'x', sizeof chunk);
    bench_file = getenv("BENCH_FILE");
    if (!bench_file) bench_file = "";
    zig_h3_server *s = server = bench_server();
    if (h3.server_route(s, "GET", "/small", on_small, NULL, NULL, NULL) ||
        h3.server_route(s, "POST", "/echo-small", on_echo, NULL, NULL, NULL) ||
        h3.server_route(s, "GET", "/download", on_download, NULL, NULL, NULL) ||
        h3.server_route(s, "GET", "/file", on_file, NULL, NULL, NULL) ||
        h3.server_route(s, "GET", "/stats", on_stats, NULL, NULL, NULL) ||
        h3.server_route_streaming(s, "POST", "/upload", on_upload, on_upload_chunk, on_upload_done, NULL, NULL, NULL) ||
        h3.server_set_stream_close_cb(s, on_stream_close, NULL))
        die("route");
    if (h3.server_start(s)) die("start");
    bench_ready(s);

    int sig;
    sigwait(&set, &sig);
    h3.server_stop(s, 1);
    h3.server_free(s);
    return 0;
}
