/*
 * c-bench.h - what the C benchmark servers (c-server.c, c-queue.c) share:
 * the library's functions loaded with dlopen, the stop signals, and the
 * server's configuration from the BENCH_* environment. Include it after
 * defining PROG (the program's name, for messages) and FUNCS(X) (X of each
 * zig_h3_ function used, without the prefix; last_error among them).
 */
#ifndef C_BENCH_H
#define C_BENCH_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/zig_h3.h"

#define FIELD(name) __typeof__(&zig_h3_##name) name;
static struct { FUNCS(FIELD) } h3;
#undef FIELD

static const char plain[] = "content-type\0text/plain;charset=utf-8\0";
static const char octets[] = "content-type\0application/octet-stream\0";

/* Exits after a failed library call, with the library's reason. */
static void die(const char *what) {
    fprintf(stderr, PROG ": %s: %s\n", what, h3.last_error ? h3.last_error() : "");
    exit(1);
}

/* Exits after a failed system call, with errno's reason. */
static void __attribute__((unused)) die_errno(const char *what) {
    fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Blocks SIGTERM and SIGINT, recording them in stop_signals, before the Go
 * runtime starts its threads (they inherit the mask), so that only a
 * sigwait on stop_signals receives them; then loads the library (argv[1],
 * default build/libzigh3.so) into h3. Exits on failure. */
static void bench_load(int argc, char **argv, sigset_t *stop_signals) {
    sigemptyset(stop_signals);
    sigaddset(stop_signals, SIGTERM);
    sigaddset(stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
    const char *lib_path = argc > 1 ? argv[1] : "build/libzigh3.so";
    void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, PROG ": dlopen %s: %s\n", lib_path, dlerror());
        exit(1);
    }
#define LOAD(name)                                                               \
    if (!(h3.name = (__typeof__(&zig_h3_##name))dlsym(lib, "zig_h3_" #name))) {  \
        fprintf(stderr, PROG ": dlsym zig_h3_" #name ": %s\n", dlerror());       \
        exit(1);                                                                 \
    }
    FUNCS(LOAD)
#undef LOAD
}

/* Creates the server from BENCH_CERT, BENCH_KEY and BENCH_PORT (default 0)
 * on 127.0.0.1. Exits on failure. */
static zig_h3_server *bench_server(void) {
    const char *port = getenv("BENCH_PORT");
    zig_h3_server_config cfg = {
        .cert_path = getenv("BENCH_CERT"),
        .key_path = getenv("BENCH_KEY"),
        .bind_addr = "127.0.0.1",
        .bind_port = (uint16_t)(port ? atoi(port) : 0),
        /* As in bun-lib.ts and go-core, whose datagram and WebTransport
         * routes turn these on: connections take the same path in the core. */
        .enable_dgram = 1,
        .enable_webtransport = 1,
    };
    zig_h3_server *s = h3.server_new(&cfg);
    if (!s) die("server_new");
    return s;
}

/* Prints the server's port (the runner waits for this line). */
static void bench_ready(zig_h3_server *s) {
    printf("%d\n", h3.server_port(s));
    fflush(stdout);
}

#endif
