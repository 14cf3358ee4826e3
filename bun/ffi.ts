/**
 * The native library: locating `libzigh3.so`, its symbols, return codes.
 * Nothing here knows about HTTP; it is the C ABI of `include/zig_h3.h` as
 * seen from `bun:ffi`.
 * @module
 */
import { dlopen, FFIType, type Pointer } from "bun:ffi";

/** An opaque native handle (a number, never dereferenced by JS). */
export type Handle = Pointer;

/** Views a handle number from an event as a Handle. */
export function asHandle(n: number): Handle {
  return n as Handle;
}
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Return codes of `include/zig_h3.h`. */
export const Code = {
  OK: 0,
  INVALID_ARG: -1,
  BAD_HANDLE: -2,
  STATE: -3,
  CLOSED: -4,
  NOT_SUPPORTED: -5,
  IO: -6,
  CONFIG: -7,
  QUEUE_FULL: -8,
  BUFFER_TOO_SMALL: -9,
  INTERNAL: -10,
  TOO_LARGE: -11,
} as const;

/** Event types of the event queue (`ZIG_H3_EVENT_*`). */
export const EventType = {
  REQUEST: 1,
  ABORT: 2,
  LOG: 3,
  STOPPED: 4,
  BODY_CHUNK: 5,
  BODY_END: 6,
  WRITABLE: 7,
  SESSION: 8,
  SESSION_DATAGRAM: 9,
  STREAM_OPENED: 10,
  STREAM_DATA: 11,
  STREAM_END: 12,
  SESSION_CLOSED: 13,
  QUIC_DATAGRAM: 14,
  H3_DATAGRAM: 15,
  SESSION_READY: 16,
} as const;

/**
 * Native pending-bytes level at which a writer (response pump, WebTransport
 * stream) pauses until the writable event (core.ResponseHighWater).
 */
export const HIGH_WATER = 256 * 1024;

/**
 * Most unacknowledged bytes the native side delivers to an incoming stream
 * (request body, WebTransport stream) before waiting for acks (core.BodyWindow).
 */
export const BODY_WINDOW = 256 * 1024;

/** Number of counters `zig_h3_server_counters` fills. */
export const COUNTER_COUNT = 14;

const symbols = {
  zig_h3_version: { args: [], returns: "cstring" },
  zig_h3_last_error: { args: [], returns: "cstring" },
  zig_h3_server_new: { args: ["ptr"], returns: "ptr" },
  zig_h3_server_free: { args: ["ptr"], returns: "i32" },
  zig_h3_server_set_options: { args: ["ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_server_start: { args: ["ptr"], returns: "i32" },
  zig_h3_server_stop_async: { args: ["ptr", "u8"], returns: "i32" },
  zig_h3_server_port: { args: ["ptr"], returns: "i32" },
  zig_h3_server_certificate_hash: { args: ["ptr", "ptr"], returns: "i32" },
  zig_h3_server_counters: { args: ["ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_server_event_fd: { args: ["ptr"], returns: "i32" },
  zig_h3_server_drain: { args: ["ptr", "ptr", "usize"], returns: FFIType.i64_fast },
  zig_h3_server_event_size: { args: ["ptr"], returns: FFIType.i64_fast },
  zig_h3_server_set_event_routes: { args: ["ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_response_respond: { args: ["ptr", "u16", "ptr", "usize", "ptr", "usize", "u8"], returns: "i32" },
  zig_h3_response_send: { args: ["ptr", "ptr", "usize", "u8", "ptr", "usize"], returns: FFIType.i64_fast },
  zig_h3_response_send_file: { args: ["ptr", "u16", "ptr", "usize", "ptr", "usize"], returns: "i32" },
  zig_h3_response_ack_body: { args: ["ptr", "usize"], returns: "i32" },
  zig_h3_response_discard_body: { args: ["ptr"], returns: "i32" },
  zig_h3_response_set_timeout: { args: ["ptr", "u32"], returns: "i32" },
  zig_h3_server_queue_quic_datagrams: { args: ["ptr"], returns: "i32" },
  zig_h3_server_send_quic_datagram: { args: ["ptr", "ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_server_max_datagram_size: { args: ["ptr", "ptr"], returns: "i32" },
  zig_h3_response_send_h3_datagram: { args: ["ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_response_max_datagram_size: { args: ["ptr"], returns: "i32" },
  zig_h3_wt_accept: { args: ["ptr"], returns: "i32" },
  zig_h3_wt_reject: { args: ["ptr", "u16"], returns: "i32" },
  zig_h3_wt_close: { args: ["ptr", "u32", "ptr", "usize"], returns: "i32" },
  zig_h3_wt_send_datagram: { args: ["ptr", "ptr", "usize"], returns: "i32" },
  zig_h3_wt_max_datagram_size: { args: ["ptr"], returns: "i32" },
  zig_h3_wt_open_stream: { args: ["ptr", "u8"], returns: FFIType.i64_fast },
  zig_h3_wt_stream_write: { args: ["u64", "ptr", "usize", "u8"], returns: FFIType.i64_fast },
  zig_h3_wt_stream_ack: { args: ["u64", "usize"], returns: "i32" },
  zig_h3_wt_stream_reset: { args: ["u64", "u32"], returns: "i32" },
  zig_h3_wt_stream_stop_reading: { args: ["u64", "u32"], returns: "i32" },
} as const;

/** Where the library is looked for: `$ZIG_H3_LIB`, else `build/libzigh3.so` in the repository. */
export function libraryPath(): string {
  return process.env.ZIG_H3_LIB || join(import.meta.dir, "..", "build", "libzigh3.so");
}

function open() {
  const path = libraryPath();
  if (!existsSync(path)) {
    throw new Error(
      `zig-h3: native library not found at ${path}. Build it with \`make lib\` ` +
        `(go build -buildmode=c-shared -o build/libzigh3.so ./capi) or set ZIG_H3_LIB.`,
    );
  }
  return dlopen(path, symbols);
}

let lib: ReturnType<typeof open>["symbols"] | undefined;

/** The library's symbols, loaded on first use. */
export function native(): ReturnType<typeof open>["symbols"] {
  return (lib ??= open().symbols);
}

/** The message of the last failing call on this thread. */
export function lastError(): string {
  return String(native().zig_h3_last_error());
}

/** Encodes a string as a NUL-terminated C string. */
export function cString(s: string): Buffer {
  return Buffer.from(s + "\0", "utf8");
}
