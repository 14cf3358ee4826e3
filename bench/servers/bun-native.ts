/**
 * Benchmark server (c): Bun's own HTTP/3 server, Bun.serve({ tls, http3: true,
 * http1: false }), with the request/download/upload routes of bun-lib.ts
 * (no datagrams or WebTransport: Bun.serve has none).
 * Env: BENCH_CERT, BENCH_KEY, BENCH_FILE, BENCH_PORT (default 0).
 * Prints the UDP port on stdout when ready.
 */
import { bytesStream, env } from "./shared";

const FILE = env("BENCH_FILE");

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.BENCH_PORT ?? 0),
  tls: { cert: Bun.file(env("BENCH_CERT")), key: Bun.file(env("BENCH_KEY")) },
  http3: true,
  http1: false,
  routes: {
    "/small": { GET: () => new Response("hello") },
    "/static": new Response("hello"),
    "/echo-small": { POST: async (req) => new Response(await req.arrayBuffer()) },
    "/download": { GET: (req) => new Response(bytesStream(Number(new URL(req.url).searchParams.get("bytes") ?? 0))) },
    "/file": { GET: () => new Response(Bun.file(FILE)) },
    "/upload": {
      POST: async (req) => {
        let n = 0;
        for await (const c of req.body!) n += c.byteLength;
        return new Response(String(n));
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
} as Parameters<typeof Bun.serve>[0]);
console.log(server.port);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
