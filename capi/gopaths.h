/* The Go paths of the calls that answers.c and eventstore.c serve in C
 * when they can (gopaths.c). Hidden from the library's users. */
#ifndef ZIG_H3_GOPATHS_H
#define ZIG_H3_GOPATHS_H
#include <stddef.h>
#include <stdint.h>

__attribute__((visibility("hidden"))) int zh3_go_respond(void *resp, uint16_t status, const uint8_t *headers,
                                                        size_t headers_len, const uint8_t *body, size_t body_len,
                                                        uint8_t end);
__attribute__((visibility("hidden"))) int64_t zh3_go_server_drain(void *server, uint8_t *buf, size_t cap);
__attribute__((visibility("hidden"))) int64_t zh3_go_client_drain(void *client, uint8_t *buf, size_t cap);
#endif
