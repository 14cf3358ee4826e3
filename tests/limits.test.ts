/** Security defaults and limits: connections, streams per connection, header bytes. */
import { describe, expect, test } from "bun:test";
import { h3client, serve, until } from "./helpers";

describe("limits", () => {
  test("maxConnections refuses handshakes beyond the limit, counted; room frees when one closes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inflight = 0;
    await using server = serve({
      maxConnections: 2,
      routes: { "/hold": async () => { inflight++; await gate; return new Response("held"); }, "/": () => new Response("ok") },
    });
    const held = [h3client([new URL("/hold", server.url).href]), h3client([new URL("/hold", server.url).href])];
    await until(() => inflight === 2, 2000);
    const refused = await h3client(["-timeout", "3s", server.url.href]);
    expect(refused.code).not.toBe(0);
    expect(server.getStats().connectionsRefused).toBeGreaterThanOrEqual(1);
    release();
    for (const h of held) expect((await h).out).toContain("held");
    await until(() => server.getStats().connectionsActive === 0, 2000);
    expect((await h3client([server.url.href])).out).toContain("HTTP/3 200");
  });

  test("maxStreamsPerConnection bounds concurrent requests of one connection; the rest wait", async () => {
    let now = 0;
    let peak = 0;
    await using server = serve({
      maxStreamsPerConnection: 3,
      fetch: async () => {
        peak = Math.max(peak, ++now);
        await Bun.sleep(20);
        now--;
        return new Response("x");
      },
    });
    const { out } = await h3client(["-n", "30", "-c", "15", server.url.href]);
    expect(out).toContain("ok=30 failed=0");
    expect(peak).toBe(3); // the limit is reached, never exceeded
  });

  test("maxHeaderBytes answers 431 to an oversized header section", async () => {
    await using server = serve({ maxHeaderBytes: 4096, fetch: () => new Response("fine") });
    const big = await h3client(["-H", `x-big: ${"a".repeat(8000)}`, server.url.href]);
    expect(big.out).toStartWith("HTTP/3 431");
    const small = await h3client(["-H", "x-small: a", server.url.href]);
    expect(small.out).toStartWith("HTTP/3 200");
  });

  test("maxHeaderFields answers 431 to a request with more header fields, counted, no handler", async () => {
    let handled = 0;
    await using server = serve({ maxHeaderFields: 5, fetch: () => { handled++; return new Response("fine"); } });
    const fields = (n: number) => Array.from({ length: n }, (_, i) => ["-H", `x-f${i}: v`]).flat();
    expect((await h3client([...fields(6), server.url.href])).out).toStartWith("HTTP/3 431");
    expect(handled).toBe(0);
    expect(server.getStats().requestsRejected).toBe(1);
    expect((await h3client([...fields(1), server.url.href])).out).toStartWith("HTTP/3 200");
  });

  test("limits are validated", () => {
    for (const field of ["maxConnections", "maxStreamsPerConnection", "maxHeaderBytes", "maxHeaderFields"]) {
      expect(() => serve({ [field]: 0, fetch: () => new Response("") })).toThrow(RangeError);
    }
    for (const field of ["requestTimeout", "headerTimeout"]) {
      expect(() => serve({ [field]: -1, fetch: () => new Response("") })).toThrow(RangeError);
    }
  });
});
