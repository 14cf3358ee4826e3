/*
 * send_test.c - zig_h3_response_send and zig_h3_response_send_file on the
 * main server: GET /send sends 1 MiB from a thread, paced by
 * zig_h3_response_process_partial while the client reads at 4 MiB/s, and
 * ends with a trailer; GET /file/:name serves a file (whole, Range, 416,
 * HEAD, 404); GET /declared/:n declares content-length n and sends 11
 * bytes, whole or in two writes.
 */
#include "harness.h"

#include <unistd.h>

/* GET /send: zig_h3_response_send, paced by zig_h3_response_process_partial,
 * ending with a trailer. */
#define SEND_BIG (1 << 20)
static struct {
    int thread_ok;
    pthread_t thread;
    int64_t rc_first, rc_big, rc_last, rc_after;
    int drained, max_partial_seen;
} sendr;

static void *send_thread(void *arg) {
    zig_h3_response *resp = arg;
    uint8_t *big = malloc(SEND_BIG);
    if (!big) abort();
    memset(big, 'x', SEND_BIG);
    sendr.rc_big = h3.response_send(resp, big, SEND_BIG, 0, NULL, 0);
    free(big);
    /* Over the high water mark: pause until the library caught up (low water). */
    for (int i = 0; i < 1000; i++) {
        int p = h3.response_process_partial(resp);
        if (p > sendr.max_partial_seen) sendr.max_partial_seen = p;
        if (p >= 0 && p <= ZIG_H3_RESPONSE_LOW_WATER) {
            sendr.drained = 1;
            break;
        }
        sleep_ms(5);
    }
    static const char trailers[] = "x-sum\0abc\0";
    sendr.rc_last = h3.response_send(resp, (const uint8_t *)"end", 3, 1, (const uint8_t *)trailers, sizeof trailers - 1);
    sendr.rc_after = h3.response_send(resp, (const uint8_t *)"x", 1, 0, NULL, 0);
    return NULL;
}

static void cb_send(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    sendr.rc_first = h3.response_send(resp, (const uint8_t *)"start ", 6, 0, NULL, 0);
    h3.response_defer_end(resp);
    sendr.thread_ok = pthread_create(&sendr.thread, NULL, send_thread, resp) == 0;
    if (!sendr.thread_ok) h3.response_end(resp, NULL, 0);
}

/* GET /file/:name: zig_h3_response_send_file from the test's directory. */
static char file_dir[256];

static void cb_file(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    char path[512];
    const char *name = req->path + 6; /* after "/file/" */
    int n = snprintf(path, sizeof path, "%s/%.*s", file_dir, (int)(req->path_len - 6), name);
    static const char block[] = "x-file\0yes\0";
    int rc = h3.response_send_file(resp, 200, (const uint8_t *)block, sizeof block - 1, path, (size_t)n);
    if (rc != ZIG_H3_OK) {
        h3.response_status(resp, 500);
        h3.response_end(resp, (const uint8_t *)"send_file failed", 16);
    }
}

/* GET /declared/:n[?whole]: content-length n, then "hello world" in two
 * writes, or whole in one zig_h3_response_end with ?whole. */
static void cb_declared(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    const char *n = req->path + 10; /* after "/declared/"; path is not NUL-terminated */
    const char *query = memchr(n, '?', req->path_len - 10);
    size_t n_len = query ? (size_t)(query - n) : req->path_len - 10;
    h3.response_header(resp, "content-length", 14, n, n_len);
    if (query) {
        h3.response_end(resp, (const uint8_t *)"hello world", 11);
        return;
    }
    h3.response_write(resp, (const uint8_t *)"hello", 5);
    h3.response_end(resp, (const uint8_t *)" world", 6);
}

/* The routes of the main server for this part. */
void send_register(zig_h3_server *s) {
    CHECK_RC(h3.server_route(s, "GET", "/send", cb_send, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/file/:name", cb_file, NULL, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "GET", "/declared/:n", cb_declared, NULL, NULL, NULL), ZIG_H3_OK);
}

/* ---- Scenarios ---------------------------------------------------------------------- */

void check_send(void) {
    double t0 = now_ms();
    client_result r = client(1, "-json -discard -read-rate 4194304 'https://127.0.0.1:%d/send'", port);
    double took = now_ms() - t0;
    char want[64];
    snprintf(want, sizeof want, "\"bodyLength\":%d,", 6 + SEND_BIG + 3);
    CHECK(r.exit_code == 0 && strstr(r.out, "\"status\":200") && strstr(r.out, want),
          "response_send: exit %d, want %s:\n%s", r.exit_code, want, r.out);
    CHECK(strstr(r.out, "\"trailers\":{\"x-sum\":[\"abc\"]}") != NULL, "response_send trailer:\n%s", r.out);
    CHECK(took >= 200, "1 MiB read at 4 MiB/s took %.0f ms", took);
    free_result(&r);
    CHECK(sendr.thread_ok, "/send thread not started");
    if (!sendr.thread_ok) return;
    pthread_join(sendr.thread, NULL);
    printf("response_send returned %lld, %lld (max pending seen %d), %lld; paced read took %.0f ms\n",
           (long long)sendr.rc_first, (long long)sendr.rc_big, sendr.max_partial_seen, (long long)sendr.rc_last, took);
    CHECK(sendr.rc_first == 6, "send of 6 bytes before the head went out returned %lld", (long long)sendr.rc_first);
    CHECK(sendr.rc_big >= SEND_BIG && sendr.rc_big <= SEND_BIG + 6, "send of 1 MiB returned %lld pending",
          (long long)sendr.rc_big);
    CHECK(sendr.drained, "pending bytes never went down to the low water mark (max seen %d)", sendr.max_partial_seen);
    CHECK(sendr.rc_last >= 0 && sendr.rc_last <= ZIG_H3_RESPONSE_LOW_WATER + 3, "send with end and trailers returned %lld",
          (long long)sendr.rc_last);
    CHECK(ENDED(sendr.rc_after), "send after the end returned %lld, want CLOSED or BAD_HANDLE", (long long)sendr.rc_after);
}

void check_send_file(void) {
    snprintf(file_dir, sizeof file_dir, "/tmp/zig-h3-c-test-XXXXXX");
    CHECK(mkdtemp(file_dir) != NULL, "mkdtemp failed");
    char path[300];
    snprintf(path, sizeof path, "%s/data.txt", file_dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs("abcdefghij", f);
    fclose(f);

    client_result r = client(1, "'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && strcmp(body_of(r.out), "abcdefghij") == 0,
          "send_file: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(has_header(r.out, "content-length: 10") && has_header(r.out, "x-file: yes") &&
              has_header(r.out, "content-type: text/plain; charset=utf-8") && has_header(r.out, "accept-ranges: bytes"),
          "send_file headers:\n%s", r.out);
    free_result(&r);
    r = client(1, "-H 'range: bytes=2-4' 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 206 && strcmp(body_of(r.out), "cde") == 0 &&
              has_header(r.out, "content-range: bytes 2-4/10") && has_header(r.out, "content-length: 3"),
          "send_file range 2-4: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-H 'range: bytes=99-' 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 416 && has_header(r.out, "content-range: bytes */10"),
          "send_file range 99-: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "-X HEAD 'https://127.0.0.1:%d/file/data.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && has_header(r.out, "content-length: 10") &&
              strcmp(body_of(r.out), "") == 0,
          "send_file HEAD: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    r = client(1, "'https://127.0.0.1:%d/file/missing.txt'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 404, "send_file of a missing file: exit %d output:\n%s", r.exit_code,
          r.out);
    free_result(&r);
    unlink(path);
    rmdir(file_dir);
}

/* A whole body gets its own length and no sniffed type; a streamed one that
 * breaks the declared length is reset (the client fails) instead of arriving
 * cut. */
void check_declared_length(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/declared/3?whole'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && has_header(r.out, "content-length: 11") &&
              strcmp(body_of(r.out), "hello world") == 0,
          "whole body declared 3: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strstr(r.out, "content-type") == NULL, "a body without a declared type got one (sniffed):\n%s", r.out);
    free_result(&r);
    r = client(1, "'https://127.0.0.1:%d/declared/11'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200 && strcmp(body_of(r.out), "hello world") == 0,
          "streamed body declared 11: exit %d output:\n%s", r.exit_code, r.out);
    free_result(&r);
    const char *wrong[] = {"5", "20"};
    for (int i = 0; i < 2; i++) {
        r = client(1, "'https://127.0.0.1:%d/declared/%s' 2>&1", port, wrong[i]);
        CHECK(r.exit_code != 0 && strstr(r.out, "H3_INTERNAL_ERROR") != NULL,
              "streamed body declared %s: exit %d output:\n%s", wrong[i], r.exit_code, r.out);
        free_result(&r);
    }
}
