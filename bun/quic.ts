/**
 * Raw QUIC connections with datagrams, in the shape of `Deno.connectQuic`:
 * a connection of an application protocol (ALPN) other than HTTP/3 that
 * carries QUIC datagrams (RFC 9221) only.
 * @module
 */
import { native } from "./ffi";
import { certificateHashes, resolveTLS, secondsToMs, type CertificateHash } from "./clientoptions";
import { ClientConnection } from "./connection";
import { closeArgs } from "./session";
import { bytesOf, datagramSize, sendDatagram } from "./datagram";

/**
 * Options of {@link connectQuic}, as `Deno.ConnectQuicOptions`.
 * @example
 * const conn = await connectQuic({ hostname: "127.0.0.1", port: 4433, alpnProtocols: ["my-proto"], caCerts: [certPem] });
 */
export interface ConnectQuicOptions {
  /** Host name or IP address of the server. */
  hostname: string;
  /** UDP port of the server. */
  port: number;
  /** Application protocols offered (ALPN), e.g. `["my-proto"]`; not "h3" (use h3Fetch or WebTransport). */
  alpnProtocols: string[];
  /**
   * TLS server name, to verify the certificate against and send as SNI.
   * @default hostname
   */
  serverName?: string;
  /**
   * PEM root certificates to verify the server's chain against instead of
   * the system's (a self-signed leaf may be its own root).
   * @default undefined (the system's roots)
   */
  caCerts?: string[];
  /**
   * Accept exactly these certificates, by the SHA-256 of their DER, instead
   * of verifying a chain.
   * @default undefined
   */
  serverCertificateHashes?: CertificateHash[];
  /**
   * Milliseconds without traffic after which the connection closes (as Deno).
   * @default 30000
   */
  maxIdleTimeout?: number;
  /**
   * Seconds the handshake may take.
   * @default 10
   */
  connectTimeout?: number;
}

/** How a QUIC connection ended, as `Deno.QuicCloseInfo`. */
export interface QuicCloseInfo {
  /** The application error code (0 when the connection ended without one, e.g. an idle timeout). */
  closeCode: number;
  reason: string;
}

/** A raw QUIC connection with datagrams (see {@link connectQuic}). */
export interface QuicConn {
  /** The application protocols offered (the server picked one of them). */
  readonly alpnProtocols: readonly string[];
  /** The server's address as given. */
  readonly remoteAddr: { hostname: string; port: number; transport: "quic" };
  /** The TLS server name used. */
  readonly serverName: string;
  /** Largest datagram payload sendable now (0 if the peer takes none). */
  readonly maxDatagramSize: number;
  /**
   * Sends a datagram (unreliable: it may be lost). Rejects with a
   * RangeError naming the maximum when too large, with an Error once the
   * connection is closed.
   */
  sendDatagram(data: Uint8Array): Promise<void>;
  /**
   * The next datagram received (the last 256 unread are kept; older ones
   * are dropped). Rejects once the connection is closed.
   */
  readDatagram(): Promise<Uint8Array>;
  /**
   * Closes the connection; the peer sees the code and reason.
   * @example
   * conn.close({ closeCode: 0, reason: "done" });
   */
  close(info?: Partial<QuicCloseInfo>): void;
  /** Resolves when the connection has ended, either side. */
  readonly closed: Promise<QuicCloseInfo>;
}

/** Unread datagrams kept. */
const DATAGRAM_QUEUE = 256;

class QuicConnImpl implements QuicConn {
  readonly alpnProtocols: readonly string[];
  readonly remoteAddr: { hostname: string; port: number; transport: "quic" };
  readonly serverName: string;
  readonly closed: Promise<QuicCloseInfo>;
  #conn: ClientConnection;
  #queue: Uint8Array[] = [];
  #readers: { resolve: (d: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  #ended: Error | undefined;
  #closing: QuicCloseInfo | undefined;

  constructor(conn: ClientConnection, options: ConnectQuicOptions) {
    this.#conn = conn;
    this.alpnProtocols = [...options.alpnProtocols];
    this.remoteAddr = { hostname: options.hostname, port: options.port, transport: "quic" };
    this.serverName = options.serverName ?? options.hostname;
    conn.onDatagram = (d) => this.#received(d);
    this.closed = conn.closed.then((end) => {
      this.#ended = new Error(`the QUIC connection is closed${end.message ? `: ${end.message}` : ""}`);
      for (const r of this.#readers.splice(0)) r.reject(this.#ended);
      conn.unref();
      void conn.free();
      return this.#closing ?? { closeCode: end.appCode, reason: end.appCode !== 0 || end.code !== 0 ? end.message : "" };
    });
  }

  get maxDatagramSize(): number {
    return datagramSize(native().zig_h3_client_max_datagram_size(this.#conn.handle));
  }

  async sendDatagram(data: Uint8Array): Promise<void> {
    if (this.#ended) throw this.#ended;
    sendDatagram(bytesOf(data), (payload, len) => native().zig_h3_client_send_datagram(this.#conn.handle, payload, len), () => this.maxDatagramSize);
  }

  readDatagram(): Promise<Uint8Array> {
    const d = this.#queue.shift();
    if (d !== undefined) return Promise.resolve(d);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  close(info: Partial<QuicCloseInfo> = {}): void {
    if (this.#ended || this.#closing) return;
    const [code] = closeArgs(info.closeCode ?? 0, info.reason ?? "");
    this.#closing = { closeCode: code, reason: info.reason ?? "" };
    void this.#conn.close(code, info.reason ?? "");
  }

  #received(d: Uint8Array): void {
    const r = this.#readers.shift();
    if (r !== undefined) return r.resolve(d);
    if (this.#queue.length >= DATAGRAM_QUEUE) this.#queue.shift();
    this.#queue.push(d);
  }
}

/**
 * Opens a raw QUIC connection (TLS 1.3, the given ALPN protocols) and
 * resolves once the handshake is done, as `Deno.connectQuic`; only
 * datagrams are carried (no streams). The open connection keeps the process
 * alive; close it.
 * @example
 * const conn = await connectQuic({ hostname: "127.0.0.1", port, alpnProtocols: ["echo"], serverCertificateHashes: [{ algorithm: "sha-256", value: hash }] });
 * await conn.sendDatagram(new TextEncoder().encode("ping"));
 * console.log(new TextDecoder().decode(await conn.readDatagram()));
 * conn.close({ closeCode: 0, reason: "done" });
 */
export async function connectQuic(options: ConnectQuicOptions): Promise<QuicConn> {
  if (options === null || typeof options !== "object") throw new TypeError("connectQuic: options must be an object");
  const { hostname, port, alpnProtocols } = options;
  if (typeof hostname !== "string" || hostname === "") throw new TypeError("connectQuic: hostname: expected a host name or address");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`connectQuic: port: expected 1-65535, got ${port}`);
  if (!Array.isArray(alpnProtocols) || alpnProtocols.length === 0 || alpnProtocols.some((p) => typeof p !== "string" || p === "")) {
    throw new TypeError("connectQuic: alpnProtocols: expected a non-empty array of protocol names");
  }
  const tls = resolveTLS({ ca: options.caCerts }, "caCerts");
  if (options.serverCertificateHashes !== undefined) tls.hashes = certificateHashes(options.serverCertificateHashes, "serverCertificateHashes");
  const idle = options.maxIdleTimeout ?? 30_000;
  if (!Number.isFinite(idle) || idle < 0 || idle > 0xffffffff) throw new RangeError(`connectQuic: maxIdleTimeout: expected milliseconds, got ${idle}`);
  const conn = new ClientConnection(
    {
      tls,
      alpn: [...alpnProtocols],
      datagrams: true,
      webtransport: false,
      idleTimeoutMs: Math.round(idle),
      requestTimeoutMs: 0,
      connectTimeoutMs: secondsToMs(options.connectTimeout, 10, "connectTimeout"),
    },
    { host: hostname.startsWith("[") ? hostname.slice(1, -1) : hostname, port, serverName: options.serverName },
  );
  conn.ref();
  try {
    await conn.connected;
  } catch (err) {
    conn.unref();
    void conn.free();
    throw err;
  }
  return new QuicConnImpl(conn, options);
}
