/**
 * zig-h3 for Bun: an HTTP/3 server with `Request`/`Response` handlers, in
 * the spirit of `Bun.serve`, and an HTTP/3 client (`h3Fetch`, `H3Client`,
 * `WebTransport`, `connectQuic`), on a quic-go core loaded through `bun:ffi`.
 *
 * @example
 * import { createH3Server, h3Fetch } from "./bun";
 * const server = createH3Server({
 *   port: 4433,
 *   routes: { "/hello/:name": (req) => new Response(`hello ${req.params.name}`) },
 *   fetch: () => new Response("not found", { status: 404 }),
 * });
 * console.log(`listening on ${server.url}`);
 * const hash = { algorithm: "sha-256" as const, value: server.certificateHash };
 * const res = await h3Fetch(new URL("/hello/bun", server.url), { tls: { serverCertificateHashes: [hash] } });
 * console.log(await res.text()); // hello bun
 * @module
 */
import { native } from "./ffi";
import { H3ServerImpl } from "./server";
import type { H3ServeOptions, H3Server } from "./types";

export type {
  H3Handler,
  H3ReloadOptions,
  H3Request,
  H3ServeOptions,
  H3Server,
  PemSource,
  RouteDefinition,
  RouteMode,
  RoutesObject,
  RouteValue,
  ServerStats,
  SocketAddress,
} from "./types";
export type { H3DatagramContext, QUICDatagramContext } from "./datagram";
export type { WTBidirectionalStream, WTCloseInfo, WTContext, WTDatagrams } from "./webtransport";
export type { CertificateHash, H3TLSOptions } from "./clientoptions";
export type { H3RequestInit } from "./clientrequest";
export type { H3Response } from "./fetch";
export type { H3ClientOptions, H3DatagramFlow } from "./client";
export type { WebTransportOptions } from "./wtclient";
export type { ConnectQuicOptions, QuicCloseInfo, QuicConn } from "./quic";
export { H3Client, h3Fetch } from "./client";
export { H3Error } from "./errors";
export { WebTransport, WebTransportError } from "./wtclient";
export { connectQuic } from "./quic";
export { libraryPath } from "./ffi";
export { streaming } from "./routes";
export { withTrailers } from "./response";

/**
 * Creates and starts an HTTP/3 server. Throws `RangeError` for an invalid
 * port or size, `TypeError` for invalid routes, methods, patterns, handlers
 * or certificates; the message names the field.
 * @example
 * const server = createH3Server({ fetch: () => new Response("hi") });
 * const res = await fetch(server.url, { protocol: "http3", tls: { rejectUnauthorized: false } } as RequestInit);
 * await server.stop();
 */
export function createH3Server(options: H3ServeOptions): H3Server {
  return new H3ServerImpl(options);
}

/** The native library's version string. */
export function version(): string {
  return String(native().zig_h3_version());
}
