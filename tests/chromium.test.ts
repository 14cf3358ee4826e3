/**
 * A real browser as the client: headless Chromium fetches from our server
 * over HTTP/3 (QUIC forced on the server's origin, its certificate accepted
 * by SPKI hash). Fails, with the install command, when Chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createH3Server, type H3Server } from "../bun";
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

describe("Chromium", () => {
  let cert: TestCertificate;
  let server: H3Server;
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
    page = servePage(PAGE_HTML);
    launched = await launchBrowser({ quicOrigin: `127.0.0.1:${server.port}`, spkiHash: cert.spkiHashBase64 });
  }, 30_000);

  afterAll(async () => {
    await launched?.close();
    page?.stop();
    await server?.stop(true);
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

  test.todo("WebTransport echo from a page (needs server WebTransport)");
});
