/**
 * The HTTP/3 client: `H3Client` pools connections per origin (one native
 * client per connection) and runs fetches and HTTP/3 datagram flows on
 * them; `h3Fetch` is `fetch` on a shared default client.
 * @module
 */
import { Limit, native } from "./ffi";
import { resolveTLS, secondsToMs, tlsKey, type H3TLSOptions, type NativeClientSpec, type ResolvedTLS } from "./clientoptions";
import { ClientConnection } from "./connection";
import { fieldsToSend, prepareRequest, type H3RequestInit, type PreparedRequest } from "./clientrequest";
import { ClientFetch, headBlock, sendBody, type H3Response } from "./fetch";
import { H3Error } from "./errors";
import { bytesOf, datagramSize, sendDatagram } from "./datagram";

/**
 * Options of {@link H3Client}. Durations are in seconds, as in
 * `createH3Server`.
 * @example
 * const client = new H3Client({
 *   tls: { ca: await Bun.file("ca.pem").text() },
 *   idleTimeout: 10,
 *   maxConnectionsPerOrigin: 2,
 *   requestTimeout: 30,
 * });
 */
export interface H3ClientOptions {
  /**
   * How servers' certificates are checked, for every request of the client
   * (a request's own `tls` replaces it).
   * @default {} (verify against the system's roots)
   */
  tls?: H3TLSOptions;
  /**
   * Seconds a pooled connection may stay unused before the client closes
   * it; the next request opens a new one.
   * @default 30
   */
  idleTimeout?: number;
  /**
   * Most connections the client keeps to one origin (scheme, host and
   * port). A connection carries up to 100 requests at once; beyond that a
   * new one is opened, up to this bound; then requests share the least
   * busy one (and wait for the server's stream credit).
   * @default 2
   */
  maxConnectionsPerOrigin?: number;
  /**
   * Longest time of one request, from its start to the end of its response
   * body; then it fails with an H3Error whose code is "TIMEOUT". 0: no
   * limit (use `signal` for one request).
   * @default 0
   */
  requestTimeout?: number;
  /**
   * Longest time a connection may take to be established (handshake
   * included); then its requests fail with code "TIMEOUT".
   * @default 10
   */
  connectTimeout?: number;
}

/**
 * An HTTP/3 datagram flow (RFC 9297) on a request: datagrams both ways for
 * as long as the request is open. See {@link H3Client.datagramFlow}.
 */
export interface H3DatagramFlow {
  /** The response to the request that carries the flow (its body is the stream's data). */
  readonly response: H3Response;
  /** Datagrams the server sends on the flow (the last 256 unread are kept; older ones are dropped). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Datagrams to send; a write fails with a RangeError naming the maximum when too large. */
  readonly writable: WritableStream<Uint8Array>;
  /** Largest datagram payload sendable now (0 if the server did not enable datagrams). */
  readonly maxDatagramSize: number;
  /** The flow id: the request's stream id / 4, as on the wire. */
  readonly flowId: bigint;
  /** Sends one datagram; throws a RangeError naming the maximum when too large. */
  sendDatagram(data: Uint8Array | string): void;
  /** Ends the flow: the request is cancelled both ways (the response body errors with an AbortError). */
  close(): void;
}

/** A connection to one origin, with what the pool tracks of it. */
interface Pooled {
  conn: ClientConnection;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Requests a connection carries before the pool opens another (the server's usual stream limit). */
const REQUESTS_PER_CONNECTION = 100;
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * An HTTP/3 client with pooled connections: `fetch()` as the standard one,
 * HTTP/3 datagram flows, `close()`. Connections are opened on demand, one
 * QUIC connection per native client, reused across requests, closed after
 * `idleTimeout` without use and replaced when they close. An idle client
 * does not keep the process alive.
 * @example
 * await using client = new H3Client({ tls: { rejectUnauthorized: false } });
 * const res = await client.fetch("https://127.0.0.1:4433/hello");
 * console.log(res.status, await res.text(), await res.trailers);
 */
export class H3Client implements AsyncDisposable {
  #tls: ResolvedTLS;
  #idleMs: number;
  #maxPerOrigin: number;
  #requestTimeoutMs: number;
  #connectTimeoutMs: number;
  #pools = new Map<string, Pooled[]>();
  #closed = false;

  constructor(options: H3ClientOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("H3Client: options must be an object");
    this.#tls = resolveTLS(options.tls);
    this.#idleMs = secondsToMs(options.idleTimeout, 30, "idleTimeout");
    this.#requestTimeoutMs = secondsToMs(options.requestTimeout, 0, "requestTimeout");
    this.#connectTimeoutMs = secondsToMs(options.connectTimeout, 10, "connectTimeout");
    const max = options.maxConnectionsPerOrigin ?? 2;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxConnectionsPerOrigin: expected a positive integer, got ${max}`);
    this.#maxPerOrigin = max;
  }

  /**
   * fetch over HTTP/3: the standard signature and Response, whose body
   * streams with backpressure, plus `trailers` (see {@link H3Response}).
   * Rejects with the signal's reason when aborted, with an {@link H3Error}
   * (a TypeError) when the request fails below HTTP.
   * @example
   * const res = await client.fetch("https://example.com/", { method: "POST", body: JSON.stringify(data) });
   */
  async fetch(input: string | URL | Request, init?: H3RequestInit): Promise<H3Response> {
    let req = await prepareRequest(input, init);
    for (let redirects = 0; ; redirects++) {
      const f = this.#start(req, false);
      const res = await f.response;
      if (redirects > 0) Object.defineProperty(res, "redirected", { value: true });
      const location = res.headers.get("location");
      if (req.redirect === "manual" || !REDIRECTS.has(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => {});
      if (req.redirect === "error") throw new TypeError(`redirected (${res.status}) while redirect is "error"`);
      if (redirects >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects`);
      req = redirected(req, res.status, new URL(location, req.url));
    }
  }

  /**
   * Opens an HTTP/3 datagram flow (RFC 9297) on a request, resolving once
   * the response head has come. Without a body the request stays open (its
   * body is never ended) until `close()`, as a datagram route expects; the
   * server must enable HTTP/3 datagrams (in this library: a route with
   * `h3Datagram`).
   * @example
   * const flow = await client.datagramFlow("https://127.0.0.1:4433/echo", { method: "POST" });
   * flow.sendDatagram("ping");
   * const { value } = await flow.readable.getReader().read();
   * flow.close();
   */
  async datagramFlow(input: string | URL | Request, init?: H3RequestInit): Promise<H3DatagramFlow> {
    const req = await prepareRequest(input, { method: "POST", ...init, redirect: "manual" });
    const f = this.#start(req, true);
    const response = await f.response;
    return datagramFlow(f, response);
  }

  /**
   * Closes every connection; requests in flight fail with an H3Error
   * (code "CLOSED"). The client cannot be used afterwards.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#pools.values()].flat();
    this.#pools.clear();
    await Promise.all(all.map((p) => (clearTimeout(p.idleTimer), p.conn.free())));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Connections open now, per origin (for tests and monitoring). */
  get connections(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, list] of this.#pools) {
      const origin = key.slice(0, key.indexOf("|")); // pools of one origin differ by their TLS options
      out[origin] = (out[origin] ?? 0) + list.length;
    }
    return out;
  }

  /** Starts a request on a pooled connection, its body sent in the background. */
  #start(req: PreparedRequest, datagrams: boolean): ClientFetch {
    if (this.#closed) throw new H3Error("the client is closed", "CLOSED");
    req.signal?.throwIfAborted();
    const tls = req.tls === undefined ? this.#tls : resolveTLS(req.tls);
    const path = req.url.pathname + req.url.search;
    const head = headBlock(req.method, path, fieldsToSend(req.headers, req.body));
    const keepOpen = datagrams && req.body === null;
    const flags = (req.body !== null || keepOpen ? Limit.FETCH_FLAG_BODY : 0) | (datagrams ? Limit.FETCH_FLAG_DATAGRAMS : 0);
    let f: ClientFetch | undefined;
    for (let attempt = 0; f === undefined; attempt++) {
      const pooled = this.#connection(req.url, tls);
      const candidate = new ClientFetch(pooled.conn, req.url.href, req.method, datagrams);
      try {
        candidate.start(head, flags);
        f = candidate;
        clearTimeout(pooled.idleTimer);
        pooled.idleTimer = undefined;
        f.onDone(() => this.#released(pooled));
      } catch (err) {
        // A connection that closed while idle: take another (once).
        if (!(err instanceof H3Error) || err.code !== "CLOSED" || attempt > 0) throw err;
        this.#drop(pooled);
      }
    }
    const signal = req.signal;
    if (signal !== null) {
      const onAbort = () => f.cancel(signal.reason ?? new DOMException("This operation was aborted", "AbortError"));
      signal.addEventListener("abort", onAbort, { once: true });
      f.onDone(() => signal.removeEventListener("abort", onAbort));
    }
    if (req.body !== null) void sendBody(f, req.body);
    return f;
  }

  /** The connection for a request to url: the least busy one, or a new one while under the bound. */
  #connection(url: URL, tls: ResolvedTLS): Pooled {
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || 443);
    const key = `${url.host}|${tlsKey(tls)}`;
    // A close that came while a connection was idle (its queue unread: the reader pauses then)
    // drops it (onEnd); a busy connection's reader sees closes as they come.
    const idle = this.#pools.get(key)?.filter((p) => p.conn.activeFetches === 0); // polling may drop one from the list
    if (idle !== undefined) for (const p of idle) p.conn.poll();
    let list = this.#pools.get(key);
    if (list === undefined) this.#pools.set(key, (list = []));
    let best: Pooled | undefined;
    for (const p of list) {
      if (p.conn.state !== "closed" && (best === undefined || p.conn.activeFetches < best.conn.activeFetches)) best = p;
    }
    if (best !== undefined && (best.conn.activeFetches < REQUESTS_PER_CONNECTION || list.length >= this.#maxPerOrigin)) return best;
    const conn = new ClientConnection(this.#spec(tls), { host, port });
    const pooled: Pooled = { conn, idleTimer: undefined };
    conn.onEnd = () => this.#drop(pooled, key);
    list.push(pooled);
    return pooled;
  }

  #spec(tls: ResolvedTLS): NativeClientSpec {
    return {
      tls,
      datagrams: true, // HTTP/3 datagram flows may use any connection
      webtransport: false,
      // The QUIC idle timeout outlasts the pool's, which closes idle connections itself.
      idleTimeoutMs: this.#idleMs + 5000,
      requestTimeoutMs: this.#requestTimeoutMs,
      connectTimeoutMs: this.#connectTimeoutMs,
    };
  }

  /** A request of the connection is over: an unused connection is closed after the idle timeout. */
  #released(pooled: Pooled): void {
    if (pooled.conn.activeFetches > 0 || pooled.conn.state === "closed") return;
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = setTimeout(() => {
      if (pooled.conn.activeFetches === 0) this.#drop(pooled);
    }, this.#idleMs);
    pooled.idleTimer.unref();
  }

  /** Forgets a connection and frees it. */
  #drop(pooled: Pooled, key?: string): void {
    clearTimeout(pooled.idleTimer);
    for (const [k, list] of this.#pools) {
      if (key !== undefined && k !== key) continue;
      const i = list.indexOf(pooled);
      if (i < 0) continue;
      list.splice(i, 1);
      if (list.length === 0) this.#pools.delete(k);
    }
    void pooled.conn.free();
  }
}

/** The request to send after a redirect (fetch's rules: 303, and 301/302 after POST, become GET without a body). */
function redirected(req: PreparedRequest, status: number, url: URL): PreparedRequest {
  if (url.protocol !== "https:") throw new TypeError(`redirected to ${url.protocol}, but HTTP/3 needs https:`);
  const headers = new Headers(req.headers);
  let { method, body } = req;
  if ((status === 303 && method !== "GET" && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    method = "GET";
    body = null;
    for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) headers.delete(name);
  } else if (body?.stream !== undefined) {
    throw new TypeError(`redirected (${status}) with a streamed body, which cannot be sent again`);
  }
  if (url.origin !== req.url.origin) headers.delete("authorization");
  return { ...req, url, method, body, headers };
}

/** The H3DatagramFlow of a started fetch with datagrams. */
function datagramFlow(f: ClientFetch, response: H3Response): H3DatagramFlow {
  const maxSize = () => datagramSize(native().zig_h3_fetch_max_datagram_size(f.handle));
  const send = (data: Uint8Array | string) =>
    sendDatagram(bytesOf(data), (payload, len) => native().zig_h3_fetch_send_datagram(f.handle, payload, len), maxSize);
  return {
    response,
    readable: f.datagrams!,
    writable: new WritableStream<Uint8Array>({ write: (chunk) => send(chunk) }),
    get maxDatagramSize() {
      return maxSize();
    },
    flowId: f.streamId / 4n,
    sendDatagram: send,
    close: () => f.cancel(new DOMException("The datagram flow was closed", "AbortError")),
  };
}

let defaultClient: H3Client | undefined;

/**
 * `fetch` over HTTP/3, on a shared default {@link H3Client} (pooled
 * connections, default options). Same signature and result as `fetch`;
 * `init.tls` sets how the server's certificate is checked (see
 * {@link H3TLSOptions}), and the response has a `trailers` promise.
 * Only https: URLs; the server must speak HTTP/3 on the URL's port (UDP).
 * @example
 * const res = await h3Fetch("https://127.0.0.1:4433/api", { tls: { ca: certPem } });
 * console.log(res.status, await res.json());
 */
export function h3Fetch(input: string | URL | Request, init?: H3RequestInit): Promise<H3Response> {
  defaultClient ??= new H3Client();
  return defaultClient.fetch(input, init);
}
