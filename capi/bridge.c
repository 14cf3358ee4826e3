#include <string.h>
#include "../include/zig_h3.h"

__attribute__((visibility("hidden"))) void zig_h3_set_last_error(const char *msg, size_t len);

__attribute__((visibility("hidden"))) void zig_h3_call_request_cb(zig_h3_request_cb cb, void *user, const zig_h3_request *req, zig_h3_response *resp) {
    cb(user, req, resp);
}

__attribute__((visibility("hidden"))) void zig_h3_call_log_cb(zig_h3_log_cb cb, void *user, const char *line) {
    cb(user, line);
}

__attribute__((visibility("hidden"))) void zig_h3_call_body_chunk_cb(zig_h3_body_chunk_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id, const uint8_t *chunk, size_t len) {
    cb(user, conn_id, conn_id_len, stream_id, chunk, len);
}

__attribute__((visibility("hidden"))) void zig_h3_call_body_complete_cb(zig_h3_body_complete_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id) {
    cb(user, conn_id, conn_id_len, stream_id);
}

__attribute__((visibility("hidden"))) void zig_h3_call_stream_close_cb(zig_h3_stream_close_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id, uint8_t aborted) {
    cb(user, conn_id, conn_id_len, stream_id, aborted);
}

__attribute__((visibility("hidden"))) void zig_h3_call_connection_close_cb(zig_h3_connection_close_cb cb, void *user, const uint8_t *conn_id, size_t conn_id_len) {
    cb(user, conn_id, conn_id_len);
}

__attribute__((visibility("hidden"))) void zig_h3_call_quic_datagram_cb(zig_h3_quic_datagram_cb cb, void *user, void *conn, const uint8_t *conn_id, size_t conn_id_len, const uint8_t *data, size_t len) {
    cb(user, conn, conn_id, conn_id_len, data, len);
}

__attribute__((visibility("hidden"))) void zig_h3_call_datagram_cb(zig_h3_datagram_cb cb, void *user, const zig_h3_request *req, zig_h3_response *resp, const uint8_t *data, size_t len) {
    cb(user, req, resp, data, len);
}

__attribute__((visibility("hidden"))) void zig_h3_call_wt_session_cb(zig_h3_wt_session_cb cb, void *user, const zig_h3_request *req, zig_h3_wt_session *session) {
    cb(user, req, session);
}

/* Client callbacks running on this thread: a free called from one of them
 * does not wait for the callbacks running (it would wait for itself). */
static __thread int zig_h3_callback_depth;

__attribute__((visibility("hidden"))) int zig_h3_in_client_callback(void) { return zig_h3_callback_depth > 0; }

__attribute__((visibility("hidden"))) void zig_h3_call_wt_event_cb(zig_h3_wt_event_cb cb, void *user, zig_h3_wt_session *session, const zig_h3_wt_event *event) {
    zig_h3_callback_depth++;
    cb(user, session, event);
    zig_h3_callback_depth--;
}

__attribute__((visibility("hidden"))) void zig_h3_call_client_datagram_cb(zig_h3_client_datagram_cb cb, void *user, uint64_t flow_id, const uint8_t *data, size_t len) {
    zig_h3_callback_depth++;
    cb(user, flow_id, data, len);
    zig_h3_callback_depth--;
}

__attribute__((visibility("hidden"))) void zig_h3_call_fetch_event_cb(zig_h3_fetch_event_cb cb, void *user, const zig_h3_fetch_event *event) {
    zig_h3_callback_depth++;
    cb(user, event);
    zig_h3_callback_depth--;
}

__attribute__((visibility("hidden"))) void zig_h3_call_fetch_cb(zig_h3_fetch_cb cb, void *user, uint16_t status, const zig_h3_header *headers, size_t headers_len, const uint8_t *body, size_t body_len, const zig_h3_header *trailers, size_t trailers_len) {
    zig_h3_callback_depth++;
    cb(user, status, headers, headers_len, body, body_len, trailers, trailers_len);
    zig_h3_callback_depth--;
}

static __thread char last_error[512];

__attribute__((visibility("hidden"))) void zig_h3_set_last_error(const char *msg, size_t len) {
    if (len >= sizeof last_error) len = sizeof last_error - 1;
    memcpy(last_error, msg, len);
    last_error[len] = 0;
}

const char *zig_h3_last_error(void) {
    return last_error;
}

const char *zig_h3_strerror(int code) {
    switch (code) {
    case ZIG_H3_OK: return "ok";
    case ZIG_H3_ERR_INVALID_ARG: return "invalid argument";
    case ZIG_H3_ERR_BAD_HANDLE: return "unknown, freed or finished handle";
    case ZIG_H3_ERR_STATE: return "not allowed in the current state";
    case ZIG_H3_ERR_CLOSED: return "already closed";
    case ZIG_H3_ERR_NOT_SUPPORTED: return "not supported yet";
    case ZIG_H3_ERR_IO: return "operating system error";
    case ZIG_H3_ERR_CONFIG: return "invalid configuration";
    case ZIG_H3_ERR_QUEUE_FULL: return "queue full";
    case ZIG_H3_ERR_BUFFER_TOO_SMALL: return "buffer too small for the next event";
    case ZIG_H3_ERR_INTERNAL: return "internal error";
    case ZIG_H3_ERR_TOO_LARGE: return "datagram larger than the path allows";
    case ZIG_H3_ERR_TIMEOUT: return "timed out";
    default: return "unknown error code";
    }
}

/* ---- Copy and size helpers (for hosts that cannot read C structs easily) ---- */

size_t zig_h3_fetch_event_size(void) { return sizeof(zig_h3_fetch_event); }
size_t zig_h3_wt_event_size(void) { return sizeof(zig_h3_wt_event); }
size_t zig_h3_header_size(void) { return sizeof(zig_h3_header); }

static int copy_invalid(const char *msg) {
    zig_h3_set_last_error(msg, strlen(msg));
    return ZIG_H3_ERR_INVALID_ARG;
}

int zig_h3_fetch_event_copy(const zig_h3_fetch_event *src, zig_h3_fetch_event *dst) {
    if (src == NULL || dst == NULL) return copy_invalid("src or dst is NULL");
    memmove(dst, src, sizeof *dst);
    return ZIG_H3_OK;
}

int zig_h3_wt_event_copy(const zig_h3_wt_event *src, zig_h3_wt_event *dst) {
    if (src == NULL || dst == NULL) return copy_invalid("src or dst is NULL");
    memmove(dst, src, sizeof *dst);
    return ZIG_H3_OK;
}

int zig_h3_header_copy(const zig_h3_header *src, zig_h3_header *dst) {
    if (src == NULL || dst == NULL) return copy_invalid("src or dst is NULL");
    memmove(dst, src, sizeof *dst);
    return ZIG_H3_OK;
}

int zig_h3_header_copy_at(const zig_h3_header *base, size_t len, size_t index, zig_h3_header *dst) {
    if (base == NULL || dst == NULL) return copy_invalid("base or dst is NULL");
    if (index >= len) return copy_invalid("index out of range");
    memmove(dst, &base[index], sizeof *dst);
    return ZIG_H3_OK;
}

int zig_h3_headers_copy(const zig_h3_header *base, size_t len, zig_h3_header *dst, size_t dst_len) {
    size_t n = len < dst_len ? len : dst_len;
    if ((len > 0 && base == NULL) || (dst_len > 0 && dst == NULL)) return copy_invalid("base or dst is NULL");
    if (n > (size_t)INT32_MAX) return copy_invalid("too many headers");
    if (n > 0) memmove(dst, base, n * sizeof *dst);
    return (int)n;
}

int zig_h3_copy_bytes(const uint8_t *src, size_t len, uint8_t *dst) {
    if (len > ZIG_H3_MAX_LENGTH) return copy_invalid("len is over ZIG_H3_MAX_LENGTH");
    if (len > 0 && (src == NULL || dst == NULL)) return copy_invalid("src or dst is NULL with a non-zero length");
    if (len > 0) memmove(dst, src, len);
    return ZIG_H3_OK;
}
