/**
 * fetch's arguments (`RequestInfo | URL` and `RequestInit`) checked and
 * reduced to what a request on a connection needs: URL, method, headers,
 * body (every BodyInit kind), signal and redirect mode.
 * @module
 */
import type { H3TLSOptions } from "./clientoptions";
import type { BodySource } from "./fetch";

/**
 * fetch's `RequestInit` plus per-request TLS options (which select a
 * connection of their own). `signal` aborts the request; `redirect`
 * "follow" (the default), "manual" or "error". Bodies are sent as they are
 * given (strings, buffers, Blobs, FormData, URLSearchParams and streams),
 * with backpressure. Without an accept-encoding of your own, gzip is asked
 * for and decoded (as fetch does); with one, the body is delivered as sent.
 * @example
 * await h3Fetch("https://127.0.0.1:4433/upload", {
 *   method: "POST",
 *   body: Bun.file("big.bin"),
 *   signal: AbortSignal.timeout(10_000),
 *   tls: { ca: certPem },
 * });
 */
export type H3RequestInit = RequestInit & { tls?: H3TLSOptions };

/** A request reduced to what is sent. */
export interface PreparedRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: BodySource;
  signal: AbortSignal | null;
  redirect: "follow" | "manual" | "error";
  tls: H3TLSOptions | undefined;
}

/** In-memory bodies up to this size are read at once (and can be sent again on a redirect). */
const IN_MEMORY_BLOB = 16 * 1024 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Fields HTTP/3 forbids (connection-specific) or carries as pseudo-headers. */
const NOT_SENT = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te"]);

/** Checks and normalizes a method as fetch does. */
export function normalizeMethod(method: string): string {
  if (typeof method !== "string" || !TOKEN.test(method)) throw new TypeError(`invalid method ${JSON.stringify(method)}`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`method ${upper} is not allowed`);
  return NORMALIZED.has(upper) ? upper : method;
}

/** Reduces fetch's arguments to a PreparedRequest (reading in-memory bodies). */
export async function prepareRequest(input: string | URL | Request, init: H3RequestInit = {}): Promise<PreparedRequest> {
  const base = input instanceof Request ? input : undefined;
  const url = new URL(base !== undefined ? base.url : String(input));
  if (url.protocol !== "https:") throw new TypeError(`HTTP/3 needs an https: URL, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "") throw new TypeError("a URL with credentials cannot be fetched");
  url.hash = "";
  const method = normalizeMethod(init.method ?? base?.method ?? "GET");
  const headers = new Headers(init.headers ?? base?.headers);
  const redirect = init.redirect ?? base?.redirect ?? "follow";
  if (redirect !== "follow" && redirect !== "manual" && redirect !== "error") throw new TypeError(`invalid redirect mode ${redirect}`);
  const signal = init.signal !== undefined ? init.signal : (base?.signal ?? null);
  const rawBody = init.body !== undefined ? init.body : (base?.body ?? null);
  if (rawBody !== null && (method === "GET" || method === "HEAD")) throw new TypeError(`a ${method} request cannot have a body`);
  signal?.throwIfAborted();
  const body = await bodySource(rawBody, headers);
  return { url, method, headers, body, signal, redirect, tls: init.tls };
}

/** The header fields to send: the forbidden ones left out, content-length set for bodies in memory. */
export function fieldsToSend(headers: Headers, body: BodySource): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    if (NOT_SENT.has(name) || (name === "content-length" && body?.bytes !== undefined)) continue;
    out.push([name, value]);
  }
  if (!headers.has("accept")) out.push(["accept", "*/*"]);
  if (body?.bytes !== undefined) out.push(["content-length", String(body.bytes.byteLength)]);
  return out;
}

/** Any BodyInit as bytes in memory or a stream; sets the content-type the body implies when none is set. */
async function bodySource(body: unknown, headers: Headers): Promise<BodySource> {
  const type = (t: string | null | undefined) => {
    if (t && !headers.has("content-type")) headers.set("content-type", t);
  };
  if (body === null || body === undefined) return null;
  if (typeof body === "string") {
    type("text/plain;charset=UTF-8");
    return { bytes: Buffer.from(body) };
  }
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)) };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
  if (body instanceof URLSearchParams) {
    type("application/x-www-form-urlencoded;charset=UTF-8");
    return { bytes: Buffer.from(body.toString()) };
  }
  if (body instanceof Blob) {
    type(body.type);
    return body.size <= IN_MEMORY_BLOB ? { bytes: await body.bytes() } : { stream: body.stream() };
  }
  if (body instanceof ReadableStream) return { stream: body };
  // FormData (multipart, with its boundary) and anything else Response takes (async iterables).
  const res = new Response(body as Bun.BodyInit);
  type(res.headers.get("content-type"));
  if (body instanceof FormData) return { bytes: await res.bytes() };
  return res.body === null ? null : { stream: res.body };
}
