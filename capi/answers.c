/* zig_h3_response_respond without entering Go.
 *
 * A call from a thread Go did not start (Bun's JavaScript thread, a C
 * consumer of the event queue) into an exported Go function needs one of
 * the runtime's Ps. Under load both are busy, so the call waits; when it
 * returns, Go leaves the P attached to the calling thread, as in a system
 * call, until its sysmon thread takes it back and wakes another thread to
 * run it. The response's goroutine is also woken from there, one futex wake
 * per response. That was most of what each answer cost the JavaScript
 * thread (docs/BENCHMARKS.md).
 *
 * So a complete answer (end != 0) to a request delivered through the event
 * queue is checked here, as the Go path would check it, copied into C
 * memory and queued; an eventfd wakes one goroutine (answers.go), which
 * applies the queued answers in batches. Whatever this path cannot decide
 * exactly as Go would (a handle it does not know, an argument Go would
 * refuse, a full queue) takes the Go path, which gives the exact result.
 *
 * Each open response has a slot, a word holding its handle number and
 * state: OPEN (this path may answer it) or CLAIMED (an answer is queued).
 * Go opens the slot before the request event is queued, and revokes it
 * before any other call on the handle and when the response finishes; a
 * revoke that finds the slot CLAIMED applies the queue first, so calls on
 * one handle keep their order. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../include/zig_h3.h"
#include "answers.h"
#include "gopaths.h"

/* Slots, a power of two: a response whose slot is held by another open
 * one takes the Go path. */
#define ANSWER_SLOTS 65536
/* Queued answers and their bytes at most; beyond, the Go path. */
#define ANSWER_MAX_PENDING 4096
#define ANSWER_MAX_PENDING_BYTES ((size_t)64 << 20)
/* Larger bodies and header blocks take the Go path, which copies them
 * once instead of twice. */
#define ANSWER_MAX_BODY ((size_t)1 << 20)
#define ANSWER_MAX_HEADERS ((size_t)64 << 10)

enum { SLOT_OPEN = 1, SLOT_CLAIMED = 2 };

static uint64_t slots[ANSWER_SLOTS];
static uint64_t handle_base, handle_limit; /* set before any server exists */
static int doorbell = -1;                  /* atomic; -1 until zh3_answers_start */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static zh3_answer *head, *tail; /* guarded by mu, as the counts */
static size_t pending, pending_bytes;

static uint64_t *slot_of(uint64_t n) { return &slots[n & (ANSWER_SLOTS - 1)]; }

static int number_of(uint64_t h, uint64_t *n) {
    if (h <= handle_base || h >= handle_limit) return 0;
    *n = h - handle_base;
    return 1;
}

void zh3_answers_init(uint64_t base, uint64_t limit) {
    handle_base = base;
    handle_limit = limit;
}

void zh3_answers_start(int fd) { __atomic_store_n(&doorbell, fd, __ATOMIC_RELEASE); }

int zh3_answers_open(uint64_t h) {
    uint64_t n, empty = 0;
    if (!number_of(h, &n)) return 0;
    return __atomic_compare_exchange_n(slot_of(n), &empty, n << 2 | SLOT_OPEN, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int zh3_answers_revoke(uint64_t h) {
    uint64_t n;
    if (!number_of(h, &n)) return 0;
    uint64_t open = n << 2 | SLOT_OPEN;
    if (__atomic_compare_exchange_n(slot_of(n), &open, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 0;
    return open == (n << 2 | SLOT_CLAIMED); /* open now holds what the slot held */
}

zh3_answer *zh3_answers_take(void) {
    pthread_mutex_lock(&mu);
    zh3_answer *list = head;
    head = tail = NULL;
    pending = pending_bytes = 0;
    pthread_mutex_unlock(&mu);
    return list;
}

void zh3_answers_done(zh3_answer *a) {
    uint64_t n;
    if (number_of(a->handle, &n)) {
        uint64_t claimed = n << 2 | SLOT_CLAIMED;
        __atomic_compare_exchange_n(slot_of(n), &claimed, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    free(a);
}

/* The token characters of a header name (server.ValidateField). */
static int is_token_char(uint8_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Whether a header block is one the Go path accepts: NUL-terminated name
 * and value pairs, names of token characters, values without CR or LF. */
static int headers_valid(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && p[i] != 0) {
            if (!is_token_char(p[i])) return 0;
            i++;
        }
        if (i == len || i == start) return 0;
        i++;
        while (i < len && p[i] != 0) {
            if (p[i] == '\r' || p[i] == '\n') return 0;
            i++;
        }
        if (i == len) return 0;
        i++;
    }
    return 1;
}

/* A copy of the answer, or NULL when it takes the Go path. */
static zh3_answer *answer_new(uint64_t h, uint16_t status, const uint8_t *headers, size_t headers_len,
                              const uint8_t *body, size_t body_len) {
    uint64_t n;
    if (__atomic_load_n(&doorbell, __ATOMIC_ACQUIRE) < 0 || !number_of(h, &n)) return NULL;
    if (status < 200 || status > 599 || body_len > ANSWER_MAX_BODY || headers_len > ANSWER_MAX_HEADERS) return NULL;
    if ((headers_len > 0 && headers == NULL) || (body_len > 0 && body == NULL)) return NULL;
    if (!headers_valid(headers, headers_len)) return NULL;
    zh3_answer *a = malloc(sizeof *a + headers_len + body_len);
    if (a == NULL) return NULL;
    uint8_t *data = (uint8_t *)(a + 1);
    if (headers_len > 0) memcpy(data, headers, headers_len);
    if (body_len > 0) memcpy(data + headers_len, body, body_len);
    *a = (zh3_answer){.handle = h, .status = status, .headers = data, .headers_len = headers_len,
                      .body = data + headers_len, .body_len = body_len};
    return a;
}

/* Queues a if its handle's slot is OPEN and the queue has room. */
static int answer_queue(zh3_answer *a) {
    uint64_t n;
    number_of(a->handle, &n);
    size_t size = a->headers_len + a->body_len;
    pthread_mutex_lock(&mu);
    uint64_t open = n << 2 | SLOT_OPEN;
    if (pending >= ANSWER_MAX_PENDING || pending_bytes + size > ANSWER_MAX_PENDING_BYTES ||
        !__atomic_compare_exchange_n(slot_of(n), &open, n << 2 | SLOT_CLAIMED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&mu);
        return 0;
    }
    int was_empty = head == NULL;
    if (was_empty) head = a; else tail->next = a;
    tail = a;
    pending++;
    pending_bytes += size;
    pthread_mutex_unlock(&mu);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t w = write(__atomic_load_n(&doorbell, __ATOMIC_ACQUIRE), &one, sizeof one);
        (void)w; /* EAGAIN only if the counter is saturated: still readable */
    }
    return 1;
}

int zig_h3_response_respond(zig_h3_response *resp, uint16_t status, const uint8_t *headers, size_t headers_len, const uint8_t *body, size_t body_len, uint8_t end) {
    zh3_answer *a = end ? answer_new((uint64_t)(uintptr_t)resp, status, headers, headers_len, body, body_len) : NULL;
    if (a != NULL) {
        if (answer_queue(a)) return ZIG_H3_OK;
        free(a);
    }
    return zh3_go_respond(resp, status, headers, headers_len, body, body_len, end);
}
