/**
 * Benchmark worker (the workers row): this library with Bun handlers, as
 * one of several processes on one port (`reusePort`). Routes: GET /small.
 * Env: BENCH_CERT, BENCH_KEY (PEM paths), BENCH_PORT (0: a free one, for
 * worker 0), BENCH_WORKER_ID, BENCH_WORKERS, BENCH_CLUSTER_SECRET.
 * Prints the UDP port on stdout when ready; stops on SIGTERM.
 */
import { createH3Server } from "../../bun";
import { env } from "./shared";

const server = createH3Server({
  hostname: "127.0.0.1",
  port: Number(process.env.BENCH_PORT ?? 0),
  tls: { cert: Bun.file(env("BENCH_CERT")), key: Bun.file(env("BENCH_KEY")) },
  reusePort: true,
  workerId: Number(env("BENCH_WORKER_ID")),
  workers: Number(env("BENCH_WORKERS")),
  clusterSecret: env("BENCH_CLUSTER_SECRET"),
  routes: [{ method: "GET", pattern: "/small", fetch: () => new Response("hello") }],
});
console.log(server.port);
process.on("SIGTERM", async () => {
  await server.stop();
  process.exit(0);
});
