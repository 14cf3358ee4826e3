/* The Go paths of zig_h3_response_respond, zig_h3_server_drain and
 * zig_h3_client_drain: calls of the Go exports, checked against cgo's own
 * prototypes (which differ from the header's in const only). */
#include "_cgo_export.h"
#include "gopaths.h"

int zh3_go_respond(void *resp, uint16_t status, const uint8_t *headers, size_t headers_len, const uint8_t *body,
                   size_t body_len, uint8_t end) {
    return zigh3_go_response_respond(resp, status, (uint8_t *)headers, headers_len, (uint8_t *)body, body_len, end);
}

int64_t zh3_go_server_drain(void *server, uint8_t *buf, size_t cap) { return zigh3_go_server_drain(server, buf, cap); }

int64_t zh3_go_client_drain(void *client, uint8_t *buf, size_t cap) { return zigh3_go_client_drain(client, buf, cap); }
