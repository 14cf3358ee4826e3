/* Glue that cgo cannot express in Go: calls through C function pointers and
 * the per-thread error message. Included by the Go files of capi/. */
#ifndef ZIG_H3_BRIDGE_H
#define ZIG_H3_BRIDGE_H
#define ZIG_H3_NO_PROTOTYPES
#include "../include/zig_h3.h"

__attribute__((visibility("hidden"))) void zig_h3_call_request_cb(zig_h3_request_cb cb, void *user, const zig_h3_request *req, zig_h3_response *resp);
__attribute__((visibility("hidden"))) void zig_h3_call_log_cb(zig_h3_log_cb cb, void *user, const char *line);
__attribute__((visibility("hidden"))) void zig_h3_set_last_error(const char *msg, size_t len);
const char *zig_h3_strerror(int code);
#endif
