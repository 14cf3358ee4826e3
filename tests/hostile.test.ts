/** Hostile input: floods, unread data, odd methods and paths. Memory stays bounded, drops are counted. */
import { describe, expect, test } from "bun:test";
import { Limit } from "../bun/abi.gen";
import { DGCLIENT, dgclient, h3client, serve, until } from "./helpers";

describe("hostile input", () => {
  test("a datagram flood while JS is busy is dropped and counted, not buffered without bound", async () => {
    const ALPN = "zig-h3-flood";
    const QUEUE = Limit.QUEUE_MAX_EVENTS;
    let handled = 0;
    let sent = 0;
    const before = process.memoryUsage().rss;
    await using server = serve({
      quicAlpn: [ALPN],
      quicDatagram: () => {
        handled++;
        if (handled === 1) {
          // The JS thread is blocked for the whole flood (the client runs synchronously here):
          // nothing drains the native queue meanwhile.
          const flood = Bun.spawnSync([DGCLIENT, "quic-dgram", "-alpn", ALPN, "-n", "30000", "-burst", "-size", "1000", "-idle", "200ms", "-addr", `127.0.0.1:${server.port}`]);
          sent = JSON.parse(flood.stdout.toString()).sent;
        }
      },
      fetch: () => new Response("ok"),
    });
    await dgclient(["quic-dgram", "-alpn", ALPN, "-n", "1", "-idle", "100ms", "-addr", `127.0.0.1:${server.port}`]);
    for (let i = 0; i < 500 && sent === 0; i++) await Bun.sleep(10);
    expect(sent).toBe(30000);
    // The flood is over (its client exited): once the queue drains, every datagram the server read
    // was either handled or dropped and counted.
    await until(() => handled + server.getStats().datagramsDropped === server.getStats().datagramsReceived, 10_000);
    const stats = server.getStats();
    expect(stats.datagramsReceived).toBeGreaterThan(0);
    expect(handled + stats.datagramsDropped).toBe(stats.datagramsReceived);
    // While JS was blocked at most the native queue was kept (plus the first datagram, being handled);
    // whatever arrived beyond it (the kernel may drop some first) was dropped.
    expect(handled).toBeLessThanOrEqual(QUEUE + 1);
    expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(128);
    // Still serving.
    expect((await h3client([server.url.href])).out).toStartWith("HTTP/3 200");
  }, 90_000);

  test("a WebTransport session whose datagrams and streams are never read stays bounded", async () => {
    let session: { datagramsDropped: number } | undefined;
    await using server = serve({
      routes: [{ method: "CONNECT", pattern: "/wt", webtransport: (ctx) => void (session = ctx as never) }],
    });
    // The handler reads nothing: datagrams beyond its queue are dropped, stream data waits in flow control.
    // The client's writes can only end by its deadline (-timeout), which bounds the run.
    const r = await dgclient<{ status: number; datagrams: { sent: number; received: number; matched: number }; bidi: unknown[]; uni: unknown }>(
      ["wt", "-url", `https://127.0.0.1:${server.port}/wt`, "-datagrams", "1000", "-burst", "-bidi", String(4 << 20), "-streams", "2", "-uni", "0", "-idle", "300ms", "-timeout", "2s"],
      30_000,
    );
    expect(r.status).toBe(200);
    expect(r.datagrams).toEqual({ sent: 1000, received: 0, matched: 0 });
    // 4 MiB per stream never fits in the unread stream's flow-control window: both writes stall until the deadline.
    const stalled = { bytes: 0, ok: false, error: expect.stringMatching(/^writing:/) };
    expect(r.bidi).toEqual([stalled, stalled]);
    expect(r.uni).toBeNull();
    expect(session).toBeDefined();
    // The session keeps 256 unread datagrams (bun/webtransport.ts DATAGRAM_QUEUE); every one beyond that
    // is dropped and counted (fewer may arrive: UDP may lose some).
    const received = () => server.getStats().datagramsReceived;
    await until(() => session!.datagramsDropped === Math.max(0, received() - 256));
    expect(received()).toBeGreaterThan(0);
    expect(session!.datagramsDropped).toBe(Math.max(0, received() - 256));
    expect(server.getStats().datagramsDropped).toBe(session!.datagramsDropped);
  }, 60_000);

  test("odd methods and paths get clean answers", async () => {
    await using server = serve({ routes: { "/known": { GET: () => new Response("known") } } });
    const base = server.url.href.replace(/\/$/, "");
    const cases: [string[], number][] = [
      [["-X", "BREW", `${base}/known`], 405],
      [[`${base}/known/../known`], 404], // dot segments are the client's to resolve
      [[`${base}//known`], 404],
      [[`${base}/%00`], 404],
      [[`${base}/${"x".repeat(20000)}`], 404],
      [["-X", "PATCH", `${base}/nothing`], 404],
    ];
    for (const [args, status] of cases) {
      const r = await h3client(args);
      expect(r.out.split("\n")[0]).toBe(`HTTP/3 ${status}`);
    }
    expect(server.getStats().requestsRejected).toBeGreaterThanOrEqual(4);
  });
});
