/**
 * Soak: mixed load on one server for a while, watching memory and
 * goroutines. Small GETs, uploads, downloads, HTTP/3 datagrams, WebTransport
 * sessions opening and closing, and connection churn run in rounds; RSS and
 * the goroutine count are sampled every few seconds.
 *
 *   bun run tests/soak/soak.ts [--seconds 600] [--json results.json]
 *
 * Fails (exit 1) on: an error response or a transport failure not caused
 * by the test, a lost request (fewer responses than sent), RSS growth over
 * RSS_BOUND_MIB or goroutine growth over GOROUTINE_BOUND after the warm-up,
 * or tables left non-empty at the end.
 */
import { createH3Server } from "../../bun";
import { DGCLIENT, H3CLIENT, tables as serverTables } from "../helpers";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const SECONDS = Number(arg("--seconds", process.env.SOAK_SECONDS ?? "600"));
const JSON_OUT = arg("--json", "");
const RSS_BOUND_MIB = 64; // growth allowed after warm-up
const GOROUTINE_BOUND = 200;
const WARMUP = Math.min(20, SECONDS / 4) * 1000;

const chunk = new Uint8Array(64 * 1024);
const server = createH3Server({
  hostname: "127.0.0.1",
  routes: [
    { method: "GET", pattern: "/small", fetch: () => new Response("hello") },
    {
      method: "POST",
      pattern: "/upload",
      mode: "streaming",
      fetch: async (req) => {
        let n = 0;
        for await (const c of req.body!) n += c.byteLength;
        return new Response(String(n));
      },
    },
    {
      method: "GET",
      pattern: "/download/:mib",
      fetch: (req) => {
        let left = Number(req.params.mib) * 16;
        return new Response(new ReadableStream<Uint8Array>({
          pull: (c) => (left-- > 0 ? c.enqueue(chunk) : c.close()),
        }));
      },
    },
    {
      method: "POST",
      pattern: "/dgram",
      fetch: (req) => new Response(new ReadableStream({ start: (c) => req.signal.addEventListener("abort", () => c.close()) })),
      h3Datagram: (p, ctx) => ctx.sendReply(p),
    },
    {
      method: "CONNECT",
      pattern: "/wt",
      webtransport: (ctx) => {
        void (async () => {
          for await (const d of ctx.datagrams.readable) ctx.sendDatagram(d);
        })();
        void (async () => {
          for await (const s of ctx.incomingBidirectionalStreams) void s.readable.pipeTo(s.writable).catch(() => {});
        })();
        void (async () => {
          for await (const r of ctx.incomingUnidirectionalStreams) void r.pipeTo(await ctx.createUnidirectionalStream()).catch(() => {});
        })();
      },
    },
  ],
});

const url = (p: string) => new URL(p, server.url).href;
const failures: string[] = [];
const counts = { requests: 0, responses: 0, uploadsMiB: 0, downloadsMiB: 0, datagrams: 0, sessions: 0, rounds: 0 };

async function run(bin: string, args: string[]): Promise<string> {
  const p = Bun.spawn([bin, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) failures.push(`${bin.split("/").pop()} ${args.join(" ")}: exit ${code}: ${err.trim().slice(0, 300)}`);
  return out;
}

/** One round of every kind of load, in parallel. */
async function round(): Promise<void> {
  const jobs: Promise<void>[] = [];
  // Small GETs over several connections.
  jobs.push(run(H3CLIENT, ["-n", "400", "-c", "16", "-conns", "4", url("/small")]).then((out) => {
    counts.requests += 400;
    const m = /ok=(\d+) failed=(\d+) statuses=(\S+)/.exec(out);
    if (!m || m[2] !== "0" || m[3] !== "200:400") failures.push(`GETs: ${out.trim()}`);
    else counts.responses += Number(m[1]);
  }));
  // Upload and download.
  jobs.push(run(H3CLIENT, ["-data-size", String(8 << 20), url("/upload")]).then((out) => {
    counts.requests++;
    if (!out.includes(String(8 << 20))) failures.push(`upload: ${out.slice(0, 200)}`);
    else (counts.responses++, (counts.uploadsMiB += 8));
  }));
  jobs.push(run(H3CLIENT, ["-discard", "-json", url("/download/8")]).then((out) => {
    counts.requests++;
    try {
      if (JSON.parse(out).bodyLength !== 8 << 20) throw new Error("short");
      counts.responses++;
      counts.downloadsMiB += 8;
    } catch {
      failures.push(`download: ${out.slice(0, 200)}`);
    }
  }));
  // HTTP/3 datagrams and a WebTransport session (opened, used, closed).
  jobs.push(run(DGCLIENT, ["h3-dgram", "-url", url("/dgram"), "-n", "20", "-requests", "2", "-idle", "300ms"]).then((out) => {
    try {
      for (const r of JSON.parse(out).requests) {
        if (r.status !== 200) failures.push(`h3-dgram status ${r.status}`);
        counts.datagrams += r.received;
      }
    } catch {
      failures.push(`h3-dgram: ${out.slice(0, 200)}`);
    }
  }));
  jobs.push(run(DGCLIENT, ["wt", "-url", url("/wt"), "-datagrams", "20", "-bidi", "16384", "-streams", "2", "-uni", "1000", "-idle", "300ms"]).then((out) => {
    try {
      const r = JSON.parse(out);
      if (r.status !== 200 || !r.bidi.every((b: { ok: boolean }) => b.ok) || !r.uni.ok) failures.push(`wt: ${out.slice(0, 200)}`);
      counts.sessions++;
      counts.datagrams += r.datagrams.received;
    } catch {
      failures.push(`wt: ${out.slice(0, 200)}`);
    }
  }));
  // Connection churn: many short connections.
  jobs.push(run(H3CLIENT, ["-n", "40", "-c", "8", "-conns", "40", url("/small")]).then((out) => {
    counts.requests += 40;
    const m = /ok=(\d+) failed=(\d+)/.exec(out);
    if (!m || m[2] !== "0") failures.push(`churn: ${out.trim()}`);
    else counts.responses += Number(m[1]);
  }));
  await Promise.all(jobs);
  counts.rounds++;
}

const samples: { t: number; rssMiB: number; goroutines: number }[] = [];
const sample = () => {
  Bun.gc(true);
  samples.push({
    t: Math.round(performance.now()),
    rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
    goroutines: server.getStats().goroutines,
  });
};

const t0 = performance.now();
sample();
const sampler = setInterval(sample, 3000);
while (performance.now() - t0 < SECONDS * 1000 && failures.length === 0) await round();
clearInterval(sampler);
await Bun.sleep(500);
sample();

const warm = samples.filter((s) => s.t - samples[0].t >= WARMUP);
const base = warm[0] ?? samples[0];
const end = samples[samples.length - 1];
const peak = Math.max(...warm.map((s) => s.rssMiB));
if (peak - base.rssMiB > RSS_BOUND_MIB) failures.push(`RSS grew ${(peak - base.rssMiB).toFixed(1)} MiB after warm-up (bound ${RSS_BOUND_MIB})`);
if (end.goroutines - base.goroutines > GOROUTINE_BOUND) failures.push(`goroutines grew ${base.goroutines} -> ${end.goroutines}`);
if (counts.responses !== counts.requests) failures.push(`lost requests: ${counts.requests} sent, ${counts.responses} answered`);
const stats = server.getStats();
const tables = serverTables(server);
await server.stop();
if (tables.pendingExchanges !== 0 || tables.pendingSessions.sessions !== 0 || tables.pendingSessions.streams !== 0) {
  failures.push(`tables not empty: ${tables.pendingExchanges} exchanges, ${JSON.stringify(tables.pendingSessions)}`);
}

const result = {
  seconds: Math.round((performance.now() - t0) / 1000),
  ...counts,
  serverRequests: stats.requests,
  datagramsReceived: stats.datagramsReceived,
  datagramsDropped: stats.datagramsDropped,
  rssStartMiB: samples[0].rssMiB,
  rssAfterWarmupMiB: base.rssMiB,
  rssPeakMiB: peak,
  rssEndMiB: end.rssMiB,
  goroutinesAfterWarmup: base.goroutines,
  goroutinesEnd: end.goroutines,
  failures,
};
console.log(JSON.stringify(result, null, 2));
if (JSON_OUT) await Bun.write(JSON_OUT, JSON.stringify({ ...result, samples }, null, 2));
process.exit(failures.length === 0 ? 0 : 1);
