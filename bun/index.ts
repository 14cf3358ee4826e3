/**
 * zig-h3 for Bun: an HTTP/3 server with `Request`/`Response` handlers, in
 * the spirit of `Bun.serve`, on a quic-go core loaded through `bun:ffi`.
 *
 * @example
 * import { createH3Server } from "./bun";
 * const server = createH3Server({
 *   port: 4433,
 *   routes: { "/hello/:name": (req) => new Response(`hello ${req.params.name}`) },
 *   fetch: () => new Response("not found", { status: 404 }),
 * });
 * console.log(`listening on ${server.url}`);
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
export type { WTBidirectionalStream, WTCloseInfo, WTContext } from "./webtransport";
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
