/**
 * Waiting for and decoding a native event queue, a server's or a client's
 * (see "Event-queue mode" and "Client, event-queue mode" in
 * `include/zig_h3.h`, whose event structs give the offsets): the eventfd
 * doorbell is read through `Bun.file(fd).stream()`, which keeps the event
 * loop alive while waiting, and every wake drains whole batches with one
 * synchronous FFI call. A reader can pause (stop waiting, so that an idle
 * client does not keep the process alive) and resume.
 * @module
 */
import { asHandle, Code, EventLayout, EventType, Limit, lastError, native, type Handle } from "./ffi";

// Field offsets of the event structs (zig_h3_event_*), from the start of an event.
const {
  header: HEADER,
  request: REQUEST,
  abort: ABORT,
  log: LOG,
  bytes: BYTES,
  body_end: BODY_END,
  handle: HANDLE,
  stream_opened: STREAM_OPENED,
  stream_end: STREAM_END,
  session_closed: SESSION_CLOSED,
  quic_datagram: QUIC_DATAGRAM,
  fetch_head: FETCH_HEAD,
  error: ERROR,
} = EventLayout;
/** Hex digits of the connection id in a QUIC_DATAGRAM event. */
const CONN_ID_HEX = 2 * Limit.CONN_ID_LEN;
/** Strings at the start of a request head: method, path, authority, remote address, connection id. */
const HEAD_STRINGS = 5;

/** A request event, decoded. All strings are copies owned by JS. */
export interface RequestEvent {
  /** Response handle to answer with. */
  id: Handle;
  streamId: bigint;
  tag: number;
  method: string;
  path: string;
  authority: string;
  remoteAddress: string;
  connectionId: string;
  params: [string, string][];
  headers: [string, string][];
  /** Trailers of a buffered request. */
  trailers: [string, string][];
  body: Uint8Array | null;
}

/**
 * Receives decoded events. A server's sink takes the server events, a
 * client's the fetch and client events; both take the WebTransport ones.
 * Events a sink has no method for are dropped.
 */
export interface EventSink {
  /** A warning of the wrapper: what failed and the error. */
  warn(what: string, err: unknown): void;
  request?(ev: RequestEvent): void;
  abort?(id: Handle, timedOut: boolean): void;
  bodyChunk?(id: Handle, data: Uint8Array): void;
  bodyEnd?(id: Handle, trailers: [string, string][]): void;
  /** A response, a fetch or a WebTransport stream may be written again. */
  writable?(id: Handle): void;
  session?(ev: RequestEvent): void;
  sessionDatagram?(session: Handle, data: Uint8Array): void;
  streamOpened?(session: Handle, stream: number, bidi: boolean): void;
  streamData?(stream: number, data: Uint8Array): void;
  streamEnd?(stream: number, reset: boolean, code: number): void;
  sessionClosed?(session: Handle, code: number, reason: string): void;
  sessionReady?(session: Handle): void;
  quicDatagram?(conn: Handle, connectionIdHex: string, remoteAddress: string, data: Uint8Array): void;
  /** An HTTP/3 datagram of a server's response or of a client's fetch. */
  h3Datagram?(id: Handle, data: Uint8Array): void;
  log?(level: number, line: string): void;
  stopped?(): void;
  /** A fetch's response head (status and headers) and its request's stream id. */
  fetchHead?(fetch: number, status: number, headers: [string, string][], streamId: bigint): void;
  /** Response body bytes of a fetch (acknowledge them with zig_h3_fetch_ack). */
  fetchData?(fetch: number, data: Uint8Array): void;
  /** A fetch's response ended completely, with its trailers. */
  fetchEnd?(fetch: number, trailers: [string, string][]): void;
  /** A fetch failed: code is a ZIG_H3_ERR_* code, appCode the peer's application error code (or 0). */
  fetchError?(fetch: number, code: number, appCode: number, message: string): void;
  clientConnected?(client: Handle): void;
  /** The client's connection failed or ended (code 0: closed by this side). */
  clientClosed?(client: Handle, code: number, appCode: number, message: string): void;
  /** A client session ended without a close capsule (the connection lost, the CONNECT stream reset). */
  sessionAborted?(session: Handle, code: number, appCode: number, message: string): void;
}

/** The native calls of one event queue: a server's or a client's. */
export interface EventQueue {
  /** The queue's event fd (creating the queue). */
  fd(): number;
  /** Moves whole events into buf; returns the bytes written or a negative code. */
  drain(buf: Buffer, cap: number): number;
  /** Size of the oldest event. */
  eventSize(): number;
}

/** The event queue of a native server. */
export function serverQueue(server: Handle): EventQueue {
  const lib = native();
  return {
    fd: () => lib.zig_h3_server_event_fd(server),
    drain: (buf, cap) => Number(lib.zig_h3_server_drain(server, buf, cap)),
    eventSize: () => Number(lib.zig_h3_server_event_size(server)),
  };
}

/** The event queue of a native client. */
export function clientQueue(client: Handle): EventQueue {
  const lib = native();
  return {
    fd: () => lib.zig_h3_client_event_fd(client),
    drain: (buf, cap) => Number(lib.zig_h3_client_drain(client, buf, cap)),
    eventSize: () => Number(lib.zig_h3_client_event_size(client)),
  };
}

const INITIAL_BUFFER = 256 * 1024;
/** A client's reader starts small: most clients carry few events at a time. */
export const SMALL_BUFFER = 16 * 1024;

/** Reads the events of one queue until `close()`, dispatching them to a sink. */
export class EventReader {
  #queue: EventQueue;
  #sink: EventSink;
  #buf: Buffer;
  #view: DataView;
  /** #buf as a plain Uint8Array (see #copy). */
  #bytesView: Uint8Array;
  #fd = -1;
  #reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
  #loop: Promise<void> | undefined;
  #draining = false;
  /** A drain was asked for while one ran (see drain). */
  #again = false;
  #closed = false;

  constructor(queue: EventQueue, sink: EventSink, bufferSize = INITIAL_BUFFER) {
    this.#queue = queue;
    this.#sink = sink;
    this.#buf = Buffer.allocUnsafe(bufferSize);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
    this.#bytesView = new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /** Whether the reader waits on the fd now (and so keeps the event loop alive). */
  get waiting(): boolean {
    return this.#reader !== undefined;
  }

  /** Creates the queue (its fd) without waiting on it yet. Throws if it cannot be created. */
  open(): void {
    if (this.#fd >= 0) return;
    const fd = this.#queue.fd();
    if (fd < 0) throw new Error(`zig-h3: event queue: ${lastError()}`);
    this.#fd = fd;
  }

  /**
   * Starts (or resumes) waiting on the queue's event fd, after draining
   * what is queued: a doorbell read by a reader that was paused is lost, and
   * the queue rings again only once it was empty. Throws if the queue
   * cannot be created.
   */
  start(): void {
    if (this.#reader !== undefined || this.#closed) return;
    this.open();
    const reader = Bun.file(this.#fd).stream().getReader() as ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
    this.#reader = reader;
    const previous = this.#loop;
    this.#loop = (async () => {
      await previous;
      for (;;) {
        const { done } = await reader.read();
        if (done || this.#reader !== reader) return;
        this.drain(true);
      }
    })();
    this.drain();
  }

  /**
   * Stops waiting on the fd (the process may exit); events stay queued
   * until `start()` or `drain()`.
   */
  pause(): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.cancel().catch(() => {});
  }

  /**
   * Drains and dispatches the queued events: all of them, or with `once`
   * one bufferful (what a wake of the fd calls: the queue rings again for
   * events that did not fit, and each native call the JavaScript thread
   * saves is one fewer wait for the library's threads). A drain called from
   * an event handler returns at once, and the drain running goes on until
   * the queue is empty.
   */
  drain(once = false): void {
    if (this.#closed) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    try {
      for (;;) {
        this.#again = false;
        const n = this.#queue.drain(this.#buf, this.#buf.byteLength);
        if (n === 0) return;
        if (n === Code.BUFFER_TOO_SMALL) {
          this.#grow(this.#queue.eventSize());
          continue;
        }
        if (n < 0) return; // the server or client is gone
        this.#dispatch(n);
        if (once && !this.#again) return;
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Stops waiting for good. The fd stays open (Bun reads a duplicate of it);
   * the server or client closes it when freed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.pause();
    await this.#loop;
  }

  #grow(need: number): void {
    let size = this.#buf.byteLength;
    while (size < need) size *= 2;
    this.#buf = Buffer.allocUnsafe(size);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
    this.#bytesView = new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  #dispatch(n: number): void {
    const buf = this.#buf;
    const view = this.#view;
    for (let off = 0; off < n; ) {
      const len = view.getUint32(off + HEADER.length, true);
      try {
        this.#dispatchOne(buf, view, off);
      } catch (err) {
        // One event must never stop the others (or the wait loop).
        this.#sink.warn("event handling failed", err);
      }
      off += len;
    }
  }

  #dispatchOne(buf: Buffer, view: DataView, off: number): void {
    const sink = this.#sink;
    switch (buf[off + HEADER.type]) {
      case EventType.REQUEST:
        sink.request?.(this.#decodeRequest(off));
        break;
      case EventType.SESSION:
        sink.session?.(this.#decodeRequest(off));
        break;
      case EventType.SESSION_DATAGRAM:
        sink.sessionDatagram?.(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.STREAM_OPENED:
        sink.streamOpened?.(
          asHandle(readU64(view, off + STREAM_OPENED.session)),
          readU64(view, off + STREAM_OPENED.stream),
          view.getUint32(off + STREAM_OPENED.bidi, true) === 1,
        );
        break;
      case EventType.STREAM_DATA:
        sink.streamData?.(readU64(view, off + BYTES.handle), this.#bytes(off));
        break;
      case EventType.STREAM_END:
        sink.streamEnd?.(
          readU64(view, off + STREAM_END.stream),
          view.getUint32(off + STREAM_END.reset, true) === 1,
          view.getUint32(off + STREAM_END.code, true),
        );
        break;
      case EventType.SESSION_CLOSED: {
        const len = view.getUint32(off + SESSION_CLOSED.reason_len, true);
        const start = off + SESSION_CLOSED.data;
        sink.sessionClosed?.(
          asHandle(readU64(view, off + SESSION_CLOSED.session)),
          view.getUint32(off + SESSION_CLOSED.code, true),
          buf.toString("utf8", start, start + len),
        );
        break;
      }
      case EventType.QUIC_DATAGRAM: {
        const remoteLen = view.getUint32(off + QUIC_DATAGRAM.remote_len, true);
        const len = view.getUint32(off + QUIC_DATAGRAM.length, true);
        const remoteStart = off + QUIC_DATAGRAM.data;
        const hexStart = remoteStart + remoteLen;
        const start = hexStart + CONN_ID_HEX;
        const remote = buf.toString("latin1", remoteStart, hexStart);
        const hex = buf.toString("latin1", hexStart, start);
        sink.quicDatagram?.(asHandle(readU64(view, off + QUIC_DATAGRAM.conn)), hex, remote, this.#copy(start, start + len));
        break;
      }
      case EventType.SESSION_READY:
        sink.sessionReady?.(asHandle(readU64(view, off + HANDLE.handle)));
        break;
      case EventType.H3_DATAGRAM:
        sink.h3Datagram?.(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.ABORT:
        sink.abort?.(asHandle(readU64(view, off + ABORT.handle)), view.getUint32(off + ABORT.reason, true) === 1);
        break;
      case EventType.LOG: {
        const lineLen = view.getUint32(off + LOG.length, true);
        sink.log?.(view.getUint32(off + LOG.level, true), buf.toString("utf8", off + LOG.data, off + LOG.data + lineLen));
        break;
      }
      case EventType.STOPPED:
        sink.stopped?.();
        break;
      case EventType.BODY_CHUNK:
        sink.bodyChunk?.(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.BODY_END:
        sink.bodyEnd?.(asHandle(readU64(view, off + BODY_END.handle)), this.#trailers(off));
        break;
      case EventType.WRITABLE:
        sink.writable?.(asHandle(readU64(view, off + HANDLE.handle)));
        break;
      case EventType.FETCH_HEAD: {
        const len = view.getUint32(off + FETCH_HEAD.head_len, true);
        const start = off + FETCH_HEAD.data;
        sink.fetchHead?.(
          readU64(view, off + FETCH_HEAD.handle),
          view.getUint32(off + FETCH_HEAD.status, true),
          pairs(buf.toString("latin1", start, start + len), view.getUint16(off + FETCH_HEAD.headers, true)),
          view.getBigUint64(off + FETCH_HEAD.stream_id, true),
        );
        break;
      }
      case EventType.FETCH_DATA:
        sink.fetchData?.(readU64(view, off + BYTES.handle), this.#bytes(off));
        break;
      case EventType.FETCH_END:
        sink.fetchEnd?.(readU64(view, off + BODY_END.handle), this.#trailers(off));
        break;
      case EventType.FETCH_ERROR: {
        const [code, appCode, message] = this.#error(off);
        sink.fetchError?.(readU64(view, off + ERROR.handle), code, appCode, message);
        break;
      }
      case EventType.CLIENT_CONNECTED:
        sink.clientConnected?.(asHandle(readU64(view, off + HANDLE.handle)));
        break;
      case EventType.CLIENT_CLOSED: {
        const [code, appCode, message] = this.#error(off);
        sink.clientClosed?.(asHandle(readU64(view, off + ERROR.handle)), code, appCode, message);
        break;
      }
      case EventType.SESSION_ABORTED: {
        const [code, appCode, message] = this.#error(off);
        sink.sessionAborted?.(asHandle(readU64(view, off + ERROR.handle)), code, appCode, message);
        break;
      }
    }
  }

  /** The trailers of a zig_h3_event_body_end event (BODY_END, FETCH_END). */
  #trailers(off: number): [string, string][] {
    const len = this.#view.getUint32(off + BODY_END.trailers_len, true);
    const n = this.#view.getUint16(off + BODY_END.trailers, true);
    return pairs(this.#buf.toString("latin1", off + BODY_END.data, off + BODY_END.data + len), n);
  }

  /** Code, application code and message of a zig_h3_event_error event. */
  #error(off: number): [number, number, string] {
    const view = this.#view;
    const len = view.getUint32(off + ERROR.message_len, true);
    const start = off + ERROR.data;
    return [view.getInt32(off + ERROR.code, true), view.getUint32(off + ERROR.app_code, true), this.#buf.toString("utf8", start, start + len)];
  }

  /**
   * A copy of bytes start to end of the drain buffer, as a plain
   * Uint8Array: slicing a Uint8Array view costs a tenth of
   * `new Uint8Array(buf.subarray(...))` for a datagram's 100 bytes.
   */
  #copy(start: number, end: number): Uint8Array {
    return this.#bytesView.slice(start, end);
  }

  /** The bytes of a zig_h3_event_bytes event, copied. */
  #bytes(off: number): Uint8Array {
    const len = this.#view.getUint32(off + BYTES.length, true);
    return this.#copy(off + BYTES.data, off + BYTES.data + len);
  }

  #decodeRequest(off: number): RequestEvent {
    const buf = this.#buf;
    const view = this.#view;
    const headLen = view.getUint32(off + REQUEST.head_len, true);
    const bodyLen = view.getUint32(off + REQUEST.body_len, true);
    const nParams = view.getUint16(off + REQUEST.params, true);
    const nHeaders = view.getUint16(off + REQUEST.headers, true);
    const nTrailers = view.getUint16(off + REQUEST.trailers, true);
    const headStart = off + REQUEST.data;
    const parts = buf.toString("latin1", headStart, headStart + headLen).split("\0");
    const params: [string, string][] = new Array(nParams);
    let i = HEAD_STRINGS;
    for (let p = 0; p < nParams; p++, i += 2) params[p] = [parts[i], parts[i + 1]];
    const headers: [string, string][] = new Array(nHeaders);
    for (let h = 0; h < nHeaders; h++, i += 2) headers[h] = [parts[i], parts[i + 1]];
    const trailers: [string, string][] = new Array(nTrailers);
    for (let t = 0; t < nTrailers; t++, i += 2) trailers[t] = [parts[i], parts[i + 1]];
    const bodyStart = headStart + headLen;
    return {
      id: asHandle(readU64(view, off + REQUEST.handle)),
      streamId: view.getBigUint64(off + REQUEST.stream_id, true),
      tag: view.getUint32(off + REQUEST.tag, true),
      method: parts[0],
      path: parts[1],
      authority: parts[2],
      remoteAddress: parts[3],
      connectionId: parts[4],
      params,
      headers,
      trailers,
      // A copy: the drain buffer is reused by the next drain.
      body: bodyLen > 0 ? this.#copy(bodyStart, bodyStart + bodyLen) : null,
    };
  }
}

/** Reads a u64 that is known to be below 2^53. */
function readU64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * 2 ** 32;
}

/** The first n name/value pairs of "name\0value\0..." text. */
function pairs(text: string, n: number): [string, string][] {
  const parts = text.split("\0");
  const out: [string, string][] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = [parts[2 * i], parts[2 * i + 1]];
  return out;
}
