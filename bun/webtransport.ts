/**
 * WebTransport sessions on the server side, shaped like the W3C
 * `WebTransport` object where it fits: `datagrams.readable/writable`,
 * `incomingBidirectionalStreams`, `incomingUnidirectionalStreams`,
 * `createBidirectionalStream()`, `createUnidirectionalStream()`, `closed`.
 * Streams are WHATWG streams with backpressure both ways.
 * @module
 */
import { Code, HIGH_WATER, lastError, native, type Handle } from "./ffi";
import { bytesOf, datagramSize, sendDatagram } from "./datagram";
import { IncomingStream } from "./request";
import type { Exchange } from "./exchange";

/** Received datagrams kept while nobody reads `datagrams.readable`; more are dropped. */
const DATAGRAM_QUEUE = 256;

/** A bidirectional stream, as in W3C WebTransport. */
export interface WTBidirectionalStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** How a session ended, as W3C `WebTransportCloseInfo`. */
export interface WTCloseInfo {
  closeCode: number;
  reason: string;
}

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
   * Closes the session; the peer sees the code and reason.
   * @example
   * ctx.close(42, "bye");
   */
  close(closeCode?: number, reason?: string): void;
  /** Datagrams: read what the peer sends, write to send. */
  readonly datagrams: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> };
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

/** Per-stream state the server routes events to. */
export interface StreamState {
  incoming?: IncomingStream;
  wake?: () => void;
  session: WTSession;
  /** Sides still open; the entry goes when both are done. */
  reading: boolean;
  writing: boolean;
}

/** The tables a session registers its streams in (owned by the server). */
export type StreamTable = Map<number, StreamState>;

/** One side of a stream is done; forget the stream once both are. */
export function sideDone(streams: StreamTable, handle: number, side: "reading" | "writing"): void {
  const st = streams.get(handle);
  if (st === undefined) return;
  st[side] = false;
  if (!st.reading && !st.writing) {
    streams.delete(handle);
    st.session.forget(handle);
  }
}

/** Writes one stream with backpressure: pauses at the native high-water mark until woken. */
function writableStream(handle: number, state: StreamState, streams: StreamTable): WritableStream<Uint8Array> {
  const lib = native();
  const waitWritable = () => new Promise<void>((resolve) => (state.wake = resolve));
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      const b = bytesOf(chunk);
      const pending = Number(lib.zig_h3_wt_stream_write(handle, b.byteLength ? b : null, b.byteLength, 0));
      if (pending < 0) throw new Error(`WebTransport stream write failed: ${lastError()}`);
      if (pending >= HIGH_WATER) await waitWritable();
    },
    close() {
      lib.zig_h3_wt_stream_write(handle, null, 0, 1);
      sideDone(streams, handle, "writing");
    },
    abort(reason) {
      lib.zig_h3_wt_stream_reset(handle, typeof reason === "number" ? reason : 0);
      // The reset abandons both sides: a reader of a bidirectional stream must not wait forever.
      state.incoming?.error(new DOMException("WebTransport stream reset (its writable side was aborted)", "AbortError"));
      sideDone(streams, handle, "writing");
      sideDone(streams, handle, "reading");
    },
  });
}

/** The server side of one WebTransport session. */
export class WTSession implements WTContext {
  readonly request: Request;
  readonly sessionId: bigint;
  readonly datagrams: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> };
  readonly incomingBidirectionalStreams: ReadableStream<WTBidirectionalStream>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  readonly ready: Promise<void>;
  readonly closed: Promise<WTCloseInfo>;
  /** Datagrams dropped because `datagrams.readable` was not read fast enough. */
  datagramsDropped = 0;

  #handle: Handle;
  #streams: StreamTable;
  #decided = false;
  #ended = false;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #resolveClosed!: (info: WTCloseInfo) => void;
  #dgrams!: ReadableStreamDefaultController<Uint8Array>;
  #bidi!: ReadableStreamDefaultController<WTBidirectionalStream>;
  #uni!: ReadableStreamDefaultController<ReadableStream<Uint8Array>>;
  #mine = new Set<number>();
  #exchange: Exchange;

  /** exchange is the CONNECT request's: its signal aborts when the session closes. */
  constructor(handle: Handle, request: Request, sessionId: bigint, streams: StreamTable, exchange: Exchange) {
    this.#handle = handle;
    this.#exchange = exchange;
    this.request = request;
    this.sessionId = sessionId;
    this.#streams = streams;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // a rejected session need not be awaited
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.datagrams = {
      readable: new ReadableStream<Uint8Array>(
        { start: (c) => void (this.#dgrams = c) },
        { highWaterMark: DATAGRAM_QUEUE },
      ),
      writable: new WritableStream<Uint8Array>({ write: (chunk) => this.sendDatagram(chunk) }),
    };
    this.incomingBidirectionalStreams = new ReadableStream({ start: (c) => void (this.#bidi = c) });
    this.incomingUnidirectionalStreams = new ReadableStream({ start: (c) => void (this.#uni = c) });
  }

  get decided(): boolean {
    return this.#decided;
  }

  accept(): void {
    if (this.#decided) throw new Error("WebTransport: the session was already accepted or rejected");
    this.#decided = true;
    if (native().zig_h3_wt_accept(this.#handle) !== Code.OK) throw new Error(`WebTransport accept: ${lastError()}`);
  }

  reject(status: number): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`reject: status must be 400-599, got ${status}`);
    }
    if (this.#decided) throw new Error("WebTransport: the session was already accepted or rejected");
    this.#decided = true;
    native().zig_h3_wt_reject(this.#handle, status);
    this.#rejectReady(new Error(`WebTransport session rejected with ${status}`));
  }

  get maxDatagramSize(): number {
    return datagramSize(native().zig_h3_wt_max_datagram_size(this.#handle));
  }

  sendDatagram(data: Uint8Array | string): void {
    sendDatagram(data, (payload, len) => native().zig_h3_wt_send_datagram(this.#handle, payload, len), () => this.maxDatagramSize);
  }

  close(closeCode = 0, reason = ""): void {
    if (!Number.isInteger(closeCode) || closeCode < 0 || closeCode > 0xffffffff) {
      throw new RangeError(`close: closeCode must be a 32-bit unsigned integer, got ${closeCode}`);
    }
    const r = Buffer.from(reason);
    native().zig_h3_wt_close(this.#handle, closeCode, r.byteLength ? r : null, r.byteLength);
  }

  async createBidirectionalStream(): Promise<WTBidirectionalStream> {
    await this.ready;
    const handle = this.#open(true);
    return this.#bidiStream(handle);
  }

  async createUnidirectionalStream(): Promise<WritableStream<Uint8Array>> {
    await this.ready;
    const handle = this.#open(false);
    const state: StreamState = { session: this, reading: false, writing: true };
    this.#register(handle, state);
    return writableStream(handle, state, this.#streams);
  }

  #open(bidi: boolean): number {
    const h = Number(native().zig_h3_wt_open_stream(this.#handle, bidi ? 1 : 0));
    if (h < 0) throw new Error(`WebTransport: opening a stream failed: ${lastError()}`);
    return h;
  }

  #register(handle: number, state: StreamState): void {
    this.#streams.set(handle, state);
    this.#mine.add(handle);
  }

  #incoming(handle: number, state: StreamState): IncomingStream {
    const lib = native();
    const incoming = new IncomingStream(
      (n) => lib.zig_h3_wt_stream_ack(handle, n),
      () => lib.zig_h3_wt_stream_stop_reading(handle, 0),
    );
    state.incoming = incoming;
    return incoming;
  }

  #bidiStream(handle: number): WTBidirectionalStream {
    const state: StreamState = { session: this, reading: true, writing: true };
    this.#register(handle, state);
    const readable = this.#incoming(handle, state).stream;
    return { readable, writable: writableStream(handle, state, this.#streams) };
  }

  // ---- events (called by the server) ----------------------------------------

  onReady(): void {
    this.#resolveReady();
  }

  onDatagram(data: Uint8Array): void {
    if (this.#ended) return;
    if ((this.#dgrams.desiredSize ?? 0) <= 0) {
      this.datagramsDropped++;
      return;
    }
    this.#dgrams.enqueue(data);
  }

  onStreamOpened(handle: number, bidi: boolean): void {
    if (this.#ended) return;
    if (bidi) {
      this.#bidi.enqueue(this.#bidiStream(handle));
      return;
    }
    const state: StreamState = { session: this, reading: true, writing: false };
    this.#register(handle, state);
    this.#uni.enqueue(this.#incoming(handle, state).stream);
  }

  /** The session ended: everything of it settles. */
  onClosed(closeCode: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const err = new DOMException(`WebTransport session closed (${closeCode}: ${reason})`, "AbortError");
    for (const c of [this.#dgrams, this.#bidi, this.#uni]) {
      try {
        c.close();
      } catch {
        /* already closed or errored */
      }
    }
    for (const handle of this.#mine) {
      const st = this.#streams.get(handle);
      st?.incoming?.error(err);
      st?.wake?.();
      this.#streams.delete(handle);
    }
    this.#mine.clear();
    this.#rejectReady(err);
    this.#exchange.abort(err);
    this.#resolveClosed({ closeCode, reason });
  }

  /** A stream of this session is done on both sides. */
  forget(handle: number): void {
    this.#mine.delete(handle);
  }
}
