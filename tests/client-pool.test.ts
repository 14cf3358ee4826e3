/** The client's connection pool and the native clients it frees. */
import { expect, test } from "bun:test";
import { H3Client } from "../bun";
import { native } from "../bun/ffi";
import { serve } from "./helpers";
import { pinned } from "./client-helpers";

test("closing a client frees each pooled native client once (its end dropped it from the pool, which freed it again)", async () => {
  await using server = serve({ routes: { "/n": () => new Response("n") } });
  const lib = native() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const free = lib.zig_h3_client_free!;
  const freed: unknown[] = [];
  lib.zig_h3_client_free = (h: unknown) => (freed.push(h), free(h));
  try {
    const client = new H3Client({ tls: pinned(server) });
    expect(await (await client.fetch(new URL("/n", server.url))).text()).toBe("n");
    await client.close();
  } finally {
    lib.zig_h3_client_free = free;
  }
  expect(freed.length).toBe(1);
});
