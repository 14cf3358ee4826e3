/**
 * What the Bun benchmark servers (bun-lib.ts, bun-native.ts) share, so that
 * they serve the same bytes the same way.
 */

/** The value of environment variable k; throws if it is not set. */
export function env(k: string): string {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}

const CHUNK = new Uint8Array(64 * 1024).fill(120);

/** A pull-based stream of n bytes in 64 KiB chunks (the same chunk each time: no allocation). */
export function bytesStream(n: number): ReadableStream<Uint8Array> {
  let left = n;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (left <= 0) return c.close();
      const k = Math.min(left, CHUNK.byteLength);
      c.enqueue(k === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, k));
      left -= k;
      if (left <= 0) c.close();
    },
  });
}
