/*
 * abi_test.c - the C ABI itself, apart from serving requests: the struct
 * layouts of include/zig_h3.h (static asserts), version, strerror and
 * last_error, every function with bad server, response and WebTransport
 * handles, server_new and route setup with bad arguments, and (GET /rules)
 * the error codes of response misuse inside a request callback. The client
 * structs are asserted here too; their functions in client_misuse_test.c.
 */
#include "harness.h"

/* ---- Layout of the ABI structs (x86-64 / LP64) ---------------------------- */

_Static_assert(sizeof(zig_h3_server_config) == 48, "zig_h3_server_config size");
_Static_assert(offsetof(zig_h3_server_config, cert_path) == 0, "cert_path");
_Static_assert(offsetof(zig_h3_server_config, key_path) == 8, "key_path");
_Static_assert(offsetof(zig_h3_server_config, bind_addr) == 16, "bind_addr");
_Static_assert(offsetof(zig_h3_server_config, bind_port) == 24, "bind_port");
_Static_assert(offsetof(zig_h3_server_config, enable_dgram) == 26, "enable_dgram");
_Static_assert(offsetof(zig_h3_server_config, enable_webtransport) == 27, "enable_webtransport");
_Static_assert(offsetof(zig_h3_server_config, qlog_dir) == 32, "qlog_dir");
_Static_assert(offsetof(zig_h3_server_config, log_level) == 40, "log_level");
_Static_assert(sizeof(zig_h3_header) == 32, "zig_h3_header size");
_Static_assert(sizeof(zig_h3_request) == 104, "zig_h3_request size");
_Static_assert(offsetof(zig_h3_request, headers) == 48, "headers");
_Static_assert(offsetof(zig_h3_request, headers_len) == 56, "headers_len");
_Static_assert(offsetof(zig_h3_request, stream_id) == 64, "stream_id");
_Static_assert(offsetof(zig_h3_request, conn_id) == 72, "conn_id");
_Static_assert(offsetof(zig_h3_request, conn_id_len) == 80, "conn_id_len");
_Static_assert(offsetof(zig_h3_request, body) == 88, "body");
_Static_assert(offsetof(zig_h3_request, body_len) == 96, "body_len");
_Static_assert(sizeof(struct zig_h3_server_stats) == 32, "zig_h3_server_stats size");

/* The client half (the original layouts: /work/shared/notes/abi.md). */
#define AT(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field " at " #off)
_Static_assert(sizeof(zig_h3_client_config) == 16, "zig_h3_client_config size");
AT(zig_h3_client_config, verify_peer, 0);
AT(zig_h3_client_config, enable_dgram, 1);
AT(zig_h3_client_config, enable_webtransport, 2);
AT(zig_h3_client_config, enable_debug_logging, 3);
AT(zig_h3_client_config, idle_timeout_ms, 4);
AT(zig_h3_client_config, request_timeout_ms, 8);
AT(zig_h3_client_config, connect_timeout_ms, 12);
_Static_assert(sizeof(zig_h3_fetch_event) == 56, "zig_h3_fetch_event size");
_Static_assert(sizeof(zig_h3_fetch_event_type) == 4, "zig_h3_fetch_event_type is an int");
AT(zig_h3_fetch_event, type, 0);
AT(zig_h3_fetch_event, status, 4);
AT(zig_h3_fetch_event, reserved, 6);
AT(zig_h3_fetch_event, headers, 8);
AT(zig_h3_fetch_event, headers_len, 16);
AT(zig_h3_fetch_event, data, 24);
AT(zig_h3_fetch_event, data_len, 32);
AT(zig_h3_fetch_event, flow_id, 40);
AT(zig_h3_fetch_event, stream_id, 48);
_Static_assert(sizeof(zig_h3_fetch_options) == 96, "zig_h3_fetch_options size");
AT(zig_h3_fetch_options, method, 0);
AT(zig_h3_fetch_options, method_len, 8);
AT(zig_h3_fetch_options, path, 16);
AT(zig_h3_fetch_options, path_len, 24);
AT(zig_h3_fetch_options, headers, 32);
AT(zig_h3_fetch_options, headers_len, 40);
AT(zig_h3_fetch_options, body, 48);
AT(zig_h3_fetch_options, body_len, 56);
AT(zig_h3_fetch_options, stream_body, 64);
AT(zig_h3_fetch_options, collect_body, 65);
AT(zig_h3_fetch_options, event_cb, 72);
AT(zig_h3_fetch_options, event_user, 80);
AT(zig_h3_fetch_options, request_timeout_ms, 88);
AT(zig_h3_fetch_options, reserved2, 92);
_Static_assert(sizeof(zig_h3_bytes) == 16, "zig_h3_bytes size");
AT(zig_h3_bytes, ptr, 0);
AT(zig_h3_bytes, len, 8);
_Static_assert(sizeof(zig_h3_wt_event) == 56, "zig_h3_wt_event size");
_Static_assert(sizeof(zig_h3_wt_event_type) == 4, "zig_h3_wt_event_type is an int");
AT(zig_h3_wt_event, event_type, 0);
AT(zig_h3_wt_event, status, 4);
AT(zig_h3_wt_event, error_code, 8);
AT(zig_h3_wt_event, flags, 12);
AT(zig_h3_wt_event, stream_id, 16);
AT(zig_h3_wt_event, reason, 24);
AT(zig_h3_wt_event, reason_len, 32);
AT(zig_h3_wt_event, datagram, 40);
AT(zig_h3_wt_event, datagram_len, 48);
_Static_assert(ZIG_H3_FETCH_EVENT_HEADERS == 0 && ZIG_H3_FETCH_EVENT_DATA == 1 && ZIG_H3_FETCH_EVENT_TRAILERS == 2 &&
                   ZIG_H3_FETCH_EVENT_FINISHED == 3 && ZIG_H3_FETCH_EVENT_DATAGRAM == 4 &&
                   ZIG_H3_FETCH_EVENT_STARTED == 5,
               "zig_h3_fetch_event_type values");
_Static_assert(ZIG_H3_WT_EVENT_CONNECTED == 0 && ZIG_H3_WT_EVENT_CONNECT_FAILED == 1 && ZIG_H3_WT_EVENT_CLOSED == 2 &&
                   ZIG_H3_WT_EVENT_DATAGRAM == 3 && ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE == 1,
               "zig_h3_wt_event_type values");
#undef AT

/* Callbacks for the datagram hooks of the main server (never called). */
static void dgram_cb(void *u, const zig_h3_request *r, zig_h3_response *s, const uint8_t *d, size_t n) {
    (void)u, (void)r, (void)s, (void)d, (void)n;
}
static void quic_dgram_cb(void *u, void *p, const uint8_t *c, size_t cl, const uint8_t *d, size_t n) {
    (void)u, (void)p, (void)c, (void)cl, (void)d, (void)n;
}

/* ---- Bad handles ------------------------------------------------------------------ */

void check_bad_server(zig_h3_server *s, const char *what) {
    uint8_t buf[64];
    uint64_t counters[4];
    struct zig_h3_server_stats st;
    printf("bad server handle: %s\n", what);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop(s, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop(s, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stop_async(s, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_port(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_certificate_hash(s, buf), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_route(s, "GET", "/", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_route_streaming(s, "GET", "/", cb_any, on_body_chunk, on_body_complete, NULL, NULL, NULL),
             ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_stream_close_cb(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_connection_close_cb(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_quic_datagram_cb(s, quic_dgram_cb, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_send_quic_datagram(s, NULL, buf, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_max_datagram_size(s, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_queue_quic_datagrams(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_options(s, "{}", 2), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_log(s, on_log, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_log(s, NULL, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_stats(s, &st), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_counters(s, counters, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_event_fd(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_drain(s, buf, sizeof buf), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_event_size(s), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_event_routes(s, "{\"routes\":[]}", 13), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_free(s), ZIG_H3_ERR_BAD_HANDLE);
}

void check_bad_response(zig_h3_response *r, const char *what) {
    zig_h3_header hd = {"x-a", 3, "b", 1};
    const uint8_t *data = (const uint8_t *)"data";
    printf("bad response handle: %s\n", what);
    CHECK_RC(h3.response_status(r, 200), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_header(r, "x-a", 3, "b", 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_write(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_end(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_end(r, NULL, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_h3_datagram(r, data, 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_max_datagram_size(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_trailers(r, &hd, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_defer_end(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_set_auto_end(r, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_should_auto_end(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_process_partial(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_respond(r, 200, (const uint8_t *)"a\0b\0", 4, data, 4, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send(r, data, 4, 0, NULL, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send(r, NULL, 0, 1, (const uint8_t *)"a\0b\0", 4), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_send_file(r, 200, NULL, 0, "/etc/hostname", 13), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_ack_body(r, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_discard_body(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_abort(r), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.response_set_timeout(r, 0), ZIG_H3_ERR_BAD_HANDLE);
}

/* WebTransport with NULL (INVALID_ARG) and unknown session and stream
 * handles (BAD_HANDLE). Session handles start at 1 << 52, stream handles at
 * (1 << 52) + (1 << 51). */
static void check_wt_handles(zig_h3_wt_session *bogus, const char *what) {
    const uint8_t *d = (const uint8_t *)"x";
    printf("bad session handle: %s\n", what);
    int want = bogus ? ZIG_H3_ERR_BAD_HANDLE : ZIG_H3_ERR_INVALID_ARG;
    CHECK_RC(h3.wt_accept(bogus), want);
    CHECK_RC(h3.wt_reject(bogus, 400), want);
    CHECK_RC(h3.wt_close(bogus, 0, d, 1), want);
    CHECK_RC(h3.wt_close(bogus, 0, NULL, 0), want);
    CHECK_RC(h3.wt_send_datagram(bogus, d, 1), want);
    CHECK_RC(h3.wt_max_datagram_size(bogus), want);
    CHECK_RC(h3.wt_release(bogus), want);
    CHECK_RC(h3.wt_open_stream(bogus, 1), want);
    CHECK_RC(h3.wt_open_stream(bogus, 0), want);
}

static void check_stream_handle(uint64_t st) {
    CHECK_RC(h3.wt_stream_write(st, (const uint8_t *)"x", 1, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.wt_stream_write(st, NULL, 0, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.wt_stream_ack(st, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.wt_stream_reset(st, 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.wt_stream_stop_reading(st, 1), ZIG_H3_ERR_BAD_HANDLE);
}

static void check_wt(void) {
    check_wt_handles(NULL, "NULL");
    check_wt_handles((zig_h3_wt_session *)(uintptr_t)0x1234, "0x1234");
    check_wt_handles((zig_h3_wt_session *)(uintptr_t)((1ULL << 52) + 999999), "unissued session id");
    check_stream_handle(0);
    check_stream_handle(0x1234);
    check_stream_handle((1ULL << 52) + (1ULL << 51) + 999999);
    check_stream_handle(UINT64_MAX);
}

#define FIRST_RESPONSE ((zig_h3_response *)(uintptr_t)0x4000000000001ULL) /* the first response id */

void check_all_bad_handles(void) {
    check_bad_server(NULL, "NULL");
    check_bad_server((zig_h3_server *)(uintptr_t)0x1234, "0x1234");
    check_bad_server((zig_h3_server *)(uintptr_t)((1ULL << 49) + 999999), "unissued server id");
    check_bad_response(NULL, "NULL");
    check_bad_response((zig_h3_response *)(uintptr_t)0x1234, "0x1234");
    check_bad_response(FIRST_RESPONSE, "0x4000000000001");
    check_bad_response((zig_h3_response *)(uintptr_t)((1ULL << 50) + 999999999), "unissued response id");
}

/* ---- Library basics and setup errors ------------------------------------------ */

static void *last_error_thread(void *arg) {
    const char *e = h3.last_error();
    *(int *)arg = e != NULL && e[0] == 0;
    return NULL;
}

void check_library_basics(void) {
    const char *v = h3.version();
    printf("zig_h3_version: %s\n", v ? v : "(NULL)");
    CHECK(v && v[0], "version is empty");
    for (int code = 1; code >= -12; code--) {
        const char *s = h3.strerror(code);
        CHECK(s && s[0], "strerror(%d) is NULL or empty", code);
    }
    CHECK(h3.strerror(-9999) != NULL, "strerror(-9999) is NULL");
    int fresh_empty = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, last_error_thread, &fresh_empty) == 0) pthread_join(t, NULL);
    CHECK(fresh_empty, "zig_h3_last_error() on a new thread is not \"\"");
    CHECK(strcmp(h3.strerror(ZIG_H3_ERR_BAD_HANDLE), h3.strerror(ZIG_H3_ERR_STATE)) != 0, "strerror texts not distinct");
    check_all_bad_handles();
    check_wt();

    zig_h3_server_config cfg = {0};
    cfg.cert_path = "/nonexistent/cert.pem";
    cfg.key_path = "/nonexistent/key.pem";
    CHECK(h3.server_new(&cfg) == NULL, "server_new with a missing certificate file succeeded");
    CHECK(h3.last_error()[0] != 0, "no last_error after server_new failed");
    printf("missing certificate: %s\n", h3.last_error());
    cfg.key_path = NULL;
    CHECK(h3.server_new(&cfg) == NULL, "server_new with cert_path but no key_path succeeded");
    cfg = (zig_h3_server_config){0};
    cfg.bind_addr = "not-an-ip";
    CHECK(h3.server_new(&cfg) == NULL, "server_new with bind_addr \"not-an-ip\" succeeded");

    zig_h3_server *d = h3.server_new(NULL); /* all defaults, never started */
    CHECK(d != NULL, "server_new(NULL) failed: %s", h3.last_error());
    if (d) {
        CHECK_RC(h3.server_port(d), 0);
        CHECK_RC(h3.server_stop(d, 0), ZIG_H3_OK);
        CHECK_RC(h3.server_free(d), ZIG_H3_OK);
        CHECK_RC(h3.server_free(d), ZIG_H3_ERR_BAD_HANDLE);
        CHECK_RC(h3.server_start(d), ZIG_H3_ERR_BAD_HANDLE);
    }
}

void check_setup_errors(zig_h3_server *s) {
    uint8_t hash[32] = {0}, zero[32] = {0};
    uint64_t counters[ZIG_H3_COUNTER_COUNT + 3];
    struct zig_h3_server_stats st;
    CHECK_RC(h3.server_route(s, NULL, "/x", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", NULL, cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/x", NULL, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "G T", "/x", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "no-slash", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/a/*/b", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route(s, "GET", "/hello/:name", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_INVALID_ARG); /* duplicate */
    /* Datagram routes are taken even without enable_dgram (no flow then). */
    CHECK_RC(h3.server_route(s, "POST", "/dg", cb_any, dgram_cb, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_route(s, "POST", "/dg", cb_any, dgram_cb, NULL, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, NULL, "/up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", NULL, cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", NULL, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", cb_any, NULL, on_body_complete, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* NULL body_chunk_cb */
    CHECK_RC(h3.server_route_streaming(s, "P T", "/up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "up2", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* duplicate of a streaming route */
    CHECK_RC(h3.server_route_streaming(s, "GET", "/hello/:name", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_INVALID_ARG); /* duplicate of a plain route */
    CHECK_RC(h3.server_route_streaming(s, "POST", "/up2", cb_any, on_body_chunk, NULL, dgram_cb, NULL, NULL),
             ZIG_H3_OK);
    /* NULL removes a close callback; main sets the real ones afterwards. */
    CHECK_RC(h3.server_set_stream_close_cb(s, on_stream_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_stream_close_cb(s, NULL, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, on_connection_close, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_connection_close_cb(s, NULL, NULL), ZIG_H3_OK);
    /* Set and removed again: with a QUIC datagram callback the main server
     * would serve HTTP/3 through its own stream loops. */
    CHECK_RC(h3.server_set_quic_datagram_cb(s, quic_dgram_cb, NULL), ZIG_H3_OK);
    CHECK_RC(h3.server_set_quic_datagram_cb(s, NULL, NULL), ZIG_H3_OK);
    /* conn_ptr handles are numbers like the others: NULL is an unknown one. */
    CHECK_RC(h3.server_send_quic_datagram(s, NULL, (const uint8_t *)"x", 1), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_send_quic_datagram(s, (void *)(uintptr_t)0x1234, NULL, 0), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_max_datagram_size(s, NULL), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_max_datagram_size(s, (void *)(uintptr_t)0x1234), ZIG_H3_ERR_BAD_HANDLE);
    CHECK_RC(h3.server_set_options(s, NULL, 2), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_set_options(s, "{", 1), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_set_options(s, "{\"quicAlpn\":[\"h3\"]}", 19), ZIG_H3_ERR_CONFIG);
    CHECK_RC(h3.server_set_options(s, "{\"quicAlpn\":[\"\"]}", 17), ZIG_H3_ERR_CONFIG);
    CHECK_RC(h3.server_set_options(s, "{\"enableDatagrams\":false}", 25), ZIG_H3_OK);
    CHECK_RC(h3.server_certificate_hash(s, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_certificate_hash(s, hash), 1); /* development certificate */
    CHECK(memcmp(hash, zero, 32) != 0, "certificate hash is all zero");
    CHECK_RC(h3.server_stats(s, NULL), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_counters(s, NULL, 3), ZIG_H3_ERR_INVALID_ARG);
    CHECK_RC(h3.server_counters(s, counters, 0), 0);
    CHECK_RC(h3.server_counters(s, counters, ZIG_H3_COUNTER_COUNT + 3), ZIG_H3_COUNTER_COUNT);
    /* "Writes up to n counters": a huge n still writes (and returns) ZIG_H3_COUNTER_COUNT. */
    CHECK_RC(h3.server_counters(s, counters, SIZE_MAX), ZIG_H3_COUNTER_COUNT);
    CHECK_RC(h3.server_stats(s, &st), ZIG_H3_OK);
    CHECK(st.requests_total == 0 && st.connections_total == 0 && st.uptime_ms == 0,
          "stats before start: requests %llu connections %llu uptime %lld", (unsigned long long)st.requests_total,
          (unsigned long long)st.connections_total, (long long)st.uptime_ms);
    CHECK_RC(h3.server_port(s), 0);
    uint8_t buf[64];
    CHECK_RC(h3.server_drain(s, buf, sizeof buf), ZIG_H3_ERR_STATE); /* no event queue */
}

/* ---- Misuse inside a request callback ----------------------------------------- */

/* GET /rules: misuse inside a callback must give the documented codes. */
void cb_rules(void *user, const zig_h3_request *req, zig_h3_response *resp) {
    (void)user;
    (void)req;
    char bad[1024] = "";
#define EXPECT(expr, want)                                                          \
    do {                                                                            \
        int rc_ = (expr);                                                           \
        if (rc_ != (want)) add_note(bad, sizeof bad, " [%s -> %d]", #expr, rc_);    \
        else if (rc_ < 0 && !h3.last_error()[0])                                    \
            add_note(bad, sizeof bad, " [%s: empty last_error]", #expr);            \
    } while (0)
    const uint8_t *u = (const uint8_t *)"x-a";
    EXPECT(h3.response_status(resp, 99), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_status(resp, 600), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "bad name", 8, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "", 0, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-crlf", 6, "a\r\nb", 4), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-nul", 5, "a\0b", 3), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, NULL, 3, "v", 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_header(resp, "x-v", 3, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_write(resp, NULL, 5), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_end(resp, NULL, 5), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_trailers(resp, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_respond(resp, 99, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_respond(resp, 200, u, 3, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG); /* no NULs */
    EXPECT(h3.response_respond(resp, 200, NULL, 4, NULL, 0, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_h3_datagram(resp, u, 1), ZIG_H3_ERR_STATE); /* not a datagram route */
    EXPECT(h3.response_max_datagram_size(resp), 0);
    EXPECT(h3.response_should_auto_end(resp), 1);
    EXPECT(h3.response_set_auto_end(resp, 0), ZIG_H3_OK);
    EXPECT(h3.response_should_auto_end(resp), 0);
    EXPECT(h3.response_set_auto_end(resp, 1), ZIG_H3_OK);
    EXPECT(h3.response_should_auto_end(resp), 1);
    EXPECT(h3.response_process_partial(resp), 0);
    EXPECT(h3.response_send(resp, NULL, 5, 0, NULL, 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send(resp, u, 1, 1, NULL, 3), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send(resp, u, 1, 1, u, 3), ZIG_H3_ERR_INVALID_ARG); /* trailer block without NULs */
    EXPECT(h3.response_send(resp, NULL, 0, 1, (const uint8_t *)"bad name\0v\0", 11), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, NULL, 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, "", 0), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 3, "/x", 2), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, u, 3, "/x", 2), ZIG_H3_ERR_INVALID_ARG); /* block without NULs */
    EXPECT(h3.response_send_file(resp, 99, NULL, 0, "/x", 2), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_ack_body(resp, 1), ZIG_H3_ERR_STATE);   /* not a streaming request */
    EXPECT(h3.response_discard_body(resp), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_header(resp, "x-rules", 7, "yes", 3), ZIG_H3_OK);
    EXPECT(h3.response_status(resp, bad[0] ? 500 : 200), ZIG_H3_OK);
    EXPECT(h3.response_write(resp, (const uint8_t *)"rules", 5), ZIG_H3_OK);
    /* The body has begun: the head is fixed. */
    EXPECT(h3.response_header(resp, "x-late", 6, "1", 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_status(resp, 201), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_respond(resp, 200, NULL, 0, NULL, 0, 1), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_write(resp, NULL, 1), ZIG_H3_ERR_INVALID_ARG);
    EXPECT(h3.response_send_file(resp, 200, NULL, 0, "/etc/hostname", 13), ZIG_H3_ERR_STATE);
    EXPECT(h3.response_send(resp, NULL, 0, 0, NULL, 0) >= 0, 1);
#undef EXPECT
    char tail[1100];
    snprintf(tail, sizeof tail, "%s%s", bad[0] ? " FAILED:" : " ok", bad);
    h3.response_end(resp, (const uint8_t *)tail, strlen(tail));
}

void check_rules(void) {
    client_result r = client(1, "'https://127.0.0.1:%d/rules'", port);
    CHECK(r.exit_code == 0 && status_of(r.out) == 200, "rules: exit %d output:\n%s", r.exit_code, r.out);
    CHECK(strcmp(body_of(r.out), "rules ok") == 0, "rules body: [%s]", body_of(r.out));
    CHECK(has_header(r.out, "x-rules: yes") && !has_header(r.out, "x-late: 1"), "rules headers:\n%s", r.out);
    free_result(&r);
}
