/** Handler failures and invalid options. */
import { describe, expect, test } from "bun:test";
import { createH3Server } from "../bun";
import { h3fetch, serve } from "./helpers";

describe("handler errors", () => {
  test("a throwing or rejecting handler goes to error(); other requests are unaffected", async () => {
    const seen: string[] = [];
    await using server = serve({
      routes: {
        "/throw": () => { throw new Error("sync boom"); },
        "/reject": async () => { throw new Error("async boom"); },
        "/ok": () => new Response("fine"),
        "/not-a-response": () => "oops" as unknown as Response,
      },
      error: (err) => {
        seen.push(String((err as Error).message));
        return new Response(`error: ${(err as Error).message}`, { status: 502 });
      },
    });
    const u = (p: string) => new URL(p, server.url);
    const results = await Promise.all(["/throw", "/ok", "/reject", "/ok", "/not-a-response"].map(async (p) => {
      const r = await h3fetch(u(p));
      return `${r.status} ${await r.text()}`;
    }));
    expect(results).toEqual(["502 error: sync boom", "200 fine", "502 error: async boom", "200 fine", expect.stringMatching(/^502 error: handler returned string/)]);
    expect(seen).toHaveLength(3);
    expect(seen).toContain("sync boom");
    expect(seen).toContain("async boom");
    expect(seen).toContain("handler returned string, expected a Response");
  });

  test("a throwing error handler, or none, gives 500", async () => {
    const origError = console.error;
    console.error = () => {};
    try {
      await using failing = serve({
        fetch: () => { throw new Error("first"); },
        error: () => { throw new Error("second"); },
      });
      const r1 = await h3fetch(failing.url);
      expect(r1.status).toBe(500);
      expect(await r1.text()).toBe("Internal Server Error\n");
      await using none = serve({ fetch: async () => { throw new Error("x"); } });
      expect((await h3fetch(none.url)).status).toBe(500);
      expect(none.getStats().requests).toBe(1);
    } finally {
      console.error = origError;
    }
  });
});

describe("invalid options throw at construction, naming the field", () => {
  const ok = () => new Response("");
  const cases: [string, unknown, ErrorConstructor | RangeErrorConstructor, RegExp][] = [
    ["port too big", { port: 70000, fetch: ok }, RangeError, /port/],
    ["negative port", { port: -1, fetch: ok }, RangeError, /port/],
    ["fractional port", { port: 1.5, fetch: ok }, RangeError, /port/],
    ["body size", { maxRequestBodySize: -5, fetch: ok }, RangeError, /maxRequestBodySize/],
    ["no handler at all", {}, TypeError, /fetch handler or at least one route/],
    ["fetch not a function", { fetch: "nope" }, TypeError, /fetch/],
    ["bad method", { routes: [{ method: "GE T", pattern: "/", fetch: ok }] }, TypeError, /routes\[0\]\.method/],
    ["bad pattern", { routes: [{ method: "GET", pattern: "x", fetch: ok }] }, TypeError, /routes\[0\]\.pattern/],
    ["wildcard in the middle", { routes: [{ method: "GET", pattern: "/a/*/b", fetch: ok }] }, TypeError, /routes:.*\/a\/\*\/b/],
    ["duplicate route", { routes: [{ method: "GET", pattern: "/a", fetch: ok }, { method: "GET", pattern: "/a", fetch: ok }] }, TypeError, /twice/],
    ["bad mode", { routes: [{ method: "GET", pattern: "/", mode: "fast", fetch: ok }] }, TypeError, /routes\[0\]\.mode/],
    ["missing route handler", { routes: [{ method: "GET", pattern: "/" }] }, TypeError, /routes\[0\]\.fetch/],
    ["bad object route", { routes: { "/x": 42 } }, TypeError, /routes\["\/x"\]/],
    ["bad object method", { routes: { "/x": { "G ET": ok } } }, TypeError, /method/],
    ["bad hostname", { hostname: "not an ip", fetch: ok }, TypeError, /bind address/],
    ["half a certificate", { certPath: "/tmp/x.pem", fetch: ok }, TypeError, /certPath and keyPath/],
    ["missing certificate file", { certPath: "/nonexistent/c.pem", keyPath: "/nonexistent/k.pem", fetch: ok }, TypeError, /certificate/],
    ["bad PEM", { tls: { cert: "not pem", key: "not pem" }, fetch: ok }, TypeError, /certificate/],
    ["bad log level", { logLevel: "loud", fetch: ok }, RangeError, /logLevel/],
    ["error not a function", { fetch: ok, error: 1 }, TypeError, /error/],
  ];
  for (const [name, options, type, message] of cases) {
    test(name, () => {
      expect(() => createH3Server({ hostname: "127.0.0.1", ...(options as object) })).toThrow(type);
      expect(() => createH3Server({ hostname: "127.0.0.1", ...(options as object) })).toThrow(message);
    });
  }

  test("datagram and WebTransport options are checked", () => {
    const ok = () => new Response("");
    expect(() => serve({ routes: [{ method: "POST", pattern: "/", h3Datagram: () => {} }] })).toThrow(/h3Datagram needs fetch/);
    expect(() => serve({ routes: [{ method: "CONNECT", pattern: "/", webtransport: 5 as never }] })).toThrow(/webtransport: expected a function/);
    expect(() => serve({ routes: [{ method: "POST", pattern: "/", mode: "streaming", fetch: new Response("x") }] })).toThrow(/static Response cannot/);
    expect(() => serve({ routes: [{ method: "GET", pattern: "/", fetch: "x" as never }] })).toThrow(/handler function or a static Response/);
    expect(() => serve({ fetch: ok, quicDatagram: "x" as never })).toThrow(/quicDatagram/);
    expect(() => serve({ fetch: ok, quicAlpn: ["h3"] })).toThrow(/quicAlpn/);
    expect(() => serve({ fetch: ok, webtransport: { allowedOrigins: "x" as never } })).toThrow(/webtransport/);
  });

  test("reload cannot add WebTransport or datagram routes to a server created without them", async () => {
    await using server = serve({ fetch: () => new Response("") });
    expect(() => server.reload({ routes: [{ method: "CONNECT", pattern: "/wt", webtransport: () => {} }] })).toThrow(/WebTransport routes must exist/);
  });

  test("a port in use is an error", async () => {
    await using first = serve({ fetch: () => new Response("") });
    expect(() => serve({ port: first.port, fetch: () => new Response("") })).toThrow(/address already in use/);
  });
});
