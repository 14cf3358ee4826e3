/**
 * The H3Server: owns one native server, reads its event queue and runs
 * handlers for the request events.
 * @module
 */
import { ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { Code, COUNTER_COUNT, cString, lastError, native, type Handle } from "./ffi";
import { EventReader, type EventSink, type RequestEvent } from "./events";
import { HeaderEncoder, sendInternalError, sendResponse, sendStatus } from "./response";
import { buildRouteTable, type RouteTarget } from "./routes";
import type {
  H3ReloadOptions,
  H3Request,
  H3ServeOptions,
  H3Server,
  PemSource,
  ServerStats,
  SocketAddress,
} from "./types";

const LOG_LEVELS = { warn: 0, info: 1, debug: 2 } as const;

/** Per-request state kept while its handler runs. */
interface Pending {
  abort: AbortController;
}

/** Reads a PEM source synchronously (a BunFile by its path). */
function pemText(src: PemSource, field: string): string {
  if (typeof src === "string") return src;
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) return Buffer.from(src as Uint8Array).toString("utf8");
  if (src && typeof src === "object" && typeof (src as { name?: unknown }).name === "string") {
    return readFileSync((src as { name: string }).name, "utf8");
  }
  throw new TypeError(`${field}: expected PEM text, bytes or Bun.file(path)`);
}

function checkOptions(options: H3ServeOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("createH3Server: options must be an object");
  const { port, hostname, maxRequestBodySize, logLevel } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`port: expected an integer 0-65535, got ${port}`);
  }
  if (hostname !== undefined && typeof hostname !== "string") throw new TypeError("hostname: expected a string");
  if (
    maxRequestBodySize !== undefined &&
    (!Number.isSafeInteger(maxRequestBodySize) || maxRequestBodySize < 0)
  ) {
    throw new RangeError(`maxRequestBodySize: expected a non-negative integer, got ${maxRequestBodySize}`);
  }
  if (
    logLevel !== undefined &&
    !(typeof logLevel === "string" && logLevel in LOG_LEVELS) &&
    !(Number.isInteger(logLevel) && (logLevel as number) >= 0 && (logLevel as number) <= 255)
  ) {
    throw new RangeError(`logLevel: expected "warn", "info", "debug" or 0-255, got ${JSON.stringify(logLevel)}`);
  }
  if (options.onLog !== undefined && typeof options.onLog !== "function") throw new TypeError("onLog: expected a function");
  if ((options.certPath === undefined) !== (options.keyPath === undefined)) {
    throw new TypeError("certPath and keyPath must be given together");
  }
  if (options.tls !== undefined && (options.tls === null || typeof options.tls !== "object" || !options.tls.cert || !options.tls.key)) {
    throw new TypeError("tls: expected { cert, key }");
  }
  if (options.tls !== undefined && options.certPath !== undefined) {
    throw new TypeError("give tls or certPath/keyPath, not both");
  }
}

/** Builds the 48-byte zig_h3_server_config; the returned buffers must stay alive during zig_h3_server_new. */
function nativeConfig(options: H3ServeOptions, hostname: string): { config: Buffer; keep: Buffer[] } {
  const config = Buffer.alloc(48);
  const keep: Buffer[] = [];
  const setString = (offset: number, s: string | undefined) => {
    if (s === undefined) return;
    const c = cString(s);
    keep.push(c);
    config.writeBigUInt64LE(BigInt(ptr(c)), offset);
  };
  setString(0, options.certPath);
  setString(8, options.keyPath);
  setString(16, hostname);
  config.writeUInt16LE(options.port ?? 0, 24);
  setString(32, options.qlogDir);
  const level = options.logLevel ?? "warn";
  config.writeUInt8(typeof level === "string" ? LOG_LEVELS[level] : level, 40);
  return { config, keep };
}

/** JSON for zig_h3_server_set_options. */
function nativeOptions(options: H3ServeOptions): string {
  const out: Record<string, unknown> = {};
  if (options.tls) {
    out.certPem = pemText(options.tls.cert, "tls.cert");
    out.keyPem = pemText(options.tls.key, "tls.key");
  }
  if (options.maxRequestBodySize !== undefined) out.maxRequestBodySize = options.maxRequestBodySize;
  return JSON.stringify(out);
}

/** Parses "ip:port" / "[ipv6]:port". */
function socketAddress(s: string): SocketAddress | null {
  const i = s.lastIndexOf(":");
  if (i < 0) return null;
  const host = s.slice(0, i);
  const v6 = host.startsWith("[");
  return { address: v6 ? host.slice(1, -1) : host, port: Number(s.slice(i + 1)), family: v6 ? "IPv6" : "IPv4" };
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
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
  #targets = new Map<number, RouteTarget>();
  #nextTag = 0;
  #error: H3ServeOptions["error"];
  #onLog: H3ServeOptions["onLog"];
  #pending = new Map<Handle, Pending>();
  #addresses = new WeakMap<Request, string>();
  #encoder = new HeaderEncoder();
  #running = true;
  #stopping: Promise<void> | undefined;
  #resolveStopped: (() => void) | undefined;
  #freed = false;

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
    try {
      const opts = Buffer.from(nativeOptions(options));
      if (lib.zig_h3_server_set_options(this.#handle, opts, opts.byteLength) !== Code.OK) {
        throw new TypeError(`createH3Server: ${lastError()}`);
      }
      this.#installRoutes(table);
      this.#error = options.error;
      this.#onLog = options.onLog;
      this.#events = new EventReader(this.#handle, this);
      this.#events.start();
      if (lib.zig_h3_server_start(this.#handle) !== Code.OK) throw new Error(`createH3Server: ${lastError()}`);
    } catch (err) {
      this.#free();
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
    const c = new BigUint64Array(COUNTER_COUNT);
    if (!this.#freed) native().zig_h3_server_counters(this.#handle, c, COUNTER_COUNT);
    const n = (i: number) => Number(c[i]);
    return {
      connectionsTotal: n(0),
      connectionsActive: n(1),
      requests: n(2),
      uptimeMs: n(3),
      requestsActive: n(4),
      requestsRejected: n(5),
      eventsDropped: n(6),
    };
  }

  requestIP(req: Request): SocketAddress | null {
    const addr = this.#addresses.get(req);
    return addr === undefined ? null : socketAddress(addr);
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
    table.targets.forEach((t, i) => this.#targets.set(table.firstTag + i, t));
    this.#nextTag = table.firstTag + table.targets.length;
  }

  // ---- EventSink -----------------------------------------------------------

  request(ev: RequestEvent): void {
    const target = this.#targets.get(ev.tag);
    if (target === undefined) return sendInternalError(ev.id);
    if (target instanceof Response) {
      void this.#send(ev.id, target.clone() as Response);
      return;
    }
    const abort = new AbortController();
    let req: H3Request;
    try {
      req = this.#makeRequest(ev, abort.signal);
    } catch {
      sendStatus(ev.id, 400); // a head the Fetch API refuses (e.g. an unparsable URL)
      return;
    }
    this.#pending.set(ev.id, { abort });
    let result: Response | Promise<Response>;
    try {
      result = target(req, this);
    } catch (err) {
      void this.#fail(ev.id, err);
      return;
    }
    if (result instanceof Response) {
      void this.#finish(ev.id, result);
      return;
    }
    Promise.resolve(result).then(
      (res) => this.#finish(ev.id, res),
      (err) => this.#fail(ev.id, err),
    );
  }

  abort(id: Handle): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    p.abort.abort(new DOMException("The client closed the request", "AbortError"));
  }

  log(level: number, line: string): void {
    if (this.#onLog) this.#onLog(line);
    else if (level === 0) console.warn(`[zig-h3] ${line}`);
  }

  stopped(): void {
    void this.#events.close().then(() => {
      this.#free();
      for (const p of this.#pending.values()) p.abort.abort(new DOMException("The server stopped", "AbortError"));
      this.#pending.clear();
      this.#resolveStopped?.();
    });
  }

  // ---- requests ------------------------------------------------------------

  #makeRequest(ev: RequestEvent, signal: AbortSignal): H3Request {
    const authority = ev.authority || `${this.url.host}`;
    const hasBody = ev.body !== null && ev.method !== "GET" && ev.method !== "HEAD";
    const req = new Request(`https://${authority}${ev.path}`, {
      method: ev.method,
      headers: ev.headers,
      body: hasBody ? ev.body : null,
      signal,
    }) as H3Request;
    const params: Record<string, string> = {};
    for (const [name, value] of ev.params) params[name] = decodeParam(value);
    Object.defineProperty(req, "params", { value: params, enumerable: true });
    this.#addresses.set(req, ev.remoteAddress);
    return req;
  }

  /** A handler failed: ask the error handler, else answer 500. */
  async #fail(id: Handle, err: unknown): Promise<void> {
    if (!this.#pending.has(id)) return; // aborted meanwhile
    let res: unknown;
    if (this.#error === undefined) {
      console.error("[zig-h3] handler failed:", err);
    } else {
      try {
        res = await this.#error(err);
      } catch (err2) {
        console.error("[zig-h3] error handler failed:", err2);
      }
    }
    if (res instanceof Response) return this.#finish(id, res);
    if (this.#pending.delete(id)) sendInternalError(id);
  }

  #finish(id: Handle, res: unknown): Promise<void> | void {
    if (!(res instanceof Response)) return this.#fail(id, new TypeError(`handler returned ${typeof res}, expected a Response`));
    if (!this.#pending.delete(id)) return; // aborted meanwhile
    return this.#send(id, res);
  }

  async #send(id: Handle, res: Response): Promise<void> {
    try {
      await sendResponse(id, res, this.#encoder);
    } catch (err) {
      console.error("[zig-h3] sending the response failed:", err);
      sendInternalError(id);
    }
  }

  #free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#running = false;
    native().zig_h3_server_free(this.#handle);
  }
}
