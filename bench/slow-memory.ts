/**
 * Memory under slow peers: a 1 GiB upload into a streaming handler that
 * reads slowly, and a 1 GiB streamed response to a client that reads
 * slowly. Prints RSS before, peak and after for each (the server runs in
 * this process; the client is tests/h3client in another).
 *
 *   bun run bench/slow-memory.ts [--size BYTES] [--rate BYTES_PER_SEC]
 */
import { createH3Server, streaming } from "../bun";
import { join } from "node:path";
import { mkdirSync, writeFileSync } from "node:fs";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SIZE = arg("--size", 1 << 30);
const RATE = arg("--rate", 128 << 20); // bytes per second the slow side manages
const CLIENT = join(import.meta.dir, "..", "build", "h3client");
const MiB = (n: number) => +(n / 2 ** 20).toFixed(1);

async function measure(label: string, run: () => Promise<string>) {
  Bun.gc(true);
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const out = await run();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  Bun.gc(true);
  const after = process.memoryUsage().rss;
  const row = { label, bytes: SIZE, seconds: +seconds.toFixed(1), rssBeforeMiB: MiB(before), rssPeakMiB: MiB(peak), rssAfterMiB: MiB(after), growthMiB: MiB(peak - before), client: out.trim() };
  console.log(JSON.stringify(row));
  return row;
}

async function client(args: string[]): Promise<string> {
  const p = Bun.spawn([CLIENT, "-timeout", "600s", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return out + err;
}

const chunk = new Uint8Array(64 * 1024);
const server = createH3Server({
  hostname: "127.0.0.1",
  routes: {
    "/upload": {
      POST: streaming(async (req) => {
        // A slow reader: RATE bytes per second.
        let n = 0;
        const t0 = performance.now();
        for await (const c of req.body!) {
          n += c.byteLength;
          const ahead = n / RATE - (performance.now() - t0) / 1000;
          if (ahead > 0.005) await Bun.sleep(ahead * 1000);
        }
        return new Response(`received ${n}`);
      }),
    },
    "/download": () => {
      let sent = 0;
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

const rows = [
  await measure("slow reader, streaming upload", () => client(["-data-size", String(SIZE), new URL("/upload", server.url).href])),
  await measure("slow client, streamed download", () => client(["-read-rate", String(RATE), "-discard", "-json", new URL("/download", server.url).href])),
];
await server.stop();
const dir = join(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "slow-memory.json"), JSON.stringify({ date: new Date().toISOString(), rate: RATE, rows }, null, 2));
