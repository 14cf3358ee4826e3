/**
 * The error the client side rejects with when a request or a connection
 * fails below HTTP (unreachable, refused certificate, reset, timeout, lost
 * connection).
 * @module
 */
import { Code } from "./ffi";

const NAMES = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value as number, name]));

/** The name of a ZIG_H3_ERR_* code ("IO", "TIMEOUT", ...), "OK" for 0. */
export function codeName(code: number): string {
  return NAMES.get(code) ?? `ERROR_${code}`;
}

/**
 * A failed request or connection, as `fetch` fails: a TypeError, here with
 * the library's error code and the peer's application error code.
 * @example
 * try { await h3Fetch(url); } catch (e) { if (e instanceof H3Error && e.code === "TIMEOUT") retry(); }
 */
export class H3Error extends TypeError {
  /**
   * What failed, as the library's error names: "IO" (unreachable, handshake
   * or certificate refused), "TIMEOUT" (connect or request timeout),
   * "CLOSED" (the connection or client is gone), "INVALID_ARG", "STATE", ...
   * "OK" when the peer ended it normally (e.g. the connection closed by it).
   */
  readonly code: string;
  /** The peer's application error code when it reset the stream or closed the connection with one, else 0. */
  readonly appCode: number;

  constructor(message: string, code: string, appCode = 0) {
    super(message);
    this.name = code === "TIMEOUT" ? "TimeoutError" : "H3Error";
    this.code = code;
    this.appCode = appCode;
  }
}
