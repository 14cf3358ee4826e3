/**
 * Benchmark client: small GETs from one Bun process with this library's
 * `h3Fetch` (client "h3fetch") or Bun's own `fetch(url, { protocol: "http3" })`
 * (client "bun"), c requests in flight, for a warm-up then a measured window.
 * Prints one JSON result (bench/result's schema): ops/s, latency
 * percentiles, and the client process's CPU time (all threads: JS and the
 * library's Go threads) in clientCpuMs, so CPU per request is
 * clientCpuMs * 1000 / ops.
 *
 *   bun bench/clients/fetch-client.ts -client h3fetch -url https://127.0.0.1:PORT/small -c 64 -duration 3s
 */
import { H3Client } from "../../bun";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`-${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function seconds(s: string): number {
  const m = /^([\d.]+)(ms|s)?$/.exec(s);
  if (!m) throw new Error(`bad duration ${s}`);
  return m[2] === "ms" ? Number(m[1]) / 1000 : Number(m[1]);
}

const client = flag("client", "h3fetch");
const url = flag("url", "");
const c = Number(flag("c", "1"));
const duration = seconds(flag("duration", "3s"));
const warmup = seconds(flag("warmup", "1s"));
if (!url) throw new Error("-url is required");

// h3Fetch is fetch on a shared default H3Client; an H3Client of its own can
// be closed before the process exits, so that the server sees its
// connections end (its counters are read after this row).
const h3 = new H3Client();
type Get = () => Promise<Response>;
const get: Get =
  client === "bun"
    ? () => fetch(url, { protocol: "http3", tls: { rejectUnauthorized: false } } as RequestInit)
    : client === "h3fetch"
      ? () => h3.fetch(url, { tls: { rejectUnauthorized: false } })
      : (() => {
          throw new Error(`unknown client ${client} (h3fetch, bun)`);
        })();

let measuring = false;
let stop = false;
let ops = 0;
let errors = 0;
const errorSample = new Set<string>();
const latencies: number[] = [];

async function worker(): Promise<void> {
  while (!stop) {
    const t0 = performance.now();
    try {
      const r = await get();
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      if (measuring) {
        ops++;
        latencies.push(performance.now() - t0);
      }
    } catch (err) {
      errors++;
      if (errorSample.size < 5) errorSample.add(String(err));
    }
  }
}

const workers = Array.from({ length: c }, () => worker());
await Bun.sleep(warmup * 1000);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
measuring = true;
await Bun.sleep(duration * 1000);
measuring = false;
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
stop = true;
await Promise.all(workers);

latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000 : 0);
console.log(
  JSON.stringify({
    scenario: `client-${client}`,
    url,
    ops,
    bytes: 0,
    seconds: secs,
    opsPerSec: ops / secs,
    mbPerSec: 0,
    p50Us: pct(0.5),
    p99Us: pct(0.99),
    errors,
    errorSample: [...errorSample],
    foreignPct: 0,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    params: { client, c, duration, warmup },
  }),
);
await h3.close();
process.exit(0);
