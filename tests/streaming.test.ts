/** Streaming request and response bodies: integrity, backpressure, trailers, files, aborts. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streaming, withTrailers, type H3Request, type H3Server } from "../bun";
import { bytes, h3client, h3clientJSON, h3fetch, serve, sha256, tables, until, withTimeout } from "./helpers";

/** The bytes h3client sends for -data-size n. */
function pattern(n: number): Uint8Array {
  const p = Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = p[i % p.length];
  return out;
}

/** Reads a stream fully, returning length and sha256. */
async function digest(stream: ReadableStream<Uint8Array> | null): Promise<{ n: number; sha: string }> {
  const h = new Bun.CryptoHasher("sha256");
  let n = 0;
  if (stream) {
    for await (const c of stream) {
      h.update(c);
      n += c.byteLength;
    }
  }
  return { n, sha: h.digest("hex") };
}

const pending = (s: H3Server) => tables(s).pendingExchanges;

function uploadServer() {
  return serve({
    routes: [
      {
        method: "POST",
        pattern: "/up",
        mode: "streaming",
        fetch: async (req) => Response.json(await digest(req.body)),
      },
    ],
  });
}

describe("streaming request bodies", () => {
  test("a GET body on a streaming route is refused: no body, empty trailers, the response still arrives", async () => {
    await using server = serve({
      routes: [
        {
          method: "GET",
          pattern: "/get",
          mode: "streaming",
          fetch: async (req) => Response.json({ body: req.body === null, trailers: [...(await req.trailers)] }),
        },
      ],
    });
    const [r] = await h3clientJSON(["-X", "GET", "-data-size", String(1 << 20), new URL("/get", server.url).href]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ body: true, trailers: [] });
    await until(() => pending(server) === 0);
  });

  test("5 MiB in 64 KiB chunks, checksum intact, handler runs before the body is complete", async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const chunk = bytes(64 * 1024, 9);
    let sent = 0;
    await using server = serve({
      routes: {
        "/up": {
          POST: streaming(async (req) => {
            entered();
            return Response.json(await digest(req.body));
          }),
        },
      },
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent === 80) return c.close();
        if (sent === 40) {
          // Half the body is out: the handler must already be running, or the upload fails here.
          await withTimeout(inHandler, 2000, "the handler running once 40 of 80 chunks are sent");
        }
        sent++;
        c.enqueue(chunk);
      },
    });
    const res = await h3fetch(new URL("/up", server.url), { method: "POST", body, duplex: "half" } as RequestInit);
    const expected = new Bun.CryptoHasher("sha256");
    for (let i = 0; i < 80; i++) expected.update(chunk);
    expect(await res.json()).toMatchObject({ n: 5 * 1024 * 1024, sha: expected.digest("hex") });
  });

  test("3 concurrent 2 MiB uploads, an empty body, all byte values", async () => {
    await using server = uploadServer();
    const url = new URL("/up", server.url).href;
    const results = await h3clientJSON(["-n", "3", "-c", "3", "-data-size", String(2 << 20), url]);
    expect(results).toHaveLength(3);
    const want = sha256(pattern(2 << 20));
    for (const r of results) expect(JSON.parse(r.body)).toMatchObject({ n: 2 << 20, sha: want });

    const empty = await h3fetch(url, { method: "POST", body: "" });
    expect(await empty.json()).toMatchObject({ n: 0, sha: sha256(new Uint8Array(0)) });

    const all = new Uint8Array(256 * 1024).map((_, i) => i % 256);
    const bin = await h3fetch(url, { method: "POST", body: all });
    expect(await bin.json()).toMatchObject({ n: all.byteLength, sha: sha256(all) });
    expect(pending(server)).toBe(0);
  });

  test("object form with streaming(); request trailers arrive after the body", async () => {
    await using server = serve({
      routes: {
        "/t": {
          POST: streaming(async (req) => {
            const d = await digest(req.body);
            const t = await req.trailers;
            return Response.json({ n: d.n, trailer: t.get("x-client-sum") });
          }),
        },
      },
    });
    const [r] = await h3clientJSON(["-data-size", "100000", "-trailer", "x-client-sum: 1234", new URL("/t", server.url).href]);
    expect(JSON.parse(r.body)).toEqual({ n: 100000, trailer: "1234" });
  });

  test("full duplex: the upload is echoed back while it is still being sent", async () => {
    await using server = serve({
      routes: [{ method: "POST", pattern: "/echo", mode: "streaming", fetch: (req) => new Response(req.body) }],
    });
    const { out, code, err } = await h3client(["-duplex", "-data-size", String(2 << 20), new URL("/echo", server.url).href]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain(`duplex ok bytes=${2 << 20}`);
  });

  test("answering before reading refuses the rest of the upload without leaking", async () => {
    let handled = 0;
    await using server = serve({
      routes: {
        "/deny": {
          POST: streaming(() => {
            handled++;
            return new Response("no", { status: 401 });
          }),
        },
      },
    });
    // The 401 must arrive even when the whole body window was delivered unread
    // (the body pump then waits for credit that never comes).
    const r = await h3client(["-json", "-timeout", "5s", "-data-size", String(64 << 20), new URL("/deny", server.url).href]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim()).status).toBe(401);
    expect(handled).toBe(1);
    await until(() => pending(server) === 0 && server.getStats().requestsActive === 0);
  });

  test("a handler that never reads stalls the client instead of buffering", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let received = 0;
    await using server = serve({
      routes: {
        "/slow": {
          POST: streaming(async (req) => {
            await gate;
            for await (const c of req.body!) received += c.byteLength;
            return new Response(String(received));
          }),
        },
      },
    });
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    const client = h3client(["-data-size", String(32 << 20), new URL("/slow", server.url).href]);
    await Bun.sleep(500);
    Bun.gc(true);
    const growth = process.memoryUsage().rss - before;
    // The handler waits at the gate, so nothing is read yet: the server holds at most its window (plus
    // QUIC's receive buffers) for this request, so the 32 MiB upload is stalled, not buffered (growth
    // measured at about 2 MiB). The RSS growth is the evidence.
    expect(growth).toBeLessThan(16 << 20);
    release();
    const { out, code } = await client;
    expect(code).toBe(0);
    expect(out).toContain(String(32 << 20));
  });

  test("a client that aborts mid-upload errors req.body and leaves nothing behind", async () => {
    let bodyError: unknown;
    let got = 0;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    await using server = serve({
      routes: {
        "/up": {
          POST: streaming(async (req) => {
            entered();
            try {
              for await (const c of req.body!) got += c.byteLength;
            } catch (e) {
              bodyError = e;
            }
            return new Response("unreachable");
          }),
        },
      },
    });
    const r = await h3client(["-abort-after-send", String(1 << 20), "-data-size", String(16 << 20), new URL("/up", server.url).href]);
    // The client hands exactly 1 MiB to the stream, then resets it: the handler cannot have read more.
    expect(r.out).toContain(`aborted after ${1 << 20} bytes`);
    await inHandler;
    await until(() => bodyError !== undefined);
    expect(got).toBeLessThanOrEqual(1 << 20);
    await until(() => pending(server) === 0 && server.getStats().requestsActive === 0);
  });
});

describe("streaming responses", () => {
  const MiB100 = 100 << 20;

  test("a stream already over after its first chunk is one body with its Content-Length, and no sniffed type", async () => {
    const html = "<html><script>alert(1)</script></html>";
    await using server = serve({
      fetch: () =>
        new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(html)), c.close()) }), {
          headers: { "content-length": "3" },
        }),
    });
    const [r] = await h3clientJSON([server.url.href]);
    expect(r.headers["content-length"]).toEqual([String(html.length)]);
    expect(r.headers["content-type"]).toBeUndefined(); // as Bun.serve: a stream declares no type
    expect(r.body).toBe(html);
  });

  test("a stream that breaks its declared content-length resets the response, with a warning", async () => {
    const logs: string[] = [];
    await using server = serve({
      onLog: (line) => logs.push(line),
      fetch: (req) => {
        const declared = new URL(req.url).searchParams.get("declared")!;
        let i = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              await Bun.sleep(5); // one chunk at a time: the length is not known up front
              if (i++ === 2) c.close();
              else c.enqueue(new TextEncoder().encode("hello"));
            },
          }),
          { headers: { "content-length": declared } },
        );
      },
    });
    const exact = await h3fetch(new URL("/?declared=10", server.url));
    expect(await exact.text()).toBe("hellohello");
    for (const declared of [7, 20]) {
      const failed = await h3fetch(new URL(`/?declared=${declared}`, server.url)).then((r) => r.arrayBuffer()).then(() => false, () => true);
      expect(failed).toBe(true);
    }
    // Each warning is logged once the response is over, which may be after the client saw the reset.
    await until(() => logs.length >= 2);
    expect(logs.some((l) => l.includes("longer than its Content-Length of 7 bytes"))).toBe(true);
    expect(logs.some((l) => l.includes("ended after 10 of the 20 bytes"))).toBe(true);
  });

  /**
   * A server whose /stream and /gen bodies fail after their first chunk;
   * errors collects what the error handler got, thrown counts the failures.
   */
  /** Routes whose bodies fail after their first chunk; log lines go to logged, errors handed to `error` to handled. */
  function failingBodies(logged: string[], thrown = { n: 0 }, handled: unknown[] = []) {
    return serve({
      onLog: (line) => void logged.push(line),
      error: (err) => {
        handled.push(err);
        return new Response("unused", { status: 599 });
      },
      routes: [
        {
          method: "GET",
          pattern: "/stream",
          fetch: () => {
            let sent = false;
            return new Response(
              new ReadableStream({
                async pull(c) {
                  await Bun.sleep(5);
                  if (sent) {
                    thrown.n++;
                    throw new Error("stream boom");
                  }
                  sent = true;
                  c.enqueue(new TextEncoder().encode("partial"));
                },
              }),
            );
          },
        },
        {
          method: "GET",
          pattern: "/gen",
          fetch: () =>
            new Response(
              (async function* () {
                yield "partial";
                await Bun.sleep(5);
                thrown.n++;
                throw new Error("generator boom");
              })() as unknown as ReadableStream,
            ),
        },
      ],
    });
  }

  test("a body that fails after its first chunk resets the stream and logs the error once", async () => {
    const logged: string[] = [];
    const handled: unknown[] = [];
    await using server = failingBodies(logged, { n: 0 }, handled);
    for (const path of ["/stream", "/gen"]) {
      const res = await h3client(["-json", "-timeout", "10s", new URL(path, server.url).href]);
      expect(res.code).not.toBe(0); // the stream was reset: no response, not a 200 with a cut body
      expect(res.out).not.toContain('"status":200');
      expect(res.err).toContain("H3_INTERNAL_ERROR");
      // (Bun's fetch over HTTP/3 takes a reset after body bytes for the end of a body without a length: not used here.)
    }
    await until(() => server.getStats().requestsActive === 0);
    expect(server.getStats().requestsActive).toBe(0);
    expect(pending(server)).toBe(0);
    const failures = logged.filter((l) => l.includes("sending the response failed"));
    expect(failures.length).toBe(2);
    expect(failures[0]).toContain("stream boom");
    expect(failures[1]).toContain("generator boom");
    expect(handled).toEqual([]); // the response had begun: not the error handler's
  }, 30_000);

  test("stop(true) after a body failed mid-stream never delivers a 200 with the cut body", async () => {
    const thrown = { n: 0 };
    const server = failingBodies([], thrown);
    const client = h3client(["-json", "-timeout", "10s", new URL("/stream", server.url).href]);
    await until(() => thrown.n === 1);
    await Bun.sleep(100);
    await server.stop(true);
    const res = await client;
    expect(res.out).not.toContain('"status":200');
    expect(res.code).not.toBe(0);
    // The stream was reset when the body failed; the stop did not end the request for it.
    expect(res.err).toContain("H3_INTERNAL_ERROR");
    expect(res.err).not.toContain("server stopped");
  }, 30_000);

  test("HEAD on an endless stream: the head alone, without a length, and the stream is cancelled", async () => {
    let pulled = 0;
    let cancelled = false;
    await using server = serve({
      fetch: () =>
        new Response(
          new ReadableStream({
            pull: (c) => void (pulled++, c.enqueue(new Uint8Array(65536))),
            cancel: () => void (cancelled = true),
          }),
        ),
    });
    const [r] = await h3clientJSON(["-X", "HEAD", server.url.href]);
    expect(r.status).toBe(200);
    expect(r.bodyLength).toBe(0);
    expect(r.headers["content-length"]).toBeUndefined(); // a GET's length is unknown
    await until(() => cancelled);
    expect(pulled).toBeLessThanOrEqual(2); // the stream's own read-ahead at most (Bun.serve pulls one chunk too)
  });

  test("a proxied fetch() response still arriving is streamed, not awaited whole", async () => {
    // The upstream never ends: answering must not wait for the whole body.
    const upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response(new ReadableStream({ pull: async (c) => void (await Bun.sleep(20), c.enqueue(new Uint8Array(1000).fill(7))) })),
    });
    try {
      await using server = serve({ fetch: () => fetch(`http://127.0.0.1:${upstream.port}/`) });
      const ac = new AbortController();
      const res = await h3fetch(server.url, { signal: ac.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let got = 0;
      for (let i = 0; i < 100 && got < 3000; i++) {
        const { value, done } = await withTimeout(reader.read(), 2000, "a chunk of the proxied stream");
        expect(done).toBe(false);
        got += value!.byteLength;
      }
      expect(got).toBeGreaterThanOrEqual(3000);
      ac.abort();
      await until(() => pending(server) === 0);
    } finally {
      upstream.stop(true);
    }
  });

  test("an in-memory body with trailers gets its real length too", async () => {
    await using server = serve({
      fetch: () => withTrailers(new Response("hello", { headers: { "content-length": "3" } }), () => ({ "x-sum": "1" })),
    });
    const [r] = await h3clientJSON([server.url.href]);
    expect(r.body).toBe("hello");
    expect(r.headers["content-length"]).toEqual(["5"]);
    expect(r.trailers["x-sum"]).toEqual(["1"]);
  });

  test("100 MiB from a ReadableStream, checksum intact", async () => {
    const chunk = bytes(1 << 20, 5);
    await using server = serve({
      fetch: () => {
        let i = 0;
        return new Response(new ReadableStream<Uint8Array>({
          pull(c) {
            if (i++ === 100) c.close();
            else c.enqueue(chunk);
          },
        }));
      },
    });
    const h = new Bun.CryptoHasher("sha256");
    for (let i = 0; i < 100; i++) h.update(chunk);
    const [r] = await h3clientJSON(["-discard", server.url.href]);
    expect(r.status).toBe(200);
    expect(r.bodyLength).toBe(MiB100);
    expect(r.bodySha256).toBe(h.digest("hex"));
  });

  test("100 MiB from Bun.file, served natively; Range requests give 206 and 416", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zig-h3-file-"));
    const path = join(dir, "big.bin");
    const data = bytes(MiB100, 3);
    writeFileSync(path, data);
    const small = join(dir, "small.txt");
    writeFileSync(small, "0123456789");
    await using server = serve({
      routes: {
        "/big": () => new Response(Bun.file(path)),
        "/small.txt": () => new Response(Bun.file(small)),
        "/missing": () => new Response(Bun.file(join(dir, "nope"))),
      },
    });
    const [big] = await h3clientJSON(["-discard", new URL("/big", server.url).href]);
    expect(big.bodyLength).toBe(MiB100);
    expect(big.bodySha256).toBe(sha256(data));
    const full = await h3fetch(new URL("/small.txt", server.url));
    expect(await full.text()).toBe("0123456789");
    expect(full.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    const part = await h3fetch(new URL("/small.txt", server.url), { headers: { range: "bytes=2-4" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-4/10");
    expect(await part.text()).toBe("234");
    const tail = await h3fetch(new URL("/small.txt", server.url), { headers: { range: "bytes=-3" } });
    expect(await tail.text()).toBe("789");
    const bad = await h3fetch(new URL("/small.txt", server.url), { headers: { range: "bytes=50-60" } });
    expect(bad.status).toBe(416);
    expect((await h3fetch(new URL("/missing", server.url))).status).toBe(404);
  });

  test("async generator bodies", async () => {
    await using server = serve({
      fetch: () =>
        new Response(
          (async function* () {
            yield "one,";
            await Bun.sleep(5);
            yield new TextEncoder().encode("two,");
            yield "three";
          })() as unknown as ReadableStream,
        ),
    });
    expect(await (await h3fetch(server.url)).text()).toBe("one,two,three");
  });

  test("response trailers, computed after the body", async () => {
    await using server = serve({
      fetch: () => {
        const h = new Bun.CryptoHasher("sha256");
        let i = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(c) {
            if (i++ === 4) return c.close();
            const b = bytes(1000, i);
            h.update(b);
            c.enqueue(b);
          },
        });
        return withTrailers(new Response(stream), () => ({ "x-checksum": h.digest("hex") }));
      },
    });
    const [r] = await h3clientJSON([server.url.href]);
    const expected = new Bun.CryptoHasher("sha256");
    for (let i = 1; i <= 4; i++) expected.update(bytes(1000, i));
    expect(r.bodyLength).toBe(4000);
    expect(r.trailers["x-checksum"]).toEqual([expected.digest("hex")]);
  });

  test("a client that aborts mid-download cancels the stream and leaves nothing behind", async () => {
    let cancelled: unknown;
    let produced = 0;
    await using server = serve({
      fetch: () =>
        new Response(new ReadableStream<Uint8Array>({
          pull(c) {
            produced += 64 * 1024;
            c.enqueue(new Uint8Array(64 * 1024));
          },
          cancel(reason) {
            cancelled = reason ?? "cancelled";
          },
        })),
    });
    const r = await h3client(["-abort-after-read", String(2 << 20), "-discard", server.url.href]);
    expect(r.out).toContain("aborted after");
    await until(() => cancelled !== undefined);
    await until(() => pending(server) === 0 && server.getStats().requestsActive === 0);
    // Backpressure: the endless stream was read only about as far as the client took it.
    expect(produced).toBeLessThan(32 << 20);
  });

  test("a slow client paces an endless producer (bounded buffering)", async () => {
    let produced = 0;
    await using server = serve({
      fetch: () =>
        new Response(new ReadableStream<Uint8Array>({
          pull(c) {
            produced += 64 * 1024;
            c.enqueue(new Uint8Array(64 * 1024));
          },
        })),
    });
    const r = await h3client(["-read-rate", String(4 << 20), "-abort-after-read", String(4 << 20), "-discard", server.url.href]);
    expect(r.out).toContain("aborted after");
    // The client read 4 MiB in about a second; QUIC windows and the library's buffer hold a few MiB more at most.
    expect(produced).toBeLessThan(24 << 20);
  });
});

describe("stop with transfers in flight", () => {
  test("stop(true) settles uploads and downloads in JS", async () => {
    let uploadError: unknown;
    let downloadCancelled = false;
    let entered = 0;
    const server = serve({
      routes: [
        {
          method: "POST",
          pattern: "/up",
          mode: "streaming",
          fetch: async (req: H3Request) => {
            entered++;
            try {
              for await (const _ of req.body!) {
                /* drain */
              }
            } catch (e) {
              uploadError = e;
            }
            return new Response("x");
          },
        },
        {
          method: "GET",
          pattern: "/down",
          fetch: () => {
            entered++;
            return new Response(new ReadableStream({
              pull: (c) => c.enqueue(new Uint8Array(65536)),
              cancel: () => {
                downloadCancelled = true;
              },
            }));
          },
        },
      ],
    });
    const up = h3client(["-upload-rate", String(1 << 20), "-data-size", String(64 << 20), new URL("/up", server.url).href]);
    const down = h3client(["-read-rate", String(1 << 20), "-discard", new URL("/down", server.url).href]);
    await until(() => entered === 2);
    await Bun.sleep(200);
    await server.stop(true);
    await until(() => uploadError !== undefined && downloadCancelled);
    expect(pending(server)).toBe(0);
    const [u, d] = await Promise.all([up, down]);
    expect(u.code).not.toBe(0);
    expect(d.code).not.toBe(0);
  });
});

describe("memory under slow peers (generous bounds; exact figures: bench/slow-memory.ts)", () => {
  test("192 MiB upload to a slow reader and 192 MiB download to a slow client keep RSS growth under 96 MiB", async () => {
    const SIZE = 192 << 20;
    const RATE = 64 << 20;
    await using server = serve({
      routes: {
        "/up": {
          POST: streaming(async (req) => {
            let n = 0;
            const t0 = performance.now();
            for await (const c of req.body!) {
              n += c.byteLength;
              const ahead = n / RATE - (performance.now() - t0) / 1000;
              if (ahead > 0.005) await Bun.sleep(ahead * 1000);
            }
            return new Response(String(n));
          }),
        },
        "/down": () => {
          let sent = 0;
          const chunk = new Uint8Array(64 * 1024);
          return new Response(new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent >= SIZE) return c.close();
              sent += chunk.byteLength;
              c.enqueue(chunk);
            },
          }));
        },
      },
    });
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    const up = await h3client(["-data-size", String(SIZE), new URL("/up", server.url).href], 60_000);
    const down = await h3client(["-read-rate", String(RATE), "-discard", "-json", new URL("/down", server.url).href], 60_000);
    clearInterval(timer);
    expect(up.out).toContain(String(SIZE));
    expect(JSON.parse(down.out).bodyLength).toBe(SIZE);
    expect((peak - before) / 2 ** 20).toBeLessThan(96);
  }, 60_000);
});
