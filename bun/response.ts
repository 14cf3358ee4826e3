/**
 * Sending a `Response`. In-memory bodies (strings, buffers, Blobs, forms,
 * JSON) go in one `zig_h3_response_respond` call; `Bun.file` bodies are
 * served by the native side from the file (Range included); stream bodies
 * are pumped chunk by chunk, pausing whenever the native side reports its
 * high-water mark until it signals that it is writable again. The native
 * side copies everything before each call returns.
 * @module
 */
import { statSync } from "node:fs";
import { Code, HIGH_WATER, lastError, native, type Handle } from "./ffi";
import { bytesOf } from "./datagram";

const TEXT_HEADERS = Buffer.from("content-type\0text/plain;charset=utf-8\0", "latin1");
const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 500: "Internal Server Error" };

/** What a response being sent needs from its request. */
export interface ResponseContext {
  /** The request is a HEAD: the head is all that is sent. */
  readonly head: boolean;
  /** Aborted when the client goes away or the server stops. */
  readonly signal: AbortSignal;
  /** Resolves at the next writable event (or when the signal aborts). */
  writable(): Promise<void>;
}

type TrailerInit = Headers | Record<string, string> | [string, string][];
type TrailerSource = () => TrailerInit | Promise<TrailerInit>;
const trailerSources = new WeakMap<Response, TrailerSource>();

/**
 * Attaches trailers to a response: `trailers` is called once the body has
 * been produced (so it can carry a checksum of it) and its headers are sent
 * as HTTP trailers. Returns the same response.
 * @example
 * return withTrailers(new Response(stream), async () => ({ "x-checksum": await digest }));
 */
export function withTrailers(res: Response, trailers: TrailerSource): Response {
  if (typeof trailers !== "function") throw new TypeError("withTrailers: expected a function returning headers");
  trailerSources.set(res, trailers);
  return res;
}

/** Whether withTrailers attached trailers to res. */
export function hasTrailers(res: Response): boolean {
  return trailerSources.has(res);
}

/** A clone of res that keeps the trailers attached to it (a static route's answer to one request). */
export function cloneResponse(res: Response): Response {
  const clone = res.clone() as Response;
  const trailers = trailerSources.get(res);
  if (trailers !== undefined) trailerSources.set(clone, trailers);
  return clone;
}

/** Statuses whose responses never carry a body. */
function bodyless(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || status < 200;
}

/** Encodes "name\0value\0..." text into a reusable latin1 scratch buffer. */
export class HeaderEncoder {
  #scratch = Buffer.allocUnsafe(4096);

  /** Encodes text (plus content-type if given) and returns the scratch buffer and length. */
  encode(text: string, contentType = ""): [Buffer, number] {
    text = withType(text, contentType);
    // latin1: header values are byte strings (one char per byte).
    if (text.length > this.#scratch.byteLength) this.#scratch = Buffer.allocUnsafe(text.length * 2);
    return [this.#scratch, this.#scratch.write(text, 0, "latin1")];
  }
}

/** text with a content-type field appended, if contentType is not "". */
function withType(text: string, contentType: string): string {
  return contentType ? text + "content-type\0" + contentType + "\0" : text;
}

/**
 * The head fields of a static route as the native side takes them: the
 * latin1 bytes of "name\0value\0..." (as HeaderEncoder sends them), with
 * the content-type the body implies when the headers name none.
 */
export function staticHead(headers: Headers, blob: Blob): Buffer {
  return Buffer.from(withType(headerText(headers), impliedType(headers.has("content-type"), blob)), "latin1");
}

/** Flattens headers to "name\0value\0..." text; set-cookie values stay separate. */
function headerText(headers: Headers): string {
  let text = "";
  for (const [name, value] of headers) {
    if (name !== "set-cookie") text += name + "\0" + value + "\0";
  }
  for (const cookie of headers.getSetCookie()) text += "set-cookie\0" + cookie + "\0";
  return text;
}

/**
 * What backs a response body. Bun offers no public way to tell without
 * consuming the body, so this reads Bun.inspect's description: a file
 * (FileRef), a Blob, or a ReadableStream. A Response built here with an
 * empty body ("" or an empty buffer) shows no body at all there; it is in
 * memory too (GET and HEAD then both get content-length 0). A fetch()
 * response whose body is still arriving shows none either: it has a URL,
 * and takes the stream path, as does anything else not recognised (correct
 * for every body, only slower).
 */
export function bodyKind(res: Response): BodyKind {
  const m = /\n {2}(FileRef|Blob|ReadableStream)\b/.exec(Bun.inspect(res));
  if (m === null) return res.body !== null && res.url === "" ? "blob" : "stream";
  return m[1] === "FileRef" ? "file" : m[1] === "Blob" ? "blob" : "stream";
}

/** What backs a response body (see bodyKind). */
export type BodyKind = "file" | "blob" | "stream";

/**
 * Sends res as the answer to response handle id. In-memory bodies without
 * trailers (the common case) are handed over before this returns, and it
 * returns undefined; otherwise it returns a promise that resolves when all
 * of the response is handed over. knownKind skips telling the body's kind
 * (static routes, whose kind is read once).
 */
export function sendResponse(
  id: Handle,
  res: Response,
  encoder: HeaderEncoder,
  ctx: ResponseContext,
  knownKind?: BodyKind,
): Promise<void> | undefined {
  const status = res.status; // Response.error()'s 0 is refused natively: see checkRespond
  const trailers = trailerSources.get(res);
  // Headers before the body: Bun drops a body-implied content-type from
  // res.headers once the body is consumed.
  const text = headerText(res.headers);
  const hasType = res.headers.has("content-type");
  const kind = bodyless(status) ? "none" : (knownKind ?? bodyKind(res));
  const stream = kind === "stream" ? res.body : null;
  if (stream !== null && ctx.head) {
    // A HEAD never reads the stream (an endless one would never end): the
    // head goes out as for a stream, without a length, and the stream is
    // cancelled.
    stream.cancel().catch(() => {});
    const [headers, headersLen] = encoder.encode(text);
    const lib = native();
    const rc = lib.zig_h3_response_respond(id, status, headers, headersLen, null, 0, 0);
    checkRespond(rc);
    if (rc === Code.OK) lib.zig_h3_response_send(id, null, 0, 1, null, 0);
    return undefined;
  }
  if (stream !== null) return pumpStream(id, status, encoder.encode(text), stream, trailers, encoder, ctx);
  if (kind === "none" || kind === "stream") {
    const [headers, headersLen] = encoder.encode(text);
    const end = trailers === undefined ? 1 : 0;
    checkRespond(native().zig_h3_response_respond(id, status, headers, headersLen, null, 0, end));
    return end ? undefined : endWithTrailers(id, trailers!, encoder);
  }
  // An in-memory Blob is there already: Bun.peek takes it without a turn of the event loop.
  const blob = Bun.peek(res.blob());
  if (kind === "blob" && trailers === undefined && blob instanceof Blob) {
    const contentType = impliedType(hasType, blob);
    const bytes = blob.bytes();
    const now = Bun.peek(bytes);
    if (now instanceof Uint8Array) {
      respondWithBody(id, status, encoder, text, contentType, now, 1);
      return undefined;
    }
    return bytes.then((body) => respondWithBody(id, status, encoder, text, contentType, body, 1));
  }
  return sendBlob(id, status, kind, blob, text, hasType, trailers, encoder, ctx);
}

/** The content-type a Blob body implies, or "" when the headers name one. */
function impliedType(hasType: boolean, blob: Blob): string {
  return hasType ? "" : blob.type;
}

/** Sends a Blob or file body: from the file by the native side, in one call, or streamed. */
async function sendBlob(
  id: Handle,
  status: number,
  kind: "file" | "blob",
  pendingBlob: Blob | Promise<Blob>,
  text: string,
  hasType: boolean,
  trailers: TrailerSource | undefined,
  encoder: HeaderEncoder,
  ctx: ResponseContext,
): Promise<void> {
  const blob = await pendingBlob;
  const contentType = impliedType(hasType, blob);
  const path = kind === "file" ? wholeFilePath(blob) : undefined;
  if (path !== undefined && trailers === undefined) {
    const [headers, headersLen] = encoder.encode(text, contentType);
    const p = Buffer.from(path);
    checkRespond(native().zig_h3_response_send_file(id, status, headers, headersLen, p, p.byteLength));
    return;
  }
  if (kind === "blob" || blob.size <= HIGH_WATER) {
    const end = trailers === undefined ? 1 : 0;
    const body = await blob.bytes();
    // A whole body: with trailers the native side cannot know it is whole, so its real length replaces a declared one here.
    respondWithBody(id, status, encoder, end ? text : withLength(text, body.byteLength), contentType, body, end);
    if (!end) await endWithTrailers(id, trailers!, encoder);
    return;
  }
  // A file slice or a file that changed size: stream it.
  return pumpStream(id, status, encoder.encode(text, contentType), blob.stream(), trailers, encoder, ctx);
}

/** Header text with a declared content-length (if any) replaced by n. */
function withLength(text: string, n: number): string {
  const parts = text.split("\0");
  let out = "";
  let declared = false;
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] === "content-length") declared = true;
    else out += parts[i] + "\0" + parts[i + 1] + "\0";
  }
  return declared ? out + "content-length\0" + n + "\0" : text;
}

/** Head and whole body in one call. */
function respondWithBody(id: Handle, status: number, encoder: HeaderEncoder, text: string, contentType: string, body: Uint8Array, end: 0 | 1): void {
  const [headers, headersLen] = encoder.encode(text, contentType);
  checkRespond(native().zig_h3_response_respond(id, status, headers, headersLen, body.byteLength > 0 ? body : null, body.byteLength, end));
}

/**
 * A head the native side refused (INVALID_ARG) is the handler's error: it
 * throws, and the client gets 500 instead of waiting for the request
 * timeout. Other failures mean the client went away.
 */
function checkRespond(rc: number): void {
  if (rc === Code.INVALID_ARG) throw new TypeError(`the response was refused: ${lastError()}`);
}

/**
 * The path of a file Blob (Bun.file) that stands for the whole file, which
 * the native side can then send itself; undefined for a slice or a
 * descriptor. A file that cannot be read counts as whole: the native side
 * answers 404.
 */
export function wholeFilePath(blob: Blob): string | undefined {
  const path = (blob as Blob & { name?: unknown }).name;
  if (typeof path !== "string") return undefined;
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return path;
  }
  return size === blob.size ? path : undefined;
}

/** Sends the head, then the stream's chunks with backpressure, then the end (and trailers). */
async function pumpStream(
  id: Handle,
  status: number,
  [scratch, headersLen]: [Buffer, number],
  stream: ReadableStream<Uint8Array>,
  trailers: TrailerSource | undefined,
  encoder: HeaderEncoder,
  ctx: ResponseContext,
): Promise<void> {
  const lib = native();
  const headers = Buffer.from(scratch.subarray(0, headersLen)); // the scratch is shared; reads below yield
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel(ctx.signal.reason).catch(() => {});
  /** A native send failed: the client went away, so the stream's source stops. */
  const clientGone = () => reader.cancel(new Error("the client went away"));
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  let headSent = false;
  let carried: ReturnType<typeof reader.read> | undefined; // a read made ahead, to look past the first chunk
  try {
    for (;;) {
      const next = carried ?? reader.read();
      carried = undefined;
      if (!headSent && Bun.peek.status(next) === "pending") {
        // The stream has nothing yet: send the head now (a client, or an
        // HTTP/3 datagram flow, may wait for it); an immediately available
        // first chunk goes with the head instead.
        headSent = true;
        if (lib.zig_h3_response_respond(id, status, headers, headersLen, null, 0, 0) < 0) return await clientGone();
      }
      const { done, value } = await next;
      if (done) break;
      const chunk = bytesOf(value);
      if (chunk.byteLength === 0) continue;
      if (!headSent) {
        // The head goes with the first chunk. A stream already over after
        // it is one whole body, sent with its Content-Length (an empty
        // stream gets Content-Length: 0 below).
        headSent = true;
        carried = reader.read();
        const over = trailers === undefined && (Bun.peek(carried) as { done?: boolean }).done === true;
        if (lib.zig_h3_response_respond(id, status, headers, headersLen, chunk, chunk.byteLength, over ? 1 : 0) < 0) {
          carried.catch(() => {}); // nobody awaits the read made ahead any more
          return await clientGone();
        }
        if (over) return;
        continue;
      }
      const pending = Number(lib.zig_h3_response_send(id, chunk, chunk.byteLength, 0, null, 0));
      if (pending < 0) return await clientGone();
      if (pending >= HIGH_WATER) await ctx.writable();
      if (ctx.signal.aborted) return;
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  if (!headSent) lib.zig_h3_response_respond(id, status, headers, headersLen, null, 0, trailers === undefined ? 1 : 0);
  if (trailers !== undefined) await endWithTrailers(id, trailers, encoder);
  else if (headSent) lib.zig_h3_response_send(id, null, 0, 1, null, 0);
}

async function endWithTrailers(id: Handle, trailers: TrailerSource, encoder: HeaderEncoder): Promise<void> {
  const [block, len] = encoder.encode(headerText(new Headers(await trailers())));
  native().zig_h3_response_send(id, null, 0, 1, len > 0 ? block : null, len);
}

/** Answers status with a short text body; returns the native result (not OK: the head was out already, or the client went away). */
export function sendStatus(id: Handle, status: number, text = STATUS_TEXT[status] ?? "Error"): number {
  const body = Buffer.from(text + "\n");
  return native().zig_h3_response_respond(id, status, TEXT_HEADERS, TEXT_HEADERS.byteLength, body, body.byteLength, 1);
}

/** Answers 500. */
export function sendInternalError(id: Handle): void {
  sendStatus(id, 500);
}

/**
 * A response that failed while being sent: 500 if its head is not out yet,
 * else its stream is reset (the client sees an error, not a body cut short
 * that looks complete).
 */
export function failResponse(id: Handle): void {
  if (sendStatus(id, 500) === Code.STATE) native().zig_h3_response_abort(id);
}
