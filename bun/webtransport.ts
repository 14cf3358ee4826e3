/**
 * WebTransport sessions on the server side, shaped like the W3C
 * `WebTransport` object where it fits (see bun/session.ts, which the
 * client's `WebTransport` shares): `datagrams.readable/writable`,
 * `incomingBidirectionalStreams`, `incomingUnidirectionalStreams`,
 * `createBidirectionalStream()`, `createUnidirectionalStream()`, `closed`,
 * plus the Extended CONNECT request and `accept()` / `reject(status)`.
 * @module
 */
import { Code, lastError, native, type Handle } from "./ffi";
import { SessionTable, WTSessionBase, type WTBidirectionalStream, type WTCloseInfo, type WTDatagrams } from "./session";
import type { Exchange } from "./exchange";

export type { WTBidirectionalStream, WTCloseInfo, WTDatagrams } from "./session";

/** A WebTransport session (see {@link RouteDefinition.webtransport}). */
export interface WTContext {
  /** The Extended CONNECT request that opened the session. */
  readonly request: Request;
  /** The session id: the QUIC stream id of the CONNECT request. */
  readonly sessionId: bigint;
  /** Accepts the session (done automatically when the handler returns without deciding). */
  accept(): void;
  /** Rejects the session with an HTTP status (400-599). */
  reject(status: number): void;
  /** Sends a datagram (once `ready`); throws a RangeError naming the maximum when too large. */
  sendDatagram(data: Uint8Array | string): void;
  /** Largest datagram payload sendable now. */
  readonly maxDatagramSize: number;
  /**
   * Closes the session; the peer sees the code and reason. Takes the two as
   * arguments or W3C's `{ closeCode, reason }`.
   * @example
   * ctx.close(42, "bye");
   * ctx.close({ closeCode: 42, reason: "bye" });
   */
  close(closeCode?: number | Partial<WTCloseInfo>, reason?: string): void;
  /** Datagrams: read what the peer sends, write to send. */
  readonly datagrams: WTDatagrams;
  /** Streams the peer opens. */
  readonly incomingBidirectionalStreams: ReadableStream<WTBidirectionalStream>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  /**
   * Opens a stream to the peer.
   * @example
   * const { readable, writable } = await ctx.createBidirectionalStream();
   */
  createBidirectionalStream(): Promise<WTBidirectionalStream>;
  createUnidirectionalStream(): Promise<WritableStream<Uint8Array>>;
  /** Resolves when the session is established (after accept); rejects if it is rejected or closes first. */
  readonly ready: Promise<void>;
  /** Resolves when the session ends, with the close code and reason (either side). */
  readonly closed: Promise<WTCloseInfo>;
}

/** The server side of one WebTransport session. */
export class WTSession extends WTSessionBase implements WTContext {
  readonly request: Request;
  readonly sessionId: bigint;
  #decided = false;
  #exchange: Exchange;

  /** exchange is the CONNECT request's: its signal aborts when the session closes. */
  constructor(handle: Handle, request: Request, sessionId: bigint, table: SessionTable, exchange: Exchange) {
    super(table, handle);
    this.#exchange = exchange;
    this.request = request;
    this.sessionId = sessionId;
  }

  get decided(): boolean {
    return this.#decided;
  }

  accept(): void {
    if (this.#decided) throw new Error("WebTransport: the session was already accepted or rejected");
    this.#decided = true;
    if (native().zig_h3_wt_accept(this.handle!) !== Code.OK) throw new Error(`WebTransport accept: ${lastError()}`);
  }

  reject(status: number): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`reject: status must be 400-599, got ${status}`);
    }
    if (this.#decided) throw new Error("WebTransport: the session was already accepted or rejected");
    this.#decided = true;
    native().zig_h3_wt_reject(this.handle!, status);
    // The session's SESSION_CLOSED follows; ready rejects now with the status.
    this.failReady(new Error(`WebTransport session rejected with ${status}`));
  }

  override onClosed(closeCode: number, reason: string, failure?: Error): void {
    if (this.ended) return;
    super.onClosed(closeCode, reason, failure);
    this.#exchange.abort(new DOMException(`WebTransport session closed (${closeCode}: ${reason})`, "AbortError"));
  }
}
