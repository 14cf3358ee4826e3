/*
 * answers_test.c - event-queue requests answered with
 * zig_h3_response_respond, the call whose complete answers skip Go
 * (capi/answers.c): what it accepts, what it leaves to the Go path (with
 * the same return codes), the order of calls on one response, and many
 * answers at once.
 *
 * A server in event-queue mode, a thread that drains its queue and answers
 * each request by its route's tag, and the Go client.
 */
#include <poll.h>
#include <unistd.h>

#include "harness.h"

enum { TAG_FAST = 1, TAG_BAD_HEADERS, TAG_BAD_STATUS, TAG_BIG, TAG_PARTS };

/* Over the 1 MiB that answers.c queues: the Go path answers it. */
#define BIG_LEN ((1u << 20) + 7)

static const char answer_routes[] = "{\"routes\":["
                                    "{\"method\":\"GET\",\"pattern\":\"/fast\",\"tag\":1},"
                                    "{\"method\":\"GET\",\"pattern\":\"/bad-headers\",\"tag\":2},"
                                    "{\"method\":\"GET\",\"pattern\":\"/bad-status\",\"tag\":3},"
                                    "{\"method\":\"GET\",\"pattern\":\"/big\",\"tag\":4},"
                                    "{\"method\":\"GET\",\"pattern\":\"/parts\",\"tag\":5}]}";

static const char text_headers[] = "content-type\0text/plain\0x-answer\0queued"; /* + the last NUL */
#define HDRS(s) (const uint8_t *)(s), sizeof(s)

static uint8_t *big_body;
static int answered;

/* Answers one request event as its tag says; wrong return codes become notes. */
static void answer(const zig_h3_event_request *r) {
    zig_h3_response *resp = (zig_h3_response *)(uintptr_t)r->handle;
    switch (r->tag) {
    case TAG_FAST:
        CLIENT_EXPECT(h3.response_respond(resp, 200, HDRS(text_headers), (const uint8_t *)"hello", 5, 1), ZIG_H3_OK);
        /* The queued answer is applied before any later call: the response has ended. */
        if (!ENDED(h3.response_write(resp, (const uint8_t *)"x", 1))) client_note(" [write after a queued answer]");
        if (!ENDED(h3.response_respond(resp, 200, NULL, 0, (const uint8_t *)"again", 5, 1)))
            client_note(" [second answer accepted]");
        break;
    case TAG_BAD_HEADERS:
        CLIENT_EXPECT(h3.response_respond(resp, 200, HDRS("bad name\0v"), NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, HDRS("x-v\0a\rb"), NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, (const uint8_t *)"\0v\0", 3, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, (const uint8_t *)"x-unterminated", 14, NULL, 0, 1),
                      ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, NULL, 3, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, NULL, 0, NULL, 5, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 200, NULL, 0, (const uint8_t *)"fixed", 5, 1), ZIG_H3_OK);
        break;
    case TAG_BAD_STATUS:
        CLIENT_EXPECT(h3.response_respond(resp, 199, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 600, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
        CLIENT_EXPECT(h3.response_respond(resp, 201, NULL, 0, (const uint8_t *)"created", 7, 1), ZIG_H3_OK);
        break;
    case TAG_BIG:
        CLIENT_EXPECT(h3.response_respond(resp, 200, NULL, 0, big_body, BIG_LEN, 1), ZIG_H3_OK);
        break;
    case TAG_PARTS: /* end == 0 takes the Go path; the rest follows in order */
        CLIENT_EXPECT(h3.response_respond(resp, 200, HDRS(text_headers), (const uint8_t *)"one ", 4, 0), ZIG_H3_OK);
        CLIENT_EXPECT(h3.response_end(resp, (const uint8_t *)"two", 3), ZIG_H3_OK);
        break;
    default:
        client_note(" [unknown tag %u]", r->tag);
    }
    INC(answered);
}

static int answers_stop;

/* Polls the event fd and answers every request until answers_stop. */
static void *answer_thread(void *arg) {
    zig_h3_server *s = arg;
    int fd = h3.server_event_fd(s);
    size_t cap = 64 * 1024;
    uint8_t *buf = malloc(cap);
    while (!LOAD(answers_stop) && fd >= 0 && buf != NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0) continue;
        uint64_t v;
        if (read(fd, &v, sizeof v) < 0) { /* non-blocking: EAGAIN is fine */ }
        for (int64_t n; (n = h3.server_drain(s, buf, cap)) > 0;) {
            const zig_h3_event_header *e;
            for (int64_t off = 0; off + 8 <= n && (e = (const void *)(buf + off))->length >= 8; off += e->length)
                if (e->type == ZIG_H3_EVENT_REQUEST) answer((const void *)e);
        }
    }
    free(buf);
    return NULL;
}

/* Runs the client against path and checks status and body. */
static void expect_answer(int p, const char *path, int status, const char *body) {
    client_result r = client(1, "'https://127.0.0.1:%d%s'", p, path);
    CHECK(r.exit_code == 0 && status_of(r.out) == status, "%s: exit %d, want %d:\n%s", path, r.exit_code, status, r.out);
    CHECK(strcmp(body_of(r.out), body) == 0, "%s body: [%s], want [%s]", path, body_of(r.out), body);
    free_result(&r);
}

void check_queue_answers(void) {
    double t0 = now_ms();
    zig_h3_server *s = new_local_server("answers", 0, 0);
    if (!s) return;
    big_body = malloc(BIG_LEN);
    fill_pattern(big_body, BIG_LEN, 0);
    CHECK_RC(h3.server_set_event_routes(s, answer_routes, sizeof answer_routes - 1), ZIG_H3_OK);
    CHECK_RC(h3.server_event_fd(s) >= 0, 1);
    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    int p = h3.server_port(s);
    pthread_t t;
    int started = pthread_create(&t, NULL, answer_thread, s) == 0;
    CHECK(started, "answer thread");

    expect_answer(p, "/fast", 200, "hello");
    client_result r = client(1, "-json 'https://127.0.0.1:%d/fast'", p);
    CHECK(strstr(r.out, "queued") != NULL, "/fast headers: %s", r.out);
    free_result(&r);
    expect_answer(p, "/bad-headers", 200, "fixed");
    expect_answer(p, "/bad-status", 201, "created");
    expect_answer(p, "/parts", 200, "one two");

    r = client(1, "-json -discard 'https://127.0.0.1:%d/big'", p);
    CHECK(r.exit_code == 0 && json_int(r.out, "status", 0) == 200 && json_int(r.out, "bodyLength", 0) == (long)BIG_LEN,
          "/big: exit %d: %s", r.exit_code, r.out);
    free_result(&r);

    /* Many answers queued at once, over two connections. */
    r = client(400, "-n 400 -c 64 -conns 2 -json 'https://127.0.0.1:%d/fast'", p);
    int hellos = 0;
    for (const char *q = r.out; (q = strstr(q, "\"body\":\"hello\"")) != NULL; q++) hellos++;
    CHECK(r.exit_code == 0 && hellos == 400, "400 at once: exit %d, %d answered", r.exit_code, hellos);
    free_result(&r);

    printf("queue answers: %d requests answered in %.0f ms\n", LOAD(answered), now_ms() - t0);
    STORE(answers_stop, 1);
    if (started) pthread_join(t, NULL);
    client_check_notes("queue answers");
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_OK);
    h3.server_free(s);
    free(big_body);
}
