/** Routing: params, precedence, fallback, 405, HEAD/OPTIONS, both route forms, reload. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { withTrailers } from "../bun";
import { H3CLIENT, h3clientJSON, h3fetch, serve, tables } from "./helpers";

const text = async (url: URL | string, init?: RequestInit) => {
  const r = await h3fetch(url, init);
  return `${r.status} ${await r.text()}`;
};

describe("routing", () => {
  test("params and precedence regardless of order (array form)", async () => {
    const hit = (name: string) => (req: Request & { params: Record<string, string> }) =>
      new Response(`${name} ${JSON.stringify(req.params)}`);
    await using server = serve({
      routes: [
        { method: "GET", pattern: "/*", fetch: hit("catchall") },
        { method: "GET", pattern: "/users/*", fetch: hit("users-wild") },
        { method: "GET", pattern: "/users/:id", fetch: hit("user") },
        { method: "GET", pattern: "/users/me", fetch: hit("me") },
        { method: "GET", pattern: "/users/:id/posts/:post", fetch: hit("post") },
      ],
    });
    const u = (p: string) => new URL(p, server.url);
    expect(await text(u("/users/me"))).toBe("200 me {}");
    expect(await text(u("/users/42"))).toBe('200 user {"id":"42"}');
    expect(await text(u("/users/a%20b"))).toBe('200 user {"id":"a b"}');
    expect(await text(u("/users/1/posts/2"))).toBe('200 post {"id":"1","post":"2"}');
    expect(await text(u("/users/1/likes"))).toBe("200 users-wild {}");
    expect(await text(u("/elsewhere"))).toBe("200 catchall {}");
  });

  test("object form: handlers, method objects and static responses", async () => {
    await using server = serve({
      routes: {
        "/static": new Response("static body", { headers: { "x-static": "1" } }),
        "/any": (req) => new Response(`any ${req.method}`),
        "/items/:id": {
          GET: (req) => new Response(`get ${req.params.id}`),
          DELETE: () => new Response(null, { status: 204 }),
        },
      },
    });
    const u = (p: string) => new URL(p, server.url);
    for (let i = 0; i < 2; i++) {
      const r = await h3fetch(u("/static"));
      expect(await r.text()).toBe("static body");
      expect(r.headers.get("x-static")).toBe("1");
    }
    expect(await text(u("/any"), { method: "PUT", body: "x" })).toBe("200 any PUT");
    expect(await text(u("/items/7"))).toBe("200 get 7");
    expect((await h3fetch(u("/items/7"), { method: "DELETE" })).status).toBe(204);
  });

  test("static responses carry an ETag and answer If-None-Match with 304, as in Bun.serve", async () => {
    await using server = serve({
      routes: {
        "/static": new Response("static body"),
        "/json": Response.json({ a: 1 }),
        "/own": new Response("x", { headers: { etag: '"mine"' } }),
        "/missing": new Response("gone", { status: 404 }),
      },
    });
    const u = (p: string) => new URL(p, server.url);
    const first = await h3fetch(u("/static"));
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(first.headers.get("content-type")).toBe("text/plain;charset=utf-8");
    expect(await first.text()).toBe("static body");
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      for (const method of ["GET", "HEAD"]) {
        const r = await h3fetch(u("/static"), { method, headers: { "if-none-match": inm } });
        expect([inm, method, r.status, r.headers.get("etag"), await r.text()]).toEqual([inm, method, 304, etag, ""]);
      }
    }
    const other = await h3fetch(u("/static"), { headers: { "if-none-match": '"other"' } });
    expect([other.status, await other.text()]).toEqual([200, "static body"]);
    const json = await h3fetch(u("/json"));
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    expect(json.headers.get("etag")).toMatch(/^"[0-9a-f]+"$/);
    expect(await json.json()).toEqual({ a: 1 });
    expect((await h3fetch(u("/own"))).headers.get("etag")).toBe('"mine"');
    const own = await h3fetch(u("/own"), { headers: { "if-none-match": '"mine"' } });
    expect([own.status, own.headers.get("etag")]).toEqual([304, '"mine"']);
    const missing = await h3fetch(u("/missing"), { headers: { "if-none-match": "*" } });
    expect([missing.status, missing.headers.get("etag")]).toEqual([404, null]);
  });

  test("the array form takes a static Response in fetch", async () => {
    await using server = serve({ routes: [{ method: "GET", pattern: "/s", fetch: new Response("static in an array") }] });
    const r = await h3fetch(new URL("/s", server.url));
    expect([r.status, await r.text(), r.headers.get("etag")?.startsWith('"')]).toEqual([200, "static in an array", true]);
    expect((await h3fetch(new URL("/s", server.url), { method: "POST" })).status).toBe(405);
  });

  test("static responses in memory and files are answered natively: also while the JS thread is blocked", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "static-")), "f.txt");
    writeFileSync(file, "from a file");
    await using server = serve({
      routes: {
        "/static": new Response("cached", { headers: { "x-s": "1", "set-cookie": "a=1" } }),
        "/moved": Response.redirect("/static", 301),
        "/empty": new Response(null, { status: 204 }),
        "/file": new Response(Bun.file(file)),
        "/slice": new Response(Bun.file(file).slice(0, 4)),
        "/trailers": withTrailers(new Response("with trailers"), () => ({ "x-t": "1" })),
        "/cached": new Response("c", { headers: { etag: '"c1"', "cache-control": "max-age=60", vary: "accept", "x-other": "1" } }),
        "/latin1": new Response("l", { headers: { "x-n": "caf\u00e9" } }),
      },
    });
    const u = (p: string) => new URL(p, server.url).href;
    // The client runs while this thread stays blocked, and leaves a file when it has both answers: the
    // thread polls for it without ever returning to the event loop (at most 4 s).
    const done = join(dirname(file), "answered");
    const client = Bun.spawn(["sh", "-c", `"${H3CLIENT}" -json "${u("/static")}" && "${H3CLIENT}" -json "${u("/file")}" && touch "${done}"`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      for (let i = 0; i < 400 && !existsSync(done); i++) Bun.sleepSync(10);
      expect(existsSync(done)).toBe(true);
    } finally {
      client.kill();
    }
    const out = (await new Response(client.stdout).text()).trim().split("\n");
    const [answer, fileAnswer] = [JSON.parse(out[0]), JSON.parse(out[1])];
    expect([answer.status, answer.body, answer.headers["x-s"], answer.headers["set-cookie"]]).toEqual([200, "cached", ["1"], ["a=1"]]);
    expect([fileAnswer.status, fileAnswer.body, fileAnswer.headers["content-type"]]).toEqual([200, "from a file", ["text/plain;charset=utf-8"]]);
    expect(tables(server).pendingExchanges).toBe(0);

    // A 304 repeats what a cache needs (RFC 9110 section 15.4.5).
    const cached = await h3fetch(u("/cached"), { headers: { "if-none-match": '"c1"' } });
    expect([cached.status, cached.headers.get("etag"), cached.headers.get("cache-control"), cached.headers.get("vary"), cached.headers.get("x-other")]).toEqual([304, '"c1"', "max-age=60", "accept", null]);
    // A value past ASCII goes out byte for byte (latin1), as from a handler.
    const latin = await h3fetch(u("/latin1"));
    expect([latin.status, await latin.text(), latin.headers.get("x-n")]).toEqual([200, "l", "caf\u00e9"]);
    const moved = await h3fetch(u("/moved"), { redirect: "manual" });
    expect([moved.status, moved.headers.get("location"), moved.headers.get("etag")]).toEqual([301, "/static", null]);
    const empty = await h3fetch(u("/empty"));
    expect([empty.status, empty.headers.get("content-length"), await empty.text()]).toEqual([204, null, ""]);
    // A static file is read at each request, with Range; a slice and trailers stay with JS.
    writeFileSync(file, "from a file, changed");
    const ranged = await h3fetch(u("/file"), { headers: { range: "bytes=0-3" } });
    expect([ranged.status, await ranged.text(), await (await h3fetch(u("/file"))).text()]).toEqual([206, "from", "from a file, changed"]);
    const slice = await h3fetch(u("/slice"));
    expect([slice.status, await slice.text()]).toEqual([200, "from"]);
    const [withT] = await h3clientJSON([u("/trailers")]);
    expect([withT.body, withT.trailers["x-t"]]).toEqual(["with trailers", ["1"]]);
  });

  test("fallback takes unmatched requests; without it 404 and 405 with Allow", async () => {
    await using withFallback = serve({
      routes: { "/only": { POST: () => new Response("post") } },
      fetch: (req) => new Response(`fallback ${req.method} ${new URL(req.url).pathname}`),
    });
    expect(await text(new URL("/nowhere", withFallback.url))).toBe("200 fallback GET /nowhere");
    expect(await text(new URL("/only", withFallback.url))).toBe("200 fallback GET /only");

    await using noFallback = serve({ routes: { "/only": { POST: () => new Response("post"), PUT: () => new Response("put") } } });
    const missing = await h3fetch(new URL("/nowhere", noFallback.url));
    expect(missing.status).toBe(404);
    const wrong = await h3fetch(new URL("/only", noFallback.url));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST, PUT, OPTIONS");
  });

  test("HEAD uses the GET route without a body; OPTIONS lists methods", async () => {
    let heads = 0;
    await using server = serve({
      routes: {
        "/page": {
          GET: (req) => {
            if (req.method === "HEAD") heads++;
            return new Response("page body", { headers: { "x-page": "1" } });
          },
          POST: () => new Response("posted"),
        },
      },
    });
    const head = await h3fetch(new URL("/page", server.url), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-page")).toBe("1");
    expect(head.headers.get("content-length")).toBe("9");
    expect(await head.text()).toBe("");
    expect(heads).toBe(1);
    const options = await h3fetch(new URL("/page", server.url), { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, POST, OPTIONS");
  });

  test("an empty body has the same head for GET and HEAD (as with Bun.serve: length 0, no type)", async () => {
    await using server = serve({ fetch: () => new Response("") });
    for (const method of ["GET", "HEAD"]) {
      const res = await h3fetch(server.url, { method });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe("0");
      expect(res.headers.get("content-type")).toBeNull();
      expect(await res.text()).toBe("");
    }
  });

  test("reload swaps routes, fallback and error handler without dropping the connection", async () => {
    await using server = serve({ routes: { "/v": new Response("v1") }, fetch: () => new Response("old fallback") });
    const u = (p: string) => new URL(p, server.url);
    expect(await text(u("/v"))).toBe("200 v1");
    server.reload({
      routes: { "/v": () => new Response("v2"), "/new": () => { throw new Error("boom"); } },
      error: (e) => new Response(`handled ${(e as Error).message}`, { status: 503 }),
    });
    expect(await text(u("/v"))).toBe("200 v2");
    expect(await text(u("/new"))).toBe("503 handled boom");
    expect((await h3fetch(u("/gone"))).status).toBe(404);
    expect(server.getStats().connectionsTotal).toBe(1);
    expect(() => server.reload({ routes: { "no-slash": () => new Response("") } as never })).toThrow(TypeError);
    expect(await text(u("/v"))).toBe("200 v2");
    // Static routes (answered natively) are swapped too.
    const before = (await h3fetch(u("/s"))).status;
    server.reload({ routes: { "/v": new Response("v3"), "/s": new Response("static") } });
    const s = await h3fetch(u("/s"));
    expect([before, s.status, await s.text(), await text(u("/v"))]).toEqual([404, 200, "static", "200 v3"]);
    expect(server.getStats().connectionsTotal).toBe(1);
  });
});
