/**
 * One request/response exchange in flight: the request's abort signal, its
 * streaming body if any, and the writable wake-up of its response pump.
 * @module
 */
import type { Handle } from "./ffi";
import { requestBody, type IncomingStream } from "./request";
import type { ResponseContext } from "./response";

/** State of one request between its request event and the end of its response. */
export class Exchange implements ResponseContext {
  readonly id: Handle;
  /** The request is a HEAD (see ResponseContext). */
  readonly head: boolean;
  readonly body: IncomingStream | undefined;
  /** The route's HTTP/3 datagram handler, if any. */
  onDatagram: ((payload: Uint8Array) => void) | undefined;
  // Created on first use of `signal`: most handlers never look at it.
  #abort: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #wake: (() => void) | undefined;

  constructor(id: Handle, streaming: boolean, head = false) {
    this.id = id;
    this.head = head;
    this.body = streaming ? requestBody(id) : undefined;
  }

  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(this.#reason);
    }
    return this.#abort.signal;
  }

  /** Whether the client went away or the server stopped. */
  get aborted(): boolean {
    return this.#aborted;
  }

  writable(): Promise<void> {
    if (this.#aborted) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** The writable event. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The client went away or the server stopped: everything pending settles. */
  abort(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#abort?.abort(reason);
    this.body?.error(reason);
    this.wake();
  }

  /** The response is handed over; a body still arriving was refused by the server. */
  finish(): void {
    this.body?.error(new DOMException("The response was sent before the request body was read", "AbortError"));
    this.wake();
  }
}
