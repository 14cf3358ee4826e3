/**
 * The H3Server: owns one native server, reads its event queue and runs
 * handlers for the request events.
 * @module
 */
import { Code, Counter, COUNTER_COUNT, lastError, native, type Handle } from "./ffi";
import { checkOptions, nativeConfig, nativeOptions } from "./options";
import { EventReader, serverQueue, type EventSink, type RequestEvent } from "./events";
import { Exchange } from "./exchange";
import { H3DatagramContextImpl, QUICDatagramContextImpl } from "./datagram";
import { WTSession } from "./webtransport";
import { SessionTable } from "./session";
import { type BodyKind, cloneResponse, failResponse, HeaderEncoder, sendInternalError, sendResponse, sendStatus } from "./response";
import { buildRouteTable, type Route } from "./routes";
import type {
  H3ReloadOptions,
  H3Request,
  H3ServeOptions,
  H3Server,
  ServerStats,
  SocketAddress,
} from "./types";

/** Parses "ip:port" / "[ipv6]:port". */
function socketAddress(s: string): SocketAddress | null {
  const i = s.lastIndexOf(":");
  if (i < 0) return null;
  const host = s.slice(0, i);
  const v6 = host.startsWith("[");
  return { address: v6 ? host.slice(1, -1) : host, port: Number(s.slice(i + 1)), family: v6 ? "IPv6" : "IPv4" };
}

/** Methods whose requests never carry a body (any body sent is discarded). */
function noBody(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The Request handlers receive: params, trailers and signal are computed
 * on first use, so a handler pays only for what it reads.
 */
class IncomingRequest extends Request implements H3Request {
  exchange!: Exchange;
  rawParams!: [string, string][];
  rawTrailers!: [string, string][];
  remoteAddress!: string;
  /** Whether this is the Extended CONNECT request of a WebTransport session (it has no response). */
  webtransport = false;
  #params: Record<string, string> | undefined;

  get params(): Record<string, string> {
    if (this.#params === undefined) {
      this.#params = {};
      for (const [name, value] of this.rawParams) this.#params[name] = decodeParam(value);
    }
    return this.#params;
  }

  get trailers(): Promise<Headers> {
    return this.exchange.body?.trailers ?? Promise.resolve(new Headers(this.rawTrailers));
  }

  get earlyData(): boolean {
    return this.headers.get("early-data") === "1";
  }

  // @ts-expect-error bun-types declares signal a property; at runtime it is an accessor we may override.
  override get signal(): AbortSignal {
    return this.exchange.signal;
  }
}

/** The implementation of {@link H3Server}. */
export class H3ServerImpl implements H3Server, EventSink {
  readonly port: number;
  readonly hostname: string;
  readonly url: URL;
  readonly certificateHash: Uint8Array;
  readonly developmentCertificate: boolean;

  #handle: Handle;
  #events: EventReader;
  #targets = new Map<number, Route>();
  #nextTag = 0;
  #error: H3ServeOptions["error"];
  #onLog: H3ServeOptions["onLog"];
  #exchanges = new Map<Handle, Exchange>();
  #encoder = new HeaderEncoder();
  #running = true;
  #stopping: Promise<void> | undefined;
  #resolveStopped: (() => void) | undefined;
  #freed = false;
  /** The counters read just before the native server was freed. */
  #finalCounters: BigUint64Array | undefined;
  #features = { datagrams: false, webtransport: false };
  #quicDatagram: H3ServeOptions["quicDatagram"];
  #checkOrigin: ((origin: string | null, req: Request) => boolean) | undefined;
  #wt = new SessionTable();

  constructor(options: H3ServeOptions) {
    checkOptions(options);
    const lib = native();
    const hostname = options.hostname === undefined ? "0.0.0.0" : options.hostname === "localhost" ? "127.0.0.1" : options.hostname;
    const table = buildRouteTable(options, 0);
    const { config, keep } = nativeConfig(options, hostname);
    const handle = lib.zig_h3_server_new(config);
    keep.length = 0;
    if (!handle) throw new TypeError(`createH3Server: ${lastError()}`);
    this.#handle = handle as Handle;
    let events: EventReader | undefined;
    try {
      this.#features = {
        datagrams: table.routes.some((r) => r.h3Datagram !== undefined),
        webtransport: table.routes.some((r) => r.webtransport !== undefined),
      };
      const opts = Buffer.from(nativeOptions(options, this.#features));
      if (lib.zig_h3_server_set_options(this.#handle, opts, opts.byteLength) !== Code.OK) {
        throw new TypeError(`createH3Server: ${lastError()}`);
      }
      this.#installRoutes(table);
      this.#error = options.error;
      this.#onLog = options.onLog;
      this.#quicDatagram = options.quicDatagram;
      this.#checkOrigin = options.webtransport?.checkOrigin;
      if (options.quicDatagram !== undefined && lib.zig_h3_server_queue_quic_datagrams(this.#handle) !== Code.OK) {
        throw new Error(`createH3Server: ${lastError()}`);
      }
      events = this.#events = new EventReader(serverQueue(this.#handle), this);
      events.start();
      if (lib.zig_h3_server_start(this.#handle) !== Code.OK) throw new Error(`createH3Server: ${lastError()}`);
    } catch (err) {
      // A reader left waiting on the event fd would keep the process alive (a failed bind starts it first).
      const closing = events?.close();
      this.#free();
      closing?.catch(() => {});
      throw err;
    }
    this.port = lib.zig_h3_server_port(this.#handle);
    this.hostname = hostname;
    this.url = new URL(`https://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname.includes(":") ? `[${hostname}]` : hostname}:${this.port}/`);
    const hash = new Uint8Array(32);
    this.developmentCertificate = lib.zig_h3_server_certificate_hash(this.#handle, hash) === 1;
    this.certificateHash = hash;
  }

  get running(): boolean {
    return this.#running;
  }

  getStats(): ServerStats {
    const c = this.#finalCounters ?? this.#counters();
    const n = (i: number) => Number(c[i]);
    return {
      connectionsTotal: n(Counter.CONNECTIONS_TOTAL),
      connectionsActive: n(Counter.CONNECTIONS_ACTIVE),
      requests: n(Counter.REQUESTS_TOTAL),
      requestsByProtocol: { "http/1.1": n(Counter.REQUESTS_HTTP1), h2: n(Counter.REQUESTS_HTTP2), h3: n(Counter.REQUESTS_HTTP3) },
      uptimeMs: n(Counter.UPTIME_MS),
      requestsActive: n(Counter.REQUESTS_ACTIVE),
      requestsRejected: n(Counter.REQUESTS_REJECTED),
      eventsDropped: n(Counter.EVENTS_DROPPED),
      requestsTimedOut: n(Counter.REQUESTS_TIMED_OUT),
      connectionsRefused: n(Counter.CONNECTIONS_REFUSED),
      goroutines: n(Counter.GOROUTINES),
      datagramsReceived: n(Counter.DATAGRAMS_RECEIVED),
      datagramsSent: n(Counter.DATAGRAMS_SENT),
      datagramsDropped: n(Counter.DATAGRAMS_DROPPED) + this.#wt.datagramsDropped,
      sessionsActive: n(Counter.SESSIONS_ACTIVE),
    };
  }

  timeout(req: Request, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`timeout: seconds must be >= 0, got ${seconds}`);
    const ex = (req as IncomingRequest).exchange;
    if (!(req instanceof IncomingRequest) || ex === undefined) throw new TypeError("timeout: not a request of this server");
    if (req.webtransport) throw new TypeError("timeout: a WebTransport session's request has no response to time out");
    native().zig_h3_response_set_timeout(ex.id, Math.min(Math.round(seconds * 1000), 0xffffffff));
  }

  requestIP(req: Request): SocketAddress | null {
    return req instanceof IncomingRequest ? socketAddress(req.remoteAddress) : null;
  }

  stop(force = false): Promise<void> {
    this.#running = false;
    if (this.#freed) return Promise.resolve();
    this.#stopping ??= new Promise<void>((resolve) => (this.#resolveStopped = resolve));
    native().zig_h3_server_stop_async(this.#handle, force ? 1 : 0);
    return this.#stopping;
  }

  reload(options: H3ReloadOptions): void {
    if (this.#freed) throw new Error("reload: the server is stopped");
    const table = buildRouteTable(options, this.#nextTag);
    if (table.routes.some((r) => r.webtransport !== undefined) && !this.#features.webtransport) {
      throw new TypeError("reload: WebTransport routes must exist when the server is created (they enable WebTransport)");
    }
    if (table.routes.some((r) => r.h3Datagram !== undefined) && !this.#features.datagrams) {
      throw new TypeError("reload: h3Datagram routes must exist when the server is created (they enable datagrams)");
    }
    this.#installRoutes(table);
    this.#error = options.error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #installRoutes(table: ReturnType<typeof buildRouteTable>): void {
    const spec = Buffer.from(table.spec);
    if (native().zig_h3_server_set_event_routes(this.#handle, spec, spec.byteLength) !== Code.OK) {
      throw new TypeError(`routes: ${lastError()}`);
    }
    table.routes.forEach((r, i) => this.#targets.set(table.firstTag + i, r));
    this.#nextTag = table.firstTag + table.routes.length;
  }

  // ---- EventSink -----------------------------------------------------------

  request(ev: RequestEvent): void {
    const route = this.#targets.get(ev.tag);
    if (route === undefined) return sendInternalError(ev.id);
    const target = route.target;
    if (target === undefined) {
      sendStatus(ev.id, 405, "Method Not Allowed");
      return;
    }
    // A GET or HEAD body on a streaming route is refused natively (the client gets STOP_SENDING).
    const streaming = route.streaming && !noBody(ev.method);
    if (route.streaming && !streaming) native().zig_h3_response_discard_body(ev.id);
    const ex = new Exchange(ev.id, streaming, ev.method === "HEAD");
    this.#exchanges.set(ev.id, ex);
    if (target instanceof Response) {
      // A static route the native side does not answer itself (a stream, a file slice, trailers).
      let res: Response;
      try {
        res = cloneResponse(target); // throws if its stream was read elsewhere
      } catch (err) {
        void this.#fail(ex, err);
        return;
      }
      void this.#respond(ex, res, route.kind);
      return;
    }
    let req: H3Request;
    try {
      req = this.#makeRequest(ev, ex);
    } catch {
      this.#exchanges.delete(ev.id);
      ex.finish();
      sendStatus(ev.id, 400); // a head the Fetch API refuses (e.g. an unparsable URL)
      return;
    }
    if (route.h3Datagram !== undefined) {
      const ctx = new H3DatagramContextImpl(ev.id, ev.streamId, req);
      const handler = route.h3Datagram;
      ex.onDatagram = (payload) => handler(payload, ctx);
    }
    let result: Response | Promise<Response>;
    try {
      result = target(req, this);
    } catch (err) {
      void this.#fail(ex, err);
      return;
    }
    if (result instanceof Response) {
      void this.#respond(ex, result);
      return;
    }
    Promise.resolve(result).then(
      (res) => this.#respond(ex, res),
      (err) => this.#fail(ex, err),
    );
  }

  abort(id: Handle, timedOut: boolean): void {
    const ex = this.#exchanges.get(id);
    if (ex === undefined) return;
    this.#exchanges.delete(id);
    ex.abort(
      timedOut
        ? new DOMException("The request timed out (the client got 503)", "TimeoutError")
        : new DOMException("The client closed the request", "AbortError"),
    );
  }

  bodyChunk(id: Handle, data: Uint8Array): void {
    this.#exchanges.get(id)?.body?.chunk(data);
  }

  bodyEnd(id: Handle, trailers: [string, string][]): void {
    this.#exchanges.get(id)?.body?.end(trailers);
  }

  writable(id: Handle): void {
    const ex = this.#exchanges.get(id);
    if (ex !== undefined) ex.wake();
    else this.#wt.writable(id as number);
  }

  h3Datagram(id: Handle, data: Uint8Array): void {
    const ex = this.#exchanges.get(id);
    if (ex?.onDatagram === undefined) return;
    try {
      ex.onDatagram(data);
    } catch (err) {
      this.#warn("h3Datagram handler failed", err);
    }
  }

  quicDatagram(conn: Handle, connectionIdHex: string, remoteAddress: string, data: Uint8Array): void {
    if (this.#quicDatagram === undefined) return;
    try {
      this.#quicDatagram(data, new QUICDatagramContextImpl(this.#handle, conn, connectionIdHex, remoteAddress));
    } catch (err) {
      this.#warn("quicDatagram handler failed", err);
    }
  }

  session(ev: RequestEvent): void {
    const route = this.#targets.get(ev.tag);
    const lib = native();
    if (route?.webtransport === undefined) {
      lib.zig_h3_wt_reject(ev.id, 404);
      return;
    }
    // The request's signal aborts when the session closes (see WTSession.onClosed).
    const ex = new Exchange(ev.id, false);
    let req: IncomingRequest;
    try {
      req = this.#makeRequest(ev, ex);
    } catch {
      lib.zig_h3_wt_reject(ev.id, 400);
      return;
    }
    req.webtransport = true;
    if (this.#checkOrigin !== undefined) {
      let ok = false;
      try {
        ok = this.#checkOrigin(req.headers.get("origin"), req) === true;
      } catch (err) {
        this.#warn("webtransport.checkOrigin failed", err);
      }
      if (!ok) {
        lib.zig_h3_wt_reject(ev.id, 403);
        ex.abort(new DOMException("The WebTransport session was rejected (403)", "AbortError"));
        return;
      }
    }
    const session = new WTSession(ev.id, req, ev.streamId, this.#wt, ex);
    this.#wt.add(ev.id, session);
    const decide = () => {
      if (!session.decided) session.accept();
    };
    let result: void | Promise<void>;
    try {
      result = route.webtransport(session);
    } catch (err) {
      this.#warn("webtransport handler failed", err);
      if (!session.decided) session.reject(500);
      else session.close(1, "handler failed");
      return;
    }
    if (result instanceof Promise) {
      // Accept as soon as the handler returned control without deciding; errors close the session.
      queueMicrotask(decide);
      result.catch((err) => {
        this.#warn("webtransport handler failed", err);
        session.close(1, "handler failed");
      });
    } else {
      decide();
    }
  }

  sessionReady(id: Handle): void {
    this.#wt.ready(id);
  }

  sessionDatagram(id: Handle, data: Uint8Array): void {
    this.#wt.datagram(id, data);
  }

  streamOpened(id: Handle, stream: number, bidi: boolean): void {
    this.#wt.streamOpened(id, stream, bidi);
  }

  streamData(stream: number, data: Uint8Array): void {
    this.#wt.streamData(stream, data);
  }

  streamEnd(stream: number, reset: boolean, code: number): void {
    this.#wt.streamEnd(stream, reset, code);
  }

  sessionClosed(id: Handle, code: number, reason: string): void {
    this.#wt.closed(id, code, reason);
  }

  log(level: number, line: string): void {
    if (this.#onLog) this.#onLog(line);
    else if (level === 0) console.warn(`[zig-h3] ${line}`);
  }

  warn(what: string, err: unknown): void {
    this.#warn(what, err);
  }

  /** A warning of the wrapper itself (what failed, and why): to onLog if set, else to console.error. */
  #warn(what: string, err: unknown): void {
    if (this.#onLog) this.#onLog(`${what}: ${err instanceof Error ? (err.stack ?? String(err)) : String(err)}`);
    else console.error(`[zig-h3] ${what}:`, err);
  }

  stopped(): void {
    void this.#events.close().then(() => {
      this.#free();
      for (const ex of this.#exchanges.values()) ex.abort(new DOMException("The server stopped", "AbortError"));
      this.#exchanges.clear();
      this.#wt.closeAll(0, "server stopped");
      this.#resolveStopped?.();
    });
  }

  /** Exchanges in flight (for tests: nothing may be left behind). */
  get pendingExchanges(): number {
    return this.#exchanges.size;
  }

  /** WebTransport sessions and streams in the tables (for tests). */
  get pendingSessions(): { sessions: number; streams: number } {
    return { sessions: this.#wt.sessions.size, streams: this.#wt.streams.size };
  }

  // ---- requests ------------------------------------------------------------

  #makeRequest(ev: RequestEvent, ex: Exchange): IncomingRequest {
    const authority = ev.authority || `${this.url.host}`;
    // HTTP/3 carries the host as :authority; handlers read Host (as with Bun.serve).
    if (ev.authority && !ev.headers.some(([name]) => name === "host")) ev.headers.push(["host", ev.authority]);
    const body = noBody(ev.method) ? null : (ex.body?.stream ?? ev.body);
    const req = new IncomingRequest(`https://${authority}${ev.path}`, {
      method: ev.method,
      headers: ev.headers,
      body,
      duplex: "half",
    } as RequestInit);
    req.exchange = ex;
    req.rawParams = ev.params;
    req.rawTrailers = ev.trailers;
    req.remoteAddress = ev.remoteAddress;
    return req;
  }

  /** A handler failed: ask the error handler, else answer 500. */
  async #fail(ex: Exchange, err: unknown): Promise<void> {
    if (ex.aborted) return;
    let res: unknown;
    if (this.#error === undefined) {
      this.#warn("handler failed", err);
    } else {
      try {
        res = await this.#error(err);
      } catch (err2) {
        this.#warn("error handler failed", err2);
      }
    }
    if (res instanceof Response) return this.#respond(ex, res);
    this.#done(ex);
    sendInternalError(ex.id);
  }

  /** Sends res; in-memory bodies are handed over before this returns. */
  #respond(ex: Exchange, res: unknown, kind?: BodyKind): Promise<void> | undefined {
    if (!(res instanceof Response)) return this.#fail(ex, new TypeError(`handler returned ${typeof res}, expected a Response`));
    if (ex.aborted) return;
    let sending: Promise<void> | undefined;
    try {
      sending = sendResponse(ex.id, res, this.#encoder, ex, kind);
    } catch (err) {
      this.#sendFailed(ex, err);
      return;
    }
    if (sending === undefined) {
      this.#done(ex);
      return;
    }
    return sending.then(
      () => this.#done(ex),
      (err) => this.#sendFailed(ex, err),
    );
  }

  /**
   * Sending failed (the Response was refused, or its body's stream or its
   * trailers threw): the error is logged once, and the client gets 500 if
   * the head is not out yet, else a reset stream. The error handler is not
   * called: the response has begun (and a Response it returned could fail
   * the same way).
   */
  #sendFailed(ex: Exchange, err: unknown): void {
    if (!ex.aborted) {
      this.#warn("sending the response failed", err);
      failResponse(ex.id);
    }
    this.#done(ex);
  }

  #done(ex: Exchange): void {
    if (this.#exchanges.get(ex.id) === ex) this.#exchanges.delete(ex.id);
    ex.finish();
  }

  #counters(): BigUint64Array {
    const c = new BigUint64Array(COUNTER_COUNT);
    native().zig_h3_server_counters(this.#handle, c, COUNTER_COUNT);
    return c;
  }

  #free(): void {
    if (this.#freed) return;
    this.#finalCounters = this.#counters(); // getStats keeps the last values (uptime frozen at stop)
    this.#freed = true;
    this.#running = false;
    native().zig_h3_server_free(this.#handle);
  }
}
