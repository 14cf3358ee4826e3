/** Lifecycle, stats, concurrency, stop, exit, certificates, client addresses. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { ROOT, h3client, h3clientJSON, h3fetch, quietErrors, serve, tables } from "./helpers";

describe("server properties", () => {
  test("port, hostname, url, running, development certificate hash", async () => {
    const server = serve({ fetch: () => new Response("x") });
    expect(server.port).toBeGreaterThan(0);
    expect(server.hostname).toBe("127.0.0.1");
    expect(server.url.href).toBe(`https://127.0.0.1:${server.port}/`);
    expect(server.running).toBe(true);
    expect(server.developmentCertificate).toBe(true);
    expect(server.certificateHash).toBeInstanceOf(Uint8Array);
    expect(server.certificateHash.byteLength).toBe(32);
    expect(server.certificateHash.some((b) => b !== 0)).toBe(true);
    await server.stop();
    expect(server.running).toBe(false);
    await server.stop(); // idempotent
  });

  test("a given certificate is used (PEM text and Bun.file), never the development one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zig-h3-cert-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", key, "-out", cert, "-days", "10", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    expect(gen.exitCode).toBe(0);
    const der = new Bun.CryptoHasher("sha256");
    const pem = readFileSync(cert, "utf8");
    const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const expected = createHash("sha256").update(Buffer.from(b64, "base64")).digest("hex");
    void der;
    for (const tls of [{ cert: pem, key: readFileSync(key, "utf8") }, { cert: Bun.file(cert), key: Bun.file(key) }]) {
      await using server = serve({ tls, fetch: () => new Response("custom cert") });
      expect(server.developmentCertificate).toBe(false);
      expect(Buffer.from(server.certificateHash).toString("hex")).toBe(expected);
      expect(await (await h3fetch(server.url)).text()).toBe("custom cert");
    }
    await using byPath = serve({ certPath: cert, keyPath: key, fetch: () => new Response("by path") });
    expect(byPath.developmentCertificate).toBe(false);
    expect(await (await h3fetch(byPath.url)).text()).toBe("by path");
  });

  test("requestIP gives the client address", async () => {
    let seen: unknown;
    await using server = serve({
      fetch: (req, srv) => {
        seen = srv.requestIP(req);
        return new Response("ok");
      },
    });
    await (await h3fetch(server.url)).text();
    expect(seen).toMatchObject({ address: "127.0.0.1", family: "IPv4" });
    expect((seen as { port: number }).port).toBeGreaterThan(0);
    expect(server.requestIP(new Request("https://x/"))).toBeNull();
  });
});

describe("load and stats", () => {
  test("200 concurrent requests over 4 connections, stats accurate", async () => {
    await using server = serve({
      routes: { "/n/:i": async (req) => { await Bun.sleep(1); return new Response(`n=${req.params.i}`); } },
    });
    const { out, code, err } = await h3client(["-n", "200", "-c", "50", "-conns", "4", new URL("/n/1", server.url).href]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("ok=200 failed=0");
    expect(out).toContain("200:200");
    const stats = server.getStats();
    expect(stats.requests).toBe(200);
    expect(stats.connectionsTotal).toBe(4);
    expect(stats.requestsActive).toBe(0);
    expect(stats.requestsRejected).toBe(0);
    expect(stats.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  test("getStats after stop keeps the last values, with uptimeMs frozen", async () => {
    const server = serve({ fetch: () => new Response("s") });
    await h3client(["-n", "3", server.url.href]);
    await Bun.sleep(20);
    await server.stop();
    const after = server.getStats();
    expect(after.requests).toBe(3);
    expect(after.requestsByProtocol.h3).toBe(3);
    expect(after.connectionsTotal).toBe(1);
    expect(after.requestsActive).toBe(0);
    expect(after.uptimeMs).toBeGreaterThanOrEqual(20);
    await Bun.sleep(50);
    expect(server.getStats()).toEqual(after);
  });

  test("concurrent Bun fetches each get their own answer", async () => {
    await using server = serve({ routes: { "/echo/:v": (req) => new Response(req.params.v) } });
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => (await h3fetch(new URL(`/echo/${i}`, server.url))).text()),
    );
    expect(answers).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    const stats = server.getStats();
    expect(stats.requests).toBe(100);
    expect(stats.connectionsActive).toBeGreaterThanOrEqual(1);
  });
});

describe("stop", () => {
  test("graceful stop lets an in-flight request finish", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const server = serve({
      fetch: async () => {
        entered();
        await gate;
        return new Response("finished");
      },
    });
    const pending = h3clientJSON([server.url.href]);
    await inHandler;
    let stopped = false;
    const stopping = server.stop().then(() => (stopped = true));
    await Bun.sleep(100);
    expect(stopped).toBe(false);
    expect(server.running).toBe(false);
    release();
    const [res] = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toBe("finished");
    await stopping;
    expect(stopped).toBe(true);
  });

  test("graceful stop refuses new connections", async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = serve({ fetch: async () => { entered(); await gate; return new Response("x"); } });
    const first = h3client([server.url.href]);
    await inHandler;
    const stopping = server.stop();
    const refused = await h3client(["-timeout", "5s", server.url.href]);
    expect(refused.code).not.toBe(0);
    release();
    await first;
    await stopping;
  });

  test("force stop closes connections and aborts pending handlers' signals", async () => {
    let signal!: AbortSignal;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const server = serve({
      fetch: (req) => {
        signal = req.signal;
        entered();
        return new Promise<Response>(() => {}); // never answers
      },
    });
    const client = h3client([server.url.href]);
    await inHandler;
    const t0 = performance.now();
    await server.stop(true);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(signal.aborted).toBe(true);
    const { code } = await client;
    expect(code).not.toBe(0);
    expect(server.getStats().connectionsActive).toBe(0);
  });

  test("a client that goes away aborts req.signal and frees the request", async () => {
    let signal!: AbortSignal;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    await using server = serve({
      fetch: (req) => {
        signal = req.signal;
        entered();
        return new Promise<Response>(() => {}); // never answers
      },
    });
    const client = h3client(["-timeout", "300ms", server.url.href]); // gives up: resets the stream, closes
    await inHandler;
    expect((await client).code).not.toBe(0);
    for (let i = 0; i < 100 && !signal.aborted; i++) await Bun.sleep(20);
    expect(signal.aborted).toBe(true);
    expect(server.getStats().requestsActive).toBe(0);
  });

  test("await using stops the server", async () => {
    let port = 0;
    {
      await using server = serve({ fetch: () => new Response("") });
      port = server.port;
    }
    const again = serve({ port, fetch: () => new Response("rebound") });
    expect(await (await h3fetch(again.url)).text()).toBe("rebound");
    await again.stop();
  });

  for (const force of [false, true]) {
    test(`the process exits by itself after stop(${force})`, async () => {
      const script = `
        import { createH3Server } from ${JSON.stringify(join(ROOT, "bun"))};
        const server = createH3Server({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("bye") });
        const r = await fetch(server.url, { protocol: "http3", tls: { rejectUnauthorized: false } });
        console.log(await r.text());
        await server.stop(${force});
        console.log("stopped");
      `;
      const dir = mkdtempSync(join(tmpdir(), "zig-h3-exit-"));
      const file = join(dir, "exit.ts");
      await Bun.write(file, script);
      const proc = Bun.spawn([process.execPath, "run", file], { stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      expect(err).toBe("");
      expect(out).toBe("bye\nstopped\n");
      expect(code).toBe(0);
    });
  }

  test("the process exits by itself after a createH3Server that failed to bind", async () => {
    const script = `
      import { createH3Server } from ${JSON.stringify(join(ROOT, "bun"))};
      const first = createH3Server({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("first") });
      try {
        createH3Server({ hostname: "127.0.0.1", port: first.port, fetch: () => new Response("second") });
        console.log("bound twice");
      } catch (err) {
        console.log(/address already in use/.test(String(err)) ? "refused" : String(err));
      }
      await first.stop();
      console.log("stopped");
    `;
    const dir = mkdtempSync(join(tmpdir(), "zig-h3-exit-"));
    const file = join(dir, "bindfail.ts");
    await Bun.write(file, script);
    const proc = Bun.spawn([process.execPath, "run", file], { stdout: "pipe", stderr: "pipe" });
    let killed = false;
    const timer = setTimeout(() => ((killed = true), proc.kill("SIGKILL")), 10_000);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    expect(err).toBe("");
    expect(out).toBe("refused\nstopped\n");
    expect(killed).toBe(false);
    expect(code).toBe(0);
  }, 15_000);
});

describe("logging and qlog", () => {
  test("onLog receives lines at the chosen level; qlogDir gets one file per connection", async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), "zig-h3-qlog-"));
    const server = serve({ logLevel: "debug", onLog: (l) => lines.push(l), qlogDir: dir, fetch: () => new Response("q") });
    expect(await (await h3fetch(server.url)).text()).toBe("q");
    await server.stop();
    expect(lines.some((l) => l.startsWith("listening on 127.0.0.1:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("connection from 127.0.0.1:"))).toBe(true);
    const files = [...new Bun.Glob("*_server.sqlog").scanSync(dir)];
    expect(files.length).toBe(1);
    expect(readFileSync(join(dir, files[0]), "utf8")).toContain("quic");
  });

  test("with onLog, the wrapper's own warnings go there, not to the console", async () => {
    const lines: string[] = [];
    const server = serve({
      onLog: (l) => lines.push(l),
      routes: [{ method: "GET", pattern: "/throws", fetch: () => { throw new Error("handler boom"); } }],
    });
    const { result, logged } = await quietErrors(async () => {
      const warned: string[] = [];
      const warn = console.warn;
      console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(" "));
      try {
        const res = await h3fetch(new URL("/throws", server.url));
        return { status: res.status, warned };
      } finally {
        console.warn = warn;
      }
    });
    await server.stop();
    expect(result.status).toBe(500);
    expect(logged).toEqual([]);
    expect(result.warned).toEqual([]);
    expect(lines.filter((l) => l.startsWith("handler failed: Error: handler boom"))).toHaveLength(1);
  });

  test("the default level keeps info lines away", async () => {
    const lines: string[] = [];
    const server = serve({ onLog: (l) => lines.push(l), fetch: () => new Response("") });
    await (await h3fetch(server.url)).text();
    await server.stop();
    expect(lines).toEqual([]);
  });
});

describe("request timeout", () => {
  test("a handler that never answers: 503 after requestTimeout, signal aborts with TimeoutError, state freed, counted", async () => {
    let signal!: AbortSignal;
    await using server = serve({
      requestTimeout: 0.3,
      routes: {
        "/hang": (req) => {
          signal = req.signal;
          return new Promise<Response>(() => {});
        },
        "/poll": (req, srv) => {
          srv.timeout(req, 0); // a long poll: no limit
          return new Promise<Response>((r) => setTimeout(() => r(new Response("late but fine")), 600));
        },
      },
    });
    const t0 = performance.now();
    const res = await h3fetch(new URL("/hang", server.url));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("Request timed out\n");
    expect(performance.now() - t0).toBeGreaterThan(250);
    for (let i = 0; i < 100 && !signal.aborted; i++) await Bun.sleep(10);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
    expect(server.getStats().requestsTimedOut).toBe(1);
    expect(tables(server).pendingExchanges).toBe(0);
    const poll = await h3fetch(new URL("/poll", server.url));
    expect(await poll.text()).toBe("late but fine");
  });

  test("requestTimeout is validated", () => {
    expect(() => serve({ requestTimeout: -1, fetch: () => new Response("") })).toThrow(RangeError);
  });
});
