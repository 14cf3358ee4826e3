/**
 * One native client (`zig_h3_client`): one QUIC connection to one origin, in
 * event-queue mode. It reads the client's event queue and routes the events
 * to the fetches, WebTransport sessions and datagram receiver using it. The
 * fd wait runs only while something uses the connection (see `ref()`), so
 * an idle pooled connection never keeps the process alive; events that
 * arrive meanwhile wait in the queue until the next use drains it.
 * @module
 */
import { cString, lastError, native, type Handle } from "./ffi";
import { clientQueue, EventReader, SMALL_BUFFER, type EventSink } from "./events";
import { createNativeClient, type NativeClientSpec } from "./clientoptions";
import { SessionTable } from "./session";
import { codeName, H3Error } from "./errors";

/** What one fetch receives from its connection's events. */
export interface FetchEvents {
  head(status: number, headers: [string, string][], streamId: bigint): void;
  data(data: Uint8Array): void;
  end(trailers: [string, string][]): void;
  /** The fetch failed (error event, or the connection closed under it). */
  fail(err: Error): void;
  writable(): void;
  datagram(data: Uint8Array): void;
}

/** How a connection ended: code 0 when this side closed it. */
export interface ConnectionEnd {
  code: number;
  appCode: number;
  message: string;
}

/** Where to connect. */
export interface ConnectionTarget {
  /** A name or an IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** TLS server name (default: host). */
  serverName?: string;
}

/** HTTP/3's H3_NO_ERROR, the code of a connection closed normally. */
export const H3_NO_ERROR = 0x100;

/** One QUIC connection (a native client) and the reading of its events. */
export class ClientConnection implements EventSink {
  readonly handle: Handle;
  /** WebTransport sessions and their streams on this connection. */
  readonly wt = new SessionTable();
  /** Resolves when the handshake is done; rejects with an H3Error if the connection ends first. */
  readonly connected: Promise<void>;
  /** Resolves when the connection ended (either side, or failed). */
  readonly closed: Promise<ConnectionEnd>;
  /** Raw QUIC datagrams (connectQuic). */
  onDatagram: ((data: Uint8Array) => void) | undefined;
  /** Called once when the connection has ended (before its fetches fail). */
  onEnd: ((end: ConnectionEnd) => void) | undefined;

  #reader: EventReader;
  #fetches = new Map<number, FetchEvents>();
  #state: "connecting" | "open" | "closed" = "connecting";
  #refs = 0;
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;
  #freeing: Promise<void> | undefined;
  #resolveConnected!: () => void;
  #rejectConnected!: (err: Error) => void;
  #resolveClosed!: (end: ConnectionEnd) => void;

  constructor(spec: NativeClientSpec, target: ConnectionTarget) {
    this.connected = new Promise((resolve, reject) => {
      this.#resolveConnected = resolve;
      this.#rejectConnected = reject;
    });
    this.connected.catch(() => {});
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.handle = createNativeClient(spec);
    this.#reader = new EventReader(clientQueue(this.handle), this, SMALL_BUFFER);
    try {
      this.#reader.open(); // event-queue mode: before connect
      const host = cString(target.host);
      const sni = target.serverName === undefined ? null : cString(target.serverName);
      if (native().zig_h3_client_connect(this.handle, host, target.port, sni) !== 0) {
        throw new TypeError(`zig-h3 client: connecting to ${target.host}:${target.port}: ${lastError()}`);
      }
    } catch (err) {
      void this.#reader.close();
      native().zig_h3_client_free(this.handle);
      throw err;
    }
  }

  /** "connecting", "open" or "closed". */
  get state(): "connecting" | "open" | "closed" {
    return this.#state;
  }

  /** Fetches in flight. */
  get activeFetches(): number {
    return this.#fetches.size;
  }

  /** Something uses the connection: wait for its events (this keeps the process alive). */
  ref(): void {
    if (++this.#refs !== 1) return;
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    this.#reader.start();
  }

  /** One use less; when none is left the fd wait stops (soon, so that back-to-back uses do not restart it). */
  unref(): void {
    if (this.#refs === 0 || --this.#refs !== 0) return;
    this.#pauseTimer = setTimeout(() => {
      this.#pauseTimer = undefined;
      if (this.#refs === 0) this.#reader.pause();
    }, 0);
  }

  /** Dispatches what is queued now (e.g. a close that came while nothing waited). */
  poll(): void {
    this.#reader.drain();
  }

  /**
   * Starts a fetch (see zig_h3_client_fetch_start) and routes its events to
   * `events` until its last one. Returns the fetch handle; throws an H3Error
   * (code "CLOSED": the connection is gone, take another).
   */
  startFetch(head: Uint8Array, flags: number, events: FetchEvents): number {
    if (this.#state === "closed") throw new H3Error("the connection is closed", "CLOSED");
    const h = Number(native().zig_h3_client_fetch_start(this.handle, head, head.byteLength, flags));
    if (h < 0) throw new H3Error(lastError(), codeName(h));
    this.#fetches.set(h, events);
    this.ref();
    return h;
  }

  /** The fetch had its last event or was cancelled: its events are no longer routed. */
  endFetch(fetch: number): void {
    if (this.#fetches.delete(fetch)) this.unref();
  }

  /**
   * Closes the connection with an application code and reason, waits (up
   * to a second) for the end to be reported, and frees the native client.
   */
  async close(code = H3_NO_ERROR, reason = ""): Promise<void> {
    if (this.#state !== "closed" && this.#freeing === undefined) {
      const r = Buffer.from(reason);
      this.ref();
      if (native().zig_h3_client_close(this.handle, code, r.byteLength ? r : null, r.byteLength) === 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([this.closed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
        clearTimeout(timer);
      }
      this.unref();
    }
    await this.free();
  }

  /**
   * Frees the native client at once (its connection closes with
   * H3_NO_ERROR); what is still in flight fails with `reason`.
   */
  free(reason: Error = new H3Error("the client was closed", "CLOSED")): Promise<void> {
    if (this.#freeing !== undefined) return this.#freeing;
    // Recorded before #end runs: its onEnd (the pool dropping the connection) calls free again.
    let freed!: () => void;
    this.#freeing = new Promise((resolve) => (freed = resolve));
    this.#end({ code: 0, appCode: 0, message: "closed" }, reason);
    clearTimeout(this.#pauseTimer);
    void this.#reader.close().finally(() => {
      native().zig_h3_client_free(this.handle);
      freed();
    });
    return this.#freeing;
  }

  /** The connection ended: every user of it settles. */
  #end(end: ConnectionEnd, failure: Error): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.onEnd?.(end);
    this.#rejectConnected(failure);
    const fetches = [...this.#fetches.values()];
    this.#fetches.clear();
    for (const f of fetches) f.fail(failure);
    this.wt.closeAll(end.appCode, end.message, failure);
    this.#resolveClosed(end);
    this.#refs = 0;
  }

  // ---- EventSink ----------------------------------------------------------------

  warn(what: string, err: unknown): void {
    console.error(`[zig-h3] client: ${what}:`, err);
  }

  clientConnected(): void {
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#resolveConnected();
  }

  clientClosed(_client: Handle, code: number, appCode: number, message: string): void {
    const err = new H3Error(message || "the connection closed", codeName(code), appCode);
    this.#end({ code, appCode, message }, err);
    void this.free(err);
  }

  fetchHead(fetch: number, status: number, headers: [string, string][], streamId: bigint): void {
    this.#fetches.get(fetch)?.head(status, headers, streamId);
  }

  fetchData(fetch: number, data: Uint8Array): void {
    const f = this.#fetches.get(fetch);
    if (f === undefined) native().zig_h3_fetch_ack(fetch, data.byteLength); // nobody reads it: never stall the window
    else f.data(data);
  }

  fetchEnd(fetch: number, trailers: [string, string][]): void {
    const f = this.#fetches.get(fetch);
    this.endFetch(fetch);
    f?.end(trailers);
  }

  fetchError(fetch: number, code: number, appCode: number, message: string): void {
    const f = this.#fetches.get(fetch);
    this.endFetch(fetch);
    f?.fail(new H3Error(message || "the request failed", codeName(code), appCode));
  }

  writable(id: Handle): void {
    const f = this.#fetches.get(id as number);
    if (f !== undefined) f.writable();
    else this.wt.writable(id as number);
  }

  h3Datagram(id: Handle, data: Uint8Array): void {
    this.#fetches.get(id as number)?.datagram(data);
  }

  quicDatagram(_conn: Handle, _hex: string, _remote: string, data: Uint8Array): void {
    this.onDatagram?.(data);
  }

  sessionReady(id: Handle): void {
    this.wt.ready(id);
  }

  sessionDatagram(id: Handle, data: Uint8Array): void {
    this.wt.datagram(id, data);
  }

  streamOpened(id: Handle, stream: number, bidi: boolean): void {
    this.wt.streamOpened(id, stream, bidi);
  }

  streamData(stream: number, data: Uint8Array): void {
    this.wt.streamData(stream, data);
  }

  streamEnd(stream: number, reset: boolean, code: number): void {
    this.wt.streamEnd(stream, reset, code);
  }

  sessionClosed(id: Handle, code: number, reason: string): void {
    this.wt.closed(id, code, reason);
  }

  sessionAborted(id: Handle, _code: number, _appCode: number, message: string): void {
    this.wt.closed(id, 0, message, new Error(message)); // W3C: closed rejects (WebTransportError)
  }
}
