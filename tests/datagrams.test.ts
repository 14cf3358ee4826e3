/** QUIC datagrams, HTTP/3 datagrams and WebTransport, with the repository's Go client (tests/dgclient). */
import { describe, expect, test } from "bun:test";
import type { H3Server, QUICDatagramContext, RouteDefinition, WTContext } from "../bun";
import { dgclient, echoStreams, quietErrors, serve, tables, until } from "./helpers";

const ALPN = "zig-h3-test";
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A response body that stays open until the client goes away: the flow of an h3Datagram route. */
const openBody = (req: Request) =>
  new Response(new ReadableStream({ start: (c) => req.signal.addEventListener("abort", () => c.close()) }));

function echoSession(ctx: WTContext): void {
  void (async () => {
    for await (const d of ctx.datagrams.readable) {
      if (text(d) === "throw") throw new Error("session handler failure"); // logged, session goes on elsewhere
      ctx.sendDatagram(d);
    }
  })().catch(() => {});
  echoStreams(ctx);
}

const seen = {
  quicContexts: [] as QUICDatagramContext[],
  maxSizes: [] as number[],
  tooLarge: [] as string[],
  flows: new Map<bigint, bigint>(),
  serverClosed: [] as unknown[],
  /** While set, the handlers throw on their poison datagram. */
  poison: false,
};

/** The Go client numbers its raw datagrams (8-byte big-endian index first); number 3 makes the handler throw. */
const isPoison = (p: Uint8Array) => seen.poison && p.byteLength >= 8 && new DataView(p.buffer, p.byteOffset).getBigUint64(0) === 3n;

const allLayers: RouteDefinition[] = [
  { method: "GET", pattern: "/", fetch: () => new Response("root") },
  {
    method: "POST",
    pattern: "/h3dg/echo",
    fetch: openBody,
    h3Datagram: (payload, ctx) => {
      if (seen.poison && text(payload) === "r0-3") throw new Error("h3Datagram handler failure");
      seen.flows.set(ctx.streamId, ctx.flowId);
      ctx.sendReply(payload);
    },
  },
  { method: "CONNECT", pattern: "/wt/echo", webtransport: echoSession },
  { method: "CONNECT", pattern: "/wt/reject", webtransport: (ctx) => ctx.reject(403) },
  {
    method: "CONNECT",
    pattern: "/wt/close",
    webtransport: (ctx) => {
      void ctx.closed.then((info) => seen.serverClosed.push(info));
      void (async () => {
        for await (const d of ctx.datagrams.readable) if (text(d) === "close") ctx.close(42, "server bye");
      })();
    },
  },
  {
    method: "CONNECT",
    pattern: "/wt/server-streams",
    webtransport: async (ctx) => {
      ctx.accept();
      const { writable, readable } = await ctx.createBidirectionalStream();
      const w = writable.getWriter();
      await w.write(new TextEncoder().encode("ping"));
      await w.close();
      void readable.pipeTo(new WritableStream());
      const u = (await ctx.createUnidirectionalStream()).getWriter();
      await u.write(new TextEncoder().encode("hello uni"));
      await u.close();
    },
  },
  { method: "CONNECT", pattern: "/wt/throws", webtransport: () => { throw new Error("webtransport handler failure"); } },
];

function allLayersServer() {
  return serve({
    quicAlpn: [ALPN],
    quicDatagram: (payload, ctx) => {
      if (isPoison(payload)) throw new Error("quicDatagram handler failure");
      seen.quicContexts.push(ctx);
      seen.maxSizes.push(ctx.maxDatagramSize);
      try {
        ctx.sendReply(new Uint8Array(ctx.maxDatagramSize + 1));
      } catch (e) {
        seen.tooLarge.push(`${(e as Error).name}: ${(e as Error).message}`);
      }
      ctx.sendReply(payload);
    },
    routes: allLayers,
  });
}

describe("QUIC datagrams", () => {
  test("echo on a connection of an extra ALPN, paced and in a burst of 100; context and size limit", async () => {
    await using server = allLayersServer();
    const addr = `127.0.0.1:${server.port}`;
    const paced = await dgclient<{ sent: number; matched: number; maxDatagramSize: number }>(["quic-dgram", "-alpn", ALPN, "-n", "100", "-addr", addr]);
    expect(paced).toMatchObject({ sent: 100, matched: 100 });
    const burst = await dgclient<{ sent: number; matched: number }>(["quic-dgram", "-alpn", ALPN, "-n", "100", "-burst", "-addr", addr]);
    expect(burst.sent).toBe(100);
    expect(burst.matched).toBeGreaterThanOrEqual(90); // datagrams are unreliable; loopback loses few
    const ctx = seen.quicContexts.at(-1)!;
    expect(ctx.connectionIdHex).toMatch(/^[0-9a-f]{16}$/);
    expect(Buffer.from(ctx.connectionId).toString("hex")).toBe(ctx.connectionIdHex);
    expect(ctx.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Math.min(...seen.maxSizes)).toBeGreaterThan(1000);
    expect(paced.maxDatagramSize).toBeGreaterThan(1000);
    expect(seen.tooLarge.at(-1)).toMatch(/^RangeError: datagram of \d+ bytes is larger than the \d+ bytes the path allows now$/);
    const stats = server.getStats();
    expect(stats.datagramsReceived).toBeGreaterThanOrEqual(190);
    expect(stats.datagramsSent).toBeGreaterThanOrEqual(190);
  });

  test("echo on an HTTP/3 connection whose peer did not enable HTTP/3 datagrams", async () => {
    // Without WebTransport routes, HTTP/3 connections are served by our own loop, which reads the peer's SETTINGS.
    await using server = serve({ quicDatagram: (p, ctx) => ctx.sendReply(p), fetch: () => new Response("ok") });
    const r = await dgclient<{ sent: number; matched: number; httpStatus: number }>(["quic-dgram", "-alpn", "h3", "-n", "50", "-addr", `127.0.0.1:${server.port}`]);
    expect(r).toMatchObject({ sent: 50, matched: 50, httpStatus: 200 });
  });
});

describe("HTTP/3 datagrams", () => {
  test("echo with flow ids on two concurrent requests of one connection", async () => {
    await using server = allLayersServer();
    const r = await dgclient<{ requests: { status: number; streamId: number; sent: number; matched: number; foreign: number }[] }>(
      ["h3-dgram", "-url", `https://127.0.0.1:${server.port}/h3dg/echo`, "-n", "50", "-requests", "2"],
    );
    expect(r.requests).toHaveLength(2);
    for (const q of r.requests) {
      expect(q).toMatchObject({ status: 200, sent: 50, matched: 50, foreign: 0 });
      expect(seen.flows.get(BigInt(q.streamId))).toBe(BigInt(q.streamId) / 4n);
    }
    await until(() => tables(server).pendingExchanges === 0);
  });
});

describe("WebTransport", () => {
  test("datagrams, bidirectional and unidirectional stream echo", async () => {
    await using server = allLayersServer();
    const r = await dgclient<{ status: number; datagrams: { sent: number; received: number; matched: number }; bidi: { bytes: number; ok: boolean }[]; uni: { bytes: number; ok: boolean } }>(
      ["wt", "-url", `https://127.0.0.1:${server.port}/wt/echo`, "-datagrams", "100", "-bidi", "65536", "-streams", "3", "-uni", "1000"],
    );
    expect(r.status).toBe(200);
    expect(r.datagrams.matched).toBeGreaterThanOrEqual(90);
    expect(r.bidi).toEqual([{ bytes: 65536, ok: true }, { bytes: 65536, ok: true }, { bytes: 65536, ok: true }]);
    expect(r.uni).toEqual({ bytes: 1000, ok: true });
    await until(() => tables(server).pendingSessions.sessions === 0 && tables(server).pendingSessions.streams === 0);
    expect(server.getStats().sessionsActive).toBe(0);
  });

  test("reject with 403; close with code and reason both ways; server-opened streams", async () => {
    await using server = allLayersServer();
    const base = `https://127.0.0.1:${server.port}`;
    expect(await dgclient(["wt-reject", "-url", `${base}/wt/reject`])).toMatchObject({ status: 403 });
    seen.serverClosed.length = 0;
    expect(await dgclient(["wt-close", "-url", `${base}/wt/close`, "-mode", "server"])).toEqual({ closedBy: "server", code: 42, reason: "server bye" });
    await until(() => seen.serverClosed.length === 1);
    expect(seen.serverClosed[0]).toEqual({ closeCode: 42, reason: "server bye" });
    seen.serverClosed.length = 0;
    expect(await dgclient(["wt-close", "-url", `${base}/wt/close`, "-mode", "client", "-code", "7", "-reason", "bye"])).toEqual({ closedBy: "client" });
    await until(() => seen.serverClosed.length === 1);
    expect(seen.serverClosed[0]).toEqual({ closeCode: 7, reason: "bye" });
    expect(await dgclient(["wt-server-streams", "-url", `${base}/wt/server-streams`])).toEqual({ bidi: "ping", uni: "hello uni" });
    await until(() => tables(server).pendingSessions.sessions === 0 && tables(server).pendingSessions.streams === 0);
  });

  test("aborting the writable side of a bidirectional stream errors its readable side", async () => {
    const got = { readError: "" };
    await using server = serve({
      routes: [
        {
          method: "CONNECT",
          pattern: "/wt/abort",
          webtransport: async (ctx) => {
            ctx.accept();
            const { readable, writable } = await ctx.createBidirectionalStream();
            const read = readable.getReader().read();
            await writable.abort();
            try {
              await read;
              got.readError = "none";
            } catch (e) {
              got.readError = `${(e as Error).name}`;
            }
            ctx.close(42, "done");
          },
        },
      ],
    });
    const url = `https://127.0.0.1:${server.port}/wt/abort`;
    expect(await dgclient(["wt-close", "-url", url, "-mode", "server"])).toEqual({ closedBy: "server", code: 42, reason: "done" });
    expect(got.readError).toBe("AbortError");
    await until(() => tables(server).pendingSessions.sessions === 0 && tables(server).pendingSessions.streams === 0);
  });

  test("the session request's signal aborts when the session closes; timeout() refuses it", async () => {
    const got = { abortedWhileOpen: true, timeoutError: "", reason: undefined as unknown };
    await using server: H3Server = serve({
      routes: [
        {
          method: "CONNECT",
          pattern: "/wt/signal",
          webtransport: (ctx) => {
            got.abortedWhileOpen = ctx.request.signal.aborted;
            try {
              server.timeout(ctx.request, 1);
            } catch (e) {
              got.timeoutError = `${(e as Error).name}: ${(e as Error).message}`;
            }
            ctx.request.signal.addEventListener("abort", () => (got.reason = ctx.request.signal.reason));
          },
        },
      ],
    });
    const url = `https://127.0.0.1:${server.port}/wt/signal`;
    expect(await dgclient(["wt-close", "-url", url, "-mode", "client", "-code", "7", "-reason", "bye"])).toEqual({ closedBy: "client" });
    await until(() => got.reason !== undefined);
    expect(got.abortedWhileOpen).toBe(false);
    expect(got.timeoutError).toBe("TypeError: timeout: a WebTransport session's request has no response to time out");
    expect(got.reason).toBeInstanceOf(DOMException);
    expect((got.reason as DOMException).name).toBe("AbortError");
    expect((got.reason as DOMException).message).toBe("WebTransport session closed (7: bye)");
    await until(() => tables(server).pendingSessions.sessions === 0 && tables(server).pendingExchanges === 0);
  });
});

describe("all three layers on one server", () => {
  test("a handler that throws in each layer is logged and the server keeps serving", async () => {
    await using server = allLayersServer();
    const addr = `127.0.0.1:${server.port}`;
    seen.poison = true;
    const { result, logged } = await quietErrors(async () => {
      try {
        return {
          // A throwing session handler: the session is refused with 500.
          wt: await dgclient<{ status: number }>(["wt-reject", "-url", `https://${addr}/wt/throws`]),
          // Raw datagram number 3 and HTTP/3 datagram "r0-3" make their handlers throw.
          quic: await dgclient<{ matched: number }>(["quic-dgram", "-alpn", ALPN, "-n", "10", "-addr", addr]),
          h3: await dgclient<{ requests: { matched: number }[] }>(["h3-dgram", "-url", `https://${addr}/h3dg/echo`, "-n", "10", "-requests", "1"]),
        };
      } finally {
        seen.poison = false;
      }
    });
    expect(result.wt.status).toBe(500);
    expect(result.quic.matched).toBe(9);
    expect(result.h3.requests[0].matched).toBe(9);
    for (const layer of ["webtransport", "quicDatagram", "h3Datagram"]) {
      expect(logged.some((l) => l.includes(`${layer} handler failed`))).toBe(true);
    }
    // Everything still works after the failures.
    expect(await dgclient(["quic-dgram", "-alpn", ALPN, "-n", "20", "-addr", addr])).toMatchObject({ matched: 20 });
    const h3 = await dgclient<{ requests: { matched: number }[] }>(["h3-dgram", "-url", `https://${addr}/h3dg/echo`, "-n", "20", "-requests", "1"]);
    expect(h3.requests[0].matched).toBe(20);
    const wt = await dgclient<{ status: number; bidi: { ok: boolean }[] }>(["wt", "-url", `https://${addr}/wt/echo`, "-datagrams", "10", "-bidi", "1000", "-streams", "1", "-uni", "10"]);
    expect(wt.status).toBe(200);
    expect(wt.bidi[0].ok).toBe(true);
  });
});
