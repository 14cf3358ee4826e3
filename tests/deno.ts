/**
 * Deno's own QUIC and WebTransport servers (tests/fixtures/deno-*.ts) as
 * peers this project did not write, for the Bun tests.
 *
 * Deno is the npm dev dependency `deno` (node_modules/.bin/deno, installed
 * by npm ci). Its servers never send a FIN on their WebTransport streams
 * (see tests/fixtures/deno-wt-server.ts): read the bytes you expect, never
 * to the end of a stream.
 */
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestCertificate } from "./browser";
import { ROOT, withTimeout } from "./helpers";

/** The WebTransport echo server (ALPN "h3": datagrams, bidirectional and unidirectional streams). */
export const DENO_WT_SERVER = "tests/fixtures/deno-wt-server.ts";
/** The raw QUIC datagram echo server, on ALPN {@link DENO_QUIC_ALPN}. */
export const DENO_QUIC_SERVER = "tests/fixtures/deno-quic-server.ts";
/** The ALPN of {@link DENO_QUIC_SERVER}. */
export const DENO_QUIC_ALPN = "zig-h3-test";

/** How long a server may take to print its port (Deno compiles the script first). */
export const DENO_START_TIMEOUT_MS = 20_000;

export interface DenoServer {
  /** The UDP port on 127.0.0.1. */
  port: number;
  /** SHA-256 of the certificate's DER, hex (for pinning, e.g. serverCertificateHashes). */
  certHashHex: string;
  /** The server's self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost. */
  certPem: string;
  /** What the server wrote on stderr so far. */
  stderr(): string;
  /** Kills the server (by its PID) and waits for it to exit; removes its certificate files. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** node_modules/.bin/deno: throws a clear error when Deno is not installed. */
export function denoPath(): string {
  const bin = join(ROOT, "node_modules", ".bin", "deno");
  if (!existsSync(bin)) throw new Error(`Deno not found at ${bin}: run npm ci (deno is a dev dependency)`);
  return bin;
}

/**
 * The Deno executable itself: node_modules/.bin/deno is a Node wrapper
 * when npm did not run the package's install script, and killing the
 * wrapper's PID would leave Deno running.
 */
function denoExecutable(): string {
  const bin = denoPath();
  const platformDir = join(ROOT, "node_modules", "@deno");
  const platforms = existsSync(platformDir) ? readdirSync(platformDir).map((d) => join(platformDir, d, "deno")) : [];
  const found = [bin, join(ROOT, "node_modules", "deno", "deno"), ...platforms].find(isELF);
  if (!found) throw new Error(`no Deno executable under node_modules (only the wrapper ${bin}): run npm ci`);
  return found;
}

function isELF(path: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts `script` (relative to the repository root, e.g. {@link DENO_WT_SERVER})
 * with a fresh certificate made by openssl, and waits for its {"port":N} line.
 */
export async function startDeno(script: string): Promise<DenoServer> {
  const dir = mkdtempSync(join(tmpdir(), "h3-deno-"));
  const cert = makeTestCertificate();
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  writeFileSync(certPath, cert.certPem);
  writeFileSync(keyPath, cert.keyPem, { mode: 0o600 });
  const proc = Bun.spawn([denoExecutable(), "run", "--unstable-net", "-A", join(ROOT, script), certPath, keyPath], {
    cwd: dir,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  void (async () => {
    for await (const chunk of proc.stderr) stderr = (stderr + new TextDecoder().decode(chunk)).slice(-65536);
  })();
  const stop = async () => {
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await withTimeout(readPort(proc.stdout), DENO_START_TIMEOUT_MS, `${script}: its {"port":N} line`);
    const certHashHex = Buffer.from(cert.certHashBytes).toString("hex");
    return { port, certHashHex, certPem: cert.certPem, stderr: () => stderr, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw new Error(`${script} did not start: ${(err as Error).message}; stderr:\n${stderr}`);
  }
}

/** Reads the first line of stdout as {"port":N}, then drains the rest. */
async function readPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stdout ended before a line (got ${JSON.stringify(text)})`);
    text += decoder.decode(value, { stream: true });
  }
  void (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  const line = text.slice(0, text.indexOf("\n"));
  const port = (JSON.parse(line) as { port?: unknown }).port;
  if (typeof port !== "number" || port <= 0) throw new Error(`ready line ${JSON.stringify(line)} is not {"port":N}`);
  return port;
}
