/**
 * Public types of the Bun API.
 * @module
 */
import type { BunFile } from "bun";
import type { H3DatagramContext, QUICDatagramContext } from "./datagram";
import type { WTContext } from "./webtransport";

/** A `Request` as handlers receive it, with the route's parameters. */
export interface H3Request extends Request {
  /**
   * Values of the route pattern's `:name` segments, percent-decoded.
   * Empty for the fallback handler.
   * @example
   * // pattern "/users/:id", path "/users/42" -> req.params.id === "42"
   */
  readonly params: Record<string, string>;
  /**
   * The request's HTTP trailers. Resolves when the body has been read to its
   * end (streaming routes) or at once (buffered routes); empty if none.
   * @example
   * const sum = (await req.trailers).get("x-checksum");
   */
  readonly trailers: Promise<Headers>;
  /**
   * The request arrived in 0-RTT data and its handler runs before the
   * client's handshake is complete: it could be a replay (RFC 8470). Only
   * GET, HEAD and OPTIONS run so (see `zeroRtt`); the header then carries
   * `early-data: 1`. A handler with side effects may answer 425.
   * @example
   * if (req.earlyData) return new Response("Too Early", { status: 425 });
   */
  readonly earlyData: boolean;
}

/**
 * A request handler, like `Bun.serve`'s `fetch`: return a `Response` or a
 * Promise of one. A throw or rejection goes to the server's `error` handler.
 * @example
 * const hello: H3Handler = (req) => new Response(`hello ${new URL(req.url).pathname}`);
 */
export type H3Handler = (req: H3Request, server: H3Server) => Response | Promise<Response>;

/** How a route receives request bodies. */
export type RouteMode = "buffered" | "streaming";

/**
 * One route, the array form of `routes`.
 * @example
 * const route: RouteDefinition = {
 *   method: "GET",
 *   pattern: "/users/:id",
 *   fetch: (req) => Response.json({ id: req.params.id }),
 * };
 */
export interface RouteDefinition {
  /** HTTP method, upper-case by convention, or `"*"` for any method. */
  method: string;
  /**
   * Path pattern: literal segments, `:name` segments (one non-empty segment,
   * captured in `req.params`) and an optional final `*` (the rest of the
   * path). The most specific pattern wins, whatever the order of the routes.
   */
  pattern: string;
  /**
   * `"buffered"` (the default): the whole body is read first, up to
   * `maxRequestBodySize` (413 over it). `"streaming"`: the handler runs as
   * soon as the head arrives and `req.body` yields the body as it arrives,
   * of any size. Backpressure reaches the client: the server reads from the
   * network only as fast as `req.body` is consumed (at most 256 KiB waiting
   * per request), so a handler that never reads stalls the upload instead of
   * growing memory. Answering without reading refuses the rest of the body.
   * In the object form of `routes`, wrap the handler in `streaming()`.
   */
  mode?: RouteMode;
  /** The handler, or a static `Response` (see {@link RouteValue}). */
  fetch?: H3Handler | Response;
  /**
   * HTTP/3 datagrams (RFC 9297) on this route's requests. `fetch` still
   * answers the request that carries the flow; the flow lasts while that
   * response is open, so return a streaming body (e.g. one that ends when
   * `req.signal` aborts). Such routes stream their request body. Defining
   * it enables HTTP/3 datagrams.
   * @example
   * { method: "POST", pattern: "/echo", fetch: (req) => new Response(req.body), h3Datagram: (p, ctx) => ctx.sendReply(p) }
   */
  h3Datagram?: (payload: Uint8Array, ctx: H3DatagramContext) => void;
  /**
   * WebTransport sessions on this path (Extended CONNECT, `:protocol
   * webtransport`), next to the route's ordinary requests. Call
   * `ctx.accept()` or `ctx.reject(status)`; a handler that returns (or
   * settles) without deciding accepts. Defining it enables WebTransport.
   * @example
   * { method: "GET", pattern: "/chat", fetch: page, webtransport: async (ctx) => {
   *     for await (const d of ctx.datagrams.readable) ctx.sendDatagram(d);
   * } }
   */
  webtransport?: (ctx: WTContext) => void | Promise<void>;
}

/**
 * A handler or a static `Response`. A static `Response` whose body is in
 * memory (or empty) or a whole `Bun.file` is answered by the native side
 * without running any JS, as `Bun.serve` answers static routes: an
 * in-memory body is read once, when the routes are installed (a 200 gets an
 * ETag, a hash of the body, unless it has its own, and GET/HEAD with a
 * matching `If-None-Match` get 304); a file is read at each request. One
 * with a stream body, a file slice or trailers is sent as a fresh clone to
 * each request. Response bodies may be anything `Response` takes: in-memory
 * bodies are sent at once; `Bun.file(path)` is sent by the native side
 * straight from the file, with `Range` requests answered with 206/416; a
 * `ReadableStream` or async generator is sent as it is produced, read only
 * as fast as the client takes it. Trailers: see `withTrailers`.
 */
export type RouteValue = H3Handler | Response;

/**
 * The `Bun.serve` object form of `routes`: a pattern maps to a handler or a
 * static `Response` (any method), or to an object of methods.
 * @example
 * const routes: RoutesObject = {
 *   "/": new Response("home"),
 *   "/users/:id": { GET: (req) => Response.json({ id: req.params.id }), DELETE: () => new Response(null, { status: 204 }) },
 * };
 */
export type RoutesObject = { [pattern: `/${string}`]: RouteValue | Partial<Record<string, RouteValue>> };

/** A certificate or key: PEM text, bytes, or a `Bun.file(path)`. */
export type PemSource = string | Uint8Array | ArrayBuffer | BunFile;

/**
 * Options of {@link createH3Server}.
 * @example
 * createH3Server({
 *   port: 4433,
 *   routes: { "/": new Response("hi") },
 *   fetch: () => new Response("not found", { status: 404 }),
 * });
 */
export interface H3ServeOptions {
  /** UDP port, and TCP port with `http1`; 0 (the default) picks a free one, the same number for both, see `server.port`. */
  port?: number;
  /**
   * Also serve HTTP/1.1 and HTTP/2 over TLS on TCP, on the same address,
   * port number, certificate and routes, as `Bun.serve({ http3: true })`
   * does: browsers and most clients connect over TCP first and move to
   * HTTP/3 when a response says `alt-svc` (see `altSvc`). WebTransport and
   * datagram routes stay on HTTP/3 (their ordinary requests are answered
   * over TCP too; CONNECT over TCP gets 405). `false`: HTTP/3 only.
   * @default true
   * @example
   * createH3Server({ port: 4433, http1: false, fetch: () => new Response("HTTP/3 only") });
   */
  http1?: boolean;
  /**
   * The `alt-svc` field of every TCP response; `false` sends none.
   * @default `h3=":PORT"; ma=86400` (HTTP/3 on the same port, for a day)
   * @example
   * altSvc: 'h3=":443"; ma=3600',
   */
  altSvc?: string | false;
  /** IP address to listen on (default `"0.0.0.0"`; `"localhost"` means `"127.0.0.1"`). */
  hostname?: string;
  /**
   * Certificate and key. Without any (`tls`, `certPath`), the server makes a
   * development certificate for localhost and 127.0.0.1, valid 13 days, and
   * exposes its hash as `server.certificateHash`.
   */
  tls?: { cert: PemSource; key: PemSource };
  /** Path of a PEM certificate chain (with `keyPath`). */
  certPath?: string;
  /** Path of a PEM private key (with `certPath`). */
  keyPath?: string;
  /** Handler for requests no route matches. Without it they get 404 (or 405 with `Allow` on a known path). */
  fetch?: H3Handler;
  /** Routes: an array of {@link RouteDefinition} or the `Bun.serve` object form. */
  routes?: RouteDefinition[] | RoutesObject;
  /**
   * Called with what a handler threw; returns the Response to send. If it
   * throws too (or is absent), the client gets 500. A response body
   * (stream, generator) or trailers that fail while being sent are not
   * passed here (the response has begun): the error is logged once (see
   * `onLog`), and the client gets 500 if the head had not gone out yet,
   * else a reset stream.
   */
  error?: (error: unknown) => Response | Promise<Response>;
  /**
   * Seconds a request may go without its response starting (the Response
   * returned and its head sent) and without request body bytes arriving
   * (default 60; 0: no limit). Then the client gets 503 "Request timed
   * out", `req.signal` aborts with a TimeoutError and the request is freed.
   * See also `server.timeout(req, seconds)`.
   */
  requestTimeout?: number;
  /**
   * Seconds a request stream may take to deliver its whole request head
   * (HEADERS frame); then the stream is reset (H3_REQUEST_INCOMPLETE),
   * counted in `requestsRejected`, and no handler runs. Over TCP, how long
   * a client may take to send a request head (slowloris): then the
   * connection is closed. 0: no limit. On HTTP/3, not applied when
   * WebTransport routes exist (webtransport-go accepts those connections'
   * streams itself).
   * @default 5
   */
  headerTimeout?: number;
  /** Most connections open at once (default 10000); more are refused at the handshake. */
  maxConnections?: number;
  /** Most concurrent request streams per connection (default 100); QUIC flow control makes clients wait for more. */
  maxStreamsPerConnection?: number;
  /** Limit of the request header section in bytes (default 1 MiB); over it the client gets 431. */
  maxHeaderBytes?: number;
  /**
   * Most fields in a request's header section (and in the trailers of a
   * buffered body); over it the client gets 431 and no handler runs.
   * @default 200
   */
  maxHeaderFields?: number;
  /** Limit for buffered request bodies in bytes (default 1 MiB); over it the client gets 413 and no handler runs. */
  maxRequestBodySize?: number;
  /** `"warn"` (0, the default), `"info"` (1) or `"debug"` (2). */
  logLevel?: "warn" | "info" | "debug" | number;
  /**
   * Receives log lines: the native server's, and the wrapper's own warnings
   * (a handler that failed, with the error's stack). Without it native
   * warnings go to `console.warn` and the wrapper's to `console.error`.
   */
  onLog?: (line: string) => void;
  /** Directory for one qlog file per connection. */
  qlogDir?: string;
  /**
   * Raw QUIC datagrams, connection-scoped (no request). Defining it enables
   * QUIC datagrams. "Raw" datagrams are all datagrams of connections that
   * negotiated one of `quicAlpn`, and those of HTTP/3 connections whose peer
   * did not enable HTTP/3 datagrams (when it does, HTTP/3 owns every
   * datagram of the connection). With WebTransport routes, only `quicAlpn`
   * connections carry raw datagrams. A handler that throws is logged.
   * @example
   * quicDatagram: (payload, ctx) => ctx.sendReply(payload),
   */
  quicDatagram?: (payload: Uint8Array, ctx: QUICDatagramContext) => void;
  /** Extra ALPN protocols accepted on the same UDP port, for raw QUIC datagrams. */
  quicAlpn?: string[];
  /**
   * WebTransport origin policy. By default pages of the request's own host
   * and loopback pages (development) may open sessions; `allowedOrigins`
   * lists the page origins allowed instead ("*": any); `checkOrigin` decides
   * per request (it replaces the list).
   */
  webtransport?: { allowedOrigins?: string[]; checkOrigin?: (origin: string | null, req: Request) => boolean };
  /**
   * Several processes serve one port (Linux, `SO_REUSEPORT`): start each
   * with the same `port`, its own `workerId` and the same `clusterSecret`.
   * New connections are spread over the workers by the kernel; every later
   * packet of a connection reaches the worker that owns it, found from
   * the connection ID, also after the client's address changed
   * (migration, NAT rebinding). The TCP listener (`http1`) is shared the
   * same way. The process needs `CAP_BPF` (root has it) for the eBPF
   * steering program; without it a classic BPF program is used, which
   * requires the workers to start in `workerId` order from 0 and all to be
   * restarted when one stops. See examples/cluster.ts.
   * @default false
   * @example
   * createH3Server({ port: 443, reusePort: true, workerId: Number(process.env.WORKER_ID), clusterSecret: process.env.CLUSTER_SECRET, fetch });
   */
  reusePort?: boolean;
  /**
   * This worker's ID among those on the port (`reusePort`), 0-255, unique:
   * a second worker with a taken ID fails to start ("worker id N is
   * already taken on port P"). It is carried in every connection ID.
   * @default 0
   * @example
   * workerId: 1,
   */
  workerId?: number;
  /**
   * How many workers share the port (`reusePort`); only checked:
   * `workerId` must be below it.
   * @default undefined (not checked)
   * @example
   * workers: 4,
   */
  workers?: number;
  /**
   * A secret shared by the servers of a cluster (the workers of a port, or
   * servers behind a load balancer), at least 16 bytes: their stateless
   * reset, address token and TLS session ticket keys are derived from it,
   * so a client resumes its TLS session (with 0-RTT) at any of them, and a
   * client of a worker that died learns it at once (stateless reset).
   * Without it each server has its own keys, and with `reusePort` no
   * stateless resets are sent.
   * @default undefined (no shared keys)
   * @example
   * clusterSecret: process.env.H3_CLUSTER_SECRET, // e.g. openssl rand -hex 32
   */
  clusterSecret?: string;
  /**
   * Accept 0-RTT: a client resuming a session sends its first requests
   * without waiting for the handshake. Requests of GET, HEAD and OPTIONS
   * that arrive so run at once and carry `early-data: 1`
   * (`req.earlyData`): they could be replayed by an attacker, so a handler
   * with side effects may answer them `425 Too Early` (RFC 8470). Other
   * methods wait until the handshake is complete. `false` refuses 0-RTT.
   * @default true
   * @example
   * zeroRtt: false,
   */
  zeroRtt?: boolean;
  /**
   * QUIC-LB connection IDs (draft-ietf-quic-load-balancers, plaintext) for
   * a layer-4 load balancer in front of many machines that routes packets
   * by connection ID: `serverId` (hex, 1-10 bytes) is this machine's
   * server ID in the balancer's configuration, `configRotation` (0-6) its
   * config rotation codepoint. With `reusePort` the worker's byte follows
   * the server ID (the balancer counts it as part of the nonce).
   * @default undefined (with `reusePort`: the worker's byte is the server ID)
   * @example
   * quicLb: { serverId: "0a01", configRotation: 0 },
   */
  quicLb?: { serverId: string; configRotation?: number };
}

/** Options {@link H3Server.reload} can change. */
export type H3ReloadOptions = Pick<H3ServeOptions, "routes" | "fetch" | "error">;

/** Counters of {@link H3Server.getStats}. */
export interface ServerStats {
  /** Connections accepted since start. */
  connectionsTotal: number;
  /** Connections open now. */
  connectionsActive: number;
  /** Requests received since start (including those the server answered itself). */
  requests: number;
  /** Requests received since start by protocol: HTTP/1.x and HTTP/2 over TCP (`http1`), HTTP/3. */
  requestsByProtocol: { "http/1.1": number; h2: number; h3: number };
  /** Milliseconds since start, frozen at stop. */
  uptimeMs: number;
  /** Requests in flight now. */
  requestsActive: number;
  /** Requests answered with an error by the server itself (404, 405, 413, 503) or after a failed handler. */
  requestsRejected: number;
  /** Log events dropped because the event queue was full. */
  eventsDropped: number;
  /** Requests answered 503 by the request timeout. */
  requestsTimedOut: number;
  /** Handshakes refused because `maxConnections` connections were open. */
  connectionsRefused: number;
  /** Goroutines of the native library (all servers of the process), for leak checks. */
  goroutines: number;
  /** Datagrams received and sent (QUIC, HTTP/3 and WebTransport). */
  datagramsReceived: number;
  datagramsSent: number;
  /** Received datagrams dropped because the event queue (or a session's datagram queue) was full. */
  datagramsDropped: number;
  /** Open WebTransport sessions. */
  sessionsActive: number;
}

/** The client address of a request, as `Bun.serve`'s `requestIP`. */
export interface SocketAddress {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
}

/** A running HTTP/3 server, see {@link createH3Server}. */
export interface H3Server extends AsyncDisposable {
  /** The bound UDP port. */
  readonly port: number;
  /** The address listened on. */
  readonly hostname: string;
  /** `https://<hostname>:<port>/` (127.0.0.1 when listening on all addresses). */
  readonly url: URL;
  /** True until `stop()` is called. */
  readonly running: boolean;
  /** SHA-256 of the certificate's DER, for WebTransport's `serverCertificateHashes`. */
  readonly certificateHash: Uint8Array;
  /** True when the server made its own development certificate. */
  readonly developmentCertificate: boolean;
  /** Current counters. */
  getStats(): ServerStats;
  /** The client address of a request this server received, or null. */
  requestIP(req: Request): SocketAddress | null;
  /**
   * Sets this request's timeout, from now, in seconds (0: none), like
   * `Bun.serve`'s `server.timeout(req, seconds)`: e.g. for a long poll.
   * @example
   * fetch: (req, server) => { server.timeout(req, 0); return longPoll(req); }
   */
  timeout(req: Request, seconds: number): void;
  /**
   * Stops the server; the Promise settles when it is down. Graceful (the
   * default): new connections are refused, new requests get 503, in-flight
   * requests finish. `force`: connections close at once; pending requests'
   * `signal`s abort.
   * @example
   * await server.stop();      // graceful
   * await server.stop(true);  // now
   */
  stop(force?: boolean): Promise<void>;
  /**
   * Replaces routes, fallback and error handler without dropping
   * connections; requests already running keep their handler.
   * @example
   * server.reload({ routes: { "/": new Response("v2") } });
   */
  reload(options: H3ReloadOptions): void;
}
