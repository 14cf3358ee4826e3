/**
 * A WebTransport chat you can open in a browser: `node_modules/.bin/bun run
 * examples/chat.ts` (after `make` and `npm ci`), then open https://127.0.0.1:4433/ in Chrome or
 * Chromium in two tabs. One server does it all: the page comes over TCP
 * (HTTP/2), and the page connects back to the same origin with WebTransport
 * (HTTP/3), pinning the certificate with serverCertificateHashes. With the
 * development certificate the browser warns once about the page
 * ("Advanced", then "Proceed"); give your own with CERT and KEY (PEM paths,
 * e.g. from mkcert) to avoid that.
 *
 * Each page opens one bidirectional stream and writes lines on it; the
 * server sends every line to every page. Datagrams measure the round trip.
 */
import { createH3Server, type WTContext } from "../bun";

const PORT = Number(process.env.PORT ?? 4433);
const tls = process.env.CERT && process.env.KEY ? { certPath: process.env.CERT, keyPath: process.env.KEY } : {};
const writers = new Set<WritableStreamDefaultWriter<Uint8Array>>();
const encoder = new TextEncoder();

function broadcast(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (const w of writers) w.write(bytes).catch(() => writers.delete(w));
}

async function session(ctx: WTContext): Promise<void> {
  ctx.accept();
  await ctx.ready;
  // Datagrams: echoed, for the page's round-trip display.
  void (async () => {
    for await (const d of ctx.datagrams.readable) ctx.sendDatagram(d);
  })();
  for await (const { readable, writable } of ctx.incomingBidirectionalStreams) {
    const writer = writable.getWriter();
    writers.add(writer);
    broadcast(`* someone joined (${writers.size} here)`);
    void (async () => {
      let pending = "";
      const decoder = new TextDecoder();
      try {
        for await (const chunk of readable) {
          pending += decoder.decode(chunk, { stream: true });
          for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
            broadcast(pending.slice(0, i).slice(0, 500));
            pending = pending.slice(i + 1);
          }
        }
      } catch {
        /* the page went away */
      }
      writers.delete(writer);
      broadcast(`* someone left (${writers.size} here)`);
    })();
  }
}

const server = createH3Server({
  hostname: "127.0.0.1",
  port: PORT,
  ...tls,
  routes: [
    { method: "GET", pattern: "/", fetch: () => new Response(page(), { headers: { "content-type": "text/html; charset=utf-8" } }) },
    { method: "CONNECT", pattern: "/chat", webtransport: session },
  ],
});
const hash = JSON.stringify([...server.certificateHash]);

const page = () => `<!doctype html><meta charset=utf-8><title>WebTransport chat</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}#log{white-space:pre-wrap;border:1px solid #ccc;height:20em;overflow:auto;padding:.5em}</style>
<h1>WebTransport chat</h1><p id=status>connecting…</p><div id=log></div>
<form id=f><input id=msg autocomplete=off size=50 autofocus> <button>Send</button></form>
<script type=module>
const log = (t) => { const el = document.getElementById("log"); el.textContent += t + "\\n"; el.scrollTop = 1e9; };
const status = document.getElementById("status");
const wt = new WebTransport("/chat",
  { serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(${hash}) }] });
await wt.ready;
status.textContent = "connected over WebTransport (HTTP/3)";
wt.closed.then((i) => status.textContent = "closed: " + i.reason, (e) => status.textContent = "lost: " + e);
const { readable, writable } = await wt.createBidirectionalStream();
const writer = writable.getWriter();
document.getElementById("f").onsubmit = (e) => { e.preventDefault(); const m = document.getElementById("msg");
  if (m.value) writer.write(new TextEncoder().encode(m.value + "\\n")); m.value = ""; };
(async () => { for await (const t of readable.pipeThrough(new TextDecoderStream())) log(t.trimEnd()); })();
const dg = wt.datagrams.writable.getWriter(), dr = wt.datagrams.readable.getReader();
setInterval(async () => { const t0 = performance.now(); await dg.write(new Uint8Array(8));
  const { value } = await dr.read(); if (value) status.textContent = "connected, datagram round trip " + (performance.now() - t0).toFixed(1) + " ms"; }, 2000);
</script>`;

console.log(`WebTransport chat: open ${server.url} in Chrome or Chromium (two tabs to chat).`);
if (server.developmentCertificate) console.log("The development certificate is not trusted by the browser: accept its warning once for the page.");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    await server.stop(true);
    process.exit(0);
  });
}
