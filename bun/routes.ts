/**
 * Turning the `routes` option (array or object form) into the native routing
 * table (JSON, see `zig_h3_server_set_event_routes`) and a table of handlers
 * indexed by the tag each request event carries. Pattern syntax and
 * precedence are checked by the native router, which is the only router.
 * @module
 */
import type { H3Handler, H3ReloadOptions, RouteDefinition, RoutesObject } from "./types";
import type { H3DatagramContext } from "./datagram";
import type { WTContext } from "./webtransport";
import { bodyKind, hasTrailers, staticHead, wholeFilePath, type BodyKind } from "./response";

/** What runs for one tag: a handler or a static Response, how its body arrives, and its datagram or session handler. */
export interface Route {
  target: H3Handler | Response | undefined;
  streaming: boolean;
  /** A static Response answered by the native side (see staticRoute); its requests never reach JS. */
  static?: StaticSpec;
  /** What backs a static Response's body, read once (see bodyKind). */
  kind?: BodyKind;
  h3Datagram?: (payload: Uint8Array, ctx: H3DatagramContext) => void;
  webtransport?: (ctx: WTContext) => void | Promise<void>;
}

/** The "static" object of a route in the native routing table. */
interface StaticSpec {
  status: number;
  /** The head fields in base64 (see staticHead). */
  head: string;
  /** The body in base64 (in-memory bodies). */
  body?: string;
  /** The file sent at each request (file bodies). */
  file?: string;
}

/** A routing table ready for the native side. */
export interface RouteTable {
  /** JSON for `zig_h3_server_set_event_routes`. */
  spec: string;
  /** Routes by tag: tag = firstTag + index. */
  routes: Route[];
  firstTag: number;
}

const STREAMING = Symbol("zig-h3 streaming handler");

/**
 * Marks a handler as streaming, for the object form of `routes`: it is
 * called as soon as the request head arrives and `req.body` streams the
 * body as it arrives, with backpressure (like `mode: "streaming"`).
 * @example
 * routes: { "/upload": { POST: streaming(async (req) => new Response(await sha256(req.body!))) } }
 */
export function streaming<T extends H3Handler>(handler: T): T {
  if (typeof handler !== "function") throw new TypeError("streaming: expected a handler function");
  const marked = ((req, server) => handler(req, server)) as T;
  Object.defineProperty(marked, STREAMING, { value: true });
  return marked;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkMethod(method: unknown, where: string): string {
  if (typeof method !== "string" || (method !== "*" && !TOKEN.test(method))) {
    throw new TypeError(`${where}: method must be an HTTP method name or "*", got ${JSON.stringify(method)}`);
  }
  return method;
}

function checkPattern(pattern: unknown, where: string): string {
  if (typeof pattern !== "string" || !pattern.startsWith("/")) {
    throw new TypeError(`${where}: pattern must be a string starting with "/", got ${JSON.stringify(pattern)}`);
  }
  return pattern;
}

function fromValue(value: unknown, where: string): Route {
  if (value instanceof Response) {
    try {
      return staticRoute(value);
    } catch (err) {
      throw new TypeError(`${where}: the static Response cannot be read: ${err}`);
    }
  }
  if (typeof value === "function") {
    return { target: value as H3Handler, streaming: (value as { [STREAMING]?: boolean })[STREAMING] === true };
  }
  throw new TypeError(`${where}: expected a handler function or a Response, got ${typeof value}`);
}

/**
 * The route of a static Response. One with no trailers whose body is in
 * memory (or empty), or a whole file, is answered by the native side
 * without a round trip to JS, as Bun.serve serves static routes: an
 * in-memory body is read once here, a file at each request (with Range and
 * conditional requests). An in-memory 200 gets an ETag (a hash of the body)
 * unless it has its own, and a GET or HEAD whose If-None-Match names the
 * ETag gets 304. Streams, file slices and trailers are sent by JS at each
 * request.
 */
function staticRoute(res: Response): Route {
  const kind = bodyKind(res);
  const route: Route = { target: res, streaming: false, kind };
  if (hasTrailers(res) || res.status < 200 || res.status > 599) return route;
  if (kind === "stream" && res.body !== null) return route;
  const blob = Bun.peek(res.clone().blob());
  if (!(blob instanceof Blob)) return route;
  const headers = new Headers(res.headers);
  const spec: StaticSpec = { status: res.status, head: "" };
  if (kind === "file") {
    spec.file = wholeFilePath(blob);
    if (spec.file === undefined) return route; // a slice or a descriptor
  } else {
    const body = Bun.peek(blob.bytes());
    if (!(body instanceof Uint8Array)) return route;
    if (res.status === 200 && !headers.has("etag")) headers.set("etag", `"${Bun.hash(body).toString(16)}"`);
    spec.body = Buffer.from(body).toString("base64");
  }
  spec.head = staticHead(headers, blob).toString("base64");
  route.static = spec;
  return route;
}

type Entry = [method: string, pattern: string, route: Route];

function fromArray(routes: RouteDefinition[]): Entry[] {
  const out: Entry[] = [];
  routes.forEach((r, i) => {
    const where = `routes[${i}]`;
    if (r === null || typeof r !== "object") throw new TypeError(`${where}: expected a route object`);
    const method = checkMethod(r.method, `${where}.method`);
    const pattern = checkPattern(r.pattern, `${where}.pattern`);
    if (r.mode !== undefined && r.mode !== "buffered" && r.mode !== "streaming") {
      throw new TypeError(`${where}.mode: expected "buffered" or "streaming", got ${JSON.stringify(r.mode)}`);
    }
    if (r.h3Datagram !== undefined && typeof r.h3Datagram !== "function") {
      throw new TypeError(`${where}.h3Datagram: expected a function`);
    }
    if (r.webtransport !== undefined && typeof r.webtransport !== "function") {
      throw new TypeError(`${where}.webtransport: expected a function`);
    }
    if (r.fetch instanceof Response) {
      if (r.h3Datagram !== undefined || r.webtransport !== undefined || r.mode === "streaming") {
        throw new TypeError(`${where}.fetch: a static Response cannot answer a streaming, h3Datagram or webtransport route`);
      }
      out.push([method, pattern, fromValue(r.fetch, `${where}.fetch`)]);
      return;
    }
    if (r.fetch !== undefined && typeof r.fetch !== "function") {
      throw new TypeError(`${where}.fetch: expected a handler function or a static Response`);
    }
    if (r.h3Datagram !== undefined && r.fetch === undefined) {
      throw new TypeError(`${where}.fetch: a route with h3Datagram needs fetch to answer the request carrying the flow`);
    }
    if (r.fetch === undefined && r.webtransport === undefined) {
      throw new TypeError(`${where}.fetch: expected a handler function (or a webtransport handler)`);
    }
    // An h3Datagram route streams its body: the client keeps the request open while datagrams flow.
    const streaming = r.mode === "streaming" || r.h3Datagram !== undefined;
    if (r.webtransport !== undefined) {
      // Sessions are Extended CONNECT requests; other CONNECTs of the path go to fetch.
      const connectFetch = method === "CONNECT" || method === "*" ? r.fetch : undefined;
      out.push(["CONNECT", pattern, { target: connectFetch, streaming: true, webtransport: r.webtransport }]);
      if (method === "CONNECT" || r.fetch === undefined) return;
    }
    out.push([method, pattern, { target: r.fetch, streaming, h3Datagram: r.h3Datagram }]);
  });
  return out;
}

function fromObject(routes: RoutesObject): Entry[] {
  const out: Entry[] = [];
  for (const [pattern, value] of Object.entries(routes)) {
    const where = `routes[${JSON.stringify(pattern)}]`;
    checkPattern(pattern, where);
    if (typeof value === "function" || value instanceof Response) {
      out.push(["*", pattern, fromValue(value, where)]);
      continue;
    }
    if (value === null || typeof value !== "object") {
      throw new TypeError(`${where}: expected a handler, a Response or an object of methods`);
    }
    for (const [method, target] of Object.entries(value)) {
      out.push([checkMethod(method, `${where}.${method}`), pattern, fromValue(target, `${where}.${method}`)]);
    }
  }
  return out;
}

/**
 * Builds a routing table from routes and fallback. Tags start at firstTag so
 * that events queued before a reload never reach a handler of the new table.
 */
export function buildRouteTable(options: H3ReloadOptions, firstTag: number): RouteTable {
  const { routes, fetch } = options;
  if (fetch !== undefined && typeof fetch !== "function") throw new TypeError("fetch: expected a handler function");
  if (options.error !== undefined && typeof options.error !== "function") {
    throw new TypeError("error: expected a function");
  }
  let list: Entry[] = [];
  if (Array.isArray(routes)) list = fromArray(routes);
  else if (routes !== undefined && routes !== null) {
    if (typeof routes !== "object") throw new TypeError("routes: expected an array of routes or an object");
    list = fromObject(routes as RoutesObject);
  }
  if (list.length === 0 && fetch === undefined) {
    throw new TypeError("createH3Server needs a fetch handler or at least one route");
  }
  const table: Route[] = list.map(([, , route]) => route);
  let fallback: number | null = null;
  if (fetch !== undefined) {
    fallback = firstTag + table.length;
    table.push(fromValue(fetch, "fetch"));
  }
  const spec = JSON.stringify({
    routes: list.map(([method, pattern, route], i) => ({
      method,
      pattern,
      tag: firstTag + i,
      streaming: route.streaming,
      datagrams: route.h3Datagram !== undefined,
      webtransport: route.webtransport !== undefined,
      static: route.static,
    })),
    fallback,
    fallbackStreaming: fallback !== null && table[table.length - 1].streaming,
  });
  return { spec, routes: table, firstTag };
}
