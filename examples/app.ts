/**
 * Example HTTP/3 server. Run it with `make run` (or, after `make` and
 * `npm ci`, `node_modules/.bin/bun run examples/app.ts`). PORT and HOST pick the address (default
 * 127.0.0.1:4433); CERT and KEY name PEM files (default: a development
 * certificate).
 */
import { createH3Server } from "../bun";

const started = Date.now();
const server = createH3Server({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 4433),
  certPath: process.env.CERT,
  keyPath: process.env.KEY,
  routes: {
    "/": new Response("Hello over HTTP/3!\n"),
    "/hello/:name": (req) => new Response(`Hello, ${req.params.name}!\n`),
    "/api/time": { GET: () => Response.json({ now: new Date().toISOString(), uptimeMs: Date.now() - started }) },
    "/api/echo": {
      POST: async (req) =>
        new Response(await req.arrayBuffer(), {
          headers: { "content-type": req.headers.get("content-type") ?? "application/octet-stream" },
        }),
    },
    "/api/stats": () => Response.json(server.getStats()),
  },
  fetch: (req) => new Response(`No route for ${new URL(req.url).pathname}\n`, { status: 404 }),
  error: (err) => new Response(`Something broke: ${err}\n`, { status: 500 }),
});

const hash = Buffer.from(server.certificateHash).toString("hex");
console.log(`HTTP/3 server listening on ${server.url}`);
console.log(`certificate sha-256: ${hash}${server.developmentCertificate ? " (development certificate)" : ""}`);
console.log(`try it:
  node_modules/.bin/bun -e 'const r = await fetch("${server.url}hello/bun", { protocol: "http3", tls: { rejectUnauthorized: false } }); console.log(r.status, await r.text())'
  build/h3client ${server.url}api/time
  curl -k ${server.url}hello/curl    (HTTP/2 over TCP, with alt-svc pointing at HTTP/3)
press Ctrl+C to stop.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    console.log("stopping...");
    await server.stop();
    process.exit(0);
  });
}
