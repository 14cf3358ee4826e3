/** The WebTransport client against this library's server and against Deno's. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WebTransport, WebTransportError, type WTCloseInfo, type WTContext } from "../bun";
import { bytes, echoStreams, serve, sha256, tables, until, withTimeout } from "./helpers";
import { hashes } from "./client-helpers";
import { DENO_WT_SERVER, startDeno, type DenoServer } from "./deno";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads exactly n bytes from a stream (no waiting for its end), then releases it. */
async function readExactly(stream: ReadableStream<Uint8Array>, n: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const out = new Uint8Array(n);
  let got = 0;
  let reads = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${got} of ${n} bytes`);
    out.set(value.subarray(0, n - got), got);
    got += value.byteLength;
    reads++;
  }
  reader.releaseLock();
  return Object.assign(out, { reads });
}

/** Reads a stream to its end. */
async function readToEnd(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Sends msg until its echo arrives on reader (datagrams may be lost; bounded). */
async function echoDatagram(wt: WebTransport, reader: { read(): Promise<{ value?: Uint8Array; done: boolean }> }, msg: string): Promise<string | undefined> {
  const writer = wt.datagrams.writable.getWriter();
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      await writer.write(enc(msg));
      const r = await withTimeout(reader.read(), 2000, "datagram echo").catch(() => undefined);
      if (r?.value) return text(r.value);
    }
  } finally {
    writer.releaseLock();
  }
  return undefined;
}

function echoSession(ctx: WTContext): void {
  void (async () => {
    for await (const d of ctx.datagrams.readable) {
      if (text(d) === "close") ctx.close(42, "server bye");
      else ctx.sendDatagram(d);
    }
  })();
  echoStreams(ctx);
}

describe("WebTransport client against this library's server", () => {
  const serverClosed: WTCloseInfo[] = [];
  let flooded = 0;
  let server: ReturnType<typeof serve>;
  beforeAll(() => {
    server = serve({
      routes: [
        { method: "CONNECT", pattern: "/wt/echo", webtransport: echoSession },
        { method: "CONNECT", pattern: "/wt/reject", webtransport: (ctx) => ctx.reject(403) },
        {
          method: "CONNECT",
          pattern: "/wt/record",
          webtransport: (ctx) => {
            void ctx.closed.then((info) => serverClosed.push(info));
            echoSession(ctx);
          },
        },
        {
          method: "CONNECT",
          pattern: "/wt/flood",
          webtransport: async (ctx) => {
            ctx.accept();
            const w = (await ctx.createUnidirectionalStream()).getWriter();
            const chunk = bytes(64 * 1024, 3);
            for (flooded = 0; flooded < 16 * 1024 * 1024; flooded += chunk.byteLength) await w.write(chunk);
            await w.close();
          },
        },
        {
          method: "CONNECT",
          pattern: "/wt/server-streams",
          webtransport: async (ctx) => {
            ctx.accept();
            const u = (await ctx.createUnidirectionalStream()).getWriter();
            await u.write(enc("hello uni"));
            await u.close();
            const { writable, readable } = await ctx.createBidirectionalStream();
            const w = writable.getWriter();
            await w.write(enc("ping"));
            await w.close();
            void readable.pipeTo(new WritableStream()).catch(() => {}); // reset when the session closes
          },
        },
      ],
    });
  });
  afterAll(() => server.stop(true));
  const url = (path: string) => new URL(path, server.url);

  test("ready, datagram echo, maxDatagramSize, and a clean close", async () => {
    const wt = new WebTransport(url("/wt/echo"), { serverCertificateHashes: hashes(server) });
    await withTimeout(wt.ready, 5000, "ready");
    expect(wt.datagrams.maxDatagramSize).toBeGreaterThan(1000);
    const reader = wt.datagrams.readable.getReader();
    for (let i = 0; i < 5; i++) expect(await echoDatagram(wt, reader, `d${i}`)).toBe(`d${i}`);
    wt.close({ closeCode: 0, reason: "done" });
    expect(await wt.closed).toEqual({ closeCode: 0, reason: "done" });
  });

  test("unidirectional streams both ways", async () => {
    const wt = new WebTransport(url("/wt/echo"), { serverCertificateHashes: hashes(server) });
    const out = await wt.createUnidirectionalStream();
    const w = out.getWriter();
    await w.write(enc("to the server "));
    await w.write(enc("and back"));
    await w.close();
    const incoming = wt.incomingUnidirectionalStreams.getReader();
    const { value } = await withTimeout(incoming.read(), 5000, "incoming unidirectional stream");
    expect(text(await readToEnd(value!))).toBe("to the server and back");
    wt.close();
    await wt.closed;

    const wt2 = new WebTransport(url("/wt/server-streams"), { serverCertificateHashes: hashes(server) });
    const uni = await withTimeout(wt2.incomingUnidirectionalStreams.getReader().read(), 5000, "server's uni stream");
    expect(text(await readToEnd(uni.value!))).toBe("hello uni");
    const bidi = await withTimeout(wt2.incomingBidirectionalStreams.getReader().read(), 5000, "server's bidi stream");
    expect(text(await readToEnd(bidi.value!.readable))).toBe("ping");
    wt2.close();
    await wt2.closed;
  });

  test("close codes both ways", async () => {
    const byServer = new WebTransport(url("/wt/echo"), { serverCertificateHashes: hashes(server) });
    await byServer.ready;
    await byServer.datagrams.writable.getWriter().write(enc("close"));
    expect(await withTimeout(byServer.closed, 5000, "closed by the server")).toEqual({ closeCode: 42, reason: "server bye" });

    const byClient = new WebTransport(url("/wt/record"), { serverCertificateHashes: hashes(server) });
    await byClient.ready;
    byClient.close({ closeCode: 7, reason: "client bye" });
    expect(await byClient.closed).toEqual({ closeCode: 7, reason: "client bye" });
    await until(() => serverClosed.length > 0, 5000);
    expect(serverClosed[0]).toEqual({ closeCode: 7, reason: "client bye" });
  });

  test("50 concurrent bidirectional streams echo their bytes; a 1 MiB stream passes the 256 KiB window", async () => {
    const wt = new WebTransport(url("/wt/echo"), { serverCertificateHashes: hashes(server) });
    await wt.ready;
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const data = bytes(10_000 + i, i + 1);
        const { readable, writable } = await wt.createBidirectionalStream();
        const w = writable.getWriter();
        const echoed = readToEnd(readable);
        await w.write(data);
        await w.close();
        return sha256(await echoed) === sha256(data);
      }),
    );
    expect(results.filter(Boolean).length).toBe(50);
    const big = bytes(1024 * 1024, 99);
    const { readable, writable } = await wt.createBidirectionalStream();
    const echoed = readToEnd(readable);
    const w = writable.getWriter();
    for (let off = 0; off < big.byteLength; off += 100_000) await w.write(big.subarray(off, off + 100_000));
    await w.close();
    expect(sha256(await echoed)).toBe(sha256(big));
    wt.close();
    await wt.closed;
    await until(() => tables(server).pendingSessions.streams === 0, 5000);
  });

  test("an unread incoming stream is bounded by the 256 KiB window and QUIC flow control; read, all of it arrives", async () => {
    const wt = new WebTransport(url("/wt/flood"), { serverCertificateHashes: hashes(server) });
    const { value: stream } = await withTimeout(wt.incomingUnidirectionalStreams.getReader().read(), 5000, "the flood stream");
    await Bun.sleep(500);
    const stalled = flooded;
    expect(stalled).toBeLessThan(4 * 1024 * 1024);
    await Bun.sleep(200);
    expect(flooded - stalled).toBeLessThan(1024 * 1024); // nothing read, (almost) nothing more written
    expect((await readToEnd(stream!)).byteLength).toBe(16 * 1024 * 1024);
    wt.close();
    await wt.closed;
  });

  test("a server stopping under a session: closed settles (the close capsule, or a WebTransportError when the connection goes first), its streams error", async () => {
    // stop(true) closes each session with a capsule, then the connection: which the
    // client sees first is a race; either way nothing hangs and no stream ends cleanly.
    for (let i = 0; i < 5; i++) {
      const other = serve({ routes: [{ method: "CONNECT", pattern: "/wt", webtransport: echoSession }] });
      const wt = new WebTransport(new URL("/wt", other.url), { serverCertificateHashes: hashes(other) });
      await wt.ready;
      const { readable } = await wt.createBidirectionalStream();
      const reading = readToEnd(readable).catch((e) => e);
      await other.stop(true);
      const closed = await withTimeout(
        wt.closed.then((info) => info, (err) => err),
        10_000,
        "closed",
      );
      if (closed instanceof Error) {
        expect(closed).toBeInstanceOf(WebTransportError);
      } else {
        expect(closed).toEqual({ closeCode: 0, reason: "server stopping" });
      }
      expect(await withTimeout(reading, 10_000, "reading")).toBeInstanceOf(Error);
    }
  });

  test("a refused session: ready and closed reject with the status; a wrong pin fails the connection", async () => {
    const wt = new WebTransport(url("/wt/reject"), { serverCertificateHashes: hashes(server) });
    const err = await wt.ready.catch((e) => e);
    expect(err).toBeInstanceOf(WebTransportError);
    expect((err as WebTransportError).status).toBe(403);
    await expect(wt.closed).rejects.toBeInstanceOf(WebTransportError);

    const wrong = new WebTransport(url("/wt/echo"), { serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(32) }] });
    await expect(wrong.ready).rejects.toBeInstanceOf(WebTransportError);
    expect(() => new WebTransport("http://127.0.0.1:1/")).toThrow(SyntaxError);
  });
});

describe("WebTransport client against Deno's server", () => {
  let deno: DenoServer;
  beforeAll(async () => {
    deno = await startDeno(DENO_WT_SERVER);
  });
  afterAll(() => deno?.stop());
  const open = () =>
    new WebTransport(`https://127.0.0.1:${deno.port}/echo`, {
      serverCertificateHashes: [{ algorithm: "sha-256", value: Buffer.from(deno.certHashHex, "hex") }],
    });

  test("datagram echo", async () => {
    const wt = open();
    await withTimeout(wt.ready, 10_000, "ready");
    const reader = wt.datagrams.readable.getReader();
    for (let i = 0; i < 5; i++) expect(await echoDatagram(wt, reader, `deno ${i}`)).toBe(`deno ${i}`);
    wt.close();
    await wt.closed;
  });

  test("a 200 kB bidirectional echo, read incrementally", async () => {
    const wt = open();
    await withTimeout(wt.ready, 10_000, "ready");
    const data = bytes(200_000, 5);
    const { readable, writable } = await wt.createBidirectionalStream();
    const echoed = readExactly(readable, data.byteLength); // Deno sends no FIN: read what is expected
    const w = writable.getWriter();
    for (let off = 0; off < data.byteLength; off += 16_384) await w.write(data.subarray(off, off + 16_384));
    const got = await withTimeout(echoed, 10_000, "the echo");
    expect(sha256(got)).toBe(sha256(data));
    expect((got as Uint8Array & { reads: number }).reads).toBeGreaterThan(1);
    await w.close();
    wt.close();
    await wt.closed;
  });
});
