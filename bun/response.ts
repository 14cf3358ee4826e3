/**
 * Sending a `Response` through `zig_h3_response_respond`: status, headers and
 * body in one FFI call. Go copies everything before the call returns, so no
 * JS memory is referenced afterwards.
 * @module
 */
import { native, type Handle } from "./ffi";

const TEXT_HEADERS = Buffer.from("content-type\0text/plain;charset=utf-8\0", "latin1");
const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 500: "Internal Server Error" };

/** Statuses whose responses never carry a body. */
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

/** Encodes headers as "name\0value\0..." into a reusable scratch buffer. */
export class HeaderEncoder {
  #scratch = Buffer.allocUnsafe(4096);

  /**
   * Encodes headers, plus content-type when headers lack it and the body
   * implies one, and returns the scratch buffer and the encoded length.
   */
  encode(text: string, contentType: string): [Buffer, number] {
    if (contentType) text += "content-type\0" + contentType + "\0";
    // latin1: header values are byte strings (one char per byte).
    if (text.length > this.#scratch.byteLength) this.#scratch = Buffer.allocUnsafe(text.length * 2);
    return [this.#scratch, this.#scratch.write(text, 0, "latin1")];
  }
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
 * Sends res as the answer to response handle id. Resolves once handed to
 * the native side; a response whose client is gone is dropped silently (the
 * handle is then unknown, which the native side reports as an error code).
 */
export async function sendResponse(id: Handle, res: Response, encoder: HeaderEncoder): Promise<void> {
  const status = res.status;
  // Read the headers before the body: Bun drops a body-implied content-type
  // from res.headers once the body is consumed.
  const text = headerText(res.headers);
  let body: Uint8Array | null = null;
  let contentType = "";
  if (!bodyless(status) && res.body !== null) {
    const blob = await res.blob();
    if (!res.headers.has("content-type") && !text.includes("content-type\0")) contentType = blob.type;
    body = await blob.bytes();
  }
  const [headers, headersLen] = encoder.encode(text, contentType);
  const bodyLen = body ? body.byteLength : 0;
  native().zig_h3_response_respond(id, status, headers, headersLen, bodyLen > 0 ? body : null, bodyLen, 1);
}

/** Answers status with a short text body. */
export function sendStatus(id: Handle, status: number, text = STATUS_TEXT[status] ?? "Error"): void {
  const body = Buffer.from(text + "\n");
  native().zig_h3_response_respond(id, status, TEXT_HEADERS, TEXT_HEADERS.byteLength, body, body.byteLength, 1);
}

/** Answers 500. */
export function sendInternalError(id: Handle): void {
  sendStatus(id, 500);
}
