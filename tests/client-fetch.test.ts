/** The HTTP/3 client: h3Fetch and H3Client against Bun's own HTTP/3 server and against this library's server. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { H3Client, H3Error, h3Fetch, withTrailers, type H3Request } from "../bun";
import { bytes, ROOT, run, serve, sha256, until, withTimeout } from "./helpers";
import { bunH3Server, pinned, readAll, testCertificate, type BunH3Server } from "./client-helpers";

const MB = 1024 * 1024;

/** A response body that stays open until the client goes away (the flow of an h3Datagram route). */
const openBody = (req: Request) =>
  new Response(new ReadableStream({ start: (c) => req.signal.addEventListener("abort", () => c.close()) }));

/** A body of n bytes in 64 KiB chunks, produced only as the reader pulls (counted in produced.n). */
function pulledBody(n: number, produced = { n: 0 }, delayMs = 0): ReadableStream<Uint8Array> {
  const chunk = bytes(64 * 1024, 7);
  return new ReadableStream(
    {
      async pull(c) {
        if (delayMs) await Bun.sleep(delayMs);
        if (produced.n >= n) return c.close();
        const part = chunk.subarray(0, Math.min(chunk.byteLength, n - produced.n));
        produced.n += part.byteLength;
        c.enqueue(part);
      },
    },
    { highWaterMark: 0 },
  );
}

describe("h3Fetch against Bun.serve's HTTP/3", () => {
  let bun: BunH3Server;
  const tls = () => ({ ca: bun.cert.certPem });
  beforeAll(() => {
    bun = bunH3Server(async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/hello") return new Response("hello from bun", { headers: { "x-proto": "h3" } });
      if (path === "/hash") return new Response(sha256(new Uint8Array(await req.arrayBuffer())));
      if (path === "/4m") return new Response(pulledBody(4 * MB));
      if (path === "/slow") return new Response(pulledBody(64 * MB, { n: 0 }, 5));
      return new Response("not found", { status: 404 });
    });
  });
  afterAll(() => bun.stop());

  test("GET: status, headers, body; the CA option verifies the certificate", async () => {
    const res = await h3Fetch(new URL("/hello", bun.url), { tls: tls() });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.url).toBe(new URL("/hello", bun.url).href);
    expect(res.headers.get("x-proto")).toBe("h3");
    expect(await res.text()).toBe("hello from bun");
    expect([...(await res.trailers)]).toEqual([]);
  });

  test("a 5 MB POST arrives whole (hash checked)", async () => {
    const body = bytes(5 * 1000 * 1000, 3);
    const res = await h3Fetch(new URL("/hash", bun.url), { method: "POST", body, tls: tls() });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(sha256(body));
  });

  test("a streamed 4 MiB response is read incrementally", async () => {
    const res = await h3Fetch(new URL("/4m", bun.url), { tls: tls() });
    const { chunks, n, sha } = await readAll(res.body!);
    expect(n).toBe(4 * MB);
    expect(chunks).toBeGreaterThan(4);
    const expected = new Bun.CryptoHasher("sha256");
    const chunk = bytes(64 * 1024, 7);
    for (let i = 0; i < 64; i++) expected.update(chunk);
    expect(sha).toBe(expected.digest("hex"));
  });

  test("abort mid-body: the body stream errors with the signal's reason, never ends normally", async () => {
    const ac = new AbortController();
    const res = await h3Fetch(new URL("/slow", bun.url), { tls: tls(), signal: ac.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    ac.abort(new DOMException("stop", "AbortError"));
    let error: unknown;
    try {
      for (let i = 0; i < 10_000; i++) {
        const r = await reader.read();
        if (r.done) throw new Error("the body ended normally after an abort");
      }
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).toBe("AbortError");
    await expect(res.trailers).rejects.toBeDefined();
  });

  test("an aborted signal rejects before anything is sent; abort before the head rejects the fetch", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(h3Fetch(new URL("/hello", bun.url), { tls: tls(), signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
    const timeout = AbortSignal.timeout(1);
    await Bun.sleep(5);
    await expect(h3Fetch(new URL("/hello", bun.url), { tls: tls(), signal: timeout })).rejects.toMatchObject({ name: "TimeoutError" });
  });
});

describe("H3Client against this library's server", () => {
  test("trailers, headers and statuses", async () => {
    await using server = serve({
      routes: {
        "/trailers": () => {
          const h = new Bun.CryptoHasher("sha256");
          const stream = new ReadableStream<Uint8Array>({
            start(c) {
              for (let i = 1; i <= 4; i++) {
                const b = bytes(1000, i);
                h.update(b);
                c.enqueue(b);
              }
              c.close();
            },
          });
          return withTrailers(new Response(stream, { headers: { "x-head": "1" } }), () => ({ "x-checksum": h.digest("hex") }));
        },
        "/empty": () => new Response(null, { status: 204 }),
        "/cookies": () => {
          const h = new Headers();
          h.append("set-cookie", "a=1");
          h.append("set-cookie", "b=2");
          return new Response("c", { headers: h, status: 201 });
        },
      },
    });
    await using client = new H3Client({ tls: pinned(server) });
    const res = await client.fetch(new URL("/trailers", server.url));
    expect(res.headers.get("x-head")).toBe("1");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBe(4000);
    expect((await res.trailers).get("x-checksum")).toBe(sha256(body));
    const empty = await client.fetch(new URL("/empty", server.url));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect([...(await empty.trailers)]).toEqual([]);
    const cookies = await client.fetch(new URL("/cookies", server.url), { method: "HEAD" });
    expect(cookies.status).toBe(201);
    expect(cookies.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  test("request bodies of every BodyInit kind, with the content-type they imply", async () => {
    await using server = serve({
      routes: [
        {
          method: "POST",
          pattern: "/echo",
          mode: "streaming",
          fetch: (req) => new Response(req.body, { headers: { "x-type": req.headers.get("content-type") ?? "none" } }),
        },
      ],
    });
    await using client = new H3Client({ tls: pinned(server) });
    const url = new URL("/echo", server.url);
    const form = new FormData();
    form.append("field", "value");
    const big = bytes(3 * MB, 9);
    const cases: [string, unknown, (t: string) => void, ((b: Uint8Array) => void)?][] = [
      ["string", "hello", (t) => expect(t).toBe("text/plain;charset=UTF-8"), (b) => expect(Buffer.from(b).toString()).toBe("hello")],
      ["ArrayBuffer", new Uint8Array([1, 2, 3]).buffer, (t) => expect(t).toBe("none"), (b) => expect([...b]).toEqual([1, 2, 3])],
      ["Uint8Array view", new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4), (t) => expect(t).toBe("none"), (b) => expect([...b]).toEqual([1, 2, 3])],
      ["DataView", new DataView(new Uint8Array([4, 5]).buffer), (t) => expect(t).toBe("none"), (b) => expect([...b]).toEqual([4, 5])],
      ["Blob", new Blob(["blob!"], { type: "text/x-blob" }), (t) => expect(t).toBe("text/x-blob"), (b) => expect(Buffer.from(b).toString()).toBe("blob!")],
      ["URLSearchParams", new URLSearchParams({ a: "1", b: "x y" }), (t) => expect(t).toBe("application/x-www-form-urlencoded;charset=UTF-8"), (b) => expect(Buffer.from(b).toString()).toBe("a=1&b=x+y")],
      ["FormData", form, (t) => expect(t).toStartWith("multipart/form-data; boundary="), (b) => expect(Buffer.from(b).toString()).toContain('name="field"')],
      ["ReadableStream of 3 MiB", new Blob([big]).stream(), (t) => expect(t).toBe("none"), (b) => expect(sha256(b)).toBe(sha256(big))],
    ];
    for (const [name, body, checkType, checkBody] of cases) {
      const res = await client.fetch(url, { method: "POST", body: body as Bun.BodyInit });
      expect(res.status, name).toBe(200);
      checkType(res.headers.get("x-type")!);
      checkBody?.(new Uint8Array(await res.arrayBuffer()));
    }
    // A GET with a body is refused as fetch refuses it.
    await expect(client.fetch(url, { body: "x" })).rejects.toThrow(TypeError);
  });

  test("a large request body is paced by the server's reading (backpressure both ways), and a failing source cancels the request", async () => {
    let seen = 0;
    await using server = serve({
      routes: [
        {
          method: "POST",
          pattern: "/slow-sink",
          mode: "streaming",
          fetch: async (req) => {
            for await (const c of req.body!) {
              seen += c.byteLength;
              await Bun.sleep(1);
            }
            return new Response(String(seen));
          },
        },
      ],
    });
    await using client = new H3Client({ tls: pinned(server) });
    const produced = { n: 0 };
    const res = await client.fetch(new URL("/slow-sink", server.url), { method: "POST", body: pulledBody(8 * MB, produced) });
    expect(await res.text()).toBe(String(8 * MB));
    const failing = new ReadableStream({
      pull(c) {
        c.error(new Error("source failed"));
      },
    });
    await expect(client.fetch(new URL("/slow-sink", server.url), { method: "POST", body: failing })).rejects.toThrow("source failed");
  });

  test("an unread response is bounded: the server produces only what the windows hold", async () => {
    const produced = { n: 0 };
    await using server = serve({ routes: { "/big": () => new Response(pulledBody(64 * MB, produced)) } });
    await using client = new H3Client({ tls: pinned(server) });
    const res = await client.fetch(new URL("/big", server.url));
    await Bun.sleep(500);
    const stalled = produced.n;
    expect(stalled).toBeLessThan(4 * MB); // 256 KiB in the event window, QUIC's flow control, the server's pump (~1 MiB here)
    await Bun.sleep(200);
    expect(produced.n - stalled).toBeLessThan(MB); // nothing is read, so nothing more is sent
    const { n } = await readAll(res.body!);
    expect(n).toBe(64 * MB);
  });

  test("an HTTP/3 datagram flow echoes datagrams", async () => {
    await using server = serve({
      routes: [{ method: "POST", pattern: "/dg", fetch: openBody, h3Datagram: (p, ctx) => ctx.sendReply(p) }],
    });
    await using client = new H3Client({ tls: pinned(server) });
    const flow = await client.datagramFlow(new URL("/dg", server.url));
    expect(flow.response.status).toBe(200);
    expect(flow.maxDatagramSize).toBeGreaterThan(1000);
    expect(typeof flow.flowId).toBe("bigint");
    const reader = flow.readable.getReader();
    const writer = flow.writable.getWriter();
    for (let i = 0; i < 10; i++) {
      const msg = `datagram ${i}`;
      // Datagrams may be lost: send again until the echo comes (bounded).
      let got: string | undefined;
      for (let attempt = 0; attempt < 5 && got === undefined; attempt++) {
        await writer.write(new TextEncoder().encode(msg));
        const r = await withTimeout(reader.read(), 2000, "echo").catch(() => undefined);
        if (r?.value) got = new TextDecoder().decode(r.value);
      }
      expect(got).toBe(msg);
    }
    expect(() => flow.sendDatagram(new Uint8Array(flow.maxDatagramSize + 1))).toThrow(RangeError);
    flow.close();
    await expect(reader.read()).rejects.toBeDefined();
  });

  test("connections are pooled: reused, bounded per origin, idle-closed, replaced after the server closed them", async () => {
    await using server = serve({ routes: { "/n": () => new Response("n"), "/wait": async () => (await Bun.sleep(200), new Response("w")) } });
    const client = new H3Client({ tls: pinned(server), idleTimeout: 0.3, maxConnectionsPerOrigin: 2 });
    for (let i = 0; i < 5; i++) expect(await (await client.fetch(new URL("/n", server.url))).text()).toBe("n");
    expect(server.getStats().connectionsTotal).toBe(1);
    const many = await Promise.all(Array.from({ length: 150 }, () => client.fetch(new URL("/wait", server.url)).then((r) => r.text())));
    expect(many.every((t) => t === "w")).toBe(true);
    expect(server.getStats().connectionsTotal).toBeLessThanOrEqual(2);
    await until(() => Object.keys(client.connections).length === 0, 3000);
    expect(await (await client.fetch(new URL("/n", server.url))).text()).toBe("n");
    expect(server.getStats().connectionsTotal).toBeGreaterThanOrEqual(2);
    await client.close();
    await expect(client.fetch(new URL("/n", server.url))).rejects.toMatchObject({ code: "CLOSED" });
  });

  test("a pooled connection the server closed while idle is replaced", async () => {
    const cert = testCertificate();
    const tls = { cert: cert.certPem, key: cert.keyPem };
    const server1 = serve({ tls, routes: { "/": () => new Response("one") } });
    const port = server1.port;
    await using client = new H3Client({ tls: { ca: cert.certPem } });
    const url = `https://127.0.0.1:${port}/`;
    expect(await (await client.fetch(url)).text()).toBe("one");
    await server1.stop(true);
    await Bun.sleep(100); // the close reaches the idle connection's queue, which nothing waits on
    await using server2 = serve({ port, tls, routes: { "/": () => new Response("two") } });
    expect(await (await client.fetch(url)).text()).toBe("two");
    expect(server2.getStats().connectionsTotal).toBe(1);
    expect(client.connections).toEqual({ [`127.0.0.1:${port}`]: 1 });
  });

  test("failures: certificate refused, nobody listening, request timeout, reset stream", async () => {
    await using server = serve({
      routes: {
        "/never": (req) => new Promise<Response>((resolve) => req.signal.addEventListener("abort", () => resolve(new Response("late")))),
        "/reset": () =>
          new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new Uint8Array(1000));
              },
              async pull(c) {
                await Bun.sleep(50); // the head and the first bytes go out first (usually)
                c.error(new Error("source broke"));
              },
            }),
          ),
      },
      onLog: () => {},
    });
    // The development certificate is not signed by a system root.
    const refused = await h3Fetch(server.url).catch((e) => e);
    expect(refused).toBeInstanceOf(H3Error);
    expect(refused).toBeInstanceOf(TypeError);
    // No server on the port.
    const idle = serve({ fetch: () => new Response("x") });
    const deadPort = idle.port;
    await idle.stop(true);
    await using quick = new H3Client({ connectTimeout: 1, tls: { rejectUnauthorized: false } });
    const dead = await quick.fetch(`https://127.0.0.1:${deadPort}/`).catch((e) => e);
    expect(dead).toBeInstanceOf(H3Error);
    await using timed = new H3Client({ tls: pinned(server), requestTimeout: 0.3 });
    const timeout = await timed.fetch(new URL("/never", server.url)).catch((e) => e);
    expect(timeout).toMatchObject({ code: "TIMEOUT", name: "TimeoutError" });
    // A body that fails mid-way: the client's body stream errors (never a short body taken as
    // complete); if the reset overtakes the head, the fetch itself rejects.
    for (let i = 0; i < 5; i++) {
      const outcome = await timed.fetch(new URL("/reset", server.url)).then(
        (res) => res.text().then(() => "complete", (e) => e),
        (e) => e,
      );
      expect(outcome).toBeInstanceOf(H3Error);
      expect(outcome).toMatchObject({ appCode: 0x102 }); // H3_INTERNAL_ERROR
    }
  });

  test("redirects are followed (303 becomes GET), or returned (manual), or refused (error)", async () => {
    await using server = serve({
      routes: {
        "/from": () => new Response(null, { status: 303, headers: { location: "/to" } }),
        "/to": (req) => new Response(`${req.method} to`),
      },
    });
    await using client = new H3Client({ tls: pinned(server) });
    const res = await client.fetch(new URL("/from", server.url), { method: "POST", body: "x" });
    expect(await res.text()).toBe("GET to");
    expect(res.redirected).toBe(true);
    const manual = await client.fetch(new URL("/from", server.url), { redirect: "manual" });
    expect(manual.status).toBe(303);
    await expect(client.fetch(new URL("/from", server.url), { redirect: "error" })).rejects.toThrow(TypeError);
  });
});

describe("one process as client and server", () => {
  test("a handler of one in-process server fetches from another: both event queues on one event loop", async () => {
    await using backend = serve({ routes: { "/data": (req: H3Request) => new Response(`backend saw ${req.method}`) } });
    await using client = new H3Client({ tls: pinned(backend) });
    await using front = serve({
      routes: {
        "/proxy": async () => {
          const res = await client.fetch(new URL("/data", backend.url));
          return new Response(`front got: ${await res.text()}`);
        },
      },
    });
    await using frontClient = new H3Client({ tls: pinned(front) });
    const results = await Promise.all(Array.from({ length: 20 }, () => frontClient.fetch(new URL("/proxy", front.url)).then((r) => r.text())));
    expect(new Set(results)).toEqual(new Set(["front got: backend saw GET"]));
  });

  test("an idle client does not keep the process alive (its pooled connection waits on nothing)", async () => {
    await using server = serve({ routes: { "/": () => new Response("from the parent") } });
    const script = [
      `import { h3Fetch } from ${JSON.stringify(ROOT + "/bun/index.ts")};`,
      `const res = await h3Fetch(${JSON.stringify(server.url.href)}, { tls: { rejectUnauthorized: false } });`,
      `console.log(await res.text());`,
    ].join("\n");
    // The pool would keep the connection 30 s; the child must exit as soon as its script ends.
    const { out, err, code } = await run([process.execPath, "-e", script], 15_000);
    expect(err).toBe("");
    expect(out.trim()).toBe("from the parent");
    expect(code).toBe(0);
  });
});
