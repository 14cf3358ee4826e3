/*
 * main.c - end-to-end test of libzigh3.so through its C ABI: runs the parts
 * in order.
 *
 * Loads the library with dlopen (argv[1], else $ZIG_H3_LIB, else
 * build/libzigh3.so), runs a server with C callbacks and drives it with the
 * Go HTTP/3 client ($H3CLIENT, else build/h3client; see tests/h3client);
 * datagram and WebTransport servers with the Go client $DGCLIENT (else
 * build/dgclient; see tests/dgclient). Run it from the repository root
 * (tests/c/run.sh builds and runs it).
 *
 *   harness.c         dlopen, CHECK counters, the h3client runner, helpers
 *   abi_test.c        struct layouts, bad handles, misuse and error codes
 *   routes_test.c     buffered routes, deferred ends, stats, stop and free
 *   streaming_test.c  streaming routes, stream and connection close
 *   send_test.c       zig_h3_response_send, zig_h3_response_send_file
 *   datagram_test.c   QUIC and HTTP/3 datagrams, WebTransport, event queue
 *   answers_test.c    event-queue requests answered with zig_h3_response_respond
 *   misuse_test.c     NULLs, zero and huge lengths, stale and freed handles,
 *                     calls from many threads at once
 * The client half (zig_h3_client_*), against Bun's own HTTP/3 server
 * (tests/fixtures/bun-native-h3.ts; $BUN, else node_modules/.bin/bun) and
 * against servers of this library in the same process:
 *   client_support.c         certificates, the Bun peer, fetch records, the server
 *   client_test.c            callback mode: GET, POST, streamed bodies, cancel
 *   client_tls_test.c        verify_peer, "ca", "serverCertificateHashes"
 *   client_datagram_test.c   WebTransport, raw QUIC and HTTP/3 datagrams
 *   client_queue_test.c      event-queue mode
 *   client_handles_test.c    helpers, bad handles, many threads at once
 *   client_misuse_test.c     wrong states, modes and arguments (client_calls.h)
 *
 * Prints "PASS <n> checks" and exits 0, or prints each failing check and
 * exits 1. alarm(90) bounds the whole run.
 */
#include "harness.h"

int main(int argc, char **argv) {
    if (harness_init(argc, argv) != 0) return 1;

    check_library_basics();

    zig_h3_server_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.bind_port = 0;
    cfg.log_level = 1;
    zig_h3_server *s = h3.server_new(&cfg);
    CHECK(s != NULL, "server_new: %s", h3.last_error());
    if (!s) goto done;
    routes_register(s);
    streaming_register(s);
    send_register(s);
    check_setup_errors(s);
    streaming_set_close_callbacks(s);

    CHECK_RC(h3.server_start(s), ZIG_H3_OK);
    CHECK_RC(h3.server_start(s), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.server_route(s, "GET", "/late", cb_any, NULL, NULL, NULL), ZIG_H3_ERR_STATE);
    CHECK_RC(h3.server_route_streaming(s, "POST", "/late", cb_any, on_body_chunk, NULL, NULL, NULL, NULL),
             ZIG_H3_ERR_STATE);
    port = h3.server_port(s);
    CHECK(port > 0 && port < 65536, "port %d", port);
    printf("server listening on 127.0.0.1:%d\n", port);

    check_hello();
    check_echo();
    check_unrouted();
    check_deferred();
    check_respond();
    check_rules();
    check_connections();
    check_streaming_uploads();
    check_streaming_echo();
    check_streaming_early();
    check_stream_abort();
    check_send();
    check_send_file();
    check_close_callbacks(s);
    check_stats(s);
    /* After the close-callback and stats counts: quic-go's client drops, without
     * closing, a connection whose request failed before the response head, so
     * two of these connections close only when the server stops. */
    check_declared_length();
    check_stop_and_free(s);
    check_all_bad_handles(); /* the first response id has been issued and finished by now */
    check_force_stop();
    check_tcp();
    check_static_routes();
    check_graceful_inflight();
    check_quic_datagrams();
    check_h3_datagrams();
    check_webtransport();
    check_queue_answers();
    check_misuse();
    check_client_bun();
    check_client_local();
    check_client_datagrams();
    check_client_queue();
    check_client_handles();
    check_client_misuse();

done:
    if (failures) {
        printf("FAILED %d of %d checks\n", failures, checks);
        return 1;
    }
    printf("PASS %d checks\n", checks);
    return 0;
}
