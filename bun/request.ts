/**
 * Streaming request bodies: a `ReadableStream` fed by body-chunk events.
 * Backpressure reaches the network: the native side delivers at most a
 * window of unacknowledged bytes, and bytes are acknowledged only when the
 * consumer has read them out of the stream's queue.
 * @module
 */
import { native, type Handle } from "./ffi";

/** Same as the native window (core.BodyWindow): queued bytes above it never arrive. */
const BODY_WINDOW = 256 * 1024;

/** The body of one streaming request. */
export class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves with the request trailers when the body ends (empty Headers if none or aborted). */
  readonly trailers: Promise<Headers>;
  #id: Handle;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #enqueued = 0;
  #acked = 0;
  #done = false;
  #resolveTrailers!: (h: Headers) => void;

  constructor(id: Handle) {
    this.#id = id;
    this.trailers = new Promise((resolve) => (this.#resolveTrailers = resolve));
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
        },
        pull: (c) => this.#ack(c),
        cancel: () => {
          this.#done = true;
          native().zig_h3_response_discard_body(this.#id);
          this.#resolveTrailers(new Headers());
        },
      },
      { highWaterMark: BODY_WINDOW, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  /** Acknowledges what the consumer took out of the queue. */
  #ack(c: ReadableStreamDefaultController<Uint8Array>): void {
    const queued = BODY_WINDOW - (c.desiredSize ?? 0);
    const consumed = this.#enqueued - Math.max(0, queued);
    if (consumed > this.#acked) {
      native().zig_h3_response_ack_body(this.#id, consumed - this.#acked);
      this.#acked = consumed;
    }
  }

  /** A body-chunk event. The chunk is owned by JS. */
  chunk(data: Uint8Array): void {
    if (this.#done) return;
    this.#enqueued += data.byteLength;
    this.#controller.enqueue(data);
  }

  /** The body-end event. */
  end(trailers: [string, string][]): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller.close();
    this.#resolveTrailers(new Headers(trailers));
  }

  /** The request was aborted: the stream errors. */
  error(reason: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller.error(reason);
    this.#resolveTrailers(new Headers());
  }
}
