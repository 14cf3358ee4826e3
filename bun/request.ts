/**
 * Incoming byte streams (streaming request bodies, WebTransport streams):
 * a `ReadableStream` fed by data events. Backpressure reaches the network:
 * the native side delivers at most a window of unacknowledged bytes, and
 * bytes are acknowledged only when the consumer has read them out of the
 * stream's queue.
 * @module
 */
import { BODY_WINDOW, native, type Handle } from "./ffi";

/** Bytes consumed before they are acknowledged (a quarter of the window). */
const ACK_STEP = BODY_WINDOW / 4;

/** One incoming byte stream; `ack` returns credit, `discard` refuses the rest. */
export class IncomingStream {
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves with the trailers when the stream ends (empty Headers if none or aborted). */
  readonly trailers: Promise<Headers>;
  #ack: (n: number) => void;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #enqueued = 0;
  #acked = 0;
  #done = false;
  #resolveTrailers!: (h: Headers) => void;

  constructor(ack: (n: number) => void, discard: () => void) {
    this.#ack = ack;
    this.trailers = new Promise((resolve) => (this.#resolveTrailers = resolve));
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
        },
        pull: (c) => this.#pull(c),
        cancel: () => {
          this.#done = true;
          discard();
          this.#resolveTrailers(new Headers());
        },
      },
      // Queued bytes above the native window never arrive.
      { highWaterMark: BODY_WINDOW, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  /**
   * Acknowledges what the consumer took out of the queue, in steps of
   * ACK_STEP: one native call per step instead of one per chunk. Holding
   * back less than a step never stalls the stream, as the window is larger.
   */
  #pull(c: ReadableStreamDefaultController<Uint8Array>): void {
    const queued = BODY_WINDOW - (c.desiredSize ?? 0);
    const consumed = this.#enqueued - Math.max(0, queued);
    if (consumed - this.#acked >= ACK_STEP) {
      this.#ack(consumed - this.#acked);
      this.#acked = consumed;
    }
  }

  /** A data event. The chunk is owned by JS. */
  chunk(data: Uint8Array): void {
    if (this.#done) return;
    this.#enqueued += data.byteLength;
    this.#controller.enqueue(data);
  }

  /** The end event. */
  end(trailers: [string, string][] = []): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller.close();
    this.#resolveTrailers(new Headers(trailers));
  }

  /** The stream was aborted: it errors. */
  error(reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller.error(reason);
    this.#resolveTrailers(new Headers());
  }
}

/** A streaming request body (acknowledged through the response handle). */
export function requestBody(id: Handle): IncomingStream {
  return new IncomingStream(
    (n) => native().zig_h3_response_ack_body(id, n),
    () => native().zig_h3_response_discard_body(id),
  );
}
