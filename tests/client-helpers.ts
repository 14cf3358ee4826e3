/** Helpers of the client tests: servers to talk to and certificate pinning. */
import type { H3Server, H3TLSOptions } from "../bun";
import { makeTestCertificate, type TestCertificate } from "./browser";

/** TLS options that pin our server's certificate by hash. */
export function pinned(server: H3Server): H3TLSOptions {
  return { serverCertificateHashes: [{ algorithm: "sha-256", value: server.certificateHash }] };
}

/** The hash option of WebTransport and connectQuic for our server's certificate. */
export function hashes(server: H3Server): { algorithm: "sha-256"; value: Uint8Array }[] {
  return [{ algorithm: "sha-256", value: server.certificateHash }];
}

/** A Bun.serve server speaking HTTP/3 only, on 127.0.0.1 with a test certificate. */
export interface BunH3Server {
  url: URL;
  cert: TestCertificate;
  stop(): void;
}

let cert: TestCertificate | undefined;

/** The test certificate (made once per test file). */
export function testCertificate(): TestCertificate {
  return (cert ??= makeTestCertificate());
}

/** Starts Bun's own HTTP/3 server (http3: true, http1: false) with handler. */
export function bunH3Server(fetch: (req: Request) => Response | Promise<Response>): BunH3Server {
  const c = testCertificate();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: c.certPem, key: c.keyPem },
    http3: true,
    http1: false,
    fetch,
  } as Parameters<typeof Bun.serve>[0]);
  return { url: new URL(`https://127.0.0.1:${server.port}/`), cert: c, stop: () => void server.stop(true) };
}

/** Reads a stream to its end: its chunks' count, the total length and the SHA-256. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ chunks: number; n: number; sha: string }> {
  const h = new Bun.CryptoHasher("sha256");
  let n = 0;
  let chunks = 0;
  for await (const c of stream) {
    h.update(c);
    n += c.byteLength;
    chunks++;
  }
  return { chunks, n, sha: h.digest("hex") };
}
