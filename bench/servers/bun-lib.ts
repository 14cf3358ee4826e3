/**
 * Benchmark server (a): this library with Bun handlers (createH3Server).
 * Routes: GET /small, GET /static (a static route), POST /echo-small, GET /download?bytes=N (a JS
 * ReadableStream), GET /file (Bun.file of $BENCH_FILE), POST /upload
 * (streaming route, answers the byte count), POST /dgram (HTTP/3 datagram
 * echo), CONNECT /wt (WebTransport: datagram and bidi stream echo), GET
 * /stats (server.getStats() as JSON).
 * Env: BENCH_CERT, BENCH_KEY (PEM paths), BENCH_FILE, BENCH_PORT (default 0).
 * Prints the UDP port on stdout when ready.
 */
import { createH3Server, type RouteDefinition, type WTContext } from "../../bun";
import { bytesStream, env } from "./shared";

const FILE = env("BENCH_FILE");

function wtEcho(ctx: WTContext): void {
  void (async () => {
    try {
      const w = ctx.datagrams.writable.getWriter();
      for await (const d of ctx.datagrams.readable) void w.write(d).catch(() => {});
    } catch {}
  })();
  void (async () => {
    try {
      for await (const { readable, writable } of ctx.incomingBidirectionalStreams) readable.pipeTo(writable).catch(() => {});
    } catch {}
  })();
}

const routes: RouteDefinition[] = [
  { method: "GET", pattern: "/small", fetch: () => new Response("hello") },
  { method: "GET", pattern: "/static", fetch: new Response("hello") }, // answered natively
  { method: "POST", pattern: "/echo-small", fetch: async (req) => new Response(await req.arrayBuffer()) },
  {
    method: "GET",
    pattern: "/download",
    fetch: (req) => new Response(bytesStream(Number(new URL(req.url).searchParams.get("bytes") ?? 0))),
  },
  { method: "GET", pattern: "/file", fetch: () => new Response(Bun.file(FILE)) },
  {
    method: "POST",
    pattern: "/upload",
    mode: "streaming",
    fetch: async (req) => {
      let n = 0;
      for await (const c of req.body!) n += c.byteLength;
      return new Response(String(n));
    },
  },
  {
    method: "POST",
    pattern: "/dgram",
    // The flow lasts while the response is open: until the client goes away.
    fetch: (req) => new Response(new ReadableStream({ start: (c) => req.signal.addEventListener("abort", () => c.close()) })),
    h3Datagram: (payload, ctx) => ctx.sendReply(payload),
  },
  { method: "CONNECT", pattern: "/wt", webtransport: wtEcho },
  // The server's counters, read by the runner at the end (leak check).
  { method: "GET", pattern: "/stats", fetch: () => Response.json(server.getStats()) },
];

const server = createH3Server({
  hostname: "127.0.0.1",
  port: Number(process.env.BENCH_PORT ?? 0),
  tls: { cert: Bun.file(env("BENCH_CERT")), key: Bun.file(env("BENCH_KEY")) },
  routes,
  webtransport: { allowedOrigins: ["*"] },
  onLog: (line) => console.error(line),
});
console.log(server.port);
process.on("SIGTERM", () => void server.stop(true).then(() => process.exit(0)));
