/** Shared helpers for the Bun tests: HTTP/3 clients and server setup. */
import { createH3Server, type H3ServeOptions, type H3Server, type WTContext } from "../bun";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const H3CLIENT = process.env.H3CLIENT ?? join(ROOT, "build", "h3client");

/** fetch over HTTP/3 with Bun's own client (self-signed certificates accepted). */
export function h3fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, protocol: "http3", tls: { rejectUnauthorized: false } } as RequestInit);
}

/** Starts a server on 127.0.0.1 with an ephemeral port; stop it with `await using`. */
export function serve(options: H3ServeOptions): H3Server {
  return createH3Server({ hostname: "127.0.0.1", port: 0, ...options });
}

/** The server's internal tables (not public API): exchanges and WebTransport sessions/streams still tracked. */
export function tables(server: H3Server): { pendingExchanges: number; pendingSessions: { sessions: number; streams: number } } {
  return server as unknown as { pendingExchanges: number; pendingSessions: { sessions: number; streams: number } };
}

/** Rejects after `ms` with a message naming `what`; the timer never keeps the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (bounded, polling every 10 ms) until cond holds; throws if it still does not after ms. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let i = 0; i < ms / 10 && !cond(); i++) await Bun.sleep(10);
  if (!cond()) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
}

/** One response as printed by `h3client -json`. */
export interface ClientResponse {
  status: number;
  headers: Record<string, string[]>;
  trailers: Record<string, string[]>;
  body: string;
  bodyLength: number;
  bodySha256: string;
}

/** Runs a command (killed after timeoutMs) and returns its stdout, stderr and exit code. */
export async function run(
  cmd: string[],
  timeoutMs = 25_000,
  env?: Record<string, string | undefined>,
): Promise<{ out: string; err: string; code: number }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: env ?? process.env });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { out, err, code };
}

/** Runs the repository's Go HTTP/3 client (tests/h3client) and returns stdout and the exit code. */
export function h3client(args: string[], timeoutMs = 25_000): Promise<{ out: string; err: string; code: number }> {
  return run([H3CLIENT, ...args], timeoutMs);
}

/** Runs h3client with -json and parses the responses. */
export async function h3clientJSON(args: string[]): Promise<ClientResponse[]> {
  const { out, err, code } = await h3client(["-json", ...args]);
  if (code !== 0) throw new Error(`h3client failed (${code}): ${err}`);
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ClientResponse);
}

/** SHA-256 of bytes as hex. */
export function sha256(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const DGCLIENT = process.env.DGCLIENT ?? join(ROOT, "build", "dgclient");

/** Runs the repository's datagram/WebTransport client (tests/dgclient) and parses its JSON line. */
export async function dgclient<T = Record<string, unknown>>(args: string[], timeoutMs = 25_000): Promise<T> {
  const { out, err, code } = await run([DGCLIENT, ...args], timeoutMs);
  if (code !== 0) throw new Error(`dgclient ${args[0]} failed (${code}): ${err}`);
  return JSON.parse(out) as T;
}

/** Silences console.error while fn runs (for tests of failing handlers); returns what was logged. */
export async function quietErrors<T>(fn: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
  const logged: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  try {
    return { result: await fn(), logged };
  } finally {
    console.error = orig;
  }
}

/** Echoes a WebTransport session's streams: each bidirectional stream back on itself, each unidirectional one on a new one. */
export function echoStreams(ctx: WTContext): void {
  void (async () => {
    for await (const s of ctx.incomingBidirectionalStreams) void s.readable.pipeTo(s.writable).catch(() => {});
  })();
  void (async () => {
    for await (const r of ctx.incomingUnidirectionalStreams) {
      const w = await ctx.createUnidirectionalStream();
      void r.pipeTo(w).catch(() => {});
    }
  })();
}
