/** stop() and stop(true) with 1,000 requests in flight: every promise settles and the process exits 0. */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { H3CLIENT, ROOT } from "./helpers";

const script = (force: boolean) => `
  import { createH3Server } from ${JSON.stringify(join(ROOT, "bun"))};
  let inflight = 0, settled = 0, aborted = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const server = createH3Server({
    hostname: "127.0.0.1",
    fetch: async (req) => {
      inflight++;
      req.signal.addEventListener("abort", () => aborted++);
      try { await gate; return new Response("done"); } finally { settled++; }
    },
  });
  const client = Bun.spawn([${JSON.stringify(H3CLIENT)}, "-timeout", "30s", "-n", "1000", "-c", "1000", "-conns", "10", server.url.href], { stdout: "pipe", stderr: "pipe" });
  for (let i = 0; i < 3000 && inflight < 1000; i++) await Bun.sleep(10);
  const stopping = server.stop(${force});
  ${force ? "" : "await Bun.sleep(100); release();"}
  await stopping;
  release();
  const out = await new Response(client.stdout).text();
  await client.exited;
  await Bun.sleep(50);
  console.log(JSON.stringify({ inflight, settled, aborted, client: out.trim(), stats: server.getStats().requestsActive }));
`;

for (const force of [false, true]) {
  test(`stop(${force}) with 1,000 requests in flight`, async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zig-h3-load-")), "stop.ts");
    await Bun.write(file, script(force));
    const proc = Bun.spawn([process.execPath, "run", file], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    expect(err).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r.inflight).toBe(1000);
    expect(r.settled).toBe(1000);
    expect(r.stats).toBe(0); // requestsActive once stopped
    if (force) {
      expect(r.aborted).toBe(1000); // every pending handler learned the server stopped
    } else {
      expect(r.aborted).toBe(0);
      expect(r.client).toContain("ok=1000 failed=0"); // graceful: every in-flight request finished
    }
  }, 90_000);
}
