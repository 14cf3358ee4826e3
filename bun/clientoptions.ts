/**
 * Client options: TLS verification (`rejectUnauthorized`, `ca`,
 * `serverCertificateHashes`), checked and turned into the native client's
 * configuration struct (`zig_h3_client_config`) and its options JSON
 * (`zig_h3_client_set_options`).
 * @module
 */
import { ptr } from "bun:ffi";
import { lastError, native, type Handle } from "./ffi";

/**
 * A certificate hash to pin, as WebTransport's `serverCertificateHashes`:
 * the SHA-256 of the certificate's DER.
 * @example
 * { algorithm: "sha-256", value: server.certificateHash }
 */
export interface CertificateHash {
  algorithm: "sha-256";
  value: ArrayBuffer | ArrayBufferView;
}

/**
 * How a client checks the server's certificate. By default the chain is
 * verified against the system's roots and the name against the URL's host.
 * @example
 * // a development server's self-signed certificate
 * await h3Fetch("https://127.0.0.1:4433/", { tls: { ca: certPem } });
 * // or pinned by hash, as WebTransport does
 * await h3Fetch(url, { tls: { serverCertificateHashes: [{ algorithm: "sha-256", value: server.certificateHash }] } });
 */
export interface H3TLSOptions {
  /**
   * `false` accepts any certificate (for development only: anyone on the
   * path can then read and change the traffic); `ca` and
   * `serverCertificateHashes` are then ignored.
   * @default true
   */
  rejectUnauthorized?: boolean;
  /**
   * PEM root certificates to verify against instead of the system's (a
   * self-signed leaf may be its own root).
   * @default undefined (the system's roots)
   */
  ca?: string | string[];
  /**
   * Accept exactly these certificates, by the SHA-256 of their DER, instead
   * of verifying a chain (as WebTransport's option).
   * @default undefined (no pinning)
   */
  serverCertificateHashes?: CertificateHash[];
}

/** TLS options checked and reduced to what the native client takes. */
export interface ResolvedTLS {
  verify: boolean;
  ca?: string;
  hashes?: string[];
}

/** Everything a native client is made from. */
export interface NativeClientSpec {
  tls: ResolvedTLS;
  /** Raw QUIC protocols instead of "h3" (connectQuic). */
  alpn?: string[];
  datagrams: boolean;
  webtransport: boolean;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
}

/** The bytes of a BufferSource. */
export function bufferBytes(value: ArrayBuffer | ArrayBufferView, field: string): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${field}: expected an ArrayBuffer or a view of one`);
}

/** Checks TLS options (field names the option in messages). */
export function resolveTLS(tls: H3TLSOptions | undefined, field = "tls"): ResolvedTLS {
  if (tls === undefined) return { verify: true };
  if (tls === null || typeof tls !== "object") throw new TypeError(`${field}: expected an object`);
  const { rejectUnauthorized, ca, serverCertificateHashes } = tls;
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== "boolean") {
    throw new TypeError(`${field}.rejectUnauthorized: expected a boolean`);
  }
  const out: ResolvedTLS = { verify: rejectUnauthorized !== false };
  if (!out.verify) return out; // nothing is checked: ca and hashes do not apply
  if (ca !== undefined) {
    const list = Array.isArray(ca) ? ca : [ca];
    if (list.length === 0 || list.some((c) => typeof c !== "string" || !c.includes("-----BEGIN CERTIFICATE-----"))) {
      throw new TypeError(`${field}.ca: expected PEM certificate text or an array of it`);
    }
    out.ca = list.join("\n");
  }
  if (serverCertificateHashes !== undefined) out.hashes = certificateHashes(serverCertificateHashes, `${field}.serverCertificateHashes`);
  return out;
}

/** W3C serverCertificateHashes as hex SHA-256 digests (other algorithms are refused). */
export function certificateHashes(list: CertificateHash[], field: string): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${field}: expected a non-empty array`);
  return list.map((h, i) => {
    if (h === null || typeof h !== "object" || h.algorithm !== "sha-256") {
      throw new TypeError(`${field}[${i}]: expected { algorithm: "sha-256", value }`);
    }
    const bytes = bufferBytes(h.value, `${field}[${i}].value`);
    if (bytes.byteLength !== 32) throw new TypeError(`${field}[${i}].value: a SHA-256 digest has 32 bytes, got ${bytes.byteLength}`);
    return Buffer.from(bytes).toString("hex");
  });
}

/** A key telling apart connections that verify differently (pools are per origin and key). */
export function tlsKey(tls: ResolvedTLS): string {
  return `${tls.verify ? 1 : 0}|${tls.ca ?? ""}|${(tls.hashes ?? []).join(",")}`;
}

/** Checks a duration in seconds and returns it in milliseconds (0: the native default or none). */
export function secondsToMs(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 4_000_000) {
    throw new RangeError(`${field}: expected seconds >= 0, got ${value}`);
  }
  return Math.round(value * 1000);
}

/** The 16-byte zig_h3_client_config. */
function configStruct(spec: NativeClientSpec): Buffer {
  const b = Buffer.alloc(16);
  b[0] = spec.tls.verify ? 1 : 0;
  b[1] = spec.datagrams || spec.webtransport ? 1 : 0;
  b[2] = spec.webtransport ? 1 : 0;
  b[3] = 0;
  b.writeUInt32LE(spec.idleTimeoutMs, 4);
  b.writeUInt32LE(spec.requestTimeoutMs, 8);
  b.writeUInt32LE(spec.connectTimeoutMs, 12);
  return b;
}

/** Creates a native client (not connected yet). Throws TypeError with the native message on refusal. */
export function createNativeClient(spec: NativeClientSpec): Handle {
  const lib = native();
  const config = configStruct(spec);
  const handle = lib.zig_h3_client_new(ptr(config));
  if (!handle) throw new TypeError(`zig-h3 client: ${lastError()}`);
  const options: Record<string, unknown> = {};
  if (spec.tls.ca !== undefined) options.ca = spec.tls.ca;
  if (spec.tls.hashes !== undefined) options.serverCertificateHashes = spec.tls.hashes;
  if (spec.alpn !== undefined) options.alpn = spec.alpn;
  if (Object.keys(options).length > 0) {
    const json = Buffer.from(JSON.stringify(options));
    if (lib.zig_h3_client_set_options(handle, json, json.byteLength) !== 0) {
      const msg = lastError();
      lib.zig_h3_client_free(handle);
      throw new TypeError(`zig-h3 client options: ${msg}`);
    }
  }
  return handle as Handle;
}
