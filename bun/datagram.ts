/**
 * Datagram contexts: raw QUIC datagrams (connection-scoped) and HTTP/3
 * datagrams (RFC 9297, scoped to one request).
 * @module
 */
import { Code, lastError, native, type Handle } from "./ffi";

/** A payload as bytes: strings as UTF-8. */
export function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}

/** A native max_datagram_size result as a size (0: none). */
export function datagramSize(nativeSize: number): number {
  return Math.max(0, nativeSize);
}

/**
 * Sends one datagram (QUIC, HTTP/3 or WebTransport): `send` is the native
 * call, given the payload (null when empty) and its length. Throws a
 * RangeError naming `maxSize()` when the payload is too large, an Error for
 * any other failure.
 */
export function sendDatagram(
  data: Uint8Array | string,
  send: (payload: Uint8Array | null, len: number) => number,
  maxSize: () => number,
): void {
  const b = bytesOf(data);
  const rc = send(b.byteLength ? b : null, b.byteLength);
  if (rc === Code.OK) return;
  if (rc === Code.TOO_LARGE) {
    throw new RangeError(`datagram of ${b.byteLength} bytes is larger than the ${maxSize()} bytes the path allows now`);
  }
  throw new Error(`zig-h3: sending a datagram failed: ${lastError()}`);
}

/** Context of a raw QUIC datagram (see {@link H3ServeOptions.quicDatagram}). */
export interface QUICDatagramContext {
  /** The connection's id (8 bytes), as in requests' connection ids. */
  readonly connectionId: Uint8Array;
  /** connectionId in hex. */
  readonly connectionIdHex: string;
  /** The peer's address, "ip:port". */
  readonly remoteAddress: string;
  /** Largest payload the connection can send now (0: none). */
  readonly maxDatagramSize: number;
  /**
   * Sends a datagram back on the same connection. Throws a RangeError
   * naming the maximum when data is too large, an Error if the connection is gone.
   * @example
   * quicDatagram(payload, ctx) { ctx.sendReply(payload); }
   */
  sendReply(data: Uint8Array | string): void;
}

/** Context of an HTTP/3 datagram (see {@link RouteDefinition.h3Datagram}). */
export interface H3DatagramContext {
  /** The QUIC stream id of the request that carries the flow. */
  readonly streamId: bigint;
  /** The flow id: the quarter stream id (streamId / 4), as on the wire (RFC 9297). */
  readonly flowId: bigint;
  /** The request that established the flow. */
  readonly request: Request;
  /** Largest payload the flow can send now (0: none). */
  readonly maxDatagramSize: number;
  /**
   * Sends an HTTP/3 datagram on the same request stream. Throws a RangeError
   * naming the maximum when too large, an Error when the flow is over.
   */
  sendReply(data: Uint8Array | string): void;
}

export class QUICDatagramContextImpl implements QUICDatagramContext {
  readonly connectionIdHex: string;
  readonly remoteAddress: string;
  #server: Handle;
  #conn: Handle;

  constructor(server: Handle, conn: Handle, connectionIdHex: string, remoteAddress: string) {
    this.#server = server;
    this.#conn = conn;
    this.connectionIdHex = connectionIdHex;
    this.remoteAddress = remoteAddress;
  }

  get connectionId(): Uint8Array {
    return new Uint8Array(Buffer.from(this.connectionIdHex, "hex"));
  }

  get maxDatagramSize(): number {
    return datagramSize(native().zig_h3_server_max_datagram_size(this.#server, this.#conn));
  }

  sendReply(data: Uint8Array | string): void {
    sendDatagram(
      data,
      (payload, len) => native().zig_h3_server_send_quic_datagram(this.#server, this.#conn, payload, len),
      () => this.maxDatagramSize,
    );
  }
}

export class H3DatagramContextImpl implements H3DatagramContext {
  readonly streamId: bigint;
  readonly request: Request;
  #id: Handle;

  constructor(id: Handle, streamId: bigint, request: Request) {
    this.#id = id;
    this.streamId = streamId;
    this.request = request;
  }

  get flowId(): bigint {
    return this.streamId / 4n;
  }

  get maxDatagramSize(): number {
    return datagramSize(native().zig_h3_response_max_datagram_size(this.#id));
  }

  sendReply(data: Uint8Array | string): void {
    sendDatagram(data, (payload, len) => native().zig_h3_response_send_h3_datagram(this.#id, payload, len), () => this.maxDatagramSize);
  }
}
