/**
 * What server and client WebTransport sessions share: the W3C-shaped
 * session (datagrams, incoming streams, `createBidirectionalStream()`,
 * `createUnidirectionalStream()`, `ready`, `closed`), its streams as WHATWG
 * streams with backpressure both ways (writes pause at the native high-water
 * mark; reads return credit in the 256 KiB window of `zig_h3_wt_stream_ack`),
 * and the table that routes session and stream events to them. The native
 * `zig_h3_wt_*` functions work on both sides' sessions.
 * @module
 */
import { HIGH_WATER, lastError, native, type Handle } from "./ffi";
import { bytesOf, datagramSize, sendDatagram } from "./datagram";
import { IncomingStream } from "./request";

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

/** A session's datagrams, as W3C `WebTransportDatagramDuplexStream`. */
export interface WTDatagrams {
  /** Datagrams the peer sent (the last 256 unread are kept; older ones are dropped). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Datagrams to send; a write waits until the session is ready and fails with a RangeError when too large. */
  readonly writable: WritableStream<Uint8Array>;
  /** Largest datagram payload sendable now (0 before the session is ready). */
  readonly maxDatagramSize: number;
}

/** Per-stream state the event table routes events to. */
export interface StreamState {
  incoming?: IncomingStream;
  wake?: () => void;
  session: WTSessionBase;
  /** Sides still open; the entry goes when both are done. */
  reading: boolean;
  writing: boolean;
}

/** Streams by native handle. */
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

/** Checks a close code and reason and returns them as the native call takes them. */
export function closeArgs(closeCode: number, reason: string): [number, Buffer | null, number] {
  if (!Number.isInteger(closeCode) || closeCode < 0 || closeCode > 0xffffffff) {
    throw new RangeError(`close: closeCode must be a 32-bit unsigned integer, got ${closeCode}`);
  }
  const r = Buffer.from(reason);
  return [closeCode, r.byteLength ? r : null, r.byteLength];
}

/**
 * A WebTransport session of either side on a native session handle: the
 * server's (bun/webtransport.ts) or the client's (bun/wtclient.ts).
 */
export abstract class WTSessionBase {
  readonly datagrams: WTDatagrams;
  readonly incomingBidirectionalStreams: ReadableStream<WTBidirectionalStream>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  /** Resolves when the session is established; rejects if it is refused or closes first. */
  readonly ready: Promise<void>;
  /** Settles when the session ends, with the close code and reason (either side). */
  readonly closed: Promise<WTCloseInfo>;
  /** Datagrams dropped because `datagrams.readable` was not read fast enough. */
  datagramsDropped = 0;

  /** The native session, once known (a client opens it after connecting). */
  protected handle: Handle | undefined;
  #table: SessionTable;
  #ended = false;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #resolveClosed!: (info: WTCloseInfo) => void;
  #rejectClosed!: (err: Error) => void;
  #dgrams!: ReadableStreamDefaultController<Uint8Array>;
  #bidi!: ReadableStreamDefaultController<WTBidirectionalStream>;
  #uni!: ReadableStreamDefaultController<ReadableStream<Uint8Array>>;
  #mine = new Set<number>();

  constructor(table: SessionTable, handle?: Handle) {
    this.#table = table;
    this.handle = handle;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // a refused session need not be awaited
    this.closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {});
    const self = this;
    this.datagrams = {
      readable: new ReadableStream<Uint8Array>({ start: (c) => void (this.#dgrams = c) }, { highWaterMark: DATAGRAM_QUEUE }),
      writable: new WritableStream<Uint8Array>({
        write: async (chunk) => {
          await this.ready;
          this.sendDatagram(chunk);
        },
      }),
      get maxDatagramSize() {
        return self.maxDatagramSize;
      },
    };
    this.incomingBidirectionalStreams = new ReadableStream({ start: (c) => void (this.#bidi = c) });
    this.incomingUnidirectionalStreams = new ReadableStream({ start: (c) => void (this.#uni = c) });
  }

  /** Largest datagram payload sendable now (0 before the session is ready). */
  get maxDatagramSize(): number {
    return this.handle === undefined ? 0 : datagramSize(native().zig_h3_wt_max_datagram_size(this.handle));
  }

  /** Sends a datagram (once `ready`); throws a RangeError naming the maximum when too large. */
  sendDatagram(data: Uint8Array | string): void {
    const handle = this.handle;
    if (handle === undefined) throw new Error("WebTransport: the session is not ready");
    sendDatagram(data, (payload, len) => native().zig_h3_wt_send_datagram(handle, payload, len), () => this.maxDatagramSize);
  }

  /**
   * Closes the session; the peer sees the code and reason. Takes W3C's
   * `{ closeCode, reason }` or the two as arguments.
   * @example
   * session.close({ closeCode: 42, reason: "bye" });
   * session.close(42, "bye");
   */
  close(closeInfo?: number | Partial<WTCloseInfo>, reason = ""): void {
    const info = typeof closeInfo === "object" && closeInfo !== null ? closeInfo : { closeCode: closeInfo, reason };
    const args = closeArgs(info.closeCode ?? 0, info.reason ?? "");
    if (this.handle !== undefined) native().zig_h3_wt_close(this.handle, ...args);
  }

  /**
   * Opens a bidirectional stream to the peer (once `ready`).
   * @example
   * const { readable, writable } = await session.createBidirectionalStream();
   */
  async createBidirectionalStream(): Promise<WTBidirectionalStream> {
    await this.ready;
    return this.#bidiStream(this.#open(true));
  }

  /** Opens a unidirectional stream to the peer (once `ready`). */
  async createUnidirectionalStream(): Promise<WritableStream<Uint8Array>> {
    await this.ready;
    const handle = this.#open(false);
    const state: StreamState = { session: this, reading: false, writing: true };
    this.#register(handle, state);
    return writableStream(handle, state, this.#table.streams);
  }

  #open(bidi: boolean): number {
    if (this.#ended || this.handle === undefined) throw new Error("WebTransport: the session is closed");
    const h = Number(native().zig_h3_wt_open_stream(this.handle, bidi ? 1 : 0));
    if (h < 0) throw new Error(`WebTransport: opening a stream failed: ${lastError()}`);
    return h;
  }

  #register(handle: number, state: StreamState): void {
    this.#table.streams.set(handle, state);
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
    return { readable, writable: writableStream(handle, state, this.#table.streams) };
  }

  // ---- events (routed by the SessionTable) ------------------------------------

  onReady(): void {
    this.#resolveReady();
  }

  /** The session will not be established (rejected): ready rejects now, closed settles at the close event. */
  protected failReady(err: Error): void {
    this.#rejectReady(err);
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

  /**
   * The session ended: everything of it settles. With `failure`, `closed`
   * rejects with it (a session that was never established, or a connection
   * lost); otherwise it resolves with the code and reason.
   */
  onClosed(closeCode: number, reason: string, failure?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    const err = failure ?? new DOMException(`WebTransport session closed (${closeCode}: ${reason})`, "AbortError");
    for (const c of [this.#dgrams, this.#bidi, this.#uni]) {
      try {
        if (failure) c.error(failure);
        else c.close();
      } catch {
        /* already closed or errored */
      }
    }
    for (const handle of this.#mine) {
      const st = this.#table.streams.get(handle);
      st?.incoming?.error(err);
      st?.wake?.();
      this.#table.streams.delete(handle);
    }
    this.#mine.clear();
    this.#rejectReady(err);
    if (failure) this.#rejectClosed(failure);
    else this.#resolveClosed({ closeCode, reason });
  }

  /** Whether the session has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** A stream of this session is done on both sides. */
  forget(handle: number): void {
    this.#mine.delete(handle);
  }
}

/**
 * The sessions and streams of one event queue (a server's, or a client
 * connection's), routing their events.
 */
export class SessionTable {
  readonly sessions = new Map<Handle, WTSessionBase>();
  readonly streams: StreamTable = new Map();
  #droppedOfClosed = 0;

  add(handle: Handle, session: WTSessionBase): void {
    this.sessions.set(handle, session);
  }

  /** Datagrams dropped by every session, open or closed. */
  get datagramsDropped(): number {
    let n = this.#droppedOfClosed;
    for (const s of this.sessions.values()) n += s.datagramsDropped;
    return n;
  }

  ready(id: Handle): void {
    this.sessions.get(id)?.onReady();
  }

  datagram(id: Handle, data: Uint8Array): void {
    this.sessions.get(id)?.onDatagram(data);
  }

  streamOpened(id: Handle, stream: number, bidi: boolean): void {
    const session = this.sessions.get(id);
    if (session === undefined) native().zig_h3_wt_stream_reset(stream, 0);
    else session.onStreamOpened(stream, bidi);
  }

  streamData(stream: number, data: Uint8Array): void {
    this.streams.get(stream)?.incoming?.chunk(data);
  }

  streamEnd(stream: number, reset: boolean, code: number): void {
    const st = this.streams.get(stream);
    if (st?.incoming === undefined) return;
    if (reset) st.incoming.error(new DOMException(`WebTransport stream reset by the peer (code ${code})`, "AbortError"));
    else st.incoming.end();
    sideDone(this.streams, stream, "reading");
  }

  /** A stream's writable event; false if id is not a stream of this table. */
  writable(id: number): boolean {
    const st = this.streams.get(id);
    if (st === undefined) return false;
    st.wake?.();
    return true;
  }

  closed(id: Handle, code: number, reason: string, failure?: Error): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.#droppedOfClosed += session.datagramsDropped;
    session.onClosed(code, reason, failure);
  }

  /** Every session ends (the server stopped, the connection closed). */
  closeAll(code: number, reason: string, failure?: Error): void {
    for (const id of [...this.sessions.keys()]) this.closed(id, code, reason, failure);
    this.streams.clear();
  }
}
