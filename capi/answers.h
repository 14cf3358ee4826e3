/* The answer queue: zig_h3_response_respond's path that never enters Go
 * (answers.c). Hidden from the library's users; included by answers.go. */
#ifndef ZIG_H3_ANSWERS_H
#define ZIG_H3_ANSWERS_H
#include <stddef.h>
#include <stdint.h>

/* One complete answer (end != 0) to a queued request, copied out of the
 * caller's memory: data holds the header block, then the body. */
typedef struct zh3_answer {
    struct zh3_answer *next;
    uint64_t handle;
    uint16_t status;
    const uint8_t *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
} zh3_answer;

/* Sets the range of response handles (base < h < limit), before any
 * server exists. */
__attribute__((visibility("hidden"))) void zh3_answers_init(uint64_t base, uint64_t limit);
/* Turns the queue on: the first answer of an empty queue makes fd (an
 * eventfd) readable. */
__attribute__((visibility("hidden"))) void zh3_answers_start(int fd);
/* Lets zig_h3_response_respond answer handle h on the queue, until
 * zh3_answers_revoke; 0 when another open handle holds its slot. */
__attribute__((visibility("hidden"))) int zh3_answers_open(uint64_t h);
/* Takes handle h off the queue's path. 1 when an answer to h is queued:
 * apply the queue (zh3_answers_take) and call again. */
__attribute__((visibility("hidden"))) int zh3_answers_revoke(uint64_t h);
/* Takes every queued answer, oldest first. */
__attribute__((visibility("hidden"))) zh3_answer *zh3_answers_take(void);
/* Frees an applied answer and releases its handle's slot. */
__attribute__((visibility("hidden"))) void zh3_answers_done(zh3_answer *a);
#endif
