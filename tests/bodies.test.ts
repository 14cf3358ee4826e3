/** Request and response bodies of every kind and size, over Bun's HTTP/3 client. */
import { describe, expect, test } from "bun:test";
import { bytes, h3fetch, quietErrors, serve, sha256 } from "./helpers";

describe("response bodies", () => {
  // The fourth element: what the case logs (an expected error), matched line by line; nothing else may be logged.
  const cases: [string, () => Response, (r: Response) => Promise<void>, RegExp[]?][] = [
    ["string", () => new Response("héllo"), async (r) => {
      expect(await r.text()).toBe("héllo");
      expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    }],
    ["ArrayBuffer", () => new Response(new Uint8Array([1, 2, 3]).buffer), async (r) => {
      expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([1, 2, 3]);
    }],
    ["typed array", () => new Response(new Uint16Array([0x0102, 0x0304])), async (r) => {
      expect(new Uint8Array(await r.arrayBuffer()).byteLength).toBe(4);
    }],
    ["string with a header value naming content-type", () => new Response("x", { headers: { "access-control-allow-headers": "content-type" } }), async (r) => {
      expect(await r.text()).toBe("x");
      expect(r.headers.get("access-control-allow-headers")).toBe("content-type");
      expect(r.headers.get("content-type")).toBe("text/plain;charset=utf-8");
    }],
    ["Blob", () => new Response(new Blob(["a", "b"], { type: "application/x-test" })), async (r) => {
      expect(await r.text()).toBe("ab");
      expect(r.headers.get("content-type")).toBe("application/x-test");
    }],
    ["FormData", () => {
      const f = new FormData();
      f.append("field", "value");
      return new Response(f);
    }, async (r) => {
      expect(r.headers.get("content-type")).toMatch(/^multipart\/form-data; boundary=/);
      const form = await r.formData();
      expect(form.get("field")).toBe("value");
    }],
    ["URLSearchParams", () => new Response(new URLSearchParams({ a: "1", b: "x y" })), async (r) => {
      expect(r.headers.get("content-type")).toMatch(/^application\/x-www-form-urlencoded/);
      expect(await r.text()).toBe("a=1&b=x+y");
    }],
    ["Response.json", () => Response.json({ ok: true, n: [1, 2] }, { status: 201 }), async (r) => {
      expect(r.status).toBe(201);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await r.json()).toEqual({ ok: true, n: [1, 2] });
    }],
    ["null body", () => new Response(null, { status: 200 }), async (r) => {
      expect(await r.text()).toBe("");
      expect(r.headers.get("content-length")).toBe("0");
    }],
    ["string with a wrong declared content-length: the body's length wins, as in Bun.serve", () => new Response("hello world", { headers: { "content-length": "3" } }), async (r) => {
      expect(r.headers.get("content-length")).toBe("11");
      expect(await r.text()).toBe("hello world");
    }],
    ["connection-specific headers are left out (HTTP/3 forbids them; clients refuse the response)", () => new Response("c", { headers: { connection: "close", "keep-alive": "timeout=5", "x-kept": "1" } }), async (r) => {
      expect(await r.text()).toBe("c");
      expect(r.headers.get("connection")).toBeNull();
      expect(r.headers.get("keep-alive")).toBeNull();
      expect(r.headers.get("x-kept")).toBe("1");
    }],
    ["Response.error() (status 0) gets 500 at once", () => Response.error(), async (r) => {
      expect(r.status).toBe(500);
    }, [/^\[zig-h3\] sending the response failed: TypeError: the response was refused: invalid argument: status 0 is outside 100-599$/]],
    ["205 has no content", () => new Response("reset", { status: 205 }), async (r) => {
      expect(r.status).toBe(205);
      expect(await r.text()).toBe("");
    }],
    ["204", () => new Response(null, { status: 204 }), async (r) => {
      expect(r.status).toBe(204);
      expect(await r.text()).toBe("");
    }],
    ["304", () => new Response(null, { status: 304, headers: { etag: '"v1"' } }), async (r) => {
      expect(r.status).toBe(304);
      expect(r.headers.get("etag")).toBe('"v1"');
    }],
  ];
  for (const [name, make, check, logs = []] of cases) {
    test(name, async () => {
      await using server = serve({ fetch: make });
      const { logged } = await quietErrors(async () => {
        const res = await h3fetch(server.url);
        await check(res);
      });
      expect(logged).toHaveLength(logs.length);
      logs.forEach((re, i) => expect(logged[i]).toMatch(re));
    });
  }

  test("async handler and sizes (empty, 1 KiB, 512 KiB)", async () => {
    await using server = serve({
      fetch: async (req) => {
        await Bun.sleep(1);
        return new Response(bytes(Number(new URL(req.url).searchParams.get("n")), 7));
      },
    });
    for (const n of [0, 1024, 512 * 1024]) {
      const res = await h3fetch(new URL(`/?n=${n}`, server.url));
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.byteLength).toBe(n);
      expect(sha256(body)).toBe(sha256(bytes(n, 7)));
      expect(res.headers.get("content-length")).toBe(String(n));
    }
  });
});

describe("request bodies", () => {
  const LIMIT = 64 * 1024;
  const echo = () =>
    serve({
      maxRequestBodySize: LIMIT,
      fetch: async (req) => {
        const body = new Uint8Array(await req.arrayBuffer());
        return Response.json({ len: body.byteLength, sha: sha256(body), type: req.headers.get("content-type") });
      },
    });

  test("empty, 1 KiB, exactly the limit", async () => {
    await using server = echo();
    for (const n of [0, 1024, LIMIT]) {
      const data = bytes(n, n);
      const res = await h3fetch(server.url, { method: "POST", body: data });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ len: n, sha: sha256(data) });
    }
  });

  test("over the limit gets 413 and the handler does not run", async () => {
    let calls = 0;
    await using server = serve({
      maxRequestBodySize: LIMIT,
      fetch: () => {
        calls++;
        return new Response("ran");
      },
    });
    const res = await h3fetch(server.url, { method: "POST", body: bytes(LIMIT + 1) });
    expect(res.status).toBe(413);
    await res.arrayBuffer();
    expect(calls).toBe(0);
    expect(server.getStats().requestsRejected).toBe(1);
  });

  test("512 KiB under the default 1 MiB limit, 413 over it", async () => {
    await using server = serve({
      fetch: async (req) => new Response(sha256(new Uint8Array(await req.arrayBuffer()))),
    });
    const data = bytes(512 * 1024, 3);
    const ok = await h3fetch(server.url, { method: "PUT", body: data });
    expect(await ok.text()).toBe(sha256(data));
    const tooBig = await h3fetch(server.url, { method: "PUT", body: bytes(1024 * 1024 + 1) });
    expect(tooBig.status).toBe(413);
  });

  test("text, JSON, form and binary bodies arrive intact", async () => {
    await using server = serve({
      routes: {
        "/text": { POST: async (req) => new Response((await req.text()).toUpperCase()) },
        "/json": { POST: async (req) => Response.json({ got: await req.json() }) },
        "/form": { POST: async (req) => new Response(String((await req.formData()).get("k"))) },
        "/bin": { POST: async (req) => new Response(sha256(new Uint8Array(await req.arrayBuffer()))) },
      },
    });
    const post = (path: string, body: string | Uint8Array | URLSearchParams, headers?: Record<string, string>) =>
      h3fetch(new URL(path, server.url), { method: "POST", body, headers });
    expect(await (await post("/text", "héllo wörld")).text()).toBe("HÉLLO WÖRLD");
    expect(await (await post("/json", JSON.stringify({ a: [1] }), { "content-type": "application/json" })).json()).toEqual({ got: { a: [1] } });
    expect(await (await post("/form", new URLSearchParams({ k: "v w" }))).text()).toBe("v w");
    const bin = new Uint8Array(256).map((_, i) => i);
    expect(await (await post("/bin", bin)).text()).toBe(sha256(bin));
  });
});

describe("headers", () => {
  test("request and response headers round trip, multi-value and set-cookie kept", async () => {
    await using server = serve({
      fetch: (req) => {
        const h = new Headers();
        h.append("x-seen", req.headers.get("x-custom") ?? "none");
        h.append("x-multi", "a");
        h.append("x-multi", "b");
        h.append("set-cookie", "a=1; Path=/");
        h.append("set-cookie", "b=2; HttpOnly");
        h.set("x-accept", req.headers.get("accept") ?? "");
        return new Response("ok", { status: 299, headers: h });
      },
    });
    const res = await h3fetch(server.url, { headers: { "X-Custom": "value 1", accept: "text/x-test" } });
    expect(res.status).toBe(299);
    expect(res.headers.get("x-seen")).toBe("value 1");
    expect(res.headers.get("x-multi")).toBe("a, b");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(res.headers.get("x-accept")).toBe("text/x-test");
  });

  test("request URL, method and query are real", async () => {
    await using server = serve({
      fetch: (req) => Response.json({ url: req.url, method: req.method, q: new URL(req.url).searchParams.get("q"), host: req.headers.get("host") }),
    });
    const res = await h3fetch(new URL("/a/b?q=1%202", server.url), { method: "PATCH", body: "x" });
    // HTTP/3 sends the host as :authority; handlers find it in Host, as with Bun.serve.
    const host = `127.0.0.1:${server.port}`;
    expect(await res.json()).toEqual({ url: `https://${host}/a/b?q=1%202`, method: "PATCH", q: "1 2", host });
  });
});
