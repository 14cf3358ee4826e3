/**
 * A real browser as the client: headless Chromium fetches from our server
 * over HTTP/3 (QUIC forced on the server's origin, its certificate accepted
 * by SPKI hash). Fails, with the install command, when Chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createH3Server, type H3Server, type WTContext } from "../bun";
import {
  launchBrowser,
  makeTestCertificate,
  runInPage,
  servePage,
  type LaunchedBrowser,
  type ServedPage,
  type TestCertificate,
} from "./browser";

const PAGE_HTML = "<!doctype html><meta charset=utf-8><title>h3 test page</title><p>h3 test page</p>";

interface FetchResult {
  status: number;
  text: string;
  protocol: string;
  secure: boolean;
}

/** The page globals used below (the tsconfig has no DOM lib). */
interface PageGlobals {
  isSecureContext: boolean;
  performance: { getEntriesByType(type: string): { name: string; nextHopProtocol: string }[] };
}

/** Runs in the page: fetches `url` and reads the protocol from the Resource Timing entry. */
async function fetchInPage(url: string): Promise<FetchResult> {
  const g = globalThis as unknown as PageGlobals;
  const res = await fetch(url, { cache: "no-store" });
  const text = await res.text();
  const entry = g.performance.getEntriesByType("resource").filter((e) => e.name === url).pop();
  return { status: res.status, text, protocol: entry?.nextHopProtocol ?? "(no entry)", secure: g.isSecureContext };
}

/** The server side of the browser test: echoes datagrams and streams. */
function echoSession(ctx: WTContext): void {
  void (async () => {
    for await (const d of ctx.datagrams.readable) ctx.sendDatagram(d);
  })();
  void (async () => {
    for await (const s of ctx.incomingBidirectionalStreams) void s.readable.pipeTo(s.writable).catch(() => {});
  })();
  void (async () => {
    for await (const r of ctx.incomingUnidirectionalStreams) void r.pipeTo(await ctx.createUnidirectionalStream()).catch(() => {});
  })();
}

/** Runs in the page (only its argument and page globals are available there). */
async function wtEchoInPage({ base, hash }: { base: string; hash: number[] }) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any; // no DOM lib in tsconfig
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const within = (p: Promise<unknown>, limit: number, what: string): Promise<any> =>
    Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: timed out`)), limit))]);
  const options = { serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(hash) }] };
  const readAll = async (readable: ReadableStream<Uint8Array>) => {
    const chunks: Uint8Array[] = [];
    let n = 0;
    const reader = readable.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.byteLength;
    }
    const all = new Uint8Array(n);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.byteLength;
    }
    return all;
  };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const out: Record<string, unknown> = {};

  const wt = new g.WebTransport(`${base}/wt/echo`, options);
  wt.closed.catch(() => {});
  await within(wt.ready, 5000, "ready");

  // Datagram echo: resend every 100 ms until the echo arrives (datagrams may be lost).
  const dgWriter = wt.datagrams.writable.getWriter();
  const dgReader = wt.datagrams.readable.getReader();
  const ping = new TextEncoder().encode("datagram ping");
  const first = dgReader.read();
  let dgBack: Uint8Array | undefined;
  for (let i = 0; i < 20 && !dgBack; i++) {
    await dgWriter.write(ping);
    const r = await Promise.race([first, new Promise<null>((res) => setTimeout(() => res(null), 100))]);
    if (r) dgBack = r.value;
  }
  if (!dgBack) throw new Error("no datagram echo");
  dgWriter.releaseLock();
  dgReader.releaseLock();
  out.datagram = text(dgBack);

  // 64 KiB bidirectional echo (reading starts before writing).
  const payload = new Uint8Array(64 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  const bidi = await within(wt.createBidirectionalStream(), 5000, "bidi");
  const writer = bidi.writable.getWriter();
  const echoed = readAll(bidi.readable);
  await writer.write(payload);
  await writer.close();
  const back = await within(echoed, 5000, "bidi echo");
  out.bidi = { received: back.byteLength, equal: back.length === payload.length && back.every((x: number, i: number) => x === payload[i]) };

  // Unidirectional: send (FIN), then read the server's unidirectional stream to its end.
  const uni = await within(wt.createUnidirectionalStream(), 5000, "uni");
  const uw = uni.getWriter();
  await uw.write(new TextEncoder().encode("uni hello"));
  await uw.close();
  const incoming = wt.incomingUnidirectionalStreams.getReader();
  const { value: serverUni } = await within(incoming.read(), 5000, "incoming uni");
  out.uni = text(await within(readAll(serverUni), 5000, "read uni"));
  incoming.releaseLock();

  wt.close({ closeCode: 0, reason: "done" });
  out.ownClose = await within(wt.closed, 5000, "own close");

  // Server-initiated close: closed resolves with the server's code and reason.
  const t = new g.WebTransport(`${base}/wt/close?code=4242&reason=bye%20from%20server`, options);
  await within(t.ready, 5000, "ready close");
  try {
    const info = await within(t.closed, 5000, "closed");
    out.serverClose = { closeCode: info.closeCode, reason: info.reason };
  } catch (e) {
    out.serverClose = { rejected: String(e) };
  }
  return out;
}

describe("Chromium", () => {
  let cert: TestCertificate;
  let server: H3Server;
  let wtServer: H3Server;
  let launched: LaunchedBrowser | undefined;
  let page: ServedPage | undefined;

  beforeAll(async () => {
    cert = makeTestCertificate();
    server = createH3Server({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: cert.certPem, key: cert.keyPem },
      routes: {
        // timing-allow-origin: without it a cross-origin Resource Timing entry hides nextHopProtocol ("").
        "/hello": {
          GET: new Response("hello h3", {
            headers: { "access-control-allow-origin": "*", "timing-allow-origin": "*" },
          }),
        },
        "/page": { GET: new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }) },
      },
    });
    wtServer = createH3Server({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: cert.certPem, key: cert.keyPem },
      routes: [
        // The page over TCP (HTTP/2): the same server serves it and its WebTransport sessions.
        { method: "GET", pattern: "/page", fetch: () => new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }) },
        { method: "CONNECT", pattern: "/wt/echo", webtransport: echoSession },
        {
          method: "CONNECT",
          pattern: "/wt/close",
          webtransport: async (ctx: WTContext) => {
            const q = new URL(ctx.request.url).searchParams;
            await ctx.ready;
            ctx.close(Number(q.get("code")), q.get("reason") ?? "");
          },
        },
      ],
    });
    page = servePage(PAGE_HTML);
    launched = await launchBrowser({ quicOrigin: `127.0.0.1:${server.port}`, spkiHash: cert.spkiHashBase64 });
  }, 30_000);

  afterAll(async () => {
    await launched?.close();
    page?.stop();
    await server?.stop(true);
    await wtServer?.stop(true);
  }, 15_000);

  test("the server presents the test certificate", () => {
    expect(server.developmentCertificate).toBe(false);
    expect(Buffer.from(server.certificateHash).toString("hex")).toBe(Buffer.from(cert.certHashBytes).toString("hex"));
  });

  test("cross-origin fetch over HTTP/3 from a plain-HTTP page", async () => {
    const url = new URL("/hello", server.url).href;
    const r = await runInPage(launched!.browser, page!.url, fetchInPage, url);
    expect(r).toEqual({ status: 200, text: "hello h3", protocol: "h3", secure: true });
  }, 30_000);

  test("page loaded over HTTP/3, then a same-origin fetch", async () => {
    const pageUrl = new URL("/page", server.url).href;
    const r = await runInPage(
      launched!.browser,
      pageUrl,
      async (url: string) => {
        const g = globalThis as unknown as PageGlobals;
        const nav = g.performance.getEntriesByType("navigation")[0];
        const res = await fetch(url, { cache: "no-store" });
        const text = await res.text();
        const entry = g.performance.getEntriesByType("resource").filter((e) => e.name === url).pop();
        return { page: nav?.nextHopProtocol, status: res.status, text, protocol: entry?.nextHopProtocol };
      },
      new URL("/hello", server.url).href,
    );
    expect(r).toEqual({ page: "h3", status: 200, text: "hello h3", protocol: "h3" });
  }, 30_000);

  test("WebTransport from a page: datagram, 64 KiB bidirectional and unidirectional echo, close codes both ways", async () => {
    const r = await runInPage(launched!.browser, page!.url, wtEchoInPage, {
      base: `https://127.0.0.1:${wtServer.port}`,
      hash: [...wtServer.certificateHash],
    });
    expect(r).toEqual({
      datagram: "datagram ping",
      bidi: { received: 65536, equal: true },
      uni: "uni hello",
      ownClose: { closeCode: 0, reason: "done" },
      serverClose: { closeCode: 4242, reason: "bye from server" },
    });
    expect(wtServer.getStats().sessionsActive).toBe(0);
  }, 30_000);

  test("a page served over HTTP/2 by the same server opens WebTransport to it", async () => {
    const pageUrl = `https://127.0.0.1:${wtServer.port}/page`;
    const nav = await runInPage(launched!.browser, pageUrl, () => {
      const g = globalThis as unknown as PageGlobals;
      return g.performance.getEntriesByType("navigation")[0]?.nextHopProtocol;
    }, undefined);
    expect(nav).toBe("h2");
    const r = await runInPage(launched!.browser, pageUrl, wtEchoInPage, {
      base: `https://127.0.0.1:${wtServer.port}`,
      hash: [...wtServer.certificateHash],
    });
    expect(r).toMatchObject({ datagram: "datagram ping", bidi: { received: 65536, equal: true }, uni: "uni hello" });
    expect(wtServer.getStats().requestsByProtocol.h2).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
