/**
 * Several worker processes on one port (reusePort), started from
 * examples/cluster.ts in worker mode, with build/clusterclient holding 20
 * connections from 20 client sockets.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, run, withTimeout } from "./helpers";

const EXAMPLE = join(ROOT, "examples", "cluster.ts");
const CLUSTERCLIENT = process.env.CLUSTERCLIENT ?? join(ROOT, "build", "clusterclient");
const SECRET = "cluster test secret, 32 bytes..";

type Worker = { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; port: number };

/** Starts `examples/cluster.ts` as worker id and waits (bounded) until it listens. */
async function startWorker(id: number, port: number): Promise<Worker> {
  const proc = Bun.spawn([process.execPath, EXAMPLE], {
    env: { ...process.env, H3_WORKER_ID: String(id), WORKERS: "2", PORT: String(port), CLUSTER_SECRET: SECRET, HOST: "127.0.0.1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const listening = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`worker ${id} exited: ${await new Response(proc.stderr).text()}`);
      seen += value;
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)\//.exec(seen);
      if (m) return Number(m[1]);
    }
  })();
  try {
    return { proc, port: await withTimeout(listening, 10_000, `worker ${id} listening`) };
  } catch (err) {
    proc.kill();
    throw err;
  }
}

/** Stops a worker as the primary does (SIGTERM: a graceful stop) and waits for it. */
async function stopWorker(w: Worker): Promise<void> {
  w.proc.kill("SIGTERM");
  await withTimeout(w.proc.exited, 10_000, "worker exit");
}

/** build/clusterclient: 20 connections; ask() and migrate() answer one JSON line each. */
class ClusterClient {
  #proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  #lines: { read(): Promise<{ value?: string; done: boolean }> };
  #buffered = "";

  constructor(port: number) {
    this.#proc = Bun.spawn([CLUSTERCLIENT, "-conns", "20", `https://127.0.0.1:${port}/`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    this.#lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async #command(cmd: string): Promise<{ bodies?: string[]; errors: string[] }> {
    this.#proc.stdin.write(cmd + "\n");
    this.#proc.stdin.flush();
    const line = (async () => {
      for (;;) {
        const nl = this.#buffered.indexOf("\n");
        if (nl >= 0) {
          const l = this.#buffered.slice(0, nl);
          this.#buffered = this.#buffered.slice(nl + 1);
          return JSON.parse(l);
        }
        const { value, done } = await this.#lines.read();
        if (done) throw new Error(`clusterclient exited: ${await new Response(this.#proc.stderr).text()}`);
        this.#buffered += value;
      }
    })();
    return withTimeout(line, 15_000, `clusterclient ${cmd}`);
  }

  /** The worker answering each connection ("" when the request failed). */
  async ask(): Promise<{ workers: string[]; errors: string[] }> {
    const r = await this.#command("ask");
    return { workers: r.bodies!.map((b) => /^Hello from worker (\d+)/.exec(b)?.[1] ?? ""), errors: r.errors };
  }

  async migrate(): Promise<string[]> {
    return (await this.#command("migrate")).errors;
  }

  async close(): Promise<void> {
    this.#proc.stdin.end();
    await withTimeout(this.#proc.exited, 10_000, "clusterclient exit").catch(() => this.#proc.kill());
  }
}

describe("two worker processes on one port", () => {
  let workers: Worker[] = [];
  let client: ClusterClient;
  let owners: string[] = [];

  beforeAll(async () => {
    const w0 = await startWorker(0, 0);
    workers = [w0, await startWorker(1, w0.port)];
    client = new ClusterClient(w0.port);
  });
  afterAll(async () => {
    await client?.close();
    for (const w of workers) w.proc.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.proc.exited));
  });

  test("connections from 20 client ports reach both workers", async () => {
    const { workers: seen, errors } = await client.ask();
    expect(errors).toEqual(Array(20).fill(""));
    expect(seen.sort().filter((w, i, a) => a.indexOf(w) === i)).toEqual(["0", "1"]);
    owners = (await client.ask()).workers; // the same again, connection by connection
    expect(owners.slice().sort()).toEqual(seen);
  });

  test("20 of 20 connections moved to a new client address keep their worker", async () => {
    expect(await client.migrate()).toEqual(Array(20).fill(""));
    for (let round = 0; round < 3; round++) {
      const { workers: after, errors } = await client.ask();
      expect(errors).toEqual(Array(20).fill(""));
      expect(after).toEqual(owners);
    }
  });

  test("a second worker with a taken ID fails to start, saying so", async () => {
    const { err, code } = await run([process.execPath, EXAMPLE], 15_000, {
      ...process.env, H3_WORKER_ID: "1", WORKERS: "2", PORT: String(workers[0].port), CLUSTER_SECRET: SECRET, HOST: "127.0.0.1",
    });
    expect(code).not.toBe(0);
    expect(err).toContain(`worker id 1 is already taken on port ${workers[0].port}`);
  });

  test("a TLS session resumes with 0-RTT at either worker (shared clusterSecret)", async () => {
    const { out, err, code } = await run([CLUSTERCLIENT, "-resume", "12", `https://127.0.0.1:${workers[0].port}/`]);
    expect(code, err).toBe(0);
    const r = JSON.parse(out) as { bodies: string[]; used0rtt: boolean[]; errors: string[] };
    expect(r.errors).toEqual(Array(12).fill(""));
    expect(r.used0rtt).toEqual(Array(12).fill(true));
    const seen = new Set(r.bodies.map((b) => /^Hello from worker (\d+)/.exec(b)?.[1]));
    expect([...seen].sort()).toEqual(["0", "1"]);
  });

  test("req.earlyData and 425 for what an intermediary forwarded from early data", async () => {
    const url = `https://127.0.0.1:${workers[0].port}/`;
    const get = await run([join(ROOT, "build", "h3client"), "-H", "early-data: 1", url]);
    expect(get.out).toContain(", in 0-RTT");
    const post = await run([join(ROOT, "build", "h3client"), "-X", "POST", "-d", "x", "-H", "early-data: 1", url]);
    expect(post.out).toStartWith("HTTP/3 425");
  });

  test("one worker stopping leaves the other's connections unaffected", async () => {
    await stopWorker(workers[0]);
    const { workers: after, errors } = await client.ask();
    owners.forEach((owner, i) => {
      if (owner === "1") {
        expect(errors[i]).toBe("");
        expect(after[i]).toBe("1");
      } else {
        expect(errors[i]).not.toBe(""); // its connections ended with it
      }
    });
    const { out } = await run([join(ROOT, "build", "h3client"), "-json", "-n", "10", "-conns", "10", `https://127.0.0.1:${workers[1].port}/`]);
    expect(out.match(/Hello from worker 1/g)?.length).toBe(10); // new connections all reach the one left
  });
});
