/* Glue that cgo cannot express in Go: calls through C function pointers and
 * the per-thread error message. Included by the Go files of capi/. */
#ifndef ZIG_H3_BRIDGE_H
#define ZIG_H3_BRIDGE_H
#define ZIG_H3_NO_PROTOTYPES
#include "../include/zig_h3.h"

__attribute__((visibility("hidden"))) void zig_h3_call_request_cb(zig_h3_request_cb cb, void *user, const zig_h3_request *req, zig_h3_response *resp);
__attribute__((visibility("hidden"))) void zig_h3_call_log_cb(zig_h3_log_cb cb, void *user, const char *line);
__attribute__((visibility("hidden"))) void zig_h3_call_body_chunk_cb(zig_h3_body_chunk_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id, const uint8_t *chunk, size_t len);
__attribute__((visibility("hidden"))) void zig_h3_call_body_complete_cb(zig_h3_body_complete_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id);
__attribute__((visibility("hidden"))) void zig_h3_call_stream_close_cb(zig_h3_stream_close_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id, uint8_t aborted);
__attribute__((visibility("hidden"))) void zig_h3_call_connection_close_cb(zig_h3_connection_close_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len);
__attribute__((visibility("hidden"))) void zig_h3_call_quic_datagram_cb(zig_h3_quic_datagram_cb cb, void *user, void *conn, const uint8_t *conn_id, size_t conn_id_len, const uint8_t *data, size_t len);
__attribute__((visibility("hidden"))) void zig_h3_call_datagram_cb(zig_h3_datagram_cb cb, void *user, const zig_h3_request *req, zig_h3_response *resp, const uint8_t *data, size_t len);
__attribute__((visibility("hidden"))) void zig_h3_call_wt_session_cb(zig_h3_wt_session_cb cb, void *user, const zig_h3_request *req, zig_h3_wt_session *session);
__attribute__((visibility("hidden"))) void zig_h3_call_wt_event_cb(zig_h3_wt_event_cb cb, void *user, zig_h3_wt_session *session, const zig_h3_wt_event *event);
__attribute__((visibility("hidden"))) void zig_h3_call_client_datagram_cb(zig_h3_client_datagram_cb cb, void *user, uint64_t flow_id, const uint8_t *data, size_t len);
__attribute__((visibility("hidden"))) void zig_h3_call_fetch_event_cb(zig_h3_fetch_event_cb cb, void *user, const zig_h3_fetch_event *event);
__attribute__((visibility("hidden"))) void zig_h3_call_fetch_cb(zig_h3_fetch_cb cb, void *user, uint16_t status, const zig_h3_header *headers, size_t headers_len, const uint8_t *body, size_t body_len, const zig_h3_header *trailers, size_t trailers_len);
__attribute__((visibility("hidden"))) int zig_h3_in_client_callback(void);
__attribute__((visibility("hidden"))) void zig_h3_set_last_error(const char *msg, size_t len);
const char *zig_h3_strerror(int code);
#endif
