/**
 * HTTP/1.1 and HTTP/2 on TCP next to HTTP/3 (`http1`, on by default): curl
 * (Debian's, with nghttp2) over both, and Bun's fetch following Alt-Svc.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withTrailers } from "../bun";
import { bytes, h3fetch, run, serve, sha256 } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "zig-h3-tcp-"));
const FILE = join(dir, "file.txt");
writeFileSync(FILE, "0123456789");
const UPLOAD = join(dir, "upload.bin");
const upload = bytes(5 << 20, 7);
writeFileSync(UPLOAD, upload);

/** A server with the routes the TCP tests use. */
function tcpServer(options: { http1?: boolean; altSvc?: string | false } = {}) {
  return serve({
    ...options,
    routes: {
      "/static": new Response("static"),
      "/hello/:name": (req) => new Response(`hello ${req.params.name}`),
      "/file": new Response(Bun.file(FILE)),
      "/sum": { POST: async (req) => new Response(sha256(new Uint8Array(await req.arrayBuffer()))) },
      "/trailers": () =>
        withTrailers(new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("abc")); c.close(); } })), () => ({ "x-sum": "42" })),
    },
    maxRequestBodySize: 8 << 20,
  });
}

/** curl -sk with the protocol flag; returns the status line's version, headers (lower-case names, trailers too) and body. */
let calls = 0;
async function curl(proto: "--http1.1" | "--http2", url: string, ...args: string[]) {
  const headerFile = join(dir, `headers-${++calls}.txt`);
  const { out, err, code } = await run(["curl", "-sk", proto, "-D", headerFile, ...args, url]);
  if (code !== 0) throw new Error(`curl ${proto} ${url}: exit ${code}: ${err}`);
  // The last head (after any 100 Continue), then the trailers.
  const all = (await Bun.file(headerFile).text()).split("\r\n");
  const lines = all.slice(all.findLastIndex((l) => l.startsWith("HTTP/")));
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const [version, status] = lines[0].split(" ");
  return { version, status: Number(status), headers, body: out };
}

describe("TCP next to HTTP/3", () => {
  for (const [proto, version] of [["--http1.1", "HTTP/1.1"], ["--http2", "HTTP/2"]] as const) {
    test(`curl ${proto}: routes, Alt-Svc, a 5 MB upload, Range on a Bun.file, trailers`, async () => {
      await using server = tcpServer();
      const base = server.url.href;
      const hello = await curl(proto, base + "hello/tcp");
      expect([hello.version, hello.status, hello.body]).toEqual([version, 200, "hello tcp"]);
      expect(hello.headers["alt-svc"]).toBe(`h3=":${server.port}"; ma=86400`);
      expect((await curl(proto, base + "static")).body).toBe("static");
      const up = await curl(proto, base + "sum", "--data-binary", `@${UPLOAD}`, "-H", "content-type: application/octet-stream");
      expect([up.status, up.body]).toEqual([200, sha256(upload)]);
      const range = await curl(proto, base + "file", "-H", "range: bytes=2-4");
      expect([range.status, range.body, range.headers["content-range"]]).toEqual([206, "234", "bytes 2-4/10"]);
      const t = await curl(proto, base + "trailers");
      expect([t.body, t.headers["x-sum"]]).toEqual(["abc", "42"]);
      const missing = await curl(proto, base + "nope");
      expect(missing.status).toBe(404);
      const stats = server.getStats().requestsByProtocol;
      expect(stats[version === "HTTP/2" ? "h2" : "http/1.1"]).toBe(6);
      expect(stats.h3).toBe(0);
    });
  }

  test("Bun's fetch follows Alt-Svc: the first request over TCP, the next ones over HTTP/3", async () => {
    await using server = tcpServer();
    const script = `for (let i = 0; i < 3; i++) { const r = await fetch(process.argv[1], { tls: { rejectUnauthorized: false } }); console.log(r.status, await r.text()); await Bun.sleep(50); }`;
    const { out, err, code } = await run([process.execPath, "-e", script, server.url.href + "hello/bun"], 20_000, {
      ...process.env,
      BUN_FEATURE_FLAG_EXPERIMENTAL_HTTP3_CLIENT: "1",
    });
    expect(code, err).toBe(0);
    expect(out.trim().split("\n")).toEqual(["200 hello bun", "200 hello bun", "200 hello bun"]);
    expect(server.getStats().requestsByProtocol).toEqual({ "http/1.1": 1, h2: 0, h3: 2 });
  });

  test("altSvc changes or drops the field; http1: false is HTTP/3 only", async () => {
    {
      await using server = tcpServer({ altSvc: 'h3=":443"' });
      expect((await curl("--http2", server.url.href + "static")).headers["alt-svc"]).toBe('h3=":443"');
    }
    {
      await using server = tcpServer({ altSvc: false });
      expect((await curl("--http2", server.url.href + "static")).headers["alt-svc"]).toBeUndefined();
    }
    {
      await using server = tcpServer({ http1: false });
      const { code } = await run(["curl", "-sk", "--http2", server.url.href + "static"]);
      expect(code).toBe(7); // could not connect
      expect(await (await h3fetch(server.url.href + "static")).text()).toBe("static");
    }
    expect(() => tcpServer({ altSvc: "a\r\nb" })).toThrow(TypeError);
  });
});
