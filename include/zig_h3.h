/*
 * zig_h3.h - an HTTP/3 server and client library (quic-go inside), for C and Bun.
 *
 * This header keeps both halves of the original zig_h3 ABI, server and
 * client: the same names, types and struct layouts, so programs written
 * against it work unchanged. It adds what that ABI lacked: error codes and messages, the
 * bound port, the certificate hash, and an event-queue mode for runtimes
 * whose threads must not be called from foreign threads (Bun).
 *
 * Conventions
 * - Every function returning int returns ZIG_H3_OK (0) on success and a
 *   negative ZIG_H3_ERR_* code on error; zig_h3_last_error() then describes
 *   the failure. A misuse (NULL, bad length, stale handle, wrong state) is an
 *   error code, never a crash.
 * - Handles (zig_h3_server *, zig_h3_response *, zig_h3_wt_session *) are
 *   opaque numbers, not addresses. Once freed or finished they are never
 *   reused: passing one again gives ZIG_H3_ERR_BAD_HANDLE.
 * - Callbacks run on the library's own threads, several at once. Everything
 *   a callback receives by pointer is borrowed for the duration of the call
 *   only; copy what you keep. The `user` pointer is passed back untouched.
 * - Memory the caller passes in (strings, buffers, structs) is copied before
 *   the function returns; the library keeps no pointer to it.
 * - Strings the library returns are owned by the library.
 * - The library runs its own Go runtime in the process. Unless the
 *   environment sets GOGC, its collector runs at GOGC=400 (its live heap is
 *   about 1 MiB, and the default collected ~30 times a second under load),
 *   which costs ~12 MiB more RSS. GOGC, GOMEMLIMIT and GOMAXPROCS in the
 *   environment apply as for any Go program.
 */
#ifndef ZIG_H3_H
#define ZIG_H3_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Return codes ------------------------------------------------------ */

#define ZIG_H3_OK                      0
/** An argument is NULL, out of range or malformed. */
#define ZIG_H3_ERR_INVALID_ARG        -1
/** The handle is unknown, freed or finished (never a crash). */
#define ZIG_H3_ERR_BAD_HANDLE         -2
/** Not allowed now: route after start, header after the body began, ... */
#define ZIG_H3_ERR_STATE              -3
/** The response, session or server is already closed (ended, aborted by the peer, stopped). */
#define ZIG_H3_ERR_CLOSED             -4
/** Reserved: every function of this header is implemented, and none
 *  returns it now. Kept so that the codes keep their values. */
#define ZIG_H3_ERR_NOT_SUPPORTED      -5
/** The operating system refused (bind failed, eventfd failed, ...). */
#define ZIG_H3_ERR_IO                 -6
/** The configuration is invalid (certificate, key, address, port). */
#define ZIG_H3_ERR_CONFIG             -7
/** A bounded queue is full; the item was dropped. */
#define ZIG_H3_ERR_QUEUE_FULL         -8
/** zig_h3_server_drain: the oldest event does not fit in the buffer;
 *  zig_h3_server_event_size tells the size it needs. */
#define ZIG_H3_ERR_BUFFER_TOO_SMALL   -9
/** A bug in the library; zig_h3_last_error() says more. */
#define ZIG_H3_ERR_INTERNAL           -10
/** A datagram is larger than the path allows now; zig_h3_last_error()
 *  names the maximum (see the *_max_datagram_size functions). */
#define ZIG_H3_ERR_TOO_LARGE          -11
/** A connect or a fetch took longer than its timeout. */
#define ZIG_H3_ERR_TIMEOUT            -12

/* ---- Types --------------------------------------------------------------- */

typedef struct zig_h3_server zig_h3_server;
typedef struct zig_h3_response zig_h3_response;
typedef struct zig_h3_wt_session zig_h3_wt_session;

/** Server configuration (48 bytes). NULL strings and zero values mean defaults. */
typedef struct zig_h3_server_config {
    /** PEM certificate chain file; NULL together with key_path: the server
     *  makes an ECDSA P-256 development certificate for localhost and
     *  127.0.0.1 valid 13 days (see zig_h3_server_certificate_hash). */
    const char *cert_path;
    /** PEM private key file. */
    const char *key_path;
    /** IP address to bind; NULL means "0.0.0.0". */
    const char *bind_addr;
    /** UDP port; 0 picks an ephemeral port (see zig_h3_server_port). */
    uint16_t bind_port;
    /** Non-zero: negotiate QUIC and HTTP/3 datagrams. */
    uint8_t enable_dgram;
    /** Non-zero: accept WebTransport sessions (implies enable_dgram). */
    uint8_t enable_webtransport;
    /** Directory for one qlog file per connection; NULL: no qlog. */
    const char *qlog_dir;
    /** 0 = warnings, 1 = info, 2 or more = debug. */
    uint8_t log_level;
} zig_h3_server_config;

/** One header line. Names are lower-case. Not NUL-terminated: use the lengths. */
typedef struct zig_h3_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} zig_h3_header;

/** A request as a callback sees it (104 bytes); borrowed for the call only.
 *  Strings are not NUL-terminated: use the lengths. */
typedef struct zig_h3_request {
    const char *method;
    size_t method_len;
    /** Request target as sent: escaped path and query. */
    const char *path;
    size_t path_len;
    const char *authority;
    size_t authority_len;
    const zig_h3_header *headers;
    size_t headers_len;
    /** QUIC stream the request arrived on. */
    uint64_t stream_id;
    /** Connection id (8 bytes), unique per connection in the process (never reused). */
    const uint8_t *conn_id;
    size_t conn_id_len;
    /** Buffered body (NULL when empty); over the server's limit (1 MiB) the
     *  client got 413 and the callback is not called. */
    const uint8_t *body;
    size_t body_len;
} zig_h3_request;

/** Counters (32 bytes). It is a struct tag only, not a typedef: the name
 *  zig_h3_server_stats also names the function that fills it, so write
 *  `struct zig_h3_server_stats`. */
struct zig_h3_server_stats {
    uint64_t connections_total;
    uint64_t connections_active;
    uint64_t requests_total;
    /** Milliseconds since start (frozen at stop); 0 before start. */
    int64_t uptime_ms;
};

/** Called for each request routed to it. Set status, headers and body with
 *  the zig_h3_response_* functions; the response ends when the callback
 *  returns unless it called zig_h3_response_defer_end. */
typedef void (*zig_h3_request_cb)(void *user, const zig_h3_request *req, zig_h3_response *resp);
/** HTTP/3 datagram (RFC 9297) received on a request of the route; req and
 *  data are borrowed for the call. The flow id is the quarter stream id:
 *  req->stream_id / 4. */
typedef void (*zig_h3_datagram_cb)(void *user, const zig_h3_request *req, zig_h3_response *resp,
                                   const uint8_t *data, size_t data_len);
/** WebTransport session request (Extended CONNECT). Accept or reject it
 *  with zig_h3_wt_accept / zig_h3_wt_reject, in the callback or later from
 *  any thread (unanswered after 10 s: 504). The session handle stays valid
 *  until the session closes. Incoming session datagrams and streams are
 *  delivered through the event queue (see "Event-queue mode"), which a C
 *  program can drain like Bun does; without a queue they are dropped. */
typedef void (*zig_h3_wt_session_cb)(void *user, const zig_h3_request *req, zig_h3_wt_session *session);
/** One log line, NUL-terminated, without a trailing newline. */
typedef void (*zig_h3_log_cb)(void *user, const char *line);
/** Raw QUIC datagram on a connection; data and conn_id are borrowed for
 *  the call. conn_ptr is the connection's handle, for
 *  zig_h3_server_send_quic_datagram; it stays safe to pass after the
 *  connection closed (BAD_HANDLE then). "Raw" datagrams are all datagrams
 *  of connections that negotiated an extra ALPN (set_options "quicAlpn"),
 *  and those of HTTP/3 connections whose peer did not enable HTTP/3
 *  datagrams (no SETTINGS_H3_DATAGRAM): when it does, HTTP/3 owns every
 *  datagram of the connection. With WebTransport enabled, only the extra
 *  ALPN connections carry raw datagrams. */
typedef void (*zig_h3_quic_datagram_cb)(void *user, void *conn_ptr, const uint8_t *conn_id, size_t conn_id_len,
                                        const uint8_t *data, size_t data_len);
/** A chunk of a streaming request body; chunk is borrowed for the call. The
 *  next chunk is read only when the callback returns (backpressure). */
typedef void (*zig_h3_body_chunk_cb)(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id,
                                     const uint8_t *chunk, size_t len);
/** End of a streaming request body (after the last chunk). */
typedef void (*zig_h3_body_complete_cb)(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id);
/** A request stream is done: its response was sent (aborted == 0) or the
 *  peer reset the stream / the connection closed first (aborted != 0). */
typedef void (*zig_h3_stream_close_cb)(void *user, const uint8_t *conn_id, size_t conn_id_len, uint64_t stream_id,
                                       uint8_t aborted);
/** A connection closed (conn_id as in zig_h3_request.conn_id). */
typedef void (*zig_h3_connection_close_cb)(void *user, const uint8_t *conn_id, size_t conn_id_len);

/* ---- Client types ---------------------------------------------------------
 * The client half of the original ABI (functions in "Client" below). A
 * client-side WebTransport session is a zig_h3_wt_session too. */

typedef struct zig_h3_client zig_h3_client;

/** Client configuration (16 bytes). Zero values mean defaults. */
typedef struct zig_h3_client_config {
    /** Non-zero: verify the server's certificate chain against the system
     *  roots, or against the "ca" of zig_h3_client_set_options, or pin it
     *  with "serverCertificateHashes". 0: accept any certificate (for
     *  development certificates only). */
    uint8_t verify_peer;
    /** Non-zero: negotiate QUIC datagrams and, on "h3", HTTP/3 datagrams. */
    uint8_t enable_dgram;
    /** Non-zero: allow zig_h3_client_open_webtransport (implies enable_dgram). */
    uint8_t enable_webtransport;
    /** Non-zero: write connection events to stderr. */
    uint8_t enable_debug_logging;
    /** Close the connection after this long without traffic; 0: 30000. */
    uint32_t idle_timeout_ms;
    /** Default longest time of one fetch, from start to end; 0: no limit. */
    uint32_t request_timeout_ms;
    /** Longest time a connect (handshake included) may take; 0: 10000. */
    uint32_t connect_timeout_ms;
} zig_h3_client_config;

/** What a zig_h3_fetch_event reports. */
typedef enum zig_h3_fetch_event_type {
    /** The response head: status and headers (1xx heads are not reported). */
    ZIG_H3_FETCH_EVENT_HEADERS = 0,
    /** Response body bytes (only when the fetch streams its body). */
    ZIG_H3_FETCH_EVENT_DATA = 1,
    /** The response trailers (only when there are some). */
    ZIG_H3_FETCH_EVENT_TRAILERS = 2,
    /** The fetch is over; the last event of every fetch. status is the
     *  response's status when it ended completely, or 0 when it failed
     *  (then data holds the message: reset, timeout, connection lost, a
     *  body shorter than its content-length...). */
    ZIG_H3_FETCH_EVENT_FINISHED = 3,
    /** An HTTP/3 datagram on the request's flow (flow_id = stream_id / 4). */
    ZIG_H3_FETCH_EVENT_DATAGRAM = 4,
    /** The request stream is open: stream_id is known. The first event. */
    ZIG_H3_FETCH_EVENT_STARTED = 5,
    /** A streamed request body (ZIG_H3_FETCH_REQUEST_BODY_STREAMED) may go
     *  on: the bytes pending are back to ZIG_H3_RESPONSE_LOW_WATER. */
    ZIG_H3_FETCH_EVENT_WRITABLE = 6
} zig_h3_fetch_event_type;

/** One event of a fetch (56 bytes); borrowed for the callback only. */
typedef struct zig_h3_fetch_event {
    zig_h3_fetch_event_type type;
    uint16_t status;
    uint16_t reserved;
    const zig_h3_header *headers; /* HEADERS, TRAILERS */
    size_t headers_len;
    const uint8_t *data; /* DATA, DATAGRAM; FINISHED with status 0: the message */
    size_t data_len;
    uint64_t flow_id;
    uint64_t stream_id;
} zig_h3_fetch_event;

/** Streaming events of one fetch; runs on a library thread. */
typedef void (*zig_h3_fetch_event_cb)(void *user, const zig_h3_fetch_event *event);
/** The whole response, once it ended: status 0 when the fetch failed (no
 *  headers nor body then). body is the collected body (NULL when empty or
 *  not collected). Everything is borrowed for the call only. */
typedef void (*zig_h3_fetch_cb)(void *user, uint16_t status, const zig_h3_header *headers, size_t headers_len,
                                const uint8_t *body, size_t body_len, const zig_h3_header *trailers,
                                size_t trailers_len);
/** A datagram of the client's connection: an HTTP/3 datagram of the request
 *  flow flow_id (= stream_id / 4), or a raw QUIC datagram with flow_id
 *  ZIG_H3_FLOW_ID_RAW. data is borrowed for the call only. */
typedef void (*zig_h3_client_datagram_cb)(void *user, uint64_t flow_id, const uint8_t *data, size_t data_len);

/** Bit of zig_h3_fetch_options.stream_body: deliver the response body as
 *  ZIG_H3_FETCH_EVENT_DATA events (the original meaning of stream_body = 1). */
#define ZIG_H3_FETCH_RESPONSE_BODY_STREAMED 1
/** Bit of zig_h3_fetch_options.stream_body: the request body does not end
 *  with options.body; write the rest with zig_h3_client_write_body, the
 *  last call with fin != 0. */
#define ZIG_H3_FETCH_REQUEST_BODY_STREAMED 2
/** Bit of zig_h3_fetch_options.stream_body: the request is an HTTP/3 datagram
 *  flow. Without a request body it is sent with "content-length: 0" and its
 *  request side stays open until the fetch ends, so that
 *  zig_h3_client_send_h3_datagram works (datagrams cannot be sent on a
 *  finished request side; without this bit a fetch without a body can only
 *  receive them). */
#define ZIG_H3_FETCH_DATAGRAM_FLOW 4

/** A request (96 bytes). Strings are not NUL-terminated: use the lengths. */
typedef struct zig_h3_fetch_options {
    const char *method; /* NULL: "GET" */
    size_t method_len;
    const char *path; /* with query; NULL: "/" */
    size_t path_len;
    const zig_h3_header *headers;
    size_t headers_len;
    const uint8_t *body; /* copied; NULL when empty */
    size_t body_len;
    uint8_t stream_body;  /* ZIG_H3_FETCH_*_BODY_STREAMED bits */
    uint8_t collect_body; /* non-zero: collect the body for the zig_h3_fetch_cb */
    zig_h3_fetch_event_cb event_cb; /* may be NULL */
    void *event_user;
    uint32_t request_timeout_ms; /* 0: the client's request_timeout_ms */
    uint32_t reserved2;
} zig_h3_fetch_options;

/** Bytes owned by whoever the function returning them says. */
typedef struct zig_h3_bytes {
    const uint8_t *ptr;
    size_t len;
} zig_h3_bytes;

/** What a zig_h3_wt_event reports (client-side sessions). */
typedef enum zig_h3_wt_event_type {
    /** The server accepted the session (status: its 2xx). */
    ZIG_H3_WT_EVENT_CONNECTED = 0,
    /** The session could not be opened: status is the server's answer, or 0
     *  when there was none (reason: the message). The last event. */
    ZIG_H3_WT_EVENT_CONNECT_FAILED = 1,
    /** The session ended (error_code, reason; flags may hold
     *  ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE). The last event. */
    ZIG_H3_WT_EVENT_CLOSED = 2,
    /** A session datagram (also queued for zig_h3_wt_session_receive_datagram). */
    ZIG_H3_WT_EVENT_DATAGRAM = 3
} zig_h3_wt_event_type;

/** zig_h3_wt_event.flags: the server closed the session (not this client). */
#define ZIG_H3_WT_EVENT_FLAG_REMOTE_CLOSE 0x1

/** One event of a client-side session (56 bytes); borrowed for the call only. */
typedef struct zig_h3_wt_event {
    zig_h3_wt_event_type event_type;
    uint32_t status;
    int32_t error_code;
    uint32_t flags;
    uint64_t stream_id; /* the session's CONNECT stream */
    const uint8_t *reason;
    size_t reason_len;
    const uint8_t *datagram;
    size_t datagram_len;
} zig_h3_wt_event;

/** Events of a client-side session; runs on a library thread. */
typedef void (*zig_h3_wt_event_cb)(void *user, zig_h3_wt_session *session, const zig_h3_wt_event *event);

/** Counter indexes for zig_h3_server_counters. */
enum {
    ZIG_H3_COUNTER_CONNECTIONS_TOTAL = 0,
    ZIG_H3_COUNTER_CONNECTIONS_ACTIVE = 1,
    ZIG_H3_COUNTER_REQUESTS_TOTAL = 2,
    ZIG_H3_COUNTER_UPTIME_MS = 3,
    ZIG_H3_COUNTER_REQUESTS_ACTIVE = 4,
    /** Answered by the server itself with an error (404, 405, 413, 503) or by a failed handler. */
    ZIG_H3_COUNTER_REQUESTS_REJECTED = 5,
    /** Events (log lines) the event queue dropped because it was full. */
    ZIG_H3_COUNTER_EVENTS_DROPPED = 6,
    /** Datagrams received and sent (QUIC, HTTP/3 and WebTransport). */
    ZIG_H3_COUNTER_DATAGRAMS_RECEIVED = 7,
    ZIG_H3_COUNTER_DATAGRAMS_SENT = 8,
    /** Received datagrams dropped because the event queue was full. */
    ZIG_H3_COUNTER_DATAGRAMS_DROPPED = 9,
    ZIG_H3_COUNTER_SESSIONS_ACTIVE = 10,
    /** Requests answered 503 by the request timeout. */
    ZIG_H3_COUNTER_REQUESTS_TIMED_OUT = 11,
    /** Handshakes refused because maxConnections connections were open. */
    ZIG_H3_COUNTER_CONNECTIONS_REFUSED = 12,
    /** Goroutines in the library (all servers of the process): for leak checks. */
    ZIG_H3_COUNTER_GOROUTINES = 13,
    /** Requests by protocol: HTTP/1.x and HTTP/2 (set_options "tcp"), HTTP/3. */
    ZIG_H3_COUNTER_REQUESTS_HTTP1 = 14,
    ZIG_H3_COUNTER_REQUESTS_HTTP2 = 15,
    ZIG_H3_COUNTER_REQUESTS_HTTP3 = 16,
    ZIG_H3_COUNTER_COUNT = 17
};

/* ---- Limits -------------------------------------------------------------- */

/** zig_h3_response_send and zig_h3_wt_stream_write: at this many bytes
 *  pending (or more) the writer should pause until ZIG_H3_EVENT_WRITABLE. */
#define ZIG_H3_RESPONSE_HIGH_WATER 262144
/** ZIG_H3_EVENT_WRITABLE comes when the pending bytes are back to this. */
#define ZIG_H3_RESPONSE_LOW_WATER 65536
/** Most bytes of a request body (or WebTransport stream) delivered as
 *  events and not yet acknowledged; the rest waits for acks. */
#define ZIG_H3_BODY_WINDOW 262144
/** Largest chunk of a streaming request body (one body_chunk_cb call or
 *  ZIG_H3_EVENT_BODY_CHUNK event). */
#define ZIG_H3_BODY_CHUNK_MAX 65536
/** Most events, and most bytes of events, the event queue holds (one
 *  larger event is still taken by an empty queue). */
#define ZIG_H3_QUEUE_MAX_EVENTS 16384
#define ZIG_H3_QUEUE_MAX_BYTES 67108864
/** Longest reason zig_h3_wt_close takes (INVALID_ARG past it). */
#define ZIG_H3_WT_CLOSE_REASON_MAX 1024
/** Largest buffer length or acknowledgement a function takes; above it
 *  INVALID_ARG, before anything is read (2^40). */
#define ZIG_H3_MAX_LENGTH (1ULL << 40)
/** Bytes of a connection id (zig_h3_request.conn_id); events carry it as
 *  twice as many hex digits. */
#define ZIG_H3_CONN_ID_LEN 8
/** zig_h3_client_datagram_cb flow_id of a raw QUIC datagram (flow ids of
 *  requests are below 2^60). */
#define ZIG_H3_FLOW_ID_RAW (1ULL << 62)
/** Largest response body a fetch collects for its zig_h3_fetch_cb; a longer
 *  one fails the fetch (status 0), stream it instead. */
#define ZIG_H3_FETCH_COLLECT_MAX 67108864
/** Session datagrams kept for zig_h3_wt_session_receive_datagram; when
 *  full, the oldest is dropped. */
#define ZIG_H3_WT_DATAGRAM_QUEUE 256
/** zig_h3_client_fetch_start flags: a request body follows (zig_h3_fetch_write,
 *  the last write with fin); without it the request ends with its head. */
#define ZIG_H3_FETCH_FLAG_BODY 1
/** zig_h3_client_fetch_start flags: the request carries HTTP/3 datagrams;
 *  received ones become ZIG_H3_EVENT_H3_DATAGRAM events of the fetch. */
#define ZIG_H3_FETCH_FLAG_DATAGRAMS 2

/* The library's own bindings (capi/) define ZIG_H3_NO_PROTOTYPES: cgo
 * declares the exported functions itself, without const qualifiers. */
#ifndef ZIG_H3_NO_PROTOTYPES

/* ---- Library ------------------------------------------------------------- */

/** Library version, e.g. "0.1.0 (quic-go v0.64.1)". Owned by the library. */
const char *zig_h3_version(void);

/** Short fixed text for a return code. Owned by the library; never NULL. */
const char *zig_h3_strerror(int code);

/** Message of the last failing call made on the calling thread, or "" if
 *  none. Owned by the library, valid until the next call on this thread. */
const char *zig_h3_last_error(void);

/* ---- Server -------------------------------------------------------------- */

/** Creates a server from config (NULL: all defaults). Loads the certificate
 *  now, so a bad one fails here. Returns NULL on error (see
 *  zig_h3_last_error). Free it with zig_h3_server_free. */
zig_h3_server *zig_h3_server_new(const zig_h3_server_config *config);

/** Stops the server at once if it runs (as stop with force) and frees it.
 *  In event-queue mode, stop waiting on the event fd before freeing: the fd
 *  is closed here. Like zig_h3_server_stop, it must not be called from a
 *  request callback (it waits for running callbacks). Returns ZIG_H3_OK or
 *  ZIG_H3_ERR_BAD_HANDLE. Of calls racing to free the same server exactly
 *  one frees it; the others get BAD_HANDLE at once, possibly before that
 *  free has finished. Other calls racing a free act on the server before it
 *  goes or get BAD_HANDLE (an event fd they got is closed by the free). */
int zig_h3_server_free(zig_h3_server *server);

/** Binds the UDP socket and starts serving. Errors: BAD_HANDLE, STATE
 *  (already started), IO (bind failed). */
int zig_h3_server_start(zig_h3_server *server);

/** Stops the server and returns when it is down. force != 0: every
 *  connection is closed at once and open responses are aborted. force == 0:
 *  new connections are refused, new requests get 503, in-flight requests
 *  finish (a deferred response must still be ended), then connections close
 *  (clients get up to one second to close them first). Must not be called
 *  from a request callback (use zig_h3_server_stop_async). Stopping a server
 *  that is not running returns ZIG_H3_OK. Errors: BAD_HANDLE. */
int zig_h3_server_stop(zig_h3_server *server, uint8_t force);

/** Like zig_h3_server_stop but returns at once; an EVENT_STOPPED event is
 *  queued when the server is down (this creates the event queue if needed).
 *  Errors: BAD_HANDLE, IO. */
int zig_h3_server_stop_async(zig_h3_server *server, uint8_t force);

/** The bound UDP port (> 0) once started, 0 before; with "tcp", the TCP
 *  port too (the same number). Negative on error (BAD_HANDLE). */
int zig_h3_server_port(zig_h3_server *server);

/** Writes the SHA-256 of the server certificate's DER (32 bytes) to out32:
 *  the value browsers pin with WebTransport serverCertificateHashes.
 *  Returns 1 if the certificate is the development one, 0 if it was given,
 *  or a negative error (BAD_HANDLE, INVALID_ARG for NULL). */
int zig_h3_server_certificate_hash(zig_h3_server *server, uint8_t *out32);

/** Sets what zig_h3_server_config cannot carry; only before start. spec is
 *  JSON (len bytes) with any of: "tcp" (true: also serve HTTP/1.1 and
 *  HTTP/2 over TLS 1.2+ on TCP, same address, port number, certificate and
 *  routes; off by default in C, where the library has always been HTTP/3
 *  only, on by default in the Bun wrapper as in Bun.serve; CONNECT over TCP
 *  gets 405, and WebTransport and datagrams stay HTTP/3's; a TCP request's
 *  stream_id numbers the requests of its connection: 0, 4, 8, ...), "altSvc" (the
 *  Alt-Svc field of every TCP response: a string, or false for none;
 *  default h3=":PORT"; ma=86400), "certPem" and "keyPem" (PEM text, together;
 *  they replace cert_path/key_path or the development certificate),
 *  "maxRequestBodySize" (bytes; buffered bodies over it get 413; default
 *  1048576), "maxHeaderBytes" (request header section limit; over it 431;
 *  default 1048576), "quicAlpn" (extra ALPN protocols on the same port,
 *  for raw QUIC datagrams), "webtransportOrigins" (page origins allowed to
 *  open WebTransport sessions, "*" for any; default: pages of the
 *  request's own host and loopback pages), "enableDatagrams" and
 *  "enableWebTransport" (as in the config), "requestTimeoutMs" (how long a
 *  request may go without its response head being sent and without request
 *  body bytes arriving; then the client gets 503 "Request timed out" and
 *  the response handle dies; default 60000, 0: no limit; see
 *  zig_h3_response_set_timeout; a request callback that answers before
 *  it returns has its answer sent, however long it took), "headerTimeoutMs" (how long a request
 *  stream may take to deliver its HEADERS; then it is reset with
 *  H3_REQUEST_INCOMPLETE; with "tcp", how long a TCP client may take to
 *  send a request head, then the connection closes; default 5000, 0: no
 *  limit; on HTTP/3 not applied when enableWebTransport is set), "maxHeaderFields" (fields in a request's
 *  header section or buffered trailers; over it 431; default 200),
 *  "maxConnections" (open connections;
 *  more are refused at the handshake; default 10000),
 *  "maxStreamsPerConnection" (concurrent request streams per connection;
 *  default 100), "zeroRtt" (false: refuse 0-RTT; by default requests of
 *  GET, HEAD and OPTIONS that arrive in 0-RTT data run at once and carry
 *  the header "early-data: 1" (RFC 8470: they may be replays), others
 *  wait until the handshake is complete), "clusterSecret" (a string of at
 *  least 16 bytes shared by the servers of a cluster: their stateless
 *  reset, address token and TLS session ticket keys derive from it, so a
 *  client resumes with 0-RTT at any of them; without it, no stateless
 *  resets), "reusePort" (Linux: several servers, in one process or many,
 *  bind the same port; each needs its own "workerId", 0-255, and a
 *  second server with a taken id fails to start with CONFIG; packets of
 *  a connection reach the server that owns it through a socket selection
 *  program, also after the client's address changed; the process needs
 *  CAP_BPF for the eBPF program, without it a classic program works only
 *  while the servers start in id order from 0 and none stops), "workers"
 *  (optional: how many servers share the port; workerId must be below
 *  it), "quicLbServerId" (hex, 1-10 bytes: connection IDs in the QUIC-LB
 *  plaintext format with this server ID, for a load balancer in front of
 *  many machines) and "quicLbConfigRotation" (0-6, default 0). Errors: BAD_HANDLE,
 *  INVALID_ARG (NULL, bad JSON),
 *  CONFIG (bad certificate or value), STATE (started). */
int zig_h3_server_set_options(zig_h3_server *server, const char *spec, size_t len);

/** Adds a route; only before start. method is an HTTP token or "*" (any
 *  method); pattern is "/"-separated literal segments, ":name" segments
 *  (one non-empty segment) and an optional final "*" (the rest of the path).
 *  The most specific pattern wins whatever the order of registration. HEAD
 *  is served by the GET route when there is no HEAD route; a known path with
 *  another method gets 405 with Allow (OPTIONS: 204 with Allow); an unknown
 *  path gets 404. datagram_cb (may be NULL) makes the route exchange HTTP/3
 *  datagrams (see zig_h3_response_send_h3_datagram); wt_cb (may be NULL)
 *  makes it take WebTransport sessions. Errors: BAD_HANDLE, INVALID_ARG
 *  (NULL method, pattern or callback, bad method or pattern, duplicate
 *  route), STATE (started). */
int zig_h3_server_route(zig_h3_server *server, const char *method, const char *pattern,
                        zig_h3_request_cb callback, zig_h3_datagram_cb datagram_cb,
                        zig_h3_wt_session_cb wt_cb, void *user);

/** Adds a streaming-body route; only before start. callback runs as soon
 *  as the head arrives (req->body is NULL); then the body arrives through
 *  body_chunk_cb, one chunk (up to ZIG_H3_BODY_CHUNK_MAX) at a time, and body_complete_cb
 *  (may be NULL) at its end, on a library thread of their own, so the
 *  response can be written meanwhile (full duplex). The next chunk is read
 *  only when body_chunk_cb returns: a slow callback slows the client down
 *  through QUIC flow control. There is no body size limit. Auto-end (see
 *  zig_h3_response_defer_end) happens once the callback has returned and
 *  the body was delivered. If the response ends first, the rest of the
 *  body is refused (STOP_SENDING) and body_complete_cb is not called.
 *  Method and pattern as in zig_h3_server_route. Errors: BAD_HANDLE,
 *  INVALID_ARG (NULL method, pattern, callback or body_chunk_cb, bad method
 *  or pattern), STATE (started). */
int zig_h3_server_route_streaming(zig_h3_server *server, const char *method, const char *pattern,
                                  zig_h3_request_cb callback, zig_h3_body_chunk_cb body_chunk_cb,
                                  zig_h3_body_complete_cb body_complete_cb, zig_h3_datagram_cb datagram_cb,
                                  zig_h3_wt_session_cb wt_cb, void *user);

/** The response of the request on stream stream_id of connection conn_id
 *  (what the body callbacks receive), for routes added with
 *  zig_h3_server_route or zig_h3_server_route_streaming, while the response
 *  is open: the callbacks carry only (conn_id, stream_id), as in the
 *  original ABI, and this spares a table of one's own. Writes the response
 *  handle to *out (nothing to free). Errors: BAD_HANDLE (server; or no open
 *  response on that stream: finished, never there, or an event route's),
 *  INVALID_ARG (NULL out or conn_id, or conn_id_len other than 8). */
int zig_h3_server_response_for_stream(zig_h3_server *server, const uint8_t *conn_id, size_t conn_id_len,
                                      uint64_t stream_id, zig_h3_response **out);

/** Calls cb when each request stream is done (see zig_h3_stream_close_cb);
 *  NULL removes it. cb runs on library threads. Errors: BAD_HANDLE. */
int zig_h3_server_set_stream_close_cb(zig_h3_server *server, zig_h3_stream_close_cb cb, void *user);

/** Calls cb when each connection closes; NULL removes it. cb runs on
 *  library threads. Errors: BAD_HANDLE. */
int zig_h3_server_set_connection_close_cb(zig_h3_server *server, zig_h3_connection_close_cb cb, void *user);

/** Sets the raw QUIC datagram callback (NULL removes it); set it before
 *  start (it decides how HTTP/3 connections are served) and enable
 *  datagrams in the config. cb runs on library threads. Errors: BAD_HANDLE. */
int zig_h3_server_set_quic_datagram_cb(zig_h3_server *server, zig_h3_quic_datagram_cb cb, void *user);

/** Event-queue mode: raw QUIC datagrams become ZIG_H3_EVENT_QUIC_DATAGRAM
 *  events (dropped and counted when the queue is full). Before start.
 *  Errors: BAD_HANDLE, IO. */
int zig_h3_server_queue_quic_datagrams(zig_h3_server *server);

/** Sends a raw QUIC datagram (copied) on the connection conn_ptr. Errors:
 *  BAD_HANDLE (server, or a connection that closed), INVALID_ARG,
 *  TOO_LARGE, CLOSED. */
int zig_h3_server_send_quic_datagram(zig_h3_server *server, void *conn_ptr, const uint8_t *data, size_t len);

/** Largest raw QUIC datagram payload the connection can send now (0 if
 *  datagrams are not negotiated), or BAD_HANDLE. */
int zig_h3_server_max_datagram_size(zig_h3_server *server, void *conn_ptr);

/** Sends log lines at or below the configured log_level to cb (NULL: stop
 *  logging). cb runs on library threads. Errors: BAD_HANDLE. */
int zig_h3_server_set_log(zig_h3_server *server, zig_h3_log_cb cb, void *user);

/** Fills *out with the counters. Errors: BAD_HANDLE, INVALID_ARG (NULL out). */
int zig_h3_server_stats(zig_h3_server *server, struct zig_h3_server_stats *out);

/** Writes up to n counters, in the order of the ZIG_H3_COUNTER_* indexes,
 *  to out. Returns how many it wrote, or BAD_HANDLE / INVALID_ARG. */
int zig_h3_server_counters(zig_h3_server *server, uint64_t *out, size_t n);

/* ---- Responses ----------------------------------------------------------- */
/* A zig_h3_response is valid from the request callback until the library
 * has finished writing the response (or the client went away); from then on
 * every function returns BAD_HANDLE. Between the end of the response and
 * that moment, calls that would change it return CLOSED. These functions
 * only record what to send and never block on the network; the library
 * writes it out. They may be called from any thread. */

/** Restarts the response's request timeout with ms milliseconds from now
 *  (0: no limit for this response), e.g. for a long poll. Only before the
 *  head is sent. Errors: BAD_HANDLE, STATE (body started), CLOSED. */
int zig_h3_response_set_timeout(zig_h3_response *resp, uint32_t ms);

/** Sets the status (200-599, default 200; 1xx statuses are informational
 *  and cannot be a final status). Errors: BAD_HANDLE, INVALID_ARG (out of
 *  range), STATE (body already started), CLOSED (ended). */
int zig_h3_response_status(zig_h3_response *resp, uint16_t status);

/** Adds a header (repeated names keep every value, e.g. set-cookie). The
 *  name must be an HTTP token; the value must not hold CR, LF or NUL.
 *  Connection-specific fields (connection, keep-alive, proxy-connection,
 *  transfer-encoding, upgrade), forbidden in HTTP/3, are left out of the
 *  head and trailers sent. A 205 is sent without content and a 304 without
 *  a Content-Length unless one is declared.
 *  Errors: BAD_HANDLE, INVALID_ARG, STATE (body already started), CLOSED. */
int zig_h3_response_header(zig_h3_response *resp, const char *name, size_t name_len,
                           const char *value, size_t value_len);

/** Appends body bytes (copied); the head is fixed from now on. data may be
 *  NULL only with len 0. If the head declares a Content-Length, a body that
 *  runs past it or ends short of it resets the stream (H3_INTERNAL_ERROR:
 *  the client sees an error, not a cut body) and logs a warning; not so
 *  for HEAD, 204 and 304 (no body is sent) or an HTTP/3 datagram flow. A
 *  Content-Length that is not one decimal number is dropped from the head,
 *  and a 204 never carries one (RFC 9110); nor does the head of a HEAD
 *  request whose body is written (not ended whole) unless it declares one.
 *  Errors: BAD_HANDLE, INVALID_ARG, CLOSED. */
int zig_h3_response_write(zig_h3_response *resp, const uint8_t *data, size_t len);

/** Appends the last body bytes (may be none) and ends the response. Without
 *  an earlier write (and while the head is not sent: a datagram route sends
 *  it when the callback returns) the body is whole and Content-Length is
 *  set to len, replacing a declared one, on GET and HEAD alike; a HEAD
 *  answered with no body keeps a declared one, and 204 and 304 get none
 *  set (a 304 keeps a declared one). Errors: BAD_HANDLE, INVALID_ARG,
 *  CLOSED. */
int zig_h3_response_end(zig_h3_response *resp, const uint8_t *data, size_t len);

/** Sends an HTTP/3 datagram (copied) on the request stream of a route with
 *  a datagram_cb. The flow exists once the response head is sent (and the
 *  peer enabled HTTP/3 datagrams) and lasts until the response ends: keep
 *  the response open (defer_end) while datagrams flow; on such a route the
 *  head is sent when the request callback returns (set status and headers
 *  before). Such routes stream
 *  their request body (req->body is NULL) and send no trailers. Errors:
 *  BAD_HANDLE, INVALID_ARG, STATE (no flow yet, or not a datagram route),
 *  TOO_LARGE, CLOSED. */
int zig_h3_response_send_h3_datagram(zig_h3_response *resp, const uint8_t *data, size_t len);

/** Largest HTTP/3 datagram payload the response's flow can send now (0
 *  without a flow), or BAD_HANDLE. */
int zig_h3_response_max_datagram_size(zig_h3_response *resp);

/** Sends trailer fields after the body and ends the response. headers may be
 *  NULL only with count 0. Errors: BAD_HANDLE, INVALID_ARG, CLOSED. */
int zig_h3_response_send_trailers(zig_h3_response *resp, const zig_h3_header *headers, size_t count);

/** Keeps the response open after the request callback returns; end it
 *  later, from any thread, with zig_h3_response_end or
 *  zig_h3_response_send_trailers. Errors: BAD_HANDLE. */
int zig_h3_response_defer_end(zig_h3_response *resp);

/** auto_end != 0: end when the callback returns (the default); 0: same as
 *  zig_h3_response_defer_end. Errors: BAD_HANDLE. */
int zig_h3_response_set_auto_end(zig_h3_response *resp, uint8_t auto_end);

/** 1 if the response ends when the callback returns, 0 if not, or BAD_HANDLE. */
int zig_h3_response_should_auto_end(zig_h3_response *resp);

/** Number of body bytes recorded but not yet handed to the QUIC stream
 *  (>= 0), or BAD_HANDLE, or CLOSED (finished, handle about to die). A
 *  writer can poll it to pace itself. */
int zig_h3_response_process_partial(zig_h3_response *resp);

/** Appends body bytes (copied) and, with end != 0, ends the response,
 *  sending trailers if trailers_len > 0 (a block like zig_h3_response_respond's
 *  headers). Returns the bytes recorded but not yet handed to the QUIC
 *  stream (>= 0): at ZIG_H3_RESPONSE_HIGH_WATER or more the writer should pause;
 *  in event-queue mode a ZIG_H3_EVENT_WRITABLE event follows when it is
 *  back to ZIG_H3_RESPONSE_LOW_WATER (C users can poll zig_h3_response_process_partial).
 *  Content-Length as in zig_h3_response_end and _write, trailers or not: a
 *  whole body (nothing written before) gets its own length. Errors
 *  (negative): BAD_HANDLE, INVALID_ARG, CLOSED. */
int64_t zig_h3_response_send(zig_h3_response *resp, const uint8_t *data, size_t len, uint8_t end,
                             const uint8_t *trailers, size_t trailers_len);

/** Sets status and headers (block as in zig_h3_response_respond) and ends
 *  the response with the file at path (path_len bytes) as its body, read by
 *  the library without a copy through the caller. With status 200, Range
 *  (bytes ranges of a GET; ignored otherwise, as RFC 9110 asks) and
 *  conditional requests are honoured (206, 416, 304) and Content-Type
 *  comes from the extension when absent (application/octet-stream for an
 *  unknown one: the file is never sniffed); a file that cannot be opened
 *  gives 404 (500 for other errors). Errors: BAD_HANDLE, INVALID_ARG,
 *  STATE (head already sent), CLOSED. */
int zig_h3_response_send_file(zig_h3_response *resp, uint16_t status, const uint8_t *headers, size_t headers_len,
                              const char *path, size_t path_len);

/** Event-queue mode, streaming routes: acknowledges n bytes of request body
 *  delivered as ZIG_H3_EVENT_BODY_CHUNK events. At most ZIG_H3_BODY_WINDOW bytes are
 *  delivered and not acknowledged; the rest waits (QUIC flow control
 *  stops the client). Errors: BAD_HANDLE, STATE (not a streaming request),
 *  INVALID_ARG (n above ZIG_H3_MAX_LENGTH). */
int zig_h3_response_ack_body(zig_h3_response *resp, size_t n);

/** Streaming routes: refuses the rest of the request body (STOP_SENDING).
 *  Errors: BAD_HANDLE, STATE (not a streaming request). */
int zig_h3_response_discard_body(zig_h3_response *resp);

/** Abandons the response instead of ending it: the library resets its
 *  stream (HTTP/3: H3_INTERNAL_ERROR in both directions; over TCP, HTTP/2
 *  resets the stream and HTTP/1.1 closes the connection), so the client
 *  sees an error, never a body cut short that looks complete. For a body
 *  whose source failed after the head or part of the body was recorded;
 *  what is recorded and not yet sent is dropped (the chunk being written
 *  when the call comes still goes out; a file body of
 *  zig_h3_response_send_file is not cut once it is being sent). Allowed
 *  until the response is finished, also after it ended (while its body is
 *  still being written). The request then completes as aborted: the stream
 *  close callback gets aborted != 0, and in event-queue mode a
 *  ZIG_H3_EVENT_ABORT (reason 0) follows; the handle dies as for any
 *  finished response. The reset is done by the library's own thread: the
 *  call never blocks. Errors: BAD_HANDLE, CLOSED (already finished). */
int zig_h3_response_abort(zig_h3_response *resp);

/* ---- WebTransport ----------------------------------------------------------
 * A route with a wt_cb (or an event route with "webtransport": true) takes
 * WebTransport sessions; the server needs enable_webtransport. Session
 * handles are valid until the session closes (then BAD_HANDLE); NULL is
 * INVALID_ARG. Page origins: see set_options "webtransportOrigins".
 * Extended CONNECT: quic-go advertises SETTINGS_ENABLE_CONNECT_PROTOCOL on
 * every connection (it cannot be turned off), so the rule is enforced per
 * request, with the routes in force at the time (set_routes after start
 * too): :protocol webtransport is a session only on a route that takes
 * sessions of a server with enable_webtransport (else 404); any other
 * :protocol gets 501. No callback runs for a refused one. */

/** Accepts the session (the client gets 200). Errors: STATE (already decided). */
int zig_h3_wt_accept(zig_h3_wt_session *session);
/** Rejects the session with status 400-599. Errors: INVALID_ARG, STATE. */
int zig_h3_wt_reject(zig_h3_wt_session *session, uint16_t status);
/** Closes the session with an application code and a reason (copied; the
 *  peer sees both). Errors: INVALID_ARG (reason over
 *  ZIG_H3_WT_CLOSE_REASON_MAX bytes), STATE (not accepted), CLOSED. */
int zig_h3_wt_close(zig_h3_wt_session *session, uint32_t code, const uint8_t *reason, size_t reason_len);
/** Sends a session datagram (copied). Errors: STATE, TOO_LARGE, CLOSED. */
int zig_h3_wt_send_datagram(zig_h3_wt_session *session, const uint8_t *data, size_t len);
/** Largest session datagram payload sendable now (0 before accept). */
int zig_h3_wt_max_datagram_size(zig_h3_wt_session *session);
/** Nothing to release: session handles die with their session. Returns
 *  ZIG_H3_OK for a live session, BAD_HANDLE otherwise. */
int zig_h3_wt_release(zig_h3_wt_session *session);

/** Opens a bidirectional (bidi != 0) or unidirectional stream; returns its
 *  stream handle (> 0), or STATE (not accepted, or the peer's stream limit
 *  is reached), CLOSED. Stream handles are 64-bit numbers, valid until both
 *  sides of the stream are done. Incoming data of bidirectional streams
 *  arrives as ZIG_H3_EVENT_STREAM_DATA events. */
int64_t zig_h3_wt_open_stream(zig_h3_wt_session *session, uint8_t bidi);
/** Appends data (copied) to a stream and, with fin != 0, ends it. Returns
 *  the bytes pending (>= 0; pause at ZIG_H3_RESPONSE_HIGH_WATER until ZIG_H3_EVENT_WRITABLE
 *  for this stream handle), or BAD_HANDLE, STATE (receive-only), CLOSED. */
int64_t zig_h3_wt_stream_write(uint64_t stream, const uint8_t *data, size_t len, uint8_t fin);
/** Acknowledges n bytes delivered as ZIG_H3_EVENT_STREAM_DATA (at most
 *  ZIG_H3_BODY_WINDOW unacknowledged bytes are delivered per stream). Errors:
 *  BAD_HANDLE, STATE (send-only stream), INVALID_ARG (n above ZIG_H3_MAX_LENGTH). Stream handles
 *  stay valid for 5 s after both sides are done, so late acknowledgements
 *  still succeed. */
int zig_h3_wt_stream_ack(uint64_t stream, size_t n);
/** Abandons both sides of a stream with an application error code. */
int zig_h3_wt_stream_reset(uint64_t stream, uint32_t code);
/** Asks the peer to stop sending on a stream (STOP_SENDING with code). */
int zig_h3_wt_stream_stop_reading(uint64_t stream, uint32_t code);

/* ---- Event-queue mode -------------------------------------------------------
 * For runtimes that must not be called from foreign threads (Bun). Instead
 * of callbacks, requests become events in a bounded queue. The event fd
 * (a non-blocking eventfd) becomes readable when the queue goes from empty
 * to non-empty, and again when a drain leaves events behind (they did not
 * fit); the consumer reads it (resetting it), then calls
 * zig_h3_server_drain once (again with a larger buffer after
 * BUFFER_TOO_SMALL, which does not ring), or until it returns 0. Requests wait (slowing clients down through flow control)
 * while the queue is full; log lines are dropped and counted.
 *
 * Events are packed one after the other, little-endian; each starts with a
 * zig_h3_event_header whose length (header included) is a multiple of 8, so
 * in an 8-byte aligned buffer every event can be read through the struct
 * of its type (below), and its variable part starts at the struct's data.
 *   ZIG_H3_EVENT_REQUEST  zig_h3_event_request (handle: the response), then
 *                         head and body. The head is NUL-separated strings:
 *                         method, path (with query), authority, remote
 *                         address "ip:port", connection id in hex, then name
 *                         and raw (percent-encoded) value of each route
 *                         param, then name and value of each header, then of
 *                         each trailer (buffered routes). Answer with
 *                         zig_h3_response_respond.
 *   ZIG_H3_EVENT_ABORT    zig_h3_event_abort, reason 0: the client went away
 *                         before the response ended, 1: the request timed
 *                         out (the client got 503); the handle is now invalid.
 *   ZIG_H3_EVENT_LOG      zig_h3_event_log: the line (not NUL-terminated).
 *   ZIG_H3_EVENT_STOPPED  zig_h3_event_stopped: a zig_h3_server_stop_async
 *                         finished.
 *   ZIG_H3_EVENT_BODY_CHUNK  zig_h3_event_bytes: a part of a streaming
 *                         request body; acknowledge it with
 *                         zig_h3_response_ack_body once consumed.
 *   ZIG_H3_EVENT_BODY_END zig_h3_event_body_end: the trailers as NUL-
 *                         separated name and value strings.
 *   ZIG_H3_EVENT_WRITABLE zig_h3_event_handle (a response, or a WebTransport
 *                         stream): after zig_h3_response_send returned
 *                         ZIG_H3_RESPONSE_HIGH_WATER or more, the pending bytes
 *                         are back to ZIG_H3_RESPONSE_LOW_WATER or it finished.
 * A streaming request (route "streaming": true) sends REQUEST (body length
 * 0), then BODY_CHUNKs and BODY_END, unless ABORT comes first.
 *   ZIG_H3_EVENT_SESSION  zig_h3_event_request with a session handle instead
 *                         of a response handle: accept or reject it.
 *   ZIG_H3_EVENT_SESSION_DATAGRAM  zig_h3_event_bytes (handle: the session).
 *   ZIG_H3_EVENT_STREAM_OPENED  zig_h3_event_stream_opened: bidi 1, or 0 for
 *                         a unidirectional stream from the peer.
 *   ZIG_H3_EVENT_STREAM_DATA  zig_h3_event_bytes (handle: the stream; ack them).
 *   ZIG_H3_EVENT_STREAM_END  zig_h3_event_stream_end: reset 0 for a FIN.
 *   ZIG_H3_EVENT_SESSION_READY  zig_h3_event_handle (the session): accepted
 *                         and established; streams can be opened from now on.
 *   ZIG_H3_EVENT_SESSION_CLOSED  zig_h3_event_session_closed, data the reason.
 *                         Also sent (code 0) for a session that was rejected
 *                         or never established, so that every SESSION ends
 *                         with one SESSION_CLOSED; the handle dies with it.
 *   ZIG_H3_EVENT_QUIC_DATAGRAM  zig_h3_event_quic_datagram (conn: conn_ptr);
 *                         data holds the remote address, the connection id in
 *                         hex (2 * ZIG_H3_CONN_ID_LEN chars), the bytes.
 *   ZIG_H3_EVENT_H3_DATAGRAM  zig_h3_event_bytes (handle: the response).
 * Datagram events are dropped (and counted) when the queue is full.
 */

#define ZIG_H3_EVENT_REQUEST 1
#define ZIG_H3_EVENT_ABORT   2
#define ZIG_H3_EVENT_LOG     3
#define ZIG_H3_EVENT_STOPPED 4
#define ZIG_H3_EVENT_BODY_CHUNK 5
#define ZIG_H3_EVENT_BODY_END 6
#define ZIG_H3_EVENT_WRITABLE 7
#define ZIG_H3_EVENT_SESSION 8
#define ZIG_H3_EVENT_SESSION_DATAGRAM 9
#define ZIG_H3_EVENT_STREAM_OPENED 10
#define ZIG_H3_EVENT_STREAM_DATA 11
#define ZIG_H3_EVENT_STREAM_END 12
#define ZIG_H3_EVENT_SESSION_CLOSED 13
#define ZIG_H3_EVENT_QUIC_DATAGRAM 14
#define ZIG_H3_EVENT_H3_DATAGRAM 15
#define ZIG_H3_EVENT_SESSION_READY 16

/* Client events (see "Client, event-queue mode"). */
#define ZIG_H3_EVENT_FETCH_HEAD 17
#define ZIG_H3_EVENT_FETCH_DATA 18
#define ZIG_H3_EVENT_FETCH_END 19
#define ZIG_H3_EVENT_FETCH_ERROR 20
#define ZIG_H3_EVENT_CLIENT_CONNECTED 21
#define ZIG_H3_EVENT_CLIENT_CLOSED 22
#define ZIG_H3_EVENT_SESSION_ABORTED 23

/* The fixed part of each event (see "Event-queue mode" above); data marks
 * where the variable part starts. The asserts are the wire offsets. */
#ifdef __cplusplus
#define ZIG_H3_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define ZIG_H3_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#if defined(__cplusplus) && defined(__GNUC__)
#define ZIG_H3_FLEXIBLE __extension__ /* flexible array members are a C feature */
#else
#define ZIG_H3_FLEXIBLE
#endif
#define ZIG_H3_AT(type, field, offset) \
    ZIG_H3_STATIC_ASSERT(offsetof(type, field) == (offset), #type "." #field " at " #offset)

/* The layouts of the original ABI's client structs (see "Client types"). */
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_client_config) == 16, "zig_h3_client_config size");
ZIG_H3_AT(zig_h3_client_config, idle_timeout_ms, 4);
ZIG_H3_AT(zig_h3_client_config, request_timeout_ms, 8);
ZIG_H3_AT(zig_h3_client_config, connect_timeout_ms, 12);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_fetch_event) == 56, "zig_h3_fetch_event size");
ZIG_H3_AT(zig_h3_fetch_event, status, 4);
ZIG_H3_AT(zig_h3_fetch_event, headers, 8);
ZIG_H3_AT(zig_h3_fetch_event, data, 24);
ZIG_H3_AT(zig_h3_fetch_event, flow_id, 40);
ZIG_H3_AT(zig_h3_fetch_event, stream_id, 48);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_fetch_options) == 96, "zig_h3_fetch_options size");
ZIG_H3_AT(zig_h3_fetch_options, body, 48);
ZIG_H3_AT(zig_h3_fetch_options, stream_body, 64);
ZIG_H3_AT(zig_h3_fetch_options, collect_body, 65);
ZIG_H3_AT(zig_h3_fetch_options, event_cb, 72);
ZIG_H3_AT(zig_h3_fetch_options, event_user, 80);
ZIG_H3_AT(zig_h3_fetch_options, request_timeout_ms, 88);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_bytes) == 16, "zig_h3_bytes size");
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_wt_event) == 56, "zig_h3_wt_event size");
ZIG_H3_AT(zig_h3_wt_event, error_code, 8);
ZIG_H3_AT(zig_h3_wt_event, stream_id, 16);
ZIG_H3_AT(zig_h3_wt_event, reason, 24);
ZIG_H3_AT(zig_h3_wt_event, datagram, 40);

typedef struct zig_h3_event_header {
    uint32_t length; /* the whole event, header included; a multiple of 8 */
    uint8_t type;    /* ZIG_H3_EVENT_* */
    uint8_t pad[3];
} zig_h3_event_header;
ZIG_H3_AT(zig_h3_event_header, length, 0);
ZIG_H3_AT(zig_h3_event_header, type, 4);
ZIG_H3_AT(zig_h3_event_header, pad, 5);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_event_header) == 8, "zig_h3_event_header size");

/* REQUEST and SESSION. */
typedef struct zig_h3_event_request {
    zig_h3_event_header h;
    uint64_t handle; /* response (REQUEST) or session (SESSION) */
    uint64_t stream_id;
    uint32_t tag; /* the route's tag */
    uint32_t head_len;
    uint32_t body_len;
    uint16_t params;
    uint16_t headers;
    uint16_t trailers;
    uint16_t pad;
    ZIG_H3_FLEXIBLE uint8_t data[]; /* head_len bytes of head, body_len of body */
} zig_h3_event_request;
ZIG_H3_AT(zig_h3_event_request, handle, 8);
ZIG_H3_AT(zig_h3_event_request, stream_id, 16);
ZIG_H3_AT(zig_h3_event_request, tag, 24);
ZIG_H3_AT(zig_h3_event_request, head_len, 28);
ZIG_H3_AT(zig_h3_event_request, body_len, 32);
ZIG_H3_AT(zig_h3_event_request, params, 36);
ZIG_H3_AT(zig_h3_event_request, headers, 38);
ZIG_H3_AT(zig_h3_event_request, trailers, 40);
ZIG_H3_AT(zig_h3_event_request, pad, 42);
ZIG_H3_AT(zig_h3_event_request, data, 44);

typedef struct zig_h3_event_abort {
    zig_h3_event_header h;
    uint64_t handle; /* the response */
    uint32_t reason; /* 0: the client went away, 1: timed out */
} zig_h3_event_abort;
ZIG_H3_AT(zig_h3_event_abort, handle, 8);
ZIG_H3_AT(zig_h3_event_abort, reason, 16);

typedef struct zig_h3_event_log {
    zig_h3_event_header h;
    uint32_t level;
    uint32_t length;
    ZIG_H3_FLEXIBLE uint8_t data[]; /* the line */
} zig_h3_event_log;
ZIG_H3_AT(zig_h3_event_log, level, 8);
ZIG_H3_AT(zig_h3_event_log, length, 12);
ZIG_H3_AT(zig_h3_event_log, data, 16);

typedef struct zig_h3_event_stopped {
    zig_h3_event_header h;
    uint32_t pad;
} zig_h3_event_stopped;
ZIG_H3_AT(zig_h3_event_stopped, pad, 8);

/* BODY_CHUNK, SESSION_DATAGRAM, STREAM_DATA and H3_DATAGRAM: a handle and bytes. */
typedef struct zig_h3_event_bytes {
    zig_h3_event_header h;
    uint64_t handle;
    uint32_t length;
    ZIG_H3_FLEXIBLE uint8_t data[];
} zig_h3_event_bytes;
ZIG_H3_AT(zig_h3_event_bytes, handle, 8);
ZIG_H3_AT(zig_h3_event_bytes, length, 16);
ZIG_H3_AT(zig_h3_event_bytes, data, 20);

typedef struct zig_h3_event_body_end {
    zig_h3_event_header h;
    uint64_t handle; /* the response */
    uint32_t trailers_len;
    uint16_t trailers;
    uint16_t pad;
    ZIG_H3_FLEXIBLE uint8_t data[]; /* trailers_len bytes of trailers */
} zig_h3_event_body_end;
ZIG_H3_AT(zig_h3_event_body_end, handle, 8);
ZIG_H3_AT(zig_h3_event_body_end, trailers_len, 16);
ZIG_H3_AT(zig_h3_event_body_end, trailers, 20);
ZIG_H3_AT(zig_h3_event_body_end, pad, 22);
ZIG_H3_AT(zig_h3_event_body_end, data, 24);

/* WRITABLE and SESSION_READY: a handle only. */
typedef struct zig_h3_event_handle {
    zig_h3_event_header h;
    uint64_t handle;
} zig_h3_event_handle;
ZIG_H3_AT(zig_h3_event_handle, handle, 8);

typedef struct zig_h3_event_stream_opened {
    zig_h3_event_header h;
    uint64_t session;
    uint64_t stream;
    uint32_t bidi;
} zig_h3_event_stream_opened;
ZIG_H3_AT(zig_h3_event_stream_opened, session, 8);
ZIG_H3_AT(zig_h3_event_stream_opened, stream, 16);
ZIG_H3_AT(zig_h3_event_stream_opened, bidi, 24);

typedef struct zig_h3_event_stream_end {
    zig_h3_event_header h;
    uint64_t stream;
    uint32_t reset;
    uint32_t code;
} zig_h3_event_stream_end;
ZIG_H3_AT(zig_h3_event_stream_end, stream, 8);
ZIG_H3_AT(zig_h3_event_stream_end, reset, 16);
ZIG_H3_AT(zig_h3_event_stream_end, code, 20);

typedef struct zig_h3_event_session_closed {
    zig_h3_event_header h;
    uint64_t session;
    uint32_t code;
    uint32_t reason_len;
    ZIG_H3_FLEXIBLE uint8_t data[]; /* the reason */
} zig_h3_event_session_closed;
ZIG_H3_AT(zig_h3_event_session_closed, session, 8);
ZIG_H3_AT(zig_h3_event_session_closed, code, 16);
ZIG_H3_AT(zig_h3_event_session_closed, reason_len, 20);
ZIG_H3_AT(zig_h3_event_session_closed, data, 24);

typedef struct zig_h3_event_quic_datagram {
    zig_h3_event_header h;
    uint64_t conn;
    uint32_t remote_len;
    uint32_t length;
    ZIG_H3_FLEXIBLE uint8_t data[]; /* remote address, connection id in hex, bytes */
} zig_h3_event_quic_datagram;
ZIG_H3_AT(zig_h3_event_quic_datagram, conn, 8);
ZIG_H3_AT(zig_h3_event_quic_datagram, remote_len, 16);
ZIG_H3_AT(zig_h3_event_quic_datagram, length, 20);
ZIG_H3_AT(zig_h3_event_quic_datagram, data, 24);

/* FETCH_HEAD: the response head; data holds head_len bytes of NUL-separated
 * header names and values ("name\0value\0...", names lower-case). */
typedef struct zig_h3_event_fetch_head {
    zig_h3_event_header h;
    uint64_t handle; /* the fetch */
    uint64_t stream_id;
    uint32_t status;
    uint32_t head_len;
    uint16_t headers;
    uint16_t pad[3];
    ZIG_H3_FLEXIBLE uint8_t data[];
} zig_h3_event_fetch_head;
ZIG_H3_AT(zig_h3_event_fetch_head, handle, 8);
ZIG_H3_AT(zig_h3_event_fetch_head, stream_id, 16);
ZIG_H3_AT(zig_h3_event_fetch_head, status, 24);
ZIG_H3_AT(zig_h3_event_fetch_head, head_len, 28);
ZIG_H3_AT(zig_h3_event_fetch_head, headers, 32);
ZIG_H3_AT(zig_h3_event_fetch_head, pad, 34);
ZIG_H3_AT(zig_h3_event_fetch_head, data, 40);

/* FETCH_ERROR, CLIENT_CLOSED and SESSION_ABORTED: how something ended. code is a ZIG_H3_ERR_*
 * code (0 for a client closed by zig_h3_client_close or free), app_code the
 * peer's application error code when it reset the stream or closed the
 * connection with one (else 0); data holds the message. */
typedef struct zig_h3_event_error {
    zig_h3_event_header h;
    uint64_t handle; /* the fetch, the client, or the session */
    int32_t code;
    uint32_t app_code;
    uint32_t message_len;
    uint32_t pad;
    ZIG_H3_FLEXIBLE uint8_t data[];
} zig_h3_event_error;
ZIG_H3_AT(zig_h3_event_error, handle, 8);
ZIG_H3_AT(zig_h3_event_error, code, 16);
ZIG_H3_AT(zig_h3_event_error, app_code, 20);
ZIG_H3_AT(zig_h3_event_error, message_len, 24);
ZIG_H3_AT(zig_h3_event_error, pad, 28);
ZIG_H3_AT(zig_h3_event_error, data, 32);

/** Returns the event fd (>= 0), creating the queue on first call; log lines
 *  go to the queue from then on unless zig_h3_server_set_log set a callback.
 *  The fd belongs to the server and is closed by zig_h3_server_free.
 *  Errors: BAD_HANDLE, IO. */
int zig_h3_server_event_fd(zig_h3_server *server);

/** Moves whole events, oldest first, into buf (cap bytes) and returns the
 *  number of bytes written; 0 when the queue is empty. Errors: BAD_HANDLE,
 *  INVALID_ARG (NULL buf), STATE (no event queue), BUFFER_TOO_SMALL (the
 *  oldest event is larger than cap; see zig_h3_server_event_size). The
 *  queue is in C memory: a drain that returns events or 0 does not enter
 *  the Go runtime, so the calling thread does not wait for Go's scheduler. */
int64_t zig_h3_server_drain(zig_h3_server *server, uint8_t *buf, size_t cap);

/** Size in bytes of the oldest queued event, 0 if none, or a negative error. */
int64_t zig_h3_server_event_size(zig_h3_server *server);

/** Replaces the routing table with routes whose requests become
 *  ZIG_H3_EVENT_REQUEST events. spec is JSON (len bytes):
 *    {"routes":[{"method":"GET","pattern":"/users/:id","tag":1,
 *                "streaming":false, "datagrams":false, "webtransport":false}, ...],
 *     "fallback": 0}
 *  tag is echoed in each request event; "fallback" (a tag, or null) takes
 *  requests no route matches. A route with a "static" object is answered by
 *  the server itself and never queued:
 *    "static":{"status":200,"head":"<base64>","body":"aG9tZQ=="}
 *  head is the base64 of the header fields as "name\0value\0..." bytes (the
 *  encoding of zig_h3_response_respond's headers), body the base64 of the
 *  body; or "file":"/path" instead of body (the file is sent at each
 *  request as by zig_h3_response_send_file: Range, conditional requests,
 *  404 when missing). A Content-Length among the fields is dropped (the
 *  body's own is sent); HEAD gets the head without the body; the request
 *  body is never read (the client is told to stop sending it). When the
 *  status is 2xx and the fields have an ETag, a GET or HEAD whose
 *  If-None-Match names it (weak comparison) or is "*" gets 304 with the
 *  Cache-Control, Content-Location, ETag, Expires, Last-Modified and Vary
 *  of the fields (not for files: they answer conditional requests by their
 *  modification time). A static route cannot be streaming or carry
 *  datagrams or sessions.
 *  Allowed before and after start (reload): requests already dispatched
 *  keep their handler. Creates the event queue if needed. Errors:
 *  BAD_HANDLE, INVALID_ARG (bad JSON, method, pattern, or a static status
 *  or header), IO. */
int zig_h3_server_set_event_routes(zig_h3_server *server, const char *spec, size_t len);

/** Answers a request in one call: status, headers, body and, if end != 0,
 *  the end of the response. headers is a block of NUL-terminated name and
 *  value strings ("name\0value\0name\0value\0"), headers_len bytes long.
 *  With end == 0, continue with zig_h3_response_write / _end /
 *  _send_trailers. Content-Length is handled as in zig_h3_response_end and
 *  _write; without a content-type header the response has none (the body
 *  is never sniffed). headers and body are copied before the call returns.
 *  The usual answer, complete (end != 0), with a body up to 1 MiB, to a
 *  request of an event route on which no other call was made, is checked,
 *  copied and queued without entering the Go runtime, so the calling thread
 *  does not wait for Go's scheduler; it takes effect before any later call
 *  on the response. Such an answer to a response that ends meanwhile (the
 *  peer reset it, it timed out: the abort event follows) returns OK and is
 *  dropped. Errors: BAD_HANDLE, INVALID_ARG (status, malformed block, bad
 *  name or value), STATE (head already sent), CLOSED. */
int zig_h3_response_respond(zig_h3_response *resp, uint16_t status, const uint8_t *headers, size_t headers_len,
                            const uint8_t *body, size_t body_len, uint8_t end);

/* ---- Client ------------------------------------------------------------------
 * A zig_h3_client is one QUIC connection to one origin: HTTP/3 requests
 * ("fetches"), HTTP/3 datagrams on a request's flow, WebTransport sessions,
 * and raw QUIC datagrams. Handles follow the server's rules (opaque numbers,
 * never reused, BAD_HANDLE once freed).
 *
 * Two ways to receive what happens, as for the server:
 * - Callback mode (the original ABI): callbacks run on library threads,
 *   several at once, with borrowed arguments. zig_h3_client_connect blocks
 *   until the connection is up or failed.
 * - Event-queue mode: call zig_h3_client_event_fd before zig_h3_client_connect.
 *   connect then returns at once (ZIG_H3_EVENT_CLIENT_CONNECTED or
 *   ZIG_H3_EVENT_CLIENT_CLOSED follows), fetches are started with
 *   zig_h3_client_fetch_start, and everything arrives as events in the
 *   client's bounded queue (see "Client, event-queue mode"). This is what
 *   Bun uses: no library thread ever calls into JavaScript.
 * The library drives connections on its own threads in both modes:
 * zig_h3_client_run_once and zig_h3_client_poll exist for programs written
 * against the original ABI and never block. */

/** Creates a client (config NULL: defaults, which verify the peer). Returns
 *  NULL on error (zig_h3_last_error says why). Free it with zig_h3_client_free. */
zig_h3_client *zig_h3_client_new(const zig_h3_client_config *config);

/** Closes the connection (H3_NO_ERROR), ends every fetch and session (their
 *  callbacks get FINISHED / CLOSED first; queued events are discarded) and
 *  frees the client, its queue and its fd. The handle is invalid afterwards,
 *  and no callback of the client runs once it returned: it waits for those
 *  running (up to 5 s each), so calling it from inside a fetch's or session's
 *  own callback delays it by that much (free a session from its own CLOSED
 *  callback with zig_h3_wt_session_free instead: that does not wait).
 *  Errors: BAD_HANDLE. */
int zig_h3_client_free(zig_h3_client *client);

/** Sets what zig_h3_client_config cannot carry; only before connect. spec is
 *  JSON (len bytes), every key optional:
 *    {"ca": "<PEM>",                 verify against these roots instead of the system's
 *     "serverCertificateHashes": ["<64 hex digits>", ...],
 *                                    pin the leaf's SHA-256 instead (as WebTransport's
 *                                    option: the chain is not otherwise checked)
 *     "alpn": ["<protocol>", ...]}   a raw QUIC connection of these protocols instead of
 *                                    "h3": only datagrams (zig_h3_client_send_datagram);
 *                                    fetches and sessions fail with STATE
 *  Errors: BAD_HANDLE, INVALID_ARG (bad JSON, PEM or hash), STATE (connected). */
int zig_h3_client_set_options(zig_h3_client *client, const char *spec, size_t len);

/** Connects to host (a name or address) and port, with sni as the TLS server
 *  name (NULL: host). One connection per client: a second connect is STATE.
 *  Callback mode: returns when connected, or IO (unreachable, handshake
 *  failed, certificate refused), TIMEOUT (connect_timeout_ms). Event-queue
 *  mode: returns ZIG_H3_OK at once. Errors: BAD_HANDLE, INVALID_ARG (NULL
 *  host, port 0), STATE. */
int zig_h3_client_connect(zig_h3_client *client, const char *host, uint16_t port, const char *sni);

/** Closes the connection with an application error code and reason (copied;
 *  raw QUIC connections: the peer sees both; "h3": code should be an HTTP/3
 *  error code, 0x100 = H3_NO_ERROR). The client stays allocated. Errors:
 *  BAD_HANDLE, INVALID_ARG (reason over ZIG_H3_WT_CLOSE_REASON_MAX), STATE
 *  (not connected). */
int zig_h3_client_close(zig_h3_client *client, uint32_t code, const uint8_t *reason, size_t reason_len);

/** Sets the callback for datagrams of the connection (see
 *  zig_h3_client_datagram_cb); NULL removes it. An HTTP/3 datagram of a fetch
 *  reaches both this callback and the fetch's DATAGRAM event. Errors:
 *  BAD_HANDLE. */
int zig_h3_client_set_datagram_callback(zig_h3_client *client, zig_h3_client_datagram_cb cb, void *user);

/** Starts a request (callback mode). Waits while the server's stream limit is
 *  reached (up to the request timeout), writes the head and the in-memory
 *  body, and returns; the response arrives through options->event_cb (the
 *  event sequence: STARTED, HEADERS, DATA..., TRAILERS, FINISHED, with
 *  DATAGRAMs in between) and cb (once, at the end; may be NULL). The
 *  request's stream id goes to *stream_id_out (may be NULL). Errors:
 *  BAD_HANDLE, INVALID_ARG (NULL options, bad method, path or header),
 *  STATE (not connected, or event-queue mode), CLOSED (the connection is
 *  gone), TIMEOUT. */
int zig_h3_client_fetch(zig_h3_client *client, const zig_h3_fetch_options *options, uint64_t *stream_id_out,
                        zig_h3_fetch_cb cb, void *user);

/** zig_h3_client_fetch with only a method and a path (NUL-terminated), no
 *  headers and no body. stream_body is a ZIG_H3_FETCH_RESPONSE_BODY_STREAMED bit. */
int zig_h3_client_fetch_simple(zig_h3_client *client, const char *method, const char *path, uint8_t collect_body,
                               uint8_t stream_body, uint32_t request_timeout_ms, zig_h3_fetch_event_cb event_cb,
                               void *event_user, zig_h3_fetch_cb cb, void *user, uint64_t *stream_id_out);

/** Appends request body bytes (copied) to a fetch started with
 *  ZIG_H3_FETCH_REQUEST_BODY_STREAMED and, with fin != 0, ends the request.
 *  Returns the bytes pending (>= 0): at ZIG_H3_RESPONSE_HIGH_WATER or more,
 *  wait for ZIG_H3_FETCH_EVENT_WRITABLE. Errors: BAD_HANDLE, INVALID_ARG,
 *  STATE (unknown stream, body not streamed, already ended), CLOSED. */
int64_t zig_h3_client_write_body(zig_h3_client *client, uint64_t stream_id, const uint8_t *data, size_t len,
                                 uint8_t fin);

/** Cancels a fetch both ways with an HTTP/3 error code (0: H3_REQUEST_CANCELLED);
 *  its callbacks get FINISHED with status 0. Errors: BAD_HANDLE, STATE
 *  (unknown or finished stream). */
int zig_h3_client_cancel_fetch(zig_h3_client *client, uint64_t stream_id, int32_t error_code);

/** Sends an HTTP/3 datagram (copied) on the flow of the request on stream
 *  stream_id (the client needs enable_dgram, the server must enable them).
 *  Errors: BAD_HANDLE, INVALID_ARG, STATE (unknown stream, datagrams not
 *  negotiated), TOO_LARGE, CLOSED. */
int zig_h3_client_send_h3_datagram(zig_h3_client *client, uint64_t stream_id, const uint8_t *data, size_t len);

/** Sends a raw QUIC datagram (copied) on the connection: on an "alpn"
 *  connection, or on "h3" when HTTP/3 datagrams were not negotiated (a server
 *  that enabled them reads every QUIC datagram as an HTTP/3 one). Errors:
 *  BAD_HANDLE, INVALID_ARG, STATE (not connected, datagrams off), TOO_LARGE,
 *  CLOSED. */
int zig_h3_client_send_datagram(zig_h3_client *client, const uint8_t *data, size_t len);

/** Largest raw QUIC datagram payload sendable now (0: none, or not
 *  connected), or BAD_HANDLE. */
int zig_h3_client_max_datagram_size(zig_h3_client *client);

/** Nothing to drive (the library's threads run the connection): returns
 *  ZIG_H3_OK for a live client, BAD_HANDLE otherwise. Never blocks. */
int zig_h3_client_run_once(zig_h3_client *client);

/** The number of events waiting in the client's queue (0 in callback mode),
 *  or BAD_HANDLE. Never blocks. */
int zig_h3_client_poll(zig_h3_client *client);

/** Opens a WebTransport session at path (len bytes, with query) on the
 *  connection (the client needs enable_webtransport). Returns the session at
 *  once; CONNECTED or CONNECT_FAILED follows through cb (callback mode; cb
 *  may be NULL) or SESSION_READY / SESSION_CLOSED events (event-queue mode,
 *  where cb must be NULL). The zig_h3_wt_* session and stream functions of
 *  the server side work on it too (streams: event-queue mode). Free it with
 *  zig_h3_wt_session_free. Returns NULL on error: BAD_HANDLE, INVALID_ARG,
 *  STATE (not connected, WebTransport not enabled, an "alpn" connection). */
zig_h3_wt_session *zig_h3_client_open_webtransport(zig_h3_client *client, const char *path, size_t path_len,
                                                   zig_h3_wt_event_cb cb, void *user);

/** Closes a session with an application code and reason (copied). Errors:
 *  BAD_HANDLE, INVALID_ARG (reason over ZIG_H3_WT_CLOSE_REASON_MAX), STATE
 *  (not established), CLOSED. */
int zig_h3_wt_session_close(zig_h3_wt_session *session, uint32_t code, const uint8_t *reason, size_t reason_len);
/** Sends a session datagram (copied). Errors: as zig_h3_wt_send_datagram. */
int zig_h3_wt_session_send_datagram(zig_h3_wt_session *session, const uint8_t *data, size_t len);
/** Takes the oldest received session datagram (callback mode keeps the last
 *  ZIG_H3_WT_DATAGRAM_QUEUE). Returns 1 and fills *out with a copy the caller
 *  releases with zig_h3_wt_session_free_datagram, or 0 when none is waiting.
 *  Errors: BAD_HANDLE, INVALID_ARG (NULL out). */
int zig_h3_wt_session_receive_datagram(zig_h3_wt_session *session, zig_h3_bytes *out);
/** Releases a datagram from zig_h3_wt_session_receive_datagram. Errors:
 *  BAD_HANDLE, INVALID_ARG (not a datagram this session handed out and not
 *  yet released: never freed then). */
int zig_h3_wt_session_free_datagram(zig_h3_wt_session *session, const uint8_t *data, size_t len);
/** 1 when the session is established, 0 when not (yet or any more), or BAD_HANDLE. */
int zig_h3_wt_session_is_established(zig_h3_wt_session *session);
/** The session's CONNECT stream id, or UINT64_MAX for a bad handle or a
 *  session whose stream is not open yet. */
uint64_t zig_h3_wt_session_stream_id(zig_h3_wt_session *session);
/** Closes the session (code 0) if it is open and frees it with its unread
 *  datagrams. Errors: BAD_HANDLE. */
int zig_h3_wt_session_free(zig_h3_wt_session *session);

/* Helpers for hosts that cannot read C structs easily. */
size_t zig_h3_fetch_event_size(void);
size_t zig_h3_wt_event_size(void);
size_t zig_h3_header_size(void);
/** Copy one struct; INVALID_ARG when either pointer is NULL. */
int zig_h3_fetch_event_copy(const zig_h3_fetch_event *src, zig_h3_fetch_event *dst);
int zig_h3_wt_event_copy(const zig_h3_wt_event *src, zig_h3_wt_event *dst);
int zig_h3_header_copy(const zig_h3_header *src, zig_h3_header *dst);
/** Copies base[index] (base holds len headers). INVALID_ARG: NULL pointer,
 *  index >= len. */
int zig_h3_header_copy_at(const zig_h3_header *base, size_t len, size_t index, zig_h3_header *dst);
/** Copies min(len, dst_len) headers; returns how many, or INVALID_ARG. */
int zig_h3_headers_copy(const zig_h3_header *base, size_t len, zig_h3_header *dst, size_t dst_len);
/** Copies len bytes from src to dst; INVALID_ARG for NULL with len > 0 or
 *  len over ZIG_H3_MAX_LENGTH. */
int zig_h3_copy_bytes(const uint8_t *src, size_t len, uint8_t *dst);

/* ---- Client, event-queue mode ------------------------------------------------
 * Events of the client's own queue (same framing and rules as the server's):
 *   ZIG_H3_EVENT_CLIENT_CONNECTED  zig_h3_event_handle (the client).
 *   ZIG_H3_EVENT_CLIENT_CLOSED  zig_h3_event_error (handle: the client): the
 *                         connection failed or ended; the last client event.
 *   ZIG_H3_EVENT_FETCH_HEAD  zig_h3_event_fetch_head (handle: the fetch).
 *   ZIG_H3_EVENT_FETCH_DATA  zig_h3_event_bytes: response body bytes;
 *                         acknowledge them with zig_h3_fetch_ack (at most
 *                         ZIG_H3_BODY_WINDOW unacknowledged bytes per fetch).
 *   ZIG_H3_EVENT_FETCH_END  zig_h3_event_body_end: the response ended
 *                         completely, with its trailers. The last event.
 *   ZIG_H3_EVENT_FETCH_ERROR  zig_h3_event_error: the fetch failed (before
 *                         or after its head); the body so far is incomplete.
 *                         The last event.
 *   ZIG_H3_EVENT_WRITABLE  zig_h3_event_handle (a fetch whose pending request
 *                         body went back to ZIG_H3_RESPONSE_LOW_WATER, or a
 *                         WebTransport stream).
 *   ZIG_H3_EVENT_H3_DATAGRAM  zig_h3_event_bytes (handle: the fetch).
 *   ZIG_H3_EVENT_QUIC_DATAGRAM  zig_h3_event_quic_datagram (conn: the
 *                         client; the connection id is 16 zero digits).
 *   WebTransport sessions: SESSION_READY, SESSION_DATAGRAM, STREAM_OPENED,
 *   STREAM_DATA, STREAM_END, WRITABLE and SESSION_CLOSED as on the server.
 *   A session that could not be opened gets SESSION_CLOSED without
 *   SESSION_READY, code being the server's HTTP status (0: none).
 *   SESSION_CLOSED means a clean end: a close capsule (or the CONNECT
 *   stream's FIN) from the server, or zig_h3_wt_close. A client session that
 *   ends without one (the connection lost or closed, the CONNECT stream
 *   reset) gets instead:
 *   ZIG_H3_EVENT_SESSION_ABORTED  zig_h3_event_error (handle: the session;
 *                         code CLOSED, app_code the connection's close code
 *                         if any, data the message); the last session event.
 * A fetch handle stays valid for 5 s after its last event (late acks). */

/** Returns the client's event fd (>= 0), creating its queue on first call:
 *  the client is in event-queue mode from then on (before connect). The fd
 *  belongs to the client and is closed by zig_h3_client_free. Errors:
 *  BAD_HANDLE, STATE (already connected in callback mode), IO. */
int zig_h3_client_event_fd(zig_h3_client *client);
/** As zig_h3_server_drain, for the client's queue. */
int64_t zig_h3_client_drain(zig_h3_client *client, uint8_t *buf, size_t cap);
/** Size in bytes of the oldest queued event, 0 if none, or a negative error. */
int64_t zig_h3_client_event_size(zig_h3_client *client);

/** Starts a request (event-queue mode; before CLIENT_CONNECTED too: it waits
 *  for the connection). head is a block of NUL-terminated strings: method,
 *  path (with query), then name and value of each header
 *  ("GET\0/x?y\0accept\0text/plain\0"); an empty method or path means GET or
 *  "/", CONNECT is refused (WebTransport: zig_h3_client_open_webtransport).
 *  flags: ZIG_H3_FETCH_FLAG_*; a fetch with DATAGRAMS and without BODY sends
 *  "content-length: 0" and keeps its request side open until the fetch ends
 *  (datagrams cannot be sent on a finished request side). Returns the
 *  fetch handle (> 0). Errors: BAD_HANDLE, INVALID_ARG (malformed block,
 *  method, path or header, unknown flag), STATE (callback mode, an "alpn"
 *  connection, datagrams not enabled), CLOSED (the connection is gone). */
int64_t zig_h3_client_fetch_start(zig_h3_client *client, const uint8_t *head, size_t head_len, uint32_t flags);
/** Appends request body bytes (copied) and, with fin != 0, ends the request
 *  (ZIG_H3_FETCH_FLAG_BODY). Returns the bytes pending (>= 0; pause at
 *  ZIG_H3_RESPONSE_HIGH_WATER until ZIG_H3_EVENT_WRITABLE). Errors:
 *  BAD_HANDLE, INVALID_ARG, STATE (no body, or it ended), CLOSED. */
int64_t zig_h3_fetch_write(uint64_t fetch, const uint8_t *data, size_t len, uint8_t fin);
/** Acknowledges n bytes delivered as ZIG_H3_EVENT_FETCH_DATA. Errors:
 *  BAD_HANDLE, INVALID_ARG (n above ZIG_H3_MAX_LENGTH). */
int zig_h3_fetch_ack(uint64_t fetch, size_t n);
/** Abandons a fetch both ways (reset and STOP_SENDING with code; 0:
 *  H3_REQUEST_CANCELLED). No more events come for it. Errors: BAD_HANDLE. */
int zig_h3_fetch_cancel(uint64_t fetch, uint32_t code);
/** Sends an HTTP/3 datagram (copied) on a fetch's flow
 *  (ZIG_H3_FETCH_FLAG_DATAGRAMS). Errors: BAD_HANDLE, INVALID_ARG, STATE
 *  (no datagrams, stream not open yet), TOO_LARGE, CLOSED. */
int zig_h3_fetch_send_datagram(uint64_t fetch, const uint8_t *data, size_t len);
/** Largest HTTP/3 datagram payload the fetch's flow can send now (0 if
 *  none), or BAD_HANDLE. */
int zig_h3_fetch_max_datagram_size(uint64_t fetch);

#endif /* ZIG_H3_NO_PROTOTYPES */

#ifdef __cplusplus
}
#endif

#endif /* ZIG_H3_H */
