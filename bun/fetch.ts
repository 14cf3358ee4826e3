/**
 * One client request on a connection: the request head as the native side
 * takes it, the request body streamed with backpressure
 * (`zig_h3_fetch_write`, pausing at the high-water mark until the writable
 * event), and the response as a standard `Response` whose body is a
 * `ReadableStream` acknowledging bytes (`zig_h3_fetch_ack`) as the consumer
 * reads them. A failure after the head errors the body stream: a body cut
 * short never ends as if it were complete.
 * @module
 */
import { HIGH_WATER, native } from "./ffi";
import { IncomingStream } from "./request";
import { H3Error, codeName } from "./errors";
import type { ClientConnection, FetchEvents } from "./connection";

/**
 * A `Response` of `h3Fetch` / `H3Client.fetch`, with the response's HTTP
 * trailers.
 * @example
 * const res = await h3Fetch(url);
 * const body = await res.arrayBuffer();
 * const checksum = (await res.trailers).get("x-checksum");
 */
export interface H3Response extends Response {
  /**
   * Resolves with the trailers (empty Headers if none) when the response
   * has ended completely; rejects with the body's error if it failed or was
   * aborted. It settles only once the body has been read to its end (or
   * cancelled).
   */
  readonly trailers: Promise<Headers>;
}

/** Statuses whose responses never carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** Largest piece handed to one native write (the native side copies it). */
const WRITE_CHUNK = 256 * 1024;

/** The request head block of zig_h3_client_fetch_start: method, path, then header names and values, NUL-terminated. */
export function headBlock(method: string, path: string, headers: Iterable<[string, string]>): Buffer {
  let text = `${method}\0${path}\0`;
  for (const [name, value] of headers) text += `${name}\0${value}\0`;
  return Buffer.from(text, "latin1");
}

/** State of one request from its start to its last event. */
export class ClientFetch implements FetchEvents {
  /** Resolves with the response at its head; rejects if the request fails first. */
  readonly response: Promise<H3Response>;
  /** See {@link H3Response.trailers}. */
  readonly trailers: Promise<Headers>;
  /** HTTP/3 datagrams received on the request's flow (only with `datagrams`). */
  readonly datagrams: ReadableStream<Uint8Array> | undefined;
  /** Datagrams dropped because `datagrams` was not read fast enough. */
  datagramsDropped = 0;
  handle = -1;
  /** The request's stream id, once the head came. */
  streamId = -1n;

  #conn: ClientConnection;
  #url: string;
  #head: boolean;
  #state: "new" | "pending" | "head" | "done" = "new";
  #body: IncomingStream | undefined;
  #dgrams: ReadableStreamDefaultController<Uint8Array> | undefined;
  #wake: (() => void) | undefined;
  #onDone: (() => void)[] = [];
  #resolve!: (res: H3Response) => void;
  #reject!: (err: unknown) => void;
  #resolveTrailers!: (h: Headers) => void;
  #rejectTrailers!: (err: unknown) => void;

  constructor(conn: ClientConnection, url: string, method: string, datagrams = false) {
    this.#conn = conn;
    this.#url = url;
    this.#head = method === "HEAD";
    this.response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.trailers = new Promise((resolve, reject) => {
      this.#resolveTrailers = resolve;
      this.#rejectTrailers = reject;
    });
    this.trailers.catch(() => {}); // a failure is reported by the body too
    if (datagrams) {
      this.datagrams = new ReadableStream<Uint8Array>({ start: (c) => void (this.#dgrams = c) }, { highWaterMark: 256 });
    }
  }

  /** Whether the fetch is over (ended, failed or cancelled). */
  get done(): boolean {
    return this.#state === "done";
  }

  /** Starts the request on the connection; throws an H3Error if it cannot. */
  start(head: Uint8Array, flags: number): void {
    this.#state = "pending"; // before: starting may dispatch queued events
    try {
      this.handle = this.#conn.startFetch(head, flags, this);
    } catch (err) {
      this.#state = "new";
      throw err;
    }
  }

  /** Runs fn when the fetch is over (or now if it is). */
  onDone(fn: () => void): void {
    if (this.done) fn();
    else this.#onDone.push(fn);
  }

  /**
   * Appends request body bytes, with fin ending the request. Returns the
   * bytes pending natively, or -1 when the fetch is over (stop writing).
   */
  write(data: Uint8Array | null, fin: boolean): number {
    if (this.done) return -1;
    const len = data?.byteLength ?? 0;
    const n = Number(native().zig_h3_fetch_write(this.handle, len ? data : null, len, fin ? 1 : 0));
    if (n >= 0) return n;
    if (this.done) return -1;
    throw new H3Error(`writing the request body failed (${codeName(n)})`, codeName(n));
  }

  /** Resolves at the next writable event, or when the fetch is over. */
  waitWritable(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /**
   * Abandons the request both ways (zig_h3_fetch_cancel): the response
   * promise rejects, or the body errors, with reason.
   */
  cancel(reason: unknown): void {
    if (this.done) return;
    if (this.handle >= 0) {
      native().zig_h3_fetch_cancel(this.handle, 0);
      this.#conn.endFetch(this.handle);
    }
    this.fail(reason);
  }

  // ---- FetchEvents ----------------------------------------------------------------

  head(status: number, headers: [string, string][], streamId: bigint): void {
    if (this.#state !== "pending") return;
    this.streamId = streamId;
    let res: H3Response;
    try {
      if (status < 200 || status > 599) throw new RangeError(`the server answered with status ${status}`);
      const nullBody = this.#head || NULL_BODY.has(status);
      if (!nullBody) {
        this.#body = new IncomingStream(
          (n) => native().zig_h3_fetch_ack(this.handle, n),
          () => this.cancel(new DOMException("The response body was cancelled", "AbortError")),
        );
      }
      res = new Response(this.#body?.stream ?? null, { status, headers }) as H3Response;
    } catch (err) {
      this.cancel(new H3Error(`invalid response: ${(err as Error).message}`, "INVALID_ARG"));
      return;
    }
    Object.defineProperty(res, "url", { value: this.#url });
    Object.defineProperty(res, "trailers", { value: this.trailers });
    this.#state = "head";
    this.#resolve(res);
  }

  data(data: Uint8Array): void {
    if (this.#body !== undefined) this.#body.chunk(data);
    else native().zig_h3_fetch_ack(this.handle, data.byteLength); // a HEAD or 204 carries none; never stall
  }

  end(trailers: [string, string][]): void {
    if (this.#state === "pending") {
      this.fail(new H3Error("the response ended without a head", "INTERNAL"));
      return;
    }
    if (this.done) return;
    this.#body?.end(trailers);
    this.#finish();
    try {
      this.#dgrams?.close();
    } catch {
      /* already closed */
    }
    this.#resolveTrailers(new Headers(trailers));
  }

  fail(err: unknown): void {
    if (this.done) return;
    if (this.#state === "head") this.#body?.error(err);
    else this.#reject(err);
    this.#finish();
    try {
      this.#dgrams?.error(err);
    } catch {
      /* already closed */
    }
    this.#rejectTrailers(err);
  }

  writable(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  datagram(data: Uint8Array): void {
    const c = this.#dgrams;
    if (c === undefined || this.done) return;
    if ((c.desiredSize ?? 0) <= 0) this.datagramsDropped++;
    else c.enqueue(data);
  }

  #finish(): void {
    this.#state = "done";
    this.writable();
    for (const fn of this.#onDone.splice(0)) fn();
  }
}

/** A request body ready to send: bytes in memory (sent again on a redirect) or a stream (sent once). */
export type BodySource = { bytes: Uint8Array; stream?: undefined } | { stream: ReadableStream<unknown>; bytes?: undefined } | null;

/**
 * Sends body on the fetch with backpressure, and ends the request. A
 * source that fails cancels the fetch with its error; a fetch that ends
 * first (the server answered without reading it all) stops the source.
 */
export async function sendBody(f: ClientFetch, body: NonNullable<BodySource>): Promise<void> {
  try {
    if (body.bytes !== undefined) {
      await writeBytes(f, body.bytes, true);
      return;
    }
    const reader = body.stream.getReader();
    f.onDone(() => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (f.done) return;
      if (done) break;
      await writeBytes(f, chunkBytes(value), false);
    }
    f.write(null, true);
  } catch (err) {
    f.cancel(err);
  }
}

async function writeBytes(f: ClientFetch, bytes: Uint8Array, fin: boolean): Promise<void> {
  let off = 0;
  do {
    const end = Math.min(off + WRITE_CHUNK, bytes.byteLength);
    const last = end === bytes.byteLength;
    const pending = f.write(bytes.subarray(off, end), fin && last);
    if (pending < 0) return;
    off = end;
    if (pending >= HIGH_WATER && !(fin && last)) await f.waitWritable();
  } while (off < bytes.byteLength);
}

/** A chunk of a request body stream as bytes (strings as UTF-8, as Bun's fetch takes them). */
function chunkBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value === "string") return Buffer.from(value);
  throw new TypeError(`a request body stream yielded ${typeof value}, expected bytes`);
}
