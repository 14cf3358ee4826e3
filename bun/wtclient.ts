/**
 * The client side of WebTransport, shaped like the W3C `WebTransport`
 * object (as the server's sessions are, see bun/session.ts, which both
 * share): one QUIC connection (one native client) per session.
 * @module
 */
import { cString, lastError, native, type Handle } from "./ffi";
import { certificateHashes, resolveTLS, secondsToMs, type CertificateHash, type H3TLSOptions } from "./clientoptions";
import { ClientConnection } from "./connection";
import { WTSessionBase, closeArgs, type WTCloseInfo } from "./session";

/**
 * Options of {@link WebTransport}: W3C's `WebTransportOptions` (those that
 * apply) and the library's TLS options.
 * @example
 * new WebTransport("https://127.0.0.1:4433/wt", {
 *   serverCertificateHashes: [{ algorithm: "sha-256", value: server.certificateHash }],
 * });
 */
export interface WebTransportOptions {
  /**
   * Accept exactly these certificates, by the SHA-256 of their DER, instead
   * of verifying a chain (W3C: the certificate must be valid 14 days at
   * most; not enforced here).
   * @default undefined (the chain is verified against the system's roots, or `tls.ca`)
   */
  serverCertificateHashes?: CertificateHash[];
  /**
   * `rejectUnauthorized` and `ca` as for `h3Fetch` (an extension of the
   * W3C options).
   * @default {}
   */
  tls?: Pick<H3TLSOptions, "rejectUnauthorized" | "ca">;
  /**
   * Seconds the connection may take to be established (handshake included).
   * @default 10
   */
  connectTimeout?: number;
  /** Accepted for W3C compatibility; each session has a connection of its own. @default false */
  allowPooling?: boolean;
  /** Accepted for W3C compatibility (datagrams are always available). @default false */
  requireUnreliable?: boolean;
  /** Accepted for W3C compatibility; ignored. @default "default" */
  congestionControl?: "default" | "throughput" | "low-latency";
}

/**
 * Why a session failed, as W3C's `WebTransportError`: `source` is
 * "session"; `status` is the server's HTTP answer when it refused the
 * session (0 when there was none).
 */
export class WebTransportError extends Error {
  readonly source: "session" | "stream";
  readonly streamErrorCode: number | null = null;
  /** The server's HTTP status when it refused the session, else 0. */
  readonly status: number;

  constructor(message: string, status = 0) {
    super(message);
    this.name = "WebTransportError";
    this.source = "session";
    this.status = status;
  }
}

/**
 * A WebTransport session to a server, as the W3C object: `ready`, `closed`
 * (resolves with `{ closeCode, reason }`; rejects with a WebTransportError
 * when the session could not be opened or the connection was lost),
 * `close({ closeCode, reason })`, `datagrams`, `createBidirectionalStream()`,
 * `createUnidirectionalStream()`, `incomingBidirectionalStreams`,
 * `incomingUnidirectionalStreams`. Streams keep at most 256 KiB unread
 * (the rest waits in QUIC flow control). An open session keeps the process
 * alive; close it.
 * @example
 * const wt = new WebTransport("https://127.0.0.1:4433/wt", {
 *   serverCertificateHashes: [{ algorithm: "sha-256", value: hash }],
 * });
 * await wt.ready;
 * const writer = wt.datagrams.writable.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * const { value } = await wt.datagrams.readable.getReader().read();
 * wt.close({ closeCode: 0, reason: "done" });
 * console.log(await wt.closed);
 */
export class WebTransport extends WTSessionBase {
  #conn: ClientConnection;
  #established = false;
  #closing: Partial<WTCloseInfo> | undefined;

  constructor(url: string | URL, options: WebTransportOptions = {}) {
    const target = new URL(String(url));
    if (target.protocol !== "https:") throw new SyntaxError(`WebTransport needs an https: URL, got ${target.protocol}`);
    if (target.hash !== "") throw new SyntaxError("a WebTransport URL cannot have a fragment");
    const tls = resolveTLS(options.tls, "tls");
    if (options.serverCertificateHashes !== undefined && options.serverCertificateHashes.length > 0) {
      tls.verify = true;
      tls.hashes = certificateHashes(options.serverCertificateHashes, "serverCertificateHashes");
    }
    const connectMs = secondsToMs(options.connectTimeout, 10, "connectTimeout");
    const host = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
    const conn = new ClientConnection(
      { tls, datagrams: true, webtransport: true, idleTimeoutMs: 0, requestTimeoutMs: 0, connectTimeoutMs: connectMs },
      { host, port: Number(target.port || 443) },
    );
    super(conn.wt);
    this.#conn = conn;
    conn.ref();
    const path = target.pathname + target.search;
    conn.connected.then(
      () => this.#open(path),
      (err: Error) => this.onClosed(0, err.message, new WebTransportError(`WebTransport: the connection failed: ${err.message}`)),
    );
    void this.closed.then(
      () => this.#release(),
      () => this.#release(),
    );
  }

  /**
   * Closes the session with a code and reason the server sees (W3C:
   * `close({ closeCode, reason })`; the two as arguments work too).
   * Before the session is ready, the attempt is abandoned.
   */
  override close(closeInfo?: number | Partial<WTCloseInfo>, reason = ""): void {
    if (this.ended) return;
    const info = typeof closeInfo === "object" && closeInfo !== null ? closeInfo : { closeCode: closeInfo, reason };
    const args = closeArgs(info.closeCode ?? 0, info.reason ?? "");
    if (this.handle === undefined || !this.#established) {
      this.onClosed(0, "", new WebTransportError("WebTransport: closed before the session was established"));
      return;
    }
    this.#closing = { closeCode: args[0], reason: info.reason ?? "" };
    if (native().zig_h3_wt_close(this.handle, ...args) !== 0) this.onClosed(args[0], info.reason ?? "");
  }

  override onReady(): void {
    this.#established = true;
    super.onReady();
  }

  override onClosed(closeCode: number, reason: string, failure?: Error): void {
    if (this.ended) return;
    if (failure === undefined && !this.#established) {
      const status = closeCode;
      failure = new WebTransportError(
        status ? `WebTransport: the server refused the session (${status})` : `WebTransport: the session could not be opened${reason ? `: ${reason}` : ""}`,
        status,
      );
    }
    if (failure !== undefined && !(failure instanceof WebTransportError)) {
      failure = new WebTransportError(`WebTransport: the connection was lost: ${failure.message}`); // e.g. the server stopped
    }
    // A close this side asked for reports what was asked (the native event may carry no reason).
    const mine = this.#closing;
    super.onClosed(mine?.closeCode ?? closeCode, mine !== undefined ? (mine.reason ?? "") : reason, failure);
  }

  #open(path: string): void {
    if (this.ended) return;
    const p = cString(path);
    const handle = native().zig_h3_client_open_webtransport(this.#conn.handle, p, p.byteLength - 1, null, null);
    if (!handle) {
      this.onClosed(0, "", new WebTransportError(`WebTransport: opening the session failed: ${lastError()}`));
      return;
    }
    this.handle = handle as Handle;
    this.#conn.wt.add(this.handle, this);
  }

  /** The session is over: its connection goes (after a moment, so that the close reaches the server). */
  #release(): void {
    this.#conn.unref();
    const conn = this.#conn;
    setTimeout(() => void conn.close(), 50).unref();
  }
}
