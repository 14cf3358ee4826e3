/* The event queues' store in C memory (eventstore.c). Hidden from the
 * library's users; included by eventstore.go. */
#ifndef ZIG_H3_EVENTSTORE_H
#define ZIG_H3_EVENTSTORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct zh3_store zh3_store;

/* Sets the handle ranges of servers and clients (base < h < limit), before
 * any store is made: a drain finds only its own kind's queues. */
__attribute__((visibility("hidden"))) void zh3_stores_init(uint64_t server_base, uint64_t server_limit,
                                                          uint64_t client_base, uint64_t client_limit);
/* Sets the eventfd rung when a drain frees room that a producer waits for. */
__attribute__((visibility("hidden"))) void zh3_stores_start(int space_fd);
/* A store for the queue of the server or client whose handle is owner,
 * with its doorbell fd; registered so that zig_h3_server_drain and
 * zig_h3_client_drain find it without Go. NULL if out of memory. */
__attribute__((visibility("hidden"))) zh3_store *zh3_store_new(uint64_t owner, int fd, size_t max_events, size_t max_bytes);
/* Copies ev in: 1 taken, 0 full (see bridge.EventStore), -1 out of memory. */
__attribute__((visibility("hidden"))) int zh3_store_push(zh3_store *s, const uint8_t *ev, size_t len, int force);
/* Moves whole events into dst; 0 with *need set when the first does not fit. */
__attribute__((visibility("hidden"))) size_t zh3_store_drain(zh3_store *s, uint8_t *dst, size_t cap, size_t *need);
/* Asks for the space doorbell at the next drain that frees room. */
__attribute__((visibility("hidden"))) void zh3_store_want_space(zh3_store *s);
/* The number of events held, and the size of the oldest (0: none). */
__attribute__((visibility("hidden"))) size_t zh3_store_len(zh3_store *s);
__attribute__((visibility("hidden"))) size_t zh3_store_next_size(zh3_store *s);
/* Unregisters s, waiting for drains in progress: drains by its owner's
 * handle take the Go path from then on. */
__attribute__((visibility("hidden"))) void zh3_store_retire(zh3_store *s);
/* Retires s, discards its events and frees it. */
__attribute__((visibility("hidden"))) void zh3_store_free(zh3_store *s);
#endif
