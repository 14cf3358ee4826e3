/**
 * Waiting for and decoding the native event queue (see "Event-queue mode"
 * in `include/zig_h3.h`, whose event structs give the offsets): the eventfd
 * doorbell is read through `Bun.file(fd).stream()`, which keeps the event
 * loop alive while waiting, and every wake drains whole batches with one
 * synchronous FFI call.
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

/** Receives decoded events. */
export interface EventSink {
  request(ev: RequestEvent): void;
  abort(id: Handle, timedOut: boolean): void;
  bodyChunk(id: Handle, data: Uint8Array): void;
  bodyEnd(id: Handle, trailers: [string, string][]): void;
  writable(id: Handle): void;
  session(ev: RequestEvent): void;
  sessionDatagram(session: Handle, data: Uint8Array): void;
  streamOpened(session: Handle, stream: number, bidi: boolean): void;
  streamData(stream: number, data: Uint8Array): void;
  streamEnd(stream: number, reset: boolean, code: number): void;
  sessionClosed(session: Handle, code: number, reason: string): void;
  sessionReady(session: Handle): void;
  quicDatagram(conn: Handle, connectionIdHex: string, remoteAddress: string, data: Uint8Array): void;
  h3Datagram(id: Handle, data: Uint8Array): void;
  log(level: number, line: string): void;
  /** A warning of the wrapper: what failed and the error. */
  warn(what: string, err: unknown): void;
  stopped(): void;
}

const INITIAL_BUFFER = 256 * 1024;

/** Reads events of one server until `close()`. */
export class EventReader {
  #server: Handle;
  #sink: EventSink;
  #buf = Buffer.allocUnsafe(INITIAL_BUFFER);
  #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  #reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
  #loop: Promise<void> | undefined;

  constructor(server: Handle, sink: EventSink) {
    this.#server = server;
    this.#sink = sink;
  }

  /** Starts waiting on the server's event fd. */
  start(): void {
    const fd = native().zig_h3_server_event_fd(this.#server);
    if (fd < 0) throw new Error(`zig-h3: event queue: ${lastError()}`);
    const reader = Bun.file(fd).stream().getReader() as ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
    this.#reader = reader;
    this.#loop = (async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done) return;
        this.drain();
      }
    })();
  }

  /** Drains and dispatches every queued event. */
  drain(): void {
    const lib = native();
    for (;;) {
      const n = lib.zig_h3_server_drain(this.#server, this.#buf, this.#buf.byteLength);
      if (n === 0) return;
      if (n === Code.BUFFER_TOO_SMALL) {
        this.#grow(Number(lib.zig_h3_server_event_size(this.#server)));
        continue;
      }
      if (n < 0) return; // the server is gone
      this.#dispatch(Number(n));
    }
  }

  /** Stops waiting. The fd stays open (Bun reads a duplicate of it); the server closes it when freed. */
  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    if (!reader) return;
    await reader.cancel();
    await this.#loop;
  }

  #grow(need: number): void {
    let size = this.#buf.byteLength;
    while (size < need) size *= 2;
    this.#buf = Buffer.allocUnsafe(size);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
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
        sink.request(this.#decodeRequest(off));
        break;
      case EventType.SESSION:
        sink.session(this.#decodeRequest(off));
        break;
      case EventType.SESSION_DATAGRAM:
        sink.sessionDatagram(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.STREAM_OPENED:
        sink.streamOpened(
          asHandle(readU64(view, off + STREAM_OPENED.session)),
          readU64(view, off + STREAM_OPENED.stream),
          view.getUint32(off + STREAM_OPENED.bidi, true) === 1,
        );
        break;
      case EventType.STREAM_DATA:
        sink.streamData(readU64(view, off + BYTES.handle), this.#bytes(off));
        break;
      case EventType.STREAM_END:
        sink.streamEnd(
          readU64(view, off + STREAM_END.stream),
          view.getUint32(off + STREAM_END.reset, true) === 1,
          view.getUint32(off + STREAM_END.code, true),
        );
        break;
      case EventType.SESSION_CLOSED: {
        const len = view.getUint32(off + SESSION_CLOSED.reason_len, true);
        const start = off + SESSION_CLOSED.data;
        sink.sessionClosed(
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
        sink.quicDatagram(asHandle(readU64(view, off + QUIC_DATAGRAM.conn)), hex, remote, new Uint8Array(buf.subarray(start, start + len)));
        break;
      }
      case EventType.SESSION_READY:
        sink.sessionReady(asHandle(readU64(view, off + HANDLE.handle)));
        break;
      case EventType.H3_DATAGRAM:
        sink.h3Datagram(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.ABORT:
        sink.abort(asHandle(readU64(view, off + ABORT.handle)), view.getUint32(off + ABORT.reason, true) === 1);
        break;
      case EventType.LOG: {
        const lineLen = view.getUint32(off + LOG.length, true);
        sink.log(view.getUint32(off + LOG.level, true), buf.toString("utf8", off + LOG.data, off + LOG.data + lineLen));
        break;
      }
      case EventType.STOPPED:
        sink.stopped();
        break;
      case EventType.BODY_CHUNK:
        sink.bodyChunk(asHandle(readU64(view, off + BYTES.handle)), this.#bytes(off));
        break;
      case EventType.BODY_END: {
        const len = view.getUint32(off + BODY_END.trailers_len, true);
        const n = view.getUint16(off + BODY_END.trailers, true);
        const parts = buf.toString("latin1", off + BODY_END.data, off + BODY_END.data + len).split("\0");
        const trailers: [string, string][] = [];
        for (let i = 0; i < n; i++) trailers.push([parts[2 * i], parts[2 * i + 1]]);
        sink.bodyEnd(asHandle(readU64(view, off + BODY_END.handle)), trailers);
        break;
      }
      case EventType.WRITABLE:
        sink.writable(asHandle(readU64(view, off + HANDLE.handle)));
        break;
    }
  }

  /** The bytes of a zig_h3_event_bytes event, copied. */
  #bytes(off: number): Uint8Array {
    const len = this.#view.getUint32(off + BYTES.length, true);
    return new Uint8Array(this.#buf.subarray(off + BYTES.data, off + BYTES.data + len));
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
      body: bodyLen > 0 ? new Uint8Array(buf.subarray(bodyStart, bodyStart + bodyLen)) : null,
    };
  }
}

/** Reads a u64 that is known to be below 2^53. */
function readU64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * 2 ** 32;
}
