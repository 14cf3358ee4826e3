/* The event queues' store in C memory, and zig_h3_server_drain and
 * zig_h3_client_drain without entering Go.
 *
 * Bun's JavaScript thread drains its queues once per doorbell. A call into
 * an exported Go function from such a thread needs one of the runtime's Ps
 * and leaves it attached to the thread after returning, until Go's sysmon
 * takes it back (see answers.c); under load, the drain waited for a P most
 * of its time. So every queue's events live here (bridge.EventStore,
 * eventstore.go): Go pushes copies of them, and a drain finds its queue by
 * the server's or client's handle in a table of its own and copies them
 * out, all without Go. A drain this path cannot serve (an unknown handle,
 * a bad argument, an event larger than the buffer) takes the Go path,
 * which gives the exact error. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../include/zig_h3.h"
#include "eventstore.h"
#include "gopaths.h"

typedef struct zh3_event {
    struct zh3_event *next;
    size_t len;
    int size_class; /* of its block (see block_class), or -1: a block of its own size */
} zh3_event; /* followed by len bytes */

/* Event blocks are reused: a block of size class c (class_size) goes back
 * to the process's free list of that class once drained, up to
 * BLOCK_CLASS_CACHE bytes per class. Without it every event cost a malloc
 * on a Go thread and a free on the consumer's, and glibc gave large blocks
 * back to the kernel and faulted them in again: a 64 KiB WebTransport
 * stream echo cost 12 % more CPU (docs/BENCHMARKS.md). A queue's blocks
 * take at most about twice its max_bytes (a class is a power of two plus
 * the headroom that a 64 KiB body chunk's event and block headers need). */
#define BLOCK_MIN_SHIFT 8 /* 256 bytes */
#define BLOCK_CLASSES 10  /* up to 128 KiB */
#define BLOCK_HEADROOM 128
#define BLOCK_CLASS_CACHE ((size_t)2 << 20)

static pthread_mutex_t block_mu = PTHREAD_MUTEX_INITIALIZER; /* guards what follows */
static zh3_event *free_blocks[BLOCK_CLASSES];
static size_t cached[BLOCK_CLASSES]; /* bytes of the blocks on each free list */

/* The bytes of a block of size class c. */
static size_t class_size(int c) { return ((size_t)1 << (BLOCK_MIN_SHIFT + c)) + BLOCK_HEADROOM; }

/* The size class of a block for len event bytes, or -1 if none fits. */
static int block_class(size_t len) {
    size_t need = sizeof(zh3_event) + len;
    for (int c = 0; c < BLOCK_CLASSES; c++)
        if (need <= class_size(c)) return c;
    return -1;
}

/* A block for len event bytes: a cached one, else a new one. */
static zh3_event *block_get(size_t len) {
    int c = block_class(len);
    zh3_event *e = NULL;
    if (c >= 0) {
        pthread_mutex_lock(&block_mu);
        if ((e = free_blocks[c]) != NULL) {
            free_blocks[c] = e->next;
            cached[c] -= class_size(c);
        }
        pthread_mutex_unlock(&block_mu);
    }
    if (e == NULL) e = malloc(c >= 0 ? class_size(c) : sizeof *e + len);
    if (e != NULL) e->size_class = c;
    return e;
}

/* Gives a list of drained blocks back: to their free lists, or to malloc. */
static void blocks_put(zh3_event *list) {
    zh3_event *spill = NULL;
    pthread_mutex_lock(&block_mu);
    for (zh3_event *e = list, *next; e != NULL; e = next) {
        next = e->next;
        int c = e->size_class;
        if (c >= 0 && cached[c] + class_size(c) <= BLOCK_CLASS_CACHE) {
            e->next = free_blocks[c];
            free_blocks[c] = e;
            cached[c] += class_size(c);
        } else {
            e->next = spill;
            spill = e;
        }
    }
    pthread_mutex_unlock(&block_mu);
    for (zh3_event *e = spill, *next; e != NULL; e = next) {
        next = e->next;
        free(e);
    }
}

struct zh3_store {
    struct zh3_store *next_in_bucket; /* the registry's, under registry_lock */
    uint64_t owner;
    int fd;
    size_t max_events, max_bytes;

    pthread_mutex_t mu; /* guards what follows */
    zh3_event *head, *tail;
    size_t events, bytes;
    int want_space;
};

static int space_doorbell = -1;
static uint64_t server_base, server_limit, client_base, client_limit; /* set before any store */

static void ring(int fd) {
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w; /* EAGAIN only if the counter is saturated: still readable */
}

/* ---- The registry: owner handle -> store ---- */

#define REGISTRY_BUCKETS 256
static pthread_rwlock_t registry_lock = PTHREAD_RWLOCK_INITIALIZER;
static zh3_store *registry[REGISTRY_BUCKETS];

static zh3_store **bucket_of(uint64_t owner) { return &registry[(owner ^ owner >> 8) & (REGISTRY_BUCKETS - 1)]; }

/* The registered store of owner; registry_lock is held. */
static zh3_store *find_locked(uint64_t owner) {
    zh3_store *s = *bucket_of(owner);
    while (s != NULL && s->owner != owner) s = s->next_in_bucket;
    return s;
}

/* ---- The store ---- */

void zh3_stores_init(uint64_t sb, uint64_t sl, uint64_t cb, uint64_t cl) {
    server_base = sb;
    server_limit = sl;
    client_base = cb;
    client_limit = cl;
}

void zh3_stores_start(int space_fd) { __atomic_store_n(&space_doorbell, space_fd, __ATOMIC_RELEASE); }

zh3_store *zh3_store_new(uint64_t owner, int fd, size_t max_events, size_t max_bytes) {
    zh3_store *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->owner = owner;
    s->fd = fd;
    s->max_events = max_events;
    s->max_bytes = max_bytes;
    pthread_mutex_init(&s->mu, NULL);
    if (owner != 0) {
        pthread_rwlock_wrlock(&registry_lock);
        if (find_locked(owner) == NULL) { /* one queue per server or client */
            zh3_store **b = bucket_of(owner);
            s->next_in_bucket = *b;
            *b = s;
        }
        pthread_rwlock_unlock(&registry_lock);
    }
    return s;
}

/* Pushes are one at a time (bridge.EventQueue's lock); only drains run
 * beside them, and they only free room. */
int zh3_store_push(zh3_store *s, const uint8_t *ev, size_t len, int force) {
    pthread_mutex_lock(&s->mu);
    if (!force && s->events > 0 && (s->events >= s->max_events || s->bytes + len > s->max_bytes)) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    pthread_mutex_unlock(&s->mu);
    zh3_event *e = block_get(len); /* the copy is made outside the lock: the consumer may be draining */
    if (e == NULL) return -1;
    e->next = NULL;
    e->len = len;
    memcpy(e + 1, ev, len);
    pthread_mutex_lock(&s->mu);
    int was_empty = s->head == NULL;
    if (was_empty) s->head = e; else s->tail->next = e;
    s->tail = e;
    s->events++;
    s->bytes += len;
    pthread_mutex_unlock(&s->mu);
    if (was_empty) ring(s->fd);
    return 1;
}

size_t zh3_store_drain(zh3_store *s, uint8_t *dst, size_t cap, size_t *need) {
    size_t n = 0, taken = 0;
    int space = 0;
    *need = 0;
    pthread_mutex_lock(&s->mu);
    zh3_event *e = s->head, *drained = NULL, **last = &drained;
    while (e != NULL && n + e->len <= cap) {
        memcpy(dst + n, e + 1, e->len);
        n += e->len;
        s->bytes -= e->len;
        s->events--;
        *last = e;
        last = &e->next;
        e = e->next;
        taken++;
    }
    *last = NULL;
    s->head = e;
    if (e == NULL) s->tail = NULL;
    if (taken == 0 && e != NULL) *need = e->len;
    if (taken > 0) {
        space = s->want_space;
        s->want_space = 0;
    }
    pthread_mutex_unlock(&s->mu);
    blocks_put(drained);
    /* Some did not fit: ring again, so that a consumer that drains once per
     * ring (Bun) comes back for them. */
    if (taken > 0 && e != NULL) ring(s->fd);
    if (space) ring(__atomic_load_n(&space_doorbell, __ATOMIC_ACQUIRE));
    return n;
}

void zh3_store_want_space(zh3_store *s) {
    pthread_mutex_lock(&s->mu);
    s->want_space = 1;
    pthread_mutex_unlock(&s->mu);
}

size_t zh3_store_len(zh3_store *s) {
    pthread_mutex_lock(&s->mu);
    size_t n = s->events;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t zh3_store_next_size(zh3_store *s) {
    pthread_mutex_lock(&s->mu);
    size_t n = s->head != NULL ? s->head->len : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void zh3_store_retire(zh3_store *s) {
    pthread_rwlock_wrlock(&registry_lock); /* waits for the drains in progress */
    for (zh3_store **p = bucket_of(s->owner); *p != NULL; p = &(*p)->next_in_bucket) {
        if (*p == s) {
            *p = s->next_in_bucket;
            break;
        }
    }
    pthread_rwlock_unlock(&registry_lock);
}

void zh3_store_free(zh3_store *s) {
    zh3_store_retire(s);
    blocks_put(s->head);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- The drains ---- */

/* Drains the registered queue of owner, a handle of the kind base < h <
 * limit, into (buf, cap); -1 when this path cannot serve the call. */
static int64_t drain_registered(uint64_t owner, uint64_t base, uint64_t limit, uint8_t *buf, size_t cap) {
    if (owner <= base || owner >= limit) return -1;
    if (buf == NULL || cap == 0 || cap > ZIG_H3_MAX_LENGTH) return -1;
    pthread_rwlock_rdlock(&registry_lock);
    zh3_store *s = find_locked(owner);
    size_t n = 0, need = 0;
    if (s != NULL) n = zh3_store_drain(s, buf, cap, &need);
    pthread_rwlock_unlock(&registry_lock);
    if (s == NULL || (n == 0 && need > 0)) return -1;
    return (int64_t)n;
}

int64_t zig_h3_server_drain(zig_h3_server *server, uint8_t *buf, size_t cap) {
    int64_t n = drain_registered((uint64_t)(uintptr_t)server, server_base, server_limit, buf, cap);
    return n >= 0 ? n : zh3_go_server_drain(server, buf, cap);
}

int64_t zig_h3_client_drain(zig_h3_client *client, uint8_t *buf, size_t cap) {
    int64_t n = drain_registered((uint64_t)(uintptr_t)client, client_base, client_limit, buf, cap);
    return n >= 0 ? n : zh3_go_client_drain(client, buf, cap);
}
