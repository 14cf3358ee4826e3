/**
 * N Bun workers serving one port: each is a process with its own event
 * loop (a Bun process runs its handlers on one thread), the kernel spreads
 * new connections over them, and every later packet of a connection
 * reaches the worker that owns it, also after the client's address changed
 * (see "Deployment" in the README).
 *
 *   node_modules/.bin/bun run examples/cluster.ts
 *
 * WORKERS (default: the number of CPUs), PORT (default 4433; 0: a free
 * one), HOST (default 127.0.0.1) and CLUSTER_SECRET (default: a random one
 * for this run; give the same to every machine behind a load balancer)
 * set it up. The process started by hand is the primary: it starts the
 * workers, each one `bun examples/cluster.ts` again with H3_WORKER_ID set,
 * in ID order, each once the previous one is listening (the order the
 * classic steering needs when the process lacks CAP_BPF), restarts one
 * that dies, and stops them all on SIGINT or SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { createH3Server } from "../bun";

const host = process.env.HOST ?? "127.0.0.1";

if (process.env.H3_WORKER_ID === undefined) await primary();
else worker(Number(process.env.H3_WORKER_ID));

/** One worker: a server on the shared port with its own ID. */
function worker(id: number): void {
  const server = createH3Server({
    hostname: host,
    port: Number(process.env.PORT),
    reusePort: true,
    workerId: id,
    workers: Number(process.env.WORKERS),
    clusterSecret: process.env.CLUSTER_SECRET,
    routes: {
      "/": (req) => new Response(`Hello from worker ${id} (pid ${process.pid})${req.earlyData ? ", in 0-RTT" : ""}\n`),
    },
  });
  // The primary waits for this line (and reads the port from it).
  console.log(`worker ${id} (pid ${process.pid}) listening on ${server.url}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, async () => {
      await server.stop();
      process.exit(0);
    });
  }
}

/** The primary: starts the workers in ID order and looks after them. */
async function primary(): Promise<void> {
  const workers = Number(process.env.WORKERS ?? availableParallelism());
  let port = Number(process.env.PORT ?? 4433);
  const secret = process.env.CLUSTER_SECRET ?? randomBytes(32).toString("hex");
  const procs = new Map<number, Bun.Subprocess<"ignore", "pipe", "inherit">>();
  let stopping = false;

  /** Starts worker id and resolves once it is listening. */
  async function start(id: number): Promise<void> {
    const proc = Bun.spawn([process.execPath, import.meta.path], {
      env: { ...process.env, H3_WORKER_ID: String(id), WORKERS: String(workers), PORT: String(port), CLUSTER_SECRET: secret },
      stdout: "pipe",
      stderr: "inherit",
    });
    procs.set(id, proc);
    const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (;;) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`worker ${id} exited before listening (code ${await proc.exited})`);
      buffered += value;
      const m = /listening on https:\/\/[^\s]*:(\d+)\//.exec(buffered);
      if (m) {
        port = Number(m[1]); // worker 0 picked it when PORT was 0
        break;
      }
    }
    process.stdout.write(buffered);
    void (async () => {
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        process.stdout.write(value);
      }
    })();
    void proc.exited.then(async (code) => {
      if (stopping || procs.get(id) !== proc) return;
      console.log(`worker ${id} exited (code ${code}); restarting it`);
      await Bun.sleep(1000);
      if (!stopping) await start(id).catch((err) => console.error(String(err)));
    });
  }

  for (let id = 0; id < workers; id++) await start(id);
  console.log(`${workers} workers on https://${host}:${port}/ (try: build/h3client -n 20 -conns 20 https://${host}:${port}/)`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, async () => {
      stopping = true;
      for (const proc of procs.values()) proc.kill("SIGTERM");
      await Promise.all([...procs.values()].map((p) => p.exited));
      process.exit(0);
    });
  }
}
